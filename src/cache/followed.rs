//! Where each followed stream is (`leadgen stream`), kept in the cache's
//! SQLite file beside the entries the stream keeps fresh, and mirrored to
//! Redis when one is configured so other machines sharing the cache know
//! whether the stream is being followed.
//!
//! A state is written in the same transaction as the cache drops of the
//! events it counts ([`crate::stream`]), so a timepoint is never ahead of
//! what has been applied.

use std::time::{Duration, SystemTime};

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Cover;
use super::sqlite::{from_millis, to_millis};
use crate::stream_kind::Stream;

/// One stream's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    pub stream: String,
    /// The last event applied; `None` until the first event (a connection
    /// without a timepoint starts at "now").
    pub timepoint: Option<u64>,
    /// That event's `published_at`, as sent.
    pub published_at: Option<String>,
    /// Since when the stream has been followed without a gap: entries
    /// fetched before may have missed a change.
    #[serde(with = "millis")]
    pub covered_since: SystemTime,
    /// Every event published before this has been applied (the lag is the
    /// time since).
    #[serde(with = "millis")]
    pub applied_until: SystemTime,
    /// Events applied over the stream's life.
    pub events: u64,
    #[serde(with = "millis")]
    pub updated_at: SystemTime,
    /// The last thing worth telling (`416: timepoint too old`, ...).
    pub note: Option<String>,
}

impl StreamState {
    pub fn new(stream: Stream, now: SystemTime) -> StreamState {
        StreamState {
            stream: stream.path().to_owned(),
            timepoint: None,
            published_at: None,
            covered_since: now,
            applied_until: now,
            events: 0,
            updated_at: now,
            note: None,
        }
    }

    pub fn lag(&self, now: SystemTime) -> Duration {
        now.duration_since(self.applied_until).unwrap_or_default()
    }
}

/// The cover the states give at `now`: each stream lagging under `max_lag`
/// covers what was fetched since it was last without a gap.
pub fn cover(states: &[StreamState], max_lag: Duration, now: SystemTime) -> Cover {
    let mut cover = Cover::default();
    for stream in Stream::ALL {
        if let Some(s) = states.iter().find(|s| s.stream == stream.path())
            && s.lag(now) <= max_lag
        {
            cover.set(stream, Some(s.covered_since));
        }
    }
    cover
}

/// Every state in the file.
pub fn read_all(c: &rusqlite::Connection) -> rusqlite::Result<Vec<StreamState>> {
    let mut stmt = c.prepare(
        "SELECT stream, timepoint, published_at, covered_since, applied_until, events, \
         updated_at, note FROM stream_state ORDER BY stream",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StreamState {
            stream: r.get(0)?,
            timepoint: r.get::<_, Option<i64>>(1)?.map(|t| t.max(0) as u64),
            published_at: r.get(2)?,
            covered_since: from_millis(r.get(3)?),
            applied_until: from_millis(r.get(4)?),
            events: r.get::<_, i64>(5)?.max(0) as u64,
            updated_at: from_millis(r.get(6)?),
            note: r.get(7)?,
        })
    })?;
    rows.collect()
}

pub fn read(c: &rusqlite::Connection, stream: Stream) -> rusqlite::Result<Option<StreamState>> {
    Ok(read_all(c)?.into_iter().find(|s| s.stream == stream.path()))
}

pub fn write(c: &rusqlite::Connection, s: &StreamState) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT OR REPLACE INTO stream_state (stream, timepoint, published_at, covered_since, \
         applied_until, events, updated_at, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        s.stream,
        s.timepoint.map(|t| t as i64),
        s.published_at,
        to_millis(s.covered_since),
        to_millis(s.applied_until),
        s.events as i64,
        to_millis(s.updated_at),
        s.note,
    ])
    .map(drop)
}

/// The newest change recorded for a company, for `doctor`.
pub fn changes_recorded(c: &rusqlite::Connection) -> rusqlite::Result<(u64, Option<SystemTime>)> {
    c.query_row(
        "SELECT count(*), max(received_at) FROM stream_changes",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)?.max(0) as u64,
                r.get::<_, Option<i64>>(1)?.map(from_millis),
            ))
        },
    )
    .optional()
    .map(Option::unwrap_or_default)
}

/// The Redis key of a stream's mirrored state (not under the cache's
/// `leadgen:v1:` keys, which `cache stats` reads as strings of entries).
pub fn redis_key(stream: &str) -> String {
    format!("leadgen:stream:v1:{stream}")
}

mod millis {
    use super::{from_millis, to_millis};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(to_millis(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        i64::deserialize(d).map(from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_covers_only_while_it_lags_less_than_the_limit() {
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        let mut officers = StreamState::new(Stream::Officers, now - 10 * hour);
        officers.applied_until = now - Duration::from_secs(60);
        let mut psc = StreamState::new(Stream::Psc, now - 10 * hour);
        psc.applied_until = now - 2 * hour;
        let cover = cover(&[officers.clone(), psc], hour, now);
        assert_eq!(cover.officers, Some(officers.covered_since));
        assert_eq!(cover.psc, None, "two hours behind");
        assert_eq!(cover.companies, None, "never followed");
    }
}
