//! Resolve an input row to one Companies House company.
//!
//! A row with a company number is looked up directly. A row with only a
//! name is searched; every candidate the searches offer is scored on all
//! the evidence and weighed against the others ([`score`]), and the row is
//! matched only when the best candidate is probable enough. Otherwise it is
//! `ambiguous` (the best few together are, but no one of them) or
//! `not_found`; both list the best candidates so a person can fix the row.
//!
//! When the first search does not settle a name, leadgen looks further
//! ([`Search`] variants: the name without its bracketed part, its
//! distinctive words alone, its words re-spelled, an advanced search near
//! the row's postcode), within a [`SearchBudget`]: at most 1.5 searches per
//! name row over a batch and 3 for one row, by default. Searches answered
//! from the cache cost no quota and are not counted against the batch.

pub mod fit;
pub mod lexicon;
pub mod model;
pub mod score;

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::company_name::name_words;
use crate::company_number::CompanyNumber;
use crate::input::CompanyQuery;
use crate::sources::SourceError;
use crate::sources::companies_house::Client;
use crate::sources::companies_house::client::keys;
use crate::sources::companies_house::types::{Address, AdvancedCompany, CompanySearchItem};
use score::{Assessment, PreparedQuery, Verdict};
pub use score::{Candidate, Evidence, Model, Query};

/// How a company was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// The caller gave the company number.
    Number,
    /// The name is the register's name, letter for letter (case and spacing aside).
    Exact,
    /// The name is the same as the register's name under the "same as" rules.
    Normalized,
    /// Matched on the evidence as a whole: words, typos, postcode, status.
    Fuzzy,
}

/// How sure leadgen is of a match, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchInfo {
    /// The probability that this is the company meant.
    pub confidence: f64,
    pub method: MatchMethod,
    /// What counted, strongest first (empty for a number).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// A company the row may mean, with its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateSummary {
    pub company_number: String,
    pub company_name: String,
    pub company_status: Option<String>,
    pub registered_office_postcode: Option<String>,
    /// The probability that this is the company meant.
    pub confidence: f64,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    Matched {
        number: CompanyNumber,
        info: MatchInfo,
    },
    /// Nothing is good enough; the best few, if any came close.
    NotFound(Vec<CandidateSummary>),
    Ambiguous(Vec<CandidateSummary>),
}

/// One search the resolver can make.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Search {
    /// `/search/companies?q=`.
    Name(String),
    /// `/advanced-search/companies?company_name_includes=&location=`.
    Near {
        name_includes: String,
        location: String,
    },
}

/// Where candidates come from: the live API (through the gateway and the
/// cache), or any register that can answer the same two searches.
pub trait CandidateSource {
    /// The candidates `search` offers.
    fn search(
        &self,
        search: &Search,
    ) -> impl Future<Output = Result<Vec<Candidate>, SourceError>> + Send;
    /// Whether `search` would spend quota (it is not answered from the cache).
    fn costs_quota(&self, search: &Search) -> impl Future<Output = bool> + Send;
}

impl CandidateSource for Client {
    async fn search(&self, search: &Search) -> Result<Vec<Candidate>, SourceError> {
        Ok(match search {
            Search::Name(q) => self
                .search_companies(q)
                .await?
                .iter()
                .filter_map(candidate_from_search_item)
                .collect(),
            Search::Near {
                name_includes,
                location,
            } => self
                .advanced_search(name_includes, location)
                .await?
                .iter()
                .filter_map(candidate_from_advanced)
                .collect(),
        })
    }

    async fn costs_quota(&self, search: &Search) -> bool {
        let key = match search {
            Search::Name(q) => keys::search(self.base_url(), q),
            Search::Near {
                name_includes,
                location,
            } => keys::advanced_search(self.base_url(), name_includes, location),
        };
        !self.is_cached(&key).await
    }
}

fn locality_words(address: Option<&Address>) -> Vec<String> {
    let Some(a) = address else {
        return Vec::new();
    };
    [a.locality.as_deref(), a.region.as_deref()]
        .into_iter()
        .flatten()
        .flat_map(|s| name_words(s, false).words.into_iter().map(|w| w.text))
        .collect()
}

/// A candidate from the fields both searches give; `None` when there is
/// no usable number or name, since such an entry cannot be matched.
fn candidate(
    number: &str,
    name: Option<&str>,
    status: Option<&String>,
    address: Option<&Address>,
    company_type: Option<&String>,
    previous_name: Option<&str>,
) -> Option<Candidate> {
    let name = name?.trim();
    if name.is_empty() || CompanyNumber::parse(number).is_err() {
        return None;
    }
    Some(Candidate {
        company_number: number.trim().to_owned(),
        name: name.to_owned(),
        status: status.cloned(),
        postcode: address.and_then(|a| a.postal_code.clone()),
        previous_name: previous_name
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        company_type: company_type.cloned(),
        locality: locality_words(address),
    })
}

/// A candidate from a `/search/companies` item (its `snippet` is a
/// previous name the search matched).
pub fn candidate_from_search_item(item: &CompanySearchItem) -> Option<Candidate> {
    candidate(
        &item.company_number,
        item.title.as_deref(),
        item.company_status.as_ref(),
        item.address.as_ref(),
        item.company_type.as_ref(),
        item.snippet.as_deref(),
    )
}

/// A candidate from an `/advanced-search/companies` item.
pub fn candidate_from_advanced(item: &AdvancedCompany) -> Option<Candidate> {
    candidate(
        &item.company_number,
        item.company_name.as_deref(),
        item.company_status.as_ref(),
        item.registered_office_address.as_ref(),
        item.company_type.as_ref(),
        None,
    )
}

/// How many searches names may take: on average over a batch, and at most
/// for one row. Shared by every row of a run.
#[derive(Debug)]
pub struct SearchBudget {
    average: f64,
    per_row: u32,
    /// Whether searches beyond a row's first may spend quota at all.
    paid_extras: bool,
    rows: AtomicU64,
    calls: AtomicU64,
}

impl SearchBudget {
    /// The defaults: 1.5 searches per name row on average, 3 at most for one.
    pub const AVERAGE: f64 = 1.5;
    pub const PER_ROW: u32 = 3;

    pub fn new(average: f64, per_row: u32) -> SearchBudget {
        SearchBudget {
            average: average.max(1.0),
            per_row: per_row.max(1),
            paid_extras: true,
            rows: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        }
    }

    /// A budget for one name looked at by itself (`leadgen explain`): no
    /// batch to average over, only the per-row limit.
    pub fn single(per_row: u32) -> SearchBudget {
        SearchBudget::new(f64::from(per_row.max(1)), per_row)
    }

    /// A budget that allows further searches only from the cache
    /// (`discover --plan`, which must not call anything).
    pub fn cached_only(per_row: u32) -> SearchBudget {
        SearchBudget {
            paid_extras: false,
            ..SearchBudget::new(1.0, per_row)
        }
    }

    /// Most searches for one row.
    pub fn per_row(&self) -> u32 {
        self.per_row
    }

    fn start_row(&self) {
        self.rows.fetch_add(1, Ordering::Relaxed);
    }

    /// Take one paid search for a row that has made `done` searches (fewer
    /// than [`Self::per_row`]); the first search of a row is always allowed.
    fn take(&self, done: u32) -> bool {
        if done == 0 {
            self.calls.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if !self.paid_extras {
            return false;
        }
        let allowed = (self.average * self.rows.load(Ordering::Relaxed) as f64).floor() as u64;
        self.calls
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                (c < allowed).then_some(c + 1)
            })
            .is_ok()
    }
}

/// Resolve a row, searching through `source` within `budget`.
pub async fn resolve(
    ch: &Client,
    query: &CompanyQuery,
    budget: &SearchBudget,
) -> Result<Resolution, SourceError> {
    if let Some(number) = &query.company_number {
        return Ok(match ch.company_profile(number).await? {
            Some(_) => Resolution::Matched {
                number: number.clone(),
                info: MatchInfo {
                    confidence: 1.0,
                    method: MatchMethod::Number,
                    evidence: Vec::new(),
                },
            },
            None => Resolution::NotFound(Vec::new()),
        });
    }
    let Some(query) = Query::of_row(query) else {
        return Ok(Resolution::NotFound(Vec::new()));
    };
    let found = investigate(ch, &query, budget, &model::MODEL).await?;
    Ok(found.resolution(&model::MODEL))
}

/// What the searches found for a name, and how the model weighed it.
#[derive(Debug, Clone)]
pub struct Investigation {
    pub query: Query,
    /// The searches made, in order, with how many candidates each gave.
    pub searches: Vec<(Search, usize)>,
    pub candidates: Vec<Candidate>,
    pub assessment: Assessment,
    pub verdict: Verdict,
}

/// The searches worth making for `query`, in the order they are tried.
pub fn searches_for(query: &Query) -> Vec<Search> {
    let prepared = PreparedQuery::new(query);
    let typed = query.name.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = vec![Search::Name(typed.clone())];
    let words = name_words(&query.name, true);
    let plain: Vec<&str> = words
        .words
        .iter()
        .filter(|w| !w.qualifier)
        .map(|w| w.text.as_str())
        .collect();
    let bracketed: Vec<&str> = words
        .words
        .iter()
        .filter(|w| w.qualifier)
        .map(|w| w.text.as_str())
        .collect();
    // The name without its bracketed qualifier.
    if !bracketed.is_empty() && !plain.is_empty() {
        out.push(Search::Name(plain.join(" ")));
    }
    // The distinctive words alone, without the trade and generic words
    // that the registered name may lack.
    if prepared.has_weak_words() {
        out.push(Search::Name(prepared.strong_words().join(" ")));
    }
    // Near the postcode, by the most distinctive word.
    if let (Some(postcode), Some(word)) = (prepared.postcode(), prepared.heaviest_word()) {
        out.push(Search::Near {
            name_includes: word,
            location: postcode.outward.clone(),
        });
    }
    // The words as leadgen reads them: run-together words split,
    // abbreviations spelled out, designators dropped.
    if !plain.is_empty() {
        out.push(Search::Name(plain.join(" ")));
    }
    // The bracketed part alone, when it names something.
    if !bracketed.is_empty() {
        out.push(Search::Name(bracketed.join(" ")));
    }
    let mut seen = HashSet::new();
    out.retain(|s| {
        let key = match s {
            Search::Name(q) => format!("q:{}", q.to_lowercase()),
            Search::Near {
                name_includes,
                location,
            } => format!(
                "near:{}:{}",
                name_includes.to_lowercase(),
                location.to_lowercase()
            ),
        };
        let fresh = seen.insert(key);
        let empty = matches!(s, Search::Name(q) if q.trim().is_empty());
        fresh && !empty
    });
    out
}

/// Search for `query` and weigh what comes back, looking further while the
/// answer is not settled and the budget allows.
pub async fn investigate<S: CandidateSource>(
    source: &S,
    query: &Query,
    budget: &SearchBudget,
    model: &Model,
) -> Result<Investigation, SourceError> {
    let prepared = PreparedQuery::new(query);
    budget.start_row();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut searches = Vec::new();
    let mut assessment = score::assess(&prepared, &candidates, model);
    let mut verdict = Verdict::NotFound;
    for search in searches_for(query) {
        let done = u32::try_from(searches.len()).unwrap_or(u32::MAX);
        if done >= budget.per_row {
            break;
        }
        if source.costs_quota(&search).await && !budget.take(done) {
            break;
        }
        let found = source.search(&search).await?;
        searches.push((search, found.len()));
        candidates.extend(found);
        assessment = score::assess(&prepared, &candidates, model);
        verdict = assessment.verdict(model);
        if verdict == Verdict::Matched {
            break;
        }
    }
    Ok(Investigation {
        query: query.clone(),
        searches,
        candidates,
        assessment,
        verdict,
    })
}

/// Every candidate any of the searches for `query` offers, with no budget
/// and no early stop: what the model is fitted on.
pub async fn gather<S: CandidateSource>(
    source: &S,
    query: &Query,
) -> Result<Vec<Candidate>, SourceError> {
    let mut candidates = Vec::new();
    for search in searches_for(query) {
        candidates.extend(source.search(&search).await?);
    }
    Ok(candidates)
}

/// The most a name match claims: 1.0 is kept for a company number.
const MAX_NAME_CONFIDENCE: f64 = 0.999;
/// Most candidates listed for an abstention.
const LISTED: usize = 5;
/// Least probability for a candidate to be listed with `not_found`.
const LIST_FLOOR: f64 = 0.02;

impl Investigation {
    /// The candidate ranked `rank`, as output rows and `explain` show it.
    pub fn summary(&self, rank: usize, model: &Model) -> CandidateSummary {
        let a = &self.assessment.ranked[rank];
        let c = &self.candidates[a.index];
        CandidateSummary {
            company_number: c.company_number.clone(),
            company_name: c.name.clone(),
            company_status: c.status.clone(),
            registered_office_postcode: c.postcode.clone(),
            confidence: round3(a.probability),
            evidence: score::evidence(&a.scored, model),
        }
    }

    pub fn resolution(&self, model: &Model) -> Resolution {
        match self.verdict {
            Verdict::Matched => {
                let best = &self.assessment.ranked[0];
                let c = &self.candidates[best.index];
                let method = if best.scored.detail.via_previous_name {
                    MatchMethod::Fuzzy
                } else if best.scored.is_exact() {
                    MatchMethod::Exact
                } else if best.scored.is_same_as() {
                    MatchMethod::Normalized
                } else {
                    MatchMethod::Fuzzy
                };
                match CompanyNumber::parse(&c.company_number) {
                    Ok(number) => Resolution::Matched {
                        number,
                        info: MatchInfo {
                            // A name is never as certain as a number.
                            confidence: round3(best.probability.min(MAX_NAME_CONFIDENCE)),
                            method,
                            evidence: score::evidence(&best.scored, model),
                        },
                    },
                    Err(_) => Resolution::NotFound(Vec::new()),
                }
            }
            Verdict::Ambiguous(n) => {
                Resolution::Ambiguous((0..n).map(|i| self.summary(i, model)).collect())
            }
            Verdict::NotFound => Resolution::NotFound(
                (0..self.assessment.ranked.len().min(LISTED))
                    .filter(|&i| self.assessment.ranked[i].probability >= LIST_FLOOR)
                    .map(|i| self.summary(i, model))
                    .collect(),
            ),
        }
    }
}

/// A probability as output shows it: three decimals.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
