//! How the gateway treats each provider. Defaults are the provider's
//! published behaviour; `crate::config` layers the config file, the
//! environment and flags on top.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use super::Provider;
use super::breaker::BreakerSettings;
use super::quota::Quota;
use super::retry::{Backoff, BudgetSettings};

/// Companies House's published limit: 600 requests per 5 minutes per key.
const COMPANIES_HOUSE_LIMIT: NonZeroU32 = NonZeroU32::new(600).expect("600 is not zero");

/// X app-only limits per 15 minutes (docs.x.com rate-limits page).
const X_USERS_BY_LIMIT: NonZeroU32 = NonZeroU32::new(300).expect("300 is not zero");
const X_SEARCH_RECENT_LIMIT: NonZeroU32 = NonZeroU32::new(450).expect("450 is not zero");
/// The token endpoint's limit is not published; it is called once per run.
const X_TOKEN_LIMIT: NonZeroU32 = NonZeroU32::new(15).expect("15 is not zero");
const X_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The X endpoint names sources pass to the gateway; X counts each apart.
pub const X_USERS_BY: &str = "users/by";
pub const X_SEARCH_RECENT: &str = "tweets/search/recent";
pub const X_OAUTH2_TOKEN: &str = "oauth2/token";

/// LinkedIn publishes no numbers (daily caps shown only in the developer
/// portal); a modest steady pace keeps one run from spending a day's cap in
/// minutes. Raise it with `LEADGEN_LINKEDIN_RATE_LIMIT`.
const LINKEDIN_LIMIT: NonZeroU32 = NonZeroU32::new(100).expect("100 is not zero");

/// Facebook app-token calls: "200 * number of users" per rolling hour; a
/// server-side app has next to no users, so the floor is the honest
/// default. `X-App-Usage` tells the real state; raise the pace with
/// `LEADGEN_FACEBOOK_RATE_LIMIT` when the app has more.
const FACEBOOK_LIMIT: NonZeroU32 = NonZeroU32::new(200).expect("200 is not zero");

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
    /// The provider's published behaviour.
    pub fn defaults(provider: Provider) -> ProviderSettings {
        match provider {
            Provider::CompaniesHouse => ProviderSettings {
                connect_timeout: Duration::from_secs(10),
                timeout: Duration::from_secs(30),
                quota: Quota::new(COMPANIES_HOUSE_LIMIT, Duration::from_secs(300)),
                endpoint_quotas: BTreeMap::new(),
                max_attempts: 5,
                backoff: Backoff {
                    base: Duration::from_secs(1),
                    max: Duration::from_secs(30),
                },
                // Companies House sends no Retry-After; a bare 429 most
                // likely means a proxy in between, so wait a while.
                rate_limited_wait: Duration::from_secs(15),
                max_quota_wait: None,
                retry_budget: BudgetSettings::default(),
                breaker: BreakerSettings::default(),
            },
            Provider::X => ProviderSettings {
                connect_timeout: Duration::from_secs(10),
                timeout: Duration::from_secs(30),
                quota: Quota::new(X_USERS_BY_LIMIT, X_WINDOW),
                endpoint_quotas: BTreeMap::from([
                    (X_USERS_BY, Quota::new(X_USERS_BY_LIMIT, X_WINDOW)),
                    (X_SEARCH_RECENT, Quota::new(X_SEARCH_RECENT_LIMIT, X_WINDOW)),
                    (X_OAUTH2_TOKEN, Quota::new(X_TOKEN_LIMIT, X_WINDOW)),
                ]),
                max_attempts: 4,
                backoff: Backoff {
                    base: Duration::from_secs(1),
                    max: Duration::from_secs(30),
                },
                // X's own sample waits at least 60 s after a 429.
                rate_limited_wait: Duration::from_secs(60),
                max_quota_wait: Some(Duration::from_secs(10)),
                retry_budget: BudgetSettings::default(),
                breaker: BreakerSettings::default(),
            },
            Provider::LinkedIn => ProviderSettings {
                connect_timeout: Duration::from_secs(10),
                timeout: Duration::from_secs(30),
                quota: Quota::new(LINKEDIN_LIMIT, Duration::from_secs(60)),
                endpoint_quotas: BTreeMap::new(),
                // A spent daily cap stays spent until midnight UTC: a few
                // tries tell a passing "infrastructure protection" 429 from it.
                max_attempts: 3,
                backoff: Backoff {
                    base: Duration::from_secs(1),
                    max: Duration::from_secs(30),
                },
                // No headers say when to resume.
                rate_limited_wait: Duration::from_secs(30),
                max_quota_wait: Some(Duration::from_secs(10)),
                retry_budget: BudgetSettings::default(),
                breaker: BreakerSettings::default(),
            },
            Provider::Facebook => ProviderSettings {
                connect_timeout: Duration::from_secs(10),
                timeout: Duration::from_secs(30),
                quota: Quota::new(FACEBOOK_LIMIT, Duration::from_secs(3600)),
                endpoint_quotas: BTreeMap::new(),
                max_attempts: 3,
                backoff: Backoff {
                    base: Duration::from_secs(1),
                    max: Duration::from_secs(30),
                },
                // A throttle error without usage headers: the window rolls
                // over an hour, so give it a while.
                rate_limited_wait: Duration::from_secs(60),
                max_quota_wait: Some(Duration::from_secs(10)),
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
    fn social_defaults_follow_the_published_limits() {
        let x = ProviderSettings::defaults(Provider::X);
        assert_eq!(x.quota_for(Some(X_USERS_BY)).to_string(), "300/15m");
        assert_eq!(x.quota_for(Some(X_SEARCH_RECENT)).to_string(), "450/15m");
        let li = ProviderSettings::defaults(Provider::LinkedIn);
        assert_eq!(li.quota.to_string(), "100/1m");
        let fb = ProviderSettings::defaults(Provider::Facebook);
        assert_eq!(fb.quota.to_string(), "200/1h");
        assert_eq!(
            rate_limit_var(Provider::LinkedIn),
            "LEADGEN_LINKEDIN_RATE_LIMIT"
        );
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
