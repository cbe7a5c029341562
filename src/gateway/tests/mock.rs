//! A scripted stand-in for an HTTP server, shaped like the parts of
//! wiremock these tests use, served through a [`Transport`] without
//! sockets. Without real I/O the tests can run on tokio's paused clock:
//! every wait is exact and instant, and the machine's load cannot move a
//! timing bound.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use super::super::limit::lock;
use super::super::transport::{HttpResponse, Transport, TransportError};

/// Every mock server of the test process, by host, so one [`Network`]
/// reaches whichever server a request's URL names.
static SERVERS: LazyLock<Mutex<HashMap<String, Weak<ServerState>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What a server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub url: reqwest::Url,
}

#[derive(Clone)]
pub enum Matcher {
    Any,
    Path(String),
}

/// Every request these tests send is a GET.
pub fn method(_: &str) -> Matcher {
    Matcher::Any
}

pub fn path(p: &str) -> Matcher {
    Matcher::Path(p.to_owned())
}

#[derive(Debug, Clone)]
pub struct ResponseTemplate {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    delay: Duration,
}

impl ResponseTemplate {
    pub fn new(status: u16) -> ResponseTemplate {
        ResponseTemplate {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn insert_header(mut self, name: &str, value: &str) -> ResponseTemplate {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn set_body_string(self, body: &str) -> ResponseTemplate {
        self.set_body_raw(body.as_bytes(), "text/plain")
    }

    pub fn set_body_raw(mut self, body: &[u8], mime: &str) -> ResponseTemplate {
        self.body = Bytes::copy_from_slice(body);
        self.headers
            .push((CONTENT_TYPE.as_str().to_owned(), mime.to_owned()));
        self
    }

    /// Answer only after `delay` (on the test's clock).
    pub fn set_delay(mut self, delay: Duration) -> ResponseTemplate {
        self.delay = delay;
        self
    }

    fn response(&self) -> HttpResponse {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        HttpResponse {
            status: StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body: self.body.clone(),
        }
    }
}

type Answer = Arc<dyn Fn(&Request) -> ResponseTemplate + Send + Sync>;

/// Anything a mock can answer with: a template, or a function of the request.
pub trait Respond {
    fn into_answer(self) -> Answer;
}

impl Respond for ResponseTemplate {
    fn into_answer(self) -> Answer {
        Arc::new(move |_| self.clone())
    }
}

impl<F: Fn(&Request) -> ResponseTemplate + Send + Sync + 'static> Respond for F {
    fn into_answer(self) -> Answer {
        Arc::new(self)
    }
}

pub struct MockBuilder {
    matcher: Matcher,
}

#[derive(Clone)]
pub struct Mock {
    matcher: Matcher,
    answer: Answer,
    /// Lower goes first, as in wiremock (default 5).
    priority: u8,
    remaining: Option<usize>,
}

impl Mock {
    pub fn given(matcher: Matcher) -> MockBuilder {
        MockBuilder { matcher }
    }

    pub fn up_to_n_times(mut self, n: usize) -> Mock {
        self.remaining = Some(n);
        self
    }

    pub fn with_priority(mut self, priority: u8) -> Mock {
        self.priority = priority;
        self
    }

    pub async fn mount(self, server: &MockServer) {
        lock(&server.state.mocks).push(self);
    }

    fn matches(&self, request: &Request) -> bool {
        self.remaining != Some(0)
            && match &self.matcher {
                Matcher::Any => true,
                Matcher::Path(p) => request.url.path() == p,
            }
    }
}

impl MockBuilder {
    pub fn respond_with(self, respond: impl Respond) -> Mock {
        Mock {
            matcher: self.matcher,
            answer: respond.into_answer(),
            priority: 5,
            remaining: None,
        }
    }
}

#[derive(Default)]
struct ServerState {
    mocks: Mutex<Vec<Mock>>,
    received: Mutex<Vec<Request>>,
}

impl ServerState {
    /// The first mounted mock of the lowest priority that matches; a 404
    /// when none does, as wiremock answers.
    fn answer(&self, request: &Request) -> ResponseTemplate {
        let mut mocks = lock(&self.mocks);
        let best = mocks
            .iter_mut()
            .filter(|m| m.matches(request))
            .min_by_key(|m| m.priority);
        match best {
            Some(mock) => {
                if let Some(n) = mock.remaining.as_mut() {
                    *n -= 1;
                }
                let answer = Arc::clone(&mock.answer);
                drop(mocks);
                answer(request)
            }
            None => ResponseTemplate::new(404),
        }
    }
}

pub struct MockServer {
    host: String,
    state: Arc<ServerState>,
}

impl MockServer {
    pub async fn start() -> MockServer {
        let host = format!("mock-{}.test", NEXT_ID.fetch_add(1, Ordering::Relaxed));
        let state = Arc::new(ServerState::default());
        lock(&SERVERS).insert(host.clone(), Arc::downgrade(&state));
        MockServer { host, state }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.host)
    }

    pub async fn received_requests(&self) -> Option<Vec<Request>> {
        Some(lock(&self.state.received).clone())
    }

    /// Forget every mock and every request received.
    pub async fn reset(&self) {
        lock(&self.state.mocks).clear();
        lock(&self.state.received).clear();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        lock(&SERVERS).remove(&self.host);
    }
}

/// Carries requests to the mock server their URL names; a host with no
/// server refuses the connection.
pub struct Network;

impl Transport for Network {
    fn send<'a>(
        &'a self,
        _client: &'a reqwest::Client,
        request: reqwest::Request,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let host = request.url().host_str().unwrap_or_default().to_owned();
            let server = lock(&SERVERS).get(&host).and_then(Weak::upgrade);
            let Some(server) = server else {
                return Err(TransportError::Connect(format!(
                    "connection refused: nothing listens at {host}"
                )));
            };
            let received = Request {
                url: request.url().clone(),
            };
            lock(&server.received).push(received.clone());
            let template = server.answer(&received);
            if !template.delay.is_zero() {
                tokio::time::sleep(template.delay).await;
            }
            Ok(template.response())
        })
    }
}
