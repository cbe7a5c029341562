//! `leadgen find` (online through the fake's `/advanced-search/companies`,
//! offline from an imported register), `find | discover`, `discover --sic`
//! and `leadgen sic search` (issue 12).

use std::collections::BTreeSet;
use std::path::Path;

use leadgen_fakes::bulk;
use leadgen_fakes::companies_house::Register;

use super::common::{Fake, fixture, jsonl, stderr};

fn register() -> Register {
    Register::from_path(&fixture("fake-data/companies_house.json"))
        .unwrap()
        .merged(&Register::synthetic(400, 12))
        .unwrap()
}

fn numbers(out: &std::process::Output) -> BTreeSet<String> {
    jsonl(out)
        .iter()
        .map(|c| c["company_number"].as_str().unwrap().to_owned())
        .collect()
}

fn import(fake: &Fake, cache: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let files = bulk::export(&register(), dir.path(), "2026-11-01", 1, false).unwrap();
    let out = fake
        .command()
        .args(["register", "import", "--cache-dir"])
        .arg(cache)
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn online_and_offline_find_agree_and_online_costs_one_call_per_5000() {
    let fake = Fake::with(|c| c.data = register());
    let online = |args: &[&str]| {
        fake.command()
            .args(["find", "-f", "jsonl"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = online(&["--sic-section", "F"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let construction = numbers(&out);
    assert!(construction.len() > 20, "{construction:?}");
    assert_eq!(fake.stats().by_endpoint["advanced_search"], 1);
    for c in jsonl(&out) {
        let codes: Vec<&str> = c["sic_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(
            codes
                .iter()
                .any(|s| s.starts_with("41") || s.starts_with("42") || s.starts_with("43")),
            "{c}"
        );
        assert_eq!(c["company_status"], "active");
    }
    // The same again is answered by the cache.
    let again = online(&["--sic-section", "F"]);
    assert_eq!(numbers(&again), construction);
    assert_eq!(fake.stats().by_endpoint["advanced_search"], 1);
    assert!(stderr(&again).contains("0 calls"), "{}", stderr(&again));

    // A limit: one page of that size, and a note of how many more match.
    let out = online(&["--sic-section", "F", "--limit", "5", "--no-cache"]);
    assert_eq!(numbers(&out).len(), 5);
    assert!(
        stderr(&out).contains(&format!(
            "{} more companies match than --limit 5",
            construction.len() - 5
        )),
        "{}",
        stderr(&out)
    );

    // A postcode area: the API has none, so leadgen keeps those inside it.
    let area: String = jsonl(&online(&["--sic-section", "F"]))[0]["postcode"]
        .as_str()
        .unwrap()
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    let pattern = format!("{area}*");
    let out = online(&["--sic-section", "F", "--postcode", &pattern]);
    let in_area = numbers(&out);
    assert!(!in_area.is_empty() && in_area.is_subset(&construction));
    assert!(
        stderr(&out).contains("no postcode filter"),
        "{}",
        stderr(&out)
    );

    // The same questions from an imported register: the same answers, no call.
    let cache = tempfile::tempdir().unwrap();
    import(&fake, cache.path());
    let before = fake.stats().requests;
    let offline = |args: &[&str]| {
        fake.command()
            .args(["find", "-f", "jsonl", "--cache-dir"])
            .arg(cache.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = offline(&["--sic-section", "F"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(numbers(&out), construction);
    assert!(
        stderr(&out).contains("from the register 2026-11-01; 0 calls"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        numbers(&offline(&["--sic-section", "F", "--postcode", &pattern])),
        in_area
    );
    let plan = offline(&["--sic", "43220", "--plan"]);
    assert!(String::from_utf8_lossy(&plan.stdout).contains("0 calls"));
    assert_eq!(fake.stats().requests, before, "the register answered");
}

#[test]
fn find_feeds_discover_and_discover_sic_filters_without_fetching_officers() {
    let fake = Fake::with(|c| c.data = register());
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("leads.csv");
    let out = fake
        .command()
        .args(["find", "--sic-section", "F", "--limit", "12", "-o"])
        .arg(&list)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&list).unwrap();
    assert!(
        text.starts_with("company_number,company_name,postcode,sic_codes,"),
        "{text}"
    );
    let listed = text.lines().count() - 1;
    assert_eq!(listed, 12);
    // The industry discover keeps: the first company's first code.
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let codes: Vec<String> = reader.records().map(|r| r.unwrap()[3].to_owned()).collect();
    let code = codes[0].split(';').next().unwrap().to_owned();
    let plumbing = codes
        .iter()
        .filter(|c| c.split(';').any(|s| s == code))
        .count();
    assert!(plumbing > 0 && plumbing < listed, "{codes:?}");

    let out = fake
        .command()
        .args(["discover", "-f", "jsonl", "--sic", &code])
        .arg(&list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = jsonl(&out);
    assert_eq!(rows.len(), listed);
    let filtered = rows.iter().filter(|r| r["status"] == "filtered").count();
    let matched = rows.iter().filter(|r| r["status"] == "matched").count();
    assert_eq!(
        (matched, filtered),
        (plumbing, listed - plumbing),
        "{rows:?}"
    );
    for r in rows.iter().filter(|r| r["status"] == "filtered") {
        assert!(r["company"]["company_number"].is_string(), "{r}");
        assert_eq!(r["executives"].as_array().map(Vec::len), Some(0), "{r}");
    }
    // Only the companies in the industry cost officer calls.
    assert_eq!(
        fake.stats()
            .by_endpoint
            .get("officers")
            .copied()
            .unwrap_or(0) as usize,
        plumbing
    );
    assert!(
        stderr(&out).contains(&format!("{filtered} filtered (outside --sic)")),
        "{}",
        stderr(&out)
    );

    // With a register, --plan knows which rows the filter stops.
    let cache = tempfile::tempdir().unwrap();
    import(&fake, cache.path());
    let out = fake
        .command()
        .args(["discover", "--plan", "--sic", &code, "--cache-dir"])
        .arg(cache.path())
        .arg(&list)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "--sic: {filtered} rows the register settles are outside"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("officers {plumbing}")), "{text}");
}

#[test]
fn bad_filters_are_exit_2_naming_the_flag_and_no_match_is_an_empty_list() {
    let fake = Fake::start();
    let run = |args: &[&str]| fake.command().arg("find").args(args).output().unwrap();
    for (args, says) in [
        (&["--sic", "4322"][..], "unknown SIC code \"4322\""),
        (
            &["--sic-section", "Z"],
            "unknown SIC section or division \"Z\"",
        ),
        (
            &["--incorporated-from", "2020-02-30"],
            "--incorporated-from \"2020-02-30\"",
        ),
        (&["--postcode", "LS"], "--postcode \"LS\""),
        (&["--status", "trading"], "--status \"trading\""),
        (&["--type", "widget"], "--type \"widget\""),
        (
            &[
                "--incorporated-from",
                "2021-01-01",
                "--incorporated-to",
                "2020-01-01",
            ],
            "no company can match",
        ),
        (&["--sic", "43220", "--limit", "0"], "--limit 0"),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    let out = fake
        .command()
        .args(["discover", "--sic", "999"])
        .arg(fixture("companies.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(fake.stats().requests, 0, "nothing was asked");

    // Nothing matches: the header alone, a note, exit 0.
    let out = run(&["--sic", "01110", "--postcode", "ZE1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        [
            "company_number,company_name,postcode,sic_codes,company_status,company_type,incorporated_on,locality,region"
        ]
    );
    assert!(
        stderr(&out).contains("no companies match"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sic_search_lists_codes_with_section_and_division() {
    let fake = Fake::start();
    let out = fake
        .command()
        .args(["sic", "search", "plumbing"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("43220  F  43  Plumbing, heat and air-conditioning installation"),
        "{text}"
    );
    let out = fake
        .command()
        .args(["sic", "search", "-f", "jsonl", "joinery"])
        .output()
        .unwrap();
    let rows = jsonl(&out);
    assert!(
        rows.iter().any(|r| r["code"] == "43320"
            && r["division_title"] == "Specialised construction activities")
    );
}
