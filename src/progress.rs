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
use serde_json::{Map, Value};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// A progress bar for `total` rows (unknown: a spinner), drawn on stderr.
/// One per process.
pub fn start(total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = match total {
        Some(_) => "{elapsed_precise} [{bar:30}] {pos}/{len} rows, {per_sec}, ETA {eta} | {msg}",
        None => "{elapsed_precise} {spinner} {pos} rows, {per_sec} | {msg}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(250));
    let _ = BAR.set(bar.clone());
    bar
}

/// The bar's message: outcomes so far and any quota wait in progress.
pub fn message(
    matched: u64,
    failed: u64,
    pause: Option<(impl std::fmt::Display, Duration)>,
) -> String {
    let mut m = format!("{matched} matched, {failed} failed");
    if let Some((provider, wait)) = pause {
        m.push_str(&format!(
            " | waiting {}s for {provider} quota",
            wait.as_secs().max(1)
        ));
    }
    m
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
