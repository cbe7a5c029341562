//! A published request quota, "LIMIT per WINDOW", as the fakes enforce it.
//!
//! The fakes keep their own type rather than borrow the client's: a fake
//! follows the providers' documents, never the code it is testing.

use std::num::NonZeroU32;
use std::time::Duration;

/// At most `limit` requests in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: NonZeroU32,
    pub window: Duration,
}

impl Quota {
    pub fn new(limit: NonZeroU32, window: Duration) -> Quota {
        Quota { limit, window }
    }

    /// `limit` requests per `window`; a limit of 0 is taken as 1.
    pub fn per(limit: u32, window: Duration) -> Quota {
        Quota::new(NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN), window)
    }

    /// Reads `LIMIT/WINDOW` (`600/5m`, `1/2s`), the window as humantime reads it.
    pub fn parse(text: &str) -> Result<Quota, String> {
        let (limit, window) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not LIMIT/WINDOW (for example 600/5m)"))?;
        let limit = limit
            .trim()
            .parse::<NonZeroU32>()
            .map_err(|_| format!("{text:?}: {limit:?} is not a whole number above 0"))?;
        let window = parse_duration(window.trim())?;
        if window.is_zero() {
            return Err(format!("{text:?}: the window must be longer than zero"));
        }
        Ok(Quota { limit, window })
    }
}

/// `80ms`, `5s`, `5m`: a duration as humantime reads it.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{text:?} is not a duration: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_published_forms() {
        let q = Quota::parse("600/5m").unwrap();
        assert_eq!((q.limit.get(), q.window), (600, Duration::from_secs(300)));
        assert_eq!(
            Quota::parse("1 / 2s").unwrap().window,
            Duration::from_secs(2)
        );
        assert_eq!(parse_duration("80ms").unwrap(), Duration::from_millis(80));
        assert!(Quota::parse("0/5m").is_err());
        assert!(Quota::parse("600").is_err());
        assert!(Quota::parse("600/0s").is_err());
    }
}
