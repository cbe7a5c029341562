//! Choosing the register entry a free-text company name refers to.
//!
//! Companies House refuses a new name that is the "same as" one already on
//! its index (Companies Act 2006 s.66; the Company, Limited Liability
//! Partnership and Business (Names and Trading Disclosures) Regulations 2015,
//! Schedule 3). Those rules say which differences do not make two names
//! different, so they are the natural definition of "the same company name"
//! for an input row that spells a name loosely. Fuzzy similarity then covers
//! typos, which the rules do not.
//!
//! # Keys
//!
//! [`same_as_key`] (the *designator-level* key) disregards:
//! - case, accents (transliterated with `deunicode`), punctuation and all
//!   blank space, so "H & S Ltd" and "Hands Limited" share a key, as the
//!   registrar's own examples say;
//! - a leading "The" and a leading "www";
//! - trailing designators of legal form (one or several), in English and Welsh,
//!   with or without full stops: limited/ltd, unlimited, anghyfyngedig,
//!   cyfyngedig/cyf, public limited company/plc, cwmni cyfyngedig
//!   cyhoeddus/ccc, community interest company/cic, cwmni buddiant
//!   cymunedol/cbc, their public forms, limited liability partnership/llp,
//!   partneriaeth atebolrwydd cyfyngedig/pac, limited partnership/lp,
//!   partneriaeth cyfyngedig, private fund limited partnership/pflp,
//!   investment company with variable capital/icvc, open-ended investment
//!   company/oeic, charitable incorporated organisation/cio, european economic
//!   interest grouping/eeig and societas europaea/se;
//!
//! and regards as the same: `&`/and, `+`/plus, `@`/at, `%`/percent (also
//! "per cent", "pct"), `£`/pound, `€`/euro, `$`/dollar, `¥`/yen, and the
//! digits 0-9 with their words (zero ... nine).
//!
//! [`loose_same_as_key`] also disregards the further words the rules
//! disregard at the end of a name, and which Companies House accepts, with
//! consent, on the name of another company of the same group: "and
//! company"/"& co", "company"/"co", "biz", "co uk", "com", "net", "org uk",
//! "uk", "united kingdom", "gb", "great britain", "wales", "cymru"; and two
//! loose keys that differ only by a final "s" count as equal. Because such
//! names can belong to different companies ("Tesco UK Ltd" and "Tesco Ltd"),
//! agreement at this level scores below agreement at the designator level,
//! never above it. "Group", "holdings", "international", "services" and
//! "export" were on the pre-2015 list but were deleted by the 2015
//! Regulations, so "Tesco Holdings" and "Tesco" are different names and at
//! most a fuzzy match. (Sources: the 2015 Regulations, Schedules 2 and 3;
//! Companies House "same as" guidance; the list of deleted words as reported
//! at the time, e.g. laytons.com, "What's in a name? New regulations on
//! company names". The plural "s" comes from the guidance, not the
//! Schedule.)
//!
//! # Tiers and confidences
//!
//! | Tier | When | Confidence |
//! |---|---|---|
//! | [`MatchMethod::Exact`] | same text once case and runs of blank space are ignored (`"YOU  LIMITED"` = "You Limited") | [`EXACT_CONFIDENCE`] = 0.90 |
//! | [`MatchMethod::Normalized`] | equal [`same_as_key`] | [`SAME_AS_CONFIDENCE`] = 0.85 |
//! | [`MatchMethod::Normalized`] | equal [`loose_same_as_key`] only | [`LOOSE_SAME_AS_CONFIDENCE`] = 0.80 |
//! | [`MatchMethod::Fuzzy`] | [`name_similarity`] of the designator-level keys ≥ [`FUZZY_THRESHOLD`] = 0.88, both keys ≥ 4 characters | [`FUZZY_MAX_CONFIDENCE`] × similarity, so 0.62-0.70 |
//!
//! The confidences are the chance that the company is the one the user
//! meant, and were measured: on the labelled calibration set
//! (`fixtures/labelled/calibration.csv`, development half) 32 of 39 rows
//! matched at the exact/same-as tier were the company meant, so 0.95 and 1.00
//! overstated it. A name that is the register's name can still be someone
//! else's business: a sole trader's trading name, a name shortened by a word
//! that another company's name lacks, an old name another company took. The
//! lower tiers and the penalised matches were right more often (15 of 15) but on too few
//! rows to justify ranking them above the top tier; they keep their order.
//! A company number is not matched here and keeps 1.0.
//!
//! Below the fuzzy threshold a candidate is no match at all. The similarity
//! is the mean of Jaro-Winkler (forgiving of typos) and normalised
//! Damerau-Levenshtein (which penalises the extra words of a longer name that
//! Jaro-Winkler's prefix bonus would forgive: "Python" against "Python Cars"
//! scores 0.76, a one-letter typo in a ten-letter name about 0.93).
//!
//! A name that is the query plus a parenthesised qualifier ("Pennine Care
//! Services (North) Ltd" for "Pennine Care Services Ltd") is a fuzzy match
//! of similarity [`QUALIFIED_SIMILARITY`] = 0.90: each qualified sibling
//! fits equally, so two of them are ambiguous until a postcode decides. A
//! previous name the search matched (the item's `snippet`) that is the same
//! as the query counts as a loose same-as match (0.80): the user may be using
//! an old name, but another company may have taken it since.
//!
//! # Choosing
//!
//! Candidates are ranked by tier (Exact and same-as share the top tier: a
//! user writing "Ltd" for "Limited" means nothing by it), then similarity,
//! then by postcode when the query has one (same full postcode > same
//! outward code > anything else; postcodes compared uppercase without
//! spaces), then by status (`active` > anything else), and only then by
//! exactness. So "Python Ltd" finds the active PYTHON LIMITED rather than a
//! dissolved PYTHON LTD. If two or more candidates with different
//! company numbers remain equally good, the answer is [`Choice::Ambiguous`]:
//! the matcher never guesses. When a winner's runner-up is close, its
//! confidence drops by up to [`CLOSE_PENALTY`] = 0.10: by 0.08 when the two
//! names rank the same and only the status told them apart, by 0.06 when
//! the outward code did, by 0.02 when the full postcode did, in proportion
//! when the runner-up's name scored a little lower, and not at all
//! once the gap reaches [`CLOSE_MARGIN`] = 0.05 (the gap between two tiers).
//! The lowest a Normalized match can fall to, 0.70, is still no lower than
//! the best unpenalised Fuzzy one.

use serde::{Deserialize, Serialize};

use crate::sources::companies_house::types::CompanySearchItem;

/// Confidence of an [`MatchMethod::Exact`] match.
pub const EXACT_CONFIDENCE: f64 = 0.90;
/// Confidence of names equal under [`same_as_key`].
pub const SAME_AS_CONFIDENCE: f64 = 0.85;
/// Confidence of names equal only under [`loose_same_as_key`].
pub const LOOSE_SAME_AS_CONFIDENCE: f64 = 0.80;
/// A fuzzy match's confidence is this times its similarity.
pub const FUZZY_MAX_CONFIDENCE: f64 = 0.70;
/// The similarity given to a name that is the query plus a parenthesised
/// qualifier ("Pennine Care Services (North) Ltd" for "Pennine Care
/// Services Ltd"): a fuzzy match, since each qualified sibling fits equally.
pub const QUALIFIED_SIMILARITY: f64 = 0.90;
/// Least [`name_similarity`] that counts as a fuzzy match.
pub const FUZZY_THRESHOLD: f64 = 0.88;
/// Keys shorter than this are never fuzzy-matched: one letter in three is
/// not a typo, it is another name.
pub const MIN_FUZZY_KEY_CHARS: usize = 4;
/// Most a close runner-up takes off the winner's confidence.
pub const CLOSE_PENALTY: f64 = 0.10;
/// A runner-up this far behind (in confidence) costs the winner nothing.
pub const CLOSE_MARGIN: f64 = 0.05;

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
    /// What the search matched besides the title: a previous name of the
    /// company (the API's `snippet`), or sometimes an address.
    pub snippet: Option<String>,
}

impl Candidate {
    /// A candidate from a `/search/companies` item; `None` when the item has
    /// no title, since a nameless entry cannot be matched by name.
    pub fn from_search_item(item: &CompanySearchItem) -> Option<Self> {
        let name = item.title.as_deref()?.trim();
        if name.is_empty() {
            return None;
        }
        Some(Self {
            company_number: item.company_number.clone(),
            name: name.to_owned(),
            status: item.company_status.clone(),
            postcode: item.address.as_ref().and_then(|a| a.postal_code.clone()),
            snippet: item
                .snippet
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }
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
    /// 0..=1. In [`Choice::Ambiguous`] it says how well the name matches,
    /// not how likely this candidate is to be the one meant.
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

/// The register's "same as" key of a name, at the designator level (see the
/// module docs): "The Acme & Co. Ltd" and "ACME AND CO LIMITED" both give
/// `"acmeandco"`.
pub fn same_as_key(name: &str) -> String {
    designator_level_words(name).concat()
}

/// The looser "same as" key, which also drops the further trailing words a
/// company of the same group may add ("Acme & Co UK Ltd" gives `"acme"`).
pub fn loose_same_as_key(name: &str) -> String {
    let mut words = designator_level_words(name);
    strip_trailing(&mut words, &[DESIGNATORS, FURTHER_WORDS]);
    words.concat()
}

/// Whether the name ends with a designator of legal form ("Ltd", "PLC",
/// "LLP", "Cyf", ...), as the names of companies and partnerships do.
/// Officer and PSC lists mix people and bodies corporate; this tells them
/// apart when the role does not.
pub fn ends_with_designator(name: &str) -> bool {
    let words = spelled_words(name);
    DESIGNATORS.iter().any(|d| {
        words.len() >= d.len()
            && words[words.len() - d.len()..]
                .iter()
                .map(String::as_str)
                .eq(d.iter().copied())
    })
}

/// Similarity of two names in 0..=1: the mean of Jaro-Winkler and normalised
/// Damerau-Levenshtein on their [`same_as_key`]s.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    key_similarity(&same_as_key(a), &same_as_key(b))
}

/// A UK postcode uppercase with blank space and punctuation removed
/// ("hu17 8eu" gives "HU178EU"); `None` when nothing is left.
pub fn normalize_postcode(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!code.is_empty()).then_some(code)
}

/// Choose the candidate `query` refers to.
///
/// Pass every hit of `/search/companies` for the name (see
/// [`Candidate::from_search_item`]); hits that do not match at all are
/// simply ignored.
pub fn choose(query: &NameQuery<'_>, candidates: &[Candidate]) -> Choice {
    let query_name = QueryName::new(query.name);
    if query_name.key.is_empty() {
        return Choice::NotFound;
    }
    let query_postcode = query.postcode.and_then(normalize_postcode);

    let mut ranked: Vec<Ranked> = candidates
        .iter()
        .enumerate()
        .filter_map(|(index, candidate)| {
            let name = query_name.score_candidate(candidate)?;
            Some(Ranked {
                index,
                name,
                postcode: postcode_agreement(query_postcode.as_deref(), candidate),
                active: is_active(candidate),
            })
        })
        .collect();
    // Stable, so among equals the register's own order is kept.
    ranked.sort_by(|a, b| b.cmp_key().total_cmp(&a.cmp_key()));

    let Some(best) = ranked.first() else {
        return Choice::NotFound;
    };
    let mut tied: Vec<&Ranked> = ranked
        .iter()
        .take_while(|r| r.cmp_key() == best.cmp_key())
        .collect();
    // The same company twice (overlapping pages) is not an ambiguity.
    let mut seen = Vec::new();
    tied.retain(|r| {
        let number = candidates[r.index].company_number.trim();
        if seen.contains(&number) {
            false
        } else {
            seen.push(number);
            true
        }
    });
    if tied.len() > 1 {
        return Choice::Ambiguous(
            tied.iter()
                .map(|r| Scored {
                    index: r.index,
                    confidence: r.name.confidence(),
                    method: r.name.method(),
                })
                .collect(),
        );
    }

    let runner_up = ranked.iter().find(|r| {
        candidates[r.index].company_number.trim() != candidates[best.index].company_number.trim()
    });
    let penalty = runner_up.map_or(0.0, |r| close_penalty(best, r));
    Choice::Matched(Scored {
        index: best.index,
        confidence: (best.name.confidence() - penalty).clamp(0.0, 1.0),
        method: best.name.method(),
    })
}

/// Designators of legal form, disregarded at the end of a name (Schedule 3).
/// Each is a word sequence after [`spelled_words`], so "L.L.P." is `["llp"]`.
const DESIGNATORS: &[&[&str]] = &[
    &["limited"],
    &["ltd"],
    &["unlimited"],
    &["anghyfyngedig"],
    &["cyfyngedig"],
    &["cyf"],
    &["public", "limited", "company"],
    &["plc"],
    &["cwmni", "cyfyngedig", "cyhoeddus"],
    &["ccc"],
    &["community", "interest", "company"],
    &["cic"],
    &["cwmni", "buddiant", "cymunedol"],
    &["cbc"],
    &["community", "interest", "public", "limited", "company"],
    &["community", "interest", "plc"],
    &["cwmni", "buddiant", "cymunedol", "cyhoeddus", "cyfyngedig"],
    &["cwmni", "buddiant", "cymunedol", "ccc"],
    &["limited", "liability", "partnership"],
    &["llp"],
    &["partneriaeth", "atebolrwydd", "cyfyngedig"],
    &["pac"],
    &["limited", "partnership"],
    &["lp"],
    &["partneriaeth", "cyfyngedig"],
    &["private", "fund", "limited", "partnership"],
    &["pflp"],
    &["investment", "company", "with", "variable", "capital"],
    &["icvc"],
    &["open", "ended", "investment", "company"],
    &["oeic"],
    &["charitable", "incorporated", "organisation"],
    &["cio"],
    &["european", "economic", "interest", "grouping"],
    &["eeig"],
    &["societas", "europaea"],
    &["se"],
];

/// Further words disregarded at the end of a name, which a company of the
/// same group may add with consent (see the module docs for the sources).
const FURTHER_WORDS: &[&[&str]] = &[
    &["and", "co"],
    &["and", "company"],
    &["co"],
    &["company"],
    &["biz"],
    &["co", "uk"],
    &["com"],
    &["net"],
    &["org", "uk"],
    &["uk"],
    &["united", "kingdom"],
    &["gb"],
    &["great", "britain"],
    &["wales"],
    &["cymru"],
];

/// Signs the rules regard as the same as a word. Spelled out before
/// transliteration, which would turn "£" into "PS".
fn sign_word(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "and",
        '+' => "plus",
        '@' => "at",
        '%' => "percent",
        '£' => "pound",
        '€' => "euro",
        '$' => "dollar",
        '¥' => "yen",
        _ => return None,
    })
}

/// Words regarded as the same as a shorter form.
fn word_equivalent(word: &str) -> Option<&'static str> {
    Some(match word {
        "zero" => "0",
        "one" => "1",
        "two" => "2",
        "three" => "3",
        "four" => "4",
        "five" => "5",
        "six" => "6",
        "seven" => "7",
        "eight" => "8",
        "nine" => "9",
        "pct" => "percent",
        _ => return None,
    })
}

/// Lowercase ASCII words with signs spelled out, accents transliterated and
/// punctuation treated as a break. Runs of single letters are joined, so
/// that "L.T.D." and "U.K" read as "ltd" and "uk".
fn spelled_words(name: &str) -> Vec<String> {
    let mut spelled = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match sign_word(c) {
            Some(word) => {
                spelled.push(' ');
                spelled.push_str(word);
                spelled.push(' ');
            }
            None => spelled.push(c),
        }
    }
    let ascii = deunicode::deunicode(&spelled).to_ascii_lowercase();

    let mut words: Vec<String> = Vec::new();
    let mut previous_was_letter = false;
    for piece in ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let is_letter = piece.len() == 1 && piece.as_bytes()[0].is_ascii_alphabetic();
        match words.last_mut() {
            Some(last) if is_letter && previous_was_letter => last.push_str(piece),
            _ => words.push(piece.to_owned()),
        }
        previous_was_letter = is_letter;
    }

    let mut merged: Vec<String> = Vec::with_capacity(words.len());
    let mut iter = words.into_iter().peekable();
    while let Some(word) = iter.next() {
        if word == "per" && iter.peek().is_some_and(|next| next == "cent") {
            iter.next();
            merged.push("percent".to_owned());
        } else if let Some(same) = word_equivalent(&word) {
            merged.push(same.to_owned());
        } else {
            merged.push(word);
        }
    }
    merged
}

fn designator_level_words(name: &str) -> Vec<String> {
    let mut words = spelled_words(name);
    for leading in ["the", "www"] {
        if words.len() > 1 && words[0] == leading {
            words.remove(0);
        }
    }
    strip_trailing(&mut words, &[DESIGNATORS]);
    words
}

/// Drop the longest trailing run made up wholly of sequences from `lists`,
/// always keeping at least one word: a company called "Company Ltd" has the
/// key "company", not an empty one. Longest run rather than greedy
/// stripping, because sequences overlap: "& Co (UK)" must lose "co" and "uk",
/// not the domain suffix "co uk" and leave "and" behind.
fn strip_trailing(words: &mut Vec<String>, lists: &[&[&[&str]]]) {
    let n = words.len();
    // ends_in_listed[i]: words[i..] is a run of listed sequences.
    let mut ends_in_listed = vec![false; n + 1];
    ends_in_listed[n] = true;
    for i in (0..n).rev() {
        ends_in_listed[i] = lists.iter().flat_map(|list| list.iter()).any(|seq| {
            let end = i + seq.len();
            end <= n
                && ends_in_listed[end]
                && words[i..end]
                    .iter()
                    .map(String::as_str)
                    .eq(seq.iter().copied())
        });
    }
    if let Some(keep) = (1..n).find(|&i| ends_in_listed[i]) {
        words.truncate(keep);
    }
}

fn key_similarity(a: &str, b: &str) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let similarity =
        (strsim::jaro_winkler(a, b) + strsim::normalized_damerau_levenshtein(a, b)) / 2.0;
    similarity.clamp(0.0, 1.0)
}

/// The forms of the query name every candidate is compared with.
struct QueryName {
    spaced: String,
    key: String,
    loose_key: String,
}

impl QueryName {
    fn new(name: &str) -> Self {
        Self {
            spaced: exact_form(name),
            key: same_as_key(name),
            loose_key: loose_same_as_key(name),
        }
    }

    /// The candidate's best score: its name, else its name without a
    /// parenthesised qualifier ("(NORTH)") as a fuzzy match, else a previous
    /// name the search matched as a loose same-as match. The last two are
    /// weaker because another company may have the plain name, or have taken
    /// the old one since.
    fn score_candidate(&self, candidate: &Candidate) -> Option<NameScore> {
        let direct = self.score(&candidate.name);
        let same_level = |s: Option<NameScore>| s.filter(|s| !matches!(s, NameScore::Fuzzy(_)));
        let qualified = without_qualifiers(&candidate.name)
            .and_then(|plain| same_level(self.score(&plain)))
            .map(|_| NameScore::Fuzzy(QUALIFIED_SIMILARITY));
        let previous = candidate
            .snippet
            .as_deref()
            .and_then(|old| same_level(self.score(old)))
            .map(|_| NameScore::LooseSameAs);
        [direct, qualified, previous]
            .into_iter()
            .flatten()
            .max_by(|a, b| {
                let (a, b) = (a.rank(), b.rank());
                a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
            })
    }

    fn score(&self, candidate_name: &str) -> Option<NameScore> {
        let key = same_as_key(candidate_name);
        if key.is_empty() {
            return None;
        }
        if exact_form(candidate_name) == self.spaced {
            return Some(NameScore::Exact);
        }
        if key == self.key {
            return Some(NameScore::SameAs);
        }
        if loose_keys_equal(&loose_same_as_key(candidate_name), &self.loose_key) {
            return Some(NameScore::LooseSameAs);
        }
        if key.len() < MIN_FUZZY_KEY_CHARS || self.key.len() < MIN_FUZZY_KEY_CHARS {
            return None;
        }
        let similarity = key_similarity(&key, &self.key);
        (similarity >= FUZZY_THRESHOLD).then_some(NameScore::Fuzzy(similarity))
    }
}

/// The name with parenthesised parts removed ("PENNINE CARE SERVICES
/// (NORTH) LIMITED" gives "PENNINE CARE SERVICES LIMITED"); `None` when it
/// has none.
fn without_qualifiers(name: &str) -> Option<String> {
    if !name.contains('(') {
        return None;
    }
    let mut depth = 0usize;
    let plain: String = name
        .chars()
        .filter(|&c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect();
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    (!plain.is_empty()).then_some(plain)
}

/// Case-folded, with each run of blank space one space: what "letter for
/// letter" means for [`MatchMethod::Exact`].
fn exact_form(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Loose keys are equal when they differ at most by a final "s", which the
/// registrar disregards ("Hands" and "Hand").
fn loose_keys_equal(a: &str, b: &str) -> bool {
    a == b || a.strip_suffix('s') == Some(b) || b.strip_suffix('s') == Some(a)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NameScore {
    Exact,
    SameAs,
    LooseSameAs,
    Fuzzy(f64),
}

impl NameScore {
    fn confidence(self) -> f64 {
        match self {
            Self::Exact => EXACT_CONFIDENCE,
            Self::SameAs => SAME_AS_CONFIDENCE,
            Self::LooseSameAs => LOOSE_SAME_AS_CONFIDENCE,
            Self::Fuzzy(similarity) => FUZZY_MAX_CONFIDENCE * similarity,
        }
    }

    /// Tier and similarity. Exact and same-as share the top tier: a user
    /// writing "Ltd" for "Limited" means nothing by it, so the postcode and
    /// the status decide between such names before exactness does.
    fn rank(self) -> (u8, f64) {
        match self {
            Self::Exact | Self::SameAs => (2, 1.0),
            Self::LooseSameAs => (1, 1.0),
            Self::Fuzzy(s) => (0, s),
        }
    }

    fn method(self) -> MatchMethod {
        match self {
            Self::Exact => MatchMethod::Exact,
            Self::SameAs | Self::LooseSameAs => MatchMethod::Normalized,
            Self::Fuzzy(_) => MatchMethod::Fuzzy,
        }
    }
}

/// How far the candidate's postcode agrees with the query's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PostcodeAgreement {
    None,
    OutwardCode,
    Full,
}

fn postcode_agreement(query: Option<&str>, candidate: &Candidate) -> PostcodeAgreement {
    let (Some(query), Some(found)) = (
        query,
        candidate.postcode.as_deref().and_then(normalize_postcode),
    ) else {
        return PostcodeAgreement::None;
    };
    if query == found {
        PostcodeAgreement::Full
    } else if outward_code(query) == outward_code(&found) {
        PostcodeAgreement::OutwardCode
    } else {
        PostcodeAgreement::None
    }
}

/// The part before the inward code, which is always the last three
/// characters ("HU17" of "HU178EU"); a code too short to have an inward
/// part is taken as an outward code on its own.
fn outward_code(normalized: &str) -> &str {
    if normalized.len() >= 5 {
        normalized.get(..normalized.len() - 3).unwrap_or(normalized)
    } else {
        normalized
    }
}

fn is_active(candidate: &Candidate) -> bool {
    candidate
        .status
        .as_deref()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("active"))
}

struct Ranked {
    index: usize,
    name: NameScore,
    postcode: PostcodeAgreement,
    active: bool,
}

/// What candidates are ranked by, most significant first.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RankKey {
    tier: u8,
    similarity: f64,
    postcode: PostcodeAgreement,
    active: bool,
    exact: bool,
}

impl RankKey {
    fn total_cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.tier
            .cmp(&other.tier)
            .then(self.similarity.total_cmp(&other.similarity))
            .then(self.postcode.cmp(&other.postcode))
            .then(self.active.cmp(&other.active))
            .then(self.exact.cmp(&other.exact))
    }
}

impl Ranked {
    fn cmp_key(&self) -> RankKey {
        let (tier, similarity) = self.name.rank();
        RankKey {
            tier,
            similarity,
            postcode: self.postcode,
            active: self.active,
            exact: self.name == NameScore::Exact,
        }
    }
}

/// What a runner-up takes off the winner's confidence. The gap is the
/// difference in name confidence or, when the names score the same, a
/// stand-in for how strong the deciding tie-break was.
fn close_penalty(best: &Ranked, runner_up: &Ranked) -> f64 {
    // Exact and SameAs share a rank: exactness alone is no gap.
    let name_gap = if best.name.rank() == runner_up.name.rank() {
        0.0
    } else {
        best.name.confidence() - runner_up.name.confidence()
    };
    // Stand-ins as shares of the margin: a full postcode almost settles
    // it, an outward code less, the status least.
    let gap = if name_gap > f64::EPSILON {
        name_gap
    } else if best.postcode > runner_up.postcode {
        if best.postcode == PostcodeAgreement::Full {
            0.8 * CLOSE_MARGIN
        } else {
            0.4 * CLOSE_MARGIN
        }
    } else if best.active && !runner_up.active {
        0.2 * CLOSE_MARGIN
    } else {
        0.0
    };
    // The epsilon keeps a gap of exactly one margin (0.85 - 0.80 in floating
    // point is 0.0499...) from costing a rounding error.
    CLOSE_PENALTY * (1.0 - ((gap + 1e-9) / CLOSE_MARGIN).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::companies_house::types::CompanySearch;
    use proptest::prelude::*;

    const SEARCH_YOU: &str =
        include_str!("../../fixtures/recorded/companies_house/herrbert74/search_result_you.json");
    const SEARCH_PYTHON: &str =
        include_str!("../../fixtures/recorded/companies_house/chwrapper/results.json");

    fn recorded(json: &str) -> Vec<Candidate> {
        let search: CompanySearch = serde_json::from_str(json).expect("recorded search parses");
        search
            .items
            .iter()
            .filter_map(Candidate::from_search_item)
            .collect()
    }

    fn query(name: &str) -> NameQuery<'_> {
        NameQuery {
            name,
            postcode: None,
        }
    }

    fn candidate(number: &str, name: &str, status: &str, postcode: &str) -> Candidate {
        Candidate {
            company_number: number.to_owned(),
            name: name.to_owned(),
            status: Some(status.to_owned()),
            postcode: Some(postcode.to_owned()),
            snippet: None,
        }
    }

    fn matched(choice: &Choice) -> &Scored {
        match choice {
            Choice::Matched(scored) => scored,
            other => panic!("expected a match, got {other:?}"),
        }
    }

    fn matched_number<'a>(choice: &Choice, candidates: &'a [Candidate]) -> &'a str {
        &candidates[matched(choice).index].company_number
    }

    #[test]
    fn recorded_search_skips_the_item_without_a_title() {
        let candidates = recorded(SEARCH_YOU);
        assert_eq!(candidates.len(), 14);
        assert!(candidates.iter().all(|c| c.company_number != "11722385"));
    }

    #[test]
    fn you_limited_is_an_exact_match_despite_the_double_space() {
        let candidates = recorded(SEARCH_YOU);
        let choice = choose(&query("You Limited"), &candidates);
        let scored = matched(&choice);
        assert_eq!(candidates[scored.index].name, "YOU  LIMITED");
        assert_eq!(candidates[scored.index].company_number, "04475590");
        assert_eq!(scored.method, MatchMethod::Exact);
        // The runner-up, "YOU & CO.  LTD", only agrees at the loose level.
        assert_eq!(scored.confidence, EXACT_CONFIDENCE);
    }

    #[test]
    fn bare_you_is_the_same_as_you_limited() {
        let candidates = recorded(SEARCH_YOU);
        let choice = choose(&query("you"), &candidates);
        assert_eq!(matched_number(&choice, &candidates), "04475590");
        assert_eq!(matched(&choice).method, MatchMethod::Normalized);
        assert_eq!(matched(&choice).confidence, SAME_AS_CONFIDENCE);
    }

    #[test]
    fn you_and_co_matches_the_ampersand_spelling() {
        let candidates = recorded(SEARCH_YOU);
        let choice = choose(&query("You and Co Limited"), &candidates);
        assert_eq!(matched_number(&choice, &candidates), "08051585");
        assert_eq!(matched(&choice).method, MatchMethod::Normalized);
    }

    #[test]
    fn punctuation_and_apostrophes_are_disregarded() {
        let candidates = recorded(SEARCH_YOU);
        let choice = choose(&query("You Aint Seen Muffin Yet Ltd"), &candidates);
        assert_eq!(matched_number(&choice, &candidates), "11376458");
        let choice = choose(
            &query("You & Eye (Edwards and Walker) Limited"),
            &candidates,
        );
        assert_eq!(matched_number(&choice, &candidates), "09195766");
    }

    #[test]
    fn python_ltd_means_the_active_python_limited_not_the_dissolved_exact_title() {
        // "Ltd" and "Limited" are the same name to the register; the user
        // most likely means the company still trading.
        let candidates = recorded(SEARCH_PYTHON);
        let choice = choose(&query("Python Ltd"), &candidates);
        let scored = matched(&choice);
        assert_eq!(candidates[scored.index].company_number, "07359966");
        assert_eq!(scored.method, MatchMethod::Normalized);
        assert!(scored.confidence < SAME_AS_CONFIDENCE);
        assert!(scored.confidence >= SAME_AS_CONFIDENCE - CLOSE_PENALTY);
        // Among the dissolved ones alone, the exact title decides.
        let dissolved: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| c.company_number != "07359966")
            .collect();
        let choice = choose(&query("Python Ltd"), &dissolved);
        assert_eq!(matched_number(&choice, &dissolved), "05226269");
        assert_eq!(matched(&choice).method, MatchMethod::Exact);
    }

    #[test]
    fn a_parenthesised_qualifier_is_a_fuzzy_match_and_siblings_tie() {
        let candidates = [
            candidate(
                "07111222",
                "PENNINE CARE SERVICES (NORTH) LIMITED",
                "active",
                "HX1 1AA",
            ),
            candidate(
                "07111333",
                "PENNINE CARE SERVICES (SOUTH) LIMITED",
                "active",
                "S1 2BB",
            ),
        ];
        let Choice::Ambiguous(tied) = choose(&query("Pennine Care Services Ltd"), &candidates)
        else {
            panic!("expected ambiguity");
        };
        assert_eq!(tied.len(), 2);
        let q = NameQuery {
            name: "Pennine Care Services Ltd",
            postcode: Some("S1 2BB"),
        };
        let choice = choose(&q, &candidates);
        assert_eq!(matched_number(&choice, &candidates), "07111333");
        assert_eq!(matched(&choice).method, MatchMethod::Fuzzy);
        // The qualified name itself is still exact.
        let choice = choose(&query("Pennine Care Services (North) Limited"), &candidates);
        assert_eq!(matched_number(&choice, &candidates), "07111222");
        assert_eq!(matched(&choice).method, MatchMethod::Exact);
    }

    #[test]
    fn a_previous_name_in_the_snippet_matches_loosely() {
        let mut renamed = candidate("08957400", "CANDOUR GROUP LIMITED", "active", "CT1 3DZ");
        renamed.snippet = Some("LONDON & KENT ESTATES LIMITED".into());
        let candidates = [
            renamed,
            candidate("00000009", "KENT ESTATES LIMITED", "active", "ME1 1AA"),
        ];
        let choice = choose(&query("London and Kent Estates Ltd"), &candidates);
        assert_eq!(matched_number(&choice, &candidates), "08957400");
        assert_eq!(matched(&choice).confidence, LOOSE_SAME_AS_CONFIDENCE);
        // An address in the snippet matches nothing.
        let mut addressed = candidate("05226269", "PYTHON LTD", "dissolved", "B49 6QU");
        addressed.snippet = Some("8 Alne Bank Road, Alcester, B49 6QU".into());
        assert_eq!(
            choose(&query("Alne Bank Road"), &[addressed]),
            Choice::NotFound
        );
    }

    #[test]
    fn python_prefers_the_active_python_limited() {
        // The recorded search has three "same as" hits: PYTHON LTD and
        // PYTHON LIMITED (both dissolved) and another PYTHON LIMITED, active.
        let candidates = recorded(SEARCH_PYTHON);
        let choice = choose(&query("Python"), &candidates);
        let scored = matched(&choice);
        assert_eq!(candidates[scored.index].company_number, "07359966");
        assert_eq!(scored.method, MatchMethod::Normalized);
        assert!(scored.confidence < SAME_AS_CONFIDENCE);
    }

    #[test]
    fn python_among_dissolved_namesakes_is_ambiguous_until_a_postcode_decides() {
        let candidates: Vec<Candidate> = recorded(SEARCH_PYTHON)
            .into_iter()
            .filter(|c| c.company_number != "07359966")
            .collect();
        let Choice::Ambiguous(tied) = choose(&query("Python"), &candidates) else {
            panic!("expected ambiguity");
        };
        let mut numbers: Vec<&str> = tied
            .iter()
            .map(|s| candidates[s.index].company_number.as_str())
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, ["02054368", "05226269"]);

        let with_postcode = NameQuery {
            name: "Python",
            postcode: Some("b49 6qu"),
        };
        let choice = choose(&with_postcode, &candidates);
        assert_eq!(matched_number(&choice, &candidates), "05226269");

        let with_outward_code = NameQuery {
            name: "Python",
            postcode: Some("M1 9ZZ"),
        };
        let choice = choose(&with_outward_code, &candidates);
        assert_eq!(matched_number(&choice, &candidates), "02054368");
    }

    #[test]
    fn full_postcode_beats_outward_code() {
        let candidates = [
            candidate("00000001", "ACME LIMITED", "active", "LS28 5BG"),
            candidate("00000002", "ACME LIMITED", "active", "LS28 5BH"),
        ];
        let q = NameQuery {
            name: "Acme Limited",
            postcode: Some("LS285BH"),
        };
        let choice = choose(&q, &candidates);
        assert_eq!(matched_number(&choice, &candidates), "00000002");
        // Decided by the full postcode: a small penalty only.
        assert!(matched(&choice).confidence > EXACT_CONFIDENCE - CLOSE_PENALTY / 4.0);
    }

    #[test]
    fn active_company_is_preferred_over_a_dissolved_namesake() {
        // Recorded: PYTHON CARS LIMITED twice at E6 2JA, one dissolved.
        let candidates = recorded(SEARCH_PYTHON);
        let choice = choose(&query("Python Cars Limited"), &candidates);
        let scored = matched(&choice);
        assert_eq!(candidates[scored.index].company_number, "09859692");
        assert_eq!(scored.method, MatchMethod::Exact);
        assert!(scored.confidence < 0.9, "status alone decided it");
    }

    #[test]
    fn a_typo_is_a_fuzzy_match() {
        let candidates = recorded(SEARCH_YOU);
        let choice = choose(&query("Hewitsen Developments Ltd"), &candidates);
        let scored = matched(&choice);
        assert_eq!(candidates[scored.index].company_number, "11264610");
        assert_eq!(scored.method, MatchMethod::Fuzzy);
        assert!(scored.confidence < LOOSE_SAME_AS_CONFIDENCE - CLOSE_PENALTY + 1e-9);
        assert!(scored.confidence >= FUZZY_MAX_CONFIDENCE * FUZZY_THRESHOLD);
    }

    #[test]
    fn transposed_letters_are_fuzzy_and_prefer_the_active_company() {
        let candidates = recorded(SEARCH_PYTHON);
        let choice = choose(&query("Pyhton Limited"), &candidates);
        assert_eq!(matched_number(&choice, &candidates), "07359966");
        assert_eq!(matched(&choice).method, MatchMethod::Fuzzy);
    }

    #[test]
    fn an_unrelated_name_is_not_found() {
        let candidates = recorded(SEARCH_PYTHON);
        assert_eq!(
            choose(&query("Zebra Crossing Consultants Ltd"), &candidates),
            Choice::NotFound
        );
        assert_eq!(choose(&query("Python"), &[]), Choice::NotFound);
        assert_eq!(choose(&query("  "), &candidates), Choice::NotFound);
    }

    #[test]
    fn a_longer_name_sharing_a_prefix_is_not_a_fuzzy_match() {
        assert!(name_similarity("Python", "Python Cars Limited") < FUZZY_THRESHOLD);
        assert!(name_similarity("Python", "Python IT Limited") < FUZZY_THRESHOLD);
        assert!(name_similarity("Pyhton Ltd", "Python Limited") >= FUZZY_THRESHOLD);
    }

    #[test]
    fn ampersand_and_and_are_the_same() {
        assert_eq!(same_as_key("Marks & Spencer plc"), "marksandspencer");
        assert_eq!(same_as_key("MARKS AND SPENCER P.L.C."), "marksandspencer");
        // The registrar's own example: "H & S" is the same as "Hands".
        assert_eq!(same_as_key("H & S Ltd"), same_as_key("Hands Limited"));
    }

    #[test]
    fn leading_the_and_www_are_disregarded() {
        assert_eq!(same_as_key("The Python Club Ltd."), "pythonclub");
        assert_eq!(same_as_key("THE"), "the");
        assert_eq!(same_as_key("www.python.co.uk"), "pythoncouk");
        assert_eq!(loose_same_as_key("www.python.co.uk"), "python");
        assert_eq!(loose_same_as_key("Python.com Limited"), "python");
    }

    #[test]
    fn welsh_designators_are_disregarded() {
        for name in [
            "Cwmni Da Cyfyngedig",
            "CWMNI DA CYF",
            "Cwmni Da Cyf.",
            "Cwmni Da C.C.C.",
            "Cwmni Da Cwmni Cyfyngedig Cyhoeddus",
            "Cwmni Da Partneriaeth Atebolrwydd Cyfyngedig",
            "Cwmni Da PAC",
            "Cwmni Da CBC",
            "Cwmni Da Cwmni Buddiant Cymunedol",
            "Cwmni Da Anghyfyngedig",
        ] {
            assert_eq!(same_as_key(name), "cwmnida", "{name}");
        }
    }

    #[test]
    fn english_designators_are_disregarded() {
        for name in [
            "Acme",
            "ACME LIMITED",
            "Acme Ltd",
            "Acme L.T.D.",
            "Acme PLC",
            "Acme Public Limited Company",
            "Acme LLP",
            "Acme Limited Liability Partnership",
            "Acme LP",
            "Acme Limited Partnership",
            "Acme Community Interest Company",
            "Acme CIC",
            "Acme Community Interest PLC",
            "Acme Unlimited",
        ] {
            assert_eq!(same_as_key(name), "acme", "{name}");
        }
        // Only at the end, and never down to nothing.
        assert_eq!(same_as_key("Limited Editions Ltd"), "limitededitions");
        assert_eq!(same_as_key("Limited"), "limited");
    }

    #[test]
    fn signs_numbers_and_accents() {
        assert_eq!(
            same_as_key("Café @ 1 Ltd"),
            same_as_key("CAFE AT ONE LIMITED")
        );
        assert_eq!(same_as_key("100% Pure"), same_as_key("100 Per Cent Pure"));
        assert_eq!(same_as_key("£ Savers"), same_as_key("Pound Savers"));
        assert_eq!(same_as_key("Plus+"), "plusplus");
        assert_eq!(same_as_key("Zoë Ltd"), "zoe");
    }

    #[test]
    fn further_words_are_a_looser_level() {
        assert_ne!(same_as_key("Tesco UK"), same_as_key("Tesco"));
        assert_eq!(loose_same_as_key("Tesco UK"), loose_same_as_key("Tesco"));
        assert_eq!(loose_same_as_key("Acme & Co. (U.K.) Ltd"), "acme");
        assert_eq!(
            loose_same_as_key("Acme and Company Great Britain PLC"),
            "acme"
        );
        assert_eq!(loose_same_as_key("Company Ltd"), "company");
    }

    #[test]
    fn words_deleted_from_the_rules_in_2015_still_count() {
        for word in ["Holdings", "Group", "International", "Services", "Export"] {
            let name = format!("Tesco {word} Limited");
            assert_ne!(
                loose_same_as_key(&name),
                loose_same_as_key("Tesco Ltd"),
                "{word}"
            );
        }
        let candidates = [candidate(
            "00000001",
            "TESCO HOLDINGS LIMITED",
            "active",
            "AL7 1GA",
        )];
        assert_eq!(choose(&query("Tesco"), &candidates), Choice::NotFound);
    }

    #[test]
    fn further_word_match_does_not_outrank_a_designator_level_match() {
        let candidates = [
            candidate("00000001", "TESCO UK LIMITED", "active", "AL7 1GA"),
            candidate("00000002", "TESCO LIMITED", "dissolved", "EN8 9SL"),
        ];
        let choice = choose(&query("Tesco Ltd."), &candidates);
        let scored = matched(&choice);
        assert_eq!(
            scored.index, 1,
            "designator-level match wins despite status"
        );
        assert_eq!(scored.method, MatchMethod::Normalized);
        assert_eq!(scored.confidence, SAME_AS_CONFIDENCE);

        let only_further = [candidates[0].clone()];
        let choice = choose(&query("Tesco"), &only_further);
        assert_eq!(matched(&choice).method, MatchMethod::Normalized);
        assert_eq!(matched(&choice).confidence, LOOSE_SAME_AS_CONFIDENCE);
    }

    #[test]
    fn plural_s_is_disregarded_at_the_loose_level() {
        let candidates = recorded(SEARCH_PYTHON);
        let choice = choose(&query("Python Design Limited"), &candidates);
        assert_eq!(matched_number(&choice, &candidates), "05653476");
        assert_eq!(matched(&choice).confidence, SAME_AS_CONFIDENCE);
        let only_plural: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| c.company_number == "07893254")
            .collect();
        let choice = choose(&query("Python Design Limited"), &only_plural);
        assert_eq!(matched(&choice).confidence, LOOSE_SAME_AS_CONFIDENCE);
    }

    #[test]
    fn one_company_listed_twice_is_not_ambiguous() {
        let twice = [
            candidate("04475590", "YOU  LIMITED", "active", "HU17 8EU"),
            candidate("04475590", "YOU  LIMITED", "active", "HU17 8EU"),
        ];
        let choice = choose(&query("You Limited"), &twice);
        assert_eq!(matched(&choice).confidence, EXACT_CONFIDENCE);
    }

    #[test]
    fn designator_detection() {
        assert!(ends_with_designator("LONDON LAW SECRETARIAL LIMITED"));
        assert!(ends_with_designator("Yorkshire Air Ambulance Ltd"));
        assert!(ends_with_designator("Acme L.L.P."));
        assert!(!ends_with_designator("STEVENSON, Elizabeth Mary"));
        assert!(!ends_with_designator("Limited Editions"));
    }

    #[test]
    fn postcodes_normalise() {
        assert_eq!(normalize_postcode(" hu17 8eu "), Some("HU178EU".to_owned()));
        assert_eq!(normalize_postcode(" - "), None);
        assert_eq!(outward_code("HU178EU"), "HU17");
        assert_eq!(outward_code("M14EX"), "M1");
        assert_eq!(outward_code("SW7"), "SW7");
    }

    fn designator() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "", " Ltd", " LIMITED", " l.t.d.", " PLC", " llp", " Cyf", " CCC", " CIC",
        ])
    }

    proptest! {
        #[test]
        fn key_is_idempotent(name in any::<String>()) {
            let key = same_as_key(&name);
            prop_assert_eq!(same_as_key(&key), key.clone());
            let loose = loose_same_as_key(&name);
            prop_assert_eq!(loose_same_as_key(&loose), loose);
        }

        #[test]
        fn case_spacing_and_designators_do_not_change_the_key(
            words in prop::collection::vec("[a-z]{2,8}", 1..4),
            ending in designator(),
        ) {
            // "se" and the like are words of a name, not endings, only when last.
            prop_assume!(!ends_with_designator(&words.join(" ")));
            let plain = words.join(" ");
            let shouted = format!("  {}{}  ", words.join("   ").to_uppercase(), ending);
            prop_assert_eq!(same_as_key(&plain), same_as_key(&shouted));
        }

        #[test]
        fn confidence_is_between_zero_and_one(
            query_name in "[A-Za-z &.]{0,20}",
            names in prop::collection::vec("[A-Za-z &.]{0,20}", 0..6),
            active in prop::collection::vec(any::<bool>(), 6),
            postcode in proptest::option::of("[A-Z]{1,2}[0-9] ?[0-9][A-Z]{2}"),
        ) {
            let candidates: Vec<Candidate> = names
                .iter()
                .enumerate()
                .map(|(i, name)| Candidate {
                    company_number: format!("{i:08}"),
                    name: name.clone(),
                    status: Some(if active[i] { "active" } else { "dissolved" }.to_owned()),
                    postcode: Some(format!("AB{i} 1CD")),
                    snippet: None,
                })
                .collect();
            let q = NameQuery { name: &query_name, postcode: postcode.as_deref() };
            match choose(&q, &candidates) {
                Choice::Matched(s) => prop_assert!((0.0..=1.0).contains(&s.confidence)),
                Choice::Ambiguous(all) => {
                    prop_assert!(all.len() > 1);
                    for s in all {
                        prop_assert!((0.0..=1.0).contains(&s.confidence));
                    }
                }
                Choice::NotFound => {}
            }
        }

        #[test]
        fn identical_candidates_are_never_matched(
            query_name in any::<String>(),
            name in any::<String>(),
            status in proptest::option::of("active|dissolved"),
            postcode in proptest::option::of(any::<String>()),
            query_postcode in proptest::option::of(any::<String>()),
        ) {
            let twin = |number: &str| Candidate {
                company_number: number.to_owned(),
                name: name.clone(),
                status: status.clone(),
                postcode: postcode.clone(),
                snippet: None,
            };
            let candidates = [twin("00000001"), twin("00000002")];
            let q = NameQuery { name: &query_name, postcode: query_postcode.as_deref() };
            let is_matched = matches!(choose(&q, &candidates), Choice::Matched(_));
            prop_assert!(!is_matched);
        }
    }
}
