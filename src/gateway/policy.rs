//! What each provider's answers mean, kept apart from the machinery that
//! acts on them (after vector's `RetryLogic`).
//!
//! A [`ProviderPolicy`] says which answers are worth retrying, how to read
//! the provider's rate-limit headers, and whether its quota is counted per
//! endpoint. The gateway's retry, pause and breaker code only sees
//! [`Verdict`] and [`ServerWindow`]; it knows no header names.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use std::num::NonZeroU32;

use super::quota::{Quota, parse_duration};
use super::{HttpResponse, Provider};

/// What an answer means for the call that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A usable answer.
    Success,
    /// An answer the source must interpret (404, 400, ...); retrying gives
    /// the same answer, and it proves the server is up.
    Final,
    /// The quota is spent (429); wait for the server's window, then retry.
    RateLimited,
    /// A transient server failure (5xx); retry with backoff.
    Retry,
    /// A success status whose body says it is JSON but is not whole JSON:
    /// the transfer was cut short somewhere. Retry with backoff.
    Incomplete,
    /// The key is refused (401/403); stop calling this provider.
    CredentialRefused,
}

/// When the server lets us resume, in the form it said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// `Retry-After: 120`: relative to when the answer arrived.
    After(Duration),
    /// `Retry-After: <HTTP date>`, or an epoch-seconds reset header.
    At(SystemTime),
}

impl Resume {
    /// The wait from `now`; zero when the moment has passed.
    pub fn wait_from(&self, now: SystemTime) -> Duration {
        match *self {
            Resume::After(d) => d,
            Resume::At(t) => t.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}

/// What the provider's headers say about its quota window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerWindow {
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// When the current window ends.
    pub reset: Option<SystemTime>,
    /// An explicit instruction (`Retry-After`), which wins over `reset`.
    pub retry_after: Option<Resume>,
    /// The quota the server says the key has (`X-Ratelimit-Limit` per
    /// `X-Ratelimit-Window`), when it says.
    pub quota: Option<Quota>,
}

impl ServerWindow {
    /// How long the server asks us to hold off, if it does: `Retry-After`
    /// first, then "window spent (remaining 0, or a 429) → until reset"
    /// (the order octocrab uses). `None` means the headers give no usable
    /// instruction; the caller falls back on its own minimum wait.
    pub fn hold_off(&self, rate_limited: bool, now: SystemTime) -> Option<Duration> {
        if let Some(resume) = self.retry_after {
            return Some(resume.wait_from(now));
        }
        let spent = rate_limited || self.remaining == Some(0);
        match self.reset {
            Some(reset) if spent => {
                let wait = reset.duration_since(now).ok()?;
                // A reset already past says nothing about when to resume.
                (!wait.is_zero()).then_some(wait)
            }
            _ => None,
        }
    }
}

/// One provider's reading of its own answers.
pub trait ProviderPolicy: Send + Sync {
    /// The meaning of an answer. The default is plain HTTP semantics, plus
    /// a check that a successful JSON answer arrived whole.
    fn classify(&self, response: &HttpResponse) -> Verdict {
        default_classify(response)
    }

    /// The quota state the answer's headers report, if any.
    fn server_window(&self, headers: &HeaderMap) -> Option<ServerWindow>;

    /// The quota scope of `endpoint`: `None` when the provider counts all
    /// requests of a key together, `Some(key)` when it counts per endpoint.
    fn limit_scope(&self, endpoint: &'static str) -> Option<&'static str> {
        let _ = endpoint;
        None
    }
}

/// The policy of `provider`.
pub fn policy_for(provider: Provider) -> &'static dyn ProviderPolicy {
    match provider {
        Provider::CompaniesHouse => &CompaniesHousePolicy,
        Provider::X => &XPolicy,
        Provider::LinkedIn => &LinkedInPolicy,
        Provider::Facebook => &FacebookPolicy,
    }
}

/// Plain HTTP semantics, plus a check that a successful JSON answer
/// arrived whole: what [`ProviderPolicy::classify`] does unless a provider
/// knows better.
pub fn default_classify(response: &HttpResponse) -> Verdict {
    match classify_status(response.status) {
        Verdict::Success if declares_json(&response.headers) && !is_whole_json(&response.body) => {
            Verdict::Incomplete
        }
        verdict => verdict,
    }
}

fn declares_json(headers: &HeaderMap) -> bool {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

fn is_whole_json(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// Plain HTTP: 2xx/3xx fine, 401/403 refused, 429 throttled, the 5xx that
/// signal a passing condition retried, every other status final.
pub fn classify_status(status: StatusCode) -> Verdict {
    match status.as_u16() {
        200..=399 => Verdict::Success,
        401 | 403 => Verdict::CredentialRefused,
        429 => Verdict::RateLimited,
        500 | 502 | 503 | 504 => Verdict::Retry,
        _ => Verdict::Final,
    }
}

/// Companies House: one 600-per-5-minutes window per key, reported in
/// `X-Ratelimit-Remain` and `X-Ratelimit-Reset` (epoch seconds). The
/// document API spells it `X-Ratelimit-Remaining`; both are read. A 429
/// comes without `Retry-After`, but it is honoured if it ever appears.
pub struct CompaniesHousePolicy;

impl ProviderPolicy for CompaniesHousePolicy {
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

/// X API v2: limits per endpoint, reported in `x-rate-limit-remaining` and
/// `x-rate-limit-reset` (epoch seconds) on every answer.
///
/// Errors are `application/problem+json`; the problem `type` says more than
/// the status, so it decides where it is known (matched by suffix: the
/// prefix is `https://api.twitter.com/2/problems/` in older specs and
/// `https://api.x.com/2/problems/` in newer ones):
/// - `usage-capped` (429): a daily or monthly cap; no retry inside a
///   15-minute window can help, so the answer goes back to the source;
/// - `rate-limit-exceeded` (any status): the window is spent;
/// - `unsupported-authentication`, `client-forbidden` (403): this app or
///   token cannot use the endpoint at all.
pub struct XPolicy;

impl ProviderPolicy for XPolicy {
    fn classify(&self, response: &HttpResponse) -> Verdict {
        let problem = problem_type(&response.body);
        match problem.as_deref().map(problem_suffix) {
            Some("usage-capped") => Verdict::Final,
            Some("rate-limit-exceeded") => Verdict::RateLimited,
            Some("unsupported-authentication" | "client-forbidden")
                if !response.status.is_success() =>
            {
                Verdict::CredentialRefused
            }
            _ => default_classify(response),
        }
    }

    fn server_window(&self, headers: &HeaderMap) -> Option<ServerWindow> {
        window_from(
            headers,
            &["x-rate-limit-remaining"],
            &["x-rate-limit-reset"],
            // X windows are 15 minutes; the header gives only the limit.
            (&["x-rate-limit-limit"], Some(Duration::from_secs(15 * 60))),
        )
    }

    fn limit_scope(&self, endpoint: &'static str) -> Option<&'static str> {
        Some(endpoint)
    }
}

/// The `type` of an RFC 7807 problem body, if the body is one.
fn problem_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Problem {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_slice::<Problem>(body).ok().map(|p| p.kind)
}

/// The last path segment of a problem type URI (`about:blank` stays whole).
pub fn problem_suffix(kind: &str) -> &str {
    kind.rsplit('/').next().unwrap_or(kind)
}

/// LinkedIn: daily application and member caps whose numbers are not
/// published, no rate-limit headers, and a 429 whose body says
/// `{"serviceErrorCode":101,"message":"Resource level throttle limit ...","status":429}`.
/// A 429 also comes for "infrastructure protection", which passes on its
/// own. Either way the gateway waits its minimum and retries a few times;
/// only `Retry-After` is read, in case LinkedIn ever sends it.
pub struct LinkedInPolicy;

impl ProviderPolicy for LinkedInPolicy {
    fn server_window(&self, headers: &HeaderMap) -> Option<ServerWindow> {
        window_from(headers, &[], &[], (&[], None))
    }
}

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
const FACEBOOK_THROTTLE_CODES: &[i64] = &[
    4, 17, 32, 341, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014,
];

/// Error codes that mean the token itself is refused: 102 session key, 104
/// token missing, 190 token invalid or expired.
const FACEBOOK_TOKEN_CODES: &[i64] = &[102, 104, 190];

/// Usage (percent of the window) at which we stop before Facebook does:
/// it throttles at 100, and concurrent tasks keep sending while the answer
/// that crossed the line is read.
pub const FACEBOOK_THROTTLE_PERCENT: u64 = 90;

/// How long to hold off when usage crossed the line but no header says when
/// access returns (`X-App-Usage` has no such value). The window is a rolling
/// hour, so a few minutes free a useful share of it.
pub const FACEBOOK_DEFAULT_HOLD_OFF: Duration = Duration::from_secs(5 * 60);

impl ProviderPolicy for FacebookPolicy {
    fn classify(&self, response: &HttpResponse) -> Verdict {
        match graph_error_code(&response.body) {
            Some(code) if FACEBOOK_THROTTLE_CODES.contains(&code) => Verdict::RateLimited,
            Some(code) if FACEBOOK_TOKEN_CODES.contains(&code) && !response.status.is_success() => {
                Verdict::CredentialRefused
            }
            _ => default_classify(response),
        }
    }

    fn server_window(&self, headers: &HeaderMap) -> Option<ServerWindow> {
        let usage = facebook_usage(headers)?;
        let mut window = ServerWindow {
            retry_after: retry_after(headers),
            ..ServerWindow::default()
        };
        if usage.percent >= FACEBOOK_THROTTLE_PERCENT && window.retry_after.is_none() {
            let wait = match usage.regain_minutes {
                Some(minutes) if minutes > 0 => Duration::from_secs(minutes * 60),
                _ => FACEBOOK_DEFAULT_HOLD_OFF,
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
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        code: i64,
    }
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|e| e.error.code)
}

/// Reads a window from the given header names (lower case; `HeaderMap`
/// names are case-insensitive) plus the standard `Retry-After`.
pub fn window_from(
    headers: &HeaderMap,
    remaining_names: &[&str],
    reset_names: &[&str],
    (limit_names, quota_window): (&[&str], Option<Duration>),
) -> Option<ServerWindow> {
    let quota = first_number(headers, limit_names)
        .and_then(|limit| NonZeroU32::try_from(u32::try_from(limit).ok()?).ok())
        .zip(quota_window.filter(|w| !w.is_zero()))
        .map(|(limit, window)| Quota::new(limit, window));
    let window = ServerWindow {
        remaining: first_number(headers, remaining_names),
        reset: first_number(headers, reset_names).map(epoch_seconds),
        retry_after: retry_after(headers),
        quota,
    };
    (window != ServerWindow::default()).then_some(window)
}

fn first_number(headers: &HeaderMap, names: &[&str]) -> Option<u64> {
    names.iter().find_map(|name| {
        headers
            .get(*name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
    })
}

fn epoch_seconds(secs: u64) -> SystemTime {
    // Saturate rather than overflow on a garbage value; the caller caps
    // every pause anyway.
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX)))
}

/// `Retry-After` as delay-seconds or as an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap) -> Option<Resume> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Resume::After(Duration::from_secs(secs)));
    }
    httpdate::parse_http_date(value).ok().map(Resume::At)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).expect("valid name"),
                HeaderValue::from_str(value).expect("valid value"),
            );
        }
        map
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn companies_house_headers_in_any_case() {
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
    fn companies_house_document_api_spelling() {
        let h = headers(&[("X-Ratelimit-Remaining", "0"), ("X-Ratelimit-Reset", "100")]);
        let w = CompaniesHousePolicy.server_window(&h).expect("window");
        assert_eq!(w.remaining, Some(0));
    }

    #[test]
    fn x_headers_and_per_endpoint_scope() {
        let h = headers(&[
            ("x-rate-limit-limit", "300"),
            ("x-rate-limit-remaining", "0"),
            ("x-rate-limit-reset", "1700000900"),
        ]);
        let w = XPolicy.server_window(&h).expect("window");
        assert_eq!(w.remaining, Some(0));
        assert_eq!(w.reset, Some(at(1_700_000_900)));
        assert_eq!(XPolicy.limit_scope("users/by"), Some("users/by"));
        assert_eq!(CompaniesHousePolicy.limit_scope("officers"), None);
        // X's names mean nothing to the Companies House policy.
        assert_eq!(CompaniesHousePolicy.server_window(&h), None);
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        assert_eq!(
            retry_after(&headers(&[("Retry-After", "120")])),
            Some(Resume::After(Duration::from_secs(120)))
        );
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            Some(Resume::At(at(1_445_412_480)))
        );
        assert_eq!(retry_after(&headers(&[("Retry-After", "soon")])), None);
        assert_eq!(retry_after(&headers(&[])), None);
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
        let h = headers(&[("x-rate-limit-limit", "300")]);
        let w = XPolicy.server_window(&h).expect("window");
        assert_eq!(w.quota.map(|q| q.to_string()).as_deref(), Some("300/15m"));
    }

    #[test]
    fn garbage_values_are_ignored() {
        let h = headers(&[("X-Ratelimit-Remain", "lots"), ("X-Ratelimit-Reset", "-5")]);
        assert_eq!(CompaniesHousePolicy.server_window(&h), None);
    }

    #[test]
    fn hold_off_prefers_retry_after_then_spent_window() {
        let now = at(1_000);
        let spent = ServerWindow {
            remaining: Some(0),
            reset: Some(at(1_030)),
            retry_after: None,
            quota: None,
        };
        assert_eq!(spent.hold_off(false, now), Some(Duration::from_secs(30)));
        let told = ServerWindow {
            retry_after: Some(Resume::After(Duration::from_secs(5))),
            ..spent
        };
        assert_eq!(told.hold_off(false, now), Some(Duration::from_secs(5)));
        let open = ServerWindow {
            remaining: Some(10),
            ..spent
        };
        assert_eq!(open.hold_off(false, now), None);
        assert_eq!(open.hold_off(true, now), Some(Duration::from_secs(30)));
        let stale = ServerWindow {
            reset: Some(at(900)),
            ..spent
        };
        assert_eq!(stale.hold_off(true, now), None);
    }

    fn answer(status: u16, pairs: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status: StatusCode::from_u16(status).expect("valid status"),
            headers: headers(pairs),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    #[test]
    fn x_problem_types_decide_by_suffix() {
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
        assert_eq!(problem_suffix("about:blank"), "about:blank");
    }

    #[test]
    fn facebook_throttle_codes_are_rate_limits_whatever_the_status() {
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
    fn facebook_usage_headers_pause_near_the_limit() {
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
        assert_eq!(
            w.retry_after,
            Some(Resume::After(FACEBOOK_DEFAULT_HOLD_OFF))
        );

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

    #[test]
    fn linkedin_reads_no_headers_but_retry_after() {
        let h = headers(&[("x-li-uuid", "AAXwZYJXnc/8Zp667Zwp2w==")]);
        assert_eq!(LinkedInPolicy.server_window(&h), None);
        let body = r#"{"serviceErrorCode":101,"message":"Resource level throttle limit for calls to this resource is reached.","status":429}"#;
        assert_eq!(
            LinkedInPolicy.classify(&answer(429, &[], body)),
            Verdict::RateLimited
        );
        assert_eq!(LinkedInPolicy.limit_scope("organizations"), None);
    }

    #[test]
    fn statuses_classify_by_what_a_retry_can_change() {
        let v = |code: u16| classify_status(StatusCode::from_u16(code).expect("valid status"));
        assert_eq!(v(200), Verdict::Success);
        assert_eq!(v(304), Verdict::Success);
        for code in [400, 404, 405, 406, 410, 416, 422] {
            assert_eq!(v(code), Verdict::Final, "{code}");
        }
        assert_eq!(v(401), Verdict::CredentialRefused);
        assert_eq!(v(403), Verdict::CredentialRefused);
        assert_eq!(v(429), Verdict::RateLimited);
        for code in [500, 502, 503, 504] {
            assert_eq!(v(code), Verdict::Retry, "{code}");
        }
        assert_eq!(v(501), Verdict::Final);
    }
}
