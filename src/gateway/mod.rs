//! What every outbound HTTP call passes through.
//!
//! Sources describe a request and read the answer; the gateway owns the
//! HTTP client, timeouts and, per provider, everything that decides when a
//! request may go and what to do when it fails. Sources never retry or
//! sleep on their own.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// An API leadgen calls. Each has its own quota, timeouts and failure state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    CompaniesHouse,
}

impl Provider {
    /// Human name, used in messages ("Companies House unavailable").
    pub fn label(self) -> &'static str {
        match self {
            Provider::CompaniesHouse => "Companies House",
        }
    }

    /// Short name used in configuration keys and environment variables.
    pub fn key(self) -> &'static str {
        match self {
            Provider::CompaniesHouse => "companies_house",
        }
    }

    /// The environment variable holding this provider's credential (named in
    /// messages; its value never is).
    pub fn credential_var(self) -> &'static str {
        match self {
            Provider::CompaniesHouse => "COMPANIES_HOUSE_API_KEY",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How the gateway treats one provider.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
}

impl ProviderSettings {
    /// The provider's published behaviour.
    pub fn defaults(provider: Provider) -> ProviderSettings {
        match provider {
            Provider::CompaniesHouse => ProviderSettings {
                connect_timeout: Duration::from_secs(10),
                timeout: Duration::from_secs(30),
            },
        }
    }
}

/// A complete HTTP answer: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a call produced no answer a source can interpret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    #[error("{provider} refused the credential in {var} (HTTP {status}); check the key")]
    CredentialRefused {
        provider: Provider,
        var: &'static str,
        status: u16,
    },
    #[error("{provider} unavailable: {reason}")]
    Unavailable { provider: Provider, reason: String },
    #[error("{provider} did not answer within {timeout:?}")]
    Timeout {
        provider: Provider,
        timeout: Duration,
    },
    #[error("could not connect to {provider}: {reason}")]
    Connect { provider: Provider, reason: String },
    #[error("{provider} answer was cut short: {reason}")]
    Body { provider: Provider, reason: String },
    #[error("{provider} answered HTTP {status}")]
    Status { provider: Provider, status: u16 },
    #[error("invalid request to {provider}: {reason}")]
    Request { provider: Provider, reason: String },
}

/// Shared by every concurrent task of a run; cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    providers: HashMap<Provider, ProviderSettings>,
}

impl Gateway {
    pub fn new(providers: HashMap<Provider, ProviderSettings>) -> Result<Gateway, GatewayError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("leadgen/", env!("CARGO_PKG_VERSION")))
            .gzip(true)
            .build()
            .map_err(|e| GatewayError::Request {
                provider: Provider::CompaniesHouse,
                reason: e.to_string(),
            })?;
        Ok(Gateway {
            inner: Arc::new(Inner { http, providers }),
        })
    }

    /// Send the request `build` describes and read the whole answer.
    ///
    /// `endpoint` names the endpoint for providers that count quotas per
    /// endpoint and for metrics. `build` may be called more than once.
    /// Any HTTP status comes back as `Ok` except a refused credential
    /// (401/403) and statuses that stay failed after the provider's policy.
    pub async fn send<F>(
        &self,
        provider: Provider,
        endpoint: &'static str,
        build: F,
    ) -> Result<HttpResponse, GatewayError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let _ = endpoint;
        let settings = self
            .inner
            .providers
            .get(&provider)
            .cloned()
            .unwrap_or_else(|| ProviderSettings::defaults(provider));
        let request = build(&self.inner.http)
            .timeout(settings.timeout)
            .build()
            .map_err(|e| GatewayError::Request {
                provider,
                reason: e.to_string(),
            })?;
        let response = tokio::time::timeout(settings.timeout, self.inner.http.execute(request))
            .await
            .map_err(|_| GatewayError::Timeout {
                provider,
                timeout: settings.timeout,
            })?
            .map_err(|e| classify_transport(provider, &settings, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| classify_transport(provider, &settings, e))?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(GatewayError::CredentialRefused {
                provider,
                var: provider.credential_var(),
                status: status.as_u16(),
            });
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn classify_transport(
    provider: Provider,
    settings: &ProviderSettings,
    e: reqwest::Error,
) -> GatewayError {
    // reqwest's Display includes the URL, which never carries a secret here
    // (Companies House keys travel in the Authorization header).
    if e.is_timeout() {
        GatewayError::Timeout {
            provider,
            timeout: settings.timeout,
        }
    } else if e.is_connect() {
        GatewayError::Connect {
            provider,
            reason: error_chain(&e),
        }
    } else if e.is_body() || e.is_decode() {
        GatewayError::Body {
            provider,
            reason: error_chain(&e),
        }
    } else {
        GatewayError::Connect {
            provider,
            reason: error_chain(&e),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
