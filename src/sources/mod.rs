//! One folder per API. A source knows its API's paths, auth and JSON and
//! turns answers into [`crate::model`] records; it does not know how calls
//! are rate-limited, retried or cached (see [`crate::gateway`], [`crate::cache`]).

pub mod companies_house;
pub mod facebook;
pub mod linkedin;
pub mod social;
pub mod x;

use std::collections::HashMap;
use std::future::Future;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::cache::{Cache, CacheKey};
use crate::failure::FailureKind;
use crate::gateway::policy::ProviderPolicy;
use crate::gateway::{Gateway, GatewayError, HttpResponse, Provider, ProviderSettings};
use reqwest::StatusCode;

/// What the gateway must know of each provider, from the provider's folder.
pub static POLICIES: [&'static dyn ProviderPolicy; 4] = [
    &companies_house::policy::CompaniesHousePolicy,
    &x::policy::XPolicy,
    &linkedin::policy::LinkedInPolicy,
    &facebook::policy::FacebookPolicy,
];

/// The policy of `provider`.
pub fn policy(provider: Provider) -> &'static dyn ProviderPolicy {
    match provider {
        Provider::CompaniesHouse => POLICIES[0],
        Provider::X => POLICIES[1],
        Provider::LinkedIn => POLICIES[2],
        Provider::Facebook => POLICIES[3],
    }
}

/// A gateway for every provider, `settings` over their published defaults.
pub fn gateway(settings: HashMap<Provider, ProviderSettings>) -> Result<Gateway, GatewayError> {
    Gateway::new(&POLICIES, settings)
}

/// Why a source could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("{provider} sent malformed JSON for {what}: {detail}")]
    Malformed {
        provider: Provider,
        what: String,
        detail: String,
    },
    #[error("{provider} answered HTTP {status} for {what}")]
    Status {
        provider: Provider,
        what: String,
        status: u16,
    },
    /// The local copy of the register could not be read.
    #[error("the local register could not be read: {detail}")]
    LocalRegister { detail: String },
}

impl SourceError {
    /// A body that did not parse as what the API documents.
    pub fn malformed(provider: Provider, what: &str, e: serde_json::Error) -> SourceError {
        SourceError::Malformed {
            provider,
            what: what.to_string(),
            detail: e.to_string(),
        }
    }

    /// A short machine-readable kind for output rows.
    pub fn kind(&self) -> FailureKind {
        use FailureKind as K;
        use GatewayError as G;
        match self {
            SourceError::Gateway(G::CredentialRefused { .. }) => K::CredentialRefused,
            SourceError::Gateway(G::NotPermitted { .. }) => K::NotPermitted,
            SourceError::Gateway(G::Unavailable { .. }) => K::ProviderUnavailable,
            SourceError::Gateway(G::QuotaSpent { .. }) => K::QuotaSpent,
            SourceError::Gateway(G::Timeout { .. }) => K::Timeout,
            SourceError::Gateway(G::Connect { .. }) => K::Connection,
            SourceError::Gateway(G::Body { .. }) => K::TruncatedResponse,
            SourceError::Gateway(G::Status { .. }) | SourceError::Status { .. } => K::HttpStatus,
            SourceError::Gateway(G::Request { .. }) => K::Request,
            SourceError::Malformed { .. } => K::MalformedResponse,
            SourceError::LocalRegister { .. } => K::LocalRegister,
        }
    }
}

/// A provider's error body, read to explain a refusal in messages.
pub trait ErrorBody: DeserializeOwned + Default {
    /// What the body says, short ("code 100: Unsupported get request").
    fn summary(&self) -> Option<String>;

    /// The provider's way of saying "no such thing" besides a 404.
    fn means_absent(&self) -> bool {
        false
    }
}

/// An error body leadgen does not read (Companies House's say no more
/// than the status).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Unread {}

impl ErrorBody for Unread {
    fn summary(&self) -> Option<String> {
        None
    }
}

/// What a GET of a JSON resource answered: the whole body of a 200,
/// `None` when the provider says the thing does not exist (404, or its
/// error body says so), else an error explained by the body `E`.
///
/// The body of a 200 is checked to be whole JSON here, before anything
/// caches it (the gateway only checks answers labelled JSON).
pub fn json_answer<E: ErrorBody>(
    provider: Provider,
    what: &str,
    response: HttpResponse,
) -> Result<Option<Bytes>, SourceError> {
    if response.status == StatusCode::OK {
        serde_json::from_slice::<serde::de::IgnoredAny>(&response.body)
            .map_err(|e| SourceError::malformed(provider, what, e))?;
        return Ok(Some(response.body));
    }
    let error: E = serde_json::from_slice(&response.body).unwrap_or_default();
    if response.status == StatusCode::NOT_FOUND || error.means_absent() {
        return Ok(None);
    }
    Err(SourceError::Status {
        provider,
        what: match error.summary() {
            Some(summary) => format!("{what} ({summary})"),
            None => what.to_owned(),
        },
        status: response.status.as_u16(),
    })
}

/// A JSON resource through the cache: the cached or freshly fetched body
/// parsed as `T`, `Ok(None)` when the provider said it does not exist.
/// `fetch` runs only on a miss and returns the body (`None` for "not found").
pub async fn cached_json<T, F>(
    cache: &Cache,
    key: CacheKey,
    provider: Provider,
    what: &str,
    fetch: F,
) -> Result<Option<T>, SourceError>
where
    T: DeserializeOwned,
    F: Future<Output = Result<Option<Bytes>, SourceError>>,
{
    let entry = cache
        .get_or_fetch(key, fetch)
        .await
        .map_err(|e| (*e).clone())?;
    match &entry.body {
        None => Ok(None),
        Some(body) => serde_json::from_slice(body)
            .map(Some)
            .map_err(|e| SourceError::malformed(provider, what, e)),
    }
}
