//! `leadgen register import-psc PATH...`: Companies House's daily snapshot
//! of persons with significant control (`../shared/docs/companies-house-api.md`
//! section 5) into `register/pscs.sqlite`, PSCs per company.
//!
//! The snapshot is newline-delimited JSON, one record per line,
//! `{"company_number":"09145694","data":{...}}` where `data` is a REST PSC
//! list item; the last line of the last part is a totals record (no
//! `company_number`, `data.kind` `totals#persons-of-significant-control-snapshot`).
//! Without that record, or when its count disagrees with the records read,
//! the snapshot is incomplete and the import fails, leaving the previous
//! PSCs in use; a line that is not a record is counted, never fatal.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, params};
use serde::Deserialize;

use super::RegisterError;

/// The PSC file under a cache directory.
pub fn path(cache_dir: &Path) -> PathBuf {
    cache_dir.join("register").join("pscs.sqlite")
}

const LISTED_BAD_LINES: usize = 5;
const TOTALS_KIND: &str = "totals#persons-of-significant-control-snapshot";

#[derive(Deserialize)]
struct Record {
    company_number: Option<String>,
    data: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Totals {
    persons_of_significant_control_count: u64,
    statements_count: Option<u64>,
    generated_at: Option<String>,
}

/// What an import of the PSC snapshot did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub path: PathBuf,
    pub snapshot: Option<String>,
    pub pscs: u64,
    pub statements: u64,
    /// Records of other kinds (exemptions), counted.
    pub other: u64,
    pub companies: u64,
    pub bad_lines: u64,
    pub first_bad: Vec<String>,
    pub generated_at: Option<String>,
    pub seconds: f64,
}

impl Summary {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "register: {} PSCs of {} companies and {} PSC statements imported in {:.1} s into {}, snapshot {}{}",
            self.pscs,
            self.companies,
            self.statements,
            self.seconds,
            self.path.display(),
            self.snapshot.as_deref().unwrap_or("of unknown date"),
            self.generated_at
                .as_deref()
                .map(|g| format!(" (generated {g})"))
                .unwrap_or_default()
        )];
        if self.other > 0 {
            lines.push(format!(
                "register: {} records of other kinds (exemptions) counted, not kept",
                self.other
            ));
        }
        if self.bad_lines > 0 {
            lines.push(format!(
                "register: {} lines not imported; the first: {}",
                self.bad_lines,
                self.first_bad.join("; ")
            ));
        }
        lines
    }
}

const SCHEMA: &str = "
CREATE TABLE pscs (company TEXT NOT NULL, item TEXT NOT NULL);
CREATE TABLE psc_statements (company TEXT NOT NULL, item TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

const INDEXES: &str = "
CREATE INDEX pscs_company ON pscs (company);
CREATE INDEX psc_statements_company ON psc_statements (company);
";

/// Imports the snapshot `inputs` (its parts in order), replacing the
/// previous PSCs only when the totals record says it is complete.
pub fn import(
    cache_dir: &Path,
    inputs: &[PathBuf],
    mut tick: impl FnMut(u64),
) -> Result<Summary, RegisterError> {
    let started = Instant::now();
    let target = path(cache_dir);
    let mut new = super::NewFile::create(target.clone(), SCHEMA)?;
    let db = |source| RegisterError::Db {
        path: target.clone(),
        source,
    };
    let mut summary = Summary {
        path: target.clone(),
        snapshot: inputs.iter().find_map(|p| super::import::snapshot_date(p)),
        ..Summary::default()
    };
    let mut totals: Option<(Totals, String)> = None;
    let tx = new.conn.transaction().map_err(db)?;
    {
        let mut psc = tx
            .prepare("INSERT INTO pscs (company, item) VALUES (?1, ?2)")
            .map_err(db)?;
        let mut statement = tx
            .prepare("INSERT INTO psc_statements (company, item) VALUES (?1, ?2)")
            .map_err(db)?;
        let mut companies = std::collections::HashSet::new();
        for input in inputs {
            super::import::for_each_entry(input, None, |name, reader| {
                read_lines(name, reader, &mut |name, line_no, line| {
                    if let Some((_, after)) = &totals {
                        return Err(RegisterError::NotARegister {
                            path: PathBuf::from(name),
                            reason: format!(
                                "line {line_no}: a record after the totals record (at {after}); the parts are out of order"
                            ),
                        });
                    }
                    let record = match serde_json::from_str::<Record>(line) {
                        Ok(r) => r,
                        Err(e) => {
                            summary.bad_lines += 1;
                            if summary.first_bad.len() < LISTED_BAD_LINES {
                                summary
                                    .first_bad
                                    .push(format!("{name} line {line_no}: {e}"));
                            }
                            return Ok(());
                        }
                    };
                    let kind = record
                        .data
                        .get("kind")
                        .and_then(|k| k.as_str())
                        .unwrap_or("")
                        .to_owned();
                    let Some(company) = record.company_number else {
                        if kind == TOTALS_KIND {
                            let t = serde_json::from_value::<Totals>(serde_json::Value::Object(
                                record.data,
                            ))
                            .map_err(|e| {
                                RegisterError::NotARegister {
                                    path: PathBuf::from(name),
                                    reason: format!(
                                        "line {line_no}: a totals record without its counts: {e}"
                                    ),
                                }
                            })?;
                            totals = Some((t, format!("{name} line {line_no}")));
                        } else {
                            summary.bad_lines += 1;
                            if summary.first_bad.len() < LISTED_BAD_LINES {
                                summary
                                    .first_bad
                                    .push(format!("{name} line {line_no}: no company_number"));
                            }
                        }
                        return Ok(());
                    };
                    let item = serde_json::Value::Object(record.data).to_string();
                    if kind.ends_with("-statement") {
                        statement.execute(params![company, item]).map_err(db)?;
                        summary.statements += 1;
                    } else if kind.contains("significant-control")
                        || kind.contains("beneficial-owner")
                    {
                        psc.execute(params![company, item]).map_err(db)?;
                        summary.pscs += 1;
                        companies.insert(company);
                    } else {
                        summary.other += 1;
                    }
                    let read = summary.pscs + summary.statements + summary.other;
                    if read.is_multiple_of(50_000) {
                        tick(read);
                    }
                    Ok(())
                })
            })?;
        }
        summary.companies = companies.len() as u64;
    }
    let last = inputs.last().cloned().unwrap_or_default();
    let Some((totals, _)) = totals else {
        return Err(RegisterError::NotARegister {
            path: last,
            reason: "no totals record at the end: the snapshot is incomplete (a part missing or cut short); the previous PSCs stay in use".into(),
        });
    };
    if totals.persons_of_significant_control_count != summary.pscs {
        return Err(RegisterError::NotARegister {
            path: last,
            reason: format!(
                "the totals record counts {} PSCs but {} were read: the snapshot is incomplete; the previous PSCs stay in use",
                totals.persons_of_significant_control_count, summary.pscs
            ),
        });
    }
    if let Some(n) = totals.statements_count
        && n != summary.statements
    {
        tracing::warn!(
            counted = n,
            read = summary.statements,
            "The PSC snapshot's totals count a different number of statements."
        );
    }
    summary.generated_at = totals.generated_at;
    super::NewFile::write_meta(
        &tx,
        &[
            ("snapshot", summary.snapshot.clone().unwrap_or_default()),
            ("pscs", summary.pscs.to_string()),
            ("statements", summary.statements.to_string()),
            ("companies", summary.companies.to_string()),
            ("bad_lines", summary.bad_lines.to_string()),
            (
                "generated_at",
                summary.generated_at.clone().unwrap_or_default(),
            ),
            ("files", super::import::file_names(inputs)),
        ],
    )
    .map_err(db)?;
    tx.execute_batch(INDEXES).map_err(db)?;
    tx.commit().map_err(db)?;
    new.swap_in()?;
    summary.seconds = started.elapsed().as_secs_f64();
    tick(summary.pscs + summary.statements + summary.other);
    Ok(summary)
}

/// Calls `line` with each non-empty line of `input` and its number.
fn read_lines(
    name: &str,
    input: &mut dyn Read,
    line: &mut dyn FnMut(&str, u64, &str) -> Result<(), RegisterError>,
) -> Result<(), RegisterError> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| RegisterError::Read {
                path: PathBuf::from(name),
                line: number + 1,
                reason: e.to_string(),
            })?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim();
        if !text.is_empty() {
            line(name, number, text)?;
        }
    }
}

/// What `register status` says of the PSC snapshot, if there is one.
pub fn status_lines(cache_dir: &Path, max_age: std::time::Duration) -> Option<(Vec<String>, bool)> {
    let path = path(cache_dir);
    if !path.exists() {
        return None;
    }
    let conn =
        Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    let meta = |key: &str| -> Option<String> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .ok()
    };
    let snapshot = meta("snapshot").filter(|s| !s.is_empty());
    let age = super::age(snapshot.as_deref(), None);
    let days = |d: std::time::Duration| d.as_secs() / 86_400;
    let mut lines = vec![
        format!("PSCs: {}", path.display()),
        format!(
            "  {} PSCs of {} companies, {} statements (snapshot {})",
            meta("pscs").unwrap_or_default(),
            meta("companies").unwrap_or_default(),
            meta("statements").unwrap_or_default(),
            snapshot.as_deref().unwrap_or("of unknown date")
        ),
    ];
    let stale = age.is_some_and(|a| a > max_age);
    if let Some(age) = age {
        lines.push(format!("  age: {} days", days(age)));
        if stale {
            lines.push(format!(
                "  WARNING: the PSC snapshot is {} days old (register.psc_max_age is {} days); import today's",
                days(age),
                days(max_age)
            ));
        }
    }
    Some((lines, stale))
}
