//! `leadgen cache stats | clear | invalidate | prune`: looking after the
//! persistent tiers (the memory tier lives and dies with each run).
//!
//! Each command works on the SQLite file and, when one is configured, on
//! Redis; each returns the lines to print.

use std::collections::BTreeMap;
use std::time::SystemTime;

use secrecy::ExposeSecret;

use super::redis::RedisTier;
use super::sqlite::SqliteTier;
use super::{CacheError, CacheSettings, CacheStats, TierUsage};
use crate::company_number::CompanyNumber;

struct Tiers {
    sqlite: SqliteTier,
    redis: Option<Result<RedisTier, String>>,
}

async fn open(settings: &CacheSettings) -> Result<Tiers, CacheError> {
    let dir = settings.dir.as_ref().ok_or(CacheError::NoDir)?;
    let sqlite = SqliteTier::open(dir).await?;
    let redis = match &settings.redis_url {
        Some(url) => {
            Some(RedisTier::connect(url.expose_secret(), settings.redis_ca_file.as_deref()).await)
        }
        None => None,
    };
    Ok(Tiers { sqlite, redis })
}

/// A Redis failure after the SQLite part is done: reported, and the
/// command exits non-zero.
fn redis_failed(lines: &mut Vec<String>, what: &str, e: impl std::fmt::Display) -> bool {
    lines.push(format!("redis: {what} failed: {e}"));
    true
}

/// The outcome of a command: lines to print, and whether it all worked.
pub struct Done {
    pub lines: Vec<String>,
    pub ok: bool,
}

pub async fn stats(settings: &CacheSettings) -> Result<Done, CacheError> {
    let tiers = open(settings).await?;
    let mut lines = vec![format!("cache file: {}", tiers.sqlite.path().display())];
    let mut failed = false;
    lines.push(format!(
        "{:<8} {:<20} {:>10} {:>12}",
        "tier", "provider", "entries", "size"
    ));
    let mut table = |tier: &str, usage: &BTreeMap<String, TierUsage>| {
        if usage.is_empty() {
            lines.push(format!("{tier:<8} {:<20} {:>10} {:>12}", "-", 0, size(0)));
        }
        for (provider, u) in usage {
            lines.push(format!(
                "{tier:<8} {provider:<20} {:>10} {:>12}",
                u.entries,
                size(u.bytes)
            ));
        }
    };
    table("sqlite", &tiers.sqlite.usage().await?);
    match &tiers.redis {
        None => {}
        Some(Ok(redis)) => match redis.usage().await {
            Ok(u) => table("redis", &u),
            Err(e) => failed = redis_failed(&mut lines, "reading", e),
        },
        Some(Err(e)) => failed = redis_failed(&mut lines, "connecting", e),
    }
    lines.push("memory   (per run; nothing is kept between runs)".into());
    match tiers.sqlite.last_run().await? {
        None => lines.push("last run: none recorded".into()),
        Some((at, json)) => {
            let s: CacheStats = serde_json::from_str(&json).unwrap_or_default();
            lines.push(format!(
                "last run ({} ago): {} lookups: memory {:.1}%, redis {:.1}%, sqlite {:.1}%, \
                 fetched {:.1}% (hit ratio {:.1}%)",
                ago(at),
                s.lookups(),
                s.percent(s.memory_hits),
                s.percent(s.redis_hits),
                s.percent(s.sqlite_hits),
                s.percent(s.misses),
                s.percent(s.hits),
            ));
        }
    }
    Ok(Done { lines, ok: !failed })
}

pub async fn clear(settings: &CacheSettings) -> Result<Done, CacheError> {
    let tiers = open(settings).await?;
    let n = tiers.sqlite.clear().await?;
    let mut lines = vec![format!("sqlite: {n} entries deleted")];
    let failed = match &tiers.redis {
        None => false,
        Some(Ok(redis)) => match redis.clear().await {
            Ok(n) => {
                lines.push(format!("redis: {n} entries deleted"));
                false
            }
            Err(e) => redis_failed(&mut lines, "clearing", e),
        },
        Some(Err(e)) => redis_failed(&mut lines, "connecting", e),
    };
    Ok(Done { lines, ok: !failed })
}

pub async fn invalidate(
    settings: &CacheSettings,
    number: &CompanyNumber,
) -> Result<Done, CacheError> {
    let tiers = open(settings).await?;
    let n = tiers.sqlite.invalidate_company(number.as_str()).await?;
    let mut lines = vec![format!("sqlite: {n} entries about {number} deleted")];
    let failed = match &tiers.redis {
        None => false,
        Some(Ok(redis)) => match redis.invalidate_company(number.as_str()).await {
            Ok(n) => {
                lines.push(format!("redis: {n} entries about {number} deleted"));
                false
            }
            Err(e) => redis_failed(&mut lines, "invalidating", e),
        },
        Some(Err(e)) => redis_failed(&mut lines, "connecting", e),
    };
    Ok(Done { lines, ok: !failed })
}

/// Only SQLite needs pruning: Redis expires its keys itself.
pub async fn prune(settings: &CacheSettings) -> Result<Done, CacheError> {
    let dir = settings.dir.as_ref().ok_or(CacheError::NoDir)?;
    let sqlite = SqliteTier::open(dir).await?;
    let n = sqlite.prune(settings.ttl, settings.stream_max_lag).await?;
    Ok(Done {
        lines: vec![format!("sqlite: {n} expired entries deleted")],
        ok: true,
    })
}

fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn ago(at: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(at)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match secs {
        0..120 => format!("{secs}s"),
        120..7200 => format!("{}m", secs / 60),
        7200..172_800 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}
