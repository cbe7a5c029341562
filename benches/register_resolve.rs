//! Offline resolution speed against a local register:
//! `bench/register.sh` runs it on the register it imported (set
//! `LEADGEN_BENCH_CACHE_DIR` and `LEADGEN_BENCH_NAMES` to run it by hand).
//!
//! Resolves every name of the names file (one per line, `NUMBER<TAB>NAME`
//! or a bare name) through the register's index and the matcher, 8 rows at
//! a time as `discover` does, and reports name rows per second against the
//! goal of 2,000, with how many were matched, and of those how many to the
//! company the line names (when it names one). `LEADGEN_BENCH_MISSES=1`
//! lists the rows not matched, or matched to another company, on stderr;
//! `LEADGEN_BENCH_SLOW=MS` the rows that took MS milliseconds or longer.

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
    let rows: Vec<(Option<String>, String)> = std::fs::read_to_string(&names_path)
        .expect("the names file")
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('\t') {
            Some((number, name)) => (Some(number.to_owned()), name.to_owned()),
            None => (None, l.to_owned()),
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let register = LocalRegister::open(std::path::Path::new(&dir))
        .expect("the register opens")
        .expect("a register is imported");
    // LEADGEN_BENCH_ONE=NAME: time each search the matcher would make for NAME.
    if let Ok(name) = std::env::var("LEADGEN_BENCH_ONE") {
        let query = Query {
            name,
            postcode: None,
            wants_dissolved: false,
        };
        runtime.block_on(async {
            for search in resolve::searches_for(&query) {
                let began = Instant::now();
                let found = resolve::CandidateSource::search(&register, &search)
                    .await
                    .expect("the register answers");
                println!(
                    "{:?}: {} candidates in {:.2} ms",
                    search,
                    found.len(),
                    began.elapsed().as_secs_f64() * 1e3
                );
            }
        });
        return;
    }
    let show_misses = std::env::var_os("LEADGEN_BENCH_MISSES").is_some();
    // LEADGEN_BENCH_SLOW=MS: name the rows that took MS or longer.
    let slow: Option<u128> = std::env::var("LEADGEN_BENCH_SLOW")
        .ok()
        .and_then(|v| v.parse().ok());
    let started = Instant::now();
    let (matched, right): (usize, usize) = runtime.block_on(async {
        futures::stream::iter(rows.iter())
            .map(|(number, name)| {
                let register = register.clone();
                async move {
                    let query = Query {
                        name: name.clone(),
                        postcode: None,
                        wants_dissolved: false,
                    };
                    let budget = SearchBudget::single(3);
                    let began = Instant::now();
                    let found =
                        resolve::investigate(&register, &query, &budget, &resolve::model::MODEL)
                            .await
                            .expect("the register answers");
                    let resolution = found.resolution(&resolve::model::MODEL);
                    let took = began.elapsed();
                    if slow.is_some_and(|ms| took.as_millis() >= ms) {
                        eprintln!(
                            "slow: {} ms: {name} ({} searches)",
                            took.as_millis(),
                            found.searches.len()
                        );
                    }
                    let right = match (&resolution, number) {
                        (Resolution::Matched { number: got, .. }, Some(want)) => {
                            got.as_str() == want
                        }
                        (Resolution::Matched { .. }, None) => true,
                        _ => false,
                    };
                    let matched = matches!(resolution, Resolution::Matched { .. });
                    if show_misses && !right {
                        eprintln!(
                            "{}: {name} ({number:?}): {resolution:?}",
                            if matched { "WRONG" } else { "not matched" }
                        );
                    }
                    (usize::from(matched), usize::from(right))
                }
            })
            .buffer_unordered(8)
            .fold((0, 0), |(m, r), (dm, dr)| async move { (m + dm, r + dr) })
            .await
    });
    let seconds = started.elapsed().as_secs_f64();
    let rate = rows.len() as f64 / seconds;
    println!(
        "{{\"names\": {}, \"matched\": {matched}, \"matched_right\": {right}, \"seconds\": {seconds:.2}, \"rows_per_second\": {rate:.0}, \"goal_ratio\": {:.2}}}",
        rows.len(),
        rate / GOAL
    );
}
