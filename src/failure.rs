//! The kinds of failure a row or a source can end in: one vocabulary for
//! the output's `error_kind` and `warnings[].kind`. A leaf, so sources,
//! the pipeline and the output can all name them.

/// Why a row ended in `error`, or why a source could not answer for a row:
/// the CSV's `error_kind`, the JSON's `error.kind` and `warnings[].kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The row itself is unusable (no name or number, a bad number...).
    InvalidInput,
    /// The provider refused the credential.
    CredentialRefused,
    /// The provider accepted the credential, but the app lacks an access
    /// the call needs (an API product or reviewed feature not granted).
    NotPermitted,
    /// The provider is down (its circuit is open).
    ProviderUnavailable,
    /// An optional source's quota is spent for this run.
    QuotaSpent,
    Timeout,
    Connection,
    /// An answer cut short.
    TruncatedResponse,
    /// An HTTP status that stayed failed.
    HttpStatus,
    /// The request could not be built or sent (offline, say).
    Request,
    /// JSON that is not what the API documents.
    MalformedResponse,
    /// The local copy of the register could not be read.
    LocalRegister,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::InvalidInput => "invalid_input",
            FailureKind::CredentialRefused => "credential_refused",
            FailureKind::NotPermitted => "not_permitted",
            FailureKind::ProviderUnavailable => "provider_unavailable",
            FailureKind::QuotaSpent => "quota_spent",
            FailureKind::Timeout => "timeout",
            FailureKind::Connection => "connection",
            FailureKind::TruncatedResponse => "truncated_response",
            FailureKind::HttpStatus => "http_status",
            FailureKind::Request => "request",
            FailureKind::MalformedResponse => "malformed_response",
            FailureKind::LocalRegister => "local_register",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
