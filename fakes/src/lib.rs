//! Local fakes of the APIs leadgen calls, speaking the real wire formats.
//!
//! The real Companies House (and X, LinkedIn and Facebook) cannot be
//! reached from development machines, so tests, the demo and the benchmarks
//! run against these. They are started in-process by tests
//! ([`FakeServer::start`]) or as the `leadgen-fakes` binary.
//! They are a crate of their own so that the released `leadgen` never
//! contains them; leadgen uses them only as a dev-dependency.
//!
//! The fake misbehaves on request, like the real service does on its bad
//! days: a per-key quota answered with 429s, and seeded random faults (429,
//! a 503 gateway page, slow answers, truncated bodies, dropped connections).
//!
//! The same server also speaks Companies House's streaming API
//! (`/companies`, `/officers`, `/persons-with-significant-control`,
//! `/persons-with-significant-control-statements`; see
//! [`stream`]): changes published with [`FakeServer::publish_burst`] reach
//! the REST endpoints and the streams alike.

pub mod bulk;
pub mod companies_house;
mod facebook;
mod linkedin;
pub mod quota;
mod server;
pub mod social;
pub mod stream;
pub mod synthetic;
mod x;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use quota::Quota;
use server::Shared;
pub use stream::{Burst, BurstKind, Stream, StreamLogStats, StreamStats};

/// The key `leadgen-fakes` accepts unless told otherwise. Not a secret.
pub const DEMO_API_KEY: &str = "demo-key-not-secret";

/// The streaming key `leadgen-fakes` accepts unless told otherwise. Not a secret.
pub const DEMO_STREAM_KEY: &str = "demo-stream-key-not-secret";

/// The credentials the social fakes accept unless told otherwise. Not secrets.
pub const DEMO_X_BEARER_TOKEN: &str = "demo-x-bearer-not-secret";
pub const DEMO_X_API_KEY: &str = "demo-x-key";
pub const DEMO_X_API_SECRET: &str = "demo-x-secret-not-secret";
pub const DEMO_LINKEDIN_ACCESS_TOKEN: &str = "demo-linkedin-token-not-secret";
pub const DEMO_FACEBOOK_APP_ID: &str = "100000000000001";
pub const DEMO_FACEBOOK_APP_SECRET: &str = "demo-facebook-secret-not-secret";

/// What the fake X, LinkedIn and Facebook serve, whom they let in, and
/// their limits.
#[derive(Debug, Clone)]
pub struct SocialFakeConfig {
    pub data: social::SocialData,
    /// The app's one bearer token: accepted on `/2/...` and issued by
    /// `/oauth2/token` for the key and secret below.
    pub x_bearer_token: String,
    pub x_api_key: String,
    pub x_api_secret: String,
    pub linkedin_access_token: String,
    pub facebook_app_id: String,
    pub facebook_app_secret: String,
    /// Per app token, as X counts app-only calls (300 and 450 per 15 min).
    pub x_users_by_quota: Quota,
    pub x_search_recent_quota: Quota,
    /// LinkedIn's daily application cap (unpublished; the fake's own
    /// number) and its window (a day; shorter in tests).
    pub linkedin_daily_limit: u32,
    pub linkedin_window: Duration,
    /// Facebook app calls per window (an hour; shorter in tests) before
    /// code 4; `X-App-Usage` reports the share used.
    pub facebook_hourly_limit: u32,
    pub facebook_window: Duration,
    /// Whether the LinkedIn token comes from an app approved for the
    /// Community Management API. When not (a self-serve Sign In with
    /// LinkedIn token), the organization finder answers 403 with
    /// `serviceErrorCode` 100 "Not enough permissions".
    pub linkedin_organization_access: bool,
    /// Whether the Facebook app has Page Public Metadata Access (granted by
    /// App Review). When not, Pages search and page reads answer code 10.
    pub facebook_page_access: bool,
}

impl SocialFakeConfig {
    /// `data` with the demo credentials and the published limits.
    pub fn new(data: social::SocialData) -> SocialFakeConfig {
        let quota = |limit: u32| Quota::per(limit, Duration::from_secs(15 * 60));
        SocialFakeConfig {
            data,
            x_bearer_token: DEMO_X_BEARER_TOKEN.to_owned(),
            x_api_key: DEMO_X_API_KEY.to_owned(),
            x_api_secret: DEMO_X_API_SECRET.to_owned(),
            linkedin_access_token: DEMO_LINKEDIN_ACCESS_TOKEN.to_owned(),
            facebook_app_id: DEMO_FACEBOOK_APP_ID.to_owned(),
            facebook_app_secret: DEMO_FACEBOOK_APP_SECRET.to_owned(),
            x_users_by_quota: quota(300),
            x_search_recent_quota: quota(450),
            linkedin_daily_limit: 100_000,
            linkedin_window: Duration::from_secs(24 * 3600),
            facebook_hourly_limit: 200,
            facebook_window: Duration::from_secs(3600),
            linkedin_organization_access: true,
            facebook_page_access: true,
        }
    }
}

/// The fake streaming API: whom it lets in and how it paces its streams.
#[derive(Debug, Clone)]
pub struct StreamFakeConfig {
    /// The streaming key accepted as the Basic-auth username on the stream
    /// paths (and refused on the REST paths, as REST keys are on streams).
    pub stream_key: String,
    /// More streaming keys (accounts), each with its own connection limit.
    pub other_stream_keys: Vec<String>,
    /// A blank line is sent after this long with nothing else sent.
    pub heartbeat: Duration,
    /// When set, each stream publishes one event this often about a company
    /// that is not on the register (`9` and seven digits): the background
    /// traffic of the real, never quiet streams.
    pub ambient: Option<Duration>,
    /// Events kept per stream for `?timepoint=` resumes; older ones get 416.
    pub backlog: usize,
    /// Events queued per connection before its reader counts as too slow
    /// and is disconnected.
    pub queue: usize,
    /// Open connections per key; one more closes the key's oldest.
    pub max_connections: usize,
}

impl StreamFakeConfig {
    /// `stream_key` with the defaults: heartbeat 30 s, an ambient event per
    /// stream every second, a backlog of 100,000 events per stream, a queue
    /// of 10,000 events, two connections per key.
    pub fn new(stream_key: &str) -> StreamFakeConfig {
        StreamFakeConfig {
            stream_key: stream_key.to_owned(),
            other_stream_keys: Vec::new(),
            heartbeat: Duration::from_secs(30),
            ambient: Some(Duration::from_secs(1)),
            backlog: 100_000,
            queue: 10_000,
            max_connections: 2,
        }
    }
}

impl Default for StreamFakeConfig {
    /// With [`DEMO_STREAM_KEY`].
    fn default() -> StreamFakeConfig {
        StreamFakeConfig::new(DEMO_STREAM_KEY)
    }
}

/// What the fake server serves and how it misbehaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The Companies House register the fake serves.
    pub data: companies_house::Register,
    /// The API key the fake accepts as the Basic-auth username.
    pub api_key: String,
    /// More keys the fake accepts, each with its own quota window (as
    /// Companies House counts per key): for tests of keys side by side.
    pub other_api_keys: Vec<String>,
    /// Requests allowed per window per key before 429s (600 per 5 min on the real API).
    pub quota_limit: u32,
    pub quota_window: Duration,
    /// Added to every response.
    pub latency: Duration,
    pub faults: Faults,
    /// The fake X, LinkedIn and Facebook on the same server.
    pub social: SocialFakeConfig,
    /// The fake streaming API on the same server.
    pub stream: StreamFakeConfig,
}

/// Fault injection: each a probability in 0..=1, drawn per request from a seeded RNG.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub rate_429: f64,
    pub rate_503: f64,
    /// Companies House only: a sporadic 403, as users report from its
    /// IP-level blocking (shared docs, section 2; the body is unconfirmed,
    /// so it is a proxy's HTML page).
    pub rate_403: f64,
    /// Answer only after `slow_delay` (set it beyond the client's timeout).
    pub rate_slow: f64,
    pub slow_delay: Duration,
    /// Send a 200 whose JSON body is cut short.
    pub rate_truncated: f64,
    /// Close the connection without answering.
    pub rate_drop: f64,
    pub seed: u64,
}

/// Counters of what the fake served.
///
/// `/__fake/...` requests (the stats endpoint itself) are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Every request received, whatever it was answered with (dropped ones too).
    pub requests: u64,
    /// 429s served, whether from the quota or injected.
    pub served_429: u64,
    pub served_401: u64,
    pub served_404: u64,
    pub served_5xx: u64,
    /// Requests by endpoint: `search`, `advanced_search`, `profile`,
    /// `officers`, `appointments` (`/officers/{id}/appointments`), `psc`,
    /// `psc_statements`, `other`; stream connection
    /// attempts `stream_companies`,
    /// `stream_officers`, `stream_psc`, `stream_psc_statements`;
    /// `x_oauth2_token`, `x_users_by`, `x_search_recent`, `x_other`;
    /// `linkedin_organizations`, `linkedin_other`; `facebook_pages_search`,
    /// `facebook_page`, `facebook_other`.
    pub by_endpoint: std::collections::BTreeMap<String, u64>,
}

impl Stats {
    /// The body of `GET /__fake/stats`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// A running fake server on a loopback port. Dropping it stops the server
/// and closes its open connections.
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Publishes the ambient stream events.
    ambient: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Start on `127.0.0.1:0` (a free port).
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeServer> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(config: FakeConfig, addr: SocketAddr) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        let ambient = shared.config.stream.ambient.map(|every| {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let every = every.max(Duration::from_millis(1));
                let mut ticks =
                    tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    stream::ambient_tick(&shared.live, &shared.hub);
                }
            })
        });
        Ok(FakeServer {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
            ambient,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the value for `LEADGEN_COMPANIES_HOUSE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stats(&self) -> Stats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn reset_stats(&self) {
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
    }

    /// The streaming API's base URL (the same server), the value for
    /// `LEADGEN_COMPANIES_HOUSE_STREAM_URL`.
    pub fn stream_url(&self) -> String {
        self.base_url()
    }

    /// The company as the REST endpoints serve it now (with the changes
    /// published so far).
    pub fn company(&self, number: &str) -> Option<companies_house::Company> {
        self.shared.live.company(number)
    }

    /// The register as served now, changes included.
    pub fn register(&self) -> companies_house::Register {
        self.shared.live.snapshot()
    }

    /// Change `companies` distinct register companies, chosen from `seed`,
    /// one change of `kind` each, and publish each change's event (after the
    /// REST endpoints have it). As `POST /__fake/stream/burst`.
    pub fn publish_burst(&self, kind: BurstKind, companies: usize, seed: u64) -> Burst {
        self.shared.publish_burst(kind, companies, seed)
    }

    /// Append `line` to `stream` as it is (valid or not; one trailing
    /// newline is dropped, the stream adds its own), in order with the
    /// events. It takes the next timepoint, which this returns, so ordering
    /// and resuming work around it. As `POST /__fake/stream/raw`.
    pub fn publish_raw(&self, stream: Stream, line: &str) -> u64 {
        self.shared.publish_raw(stream, line)
    }

    /// End every open stream connection; returns how many there were. As
    /// `POST /__fake/stream/disconnect`.
    pub fn disconnect_streams(&self) -> usize {
        self.shared.hub.disconnect_all()
    }

    /// Answer the next `times` authorised stream connection attempts with
    /// `status` instead of streaming: 429 and 416 with an empty body, 502,
    /// 503 and 504 with the real gateway pages (other 5xx a page like
    /// them). As `POST /__fake/stream/fail?status=..&times=..`.
    ///
    /// # Panics
    /// When `status` is not a valid HTTP status code (100 to 999).
    pub fn fail_stream_connects(&self, status: u16, times: u32) {
        let status = StatusCode::from_u16(status).expect("an HTTP status code");
        self.shared.hub.fail_connects(status, times);
    }

    /// While on, open and new stream connections send nothing at all, not
    /// even heartbeats (a dead connection); events queue up meanwhile. As
    /// `POST /__fake/stream/silence?on=true|false`.
    pub fn silence_streams(&self, on: bool) {
        self.shared.hub.silence(on);
    }

    /// As `GET /__fake/stream/stats`.
    pub fn stream_stats(&self) -> StreamStats {
        self.shared.hub.stats()
    }

    /// Stop accepting, close open connections and wait for the server task.
    pub async fn shutdown(mut self) {
        self.stop_streams();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop_streams(&mut self) {
        if let Some(ambient) = self.ambient.take() {
            ambient.abort();
        }
        self.shared.hub.disconnect_all();
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop_streams();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    // Owning the connection tasks here means stopping the loop aborts them all.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = service_fn(move |req| Arc::clone(&shared).handle(req));
                    // Errors here are client hang-ups or injected drops: nothing to report.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

impl FakeConfig {
    /// `data` with the real quota (600 per 5 minutes), no latency, no faults.
    pub fn new(data: companies_house::Register, api_key: &str) -> FakeConfig {
        FakeConfig {
            data,
            api_key: api_key.to_owned(),
            other_api_keys: Vec::new(),
            quota_limit: 600,
            quota_window: Duration::from_secs(300),
            latency: Duration::ZERO,
            faults: Faults::default(),
            social: SocialFakeConfig::new(social::SocialData::bundled()),
            stream: StreamFakeConfig::default(),
        }
    }

    /// The bundled register (`fixtures/fake-data/companies_house.json`, embedded), real quota, no faults.
    pub fn bundled(api_key: &str) -> FakeConfig {
        FakeConfig::new(companies_house::Register::bundled(), api_key)
    }

    /// A register read from a dataset file, real quota, no faults.
    pub fn from_file(path: &Path, api_key: &str) -> std::io::Result<FakeConfig> {
        let data = companies_house::Register::from_path(path)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(FakeConfig::new(data, api_key))
    }
}

#[cfg(test)]
mod tests;
