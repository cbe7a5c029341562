//! Operations: the run report (`--report`, `--metrics-file`), the output
//! lock, `--plan`, logs and progress, `doctor`, the audit log and secrets.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::common::{Fake, csv_file, stderr};

const INPUT: &str = "id,company_name,company_number\n\
    A,You Limited,\n\
    B,,4475590\n\
    C,,\n\
    D,Zzyzx Qwerty Nonesuch Ltd,\n";

/// `name{labels} value` lines of a Prometheus text file, keyed by
/// `name{labels}`; panics on a line that is not valid exposition format.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert_eq!(kind, "gauge", "{line}");
            assert!(
                typed.insert(name.to_string()),
                "family {name} declared twice"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad metric name in {line:?}"
        );
        assert!(typed.contains(name), "{name} has no # TYPE before it");
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "duplicate {series}"
        );
    }
    samples
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_report_and_metrics_file_carry_the_run_s_figures() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let report = dir.path().join("report.json");
    let metrics = dir.path().join("leadgen.prom");
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl", "--report"])
        .arg(&report)
        .arg("--metrics-file")
        .arg(&metrics)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let requests = fake.stats().requests;
    assert!(requests > 0);

    let r = read_json(&report);
    assert_eq!(r["outcome"], "row_errors");
    assert_eq!(r["exit_code"], 3);
    assert_eq!(r["rows"]["total"], 4);
    assert_eq!(
        (
            &r["rows"]["matched"],
            &r["rows"]["not_found"],
            &r["rows"]["error"]
        ),
        (&Value::from(2), &Value::from(1), &Value::from(1))
    );
    assert!(r["executives"].as_u64().unwrap() > 0);
    let ch = &r["providers"]["companies_house"];
    assert_eq!(ch["requests"].as_u64(), Some(requests), "{ch}");
    assert_eq!(
        (&ch["retries"], &ch["rate_limited"]),
        (&Value::from(0), &Value::from(0))
    );
    assert_eq!(ch["breaker_openings"], 0);
    let latency = &ch["latency_ms"];
    assert_eq!(latency["samples"].as_u64(), Some(requests));
    let p = |k: &str| latency[k].as_f64().unwrap();
    assert!(p("p50") > 0.0 && p("p50") <= p("p95") && p("p95") <= p("p99") && p("p99") <= p("max"));
    let cache = &r["cache"];
    assert_eq!(cache["misses"].as_u64(), Some(requests));
    assert!(cache["tiers"]["memory"]["hit_ratio"].is_f64());
    assert!(r["run_id"].as_str().unwrap().len() >= 8);
    assert!(r["elapsed_seconds"].as_f64().unwrap() > 0.0);

    let m = parse_prometheus(&std::fs::read_to_string(&metrics).unwrap());
    assert_eq!(m["leadgen_run_exit_code"], 3.0);
    assert_eq!(m["leadgen_rows{status=\"matched\"}"], 2.0);
    assert_eq!(m["leadgen_rows{status=\"error\"}"], 1.0);
    assert_eq!(
        m["leadgen_api_requests{provider=\"companies_house\"}"],
        requests as f64
    );
    assert_eq!(
        m["leadgen_api_rate_limited_responses{provider=\"companies_house\"}"],
        0.0
    );
    let q = |q: &str| {
        m[&format!("leadgen_api_latency_seconds{{provider=\"companies_house\",quantile=\"{q}\"}}")]
    };
    assert!(q("0.5") > 0.0 && q("0.5") <= q("0.99"));
    assert!((q("0.99") - p("p99") / 1000.0).abs() < 1e-9);
    // Rows A and B are one company: B is answered from memory.
    assert!(cache["hits"].as_u64().unwrap() > 0);
    assert_eq!(
        Some(m["leadgen_cache_hit_ratio{tier=\"all\"}"]),
        cache["hit_ratio"].as_f64()
    );
    assert!(m.contains_key(&format!(
        "leadgen_run_info{{run_id=\"{}\",outcome=\"row_errors\"}}",
        r["run_id"].as_str().unwrap()
    )));

    // The summary on stderr shows the same.
    let err = stderr(&out);
    assert!(
        err.contains("4 rows: 2 matched, 1 not_found, 0 ambiguous, 1 error"),
        "{err}"
    );
    assert!(err.contains("latency p50/p95/p99"), "{err}");
}

#[test]
fn a_failed_run_still_writes_its_report() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let metrics = dir.path().join("leadgen.prom");
    let out = fake
        .leadgen()
        .args(["discover", "--report"])
        .arg(&report)
        .arg("--metrics-file")
        .arg(&metrics)
        .arg(dir.path().join("missing.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let r = read_json(&report);
    assert_eq!(
        (&r["outcome"], &r["exit_code"]),
        (&Value::from("failed"), &Value::from(2))
    );
    assert!(r["error"].as_str().unwrap().contains("missing.csv"), "{r}");
    let m = parse_prometheus(&std::fs::read_to_string(&metrics).unwrap());
    assert_eq!(m["leadgen_run_exit_code"], 2.0);
}

#[test]
fn a_second_run_on_the_same_output_exits_75_without_doing_anything() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let output = dir.path().join("out.csv");
    let report = dir.path().join("report.json");
    // Stand in for a run in progress: hold its lock the same way it would.
    let lock = leadgen::lock::lock_path(&input, Some(&output), None).unwrap();
    let held = leadgen::lock::acquire(&lock, "test").unwrap();
    let out = fake
        .leadgen()
        .arg("discover")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("another leadgen run is writing") && err.contains("out.csv"),
        "{err}"
    );
    assert_eq!(fake.stats().requests, 0, "no call made");
    assert!(!output.exists() && !report.exists(), "nothing written");

    // Writing to stdout locks on the input file instead.
    let stdout_lock = leadgen::lock::lock_path(&input, None, Some(fake.cache_dir.path())).unwrap();
    let held_stdout = leadgen::lock::acquire(&stdout_lock, "test").unwrap();
    let out = fake.leadgen().arg("discover").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    drop((held, held_stdout));
    let out = fake
        .leadgen()
        .arg("discover")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(output.exists());
}

#[test]
fn the_lock_is_released_when_a_run_is_killed() {
    let fake = Fake::with(|c| c.latency = std::time::Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let output = dir.path().join("out.csv");
    let mut run = fake
        .command()
        .arg("discover")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = leadgen::lock::lock_path(&input, Some(&output), None).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // The temporary output appears once the run holds its lock.
    let temp = dir.path().join(format!(".out.csv.{}.tmp", run.id()));
    while !temp.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(matches!(
        leadgen::lock::acquire(&lock, "test"),
        Err(leadgen::error::Error::Locked { .. })
    ));
    run.kill().unwrap(); // SIGKILL
    run.wait().unwrap();
    leadgen::lock::acquire(&lock, "test").expect("the OS released the killed run's lock");
}

#[test]
fn plan_makes_no_calls_and_counts_what_the_cache_does_not_hold() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", &format!("{INPUT}E,you limited,\n"));
    let output = dir.path().join("out.csv");
    let plan = |fake: &Fake| {
        let out = fake
            .leadgen()
            .args(["discover", "--plan", "-o"])
            .arg(&output)
            .arg(&input)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let cold = plan(&fake);
    assert_eq!(fake.stats().requests, 0, "--plan made a call");
    assert!(!output.exists(), "--plan wrote the output");
    assert!(
        cold.contains("5 rows: 0 need no call (all cached), 1 duplicates, 1 invalid"),
        "{cold}"
    );
    // You Limited by name (4 calls), by number (3), the unknown name (4).
    assert!(
        cold.contains("Companies House: 11 calls (officers 3, profile 3, psc 3, search 2)"),
        "{cold}"
    );
    assert!(
        cold.contains("Names: up to 1 more searches, for the 2 names the cache does not settle"),
        "{cold}"
    );
    assert!(cold.contains("No API calls were made."), "{cold}");

    let run = fake.leadgen().arg("discover").arg(&input).output().unwrap();
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    let after_run = fake.stats().requests;
    let warm = plan(&fake);
    assert_eq!(fake.stats().requests, after_run, "--plan made a call");
    assert!(warm.contains("3 need no call (all cached)"), "{warm}");
    assert!(warm.contains("Companies House: 0 calls (none)"), "{warm}");
}

#[test]
fn every_log_line_carries_the_run_id_and_no_progress_bar_is_drawn_into_a_pipe() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let report = dir.path().join("report.json");
    let run = |format: &str| {
        let out = fake
            .leadgen()
            .args(["-vv", "--log-format", format, "discover", "--report"])
            .arg(&report)
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let run_id = read_json(&report)["run_id"].as_str().unwrap().to_string();
        (stderr(&out), run_id)
    };

    let (err, run_id) = run("json");
    let mut logs = 0;
    for line in err.lines() {
        if line.starts_with("leadgen: ") {
            continue; // the summary
        }
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(v["run_id"], run_id.as_str(), "{line}");
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
        logs += 1;
    }
    assert!(logs > 0, "-vv logs something: {err}");
    assert!(err.contains(&format!("(run {run_id})")), "{err}");

    let (err, run_id) = run("text");
    let logs: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("leadgen: "))
        .collect();
    assert!(!logs.is_empty(), "{err}");
    for line in logs {
        assert!(line.starts_with(&format!("run={run_id} ")), "{line}");
    }
    // No bar: stderr is a pipe here.
    assert!(
        !err.contains('\r') && !err.contains("ETA") && !err.contains("rows/s"),
        "{err}"
    );
}

/// The bar as a person sees it: `discover` under a real pseudo-terminal
/// (util-linux `script`, in every Debian install), then `find` and
/// `register import` the same way. Each draws the shared bar from its
/// first moment (calls and pacing for `discover`), and it is cleared before
/// the summary.
#[test]
fn under_a_pseudo_terminal_every_long_command_draws_the_same_bar() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let under_pty = |args: &str| -> String {
        let leadgen = env!("CARGO_BIN_EXE_leadgen");
        let mut cmd = fake.command();
        cmd.env_remove("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT")
            // Slow enough that the bar is drawn while calls are paced.
            .env("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT", "20/1s");
        let out = std::process::Command::new("script")
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .env("TERM", "xterm")
            .args(["-qfec", &format!("{leadgen} {args}"), "/dev/null"])
            .current_dir(cmd.get_current_dir().unwrap_or(Path::new(".")))
            .output()
            .expect("util-linux script runs");
        String::from_utf8_lossy(&out.stdout).replace('\r', "\n")
    };
    let seen = under_pty(&format!(
        "discover {} -o {}",
        input.display(),
        dir.path().join("out.csv").display()
    ));
    assert!(seen.contains("/4 rows"), "{seen}");
    // The pty is 80 columns: the line's end (the quota) may be cut.
    assert!(seen.contains(" calls, 20 req/s, quota 20/"), "{seen}");
    assert!(seen.contains("ETA"), "{seen}");
    assert!(
        seen.contains("leadgen: 4 rows:"),
        "the summary follows: {seen}"
    );
    assert!(seen.contains("warm (every answer cached)"), "{seen}");

    let seen = under_pty(&format!(
        "find --sic-section F -o {}",
        dir.path().join("leads.csv").display()
    ));
    assert!(seen.contains(" companies"), "{seen}");
    assert!(seen.contains(" calls, 20 req/s, quota 20/"), "{seen}");

    let register = leadgen_fakes::companies_house::Register::synthetic(3000, 5);
    let files = leadgen_fakes::bulk::export(&register, dir.path(), "2026-11-01", 1, false).unwrap();
    let seen = under_pty(&format!(
        "register import --cache-dir {} {}",
        dir.path().join("cache").display(),
        files[0].display()
    ));
    // The bar's own line: the clock, then the count.
    assert!(
        seen.lines()
            .any(|l| l.contains("00:00:0") && l.trim_end().ends_with(" rows")
                || l.contains(" rows, ") && l.contains(" rows/s")),
        "{seen}"
    );
    assert!(seen.contains("companies imported"), "{seen}");
}

/// `leadgen diff` over two real `discover` outputs, the second edited as a
/// month of the register would: a director resigns, a new one is appointed,
/// the company goes into liquidation (issue 13).
#[test]
fn diff_reports_appointments_resignations_and_status_changes() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl", "--sources", "ch"])
        .arg(&input)
        .output()
        .unwrap();
    let old = dir.path().join("old.jsonl");
    std::fs::write(&old, &out.stdout).unwrap();
    let mut rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let target = rows
        .iter_mut()
        .find(|r| {
            r["status"] == "matched" && r["executives"].as_array().is_some_and(|e| e.len() >= 2)
        })
        .expect("a matched company with two executives");
    let number = target["company"]["company_number"]
        .as_str()
        .unwrap()
        .to_owned();
    target["company"]["company_status"] = "liquidation".into();
    let executives = target["executives"].as_array_mut().unwrap();
    let leaver = executives[0]["name"].as_str().unwrap().to_owned();
    executives[0]["resigned_on"] = "2026-11-30".into();
    let mut newcomer = executives[1].clone();
    newcomer["name"] = "Priya Natarajan".into();
    newcomer["roles"] = serde_json::json!(["director"]);
    newcomer["appointed_on"] = "2026-11-28".into();
    newcomer["links"]["companies_house_officer"] =
        "https://example.invalid/officers/new/appointments".into();
    executives.push(newcomer);
    let new = dir.path().join("new.json");
    // The later output as JSON (one array): either form is read.
    std::fs::write(&new, serde_json::to_string(&rows).unwrap()).unwrap();

    let out = fake
        .leadgen()
        .args(["diff", "--exit-code"])
        .arg(&old)
        .arg(&new)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "changes: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("company_number,company_name,change,person,role,before,after,on\n"),
        "{text}"
    );
    assert!(
        text.contains(",appointed,Priya Natarajan,director,,,2026-11-28"),
        "{text}"
    );
    assert!(text.contains(&format!(",resigned,{leaver},")), "{text}");
    assert!(text.contains(&format!("{number},")), "{text}");
    assert!(
        text.contains(",status_changed,,,active,liquidation,"),
        "{text}"
    );

    // Nothing changed: exit 0, the header only.
    let out = fake
        .leadgen()
        .args(["diff", "--exit-code"])
        .arg(&old)
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);

    // A broken output names its file and line: exit 2.
    let broken = csv_file(
        dir.path(),
        "broken.jsonl",
        "{\"row\":1,\"status\":\"matched\"}\n{not json\n",
    );
    let out = fake
        .leadgen()
        .arg("diff")
        .arg(&old)
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("broken.jsonl: line 2:"),
        "{}",
        stderr(&out)
    );
}
