//! What the gateway needs to know about X API v2: per-endpoint quotas, the
//! `x-rate-limit-*` headers, what problem types mean, and where the app's
//! credential lives (`../shared/docs/social-apis.md`, X).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::header::HeaderMap;

use super::types::Problem;
use crate::gateway::Provider;
use crate::gateway::policy::{
    ProviderPolicy, ServerWindow, Verdict, default_classify, window_from,
};
use crate::gateway::quota::Quota;
use crate::gateway::settings::ProviderSettings;
use crate::gateway::transport::HttpResponse;

/// The endpoint names the client passes to the gateway; X counts each apart.
pub const USERS_BY: &str = "users/by";
pub const SEARCH_RECENT: &str = "tweets/search/recent";
pub const OAUTH2_TOKEN: &str = "oauth2/token";

/// App-only limits per 15 minutes (docs.x.com rate-limits page).
const USERS_BY_LIMIT: NonZeroU32 = NonZeroU32::new(300).expect("300 is not zero");
const SEARCH_RECENT_LIMIT: NonZeroU32 = NonZeroU32::new(450).expect("450 is not zero");
/// The token endpoint's limit is not published; it is called once per run.
const TOKEN_LIMIT: NonZeroU32 = NonZeroU32::new(15).expect("15 is not zero");
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The variables holding the app's credential: a bearer token, or the key
/// and secret it is exchanged from.
pub const BEARER_TOKEN_VAR: &str = "X_BEARER_TOKEN";
pub const API_KEY_VAR: &str = "X_API_KEY";
pub const API_SECRET_VAR: &str = "X_API_SECRET";

/// Limits per endpoint, reported in `x-rate-limit-remaining` and
/// `x-rate-limit-reset` (epoch seconds) on every answer.
///
/// Errors are `application/problem+json`; the problem `type` says more than
/// the status, so it decides where it is known (matched by suffix: the
/// prefix is `https://api.twitter.com/2/problems/` in older specs and
/// `https://api.x.com/2/problems/` in newer ones):
/// - `usage-capped` (429): a daily or monthly cap; no retry inside a
///   15-minute window can help, so the answer goes back to the source;
/// - `rate-limit-exceeded` (any status): the window is spent;
/// - `unsupported-authentication` (403): this kind of token cannot use the
///   endpoint, so the credential is refused;
/// - `client-forbidden` (403, reason `client-not-enrolled`): the token is
///   fine but the app is not enrolled for API v2 access, an access the
///   developer portal grants ([`REQUIRED_ACCESS`]).
pub struct XPolicy;

/// What X's v2 calls need beyond a valid token: an app attached to a
/// Project with API access, which since 2026-02-06 is bought pay-per-use
/// (or kept on an existing Basic or Pro plan) (`../shared/docs/social-apis.md`, X pricing).
pub const REQUIRED_ACCESS: &str = "an app attached to a Project with X API v2 access \
     (pay-per-use credits, or a Basic or Pro plan)";

impl ProviderPolicy for XPolicy {
    fn provider(&self) -> Provider {
        Provider::X
    }

    fn credential_vars(&self) -> &'static [&'static str] {
        &[BEARER_TOKEN_VAR, API_KEY_VAR, API_SECRET_VAR]
    }

    fn credential_label(&self) -> &'static str {
        "X_BEARER_TOKEN / X_API_KEY+X_API_SECRET"
    }

    fn required_access(&self) -> Option<&'static str> {
        Some(REQUIRED_ACCESS)
    }

    fn defaults(&self) -> ProviderSettings {
        ProviderSettings {
            endpoint_quotas: BTreeMap::from([
                (USERS_BY, Quota::new(USERS_BY_LIMIT, WINDOW)),
                (SEARCH_RECENT, Quota::new(SEARCH_RECENT_LIMIT, WINDOW)),
                (OAUTH2_TOKEN, Quota::new(TOKEN_LIMIT, WINDOW)),
            ]),
            max_attempts: 4,
            // X's own sample waits at least 60 s after a 429.
            rate_limited_wait: Duration::from_secs(60),
            ..ProviderSettings::with_quota(Quota::new(USERS_BY_LIMIT, WINDOW))
        }
    }

    fn classify(&self, response: &HttpResponse) -> Verdict {
        let problem = serde_json::from_slice::<Problem>(&response.body).ok();
        match problem.as_ref().and_then(Problem::suffix) {
            Some("usage-capped") => Verdict::Final,
            Some("rate-limit-exceeded") => Verdict::RateLimited,
            Some("unsupported-authentication") if !response.status.is_success() => {
                Verdict::CredentialRefused
            }
            Some("client-forbidden") if !response.status.is_success() => Verdict::NotPermitted,
            _ => default_classify(response),
        }
    }

    fn server_window(&self, headers: &HeaderMap) -> Option<ServerWindow> {
        window_from(
            headers,
            &["x-rate-limit-remaining"],
            &["x-rate-limit-reset"],
            // X windows are 15 minutes; the header gives only the limit.
            (&["x-rate-limit-limit"], Some(WINDOW)),
        )
    }

    fn limit_scope(&self, endpoint: &'static str) -> Option<&'static str> {
        Some(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::*;
    use crate::gateway::policy::{test_answer as answer, test_headers as headers};

    #[test]
    fn defaults_follow_the_published_limits() {
        let x = XPolicy.defaults();
        assert_eq!(x.quota_for(Some(USERS_BY)).to_string(), "300/15m");
        assert_eq!(x.quota_for(Some(SEARCH_RECENT)).to_string(), "450/15m");
    }

    #[test]
    fn headers_and_per_endpoint_scope() {
        let h = headers(&[
            ("x-rate-limit-limit", "300"),
            ("x-rate-limit-remaining", "0"),
            ("x-rate-limit-reset", "1700000900"),
        ]);
        let w = XPolicy.server_window(&h).expect("window");
        assert_eq!(w.remaining, Some(0));
        assert_eq!(
            w.reset,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_900))
        );
        assert_eq!(w.quota.map(|q| q.to_string()).as_deref(), Some("300/15m"));
        assert_eq!(XPolicy.limit_scope(USERS_BY), Some(USERS_BY));
        let _: SystemTime = UNIX_EPOCH;
    }

    #[test]
    fn problem_types_decide_by_suffix() {
        let json = [("content-type", "application/problem+json")];
        let capped = r#"{"title":"UsageCapExceeded","type":"https://api.x.com/2/problems/usage-capped","period":"Daily","scope":"Product"}"#;
        assert_eq!(
            XPolicy.classify(&answer(429, &json, capped)),
            Verdict::Final
        );
        let old_prefix = r#"{"title":"Forbidden","type":"https://api.twitter.com/2/problems/unsupported-authentication"}"#;
        assert_eq!(
            XPolicy.classify(&answer(403, &json, old_prefix)),
            Verdict::CredentialRefused
        );
        let too_many = r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#;
        assert_eq!(
            XPolicy.classify(&answer(429, &json, too_many)),
            Verdict::RateLimited
        );
        let invalid =
            r#"{"title":"Invalid Request","type":"https://api.x.com/2/problems/invalid-request"}"#;
        assert_eq!(
            XPolicy.classify(&answer(400, &json, invalid)),
            Verdict::Final
        );
        // ClientForbiddenProblem's fields (xdk latest-openapi.json).
        let not_enrolled = r#"{"title":"Client Forbidden","detail":"This app is not enrolled.","reason":"client-not-enrolled","registration_url":"https://developer.x.com/","type":"https://api.x.com/2/problems/client-forbidden"}"#;
        assert_eq!(
            XPolicy.classify(&answer(403, &json, not_enrolled)),
            Verdict::NotPermitted
        );
        // A 200 with partial errors is a success.
        let partial = r#"{"data":[{"id":"1","name":"A","username":"a"}],"errors":[{"type":"https://api.x.com/2/problems/resource-not-found","title":"Not Found Error"}]}"#;
        assert_eq!(
            XPolicy.classify(&answer(
                200,
                &[("content-type", "application/json")],
                partial
            )),
            Verdict::Success
        );
    }
}
