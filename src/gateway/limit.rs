//! Client-side pacing of one provider (or one endpoint of a provider that
//! counts per endpoint): a GCRA limiter plus a "paused until" instant.
//!
//! The limiter keeps us under the published quota on our own; the pause
//! obeys the server when it says its window is spent (another process may
//! share the key, or the server counts differently). governor cannot be
//! told "wait until T", hence the separate pause.
//!
//! ## Why the burst is 1
//!
//! Companies House counts 600 requests in fixed 5-minute windows. A GCRA
//! limiter with interval `T` and burst `b` admits up to `b - 1 + W/T`
//! requests in any half-open span of length `W`; starting full, the first
//! window sees `b` at once plus one per `T` for the rest of it. With the
//! steady rate at the quota (`T = W / limit`) that is `limit + b - 1`, so
//! any burst above 1 overshoots the first window (and any window that
//! follows an idle spell). The burst is therefore 1: requests are evenly
//! spaced, which is also what lets a herd of tasks resume politely after a
//! pause.
//!
//! ## Why 1 % headroom (and more for small quotas)
//!
//! The limiter decides when a request leaves; the server counts when it
//! arrives. Network and scheduling jitter can move a request across the
//! server's window boundary, so spacing at exactly `W / limit` can let
//! `limit + 1` land in one server window. Spacing 1 % wider costs 1 % of
//! throughput and gives every window 1 % of its length in slack (3 s for
//! Companies House) against jitter.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};

use super::clock::{self, PacingClock};
use super::quota::Quota;
use super::shared::{Reserved, ScopeKey, SharedQuota};

/// A GCRA limiter on the gateway's clock (see [`clock`]).
type Limiter =
    governor::RateLimiter<NotKeyed, InMemoryState, PacingClock, NoOpMiddleware<Duration>>;

fn limiter(quota: &Quota) -> Arc<Limiter> {
    Arc::new(governor::RateLimiter::direct_with_clock(
        pacing(quota),
        PacingClock::default(),
    ))
}

/// Extra spacing, in percent, between requests beyond `window / limit`.
const HEADROOM_PERCENT: u32 = 1;

/// The governor quota that keeps `quota` in every window of the server's.
pub fn pacing(quota: &Quota) -> governor::Quota {
    governor::Quota::with_period(pacing_interval(quota))
        .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN)
}

/// The spacing between requests at `quota`, with the headroom, and never
/// so tight that `limit` requests fit in one window: a server counting
/// fixed windows that open at a request would otherwise see its last slot
/// taken ("remaining 0") and ask for a pause. At 600/5m the 1 % headroom
/// already spans that; at 60/5s it takes 1.7 %.
pub fn pacing_interval(quota: &Quota) -> Duration {
    let headroom = quota.interval() * (100 + HEADROOM_PERCENT) / 100;
    let limit = quota.limit.get();
    let spanning = if limit > 1 {
        // (limit - 1) gaps longer than the window, by a thousandth.
        quota.window * 1001 / 1000 / (limit - 1)
    } else {
        Duration::ZERO
    };
    let interval = headroom.max(spanning);
    // A zero interval cannot come from a parsed quota at realistic limits,
    // but a nanosecond is the honest floor if it ever does.
    interval.max(Duration::from_nanos(1))
}

/// The pacing state every task calling one provider scope shares.
pub struct RateWindow {
    /// Replaced (never mutated) when the server announces a lower quota.
    limiter: Mutex<Arc<Limiter>>,
    /// The quota the limiter paces to.
    quota: Mutex<Quota>,
    paused_until: Mutex<Option<Instant>>,
    /// The Redis-held pacing every process on this key shares, when
    /// configured ([`super::shared`]); the local limiter stands in while
    /// Redis is out of reach.
    shared: OnceLock<(Arc<SharedQuota>, ScopeKey)>,
}

impl RateWindow {
    pub fn new(quota: &Quota) -> RateWindow {
        RateWindow {
            limiter: Mutex::new(limiter(quota)),
            quota: Mutex::new(*quota),
            paused_until: Mutex::new(None),
            shared: OnceLock::new(),
        }
    }

    /// Paces through Redis from now on (first call wins).
    pub fn share(&self, quota: Arc<SharedQuota>, key: ScopeKey) {
        let _ = self.shared.set((quota, key));
    }

    /// The shared pacing, when this window has one.
    pub fn shared(&self) -> Option<&(Arc<SharedQuota>, ScopeKey)> {
        self.shared.get()
    }

    /// The quota requests are paced to now.
    pub fn quota(&self) -> Quota {
        *lock(&self.quota)
    }

    /// Paces to `announced` from now on if it is slower than the current
    /// quota: the server knows the key's real limit (a configured limit may
    /// be too high). A faster announced quota is ignored: the user may be
    /// sharing the key on purpose. Returns whether the pace changed.
    pub fn adopt(&self, announced: &Quota) -> bool {
        let mut quota = lock(&self.quota);
        if announced.interval() <= quota.interval() {
            return false;
        }
        *quota = *announced;
        *lock(&self.limiter) = limiter(announced);
        true
    }

    /// Holds every task of this scope back until `until` (never shortens an
    /// existing pause).
    pub fn pause_until(&self, until: Instant) {
        let mut paused = lock(&self.paused_until);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// The instant the current pause ends, if it is still in the future.
    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        lock(&self.paused_until).filter(|until| *until > now)
    }

    /// Waits out any pause, then takes one token. Returns the time spent
    /// waiting. Cancel-safe: a token is only taken when this resolves.
    ///
    /// With `max_wait`, gives up at once (returning the wait it would have
    /// needed) when the pause or the pacing would hold this request longer:
    /// an optional source whose quota is spent should be skipped, not hold
    /// the batch back.
    pub async fn acquire(&self, max_wait: Option<Duration>) -> Result<Duration, Duration> {
        let started = clock::now();
        loop {
            if let Some(until) = self.paused_until(clock::now()) {
                let wait = until.saturating_duration_since(clock::now());
                if max_wait.is_some_and(|max| wait > max) {
                    return Err(wait);
                }
                clock::sleep_until(until).await;
            }
            if let Some((shared, key)) = self.shared.get() {
                let interval = pacing_interval(&self.quota());
                match shared.reserve(key, interval, max_wait).await {
                    Reserved::After(wait) => {
                        tokio::time::sleep(wait).await;
                        if self.paused_until(clock::now()).is_none() {
                            return Ok(clock::now() - started);
                        }
                        // Paused while the slot came: it is forfeit.
                        continue;
                    }
                    Reserved::TooLong(wait) => return Err(wait),
                    // Out of reach: this process paces on its own.
                    Reserved::Unavailable => {}
                }
            }
            let limiter = Arc::clone(&lock(&self.limiter));
            // Tokens are taken by `check` and waited for on the gateway's
            // clock; a task that loses the race for a token waits again.
            let mut bounded = max_wait;
            while let Err(not_until) = limiter.check() {
                let wait = limiter.clock().until(not_until.earliest_possible());
                if let Some(max) = bounded.take()
                    && wait > max
                {
                    return Err(wait);
                }
                tokio::time::sleep(wait).await;
            }
            // A pause may have started while we queued for the token; the
            // server said no, so the token is forfeit and we wait again.
            if self.paused_until(clock::now()).is_none() {
                return Ok(clock::now() - started);
            }
        }
    }
}

/// Poisoning only means another task panicked mid-update of a plain value;
/// the value itself is still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::RateLimiter;
    use governor::clock::FakeRelativeClock;

    fn quota(text: &str) -> Quota {
        Quota::parse(text).expect("valid quota")
    }

    /// Counts what a full-speed caller gets through in `[0, span)`.
    fn admitted_within(q: &Quota, span: Duration) -> u32 {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::direct_with_clock(pacing(q), clock.clone());
        let step = Duration::from_millis(1);
        let mut admitted = 0;
        let mut elapsed = Duration::ZERO;
        while elapsed < span {
            while limiter.check().is_ok() {
                admitted += 1;
            }
            clock.advance(step);
            elapsed += step;
        }
        admitted
    }

    #[tokio::test(start_paused = true)]
    async fn a_bounded_acquire_gives_up_when_the_wait_is_longer() {
        let w = RateWindow::new(&quota("1/10s"));
        let bound = Some(Duration::from_secs(1));
        assert!(w.acquire(bound).await.is_ok(), "the first token is free");
        let needed = w.acquire(bound).await.expect_err("the next is 10 s away");
        assert!(needed > Duration::from_secs(5), "{needed:?}");
        let paused = RateWindow::new(&quota("100/1s"));
        paused.pause_until(clock::now() + Duration::from_secs(30));
        let needed = paused.acquire(bound).await.expect_err("paused for 30 s");
        assert!(needed > Duration::from_secs(25), "{needed:?}");
    }

    #[test]
    fn a_slower_announced_quota_is_adopted_a_faster_one_ignored() {
        let w = RateWindow::new(&quota("100/2s"));
        assert!(!w.adopt(&quota("200/2s")));
        assert_eq!(w.quota(), quota("100/2s"));
        assert!(w.adopt(&quota("80/2s")));
        assert_eq!(w.quota(), quota("80/2s"));
        assert!(!w.adopt(&quota("80/2s")), "the same quota changes nothing");
    }

    #[test]
    fn companies_house_never_exceeds_600_in_a_5_minute_window() {
        let q = quota("600/5m");
        // The first window is the one a burst would overshoot.
        let first = admitted_within(&q, Duration::from_secs(300));
        assert!(first <= 600, "first window admitted {first}");
        // And the steady rate stays close to the quota (1 % headroom).
        assert!(first >= 590, "first window admitted only {first}");
    }

    #[test]
    fn pacing_spaces_requests_evenly_with_headroom() {
        let p = pacing(&quota("600/5m"));
        assert_eq!(p.burst_size().get(), 1);
        assert_eq!(p.replenish_interval(), Duration::from_millis(505));
    }

    #[test]
    fn pause_only_extends() {
        let w = RateWindow::new(&quota("10/1s"));
        let now = Instant::now();
        assert_eq!(w.paused_until(now), None);
        w.pause_until(now + Duration::from_secs(5));
        w.pause_until(now + Duration::from_secs(1));
        assert_eq!(w.paused_until(now), Some(now + Duration::from_secs(5)));
        assert_eq!(w.paused_until(now + Duration::from_secs(6)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_out_a_pause() {
        let w = RateWindow::new(&quota("100/1s"));
        w.pause_until(clock::now() + Duration::from_millis(200));
        let waited = w.acquire(None).await.expect("unbounded");
        assert_eq!(waited, Duration::from_millis(200));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_paces_on_the_gateway_clock() {
        let w = RateWindow::new(&quota("10/1s"));
        let started = clock::now();
        for _ in 0..11 {
            w.acquire(None).await.expect("unbounded");
        }
        // Ten gaps of 111.2 ms, on tokio's paused clock: at 10 a second the
        // 1 % headroom (101 ms) would still fit 10 in a window; nine gaps
        // must span more than it.
        // (governor keeps its own clock's resolution, hence the range.)
        let took = clock::now() - started;
        assert!(
            took >= Duration::from_nanos(111_222_222 * 10) && took <= Duration::from_millis(1121),
            "{took:?}"
        );
        // At the real quota the 1 % headroom is the wider of the two.
        assert_eq!(
            pacing_interval(&quota("600/5m")),
            Duration::from_millis(505)
        );
    }
}
