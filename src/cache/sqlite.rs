//! The embedded persistent tier: one SQLite file in the cache directory,
//! shared by every leadgen process of the user (WAL, busy timeout).
//!
//! Rows keep when an answer was fetched, not when it expires: the TTLs in
//! force decide freshness when the row is read (so shortening a TTL in the
//! config takes effect at once), and `cache prune` deletes by the same rule.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rusqlite::{OptionalExtension, params};

use super::{CacheKey, Entry, TierUsage, Ttl};
use crate::db::{Db, DbError};

/// Schema versions, oldest first; never edit one that has shipped, add one.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE entries (
        provider   TEXT NOT NULL,
        resource   TEXT NOT NULL,
        params     TEXT NOT NULL,
        found      INTEGER NOT NULL,
        body       BLOB,
        fetched_at INTEGER NOT NULL,
        PRIMARY KEY (provider, resource, params)
    ) WITHOUT ROWID;
    CREATE TABLE last_run (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        finished_at INTEGER NOT NULL,
        stats      TEXT NOT NULL
    );
"];

pub const FILE_NAME: &str = "cache.sqlite";

#[derive(Clone)]
pub struct SqliteTier {
    db: Db,
}

impl SqliteTier {
    pub async fn open(dir: &Path) -> Result<SqliteTier, DbError> {
        Ok(SqliteTier {
            db: Db::open(&dir.join(FILE_NAME), MIGRATIONS).await?,
        })
    }

    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// The entry if there is one still fresh under `ttl`.
    pub async fn get(&self, key: &CacheKey, ttl: Ttl) -> Result<Option<Entry>, DbError> {
        let (provider, resource, params) =
            (key.provider(), key.resource.as_str(), key.params.clone());
        let row = self
            .db
            .call(move |c| {
                c.prepare_cached(
                    "SELECT found, body, fetched_at FROM entries \
                     WHERE provider = ?1 AND resource = ?2 AND params = ?3",
                )?
                .query_row(params![provider, resource, params], |r| {
                    Ok((
                        r.get::<_, bool>(0)?,
                        r.get::<_, Option<Vec<u8>>>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .optional()
            })
            .await?;
        Ok(row.and_then(|(found, body, fetched_at)| {
            let entry = Entry {
                body: if found {
                    Some(Bytes::from(body.unwrap_or_default()))
                } else {
                    None
                },
                fetched_at: from_millis(fetched_at),
            };
            (!ttl.remaining(key.resource, &entry).is_zero()).then_some(entry)
        }))
    }

    /// Write without waiting; [`SqliteTier::flush`] waits for every write.
    pub fn put(&self, key: &CacheKey, entry: &Entry) {
        let (provider, resource, params) =
            (key.provider(), key.resource.as_str(), key.params.clone());
        let found = entry.body.is_some();
        let body = entry.body.clone();
        let fetched_at = to_millis(entry.fetched_at);
        self.db.send("a cache entry", move |c| {
            c.prepare_cached(
                "INSERT OR REPLACE INTO entries (provider, resource, params, found, body, fetched_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![provider, resource, params, found, body.as_deref(), fetched_at])
            .map(drop)
        });
    }

    pub async fn flush(&self) -> Result<(), DbError> {
        self.db.flush().await
    }

    /// Entries and bytes per provider.
    pub async fn usage(&self) -> Result<BTreeMap<String, TierUsage>, DbError> {
        self.db
            .call(|c| {
                let mut stmt = c.prepare(
                    "SELECT provider, count(*), \
                     coalesce(sum(length(params) + coalesce(length(body), 0)), 0) \
                     FROM entries GROUP BY provider",
                )?;
                let rows = stmt.query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        TierUsage {
                            entries: r.get::<_, i64>(1)? as u64,
                            bytes: r.get::<_, i64>(2)? as u64,
                        },
                    ))
                })?;
                rows.collect()
            })
            .await
    }

    /// Delete every entry and give the file's space back.
    pub async fn clear(&self) -> Result<u64, DbError> {
        let n = self
            .db
            .call(|c| c.execute("DELETE FROM entries", []).map(|n| n as u64))
            .await?;
        self.db.reclaim().await?;
        Ok(n)
    }

    /// Drop the entries about one company: its profile, officer and PSC
    /// pages (any key whose path is `/company/NUMBER...`), and searches
    /// whose answer lists it, so the next lookup by name sees it afresh.
    pub async fn invalidate_company(&self, number: &str) -> Result<u64, DbError> {
        // Keys start with the API's base URL, then the path.
        let exact = format!("%/company/{number}");
        let under = format!("%/company/{number}/%");
        let query = format!("%/company/{number}?%");
        let listed = format!("\"{number}\"");
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM entries WHERE params LIKE ?1 OR params LIKE ?2 OR params LIKE ?3 \
                     OR (resource IN ('search', 'advanced_search') \
                         AND instr(body, CAST(?4 AS BLOB)) > 0)",
                    params![exact, under, query, listed],
                )
                .map(|n| n as u64)
            })
            .await
    }

    /// Delete what `ttl` says has expired, and give the space back.
    pub async fn prune(&self, ttl: Ttl) -> Result<u64, DbError> {
        let now = to_millis(SystemTime::now());
        let deleted = self
            .db
            .call(move |c| {
                let kinds: Vec<(String, bool)> = c
                    .prepare("SELECT DISTINCT resource, found FROM entries")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let mut deleted = 0;
                for (resource, found) in kinds {
                    let keep = ttl.for_stored(&resource, found);
                    let cutoff = now.saturating_sub(keep.as_millis() as i64);
                    deleted += c.execute(
                        "DELETE FROM entries WHERE resource = ?1 AND found = ?2 AND fetched_at <= ?3",
                        params![resource, found, cutoff],
                    )? as u64;
                }
                Ok(deleted)
            })
            .await?;
        self.db.reclaim().await?;
        Ok(deleted)
    }

    pub async fn save_last_run(&self, stats_json: String) -> Result<(), DbError> {
        let now = to_millis(SystemTime::now());
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT OR REPLACE INTO last_run (id, finished_at, stats) VALUES (1, ?1, ?2)",
                    params![now, stats_json],
                )
                .map(drop)
            })
            .await
    }

    pub async fn last_run(&self) -> Result<Option<(SystemTime, String)>, DbError> {
        self.db
            .call(|c| {
                c.query_row(
                    "SELECT finished_at, stats FROM last_run WHERE id = 1",
                    [],
                    |r| Ok((from_millis(r.get(0)?), r.get(1)?)),
                )
                .optional()
            })
            .await
    }
}

pub fn to_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}
