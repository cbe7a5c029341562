//! `leadgen explain NAME`: how one name is resolved, for a person cleaning
//! a lead list. The same searches, scoring and verdict as `discover`.

use serde_json::{Value, json};

use crate::cache::Cache;
use crate::config::DiscoverSettings;
use crate::error::Error;
use crate::resolve::score::{Verdict, evidence};
use crate::resolve::{
    self, CandidateSummary, Investigation, Query, Search, SearchBudget, model::MODEL, round3,
};
use crate::sources::companies_house::Client;

/// Resolve `query` with the settings' API and cache, and describe it.
pub async fn explain(
    settings: &DiscoverSettings,
    query: &Query,
    top: usize,
) -> Result<Investigation, Error> {
    if let Some(why) = crate::company_name::unsearchable(&query.name) {
        return Err(Error::Usage(format!("{:?}: {why}", query.name)));
    }
    let gateway = crate::sources::gateway(settings.providers.clone())?;
    let cache = Cache::open(&settings.cache).await?;
    let ch = Client::new(
        gateway,
        cache,
        &settings.companies_house_url,
        settings.companies_house_key.clone(),
    );
    let budget = SearchBudget::single(settings.max_searches_per_row);
    let mut found = resolve::investigate(&ch, query, &budget, &MODEL).await?;
    found.assessment.ranked.truncate(top.max(1));
    Ok(found)
}

fn search_text(search: &Search) -> String {
    match search {
        Search::Name(q) => format!("search {q:?}"),
        Search::Near {
            name_includes,
            location,
        } => format!("advanced search: name includes {name_includes:?}, location {location:?}"),
    }
}

fn verdict_text(found: &Investigation) -> String {
    let name = |i: usize| {
        let a = &found.assessment.ranked[i];
        let c = &found.candidates[a.index];
        format!("{} {}", c.company_number, c.name)
    };
    match found.verdict {
        Verdict::Matched => format!(
            "matched: {} (confidence {:.2})",
            name(0),
            found.assessment.ranked[0].probability
        ),
        Verdict::Ambiguous(n) => format!(
            "ambiguous between {}: add a postcode or the company number to decide",
            (0..n).map(name).collect::<Vec<_>>().join(" and ")
        ),
        Verdict::NotFound => format!(
            "not_found: no candidate is probable enough (at least {:.2} needed; none of them: {:.2})",
            MODEL.threshold, found.assessment.none
        ),
    }
}

/// The investigation as lines for a terminal.
pub fn lines(found: &Investigation) -> Vec<String> {
    let mut out = vec![format!(
        "{:?}{}",
        found.query.name,
        found
            .query
            .postcode
            .as_deref()
            .map(|p| format!(" (postcode {p})"))
            .unwrap_or_default()
    )];
    for (search, n) in &found.searches {
        out.push(format!("  {}: {n} candidates", search_text(search)));
    }
    out.push(String::new());
    out.push(format!(
        "{:>5}  {:<8}  {:<12}  {:<9}  name",
        "p", "number", "status", "postcode"
    ));
    for a in &found.assessment.ranked {
        let c = &found.candidates[a.index];
        out.push(format!(
            "{:>5.3}  {:<8}  {:<12}  {:<9}  {}",
            a.probability,
            c.company_number,
            c.status.as_deref().unwrap_or("-"),
            c.postcode.as_deref().unwrap_or("-"),
            c.name
        ));
        for e in evidence(&a.scored, &MODEL) {
            out.push(format!(
                "{:>29}{:+.2} {}: {}",
                "", e.weight, e.factor, e.detail
            ));
        }
    }
    out.push(format!("{:>5.3}  (none of them)", found.assessment.none));
    out.push(String::new());
    out.push(verdict_text(found));
    out
}

/// The investigation as JSON.
pub fn to_json(found: &Investigation) -> Value {
    let searches: Vec<Value> = found
        .searches
        .iter()
        .map(|(s, n)| json!({"search": search_text(s), "candidates": n}))
        .collect();
    let candidates: Vec<CandidateSummary> = (0..found.assessment.ranked.len())
        .map(|rank| found.summary(rank, &MODEL))
        .collect();
    let status = match found.verdict {
        Verdict::Matched => "matched",
        Verdict::Ambiguous(_) => "ambiguous",
        Verdict::NotFound => "not_found",
    };
    json!({
        "input": {"company_name": found.query.name, "postcode": found.query.postcode},
        "status": status,
        "searches": searches,
        "candidates": candidates,
        "none_of_them": round3(found.assessment.none),
        "verdict": verdict_text(found),
    })
}
