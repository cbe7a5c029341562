//! Seniority against labels on real officer lists
//! (`fixtures/seniority/`): recorded API responses from public projects,
//! labelled by someone who did not see the rules. Companies are split in
//! two by a hash of their number: the development half the rules were
//! written on, and a holdout they were never tuned on. Run with
//! `--nocapture` to see both confusion tables.

use std::collections::BTreeMap;

use leadgen::seniority::{Board, Person, Seniority, classify};

use super::common::{Fake, discover_jsonl as discover, fixture, jsonl};

struct Row {
    company: String,
    index: String,
    role: String,
    occupation: Option<String>,
    resigned: bool,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(fixture("seniority/collected.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                company: f[0].to_owned(),
                index: f[1].to_owned(),
                role: f[2].to_owned(),
                occupation: Some(f[3].to_owned()).filter(|o| !o.trim().is_empty()),
                resigned: !f[5].trim().is_empty(),
            }
        })
        .collect()
}

fn labels() -> BTreeMap<(String, String), Seniority> {
    let text = std::fs::read_to_string(fixture("seniority/labels.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let label = Seniority::parse(f[2]).unwrap_or_else(|| panic!("label {:?}", f[2]));
            ((f[0].to_owned(), f[1].to_owned()), label)
        })
        .collect()
}

/// The holdout: companies whose number hashes odd (FNV-1a).
pub fn in_holdout(company: &str) -> bool {
    let h = company.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    h % 2 == 1
}

type Confusion = BTreeMap<(Seniority, Seniority), u32>;

fn table(name: &str, c: &Confusion) -> (f64, u32) {
    let total: u32 = c.values().sum();
    let agree: u32 = c.iter().filter(|((l, g), _)| l == g).map(|(_, n)| n).sum();
    let share = f64::from(agree) / f64::from(total.max(1));
    println!("\n{name}: {agree}/{total} agree ({share:.3}); rows: label, columns: leadgen");
    let head: Vec<&str> = Seniority::ALL.iter().map(|s| s.as_str()).collect();
    println!("| label \\ leadgen | {} |", head.join(" | "));
    println!("|---|{}", "---|".repeat(head.len()));
    for l in Seniority::ALL {
        let cells: Vec<String> = Seniority::ALL
            .iter()
            .map(|g| c.get(&(l, *g)).copied().unwrap_or(0).to_string())
            .collect();
        println!("| {} | {} |", l.as_str(), cells.join(" | "));
    }
    (share, total)
}

#[test]
fn seniority_agrees_with_the_labels_on_the_holdout() {
    let rows = rows();
    let labels = labels();
    let mut by_company: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        if r.role == "officer_role" {
            continue; // a stray header line in the source
        }
        by_company.entry(&r.company).or_default().push(r);
    }
    let (mut dev, mut holdout) = (Confusion::new(), Confusion::new());
    let mut misses = Vec::new();
    for (company, officers) in &by_company {
        // Rows from a person's appointment list carry no board.
        let listed: Vec<&&Row> = officers
            .iter()
            .filter(|r| !r.index.starts_with('a'))
            .collect();
        let roles: Vec<Vec<String>> = listed.iter().map(|r| vec![r.role.clone()]).collect();
        let board = Board::of(listed.iter().zip(&roles).filter(|(r, _)| !r.resigned).map(
            |(r, roles)| Person {
                roles,
                occupation: r.occupation.as_deref(),
            },
        ));
        for r in officers {
            let Some(label) = labels.get(&(r.company.clone(), r.index.clone())) else {
                panic!("no label for {} {}", r.company, r.index);
            };
            let role = vec![r.role.clone()];
            let board = if r.index.starts_with('a') {
                Board::default()
            } else {
                board
            };
            let (got, basis) = classify(
                Person {
                    roles: &role,
                    occupation: r.occupation.as_deref(),
                },
                board,
            );
            let half = if in_holdout(company) {
                &mut holdout
            } else {
                &mut dev
            };
            *half.entry((*label, got)).or_default() += 1;
            // Only the development half's disagreements are shown: the
            // holdout's would be tuning material.
            if got != *label && !in_holdout(company) {
                misses.push(format!(
                    "{company} {} {:?}: label {label}, leadgen {got} ({basis})",
                    r.role, r.occupation
                ));
            }
        }
    }
    let (dev_share, dev_n) = table("development half", &dev);
    let (hold_share, hold_n) = table("holdout", &holdout);
    println!("\ndevelopment disagreements:\n{}", misses.join("\n"));
    assert!(dev_n >= 50 && hold_n >= 50, "{dev_n} and {hold_n} rows");
    assert!(dev_share >= 0.85, "development half {dev_share:.3}");
    assert!(hold_share >= 0.9, "holdout {hold_share:.3}");
}

#[test]
fn every_executive_has_a_seniority_and_executives_only_keeps_the_executives() {
    let fake = Fake::start();
    let run = |extra: &[&str]| jsonl(&discover(&fake, extra, "fixtures/companies.csv".as_ref()));
    let seniority = |rows: &[serde_json::Value]| -> Vec<String> {
        rows.iter()
            .flat_map(|r| r["executives"].as_array().cloned().unwrap_or_default())
            .map(|e| {
                assert!(!e["seniority_basis"].as_str().unwrap().is_empty(), "{e}");
                e["seniority"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let all = seniority(&run(&[]));
    assert!(all.iter().all(|s| Seniority::parse(s).is_some()), "{all:?}");
    assert!(all.iter().any(|s| s == "executive") && all.iter().any(|s| s != "executive"));
    let kept = seniority(&run(&["--executives-only"]));
    assert_eq!(kept.len(), all.iter().filter(|s| *s == "executive").count());
}

/// `--appointments`: each distinct officer's list is fetched once per page,
/// across rows, and agrees with the register's officer lists.
#[test]
fn appointments_cost_one_call_per_distinct_officer_per_page() {
    use leadgen_fakes::companies_house::Register;
    let seed = 9;
    let big = leadgen_fakes::synthetic::shared_person(400, seed).expect("a 360-company person");
    let mut companies = Register::synthetic(400, seed).companies().to_vec();
    // One officer whose list lost its appointments link.
    let unlinked = companies[3].officers[0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    companies[3].officers[0]["links"]
        .as_object_mut()
        .unwrap()
        .remove("officer");
    // A company whose officers have all resigned.
    assert_eq!(companies[390].number(), "20000390");
    for o in &mut companies[390].officers {
        if o["resigned_on"].is_null() {
            o["resigned_on"] = "2024-01-31".into();
        }
    }
    let register = Register::from_companies(companies).unwrap();
    let fake = Fake::with(|c| c.data = register.clone());
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<&str> = ["20000000", "20000001", "20000002", "20000003", "20000390"].to_vec();
    let mut text = String::from("company_name,company_number\n");
    for n in &rows {
        text.push_str(&format!(",{n}\n"));
    }
    let input = super::common::csv_file(dir.path(), "in.csv", &text);
    let plan = |fake: &Fake| {
        let out = fake
            .leadgen()
            .args(["discover", "--plan", "--sources", "ch", "--appointments"])
            .arg(&input)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // With the officer lists cached, --plan counts one call per officer shown.
    discover(&fake, &[], &input);
    let planned = plan(&fake);
    fake.server.reset_stats();
    let out = discover(&fake, &["--appointments"], &input);
    // Expected: the distinct links of the officers shown (active ones), each
    // ceil(appointments / 50) pages (the fake's page cap).
    let mut per_path: BTreeMap<String, usize> = BTreeMap::new();
    for c in register.companies() {
        for o in &c.officers {
            if let Some(p) = o["links"]["officer"]["appointments"].as_str() {
                *per_path.entry(p.to_owned()).or_default() += 1;
            }
        }
    }
    let mut shown = std::collections::BTreeSet::new();
    for n in &rows {
        let c = register.company(n).unwrap();
        for o in c.officers.iter().filter(|o| o["resigned_on"].is_null()) {
            if let Some(p) = o["links"]["officer"]["appointments"].as_str() {
                shown.insert(p.to_owned());
            }
        }
    }
    let expected: usize = shown.iter().map(|p| per_path[p].div_ceil(50)).sum();
    assert!(
        planned.contains(&format!("(appointments {})", shown.len())),
        "one first page per officer shown ({}): {planned}",
        shown.len()
    );
    let by = fake.stats().by_endpoint;
    assert_eq!(
        by.get("appointments").copied(),
        Some(expected as u64),
        "{by:?}"
    );
    assert!(shown.contains(&big.appointments_path()));

    let rows_out = jsonl(&out);
    let emptied = rows_out
        .iter()
        .find(|r| r["company"]["company_number"] == "20000390")
        .unwrap();
    assert_eq!(emptied["status"], "matched", "{emptied}");
    assert!(
        emptied["executives"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["roles"] == serde_json::json!(["person-with-significant-control"])),
        "{emptied}"
    );
    let executives: Vec<&serde_json::Value> = rows_out
        .iter()
        .flat_map(|r| r["executives"].as_array().unwrap())
        .collect();
    let big_name = big
        .name
        .split(", ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let theirs: Vec<&&serde_json::Value> = executives
        .iter()
        .filter(|e| {
            e["given_name"]
                .as_str()
                .is_some_and(|g| g.starts_with(&big_name))
        })
        .collect();
    let active_in = rows
        .iter()
        .filter(|n| {
            register.company(n).unwrap().officers.iter().any(|o| {
                o["resigned_on"].is_null()
                    && o["links"]["officer"]["appointments"] == big.appointments_path().as_str()
            })
        })
        .count();
    assert!(active_in >= 2, "the test needs the person in several rows");
    assert_eq!(theirs.len(), active_in);
    for e in theirs {
        let others = e["other_appointments"].as_array().unwrap();
        assert_eq!(others.len(), per_path[&big.appointments_path()] - 1);
        assert!(e["appointments_count"].as_u64().unwrap() > 0);
    }
    let noted = executives
        .iter()
        .find(|e| e["appointments_note"].is_string())
        .unwrap_or_else(|| panic!("{unlinked} has a note"));
    assert!(
        noted["appointments_note"]
            .as_str()
            .unwrap()
            .contains("no appointments link"),
        "{noted}"
    );

    // A second run is served by the cache.
    fake.server.reset_stats();
    discover(&fake, &["--appointments"], &input);
    assert_eq!(fake.stats().by_endpoint.get("appointments"), None);
    // --plan counts none on this warm cache.
    let text = plan(&fake);
    assert!(
        text.contains("--appointments: one call per distinct officer"),
        "{text}"
    );
    assert!(text.contains("Companies House: 0 calls (none)"), "{text}");
}

#[test]
fn an_officer_the_register_does_not_know_is_none_not_an_error() {
    let fake = Fake::start();
    let gateway = leadgen::sources::gateway(std::collections::HashMap::new()).unwrap();
    let client = leadgen::sources::companies_house::Client::new(
        gateway,
        leadgen::cache::Cache::in_memory(100),
        &fake.server.base_url(),
        secrecy::SecretString::from(super::common::KEY.to_owned()),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got = rt
        .block_on(client.appointments("/officers/NoSuchOfficer000/appointments"))
        .unwrap();
    assert!(got.is_none());
    assert_eq!(fake.stats().by_endpoint.get("appointments"), Some(&1));
}
