//! How the gateway treats each provider. Defaults are the provider's
//! published behaviour, which its policy knows
//! ([`super::policy::ProviderPolicy::defaults`]); `crate::config` layers the
//! config file, the environment and flags on top.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Provider;
use super::breaker::BreakerSettings;
use super::quota::Quota;
use super::retry::{Backoff, BudgetSettings};

/// How the gateway treats one provider.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub connect_timeout: Duration,
    /// Whole request, body included, per attempt.
    pub timeout: Duration,
    /// The quota of the key (or of each endpoint, for providers that count
    /// per endpoint and have no entry in `endpoint_quotas`).
    pub quota: Quota,
    /// Endpoint-specific quotas for providers that count per endpoint.
    pub endpoint_quotas: BTreeMap<&'static str, Quota>,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// The least we wait after a 429 whose headers say nothing usable.
    pub rate_limited_wait: Duration,
    /// The longest a request may wait for quota before it is given up as
    /// "quota spent for this run". `None`: wait as long as it takes (the
    /// register is essential); optional sources have a bound, so a source
    /// with a small quota is skipped rather than holding the batch back.
    pub max_quota_wait: Option<Duration>,
    pub retry_budget: BudgetSettings,
    pub breaker: BreakerSettings,
}

impl ProviderSettings {
    /// What providers share unless their policy says otherwise: 10 s to
    /// connect, 30 s per attempt, backoff from 1 s doubling to 30 s, three
    /// attempts, the default retry budget and breaker; an optional
    /// source's requests wait at most 10 s for quota, and a bare 429 waits
    /// 30 s. Policies start from this with their published quota.
    pub fn with_quota(quota: Quota) -> ProviderSettings {
        ProviderSettings {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            quota,
            endpoint_quotas: BTreeMap::new(),
            max_attempts: 3,
            backoff: Backoff {
                base: Duration::from_secs(1),
                max: Duration::from_secs(30),
            },
            rate_limited_wait: Duration::from_secs(30),
            max_quota_wait: Some(Duration::from_secs(10)),
            retry_budget: BudgetSettings::default(),
            breaker: BreakerSettings::default(),
        }
    }

    /// The quota that applies to `scope` (an endpoint, or `None` for the
    /// whole provider).
    pub fn quota_for(&self, scope: Option<&'static str>) -> Quota {
        scope
            .and_then(|endpoint| self.endpoint_quotas.get(endpoint).copied())
            .unwrap_or(self.quota)
    }
}

/// `LEADGEN_COMPANIES_HOUSE_RATE_LIMIT` and the like.
pub fn rate_limit_var(provider: Provider) -> String {
    format!("LEADGEN_{}_RATE_LIMIT", provider.key().to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    #[test]
    fn endpoint_quotas_fall_back_to_the_provider_quota() {
        let wide = Quota::new(
            NonZeroU32::new(600).expect("not zero"),
            Duration::from_secs(300),
        );
        let mut s = ProviderSettings {
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            quota: wide,
            endpoint_quotas: BTreeMap::new(),
            max_attempts: 1,
            backoff: Backoff {
                base: Duration::from_secs(1),
                max: Duration::from_secs(1),
            },
            rate_limited_wait: Duration::from_secs(1),
            max_quota_wait: None,
            retry_budget: BudgetSettings::default(),
            breaker: BreakerSettings::default(),
        };
        let narrow = Quota::parse("300/15m").expect("valid");
        s.endpoint_quotas.insert("users/by", narrow);
        assert_eq!(s.quota_for(Some("users/by")), narrow);
        assert_eq!(s.quota_for(Some("other")), wide);
        assert_eq!(s.quota_for(None), wide);
        assert_eq!(
            rate_limit_var(Provider::LinkedIn),
            "LEADGEN_LINKEDIN_RATE_LIMIT"
        );
    }
}
