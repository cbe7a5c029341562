//! Resumable batches: a run killed (or stopped with Ctrl-C) part-way
//! finishes on the next run of the same command, without repeating rows
//! finished before the stop.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use leadgen_fakes::companies_house::Register;
use rand::Rng;

use super::common::{Fake, stderr, synthetic_input};

const ROWS: usize = 240;

fn slow_fake(latency_ms: u64) -> (Fake, Register) {
    let register = Register::synthetic(ROWS, 11);
    let data = register.clone();
    let fake = Fake::with(move |c| {
        c.data = data;
        c.latency = Duration::from_millis(latency_ms);
    });
    (fake, register)
}

/// Run to the end; CSV so that rows reach stdout as they finish.
fn complete(fake: &Fake, input: &std::path::Path) -> (Vec<u8>, String) {
    let out = fake
        .leadgen()
        .args(["discover", "--no-cache", "--concurrency", "4"])
        .arg(input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    (out.stdout.clone(), stderr(&out))
}

/// Start a run and stop it with `signal` once `after` rows have been
/// written; returns the row numbers that were written.
fn stop_after(
    fake: &Fake,
    input: &std::path::Path,
    after: usize,
    signal: &str,
) -> (BTreeSet<u64>, Option<i32>) {
    let mut child = fake
        .command()
        .args(["discover", "--no-cache", "--concurrency", "4"])
        .arg(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    lines.next(); // header
    for line in lines.by_ref() {
        let line = line.unwrap();
        let row: u64 = line.split(',').next().unwrap().parse().unwrap();
        seen.insert(row);
        if seen.len() >= after {
            break;
        }
    }
    Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    // Drain, so the process is not blocked on a full pipe while it stops.
    for line in lines {
        let Ok(line) = line else { break };
        if let Some(row) = line.split(',').next().and_then(|r| r.parse().ok()) {
            seen.insert(row);
        }
    }
    let status = child.wait().unwrap();
    (seen, status.code())
}

fn profile_calls(fake: &Fake) -> u64 {
    fake.stats()
        .by_endpoint
        .get("profile")
        .copied()
        .unwrap_or(0)
}

#[test]
fn killed_runs_resume_without_repeating_finished_rows() {
    let (fake, register) = slow_fake(4);
    let dir = tempfile::tempdir().unwrap();
    let input = synthetic_input(dir.path(), &register);
    let (reference, _) = complete(&fake, &input);
    let mut rng = rand::rng();
    let mut finished = BTreeSet::new();
    for _ in 0..3 {
        fake.server.reset_stats();
        let at = rng.random_range(finished.len() + 5..finished.len() + 60);
        let (seen, code) = stop_after(&fake, &input, at, "-KILL");
        assert_eq!(code, None, "killed by a signal");
        let repeated = profile_calls(&fake);
        // Rows seen before are written from the journal, not looked up.
        assert!(
            repeated as usize <= ROWS - finished.len(),
            "{repeated} profile calls with {} rows already finished",
            finished.len()
        );
        finished.extend(seen);
    }
    fake.server.reset_stats();
    let (resumed, err) = complete(&fake, &input);
    assert_eq!(resumed, reference, "complete, in order, without duplicates");
    assert!(err.contains("resumed from an interrupted run"), "{err}");
    assert!(
        profile_calls(&fake) as usize <= ROWS - finished.len(),
        "{} profile calls, {} rows finished before the kills",
        profile_calls(&fake),
        finished.len()
    );

    // Finished: the journal is gone, so the next run starts afresh.
    fake.server.reset_stats();
    let (again, err) = complete(&fake, &input);
    assert_eq!(again, reference);
    assert!(!err.contains("resumed"), "{err}");
    assert_eq!(profile_calls(&fake) as usize, ROWS);
}

#[test]
fn ctrl_c_exits_130_keeps_the_earlier_output_and_resumes() {
    // About 3 s of work, stopped after 0.7 s.
    let (fake, register) = slow_fake(20);
    let dir = tempfile::tempdir().unwrap();
    let input = synthetic_input(dir.path(), &register);
    let out_path = dir.path().join("out.csv");
    std::fs::write(&out_path, "earlier complete output\n").unwrap();
    let mut child = fake
        .command()
        .args(["discover", "--no-cache", "-o"])
        .arg(&out_path)
        .arg(&input)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "earlier complete output\n"
    );
    fake.server.reset_stats();
    let out = fake
        .leadgen()
        .args(["discover", "--no-cache", "-o"])
        .arg(&out_path)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("resumed"), "{}", stderr(&out));
    assert!((profile_calls(&fake) as usize) < ROWS);
    let text = std::fs::read_to_string(&out_path).unwrap();
    let rows: BTreeSet<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(rows.len(), ROWS);
    let leftovers = super::common::files_in(dir.path()).len();
    assert_eq!(leftovers, 2, "input and output only, no temporary file");
}

#[test]
fn a_killed_runs_temporary_file_is_removed_by_the_next_run() {
    let (fake, register) = slow_fake(20);
    let dir = tempfile::tempdir().unwrap();
    let input = synthetic_input(dir.path(), &register);
    let out_path = dir.path().join("out.jsonl");
    let mut child = fake
        .command()
        .args(["discover", "--no-cache", "-f", "jsonl", "-o"])
        .arg(&out_path)
        .arg(&input)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        super::common::files_in(dir.path()).len(),
        2,
        "input and a temporary file"
    );
    let out = fake
        .leadgen()
        .args(["discover", "--no-cache", "-f", "jsonl", "-o"])
        .arg(&out_path)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap().lines().count(),
        ROWS
    );
    assert_eq!(
        super::common::files_in(dir.path()).len(),
        2,
        "input and output"
    );
}

#[test]
fn a_changed_input_starts_afresh() {
    let (fake, register) = slow_fake(4);
    let dir = tempfile::tempdir().unwrap();
    let input = synthetic_input(dir.path(), &register);
    let (seen, _) = stop_after(&fake, &input, 20, "-KILL");
    assert!(seen.len() >= 20);
    // The same rows, one more at the end: another input.
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push_str("999,Another Company Ltd\n");
    std::fs::write(&input, text).unwrap();
    fake.server.reset_stats();
    let (_, err) = complete(&fake, &input);
    assert!(!err.contains("resumed"), "{err}");
    assert!(profile_calls(&fake) as usize >= ROWS);
}
