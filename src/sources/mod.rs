//! One folder per API. A source knows its API's paths, auth and JSON and
//! turns answers into [`crate::model`] records; it does not know how calls
//! are rate-limited, retried or cached (see [`crate::gateway`], [`crate::cache`]).

pub mod companies_house;
pub mod facebook;
pub mod linkedin;
pub mod social;
pub mod x;

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
