//! One quota shared by every leadgen process on every machine that uses a
//! key: the pacing of [`super::limit::RateWindow`] held in Redis.
//!
//! The quota belongs to the API key, not to the process. With Redis
//! configured, each provider scope's GCRA state (its "theoretical arrival
//! time") lives in one Redis key, and one Lua script, run atomically on the
//! server with the server's clock (`TIME`), reserves the next slot: the
//! caller sleeps until it, then sends. One round trip per request, no
//! polling, and machines with skewed clocks agree because only Redis's
//! clock is read. A pause the server imposes (a 429, `X-Ratelimit-Remain`
//! at 0) is written there too, as "no slot before T" on Redis's clock, so
//! every process waits, not only the one that was told.
//!
//! Keys are `leadgen:quota:v1:<provider>:<scope>:<hash>` (apart from the
//! cache's `leadgen:v1:` keys, which `cache clear` and `cache stats` walk),
//! where the hash
//! is an HMAC-SHA-256 of the credential (never the credential itself): runs
//! on one key share a quota, runs on different keys do not. A process that
//! dies (kill -9) holds nothing: the state is one instant that time
//! overtakes, and every key expires once it has.
//!
//! When Redis cannot be reached, or refuses the script, the process warns
//! once and paces on its own (plus the server's headers), trying Redis
//! again after a few seconds; `NOSCRIPT` after a Redis restart reloads the
//! script (redis-rs's `Script` does it on the same call).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use super::Provider;

/// After a failure, Redis is left alone this long before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// Processes seen within this span count as sharing the quota now.
pub const MEMBERS_WINDOW: Duration = Duration::from_secs(300);

/// Reserves the next slot of a scope. KEYS: the scope's arrival time, its
/// pause, its members. ARGV: the interval (µs), the longest wait the caller
/// accepts (µs, -1 for any), the members window (µs), this process's id.
/// Returns {reserved (1/0), wait in µs}.
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local members = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
local slot = math.max(tat, now, pause)
local wait = slot - now
if max_wait >= 0 and wait > max_wait then
  return {0, wait}
end
local next = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1000)
redis.call('ZADD', KEYS[3], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - members)
redis.call('PEXPIRE', KEYS[3], math.ceil(members / 1000))
return {1, wait}
";

/// Holds a scope back for ARGV[1] µs from now on Redis's clock (never
/// shortening a longer pause). KEYS: the scope's pause.
const PAUSE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = tonumber(ARGV[1])
local until_ = now + wait
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', math.ceil(wait / 1000) + 1000)
end
return 1
";

/// The connection and scripts every scope of this process uses.
pub struct SharedQuota {
    conn: ConnectionManager,
    /// `redis://host:port`, never a password.
    endpoint: String,
    reserve: redis::Script,
    pause: redis::Script,
    /// This process, in the members set.
    member: String,
    down_until: Mutex<Option<Instant>>,
    /// How long a failed Redis is left alone ([`RETRY_AFTER`]).
    retry_after: Duration,
    warned: AtomicBool,
}

/// What a reservation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Send after this wait (the slot is held).
    After(Duration),
    /// The wait would be longer than the caller accepts; nothing is held.
    TooLong(Duration),
    /// Redis did not answer: pace locally.
    Unavailable,
}

impl SharedQuota {
    /// Connects, or says why not, naming the URL with its password masked.
    pub async fn connect(
        url: &str,
        ca_file: Option<&std::path::Path>,
    ) -> Result<SharedQuota, String> {
        let endpoint = crate::masking::mask_url_password(url);
        let conn = crate::cache::redis::connection(url, ca_file, &endpoint).await?;
        Ok(SharedQuota {
            conn,
            endpoint,
            reserve: redis::Script::new(RESERVE),
            pause: redis::Script::new(PAUSE),
            member: format!("{}-{:016x}", std::process::id(), rand::random::<u64>()),
            down_until: Mutex::new(None),
            retry_after: RETRY_AFTER,
            warned: AtomicBool::new(false),
        })
    }

    /// Leaves a failed Redis alone for `wait` instead of [`RETRY_AFTER`]
    /// (tests try again at once).
    pub fn retrying_after(mut self, wait: Duration) -> SharedQuota {
        self.retry_after = wait;
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Reserves the next slot of `scope` at `interval` spacing.
    pub async fn reserve(
        &self,
        scope: &ScopeKey,
        interval: Duration,
        max_wait: Option<Duration>,
    ) -> Reserved {
        if self.is_down() {
            return Reserved::Unavailable;
        }
        let mut conn = self.conn.clone();
        let answer: redis::RedisResult<(i64, i64)> = self
            .reserve
            .key(&scope.tat)
            .key(&scope.pause)
            .key(&scope.members)
            .arg(micros(interval))
            .arg(max_wait.map_or(-1, micros))
            .arg(micros(MEMBERS_WINDOW))
            .arg(&self.member)
            .invoke_async(&mut conn)
            .await;
        match answer {
            Ok((reserved, wait)) => {
                self.mark_up();
                let wait = Duration::from_micros(u64::try_from(wait).unwrap_or(0));
                if reserved == 1 {
                    Reserved::After(wait)
                } else {
                    Reserved::TooLong(wait)
                }
            }
            Err(e) => {
                self.mark_down(&e);
                Reserved::Unavailable
            }
        }
    }

    /// Holds every process on `scope` back for `wait` (a server pause).
    pub async fn pause(&self, scope: &ScopeKey, wait: Duration) {
        if self.is_down() {
            return;
        }
        let mut conn = self.conn.clone();
        let done: redis::RedisResult<i64> = self
            .pause
            .key(&scope.pause)
            .arg(micros(wait))
            .invoke_async(&mut conn)
            .await;
        match done {
            Ok(_) => self.mark_up(),
            Err(e) => self.mark_down(&e),
        }
    }

    /// Processes that used `scope` within [`MEMBERS_WINDOW`].
    pub async fn processes(&self, scope: &ScopeKey) -> Result<u64, String> {
        let mut conn = self.conn.clone();
        let (secs, micros_part): (i64, i64) = redis::cmd("TIME")
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("{}: {e}", self.endpoint))?;
        let now = secs * 1_000_000 + micros_part;
        let since = now - micros(MEMBERS_WINDOW);
        redis::cmd("ZCOUNT")
            .arg(&scope.members)
            .arg(since)
            .arg("+inf")
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("{}: {e}", self.endpoint))
    }

    fn is_down(&self) -> bool {
        let mut down = super::limit::lock(&self.down_until);
        match *down {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                *down = None;
                false
            }
            None => false,
        }
    }

    fn mark_up(&self) {
        if self.warned.swap(false, Ordering::Relaxed) {
            tracing::info!(redis = %self.endpoint, "Redis is back: the quota is shared again.");
        }
    }

    fn mark_down(&self, e: &redis::RedisError) {
        *super::limit::lock(&self.down_until) = Some(Instant::now() + self.retry_after);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                redis = %self.endpoint,
                error = %e,
                "The shared quota in Redis is out of reach: pacing this process on its own \
                 (and by the server's headers) until it is back."
            );
        }
    }
}

/// The Redis keys of one scope of one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeKey {
    pub tat: String,
    pub pause: String,
    pub members: String,
}

/// A credential as the shared keys name it: an HMAC-SHA-256 with a key of
/// leadgen's own, so the same secret gives the same name on every machine
/// and Redis never holds the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// 32 hex digits: safe in a file or key name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn of(credential: &str) -> Fingerprint {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"leadgen shared quota v1");
        let tag = ring::hmac::sign(&key, credential.as_bytes());
        Fingerprint(
            tag.as_ref()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }
}

impl ScopeKey {
    pub fn new(provider: Provider, scope: Option<&str>, credential: &Fingerprint) -> ScopeKey {
        let scope = scope.unwrap_or("all").replace([':', ' '], "_");
        let base = format!(
            "leadgen:quota:v1:{}:{scope}:{}",
            provider.key(),
            credential.0
        );
        ScopeKey {
            tat: format!("{base}:tat"),
            pause: format!("{base}:pause"),
            members: format!("{base}:members"),
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_the_credential_and_name_the_scope() {
        let one = Fingerprint::of("key-one");
        let a = ScopeKey::new(Provider::CompaniesHouse, None, &one);
        let b = ScopeKey::new(Provider::CompaniesHouse, None, &Fingerprint::of("key-two"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            ScopeKey::new(Provider::CompaniesHouse, None, &Fingerprint::of("key-one"))
        );
        assert!(!a.tat.contains("key-one"));
        assert!(
            a.tat.starts_with("leadgen:quota:v1:companies_house:all:"),
            "{}",
            a.tat
        );
        let x = ScopeKey::new(Provider::X, Some("users/by"), &Fingerprint::of("t"));
        assert!(x.tat.contains(":x:users/by:"), "{}", x.tat);
    }
}
