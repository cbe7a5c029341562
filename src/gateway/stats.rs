//! Per-provider counters and latency for the run summary.
//!
//! Latency is kept in a fixed log-scale histogram (about 9% per bucket,
//! 100 µs to ~8 min), not a list of samples, so memory stays flat however
//! many calls a run makes; percentiles are read off the bucket bounds and
//! are accurate to within one bucket.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// What the gateway did for one provider during the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    /// Answers refusing the credential (401/403 and the like).
    pub auth_failures: u64,
    /// Whether the provider refused the credential and was switched off.
    pub credential_refused: bool,
    /// The access the app lacks, when the provider accepted the credential
    /// but refused the calls for it and was switched off.
    pub missing_access: Option<&'static str>,
    /// Time per attempt, from sending the request to having the whole body
    /// (or failing), retries included.
    pub latency: Latency,
}

/// Latency percentiles of a provider's attempts, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Attempts measured.
    pub samples: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
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
    pub auth_failures: AtomicU64,
    pub credential_refused: AtomicBool,
    pub missing_access: OnceLock<&'static str>,
    /// Calls waiting for their turn at the pace right now (a gauge).
    pub pacing: AtomicU64,
    pub latency: Histogram,
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
            auth_failures: get(&self.auth_failures),
            credential_refused: self.credential_refused.load(Ordering::Relaxed),
            missing_access: self.missing_access.get().copied(),
            latency: self.latency.summary(),
        }
    }
}

/// Buckets per doubling: 8 gives bounds about 9% apart.
const PER_DOUBLING: f64 = 8.0;
/// The first bucket's upper bound, in microseconds.
const FIRST_BOUND_US: f64 = 100.0;
/// 100 µs x 2^(192/8) ≈ 28 min; anything longer lands in the last bucket.
const BUCKETS: usize = 192;

/// A lock-free log-scale latency histogram of fixed size.
#[derive(Debug)]
pub(crate) struct Histogram {
    buckets: Box<[AtomicU64]>,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn record(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    pub fn summary(&self) -> Latency {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let samples: u64 = counts.iter().sum();
        if samples == 0 {
            return Latency::default();
        }
        let max_ms = self.max_us.load(Ordering::Relaxed) as f64 / 1000.0;
        // The bucket's upper bound, but never above the largest sample seen.
        let quantile = |q: f64| {
            let rank = ((q * samples as f64).ceil() as u64).clamp(1, samples);
            let mut seen = 0;
            for (i, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return round2((upper_bound_us(i) / 1000.0).min(max_ms));
                }
            }
            max_ms
        };
        Latency {
            samples,
            p50_ms: quantile(0.50),
            p95_ms: quantile(0.95),
            p99_ms: quantile(0.99),
            max_ms: round2(max_ms),
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if (us as f64) <= FIRST_BOUND_US {
        return 0;
    }
    let i = ((us as f64 / FIRST_BOUND_US).log2() * PER_DOUBLING).ceil() as usize;
    i.min(BUCKETS - 1)
}

fn upper_bound_us(bucket: usize) -> f64 {
    FIRST_BOUND_US * (bucket as f64 / PER_DOUBLING).exp2()
}

fn round2(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_one_bucket_of_the_truth() {
        let h = Histogram::default();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let l = h.summary();
        assert_eq!(l.samples, 1000);
        for (got, want) in [(l.p50_ms, 500.0), (l.p95_ms, 950.0), (l.p99_ms, 990.0)] {
            assert!(got >= want && got <= want * 1.1, "{got} vs {want}");
        }
        assert_eq!(l.max_ms, 1000.0);
    }

    #[test]
    fn tiny_huge_and_no_samples() {
        assert_eq!(Histogram::default().summary(), Latency::default());
        let h = Histogram::default();
        h.record(Duration::from_micros(3));
        h.record(Duration::from_secs(100_000));
        let l = h.summary();
        assert_eq!(l.samples, 2);
        assert!(l.p50_ms <= 0.1, "{l:?}");
        assert!(l.p99_ms > 1_000_000.0, "{l:?}");
    }
}
