//! The in-process tier: moka, bounded, each entry expiring when its TTL
//! (counted from when it was fetched, not when it was loaded) runs out.
//!
//! Its `try_get_with` is also what coalesces concurrent lookups of one key
//! into one trip through the slower tiers and at most one fetch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CacheKey, Entry, Ttl};

/// How big the tier may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    Entries(u64),
    /// Bytes of keys and bodies; bodies vary from 100 bytes to 100 KiB, so
    /// a byte bound is what keeps memory flat.
    Bytes(u64),
}

pub type Memory = moka::future::Cache<CacheKey, Arc<Entry>>;

pub fn build(capacity: Capacity, ttl: Ttl) -> Memory {
    let builder = moka::future::Cache::builder().expire_after(Expiry(ttl));
    match capacity {
        Capacity::Entries(n) => builder.max_capacity(n).build(),
        Capacity::Bytes(n) => builder
            .weigher(|k: &CacheKey, v: &Arc<Entry>| {
                let size = k.params.len() + v.body.as_ref().map_or(0, |b| b.len()) + 64;
                u32::try_from(size).unwrap_or(u32::MAX)
            })
            .max_capacity(n)
            .build(),
    }
}

struct Expiry(Ttl);

impl moka::Expiry<CacheKey, Arc<Entry>> for Expiry {
    fn expire_after_create(
        &self,
        key: &CacheKey,
        value: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(self.0.remaining(key.resource, value))
    }
}
