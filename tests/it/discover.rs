//! `leadgen discover` end to end against the fake.

use serde_json::Value;

use super::common::{Fake, KEY, csv_file, fixture, jsonl, stderr};

fn fake_register() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(fixture("fake-data/companies_house.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn name_number_and_bad_rows_each_get_one_output_row_in_input_order() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "id,company_name,company_number\nA,You Limited,\nB,,4475590\nC,,\nD,Zzyzx Qwerty Nonesuch Ltd,\nE,,99999999\n",
    );
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "a bad row means exit 3; stderr: {}",
        stderr(&out)
    );
    let rows = jsonl(&out);
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["input"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["A", "B", "C", "D", "E"]);
    let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        status,
        ["matched", "matched", "error", "not_found", "not_found"]
    );

    assert_eq!(rows[0]["company"]["company_number"], "04475590");
    assert_eq!(rows[0]["match"]["method"], "exact");
    assert_eq!(rows[1]["company"]["company_number"], "04475590");
    assert_eq!(rows[1]["match"]["method"], "number");
    assert_eq!(rows[1]["match"]["confidence"], 1.0);
    // The same people; only the confidence differs, since an exact name is
    // less certain than a number.
    let without_confidence = |row: &serde_json::Value| -> Vec<serde_json::Value> {
        let mut execs = row["executives"].as_array().unwrap().clone();
        for e in &mut execs {
            e.as_object_mut().unwrap().remove("confidence");
        }
        execs
    };
    assert_eq!(without_confidence(&rows[0]), without_confidence(&rows[1]));
    let names: Vec<&str> = rows[0]["executives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Elizabeth Mary Stevenson"), "{names:?}");

    let err = &rows[2]["error"];
    assert_eq!(err["kind"], "invalid_input");
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.contains("line 4") && msg.contains("company_name"),
        "{msg}"
    );
    assert!(rows[3]["error"].is_null() && rows[3]["company"].is_null());
}

#[test]
fn names_no_register_entry_can_have_are_errors_and_spend_no_search() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let long = "Acme ".repeat(2_000);
    let text = format!(
        "id,company_name\nA,Ltd\nB,\"  - & . \"\nC,Газпром Нефть\nD,{long}\nE,Acme\u{7}Ltd\nF,You Limited\n"
    );
    let input = csv_file(dir.path(), "in.csv", &text);
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let rows = jsonl(&out);
    let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        status,
        ["error", "error", "error", "error", "error", "matched"]
    );
    for (row, line, why) in [
        (0, 2, "only designators or punctuation"),
        (1, 3, "only designators or punctuation"),
        (2, 4, "Latin alphabet"),
        (3, 5, "9999 characters long"),
        (4, 6, "control character (U+0007"),
    ] {
        let err = &rows[row]["error"];
        assert_eq!(err["kind"], "invalid_input");
        let msg = err["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("in.csv line {line}"))
                && msg.contains("company_name")
                && msg.contains(why),
            "{msg}"
        );
    }
    // Only the good row was searched for.
    assert_eq!(fake.stats().by_endpoint.get("search"), Some(&1));
}

#[test]
fn not_found_and_ambiguous_rows_list_their_candidates_with_evidence() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name,postcode\nPennine Care Services Ltd,\nPennine Care Services Ltd,SK13 8AQ\n",
    );
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = jsonl(&out);
    assert_eq!(rows[0]["status"], "ambiguous");
    let candidates = rows[0]["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 2);
    for c in candidates {
        let p = c["confidence"].as_f64().unwrap();
        assert!(p > 0.2 && p < 0.65, "{c}");
        assert!(
            c["evidence"].as_array().is_some_and(|e| !e.is_empty()),
            "{c}"
        );
    }
    assert_eq!(rows[1]["status"], "matched");
    assert_eq!(rows[1]["company"]["company_number"], "07111333");
    let evidence = rows[1]["match"]["evidence"].as_array().unwrap();
    assert!(
        evidence
            .iter()
            .any(|e| e["factor"] == "postcode" && e["weight"].as_f64().unwrap() > 0.0),
        "{evidence:?}"
    );
}

#[test]
fn explain_shows_the_searches_candidates_and_verdict() {
    let fake = Fake::start();
    let out = fake
        .leadgen()
        .args([
            "explain",
            "Pennine Care Services",
            "--postcode",
            "SK13 8AQ",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "matched");
    assert_eq!(v["candidates"][0]["company_number"], "07111333");
    assert!(!v["searches"].as_array().unwrap().is_empty());
    let text = fake.leadgen().args(["explain", "Ltd"]).output().unwrap();
    assert_eq!(
        text.status.code(),
        Some(2),
        "a name that cannot match is a usage error"
    );
    assert!(
        stderr(&text).contains("only designators"),
        "{}",
        stderr(&text)
    );
}

#[test]
fn every_officer_page_is_fetched() {
    let register = fake_register();
    let big = register["companies"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|c| c["officers"].as_array().map_or(0, Vec::len))
        .unwrap();
    let number = big["profile"]["company_number"].as_str().unwrap();
    let officers = big["officers"].as_array().unwrap();
    assert!(
        officers.len() > 100,
        "the register has a company with more than 100 officers"
    );
    let active_people: std::collections::BTreeSet<String> = officers
        .iter()
        .filter(|o| o.get("resigned_on").is_none_or(Value::is_null))
        .filter(|o| {
            !o["officer_role"]
                .as_str()
                .unwrap_or("")
                .starts_with("corporate-")
                && o.get("identification").is_none_or(Value::is_null)
        })
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();

    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        &format!("company_name,company_number\n,{number}\n"),
    );
    let out = fake
        .leadgen()
        .args(["discover", "-f", "json", "--include-resigned"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let execs = rows[0]["executives"].as_array().unwrap();
    let orgs = rows[0]["organisations"].as_array().unwrap();
    let total_roles: usize = execs
        .iter()
        .chain(orgs)
        .map(|e| e["roles"].as_array().unwrap().len())
        .sum();
    assert!(
        total_roles >= officers.len().min(execs.len() + orgs.len()),
        "all officers present"
    );
    // Every distinct current person appears (name formats differ; count them).
    let current = execs.iter().filter(|e| e["resigned_on"].is_null()).count();
    assert!(
        current >= active_people.len() * 9 / 10 && current <= active_people.len() + 5,
        "current executives {current} vs distinct active officer names {}",
        active_people.len()
    );
    let pages = fake
        .stats()
        .by_endpoint
        .get("officers")
        .copied()
        .unwrap_or(0);
    assert_eq!(
        pages as usize,
        officers.len().div_ceil(100),
        "one request per page of 100"
    );
}

#[test]
fn duplicate_rows_are_looked_up_once() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name\nYou Limited\nYOU LIMITED\nyou limited\nYou Limited\n",
    );
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl", "--concurrency", "4"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(jsonl(&out).len(), 4);
    let by = fake.stats().by_endpoint;
    assert_eq!(by.get("search"), Some(&1), "{by:?}");
    assert_eq!(by.get("profile"), Some(&1), "{by:?}");
    assert_eq!(by.get("officers"), Some(&1), "{by:?}");
}

#[test]
fn csv_output_has_one_line_per_executive_and_rows_without_any() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name\nYou Limited\nZzyzx Qwerty Nonesuch Ltd\n",
    );
    let out = fake
        .leadgen()
        .args(["discover"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let headers = reader.headers().unwrap().clone();
    let status_col = headers.iter().position(|h| h == "status").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let matched = rows.iter().filter(|r| &r[0] == "1").count();
    assert!(matched >= 2, "one line per executive of row 1");
    let last = rows.last().unwrap();
    assert_eq!(&last[0], "2");
    assert_eq!(&last[status_col], "not_found");
    assert!(
        headers.iter().all(|h| h != "birth_month"),
        "birth month only on request"
    );
}

#[test]
fn stdin_input_and_json_array_output() {
    let fake = Fake::start();
    let out = fake
        .leadgen()
        .args(["discover", "-", "-f", "json"])
        .write_stdin("company_name,company_number\n,04475590\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "matched");
}

#[test]
fn input_errors_exit_2_and_write_nothing() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.csv");
    std::fs::write(&out_path, "earlier complete output\n").unwrap();
    let input = csv_file(dir.path(), "nocol.csv", "foo,bar\n1,2\n");
    let out = fake
        .leadgen()
        .args(["discover", "-o"])
        .arg(&out_path)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("nocol.csv") && err.contains("company name column"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "earlier complete output\n"
    );

    let out = fake
        .leadgen()
        .args(["discover"])
        .arg(dir.path().join("missing.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("missing.csv: cannot open"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fake.stats().requests, 0);
}

#[test]
fn output_file_is_written_whole() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.jsonl");
    let input = csv_file(dir.path(), "in.csv", "company_name\nYou Limited\n");
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl", "-o"])
        .arg(&out_path)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert_eq!(text.lines().count(), 1);
    let leftovers = super::common::files_in(dir.path());
    assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");
}

#[test]
fn no_key_tells_the_user_how_to_get_one_and_about_the_demo() {
    let fake = Fake::start();
    let out = fake
        .leadgen()
        .env_remove("COMPANIES_HOUSE_API_KEY")
        .args(["discover", "fixtures/companies.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("COMPANIES_HOUSE_API_KEY")
            && err.contains("developer.company-information.service.gov.uk")
            && err.contains("demo"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_refused_key_is_named_never_shown() {
    let fake = Fake::start();
    let wrong = "wrong-key-do-not-print-7731";
    let out = fake
        .leadgen()
        .env("COMPANIES_HOUSE_API_KEY", wrong)
        .args(["discover", "-f", "jsonl", "fixtures/companies.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("COMPANIES_HOUSE_API_KEY") && err.contains("refused"),
        "{err}"
    );
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), err);
    assert!(!all.contains(wrong) && !all.contains(KEY));
    for row in jsonl(&out) {
        assert_eq!(row["status"], "error");
    }
}

#[test]
fn the_key_is_read_from_a_dotenv_file() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("COMPANIES_HOUSE_API_KEY={KEY}\n"),
    )
    .unwrap();
    csv_file(
        dir.path(),
        "in.csv",
        "company_name,company_number\n,04475590\n",
    );
    let out = fake
        .leadgen()
        .env_remove("COMPANIES_HOUSE_API_KEY")
        .current_dir(dir.path())
        .args(["discover", "-f", "jsonl", "in.csv"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(jsonl(&out)[0]["status"], "matched");
}

#[test]
fn a_closed_pipe_exits_quietly() {
    use std::io::{BufRead, BufReader};
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("company_name,company_number\n");
    for _ in 0..300 {
        text.push_str(",04475590\n");
    }
    let input = csv_file(dir.path(), "in.csv", &text);
    let mut cmd = fake.command();
    let mut child = cmd
        .args(["discover", "-f", "jsonl"])
        .arg(&input)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // stdout is dropped here, as `| head -1` would.
    let out = child.wait_with_output().unwrap();
    assert!(first.contains("\"matched\""));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).to_lowercase().contains("broken pipe"));
}

#[test]
fn the_demo_input_runs() {
    let fake = Fake::start();
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl", "fixtures/companies.csv"])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    let rows = jsonl(&out);
    let lines = std::fs::read_to_string(fixture("companies.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(rows.len(), lines);
    for s in ["matched", "not_found", "ambiguous", "error"] {
        assert!(
            rows.iter().any(|r| r["status"] == s),
            "the demo shows a {s} row"
        );
    }
}

#[test]
fn help_documents_exit_codes() {
    let out = assert_cmd::cargo::cargo_bin_cmd!("leadgen")
        .args(["discover", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for code in ["130", "interrupted", "some rows ended in `error`"] {
        assert!(help.contains(code), "{help}");
    }
}

/// Companies House facts that are not people: a protected PSC (no name,
/// reported as such), PSC statements (fetched only when no PSC is listed),
/// and a corporate officer appointed before 1992 (`appointed_before`).
/// Shapes: pscModels.json superSecure and statementList; the shared docs,
/// section 3.4 (pre-1992 appointments) and 3.7 (PSC kinds).
#[test]
fn protected_pscs_psc_statements_and_pre_1992_corporate_officers_are_reported() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name,company_number\n,14285714\n,14285715\n,14285716\n,SC123456\n,07234561\n",
    );
    let run = |extra: &[&str]| {
        fake.server.reset_stats();
        let out = fake
            .leadgen()
            .args(["discover", "--no-cache", "-f", "jsonl"])
            .args(extra)
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        jsonl(&out)
    };
    let rows = run(&[]);
    // Statements only for the two companies that list no PSC.
    assert_eq!(
        fake.stats().by_endpoint.get("psc_statements").copied(),
        Some(2)
    );
    let protected = &rows[0]["protected_pscs"];
    assert_eq!(
        protected[0]["kind"],
        "super-secure-person-with-significant-control"
    );
    assert_eq!(protected[0]["active"], true);
    assert!(
        protected[0]["text"]
            .as_str()
            .unwrap()
            .contains("restrictions on disclosing"),
        "{protected}"
    );
    assert!(rows[0]["company"].get("psc_statements").is_none());
    assert_eq!(rows[0]["executives"].as_array().unwrap().len(), 1);

    let statements = &rows[1]["company"]["psc_statements"];
    assert_eq!(
        statements[0]["statement"],
        "no-individual-or-entity-with-signficant-control"
    );
    assert!(
        statements[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("The company knows or has reasonable cause to believe that there is no registrable person"),
        "{statements}"
    );
    // The ceased statement only with --include-resigned.
    let current: Vec<&str> = rows[2]["company"]["psc_statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["statement"].as_str().unwrap())
        .collect();
    assert_eq!(current, ["psc-exists-but-not-identified"]);
    assert_eq!(rows[3]["protected_pscs"], serde_json::json!([]));

    let secretary = rows[3]["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "LOTHIAN SECRETARIES LIMITED")
        .unwrap_or_else(|| panic!("{}", rows[3]["organisations"]));
    assert_eq!(secretary["appointed_before"], "1990-01-31");
    assert!(secretary["appointed_on"].is_null(), "{secretary}");

    let rows = run(&["--include-resigned"]);
    assert_eq!(
        rows[2]["company"]["psc_statements"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // CSV: the kinds and the statement keys, in their own columns.
    let out = fake
        .leadgen()
        .args(["discover", "--no-cache"])
        .arg(&input)
        .output()
        .unwrap();
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let of = |number: &str| {
        records
            .iter()
            .find(|r| &r[col("company_number")] == number)
            .unwrap()
    };
    assert_eq!(
        &of("14285714")[col("protected_pscs")],
        "super-secure-person-with-significant-control"
    );
    assert_eq!(
        &of("14285715")[col("psc_statements")],
        "no-individual-or-entity-with-signficant-control"
    );
}
