//! What the gateway needs to know about Facebook's Graph API: the app
//! token's hourly budget, the usage headers, which error codes mean
//! "throttled" or "token refused", and where the app's credential lives
//! (`../shared/docs/social-apis.md`, Facebook; Meta's rate-limiting and
//! error-code pages).

use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::header::HeaderMap;

use super::types::ErrorEnvelope;
use crate::gateway::Provider;
use crate::gateway::policy::{
    ProviderPolicy, Resume, ServerWindow, Verdict, default_classify, retry_after,
};
use crate::gateway::quota::Quota;
use crate::gateway::settings::ProviderSettings;
use crate::gateway::transport::HttpResponse;

/// The endpoint names the client passes to the gateway.
pub const PAGES_SEARCH: &str = "pages/search";
pub const PAGE: &str = "page";

/// The variables holding the app's id and secret (the app token is `{id}|{secret}`).
pub const APP_ID_VAR: &str = "FACEBOOK_APP_ID";
pub const APP_SECRET_VAR: &str = "FACEBOOK_APP_SECRET";

/// App-token calls: "200 * number of users" per rolling hour; a
/// server-side app has next to no users, so the floor is the honest
/// default. `X-App-Usage` tells the real state; raise the pace with
/// `LEADGEN_FACEBOOK_RATE_LIMIT` when the app has more.
const LIMIT: NonZeroU32 = NonZeroU32::new(200).expect("200 is not zero");

/// Facebook Graph API: usage is reported as percentages of a rolling
/// window in `X-App-Usage` (app-token calls) and `X-Business-Use-Case-Usage`
/// (page and system-user tokens), the latter with
/// `estimated_time_to_regain_access` in minutes. Throttling errors arrive in
/// the `{"error":{...}}` body with HTTP 400 (403 for code 613), so the code,
/// not the status, says "rate limited".
pub struct FacebookPolicy;

/// Error codes that mean "throttled": 4 app, 17 user, 32 Pages call with a
/// user token, 613 custom limit, 341 application limit, 80000-80014 business
/// use case limits (80001 for Pages).
const THROTTLE_CODES: &[i64] = &[
    4, 17, 32, 341, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014,
];

/// Error codes that mean the token itself is refused: 102 session key, 104
/// token missing, 190 token invalid or expired.
const TOKEN_CODES: &[i64] = &[102, 104, 190];

/// Graph's code 10, "API permission denied" (Meta's error-handling guide),
/// is what Pages search and page reads answer an app without the feature:
/// "(#10) This endpoint requires the 'pages_read_engagement' permission or
/// the 'Page Public Content Access' feature or the 'Page Public Metadata
/// Access' feature" (as users report it: restfb/restfb#1190,
/// strohne/Facepager#139). No later call can succeed until App Review
/// grants the feature.
const PERMISSION_DENIED: i64 = 10;

/// What Pages search with an app token needs beyond a valid token
/// (`../shared/docs/social-apis.md`, Facebook, page search).
pub const REQUIRED_ACCESS: &str = "the Page Public Metadata Access feature (or Page Public \
     Content Access), granted through Meta's App Review and Business Verification";

/// Usage (percent of the window) at which we stop before Facebook does:
/// it throttles at 100, and concurrent tasks keep sending while the answer
/// that crossed the line is read.
pub const THROTTLE_PERCENT: u64 = 90;

/// How long to hold off when usage crossed the line but no header says when
/// access returns (`X-App-Usage` has no such value). The window is a rolling
/// hour, so a few minutes free a useful share of it.
pub const DEFAULT_HOLD_OFF: Duration = Duration::from_secs(5 * 60);

impl ProviderPolicy for FacebookPolicy {
    fn provider(&self) -> Provider {
        Provider::Facebook
    }

    fn credential_vars(&self) -> &'static [&'static str] {
        &[APP_ID_VAR, APP_SECRET_VAR]
    }

    fn credential_label(&self) -> &'static str {
        "FACEBOOK_APP_ID/FACEBOOK_APP_SECRET"
    }

    fn required_access(&self) -> Option<&'static str> {
        Some(REQUIRED_ACCESS)
    }

    fn defaults(&self) -> ProviderSettings {
        ProviderSettings {
            // A throttle error without usage headers: the window rolls
            // over an hour, so give it a while.
            rate_limited_wait: Duration::from_secs(60),
            ..ProviderSettings::with_quota(Quota::new(LIMIT, Duration::from_secs(3600)))
        }
    }

    fn classify(&self, response: &HttpResponse) -> Verdict {
        match graph_error_code(&response.body) {
            Some(code) if THROTTLE_CODES.contains(&code) => Verdict::RateLimited,
            Some(code) if TOKEN_CODES.contains(&code) && !response.status.is_success() => {
                Verdict::CredentialRefused
            }
            Some(PERMISSION_DENIED) if !response.status.is_success() => Verdict::NotPermitted,
            _ => default_classify(response),
        }
    }

    fn server_window(&self, headers: &HeaderMap) -> Option<ServerWindow> {
        let usage = facebook_usage(headers)?;
        let mut window = ServerWindow {
            retry_after: retry_after(headers),
            ..ServerWindow::default()
        };
        if usage.percent >= THROTTLE_PERCENT && window.retry_after.is_none() {
            let wait = match usage.regain_minutes {
                Some(minutes) if minutes > 0 => Duration::from_secs(minutes * 60),
                _ => DEFAULT_HOLD_OFF,
            };
            window.remaining = Some(0);
            window.retry_after = Some(Resume::After(wait));
        }
        (window != ServerWindow::default()).then_some(window)
    }
}

/// The highest usage any Facebook usage header reports, and the longest
/// wait any business use case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FacebookUsage {
    pub percent: u64,
    pub regain_minutes: Option<u64>,
}

/// Reads `X-App-Usage` (`{"call_count":28,"total_time":25,"total_cputime":25}`)
/// and `X-Business-Use-Case-Usage` (`{"<id>":[{"type":"pages","call_count":97,
/// ...,"estimated_time_to_regain_access":0}]}`); `None` when neither is there
/// or readable.
pub fn facebook_usage(headers: &HeaderMap) -> Option<FacebookUsage> {
    #[derive(serde::Deserialize, Default)]
    struct Usage {
        call_count: Option<f64>,
        total_time: Option<f64>,
        total_cputime: Option<f64>,
        estimated_time_to_regain_access: Option<f64>,
    }
    impl Usage {
        fn percent(&self) -> u64 {
            [self.call_count, self.total_time, self.total_cputime]
                .into_iter()
                .flatten()
                .fold(0.0_f64, f64::max)
                .max(0.0) as u64
        }
    }
    let json = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut found = None::<FacebookUsage>;
    if let Some(app) = json("x-app-usage").and_then(|t| serde_json::from_str::<Usage>(&t).ok()) {
        found = Some(FacebookUsage {
            percent: app.percent(),
            regain_minutes: None,
        });
    }
    if let Some(buc) = json("x-business-use-case-usage").and_then(|t| {
        serde_json::from_str::<std::collections::HashMap<String, Vec<Usage>>>(&t).ok()
    }) {
        for usage in buc.values().flatten() {
            let current = found.get_or_insert_with(FacebookUsage::default);
            current.percent = current.percent.max(usage.percent());
            if let Some(minutes) = usage.estimated_time_to_regain_access {
                let minutes = minutes.max(0.0) as u64;
                current.regain_minutes = Some(current.regain_minutes.unwrap_or(0).max(minutes));
            }
        }
    }
    found
}

/// `error.code` of a Graph API error body.
fn graph_error_code(body: &[u8]) -> Option<i64> {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .and_then(|e| e.error.code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::policy::{test_answer as answer, test_headers as headers};

    #[test]
    fn defaults_are_the_app_token_floor() {
        assert_eq!(FacebookPolicy.defaults().quota.to_string(), "200/1h");
    }

    #[test]
    fn throttle_codes_are_rate_limits_whatever_the_status() {
        for (status, code) in [(400, 4), (400, 17), (400, 32), (403, 613), (400, 80001)] {
            let body = format!(
                r#"{{"error":{{"message":"limit","type":"OAuthException","code":{code},"fbtrace_id":"A1"}}}}"#
            );
            assert_eq!(
                FacebookPolicy.classify(&answer(status, &[], &body)),
                Verdict::RateLimited,
                "{code}"
            );
        }
        let expired = r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"A1"}}"#;
        assert_eq!(
            FacebookPolicy.classify(&answer(400, &[], expired)),
            Verdict::CredentialRefused
        );
        let missing = r#"{"error":{"message":"Unsupported get request.","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"A1"}}"#;
        assert_eq!(
            FacebookPolicy.classify(&answer(400, &[], missing)),
            Verdict::Final
        );
    }

    #[test]
    fn a_missing_page_access_feature_is_not_a_refused_token() {
        let body = r#"{"error":{"message":"(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature or the 'Page Public Metadata Access' feature. Refer to https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages, https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS and https://developers.facebook.com/docs/apps/review/feature#page-public-metadata-access for details.","type":"OAuthException","code":10,"fbtrace_id":"AbC"}}"#;
        // The shared notes leave the status open (400 usually, 403 seen).
        for status in [400, 403] {
            assert_eq!(
                FacebookPolicy.classify(&answer(status, &[], body)),
                Verdict::NotPermitted,
                "{status}"
            );
        }
    }

    #[test]
    fn usage_headers_pause_near_the_limit() {
        let low = headers(&[(
            "X-App-Usage",
            r#"{"call_count":28,"total_time":25,"total_cputime":25}"#,
        )]);
        assert_eq!(
            facebook_usage(&low),
            Some(FacebookUsage {
                percent: 28,
                regain_minutes: None
            })
        );
        assert_eq!(FacebookPolicy.server_window(&low), None);

        let high = headers(&[(
            "x-app-usage",
            r#"{"call_count":96,"total_time":25,"total_cputime":25}"#,
        )]);
        let w = FacebookPolicy.server_window(&high).expect("window");
        assert_eq!(w.remaining, Some(0));
        assert_eq!(w.retry_after, Some(Resume::After(DEFAULT_HOLD_OFF)));

        let buc = headers(&[(
            "X-Business-Use-Case-Usage",
            r#"{"112233":[{"type":"pages","call_count":97,"total_cputime":23,"total_time":23,"estimated_time_to_regain_access":7}]}"#,
        )]);
        let w = FacebookPolicy.server_window(&buc).expect("window");
        assert_eq!(
            w.retry_after,
            Some(Resume::After(Duration::from_secs(7 * 60)))
        );

        let garbage = headers(&[("X-App-Usage", "lots")]);
        assert_eq!(FacebookPolicy.server_window(&garbage), None);
    }
}
