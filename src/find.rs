//! `leadgen find`: companies by industry and place, from the local
//! register with no call, or from `/advanced-search/companies`.
//!
//! Online, the filters go to Companies House as the spec names them
//! (`search-companies.json#searchAdvanced`) and the pages are as large as
//! it allows (`size` up to 5000), so N companies cost ceil(N / 5000) calls,
//! each paced and cached by the gateway and the cache like every other
//! call (a re-run, or a run after Ctrl-C, fetches no page twice). The API
//! has no postcode filter: a district or full postcode is sent as the
//! `location`, one search per postcode; a prefix (`LS*`) cannot be, so its
//! search runs without a place and leadgen keeps the companies inside it.

use std::collections::HashSet;

use crate::cache::Cache;
use crate::cli::ListFormat;
use crate::config::DiscoverSettings;
use crate::criteria::{Criteria, Listed};
use crate::error::Error;
use crate::register::local::LocalRegister;
use crate::sources::companies_house::types::AdvancedCompany;
use crate::sources::companies_house::{self as ch, Client};

/// The spec's largest `size`.
pub const PAGE_SIZE: u64 = 5000;

/// What was found, and what to tell the user about it.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub companies: Vec<Listed>,
    /// Companies that matched, written or not (`None`: more than were
    /// fetched may match, but how many is unknown).
    pub total: Option<u64>,
    /// "register 2026-11-01" or "api".
    pub source: String,
    /// Lines for stderr.
    pub notes: Vec<String>,
    /// Calls made (0 from the register or a warm cache).
    pub calls: u64,
}

/// From the register under the cache directory.
pub async fn offline(
    register: &LocalRegister,
    criteria: &Criteria,
    limit: Option<u64>,
) -> Result<Found, Error> {
    let listing = register.list(criteria, limit).await?;
    let mut notes = Vec::new();
    if criteria.location.is_some() {
        notes.push(
            "the local register matches --location against each registered office's address \
             words (it has no place search); --online asks Companies House instead"
                .to_owned(),
        );
    }
    Ok(Found {
        companies: listing.companies,
        total: Some(listing.total),
        source: register.label().to_owned(),
        notes,
        calls: 0,
    })
}

/// The advanced searches a query makes: one per postcode sent as the
/// location, or one with the criteria's own location (and leadgen keeps
/// the companies inside the postcodes).
pub fn searches(criteria: &Criteria) -> (Vec<Option<String>>, bool) {
    let sendable: Option<Vec<String>> = criteria
        .postcodes
        .iter()
        .map(|p| p.as_location().map(str::to_owned))
        .collect();
    match sendable {
        Some(list) if !list.is_empty() && criteria.location.is_none() => {
            (list.into_iter().map(Some).collect(), false)
        }
        _ => (vec![None], !criteria.postcodes.is_empty()),
    }
}

/// From Companies House, page by page.
pub async fn online(
    settings: &DiscoverSettings,
    criteria: &Criteria,
    limit: Option<u64>,
) -> Result<Found, Error> {
    let gateway = crate::sources::gateway(settings.providers.clone())?;
    crate::pipeline::share_quota(&gateway, settings).await;
    let cache = Cache::open(&settings.cache).await?;
    let client = Client::new(
        gateway.clone(),
        cache.clone(),
        &settings.companies_house_url,
        settings.companies_house_key.clone(),
    );
    let (locations, filter_here) = searches(criteria);
    // What leadgen checks itself: the postcodes (the API has no such filter).
    let here = Criteria {
        postcodes: criteria.postcodes.clone(),
        ..Criteria::default()
    };
    let mut found = Found {
        source: "api".to_owned(),
        ..Found::default()
    };
    let mut seen = HashSet::new();
    let mut total: Option<u64> = Some(0);
    let mut kept = 0_u64;
    let bar = settings.progress.then(crate::progress::start);
    let started = std::time::Instant::now();
    let quota = gateway.current_quota(crate::gateway::Provider::CompaniesHouse);
    let show = |kept: u64, calls: u64, expected: Option<u64>, hits: Option<u64>| {
        let Some(bar) = &bar else { return };
        bar.set_message(crate::progress::line(&crate::progress::Snapshot {
            elapsed: started.elapsed(),
            unit: "companies",
            done: kept,
            total: hits,
            calls: Some(crate::progress::Calls {
                done: calls,
                expected,
                planning: expected.is_none(),
                quota,
            }),
            matched: None,
            wait: gateway
                .quota_pause()
                .map(|(p, wait)| (p.label().to_owned(), wait)),
            paced: Vec::new(),
        }));
    };
    show(0, 0, None, None);
    for location in &locations {
        if !filter_here && limit.is_some_and(|l| kept >= l) {
            // This postcode's companies were not asked for.
            total = None;
            break;
        }
        let mut start = 0_u64;
        let mut hits = 0_u64;
        loop {
            let room = limit.map_or(PAGE_SIZE, |l| l.saturating_sub(kept));
            if room == 0 && !filter_here {
                break;
            }
            let size = if filter_here {
                PAGE_SIZE
            } else {
                room.clamp(1, PAGE_SIZE)
            };
            let key = ch::client::keys::advanced_criteria_page(
                client.base_url(),
                criteria,
                location.as_deref(),
                start,
                size,
            );
            let cached = client.is_cached(&key).await;
            let page = client
                .advanced_search_page(criteria, location.as_deref(), start, size)
                .await?;
            found.calls += u64::from(!cached);
            hits = page.hits.unwrap_or(start + page.items.len() as u64);
            let got = page.items.len() as u64;
            for item in page.items {
                let listed = listed(item);
                if !seen.insert(listed.company_number.clone()) {
                    continue;
                }
                if filter_here && !here.admits(&listed.facts()) {
                    continue;
                }
                kept += 1;
                if limit.is_none_or(|l| (found.companies.len() as u64) < l) {
                    found.companies.push(listed);
                }
            }
            start += got;
            // The pages this search still needs, at this page size.
            let wanted = limit.map_or(hits, |l| hits.min(l)).max(start);
            let pages_left = wanted.saturating_sub(start).div_ceil(size);
            show(
                kept,
                found.calls,
                Some(found.calls + pages_left),
                Some(limit.map_or(hits, |l| hits.min(l))),
            );
            if got == 0 || start >= hits {
                break;
            }
            if limit.is_some_and(|l| kept >= l) {
                // More pages may hold more: unknown how many pass the
                // postcode check; known exactly when nothing is checked here.
                if filter_here {
                    total = None;
                }
                break;
            }
        }
        if let Some(t) = total.as_mut() {
            *t += if filter_here { kept } else { hits };
        }
    }
    if filter_here {
        found.notes.push(
            "Companies House's advanced search has no postcode filter: a postcode prefix (or \
             --location with --postcode) is applied to its answers here, so pages of companies \
             outside it are fetched too. A local register (`leadgen register import`) answers \
             this with no call"
                .to_owned(),
        );
    }
    found.total = total.map(|t| t.max(found.companies.len() as u64));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    cache.close().await;
    Ok(found)
}

fn listed(item: AdvancedCompany) -> Listed {
    let address = item.registered_office_address.unwrap_or_default();
    Listed {
        company_number: item.company_number,
        company_name: item.company_name.unwrap_or_default(),
        postcode: address.postal_code.unwrap_or_default(),
        sic_codes: item.sic_codes,
        company_status: item.company_status,
        company_type: item.company_type,
        incorporated_on: item.date_of_creation,
        locality: address.locality.unwrap_or_default(),
        region: address.region.unwrap_or_default(),
    }
}

/// The `--plan` lines of an online search: the calls it would make.
pub async fn plan(
    settings: &DiscoverSettings,
    criteria: &Criteria,
    limit: Option<u64>,
) -> Result<Vec<String>, Error> {
    let cache = Cache::open(&settings.cache).await?;
    let (locations, filter_here) = searches(criteria);
    let size = if filter_here {
        PAGE_SIZE
    } else {
        limit.map_or(PAGE_SIZE, |l| l.clamp(1, PAGE_SIZE))
    };
    let mut cached = 0;
    for location in &locations {
        let key = ch::client::keys::advanced_criteria_page(
            &settings.companies_house_url,
            criteria,
            location.as_deref(),
            0,
            size,
        );
        cached += u64::from(cache.contains(&key).await);
    }
    cache.close().await;
    let searches = locations.len() as u64;
    let mut lines = vec![format!(
        "find --plan: {searches} advanced search{} of Companies House, pages of {size}; \
         first pages already cached: {cached} of {searches}",
        if searches == 1 { "" } else { "es" },
    )];
    lines.push(format!(
        "calls: {} to read the first page{} (which say how many companies match), then one per \
         further {size} companies{}",
        searches - cached,
        if searches == 1 { "" } else { "s" },
        match (limit, filter_here) {
            (Some(l), false) => format!(
                "; at most {} in all for --limit {l}",
                searches * l.div_ceil(size)
            ),
            _ => String::new(),
        }
    ));
    lines.push(format!(
        "at the configured pace ({}), each call takes a slot of the quota",
        settings
            .providers
            .get(&crate::gateway::Provider::CompaniesHouse)
            .map(|p| p.quota.to_string())
            .unwrap_or_default()
    ));
    Ok(lines)
}

/// The CSV header `find` writes: `discover` reads the first three.
pub const CSV_COLUMNS: [&str; 9] = [
    "company_number",
    "company_name",
    "postcode",
    "sic_codes",
    "company_status",
    "company_type",
    "incorporated_on",
    "locality",
    "region",
];

/// The companies as CSV (lists `;`-separated, as `discover` writes them)
/// or JSON Lines.
pub fn render(companies: &[Listed], format: ListFormat) -> Result<String, std::io::Error> {
    match format {
        ListFormat::Jsonl => crate::output::jsonl_text(companies),
        ListFormat::Csv => crate::output::csv_text(
            &CSV_COLUMNS,
            companies.iter().map(|c| {
                [
                    c.company_number.clone(),
                    c.company_name.clone(),
                    c.postcode.clone(),
                    c.sic_codes.join(";"),
                    c.company_status.clone().unwrap_or_default(),
                    c.company_type.clone().unwrap_or_default(),
                    c.incorporated_on.clone().unwrap_or_default(),
                    c.locality.clone(),
                    c.region.clone(),
                ]
            }),
        ),
    }
}

/// The summary lines for stderr.
pub fn summary(found: &Found, limit: Option<u64>) -> Vec<String> {
    let mut lines = found.notes.clone();
    let written = found.companies.len() as u64;
    if written == 0 {
        lines.push("no companies match these filters (the output has its header only)".to_owned());
    }
    match (found.total, limit) {
        (Some(total), Some(l)) if total > written => lines.push(format!(
            "{} more companies match than --limit {l} lets through ({total} in all); raise --limit \
             to write them",
            total - written
        )),
        (None, Some(l)) => lines.push(format!(
            "stopped at --limit {l}; more companies may match (the rest were not fetched)"
        )),
        _ => {}
    }
    lines.push(format!(
        "{written} companies written, from the {}; {} calls",
        if found.source == "api" {
            "Companies House API".to_owned()
        } else {
            found.source.clone()
        },
        found.calls
    ));
    lines
}
