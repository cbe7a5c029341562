//! Candidate scoring speed: `cargo bench --bench resolve`.
//!
//! Scores every company of a register against a set of typed names, the
//! work the matcher does for each search result and, later, for a whole
//! local register offline. Reports candidate scorings per second on one
//! core (the bench is single-threaded) and the ratio to the goal of 20,000.

use std::hint::black_box;
use std::time::Instant;

use leadgen::resolve::Candidate;
use leadgen::resolve::score::{PreparedQuery, Query, score_all};
use leadgen_fakes::companies_house::Register;

const GOAL: f64 = 20_000.0;

fn main() {
    // Real-looking names: the bundled register plus a synthetic one.
    let register = Register::bundled()
        .merged(&Register::synthetic(20_000, 7))
        .expect("numbers do not clash");
    let candidates: Vec<Candidate> = register
        .companies()
        .iter()
        .map(|c| Candidate {
            company_number: c.number().to_owned(),
            name: c.name().to_owned(),
            status: c.profile["company_status"].as_str().map(str::to_owned),
            postcode: c.profile["registered_office_address"]["postal_code"]
                .as_str()
                .map(str::to_owned),
            previous_name: c.profile["previous_company_names"][0]["name"]
                .as_str()
                .map(str::to_owned),
            company_type: c.profile["type"].as_str().map(str::to_owned),
            locality: Vec::new(),
        })
        .collect();
    let queries = [
        ("Holloway & Sons Builders", Some("HU1 2AB")),
        ("Pennine Care Services (North) Ltd", None),
        ("Blomsbery Publshing", Some("WC1B 3DP")),
        ("HollowayBuildersLtd", None),
        ("Northwind Logistics Group PLC", None),
    ];
    let prepared: Vec<PreparedQuery> = queries
        .iter()
        .map(|(name, postcode)| {
            PreparedQuery::new(&Query {
                name: (*name).to_owned(),
                postcode: postcode.map(str::to_owned),
                wants_dissolved: false,
            })
        })
        .collect();
    // Warm up, then measure the best of five rounds (the machine is shared).
    let mut best = f64::MAX;
    for round in 0..6 {
        let started = Instant::now();
        for q in &prepared {
            black_box(score_all(q, black_box(&candidates)));
        }
        let seconds = started.elapsed().as_secs_f64();
        if round > 0 {
            best = best.min(seconds);
        }
    }
    let scorings = (candidates.len() * prepared.len()) as f64;
    let rate = scorings / best;
    println!(
        "{} candidates x {} names: {:.0} scorings/s on one core ({:.1}x the goal of {GOAL:.0})",
        candidates.len(),
        prepared.len(),
        rate,
        rate / GOAL
    );
}
