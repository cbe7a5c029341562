//! How a built request reaches the network and its whole answer comes back.
//!
//! The gateway decides *when* a request goes and what its answer means; a
//! [`Transport`] only carries it. In a run that is reqwest ([`Http`]); the
//! gateway's own tests script the answers instead, so pacing, pauses and
//! the breaker are tested on a clock they control, without sockets.

use bytes::Bytes;
use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// A complete HTTP answer: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why no whole answer came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Connect(String),
    #[error("{0}")]
    Body(String),
}

/// Carries one request and reads its whole answer.
pub trait Transport: Send + Sync {
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>>;
}

/// The network, through reqwest.
#[derive(Debug, Clone, Copy, Default)]
pub struct Http;

impl Transport for Http {
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let response = client.execute(request).await.map_err(classify)?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(classify)?;
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    }
}

fn classify(e: reqwest::Error) -> TransportError {
    // reqwest's Display includes the URL, and some APIs take a token in the
    // query string: errors never carry the URL.
    let e = e.without_url();
    if e.is_timeout() {
        TransportError::Timeout
    } else if e.is_body() || e.is_decode() {
        TransportError::Body(error_chain(&e))
    } else {
        TransportError::Connect(error_chain(&e))
    }
}

/// An error and its sources, `outer: inner: innermost`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
