//! Answers already fetched, so the same resource is not fetched twice:
//! the cheapest API call is the one not made.
//!
//! Three tiers sit behind one call, [`Cache::get_or_fetch`], which is all a
//! source sees:
//!
//! 1. memory ([`memory`]): moka, bounded in bytes, per process;
//! 2. Redis ([`redis`]), optional (`--redis-url`): shared between machines;
//!    unreachable or gone, it is skipped with one warning, never failing a row;
//! 3. SQLite ([`sqlite`]), the default persistent tier: `cache.sqlite` in the
//!    user's cache directory, shared by concurrent leadgen processes.
//!
//! A lookup tries them in that order and copies a hit into the faster tiers;
//! a fetch writes through to all of them. Concurrent lookups of one key are
//! coalesced into one trip (duplicate companies in one input cost one call).
//!
//! Entries are keyed by provider, resource kind and normalised parameters
//! (never credentials) and hold the response body as fetched, or the fact
//! that the resource does not exist, with when it was fetched. How long an
//! entry is fresh depends on its resource kind ([`Ttl`]); "not found" answers
//! are kept for a shorter time, and errors are never cached.
//!
//! `--refresh` skips reading the persistent tiers but writes fresh answers
//! to them; `--no-cache` uses neither (memory still coalesces duplicates
//! within the run). Hit counts per tier feed the run summary and are kept
//! for `leadgen cache stats`.

pub mod admin;
pub mod followed;
pub mod memory;
pub mod redis;
pub mod sqlite;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::provider::Provider;
use crate::stream_kind::Stream;
use memory::{Capacity, Memory};
use redis::RedisTier;
use sqlite::SqliteTier;

/// What a cache entry holds. Its kind decides how long it stays fresh, so
/// a new kind of answer needs a variant here (and a TTL below), not a
/// string that would silently fall into another kind's TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Companies House `/search/companies`.
    Search,
    /// Companies House `/advanced-search/companies`.
    AdvancedSearch,
    /// Companies House `/company/{n}`.
    Profile,
    /// Companies House `/company/{n}/officers`, per page.
    Officers,
    /// Companies House `/company/{n}/persons-with-significant-control`, per page.
    Psc,
    /// Companies House `/company/{n}/persons-with-significant-control-statements`, per page.
    PscStatements,
    /// Companies House `/officers/{id}/appointments`, per page.
    Appointments,
    /// X `/2/users/by`.
    XUsers,
    /// X `/2/tweets/search/recent`.
    XRecentPosts,
    /// LinkedIn `/rest/organizations?q=vanityName`.
    LinkedInOrganizations,
    /// Facebook `/pages/search`.
    FacebookPageSearch,
    /// Facebook `/{page-id}`.
    FacebookPage,
}

impl Resource {
    pub const ALL: [Resource; 12] = [
        Resource::Search,
        Resource::AdvancedSearch,
        Resource::Profile,
        Resource::Officers,
        Resource::Psc,
        Resource::PscStatements,
        Resource::Appointments,
        Resource::XUsers,
        Resource::XRecentPosts,
        Resource::LinkedInOrganizations,
        Resource::FacebookPageSearch,
        Resource::FacebookPage,
    ];

    /// The name in stored keys. Every cache on disk and in Redis holds
    /// these: never rename one.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Search => "search",
            Resource::AdvancedSearch => "advanced_search",
            Resource::Profile => "profile",
            Resource::Officers => "officers",
            Resource::Psc => "psc",
            Resource::PscStatements => "psc_statements",
            Resource::Appointments => "appointments",
            Resource::XUsers => "users/by",
            Resource::XRecentPosts => "tweets/search/recent",
            Resource::LinkedInOrganizations => "organizations",
            Resource::FacebookPageSearch => "pages/search",
            Resource::FacebookPage => "page",
        }
    }

    /// The kind a stored name stands for.
    pub fn from_stored(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The stream whose events say when this kind of entry goes stale
    /// ([`stale_on`] is the other direction). Advanced searches list
    /// thousands of companies, one of which changes every few seconds, so
    /// no stream keeps them fresh.
    pub fn stream(self) -> Option<Stream> {
        match self {
            Resource::Search | Resource::Profile => Some(Stream::Companies),
            Resource::Officers => Some(Stream::Officers),
            Resource::Psc => Some(Stream::Psc),
            Resource::PscStatements => Some(Stream::PscStatements),
            _ => None,
        }
    }

    pub fn provider(self) -> Provider {
        match self {
            Resource::Search
            | Resource::AdvancedSearch
            | Resource::Profile
            | Resource::Officers
            | Resource::Psc
            | Resource::PscStatements
            | Resource::Appointments => Provider::CompaniesHouse,
            Resource::XUsers | Resource::XRecentPosts => Provider::X,
            Resource::LinkedInOrganizations => Provider::LinkedIn,
            Resource::FacebookPageSearch | Resource::FacebookPage => Provider::Facebook,
        }
    }
}

/// The kinds of a company's entries an event on `stream` makes stale
/// (a [`Resource::Search`]: the name searches listing the company, whose
/// name, status or address may have changed).
pub fn stale_on(stream: Stream) -> &'static [Resource] {
    match stream {
        Stream::Companies => &[Resource::Profile, Resource::Search],
        Stream::Officers => &[Resource::Officers],
        Stream::Psc => &[Resource::Psc],
        Stream::PscStatements => &[Resource::PscStatements],
    }
}

/// What a cache entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub resource: Resource,
    /// Normalised parameters: the path and sorted query, lower-cased where
    /// the provider is case-insensitive. A key about one company should
    /// contain `/company/NUMBER` so `cache invalidate --company` finds it.
    pub params: String,
}

impl CacheKey {
    /// `companies_house`, `x`, ...: the provider's key.
    pub fn provider(&self) -> &'static str {
        self.resource.provider().key()
    }

    /// The company number in the key's `/company/NUMBER` path, if any.
    pub fn company(&self) -> Option<&str> {
        let (_, rest) = self.params.split_once("/company/")?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        Some(&rest[..end]).filter(|n| !n.is_empty())
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.provider(),
            self.resource.as_str(),
            self.params
        )
    }
}

/// A cached answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `None`: the provider said the resource does not exist.
    pub body: Option<Bytes>,
    pub fetched_at: SystemTime,
}

/// How long entries stay fresh, by resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttl {
    pub search: Duration,
    pub profile: Duration,
    pub officers: Duration,
    pub psc: Duration,
    /// The social sources' lookups.
    pub social: Duration,
    /// "Not found" answers, of any kind (capped by the kind's own TTL).
    pub not_found: Duration,
    /// The life of an answer a followed stream keeps fresh (see [`Cover`]).
    pub with_stream: Duration,
    pub cover: Cover,
}

/// Since when each stream has been followed without a gap, for the streams
/// followed closely (lag under `stream.max_lag`) when the cache was opened.
/// An entry fetched since then is dropped by the follower when its company
/// changes, so while it is there it is current: it keeps for
/// [`Ttl::with_stream`] instead of its kind's TTL. Anything fetched before
/// (or after a gap, a 416) keeps its normal life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cover {
    pub companies: Option<SystemTime>,
    pub officers: Option<SystemTime>,
    pub psc: Option<SystemTime>,
    pub psc_statements: Option<SystemTime>,
}

impl Cover {
    pub fn since(&self, stream: Stream) -> Option<SystemTime> {
        match stream {
            Stream::Companies => self.companies,
            Stream::Officers => self.officers,
            Stream::Psc => self.psc,
            Stream::PscStatements => self.psc_statements,
        }
    }

    pub fn set(&mut self, stream: Stream, since: Option<SystemTime>) {
        match stream {
            Stream::Companies => self.companies = since,
            Stream::Officers => self.officers = since,
            Stream::Psc => self.psc = since,
            Stream::PscStatements => self.psc_statements = since,
        }
    }
}

/// `cache.ttl_with_stream`'s default.
pub const DEFAULT_TTL_WITH_STREAM: Duration = Duration::from_secs(30 * 24 * 3600);

const HOUR: Duration = Duration::from_secs(3600);

impl Default for Ttl {
    fn default() -> Ttl {
        Ttl {
            search: 24 * HOUR,
            profile: 24 * HOUR,
            officers: 24 * HOUR,
            psc: 24 * HOUR,
            social: HOUR,
            not_found: HOUR,
            with_stream: DEFAULT_TTL_WITH_STREAM,
            cover: Cover::default(),
        }
    }
}

impl Ttl {
    pub fn for_kind(&self, resource: Resource, found: bool) -> Duration {
        let ttl = match resource {
            Resource::Search | Resource::AdvancedSearch => self.search,
            Resource::Profile => self.profile,
            Resource::Officers | Resource::Appointments => self.officers,
            Resource::Psc | Resource::PscStatements => self.psc,
            Resource::XUsers
            | Resource::XRecentPosts
            | Resource::LinkedInOrganizations
            | Resource::FacebookPageSearch
            | Resource::FacebookPage => self.social,
        };
        if found { ttl } else { ttl.min(self.not_found) }
    }

    /// The life of a stored entry of kind `name`; a name this version does
    /// not know (written by a newer leadgen, say) lives as long as the
    /// shortest kind, so pruning never keeps it longer than it could need.
    pub fn for_stored(&self, name: &str, found: bool) -> Duration {
        match Resource::from_stored(name) {
            Some(resource) => self.for_kind(resource, found),
            None => Resource::ALL
                .into_iter()
                .map(|r| self.for_kind(r, found))
                .min()
                .unwrap_or(self.not_found),
        }
    }

    /// The life of `entry`: its kind's, or longer while a followed stream
    /// keeps it fresh.
    pub fn life(&self, resource: Resource, entry: &Entry) -> Duration {
        let ttl = self.for_kind(resource, entry.body.is_some());
        // "Not found" too: a company incorporated, or a first PSC notified,
        // is an event about that company, which drops the answer.
        match resource.stream().and_then(|s| self.cover.since(s)) {
            Some(since) if entry.fetched_at >= since => ttl.max(self.with_stream),
            _ => ttl,
        }
    }

    /// What is left of `entry`'s life (zero: expired).
    pub fn remaining(&self, resource: Resource, entry: &Entry) -> Duration {
        let ttl = self.life(resource, entry);
        (entry.fetched_at + ttl)
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            // Another machine's clock ahead of ours must not stretch a TTL.
            .min(ttl)
    }
}

/// Which tiers a run reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheMode {
    #[default]
    Normal,
    /// Ignore cached values, write fresh ones (`--refresh`).
    Refresh,
    /// No persistent tiers at all (`--no-cache`).
    Off,
}

/// Validated cache settings (see [`crate::config`]).
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// Where `cache.sqlite` (and the run journal) live; `None` when there is
    /// no home directory and nothing was configured.
    pub dir: Option<PathBuf>,
    /// May hold a password, hence secret.
    pub redis_url: Option<SecretString>,
    /// A PEM file of the CA that signed a `rediss://` server's certificate
    /// (a private CA); without it the system's roots are trusted.
    pub redis_ca_file: Option<PathBuf>,
    pub mode: CacheMode,
    pub ttl: Ttl,
    /// Bytes the memory tier may hold.
    pub memory_bytes: u64,
    /// A stream lagging more than this keeps nothing fresh (`stream.max_lag`).
    pub stream_max_lag: Duration,
}

/// `stream.max_lag`'s default.
pub const DEFAULT_STREAM_MAX_LAG: Duration = Duration::from_secs(3600);

/// The memory tier's default size. Its job within a run is coalescing and
/// serving recent repeats (SQLite answers the rest in well under a
/// millisecond), so it is kept small enough that a 10k-row batch already
/// fills it and peak memory is flat from there on; at 64 MiB, a 100k-row run
/// peaked 1.7x higher than a 10k one.
pub const DEFAULT_MEMORY_BYTES: u64 = 16 * 1024 * 1024;

impl Default for CacheSettings {
    fn default() -> CacheSettings {
        CacheSettings {
            dir: None,
            redis_url: None,
            redis_ca_file: None,
            mode: CacheMode::Normal,
            ttl: Ttl::default(),
            memory_bytes: DEFAULT_MEMORY_BYTES,
            stream_max_lag: DEFAULT_STREAM_MAX_LAG,
        }
    }
}

/// Why the cache could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(
        "cache {0}; set LEADGEN_CACHE_DIR (or --cache-dir) to a writable directory, \
         or pass --no-cache"
    )]
    Db(#[from] crate::db::DbError),
    #[error(
        "no cache directory: there is no home directory to put it in; \
         set LEADGEN_CACHE_DIR or pass --cache-dir"
    )]
    NoDir,
}

/// Lookups of a run, by where they were answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Answered by any tier.
    pub hits: u64,
    /// Fetched from the provider.
    pub misses: u64,
    /// Of the hits, by tier (memory includes lookups coalesced with another).
    pub memory_hits: u64,
    pub redis_hits: u64,
    pub sqlite_hits: u64,
}

impl CacheStats {
    pub fn lookups(&self) -> u64 {
        self.hits + self.misses
    }

    /// `n` as a share of all lookups, in percent.
    pub fn percent(&self, n: u64) -> f64 {
        if self.lookups() == 0 {
            0.0
        } else {
            100.0 * n as f64 / self.lookups() as f64
        }
    }
}

/// Size of one tier's share of one provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TierUsage {
    pub entries: u64,
    pub bytes: u64,
}

const SERVED_MEMORY: u8 = 0;
const SERVED_REDIS: u8 = 1;
const SERVED_SQLITE: u8 = 2;
const SERVED_FETCH: u8 = 3;

#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    memory: Memory,
    redis: Option<RedisTier>,
    sqlite: Option<SqliteTier>,
    /// Lives of the memory and SQLite tiers' entries.
    ttl: Ttl,
    /// Lives of Redis's entries (the same but for the streams' cover).
    redis_ttl: Ttl,
    /// Skip reading the persistent tiers.
    refresh: bool,
    counts: [AtomicU64; 4],
    sqlite_warned: AtomicBool,
}

impl Cache {
    /// An in-memory cache holding up to `capacity` entries (least recently
    /// used go first), so memory stays flat however long the input.
    pub fn in_memory(capacity: u64) -> Cache {
        Cache::with_tiers(
            Capacity::Entries(capacity),
            None,
            None,
            [Ttl::default(); 2],
            false,
        )
    }

    /// The tiers `settings` ask for. A SQLite file that cannot be opened is
    /// an error; a Redis that cannot be reached is a warning.
    pub async fn open(settings: &CacheSettings) -> Result<Cache, CacheError> {
        let capacity = Capacity::Bytes(settings.memory_bytes);
        if settings.mode == CacheMode::Off {
            return Ok(Cache::with_tiers(
                capacity,
                None,
                None,
                [settings.ttl; 2],
                false,
            ));
        }
        let sqlite = match &settings.dir {
            Some(dir) => Some(SqliteTier::open(dir).await?),
            None => {
                tracing::warn!(
                    "No cache directory (no home directory); set LEADGEN_CACHE_DIR to keep answers between runs."
                );
                None
            }
        };
        let redis = match &settings.redis_url {
            Some(url) => {
                match RedisTier::connect(url.expose_secret(), settings.redis_ca_file.as_deref())
                    .await
                {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::warn!(error = %e, "Redis cache unavailable; carrying on with the other cache tiers.");
                        None
                    }
                }
            }
            None => None,
        };
        // Each tier's entries are kept fresh only by a follower that drops
        // them: the local file's by one writing its state there, Redis's by
        // one mirroring its state to Redis.
        let ttl = Ttl {
            cover: match &sqlite {
                Some(sqlite) => sqlite_cover(sqlite, settings.stream_max_lag).await,
                None => Cover::default(),
            },
            ..settings.ttl
        };
        let redis_ttl = Ttl {
            cover: match &redis {
                Some(redis) => redis_cover(redis, settings.stream_max_lag).await,
                None => Cover::default(),
            },
            ..settings.ttl
        };
        Ok(Cache::with_tiers(
            capacity,
            redis,
            sqlite,
            [ttl, redis_ttl],
            settings.mode == CacheMode::Refresh,
        ))
    }

    /// The lives in force, with the streams' cover read when opened.
    pub fn ttl(&self) -> Ttl {
        self.inner.ttl
    }

    fn with_tiers(
        capacity: Capacity,
        redis: Option<RedisTier>,
        sqlite: Option<SqliteTier>,
        [ttl, redis_ttl]: [Ttl; 2],
        refresh: bool,
    ) -> Cache {
        Cache {
            inner: Arc::new(Inner {
                memory: memory::build(capacity, ttl),
                redis,
                sqlite,
                ttl,
                redis_ttl,
                refresh,
                counts: Default::default(),
                sqlite_warned: AtomicBool::new(false),
            }),
        }
    }

    /// The cached entry for `key`, or the result of `fetch`, stored on success.
    /// Concurrent callers with the same key share one `fetch`.
    pub async fn get_or_fetch<F, E>(&self, key: CacheKey, fetch: F) -> Result<Arc<Entry>, Arc<E>>
    where
        F: Future<Output = Result<Option<Bytes>, E>>,
        E: Send + Sync + 'static,
    {
        let served = AtomicU8::new(SERVED_MEMORY);
        let inner = &*self.inner;
        // Absent from memory and served from memory: another task fetched
        // it meanwhile, and this one waited for that.
        let was_in_memory = inner.memory.contains_key(&key);
        let started = std::time::Instant::now();
        let result = inner
            .memory
            .try_get_with(key.clone(), async {
                if !inner.refresh
                    && let Some((tier, entry)) = inner.lookup(&key).await
                {
                    served.store(tier, Ordering::Relaxed);
                    return Ok(Arc::new(entry));
                }
                served.store(SERVED_FETCH, Ordering::Relaxed);
                let entry = Entry {
                    body: fetch.await?,
                    fetched_at: SystemTime::now(),
                };
                if let Some(sqlite) = &inner.sqlite {
                    sqlite.put(&key, &entry);
                }
                if let Some(redis) = &inner.redis {
                    redis
                        .put(
                            &key,
                            &entry,
                            inner.redis_ttl.remaining(key.resource, &entry),
                        )
                        .await;
                }
                Ok(Arc::new(entry))
            })
            .await;
        let served = served.load(Ordering::Relaxed);
        if served == SERVED_FETCH || (served == SERVED_MEMORY && !was_in_memory) {
            crate::timing::add_cold(started.elapsed());
        }
        inner.counts[served as usize].fetch_add(1, Ordering::Relaxed);
        result
    }

    /// Whether a fresh answer for `key` is cached, without fetching and
    /// without counting a lookup or copying anything between tiers (for
    /// `discover --plan`). Always `false` under `--refresh`.
    pub async fn contains(&self, key: &CacheKey) -> bool {
        let inner = &*self.inner;
        if inner.refresh {
            return false;
        }
        if inner.memory.contains_key(key) {
            return true;
        }
        if let Some(redis) = &inner.redis
            && let Some(entry) = redis.get(key).await
            && !inner.redis_ttl.remaining(key.resource, &entry).is_zero()
        {
            return true;
        }
        match &inner.sqlite {
            Some(sqlite) => matches!(sqlite.get(key, inner.ttl).await, Ok(Some(_))),
            None => false,
        }
    }

    pub fn stats(&self) -> CacheStats {
        let [memory, redis, sqlite, fetched] = self
            .inner
            .counts
            .each_ref()
            .map(|c| c.load(Ordering::Relaxed));
        CacheStats {
            hits: memory + redis + sqlite,
            misses: fetched,
            memory_hits: memory,
            redis_hits: redis,
            sqlite_hits: sqlite,
        }
    }

    /// Wait for queued writes and record this run's hit counts for
    /// `cache stats`. Call once, at the end of a run (interrupted or not).
    pub async fn close(&self) {
        let Some(sqlite) = &self.inner.sqlite else {
            return;
        };
        let stats = self.stats();
        let saved = async {
            sqlite.flush().await?;
            if stats.lookups() > 0 {
                let json = serde_json::to_string(&stats).unwrap_or_default();
                sqlite.save_last_run(json).await?;
            }
            Ok::<_, crate::db::DbError>(())
        };
        if let Err(e) = saved.await {
            tracing::warn!(error = %e, "Could not finish writing the cache.");
        }
    }
}

/// The cover the local file's stream states give (unreadable: none).
async fn sqlite_cover(sqlite: &SqliteTier, max_lag: Duration) -> Cover {
    let states = sqlite
        .db()
        .call(followed::read_all)
        .await
        .unwrap_or_default();
    followed::cover(&states, max_lag, SystemTime::now())
}

/// The cover the states mirrored to Redis give.
async fn redis_cover(redis: &RedisTier, max_lag: Duration) -> Cover {
    let mut states = Vec::new();
    for stream in Stream::ALL {
        states.extend(redis.stream_state(stream).await);
    }
    followed::cover(&states, max_lag, SystemTime::now())
}

impl Inner {
    /// The first tier holding a fresh entry, which is copied into the faster
    /// persistent tier (memory gets it from the caller).
    async fn lookup(&self, key: &CacheKey) -> Option<(u8, Entry)> {
        if let Some(redis) = &self.redis
            && let Some(entry) = redis.get(key).await
            && !self.redis_ttl.remaining(key.resource, &entry).is_zero()
        {
            return Some((SERVED_REDIS, entry));
        }
        let sqlite = self.sqlite.as_ref()?;
        match sqlite.get(key, self.ttl).await {
            Ok(Some(entry)) => {
                if let Some(redis) = &self.redis {
                    redis
                        .put(key, &entry, self.redis_ttl.remaining(key.resource, &entry))
                        .await;
                }
                Some((SERVED_SQLITE, entry))
            }
            Ok(None) => None,
            Err(e) => {
                if !self.sqlite_warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "Cannot read the SQLite cache; fetching instead.");
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn key(p: &str) -> CacheKey {
        CacheKey {
            resource: Resource::XUsers,
            params: p.into(),
        }
    }

    #[test]
    fn every_resource_kind_has_its_ttl_and_a_stable_stored_name() {
        let ttl = Ttl {
            search: Duration::from_secs(1),
            profile: Duration::from_secs(2),
            officers: Duration::from_secs(3),
            psc: Duration::from_secs(4),
            social: Duration::from_secs(5),
            not_found: Duration::from_secs(100),
            ..Ttl::default()
        };
        for r in Resource::ALL {
            assert_eq!(Resource::from_stored(r.as_str()), Some(r));
            assert_eq!(ttl.for_stored(r.as_str(), true), ttl.for_kind(r, true));
        }
        assert_eq!(ttl.for_kind(Resource::AdvancedSearch, true), ttl.search);
        assert_eq!(ttl.for_kind(Resource::Psc, false), ttl.psc);
        assert_eq!(ttl.for_kind(Resource::FacebookPage, true), ttl.social);
        // A kind this version does not know lives as briefly as any.
        assert_eq!(ttl.for_stored("from-a-newer-leadgen", true), ttl.search);
    }

    #[tokio::test]
    async fn concurrent_requests_for_one_key_share_one_fetch() {
        let cache = Cache::in_memory(100);
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks = (0..20).map(|_| {
            let cache = cache.clone();
            let calls = calls.clone();
            async move {
                cache
                    .get_or_fetch(key("a"), async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok::<_, String>(Some(Bytes::from_static(b"{}")))
                    })
                    .await
                    .unwrap()
            }
        });
        let all = futures::future::join_all(tasks).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(all.iter().all(|e| e.body.as_deref() == Some(&b"{}"[..])));
        assert_eq!(
            cache.stats(),
            CacheStats {
                hits: 19,
                misses: 1,
                memory_hits: 19,
                ..CacheStats::default()
            }
        );
    }

    #[tokio::test]
    async fn errors_are_not_cached_but_not_found_is() {
        let cache = Cache::in_memory(100);
        let r = cache
            .get_or_fetch(key("e"), async { Err::<Option<Bytes>, _>("boom") })
            .await;
        assert!(r.is_err());
        let r = cache
            .get_or_fetch(key("e"), async { Ok::<_, &str>(None) })
            .await
            .unwrap();
        assert_eq!(r.body, None);
        let r = cache
            .get_or_fetch(key("e"), async { Ok::<_, &str>(Some(Bytes::new())) })
            .await
            .unwrap();
        assert_eq!(r.body, None, "the cached not-found answer is kept");
    }

    #[tokio::test]
    async fn a_new_process_is_served_by_sqlite_until_the_ttl_runs_out() {
        let dir = tempfile::tempdir().unwrap();
        let settings = CacheSettings {
            dir: Some(dir.path().to_path_buf()),
            ..CacheSettings::default()
        };
        let fetch = |calls: &Arc<AtomicUsize>, body: &'static [u8]| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>(Some(Bytes::from_static(body)))
            }
        };
        let calls = Arc::new(AtomicUsize::new(0));
        let first = Cache::open(&settings).await.unwrap();
        first
            .get_or_fetch(key("a"), fetch(&calls, b"1"))
            .await
            .unwrap();
        first.close().await;

        let second = Cache::open(&settings).await.unwrap();
        let e = second
            .get_or_fetch(key("a"), fetch(&calls, b"2"))
            .await
            .unwrap();
        assert_eq!(e.body.as_deref(), Some(&b"1"[..]));
        let e = second
            .get_or_fetch(key("a"), fetch(&calls, b"2"))
            .await
            .unwrap();
        assert_eq!(e.body.as_deref(), Some(&b"1"[..]));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let s = second.stats();
        assert_eq!((s.sqlite_hits, s.memory_hits, s.misses), (1, 1, 0));

        // The test key is a social lookup: it falls under the social TTL.
        let expired = CacheSettings {
            ttl: Ttl {
                social: Duration::ZERO,
                ..Ttl::default()
            },
            ..settings.clone()
        };
        let third = Cache::open(&expired).await.unwrap();
        let e = third
            .get_or_fetch(key("a"), fetch(&calls, b"3"))
            .await
            .unwrap();
        assert_eq!(e.body.as_deref(), Some(&b"3"[..]));
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let refresh = CacheSettings {
            mode: CacheMode::Refresh,
            ..settings
        };
        let fourth = Cache::open(&refresh).await.unwrap();
        fourth
            .get_or_fetch(key("a"), fetch(&calls, b"4"))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_followed_stream_stretches_only_what_it_keeps_fresh() {
        let now = SystemTime::now();
        let since = now - 100 * HOUR;
        let ttl = Ttl {
            cover: Cover {
                officers: Some(since),
                ..Cover::default()
            },
            ..Ttl::default()
        };
        let entry = |age: Duration, found: bool| Entry {
            body: found.then(|| Bytes::from_static(b"{}")),
            fetched_at: now - age,
        };
        // Fetched since the stream has been followed: 30 days.
        assert_eq!(
            ttl.life(Resource::Officers, &entry(2 * HOUR, true)),
            DEFAULT_TTL_WITH_STREAM
        );
        assert!(
            !ttl.remaining(Resource::Officers, &entry(30 * HOUR, true))
                .is_zero()
        );
        // Fetched before: its normal life.
        assert_eq!(
            ttl.life(Resource::Officers, &entry(110 * HOUR, true)),
            24 * HOUR
        );
        assert!(
            ttl.remaining(Resource::Officers, &entry(110 * HOUR, true))
                .is_zero()
        );
        // A kind the followed stream does not cover; a "not found" it does.
        assert_eq!(ttl.life(Resource::Psc, &entry(HOUR, true)), 24 * HOUR);
        assert_eq!(ttl.life(Resource::Psc, &entry(HOUR, false)), HOUR);
        assert_eq!(
            ttl.life(Resource::Officers, &entry(HOUR, false)),
            DEFAULT_TTL_WITH_STREAM
        );
        assert_eq!(Resource::AdvancedSearch.stream(), None);
        for stream in Stream::ALL {
            for r in stale_on(stream) {
                assert_eq!(r.stream(), Some(stream), "{r:?}");
            }
        }
    }

    #[test]
    fn keys_name_the_company_they_are_about() {
        let k = |r, p: &str| CacheKey {
            resource: r,
            params: p.into(),
        };
        let base = "https://api.company-information.service.gov.uk";
        assert_eq!(
            k(Resource::Profile, &format!("{base}/company/SC123456?")).company(),
            Some("SC123456")
        );
        assert_eq!(
            k(
                Resource::Officers,
                &format!("{base}/company/00000006/officers?items_per_page=100")
            )
            .company(),
            Some("00000006")
        );
        assert_eq!(
            k(Resource::Search, &format!("{base}/search/companies?q=acme")).company(),
            None
        );
    }

    #[tokio::test]
    async fn dropping_a_company_takes_its_entries_and_the_searches_listing_it() {
        let dir = tempfile::tempdir().unwrap();
        let tier = SqliteTier::open(dir.path()).await.unwrap();
        let base = "http://ch";
        let put = |r, p: String, body: &'static [u8]| {
            tier.put(
                &CacheKey {
                    resource: r,
                    params: p,
                },
                &Entry {
                    body: Some(Bytes::from_static(body)),
                    fetched_at: SystemTime::now(),
                },
            )
        };
        put(
            Resource::Profile,
            format!("{base}/company/00000001?"),
            b"{}",
        );
        put(
            Resource::Officers,
            format!("{base}/company/00000001/officers?start_index=0"),
            b"{}",
        );
        put(
            Resource::Profile,
            format!("{base}/company/00000002?"),
            b"{}",
        );
        put(
            Resource::Search,
            format!("{base}/search/companies?q=acme"),
            br#"{"items":[{"company_number":"00000001"},{"company_number":"00000003"}]}"#,
        );
        put(
            Resource::Search,
            format!("{base}/search/companies?q=bad"),
            b"not json",
        );
        tier.flush().await.unwrap();
        let db = tier.db().clone();
        let run = |f: fn(&rusqlite::Connection) -> rusqlite::Result<u64>| {
            let db = db.clone();
            async move { db.call(f).await.unwrap() }
        };
        // An officers event: only the officer pages go.
        assert_eq!(
            run(|c| sqlite::drop_company(c, "00000001", stale_on(Stream::Officers))).await,
            1
        );
        // A company event about a company only a search lists.
        assert_eq!(
            run(|c| sqlite::knows_company(c, "00000003").map(u64::from)).await,
            1
        );
        assert_eq!(
            run(|c| sqlite::drop_company(c, "00000003", stale_on(Stream::Companies))).await,
            1,
            "the search listing it"
        );
        assert_eq!(
            run(|c| sqlite::drop_company(c, "00000001", stale_on(Stream::Companies))).await,
            1,
            "its profile; the search is already gone"
        );
        assert_eq!(
            run(|c| sqlite::knows_company(c, "00000001").map(u64::from)).await,
            0
        );
        assert_eq!(
            run(|c| sqlite::knows_company(c, "00000002").map(u64::from)).await,
            1
        );
        assert_eq!(tier.invalidate_company("00000002").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_cache_file_from_before_the_company_index_is_indexed_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(sqlite::FILE_NAME);
        let v1 = crate::db::Db::open(&path, &sqlite::MIGRATIONS[..1])
            .await
            .unwrap();
        v1.call(|c| {
            c.execute_batch(
                "INSERT INTO entries VALUES ('companies_house', 'officers', \
                   'http://ch/company/00000001/officers?start_index=0', 1, X'7B7D', 0); \
                 INSERT INTO entries VALUES ('companies_house', 'search', \
                   'http://ch/search/companies?q=a', 1, \
                   CAST('{\"items\":[{\"company_number\":\"00000002\"}]}' AS BLOB), 0);",
            )
        })
        .await
        .unwrap();
        drop(v1);
        let tier = SqliteTier::open(dir.path()).await.unwrap();
        let known = tier
            .db()
            .call(|c| {
                Ok((
                    sqlite::knows_company(c, "00000001")?,
                    sqlite::knows_company(c, "00000002")?,
                    sqlite::drop_company(c, "00000002", stale_on(Stream::Companies))?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(known, (true, true, 1));
    }

    #[test]
    fn not_found_ttl_is_capped_by_the_kind() {
        let ttl = Ttl::default();
        assert_eq!(ttl.for_kind(Resource::Officers, true), 24 * HOUR);
        assert_eq!(ttl.for_kind(Resource::Officers, false), HOUR);
        let short = Ttl {
            not_found: 48 * HOUR,
            social: HOUR,
            ..ttl
        };
        assert_eq!(short.for_kind(Resource::XUsers, false), HOUR);
    }
}
