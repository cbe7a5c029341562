//! Answers already fetched, so the same resource is not fetched twice.
//!
//! Entries are keyed by provider, resource kind and normalised parameters
//! and hold the response body as fetched (or the fact that the resource does
//! not exist). Concurrent requests for one key are coalesced into one fetch:
//! duplicate companies in one input cost one call. Errors are never cached.
//!
//! This is the in-memory tier; persistent tiers slot in behind the same
//! [`Cache::get_or_fetch`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use bytes::Bytes;

/// What a cache entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// `companies_house`, ...
    pub provider: &'static str,
    /// `search`, `profile`, `officers`, `psc`, ...
    pub resource: &'static str,
    /// Normalised parameters: the path and sorted query, lower-cased where
    /// the provider is case-insensitive.
    pub params: String,
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.provider, self.resource, self.params)
    }
}

/// A cached answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `None`: the provider said the resource does not exist.
    pub body: Option<Bytes>,
    pub fetched_at: SystemTime,
}

/// Hit and miss counts for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

#[derive(Clone)]
pub struct Cache {
    memory: moka::future::Cache<CacheKey, Arc<Entry>>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl Cache {
    /// An in-memory cache holding up to `capacity` entries (least recently
    /// used go first), so memory stays flat however long the input.
    pub fn in_memory(capacity: u64) -> Cache {
        Cache {
            memory: moka::future::Cache::builder()
                .max_capacity(capacity)
                .build(),
            hits: Arc::default(),
            misses: Arc::default(),
        }
    }

    /// The cached entry for `key`, or the result of `fetch`, stored on success.
    /// Concurrent callers with the same key share one `fetch`.
    pub async fn get_or_fetch<F, E>(&self, key: CacheKey, fetch: F) -> Result<Arc<Entry>, Arc<E>>
    where
        F: Future<Output = Result<Option<Bytes>, E>>,
        E: Send + Sync + 'static,
    {
        let fetched = AtomicU64::new(0);
        let result = self
            .memory
            .try_get_with(key, async {
                fetched.store(1, Ordering::Relaxed);
                fetch.await.map(|body| {
                    Arc::new(Entry {
                        body,
                        fetched_at: SystemTime::now(),
                    })
                })
            })
            .await;
        if fetched.load(Ordering::Relaxed) == 1 {
            self.misses.fetch_add(1, Ordering::Relaxed);
        } else {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn key(p: &str) -> CacheKey {
        CacheKey {
            provider: "test",
            resource: "thing",
            params: p.into(),
        }
    }

    #[tokio::test]
    async fn concurrent_requests_for_one_key_share_one_fetch() {
        let cache = Cache::in_memory(100);
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks = (0..20).map(|_| {
            let cache = cache.clone();
            let calls = calls.clone();
            async move {
                cache
                    .get_or_fetch(key("a"), async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok::<_, String>(Some(Bytes::from_static(b"{}")))
                    })
                    .await
                    .unwrap()
            }
        });
        let all = futures::future::join_all(tasks).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(all.iter().all(|e| e.body.as_deref() == Some(&b"{}"[..])));
        assert_eq!(
            cache.stats(),
            CacheStats {
                hits: 19,
                misses: 1
            }
        );
    }

    #[tokio::test]
    async fn errors_are_not_cached_but_not_found_is() {
        let cache = Cache::in_memory(100);
        let r = cache
            .get_or_fetch(key("e"), async { Err::<Option<Bytes>, _>("boom") })
            .await;
        assert!(r.is_err());
        let r = cache
            .get_or_fetch(key("e"), async { Ok::<_, &str>(None) })
            .await
            .unwrap();
        assert_eq!(r.body, None);
        let r = cache
            .get_or_fetch(key("e"), async { Ok::<_, &str>(Some(Bytes::new())) })
            .await
            .unwrap();
        assert_eq!(r.body, None, "the cached not-found answer is kept");
    }
}
