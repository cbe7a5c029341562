//! Per-provider counters for the run summary.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// What the gateway did for one provider during the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProviderStats {
    /// Requests sent, retries included.
    pub attempts: u64,
    /// Calls that returned an answer (any status a source interprets).
    pub successes: u64,
    /// Calls that ended in an error after their retries.
    pub failures: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Calls failed at once because the breaker was open.
    pub rejected: u64,
    /// Times the breaker opened from closed (failed probes not counted).
    pub breaker_openings: u64,
    /// Time tasks spent waiting for quota (limiter and server pauses),
    /// summed over tasks, in milliseconds.
    pub quota_wait_ms: u64,
    /// Whether the provider refused the credential and was switched off.
    pub credential_refused: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub attempts: AtomicU64,
    pub successes: AtomicU64,
    pub failures: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub rejected: AtomicU64,
    pub breaker_openings: AtomicU64,
    pub quota_wait_nanos: AtomicU64,
    pub credential_refused: AtomicBool,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add_wait(&self, waited: Duration) {
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.quota_wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ProviderStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ProviderStats {
            attempts: get(&self.attempts),
            successes: get(&self.successes),
            failures: get(&self.failures),
            retries: get(&self.retries),
            rate_limited: get(&self.rate_limited),
            rejected: get(&self.rejected),
            breaker_openings: get(&self.breaker_openings),
            quota_wait_ms: get(&self.quota_wait_nanos) / 1_000_000,
            credential_refused: self.credential_refused.load(Ordering::Relaxed),
        }
    }
}
