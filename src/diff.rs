//! `leadgen diff OLD NEW`: what changed between two `discover` outputs
//! (JSON Lines or JSON): executives appointed and resigned, PSCs added and
//! ceased, companies whose status or name changed. For a sales team the
//! change is the lead: a new director at a target company.
//!
//! Companies are matched by number. A person is the same person when the
//! register's officer link (`links.companies_house_officer`, which carries
//! the officer id) is the same, else by name and appointment date: two
//! people of one name at one company (a father and son) stay apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// Why an output could not be read: the file and the line.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: line {line}: not a discover output row: {reason}", path.display())]
    Row {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    pub company_number: String,
    pub company_name: String,
    /// `appointed`, `resigned`, `psc_added`, `psc_ceased`,
    /// `status_changed`, `name_changed`.
    pub change: &'static str,
    /// The person, for the executive and PSC changes.
    pub person: Option<String>,
    /// The role that came or went (`director`, `secretary`, ...).
    pub role: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// When it happened, as the register says (`appointed_on`,
    /// `resigned_on`), when it says.
    pub on: Option<String>,
}

/// The role a PSC carries in `roles`.
const PSC_ROLE: &str = "person-with-significant-control";

/// What one output says about one company.
#[derive(Debug, Clone, Default)]
struct CompanyState {
    name: String,
    status: Option<String>,
    /// Person key -> (display name, role -> (appointed_on, resigned_on)).
    people: BTreeMap<String, Person>,
}

#[derive(Debug, Clone, Default)]
struct Person {
    name: String,
    appointed_on: Option<String>,
    resigned_on: Option<String>,
    roles: BTreeSet<String>,
}

/// Reads a `discover` output: JSON Lines, or one JSON array.
pub fn read(path: &Path) -> Result<Vec<Value>, DiffError> {
    let text = std::fs::read_to_string(path).map_err(|source| DiffError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, reason: String| DiffError::Row {
        path: path.to_path_buf(),
        line,
        reason,
    };
    if text.trim_start().starts_with('[') {
        return match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(rows)) => Ok(rows),
            Ok(_) => Err(bad(1, "not an array".into())),
            Err(e) => Err(bad(e.line(), e.to_string())),
        };
    }
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Value = serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
        if !row.is_object() || row.get("status").is_none() {
            return Err(bad(
                i + 1,
                "an object with a \"status\" was expected".into(),
            ));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The companies an output names, by number (a row without a company, or
/// not matched, says nothing about one).
fn companies(rows: &[Value]) -> BTreeMap<String, CompanyState> {
    let mut out: BTreeMap<String, CompanyState> = BTreeMap::new();
    for row in rows {
        let status = row["status"].as_str().unwrap_or_default();
        if status != "matched" {
            continue;
        }
        let company = &row["company"];
        let Some(number) = text(&company["company_number"]) else {
            continue;
        };
        // A company in several rows of one run is the same answer each
        // time: the first says it.
        if out.contains_key(&number) {
            continue;
        }
        let state = out.entry(number).or_default();
        state.name = text(&company["company_name"]).unwrap_or_default();
        state.status = text(&company["company_status"]);
        for e in row["executives"].as_array().into_iter().flatten() {
            let name = text(&e["name"]).unwrap_or_default();
            let appointed_on = text(&e["appointed_on"]);
            let key = text(&e["links"]["companies_house_officer"]).unwrap_or_else(|| {
                format!(
                    "{}|{}",
                    name.to_lowercase(),
                    appointed_on.as_deref().unwrap_or_default()
                )
            });
            let person = state.people.entry(key).or_default();
            person.name = name;
            person.appointed_on = appointed_on;
            person.resigned_on = text(&e["resigned_on"]);
            person.roles.extend(
                e["roles"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(str::to_owned)),
            );
        }
    }
    out
}

/// What changed from `old` to `new`, company by company, and how many
/// companies only one side has (not compared).
pub fn diff(old: &[Value], new: &[Value]) -> (Vec<Change>, usize) {
    let (old, new) = (companies(old), companies(new));
    let mut changes = Vec::new();
    let only_one = old.keys().filter(|k| !new.contains_key(*k)).count()
        + new.keys().filter(|k| !old.contains_key(*k)).count();
    for (number, after) in &new {
        let Some(before) = old.get(number) else {
            continue;
        };
        let change = |change: &'static str| Change {
            company_number: number.clone(),
            company_name: after.name.clone(),
            change,
            person: None,
            role: None,
            before: None,
            after: None,
            on: None,
        };
        if before.name != after.name {
            changes.push(Change {
                before: Some(before.name.clone()),
                after: Some(after.name.clone()),
                ..change("name_changed")
            });
        }
        if before.status != after.status {
            changes.push(Change {
                before: before.status.clone(),
                after: after.status.clone(),
                ..change("status_changed")
            });
        }
        let keys: BTreeSet<&String> = before.people.keys().chain(after.people.keys()).collect();
        for key in keys {
            let (was, is) = (before.people.get(key), after.people.get(key));
            let active = |p: Option<&Person>, role: &str| {
                p.is_some_and(|p| p.roles.contains(role) && p.resigned_on.is_none())
            };
            let roles: BTreeSet<&String> = was
                .iter()
                .chain(is.iter())
                .flat_map(|p| p.roles.iter())
                .collect();
            for role in roles {
                let person = is.or(was).map(|p| p.name.clone());
                let psc = role == PSC_ROLE;
                match (active(was, role), active(is, role)) {
                    (false, true) => changes.push(Change {
                        person,
                        role: Some(role.clone()),
                        on: is.and_then(|p| p.appointed_on.clone()),
                        ..change(if psc { "psc_added" } else { "appointed" })
                    }),
                    (true, false) => changes.push(Change {
                        person,
                        role: Some(role.clone()),
                        on: is.and_then(|p| p.resigned_on.clone()),
                        ..change(if psc { "psc_ceased" } else { "resigned" })
                    }),
                    _ => {}
                }
            }
        }
    }
    changes.sort();
    (changes, only_one)
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 8] = [
    "company_number",
    "company_name",
    "change",
    "person",
    "role",
    "before",
    "after",
    "on",
];

/// The changes as CSV or JSON Lines.
pub fn render(changes: &[Change], jsonl: bool) -> std::io::Result<String> {
    if jsonl {
        return crate::output::jsonl_text(changes);
    }
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    crate::output::csv_text(
        &CSV_COLUMNS,
        changes.iter().map(|c| {
            [
                c.company_number.clone(),
                c.company_name.clone(),
                c.change.to_owned(),
                o(&c.person),
                o(&c.role),
                o(&c.before),
                o(&c.after),
                o(&c.on),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(number: &str, name: &str, status: &str, executives: Value) -> Value {
        json!({"row": 1, "status": "matched",
               "company": {"company_number": number, "company_name": name, "company_status": status},
               "executives": executives})
    }

    fn exec(
        name: &str,
        id: &str,
        roles: &[&str],
        appointed: &str,
        resigned: Option<&str>,
    ) -> Value {
        json!({"name": name, "roles": roles, "appointed_on": appointed, "resigned_on": resigned,
               "links": {"companies_house_officer": format!("https://x/officers/{id}/appointments")}})
    }

    #[test]
    fn appointments_resignations_pscs_and_company_changes() {
        let old = vec![
            row(
                "01",
                "ACME LIMITED",
                "active",
                json!([
                    exec("Ann Lee", "a", &["director", PSC_ROLE], "2010-01-01", None),
                    exec("Bob Roe", "b", &["secretary"], "2012-01-01", None),
                    // Father and son of one name stay two people.
                    exec("John Smith", "j1", &["director"], "2001-01-01", None),
                ]),
            ),
            row("02", "GONE LTD", "active", json!([])),
        ];
        let new = vec![
            row(
                "01",
                "ACME HOLDINGS LIMITED",
                "liquidation",
                json!([
                    exec("Ann Lee", "a", &["director"], "2010-01-01", None),
                    exec(
                        "Bob Roe",
                        "b",
                        &["secretary"],
                        "2012-01-01",
                        Some("2026-11-20")
                    ),
                    exec("John Smith", "j1", &["director"], "2001-01-01", None),
                    exec("John Smith", "j2", &["director"], "2026-11-25", None),
                ]),
            ),
            json!({"row": 2, "status": "not_found"}),
        ];
        let (changes, only_one) = diff(&old, &new);
        let kinds: Vec<(&str, Option<&str>, Option<&str>)> = changes
            .iter()
            .map(|c| (c.change, c.person.as_deref(), c.on.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("appointed", Some("John Smith"), Some("2026-11-25")),
                ("name_changed", None, None),
                ("psc_ceased", Some("Ann Lee"), None),
                ("resigned", Some("Bob Roe"), Some("2026-11-20")),
                ("status_changed", None, None),
            ]
        );
        assert_eq!(only_one, 1, "GONE LTD is on one side only");
        let csv = render(&changes, false).expect("csv");
        assert!(
            csv.starts_with("company_number,company_name,change,person,role,before,after,on\n")
        );
        assert!(
            csv.contains("01,ACME HOLDINGS LIMITED,status_changed,,,active,liquidation,"),
            "{csv}"
        );
        assert_eq!(diff(&new, &new).0, Vec::<Change>::new());
    }
}
