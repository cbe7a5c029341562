//! What each provider's answers mean, kept apart from the machinery that
//! acts on them (after vector's `RetryLogic`).
//!
//! A [`ProviderPolicy`] says which answers are worth retrying, how to read
//! the provider's rate-limit headers, whether its quota is counted per
//! endpoint, its published defaults and where its credential lives. Each
//! provider's lives in its folder (`crate::sources::<provider>::policy`);
//! this module holds the trait and the pieces they share (HTTP status
//! semantics, `Retry-After`, epoch-second resets). The gateway's retry,
//! pause and breaker code only sees [`Verdict`] and [`ServerWindow`]; it
//! knows no header names.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use std::num::NonZeroU32;

use super::quota::Quota;
use super::settings::ProviderSettings;
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
    /// The key is accepted but the app lacks an access the call needs
    /// (LinkedIn's "Not enough permissions", Graph's code 10): no call to
    /// this provider can succeed until someone grants it, so stop calling
    /// it and say which access ([`ProviderPolicy::required_access`]).
    NotPermitted,
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

/// What the gateway must know of one provider, supplied by the provider's
/// own folder under `crate::sources` (the gateway never names a provider's
/// headers, error codes or credentials itself).
pub trait ProviderPolicy: Send + Sync {
    /// The provider this policy speaks for.
    fn provider(&self) -> Provider;

    /// The provider's published behaviour: quota, timeouts, retries.
    fn defaults(&self) -> ProviderSettings;

    /// Every environment variable its credential can come from.
    fn credential_vars(&self) -> &'static [&'static str];

    /// How messages name the credential ("check X_BEARER_TOKEN / ...");
    /// the variables themselves unless a provider has alternatives.
    fn credential_label(&self) -> &'static str {
        self.credential_vars()
            .first()
            .copied()
            .unwrap_or("its credential")
    }

    /// The meaning of an answer. The default is plain HTTP semantics, plus
    /// a check that a successful JSON answer arrived whole.
    fn classify(&self, response: &HttpResponse) -> Verdict {
        default_classify(response)
    }

    /// What an app needs beyond a valid credential to make leadgen's calls
    /// (a vetted API product, an App Review feature...), for messages and
    /// `leadgen doctor`; `None` when a key is all it takes.
    fn required_access(&self) -> Option<&'static str> {
        None
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

/// Headers from name/value pairs, for the providers' policy tests.
#[cfg(test)]
pub fn test_headers(pairs: &[(&str, &str)]) -> HeaderMap {
    use reqwest::header::{HeaderName, HeaderValue};
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("valid name"),
            HeaderValue::from_str(value).expect("valid value"),
        );
    }
    map
}

/// A whole answer, for the providers' policy tests.
#[cfg(test)]
pub fn test_answer(status: u16, pairs: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status: StatusCode::from_u16(status).expect("valid status"),
        headers: test_headers(pairs),
        body: bytes::Bytes::copy_from_slice(body.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_headers as headers;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
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
