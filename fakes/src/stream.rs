//! The fake Companies House **streaming API**: `/companies`, `/officers`,
//! `/persons-with-significant-control` and
//! `/persons-with-significant-control-statements` of
//! `https://stream.companieshouse.gov.uk`, served on the same address as the
//! fake REST API (the paths do not collide).
//!
//! # What is real
//! From Companies House's own guide (DDX: `companieshouse/dapperdox.developer.ch.gov.uk`
//! `assets/sections/streaming-api/templates/guides/overview.md` and
//! `authentication.md`) and mrbrianevans/ch-guide `docs/streams/*.md`
//! (`index.md`, `http-streams.md`, `officers.md`,
//! `persons-with-significant-control.md`, `faq/authentication.md`,
//! `faq/gateway-errors.md`):
//! - HTTP Basic with a *streaming* key as the username and an empty
//!   password; REST and streaming keys are not interchangeable. A bad key
//!   gets `401 {"error":"Invalid Authorization","type":"ch:service"}`.
//! - A long-lived `GET` answered `200` with a body that never ends: one JSON
//!   envelope per line; a blank line is a heartbeat, sent when there is
//!   nothing else to send.
//! - The envelope: `resource_kind`, `resource_uri`, `resource_id`, `data`
//!   (the REST resource; absent for `deleted`) and `event` {`timepoint`,
//!   `published_at` (`2022-11-15T18:27:56`, no zone), `type` (`changed` or
//!   `deleted`), `fields_changed` (optional)}. Kinds: `company-profile`,
//!   `company-officers`, `company-psc-individual`, `company-psc-corporate`,
//!   `company-psc-legal`, `company-psc-supersecure` and the beneficial-owner
//!   kinds under their own names (`individual-beneficial-owner`, ...).
//! - `/persons-with-significant-control-statements` is one of the real
//!   streams (the shared API notes, section 5, list it). Its `data` is the
//!   statement as the REST list
//!   `/company/{n}/persons-with-significant-control-statements` serves it (`pscModels.json#statement`: `kind`
//!   `persons-with-significant-control-statement`, `statement` a key of
//!   `psc_descriptions.yml`'s `statement_description`, `notified_on`,
//!   `ceased_on`, `etag`, `links.self`), and its `resource_uri` that item's
//!   REST path, `/company/{n}/persons-with-significant-control-statements/{id}`.
//! - `?timepoint=N` resumes from the stream's backlog; too old (or invalid)
//!   gets `416`. Without it, only events published after connecting come.
//!   Timepoints are per-stream integers, not times.
//! - Two concurrent connections per account: one more closes the oldest.
//!   A reader too slow for its connection's queue is disconnected.
//! - `429` means wait a minute; gateway errors are HTML pages (the 502, 503
//!   and 504 pages below are ch-guide's records of them).
//!
//! # What is the fake's own choice
//! - The statements stream's `resource_kind` is **`company-psc-statement`**:
//!   the real one is not documented anywhere we have, so this name is the
//!   fake's own (unconfirmed); `resource_id` is the statement id (the last
//!   segment of its `resource_uri`), as on the other streams.
//! - `timepoint=N` serves events from `N` *inclusive* (a client resuming
//!   from its last event sees that event again), and accepts `N` from the
//!   oldest retained event to latest + 1; anything else is `416` with an
//!   empty body (the real body is undocumented).
//! - Each stream's counter starts at its own arbitrary base (see
//!   [`Stream::first_timepoint`]); the backlog keeps the last
//!   `StreamFakeConfig::backlog` events per stream.
//! - A closed connection ends its chunked body cleanly (as a Go server
//!   returning from its handler does); the client sees the end of the body.
//! - "Ambient" events (background traffic, as the real streams are never
//!   quiet) are about companies numbered `9xxxxxxx` that are not on the
//!   register (a statement one is a company statement notified today).
//!   Changes published by [`crate::FakeServer::publish_burst`] are applied
//!   to the register first, so the REST endpoints answer with the new state
//!   by the time the event arrives.
//! - The connection limit counts one key's connections across all four
//!   streams, as the guide words it. (Forum threads say the real limit has
//!   since been raised to about ten per key; `max_connections` sets it.)
//! - Stream connections are counted in `Stats` but never take from the REST
//!   quota, never get the REST latency or random faults; failures come only
//!   when asked for (`fail_stream_connects`), and only to attempts with a
//!   valid streaming key (a bad key still gets its 401).
//! - Changes are `changed` events only: nothing the fake publishes is
//!   `deleted` (a raw line can be one; the register is then not changed).
//!   An officer, PSC or statement change does not touch the company profile.
//! - A statements burst notifies a new statement first in the list (as the
//!   PSC burst does), dated today: `no-individual-or-entity-with-signficant-control`
//!   (the enumeration's own spelling) when the company has no active PSC,
//!   else `psc-details-not-confirmed`; or it ceases an active statement,
//!   always when the same statement is already active, else one time in
//!   three. A ceased statement gets a new etag.
//! - A `silence`d connection sends nothing, not even heartbeats, while
//!   events queue for it (a long silence can overflow its queue).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use hyper::StatusCode;
use hyper::body::Frame;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};

use super::StreamFakeConfig;
use super::companies_house::{Company, LiveRegister, etag, refresh_search_item};
use super::synthetic::{self, SplitMix64};

/// One of the streams the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// `/companies`: `company-profile` events.
    Companies,
    /// `/officers`: `company-officers` events.
    Officers,
    /// `/persons-with-significant-control`: `company-psc-*` and beneficial-owner events.
    Psc,
    /// `/persons-with-significant-control-statements`: `company-psc-statement`
    /// events (a resource kind of the fake's own choosing; see the module doc).
    PscStatements,
}

impl Stream {
    pub const ALL: [Stream; 4] = [
        Stream::Companies,
        Stream::Officers,
        Stream::Psc,
        Stream::PscStatements,
    ];

    /// The URL path without its slash, also the stream's name in [`StreamStats`].
    pub fn path(self) -> &'static str {
        match self {
            Stream::Companies => "companies",
            Stream::Officers => "officers",
            Stream::Psc => "persons-with-significant-control",
            Stream::PscStatements => "persons-with-significant-control-statements",
        }
    }

    /// `companies`, `officers`, `psc`, `persons-with-significant-control`,
    /// `psc-statements` or `persons-with-significant-control-statements`.
    pub fn parse(name: &str) -> Option<Stream> {
        match name.trim().to_ascii_lowercase().as_str() {
            "companies" => Some(Stream::Companies),
            "officers" => Some(Stream::Officers),
            "psc" | "persons-with-significant-control" => Some(Stream::Psc),
            "psc-statements" | "persons-with-significant-control-statements" => {
                Some(Stream::PscStatements)
            }
            _ => None,
        }
    }

    /// The stream a request path asks for (`/companies`, ...).
    pub(crate) fn from_path(path: &str) -> Option<Stream> {
        let name = path.strip_prefix('/')?;
        let name = name.strip_suffix('/').unwrap_or(name);
        Stream::ALL.into_iter().find(|s| s.path() == name)
    }

    /// The first timepoint of the stream: an arbitrary base per stream
    /// (near the real ones of 2022), so a client that mixes streams' timepoints up shows it.
    pub fn first_timepoint(self) -> u64 {
        match self {
            Stream::Companies => 20_000_000,
            Stream::Officers => 7_800_000,
            Stream::Psc => 4_900_000,
            Stream::PscStatements => 3_100_000,
        }
    }

    /// The `Stats::by_endpoint` key of a connection attempt.
    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            Stream::Companies => "stream_companies",
            Stream::Officers => "stream_officers",
            Stream::Psc => "stream_psc",
            Stream::PscStatements => "stream_psc_statements",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.path())
    }
}

impl std::str::FromStr for Stream {
    type Err = String;

    fn from_str(s: &str) -> Result<Stream, String> {
        Stream::parse(s).ok_or_else(|| {
            format!(
                "{s:?} is not a stream (companies, officers, persons-with-significant-control, \
                 persons-with-significant-control-statements)"
            )
        })
    }
}

/// What a burst changes (see [`crate::FakeServer::publish_burst`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BurstKind {
    /// Appoint a new director, or resign an active officer.
    Officers,
    /// Notify a new individual PSC, or cease an active one.
    Psc,
    /// Move the registered office (a new first address line).
    Companies,
    /// Notify a new PSC statement, or cease an active one.
    PscStatements,
    /// Officers, PSC, companies and PSC statements changes in turn.
    Mixed,
}

impl BurstKind {
    /// The change for the `k`th company of a burst.
    fn nth(self, k: usize) -> BurstKind {
        match self {
            BurstKind::Mixed => [
                BurstKind::Officers,
                BurstKind::Psc,
                BurstKind::Companies,
                BurstKind::PscStatements,
            ][k % 4],
            other => other,
        }
    }
}

impl std::str::FromStr for BurstKind {
    type Err = String;

    fn from_str(s: &str) -> Result<BurstKind, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "officers" => Ok(BurstKind::Officers),
            "psc" | "persons-with-significant-control" => Ok(BurstKind::Psc),
            "companies" => Ok(BurstKind::Companies),
            "psc-statements" | "persons-with-significant-control-statements" => {
                Ok(BurstKind::PscStatements)
            }
            "mixed" => Ok(BurstKind::Mixed),
            _ => Err(format!(
                "{s:?} is not a burst kind (officers, psc, companies, psc-statements, mixed)"
            )),
        }
    }
}

/// What a burst published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Burst {
    /// Events published (one per company changed).
    pub events: usize,
    /// The numbers of the companies changed, in publishing order.
    pub companies: Vec<String>,
}

/// The body of `GET /__fake/stream/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamStats {
    /// Stream connections open now.
    pub open: usize,
    /// The most connections of one key ever open at once.
    pub max_open: usize,
    /// Stream connections opened (answered 200) since the start.
    pub connections: u64,
    /// Connections closed because their key opened one more than allowed.
    pub closed_oldest: u64,
    /// Connections closed because their reader fell behind its queue (or
    /// the backlog it was replaying moved past it).
    pub closed_slow: u64,
    /// By stream path (`companies`, `officers`, `persons-with-significant-control`,
    /// `persons-with-significant-control-statements`).
    pub streams: BTreeMap<String, StreamLogStats>,
}

impl StreamStats {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// One stream's log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamLogStats {
    /// The oldest timepoint still retained (`None` before the first event).
    pub oldest: Option<u64>,
    /// The latest timepoint published (`None` before the first event).
    pub latest: Option<u64>,
    /// Events (and raw lines) published since the start.
    pub published: u64,
}

// ---------------------------------------------------------------------------
// The hub: per-stream logs and the open connections.

/// The largest frame the fake writes at once (several lines per frame).
const FRAME: usize = 64 * 1024;

/// Per-stream logs, open connections and the control switches.
pub(crate) struct Hub {
    config: StreamFakeConfig,
    state: Mutex<HubState>,
    silence: watch::Sender<bool>,
    /// Numbers the ambient events have used.
    ambient: AtomicU64,
}

struct HubState {
    logs: [Log; Stream::ALL.len()],
    /// In the order they were opened.
    conns: Vec<Conn>,
    next_id: u64,
    /// An injected answer for the next `n` connection attempts.
    fail: Option<(StatusCode, u32)>,
    connections: u64,
    closed_oldest: u64,
    closed_slow: u64,
    max_open: usize,
}

struct Log {
    /// Each line with its `\n`.
    entries: VecDeque<Bytes>,
    /// The timepoint of `entries[0]`.
    first: u64,
    /// The timepoint the next event gets.
    next: u64,
    published: u64,
}

struct Conn {
    id: u64,
    key: String,
    stream: Stream,
    /// Caught up with the log: new events go into `queue`. Before that the
    /// connection replays the backlog from the log itself.
    live: bool,
    queue: mpsc::Sender<Bytes>,
    /// Dropped (with the connection's entry) to end the connection.
    _kill: oneshot::Sender<()>,
}

/// Why a connection was not opened.
pub(crate) enum Refused {
    /// The timepoint is outside the backlog or not an integer.
    RangeNotSatisfiable,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    pub(crate) fn new(config: StreamFakeConfig) -> Arc<Hub> {
        let log = |s: Stream| Log {
            entries: VecDeque::new(),
            first: s.first_timepoint(),
            next: s.first_timepoint(),
            published: 0,
        };
        Arc::new(Hub {
            config,
            state: Mutex::new(HubState {
                logs: Stream::ALL.map(log),
                conns: Vec::new(),
                next_id: 0,
                fail: None,
                connections: 0,
                closed_oldest: 0,
                closed_slow: 0,
                max_open: 0,
            }),
            silence: watch::channel(false).0,
            ambient: AtomicU64::new(0),
        })
    }

    /// Whether `user` is one of the accepted streaming keys.
    pub(crate) fn accepts(&self, user: &str) -> bool {
        !user.is_empty()
            && (user == self.config.stream_key
                || self.config.other_stream_keys.iter().any(|k| k == user))
    }

    /// Open a connection for `key` to `stream` from `timepoint` (the raw
    /// query value), closing the key's oldest connections beyond the limit.
    pub(crate) fn open(
        self: &Arc<Self>,
        key: &str,
        stream: Stream,
        timepoint: Option<&str>,
    ) -> Result<ChannelBody, Refused> {
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let log = &st.logs[stream.index()];
        let cursor = match timepoint {
            None => log.next,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(tp) if tp >= log.first && tp <= log.next => tp,
                _ => return Err(Refused::RangeNotSatisfiable),
            },
        };
        let live = cursor == log.next;
        let max = self.config.max_connections.max(1);
        while st.conns.iter().filter(|c| c.key == key).count() >= max {
            if let Some(oldest) = st.conns.iter().position(|c| c.key == key) {
                st.conns.remove(oldest);
                st.closed_oldest += 1;
            }
        }
        let id = st.next_id;
        st.next_id += 1;
        let (queue_tx, queue_rx) = mpsc::channel(self.config.queue.max(1));
        let (kill_tx, kill_rx) = oneshot::channel();
        let (body_tx, body_rx) = mpsc::channel(4);
        st.conns.push(Conn {
            id,
            key: key.to_owned(),
            stream,
            live,
            queue: queue_tx,
            _kill: kill_tx,
        });
        st.connections += 1;
        let of_key = st.conns.iter().filter(|c| c.key == key).count();
        st.max_open = st.max_open.max(of_key);
        drop(guard);
        let task = Connection {
            id,
            stream,
            cursor: (!live).then_some(cursor),
            queue: queue_rx,
            kill: kill_rx,
            body: body_tx,
            silence: self.silence.subscribe(),
            heartbeat: self.config.heartbeat,
        };
        tokio::spawn(task.run(Arc::clone(self)));
        Ok(ChannelBody { rx: body_rx })
    }

    /// Append a line (built for its timepoint) to `stream`'s log and hand it
    /// to the connections that are caught up; a full queue closes its
    /// connection. Returns the line's timepoint.
    pub(crate) fn publish(&self, stream: Stream, line: impl FnOnce(u64) -> Vec<u8>) -> u64 {
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let log = &mut st.logs[stream.index()];
        let timepoint = log.next;
        let mut bytes = line(timepoint);
        bytes.push(b'\n');
        let bytes = Bytes::from(bytes);
        log.next += 1;
        log.published += 1;
        log.entries.push_back(bytes.clone());
        while log.entries.len() > self.config.backlog {
            log.entries.pop_front();
            log.first += 1;
        }
        let mut slow = 0;
        st.conns.retain(|c| {
            if c.stream != stream || !c.live {
                return true;
            }
            match c.queue.try_send(bytes.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    slow += 1;
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            }
        });
        st.closed_slow += slow;
        timepoint
    }

    fn publish_event(&self, event: &Event) -> u64 {
        let at = published_at(SystemTime::now());
        self.publish(event.stream, |tp| event.line(tp, &at))
    }

    /// The next lines of the backlog for connection `id` from `cursor`;
    /// marks it live once it has caught up.
    fn replay(&self, id: u64, stream: Stream, cursor: &mut u64) -> Replay {
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let Some(pos) = st.conns.iter().position(|c| c.id == id) else {
            return Replay::Gone;
        };
        let log = &st.logs[stream.index()];
        if *cursor < log.first {
            // The backlog moved on past this reader: it was too slow.
            st.conns.remove(pos);
            st.closed_slow += 1;
            return Replay::Gone;
        }
        let mut buf = BytesMut::new();
        let mut i = (*cursor - log.first) as usize;
        while i < log.entries.len() && buf.len() < FRAME {
            buf.extend_from_slice(&log.entries[i]);
            i += 1;
        }
        *cursor = log.first + i as u64;
        let caught_up = i >= log.entries.len();
        if caught_up {
            st.conns[pos].live = true;
        }
        Replay::Lines(buf.freeze(), caught_up)
    }

    fn remove(&self, id: u64) {
        lock(&self.state).conns.retain(|c| c.id != id);
    }

    /// End every open connection; returns how many there were.
    pub(crate) fn disconnect_all(&self) -> usize {
        let mut st = lock(&self.state);
        let n = st.conns.len();
        st.conns.clear();
        n
    }

    pub(crate) fn fail_connects(&self, status: StatusCode, times: u32) {
        lock(&self.state).fail = (times > 0).then_some((status, times));
    }

    /// The injected answer for this attempt, if one is pending.
    pub(crate) fn take_failure(&self) -> Option<StatusCode> {
        let mut st = lock(&self.state);
        let (status, left) = st.fail?;
        st.fail = (left > 1).then_some((status, left - 1));
        Some(status)
    }

    pub(crate) fn silence(&self, on: bool) {
        self.silence.send_replace(on);
    }

    pub(crate) fn stats(&self) -> StreamStats {
        let st = lock(&self.state);
        let streams = Stream::ALL
            .iter()
            .map(|&s| {
                let log = &st.logs[s.index()];
                let any = !log.entries.is_empty();
                let stats = StreamLogStats {
                    oldest: any.then_some(log.first),
                    latest: any.then(|| log.next - 1),
                    published: log.published,
                };
                (s.path().to_owned(), stats)
            })
            .collect();
        StreamStats {
            open: st.conns.len(),
            max_open: st.max_open,
            connections: st.connections,
            closed_oldest: st.closed_oldest,
            closed_slow: st.closed_slow,
            streams,
        }
    }
}

enum Replay {
    /// Lines (possibly none) and whether they reach the end of the log.
    Lines(Bytes, bool),
    /// The connection was closed meanwhile.
    Gone,
}

/// The task behind one open stream: replays the backlog, then forwards
/// live events, heartbeats when idle, and stops when killed or when hyper
/// drops the body (the client went away).
struct Connection {
    id: u64,
    stream: Stream,
    /// `Some` while replaying the backlog: the next timepoint to send.
    cursor: Option<u64>,
    queue: mpsc::Receiver<Bytes>,
    kill: oneshot::Receiver<()>,
    body: mpsc::Sender<Bytes>,
    silence: watch::Receiver<bool>,
    heartbeat: Duration,
}

/// Takes the connection off the hub however its task ends.
struct Registered {
    hub: Arc<Hub>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.hub.remove(self.id);
    }
}

impl Connection {
    async fn run(mut self, hub: Arc<Hub>) {
        let _registered = Registered {
            hub: Arc::clone(&hub),
            id: self.id,
        };
        loop {
            if *self.silence.borrow_and_update() {
                // A dead connection: nothing at all until the silence ends.
                tokio::select! {
                    biased;
                    _ = &mut self.kill => return,
                    () = self.body.closed() => return,
                    r = self.silence.wait_for(|on| !*on) => if r.is_err() { return },
                }
                continue;
            }
            let chunk = if let Some(mut cursor) = self.cursor {
                match hub.replay(self.id, self.stream, &mut cursor) {
                    Replay::Gone => return,
                    Replay::Lines(lines, caught_up) => {
                        self.cursor = (!caught_up).then_some(cursor);
                        if lines.is_empty() {
                            continue;
                        }
                        lines
                    }
                }
            } else {
                let idle = tokio::time::sleep(self.heartbeat);
                tokio::select! {
                    biased;
                    _ = &mut self.kill => return,
                    () = self.body.closed() => return,
                    r = self.silence.changed() => {
                        if r.is_err() {
                            return;
                        }
                        continue;
                    }
                    line = self.queue.recv() => match line {
                        Some(first) => drain(first, &mut self.queue),
                        None => return,
                    },
                    () = idle => Bytes::from_static(b"\n"),
                }
            };
            tokio::select! {
                biased;
                _ = &mut self.kill => return,
                sent = self.body.send(chunk) => if sent.is_err() { return },
            }
        }
    }
}

/// `first` and whatever else is already queued, up to a frame.
fn drain(first: Bytes, queue: &mut mpsc::Receiver<Bytes>) -> Bytes {
    let mut buf = BytesMut::from(&first[..]);
    while buf.len() < FRAME {
        match queue.try_recv() {
            Ok(more) => buf.extend_from_slice(&more),
            Err(_) => break,
        }
    }
    buf.freeze()
}

/// A response body fed by a connection task; it ends when the task does.
pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

// ---------------------------------------------------------------------------
// Events.

/// One event before it has a timepoint.
struct Event {
    stream: Stream,
    resource_kind: String,
    resource_uri: String,
    resource_id: String,
    /// `None` for a `deleted` event.
    data: Option<Value>,
    fields_changed: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    resource_kind: &'a str,
    resource_uri: &'a str,
    resource_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    event: EventMeta<'a>,
}

#[derive(Serialize)]
struct EventMeta<'a> {
    timepoint: u64,
    published_at: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields_changed: Option<&'a [String]>,
}

impl Event {
    fn line(&self, timepoint: u64, published_at: &str) -> Vec<u8> {
        let envelope = Envelope {
            resource_kind: &self.resource_kind,
            resource_uri: &self.resource_uri,
            resource_id: &self.resource_id,
            data: self.data.as_ref(),
            event: EventMeta {
                timepoint,
                published_at,
                kind: if self.data.is_some() {
                    "changed"
                } else {
                    "deleted"
                },
                fields_changed: self.fields_changed.as_deref(),
            },
        };
        // Serialising plain values cannot fail.
        serde_json::to_vec(&envelope).unwrap_or_default()
    }

    fn profile(company: &Company, fields_changed: Option<Vec<String>>) -> Event {
        let number = company.number();
        Event {
            stream: Stream::Companies,
            resource_kind: "company-profile".into(),
            resource_uri: format!("/company/{number}"),
            resource_id: number.to_owned(),
            data: Some(company.profile.clone()),
            fields_changed,
        }
    }

    /// An officers event for an `officerSummary` item (its `links.self` is
    /// the resource).
    fn officer(number: &str, item: &Value) -> Event {
        let uri = item["links"]["self"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("/company/{number}/appointments/"));
        Event {
            stream: Stream::Officers,
            resource_kind: "company-officers".into(),
            resource_id: last_segment(&uri),
            resource_uri: uri,
            data: Some(item.clone()),
            fields_changed: None,
        }
    }

    /// A PSC event for a PSC list item.
    fn psc(number: &str, item: &Value) -> Event {
        let kind = item["kind"].as_str().unwrap_or_default();
        let uri = item["links"]["self"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!(
                    "/company/{number}/persons-with-significant-control/{}/",
                    psc_uri_segment(kind)
                )
            });
        Event {
            stream: Stream::Psc,
            resource_kind: psc_resource_kind(kind).to_owned(),
            resource_id: last_segment(&uri),
            resource_uri: uri,
            data: Some(item.clone()),
            fields_changed: None,
        }
    }

    /// A statements event for a `pscModels.json#statement` item (its
    /// `links.self` is the resource).
    fn psc_statement(number: &str, item: &Value) -> Event {
        let uri = item["links"]["self"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!("/company/{number}/persons-with-significant-control-statements/")
            });
        Event {
            stream: Stream::PscStatements,
            resource_kind: PSC_STATEMENT_RESOURCE_KIND.to_owned(),
            resource_id: last_segment(&uri),
            resource_uri: uri,
            data: Some(item.clone()),
            fields_changed: None,
        }
    }
}

/// The statements stream's `resource_kind`: the fake's own choice, as the
/// real one is undocumented (unconfirmed).
pub const PSC_STATEMENT_RESOURCE_KIND: &str = "company-psc-statement";

fn last_segment(uri: &str) -> String {
    uri.rsplit('/').next().unwrap_or_default().to_owned()
}

/// The stream's `resource_kind` for a PSC item's `kind`.
pub(crate) fn psc_resource_kind(kind: &str) -> &str {
    match kind {
        "individual-person-with-significant-control" => "company-psc-individual",
        "corporate-entity-person-with-significant-control" => "company-psc-corporate",
        // The spec's name, and the one the register's data uses.
        "legal-person-person-with-significant-control"
        | "legal-person-with-significant-control" => "company-psc-legal",
        "super-secure-person-with-significant-control" => "company-psc-supersecure",
        // The beneficial-owner kinds keep their own names.
        other => other,
    }
}

/// The PSC's segment of its `resource_uri`.
fn psc_uri_segment(kind: &str) -> &str {
    match kind {
        "individual-person-with-significant-control" => "individual",
        "corporate-entity-person-with-significant-control" => "corporate-entity",
        "legal-person-person-with-significant-control"
        | "legal-person-with-significant-control" => "legal-person",
        "super-secure-person-with-significant-control" => "super-secure",
        other => other,
    }
}

// ---------------------------------------------------------------------------
// Publishing.

/// Change `companies` distinct register companies (chosen from `seed`), one
/// change each as `kind` says, and publish each change's event after the
/// register has it. Every change is dated today (UTC).
pub(crate) fn burst(
    live: &LiveRegister,
    hub: &Hub,
    kind: BurstKind,
    companies: usize,
    seed: u64,
) -> Burst {
    let chosen = choose(live.len(), companies, seed);
    let mut rng = SplitMix64::new(seed ^ 0x57e4_4a11_b0a5_7000);
    let today = utc_date(SystemTime::now());
    let mut out = Burst::default();
    for (k, index) in chosen.into_iter().enumerate() {
        let event = live.update(index, |c| match kind.nth(k) {
            BurstKind::Officers => change_officers(c, &mut rng, &today),
            BurstKind::Psc => change_psc(c, &mut rng, &today),
            BurstKind::PscStatements => change_psc_statements(c, &mut rng, &today),
            BurstKind::Companies | BurstKind::Mixed => change_office(c, &mut rng),
        });
        hub.publish_event(&event);
        out.events += 1;
        out.companies.push(event_number(&event));
    }
    out
}

fn event_number(event: &Event) -> String {
    // `/company/{n}` or `/company/{n}/...`
    event
        .resource_uri
        .split('/')
        .nth(2)
        .unwrap_or_default()
        .to_owned()
}

/// `n` distinct positions below `len`, the same for the same seed.
fn choose(len: usize, n: usize, seed: u64) -> Vec<usize> {
    let n = n.min(len);
    let mut rng = SplitMix64::new(seed ^ 0xc405_e000);
    if n * 2 > len {
        let mut all: Vec<usize> = (0..len).collect();
        for k in 0..n {
            let j = k + rng.below(len - k);
            all.swap(k, j);
        }
        all.truncate(n);
        return all;
    }
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let i = rng.below(len);
        if seen.insert(i) {
            out.push(i);
        }
    }
    out
}

fn is_set(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null())
}

/// Appoint a new director (first in the list, as the newest appointment),
/// or, one time in three when there is one, resign an active officer.
fn change_officers(c: &mut Company, rng: &mut SplitMix64, today: &str) -> Event {
    let number = c.number().to_owned();
    let active: Vec<usize> = c
        .officers
        .iter()
        .enumerate()
        .filter(|(_, o)| !is_set(o.get("resigned_on")) && o["links"]["self"].is_string())
        .map(|(i, _)| i)
        .collect();
    if !active.is_empty() && rng.below(3) == 0 {
        let i = active[rng.below(active.len())];
        c.officers[i]["resigned_on"] = json!(today);
        return Event::officer(&number, &c.officers[i]);
    }
    let address = c.profile["registered_office_address"].clone();
    let director = synthetic::new_director(rng, &number, &address, today);
    c.officers.insert(0, director);
    Event::officer(&number, &c.officers[0])
}

/// Notify a new individual PSC (first in the list), or, one time in three
/// when there is one, cease an active named PSC.
fn change_psc(c: &mut Company, rng: &mut SplitMix64, today: &str) -> Event {
    let number = c.number().to_owned();
    let active: Vec<usize> = c
        .persons_with_significant_control
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            !is_set(p.get("ceased_on"))
                && p["ceased"] != true
                && !p["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("super-secure")
                && p["links"]["self"].is_string()
        })
        .map(|(i, _)| i)
        .collect();
    if !active.is_empty() && rng.below(3) == 0 {
        let i = active[rng.below(active.len())];
        let psc = &mut c.persons_with_significant_control[i];
        psc["ceased_on"] = json!(today);
        return Event::psc(&number, psc);
    }
    let address = c.profile["registered_office_address"].clone();
    let psc = synthetic::new_individual_psc(rng, &number, &address, today);
    c.persons_with_significant_control.insert(0, psc);
    Event::psc(&number, &c.persons_with_significant_control[0])
}

/// `statement_description` keys (psc_descriptions.yml; the first keeps the
/// enumeration's own spelling, "signficant").
const NO_PSC_STATEMENT: &str = "no-individual-or-entity-with-signficant-control";
const PSC_NOT_CONFIRMED_STATEMENT: &str = "psc-details-not-confirmed";
/// Company statements the ambient events draw from.
const AMBIENT_STATEMENTS: [&str; 4] = [
    NO_PSC_STATEMENT,
    "psc-exists-but-not-identified",
    PSC_NOT_CONFIRMED_STATEMENT,
    "steps-to-find-psc-not-yet-completed",
];

/// Notify a new statement (first in the list), or cease an active one: the
/// one with the same statement when there is one (a company does not hold
/// the same statement twice), else one time in three when there is any.
/// The statement notified is "no registrable person" when the company has
/// no active PSC, else "PSC details not confirmed".
fn change_psc_statements(c: &mut Company, rng: &mut SplitMix64, today: &str) -> Event {
    let number = c.number().to_owned();
    let has_active_psc = c
        .persons_with_significant_control
        .iter()
        .any(|p| !is_set(p.get("ceased_on")) && p["ceased"] != true);
    let statement = if has_active_psc {
        PSC_NOT_CONFIRMED_STATEMENT
    } else {
        NO_PSC_STATEMENT
    };
    let active: Vec<usize> = c
        .psc_statements
        .iter()
        .enumerate()
        .filter(|(_, s)| !is_set(s.get("ceased_on")) && s["links"]["self"].is_string())
        .map(|(i, _)| i)
        .collect();
    let same = active
        .iter()
        .copied()
        .find(|&i| c.psc_statements[i]["statement"] == statement);
    let cease = match same {
        Some(i) => Some(i),
        None if !active.is_empty() && rng.below(3) == 0 => Some(active[rng.below(active.len())]),
        None => None,
    };
    if let Some(i) = cease {
        let item = &mut c.psc_statements[i];
        item["ceased_on"] = json!(today);
        let uri = item["links"]["self"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        item["etag"] = json!(etag(&["psc-statement", &uri, "ceased", today]));
        return Event::psc_statement(&number, item);
    }
    let item = synthetic::new_psc_statement(rng, &number, statement, today);
    c.psc_statements.insert(0, item);
    Event::psc_statement(&number, &c.psc_statements[0])
}

/// Move the registered office to a new street address (same town and
/// postcode); a new profile etag.
fn change_office(c: &mut Company, rng: &mut SplitMix64) -> Event {
    let number = c.number().to_owned();
    if !c.profile["registered_office_address"].is_object() {
        c.profile["registered_office_address"] = json!({});
    }
    let office = &mut c.profile["registered_office_address"];
    let old = (office["premises"].clone(), office["address_line_1"].clone());
    let mut fields = vec!["registered_office_address.address_line_1".to_owned()];
    loop {
        let (premises, street) = synthetic::new_street(rng);
        if is_set(office.get("premises")) {
            office["premises"] = json!(premises);
            office["address_line_1"] = json!(street);
        } else {
            office["address_line_1"] = json!(format!("{premises} {street}"));
        }
        if (office["premises"].clone(), office["address_line_1"].clone()) != old {
            break;
        }
    }
    if office["premises"] != old.0 {
        fields.push("registered_office_address.premises".to_owned());
    }
    let stamp = rng.next_u64().to_string();
    c.profile["etag"] = json!(etag(&["profile", &number, &stamp]));
    refresh_search_item(c);
    Event::profile(c, Some(fields))
}

/// One ambient event on each stream, about companies not on the register.
pub(crate) fn ambient_tick(live: &LiveRegister, hub: &Hub) {
    let today = utc_date(SystemTime::now());
    for stream in Stream::ALL {
        let (number, seed) = loop {
            let n = hub.ambient.fetch_add(1, Ordering::Relaxed);
            let number = ambient_number(n);
            if !live.contains(&number) {
                break (number, n);
            }
        };
        let company = || synthetic::outside_company(&number, seed);
        let event = match stream {
            Stream::Companies => Event::profile(&company(), None),
            Stream::Officers => match company().officers.first() {
                Some(o) => Event::officer(&number, o),
                None => continue,
            },
            Stream::Psc => match company().persons_with_significant_control.first() {
                Some(p) => Event::psc(&number, p),
                None => continue,
            },
            Stream::PscStatements => {
                // A statement notified today; no company needs building for it.
                let mut rng = SplitMix64::new(seed ^ 0x5747_e3e0);
                let statement = AMBIENT_STATEMENTS[rng.below(AMBIENT_STATEMENTS.len())];
                let item = synthetic::new_psc_statement(&mut rng, &number, statement, &today);
                Event::psc_statement(&number, &item)
            }
        };
        hub.publish_event(&event);
    }
}

/// `9` and seven digits from a counter: the ambient companies' numbers.
pub(crate) fn ambient_number(n: u64) -> String {
    format!("9{:07}", n % 10_000_000)
}

// ---------------------------------------------------------------------------
// Time, in UTC without a time-zone crate.

/// `(year, month, day)` of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn epoch_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// `YYYY-MM-DD` in UTC.
pub(crate) fn utc_date(t: SystemTime) -> String {
    let (y, m, d) = civil_from_days(epoch_secs(t).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `published_at` as the real streams write it: UTC, `%Y-%m-%dT%H:%M:%S`, no zone.
pub(crate) fn published_at(t: SystemTime) -> String {
    let secs = epoch_secs(t);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

// ---------------------------------------------------------------------------
// Error pages.

/// The body of an injected failure: ch-guide's records of the stream's
/// gateway pages for 502, 503 and 504, a page like them for other 5xx, and
/// nothing for the rest (429 and 416 bodies are undocumented).
pub(crate) fn failure_page(status: StatusCode) -> Option<&'static str> {
    Some(match status.as_u16() {
        502 => {
            "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"
        }
        503 => {
            "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
        }
        504 => {
            "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"
        }
        500..=599 => {
            "<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn utc_dates_and_published_at_read_like_the_real_ones() {
        let t = UNIX_EPOCH + Duration::from_secs(1_668_536_876);
        assert_eq!(published_at(t), "2022-11-15T18:27:56");
        assert_eq!(utc_date(t), "2022-11-15");
        assert_eq!(utc_date(UNIX_EPOCH), "1970-01-01");
        // A leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_date(leap), "2000-02-29");
    }

    #[test]
    fn psc_kinds_map_to_the_stream_resource_kinds() {
        for (kind, expected) in [
            (
                "individual-person-with-significant-control",
                "company-psc-individual",
            ),
            (
                "corporate-entity-person-with-significant-control",
                "company-psc-corporate",
            ),
            ("legal-person-with-significant-control", "company-psc-legal"),
            (
                "super-secure-person-with-significant-control",
                "company-psc-supersecure",
            ),
            ("individual-beneficial-owner", "individual-beneficial-owner"),
        ] {
            assert_eq!(psc_resource_kind(kind), expected);
        }
    }

    #[test]
    fn choose_is_distinct_and_seeded() {
        for (len, n) in [(100, 10), (10, 9), (5, 50)] {
            let a = choose(len, n, 7);
            let set: HashSet<usize> = a.iter().copied().collect();
            assert_eq!(set.len(), a.len());
            assert_eq!(a.len(), n.min(len));
            assert!(a.iter().all(|&i| i < len));
            assert_eq!(a, choose(len, n, 7));
        }
        assert_ne!(choose(1000, 10, 1), choose(1000, 10, 2));
    }

    #[test]
    fn stream_paths_parse() {
        assert_eq!(Stream::from_path("/companies"), Some(Stream::Companies));
        assert_eq!(Stream::from_path("/officers/"), Some(Stream::Officers));
        assert_eq!(
            Stream::from_path("/persons-with-significant-control"),
            Some(Stream::Psc)
        );
        assert_eq!(
            Stream::from_path("/persons-with-significant-control-statements"),
            Some(Stream::PscStatements)
        );
        assert_eq!(Stream::parse("psc-statements"), Some(Stream::PscStatements));
        assert_eq!(
            "PSC-Statements".parse::<BurstKind>(),
            Ok(BurstKind::PscStatements)
        );
        assert_eq!(Stream::from_path("/officers/abc/appointments"), None);
        assert_eq!(
            Stream::from_path("/company/00000006/persons-with-significant-control-statements"),
            None
        );
        assert_eq!(Stream::from_path("/company/00000006"), None);
    }
}
