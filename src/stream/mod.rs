//! `leadgen stream`: following Companies House's streaming API, so a cached
//! answer is dropped the moment its company changes, and while the streams
//! are followed cached answers can be trusted for much longer
//! (`cache.ttl_with_stream`, see [`crate::cache::Cover`]).
//!
//! How it follows, from the streaming guide (shared docs, section 5):
//! - one long-lived GET per stream, Basic auth with a *streaming* key; one
//!   JSON event per line; a blank line is a heartbeat. A connection silent
//!   for longer than `stream.idle_timeout` is taken for dead and reopened.
//! - at most two connections per account (a third closes the oldest), so
//!   the four streams share `stream.connections` (at most 2) slots: in
//!   `--until-caught-up` each stream holds a slot until it has caught up;
//!   when following, a caught-up stream gives its slot up after
//!   `stream.rotate_after` if another stream is waiting for one. One
//!   follower per key on a machine (a lock file), so two cannot take turns
//!   closing each other's connections.
//! - resume with `?timepoint=` of the last event applied. The timepoint is
//!   written in the same SQLite transaction as the cache drops of the
//!   events it covers, so a kill -9 loses nothing; the service replays from
//!   the timepoint (an event seen again is skipped).
//! - reconnect rules: after a disconnect, reconnect at once (unless the
//!   connection lived under 10 s: then as a network error); if that fails,
//!   wait: a 429 at least a minute, another HTTP error 10 s, a network error
//!   2 s, doubling while failures repeat. A 401 stops (the key is refused,
//!   likely a REST key). A 416 (timepoint too old) is said plainly; the
//!   stream is followed afresh from "now", and what was cached before falls
//!   back to its normal expiry (the state's `covered_since` moves on).
//!
//! Each event about a company drops that company's cached entries of the
//! kinds the stream covers ([`crate::cache::stale_on`]) in SQLite and in
//! Redis, and, when the cache knew the company, records the change and
//! writes it as a JSON line to the output.

pub mod event;
mod settings;

pub use settings::resolve;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::{FutureExt as _, StreamExt as _};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::sync::{Semaphore, watch};

use crate::cache::followed::{self, StreamState};
use crate::cache::redis::RedisTier;
use crate::cache::sqlite::{self, SqliteTier, to_millis};
use crate::cache::{self, CacheSettings};
use crate::error::Error;
use crate::stream_kind::Stream;
use event::{Event, Line};

pub use crate::config::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_ROTATE_AFTER, DEFAULT_STREAM_URL, STREAM_KEY_VAR,
};

/// What `leadgen stream` was asked to do.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub url: String,
    pub key: SecretString,
    pub streams: Vec<Stream>,
    pub cache: CacheSettings,
    pub idle_timeout: Duration,
    pub rotate_after: Duration,
    /// How long a connection slot rests after a connection is dropped: the
    /// service notices a closed connection only when it next writes to it,
    /// and until then counts it, so a new one at once could make it close
    /// the oldest open one: another stream's.
    pub handover: Duration,
    /// 1 or 2.
    pub connections: usize,
    pub waits: Waits,
    /// Stop once every stream has caught up (cron).
    pub until_caught_up: bool,
    /// Stop after this long.
    pub run_for: Option<Duration>,
    /// Where change lines go (appended); `None`: stdout.
    pub output: Option<PathBuf>,
    pub metrics_file: Option<PathBuf>,
    pub progress: bool,
}

/// How long to wait before reconnecting, by why the last attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waits {
    /// After a 429: the guide says one minute at least, or the limit grows.
    pub after_429: Duration,
    /// After another HTTP error (5xx, say): the guide's 10 seconds.
    pub after_error: Duration,
    /// After a network error ("a few seconds").
    pub after_network: Duration,
    /// Repeated failures double the wait up to this.
    pub max: Duration,
    /// How long to wait for a connection's status line.
    pub connect_timeout: Duration,
}

impl Waits {
    /// The streaming guide's rules.
    pub const DOCUMENTED: Waits = Waits {
        after_429: Duration::from_secs(60),
        after_error: Duration::from_secs(10),
        after_network: Duration::from_secs(2),
        max: Duration::from_secs(15 * 60),
        connect_timeout: Duration::from_secs(30),
    };

    /// The wait before the `failures`th consecutive failed attempt is
    /// retried (1: the first failure).
    pub fn before_retry(&self, failure: Failure, failures: u32) -> Duration {
        let base = match failure {
            Failure::RateLimited => self.after_429,
            Failure::Http(_) => self.after_error,
            Failure::Network => self.after_network,
        };
        let doubled = base.saturating_mul(1 << failures.saturating_sub(1).min(16));
        doubled.min(self.max.max(base))
    }
}

/// Why a connection attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    RateLimited,
    Http(u16),
    Network,
}

/// A connection dropped sooner than this after opening counts as a failure.
const SHORT_LIVED: Duration = Duration::from_secs(10);

/// How long a freed connection slot rests (see [`StreamSettings::handover`]).
pub const DEFAULT_HANDOVER: Duration = Duration::from_secs(2);

/// One stream's run, for the summary and the metrics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamRun {
    pub events: u64,
    pub skipped: u64,
    pub changes: u64,
    pub dropped_entries: u64,
    pub connections: u64,
    pub reconnects_after: BTreeMap<String, u64>,
    pub caught_up: bool,
    pub timepoint: Option<u64>,
    /// Seconds spent applying events (their cache drops and records).
    pub applying_seconds: f64,
}

/// What a `leadgen stream` run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub streams: BTreeMap<Stream, StreamRun>,
    pub elapsed: Duration,
}

struct Ctx {
    settings: StreamSettings,
    sqlite: SqliteTier,
    redis: Option<RedisTier>,
    client: reqwest::Client,
    slots: Semaphore,
    /// When a connection was last dropped (see [`StreamSettings::handover`]).
    released: Mutex<Option<Instant>>,
    waiting: AtomicUsize,
    stop: watch::Receiver<bool>,
    out: Mutex<Box<dyn Write + Send>>,
    runs: Mutex<BTreeMap<Stream, StreamRun>>,
    /// Redis missed a drop: its mirrored states must restart their cover.
    redis_gap: Mutex<Option<SystemTime>>,
    /// When Redis was last back after missing drops: its copies are
    /// covered only since then.
    redis_since: Mutex<Option<SystemTime>>,
    redis_warned: AtomicBool,
}

/// Follow the streams until the settings say stop, or `interrupt` resolves
/// (Ctrl-C: a normal way to stop a follower, so not a failure).
pub async fn follow(
    settings: StreamSettings,
    interrupt: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Summary, Error> {
    let started = Instant::now();
    let dir = settings.cache.dir.clone().ok_or(cache::CacheError::NoDir)?;
    let fingerprint = crate::gateway::shared::Fingerprint::of(settings.key.expose_secret());
    let _lock = crate::lock::acquire(
        &dir.join("locks")
            .join(format!("stream-{}.lock", fingerprint.as_str())),
        "the streams of this streaming key (another `leadgen stream` follows them)",
    )?;
    let sqlite = SqliteTier::open(&dir)
        .await
        .map_err(cache::CacheError::from)?;
    let redis = match &settings.cache.redis_url {
        Some(url) => {
            match RedisTier::connect(url.expose_secret(), settings.cache.redis_ca_file.as_deref())
                .await
            {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "Redis unavailable: its cached answers will not be dropped, and it will not be told the streams are followed.");
                    None
                }
            }
        }
        None => None,
    };
    let client = reqwest::Client::builder()
        .user_agent(concat!("leadgen/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .tcp_keepalive(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Usage(format!("cannot set up the HTTP client: {e}")))?;
    let out: Box<dyn Write + Send> = match &settings.output {
        None => Box::new(std::io::stdout()),
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| Error::Output {
                    path: path.clone(),
                    source,
                })?,
        ),
    };
    let (stop_tx, stop) = watch::channel(false);
    let stopper = {
        let run_for = settings.run_for;
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            let deadline = async {
                match run_for {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = interrupt => tracing::info!("Stopping: interrupted."),
                () = deadline => {}
            }
            let _ = stop_tx.send(true);
        })
    };
    let ctx = Arc::new(Ctx {
        slots: Semaphore::new(settings.connections.clamp(1, 2)),
        released: Mutex::new(None),
        settings,
        sqlite,
        redis,
        client,
        waiting: AtomicUsize::new(0),
        stop,
        out: Mutex::new(out),
        runs: Mutex::new(BTreeMap::new()),
        redis_gap: Mutex::new(None),
        redis_since: Mutex::new(None),
        redis_warned: AtomicBool::new(false),
    });
    let ticker = ctx
        .settings
        .progress
        .then(|| tokio::spawn(progress(ctx.clone())));
    let metrics = ctx.settings.metrics_file.clone().map(|path| {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(15));
            every.tick().await;
            loop {
                every.tick().await;
                write_metrics(&ctx, &path).await;
            }
        })
    });
    let mut tasks = tokio::task::JoinSet::new();
    for stream in ctx.settings.streams.clone() {
        let ctx = ctx.clone();
        tasks.spawn(async move { (stream, follow_one(&ctx, stream).await) });
    }
    let mut failed = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(()))) => {}
            Ok((stream, Err(e))) => {
                tracing::error!(stream = %stream, error = %e, "Stopped following the {stream} stream.");
                failed.get_or_insert(e);
                // One stream's fatal error (a refused key) stops them all.
                let _ = stop_tx.send(true);
            }
            Err(e) => {
                failed.get_or_insert(Error::Internal {
                    what: "a stream follower panicked",
                    source: Box::new(e),
                });
                let _ = stop_tx.send(true);
            }
        }
    }
    stopper.abort();
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(t) = metrics {
        t.abort();
    }
    if let Some(path) = &ctx.settings.metrics_file {
        write_metrics(&ctx, path).await;
    }
    if let Err(e) = ctx.sqlite.flush().await {
        tracing::warn!(error = %e, "Could not finish writing the cache.");
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let streams = lock(&ctx.runs).clone();
    Ok(Summary {
        streams,
        elapsed: started.elapsed(),
    })
}

/// Ctrl-C, or SIGTERM (a service manager stopping the follower).
pub async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// How one connection ended.
enum Ended {
    /// Stopped by the user or `--for`, or caught up under `--until-caught-up`.
    Done,
    /// Caught up and another stream waits for the slot.
    Rotate,
    /// The server closed it, or it went silent: reconnect at once.
    Dropped(&'static str),
    /// The attempt failed: wait, then retry.
    Failed(Failure, String),
    /// 416: the timepoint is too old.
    TooOld,
}

async fn follow_one(ctx: &Ctx, stream: Stream) -> Result<(), Error> {
    let mut state = ctx
        .sqlite
        .db()
        .call(move |c| followed::read(c, stream))
        .await
        .map_err(cache::CacheError::from)?;
    let mut failures = 0u32;
    let mut stop = ctx.stop.clone();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        ctx.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = tokio::select! {
            p = ctx.slots.acquire() => p,
            _ = stop.wait_for(|s| *s) => {
                ctx.waiting.fetch_sub(1, Ordering::SeqCst);
                return Ok(());
            }
        };
        ctx.waiting.fetch_sub(1, Ordering::SeqCst);
        let Ok(permit) = permit else {
            return Ok(());
        };
        let rest = lock(&ctx.released)
            .map(|at| ctx.settings.handover.saturating_sub(at.elapsed()))
            .unwrap_or_default();
        if !rest.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(rest) => {}
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
        let opened = Instant::now();
        let ended = connect_and_read(ctx, stream, &mut state).await;
        *lock(&ctx.released) = Some(Instant::now());
        drop(permit);
        let ended = ended?;
        let wait = match ended {
            Ended::Done => return Ok(()),
            Ended::Rotate => {
                failures = 0;
                Duration::ZERO
            }
            Ended::Dropped(why) => {
                count_reconnect(ctx, stream, why);
                // A connection that lived is reopened at once; one dropped
                // soon after opening counts as a failed attempt, so a
                // service that keeps closing it is not hammered.
                if opened.elapsed() >= SHORT_LIVED {
                    failures = 0;
                    tracing::info!(stream = %stream, "The {stream} stream {why}; reconnecting.");
                    Duration::ZERO
                } else {
                    failures += 1;
                    let wait = ctx.settings.waits.before_retry(Failure::Network, failures);
                    tracing::warn!(
                        stream = %stream,
                        "The {stream} stream {why} soon after opening; reconnecting in {}.",
                        crate::progress::duration(wait)
                    );
                    wait
                }
            }
            Ended::TooOld => {
                count_reconnect(ctx, stream, "416");
                Duration::ZERO
            }
            Ended::Failed(failure, message) => {
                failures += 1;
                let wait = ctx.settings.waits.before_retry(failure, failures);
                count_reconnect(
                    ctx,
                    stream,
                    match failure {
                        Failure::RateLimited => "429",
                        Failure::Http(_) => "http_error",
                        Failure::Network => "network_error",
                    },
                );
                tracing::warn!(
                    stream = %stream,
                    "The {stream} stream: {message}; reconnecting in {}.",
                    crate::progress::duration(wait)
                );
                wait
            }
        };
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
    }
}

fn count_reconnect(ctx: &Ctx, stream: Stream, why: &str) {
    let mut runs = lock(&ctx.runs);
    *runs
        .entry(stream)
        .or_default()
        .reconnects_after
        .entry(why.replace(' ', "_"))
        .or_default() += 1;
}

/// One connection: open it, apply what it sends until it ends.
async fn connect_and_read(
    ctx: &Ctx,
    stream: Stream,
    state: &mut Option<StreamState>,
) -> Result<Ended, Error> {
    let settings = &ctx.settings;
    let mut url = format!("{}/{}", settings.url.trim_end_matches('/'), stream.path());
    let resume = state.as_ref().and_then(|s| s.timepoint);
    if let Some(tp) = resume {
        url.push_str(&format!("?timepoint={tp}"));
    }
    let request = ctx
        .client
        .get(&url)
        .basic_auth(settings.key.expose_secret(), Some(""))
        .send();
    let mut stop = ctx.stop.clone();
    let response = tokio::select! {
        r = tokio::time::timeout(settings.waits.connect_timeout, request) => r,
        _ = stop.wait_for(|s| *s) => return Ok(Ended::Done),
    };
    let response = match response {
        Err(_) => {
            return Ok(Ended::Failed(
                Failure::Network,
                format!(
                    "no answer within {}",
                    crate::progress::duration(settings.waits.connect_timeout)
                ),
            ));
        }
        Ok(Err(e)) => {
            return Ok(Ended::Failed(
                Failure::Network,
                crate::gateway::transport::error_chain(&e.without_url()),
            ));
        }
        Ok(Ok(r)) => r,
    };
    let status = response.status().as_u16();
    match status {
        200 => {}
        401 | 403 => {
            return Err(Error::Usage(format!(
                "the {stream} stream refused the streaming key ({status}). {STREAM_KEY_VAR} must \
                 be a Streaming API key: a REST API key does not work on the streaming API. \
                 Create one under your application at \
                 https://developer.company-information.service.gov.uk/manage-applications"
            )));
        }
        416 => {
            let s = state.get_or_insert_with(|| StreamState::new(stream, SystemTime::now()));
            let since = s.published_at.clone().unwrap_or_else(|| "then".into());
            tracing::warn!(
                stream = %stream,
                timepoint = ?resume,
                "The {stream} stream can no longer be replayed from timepoint {} (416: too old). \
                 Changes published since {since} were missed, so answers cached before now fall \
                 back to their normal expiry; following the stream afresh from now.",
                resume.map_or_else(|| "-".into(), |t| t.to_string())
            );
            s.timepoint = None;
            s.note = Some(format!(
                "416 at timepoint {}: followed afresh from {}",
                resume.map_or_else(|| "-".into(), |t| t.to_string()),
                crate::report::rfc3339(SystemTime::now())
            ));
            save(ctx, s.clone()).await?;
            return Ok(Ended::TooOld);
        }
        429 => {
            return Ok(Ended::Failed(
                Failure::RateLimited,
                "429 Too Many Requests".into(),
            ));
        }
        _ => {
            return Ok(Ended::Failed(
                Failure::Http(status),
                format!("HTTP {status}"),
            ));
        }
    }
    let connected_at = SystemTime::now();
    let s = state.get_or_insert_with(|| StreamState::new(stream, connected_at));
    if s.timepoint.is_none() {
        // Without a timepoint the stream starts at "now": nothing before is covered.
        s.covered_since = connected_at;
        s.applied_until = connected_at;
    }
    lock(&ctx.runs).entry(stream).or_default().connections += 1;
    let held_since = Instant::now();
    let mut body = response.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    // Without a timepoint there is no backlog: the stream starts at "now".
    let mut caught_up = resume.is_none();
    let mut last_saved = Instant::now();
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return Ok(Ended::Done),
            next = tokio::time::timeout(settings.idle_timeout, body.next()) => next,
        };
        let mut ended = None;
        match next {
            Err(_) => return Ok(Ended::Dropped("was silent too long")),
            Ok(None) => ended = Some(Ended::Dropped("was closed by the server")),
            Ok(Some(Err(_))) => ended = Some(Ended::Dropped("connection broke")),
            Ok(Some(Ok(chunk))) => {
                buf.extend_from_slice(&chunk);
                // Take what else has already arrived, to apply it in one go.
                while buf.len() < 4 << 20 {
                    match body.next().now_or_never() {
                        Some(Some(Ok(chunk))) => buf.extend_from_slice(&chunk),
                        Some(None) => {
                            ended = Some(Ended::Dropped("was closed by the server"));
                            break;
                        }
                        Some(Some(Err(_))) => {
                            ended = Some(Ended::Dropped("connection broke"));
                            break;
                        }
                        None => break,
                    }
                }
            }
        }
        let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
            if let Some(ended) = ended {
                return Ok(ended);
            }
            continue;
        };
        let complete: Vec<u8> = buf.drain(..=end).collect();
        let s = state.as_mut().expect("set on connecting");
        let mut batch = Vec::new();
        let mut heartbeat = false;
        let mut last_timepoint = s.timepoint;
        // `complete` ends with a newline: split what is before it.
        for line in complete[..complete.len() - 1].split(|b| *b == b'\n') {
            match event::parse(stream, line) {
                Line::Heartbeat => heartbeat = true,
                Line::Event(e) => {
                    if last_timepoint.is_some_and(|t| e.timepoint <= t) {
                        continue; // replayed
                    }
                    // Published after the connection opened: live, so
                    // every event before it (the backlog) is in hand.
                    // `published_at` has whole seconds, so a backlog event
                    // (published before) never reads as after.
                    if e.published().is_some_and(|p| p >= connected_at) {
                        caught_up = true;
                    }
                    last_timepoint = Some(e.timepoint);
                    batch.push(e);
                }
                Line::Skipped { timepoint, reason } => {
                    lock(&ctx.runs).entry(stream).or_default().skipped += 1;
                    tracing::warn!(
                        stream = %stream,
                        timepoint = ?timepoint.or(last_timepoint),
                        "Skipped a line of the {stream} stream{}: {reason}.",
                        match (timepoint, last_timepoint) {
                            (Some(t), _) => format!(" (timepoint {t})"),
                            (None, Some(t)) => format!(" (after timepoint {t})"),
                            (None, None) => String::new(),
                        }
                    );
                    if let Some(t) = timepoint
                        && last_timepoint.is_none_or(|l| t > l)
                    {
                        last_timepoint = Some(t);
                    }
                }
            }
        }
        // The heartbeat counts only once every line before it is applied.
        caught_up |= heartbeat;
        let advanced = last_timepoint != s.timepoint;
        if !batch.is_empty() || advanced {
            apply(ctx, stream, s, batch, last_timepoint, caught_up).await?;
            last_saved = Instant::now();
        } else if caught_up && last_saved.elapsed() >= Duration::from_secs(1) {
            // Only heartbeats: the lag is still zero, and says so.
            s.applied_until = SystemTime::now();
            s.updated_at = s.applied_until;
            save(ctx, s.clone()).await?;
            last_saved = Instant::now();
        }
        {
            let mut runs = lock(&ctx.runs);
            let run = runs.entry(stream).or_default();
            run.caught_up |= caught_up;
            run.timepoint = s.timepoint;
        }
        if let Some(ended) = ended {
            return Ok(ended);
        }
        // A first run waits for an event, so the next can resume from it
        // (on a stream quiet for a whole idle timeout, it gives up).
        let resumable = s.timepoint.is_some() || held_since.elapsed() >= settings.idle_timeout;
        if caught_up && settings.until_caught_up && resumable {
            return Ok(Ended::Done);
        }
        if caught_up
            && ctx.waiting.load(Ordering::SeqCst) > 0
            && held_since.elapsed() >= settings.rotate_after
        {
            return Ok(Ended::Rotate);
        }
    }
}

/// Apply `events` (in order) and move the state on, in one transaction.
async fn apply(
    ctx: &Ctx,
    stream: Stream,
    state: &mut StreamState,
    events: Vec<Event>,
    timepoint: Option<u64>,
    caught_up: bool,
) -> Result<(), Error> {
    let started = Instant::now();
    let stale = cache::stale_on(stream);
    if let Some(redis) = &ctx.redis {
        let changed: Vec<(String, &'static [cache::Resource])> =
            events.iter().map(|e| (e.company.clone(), stale)).collect();
        match redis.drop_companies(&changed).await {
            Ok(_) => {}
            Err(e) => {
                lock(&ctx.redis_gap).get_or_insert_with(SystemTime::now);
                if !ctx.redis_warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        redis = %redis.endpoint(),
                        error = %e,
                        "Cannot drop changed companies from Redis; its answers will be trusted \
                         only for their normal life until it is back."
                    );
                }
            }
        }
    }
    let now = SystemTime::now();
    let last = events.last().cloned();
    let n = events.len() as u64;
    state.timepoint = timepoint;
    if let Some(last) = &last {
        state.published_at = last.published_at.clone();
    }
    state.events += n;
    state.applied_until = if caught_up {
        now
    } else {
        // Behind: everything published up to the last event is applied.
        last.as_ref()
            .and_then(Event::published)
            .map_or(state.applied_until, |p| p.min(now))
            .max(state.applied_until)
    };
    state.updated_at = now;
    let saved = state.clone();
    let received = to_millis(now);
    // The changes go out before the timepoint is committed: a kill between
    // the two replays them (at least once), where the other order would
    // lose them.
    let numbers: Vec<String> = events.iter().map(|e| e.company.clone()).collect();
    let known = ctx
        .sqlite
        .db()
        .call(move |c| {
            numbers
                .iter()
                .map(|n| sqlite::knows_company(c, n))
                .collect::<rusqlite::Result<Vec<bool>>>()
        })
        .await
        .map_err(cache::CacheError::from)?;
    // An event about a company the cache knows is a change.
    let changes: Vec<Event> = events
        .iter()
        .zip(&known)
        .filter(|(_, known)| **known)
        .map(|(e, _)| e.clone())
        .collect();
    if !changes.is_empty() {
        let mut text = String::new();
        for change in &changes {
            text.push_str(&serde_json::to_string(change).unwrap_or_default());
            text.push('\n');
        }
        let mut out = lock(&ctx.out);
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|source| Error::Output {
                path: ctx.settings.output.clone().unwrap_or_else(|| "-".into()),
                source,
            })?;
    }
    let recorded = changes.clone();
    let dropped = ctx
        .sqlite
        .db()
        .call(move |c| {
            let mut dropped = 0;
            for e in &events {
                dropped += sqlite::drop_company(c, &e.company, stale)?;
            }
            for change in &recorded {
                c.prepare_cached(
                    "INSERT INTO stream_changes (company, stream, resource_kind, resource_id, \
                     event_type, fields_changed, timepoint, published_at, received_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(rusqlite::params![
                    change.company,
                    change.stream,
                    change.resource_kind,
                    change.resource_id,
                    change.event_type,
                    change
                        .fields_changed
                        .as_ref()
                        .map(|f| serde_json::to_string(f).unwrap_or_default()),
                    change.timepoint as i64,
                    change.published_at,
                    received,
                ])?;
            }
            followed::write(c, &saved)?;
            Ok(dropped)
        })
        .await
        .map_err(cache::CacheError::from)?;
    mirror(ctx, state).await;
    let mut runs = lock(&ctx.runs);
    let run = runs.entry(stream).or_default();
    run.events += n;
    run.changes += changes.len() as u64;
    run.dropped_entries += dropped;
    run.applying_seconds += started.elapsed().as_secs_f64();
    Ok(())
}

/// Write a state with no events (a 416, heartbeats).
async fn save(ctx: &Ctx, state: StreamState) -> Result<(), Error> {
    let saved = state.clone();
    ctx.sqlite
        .db()
        .call(move |c| followed::write(c, &saved))
        .await
        .map_err(cache::CacheError::from)?;
    mirror(ctx, &state).await;
    Ok(())
}

/// Tell Redis where the stream is. After Redis missed drops, its copy is
/// covered only from when it came back.
async fn mirror(ctx: &Ctx, state: &StreamState) {
    let Some(redis) = &ctx.redis else {
        return;
    };
    let now = SystemTime::now();
    let gap = *lock(&ctx.redis_gap);
    let since = if gap.is_some() {
        Some(now)
    } else {
        *lock(&ctx.redis_since)
    };
    let mut mirrored = state.clone();
    if let Some(since) = since {
        mirrored.covered_since = mirrored.covered_since.max(since);
    }
    match redis.put_stream_state(&mirrored).await {
        Ok(()) => {
            if gap.is_some() {
                // Back: drops reach it again from now on.
                *lock(&ctx.redis_gap) = None;
                *lock(&ctx.redis_since) = Some(now);
            }
        }
        Err(e) => {
            lock(&ctx.redis_gap).get_or_insert(now);
            tracing::debug!(error = %e, "Cannot mirror the stream state to Redis.");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The progress line, redrawn while following on a terminal.
async fn progress(ctx: Arc<Ctx>) {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let started = Instant::now();
    loop {
        bar.set_message(progress_line(&ctx, started.elapsed()).await);
        bar.tick();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn progress_line(ctx: &Ctx, elapsed: Duration) -> String {
    let states = ctx
        .sqlite
        .db()
        .call(followed::read_all)
        .await
        .unwrap_or_default();
    let runs = lock(&ctx.runs).clone();
    let now = SystemTime::now();
    let mut parts = Vec::new();
    let mut events = 0;
    let mut changes = 0;
    for stream in &ctx.settings.streams {
        let run = runs.get(stream).cloned().unwrap_or_default();
        events += run.events;
        changes += run.changes;
        let lag = states
            .iter()
            .find(|s| s.stream == stream.path())
            .map_or_else(|| "-".into(), |s| crate::progress::duration(s.lag(now)));
        parts.push(format!("{stream}: lag {lag}"));
    }
    let rate = events as f64 / elapsed.as_secs_f64().max(0.001);
    format!(
        "{} | {} events ({:.0}/s) | {} changes to cached companies",
        parts.join(", "),
        crate::progress::grouped(events),
        rate,
        crate::progress::grouped(changes)
    )
}

/// The stream lines of `leadgen doctor` and the summary's lag.
pub fn lag_line(state: &StreamState, now: SystemTime, max_lag: Duration) -> String {
    let lag = state.lag(now);
    format!(
        "{}: lag {}{}, timepoint {}, followed without a gap since {}{}",
        state.stream,
        crate::progress::duration(lag),
        if lag > max_lag {
            format!(
                " (over stream.max_lag {}: cached answers keep their normal life)",
                crate::progress::duration(max_lag)
            )
        } else {
            String::new()
        },
        state
            .timepoint
            .map_or_else(|| "none yet".into(), |t| t.to_string()),
        crate::report::rfc3339(state.covered_since),
        state
            .note
            .as_deref()
            .map_or_else(String::new, |n| format!("; last note: {n}"))
    )
}

/// The summary lines for stderr.
pub fn summary_lines(summary: &Summary) -> Vec<String> {
    let mut lines = Vec::new();
    for (stream, run) in &summary.streams {
        let rate = if run.applying_seconds > 0.0 {
            format!(
                ", applied at {:.0} events/s",
                run.events as f64 / run.applying_seconds
            )
        } else {
            String::new()
        };
        let reconnects: Vec<String> = run
            .reconnects_after
            .iter()
            .map(|(why, n)| format!("{n} after {}", why.replace('_', " ")))
            .collect();
        lines.push(format!(
            "{stream}: {} events{rate}, {} changes to cached companies, {} cached answers dropped, \
             {} skipped lines; timepoint {}{}{}",
            crate::progress::grouped(run.events),
            crate::progress::grouped(run.changes),
            crate::progress::grouped(run.dropped_entries),
            run.skipped,
            run.timepoint
                .map_or_else(|| "none yet".into(), |t| t.to_string()),
            if run.caught_up {
                ", caught up"
            } else {
                ", not caught up"
            },
            if reconnects.is_empty() {
                String::new()
            } else {
                format!("; reconnects: {}", reconnects.join(", "))
            }
        ));
    }
    lines
}

async fn write_metrics(ctx: &Ctx, path: &std::path::Path) {
    let states = ctx
        .sqlite
        .db()
        .call(followed::read_all)
        .await
        .unwrap_or_default();
    let runs = lock(&ctx.runs).clone();
    let text = metrics_text(&states, &runs, SystemTime::now());
    if let Err(e) = crate::atomic::write(path, &text) {
        tracing::warn!(path = %path.display(), error = %e, "Could not write the metrics file.");
    }
}

/// The Prometheus text of the streams' state and this run.
pub fn metrics_text(
    states: &[StreamState],
    runs: &BTreeMap<Stream, StreamRun>,
    now: SystemTime,
) -> String {
    let mut m = crate::report::Metrics::default();
    m.gauge(
        "leadgen_stream_lag_seconds",
        "Time since every event of the stream was applied.",
    );
    for s in states {
        m.line(&[("stream", &s.stream)], s.lag(now).as_secs_f64().round());
    }
    m.gauge("leadgen_stream_timepoint", "The last timepoint applied.");
    for s in states {
        if let Some(t) = s.timepoint {
            m.line(&[("stream", &s.stream)], t as f64);
        }
    }
    m.gauge(
        "leadgen_stream_covered_since_timestamp_seconds",
        "Since when the stream has been followed without a gap, Unix time.",
    );
    for s in states {
        let t = s
            .covered_since
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        m.line(&[("stream", &s.stream)], t.as_secs() as f64);
    }
    type Field = fn(&StreamRun) -> f64;
    let fields: [(&'static str, &str, Field); 4] = [
        (
            "leadgen_stream_events",
            "Events applied by this run.",
            |r| r.events as f64,
        ),
        (
            "leadgen_stream_changes",
            "Changes to cached companies seen by this run.",
            |r| r.changes as f64,
        ),
        (
            "leadgen_stream_skipped_lines",
            "Lines skipped as unusable by this run.",
            |r| r.skipped as f64,
        ),
        (
            "leadgen_stream_connections",
            "Connections opened by this run.",
            |r| r.connections as f64,
        ),
    ];
    for (name, help, field) in fields {
        m.gauge(name, help);
        for (stream, run) in runs {
            m.line(&[("stream", stream.path())], field(run));
        }
    }
    m.gauge(
        "leadgen_stream_reconnects",
        "Reconnections by this run, by reason.",
    );
    for (stream, run) in runs {
        for (why, n) in &run.reconnects_after {
            m.line(&[("stream", stream.path()), ("reason", why)], *n as f64);
        }
    }
    m.into_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_waits_follow_the_guide_and_double() {
        let w = Waits::DOCUMENTED;
        assert_eq!(
            w.before_retry(Failure::RateLimited, 1),
            Duration::from_secs(60)
        );
        assert_eq!(
            w.before_retry(Failure::RateLimited, 2),
            Duration::from_secs(120)
        );
        assert_eq!(
            w.before_retry(Failure::Http(503), 1),
            Duration::from_secs(10)
        );
        assert_eq!(w.before_retry(Failure::Network, 1), Duration::from_secs(2));
        assert_eq!(w.before_retry(Failure::Network, 40), w.max);
        assert!(w.before_retry(Failure::RateLimited, 99) >= Duration::from_secs(60));
    }
}
