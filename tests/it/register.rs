//! `leadgen register import | status` on real-format BasicCompanyData
//! files: the fake register written by `leadgen_fakes::bulk`, and files
//! with the quirks and faults real ones can have.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use leadgen_fakes::bulk;
use leadgen_fakes::companies_house::Register;

use super::common::stderr;

fn leadgen(cache: &Path, args: &[&str], files: &[PathBuf]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_leadgen"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("register")
        .args(args)
        .args(files)
        .arg("--cache-dir")
        .arg(cache)
        .output()
        .unwrap()
}

fn status(cache: &Path) -> String {
    String::from_utf8_lossy(&leadgen(cache, &["status"], &[]).stdout).into_owned()
}

/// A CSV in the bulk format from `rows` of 55 fields, raw bytes allowed.
fn csv_file(dir: &Path, name: &str, rows: &[Vec<Vec<u8>>]) -> PathBuf {
    let path = dir.join(name);
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .flexible(true)
        .from_path(&path)
        .unwrap();
    w.write_record(bulk::header()).unwrap();
    for row in rows {
        w.write_record(row).unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn the_bulk_files_import_with_their_quirks_and_bad_rows_never_sink_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let register = Register::bundled()
        .merged(&Register::synthetic(300, 3))
        .unwrap();
    let live = register
        .companies()
        .iter()
        .filter(|c| bulk::is_live(c))
        .count();

    // The monthly file, zipped, as three part files.
    let parts = bulk::export(&register, &dir.path().join("parts"), "2026-11-01", 3, true).unwrap();
    assert_eq!(parts.len(), 3);
    let out = leadgen(&cache, &["import"], &parts);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("register: {live} companies imported")),
        "{}",
        stderr(&out)
    );
    let text = status(&cache);
    assert!(
        text.contains(&format!("companies: {live} (snapshot 2026-11-01")),
        "{text}"
    );
    let db = rusqlite::Connection::open(cache.join("register/companies.sqlite")).unwrap();
    let (name, status_key, kind, born, sic, postcode): (
        String,
        String,
        String,
        String,
        String,
        String,
    ) = db
        .query_row(
            "SELECT name, status, company_type, incorporated_on, sic_codes, postal_code \
             FROM companies WHERE number = '00932123'",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        (
            name.as_str(),
            status_key.as_str(),
            kind.as_str(),
            born.as_str(),
            sic.as_str(),
            postcode.as_str()
        ),
        (
            "PYTHON MUSIC LIMITED",
            "active",
            "ltd",
            "1968-05-16",
            "62020",
            "SW3 1LJ"
        )
    );
    let found: i64 = db
        .query_row(
            "SELECT count(*) FROM company_words WHERE company_words MATCH 'python'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(found >= 2, "{found}");
    drop(db);

    // A file with what real ones hold: a newline inside a quoted field,
    // bytes that are not UTF-8, a short row, a bad company number.
    let companies: Vec<_> = register
        .companies()
        .iter()
        .filter(|c| bulk::is_live(c))
        .take(4)
        .collect();
    let as_bytes = |row: Vec<String>| row.into_iter().map(String::into_bytes).collect::<Vec<_>>();
    let mut newline = as_bytes(bulk::row(companies[0]));
    newline[4] = b"Unit 4\nMill Lane".to_vec();
    let mut bad_bytes = as_bytes(bulk::row(companies[1]));
    bad_bytes[0] = b"CAF\xC9 NOIR LIMITED".to_vec();
    let mut short = as_bytes(bulk::row(companies[2]));
    short.truncate(20);
    let mut bad_number = as_bytes(bulk::row(companies[3]));
    bad_number[1] = b"not a number".to_vec();
    let quirky = csv_file(
        dir.path(),
        "quirky.csv",
        &[newline, bad_bytes, short, bad_number],
    );
    let out = leadgen(&cache, &["import"], std::slice::from_ref(&quirky));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("register: 2 companies imported"), "{err}");
    assert!(err.contains("2 rows not imported"), "{err}");
    // The short row starts on line 5: the header, a row two lines long,
    // the row with bad bytes.
    assert!(
        err.contains(&format!(
            "{} line 5: 20 fields where the header has 55",
            quirky.display()
        )),
        "{err}"
    );
    assert!(err.contains("CompanyNumber \"not a number\""), "{err}");
    assert!(err.contains("1 rows had bytes that are not UTF-8"), "{err}");
    let db = rusqlite::Connection::open(cache.join("register/companies.sqlite")).unwrap();
    let line: String = db
        .query_row(
            "SELECT address_line_1 FROM companies WHERE number = ?1",
            [companies[0].number()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(line, "Unit 4\nMill Lane");
    drop(db);

    // Files that cannot be imported fail with the file named, exit 2, and
    // leave the last good register in use.
    let full = bulk::export(&register, &dir.path().join("one"), "2026-11-01", 1, true).unwrap();
    assert_eq!(leadgen(&cache, &["import"], &full).status.code(), Some(0));
    let bytes = std::fs::read(&full[0]).unwrap();
    let truncated = dir.path().join("BasicCompanyDataAsOneFile-2026-12-01.zip");
    std::fs::File::create(&truncated)
        .unwrap()
        .write_all(&bytes[..bytes.len() / 2])
        .unwrap();
    let not_a_register = super::common::fixture("companies.csv");
    for bad in [truncated, not_a_register] {
        let out = leadgen(&cache, &["import"], std::slice::from_ref(&bad));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&bad.display().to_string()), "{err}");
        let text = status(&cache);
        assert!(
            text.contains(&format!("companies: {live} (snapshot 2026-11-01")),
            "{text}"
        );
    }
    let names: Vec<_> = std::fs::read_dir(cache.join("register"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["companies.sqlite"], "no half-built file is left");
}

#[test]
fn status_without_a_register_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = leadgen(dir.path(), &["status"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("leadgen register import"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_psc_snapshot_imports_only_when_it_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let register = Register::bundled();
    let expected: usize = register
        .companies()
        .iter()
        .map(|c| c.persons_with_significant_control.len())
        .sum();
    assert!(expected > 10, "{expected}");
    let parts = bulk::export_psc(
        &register,
        &dir.path().join("psc"),
        "2026-11-30",
        3,
        true,
        true,
    )
    .unwrap();
    assert_eq!(parts.len(), 3);
    let out = leadgen(&cache, &["import-psc"], &parts);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("register: {expected} PSCs of")),
        "{err}"
    );
    let db = rusqlite::Connection::open(cache.join("register/pscs.sqlite")).unwrap();
    let company = register
        .companies()
        .iter()
        .find(|c| !c.persons_with_significant_control.is_empty())
        .unwrap();
    let items: Vec<String> = db
        .prepare("SELECT item FROM pscs WHERE company = ?1")
        .unwrap()
        .query_map([company.number()], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(items.len(), company.persons_with_significant_control.len());
    let first: serde_json::Value = serde_json::from_str(&items[0]).unwrap();
    assert_eq!(first, company.persons_with_significant_control[0]);
    drop(db);

    // A snapshot without its totals record (a part missing or cut short),
    // or missing a part, is refused; the previous PSCs stay.
    let cut = bulk::export_psc(
        &register,
        &dir.path().join("cut"),
        "2026-12-01",
        1,
        false,
        false,
    )
    .unwrap();
    let missing_part = parts[..2].to_vec();
    for bad in [cut, missing_part] {
        let out = leadgen(&cache, &["import-psc"], &bad);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("no totals record")
                && err.contains(&bad.last().unwrap().display().to_string()),
            "{err}"
        );
    }
    let text = status(&cache);
    assert!(
        text.contains(&format!("{expected} PSCs of")) && text.contains("snapshot 2026-11-30"),
        "{text}"
    );
}

#[test]
fn discover_resolves_from_the_register_and_calls_only_for_officers() {
    use super::common::{Fake, jsonl, synthetic_input};
    let synthetic = Register::synthetic(120, 11);
    let world = Register::bundled().merged(&synthetic).unwrap();
    let fake = Fake::with(|c| {
        c.data = world.clone();
        // The test counts calls; pacing is another test's business.
        c.quota_limit = 100_000;
    });
    let dir = tempfile::tempdir().unwrap();
    // Lead lists name live companies; the bulk file holds only those (a
    // dissolved one goes to the API: search, profile, officers, PSCs).
    let live: Vec<_> = synthetic
        .companies()
        .iter()
        .filter(|c| bulk::is_live(c))
        .cloned()
        .collect();
    assert!(live.len() >= 100, "{}", live.len());
    let rows = live.len() as u64;
    let input = synthetic_input(
        dir.path(),
        &leadgen_fakes::companies_house::Register::from_companies(live).unwrap(),
    );
    let cache = fake.cache_dir.path();
    let files = bulk::export(&world, &dir.path().join("bulk"), "2026-11-01", 1, true).unwrap();
    assert_eq!(leadgen(cache, &["import"], &files).status.code(), Some(0));
    let pscs =
        bulk::export_psc(&world, &dir.path().join("psc"), "2026-11-30", 1, true, true).unwrap();
    assert_eq!(
        leadgen(cache, &["import-psc"], &pscs).status.code(),
        Some(0)
    );

    let run = |extra: &[&str]| {
        fake.server.reset_stats();
        let out = fake
            .leadgen()
            .env("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT", "100000/1s")
            .args(["discover", "--no-cache", "--sources", "ch", "-f", "jsonl"])
            .args(extra)
            .arg(&input)
            .output()
            .unwrap();
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(3),
            "{}",
            stderr(&out)
        );
        let rows = jsonl(&out);
        let matched = rows.iter().filter(|r| r["status"] == "matched").count();
        let by = fake.stats().by_endpoint;
        // The four calls a company cost before the register; a company
        // that lists no PSC costs one more, for its PSC statements (counted
        // apart below).
        let calls: u64 = ["search", "profile", "officers", "psc", "other"]
            .iter()
            .map(|e| by.get(*e).copied().unwrap_or(0))
            .sum();
        (rows, matched, calls, by)
    };
    // The plan counts what the register saves, before any call.
    fake.server.reset_stats();
    let plan = fake
        .leadgen()
        .args(["discover", "--plan", "--no-cache", "--sources", "ch"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert_eq!(fake.stats().requests, 0, "--plan made a call");
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    let planned: u64 = plan
        .lines()
        .find_map(|l| l.strip_prefix("Companies House: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{plan}"));
    assert!(
        plan.contains("Local register (register 2026-11-01): "),
        "{plan}"
    );
    let (online, online_matched, online_calls, online_by) = run(&["--online"]);
    // Statements for exactly the matched companies that list no PSC.
    let no_psc = online
        .iter()
        .filter(|r| r["status"] == "matched")
        .filter(|r| {
            let number = r["company"]["company_number"].as_str().unwrap();
            world
                .company(number)
                .is_some_and(|c| c.persons_with_significant_control.is_empty())
        })
        .count() as u64;
    assert!(no_psc > 0);
    assert_eq!(online_by.get("psc_statements").copied(), Some(no_psc));
    let (both, matched, calls, by) = run(&[]);
    // With the PSC snapshot, statements come from it too.
    assert_eq!(by.get("psc_statements"), None, "{by:?}");
    // Officers only, for the rows the register settles; the plan assumes the
    // others match (an upper bound).
    assert!(
        planned >= calls && planned <= calls + 4 * (rows - matched as u64),
        "planned {planned}, made {calls}: {plan}"
    );
    assert!(
        matched >= online_matched * 95 / 100,
        "{matched} matched offline vs {online_matched} online"
    );
    let per_company = calls as f64 / matched as f64;
    assert!(
        per_company <= 1.05,
        "{per_company} calls per company with both imports: {by:?}"
    );
    assert_eq!(by.get("profile"), None, "{by:?}");
    assert_eq!(by.get("psc"), None, "{by:?}");
    let matched_rows: Vec<_> = both.iter().filter(|r| r["status"] == "matched").collect();
    assert!(
        matched_rows
            .iter()
            .all(|r| r["company"]["source"] == "register 2026-11-01"),
        "{:?}",
        matched_rows[0]["company"]
    );
    // The same companies as the API picks, with the same executives.
    for (a, b) in online.iter().zip(&both) {
        if a["status"] == "matched" && b["status"] == "matched" {
            assert_eq!(
                a["company"]["company_number"],
                b["company"]["company_number"]
            );
            assert_eq!(a["executives"], b["executives"], "row {}", a["row"]);
        }
    }
    eprintln!(
        "calls per company: online {:.2}, register + PSC snapshot {per_company:.2}",
        online_calls as f64 / online_matched as f64
    );

    // Without the PSC snapshot, PSCs come from the API: two calls a company.
    std::fs::remove_file(cache.join("register/pscs.sqlite")).unwrap();
    let (_, matched, calls, by) = run(&[]);
    let per_company = calls as f64 / matched as f64;
    assert!(
        per_company <= 2.05,
        "{per_company} calls per company with the company file only: {by:?}"
    );
    eprintln!(
        "calls per company, company file only: {per_company:.2}, and {:.2} for PSC statements",
        by.get("psc_statements").copied().unwrap_or(0) as f64 / matched as f64
    );
}

/// The register's own search, as the matcher asks it: a previous name, a
/// mistyped word, a name made only of words thousands of names share.
#[test]
fn the_register_finds_previous_names_typos_and_names_of_common_words() {
    use leadgen::register::local::LocalRegister;
    use leadgen::resolve::{self, Query, Resolution, SearchBudget};
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    // Enough synthetic names that their words are each in many names.
    let world = Register::bundled()
        .merged(&Register::synthetic(3_000, 5))
        .unwrap();
    let files = bulk::export(&world, &dir.path().join("bulk"), "2026-11-01", 1, false).unwrap();
    assert_eq!(leadgen(&cache, &["import"], &files).status.code(), Some(0));
    let register = LocalRegister::open(&cache).unwrap().unwrap();
    let live: Vec<_> = world
        .companies()
        .iter()
        .filter(|c| bulk::is_live(c))
        .collect();
    let common_only = live
        .iter()
        .map(|c| c.profile["company_name"].as_str().unwrap().to_owned())
        .find(|n| n.split_whitespace().count() >= 3 && !n.contains('('))
        .unwrap();
    let number_of = |name: &str| {
        live.iter()
            .find(|c| c.profile["company_name"] == name)
            .map(|c| c.profile["company_number"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let resolve = |name: &str| {
        runtime.block_on(async {
            let query = Query {
                name: name.to_owned(),
                postcode: None,
                wants_dissolved: false,
            };
            let found = resolve::investigate(
                &register,
                &query,
                &SearchBudget::single(3),
                &resolve::model::MODEL,
            )
            .await
            .unwrap();
            match found.resolution(&resolve::model::MODEL) {
                Resolution::Matched { number, .. } => Some(number.as_str().to_owned()),
                _ => None,
            }
        })
    };
    // A previous name (the bulk file's PreviousName_1), informally written.
    assert_eq!(
        resolve("London and Kent Estates Ltd").as_deref(),
        Some("08957400")
    );
    // A letter dropped from the distinctive word, and one added.
    assert_eq!(resolve("Candur Group").as_deref(), Some("08957400"));
    assert_eq!(
        resolve("Hewitsson Developments").as_deref(),
        Some("11264610")
    );
    // A name of common words only, as the register spells it.
    assert_eq!(
        resolve(&common_only.to_lowercase()),
        Some(number_of(&common_only)),
        "{common_only}"
    );

    // `explain` asks the register first too, and says so; `--online` asks
    // the API (here, nothing listens: the call fails).
    let explain = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_leadgen"))
            .env_clear()
            .env("COMPANIES_HOUSE_API_KEY", "test-key-not-secret")
            .env("LEADGEN_COMPANIES_HOUSE_URL", "http://127.0.0.1:9")
            .args(["explain", "Candur Group", "--json", "--cache-dir"])
            .arg(&cache)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = explain(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "matched", "{json}");
    assert_eq!(json["source"], "register 2026-11-01", "{json}");
    assert_eq!(json["candidates"][0]["company_number"], "08957400");
    assert!(!explain(&["--online"]).status.success());
}

#[test]
fn an_import_killed_midway_leaves_the_previous_register_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let small = Register::synthetic(40, 21);
    let first = dir.path().join("BasicCompanyDataAsOneFile-2026-10-01.csv");
    bulk::write_csv(
        small.companies().iter(),
        std::fs::File::create(&first).unwrap(),
    )
    .unwrap();
    let out = leadgen(&cache, &["import"], std::slice::from_ref(&first));
    assert!(out.status.success(), "{}", stderr(&out));
    let before = status(&cache);
    assert!(before.contains("snapshot 2026-10-01"), "{before}");

    // The next month's file arrives through a pipe, and the import is
    // killed (SIGKILL: no handler runs) while it is reading it.
    let fifo = dir.path().join("BasicCompanyDataAsOneFile-2026-11-01.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut import = std::process::Command::new(env!("CARGO_BIN_EXE_leadgen"))
        .env_clear()
        .args(["register", "import"])
        .arg(&fifo)
        .arg("--cache-dir")
        .arg(&cache)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let mut bytes = Vec::new();
    bulk::write_csv(
        Register::synthetic(3_000, 22).companies().iter(),
        &mut bytes,
    )
    .unwrap();
    assert!(
        bytes.len() > 1 << 20,
        "more than a pipe and a read buffer hold"
    );
    // This returns only once the import has read all but the last of it:
    // it is mid-import, its new file open beside the old.
    pipe.write_all(&bytes).unwrap();
    import.kill().unwrap();
    import.wait().unwrap();
    drop(pipe);

    let register_dir = cache.join("register");
    let left: Vec<_> = std::fs::read_dir(&register_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().any(|n| n.ends_with(".tmp")),
        "the killed import's half-built file: {left:?}"
    );
    assert_eq!(status(&cache), before, "the previous register is untouched");

    // It still serves discover, and the next import clears the abandoned file.
    let second = dir.path().join("BasicCompanyDataAsOneFile-2026-12-01.csv");
    bulk::write_csv(
        small.companies().iter(),
        std::fs::File::create(&second).unwrap(),
    )
    .unwrap();
    let out = leadgen(&cache, &["import"], std::slice::from_ref(&second));
    assert!(out.status.success(), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(&register_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["companies.sqlite"]);
    assert!(status(&cache).contains("snapshot 2026-12-01"));
}
