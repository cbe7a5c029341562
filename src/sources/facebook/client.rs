//! HTTP calls to the Facebook Graph API with an app token.
//!
//! The app token goes as Meta's access-token guide shows it:
//! `access_token={app-id}|{app-secret}` in the query, server-side only
//! (`../shared/docs/social-apis.md`, Facebook tokens). The URL therefore
//! holds the secret, so it never reaches a message: the gateway strips
//! URLs from transport errors, cache keys are built from the path and the
//! search words only, and nothing logs a request's URL.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};

use super::types::{ErrorEnvelope, Page, PageList};
use crate::cache::{Cache, CacheKey, Resource};
use crate::gateway::{Gateway, Provider};
use crate::sources::SourceError;
use crate::sources::social::{CredentialsError, non_blank};

/// The live API.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";

/// The Graph API version leadgen is written against (available until 2028-07-29).
pub const GRAPH_VERSION: &str = "v25.0";

/// What `pages/search` returns per page.
pub const SEARCH_FIELDS: &str = "id,name,link,website,location,verification_status";

/// What a page read returns: what the page rules read (the website and the
/// postcode), and no more. A page's e-mail addresses, phone and "about"
/// text feed no rule, so they are not asked for (data minimisation).
pub const PAGE_FIELDS: &str = "name,website,location,link";

use super::policy::{APP_ID_VAR, APP_SECRET_VAR};
pub use super::policy::{PAGE, PAGES_SEARCH};

const PROVIDER: Provider = Provider::Facebook;

/// The app's id and secret; the app token is `{id}|{secret}`.
#[derive(Clone, Debug)]
pub struct AppCredentials {
    /// Not a secret (it is in every public app link), but kept out of
    /// messages anyway.
    pub app_id: String,
    pub app_secret: SecretString,
}

impl AppCredentials {
    /// `FACEBOOK_APP_ID` and `FACEBOOK_APP_SECRET`; `Ok(None)` when
    /// neither is set (Facebook is then skipped).
    pub fn from_env() -> Result<Option<AppCredentials>, CredentialsError> {
        AppCredentials::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`AppCredentials::from_env`], reading `lookup` instead of the process environment.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<AppCredentials>, CredentialsError> {
        let incomplete = |present, missing| CredentialsError::Incomplete {
            platform: PROVIDER,
            present,
            missing,
        };
        match (
            non_blank(&lookup, APP_ID_VAR),
            non_blank(&lookup, APP_SECRET_VAR),
        ) {
            (Some(app_id), Some(secret)) => Ok(Some(AppCredentials {
                app_id,
                app_secret: secret.into(),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(incomplete(APP_ID_VAR, APP_SECRET_VAR)),
            (None, Some(_)) => Err(incomplete(APP_SECRET_VAR, APP_ID_VAR)),
        }
    }

    fn app_token(&self) -> SecretString {
        format!("{}|{}", self.app_id, self.app_secret.expose_secret()).into()
    }
}

#[derive(Clone)]
pub struct Client {
    gateway: Gateway,
    cache: Cache,
    base_url: Arc<str>,
    app_token: SecretString,
}

impl Client {
    pub fn new(gateway: Gateway, cache: Cache, base_url: &str, app: AppCredentials) -> Client {
        Client {
            gateway,
            cache,
            base_url: base_url.trim_end_matches('/').into(),
            app_token: app.app_token(),
        }
    }

    /// `GET /v25.0/pages/search?q=<name>`: the first page of Pages Graph
    /// finds for the name.
    pub async fn search_pages(&self, name: &str) -> Result<Vec<Page>, SourceError> {
        let q = name.split_whitespace().collect::<Vec<_>>().join(" ");
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let path = format!("/{GRAPH_VERSION}/pages/search");
        let query = [("q", q.clone()), ("fields", SEARCH_FIELDS.to_owned())];
        let what = format!("the page search for {q:?}");
        let list: Option<PageList> = self
            .get_json(
                (PAGES_SEARCH, Resource::FacebookPageSearch),
                &path,
                &query,
                &what,
                q.to_lowercase(),
            )
            .await?;
        Ok(list.map(|l| l.data).unwrap_or_default())
    }

    /// `GET /v25.0/{page-id}`; `None` when Graph says no such page (or
    /// none this app may see).
    pub async fn page(&self, id: &str) -> Result<Option<Page>, SourceError> {
        // Ids are numeric; anything else must not become a path.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let path = format!("/{GRAPH_VERSION}/{id}");
        let query = [("fields", PAGE_FIELDS.to_owned())];
        let what = format!("page {id}");
        self.get_json(
            (PAGE, Resource::FacebookPage),
            &path,
            &query,
            &what,
            id.to_owned(),
        )
        .await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        (endpoint, resource): (&'static str, Resource),
        path: &str,
        query: &[(&str, String)],
        what: &str,
        key_params: String,
    ) -> Result<Option<T>, SourceError> {
        let key = CacheKey {
            resource,
            params: format!("{}{path}?{key_params}", self.base_url),
        };
        crate::sources::cached_json(
            &self.cache,
            key,
            PROVIDER,
            what,
            self.fetch(endpoint, path, query, what),
        )
        .await
    }

    async fn fetch(
        &self,
        endpoint: &'static str,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Option<Bytes>, SourceError> {
        let url = format!("{}{}", self.base_url, path);
        let response = self
            .gateway
            .send(Provider::Facebook, endpoint, |http| {
                http.get(&url)
                    .query(query)
                    .query(&[("access_token", self.app_token.expose_secret())])
                    .header(ACCEPT, "application/json")
            })
            .await?;
        crate::sources::json_answer::<ErrorEnvelope>(PROVIDER, what, response)
    }
}
