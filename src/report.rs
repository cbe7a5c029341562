//! What a run did, for people and for machines: the summary printed on
//! stderr, `--report FILE` (JSON) and `--metrics-file FILE` (Prometheus text
//! format, for node_exporter's textfile collector).
//!
//! All three are built from one [`Report`], so they cannot disagree. A run
//! that fails before it finishes still writes a report (outcome `failed` or
//! `interrupted`, with its exit code and message), so a cron job's metrics
//! show the failure instead of yesterday's success. Files are written to a
//! temporary name and renamed, so a collector never reads half a file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::cache::CacheStats;
use crate::error::exit;
use crate::gateway::{Provider, ProviderStats};
use crate::output::Status;
use crate::pipeline::RunSummary;

/// One run's figures, as written to `--report`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run_id: String,
    /// `ok`, `row_errors`, `failed` or `interrupted`.
    pub outcome: &'static str,
    pub exit_code: u8,
    /// Why the run failed; `None` when it finished.
    pub error: Option<String>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub elapsed_seconds: f64,
    /// About how long the same batch would take warm (every answer cached).
    pub warm_estimate_seconds: f64,
    pub rows: Rows,
    pub executives: u64,
    /// Social lookups that failed while the row kept the register's answer.
    pub source_warnings: u64,
    pub providers: BTreeMap<Provider, ProviderReport>,
    pub cache: CacheReport,
    pub skipped_sources: Vec<String>,
    pub credential_refused: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Rows {
    pub total: u64,
    pub matched: u64,
    /// Matched, but outside the `--sic` industry (not fetched further).
    pub filtered: u64,
    pub not_found: u64,
    pub ambiguous: u64,
    pub error: u64,
    /// Written from the journal of an interrupted earlier run.
    pub resumed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProviderReport {
    /// Requests sent, retries included.
    pub requests: u64,
    pub successes: u64,
    pub failures: u64,
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    pub breaker_openings: u64,
    /// Calls refused at once because the breaker was open.
    pub breaker_rejections: u64,
    pub auth_failures: u64,
    /// Switched off for the rest of the run (refused credential, or an
    /// access the app lacks).
    pub disabled: bool,
    /// The access the app lacks, when that is why it was switched off.
    pub missing_access: Option<&'static str>,
    /// Summed over tasks.
    pub quota_wait_seconds: f64,
    pub latency_ms: LatencyReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    pub samples: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheReport {
    pub lookups: u64,
    pub hits: u64,
    /// Fetched from the provider.
    pub misses: u64,
    /// Hits / lookups, 0..1 (0 when there were no lookups).
    pub hit_ratio: f64,
    /// Per tier: lookups it answered, and that as a share of all lookups.
    pub tiers: BTreeMap<&'static str, TierReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TierReport {
    pub hits: u64,
    pub hit_ratio: f64,
}

impl Report {
    /// The report of a run that finished (exit 0 or 3).
    pub fn finished(run_id: &str, started: SystemTime, s: &RunSummary) -> Report {
        let exit_code = if s.count(Status::Error) > 0 {
            exit::ROW_ERRORS
        } else {
            exit::OK
        };
        Report {
            run_id: run_id.to_string(),
            outcome: if exit_code == exit::OK {
                "ok"
            } else {
                "row_errors"
            },
            exit_code,
            error: None,
            started_at: rfc3339(started),
            finished_at: rfc3339(SystemTime::now()),
            elapsed_seconds: round3(s.elapsed.as_secs_f64()),
            warm_estimate_seconds: round3(s.warm_estimate.as_secs_f64()),
            rows: Rows {
                total: s.rows,
                matched: s.count(Status::Matched),
                filtered: s.count(Status::Filtered),
                not_found: s.count(Status::NotFound),
                ambiguous: s.count(Status::Ambiguous),
                error: s.count(Status::Error),
                resumed: s.resumed,
            },
            executives: s.executives,
            source_warnings: s.warnings,
            providers: s
                .providers
                .iter()
                .map(|(p, stats)| (*p, ProviderReport::from(stats)))
                .collect(),
            cache: CacheReport::from(&s.cache),
            skipped_sources: s.skipped_sources.clone(),
            credential_refused: s.credential_refused.clone(),
        }
    }

    /// The report of a run that stopped with `error`.
    pub fn failed(run_id: &str, started: SystemTime, error: String, exit_code: u8) -> Report {
        let now = SystemTime::now();
        Report {
            run_id: run_id.to_string(),
            outcome: if exit_code == exit::INTERRUPTED {
                "interrupted"
            } else {
                "failed"
            },
            exit_code,
            error: Some(error),
            started_at: rfc3339(started),
            finished_at: rfc3339(now),
            elapsed_seconds: round3(
                now.duration_since(started)
                    .unwrap_or_default()
                    .as_secs_f64(),
            ),
            warm_estimate_seconds: 0.0,
            rows: Rows::default(),
            executives: 0,
            source_warnings: 0,
            providers: BTreeMap::new(),
            cache: CacheReport::default(),
            skipped_sources: vec![],
            credential_refused: None,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a report serialises");
        s.push('\n');
        s
    }

    /// The Prometheus text exposition format. Values are the last run's, so
    /// every metric is a gauge: each run replaces the file.
    pub fn to_prometheus(&self) -> String {
        let mut m = Metrics::default();
        let finished = self.elapsed_seconds + unix_seconds(&self.started_at).unwrap_or(0.0);
        m.gauge("leadgen_run_info", "The last run; its id is a label.")
            .line(&[("run_id", &self.run_id), ("outcome", self.outcome)], 1.0);
        m.gauge("leadgen_run_exit_code", "Exit code of the last run.")
            .line(&[], f64::from(self.exit_code));
        m.gauge(
            "leadgen_run_finished_timestamp_seconds",
            "When the last run ended, Unix time.",
        )
        .line(&[], finished.round());
        m.gauge("leadgen_run_duration_seconds", "Wall time of the last run.")
            .line(&[], self.elapsed_seconds);
        m.gauge("leadgen_rows", "Input rows of the last run, by status.");
        for (status, n) in [
            ("matched", self.rows.matched),
            ("filtered", self.rows.filtered),
            ("not_found", self.rows.not_found),
            ("ambiguous", self.rows.ambiguous),
            ("error", self.rows.error),
        ] {
            m.line(&[("status", status)], n as f64);
        }
        m.gauge(
            "leadgen_rows_resumed",
            "Rows written from an interrupted run's journal.",
        )
        .line(&[], self.rows.resumed as f64);
        m.gauge("leadgen_executives", "Executives written by the last run.")
            .line(&[], self.executives as f64);
        type Field = fn(&ProviderReport) -> f64;
        let per_provider: [(&str, &str, Field); 8] = [
            (
                "leadgen_api_requests",
                "Requests sent, retries included.",
                |p| p.requests as f64,
            ),
            ("leadgen_api_retries", "Requests that were retries.", |p| {
                p.retries as f64
            }),
            (
                "leadgen_api_failures",
                "Calls that failed after their retries.",
                |p| p.failures as f64,
            ),
            (
                "leadgen_api_rate_limited_responses",
                "HTTP 429 answers received.",
                |p| p.rate_limited as f64,
            ),
            (
                "leadgen_api_breaker_openings",
                "Times the circuit breaker opened.",
                |p| p.breaker_openings as f64,
            ),
            (
                "leadgen_api_auth_failures",
                "Answers refusing the credential.",
                |p| p.auth_failures as f64,
            ),
            (
                "leadgen_api_disabled",
                "1 if the provider was switched off (refused credential).",
                |p| f64::from(u8::from(p.disabled)),
            ),
            (
                "leadgen_api_quota_wait_seconds",
                "Time tasks waited for quota, summed over tasks.",
                |p| p.quota_wait_seconds,
            ),
        ];
        for (name, help, field) in per_provider {
            m.gauge(name, help);
            for (provider, p) in &self.providers {
                m.line(&[("provider", provider.key())], field(p));
            }
        }
        m.gauge(
            "leadgen_api_latency_seconds",
            "Latency per request attempt, by quantile.",
        );
        for (provider, p) in &self.providers {
            for (q, v) in [
                ("0.5", p.latency_ms.p50),
                ("0.95", p.latency_ms.p95),
                ("0.99", p.latency_ms.p99),
            ] {
                m.line(&[("provider", provider.key()), ("quantile", q)], v / 1000.0);
            }
        }
        m.gauge("leadgen_cache_lookups", "Cache lookups of the last run.")
            .line(&[], self.cache.lookups as f64);
        m.gauge(
            "leadgen_cache_hits",
            "Lookups answered by the cache, by tier.",
        );
        for (tier, t) in &self.cache.tiers {
            m.line(&[("tier", tier)], t.hits as f64);
        }
        m.gauge(
            "leadgen_cache_hit_ratio",
            "Share of lookups answered, by tier (\"all\": any tier).",
        )
        .line(&[("tier", "all")], self.cache.hit_ratio);
        for (tier, t) in &self.cache.tiers {
            m.line(&[("tier", tier)], t.hit_ratio);
        }
        m.text
    }
}

impl From<&ProviderStats> for ProviderReport {
    fn from(p: &ProviderStats) -> ProviderReport {
        ProviderReport {
            requests: p.attempts,
            successes: p.successes,
            failures: p.failures,
            retries: p.retries,
            rate_limited: p.rate_limited,
            breaker_openings: p.breaker_openings,
            breaker_rejections: p.rejected,
            auth_failures: p.auth_failures,
            disabled: p.credential_refused || p.missing_access.is_some(),
            missing_access: p.missing_access,
            quota_wait_seconds: p.quota_wait_ms as f64 / 1000.0,
            latency_ms: LatencyReport {
                samples: p.latency.samples,
                p50: p.latency.p50_ms,
                p95: p.latency.p95_ms,
                p99: p.latency.p99_ms,
                max: p.latency.max_ms,
            },
        }
    }
}

impl From<&CacheStats> for CacheReport {
    fn from(c: &CacheStats) -> CacheReport {
        let ratio = |n: u64| round3(c.percent(n) / 100.0);
        CacheReport {
            lookups: c.lookups(),
            hits: c.hits,
            misses: c.misses,
            hit_ratio: ratio(c.hits),
            tiers: [
                ("memory", c.memory_hits),
                ("redis", c.redis_hits),
                ("sqlite", c.sqlite_hits),
            ]
            .into_iter()
            .map(|(tier, hits)| {
                (
                    tier,
                    TierReport {
                        hits,
                        hit_ratio: ratio(hits),
                    },
                )
            })
            .collect(),
        }
    }
}

/// The summary for stderr, one line per subject.
pub fn summary_lines(r: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for note in &r.skipped_sources {
        lines.push(note.clone());
    }
    if r.source_warnings > 0 {
        lines.push(format!(
            "{} social lookups failed; those rows keep the register's answer (see each row's `warnings`)",
            r.source_warnings
        ));
    }
    if let Some(message) = &r.credential_refused {
        lines.push(message.clone());
    }
    lines.push(format!(
        "{} rows{}: {} matched, {}{} not_found, {} ambiguous, {} error; {} executives in {:.1}s (run {})",
        r.rows.total,
        if r.rows.resumed > 0 {
            format!(" ({} resumed from an interrupted run)", r.rows.resumed)
        } else {
            String::new()
        },
        r.rows.matched,
        if r.rows.filtered > 0 {
            format!("{} filtered (outside --sic), ", r.rows.filtered)
        } else {
            String::new()
        },
        r.rows.not_found,
        r.rows.ambiguous,
        r.rows.error,
        r.executives,
        r.elapsed_seconds,
        r.run_id,
    ));
    if r.providers.values().any(|p| p.requests > 0) {
        lines.push(format!(
            "warm (every answer cached) the same batch would take {}",
            if r.warm_estimate_seconds < 0.05 {
                "under 0.1s".to_owned()
            } else if r.warm_estimate_seconds < 10.0 {
                format!("about {:.1}s", r.warm_estimate_seconds)
            } else {
                format!(
                    "about {}",
                    crate::progress::duration(std::time::Duration::from_secs_f64(
                        r.warm_estimate_seconds,
                    ))
                )
            }
        ));
    }
    for (provider, p) in &r.providers {
        if p.requests == 0 && !p.disabled {
            continue;
        }
        let mut line = format!(
            "{provider}: {} requests ({} retries, {} answered 429), latency p50/p95/p99 {}/{}/{} ms, \
             {:.1} task-seconds waiting for quota",
            p.requests,
            p.retries,
            p.rate_limited,
            p.latency_ms.p50,
            p.latency_ms.p95,
            p.latency_ms.p99,
            p.quota_wait_seconds,
        );
        if p.breaker_openings > 0 {
            let _ = write!(line, ", circuit opened {} times", p.breaker_openings);
        }
        if p.auth_failures > 0 {
            let _ = write!(line, ", {} refused the credential", p.auth_failures);
        }
        match (p.disabled, p.missing_access) {
            (true, Some(access)) => {
                let _ = write!(line, ", switched off: the app lacks {access}");
            }
            (true, None) => line.push_str(", switched off"),
            _ => {}
        }
        lines.push(line);
    }
    let c = &r.cache;
    if c.lookups > 0 {
        let tier = |t: &str| c.tiers.get(t).map_or(0.0, |t| t.hit_ratio * 100.0);
        lines.push(format!(
            "cache: {} lookups, {:.1}% answered (memory {:.1}%, redis {:.1}%, sqlite {:.1}%), {} fetched",
            c.lookups,
            c.hit_ratio * 100.0,
            tier("memory"),
            tier("redis"),
            tier("sqlite"),
            c.misses,
        ));
    }
    lines
}

/// A short random id for this run, on every log line and in the reports.
pub fn new_run_id() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// Prometheus text, one gauge family at a time.
#[derive(Default)]
pub struct Metrics {
    text: String,
    name: &'static str,
}

impl Metrics {
    pub fn into_text(self) -> String {
        self.text
    }

    pub fn gauge(&mut self, name: &'static str, help: &str) -> &mut Metrics {
        self.name = name;
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} gauge");
        self
    }

    pub fn line(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Metrics {
        self.text.push_str(self.name);
        if !labels.is_empty() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = write!(self.text, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.text, " {value}");
        self
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `2026-11-22T14:00:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn unix_seconds(rfc: &str) -> Option<f64> {
    let t = humantime::parse_rfc3339(rfc).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs_f64())
}

/// The audit lines of a run: one per provider whose credential was used,
/// naming the credential's variable, never its value.
pub fn audit_lines(r: &Report) -> Vec<String> {
    r.providers
        .iter()
        .filter(|(_, p)| p.requests > 0 || p.auth_failures > 0)
        .map(|(provider, p)| {
            serde_json::json!({
                "time": r.finished_at,
                "run_id": r.run_id,
                "event": "credential_used",
                "provider": provider,
                "credential": crate::sources::policy(*provider).credential_label(),
                "run_outcome": r.outcome,
                "requests": p.requests,
                "successes": p.successes,
                "failures": p.failures,
                "rate_limited": p.rate_limited,
                "auth_failures": p.auth_failures,
                "disabled": p.disabled,
                "missing_access": p.missing_access,
            })
            .to_string()
        })
        .collect()
}

/// Append `lines` to the audit log, creating it (and its directory) if need be.
pub fn append_audit(path: &Path, lines: &[String]) -> std::io::Result<()> {
    use std::io::Write;
    if lines.is_empty() {
        return Ok(());
    }
    crate::private::create_parent(path)?;
    let mut f = crate::private::append(path)?;
    // One write per run keeps concurrent runs' lines whole.
    f.write_all(format!("{}\n", lines.join("\n")).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_round_trip() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_356_000);
        let s = rfc3339(t);
        assert_eq!(s, "2026-11-22T14:00:00Z");
        assert_eq!(unix_seconds(&s), Some(1_795_356_000.0));
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn metrics_are_one_family_per_name_with_escaped_labels() {
        let mut r = Report::failed("abc", SystemTime::now(), "boom".into(), 1);
        r.run_id = "a\"b".into();
        let text = r.to_prometheus();
        assert!(
            text.contains("leadgen_run_info{run_id=\"a\\\"b\",outcome=\"failed\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("leadgen_run_exit_code 1\n"), "{text}");
        let types = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
        let names: std::collections::HashSet<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .collect();
        assert_eq!(types, names.len());
    }
}
