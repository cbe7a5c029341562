//! What the user sees while a run goes: a progress bar on stderr when it is
//! a terminal, and logs (tracing, to stderr) with the run id on every line,
//! as text or as JSON lines (`--log-format json`).
//!
//! The bar exists only when stderr is a terminal and `-q` is not given; in
//! cron or a pipe nothing but log lines and the summary reach stderr. Log
//! lines are written through [`LogWriter`], which hides the bar while a line
//! is printed so the two never garble each other.

use std::io::{self, Write};
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::gateway::Quota;
use serde_json::{Map, Value};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// A bar on stderr whose line is [`line`]'s, set by the caller at each
/// tick (so what it shows is a pure function of a [`Snapshot`], which the
/// tests render at fixed moments). One per process.
pub fn start() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{wide_msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(250));
    let _ = BAR.set(bar.clone());
    bar
}

/// What a bar shows at one moment. Every long-running subcommand fills
/// the parts it has: `discover` all of them, `register import` rows only,
/// `find` calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub elapsed: Duration,
    /// What is counted ("rows", "pages").
    pub unit: &'static str,
    pub done: u64,
    pub total: Option<u64>,
    /// Companies House calls made, and made plus still expected (`None`
    /// while the plan is being worked out).
    pub calls: Option<Calls>,
    pub matched: Option<(u64, u64)>,
    /// A pause the server imposed: who, and for how much longer.
    pub wait: Option<(String, Duration)>,
    /// Other sources holding calls back at their own pace.
    pub paced: Vec<Paced>,
}

/// A source whose pace holds calls back (a social source's small quota).
#[derive(Debug, Clone, PartialEq)]
pub struct Paced {
    pub who: String,
    /// Calls waiting for their turn now.
    pub waiting: u64,
    /// The quota it is paced at (`None`: not known).
    pub quota: Option<Quota>,
}

/// The calls part of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Calls {
    pub done: u64,
    pub expected: Option<u64>,
    /// The plan is still being worked out (else no expectation is known:
    /// input from stdin cannot be planned ahead).
    pub planning: bool,
    /// The quota calls are paced at (`None`: not known).
    pub quota: Option<Quota>,
}

impl Calls {
    /// Seconds of calls left at the pacing rate; `None` while planning.
    pub fn eta(&self) -> Option<Duration> {
        let left = self.expected?.saturating_sub(self.done);
        let rate = per_second(self.quota);
        (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / rate))
    }
}

fn per_second(quota: Option<Quota>) -> f64 {
    quota.map_or(0.0, |q| q.per_second())
}

fn shown(quota: Option<Quota>) -> String {
    quota.map(|q| q.to_string()).unwrap_or_default()
}

/// The bar's line, what matters first (a narrow terminal cuts the end):
/// `00:01:12 [====>      ] 41/120 rows, 0.57 rows/s | ETA 2m 40s |
/// 160/480 calls, 2.0 req/s, quota 600/5m | 40 matched, 1 failed`. A pause
/// the server imposed shows in place of the ETA; rows held back by another
/// source's pace say so after it.
pub fn line(s: &Snapshot) -> String {
    let mut parts = Vec::new();
    let secs = s.elapsed.as_secs();
    let clock = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    // The bar follows the work: calls when they are known, else the count.
    let fraction = match &s.calls {
        Some(Calls {
            done,
            expected: Some(expected),
            ..
        }) if *expected > 0 => Some(*done as f64 / *expected as f64),
        _ => s.total.filter(|t| *t > 0).map(|t| s.done as f64 / t as f64),
    };
    let bar = fraction.map(|f| {
        let width = 16;
        let filled = ((f.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
        let head = if filled < width { ">" } else { "" };
        format!(
            "[{}{head}{}]",
            "=".repeat(filled),
            " ".repeat(width - filled - head.len())
        )
    });
    let mut count = match s.total {
        Some(t) => format!("{}/{} {}", grouped(s.done), grouped(t), s.unit),
        None => format!("{} {}", grouped(s.done), s.unit),
    };
    if s.elapsed >= Duration::from_secs(1) && s.done > 0 {
        let per = s.done as f64 / s.elapsed.as_secs_f64();
        count.push_str(&format!(", {} {}/s", rate(per), s.unit));
    }
    parts.push(match bar {
        Some(b) => format!("{clock} {b} {count}"),
        None => format!("{clock} {count}"),
    });
    // The later of Companies House's calls left and the calls another
    // source holds back at its pace.
    let held = s
        .paced
        .iter()
        .filter(|p| per_second(p.quota) > 0.0)
        .map(|p| Duration::from_secs_f64(p.waiting as f64 / per_second(p.quota)))
        .max();
    let eta = s
        .calls
        .as_ref()
        .and_then(Calls::eta)
        .map(|e| held.map_or(e, |h| e.max(h)));
    match (&s.wait, eta) {
        (Some((who, wait)), _) => {
            parts.push(format!("waiting {} for {who} quota", duration(*wait)))
        }
        (None, Some(eta)) => parts.push(format!("ETA {}", duration(eta))),
        (None, None) if s.calls.as_ref().is_some_and(|c| c.planning) => {
            parts.push("ETA: planning".to_owned());
        }
        (None, None) => {}
    }
    for p in &s.paced {
        parts.push(format!(
            "{} waiting for {}'s pace ({})",
            p.waiting,
            p.who,
            shown(p.quota)
        ));
    }
    if let Some(c) = &s.calls {
        let done = match c.expected {
            Some(e) => format!("{}/{} calls", grouped(c.done), grouped(e.max(c.done))),
            None => format!("{} calls", grouped(c.done)),
        };
        parts.push(format!(
            "{done}, {} req/s, quota {}",
            rate(per_second(c.quota)),
            shown(c.quota)
        ));
    }
    if let Some((matched, failed)) = s.matched {
        parts.push(format!(
            "{} matched, {} failed",
            grouped(matched),
            grouped(failed)
        ));
    }
    parts.join(" | ")
}

/// A rate for people: `0.22`, `2.0`, `65`, `1,200`.
pub fn rate(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 {
        "0".to_owned()
    } else if x >= 100.0 {
        grouped(x.round() as u64)
    } else if x >= 10.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A duration for people: `<1s`, `41s`, `3m 05s`, `1h 12m`, `30d 00h`.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64().round() as u64;
    match secs {
        0 => "<1s".to_owned(),
        1..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        3600..172_800 => format!("{}h {:02}m", secs / 3600, secs / 60 % 60),
        _ => format!("{}d {:02}h", secs / 86_400, secs / 3600 % 24),
    }
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Calls still expected for a batch: the plan's per row, for the rows not
/// yet written, on top of the calls already made. Extra officer pages and
/// searches show up as calls made beyond the plan, so the expectation
/// grows with them.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// `left[i]`: planned calls of rows `i + 1..` (0-based rows), so the
    /// calls left after `i` rows are written.
    left: Vec<u64>,
}

impl Expected {
    pub fn from_rows(per_row: &[u64]) -> Expected {
        let mut left = vec![0; per_row.len() + 1];
        for i in (0..per_row.len()).rev() {
            left[i] = left[i + 1] + per_row[i];
        }
        Expected { left }
    }

    /// All calls the batch is expected to make, `written` rows in and
    /// `made` calls made.
    pub fn total(&self, written: u64, made: u64) -> u64 {
        let i = usize::try_from(written).unwrap_or(usize::MAX);
        made + self.left.get(i).copied().unwrap_or(0)
    }
}

/// stderr, with the progress bar hidden while a log line is written.
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match BAR.get() {
            Some(bar) if !bar.is_finished() => bar.suspend(|| io::stderr().write_all(buf))?,
            _ => io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

/// The default text format with `run=ID` in front of every line.
pub struct TextWithRunId<F> {
    pub run_id: String,
    pub inner: F,
}

impl<S, N, F> FormatEvent<S, N> for TextWithRunId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "run={} ", self.run_id)?;
        self.inner.format_event(ctx, writer, event)
    }
}

/// One JSON object per line: `timestamp`, `level`, `run_id`, `target`,
/// `message` and the event's `fields`. tracing-subscriber's JSON format
/// writes the line; the run id is added and the message lifted out of the
/// fields, so a log shipper finds both at the top.
pub struct JsonWithRunId {
    run_id: String,
    inner: Format<Json>,
}

impl JsonWithRunId {
    pub fn new(run_id: String) -> JsonWithRunId {
        JsonWithRunId {
            run_id,
            inner: tracing_subscriber::fmt::format()
                .json()
                .with_current_span(false)
                .with_span_list(false),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JsonWithRunId
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut written = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut written), event)?;
        let mut parsed: Map<String, Value> =
            serde_json::from_str(&written).map_err(|_| std::fmt::Error)?;
        let mut fields = match parsed.remove("fields") {
            Some(Value::Object(fields)) => fields,
            _ => Map::new(),
        };
        let mut line = Map::new();
        for key in ["timestamp", "level"] {
            line.insert(key.into(), parsed.remove(key).unwrap_or_default());
        }
        line.insert("run_id".into(), self.run_id.clone().into());
        line.insert("target".into(), parsed.remove("target").unwrap_or_default());
        if let Some(message) = fields.remove("message") {
            line.insert("message".into(), message);
        }
        line.insert("fields".into(), Value::Object(fields));
        let text = serde_json::to_string(&line).map_err(|_| std::fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times_are_rounded_for_people() {
        assert_eq!(rate(0.2232), "0.22");
        assert_eq!(rate(2.0), "2.0");
        assert_eq!(rate(65.4), "65");
        assert_eq!(rate(1234.0), "1,234");
        assert_eq!(rate(0.0), "0");
        assert_eq!(duration(Duration::from_millis(300)), "<1s");
        assert_eq!(duration(Duration::from_secs(41)), "41s");
        assert_eq!(duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(duration(Duration::from_secs(4320)), "1h 12m");
        assert_eq!(grouped(1_200), "1,200");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn the_expectation_grows_with_calls_beyond_the_plan() {
        // Four rows planned at 4, 4, 0 (cached) and 4 calls.
        let e = Expected::from_rows(&[4, 4, 0, 4]);
        assert_eq!(e.total(0, 0), 12);
        assert_eq!(
            e.total(0, 3),
            15,
            "calls of rows in flight count twice until written"
        );
        assert_eq!(e.total(1, 5), 13, "the first row took one extra page");
        assert_eq!(e.total(4, 14), 14);
        assert_eq!(e.total(9, 14), 14, "more rows than planned");
    }

    /// A 10,000-row batch at the real quota (600/5m = 2 req/s), drawn at
    /// fixed moments of a simulated run: the clock is the snapshot's, so
    /// the test controls time instead of sleeping.
    #[test]
    fn the_bar_at_fixed_moments() {
        let per_row: Vec<u64> = (0..10_000)
            .map(|i| if i % 10 == 0 { 0 } else { 4 })
            .collect();
        let expected = Expected::from_rows(&per_row);
        let quota = Quota::new(
            std::num::NonZeroU32::new(600).expect("600"),
            Duration::from_secs(300),
        );
        let at = |secs: u64, written: u64, made: u64, wait: Option<u64>, paced: Option<u64>| {
            line(&Snapshot {
                elapsed: Duration::from_secs(secs),
                unit: "rows",
                done: written,
                total: Some(10_000),
                calls: Some(Calls {
                    done: made,
                    expected: (secs > 0).then(|| expected.total(written, made)),
                    planning: secs == 0,
                    quota: Some(quota),
                }),
                matched: Some((written * 9 / 10, written / 50)),
                wait: wait.map(|w| ("Companies House".to_owned(), Duration::from_secs(w))),
                paced: paced
                    .map(|n| Paced {
                        who: "Facebook".to_owned(),
                        waiting: n,
                        quota: Some(Quota::new(
                            std::num::NonZeroU32::new(200).expect("200"),
                            Duration::from_secs(3600),
                        )),
                    })
                    .into_iter()
                    .collect(),
            })
        };
        let moments = [
            at(0, 0, 0, None, None),
            at(1, 0, 2, None, None),
            at(16, 0, 32, None, None),
            at(600, 290, 1_200, None, None),
            at(601, 290, 1_202, Some(41), None),
            at(3_600, 1_750, 7_200, None, Some(3)),
            at(20_000, 10_000, 36_020, None, None),
        ];
        insta::assert_snapshot!(moments.join("\n"));
    }
}
