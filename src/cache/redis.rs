//! The shared tier: Redis, for several machines (or containers) sharing
//! one cache. Optional, and never a reason for a row to fail: when Redis
//! cannot be reached at start or goes away mid-run, leadgen warns once and
//! carries on with the other tiers, trying Redis again now and then.
//!
//! Keys are `leadgen:v1:PROVIDER:RESOURCE:PARAMS`; values are
//! `fetched_at` (8 bytes, milliseconds since the epoch, big-endian), a found
//! flag (1 byte) and the body. Redis expires each key when its TTL runs out.
//! `leadgen:idx:v1:company:NUMBER` is the set of the keys about a company,
//! for dropping them when it changes; `leadgen:stream:v1:STREAM` mirrors a
//! followed stream's state ([`super::followed`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::followed::StreamState;
use super::sqlite::{from_millis, to_millis};
use super::{CacheKey, Entry, TierUsage};
use crate::stream_kind::Stream;

const PREFIX: &str = "leadgen:v1:";
/// A local Redis answers in well under a millisecond; one that takes longer
/// than this is treated as gone rather than allowed to slow every row.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// After a failure, Redis is left alone this long before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

pub struct RedisTier {
    conn: ConnectionManager,
    /// Where, for messages: host and port, never a password.
    endpoint: String,
    down_until: Mutex<Option<Instant>>,
    warned: AtomicBool,
}

/// What a Redis URL may show in a message.
pub fn endpoint(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().unwrap_or(6379)
        ),
        Err(_) => "the Redis URL".into(),
    }
}

/// How a Redis URL protects what crosses the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// `rediss://`: TLS.
    pub encrypted: bool,
    /// A password (or user and password) in the URL.
    pub authenticated: bool,
    /// The host is this machine (`localhost`, `127.0.0.0/8`, `::1`) or a
    /// Unix socket: nothing crosses a network.
    pub loopback: bool,
}

impl Protection {
    pub fn of(url: &str) -> Protection {
        let Ok(u) = url::Url::parse(url) else {
            return Protection {
                encrypted: false,
                authenticated: false,
                loopback: false,
            };
        };
        let loopback = match u.host() {
            // A `redis://` host is opaque to the URL parser: an address
            // arrives as text.
            Some(url::Host::Domain(d)) => {
                d.eq_ignore_ascii_case("localhost")
                    || d.parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => u.scheme().starts_with("redis+unix") || u.scheme() == "unix",
        };
        Protection {
            encrypted: u.scheme() == "rediss",
            authenticated: u.password().is_some(),
            loopback,
        }
    }

    /// The warning a run gives once, when the data would cross a network in clear.
    pub fn warning(&self, endpoint: &str) -> Option<String> {
        (!self.encrypted && !self.loopback).then(|| {
            format!(
                "{endpoint} is reached without TLS: cached personal data crosses the network \
                 in clear. Use a rediss:// URL (and cache.redis_ca_file for a private CA)."
            )
        })
    }
}

/// A connection to `url` that answered a PING, or why not, naming the
/// server as `endpoint`: the cache tier's and the shared quota's (each
/// has its own, with the same timeouts). `ca_file` is the PEM of a
/// private CA for a `rediss://` server.
pub async fn connection(
    url: &str,
    ca_file: Option<&Path>,
    endpoint: &str,
) -> Result<ConnectionManager, String> {
    let client = match ca_file {
        Some(path) => {
            let root = std::fs::read(path).map_err(|e| {
                format!(
                    "{endpoint}: cannot read the CA file {}: {e}",
                    path.display()
                )
            })?;
            redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root),
                },
            )
        }
        None => redis::Client::open(url),
    }
    .map_err(|e| format!("{endpoint}: not a usable Redis URL: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    let mut conn = tokio::time::timeout(
        CONNECT_TIMEOUT * 2,
        client.get_connection_manager_with_config(config),
    )
    .await
    .map_err(|_| format!("{endpoint}: no answer within {:?}", CONNECT_TIMEOUT * 2))?
    .map_err(|e| format!("{endpoint}: {e}"))?;
    let _: () = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| format!("{endpoint}: {e}"))?;
    Ok(conn)
}

impl RedisTier {
    /// Connect, or say why not (the caller warns and goes on without).
    /// `ca_file` is the PEM of a private CA for a `rediss://` server.
    pub async fn connect(url: &str, ca_file: Option<&Path>) -> Result<RedisTier, String> {
        let endpoint = endpoint(url);
        if let Some(warning) = Protection::of(url).warning(&endpoint) {
            tracing::warn!("{warning}");
        }
        let conn = connection(url, ca_file, &endpoint).await?;
        Ok(RedisTier {
            conn,
            endpoint,
            down_until: Mutex::new(None),
            warned: AtomicBool::new(false),
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The entry if Redis has it; `None` too when Redis is unavailable.
    pub async fn get(&self, key: &CacheKey) -> Option<Entry> {
        if self.is_down() {
            return None;
        }
        let mut conn = self.conn.clone();
        let got: redis::RedisResult<Option<Vec<u8>>> = conn.get(redis_key(key)).await;
        match got {
            Ok(value) => {
                self.mark_up();
                value.and_then(|v| decode(&v))
            }
            Err(e) => {
                self.mark_down(&e);
                None
            }
        }
    }

    /// Store `entry` for `ttl` (what remains of its life), and index it
    /// under each company it is about (the one in its path, or those a name
    /// search lists), so a change to a company drops it without a SCAN.
    pub async fn put(&self, key: &CacheKey, entry: &Entry, ttl: Duration) {
        let millis = ttl.as_millis() as u64;
        if millis == 0 || self.is_down() {
            return;
        }
        let stored = redis_key(key);
        let mut pipe = redis::pipe();
        pipe.pset_ex(&stored, encode(entry), millis).ignore();
        for company in companies_of(key, entry) {
            let index = index_key(&company);
            pipe.sadd(&index, &stored).ignore();
            // A new set has no expiry, which GT would read as infinite.
            pipe.cmd("PEXPIRE")
                .arg(&index)
                .arg(millis)
                .arg("NX")
                .ignore();
            pipe.cmd("PEXPIRE")
                .arg(&index)
                .arg(millis)
                .arg("GT")
                .ignore();
        }
        let mut conn = self.conn.clone();
        let set: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        match set {
            Ok(()) => self.mark_up(),
            Err(e) => self.mark_down(&e),
        }
    }

    /// Drop each company's entries of the kinds given (as
    /// [`super::sqlite::drop_company`]): two round trips for the batch.
    pub async fn drop_companies(
        &self,
        changed: &[(String, &'static [super::Resource])],
    ) -> redis::RedisResult<u64> {
        if changed.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for (company, _) in changed {
            pipe.smembers(index_key(company));
        }
        let members: Vec<Vec<String>> = pipe.query_async(&mut conn).await?;
        let mut pipe = redis::pipe();
        let mut doomed = 0usize;
        for ((company, resources), keys) in changed.iter().zip(members) {
            let stale: Vec<&String> = keys
                .iter()
                .filter(|k| resources.iter().any(|r| is_of(k, *r)))
                .collect();
            if stale.is_empty() {
                continue;
            }
            doomed += 1;
            pipe.unlink(&stale);
            pipe.srem(index_key(company), &stale).ignore();
        }
        if doomed == 0 {
            return Ok(0);
        }
        let counts: Vec<u64> = pipe.query_async(&mut conn).await?;
        Ok(counts.iter().sum())
    }

    /// A stream's state as a follower mirrored it.
    pub async fn stream_state(&self, stream: Stream) -> Option<StreamState> {
        let mut conn = self.conn.clone();
        let got: redis::RedisResult<Option<String>> =
            conn.get(super::followed::redis_key(stream.path())).await;
        got.ok()
            .flatten()
            .and_then(|v| serde_json::from_str(&v).ok())
    }

    /// Mirror a stream's state for the other machines on this Redis.
    pub async fn put_stream_state(&self, state: &StreamState) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let json = serde_json::to_string(state).unwrap_or_default();
        conn.set(super::followed::redis_key(&state.stream), json)
            .await
    }

    fn is_down(&self) -> bool {
        let down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        down.is_some_and(|until| Instant::now() < until)
    }

    fn mark_up(&self) {
        *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn mark_down(&self, e: &redis::RedisError) {
        *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + RETRY_AFTER);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                redis = %self.endpoint,
                error = %e,
                "Redis cache unavailable; carrying on with the other cache tiers."
            );
        } else {
            tracing::debug!(redis = %self.endpoint, error = %e, "Redis still unavailable.");
        }
    }

    /// Keys matching `pattern` (a SCAN, so Redis is not blocked).
    async fn scan(&self, pattern: &str) -> redis::RedisResult<Vec<String>> {
        let mut conn = self.conn.clone();
        let mut cursor = 0u64;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    async fn delete(&self, keys: &[String]) -> redis::RedisResult<u64> {
        let mut conn = self.conn.clone();
        let mut deleted = 0;
        for chunk in keys.chunks(500) {
            let n: u64 = conn.unlink(chunk).await?;
            deleted += n;
        }
        Ok(deleted)
    }

    pub async fn usage(&self) -> redis::RedisResult<BTreeMap<String, TierUsage>> {
        let mut conn = self.conn.clone();
        let mut usage: BTreeMap<String, TierUsage> = BTreeMap::new();
        for key in self.scan(&format!("{PREFIX}*")).await? {
            let len: u64 = conn.strlen(&key).await?;
            let provider = key[PREFIX.len()..]
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string();
            let u = usage.entry(provider).or_default();
            u.entries += 1;
            u.bytes += len + key.len() as u64;
        }
        Ok(usage)
    }

    pub async fn clear(&self) -> redis::RedisResult<u64> {
        let keys = self.scan(&format!("{PREFIX}*")).await?;
        let indexes = self.scan(&format!("{INDEX_PREFIX}*")).await?;
        self.delete(&indexes).await?;
        self.delete(&keys).await
    }

    /// As the SQLite tier's: keys under `/company/NUMBER` and searches listing it.
    /// Keys are `provider:resource:<base URL><path>?<query>`.
    pub async fn invalidate_company(&self, number: &str) -> redis::RedisResult<u64> {
        let mut keys = self.scan(&format!("{PREFIX}*/company/{number}")).await?;
        keys.extend(self.scan(&format!("{PREFIX}*/company/{number}/*")).await?);
        keys.extend(
            self.scan(&format!("{PREFIX}*/company/{number}[?]*"))
                .await?,
        );
        let mut conn = self.conn.clone();
        let needle = format!("\"{number}\"");
        let mut searches = self.scan(&format!("{PREFIX}*:search:*")).await?;
        searches.extend(self.scan(&format!("{PREFIX}*:advanced_search:*")).await?);
        for key in searches {
            let value: Option<Vec<u8>> = conn.get(&key).await?;
            if value.is_some_and(|v| v.windows(needle.len()).any(|w| w == needle.as_bytes())) {
                keys.push(key);
            }
        }
        self.delete(&keys).await
    }
}

fn redis_key(key: &CacheKey) -> String {
    format!("{PREFIX}{key}")
}

/// The set of the keys about one company (outside `PREFIX`, whose keys
/// are all entries).
fn index_key(company: &str) -> String {
    format!("{INDEX_PREFIX}{company}")
}

const INDEX_PREFIX: &str = "leadgen:idx:v1:company:";

/// Whether the stored key `k` holds an entry of kind `resource`.
fn is_of(k: &str, resource: super::Resource) -> bool {
    let provider = resource.provider().key();
    k.strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_prefix(provider))
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|rest| rest.strip_prefix(resource.as_str()))
        .is_some_and(|rest| rest.starts_with(':'))
}

/// The companies an entry is about: its path's, or those a name search lists.
fn companies_of(key: &CacheKey, entry: &Entry) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Listed {
        #[serde(default)]
        items: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        company_number: Option<String>,
    }
    if let Some(company) = key.company() {
        return vec![company.to_owned()];
    }
    match (&key.resource, &entry.body) {
        (super::Resource::Search, Some(body)) => serde_json::from_slice::<Listed>(body)
            .map(|l| {
                l.items
                    .into_iter()
                    .filter_map(|i| i.company_number)
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn encode(entry: &Entry) -> Vec<u8> {
    let body = entry.body.as_deref().unwrap_or_default();
    let mut v = Vec::with_capacity(9 + body.len());
    v.extend_from_slice(&to_millis(entry.fetched_at).to_be_bytes());
    v.push(u8::from(entry.body.is_some()));
    v.extend_from_slice(body);
    v
}

fn decode(v: &[u8]) -> Option<Entry> {
    let millis = i64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    let found = *v.get(8)? == 1;
    Some(Entry {
        body: found.then(|| Bytes::copy_from_slice(&v[9..])),
        fetched_at: from_millis(millis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_off_this_machine_without_tls_is_warned_about() {
        let p = |u: &str| Protection::of(u);
        assert!(p("redis://10.1.2.3:6379/0").warning("x").is_some());
        assert!(p("redis://cache.internal:6379/0").warning("x").is_some());
        assert!(p("redis://127.0.0.1:6379/0").warning("x").is_none());
        assert!(p("redis://localhost/0").warning("x").is_none());
        assert!(p("redis://[::1]:6379").warning("x").is_none());
        assert!(p("rediss://cache.internal:6380/0").warning("x").is_none());
        let tls = p("rediss://:pw-long-enough@cache.internal:6380/0");
        assert!(tls.encrypted && tls.authenticated && !tls.loopback);
    }

    #[test]
    fn values_round_trip_and_urls_hide_passwords() {
        for body in [None, Some(Bytes::from_static(b"{\"a\":1}"))] {
            let e = Entry {
                body,
                fetched_at: from_millis(1_700_000_000_123),
            };
            assert_eq!(decode(&encode(&e)), Some(e));
        }
        assert_eq!(decode(b"short"), None);
        assert_eq!(
            endpoint("redis://:hunter2@cache.internal:6380/0"),
            "redis://cache.internal:6380"
        );
    }
}
