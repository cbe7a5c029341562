//! How long to wait before a retry, and whether a provider can afford one.
//!
//! Backoff is exponential with full jitter (a uniformly random delay between
//! zero and the exponential ceiling), so tasks that failed together do not
//! retry together. The retry budget is a token bucket per provider, after
//! aws-sdk's standard retry mode: each retry withdraws tokens, each success
//! deposits one. While the provider is healthy the bucket stays full; in an
//! outage it drains after a handful of retries and from then on each call
//! makes one attempt, so retries cannot multiply the outage.

use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

use super::limit::lock;

/// Exponential backoff with full jitter.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The upper bound of the delay before retry number `retry` (1-based):
    /// `base * 2^(retry-1)`, capped at `max`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// A delay drawn uniformly from `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(0..=nanos))
    }
}

/// Token costs of the retry budget. A timeout costs more than an error
/// answer because it also held a connection (and our patience) for the
/// whole timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSettings {
    pub capacity: u32,
    pub retry_cost: u32,
    pub timeout_retry_cost: u32,
    pub success_deposit: u32,
}

impl Default for BudgetSettings {
    /// A full bucket pays for 20 ordinary retries (10 after timeouts); once
    /// drained, retries are capped at one per five successes.
    fn default() -> BudgetSettings {
        BudgetSettings {
            capacity: 100,
            retry_cost: 5,
            timeout_retry_cost: 10,
            success_deposit: 1,
        }
    }
}

/// Why a retry is wanted; decides its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryKind {
    Error,
    Timeout,
}

/// A provider's retry budget, shared by all its tasks.
#[derive(Debug)]
pub struct RetryBudget {
    settings: BudgetSettings,
    tokens: Mutex<u32>,
}

impl RetryBudget {
    pub fn new(settings: BudgetSettings) -> RetryBudget {
        RetryBudget {
            tokens: Mutex::new(settings.capacity),
            settings,
        }
    }

    /// Takes the price of one retry; `false` (and nothing taken) if the
    /// bucket cannot pay it.
    pub fn try_withdraw(&self, kind: RetryKind) -> bool {
        let cost = match kind {
            RetryKind::Error => self.settings.retry_cost,
            RetryKind::Timeout => self.settings.timeout_retry_cost,
        };
        let mut tokens = lock(&self.tokens);
        if *tokens >= cost {
            *tokens -= cost;
            true
        } else {
            false
        }
    }

    /// A call succeeded: refill a little, never above capacity.
    pub fn deposit(&self) {
        let mut tokens = lock(&self.tokens);
        *tokens = tokens
            .saturating_add(self.settings.success_deposit)
            .min(self.settings.capacity);
    }

    pub fn available(&self) -> u32 {
        *lock(&self.tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(b.ceiling(1), Duration::from_millis(100));
        assert_eq!(b.ceiling(2), Duration::from_millis(200));
        assert_eq!(b.ceiling(4), Duration::from_millis(800));
        assert_eq!(b.ceiling(5), Duration::from_secs(1));
        assert_eq!(b.ceiling(1_000), Duration::from_secs(1));
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
    }

    #[test]
    fn delays_stay_within_bounds_and_spread_out() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 1..=8 {
            let ceiling = b.ceiling(retry);
            let delays: Vec<Duration> = (0..500).map(|_| b.delay(retry, &mut rng)).collect();
            assert!(delays.iter().all(|d| *d <= ceiling));
            // Full jitter: both halves of the range are used.
            assert!(delays.iter().any(|d| *d < ceiling / 2));
            assert!(delays.iter().any(|d| *d > ceiling / 2));
        }
    }

    #[test]
    fn budget_drains_in_an_outage_and_refills_on_success() {
        let budget = RetryBudget::new(BudgetSettings::default());
        let mut retries = 0;
        while budget.try_withdraw(RetryKind::Error) {
            retries += 1;
        }
        assert_eq!(retries, 20);
        assert!(!budget.try_withdraw(RetryKind::Error));
        for _ in 0..4 {
            budget.deposit();
        }
        assert!(!budget.try_withdraw(RetryKind::Error), "4 tokens < 5");
        budget.deposit();
        assert!(budget.try_withdraw(RetryKind::Error));
        assert_eq!(budget.available(), 0);
    }

    #[test]
    fn timeouts_cost_more_and_deposits_cap_at_capacity() {
        let budget = RetryBudget::new(BudgetSettings::default());
        assert!(budget.try_withdraw(RetryKind::Timeout));
        assert_eq!(budget.available(), 90);
        for _ in 0..50 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 100);
    }
}
