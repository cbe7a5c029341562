//! The imported register as a source of companies for `discover`: name
//! candidates for the matcher from the FTS5 index, company facts in place
//! of the profile call, and PSCs from the snapshot in place of the PSC
//! call. Every answer here costs no quota.
//!
//! The bulk file holds live companies only, so a row the register cannot
//! settle (no confident match, or a row that names a dissolved company)
//! still goes to the API, as before.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};

use crate::company_number::CompanyNumber;
use crate::model::Company;
use crate::provider::Provider;
use crate::resolve::score::Candidate;
use crate::resolve::{CandidateSource, Search};
use crate::sources::SourceError;
use crate::sources::companies_house::types::Psc;

/// Candidates one search offers at most.
const CANDIDATES: usize = 50;

/// The register and, when imported, the PSC snapshot, open read-only.
#[derive(Clone)]
pub struct LocalRegister {
    companies: Arc<Mutex<Connection>>,
    pscs: Option<Arc<Mutex<Connection>>>,
    /// `register 2026-11-01`: what rows say their facts came from.
    label: Arc<str>,
}

fn lock(c: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    c.lock().unwrap_or_else(|e| e.into_inner())
}

fn failed(e: impl std::fmt::Display) -> SourceError {
    SourceError::Malformed {
        provider: Provider::CompaniesHouse,
        what: "the local register".into(),
        detail: e.to_string(),
    }
}

impl LocalRegister {
    /// The register under `cache_dir`, if one has been imported.
    pub fn open(cache_dir: &Path) -> Result<Option<LocalRegister>, super::RegisterError> {
        let path = super::path(cache_dir);
        if !path.exists() {
            return Ok(None);
        }
        let open = |p: &Path| {
            Connection::open_with_flags(p, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|source| {
                super::RegisterError::Db {
                    path: p.to_path_buf(),
                    source,
                }
            })
        };
        let companies = open(&path)?;
        let snapshot: Option<String> = companies
            .query_row("SELECT value FROM meta WHERE key = 'snapshot'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|source| super::RegisterError::Db {
                path: path.clone(),
                source,
            })?;
        let psc_path = super::psc::path(cache_dir);
        let pscs = if psc_path.exists() {
            Some(Arc::new(Mutex::new(open(&psc_path)?)))
        } else {
            None
        };
        Ok(Some(LocalRegister {
            companies: Arc::new(Mutex::new(companies)),
            pscs,
            label: format!(
                "register {}",
                snapshot
                    .filter(|s| !s.is_empty())
                    .as_deref()
                    .unwrap_or("(undated)")
            )
            .into(),
        }))
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn has_pscs(&self) -> bool {
        self.pscs.is_some()
    }

    /// The company's facts, when the register holds it.
    pub async fn company(&self, number: &CompanyNumber) -> Result<Option<Company>, SourceError> {
        let conn = Arc::clone(&self.companies);
        let number = number.clone();
        let label = self.label.to_string();
        blocking(move || {
            lock(&conn)
                .query_row(
                    "SELECT name, status, company_type, incorporated_on, postal_code, sic_codes \
                     FROM companies WHERE number = ?1",
                    [number.as_str()],
                    |r| {
                        let sic: String = r.get(5)?;
                        Ok(Company {
                            company_number: number.clone(),
                            company_name: r.get(0)?,
                            company_status: r.get(1)?,
                            company_type: r.get(2)?,
                            date_of_creation: r.get(3)?,
                            registered_office_postcode: r
                                .get::<_, String>(4)
                                .ok()
                                .filter(|p| !p.is_empty()),
                            sic_codes: sic.split_whitespace().map(str::to_owned).collect(),
                            source: label.clone(),
                        })
                    },
                )
                .optional()
        })
        .await
    }

    /// The company's PSCs from the snapshot; `None` without a snapshot.
    pub async fn pscs(&self, number: &CompanyNumber) -> Result<Option<Vec<Psc>>, SourceError> {
        let Some(conn) = self.pscs.clone() else {
            return Ok(None);
        };
        let number = number.clone();
        let items: Vec<String> = blocking(move || {
            let conn = lock(&conn);
            let mut stmt = conn.prepare_cached("SELECT item FROM pscs WHERE company = ?1")?;
            stmt.query_map([number.as_str()], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .await?;
        items
            .iter()
            .map(|item| serde_json::from_str::<Psc>(item).map_err(failed))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn candidates(
        &self,
        search: &Search,
    ) -> impl Future<Output = Result<Vec<Candidate>, SourceError>> + Send + use<> {
        let conn = Arc::clone(&self.companies);
        let (name, location) = match search {
            Search::Name(q) => (q.clone(), None),
            Search::Near {
                name_includes,
                location,
            } => (name_includes.clone(), Some(location.clone())),
        };
        async move {
            let words = index_words(&name);
            if words.is_empty() {
                return Ok(Vec::new());
            }
            blocking(move || {
                let conn = lock(&conn);
                let and = |words: &[&String]| {
                    words
                        .iter()
                        .map(|w| format!("\"{w}\""))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                };
                let all: Vec<&String> = words.iter().collect();
                // Every word: the name as written.
                let mut found = query(&conn, &and(&all), location.as_deref())?;
                // Nothing: one word may be mistyped. Every word but one, in
                // turn (an OR of common words would rank millions of rows).
                if found.is_empty() && all.len() > 1 {
                    for skip in 0..all.len() {
                        let rest: Vec<&String> = all
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != skip)
                            .map(|(_, w)| *w)
                            .collect();
                        for c in query(&conn, &and(&rest), location.as_deref())? {
                            if !found.iter().any(|f| f.company_number == c.company_number) {
                                found.push(c);
                            }
                        }
                    }
                }
                Ok(found)
            })
            .await
        }
    }
}

/// The words of `name` as the index holds them (lower case, letters and
/// digits), without the designators and joining words every other name
/// has too: a query for "Acme Widgets Limited" asks for `acme AND widgets`.
fn index_words(name: &str) -> Vec<String> {
    const COMMON: [&str; 14] = [
        "limited",
        "ltd",
        "plc",
        "llp",
        "lp",
        "cic",
        "cyf",
        "cyfyngedig",
        "ccc",
        "the",
        "and",
        "of",
        "co",
        "uk",
    ];
    let folded = deunicode::deunicode(name).to_lowercase();
    let mut words: Vec<String> = folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !COMMON.contains(w))
        .map(str::to_owned)
        .collect();
    words.dedup();
    // A name of common words only still names something.
    if words.is_empty() {
        words = folded
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
    }
    words.truncate(6);
    words
}

fn query(conn: &Connection, fts: &str, location: Option<&str>) -> rusqlite::Result<Vec<Candidate>> {
    let near = location.map(|l| l.trim().to_uppercase());
    // The best-ranked matches first, then their rows: joining every match
    // before the limit would read thousands of rows for a common word.
    let mut stmt = conn.prepare_cached(
        "SELECT c.number, c.name, c.status, c.postal_code, c.company_type, c.locality, c.region \
         FROM (SELECT rowid, rank FROM company_names WHERE company_names MATCH ?1 \
               ORDER BY rank LIMIT ?4) m \
         JOIN companies c ON c.rowid = m.rowid \
         WHERE (?2 IS NULL OR upper(c.locality) = ?2 OR upper(c.postal_code) LIKE ?2 || '%') \
         ORDER BY m.rank LIMIT ?3",
    )?;
    let ranked = if near.is_some() {
        20 * CANDIDATES
    } else {
        CANDIDATES
    } as i64;
    let rows = stmt.query_map(
        rusqlite::params![fts, near, CANDIDATES as i64, ranked],
        |r| {
            let locality: String = r.get(5)?;
            let region: String = r.get(6)?;
            Ok(Candidate {
                company_number: r.get(0)?,
                name: r.get(1)?,
                status: r.get(2)?,
                postcode: r.get::<_, String>(3).ok().filter(|p| !p.is_empty()),
                previous_name: None,
                company_type: r.get(4)?,
                locality: format!("{locality} {region}")
                    .to_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        },
    )?;
    rows.collect()
}

/// Runs a query off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, SourceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(failed)?
        .map_err(failed)
}

impl CandidateSource for LocalRegister {
    fn search(
        &self,
        search: &Search,
    ) -> impl Future<Output = Result<Vec<Candidate>, SourceError>> + Send {
        self.candidates(search)
    }

    async fn costs_quota(&self, _: &Search) -> bool {
        false
    }
}
