//! The run journal: what each input row of an unfinished run came to, so
//! that running the same command again after Ctrl-C or a killed process
//! resumes instead of starting from zero.
//!
//! Each finished row is recorded, as it completes, with its output already
//! rendered for the run's format; a resumed run writes recorded rows from
//! here (streamed in row order, a chunk at a time, so memory stays flat)
//! and looks up only the rest. A row is written to the output only after its
//! record has committed, so any row a reader saw is one a resume skips.
//! Rows that ended in a transient error (timeouts, an unavailable provider)
//! are not recorded: a resume tries them again.
//!
//! "The same command" is the same input file (path, size, modification time
//! and a hash of its first and last MiB), the same output target and the same
//! options that change what is written; the identity is hashed into the
//! run's key. A finished run deletes its journal, so tomorrow's cron run
//! starts afresh; journals left untouched for a week are dropped. Input from
//! stdin cannot be identified, so it is not resumable.
//!
//! The journal is `journal.sqlite` beside the cache (`LEADGEN_CACHE_DIR`),
//! kept apart from it so `cache clear` never loses a run's progress.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::params;

use crate::config::DiscoverSettings;
use crate::db::{Db, DbError};
use crate::output::Status;

const MIGRATIONS: &[&str] = &["
    CREATE TABLE runs (
        key         TEXT PRIMARY KEY,
        description TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE rows (
        key                TEXT NOT NULL,
        row                INTEGER NOT NULL,
        status             TEXT NOT NULL,
        executives         INTEGER NOT NULL,
        credential_refused TEXT,
        rendered           BLOB NOT NULL,
        PRIMARY KEY (key, row)
    ) WITHOUT ROWID;
"];

pub const FILE_NAME: &str = "journal.sqlite";
/// Rows read from the journal at a time by a resumed run.
const CHUNK: u64 = 512;
/// An unfinished run untouched this long is not coming back.
const ABANDONED_AFTER_MS: i64 = 7 * 24 * 3600 * 1000;
const MIB: u64 = 1024 * 1024;

/// Which run this is; equal identities resume each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity {
    pub key: String,
    pub description: String,
}

impl RunIdentity {
    /// `None` for stdin. Reads up to 2 MiB of the input (blocking).
    pub fn of(settings: &DiscoverSettings) -> io::Result<Option<RunIdentity>> {
        if settings.input.as_os_str() == "-" {
            return Ok(None);
        }
        let input = std::path::absolute(&settings.input)?;
        let output = match &settings.output {
            Some(p) => std::path::absolute(p)?.display().to_string(),
            None => "<stdout>".into(),
        };
        let description = format!(
            "leadgen {}\ninput {}\nfingerprint {}\noutput {output}\nformat {:?}\n\
             include_resigned {}\ninclude_birth {}\nexecutives_only {}\nappointments {}\nrefresh {}\ncompanies_house {}\nindustry {:?}",
            env!("CARGO_PKG_VERSION"),
            input.display(),
            fingerprint(&input)?,
            settings.format,
            settings.merge.include_resigned,
            settings.merge.include_birth,
            settings.merge.executives_only,
            settings.appointments,
            settings.cache.mode == crate::cache::CacheMode::Refresh,
            settings.companies_house_url,
            settings.industry,
        );
        Ok(Some(RunIdentity {
            key: format!(
                "{:016x}",
                fnv1a(fnv1a(FNV_OFFSET, b"run"), description.as_bytes())
            ),
            description,
        }))
    }
}

/// Size, modification time and a hash of the first and last MiB: cheap on a
/// 100 MB input, and any edit a user makes changes at least one of them.
fn fingerprint(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let len = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut hash = FNV_OFFSET;
    let mut buf = vec![0; MIB as usize];
    let n = read_up_to(&mut file, &mut buf)?;
    hash = fnv1a(hash, &buf[..n]);
    if len > 2 * MIB {
        file.seek(SeekFrom::Start(len - MIB))?;
    }
    if len > MIB {
        let n = read_up_to(&mut file, &mut buf)?;
        hash = fnv1a(hash, &buf[..n]);
    }
    Ok(format!("{len}:{mtime}:{hash:016x}"))
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a: stable across Rust releases, unlike `DefaultHasher`.
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// One finished row as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneRow {
    pub row: u64,
    pub status: Status,
    pub executives: u64,
    /// Source failures that left the row standing (not kept in the journal:
    /// a replayed row counts none).
    pub warnings: u64,
    /// The message naming a refused credential, for the run summary.
    pub credential_refused: Option<String>,
    /// The row's output in the run's format.
    pub rendered: Vec<u8>,
    /// Time the row took besides waiting for uncached answers (cache hits,
    /// register, matching, rendering): what a warm run would spend on it.
    /// Not journaled.
    pub own_time: std::time::Duration,
}

#[derive(Clone)]
pub struct Journal {
    db: Db,
    key: Arc<str>,
}

impl Journal {
    /// Open the journal in `dir` for `run`; returns how many rows an earlier
    /// attempt finished. `restart` discards them.
    pub async fn open(
        dir: &Path,
        run: &RunIdentity,
        restart: bool,
    ) -> Result<(Journal, u64), DbError> {
        let db = Db::open(&dir.join(FILE_NAME), MIGRATIONS).await?;
        let key: Arc<str> = run.key.as_str().into();
        let description = run.description.clone();
        let k = Arc::clone(&key);
        let done = db
            .call(move |c| {
                let now = now_ms();
                c.execute(
                    "DELETE FROM rows WHERE key IN (SELECT key FROM runs WHERE updated_at < ?1)",
                    [now - ABANDONED_AFTER_MS],
                )?;
                c.execute(
                    "DELETE FROM runs WHERE updated_at < ?1",
                    [now - ABANDONED_AFTER_MS],
                )?;
                if restart {
                    c.execute("DELETE FROM rows WHERE key = ?1", [&*k])?;
                }
                c.execute(
                    "INSERT INTO runs (key, description, started_at, updated_at) VALUES (?1, ?2, ?3, ?3) \
                     ON CONFLICT (key) DO UPDATE SET updated_at = ?3",
                    params![&*k, description, now],
                )?;
                c.query_row("SELECT count(*) FROM rows WHERE key = ?1", [&*k], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .await?;
        Ok((Journal { db, key }, done as u64))
    }

    /// Record a finished row; returns once the record has committed.
    pub async fn record(&self, row: DoneRow) -> Result<(), DbError> {
        let key = Arc::clone(&self.key);
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "INSERT OR REPLACE INTO rows \
                     (key, row, status, executives, credential_refused, rendered) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    &*key,
                    row.row as i64,
                    row.status.as_str(),
                    row.executives as i64,
                    row.credential_refused,
                    row.rendered
                ])
                .map(drop)
            })
            .await
    }

    /// The run finished: forget it, and give its space back (a finished
    /// 100,000-row run would otherwise leave its file at that size).
    pub async fn finish(&self) -> Result<(), DbError> {
        let key = Arc::clone(&self.key);
        self.db
            .call(move |c| {
                c.execute("DELETE FROM rows WHERE key = ?1", [&*key])?;
                c.execute("DELETE FROM runs WHERE key = ?1", [&*key])
                    .map(drop)
            })
            .await?;
        self.db.reclaim().await
    }

    /// Walks the recorded rows in order alongside the input.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            journal: self.clone(),
            after: 0,
            buffer: VecDeque::new(),
            exhausted: false,
        }
    }

    async fn chunk(&self, after: u64) -> Result<Vec<DoneRow>, DbError> {
        let key = Arc::clone(&self.key);
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT row, status, executives, credential_refused, rendered FROM rows \
                     WHERE key = ?1 AND row > ?2 ORDER BY row LIMIT ?3",
                )?;
                let rows = stmt.query_map(params![&*key, after as i64, CHUNK as i64], |r| {
                    Ok(DoneRow {
                        row: r.get::<_, i64>(0)? as u64,
                        status: parse_status(&r.get::<_, String>(1)?),
                        executives: r.get::<_, i64>(2)? as u64,
                        warnings: 0,
                        credential_refused: r.get(3)?,
                        rendered: r.get(4)?,
                        own_time: std::time::Duration::ZERO,
                    })
                })?;
                rows.collect()
            })
            .await
    }
}

fn parse_status(s: &str) -> Status {
    match s {
        "matched" => Status::Matched,
        "not_found" => Status::NotFound,
        "ambiguous" => Status::Ambiguous,
        "filtered" => Status::Filtered,
        _ => Status::Error,
    }
}

fn now_ms() -> i64 {
    crate::cache::sqlite::to_millis(SystemTime::now())
}

/// Yields, for each input row in turn, its record if an earlier attempt
/// finished it. Input rows must be asked for in increasing order.
pub struct Cursor {
    journal: Journal,
    after: u64,
    buffer: VecDeque<DoneRow>,
    exhausted: bool,
}

impl Cursor {
    pub async fn take(&mut self, row: u64) -> Result<Option<DoneRow>, DbError> {
        loop {
            // Records of rows before `row` are ones this run made itself.
            while self.buffer.front().is_some_and(|d| d.row < row) {
                self.buffer.pop_front();
            }
            match self.buffer.front() {
                Some(d) if d.row == row => return Ok(self.buffer.pop_front()),
                Some(_) => return Ok(None),
                None if self.exhausted => return Ok(None),
                None => {}
            }
            let chunk = self.journal.chunk(self.after.max(row - 1)).await?;
            self.exhausted = (chunk.len() as u64) < CHUNK;
            if let Some(last) = chunk.last() {
                self.after = last.row;
            }
            self.buffer.extend(chunk);
            if self.buffer.is_empty() {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(row: u64) -> DoneRow {
        DoneRow {
            row,
            status: Status::Matched,
            executives: 2,
            warnings: 0,
            credential_refused: None,
            rendered: format!("row {row}\n").into_bytes(),
            own_time: std::time::Duration::ZERO,
        }
    }

    fn run(key: &str) -> RunIdentity {
        RunIdentity {
            key: key.into(),
            description: "test".into(),
        }
    }

    #[tokio::test]
    async fn a_cursor_streams_recorded_rows_in_order_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let (j, n) = Journal::open(dir.path(), &run("a"), false).await.unwrap();
        assert_eq!(n, 0);
        // Every third row of 2000, recorded out of order.
        let recorded: Vec<u64> = (1..=2000).filter(|r| r % 3 == 0).rev().collect();
        for r in &recorded {
            j.record(done(*r)).await.unwrap();
        }
        let (j, n) = Journal::open(dir.path(), &run("a"), false).await.unwrap();
        assert_eq!(n, recorded.len() as u64);
        let (other, n) = Journal::open(dir.path(), &run("b"), false).await.unwrap();
        assert_eq!(n, 0, "another run's journal is separate");
        drop(other);
        let mut cursor = j.cursor();
        let mut found = vec![];
        for r in 1..=2000 {
            if let Some(d) = cursor.take(r).await.unwrap() {
                assert_eq!(d, done(r));
                found.push(r);
            }
        }
        found.reverse();
        assert_eq!(found, recorded);
        j.finish().await.unwrap();
        let (_, n) = Journal::open(dir.path(), &run("a"), false).await.unwrap();
        assert_eq!(n, 0, "a finished run starts afresh");
    }

    #[tokio::test]
    async fn a_finished_5000_row_run_gives_its_space_back() {
        let dir = tempfile::tempdir().unwrap();
        let size = || {
            ["journal.sqlite", "journal.sqlite-wal"]
                .iter()
                .map(|f| std::fs::metadata(dir.path().join(f)).map_or(0, |m| m.len()))
                .sum::<u64>()
        };
        let (j, _) = Journal::open(dir.path(), &run("big"), false).await.unwrap();
        for r in 1..=5000 {
            let mut row = done(r);
            // About what a row with a few executives renders to.
            row.rendered = vec![b'x'; 2048];
            j.record(row).await.unwrap();
        }
        j.db.flush().await.unwrap();
        let full = size();
        assert!(full > 10_000_000, "{full} bytes for 5000 rows");
        j.finish().await.unwrap();
        let after = size();
        assert!(
            after < 100_000,
            "{after} bytes left after the run (was {full})"
        );
    }

    #[tokio::test]
    async fn restart_discards_progress() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(dir.path(), &run("a"), false).await.unwrap();
        j.record(done(1)).await.unwrap();
        let (_, n) = Journal::open(dir.path(), &run("a"), true).await.unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn the_fingerprint_changes_with_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv");
        std::fs::write(&p, "company_name\nA\n").unwrap();
        let a = fingerprint(&p).unwrap();
        assert_eq!(a, fingerprint(&p).unwrap());
        std::fs::write(&p, "company_name\nB\n").unwrap();
        assert_ne!(a, fingerprint(&p).unwrap());
        let big: String = (0..400_000).map(|i| format!("{i}\n")).collect();
        std::fs::write(&p, &big).unwrap();
        let a = fingerprint(&p).unwrap();
        std::fs::write(&p, big.replacen("399999", "399998", 1)).unwrap();
        assert_ne!(a, fingerprint(&p).unwrap(), "the tail counts");
    }
}
