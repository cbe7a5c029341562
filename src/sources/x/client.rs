//! HTTP calls to the X API v2 with app-only (Bearer) auth.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use tracing::debug;

use super::policy::{
    API_KEY_VAR, API_SECRET_VAR, BEARER_TOKEN_VAR, OAUTH2_TOKEN, SEARCH_RECENT, USERS_BY,
};
use super::types::{Problem, SearchResponse, TokenResponse, User, UsersResponse};
use crate::cache::{Cache, CacheKey, Resource};
use crate::gateway::{Gateway, Provider};
use crate::sources::SourceError;
use crate::sources::social::{CredentialsError, non_blank};

/// The live API.
pub const DEFAULT_BASE_URL: &str = "https://api.x.com";

const PROVIDER: Provider = Provider::X;

/// The most usernames `/2/users/by` takes in one call.
pub const MAX_USERNAMES_PER_CALL: usize = 100;

/// The profile fields the company-account rules read, and no more (data
/// minimisation: follower counts and locations feed no rule).
pub const ACCOUNT_USER_FIELDS: &str = "description,url,entities,verified,verified_type";

/// The fields of mentioned users the officer rules read.
pub const MENTION_USER_FIELDS: &str = "name,description,url,username,verified";

/// How leadgen signs in to X: a bearer token as issued, or the app's key
/// and secret, exchanged for the bearer token once per run.
#[derive(Clone, Debug)]
pub enum Credentials {
    Bearer(SecretString),
    AppKey {
        key: SecretString,
        secret: SecretString,
    },
}

impl Credentials {
    /// What names the app's quota (it is the app's, not the token's): the
    /// bearer token, or the key it is exchanged from.
    pub fn quota_name(&self) -> &SecretString {
        match self {
            Credentials::Bearer(token) => token,
            Credentials::AppKey { key, .. } => key,
        }
    }

    /// `X_BEARER_TOKEN`, else `X_API_KEY` with `X_API_SECRET`; `Ok(None)`
    /// when none is set (X is then skipped).
    pub fn from_env() -> Result<Option<Credentials>, CredentialsError> {
        Credentials::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`Credentials::from_env`], reading `lookup` instead of the process environment.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Credentials>, CredentialsError> {
        if let Some(token) = non_blank(&lookup, BEARER_TOKEN_VAR) {
            return Ok(Some(Credentials::Bearer(token.into())));
        }
        match (
            non_blank(&lookup, API_KEY_VAR),
            non_blank(&lookup, API_SECRET_VAR),
        ) {
            (Some(key), Some(secret)) => Ok(Some(Credentials::AppKey {
                key: key.into(),
                secret: secret.into(),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(incomplete(API_KEY_VAR, API_SECRET_VAR)),
            (None, Some(_)) => Err(incomplete(API_SECRET_VAR, API_KEY_VAR)),
        }
    }
}

fn incomplete(present: &'static str, missing: &'static str) -> CredentialsError {
    CredentialsError::Incomplete {
        platform: PROVIDER,
        present,
        missing,
    }
}

/// Users found by `/2/users/by`, and the usernames X says do not exist.
#[derive(Debug, Clone, Default)]
pub struct UserLookup {
    pub users: Vec<User>,
    pub not_found: Vec<String>,
}

/// Cheap to clone; clones share the bearer token.
#[derive(Clone)]
pub struct Client {
    gateway: Gateway,
    cache: Cache,
    base_url: Arc<str>,
    credentials: Arc<Credentials>,
    /// The bearer token from the key and secret: X issues one per app and
    /// answers 403 when asked too often, so concurrent first calls share one
    /// exchange and the rest of the run reuses it.
    exchanged: Arc<OnceCell<SecretString>>,
}

impl Client {
    pub fn new(gateway: Gateway, cache: Cache, base_url: &str, credentials: Credentials) -> Client {
        Client {
            gateway,
            cache,
            base_url: base_url.trim_end_matches('/').into(),
            credentials: Arc::new(credentials),
            exchanged: Arc::new(OnceCell::new()),
        }
    }

    /// `GET /2/users/by` for every username (in calls of up to 100), with
    /// the profile fields the account rules read. Usernames that cannot be
    /// handles are dropped before asking.
    pub async fn users_by_usernames(
        &self,
        usernames: &[String],
    ) -> Result<UserLookup, SourceError> {
        let mut valid: Vec<String> = usernames
            .iter()
            .filter(|u| is_handle(u))
            .map(|u| u.to_ascii_lowercase())
            .collect();
        valid.sort();
        valid.dedup();
        let mut out = UserLookup::default();
        for chunk in valid.chunks(MAX_USERNAMES_PER_CALL) {
            let joined = chunk.join(",");
            let query = [
                ("usernames", joined.clone()),
                ("user.fields", ACCOUNT_USER_FIELDS.to_owned()),
            ];
            let what = format!("the users {joined}");
            let Some(page) = self
                .get_json::<UsersResponse>(
                    (USERS_BY, Resource::XUsers),
                    "/2/users/by",
                    &query,
                    &what,
                )
                .await?
            else {
                out.not_found.extend(chunk.iter().cloned());
                continue;
            };
            for problem in &page.errors {
                match (problem.suffix(), problem.value.as_deref()) {
                    (Some("resource-not-found"), Some(name)) => out.not_found.push(name.to_owned()),
                    _ => debug!(problem = %problem.summary(), "X left a user out."),
                }
            }
            out.users.extend(page.data);
        }
        Ok(out)
    }

    /// The users that `username`'s posts of the last 7 days mention, from
    /// `GET /2/tweets/search/recent?query=from:<username> has:mentions`.
    /// Only the first page (X's default of 10 posts): each post read is
    /// billed.
    pub async fn mentioned_users(&self, username: &str) -> Result<Vec<User>, SourceError> {
        if !is_handle(username) {
            return Ok(Vec::new());
        }
        let query = [
            ("query", format!("from:{username} has:mentions")),
            ("expansions", "entities.mentions.username".to_owned()),
            ("user.fields", MENTION_USER_FIELDS.to_owned()),
        ];
        let what = format!("the recent posts of @{username}");
        let page = self
            .get_json::<SearchResponse>(
                (SEARCH_RECENT, Resource::XRecentPosts),
                "/2/tweets/search/recent",
                &query,
                &what,
            )
            .await?;
        Ok(page
            .and_then(|p| p.includes)
            .map(|i| i.users)
            .unwrap_or_default())
    }

    async fn bearer(&self) -> Result<SecretString, SourceError> {
        match &*self.credentials {
            Credentials::Bearer(token) => Ok(token.clone()),
            Credentials::AppKey { key, secret } => self
                .exchanged
                .get_or_try_init(|| self.exchange(key, secret))
                .await
                .cloned(),
        }
    }

    /// `POST /oauth2/token` with the key and secret as Basic auth.
    async fn exchange(
        &self,
        key: &SecretString,
        secret: &SecretString,
    ) -> Result<SecretString, SourceError> {
        let url = format!("{}/oauth2/token", self.base_url);
        // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let response = self
            .gateway
            .send(Provider::X, OAUTH2_TOKEN, |http| {
                http.post(&url)
                    .basic_auth(
                        encode(key.expose_secret()),
                        Some(encode(secret.expose_secret())),
                    )
                    .header(
                        CONTENT_TYPE,
                        "application/x-www-form-urlencoded;charset=UTF-8",
                    )
                    .body("grant_type=client_credentials")
            })
            .await?;
        let what = "the bearer token exchange".to_owned();
        if response.status != StatusCode::OK {
            return Err(SourceError::Status {
                provider: PROVIDER,
                what,
                status: response.status.as_u16(),
            });
        }
        // Never put serde's message here: it may quote the body, which holds the token.
        let token: TokenResponse =
            serde_json::from_slice(&response.body).map_err(|_| SourceError::Malformed {
                provider: PROVIDER,
                what: what.clone(),
                detail: "not a {\"token_type\",\"access_token\"} object".to_owned(),
            })?;
        if !token.token_type.eq_ignore_ascii_case("bearer") {
            return Err(SourceError::Malformed {
                provider: PROVIDER,
                what,
                detail: format!("token_type {:?} is not bearer", token.token_type),
            });
        }
        debug!("Exchanged the X API key for a bearer token.");
        Ok(token.access_token)
    }

    /// GET through the cache; `Ok(None)` for 404.
    async fn get_json<T: DeserializeOwned>(
        &self,
        (endpoint, resource): (&'static str, Resource),
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Option<T>, SourceError> {
        // Usernames and operators are case-insensitive at X.
        let mut params: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_lowercase()))
            .collect();
        params.sort();
        let key = CacheKey {
            resource,
            params: format!("{}{path}?{}", self.base_url, params.join("&")),
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
        let token = self.bearer().await?;
        let url = format!("{}{}", self.base_url, path);
        let response = self
            .gateway
            .send(Provider::X, endpoint, |http| {
                http.get(&url)
                    .query(query)
                    .header(ACCEPT, "application/json")
                    .bearer_auth(token.expose_secret())
            })
            .await?;
        crate::sources::json_answer::<Problem>(PROVIDER, what, response)
    }
}

/// Whether `s` can be an X handle: `^[A-Za-z0-9_]{1,15}$`.
pub fn is_handle(s: &str) -> bool {
    (1..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
