//! The gateway's time: the one seam through which tests control it.
//!
//! Monotonic time is tokio's clock ([`now`]), so every wait the gateway
//! makes (pacing, pauses, backoff, timeouts) follows it. In a running
//! program that is the system's monotonic clock; under
//! `#[tokio::test(start_paused = true)]` it stands still until every task
//! is waiting and then jumps to the next deadline, so the gateway's tests
//! run hours of pacing in microseconds and never depend on the machine
//! being idle.
//!
//! Wall time ([`Clock::wall`]) is only needed to read servers' epoch-second
//! resets. It is the system's, except in tests, where it moves with
//! tokio's clock from a fixed anchor so a reset "2 s from now" arrives
//! exactly when the paused clock says so.

use std::time::{Duration, Instant, SystemTime};

use governor::clock::Clock as _;

/// Now, on the clock every gateway wait uses.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Sleeps until `deadline` on the same clock as [`now`].
pub async fn sleep_until(deadline: Instant) {
    tokio::time::sleep_until(deadline.into()).await;
}

/// Where the gateway reads wall time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some((wall, at))`: `wall` at the monotonic
    /// instant `at`, moving with [`now`] from there.
    anchor: Option<(SystemTime, Instant)>,
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Clock {
        Clock { anchor: None }
    }

    /// Wall time that reads `wall` at the monotonic instant `at` and moves
    /// with [`now`] (tokio's clock, paused in tests).
    pub fn following(wall: SystemTime, at: Instant) -> Clock {
        Clock {
            anchor: Some((wall, at)),
        }
    }

    pub fn wall(&self) -> SystemTime {
        match self.anchor {
            None => SystemTime::now(),
            Some((wall, at)) => {
                let t = now();
                if t >= at {
                    wall + (t - at)
                } else {
                    wall - (at - t)
                }
            }
        }
    }
}

/// governor's view of [`now`], so the pacing limiter follows the same
/// clock as every other wait (governor's own waits use a timer tokio
/// cannot pause, so the gateway sleeps through tokio instead).
#[derive(Debug, Clone)]
pub struct PacingClock {
    origin: Instant,
}

impl Default for PacingClock {
    fn default() -> PacingClock {
        PacingClock { origin: now() }
    }
}

impl governor::clock::Clock for PacingClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        now().saturating_duration_since(self.origin)
    }
}

impl PacingClock {
    /// How long from now until `at` (a reading of this clock).
    pub fn until(&self, at: Duration) -> Duration {
        at.saturating_sub(self.now())
    }
}
