//! `leadgen stream` against the fake streaming API: what following the
//! streams saves a nightly run, resuming, bad lines, refused keys, 416s,
//! the reconnect rules, the two-connection limit and Redis.

use std::time::{Duration, Instant};

use leadgen::stream::{StreamSettings, Waits};
use leadgen::stream_kind::Stream;
use leadgen_fakes::stream::{BurstKind, Stream as FakeStream};
use leadgen_fakes::{DEMO_STREAM_KEY, FakeConfig};

use super::common::{Fake, csv_file, discover_jsonl, jsonl, stderr};
use super::redis_server::RedisServer;

/// Heartbeats and background events fast enough for tests.
fn quick(c: &mut FakeConfig) {
    c.stream.heartbeat = Duration::from_millis(100);
    c.stream.ambient = Some(Duration::from_millis(20));
}

fn stream_cmd(fake: &Fake) -> assert_cmd::Command {
    let mut cmd = fake.leadgen();
    cmd.env("COMPANIES_HOUSE_STREAM_KEY", DEMO_STREAM_KEY).env(
        "LEADGEN_COMPANIES_HOUSE_STREAM_URL",
        fake.server.stream_url(),
    );
    cmd
}

/// `leadgen stream --until-caught-up`, which must succeed.
fn catch_up(fake: &Fake, extra: &[&str]) -> std::process::Output {
    let out = stream_cmd(fake)
        .args(["stream", "--until-caught-up"])
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    out
}

/// Every company of the fake's register, by number.
fn every_company(fake: &Fake, dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::from("company_name,company_number\n");
    for c in fake.server.register().companies() {
        text.push(',');
        text.push_str(c.number());
        text.push('\n');
    }
    csv_file(dir, "all.csv", &text)
}

/// Cached answers that would expire at once, but for the streams' cover.
fn expiring_config(dir: &std::path::Path) -> std::path::PathBuf {
    csv_file(
        dir,
        "expiring.toml",
        "[cache]\nttl_search = \"0s\"\nttl_profile = \"0s\"\nttl_officers = \"0s\"\nttl_psc = \"0s\"\n",
    )
}

fn discover(
    fake: &Fake,
    config: &std::path::Path,
    input: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let config = config.to_str().unwrap();
    let args: Vec<&str> = ["--config", config].iter().chain(extra).copied().collect();
    discover_jsonl(fake, &args, input)
}

#[test]
fn after_following_the_streams_a_rerun_fetches_only_what_changed() {
    let fake = Fake::with(quick);
    let dir = tempfile::tempdir().unwrap();
    let config = expiring_config(dir.path());
    let input = every_company(&fake, dir.path());
    // Follow first: what is cached from then on is covered.
    catch_up(&fake, &[]);
    let before = discover(&fake, &config, &input, &[]);
    let burst = fake.server.publish_burst(BurstKind::Officers, 3, 7);
    assert_eq!(burst.companies.len(), 3);
    let followed = catch_up(&fake, &[]);
    let changes = jsonl(&followed);
    let mut changed: Vec<&str> = changes
        .iter()
        .map(|c| c["company_number"].as_str().unwrap())
        .collect();
    changed.sort_unstable();
    let mut expected: Vec<&str> = burst.companies.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(
        changed,
        expected,
        "one change line per changed cached company: {}",
        stderr(&followed)
    );
    assert!(
        changes
            .iter()
            .all(|c| c["stream"] == "officers" && c["timepoint"].is_u64())
    );
    let err = stderr(&followed);
    assert!(
        err.contains("officers:") && err.contains("caught up"),
        "{err}"
    );

    fake.server.reset_stats();
    let after = discover(&fake, &config, &input, &[]);
    let by = fake.stats().by_endpoint;
    assert_eq!(
        by.get("officers"),
        Some(&3),
        "only the changed companies: {by:?}"
    );
    for endpoint in ["search", "profile", "psc"] {
        assert_eq!(by.get(endpoint), None, "{endpoint}: {by:?}");
    }
    // The new lists are in the output: the diff names the changed companies.
    let old = csv_file(
        dir.path(),
        "old.jsonl",
        &String::from_utf8_lossy(&before.stdout),
    );
    let new = csv_file(
        dir.path(),
        "new.jsonl",
        &String::from_utf8_lossy(&after.stdout),
    );
    let diff = fake
        .leadgen()
        .args(["diff", "-f", "jsonl"])
        .arg(&old)
        .arg(&new)
        .output()
        .unwrap();
    let mut diffed: Vec<String> = jsonl(&diff)
        .iter()
        .map(|c| c["company_number"].as_str().unwrap().to_owned())
        .collect();
    diffed.sort_unstable();
    diffed.dedup();
    assert_eq!(
        diffed,
        expected,
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );

    // Without the stream, the same cache expires at once.
    let lagging = csv_file(
        dir.path(),
        "lagging.toml",
        "[cache]\nttl_search = \"0s\"\nttl_profile = \"0s\"\nttl_officers = \"0s\"\nttl_psc = \"0s\"\n\
         [stream]\nmax_lag = \"0s\"\n",
    );
    fake.server.reset_stats();
    discover(&fake, &lagging, &input, &[]);
    let by = fake.stats().by_endpoint;
    assert!(by.get("profile") >= Some(&70), "{by:?}");
}

#[test]
fn a_rerun_resumes_after_its_timepoint_and_skips_bad_lines_without_losing_it() {
    let fake = Fake::with(quick);
    catch_up(&fake, &["--streams", "officers"]);
    let malformed = fake
        .server
        .publish_raw(FakeStream::Officers, "{\"resource_kind\": ");
    let unknown = fake.server.publish_raw(
        FakeStream::Officers,
        r#"{"resource_kind":"company-charges","resource_uri":"/company/04475590/charges/x","resource_id":"x","event":{"timepoint":0,"published_at":"2026-12-01T00:00:00","type":"changed"}}"#,
    );
    let bad_number = fake.server.publish_raw(
        FakeStream::Officers,
        r#"{"resource_kind":"company-officers","resource_uri":"/company/4475590/appointments/x","resource_id":"x","event":{"timepoint":0,"published_at":"2026-12-01T00:00:00","type":"changed"}}"#,
    );
    assert!(malformed < unknown && unknown < bad_number);
    let metrics = fake.cache_dir.path().join("stream.prom");
    let out = catch_up(
        &fake,
        &[
            "--streams",
            "officers",
            "--metrics-file",
            metrics.to_str().unwrap(),
        ],
    );
    let prom = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        prom.contains("leadgen_stream_lag_seconds{stream=\"officers\"}"),
        "{prom}"
    );
    assert!(
        prom.contains("leadgen_stream_skipped_lines{stream=\"officers\"} 3"),
        "{prom}"
    );
    let err = stderr(&out);
    assert!(err.contains("not a JSON event"), "{err}");
    assert!(err.contains("company-charges"), "{err}");
    assert!(err.contains("\"4475590\""), "{err}");
    assert!(err.contains("3 skipped lines"), "{err}");
    // Nothing is replayed a second time: the skipped lines moved the timepoint on.
    let again = catch_up(&fake, &["--streams", "officers"]);
    let err = stderr(&again);
    assert!(err.contains("0 skipped lines"), "{err}");
}

#[test]
fn a_refused_key_stops_with_a_plain_message_and_no_key_in_it() {
    let fake = Fake::with(quick);
    let out = stream_cmd(&fake)
        .env("COMPANIES_HOUSE_STREAM_KEY", super::common::KEY)
        .args(["stream", "--until-caught-up"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("same key as COMPANIES_HOUSE_API_KEY"), "{err}");

    let wrong = "0f1e2d3c-not-a-stream-key";
    let out = stream_cmd(&fake)
        .env("COMPANIES_HOUSE_STREAM_KEY", wrong)
        .args(["stream", "--until-caught-up"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("refused the streaming key (401)"), "{err}");
    assert!(err.contains("REST API key does not work"), "{err}");
    assert!(!err.contains(wrong), "{err}");
    let out = fake
        .leadgen()
        .args(["stream", "--until-caught-up"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("COMPANIES_HOUSE_STREAM_KEY"));
}

#[test]
fn a_timepoint_too_old_is_said_plainly_and_the_stream_is_followed_afresh() {
    let fake = Fake::with(|c| {
        quick(c);
        c.stream.backlog = 5;
    });
    let first = catch_up(&fake, &["--streams", "psc"]);
    assert!(stderr(&first).contains("caught up"), "{}", stderr(&first));
    for seed in 0..10 {
        fake.server.publish_burst(BurstKind::Psc, 1, 100 + seed);
    }
    let out = catch_up(&fake, &["--streams", "psc"]);
    let err = stderr(&out);
    assert!(err.contains("416: too old"), "{err}");
    assert!(err.contains("normal expiry"), "{err}");
    let doctor = fake
        .leadgen()
        .env("COMPANIES_HOUSE_STREAM_KEY", DEMO_STREAM_KEY)
        .arg("doctor")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains("persons-with-significant-control: lag"),
        "{report}"
    );
    assert!(report.contains("416 at timepoint"), "{report}");
}

/// Library-level: the waits are the settings', so the rules run in
/// milliseconds.
fn settings(fake: &Fake, streams: Vec<Stream>) -> StreamSettings {
    let config = leadgen::config::file::LoadedConfig::default();
    let dir = fake.cache_dir.path().to_path_buf();
    let args = leadgen::cli::StreamArgs {
        until_caught_up: true,
        run_for: None,
        streams: Vec::new(),
        output: "-".into(),
        metrics_file: None,
        stream_url: Some(fake.server.stream_url()),
        cache: leadgen::cli::CacheLocation {
            cache_dir: Some(dir),
            redis_url: None,
        },
    };
    let mut s = leadgen::stream::resolve(&args, &config, |k| {
        (k == "COMPANIES_HOUSE_STREAM_KEY").then(|| DEMO_STREAM_KEY.to_owned())
    })
    .unwrap();
    s.streams = streams;
    s.output = Some(fake.cache_dir.path().join("changes.jsonl"));
    s.waits = Waits {
        after_429: Duration::from_millis(400),
        after_error: Duration::from_millis(150),
        after_network: Duration::from_millis(20),
        max: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(5),
    };
    s.idle_timeout = Duration::from_millis(300);
    s.handover = Duration::from_millis(100);
    s
}

fn follow(s: StreamSettings) -> leadgen::stream::Summary {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(leadgen::stream::follow(s, std::future::pending()))
        .unwrap()
}

#[test]
fn reconnects_wait_as_the_guide_says_and_a_silent_connection_is_reopened() {
    let fake = Fake::with(quick);
    fake.server.fail_stream_connects(429, 1);
    let started = Instant::now();
    let summary = follow(settings(&fake, vec![Stream::Officers]));
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "waited after the 429"
    );
    let run = &summary.streams[&Stream::Officers];
    assert_eq!(run.reconnects_after.get("429"), Some(&1), "{run:?}");
    assert!(run.caught_up);

    fake.server.fail_stream_connects(503, 2);
    let started = Instant::now();
    let summary = follow(settings(&fake, vec![Stream::Officers]));
    // 150 ms, then doubled.
    assert!(started.elapsed() >= Duration::from_millis(450));
    assert_eq!(
        summary.streams[&Stream::Officers]
            .reconnects_after
            .get("http_error"),
        Some(&2)
    );

    fake.server.silence_streams(true);
    let summary = std::thread::scope(|s| {
        let run = s.spawn(|| follow(settings(&fake, vec![Stream::Companies])));
        let opened = fake.server.stream_stats().connections;
        while fake.server.stream_stats().connections < opened + 2 {
            std::thread::sleep(Duration::from_millis(10));
        }
        fake.server.silence_streams(false);
        run.join().unwrap()
    });
    let run = &summary.streams[&Stream::Companies];
    assert!(
        run.reconnects_after.get("was_silent_too_long") >= Some(&1),
        "{run:?}"
    );

    // The service ends a connection: reopened at once.
    let mut s = settings(&fake, vec![Stream::Psc]);
    s.until_caught_up = false;
    s.run_for = Some(Duration::from_millis(800));
    let opened = fake.server.stream_stats().connections;
    let summary = std::thread::scope(|scope| {
        let run = scope.spawn(|| follow(s));
        while fake.server.stream_stats().connections == opened {
            std::thread::sleep(Duration::from_millis(5));
        }
        fake.server.disconnect_streams();
        run.join().unwrap()
    });
    let run = &summary.streams[&Stream::Psc];
    assert_eq!(
        run.reconnects_after.get("was_closed_by_the_server"),
        Some(&1),
        "{run:?}"
    );
    assert_eq!(run.connections, 2, "{run:?}");
}

#[test]
fn four_streams_share_two_connections() {
    let fake = Fake::with(quick);
    let mut s = settings(&fake, Stream::ALL.to_vec());
    s.until_caught_up = false;
    s.run_for = Some(Duration::from_millis(1500));
    s.rotate_after = Duration::from_millis(100);
    let summary = follow(s);
    let stats = fake.server.stream_stats();
    assert!(stats.max_open <= 2, "{stats:?}");
    assert_eq!(stats.closed_oldest, 0, "{stats:?}");
    for stream in Stream::ALL {
        let run = &summary.streams[&stream];
        assert!(
            run.connections >= 2,
            "{stream}: rotated in and out: {run:?}"
        );
        assert!(run.events > 0, "{stream}: {run:?}");
    }
}

#[test]
fn changes_drop_redis_entries_too_so_another_machine_refetches_only_them() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let fake = Fake::with(quick);
    let dir = tempfile::tempdir().unwrap();
    let config = expiring_config(dir.path());
    let input = every_company(&fake, dir.path());
    let url = redis.url();
    catch_up(&fake, &["--redis-url", &url]);
    discover(&fake, &config, &input, &["--redis-url", &url]);
    let burst = fake.server.publish_burst(BurstKind::Psc, 2, 3);
    catch_up(&fake, &["--redis-url", &url]);
    // Another machine: its own empty SQLite, the same Redis.
    let other = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .unwrap();
    fake.server.reset_stats();
    let out = fake
        .leadgen()
        .env("LEADGEN_CACHE_DIR", other.path())
        .arg("--config")
        .arg(&config)
        .args([
            "discover",
            "-f",
            "jsonl",
            "--sources",
            "ch",
            "--redis-url",
            &url,
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    let by = fake.stats().by_endpoint;
    assert_eq!(by.get("psc"), Some(&2), "{burst:?}: {by:?}");
    for endpoint in ["search", "profile", "officers"] {
        assert_eq!(by.get(endpoint), None, "{endpoint}: {by:?}");
    }
}

#[test]
fn a_follower_killed_mid_stream_loses_no_change() {
    let fake = Fake::with(quick);
    let dir = tempfile::tempdir().unwrap();
    let input = every_company(&fake, dir.path());
    catch_up(&fake, &["--streams", "officers"]);
    discover(&fake, &expiring_config(dir.path()), &input, &[]);
    let first_out = dir.path().join("first.jsonl");
    let mut cmd = fake.command();
    cmd.env("COMPANIES_HOUSE_STREAM_KEY", DEMO_STREAM_KEY)
        .env(
            "LEADGEN_COMPANIES_HOUSE_STREAM_URL",
            fake.server.stream_url(),
        )
        .args(["stream", "--streams", "officers", "-o"])
        .arg(&first_out)
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let one = fake.server.publish_burst(BurstKind::Officers, 20, 21);
    while std::fs::read_to_string(&first_out).map_or(0, |t| t.lines().count()) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let two = fake.server.publish_burst(BurstKind::Officers, 20, 22);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let second = catch_up(&fake, &["--streams", "officers"]);
    let mut seen = std::collections::BTreeMap::<(String, u64), u32>::new();
    let first = std::fs::read_to_string(&first_out).unwrap();
    let lines: Vec<serde_json::Value> = first
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .chain(jsonl(&second))
        .collect();
    for c in &lines {
        *seen
            .entry((
                c["company_number"].as_str().unwrap().to_owned(),
                c["timepoint"].as_u64().unwrap(),
            ))
            .or_default() += 1;
    }
    let companies: std::collections::BTreeSet<&str> =
        seen.keys().map(|(c, _)| c.as_str()).collect();
    for c in one.companies.iter().chain(&two.companies) {
        assert!(companies.contains(c.as_str()), "{c} lost: {seen:?}");
    }
    assert!(seen.values().all(|n| *n <= 2), "{seen:?}");
}
