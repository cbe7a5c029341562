//! A circuit breaker per provider: stop calling a provider that keeps
//! failing, and find out cheaply when it is back.
//!
//! What counts: every failed *attempt* — 5xx, timeout, connection or body
//! error — retries included, so a provider that is down sees about
//! `threshold` requests (plus those already in flight) before leadgen stops
//! calling it, however many attempts each call may make. A passing fault
//! rarely fails `threshold` attempts in a row across all traffic, since any
//! answer that proves the server is alive (2xx, 404, other 4xx) resets the
//! count; 429 is neutral (the quota logic deals with it); 401/403 are
//! handled by disabling the provider, not here.
//!
//! States: `Closed` (calls flow) → after `threshold` consecutive failed
//! attempts, `Open` (calls fail at once) → after `cooldown`, the first caller
//! becomes the single probe (`HalfOpen`; everyone else still fails fast) →
//! the probe's success closes the breaker, its failure reopens it for
//! another cooldown. A probe that ends without a verdict (429, or its task
//! was dropped) hands the probe slot to the next caller, so the breaker can
//! never get stuck half-open.
//!
//! The machine takes `now` as an argument so tests drive it with a fake
//! clock; logging is the caller's job (it knows the provider).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::limit::lock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failed attempts that open the breaker.
    pub threshold: u32,
    /// How long an open breaker rejects calls before letting a probe through.
    pub cooldown: Duration,
}

impl Default for BreakerSettings {
    fn default() -> BreakerSettings {
        BreakerSettings {
            threshold: 5,
            cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_in_flight: bool },
}

/// What the breaker lets a new call do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A normal call, with retries.
    Call,
    /// The single trial call after a cooldown.
    Probe,
    /// Fail at once; the next probe is possible in `retry_in`.
    Rejected { retry_in: Duration },
}

/// A state change worth a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Opened,
    HalfOpened,
    Closed,
    Reopened,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

impl CircuitBreaker {
    pub fn new(settings: BreakerSettings) -> CircuitBreaker {
        CircuitBreaker {
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    pub fn admit(&self, now: Instant) -> (Admission, Option<Transition>) {
        let mut state = lock(&self.state);
        match *state {
            State::Closed { .. } => (Admission::Call, None),
            State::Open { until } if now < until => (
                Admission::Rejected {
                    retry_in: until - now,
                },
                None,
            ),
            State::Open { .. } => {
                *state = State::HalfOpen {
                    probe_in_flight: true,
                };
                (Admission::Probe, Some(Transition::HalfOpened))
            }
            State::HalfOpen {
                probe_in_flight: true,
            } => (
                Admission::Rejected {
                    retry_in: Duration::ZERO,
                },
                None,
            ),
            State::HalfOpen {
                probe_in_flight: false,
            } => {
                *state = State::HalfOpen {
                    probe_in_flight: true,
                };
                (Admission::Probe, None)
            }
        }
    }

    /// Whether a call admitted earlier may still make (another) attempt:
    /// a normal call only while the breaker is closed, the probe always.
    pub fn still_admits(&self, admission: Admission) -> bool {
        match admission {
            Admission::Probe => true,
            Admission::Call => matches!(*lock(&self.state), State::Closed { .. }),
            Admission::Rejected { .. } => false,
        }
    }

    /// The server answered in a way that proves it works.
    pub fn record_success(&self, admission: Admission) -> Option<Transition> {
        let mut state = lock(&self.state);
        match (*state, admission) {
            (State::Closed { .. }, Admission::Call) => {
                *state = State::Closed { failures: 0 };
                None
            }
            (State::HalfOpen { .. }, Admission::Probe) => {
                *state = State::Closed { failures: 0 };
                Some(Transition::Closed)
            }
            // Late answers of calls admitted before the breaker opened do
            // not decide anything; only the probe does.
            _ => None,
        }
    }

    /// An attempt failed in a way that suggests the provider is down.
    pub fn record_failure(&self, admission: Admission, now: Instant) -> Option<Transition> {
        let mut state = lock(&self.state);
        let until = now + self.settings.cooldown;
        match (*state, admission) {
            (State::Closed { failures }, Admission::Call) => {
                let failures = failures + 1;
                if failures >= self.settings.threshold {
                    *state = State::Open { until };
                    Some(Transition::Opened)
                } else {
                    *state = State::Closed { failures };
                    None
                }
            }
            (State::HalfOpen { .. }, Admission::Probe) => {
                *state = State::Open { until };
                Some(Transition::Reopened)
            }
            _ => None,
        }
    }

    /// The probe ended without telling whether the provider is healthy.
    pub fn release_probe(&self) {
        let mut state = lock(&self.state);
        if let State::HalfOpen { .. } = *state {
            *state = State::HalfOpen {
                probe_in_flight: false,
            };
        }
    }

    pub fn consecutive_failures(&self) -> u32 {
        match *lock(&self.state) {
            State::Closed { failures } => failures,
            _ => self.settings.threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerSettings {
            threshold: 3,
            cooldown: Duration::from_secs(10),
        })
    }

    fn fail_calls(b: &CircuitBreaker, n: u32, now: Instant) -> Option<Transition> {
        let mut last = None;
        for _ in 0..n {
            let (admission, _) = b.admit(now);
            assert_eq!(admission, Admission::Call);
            last = b.record_failure(admission, now);
        }
        last
    }

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let b = breaker();
        let t0 = Instant::now();
        assert_eq!(fail_calls(&b, 2, t0), None);
        assert_eq!(fail_calls(&b, 1, t0), Some(Transition::Opened));
        assert_eq!(
            b.admit(t0 + Duration::from_secs(4)).0,
            Admission::Rejected {
                retry_in: Duration::from_secs(6)
            }
        );
        assert!(!b.still_admits(Admission::Call));
    }

    #[test]
    fn a_success_resets_the_count() {
        let b = breaker();
        let t0 = Instant::now();
        fail_calls(&b, 2, t0);
        assert_eq!(b.record_success(Admission::Call), None);
        assert_eq!(b.consecutive_failures(), 0);
        assert_eq!(fail_calls(&b, 2, t0), None);
    }

    #[test]
    fn one_probe_after_cooldown_others_fail_fast() {
        let b = breaker();
        let t0 = Instant::now();
        fail_calls(&b, 3, t0);
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            b.admit(later),
            (Admission::Probe, Some(Transition::HalfOpened))
        );
        assert!(matches!(b.admit(later).0, Admission::Rejected { .. }));
        assert!(b.still_admits(Admission::Probe));
        assert!(!b.still_admits(Admission::Call));
    }

    #[test]
    fn probe_success_closes() {
        let b = breaker();
        let t0 = Instant::now();
        fail_calls(&b, 3, t0);
        let later = t0 + Duration::from_secs(11);
        let (probe, _) = b.admit(later);
        assert_eq!(b.record_success(probe), Some(Transition::Closed));
        assert_eq!(b.admit(later).0, Admission::Call);
    }

    #[test]
    fn probe_failure_reopens_for_another_cooldown() {
        let b = breaker();
        let t0 = Instant::now();
        fail_calls(&b, 3, t0);
        let t1 = t0 + Duration::from_secs(10);
        let (probe, _) = b.admit(t1);
        assert_eq!(b.record_failure(probe, t1), Some(Transition::Reopened));
        assert!(matches!(
            b.admit(t1 + Duration::from_secs(9)).0,
            Admission::Rejected { .. }
        ));
        assert_eq!(b.admit(t1 + Duration::from_secs(10)).0, Admission::Probe);
    }

    #[test]
    fn released_probe_passes_the_slot_on() {
        let b = breaker();
        let t0 = Instant::now();
        fail_calls(&b, 3, t0);
        let t1 = t0 + Duration::from_secs(10);
        let (probe, _) = b.admit(t1);
        assert_eq!(probe, Admission::Probe);
        b.release_probe();
        assert_eq!(b.admit(t1), (Admission::Probe, None));
    }

    #[test]
    fn late_results_of_old_calls_do_not_decide() {
        let b = breaker();
        let t0 = Instant::now();
        fail_calls(&b, 3, t0);
        // A call admitted before the opening finishes afterwards.
        assert_eq!(b.record_success(Admission::Call), None);
        assert_eq!(b.record_failure(Admission::Call, t0), None);
        assert!(matches!(b.admit(t0).0, Admission::Rejected { .. }));
    }
}
