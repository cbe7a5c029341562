//! How long a row waited for answers that were not cached: what a warm
//! run (every answer cached) would not spend. The cache adds the time of
//! each lookup that had to fetch, or wait for another row's fetch of the
//! same key, to the row's account ([`timed`] opens one). A leaf.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

tokio::task_local! {
    static COLD: Cell<Duration>;
}

/// Runs `fut`, and says how long it waited for uncached answers (summed
/// over its lookups; lookups it makes side by side each count).
pub async fn timed<F: Future>(fut: F) -> (F::Output, Duration) {
    COLD.scope(Cell::new(Duration::ZERO), async {
        let out = fut.await;
        (out, COLD.with(Cell::get))
    })
    .await
}

/// Adds `waited` to the account of the [`timed`] future running, if any.
pub fn add_cold(waited: Duration) {
    let _ = COLD.try_with(|total| total.set(total.get() + waited));
}
