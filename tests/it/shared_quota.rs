//! One quota shared by every process on a key, through a real
//! `redis-server` (issue 14): processes side by side make no 429s, a killed
//! one holds nothing, different keys do not slow each other, and a Redis
//! that is wrong or gone leaves each process pacing on its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use leadgen::gateway::Provider;
use leadgen::gateway::shared::{Fingerprint, Reserved, ScopeKey, SharedQuota};
use leadgen_fakes::companies_house::Register;

use super::common::{Fake, KEY, csv_file, stderr};
use super::redis_server::RedisServer;

/// `n` companies of a synthetic register as input rows by number.
fn by_number(dir: &Path, name: &str, register: &Register, from: usize, n: usize) -> PathBuf {
    let mut text = String::from("id,company_name,company_number\n");
    for (i, c) in register.companies().iter().skip(from).take(n).enumerate() {
        text.push_str(&format!("{},\"{}\",{}\n", i + 1, c.name(), c.number()));
    }
    csv_file(dir, name, &text)
}

fn discover(fake: &Fake, input: &Path, redis: Option<&str>) -> Command {
    let mut cmd = fake.command();
    let cache = tempfile::tempdir().unwrap().keep();
    cmd.env("LEADGEN_CACHE_DIR", &cache)
        // Every process believes it has the whole quota.
        .env("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT", "40/2s")
        .args(["-q", "discover", "--sources", "ch", "-o"])
        .arg(cache.join("out.csv"))
        .arg(input)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(url) = redis {
        cmd.env("LEADGEN_REDIS_URL", url);
    }
    cmd
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn processes_on_one_key_share_its_quota_and_make_no_429s() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let register = Register::synthetic(60, 14);
    let fake = Fake::with(|c| {
        c.data = c.data.merged(&register).unwrap();
        c.quota_limit = 40;
        c.quota_window = Duration::from_secs(2);
    });
    let dir = tempfile::tempdir().unwrap();
    // Four processes at once, each on its own companies, sharing the key.
    let children: Vec<_> = (0..4)
        .map(|i| {
            let input = by_number(dir.path(), &format!("in{i}.csv"), &register, i * 6, 6);
            discover(&fake, &input, Some(&redis.url())).spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let shared = fake.stats();
    assert!(shared.requests >= 4 * 6 * 3, "{shared:?}");
    assert_eq!(shared.served_429, 0, "{shared:?}");
    // One Redis round trip per request for the quota (the reserving
    // script, seen as its ZADD), plus one for each task a server pause
    // catches asleep on a slot: a few under a loaded machine's jitter, never
    // a second round trip per request.
    let rt = runtime();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = rt
        .block_on(client.get_multiplexed_async_connection())
        .unwrap();
    let info: String = rt
        .block_on(
            redis::cmd("INFO")
                .arg("commandstats")
                .query_async(&mut conn),
        )
        .unwrap();
    let calls = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=")))
            .and_then(|rest| rest.split(',').next()?.parse().ok())
            .unwrap_or(0)
    };
    let reservations = calls("zadd");
    assert!(
        reservations >= shared.requests && reservations * 4 <= shared.requests * 5,
        "{reservations} reservations for {} requests:\n{info}",
        shared.requests
    );

    // The same without Redis: each paces at the whole quota, and the
    // server says no. (What the shared limiter prevents.)
    let children: Vec<_> = (0..2)
        .map(|i| {
            let input = by_number(
                dir.path(),
                &format!("solo{i}.csv"),
                &register,
                24 + i * 12,
                12,
            );
            discover(&fake, &input, None).spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert!(fake.stats().served_429 > 0, "{:?}", fake.stats());
}

#[test]
fn a_killed_process_holds_no_quota_and_the_next_one_goes_on() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let register = Register::synthetic(40, 15);
    let fake = Fake::with(|c| {
        c.data = c.data.merged(&register).unwrap();
        c.quota_limit = 40;
        c.quota_window = Duration::from_secs(2);
    });
    let dir = tempfile::tempdir().unwrap();
    let key = ScopeKey::new(Provider::CompaniesHouse, None, &Fingerprint::of(KEY));
    let rt = runtime();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = rt
        .block_on(client.get_multiplexed_async_connection())
        .unwrap();
    let input = by_number(dir.path(), "long.csv", &register, 0, 30);
    let mut child = discover(&fake, &input, Some(&redis.url())).spawn().unwrap();
    // Wait (on Redis, not a clock) until it is pacing through the key.
    let mut seen = false;
    for _ in 0..500 {
        let exists: bool = rt
            .block_on(redis::cmd("EXISTS").arg(&key.tat).query_async(&mut conn))
            .unwrap();
        if exists {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen, "the run never paced through {}", key.tat);
    child.kill().unwrap(); // SIGKILL: no cleanup runs.
    child.wait().unwrap();
    // What is left is one instant, at most the slots its tasks had taken
    // (8 in flight, 50.5 ms apart at 40/2s), and it expires on its own.
    let left: i64 = rt
        .block_on(redis::cmd("PTTL").arg(&key.tat).query_async(&mut conn))
        .unwrap();
    assert!(left <= 8 * 51 + 1000 + 100, "{left} ms still held");
    // The next process on the key goes on, with no 429.
    let input = by_number(dir.path(), "next.csv", &register, 30, 5);
    let out = discover(&fake, &input, Some(&redis.url()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fake.stats().served_429, 0);
    // doctor says the quota is shared, and by how many processes lately.
    let out = fake
        .command()
        .env("LEADGEN_REDIS_URL", redis.url())
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Quota: shared through {}", redis.url())),
        "{text}"
    );
    assert!(
        text.contains("Companies House: shared; 2 processes used it in the last 5m"),
        "{text}"
    );
}

#[test]
fn processes_on_different_keys_keep_their_own_quotas() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let register = Register::synthetic(20, 16);
    let other = "second-key-7d1e";
    let fake = Fake::with(|c| {
        c.data = c.data.merged(&register).unwrap();
        c.other_api_keys = vec![other.to_owned()];
        c.quota_limit = 40;
        c.quota_window = Duration::from_secs(2);
    });
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = [KEY, other]
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let input = by_number(dir.path(), &format!("k{i}.csv"), &register, i * 8, 8);
            let mut cmd = discover(&fake, &input, Some(&redis.url()));
            cmd.env("COMPANIES_HOUSE_API_KEY", key);
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(fake.stats().served_429, 0);
    // Two keys, two sets of users in Redis (kept 5 minutes).
    let rt = runtime();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = rt
        .block_on(client.get_multiplexed_async_connection())
        .unwrap();
    let keys: Vec<String> = rt
        .block_on(
            redis::cmd("KEYS")
                .arg("leadgen:quota:v1:companies_house:*:members")
                .query_async(&mut conn),
        )
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|k| !k.contains(KEY) && !k.contains(other)));
}

#[test]
fn keys_are_apart_scripts_reload_and_a_lost_redis_is_local_pacing() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let rt = runtime();
    let shared = rt
        .block_on(SharedQuota::connect(&redis.url(), None))
        .unwrap()
        .retrying_after(Duration::ZERO);
    let a = ScopeKey::new(Provider::CompaniesHouse, None, &Fingerprint::of("key-a"));
    let b = ScopeKey::new(Provider::CompaniesHouse, None, &Fingerprint::of("key-b"));
    let step = Duration::from_millis(200);
    let waits: Vec<Duration> = (0..5)
        .map(|_| match rt.block_on(shared.reserve(&a, step, None)) {
            Reserved::After(w) => w,
            other => panic!("{other:?}"),
        })
        .collect();
    // Slots are handed out evenly spaced, on Redis's clock.
    assert!(waits[0] < Duration::from_millis(50), "{waits:?}");
    assert!(waits[4] > Duration::from_millis(700), "{waits:?}");
    // Another key is not slowed by the first.
    match rt.block_on(shared.reserve(&b, step, None)) {
        Reserved::After(w) => assert!(w < Duration::from_millis(50), "{w:?}"),
        other => panic!("{other:?}"),
    }
    // A caller that will not wait that long takes no slot.
    let far = rt.block_on(shared.reserve(&a, step, Some(Duration::from_millis(100))));
    assert!(
        matches!(far, Reserved::TooLong(w) if w > Duration::from_millis(800)),
        "{far:?}"
    );
    // A pause reaches every process on the key.
    rt.block_on(shared.pause(&b, Duration::from_secs(30)));
    match rt.block_on(shared.reserve(&b, step, None)) {
        Reserved::After(w) => assert!(w > Duration::from_secs(29), "{w:?}"),
        other => panic!("{other:?}"),
    }
    // After SCRIPT FLUSH (as after a Redis restart) the script is loaded again.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = rt
        .block_on(client.get_multiplexed_async_connection())
        .unwrap();
    let _: () = rt
        .block_on(redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut conn))
        .unwrap();
    assert!(matches!(
        rt.block_on(shared.reserve(&a, step, None)),
        Reserved::After(_)
    ));
    // Redis gone: the caller is told to pace on its own.
    redis.stop();
    assert_eq!(
        rt.block_on(shared.reserve(&a, step, None)),
        Reserved::Unavailable
    );
    // Back on the same port: the shared limiter is used again.
    let mut again = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &redis.port.to_string(),
            "--save",
            "",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut back = false;
    for _ in 0..300 {
        if let Reserved::After(_) = rt.block_on(shared.reserve(&a, step, None)) {
            back = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = again.kill();
    let _ = again.wait();
    assert!(back, "the shared limiter did not come back with Redis");
}

#[test]
fn a_wrong_redis_url_is_named_masked_and_the_run_goes_on() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name,company_number\nSmith & Jones Joinery,07234561\n",
    );
    let out = fake
        .command()
        .env(
            "LEADGEN_REDIS_URL",
            "redis://leadgen:hunter2-secret@127.0.0.1:1/0",
        )
        .args(["discover", "--sources", "ch"])
        .arg(&input)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // Masked as leadgen masks every secret: its first and last 4 characters.
    assert!(
        err.contains("redis://leadgen:hunt…cret@127.0.0.1:1/0"),
        "{err}"
    );
    assert!(err.contains("paces on its own"), "{err}");
    assert!(!err.contains("hunter2-secret"), "{err}");
}
