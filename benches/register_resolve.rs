//! Offline resolution speed against a local register:
//! `bench/register.sh` runs it on the register it imported (set
//! `LEADGEN_BENCH_CACHE_DIR` and `LEADGEN_BENCH_NAMES` to run it by hand).
//!
//! Resolves every name of the names file (one per line) through the
//! register's FTS5 index and the matcher, 8 rows at a time as `discover`
//! does, and reports name rows per second against the goal of 2,000.

use std::time::Instant;

use futures::StreamExt as _;
use leadgen::register::local::LocalRegister;
use leadgen::resolve::{self, Query, Resolution, SearchBudget};

const GOAL: f64 = 2_000.0;

fn main() {
    let Some(dir) = std::env::var_os("LEADGEN_BENCH_CACHE_DIR") else {
        eprintln!(
            "register_resolve: set LEADGEN_BENCH_CACHE_DIR and LEADGEN_BENCH_NAMES (bench/register.sh does)"
        );
        return;
    };
    let names_path = std::env::var_os("LEADGEN_BENCH_NAMES").expect("LEADGEN_BENCH_NAMES");
    let names: Vec<String> = std::fs::read_to_string(&names_path)
        .expect("the names file")
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let register = LocalRegister::open(std::path::Path::new(&dir))
        .expect("the register opens")
        .expect("a register is imported");
    let started = Instant::now();
    let matched: usize = runtime.block_on(async {
        futures::stream::iter(names.iter())
            .map(|name| {
                let register = register.clone();
                async move {
                    let query = Query {
                        name: name.clone(),
                        postcode: None,
                        wants_dissolved: false,
                    };
                    let budget = SearchBudget::single(3);
                    let found =
                        resolve::investigate(&register, &query, &budget, &resolve::model::MODEL)
                            .await
                            .expect("the register answers");
                    usize::from(matches!(
                        found.resolution(&resolve::model::MODEL),
                        Resolution::Matched { .. }
                    ))
                }
            })
            .buffer_unordered(8)
            .fold(0, |n, m| async move { n + m })
            .await
    });
    let seconds = started.elapsed().as_secs_f64();
    let rate = names.len() as f64 / seconds;
    println!(
        "{{\"names\": {}, \"matched\": {matched}, \"seconds\": {seconds:.2}, \"rows_per_second\": {rate:.0}, \"goal_ratio\": {:.2}}}",
        names.len(),
        rate / GOAL
    );
}
