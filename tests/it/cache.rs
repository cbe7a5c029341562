//! The tiered cache, end to end: what a warm re-run costs, the Redis tier
//! (against a real redis-server), and the `cache` subcommands.

use std::time::Duration;

use leadgen_fakes::companies_house::Register;

use super::common::{Fake, csv_file, stderr, synthetic_input};
use super::redis_server::RedisServer;

const DEMO: &str = "fixtures/companies.csv";

fn run(fake: &Fake, extra: &[&str], input: &str) -> std::process::Output {
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl"])
        .args(extra)
        .arg(input)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "exit {:?}: {}",
        out.status.code(),
        stderr(&out)
    );
    out
}

#[test]
fn a_warm_rerun_makes_no_calls_and_gives_identical_output() {
    let fake = Fake::start();
    let cold = run(&fake, &[], DEMO);
    assert!(fake.stats().requests > 0);
    fake.server.reset_stats();
    let warm = run(&fake, &[], DEMO);
    assert_eq!(fake.stats().requests, 0, "{:?}", fake.stats());
    assert_eq!(cold.stdout, warm.stdout);
    let err = stderr(&warm);
    assert!(err.contains("0 fetched") && err.contains("sqlite"), "{err}");
}

#[test]
fn refresh_fetches_again_and_no_cache_leaves_the_cache_alone() {
    let fake = Fake::start();
    let input = "fixtures/companies.csv";
    let first = run(&fake, &["--no-cache"], input);
    let calls = fake.stats().requests;
    assert!(calls > 0);
    fake.server.reset_stats();
    run(&fake, &[], input);
    assert_eq!(
        fake.stats().requests,
        calls,
        "--no-cache wrote nothing to the cache"
    );
    fake.server.reset_stats();
    let refreshed = run(&fake, &["--refresh"], input);
    assert_eq!(fake.stats().requests, calls, "--refresh reads nothing");
    assert_eq!(first.stdout, refreshed.stdout);
    fake.server.reset_stats();
    run(&fake, &[], input);
    assert_eq!(fake.stats().requests, 0);
}

#[test]
fn cache_commands_report_invalidate_prune_and_clear() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name,company_number\nYou Limited,\n,00000001\n",
    );
    let input = input.to_str().unwrap();
    run(&fake, &[], input);
    let cache = |args: &[&str]| {
        let out = fake.leadgen().arg("cache").args(args).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let stats = cache(&["stats"]);
    assert!(stats.contains("companies_house"), "{stats}");
    assert!(stats.contains("last run"), "{stats}");
    assert!(stats.contains("fetched 100.0%"), "{stats}");

    let invalidated = cache(&["invalidate", "--company", "4475590"]);
    assert!(invalidated.contains("04475590"), "{invalidated}");
    let deleted: u64 = invalidated
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        deleted >= 4,
        "profile, officers, psc and the search: {invalidated}"
    );
    fake.server.reset_stats();
    run(&fake, &[], input);
    let by = fake.stats().by_endpoint;
    assert_eq!(
        by.get("profile"),
        Some(&1),
        "only the invalidated company: {by:?}"
    );
    assert_eq!(by.get("search"), Some(&1), "{by:?}");

    assert!(cache(&["prune"]).contains("0 expired"));
    assert!(cache(&["clear"]).contains("entries deleted"));
    fake.server.reset_stats();
    run(&fake, &[], input);
    assert!(fake.stats().by_endpoint.get("profile") >= Some(&1));

    let out = fake
        .leadgen()
        .args(["cache", "invalidate", "--company", "not a number"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn not_found_answers_expire_sooner() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let config = csv_file(dir.path(), "c.toml", "[cache]\nttl_not_found = \"0s\"\n");
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name,company_number\n,04475590\n,99999999\n",
    );
    let args = ["--config", config.to_str().unwrap()];
    run(&fake, &args, input.to_str().unwrap());
    fake.server.reset_stats();
    run(&fake, &args, input.to_str().unwrap());
    let by = fake.stats().by_endpoint;
    assert_eq!(
        by.get("profile"),
        Some(&1),
        "only the unknown number again: {by:?}"
    );
    assert_eq!(by.get("officers"), None, "{by:?}");
}

#[test]
fn two_concurrent_runs_sharing_one_cache_both_complete() {
    let fake = Fake::with(|c| {
        c.data = Register::synthetic(150, 3);
        c.latency = Duration::from_millis(2);
    });
    let dir = tempfile::tempdir().unwrap();
    let input = synthetic_input(dir.path(), &fake_register(150, 3));
    let spawn = |out: &str| {
        fake.command()
            .args(["discover", "-f", "jsonl", "-o"])
            .arg(dir.path().join(out))
            .arg(&input)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("a.jsonl"), spawn("b.jsonl"));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let a = std::fs::read_to_string(dir.path().join("a.jsonl")).unwrap();
    let b = std::fs::read_to_string(dir.path().join("b.jsonl")).unwrap();
    assert_eq!(a.lines().count(), 150);
    assert_eq!(a, b);
    fake.server.reset_stats();
    run(&fake, &[], input.to_str().unwrap());
    assert_eq!(fake.stats().requests, 0, "both runs' answers were kept");
}

fn fake_register(n: usize, seed: u64) -> Register {
    Register::synthetic(n, seed)
}

#[test]
fn a_second_process_with_an_empty_sqlite_cache_is_served_by_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let fake = Fake::start();
    let url = redis.url();
    let cold = run(&fake, &["--redis-url", &url], DEMO);
    fake.server.reset_stats();
    let other_dir = tempfile::tempdir().unwrap();
    let warm = fake
        .leadgen()
        .env("LEADGEN_CACHE_DIR", other_dir.path())
        .env("LEADGEN_REDIS_URL", &url)
        .args(["discover", "-f", "jsonl", DEMO])
        .output()
        .unwrap();
    assert_eq!(fake.stats().requests, 0, "{:?}", fake.stats());
    assert_eq!(cold.stdout, warm.stdout);
    let err = stderr(&warm);
    assert!(
        err.contains("redis 100.0%") || err.contains("memory"),
        "{err}"
    );
    assert!(!err.contains("redis 0.0%"), "{err}");

    let stats = fake
        .leadgen()
        .args(["cache", "stats", "--redis-url", &url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("redis") && l.contains("companies_house")),
        "{text}"
    );
}

#[test]
fn a_tls_redis_is_shared_and_its_certificate_is_checked() {
    let Some(redis) = RedisServer::start_tls() else {
        return;
    };
    let fake = Fake::start();
    let url = redis.url();
    assert!(url.starts_with("rediss://"), "{url}");
    let ca = redis.ca_file.clone().unwrap();
    // Without the private CA the server's certificate is not trusted: the
    // run carries on without Redis, and says so.
    let untrusted = run(&fake, &["--redis-url", &url], DEMO);
    let err = stderr(&untrusted);
    assert!(err.contains("Redis cache unavailable"), "{err}");

    let cold = fake
        .leadgen()
        .env("LEADGEN_REDIS_URL", &url)
        .env("LEADGEN_REDIS_CA_FILE", &ca)
        .args(["discover", "-f", "jsonl", DEMO])
        .output()
        .unwrap();
    let err = stderr(&cold);
    assert!(!err.contains("Redis cache unavailable"), "{err}");
    assert!(!err.contains("without TLS"), "{err}");
    fake.server.reset_stats();
    let other_dir = tempfile::tempdir().unwrap();
    let warm = fake
        .leadgen()
        .env("LEADGEN_CACHE_DIR", other_dir.path())
        .env("LEADGEN_REDIS_URL", &url)
        .env("LEADGEN_REDIS_CA_FILE", &ca)
        .args(["discover", "-f", "jsonl", DEMO])
        .output()
        .unwrap();
    assert_eq!(
        fake.stats().requests,
        0,
        "served by Redis over TLS: {:?}",
        fake.stats()
    );
    assert_eq!(cold.stdout, warm.stdout);

    let doctor = fake
        .leadgen()
        .env("LEADGEN_REDIS_URL", &url)
        .env("LEADGEN_REDIS_CA_FILE", &ca)
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        text.contains("redis connection: encrypted (TLS), no password, server checked against"),
        "{text}"
    );
    assert!(text.contains("redis: reachable"), "{text}");
}

#[test]
fn an_unreachable_redis_is_a_warning_not_a_failure() {
    let fake = Fake::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:secret-pw@127.0.0.1:{port}/0");
    let out = run(&fake, &["--redis-url", &url], DEMO);
    let err = stderr(&out);
    assert_eq!(err.matches("Redis cache unavailable").count(), 1, "{err}");
    assert!(!err.contains("secret-pw"), "{err}");
    fake.server.reset_stats();
    run(&fake, &[], DEMO);
    assert_eq!(fake.stats().requests, 0, "SQLite still cached everything");
}

#[test]
fn redis_stopped_mid_run_does_not_fail_the_run() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let fake = Fake::with(|c| {
        c.data = Register::synthetic(200, 5);
        c.latency = Duration::from_millis(5);
    });
    let dir = tempfile::tempdir().unwrap();
    let input = synthetic_input(dir.path(), &fake_register(200, 5));
    let child = fake
        .command()
        .args([
            "discover",
            "-f",
            "jsonl",
            "--concurrency",
            "2",
            "--redis-url",
        ])
        .arg(redis.url())
        .arg(&input)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    redis.stop();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(lines.lines().count(), 200);
    assert!(!lines.contains("\"error\":{"), "no row failed");
    let err = stderr(&out);
    assert_eq!(
        err.matches("Redis cache unavailable").count(),
        1,
        "warned once: {err}"
    );
}

#[test]
fn answers_from_one_api_are_never_served_for_another() {
    // The bundled fake and the real API share a user's cache directory: keys
    // carry the base URL, so the demo's fictional answers stay the demo's.
    let (a, b) = (Fake::start(), Fake::start());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "company_name,company_number\n,04475590\n").unwrap();
    for fake in [&a, &b] {
        let out = fake
            .leadgen()
            .env("LEADGEN_CACHE_DIR", dir.path().join("shared-cache"))
            .args(["discover", "-f", "jsonl"])
            .arg(&input)
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    assert!(a.stats().requests > 0);
    assert_eq!(
        b.stats().requests,
        a.stats().requests,
        "the second API was asked, not the first one's cache"
    );
}
