//! What the gateway needs to know about Companies House: its published
//! quota and timeouts, its rate-limit headers, and where its key lives
//! (`../shared/docs/companies-house-api.md`, sections 1 and 2).

use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::gateway::Provider;
use crate::gateway::policy::{ProviderPolicy, ServerWindow, window_from};
use crate::gateway::quota::{Quota, parse_duration};
use crate::gateway::settings::ProviderSettings;

/// The published limit: 600 requests per 5 minutes per key.
const LIMIT: NonZeroU32 = NonZeroU32::new(600).expect("600 is not zero");

/// The environment variable holding the REST API key.
pub const API_KEY_VAR: &str = "COMPANIES_HOUSE_API_KEY";

/// One 600-per-5-minutes window per key, reported in `X-Ratelimit-Remain`
/// and `X-Ratelimit-Reset` (epoch seconds). The document API spells it
/// `X-Ratelimit-Remaining`; both are read. A 429 comes without
/// `Retry-After`, but it is honoured if it ever appears.
pub struct CompaniesHousePolicy;

impl ProviderPolicy for CompaniesHousePolicy {
    fn provider(&self) -> Provider {
        Provider::CompaniesHouse
    }

    fn credential_vars(&self) -> &'static [&'static str] {
        &[API_KEY_VAR]
    }

    fn defaults(&self) -> ProviderSettings {
        ProviderSettings {
            max_attempts: 5,
            // Companies House sends no Retry-After; a bare 429 most
            // likely means a proxy in between, so wait a while.
            rate_limited_wait: Duration::from_secs(15),
            // The register is essential: wait for quota as long as it takes.
            max_quota_wait: None,
            ..ProviderSettings::with_quota(Quota::new(LIMIT, Duration::from_secs(300)))
        }
    }

    fn server_window(&self, headers: &HeaderMap) -> Option<ServerWindow> {
        let window = headers
            .get("x-ratelimit-window")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_duration(v).ok());
        window_from(
            headers,
            &["x-ratelimit-remain", "x-ratelimit-remaining"],
            &["x-ratelimit-reset"],
            (&["x-ratelimit-limit"], window),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::*;
    use crate::gateway::policy::test_headers as headers;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn defaults_are_the_published_limit() {
        let s = CompaniesHousePolicy.defaults();
        assert_eq!(s.quota.to_string(), "600/5m");
        assert_eq!(s.max_attempts, 5);
        assert_eq!(CompaniesHousePolicy.limit_scope("officers"), None);
    }

    #[test]
    fn headers_in_any_case() {
        let h = headers(&[
            ("X-RateLimit-Limit", "600"),
            ("X-Ratelimit-Remain", "599"),
            ("x-ratelimit-reset", "1730107751"),
            ("X-RATELIMIT-WINDOW", "5m"),
        ]);
        let w = CompaniesHousePolicy.server_window(&h).expect("window");
        assert_eq!(w.remaining, Some(599));
        assert_eq!(w.reset, Some(at(1_730_107_751)));
        assert_eq!(w.retry_after, None);
    }

    #[test]
    fn document_api_spelling() {
        let h = headers(&[("X-Ratelimit-Remaining", "0"), ("X-Ratelimit-Reset", "100")]);
        let w = CompaniesHousePolicy.server_window(&h).expect("window");
        assert_eq!(w.remaining, Some(0));
    }

    #[test]
    fn the_announced_quota_is_read() {
        let h = headers(&[
            ("X-Ratelimit-Limit", "600"),
            ("X-Ratelimit-Window", "5m"),
            ("X-Ratelimit-Remain", "599"),
        ]);
        let w = CompaniesHousePolicy.server_window(&h).expect("window");
        assert_eq!(w.quota.map(|q| q.to_string()).as_deref(), Some("600/5m"));
        let h = headers(&[("X-Ratelimit-Limit", "600")]);
        assert_eq!(
            CompaniesHousePolicy.server_window(&h),
            None,
            "a limit without a window is no quota"
        );
    }

    #[test]
    fn garbage_values_and_other_providers_headers_are_ignored() {
        let h = headers(&[("X-Ratelimit-Remain", "lots"), ("X-Ratelimit-Reset", "-5")]);
        assert_eq!(CompaniesHousePolicy.server_window(&h), None);
        let x = headers(&[("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "1")]);
        assert_eq!(CompaniesHousePolicy.server_window(&x), None);
    }
}
