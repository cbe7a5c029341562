//! HTTP calls to LinkedIn's versioned REST API (`/rest/...`).

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};

use super::types::{ErrorBody, FinderResponse, Organization};
use crate::cache::{Cache, CacheKey, Resource};
use crate::gateway::{Gateway, Provider};
use crate::sources::SourceError;
use crate::sources::social::non_blank;

/// The live API.
pub const DEFAULT_BASE_URL: &str = "https://api.linkedin.com";

/// The API version leadgen is written against (`LinkedIn-Version: YYYYMM`).
/// LinkedIn keeps each version for about a year; move it forward on purpose.
pub const LINKEDIN_VERSION: &str = "202611";

/// Without it, calls default to Rest.li protocol 1.0.
pub const RESTLI_PROTOCOL_VERSION: &str = "2.0.0";

use super::policy::ACCESS_TOKEN_VAR;
pub use super::policy::ORGANIZATIONS;

const PROVIDER: Provider = Provider::LinkedIn;

/// `LINKEDIN_ACCESS_TOKEN` (a member token of an app approved for the
/// Community Management API); `None` when unset or blank.
pub fn access_token_from_env() -> Option<SecretString> {
    access_token_from_lookup(|name| std::env::var(name).ok())
}

/// As [`access_token_from_env`], reading `lookup` instead of the process environment.
pub fn access_token_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Option<SecretString> {
    non_blank(&lookup, ACCESS_TOKEN_VAR).map(SecretString::from)
}

#[derive(Clone)]
pub struct Client {
    gateway: Gateway,
    cache: Cache,
    base_url: Arc<str>,
    token: SecretString,
}

impl Client {
    pub fn new(gateway: Gateway, cache: Cache, base_url: &str, token: SecretString) -> Client {
        Client {
            gateway,
            cache,
            base_url: base_url.trim_end_matches('/').into(),
            token,
        }
    }

    /// `GET /rest/organizations?q=vanityName&vanityName=<vanity>`: the
    /// organizations with that vanity name (none or one).
    pub async fn organizations_by_vanity_name(
        &self,
        vanity: &str,
    ) -> Result<Vec<Organization>, SourceError> {
        let vanity = vanity.to_ascii_lowercase();
        if !is_vanity_name(&vanity) {
            return Ok(Vec::new());
        }
        let what = format!("the organization {vanity:?}");
        let key = CacheKey {
            resource: Resource::LinkedInOrganizations,
            params: format!(
                "{}/rest/organizations?q=vanityName&vanityName={vanity}",
                self.base_url
            ),
        };
        let page: Option<FinderResponse> = crate::sources::cached_json(
            &self.cache,
            key,
            PROVIDER,
            &what,
            self.fetch(&vanity, &what),
        )
        .await?;
        Ok(page.map(|p| p.elements).unwrap_or_default())
    }

    async fn fetch(&self, vanity: &str, what: &str) -> Result<Option<Bytes>, SourceError> {
        let url = format!("{}/rest/organizations", self.base_url);
        let query = [("q", "vanityName"), ("vanityName", vanity)];
        let response = self
            .gateway
            .send(Provider::LinkedIn, ORGANIZATIONS, |http| {
                http.get(&url)
                    .query(&query)
                    .header(ACCEPT, "application/json")
                    .header("LinkedIn-Version", LINKEDIN_VERSION)
                    .header("X-Restli-Protocol-Version", RESTLI_PROTOCOL_VERSION)
                    .bearer_auth(self.token.expose_secret())
            })
            .await?;
        crate::sources::json_answer::<ErrorBody>(PROVIDER, what, response)
    }
}

/// Vanity names leadgen asks for: lower-case letters, digits and inner
/// hyphens (a `&` is refused by LinkedIn with a 403, which would switch
/// the provider off).
pub fn is_vanity_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
