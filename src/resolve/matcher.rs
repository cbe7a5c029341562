//! Choosing the register entry a free-text company name refers to.
//!
//! Built on the register's own "same as" rules (designators such as
//! Ltd/Limited/PLC/LLP and their Welsh forms, `&`/`and`, `+`/`plus`,
//! punctuation, a leading "The") plus fuzzy similarity for near misses.

use serde::{Deserialize, Serialize};

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
    /// Close, but not the same name.
    Fuzzy,
}

/// One search hit, reduced to what the matcher weighs.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub company_number: String,
    pub name: String,
    /// `company_status` as the register spells it (`active`, `dissolved`, ...).
    pub status: Option<String>,
    pub postcode: Option<String>,
}

/// What the caller asked for.
#[derive(Debug, Clone, Copy)]
pub struct NameQuery<'a> {
    pub name: &'a str,
    pub postcode: Option<&'a str>,
}

/// A candidate with its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Index into the candidate slice given to [`choose`].
    pub index: usize,
    /// 0..=1.
    pub confidence: f64,
    pub method: MatchMethod,
}

/// The matcher's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    Matched(Scored),
    /// Two or more candidates are equally good; best first.
    Ambiguous(Vec<Scored>),
    NotFound,
}

/// The register's "same as" key of a name.
pub fn same_as_key(name: &str) -> String {
    let _ = name;
    unimplemented!("matcher helper")
}

/// Choose the candidate `query` refers to.
pub fn choose(query: &NameQuery<'_>, candidates: &[Candidate]) -> Choice {
    let _ = (query, candidates);
    unimplemented!("matcher helper")
}
