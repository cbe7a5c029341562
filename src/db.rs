//! A SQLite database owned by one thread, which async code sends closures to.
//!
//! rusqlite's `Connection` is `Send` but not `Sync`, and every call on it
//! blocks, so it must not run on the async runtime's threads. This is the
//! pattern tokio-rusqlite implements, written out here because
//! tokio-rusqlite 0.8 pins rusqlite 0.40 and the two cannot share a build.
//!
//! Jobs queued while the thread was busy run together in one transaction:
//! the cache's write-through and the journal's row records arrive in bursts,
//! and one commit per burst is what keeps SQLite from being the bottleneck.
//! A job's caller hears of its result only after that commit, so "recorded"
//! means durable as far as WAL with `synchronous=NORMAL` is (it survives the
//! process being killed, not necessarily a power cut).
//!
//! Two leadgen processes may share a file: WAL lets readers and a writer run
//! together and the busy timeout makes a writer wait for the other's commit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Jobs run in one transaction at most.
const MAX_BATCH: usize = 512;
/// `PRAGMA auto_vacuum` value for INCREMENTAL.
const AUTO_VACUUM_INCREMENTAL: i64 = 2;

/// What a SQLite file could not do; names the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct DbError {
    pub path: PathBuf,
    pub message: String,
}

type Completion = Box<dyn FnOnce(Option<&DbError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;

/// A handle to the database thread; clones share it. The thread ends when
/// the last handle is dropped, after finishing the jobs already queued.
#[derive(Clone)]
pub struct Db {
    tx: std_mpsc::Sender<Job>,
    path: Arc<PathBuf>,
}

impl Db {
    /// Open (creating the file and its directory) and bring the schema up to
    /// date: `migrations[i]` takes version `i` to `i + 1` (`PRAGMA user_version`).
    pub async fn open(path: &Path, migrations: &'static [&'static str]) -> Result<Db, DbError> {
        let path = Arc::new(path.to_path_buf());
        let (tx, rx) = std_mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = oneshot::channel();
        let thread_path = Arc::clone(&path);
        std::thread::Builder::new()
            .name("leadgen-sqlite".into())
            .spawn(move || match connect(&thread_path, migrations) {
                Ok(conn) => {
                    let _ = ready_tx.send(Ok(()));
                    serve(&conn, &rx, &thread_path);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| DbError {
                path: path.to_path_buf(),
                message: format!("cannot start the database thread: {e}"),
            })?;
        ready_rx.await.map_err(|_| closed(&path))??;
        Ok(Db { tx, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the database thread; the result arrives once its batch has
    /// committed.
    pub async fn call<R, F>(&self, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.queue(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.await.map_err(|_| closed(&self.path))?
    }

    /// Queue `f` without waiting for it; a failure is logged. For writes
    /// whose loss costs at most a repeated fetch (the cache's write-through).
    pub fn send<F>(&self, what: &'static str, f: F)
    where
        F: FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    {
        let queued = self.queue(f, move |r| {
            if let Err(e) = r {
                tracing::warn!(error = %e, "Could not write {what}.");
            }
        });
        if let Err(e) = queued {
            tracing::warn!(error = %e, "Could not write {what}.");
        }
    }

    /// Wait until every job queued before this call has committed.
    pub async fn flush(&self) -> Result<(), DbError> {
        self.call(|_| Ok(())).await
    }

    /// Gives the space of deleted rows back to the file system, so a file
    /// does not keep the size of the largest batch it ever held.
    ///
    /// New files are created with incremental auto-vacuum (see `connect`),
    /// so this frees their empty pages at once; a file made before that is
    /// converted with one `VACUUM`. The WAL is checkpointed and truncated
    /// after. Runs on its own connection, outside the batch transactions;
    /// another process using the file at that moment only makes it wait.
    pub async fn reclaim(&self) -> Result<(), DbError> {
        self.flush().await?;
        let path = Arc::clone(&self.path);
        tokio::task::spawn_blocking(move || {
            let err = |e: rusqlite::Error| sqlite_error(&path, e);
            let conn = Connection::open(&*path).map_err(err)?;
            conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
            let mode: i64 = conn
                .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
                .map_err(err)?;
            if mode == AUTO_VACUUM_INCREMENTAL {
                // It frees one page per step: step it to the end.
                let mut vacuum = conn.prepare("PRAGMA incremental_vacuum").map_err(err)?;
                let mut steps = vacuum.query([]).map_err(err)?;
                while steps.next().map_err(err)?.is_some() {}
            } else {
                conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
                    .map_err(err)?;
            }
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(err)
        })
        .await
        .map_err(|_| closed(&self.path))?
    }

    fn queue<R, F>(
        &self,
        f: F,
        done: impl FnOnce(Result<R, DbError>) + Send + 'static,
    ) -> Result<(), DbError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let path = Arc::clone(&self.path);
        let job: Job = Box::new(move |conn| {
            let result = f(conn).map_err(|e| sqlite_error(&path, e));
            Box::new(move |commit: Option<&DbError>| {
                done(match (result, commit) {
                    (Ok(_), Some(e)) => Err(e.clone()),
                    (r, _) => r,
                })
            })
        });
        self.tx.send(job).map_err(|_| closed(&self.path))
    }
}

fn connect(path: &Path, migrations: &[&str]) -> Result<Connection, DbError> {
    let err = |e: rusqlite::Error| sqlite_error(path, e);
    // Created here, private, before SQLite would create it readable by all
    // (its -wal and -shm files take the database's mode).
    crate::private::precreate(path).map_err(|e| DbError {
        path: path.to_path_buf(),
        message: format!("cannot create it or its directory: {e}"),
    })?;
    let conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // Only takes effect on a new, empty file (before its first table):
    // deleted rows' pages can then be returned with `reclaim`.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
        .map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    // With WAL, NORMAL loses nothing on a crashed process, only on power loss.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err)?;
    migrate(&conn, migrations).map_err(|e| match e {
        Migration::Sqlite(e) => err(e),
        Migration::TooNew(found) => DbError {
            path: path.to_path_buf(),
            message: format!(
                "schema version {found} is newer than this leadgen understands ({}); \
                 upgrade leadgen or point it at another directory (LEADGEN_CACHE_DIR)",
                migrations.len()
            ),
        },
    })?;
    Ok(conn)
}

enum Migration {
    Sqlite(rusqlite::Error),
    TooNew(i64),
}

fn migrate(conn: &Connection, migrations: &[&str]) -> Result<(), Migration> {
    let version = |c: &Connection| -> rusqlite::Result<i64> {
        c.pragma_query_value(None, "user_version", |r| r.get(0))
    };
    let known = migrations.len() as i64;
    let current = version(conn).map_err(Migration::Sqlite)?;
    if current == known {
        return Ok(());
    }
    if current > known {
        return Err(Migration::TooNew(current));
    }
    // IMMEDIATE takes the write lock first, so two processes starting at
    // once migrate one after the other; the version is read again inside.
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(Migration::Sqlite)?;
    let result = (|| {
        let current = version(conn).map_err(Migration::Sqlite)?;
        if current > known {
            return Err(Migration::TooNew(current));
        }
        for step in &migrations[current as usize..] {
            conn.execute_batch(step).map_err(Migration::Sqlite)?;
        }
        conn.pragma_update(None, "user_version", known)
            .map_err(Migration::Sqlite)
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(Migration::Sqlite),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn serve(conn: &Connection, rx: &std_mpsc::Receiver<Job>, path: &Path) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // If the transaction cannot start (the other process held the lock
        // past the busy timeout), each job still runs in its own.
        let in_transaction = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let completions: Vec<Completion> = batch.into_iter().map(|job| job(conn)).collect();
        let commit = if in_transaction {
            conn.execute_batch("COMMIT").err().map(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                sqlite_error(path, e)
            })
        } else {
            None
        };
        for done in completions {
            done(commit.as_ref());
        }
    }
}

fn sqlite_error(path: &Path, e: rusqlite::Error) -> DbError {
    DbError {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn closed(path: &Path) -> DbError {
    DbError {
        path: path.to_path_buf(),
        message: "the database thread stopped".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &[&str] = &["CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);"];

    #[tokio::test]
    async fn reclaim_shrinks_files_made_before_auto_vacuum_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            // A file as an older leadgen made it: no auto-vacuum.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(SCHEMA[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            let big = "y".repeat(4000);
            for k in 0..1000 {
                c.execute(
                    "INSERT INTO t (k, v) VALUES (?1, ?2)",
                    rusqlite::params![k, big],
                )
                .unwrap();
            }
            c.execute("DELETE FROM t", []).unwrap();
        }
        let before = std::fs::metadata(&path).unwrap().len();
        assert!(before > 3_000_000, "{before}");
        let db = Db::open(&path, SCHEMA).await.unwrap();
        db.reclaim().await.unwrap();
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(after < 100_000, "{after} bytes (was {before})");
        let mode: i64 = db
            .call(|c| c.pragma_query_value(None, "auto_vacuum", |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(mode, AUTO_VACUUM_INCREMENTAL, "converted for next time");
    }

    #[tokio::test]
    async fn calls_run_in_order_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/t.sqlite");
        let db = Db::open(&path, SCHEMA).await.unwrap();
        for i in 0..100 {
            db.send("t", move |c| {
                c.execute("INSERT INTO t VALUES (?1, 'x')", [i]).map(drop)
            });
        }
        db.flush().await.unwrap();
        let n: i64 = db
            .call(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(n, 100);
        drop(db);
        let db = Db::open(&path, SCHEMA).await.unwrap();
        let mode: String = db
            .call(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let db = Db::open(&path, SCHEMA).await.unwrap();
        db.call(|c| c.pragma_update(None, "user_version", 7))
            .await
            .unwrap();
        drop(db);
        let e = Db::open(&path, SCHEMA).await.err().unwrap().to_string();
        assert!(
            e.contains("t.sqlite") && e.contains("version 7") && e.contains("upgrade"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_failing_job_does_not_fail_its_batch_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite"), SCHEMA)
            .await
            .unwrap();
        let bad = db.call(|c| c.execute("INSERT INTO nope VALUES (1)", []));
        let good = db.call(|c| c.execute("INSERT INTO t VALUES (1, 'a')", []));
        let (bad, good) = tokio::join!(bad, good);
        assert!(bad.is_err());
        assert_eq!(good.unwrap(), 1);
    }
}
