//! No secret value appears anywhere a run writes: stdout, stderr with
//! trace-level logs, the output file, the report, the metrics file, the
//! audit log and the cache directory (SQLite files included).

use std::path::Path;

use leadgen_fakes::{
    DEMO_FACEBOOK_APP_ID, DEMO_FACEBOOK_APP_SECRET, DEMO_LINKEDIN_ACCESS_TOKEN, DEMO_X_API_KEY,
    DEMO_X_API_SECRET, DEMO_X_BEARER_TOKEN,
};

use super::common::{Fake, KEY, csv_file, stderr};

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn no_secret_appears_in_anything_a_full_run_writes() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name,postcode,website\n\
         Smith & Jones Joinery Ltd,ST4 2RS,https://www.smithandjonesjoinery.co.uk\n\
         Yorkshire Air Ambulance Limited,HX5 0HQ,https://yorkshireairambulance.org.uk\n",
    );
    let cache = dir.path().join("cache");
    let (report, metrics, audit, output) = (
        dir.path().join("report.json"),
        dir.path().join("metrics.prom"),
        dir.path().join("audit.jsonl"),
        dir.path().join("out.jsonl"),
    );
    let url = fake.server.base_url();
    // Both ways X is authenticated: a bearer token, and key + secret exchanged for one.
    for x_auth in [
        vec![("X_BEARER_TOKEN", DEMO_X_BEARER_TOKEN)],
        vec![
            ("X_API_KEY", DEMO_X_API_KEY),
            ("X_API_SECRET", DEMO_X_API_SECRET),
        ],
    ] {
        let mut cmd = fake.leadgen();
        cmd.env("LEADGEN_CACHE_DIR", &cache)
            .env("LEADGEN_LOG", "trace")
            .env("LEADGEN_X_URL", &url)
            .env("LEADGEN_LINKEDIN_URL", &url)
            .env("LEADGEN_FACEBOOK_URL", &url)
            .env("LINKEDIN_ACCESS_TOKEN", DEMO_LINKEDIN_ACCESS_TOKEN)
            .env("FACEBOOK_APP_ID", DEMO_FACEBOOK_APP_ID)
            .env("FACEBOOK_APP_SECRET", DEMO_FACEBOOK_APP_SECRET);
        for (k, v) in &x_auth {
            cmd.env(k, v);
        }
        let out = cmd
            .args(["discover", "-f", "jsonl", "--refresh", "-o"])
            .arg(&output)
            .arg("--report")
            .arg(&report)
            .arg("--metrics-file")
            .arg(&metrics)
            .arg("--audit-log")
            .arg(&audit)
            .arg(&input)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("TRACE") || stderr(&out).contains("trace"),
            "trace logs are on"
        );

        let mut written: Vec<(String, Vec<u8>)> = vec![
            ("stdout".into(), out.stdout.clone()),
            ("stderr".into(), out.stderr.clone()),
        ];
        for p in [&report, &metrics, &audit, &output] {
            written.push((p.display().to_string(), std::fs::read(p).unwrap()));
        }
        for p in files_under(&cache) {
            written.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
        let app_token = format!("{DEMO_FACEBOOK_APP_ID}|{DEMO_FACEBOOK_APP_SECRET}");
        let secrets = [
            KEY,
            DEMO_X_BEARER_TOKEN,
            DEMO_X_API_SECRET,
            DEMO_LINKEDIN_ACCESS_TOKEN,
            DEMO_FACEBOOK_APP_SECRET,
            app_token.as_str(),
        ];
        for (name, bytes) in &written {
            for secret in secrets {
                assert!(!contains(bytes, secret), "a secret appears in {name}");
            }
        }
    }

    // The audit log names each credential used, per run, without its value.
    let audit_text = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<serde_json::Value> = audit_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let providers: Vec<&str> = lines
        .iter()
        .map(|l| l["provider"].as_str().unwrap())
        .collect();
    for p in ["companies_house", "x", "linkedin", "facebook"] {
        assert_eq!(
            providers.iter().filter(|q| **q == p).count(),
            2,
            "{p} audited once per run: {providers:?}"
        );
    }
    let ch = lines
        .iter()
        .find(|l| l["provider"] == "companies_house")
        .unwrap();
    assert_eq!(ch["credential"], "COMPANIES_HOUSE_API_KEY");
    assert!(ch["requests"].as_u64().unwrap() > 0);
    assert_eq!(ch["auth_failures"], 0);
}

#[test]
fn a_refused_key_is_audited() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", "company_name\nYou Limited\n");
    let audit = dir.path().join("audit.jsonl");
    let out = fake
        .leadgen()
        .env("COMPANIES_HOUSE_API_KEY", "wrong-key-4242")
        .env("LEADGEN_AUDIT_LOG", &audit)
        .args(["discover", "-f", "jsonl"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(!text.contains("wrong-key-4242"));
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["provider"], "companies_house");
    assert_eq!(line["auth_failures"], 1);
    assert_eq!(line["disabled"], true);
}
