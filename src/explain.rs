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

/// An investigation and where its candidates came from.
pub struct Explained {
    pub found: Investigation,
    /// `api`, or the local register (`register 2026-11-01`).
    pub source: String,
    /// The local register was searched first and did not settle the name.
    pub register_unsettled: Option<String>,
}

/// Resolve `query` as `discover` would: from the local register when one
/// is imported (and not `--online`) and it settles the name, else with the
/// settings' API and cache; and describe it.
pub async fn explain(
    settings: &DiscoverSettings,
    query: &Query,
    top: usize,
) -> Result<Explained, Error> {
    if let Some(why) = crate::company_name::unsearchable(&query.name) {
        return Err(Error::Usage(format!("{:?}: {why}", query.name)));
    }
    let budget = SearchBudget::single(settings.max_searches_per_row);
    let register = match (&settings.cache.dir, settings.online) {
        (Some(dir), false) if !query.wants_dissolved => {
            crate::register::local::LocalRegister::open(dir)?
        }
        _ => None,
    };
    let mut register_unsettled = None;
    if let Some(register) = register {
        let mut found = resolve::investigate(&register, query, &budget, &MODEL).await?;
        if found.verdict == Verdict::Matched {
            found.assessment.ranked.truncate(top.max(1));
            return Ok(Explained {
                found,
                source: register.label().to_owned(),
                register_unsettled: None,
            });
        }
        register_unsettled = Some(register.label().to_owned());
    }
    let gateway = crate::sources::gateway(settings.providers.clone())?;
    let cache = Cache::open(&settings.cache).await?;
    let ch = Client::new(
        gateway,
        cache,
        &settings.companies_house_url,
        settings.companies_house_key.clone(),
    );
    let mut found = resolve::investigate(&ch, query, &budget, &MODEL).await?;
    found.assessment.ranked.truncate(top.max(1));
    Ok(Explained {
        found,
        source: "api".to_owned(),
        register_unsettled,
    })
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
pub fn lines(explained: &Explained) -> Vec<String> {
    let found = &explained.found;
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
    if let Some(register) = &explained.register_unsettled {
        out.push(format!(
            "  the local register ({register}) does not settle it: searching the API"
        ));
    }
    let from = if explained.source == "api" {
        String::new()
    } else {
        format!(" of the local register ({})", explained.source)
    };
    for (search, n) in &found.searches {
        out.push(format!("  {}{from}: {n} candidates", search_text(search)));
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
pub fn to_json(explained: &Explained) -> Value {
    let found = &explained.found;
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
        "source": explained.source,
        "searches": searches,
        "candidates": candidates,
        "none_of_them": round3(found.assessment.none),
        "verdict": verdict_text(found),
    })
}
