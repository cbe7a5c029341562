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
pub(crate) const MIGRATIONS: &[&str] = &[
    "
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
",
    "
    -- Which company an entry is about, so a change to one company (from
    -- `cache invalidate` or the streaming API) drops its entries by index
    -- rather than by scanning every key.
    ALTER TABLE entries ADD COLUMN company TEXT;
    UPDATE entries SET company = substr(params, instr(params, '/company/') + 9, 8)
        WHERE instr(params, '/company/') > 0;
    CREATE INDEX entries_by_company ON entries (company, resource) WHERE company IS NOT NULL;
    -- The companies each cached name search lists.
    CREATE TABLE listings (
        company  TEXT NOT NULL,
        params   TEXT NOT NULL,
        PRIMARY KEY (company, params)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO listings (company, params)
        SELECT json_extract(item.value, '$.company_number'), e.params
        FROM entries e, json_each(CAST(e.body AS TEXT), '$.items') item
        WHERE e.resource = 'search' AND e.found = 1 AND json_valid(CAST(e.body AS TEXT))
          AND json_extract(item.value, '$.company_number') IS NOT NULL;
    -- Following the streaming API: where each stream is, and since when
    -- it has been followed without a gap (see `leadgen stream`).
    CREATE TABLE stream_state (
        stream        TEXT PRIMARY KEY,
        timepoint     INTEGER,
        published_at  TEXT,
        covered_since INTEGER NOT NULL,
        applied_until INTEGER NOT NULL,
        events        INTEGER NOT NULL DEFAULT 0,
        updated_at    INTEGER NOT NULL,
        note          TEXT
    );
    -- The changes the streams reported about companies the cache knew.
    CREATE TABLE stream_changes (
        id             INTEGER PRIMARY KEY,
        company        TEXT NOT NULL,
        stream         TEXT NOT NULL,
        resource_kind  TEXT NOT NULL,
        resource_id    TEXT,
        event_type     TEXT NOT NULL,
        fields_changed TEXT,
        timepoint      INTEGER NOT NULL,
        published_at   TEXT,
        received_at    INTEGER NOT NULL
    );
    CREATE INDEX stream_changes_by_company ON stream_changes (company);
",
];

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
        let company = key.company().map(str::to_owned);
        let search = key.resource == super::Resource::Search;
        let found = entry.body.is_some();
        let body = entry.body.clone();
        let fetched_at = to_millis(entry.fetched_at);
        self.db.send("a cache entry", move |c| {
            c.prepare_cached(
                "INSERT OR REPLACE INTO entries \
                 (provider, resource, params, found, body, fetched_at, company) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                provider,
                resource,
                params,
                found,
                body.as_deref(),
                fetched_at,
                company
            ])?;
            if search && let Some(body) = body.as_deref() {
                c.prepare_cached(
                    "INSERT OR IGNORE INTO listings (company, params) \
                     SELECT json_extract(item.value, '$.company_number'), ?2 \
                     FROM json_each(CASE WHEN json_valid(?1) THEN ?1 ELSE '{}' END, '$.items') item \
                     WHERE json_extract(item.value, '$.company_number') IS NOT NULL",
                )?
                .execute(params![String::from_utf8_lossy(body), params])?;
            }
            Ok(())
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
            .call(|c| {
                c.execute("DELETE FROM listings", [])?;
                c.execute("DELETE FROM entries", []).map(|n| n as u64)
            })
            .await?;
        self.db.reclaim().await?;
        Ok(n)
    }

    /// Drop the entries about one company: its profile, officer and PSC
    /// pages, and the name searches whose answer lists it, so the next
    /// lookup by name sees it afresh.
    pub async fn invalidate_company(&self, number: &str) -> Result<u64, DbError> {
        let number = number.to_owned();
        self.db
            .call(move |c| drop_company(c, &number, &super::Resource::ALL))
            .await
    }

    /// The database, for callers whose writes must commit together with
    /// the cache's (the stream follower's timepoints).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Delete what `ttl` says has expired (an entry a followed stream keeps
    /// fresh lives as long as that lets it), the name-search listings of
    /// deleted searches and the recorded changes older than
    /// `ttl.with_stream`, and give the space back.
    pub async fn prune(&self, ttl: Ttl, max_lag: Duration) -> Result<u64, DbError> {
        let now = SystemTime::now();
        let deleted = self
            .db
            .call(move |c| {
                let states = super::followed::read_all(c)?;
                let cover = super::followed::cover(&states, max_lag, now);
                let now = to_millis(now);
                let kinds: Vec<(String, bool)> = c
                    .prepare("SELECT DISTINCT resource, found FROM entries")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let cutoff = |keep: Duration| now.saturating_sub(keep.as_millis() as i64);
                let mut deleted = 0;
                for (resource, found) in kinds {
                    let normal = cutoff(ttl.for_stored(&resource, found));
                    let since = super::Resource::from_stored(&resource)
                        .and_then(super::Resource::stream)
                        .and_then(|s| cover.since(s));
                    // Kept fresh since `since`: gone only past the longer life.
                    let (since, long) = match since {
                        Some(since) => (to_millis(since), cutoff(ttl.with_stream.max(ttl.for_stored(&resource, found)))),
                        None => (i64::MAX, normal),
                    };
                    deleted += c.execute(
                        "DELETE FROM entries WHERE resource = ?1 AND found = ?2 AND fetched_at <= ?3 \
                         AND (fetched_at < ?4 OR fetched_at <= ?5)",
                        params![resource, found, normal, since, long],
                    )? as u64;
                }
                c.execute(
                    "DELETE FROM listings WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE \
                     e.provider = 'companies_house' AND e.resource = 'search' AND e.params = listings.params)",
                    [],
                )?;
                c.execute(
                    "DELETE FROM stream_changes WHERE received_at <= ?1",
                    [cutoff(ttl.with_stream)],
                )?;
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

/// Delete `number`'s entries of the kinds in `resources`
/// ([`Resource::Search`](super::Resource::Search): the name searches
/// listing it), on the database thread; returns how many went.
pub fn drop_company(
    c: &rusqlite::Connection,
    number: &str,
    resources: &[super::Resource],
) -> rusqlite::Result<u64> {
    let mut deleted = 0;
    for resource in resources {
        deleted += if *resource == super::Resource::Search {
            let n = c
                .prepare_cached(
                    "DELETE FROM entries WHERE provider = 'companies_house' AND resource = 'search' \
                     AND params IN (SELECT params FROM listings WHERE company = ?1)",
                )?
                .execute([number])?;
            c.prepare_cached("DELETE FROM listings WHERE company = ?1")?
                .execute([number])?;
            n
        } else {
            c.prepare_cached("DELETE FROM entries WHERE company = ?1 AND resource = ?2")?
                .execute(params![number, resource.as_str()])?
        } as u64;
    }
    Ok(deleted)
}

/// Whether the cache holds anything about `number` (an entry, or a name
/// search listing it).
pub fn knows_company(c: &rusqlite::Connection, number: &str) -> rusqlite::Result<bool> {
    c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM entries WHERE company = ?1) \
         OR EXISTS (SELECT 1 FROM listings WHERE company = ?1)",
    )?
    .query_row([number], |r| r.get(0))
}

pub fn to_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}
