//! The imported register as a source of companies for `discover`: name
//! candidates for the matcher from the name index ([`super::names`]: "same
//! as" keys, a word index and its vocabulary), company facts in place of
//! the profile call, and PSCs and PSC statements from the snapshot in place
//! of their calls. Every answer here costs no quota.
//!
//! The bulk file holds live companies only, so a row the register cannot
//! settle (no confident match, or a row that names a dissolved company)
//! still goes to the API, as before.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use fst::{IntoStreamer as _, Streamer as _};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};

use super::names;

use crate::company_number::CompanyNumber;
use crate::input::CompanyQuery;
use crate::model::Company;
use crate::resolve::score::Candidate;
use crate::resolve::{
    self, CandidateSource, MatchInfo, MatchMethod, Resolution, Search, SearchBudget,
};
use crate::sources::SourceError;
use crate::sources::companies_house::types::{Psc, PscStatementItem};

/// The register and, when imported, the PSC snapshot, open read-only.
#[derive(Clone)]
pub struct LocalRegister {
    /// One connection per core: searches run side by side.
    companies: Arc<[Mutex<Connection>]>,
    turn: Arc<AtomicUsize>,
    /// The word index's vocabulary (see [`names`]).
    terms: Arc<fst::Map<Vec<u8>>>,
    pscs: Option<Arc<Mutex<Connection>>>,
    /// `register 2026-11-01`: what rows say their facts came from.
    label: Arc<str>,
}

fn lock(c: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    c.lock().unwrap_or_else(|e| e.into_inner())
}

fn failed(e: impl std::fmt::Display) -> SourceError {
    SourceError::LocalRegister {
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
        // A register file never changes once built (the next import
        // renames a new file over it), so it is opened `immutable`: no
        // locks and no change checks per statement. Memory-mapped: pages
        // are read in place, not copied through a read call each.
        let open = |p: &Path| {
            let uri = url::Url::from_file_path(p)
                .map(|mut u| {
                    u.set_query(Some("immutable=1"));
                    u.to_string()
                })
                .unwrap_or_else(|()| p.display().to_string());
            Connection::open_with_flags(
                uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
            )
            .and_then(|c| {
                c.execute_batch("PRAGMA mmap_size = 68719476736; PRAGMA cache_size = -65536;")?;
                Ok(c)
            })
            .map_err(|source| super::RegisterError::Db {
                path: p.to_path_buf(),
                source,
            })
        };
        let first = open(&path)?;
        let db = |source| super::RegisterError::Db {
            path: path.clone(),
            source,
        };
        let meta = |key: &str| -> Result<Option<String>, super::RegisterError> {
            first
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(db)
        };
        if meta("format")?.as_deref() != Some(super::import::FORMAT) {
            return Err(super::RegisterError::Outdated { path });
        }
        let snapshot = meta("snapshot")?;
        let bytes: Vec<u8> = first
            .query_row("SELECT value FROM blobs WHERE key = 'terms'", [], |r| {
                r.get(0)
            })
            .map_err(db)?;
        let terms = fst::Map::new(bytes).map_err(|e| super::RegisterError::NotARegister {
            path: path.clone(),
            reason: format!("its word index is damaged ({e}): run `leadgen register import` again"),
        })?;
        let mut companies = vec![Mutex::new(first)];
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        for _ in 1..cores.min(8) {
            companies.push(Mutex::new(open(&path)?));
        }
        let psc_path = super::psc::path(cache_dir);
        let pscs = if psc_path.exists() {
            Some(Arc::new(Mutex::new(open(&psc_path)?)))
        } else {
            None
        };
        Ok(Some(LocalRegister {
            companies: companies.into(),
            turn: Arc::new(AtomicUsize::new(0)),
            terms: Arc::new(terms),
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
        let register = self.clone();
        let number = number.clone();
        let label = self.label.to_string();
        blocking(move || {
            register
                .connection()
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
                            psc_statements: Vec::new(),
                        })
                    },
                )
                .optional()
        })
        .await
    }

    /// The row's company when the register settles it, as `discover` (and
    /// its `--plan`) take it: a number the register holds, or a name it
    /// matches (`searches` of the register at most). `None`: ask the API.
    /// The register holds live companies only, so a row that says its
    /// company is dissolved is not settled here.
    pub async fn settle(
        &self,
        query: &CompanyQuery,
        searches: u32,
    ) -> Result<Option<Resolution>, SourceError> {
        if let Some(number) = &query.company_number {
            return Ok(self.company(number).await?.map(|_| Resolution::Matched {
                number: number.clone(),
                info: MatchInfo {
                    confidence: 1.0,
                    method: MatchMethod::Number,
                    evidence: Vec::new(),
                },
            }));
        }
        let Some(q) = resolve::Query::of_row(query).filter(|_| !query.wants_dissolved) else {
            return Ok(None);
        };
        let budget = SearchBudget::single(searches);
        let found = resolve::investigate(self, &q, &budget, &resolve::model::MODEL).await?;
        Ok(match found.resolution(&resolve::model::MODEL) {
            matched @ Resolution::Matched { .. } => Some(matched),
            _ => None,
        })
    }

    /// The company's PSCs from the snapshot; `None` without a snapshot.
    pub async fn pscs(&self, number: &CompanyNumber) -> Result<Option<Vec<Psc>>, SourceError> {
        self.snapshot_items("pscs", number).await
    }

    /// The company's PSC statements from the snapshot; `None` without one.
    pub async fn psc_statements(
        &self,
        number: &CompanyNumber,
    ) -> Result<Option<Vec<PscStatementItem>>, SourceError> {
        self.snapshot_items("psc_statements", number).await
    }

    /// The snapshot's records of `table` for the company, as the API's items.
    async fn snapshot_items<T: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        number: &CompanyNumber,
    ) -> Result<Option<Vec<T>>, SourceError> {
        let Some(conn) = self.pscs.clone() else {
            return Ok(None);
        };
        let number = number.clone();
        let items: Vec<String> = blocking(move || {
            let conn = lock(&conn);
            let mut stmt =
                conn.prepare_cached(&format!("SELECT item FROM {table} WHERE company = ?1"))?;
            stmt.query_map([number.as_str()], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .await?;
        items
            .iter()
            .map(|item| serde_json::from_str::<T>(item).map_err(failed))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn candidates(
        &self,
        search: &Search,
    ) -> impl Future<Output = Result<Vec<Candidate>, SourceError>> + Send + use<> {
        let register = self.clone();
        let (name, location) = match search {
            Search::Name(q) => (q.clone(), None),
            Search::Near {
                name_includes,
                location,
            } => (name_includes.clone(), Some(location.trim().to_uppercase())),
        };
        async move {
            blocking(move || {
                let conn = register.connection();
                find(&conn, &register.terms, &name, location.as_deref())
            })
            .await
        }
    }

    /// A free connection of the pool, or the next one in turn.
    pub(super) fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        for c in self.companies.iter() {
            if let Ok(guard) = c.try_lock() {
                return guard;
            }
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) % self.companies.len();
        lock(&self.companies[turn])
    }
}

/// Candidates one search offers at most.
const CANDIDATES: usize = 25;
/// Names the same as the query's key or beginning with it, at most, per key.
const EXTENSIONS: i64 = 8;
/// Names holding every word of the query, at most: those beyond are in
/// no useful order (the index keeps none), and the exact key and the
/// extensions have already offered the closest names.
const ALL_WORDS: i64 = 20;
/// Names holding every word but one, at most, for each word left out.
const ALL_BUT_ONE: i64 = 10;
/// Names read to find those near a location.
const NEAR_READ: i64 = 1_000;
/// A word in more names than this is common: the word index is asked only
/// about the other words, whose short lists bound the cost of a query.
const COMMON: u64 = 10_000;
/// Corrections of a word the register does not hold asked of the word
/// index (the most used).
const CORRECTIONS: usize = 3;
/// Corrections tried in the query's key.
const KEY_CORRECTIONS: usize = 12;

/// The words a query word may be in the index: itself, or when the index
/// does not hold it, the indexed words one edit away (two for a long word
/// with none one edit away), the most used first. Empty: nothing close.
fn spellings(terms: &fst::Map<Vec<u8>>, word: &str) -> Vec<(String, u64)> {
    if let Some(docs) = terms.get(word) {
        return vec![(word.to_owned(), docs)];
    }
    let chars = word.chars().count();
    if chars < 4 {
        return Vec::new();
    }
    let mut found = one_edit(terms, word);
    if found.is_empty() && chars >= 9 {
        found = within(terms, word, 2);
    }
    found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    found.truncate(KEY_CORRECTIONS);
    found
}

/// The indexed words one edit (a letter dropped, added, changed, or two
/// swapped) from `word`, each looked up: a few hundred lookups in the map
/// cost less than building a Levenshtein automaton.
fn one_edit(terms: &fst::Map<Vec<u8>>, word: &str) -> Vec<(String, u64)> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = word.as_bytes();
    if !bytes.iter().all(|b| ALPHABET.contains(b)) {
        return within(terms, word, 1);
    }
    let mut found: Vec<(String, u64)> = Vec::new();
    let mut probe = |candidate: &[u8]| {
        if let Some(docs) = terms.get(candidate)
            && !found.iter().any(|(w, _)| w.as_bytes() == candidate)
        {
            found.push((String::from_utf8_lossy(candidate).into_owned(), docs));
        }
    };
    let mut buf: Vec<u8> = Vec::with_capacity(bytes.len() + 1);
    for i in 0..bytes.len() {
        // Dropped.
        buf.clear();
        buf.extend_from_slice(&bytes[..i]);
        buf.extend_from_slice(&bytes[i + 1..]);
        probe(&buf);
        // Swapped with the next.
        if i + 1 < bytes.len() && bytes[i] != bytes[i + 1] {
            buf.clear();
            buf.extend_from_slice(bytes);
            buf.swap(i, i + 1);
            probe(&buf);
        }
        // Changed.
        for &c in ALPHABET {
            if c != bytes[i] {
                buf.clear();
                buf.extend_from_slice(bytes);
                buf[i] = c;
                probe(&buf);
            }
        }
    }
    // Added.
    for i in 0..=bytes.len() {
        for &c in ALPHABET {
            buf.clear();
            buf.extend_from_slice(&bytes[..i]);
            buf.push(c);
            buf.extend_from_slice(&bytes[i..]);
            probe(&buf);
        }
    }
    found
}

/// The indexed words at most `distance` edits from `word`.
fn within(terms: &fst::Map<Vec<u8>>, word: &str, distance: u32) -> Vec<(String, u64)> {
    let Ok(automaton) = fst::automaton::Levenshtein::new(word, distance) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut stream = terms.search(automaton).into_stream();
    while let Some((term, docs)) = stream.next() {
        found.push((String::from_utf8_lossy(term).into_owned(), docs));
    }
    found
}

/// An FTS5 query for names holding a spelling of every group's word.
fn every_word(groups: &[&[(String, u64)]]) -> String {
    groups
        .iter()
        .map(|spellings| {
            let alternatives: Vec<String> =
                spellings.iter().map(|(w, _)| format!("\"{w}\"")).collect();
            format!("({})", alternatives.join(" OR "))
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The candidates for `name` (near `location`, when given): the names the
/// same as it, those that begin with it, then those holding all its words
/// (or, when none does, all but one), current and previous names alike.
fn find(
    conn: &Connection,
    terms: &fst::Map<Vec<u8>>,
    name: &str,
    location: Option<&str>,
) -> rusqlite::Result<Vec<Candidate>> {
    let mut entries: Vec<i64> = Vec::new();
    let mut words = names::index_words(name);
    words.truncate(6);
    let spelled: Vec<(&String, Vec<(String, u64)>)> =
        words.iter().map(|w| (w, spellings(terms, w))).collect();
    // The name as given, then with the words the register does not hold
    // replaced by their corrections: the most used for each, then each
    // other correction of one word in turn (a key lookup is cheap, and
    // every company the row may mean should reach the matcher).
    by_key(conn, &names::key(name), &mut entries)?;
    let mistyped: Vec<&(&String, Vec<(String, u64)>)> = spelled
        .iter()
        .filter(|(w, s)| s.first().is_some_and(|(c, _)| c != *w))
        .collect();
    let best: HashMap<&str, &str> = mistyped
        .iter()
        .map(|(w, s)| (w.as_str(), s[0].0.as_str()))
        .collect();
    if !best.is_empty() {
        by_key(conn, &names::key_with(name, &best), &mut entries)?;
    }
    for (word, corrections) in &mistyped {
        for (other, _) in corrections.iter().skip(1) {
            let mut replaced = best.clone();
            replaced.insert(word.as_str(), other.as_str());
            by_key(conn, &names::key_with(name, &replaced), &mut entries)?;
        }
    }
    // No name is the same as the query, even corrected: a word the register
    // holds may be a typo too (of a word in the name meant). The names the
    // same as the query with one such word one edit away, so the matcher
    // sees every company the row may mean, not only the first it finds.
    if entries.is_empty() {
        for (word, spellings) in &spelled {
            let known = spellings.len() == 1 && spellings[0].0 == **word;
            if !known || word.len() < 4 {
                continue;
            }
            let mut near = one_edit(terms, word);
            near.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            for (other, _) in near.iter().take(CORRECTIONS) {
                let replaced = HashMap::from([(word.as_str(), other.as_str())]);
                by_key(conn, &names::key_with(name, &replaced), &mut entries)?;
            }
        }
    }
    // The names holding every word few names have. The index keeps no
    // order, and asking it for a common word as well would walk that
    // word's whole list (hundreds of thousands of names); the key lookups
    // above and the matcher's scoring weigh the common words.
    let asked: Vec<&[(String, u64)]> = spelled
        .iter()
        .map(|(_, s)| &s[..s.len().min(CORRECTIONS)])
        .filter(|s| !s.is_empty())
        .collect();
    let rare: Vec<&[(String, u64)]> = asked
        .iter()
        .copied()
        .filter(|s| s.iter().all(|(_, d)| *d <= COMMON))
        .collect();
    let groups = if rare.is_empty() && location.is_some() && spelled.len() == 1 {
        // Near a place by one word: the place narrows it down instead.
        asked
    } else {
        rare
    };
    if !groups.is_empty() {
        let before = entries.len();
        let limit = if location.is_some() {
            NEAR_READ
        } else {
            ALL_WORDS
        };
        matching(conn, &every_word(&groups), limit, &mut entries)?;
        // Nothing holds every one: a word may be mistyped past correcting,
        // or missing from the registered name. Every one but one, in turn.
        if entries.len() == before && groups.len() > 1 {
            let limit = if location.is_some() {
                NEAR_READ
            } else {
                ALL_BUT_ONE
            };
            for skip in 0..groups.len() {
                let rest: Vec<&[(String, u64)]> = groups
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, g)| *g)
                    .collect();
                matching(conn, &every_word(&rest), limit, &mut entries)?;
            }
        }
    }
    candidates(conn, &entries, location)
}

/// Appends the entries with the "same as" key `key`, then those whose key
/// begins with it (the name followed by more words).
fn by_key(conn: &Connection, key: &str, entries: &mut Vec<i64>) -> rusqlite::Result<()> {
    if key.is_empty() {
        return Ok(());
    }
    if key.len() < 3 {
        let mut stmt =
            conn.prepare_cached("SELECT entry FROM name_keys WHERE key = ?1 LIMIT ?2")?;
        for e in stmt.query_map(params![key, EXTENSIONS], |r| r.get(0))? {
            entries.push(e?);
        }
        return Ok(());
    }
    // One range: the key itself sorts first, then the keys it begins.
    // Keys are lowercase letters and digits: `{` sorts after them all.
    let mut stmt = conn.prepare_cached(
        "SELECT entry FROM name_keys WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3",
    )?;
    for e in stmt.query_map(params![key, format!("{key}{{"), EXTENSIONS], |r| r.get(0))? {
        entries.push(e?);
    }
    Ok(())
}

/// Appends the entries matching the FTS5 query `fts`, `limit` at most.
fn matching(
    conn: &Connection,
    fts: &str,
    limit: i64,
    entries: &mut Vec<i64>,
) -> rusqlite::Result<()> {
    let mut stmt = conn
        .prepare_cached("SELECT rowid FROM company_words WHERE company_words MATCH ?1 LIMIT ?2")?;
    for e in stmt.query_map(params![fts, limit], |r| r.get(0))? {
        entries.push(e?);
    }
    Ok(())
}

/// The companies of `entries` in order, each once, near `location` when
/// given: a town, or the start of a postcode.
fn candidates(
    conn: &Connection,
    entries: &[i64],
    location: Option<&str>,
) -> rusqlite::Result<Vec<Candidate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT number, name, status, postal_code, company_type, locality, region, previous_names \
         FROM companies WHERE rowid = ?1",
    )?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for &entry in entries {
        let (rowid, index) = names::split(entry);
        if !seen.insert(rowid) {
            continue;
        }
        let row = stmt
            .query_row([rowid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })
            .optional()?;
        // An entry of a row replaced by a later copy of the same company.
        let Some((number, name, status, postcode, company_type, locality, region, previous)) = row
        else {
            continue;
        };
        if let Some(near) = location
            && locality.to_uppercase() != near
            && !postcode.to_uppercase().starts_with(near)
        {
            continue;
        }
        let previous_name = (index > 0)
            .then(|| {
                serde_json::from_str::<Vec<PreviousName>>(&previous)
                    .ok()
                    .and_then(|p| p.into_iter().nth(index - 1))
                    .map(|p| p.name)
            })
            .flatten();
        out.push(Candidate {
            company_number: number,
            name,
            status,
            postcode: Some(postcode).filter(|p| !p.is_empty()),
            previous_name,
            company_type,
            locality: format!("{locality} {region}")
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
        });
        if out.len() >= CANDIDATES {
            break;
        }
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
struct PreviousName {
    name: String,
}

/// Runs a query off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
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
