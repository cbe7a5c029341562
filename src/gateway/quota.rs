//! A provider's published request quota, "LIMIT per WINDOW", and its text
//! form `LIMIT/WINDOW` (`600/5m`, `100/2s`).
//!
//! The same parser serves the environment (`LEADGEN_<PROVIDER>_RATE_LIMIT`),
//! and later the config file and flags, so every place a user can raise a
//! limit reads and reports it the same way.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// At most `limit` requests in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: NonZeroU32,
    pub window: Duration,
}

/// Why a `LIMIT/WINDOW` text is not a quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaParseError {
    #[error("rate limit {input:?} is not LIMIT/WINDOW (for example 600/5m or 100/2s)")]
    Shape { input: String },
    #[error("rate limit {input:?}: the limit {limit:?} is not a whole number of requests above 0")]
    Limit { input: String, limit: String },
    #[error(
        "rate limit {input:?}: the window {window:?} is not a number followed by ms, s, m or h (for example 5m)"
    )]
    Window { input: String, window: String },
    #[error("rate limit {input:?}: the window must be longer than zero")]
    ZeroWindow { input: String },
    #[error("rate limit {input:?}: the window is too long")]
    WindowTooLong { input: String },
}

impl Quota {
    pub fn new(limit: NonZeroU32, window: Duration) -> Quota {
        Quota { limit, window }
    }

    /// Requests per second at this quota, spread evenly.
    pub fn per_second(&self) -> f64 {
        f64::from(self.limit.get()) / self.window.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Reads `LIMIT/WINDOW`: a positive whole number of requests, a slash,
    /// and a positive whole number with a unit `ms`, `s`, `m` or `h`.
    /// Spaces around the parts are tolerated (`600 / 5m`).
    pub fn parse(input: &str) -> Result<Quota, QuotaParseError> {
        let shape = || QuotaParseError::Shape {
            input: input.to_owned(),
        };
        let (limit_text, window_text) = input.split_once('/').ok_or_else(shape)?;
        let (limit_text, window_text) = (limit_text.trim(), window_text.trim());
        if limit_text.is_empty() || window_text.is_empty() {
            return Err(shape());
        }
        let limit = limit_text
            .parse::<NonZeroU32>()
            .map_err(|_| QuotaParseError::Limit {
                input: input.to_owned(),
                limit: limit_text.to_owned(),
            })?;
        let window = parse_window(input, window_text)?;
        Ok(Quota { limit, window })
    }

    /// The steady spacing between requests that fills the quota exactly.
    pub fn interval(&self) -> Duration {
        self.window / self.limit.get()
    }
}

fn parse_window(input: &str, text: &str) -> Result<Duration, QuotaParseError> {
    let window = parse_duration(text).map_err(|e| match e {
        DurationParseError::TooLong(_) => QuotaParseError::WindowTooLong {
            input: input.to_owned(),
        },
        DurationParseError::Malformed(_) => QuotaParseError::Window {
            input: input.to_owned(),
            window: text.to_owned(),
        },
    })?;
    if window.is_zero() {
        return Err(QuotaParseError::ZeroWindow {
            input: input.to_owned(),
        });
    }
    Ok(window)
}

/// Reads a duration written as a number and a unit: `80ms`, `2s`, `1.5s`,
/// `5m`, `1h`; a bare `0` is zero. Used for every duration a user writes
/// (quotas, timeouts, latencies), so they all read the same way.
pub fn parse_duration(text: &str) -> Result<Duration, DurationParseError> {
    use DurationParseError::Malformed;
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .ok_or_else(|| Malformed(format!("{text:?} has no unit: write e.g. 80ms, 5s or 5m")))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| Malformed(format!("{text:?} does not start with a number")))?;
    let seconds_per_unit = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(Malformed(format!(
                "unknown unit {unit:?} in {text:?}: use ms, s, m or h"
            )));
        }
    };
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| DurationParseError::TooLong(format!("{text:?} is too long")))
}

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationParseError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    TooLong(String),
}

impl FromStr for Quota {
    type Err = QuotaParseError;
    fn from_str(s: &str) -> Result<Quota, QuotaParseError> {
        Quota::parse(s)
    }
}

impl fmt::Display for Quota {
    /// Prints the shortest exact form the parser reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.window.as_millis();
        let (n, unit) = if ms.is_multiple_of(3_600_000) {
            (ms / 3_600_000, "h")
        } else if ms.is_multiple_of(60_000) {
            (ms / 60_000, "m")
        } else if ms.is_multiple_of(1_000) {
            (ms / 1_000, "s")
        } else {
            (ms, "ms")
        };
        write!(f, "{}/{n}{unit}", self.limit)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn durations_read_like_quota_windows() {
        assert_eq!(parse_duration("80ms"), Ok(Duration::from_millis(80)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("ms").is_err());
    }

    use super::*;

    fn q(limit: u32, window: Duration) -> Quota {
        Quota::new(NonZeroU32::new(limit).expect("test limit above 0"), window)
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(Quota::parse("600/5m"), Ok(q(600, Duration::from_secs(300))));
        assert_eq!(Quota::parse("100/2s"), Ok(q(100, Duration::from_secs(2))));
        assert_eq!(
            Quota::parse("10/250ms"),
            Ok(q(10, Duration::from_millis(250)))
        );
        assert_eq!(
            Quota::parse("5000/1h"),
            Ok(q(5000, Duration::from_secs(3600)))
        );
        assert_eq!(
            Quota::parse(" 600 / 5m "),
            Ok(q(600, Duration::from_secs(300)))
        );
        assert_eq!(
            "300/15m".parse::<Quota>(),
            Ok(q(300, Duration::from_secs(900)))
        );
    }

    #[test]
    fn rejects_malformed_text_with_a_specific_reason() {
        let err = |s: &str| Quota::parse(s).expect_err(s);
        assert!(matches!(err("600"), QuotaParseError::Shape { .. }));
        assert!(matches!(err("/5m"), QuotaParseError::Shape { .. }));
        assert!(matches!(err("600/"), QuotaParseError::Shape { .. }));
        assert!(matches!(err("0/5m"), QuotaParseError::Limit { .. }));
        assert!(matches!(err("-1/5m"), QuotaParseError::Limit { .. }));
        assert!(matches!(err("1.5/5m"), QuotaParseError::Limit { .. }));
        assert!(matches!(err("600/5"), QuotaParseError::Window { .. }));
        assert!(matches!(err("600/m"), QuotaParseError::Window { .. }));
        assert!(matches!(err("600/5d"), QuotaParseError::Window { .. }));
        assert!(matches!(
            err("600/5 minutes"),
            QuotaParseError::Window { .. }
        ));
        assert!(matches!(err("600/0s"), QuotaParseError::ZeroWindow { .. }));
        assert!(matches!(
            err("1/99999999999999999h"),
            QuotaParseError::WindowTooLong { .. }
        ));
    }

    #[test]
    fn errors_quote_the_input_and_show_an_example() {
        let msg = Quota::parse("600 per 5m")
            .expect_err("no slash")
            .to_string();
        assert!(msg.contains("\"600 per 5m\""), "{msg}");
        assert!(msg.contains("600/5m"), "{msg}");
    }

    #[test]
    fn display_round_trips() {
        for text in ["600/5m", "100/2s", "10/250ms", "5000/1h", "7/90s"] {
            let quota = Quota::parse(text).expect(text);
            assert_eq!(quota.to_string(), text);
            assert_eq!(Quota::parse(&quota.to_string()), Ok(quota));
        }
    }

    #[test]
    fn interval_fills_the_window() {
        assert_eq!(
            Quota::parse("600/5m").expect("valid").interval(),
            Duration::from_millis(500)
        );
    }
}
