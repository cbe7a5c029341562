//! `leadgen discover --plan`: what a run would cost, without making it.
//!
//! The plan reads the input and asks the cache (read-only) which answers it
//! already holds; it resolves companies only as far as cached answers allow,
//! through a gateway that refuses every call, so no API is called whatever
//! the code path. Then, per provider: calls needed and the time they take at
//! the configured quota (calls x window / limit).
//!
//! Assumptions, stated in the output: officer and PSC lists fit one page
//! (100 entries; a bigger company costs one more call per 100); a name whose
//! search is not cached is assumed to match (so the figure is an upper
//! bound). The social sources' calls depend on what the register answers
//! (officers, websites), so they are not estimated.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Serialize;

use crate::cache::{Cache, CacheKey, Resource};
use crate::config::{DiscoverSettings, Optional};
use crate::error::Error;
use crate::gateway::{Gateway, Provider};
use crate::input::{CompanyQuery, InputReader};
use crate::register::local::LocalRegister;
use crate::resolve::{self, Resolution, SearchBudget};
use crate::sources::companies_house::{Client, client::keys};

#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub rows: u64,
    /// Rows that are not valid queries (no calls).
    pub invalid: u64,
    /// Rows repeating an earlier row's company (no extra calls).
    pub duplicates: u64,
    /// Rows whose every answer is cached.
    pub cached: u64,
    /// Calls needed, per resource of Companies House.
    pub calls: BTreeMap<&'static str, u64>,
    /// Name rows the cache does not settle: each may take further
    /// searches, within the batch's search budget.
    pub unsettled_names: u64,
    /// The most further searches those rows can take.
    pub extra_searches_max: u64,
    /// At the configured quota.
    pub seconds: f64,
    pub quota: String,
    /// Social sources that would be used; their calls are not estimated.
    pub social_sources: Vec<&'static str>,
    /// The local register used (`register 2026-11-01`), if any.
    pub register: Option<String>,
    /// Rows whose company the register settles (a number it holds, a name
    /// it matches).
    pub register_rows: u64,
    /// Calls the register answers instead, per resource.
    pub saved: BTreeMap<&'static str, u64>,
    /// Rows the register settles to a company outside `--sic`: they end
    /// `filtered`, with no officer or PSC call.
    pub filtered: u64,
    /// Calls planned for each input row, in order (a call two rows share
    /// counts for the first): what the progress bar's ETA starts from.
    #[serde(skip)]
    pub per_row: Vec<u64>,
    /// `--appointments`: companies whose officers are not known from the
    /// cache, so their officers' appointment calls could not be counted.
    pub appointments_unknown: u64,
    pub appointments: bool,
}

impl Plan {
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{} rows: {} need no call (all cached), {} duplicates, {} invalid",
            self.rows, self.cached, self.duplicates, self.invalid
        )];
        let detail: Vec<String> = self
            .calls
            .iter()
            .map(|(resource, n)| format!("{resource} {n}"))
            .collect();

        lines.push(format!(
            "Companies House: {} calls ({}), about {} at {}",
            self.total_calls(),
            if detail.is_empty() {
                "none".to_string()
            } else {
                detail.join(", ")
            },
            human(Duration::from_secs_f64(self.seconds)),
            self.quota
        ));
        if let Some(register) = &self.register {
            let saved: Vec<String> = self
                .saved
                .iter()
                .map(|(resource, n)| format!("{resource} {n}"))
                .collect();
            lines.push(format!(
                "Local register ({register}): {} rows resolved with no call; {} calls saved ({})",
                self.register_rows,
                self.saved.values().sum::<u64>(),
                if saved.is_empty() {
                    "none".to_string()
                } else {
                    saved.join(", ")
                }
            ));
        }
        if self.filtered > 0 {
            lines.push(format!(
                "--sic: {} rows the register settles are outside the industry (status filtered, \
                 no officer or PSC call); rows settled through the API are counted in full",
                self.filtered
            ));
        }
        if self.extra_searches_max > 0 {
            lines.push(format!(
                "Names: up to {} more searches, for the {} names the cache does not settle \
                 (within the batch's search budget)",
                self.extra_searches_max, self.unsettled_names
            ));
        }
        if self.appointments {
            lines.push(format!(
                "--appointments: one call per distinct officer shown is counted for companies \
                 whose officer lists are cached (an officer with more appointments than a page \
                 holds costs one more call per page); {} companies' officers are not known yet, \
                 so their calls (one per officer) are not in the figure",
                self.appointments_unknown
            ));
        }
        for source in &self.social_sources {
            lines.push(format!(
                "{source}: not estimated (its calls depend on the register's answers)"
            ));
        }
        lines.push(
            "Assumed: officer and PSC lists fit one page (100 entries; one more call per 100 beyond), \
             every company lists a PSC (one that lists none costs one more call, for its PSC \
             statements, unless the PSC snapshot is imported), and names not in the cache match a \
             company (an upper bound)."
                .to_string(),
        );
        lines.push("No API calls were made.".to_string());
        lines
    }
}

pub async fn plan(settings: &DiscoverSettings) -> Result<Plan, Error> {
    let mut reader = InputReader::open(&settings.input)?;
    let cache = Cache::open(&settings.cache).await?;
    let offline = Gateway::offline(&crate::sources::POLICIES)?;
    let ch = Client::new(
        offline,
        cache.clone(),
        &settings.companies_house_url,
        settings.companies_house_key.clone(),
    );
    let register = match (&settings.cache.dir, settings.online) {
        (Some(dir), false) => LocalRegister::open(dir)?,
        _ => None,
    };
    let mut plan = Plan {
        register: register.as_ref().map(|r| r.label().to_owned()),
        appointments: settings.appointments,
        ..Plan::default()
    };
    let budget = SearchBudget::cached_only(settings.max_searches_per_row);
    // A row's company, then each call, counted once.
    let mut rows_seen: HashSet<CacheKey> = HashSet::new();
    let mut counted: HashSet<CacheKey> = HashSet::new();
    while let Some(row) = reader.next_row()? {
        plan.rows += 1;
        plan.per_row.push(0);
        let Ok(query) = row.query else {
            plan.invalid += 1;
            continue;
        };
        let first = first_key(&ch, &query);
        if !rows_seen.insert(first.clone()) {
            plan.duplicates += 1;
            continue;
        }
        let local = match &register {
            Some(r) => {
                from_register(
                    r,
                    (&ch, &cache),
                    &query,
                    settings.max_searches_per_row,
                    settings.industry.as_ref(),
                )
                .await
            }
            None => None,
        };
        let (needed, settled) = match local {
            Some((needed, saved, filtered)) => {
                plan.register_rows += 1;
                plan.filtered += u64::from(filtered);
                for key in saved {
                    if counted.insert(key.clone()) {
                        *plan.saved.entry(key.resource.as_str()).or_default() += 1;
                    }
                }
                (needed, true)
            }
            None => needs(&ch, &cache, &query, first, &budget).await,
        };
        if query.company_number.is_none() && !settled {
            plan.unsettled_names += 1;
        }
        let mut needed = needed;
        if settings.appointments {
            let resigned = settings.merge.include_resigned;
            match appointment_needs(&ch, &cache, &query, &budget, resigned).await {
                Some(keys) => needed.extend(keys),
                None => plan.appointments_unknown += 1,
            }
        }
        if needed.is_empty() {
            plan.cached += 1;
        }
        for key in needed {
            if counted.insert(key.clone()) {
                *plan.calls.entry(key.resource.as_str()).or_default() += 1;
                if let Some(n) = plan.per_row.last_mut() {
                    *n += 1;
                }
            }
        }
    }
    plan.extra_searches_max =
        ((settings.search_budget - 1.0).max(0.0) * plan.unsettled_names as f64).floor() as u64;
    let quota = &settings.providers[&Provider::CompaniesHouse].quota;
    plan.seconds =
        plan.total_calls() as f64 * quota.window.as_secs_f64() / f64::from(quota.limit.get());
    plan.quota = quota.to_string();
    let social = &settings.social;
    for (used, name) in [
        (matches!(social.x, Optional::Use { .. }), "X"),
        (matches!(social.linkedin, Optional::Use { .. }), "LinkedIn"),
        (matches!(social.facebook, Optional::Use { .. }), "Facebook"),
    ] {
        if used {
            plan.social_sources.push(name);
        }
    }
    Ok(plan)
}

/// The first page of each officer's appointments list the row's company
/// needs and the cache lacks; `None` when its company or officers are not
/// known from the cache.
async fn appointment_needs(
    ch: &Client,
    cache: &Cache,
    query: &CompanyQuery,
    budget: &SearchBudget,
    include_resigned: bool,
) -> Option<Vec<CacheKey>> {
    let number = match &query.company_number {
        Some(n) => n.clone(),
        None => match resolve::resolve(ch, query, budget).await {
            Ok(Resolution::Matched { number, .. }) => number,
            // Not a company: no officers. Not cached: unknown.
            Ok(_) => return Some(Vec::new()),
            Err(_) => return None,
        },
    };
    // The offline gateway refuses the call when the list is not cached.
    let officers = ch.officers(&number).await.ok()?;
    let mut needed = Vec::new();
    // The officers the run shows, as it looks them up.
    for path in officers
        .iter()
        .filter(|o| include_resigned || o.resigned_on.is_none())
        .filter_map(|o| o.links.as_ref()?.officer.as_ref()?.appointments.clone())
    {
        let key = keys::appointments(ch.base_url(), &path);
        if !cache.contains(&key).await {
            needed.push(key);
        }
    }
    Some(needed)
}

/// What identifies a row's company before anything is looked up.
fn first_key(ch: &Client, query: &CompanyQuery) -> CacheKey {
    match (&query.company_number, &query.name) {
        (Some(number), _) => keys::profile(ch.base_url(), number),
        (None, name) => keys::search(ch.base_url(), name.as_deref().unwrap_or_default()),
    }
}

/// With a local register, as `discover` uses it: when the register settles
/// the row's company (a number it holds, a name it matches), the uncached
/// calls the row still needs (officers; PSCs without a snapshot) and those
/// the register answers instead (the search, the profile, the PSCs).
async fn from_register(
    register: &LocalRegister,
    (ch, cache): (&Client, &Cache),
    query: &CompanyQuery,
    searches: u32,
    industry: Option<&std::collections::BTreeSet<&'static str>>,
) -> Option<(Vec<CacheKey>, Vec<CacheKey>, bool)> {
    let mut saved = Vec::new();
    let Ok(Some(Resolution::Matched { number, .. })) = register.settle(query, searches).await
    else {
        return None;
    };
    if query.company_number.is_none() {
        saved.push(keys::search(
            ch.base_url(),
            query.name.as_deref().unwrap_or_default(),
        ));
    }
    let mut needed = Vec::new();
    saved.push(keys::profile(ch.base_url(), &number));
    let outside = match industry {
        Some(wanted) => register
            .company(&number)
            .await
            .ok()
            .flatten()
            .is_some_and(|c| !c.sic_codes.iter().any(|s| wanted.contains(s.as_str()))),
        None => false,
    };
    if outside {
        // `discover` stops such a row after its company: nothing more to call.
        let saved = uncached(cache, saved).await;
        return Some((Vec::new(), saved, true));
    }
    let psc = keys::psc(ch.base_url(), &number);
    if register.has_pscs() {
        saved.push(psc);
    } else {
        needed.push(psc);
    }
    needed.push(keys::officers(ch.base_url(), &number));
    let needed = uncached(cache, needed).await;
    let saved = uncached(cache, saved).await;
    Some((needed, saved, false))
}

async fn uncached(cache: &Cache, keys: Vec<CacheKey>) -> Vec<CacheKey> {
    let mut out = Vec::new();
    for key in keys {
        if !cache.contains(&key).await {
            out.push(key);
        }
    }
    out
}

/// The uncached calls a row needs, and whether the cache settles its
/// company (a match, or an answer no further search could change).
async fn needs(
    ch: &Client,
    cache: &Cache,
    query: &CompanyQuery,
    first: CacheKey,
    budget: &SearchBudget,
) -> (Vec<CacheKey>, bool) {
    let mut needed = Vec::new();
    let number = match resolve::resolve(ch, query, budget).await {
        Ok(Resolution::Matched { number, .. }) => number,
        Ok(Resolution::NotFound(_) | Resolution::Ambiguous(_)) => {
            let settled = match resolve::Query::of_row(query) {
                Some(q) => {
                    let mut all_cached = true;
                    for search in resolve::searches_for(&q)
                        .into_iter()
                        .take(budget.per_row() as usize)
                    {
                        all_cached &= !resolve::CandidateSource::costs_quota(ch, &search).await;
                    }
                    all_cached
                }
                None => true,
            };
            return (needed, settled);
        }
        // The offline gateway refused a call: the first answer is not
        // cached. A name's company is unknown, so count the calls a match
        // would need against its search.
        Err(_) => match &query.company_number {
            Some(number) => number.clone(),
            None => {
                let per_company = [
                    (Resource::Profile, first.clone()),
                    (Resource::Officers, first.clone()),
                    (Resource::Psc, first.clone()),
                ];
                needed.push(first);
                needed.extend(
                    per_company
                        .into_iter()
                        .map(|(resource, key)| CacheKey { resource, ..key }),
                );
                return (needed, false);
            }
        },
    };
    for key in [
        keys::profile(ch.base_url(), &number),
        keys::officers(ch.base_url(), &number),
        keys::psc(ch.base_url(), &number),
    ] {
        if !cache.contains(&key).await {
            needed.push(key);
        }
    }
    (needed, true)
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{:.0}m {:.0}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{:.0}h {:.0}m", (s / 3600.0).floor(), (s % 3600.0) / 60.0)
    }
}
