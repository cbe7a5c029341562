//! One folder per API. A source knows its API's paths, auth and JSON and
//! turns answers into [`crate::model`] records; it does not know how calls
//! are rate-limited, retried or cached (see [`crate::gateway`], [`crate::cache`]).

pub mod companies_house;
pub mod facebook;
pub mod linkedin;
pub mod social;
pub mod x;

use std::future::Future;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::cache::{Cache, CacheKey};
use crate::gateway::GatewayError;

/// Why a source could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("{provider} sent malformed JSON for {what}: {detail}")]
    Malformed {
        provider: &'static str,
        what: String,
        detail: String,
    },
    #[error("{provider} answered HTTP {status} for {what}")]
    Status {
        provider: &'static str,
        what: String,
        status: u16,
    },
}

impl SourceError {
    /// A body that did not parse as what the API documents.
    pub fn malformed(provider: &'static str, what: &str, e: serde_json::Error) -> SourceError {
        SourceError::Malformed {
            provider,
            what: what.to_string(),
            detail: e.to_string(),
        }
    }

    /// A short machine-readable kind for output rows.
    pub fn kind(&self) -> &'static str {
        use GatewayError as G;
        match self {
            SourceError::Gateway(G::CredentialRefused { .. }) => "credential_refused",
            SourceError::Gateway(G::Unavailable { .. }) => "provider_unavailable",
            SourceError::Gateway(G::QuotaSpent { .. }) => "quota_spent",
            SourceError::Gateway(G::Timeout { .. }) => "timeout",
            SourceError::Gateway(G::Connect { .. }) => "connection",
            SourceError::Gateway(G::Body { .. }) => "truncated_response",
            SourceError::Gateway(G::Status { .. }) | SourceError::Status { .. } => "http_status",
            SourceError::Gateway(G::Request { .. }) => "request",
            SourceError::Malformed { .. } => "malformed_response",
        }
    }
}

/// A JSON resource through the cache: the cached or freshly fetched body
/// parsed as `T`, `Ok(None)` when the provider said it does not exist.
/// `fetch` runs only on a miss and returns the body (`None` for "not found").
pub async fn cached_json<T, F>(
    cache: &Cache,
    key: CacheKey,
    provider: &'static str,
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
