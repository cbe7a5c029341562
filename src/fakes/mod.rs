//! Local fakes of the APIs leadgen calls, speaking the real wire formats.
//!
//! The real Companies House (and, later, X, LinkedIn and Facebook) cannot be
//! reached from development machines, so tests, the demo and the benchmarks
//! run against these. They are started in-process by tests
//! ([`FakeServer::start`]) or as the `leadgen-fakes` binary.

pub mod companies_house;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// What the fake server serves and how it misbehaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The Companies House register the fake serves.
    pub data: companies_house::Register,
    /// The API key the fake accepts as the Basic-auth username.
    pub api_key: String,
    /// Requests allowed per window per key before 429s (600 per 5 min on the real API).
    pub quota_limit: u32,
    pub quota_window: Duration,
    /// Added to every response.
    pub latency: Duration,
    pub faults: Faults,
}

/// Fault injection: each a probability in 0..=1, drawn per request from a seeded RNG.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub rate_429: f64,
    pub rate_503: f64,
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every request received, whatever it was answered with.
    pub requests: u64,
    /// 429s served, whether from the quota or injected.
    pub served_429: u64,
    pub served_401: u64,
    pub served_404: u64,
    pub served_5xx: u64,
    /// Requests by endpoint: `search`, `profile`, `officers`, `psc`, `other`.
    pub by_endpoint: std::collections::BTreeMap<String, u64>,
}

/// A running fake server on a loopback port.
pub struct FakeServer {
    addr: SocketAddr,
}

impl FakeServer {
    /// Start on `127.0.0.1:0` (a free port).
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeServer> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(config: FakeConfig, addr: SocketAddr) -> std::io::Result<FakeServer> {
        let _ = config;
        let _ = addr;
        unimplemented!("fakes helper")
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the value for `LEADGEN_COMPANIES_HOUSE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stats(&self) -> Stats {
        unimplemented!("fakes helper")
    }
}

impl FakeConfig {
    /// The bundled register (`fixtures/fake-data/companies_house.json`), real quota, no faults.
    pub fn from_file(path: &Path, api_key: &str) -> std::io::Result<FakeConfig> {
        let _ = (path, api_key);
        unimplemented!("fakes helper")
    }
}
