//! Resolve an input row to one Companies House company.
//!
//! A row with a company number is looked up directly; a row with only a
//! name is searched and the best candidate chosen by [`matcher`]. When two
//! candidates are equally good the row is `ambiguous`: leadgen never guesses.

pub mod matcher;

use serde::Serialize;

use crate::input::{CompanyNumber, CompanyQuery};
use crate::sources::SourceError;
use crate::sources::companies_house::Client;
use matcher::{Candidate, Choice, MatchMethod, NameQuery};

/// How sure leadgen is of a match, and why.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchInfo {
    pub confidence: f64,
    pub method: MatchMethod,
}

/// One of several equally good candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateSummary {
    pub company_number: String,
    pub company_name: String,
    pub company_status: Option<String>,
    pub registered_office_postcode: Option<String>,
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    Matched {
        number: CompanyNumber,
        info: MatchInfo,
    },
    NotFound,
    Ambiguous(Vec<CandidateSummary>),
}

pub async fn resolve(ch: &Client, query: &CompanyQuery) -> Result<Resolution, SourceError> {
    if let Some(number) = &query.company_number {
        return Ok(match ch.company_profile(number).await? {
            Some(_) => Resolution::Matched {
                number: number.clone(),
                info: MatchInfo {
                    confidence: 1.0,
                    method: MatchMethod::Number,
                },
            },
            None => Resolution::NotFound,
        });
    }
    let Some(name) = query.name.as_deref() else {
        return Ok(Resolution::NotFound);
    };
    let items = ch.search_companies(name).await?;
    // Items without a name or with a number the register could not have
    // cannot be chosen; keep the rest in the API's order.
    let usable: Vec<(CompanyNumber, Candidate)> = items
        .iter()
        .filter_map(|item| {
            let number = CompanyNumber::parse(&item.company_number).ok()?;
            Some((number, Candidate::from_search_item(item)?))
        })
        .collect();
    let candidates: Vec<Candidate> = usable.iter().map(|(_, c)| c.clone()).collect();
    let name_query = NameQuery {
        name,
        postcode: query.postcode.as_deref(),
    };
    Ok(match matcher::choose(&name_query, &candidates) {
        Choice::Matched(best) => Resolution::Matched {
            number: usable[best.index].0.clone(),
            info: MatchInfo {
                confidence: best.confidence,
                method: best.method,
            },
        },
        Choice::NotFound => Resolution::NotFound,
        Choice::Ambiguous(tied) => Resolution::Ambiguous(
            tied.iter()
                .map(|s| {
                    let c = &candidates[s.index];
                    CandidateSummary {
                        company_number: usable[s.index].0.to_string(),
                        company_name: c.name.clone(),
                        company_status: c.status.clone(),
                        registered_office_postcode: c.postcode.clone(),
                        confidence: s.confidence,
                    }
                })
                .collect(),
        ),
    })
}
