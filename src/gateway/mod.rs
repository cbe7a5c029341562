//! What every outbound HTTP call passes through.
//!
//! Sources describe a request and read the answer; the gateway owns the
//! HTTP client, timeouts and, per provider, everything that decides when a
//! request may go and what to do when it fails. Sources never retry or
//! sleep on their own.
//!
//! Per provider (per endpoint where the provider counts that way) the
//! gateway keeps, shared by every task of the run:
//! - a [`limit::RateWindow`]: an evenly spaced GCRA limiter at the quota,
//!   plus a pause the server can impose through its headers;
//! - a [`retry::RetryBudget`] so retries cannot multiply an outage;
//! - a [`breaker::CircuitBreaker`] so a provider that is down costs one
//!   probe per cooldown instead of every call's timeouts;
//! - a "credential refused" switch that stops all calls to the provider
//!   for the rest of the run (see below).
//!
//! What a provider's answers mean, its published defaults and its
//! credential's name live in its [`policy::ProviderPolicy`], which the
//! provider's folder under `crate::sources` supplies; this module names no
//! provider's headers, error codes or variables, and only acts on verdicts.
//!
//! **When a refused credential switches a provider off.** A 401 (or a
//! provider-specific "this token is invalid/expired" answer) means the key
//! is wrong: no later call can succeed, so the provider is switched off at
//! once. A 403 is not so clear: Companies House answers sporadic 403s when
//! it blocks an IP for a while (forum reports, see the shared API notes),
//! and switching the whole run off for one of those would fail every
//! remaining row. So a 403 fails its own call (not retried) and counts;
//! [`FORBIDDEN_LIMIT`] 403s in a row, with no other answer in between,
//! switch the provider off. Every refusal is counted in
//! [`ProviderStats::auth_failures`].
//!
//! **When the app lacks an access.** An answer whose body says the
//! credential is fine but the app may not make this call (LinkedIn's
//! `serviceErrorCode` 100 "Not enough permissions", Graph's code 10 for a
//! missing Page Public Metadata Access) is [`Verdict::NotPermitted`]: no
//! retry or later call can change it, so the provider is switched off at
//! once with one message naming the access its policy says is needed.
//!
//! Every attempt's latency (send to whole body) goes into a fixed-size
//! histogram per provider ([`stats`]), for p50/p95/p99 in the run summary.
//!
//! One call ([`Gateway::send`]) runs: refuse at once if disabled or the
//! breaker is open → per attempt: wait for the pause and a token, send,
//! read the whole body → classify → success returns, a retriable failure
//! backs off (or waits for the server's reset) and tries again while
//! attempts, budget and breaker allow.

pub mod breaker;
pub mod clock;
pub mod limit;
pub mod policy;
pub mod quota;
pub mod retry;
pub mod settings;
pub mod shared;
pub mod stats;
#[cfg(test)]
mod tests;
pub mod transport;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use breaker::{Admission, CircuitBreaker, Transition};
use clock::Clock;
use limit::{RateWindow, lock};
use policy::{ProviderPolicy, Verdict};
use retry::{RetryBudget, RetryKind};
use shared::{Fingerprint, ScopeKey, SharedQuota};
use stats::Counters;
use transport::{Http, Transport, TransportError, error_chain};

pub use crate::provider::Provider;
pub use quota::{Quota, QuotaParseError};
pub use settings::ProviderSettings;
pub use stats::ProviderStats;
pub use transport::HttpResponse;

/// Why a call produced no answer a source can interpret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    #[error(
        "{provider} refused the credential in {var} (HTTP {status}); {}",
        if *disabled {
            "check the key"
        } else {
            "a 403 can be a passing block: the provider is switched off only after 5 in a row"
        }
    )]
    CredentialRefused {
        provider: Provider,
        var: &'static str,
        status: u16,
        /// The provider is switched off for the rest of the run.
        disabled: bool,
    },
    #[error(
        "{provider} accepted the credential but refused the call: the app lacks {access}; \
         {provider} is switched off for this run"
    )]
    NotPermitted {
        provider: Provider,
        access: &'static str,
    },
    #[error(
        "{provider} quota spent for now (the next request could go in {}s); skipped. \
         If your access allows more, raise {var}",
        wait.as_secs()
    )]
    QuotaSpent {
        provider: Provider,
        wait: Duration,
        var: String,
    },
    #[error("{provider} unavailable: {reason}")]
    Unavailable { provider: Provider, reason: String },
    #[error("{provider} did not answer within {timeout:?}")]
    Timeout {
        provider: Provider,
        timeout: Duration,
    },
    #[error("could not connect to {provider}: {reason}")]
    Connect { provider: Provider, reason: String },
    #[error("{provider} answer was cut short: {reason}")]
    Body { provider: Provider, reason: String },
    #[error("{provider} answered HTTP {status}")]
    Status { provider: Provider, status: u16 },
    #[error("invalid request to {provider}: {reason}")]
    Request { provider: Provider, reason: String },
}

/// Counts a call as waiting for its turn until dropped (also when the
/// waiting future is dropped).
struct Waiting<'a>(&'a std::sync::atomic::AtomicU64);

impl<'a> Waiting<'a> {
    fn new(gauge: &'a std::sync::atomic::AtomicU64) -> Waiting<'a> {
        gauge.fetch_add(1, Ordering::Relaxed);
        Waiting(gauge)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// 403 answers in a row that switch a provider off (a 401 does at once).
pub const FORBIDDEN_LIMIT: u32 = 5;

/// After a reset header's instant, wait this much more: the header has
/// one-second resolution and the server's clock is not ours.
const RESET_MARGIN: Duration = Duration::from_secs(1);

/// A server pause may exceed the quota window by this much at most; a
/// longer one is a skewed clock or a garbage header.
const PAUSE_MARGIN: Duration = Duration::from_secs(5);

/// Shared by every concurrent task of a run; cheap to clone.
///
/// Build one per run and hand clones to every task; the quota, retry
/// budget, breaker and counters are shared through it.
///
/// ```no_run
/// # async fn run() -> Result<(), leadgen::gateway::GatewayError> {
/// use std::collections::HashMap;
/// use leadgen::gateway::{Gateway, Provider};
///
/// // Every provider with its published defaults.
/// let gateway = Gateway::new(&leadgen::sources::POLICIES, HashMap::new())?;
/// let response = gateway
///     .send(Provider::CompaniesHouse, "company", |client| {
///         client
///             .get("https://api.company-information.service.gov.uk/company/00000006")
///             .basic_auth("key", Some(""))
///     })
///     .await?;
/// println!("{}", response.status);
/// let summary = gateway.stats(); // BTreeMap<Provider, ProviderStats>, Serialize
/// # let _ = summary;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    providers: HashMap<Provider, Arc<ProviderState>>,
    /// Refuse every call (`discover --plan`).
    offline: bool,
}

/// Everything the gateway knows about one provider during a run.
struct ProviderState {
    provider: Provider,
    settings: ProviderSettings,
    policy: &'static dyn ProviderPolicy,
    /// One client per provider, because the connect timeout is a client
    /// setting in reqwest.
    client: reqwest::Client,
    transport: Arc<dyn Transport>,
    clock: Clock,
    /// Keyed by the policy's limit scope; "" is the whole provider.
    windows: Mutex<HashMap<&'static str, Arc<RateWindow>>>,
    budget: RetryBudget,
    breaker: CircuitBreaker,
    /// The HTTP status that disabled the provider; 0 while enabled.
    refused: AtomicU16,
    /// 403 answers since the last other answer.
    forbidden_streak: AtomicU32,
    /// The app lacks an access the provider's calls need (switched off).
    denied: AtomicBool,
    /// Bumped when waiting tasks must re-check whether they may go on
    /// (breaker opened, credential refused), so nobody sleeps through it.
    halt: watch::Sender<u64>,
    last_failure: Mutex<Option<String>>,
    counters: Counters,
    /// The quota shared through Redis, and the credential's fingerprint
    /// naming it ([`shared`]), when configured.
    shared: std::sync::OnceLock<(Arc<SharedQuota>, Fingerprint)>,
}

impl Gateway {
    /// A gateway with the given settings; providers not in the map get
    /// their published defaults.
    ///
    /// `policies` says what each provider's answers mean (the sources
    /// supply them: `crate::sources::POLICIES`); a provider without one is
    /// refused.
    pub fn new(
        policies: &[&'static dyn ProviderPolicy],
        providers: HashMap<Provider, ProviderSettings>,
    ) -> Result<Gateway, GatewayError> {
        Gateway::with_transport(policies, providers, Arc::new(Http), Clock::system())
    }

    /// A gateway whose requests travel by `transport` and whose wall time
    /// is `clock`'s (tests script both; see [`clock`]).
    pub fn with_transport(
        policies: &[&'static dyn ProviderPolicy],
        mut providers: HashMap<Provider, ProviderSettings>,
        transport: Arc<dyn Transport>,
        clock: Clock,
    ) -> Result<Gateway, GatewayError> {
        let mut states = HashMap::new();
        for &policy in policies {
            let provider = policy.provider();
            let settings = providers
                .remove(&provider)
                .unwrap_or_else(|| policy.defaults());
            let state = ProviderState::new(policy, settings, Arc::clone(&transport), clock)?;
            states.insert(provider, Arc::new(state));
        }
        Ok(Gateway {
            inner: Arc::new(Inner {
                providers: states,
                offline: false,
            }),
        })
    }

    /// A gateway that sends nothing: every call fails at once with
    /// [`GatewayError::Request`]. For answering from the cache alone.
    pub fn offline(policies: &[&'static dyn ProviderPolicy]) -> Result<Gateway, GatewayError> {
        let gateway = Gateway::new(policies, HashMap::new())?;
        let providers = gateway.inner.providers.clone();
        Ok(Gateway {
            inner: Arc::new(Inner {
                providers,
                offline: true,
            }),
        })
    }

    /// The longest pause a server has imposed that is still running, if
    /// any (for the progress bar's "waiting for quota").
    pub fn quota_pause(&self) -> Option<(Provider, Duration)> {
        let now = clock::now();
        self.inner
            .providers
            .values()
            .flat_map(|state| {
                lock(&state.windows)
                    .values()
                    .filter_map(|w| w.paused_until(now))
                    .map(|until| (state.provider, until - now))
                    .collect::<Vec<_>>()
            })
            .max_by_key(|(_, wait)| *wait)
    }

    /// The quota a provider's calls are paced at now: the configured one,
    /// or the lower one its server announced (`X-Ratelimit-Limit`). For
    /// progress bars; `None` for a provider this gateway does not hold.
    pub fn current_quota(&self, provider: Provider) -> Option<Quota> {
        let state = self.inner.providers.get(&provider)?;
        Some(state.window("").quota())
    }

    /// Per provider, the calls waiting for their turn at the pace now (for
    /// progress bars: a source that holds rows back at its own pace).
    pub fn pacing_waits(&self) -> Vec<(Provider, u64)> {
        self.inner
            .providers
            .values()
            .map(|s| (s.provider, s.counters.pacing.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Paces `provider` through `shared` (Redis) from now on, under the
    /// name of `credential`'s fingerprint: every process on the same
    /// credential shares one quota. For a provider this gateway does not
    /// hold, nothing happens.
    pub fn share_quota(&self, provider: Provider, shared: Arc<SharedQuota>, credential: &str) {
        let Some(state) = self.inner.providers.get(&provider) else {
            return;
        };
        let fingerprint = Fingerprint::of(credential);
        for (scope, window) in lock(&state.windows).iter() {
            let scope = (!scope.is_empty()).then_some(*scope);
            window.share(
                Arc::clone(&shared),
                ScopeKey::new(provider, scope, &fingerprint),
            );
        }
        let _ = state.shared.set((shared, fingerprint));
    }

    /// Whether `provider` is paced through Redis, and where.
    pub fn shared_quota(&self, provider: Provider) -> Option<(Arc<SharedQuota>, ScopeKey)> {
        let state = self.inner.providers.get(&provider)?;
        let (shared, fingerprint) = state.shared.get()?;
        Some((
            Arc::clone(shared),
            ScopeKey::new(provider, None, fingerprint),
        ))
    }

    /// Counters per provider, for the run summary.
    pub fn stats(&self) -> BTreeMap<Provider, ProviderStats> {
        self.inner
            .providers
            .iter()
            .map(|(provider, state)| (*provider, state.counters.snapshot()))
            .collect()
    }

    /// Send the request `build` describes and read the whole answer.
    ///
    /// `endpoint` names the endpoint for providers that count quotas per
    /// endpoint and for metrics. `build` may be called more than once.
    /// Any HTTP status comes back as `Ok` except a refused credential
    /// (401/403) and statuses that stay failed after the provider's policy.
    pub async fn send<F>(
        &self,
        provider: Provider,
        endpoint: &'static str,
        build: F,
    ) -> Result<HttpResponse, GatewayError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let state = self
            .inner
            .providers
            .get(&provider)
            .ok_or_else(|| GatewayError::Request {
                provider,
                reason: "provider not configured in this gateway".to_owned(),
            })?;
        if self.inner.offline {
            return Err(GatewayError::Request {
                provider,
                reason: "offline: no calls are made".to_owned(),
            });
        }
        state.call(endpoint, &build).await
    }
}

/// How one failed attempt may be retried.
struct Failure {
    error: GatewayError,
    kind: RetryKind,
    /// Counts toward opening the breaker if the call ends with it.
    breaker_failure: bool,
    /// The retry waits for a server-given instant (a pause already set),
    /// not for backoff, and does not spend the retry budget.
    paced_by_server: bool,
}

impl ProviderState {
    fn new(
        policy: &'static dyn ProviderPolicy,
        settings: ProviderSettings,
        transport: Arc<dyn Transport>,
        clock: Clock,
    ) -> Result<ProviderState, GatewayError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("leadgen/", env!("CARGO_PKG_VERSION")))
            .gzip(true)
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| GatewayError::Request {
                provider: policy.provider(),
                reason: error_chain(&e),
            })?;
        Ok(ProviderState {
            provider: policy.provider(),
            policy,
            client,
            transport,
            clock,
            windows: Mutex::new(HashMap::new()),
            budget: RetryBudget::new(settings.retry_budget),
            breaker: CircuitBreaker::new(settings.breaker),
            refused: AtomicU16::new(0),
            forbidden_streak: AtomicU32::new(0),
            denied: AtomicBool::new(false),
            halt: watch::Sender::new(0),
            last_failure: Mutex::new(None),
            counters: Counters::default(),
            shared: std::sync::OnceLock::new(),
            settings,
        })
    }

    async fn call<F>(&self, endpoint: &'static str, build: &F) -> Result<HttpResponse, GatewayError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        self.check_enabled()?;
        let (admission, transition) = self.breaker.admit(clock::now());
        self.log_transition(transition);
        if let Admission::Rejected { retry_in } = admission {
            Counters::bump(&self.counters.rejected);
            return Err(self.unavailable(Some(retry_in)));
        }
        let mut probe = ProbeGuard {
            breaker: &self.breaker,
            armed: admission == Admission::Probe,
        };
        // The probe only asks "are you back?": one attempt, no retries.
        let max_attempts = if probe.armed {
            1
        } else {
            self.settings.max_attempts.max(1)
        };
        let window = self.window(endpoint);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self
                .attempt(&window, endpoint, attempt, admission, build)
                .await?
            {
                Ok(response) => {
                    self.budget.deposit();
                    let transition = self.breaker.record_success(admission);
                    probe.armed = false;
                    self.log_transition(transition);
                    Counters::bump(&self.counters.successes);
                    return Ok(response);
                }
                Err(failure) => failure,
            };
            if let GatewayError::CredentialRefused { .. } | GatewayError::NotPermitted { .. } =
                failure.error
            {
                Counters::bump(&self.counters.failures);
                return Err(failure.error);
            }
            // Every failed attempt counts toward the breaker, so an outage
            // is noticed after `threshold` requests, not threshold x attempts.
            if failure.breaker_failure {
                *lock(&self.last_failure) = Some(failure.error.to_string());
                let transition = self.breaker.record_failure(admission, clock::now());
                probe.armed = false;
                self.log_transition(transition);
            }
            let may_retry = attempt < max_attempts
                && self.breaker.still_admits(admission)
                && (failure.paced_by_server || self.budget.try_withdraw(failure.kind));
            if !may_retry {
                Counters::bump(&self.counters.failures);
                debug!(
                    provider = %self.provider,
                    endpoint,
                    attempt,
                    error = %failure.error,
                    "Giving up on call."
                );
                return Err(failure.error);
            }
            if !failure.paced_by_server {
                self.back_off(admission, endpoint, attempt, &failure)
                    .await?;
            }
        }
    }

    /// One attempt: wait for the pause and a token, send, read the whole
    /// answer and judge it. The outer `Err` ends the call at once (the
    /// request cannot be built, the quota wait is too long, the provider
    /// was switched off meanwhile); the inner one may be retried.
    async fn attempt<F>(
        &self,
        window: &RateWindow,
        endpoint: &'static str,
        attempt: u32,
        admission: Admission,
        build: &F,
    ) -> Result<Result<HttpResponse, Failure>, GatewayError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let request = build(&self.client)
            .timeout(self.settings.timeout)
            .build()
            .map_err(|e| GatewayError::Request {
                provider: self.provider,
                reason: error_chain(&e.without_url()),
            })?;
        let waiting = Waiting::new(&self.counters.pacing);
        let waited = self
            .interruptible(admission, window.acquire(self.settings.max_quota_wait))
            .await;
        drop(waiting);
        let waited = waited?.map_err(|needed| GatewayError::QuotaSpent {
            provider: self.provider,
            wait: needed,
            var: settings::rate_limit_var(self.provider),
        })?;
        self.counters.add_wait(waited);
        Counters::bump(&self.counters.attempts);
        if attempt > 1 {
            Counters::bump(&self.counters.retries);
        }
        let sent = clock::now();
        let executed = self.execute(request).await;
        self.counters.latency.record(clock::now() - sent);
        Ok(match executed {
            Ok(response) => self.judge(window, endpoint, attempt, response),
            Err(error) => Err(Failure {
                kind: match error {
                    GatewayError::Timeout { .. } => RetryKind::Timeout,
                    _ => RetryKind::Error,
                },
                error,
                breaker_failure: true,
                paced_by_server: false,
            }),
        })
    }

    /// Waits out the backoff before attempt `attempt + 1`.
    async fn back_off(
        &self,
        admission: Admission,
        endpoint: &'static str,
        attempt: u32,
        failure: &Failure,
    ) -> Result<(), GatewayError> {
        let delay = self.settings.backoff.delay(attempt, &mut rand::rng());
        debug!(
            provider = %self.provider,
            endpoint,
            attempt,
            delay_ms = delay.as_millis() as u64,
            error = %failure.error,
            "Retrying after backoff."
        );
        self.interruptible(admission, tokio::time::sleep(delay))
            .await
    }

    /// Reads what the answer means, pausing the scope if the server says
    /// its window is spent.
    fn judge(
        &self,
        window: &RateWindow,
        endpoint: &'static str,
        attempt: u32,
        response: HttpResponse,
    ) -> Result<HttpResponse, Failure> {
        let verdict = self.policy.classify(&response);
        let rate_limited = verdict == Verdict::RateLimited;
        if rate_limited {
            Counters::bump(&self.counters.rate_limited);
        }
        let server_paced = self.obey_server(window, endpoint, attempt, &response, rate_limited);
        if verdict != Verdict::CredentialRefused {
            self.forbidden_streak.store(0, Ordering::Relaxed);
        }
        let status = response.status.as_u16();
        let failure = |error, breaker_failure, paced_by_server| Failure {
            error,
            kind: RetryKind::Error,
            breaker_failure,
            paced_by_server,
        };
        let status_error = GatewayError::Status {
            provider: self.provider,
            status,
        };
        match verdict {
            Verdict::Success | Verdict::Final => Ok(response),
            Verdict::CredentialRefused => Err(failure(self.refused_answer(status), false, false)),
            Verdict::NotPermitted => Err(failure(self.deny(status), false, false)),
            // The pause set by `obey_server` is the wait; budget is only
            // spent when the server gave no usable instant.
            Verdict::RateLimited => Err(failure(status_error, false, server_paced)),
            Verdict::Incomplete => Err(failure(
                GatewayError::Body {
                    provider: self.provider,
                    reason: format!("HTTP {status} with JSON that ends early or is malformed"),
                },
                true,
                false,
            )),
            // A Retry-After on a 503 sets the pause; backoff on top would
            // only add delay, and the budget still pays.
            Verdict::Retry => Err(failure(status_error, true, false)),
        }
    }

    /// Applies what the answer's headers say about the quota: a lower
    /// announced quota, and a pause that binds every task of the scope
    /// (whatever the verdict: a 200 with "remaining 0" included). Returns
    /// whether the server gave the instant to resume.
    fn obey_server(
        &self,
        window: &RateWindow,
        endpoint: &'static str,
        attempt: u32,
        response: &HttpResponse,
        rate_limited: bool,
    ) -> bool {
        let server = self.policy.server_window(&response.headers);
        if let Some(announced) = server.and_then(|w| w.quota)
            && window.adopt(&announced)
        {
            info!(
                provider = %self.provider,
                endpoint,
                quota = %announced,
                "Server reports a lower quota than configured; pacing to it."
            );
        }
        let hold_off = server.and_then(|w| {
            // "Resume now" (Retry-After: 0, or a date already past) is no
            // instruction at all; a 429 then falls back on the minimum wait.
            let wait = w
                .hold_off(rate_limited, self.clock.wall())
                .filter(|wait| !wait.is_zero())?;
            // Epoch-second resets get a margin; Retry-After is exact.
            Some(if w.retry_after.is_some() {
                wait
            } else {
                wait + RESET_MARGIN
            })
        });
        let server_paced = hold_off.is_some();
        let pause = match hold_off {
            Some(wait) => Some(wait),
            // A bare 429: at least the minimum wait, more as it repeats.
            None if rate_limited => Some(
                self.settings
                    .rate_limited_wait
                    .max(self.settings.backoff.delay(attempt, &mut rand::rng())),
            ),
            None => None,
        };
        if let Some(wait) = pause {
            let cap = self.quota_window(endpoint) + PAUSE_MARGIN;
            if wait > cap {
                warn!(
                    provider = %self.provider,
                    asked_s = wait.as_secs(),
                    cap_s = cap.as_secs(),
                    "Server asked for an implausibly long pause; capping it."
                );
            }
            let wait = wait.min(cap);
            info!(
                provider = %self.provider,
                endpoint,
                wait_ms = wait.as_millis() as u64,
                status = response.status.as_u16(),
                "Quota spent; pausing provider."
            );
            window.pause_until(clock::now() + wait);
            // Every process on this key is told, on Redis's clock.
            if let Some((shared, key)) = window.shared() {
                let (shared, key) = (Arc::clone(shared), key.clone());
                tokio::spawn(async move { shared.pause(&key, wait).await });
            }
        }
        server_paced
    }

    async fn execute(&self, request: reqwest::Request) -> Result<HttpResponse, GatewayError> {
        let timeout = self.settings.timeout;
        let timed_out = GatewayError::Timeout {
            provider: self.provider,
            timeout,
        };
        // reqwest's own timeout covers the same span; this one also bounds
        // anything reqwest might not (a stalled body stream).
        match tokio::time::timeout(timeout, self.transport.send(&self.client, request)).await {
            Err(_) | Ok(Err(TransportError::Timeout)) => Err(timed_out),
            Ok(Err(TransportError::Connect(reason))) => Err(GatewayError::Connect {
                provider: self.provider,
                reason,
            }),
            Ok(Err(TransportError::Body(reason))) => Err(GatewayError::Body {
                provider: self.provider,
                reason,
            }),
            Ok(Ok(response)) => Ok(response),
        }
    }

    fn window(&self, endpoint: &'static str) -> Arc<RateWindow> {
        let scope = self.policy.limit_scope(endpoint);
        let quota = self.settings.quota_for(scope);
        lock(&self.windows)
            .entry(scope.unwrap_or(""))
            .or_insert_with(|| {
                let window = RateWindow::new(&quota);
                if let Some((shared, credential)) = self.shared.get() {
                    window.share(
                        Arc::clone(shared),
                        ScopeKey::new(self.provider, scope, credential),
                    );
                }
                Arc::new(window)
            })
            .clone()
    }

    fn quota_window(&self, endpoint: &'static str) -> Duration {
        self.settings
            .quota_for(self.policy.limit_scope(endpoint))
            .window
    }

    /// Runs `fut` unless the provider gets disabled or the breaker opens
    /// meanwhile, in which case the caller fails at once instead of
    /// sleeping through it.
    async fn interruptible<T>(
        &self,
        admission: Admission,
        fut: impl Future<Output = T>,
    ) -> Result<T, GatewayError> {
        let mut halted = self.halt.subscribe();
        let mut fut = std::pin::pin!(fut);
        loop {
            // Checked after subscribing, so a change between the check and
            // the wait still wakes us.
            self.check_enabled()?;
            if !self.breaker.still_admits(admission) {
                return Err(self.unavailable(None));
            }
            tokio::select! {
                out = &mut fut => return Ok(out),
                changed = halted.changed() => {
                    if changed.is_err() {
                        return Ok(fut.await);
                    }
                }
            }
        }
    }

    fn check_enabled(&self) -> Result<(), GatewayError> {
        if self.denied.load(Ordering::Acquire) {
            return Err(self.denial());
        }
        match self.refused.load(Ordering::Acquire) {
            0 => Ok(()),
            status => Err(self.refusal(status)),
        }
    }

    fn refusal(&self, status: u16) -> GatewayError {
        GatewayError::CredentialRefused {
            provider: self.provider,
            var: self.policy.credential_label(),
            status,
            disabled: true,
        }
    }

    /// An answer refusing the credential: a 403 counts toward
    /// [`FORBIDDEN_LIMIT`], anything else switches the provider off.
    fn refused_answer(&self, status: u16) -> GatewayError {
        Counters::bump(&self.counters.auth_failures);
        if status == 403 {
            let streak = self.forbidden_streak.fetch_add(1, Ordering::AcqRel) + 1;
            if streak < FORBIDDEN_LIMIT {
                warn!(
                    provider = %self.provider,
                    streak,
                    limit = FORBIDDEN_LIMIT,
                    "HTTP 403: credential refused or a passing block; switched off if it repeats."
                );
                return GatewayError::CredentialRefused {
                    provider: self.provider,
                    var: self.policy.credential_label(),
                    status,
                    disabled: false,
                };
            }
        }
        self.disable(status)
    }

    fn denial(&self) -> GatewayError {
        GatewayError::NotPermitted {
            provider: self.provider,
            access: self.required_access(),
        }
    }

    fn required_access(&self) -> &'static str {
        self.policy
            .required_access()
            .unwrap_or("an access the provider did not name")
    }

    /// The app lacks an access: switches the provider off for the rest of
    /// the run, with one message naming what is missing.
    fn deny(&self, status: u16) -> GatewayError {
        let first = self
            .denied
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first {
            let _ = self.counters.missing_access.set(self.required_access());
            error!(
                provider = %self.provider,
                status,
                missing = self.required_access(),
                "Credential accepted, but the app lacks the access these calls need; \
                 no further calls to this provider."
            );
            self.halt.send_modify(|n| *n += 1);
        }
        self.denial()
    }

    /// Switches the provider off for the rest of the run; logs once.
    fn disable(&self, status: u16) -> GatewayError {
        let first = self
            .refused
            .compare_exchange(0, status, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first {
            self.counters
                .credential_refused
                .store(true, Ordering::Relaxed);
            error!(
                provider = %self.provider,
                var = self.policy.credential_label(),
                status,
                "Credential refused; no further calls to this provider."
            );
            self.halt.send_modify(|n| *n += 1);
        }
        self.refusal(status)
    }

    fn unavailable(&self, retry_in: Option<Duration>) -> GatewayError {
        let last = lock(&self.last_failure)
            .clone()
            .unwrap_or_else(|| "unknown".to_owned());
        let failures = self.settings.breaker.threshold;
        let next = match retry_in {
            Some(d) if !d.is_zero() => format!("; next try in {}s", d.as_secs().max(1)),
            Some(_) => "; a probe is in flight".to_owned(),
            None => String::new(),
        };
        GatewayError::Unavailable {
            provider: self.provider,
            reason: format!("circuit open after {failures} failed calls (last: {last}){next}"),
        }
    }

    fn log_transition(&self, transition: Option<Transition>) {
        let provider = self.provider;
        match transition {
            None => {}
            Some(Transition::Opened) => {
                Counters::bump(&self.counters.breaker_openings);
                let last = lock(&self.last_failure).clone().unwrap_or_default();
                warn!(
                    provider = %provider,
                    cooldown_s = self.settings.breaker.cooldown.as_secs(),
                    last_error = %last,
                    "Circuit opened."
                );
                self.halt.send_modify(|n| *n += 1);
            }
            Some(Transition::Reopened) => {
                warn!(provider = %provider, "Probe failed; circuit reopened.");
            }
            Some(Transition::HalfOpened) => {
                info!(provider = %provider, "Circuit half-open; sending a probe.");
            }
            Some(Transition::Closed) => {
                info!(provider = %provider, "Circuit closed.");
            }
        }
    }
}

/// Hands the probe slot on if the probe ends without a verdict (a 429, a
/// refused key, a build error, or its task being dropped), so the breaker
/// never stays half-open with nobody probing.
struct ProbeGuard<'a> {
    breaker: &'a CircuitBreaker,
    armed: bool,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.breaker.release_probe();
        }
    }
}
