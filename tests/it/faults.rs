//! The run survives a misbehaving API: every row ends with a status, in
//! order, once; an outage costs a bounded number of requests.

use std::time::{Duration, Instant};

use leadgen_fakes::Faults;

use super::common::{Fake, fixture, jsonl, stderr};

/// Client settings for fast failure handling: short timeout, short backoff.
const FAST_CONFIG: &str = r#"
[companies_house]
timeout = "700ms"
connect_timeout = "500ms"
max_attempts = 5
backoff_base = "20ms"
backoff_max = "150ms"
rate_limited_wait = "200ms"
breaker_threshold = 8
breaker_cooldown = "1s"
"#;

/// The labelled cases: names, numbers, ambiguous and unknown rows.
fn input() -> std::path::PathBuf {
    fixture("labelled/resolve_cases.csv")
}

fn run_with_faults(faults: Faults) -> (std::process::Output, Vec<serde_json::Value>) {
    let fake = Fake::with(|c| {
        c.faults = faults;
        // Injected 429s carry a reset at the end of this window.
        c.quota_window = Duration::from_secs(1);
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("leadgen.toml");
    std::fs::write(&config, FAST_CONFIG).unwrap();
    let out = fake
        .leadgen()
        .arg("--config")
        .arg(&config)
        .args(["discover", "-f", "jsonl", "--concurrency", "8"])
        .arg(input())
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let rows = jsonl(&out);
    (out, rows)
}

fn assert_every_row_accounted_for(out: &std::process::Output, rows: &[serde_json::Value]) {
    let expected = csv::Reader::from_path(input()).unwrap().records().count();
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "exit {:?}: {err}",
        out.status.code()
    );
    assert_eq!(rows.len(), expected, "one output row per input row");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["row"], i as u64 + 1, "input order, no duplicates");
        let status = row["status"].as_str().unwrap();
        assert!(
            ["matched", "not_found", "ambiguous", "error"].contains(&status),
            "{status}"
        );
        if status == "error" {
            let kind = row["error"]["kind"].as_str().unwrap_or("");
            let message = row["error"]["message"].as_str().unwrap_or("");
            assert!(
                !kind.is_empty() && !message.is_empty(),
                "an error says why: {row}"
            );
        } else {
            assert!(row["error"].is_null());
        }
    }
}

fn faults(f: impl FnOnce(&mut Faults)) -> Faults {
    let mut faults = Faults {
        seed: 7,
        slow_delay: Duration::from_secs(3),
        ..Faults::default()
    };
    f(&mut faults);
    faults
}

#[test]
fn every_row_ends_with_a_status_under_429s() {
    // Each 429 pauses the provider until the fake's window resets (~1-2 s).
    let (out, rows) = run_with_faults(faults(|f| f.rate_429 = 0.06));
    assert_every_row_accounted_for(&out, &rows);
    // 429s are waited out, not failed.
    assert!(
        rows.iter().all(|r| r["status"] != "error"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_row_ends_with_a_status_under_503s() {
    let (out, rows) = run_with_faults(faults(|f| f.rate_503 = 0.2));
    assert_every_row_accounted_for(&out, &rows);
}

/// Companies House's sporadic 403s (IP-level blocking, shared docs section
/// 2) fail only the call they answer: the run goes on, and the provider is
/// not switched off as for a refused key (that takes 5 in a row).
#[test]
fn sporadic_403s_fail_only_their_own_calls() {
    let (out, rows) = run_with_faults(faults(|f| f.rate_403 = 0.1));
    assert_every_row_accounted_for(&out, &rows);
    let failed = rows.iter().filter(|r| r["status"] == "error").count();
    assert!(failed > 0, "some rows meet a 403: {}", stderr(&out));
    assert!(
        failed * 2 < rows.len(),
        "{failed} of {} rows failed: {}",
        rows.len(),
        stderr(&out)
    );
    assert!(
        rows.iter()
            .filter(|r| r["status"] == "error")
            .all(|r| r["error"]["kind"] == "credential_refused"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_row_ends_with_a_status_under_slow_answers() {
    let (out, rows) = run_with_faults(faults(|f| f.rate_slow = 0.1));
    assert_every_row_accounted_for(&out, &rows);
}

#[test]
fn every_row_ends_with_a_status_under_truncated_json() {
    let (out, rows) = run_with_faults(faults(|f| f.rate_truncated = 0.2));
    assert_every_row_accounted_for(&out, &rows);
    // A cut-off body is retried, never parsed into a wrong answer.
    assert!(
        rows.iter()
            .all(|r| r["error"]["kind"] != "malformed_response")
    );
}

#[test]
fn every_row_ends_with_a_status_under_dropped_connections() {
    let (out, rows) = run_with_faults(faults(|f| f.rate_drop = 0.2));
    assert_every_row_accounted_for(&out, &rows);
}

#[test]
fn every_row_ends_with_a_status_under_every_fault_at_once() {
    let (out, rows) = run_with_faults(faults(|f| {
        f.rate_429 = 0.05;
        f.rate_503 = 0.05;
        f.rate_slow = 0.03;
        f.rate_truncated = 0.05;
        f.rate_drop = 0.05;
    }));
    assert_every_row_accounted_for(&out, &rows);
}

#[test]
fn an_all_503_server_sees_the_threshold_plus_one_probe_per_cooldown() {
    let fake = Fake::with(|c| c.faults.rate_503 = 1.0);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("leadgen.toml");
    std::fs::write(
        &config,
        "[companies_house]\nmax_attempts = 5\nbackoff_base = \"20ms\"\nbackoff_max = \"50ms\"\n\
         breaker_threshold = 5\nbreaker_cooldown = \"1s\"\n",
    )
    .unwrap();
    let mut text = String::from("company_name\n");
    for i in 0..200 {
        text.push_str(&format!("Company Number {i} Ltd\n"));
    }
    let input = dir.path().join("in.csv");
    std::fs::write(&input, text).unwrap();
    let started = Instant::now();
    let out = fake
        .leadgen()
        .arg("--config")
        .arg(&config)
        .args(["discover", "-f", "jsonl", "--concurrency", "1"])
        .arg(&input)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 200);
    assert!(rows.iter().all(|r| r["status"] == "error"));
    assert!(
        rows.iter()
            .any(|r| r["error"]["kind"] == "provider_unavailable")
    );
    let message = rows.last().unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("Companies House unavailable"),
        "{message}"
    );
    let requests = fake.stats().requests;
    let cooldowns = elapsed.as_secs_f64() / 1.0;
    let bound = 5 + cooldowns.ceil() as u64 + 1;
    assert!(
        requests <= bound,
        "{requests} requests in {elapsed:?} (bound {bound})"
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "an open breaker does not make the run hang: {elapsed:?}"
    );
}
