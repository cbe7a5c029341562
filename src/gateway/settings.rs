//! How the gateway treats each provider. Defaults are the provider's
//! published behaviour; `crate::config` layers the config file, the
//! environment and flags on top.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use super::Provider;
use super::breaker::BreakerSettings;
use super::quota::Quota;
use super::retry::{Backoff, BudgetSettings};

/// Companies House's published limit: 600 requests per 5 minutes per key.
const COMPANIES_HOUSE_LIMIT: NonZeroU32 = NonZeroU32::new(600).expect("600 is not zero");

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
    pub endpoint_quotas: HashMap<&'static str, Quota>,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// The least we wait after a 429 whose headers say nothing usable.
    pub rate_limited_wait: Duration,
    pub retry_budget: BudgetSettings,
    pub breaker: BreakerSettings,
}

impl ProviderSettings {
    /// The provider's published behaviour.
    pub fn defaults(provider: Provider) -> ProviderSettings {
        match provider {
            Provider::CompaniesHouse => ProviderSettings {
                connect_timeout: Duration::from_secs(10),
                timeout: Duration::from_secs(30),
                quota: Quota::new(COMPANIES_HOUSE_LIMIT, Duration::from_secs(300)),
                endpoint_quotas: HashMap::new(),
                max_attempts: 5,
                backoff: Backoff {
                    base: Duration::from_secs(1),
                    max: Duration::from_secs(30),
                },
                // Companies House sends no Retry-After; a bare 429 most
                // likely means a proxy in between, so wait a while.
                rate_limited_wait: Duration::from_secs(15),
                retry_budget: BudgetSettings::default(),
                breaker: BreakerSettings::default(),
            },
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

    #[test]
    fn defaults_are_the_published_limit() {
        let s = ProviderSettings::defaults(Provider::CompaniesHouse);
        assert_eq!(s.quota.to_string(), "600/5m");
        assert_eq!(s.max_attempts, 5);
    }

    #[test]
    fn endpoint_quotas_fall_back_to_the_provider_quota() {
        let mut s = ProviderSettings::defaults(Provider::CompaniesHouse);
        let narrow = Quota::parse("300/15m").expect("valid");
        s.endpoint_quotas.insert("users/by", narrow);
        assert_eq!(s.quota_for(Some("users/by")), narrow);
        assert_eq!(s.quota_for(Some("other")), s.quota);
        assert_eq!(s.quota_for(None), s.quota);
    }
}
