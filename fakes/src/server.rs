//! HTTP plumbing of the fake: accept loop, auth, the per-key quota, fault
//! injection and counters; the streaming API's connections (`stream.rs`)
//! and the `/__fake/` control endpoints.
//!
//! Built on hyper directly rather than axum because a "dropped" fault must
//! close the connection without any response, which a router cannot express:
//! here the service returns an error and hyper closes the socket unanswered.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::companies_house::LiveRegister;
use super::stream::{self, BurstKind, Hub, Refused, Stream};
use super::synthetic::SplitMix64;
use super::{FakeConfig, Stats, companies_house};

/// Everything the connection tasks share.
pub(crate) struct Shared {
    pub(crate) config: FakeConfig,
    /// `config.data` with the changes the streams have published.
    pub(crate) live: LiveRegister,
    /// The streaming API's logs and connections.
    pub(crate) hub: Arc<Hub>,
    pub(crate) stats: Mutex<Stats>,
    quota: Mutex<HashMap<String, QuotaWindow>>,
    rng: Mutex<SplitMix64>,
}

/// One key's fixed window.
struct QuotaWindow {
    ends: Instant,
    /// Unix seconds at which the window ends, for `X-Ratelimit-Reset`.
    reset_epoch: u64,
    used: u32,
}

/// The state of a window after counting one request.
pub(crate) struct Taken {
    pub(crate) allowed: bool,
    pub(crate) limit: u32,
    pub(crate) used: u32,
    pub(crate) remaining: u32,
    /// Unix seconds at which the window ends.
    pub(crate) reset_epoch: u64,
}

/// The fault draws for one request, all taken up front so the RNG stream
/// (and thus a seeded run) does not depend on which branch a request takes.
pub(crate) struct Draws {
    drop: bool,
    unavailable: bool,
    forbidden: bool,
    pub(crate) too_many: bool,
    slow: bool,
    truncated: bool,
}

/// Returned to hyper to close the connection without answering.
#[derive(Debug)]
pub(crate) struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injected: connection dropped")
    }
}

impl std::error::Error for DroppedConnection {}

/// A whole answer (`Full`) or an open stream (`stream::ChannelBody`).
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// A counter lock poisoned by a panicking test thread must not take the fake down.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(config: FakeConfig) -> Shared {
        let seed = config.faults.seed;
        Shared {
            live: LiveRegister::new(config.data.clone()),
            hub: Hub::new(config.stream.clone()),
            config,
            stats: Mutex::new(Stats::default()),
            quota: Mutex::new(HashMap::new()),
            rng: Mutex::new(SplitMix64::new(seed)),
        }
    }

    fn draw(&self) -> Draws {
        let f = &self.config.faults;
        let mut rng = lock(&self.rng);
        // `x < rate` is never true at 0.0 and always true at 1.0.
        let mut hit = |rate: f64| rng.next_f64() < rate;
        Draws {
            drop: hit(f.rate_drop),
            unavailable: hit(f.rate_503),
            forbidden: hit(f.rate_403),
            too_many: hit(f.rate_429),
            slow: hit(f.rate_slow),
            truncated: hit(f.rate_truncated),
        }
    }

    /// Count the request against `key`'s window; `None` when over the quota.
    fn take_quota(&self, key: &str) -> (bool, RateHeaders) {
        let taken = self.take_window(key, self.config.quota_limit, self.config.quota_window);
        let headers = RateHeaders {
            limit: taken.limit,
            remain: taken.remaining,
            reset: taken.reset_epoch,
            window: window_label(self.config.quota_window),
        };
        (taken.allowed, headers)
    }

    /// Count one request against the fixed window `key` (`limit` per
    /// `length`), opening a new window when the last one has ended.
    pub(crate) fn take_window(&self, key: &str, limit: u32, length: Duration) -> Taken {
        let now = Instant::now();
        let mut windows = lock(&self.quota);
        let window = windows
            .entry(key.to_owned())
            .or_insert_with(|| new_window(now, length));
        if now >= window.ends {
            *window = new_window(now, length);
        }
        let allowed = window.used < limit;
        if allowed {
            window.used += 1;
        }
        Taken {
            allowed,
            limit,
            used: window.used,
            remaining: limit.saturating_sub(window.used),
            reset_epoch: window.reset_epoch,
        }
    }

    pub(crate) async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, DroppedConnection> {
        let path = req.uri().path().to_owned();
        if let Some(admin) = path.strip_prefix("/__fake/") {
            // Not a Companies House path: never delayed, faulted or counted.
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let query = Query::parse(parts.uri.query());
            return Ok(self
                .admin(admin, &parts.method, &query, &body)
                .into_response());
        }
        if let Some(stream) = Stream::from_path(&path) {
            // The streaming API: no REST quota, latency or random faults.
            return Ok(self.stream(stream, req));
        }
        let service = Service::parse(&path);
        {
            let mut stats = lock(&self.stats);
            stats.requests += 1;
            *stats
                .by_endpoint
                .entry(service.endpoint().to_owned())
                .or_default() += 1;
        }
        let (parts, body) = req.into_parts();
        // Only the X token exchange reads a body; a broken one reads as empty.
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let draws = self.draw();
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
        if draws.drop {
            return Err(DroppedConnection);
        }
        if draws.slow {
            tokio::time::sleep(self.config.faults.slow_delay).await;
        }
        let response = if draws.unavailable {
            gateway_error().into_response()
        } else if draws.forbidden && matches!(service, Service::CompaniesHouse(_)) {
            forbidden_page().into_response()
        } else {
            match &service {
                Service::CompaniesHouse(route) => self.answer(&parts, route, &draws),
                Service::X(route) => faulted(
                    super::x::answer(&self, &parts, &body, route, &draws),
                    &draws,
                )
                .into_response(),
                Service::LinkedIn(route) => faulted(
                    super::linkedin::answer(&self, &parts, route, &draws),
                    &draws,
                )
                .into_response(),
                Service::Facebook(route) => faulted(
                    super::facebook::answer(&self, &parts, route, &draws),
                    &draws,
                )
                .into_response(),
            }
        };
        self.count(response.status());
        Ok(response)
    }

    fn answer(&self, req: &Parts, route: &Route, draws: &Draws) -> Response<Body> {
        let Some(key) = authorised_key(req, &self.config.api_key, &self.config.other_api_keys)
        else {
            return json_response(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "Invalid Authorization", "type": "ch:service"}),
            )
            .into_response();
        };
        let (allowed, rate) = self.take_quota(&key);
        let reply = if !allowed || draws.too_many {
            // The real 429 body is undocumented; send none rather than invent one.
            empty(StatusCode::TOO_MANY_REQUESTS)
        } else if req.method != Method::GET {
            empty(StatusCode::METHOD_NOT_ALLOWED)
        } else {
            let query = Query::parse(req.uri.query());
            let reply = self.route(route, &query);
            if draws.truncated && reply.status == StatusCode::OK {
                truncate(reply)
            } else {
                reply
            }
        };
        let mut response = reply.into_response();
        rate.apply(&mut response);
        response
    }

    fn route(&self, route: &Route, query: &Query) -> Reply {
        let data = &self.live;
        match route {
            Route::Search => {
                let Some(q) = query.get("q").filter(|q| !q.trim().is_empty()) else {
                    // `q` is required; the real error body for its absence is undocumented.
                    return empty(StatusCode::BAD_REQUEST);
                };
                let (start, per_page) = query.paging(20);
                json_response(StatusCode::OK, &data.search(q, start, per_page))
            }
            Route::AdvancedSearch => {
                let size = match query.get("size").map(str::trim) {
                    None | Some("") => 20,
                    Some(s) => match s.parse::<usize>() {
                        // The spec's range is 1 to 5000; its 400 body is undocumented.
                        Ok(n) if (1..=5000).contains(&n) => n,
                        _ => return empty(StatusCode::BAD_REQUEST),
                    },
                };
                let start = query
                    .get("start_index")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                let list = |key: &str| -> Vec<String> {
                    query
                        .all(key)
                        .flat_map(|v| v.split(','))
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .collect()
                };
                let text = |key: &str| {
                    query
                        .get(key)
                        .map(str::to_owned)
                        .filter(|v| !v.trim().is_empty())
                };
                // The spec types these `date`; anything else is a bad request.
                for key in [
                    "incorporated_from",
                    "incorporated_to",
                    "dissolved_from",
                    "dissolved_to",
                ] {
                    if let Some(v) = text(key)
                        && !is_iso_date(v.trim())
                    {
                        return json_response(
                            StatusCode::BAD_REQUEST,
                            &json!({"errors": [{"error": format!("{key} must be a date as YYYY-MM-DD"), "type": "ch:validation", "location": key, "location_type": "request-parameter"}]}),
                        );
                    }
                }
                let filter = companies_house::AdvancedFilter {
                    name_includes: text("company_name_includes"),
                    name_excludes: text("company_name_excludes"),
                    location: text("location"),
                    statuses: list("company_status"),
                    types: list("company_type"),
                    subtypes: list("company_subtype"),
                    sic_codes: list("sic_codes"),
                    incorporated_from: text("incorporated_from"),
                    incorporated_to: text("incorporated_to"),
                    dissolved_from: text("dissolved_from"),
                    dissolved_to: text("dissolved_to"),
                };
                match data.advanced_search(&filter, start, size) {
                    Some(body) => json_response(StatusCode::OK, &body),
                    None => empty(StatusCode::NOT_FOUND),
                }
            }
            Route::Profile(number) => {
                if number.chars().count() != 8 {
                    // What the real API does for a 9-character number (forum 8468).
                    return json_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &json!({"exception_id": exception_id(number), "error": "Internal server error"}),
                    );
                }
                match data.profile(number) {
                    Some(profile) => json_response(StatusCode::OK, &profile),
                    None => json_response(
                        StatusCode::NOT_FOUND,
                        &json!({"errors": [{"type": "ch:service", "error": "company-profile-not-found"}]}),
                    ),
                }
            }
            Route::Officers(number) => {
                let (start, per_page) = query.paging(35);
                match data.officer_list(number, start, per_page) {
                    Some(body) => json_response(StatusCode::OK, &body),
                    None => empty(StatusCode::NOT_FOUND),
                }
            }
            Route::Appointments(officer_id) => {
                // The default page is the officer list's 35 (observed). The
                // spec (officerAppointmentList.json) documents no maximum
                // for items_per_page, so the cap is the fake's own: 50.
                let (start, per_page) = query.paging_up_to(35, APPOINTMENTS_MAX_PAGE);
                // `active` is the spec's only filter value; what the real API
                // does with others is undocumented, so here they filter nothing.
                let active_only = query.get("filter").is_some_and(|f| f.trim() == "active");
                match data.appointment_list(officer_id, start, per_page, active_only) {
                    Some(body) => json_response(StatusCode::OK, &body),
                    // The real 404 body is undocumented: none.
                    None => empty(StatusCode::NOT_FOUND),
                }
            }
            Route::Psc(number) => {
                let (start, per_page) = query.paging(25);
                match data.psc_list(number, start, per_page) {
                    Some(body) => json_response(StatusCode::OK, &body),
                    None => empty(StatusCode::NOT_FOUND),
                }
            }
            Route::PscStatements(number) => {
                let (start, per_page) = query.paging(25);
                match data.psc_statement_list(number, start, per_page) {
                    Some(body) => json_response(StatusCode::OK, &body),
                    None => empty(StatusCode::NOT_FOUND),
                }
            }
            Route::Other => empty(StatusCode::NOT_FOUND),
        }
    }

    /// A connection attempt to a stream: counted, authorised with a
    /// streaming key, then an injected failure if one is pending, else the
    /// stream from the requested timepoint.
    fn stream(&self, stream: Stream, req: Request<Incoming>) -> Response<Body> {
        {
            let mut stats = lock(&self.stats);
            stats.requests += 1;
            *stats
                .by_endpoint
                .entry(stream.endpoint().to_owned())
                .or_default() += 1;
        }
        let (parts, _body) = req.into_parts();
        let response = self.open_stream(stream, &parts);
        self.count(response.status());
        response
    }

    fn open_stream(&self, stream: Stream, req: &Parts) -> Response<Body> {
        let key = basic_user(req).filter(|user| self.hub.accepts(user));
        let Some(key) = key else {
            return json_response(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "Invalid Authorization", "type": "ch:service"}),
            )
            .into_response();
        };
        if req.method != Method::GET {
            return empty(StatusCode::METHOD_NOT_ALLOWED).into_response();
        }
        if let Some(status) = self.hub.take_failure() {
            return match stream::failure_page(status) {
                Some(page) => Reply {
                    status,
                    body: Bytes::from_static(page.as_bytes()),
                    content_type: Some("text/html"),
                    headers: Vec::new(),
                },
                None => empty(status),
            }
            .into_response();
        }
        let query = Query::parse(req.uri.query());
        match self.hub.open(&key, stream, query.get("timepoint")) {
            Ok(body) => Response::new(body.boxed()),
            // The real 416 body is undocumented: none.
            Err(Refused::RangeNotSatisfiable) => {
                empty(StatusCode::RANGE_NOT_SATISFIABLE).into_response()
            }
        }
    }

    fn admin(&self, path: &str, method: &Method, query: &Query, body: &[u8]) -> Reply {
        let bad = |what: String| json_response(StatusCode::BAD_REQUEST, &json!({ "error": what }));
        match (method, path) {
            (&Method::GET, "stats") => {
                let stats = lock(&self.stats).clone();
                json_response(StatusCode::OK, &stats.to_json())
            }
            (&Method::POST, "stats/reset") => {
                *lock(&self.stats) = Stats::default();
                empty(StatusCode::NO_CONTENT)
            }
            (&Method::GET, "stream/stats") => {
                json_response(StatusCode::OK, &self.hub.stats().to_json())
            }
            (&Method::POST, "stream/burst") => {
                let kind: BurstKind = match query.get("kind").unwrap_or_default().parse() {
                    Ok(kind) => kind,
                    Err(e) => return bad(e),
                };
                let number = |key: &str, default: u64| match query.get(key) {
                    None => Ok(default),
                    Some(v) => v
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| format!("{key}={v:?} is not a number")),
                };
                let (companies, seed) = match (number("companies", 1), number("seed", 0)) {
                    (Ok(c), Ok(s)) => (c, s),
                    (Err(e), _) | (_, Err(e)) => return bad(e),
                };
                let burst = self.publish_burst(kind, companies as usize, seed);
                json_response(StatusCode::OK, &json!(burst))
            }
            (&Method::POST, "stream/raw") => {
                let Some(stream) = query.get("stream").and_then(Stream::parse) else {
                    return bad("stream= must be companies, officers, \
                         persons-with-significant-control or \
                         persons-with-significant-control-statements (psc-statements)"
                        .into());
                };
                let line = String::from_utf8_lossy(body);
                let timepoint = self.publish_raw(stream, &line);
                json_response(StatusCode::OK, &json!({ "timepoint": timepoint }))
            }
            (&Method::POST, "stream/disconnect") => {
                let closed = self.hub.disconnect_all();
                json_response(StatusCode::OK, &json!({ "closed": closed }))
            }
            (&Method::POST, "stream/fail") => {
                let status = query
                    .get("status")
                    .and_then(|v| v.trim().parse::<u16>().ok())
                    .and_then(|v| StatusCode::from_u16(v).ok());
                let Some(status) = status else {
                    return bad("status= must be an HTTP status code".into());
                };
                let Ok(times) = query.get("times").unwrap_or("1").trim().parse::<u32>() else {
                    return bad("times= must be a number".into());
                };
                self.hub.fail_connects(status, times);
                empty(StatusCode::NO_CONTENT)
            }
            (&Method::POST, "stream/silence") => {
                let on = match query.get("on").map(|v| v.trim().to_ascii_lowercase()) {
                    None => true,
                    Some(v) if v == "true" || v == "1" || v == "on" => true,
                    Some(v) if v == "false" || v == "0" || v == "off" => false,
                    Some(v) => return bad(format!("on={v:?} is not true or false")),
                };
                self.hub.silence(on);
                empty(StatusCode::NO_CONTENT)
            }
            _ => empty(StatusCode::NOT_FOUND),
        }
    }

    pub(crate) fn publish_burst(
        &self,
        kind: BurstKind,
        companies: usize,
        seed: u64,
    ) -> stream::Burst {
        stream::burst(&self.live, &self.hub, kind, companies, seed)
    }

    /// Append `line` verbatim (without a trailing newline of its own) to
    /// `stream`; returns the timepoint slot it took.
    pub(crate) fn publish_raw(&self, stream: Stream, line: &str) -> u64 {
        let line = line.trim_end_matches(['\n', '\r']);
        self.hub.publish(stream, |_| line.as_bytes().to_vec())
    }

    pub(crate) fn count(&self, status: StatusCode) {
        let mut stats = lock(&self.stats);
        match status.as_u16() {
            401 => stats.served_401 += 1,
            404 => stats.served_404 += 1,
            429 => stats.served_429 += 1,
            500..=599 => stats.served_5xx += 1,
            _ => {}
        }
    }
}

fn new_window(now: Instant, length: Duration) -> QuotaWindow {
    let end = SystemTime::now() + length;
    let secs = end
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
        .unwrap_or_default();
    QuotaWindow {
        ends: now + length,
        reset_epoch: secs,
        used: 0,
    }
}

/// `5m`, `2s` or `500ms`, as `X-Ratelimit-Window` shows the window.
pub(crate) fn window_label(d: Duration) -> String {
    let ms = d.as_millis();
    if ms > 0 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

struct RateHeaders {
    limit: u32,
    remain: u32,
    reset: u64,
    window: String,
}

impl RateHeaders {
    fn apply(&self, response: &mut Response<Body>) {
        let headers = response.headers_mut();
        let mut set = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        };
        set("x-ratelimit-limit", self.limit.to_string());
        set("x-ratelimit-remain", self.remain.to_string());
        set("x-ratelimit-reset", self.reset.to_string());
        set("x-ratelimit-window", self.window.clone());
    }
}

/// The key when the request carries `Basic base64(KEY:...)` with our key.
/// The real API ignores the password, so this does too.
fn authorised_key(req: &Parts, api_key: &str, others: &[String]) -> Option<String> {
    let user = basic_user(req)?;
    let known = user == api_key || others.contains(&user);
    (known && !user.is_empty()).then_some(user)
}

/// The username of a `Basic base64(USER:...)` authorisation.
fn basic_user(req: &Parts) -> Option<String> {
    let value = req.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, _password) = decoded.split_once(':')?;
    Some(user.to_owned())
}

/// The largest page `/officers/{id}/appointments` serves (the fake's own cap).
const APPOINTMENTS_MAX_PAGE: usize = 50;

enum Route {
    Search,
    AdvancedSearch,
    Profile(String),
    Officers(String),
    /// `/officers/{officer_id}/appointments`.
    Appointments(String),
    Psc(String),
    PscStatements(String),
    Other,
}

impl Route {
    fn parse(path: &str) -> Route {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["search", "companies"] => Route::Search,
            ["advanced-search", "companies"] => Route::AdvancedSearch,
            ["company", n] if !n.is_empty() => Route::Profile((*n).to_owned()),
            ["company", n, "officers"] => Route::Officers((*n).to_owned()),
            ["officers", id, "appointments"] if !id.is_empty() => {
                Route::Appointments((*id).to_owned())
            }
            ["company", n, "persons-with-significant-control"] => Route::Psc((*n).to_owned()),
            ["company", n, "persons-with-significant-control-statements"] => {
                Route::PscStatements((*n).to_owned())
            }
            _ => Route::Other,
        }
    }

    fn endpoint(&self) -> &'static str {
        match self {
            Route::Search => "search",
            Route::AdvancedSearch => "advanced_search",
            Route::Profile(_) => "profile",
            Route::Officers(_) => "officers",
            Route::Appointments(_) => "appointments",
            Route::Psc(_) => "psc",
            Route::PscStatements(_) => "psc_statements",
            Route::Other => "other",
        }
    }
}

pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        Query(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// Every value of a repeated key (`sic_codes=a&sic_codes=b`).
    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `(start_index, items_per_page)`; a missing, unparsable or zero page
    /// size gives the endpoint's default, and no page exceeds 100.
    fn paging(&self, default_per_page: usize) -> (usize, usize) {
        self.paging_up_to(default_per_page, 100)
    }

    /// As [`Query::paging`], with no page exceeding `max_per_page`.
    fn paging_up_to(&self, default_per_page: usize, max_per_page: usize) -> (usize, usize) {
        let number = |k: &str| self.get(k).and_then(|v| v.trim().parse::<usize>().ok());
        let per_page = number("items_per_page")
            .filter(|&n| n > 0)
            .unwrap_or(default_per_page)
            .min(max_per_page);
        (number("start_index").unwrap_or(0), per_page)
    }
}

fn exception_id(seed: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    super::companies_house::etag(&[seed, &nanos.to_string()])[..24].to_owned()
}

/// A response before it becomes hyper's, so faults can still rewrite the body.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    body: Bytes,
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Full::new(self.body).boxed());
        *response.status_mut() = self.status;
        if let Some(ct) = self.content_type {
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }

    /// The same reply with one more header.
    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Reply {
    Reply {
        status,
        body: Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
        content_type: Some("application/json"),
        headers: Vec::new(),
    }
}

/// An RFC 7807 problem, as X sends its errors.
pub(crate) fn problem_response(status: StatusCode, body: &Value) -> Reply {
    Reply {
        content_type: Some("application/problem+json"),
        ..json_response(status, body)
    }
}

pub(crate) fn empty(status: StatusCode) -> Reply {
    Reply {
        status,
        body: Bytes::new(),
        content_type: None,
        headers: Vec::new(),
    }
}

/// The truncation fault applied to a social reply.
fn faulted(reply: Reply, draws: &Draws) -> Reply {
    if draws.truncated && reply.status == StatusCode::OK {
        truncate(reply)
    } else {
        reply
    }
}

/// Which fake API a path belongs to.
enum Service {
    CompaniesHouse(Route),
    X(super::x::Route),
    LinkedIn(super::linkedin::Route),
    Facebook(super::facebook::Route),
}

impl Service {
    fn parse(path: &str) -> Service {
        if path == "/oauth2/token" || path.starts_with("/2/") {
            Service::X(super::x::Route::parse(path))
        } else if path.starts_with("/rest/") {
            Service::LinkedIn(super::linkedin::Route::parse(path))
        } else if super::facebook::is_graph_path(path) {
            Service::Facebook(super::facebook::Route::parse(path))
        } else {
            Service::CompaniesHouse(Route::parse(path))
        }
    }

    fn endpoint(&self) -> &'static str {
        match self {
            Service::CompaniesHouse(route) => route.endpoint(),
            Service::X(route) => route.endpoint(),
            Service::LinkedIn(route) => route.endpoint(),
            Service::Facebook(route) => route.endpoint(),
        }
    }
}

/// What a load balancer in front of the API sends when the backend is down:
/// an HTML page, not JSON, so the client must not try to parse it.
fn gateway_error() -> Reply {
    const PAGE: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n";
    Reply {
        status: StatusCode::SERVICE_UNAVAILABLE,
        body: Bytes::from_static(PAGE.as_bytes()),
        content_type: Some("text/html"),
        headers: Vec::new(),
    }
}

/// A sporadic 403 (Companies House's IP-level blocking): a proxy's page.
fn forbidden_page() -> Reply {
    const PAGE: &str = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n</body>\r\n</html>\r\n";
    Reply {
        status: StatusCode::FORBIDDEN,
        body: Bytes::from_static(PAGE.as_bytes()),
        content_type: Some("text/html"),
        headers: Vec::new(),
    }
}

/// The same answer with its body cut in half; Content-Length follows the
/// cut body, so the client sees a complete transfer of invalid JSON.
fn truncate(mut reply: Reply) -> Reply {
    reply.body = reply.body.slice(..reply.body.len() / 2);
    reply
}

/// `YYYY-MM-DD` with a month and day in range.
fn is_iso_date(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && v[..4].bytes().all(|c| c.is_ascii_digit())
        && v[5..7].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && v[8..10].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
}
