//! A local copy of the company register, from Companies House's free bulk
//! files: search and profile with no call at all.
//!
//! `leadgen register import` reads the monthly BasicCompanyData product
//! ([`bulk`]) into one SQLite file, `register/companies.sqlite` under the
//! cache directory, with its names indexed for the matcher's candidate
//! queries ([`names`]; SQLite is already in the tree, bundled with FTS5;
//! one file, readable by any number of processes while the next import
//! builds beside it). [`import`] builds the new file under a temporary
//! name and renames it over the old one only when complete, so a failed,
//! killed or interrupted import leaves the previous register in use.

pub mod bulk;
pub mod import;
pub mod listing;
pub mod local;
pub mod names;
pub mod psc;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};

/// The register file under a cache directory.
pub fn path(cache_dir: &Path) -> PathBuf {
    cache_dir.join("register").join("companies.sqlite")
}

/// How old the company snapshot may get before `status` warns (monthly
/// product: a month and some days of slack).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(40 * 24 * 3600);

/// How old the PSC snapshot may get (published daily).
pub const DEFAULT_PSC_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why the register could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a readable zip archive: {reason}", path.display())]
    Zip { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    NotARegister { path: PathBuf, reason: String },
    #[error("{}: line {line}: {reason}", path.display())]
    Read {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("register database {}: {source}", path.display())]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("no local register at {}: run `leadgen register import` on a BasicCompanyData file", path.display())]
    Missing { path: PathBuf },
    #[error("the register at {} was built by another version of leadgen: run `leadgen register import` again", path.display())]
    Outdated { path: PathBuf },
}

impl RegisterError {
    /// The input is wrong (not the machine): exit 2.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            RegisterError::NotARegister { .. }
                | RegisterError::Zip { .. }
                | RegisterError::Missing { .. }
                | RegisterError::Outdated { .. }
        )
    }
}

/// A register file built under a temporary name beside `target` and
/// renamed over it by [`NewFile::swap_in`]; dropped before that (an error,
/// Ctrl-C), it is deleted and the previous file stays in use.
pub(crate) struct NewFile {
    target: PathBuf,
    temp: tempfile::TempPath,
    pub conn: Connection,
}

impl NewFile {
    /// A new private file beside `target`, with `schema`, written without
    /// journal or syncs: nobody reads it until it is complete.
    pub fn create(target: PathBuf, schema: &str) -> Result<NewFile, RegisterError> {
        let file = |source| RegisterError::File {
            path: target.clone(),
            source,
        };
        crate::private::create_parent(&target).map_err(file)?;
        let temp = crate::atomic::beside(&target)
            .map_err(file)?
            .into_temp_path();
        let conn = Connection::open(&temp).map_err(|source| RegisterError::Db {
            path: target.clone(),
            source,
        })?;
        let new = NewFile { target, temp, conn };
        new.conn
            .execute_batch(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;",
            )
            .and_then(|()| new.conn.execute_batch(schema))
            .map_err(|e| new.db(e))?;
        Ok(new)
    }

    pub fn db(&self, source: rusqlite::Error) -> RegisterError {
        RegisterError::Db {
            path: self.target.clone(),
            source,
        }
    }

    /// Records where the file came from in its `meta` table.
    pub fn write_meta(
        tx: &rusqlite::Transaction<'_>,
        pairs: &[(&str, String)],
    ) -> rusqlite::Result<()> {
        let imported_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        for (key, value) in pairs.iter().chain([&("imported_at", imported_at)]) {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                rusqlite::params![key, value],
            )?;
        }
        Ok(())
    }

    /// Closes the finished file and renames it over the target; returns its size.
    pub fn swap_in(self) -> Result<u64, RegisterError> {
        let NewFile { target, temp, conn } = self;
        conn.close().map_err(|(_, source)| RegisterError::Db {
            path: target.clone(),
            source,
        })?;
        temp.persist(&target).map_err(|e| RegisterError::File {
            path: target.clone(),
            source: e.error,
        })?;
        Ok(std::fs::metadata(&target).map_or(0, |m| m.len()))
    }
}

/// What `register status` says.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub path: PathBuf,
    pub snapshot: Option<String>,
    pub imported_at: Option<String>,
    pub companies: u64,
    pub bad_rows: u64,
    pub files: String,
    pub bytes: u64,
    /// Since the snapshot date (or the import, without one).
    pub age: Option<Duration>,
}

impl Status {
    pub fn lines(&self, max_age: Duration) -> Vec<String> {
        let days = |d: Duration| d.as_secs() / 86_400;
        let mut lines = vec![
            format!("register: {}", self.path.display()),
            format!(
                "  companies: {} (snapshot {}, imported {})",
                self.companies,
                self.snapshot.as_deref().unwrap_or("of unknown date"),
                self.imported_at.as_deref().unwrap_or("at an unknown time")
            ),
            format!("  from: {}", self.files),
            format!(
                "  size: {:.1} MiB; rows not imported: {}",
                self.bytes as f64 / (1024.0 * 1024.0),
                self.bad_rows
            ),
        ];
        if let Some(age) = self.age {
            lines.push(format!("  age: {} days", days(age)));
            if age > max_age {
                lines.push(format!(
                    "  WARNING: the snapshot is {} days old (register.max_age is {} days); \
                     import this month's BasicCompanyData file",
                    days(age),
                    days(max_age)
                ));
            }
        }
        lines
    }

    pub fn is_stale(&self, max_age: Duration) -> bool {
        self.age.is_some_and(|a| a > max_age)
    }
}

/// How old a snapshot dated `snapshot` (`2026-11-01`) is, or failing a
/// date, an import made at `imported_at` (RFC 3339).
pub(crate) fn age(snapshot: Option<&str>, imported_at: Option<&str>) -> Option<Duration> {
    let since = match snapshot.filter(|s| !s.is_empty()) {
        Some(d) => humantime::parse_rfc3339(&format!("{d}T00:00:00Z")).ok(),
        None => imported_at.and_then(|t| humantime::parse_rfc3339(t).ok()),
    }?;
    SystemTime::now().duration_since(since).ok()
}

/// Reads the register's facts about itself.
pub fn status(cache_dir: &Path) -> Result<Status, RegisterError> {
    let path = path(cache_dir);
    if !path.exists() {
        return Err(RegisterError::Missing { path });
    }
    let db = |source| RegisterError::Db {
        path: path.clone(),
        source,
    };
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db)?;
    let meta = |key: &str| -> Result<Option<String>, RegisterError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(db)
    };
    let number = |key: &str| -> Result<u64, RegisterError> {
        Ok(meta(key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
    };
    let snapshot = meta("snapshot")?;
    let imported_at = meta("imported_at")?;
    let age = age(snapshot.as_deref(), imported_at.as_deref());
    Ok(Status {
        companies: number("companies")?,
        bad_rows: number("bad_rows")?,
        files: meta("files")?.unwrap_or_default(),
        bytes: std::fs::metadata(&path).map_or(0, |m| m.len()),
        snapshot,
        imported_at,
        age,
        path,
    })
}
