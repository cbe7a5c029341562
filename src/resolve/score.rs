//! Scoring every candidate on all the evidence, and choosing among them.
//!
//! Each candidate company gets a feature vector ([`Features`]): how much of
//! the name typed its name explains and the reverse (words weighted by how
//! distinctive they are, see [`super::lexicon`]), typos, word order, the
//! register's "same as" equality, a previous name, the postcode, the
//! status, the legal form and the jurisdiction. A linear model turns the
//! features into a utility, and a conditional logit with a "none of them"
//! alternative turns the utilities of all candidates into probabilities:
//!
//! ```text
//! P(candidate i is the company meant) = exp(u_i) / (exp(u_none) + sum_j exp(u_j))
//! ```
//!
//! so a candidate's probability falls when a close rival exists, and every
//! candidate's falls when none fits well. The coefficients
//! ([`super::model::MODEL`]) are fitted by maximum likelihood on the
//! development halves of the labelled sets ([`super::fit`]); the
//! probability of the best candidate is the match confidence.
//!
//! The verdict: the best candidate is matched when its probability reaches
//! the model's threshold; otherwise, if the best two together reach it, the
//! row is ambiguous between them; otherwise nothing is found.

use serde::Serialize;

use super::lexicon::{WordClass, class_of};
use crate::company_name::{
    LegalForm, NameWord, NameWords, Postcode, PostcodeAgreement, exact_form, loose_keys_equal,
    loose_same_as_key, name_words, same_as_key,
};
use crate::company_status::{is_insolvent, is_live};

/// One register entry the search offered, reduced to what is scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub company_number: String,
    pub name: String,
    /// `company_status` as the register spells it (`active`, `dissolved`, ...).
    pub status: Option<String>,
    pub postcode: Option<String>,
    /// A previous name of the company that the search matched (the search
    /// item's `snippet`), when there is one.
    pub previous_name: Option<String>,
    /// `company_type` (`ltd`, `llp`, ...).
    pub company_type: Option<String>,
    /// Words of the registered office's town and region ("hull", "east",
    /// "yorkshire"), lowercase.
    pub locality: Vec<String>,
}

/// What the row asks for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub name: String,
    pub postcode: Option<String>,
    /// The row says the company is dissolved (or closed): prefer a company
    /// that is no longer live.
    pub wants_dissolved: bool,
}

impl Query {
    /// The name query of an input row; `None` when the row has no name.
    pub fn of_row(row: &crate::input::CompanyQuery) -> Option<Query> {
        Some(Query {
            name: row.name.clone()?,
            postcode: row.postcode.clone(),
            wants_dissolved: row.wants_dissolved,
        })
    }
}

/// Number of features.
pub const K: usize = 26;

/// Feature names, in vector order (also the keys of the model's coefficients).
pub const FEATURE_NAMES: [&str; K] = [
    "query_covered",
    "name_covered",
    "query_extra",
    "name_extra",
    "query_extra_bracketed",
    "name_extra_bracketed",
    "typo_loss",
    "reordered",
    "all_words",
    "same_as",
    "exact",
    "previous_name",
    "town_in_address",
    "postcode_full",
    "postcode_sector",
    "postcode_district",
    "postcode_area",
    "postcode_other_area",
    "status_conflict",
    "insolvent",
    "legal_form_conflict",
    "jurisdiction_conflict",
    "typos_beyond_the_best",
    "agreement_below_the_best",
    "query_extra_beyond_the_best",
    "name_extra_beyond_the_best",
];

/// Indices into the feature vector.
mod f {
    pub const QUERY_COVERED: usize = 0;
    pub const NAME_COVERED: usize = 1;
    pub const QUERY_EXTRA: usize = 2;
    pub const NAME_EXTRA: usize = 3;
    pub const QUERY_EXTRA_BRACKETED: usize = 4;
    pub const NAME_EXTRA_BRACKETED: usize = 5;
    pub const TYPO_LOSS: usize = 6;
    pub const REORDERED: usize = 7;
    pub const ALL_WORDS: usize = 8;
    pub const SAME_AS: usize = 9;
    pub const EXACT: usize = 10;
    pub const PREVIOUS_NAME: usize = 11;
    pub const TOWN_IN_ADDRESS: usize = 12;
    pub const POSTCODE_FULL: usize = 13;
    pub const POSTCODE_SECTOR: usize = 14;
    pub const POSTCODE_DISTRICT: usize = 15;
    pub const POSTCODE_AREA: usize = 16;
    pub const POSTCODE_OTHER_AREA: usize = 17;
    pub const STATUS_CONFLICT: usize = 18;
    pub const INSOLVENT: usize = 19;
    pub const LEGAL_FORM_CONFLICT: usize = 20;
    pub const JURISDICTION_CONFLICT: usize = 21;
    pub const TYPOS_BEYOND_THE_BEST: usize = 22;
    pub const AGREEMENT_BELOW_THE_BEST: usize = 23;
    pub const QUERY_EXTRA_BEYOND_THE_BEST: usize = 24;
    pub const NAME_EXTRA_BEYOND_THE_BEST: usize = 25;
}

/// A candidate's feature vector.
pub type Features = [f64; K];

/// Number of features of the "none of them" alternative.
pub const NK: usize = 3;

/// What the utility of "none of them" depends on: a constant, how much the
/// query's words weigh (a name of trade and generic words only, "A1
/// Taxis", may be a sole trader's among many), and whether it has a
/// distinctive word at all.
pub const NONE_FEATURE_NAMES: [&str; NK] = ["constant", "query_weight", "query_has_distinctive"];

/// The scoring model: a utility per feature and one for "none of them".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    pub coefficients: [f64; K],
    /// Utility of "the company meant is none of the candidates", per
    /// [`NONE_FEATURE_NAMES`].
    pub none: [f64; NK],
    /// Least probability a candidate needs to be matched.
    pub threshold: f64,
}

impl Model {
    /// The utility of "none of them" for a query.
    pub fn none_utility(&self, query: &PreparedQuery) -> f64 {
        self.none
            .iter()
            .zip(query.none_features())
            .map(|(b, x)| b * x)
            .sum()
    }

    pub fn utility(&self, features: &Features) -> f64 {
        self.coefficients
            .iter()
            .zip(features)
            .map(|(b, x)| b * x)
            .sum()
    }
}

/// Absolute word weights are capped so that one very long name cannot
/// dominate a utility.
const MAX_EXTRA: f64 = 3.0;

/// A word with its weight.
#[derive(Debug, Clone)]
struct Weighted {
    word: NameWord,
    class: WordClass,
    weight: f64,
}

fn weighted(words: &NameWords) -> Vec<Weighted> {
    words
        .words
        .iter()
        .map(|w| {
            let class = class_of(w);
            Weighted {
                word: w.clone(),
                class,
                weight: class.weight(),
            }
        })
        .collect()
}

/// The query, prepared once for all candidates.
#[derive(Debug, Clone)]
pub struct PreparedQuery {
    words: Vec<Weighted>,
    form: Option<LegalForm>,
    exact: String,
    key: String,
    loose_key: String,
    postcode: Option<Postcode>,
    wants_dissolved: bool,
}

impl PreparedQuery {
    pub fn new(query: &Query) -> PreparedQuery {
        let words = name_words(&query.name, true);
        // A bracketed word that repeats a plain one ("Zyntra (Zyntra
        // Group)") adds nothing.
        let mut prepared = weighted(&words);
        let plain: Vec<String> = prepared
            .iter()
            .filter(|w| !w.word.qualifier)
            .map(|w| w.word.folded.clone())
            .collect();
        prepared.retain(|w| !(w.word.qualifier && plain.contains(&w.word.folded)));
        PreparedQuery {
            words: prepared,
            form: words.form,
            exact: exact_form(&query.name),
            key: same_as_key(&query.name),
            loose_key: loose_same_as_key(&query.name),
            postcode: query.postcode.as_deref().and_then(Postcode::parse),
            wants_dissolved: query.wants_dissolved,
        }
    }

    /// The plain word of the query that carries the most weight (the
    /// first of equals), for narrowing a search.
    pub fn heaviest_word(&self) -> Option<String> {
        self.words
            .iter()
            .filter(|w| !w.word.qualifier)
            .reduce(|best, w| if w.weight > best.weight { w } else { best })
            .map(|w| w.word.text.clone())
    }

    /// Whether the query has words of weight below a distinctive word's
    /// (trade, generic, place...) alongside distinctive ones.
    pub fn has_weak_words(&self) -> bool {
        let plain = || self.words.iter().filter(|w| !w.word.qualifier);
        plain().any(|w| w.class == WordClass::Distinctive)
            && plain().any(|w| w.class != WordClass::Distinctive)
    }

    /// The query's plain words of the distinctive class, in order.
    pub fn strong_words(&self) -> Vec<String> {
        self.words
            .iter()
            .filter(|w| !w.word.qualifier && w.class == WordClass::Distinctive)
            .map(|w| w.word.text.clone())
            .collect()
    }

    pub fn postcode(&self) -> Option<&Postcode> {
        self.postcode.as_ref()
    }

    /// The features of the "none of them" alternative ([`NONE_FEATURE_NAMES`]).
    pub fn none_features(&self) -> [f64; NK] {
        let plain = || self.words.iter().filter(|w| !w.word.qualifier);
        let weight: f64 = plain().map(|w| w.weight).sum();
        let distinctive = plain().any(|w| w.class == WordClass::Distinctive);
        [
            1.0,
            weight.min(MAX_EXTRA),
            if distinctive { 1.0 } else { 0.0 },
        ]
    }
}

/// Where a letter is on a QWERTY keyboard: (row, column), the rows offset
/// as on a real keyboard.
fn key_position(c: u8) -> Option<(f64, f64)> {
    const ROWS: [(&[u8], f64); 3] = [
        (b"qwertyuiop", 0.0),
        (b"asdfghjkl", 0.25),
        (b"zxcvbnm", 0.75),
    ];
    ROWS.iter().enumerate().find_map(|(r, (keys, offset))| {
        keys.iter()
            .position(|&k| k == c)
            .map(|col| (r as f64, col as f64 + offset))
    })
}

/// What it costs to type `got` for `want`: the slips people make cost
/// less than a different letter.
fn substitution_cost(want: u8, got: u8) -> f64 {
    if want == got {
        return 0.0;
    }
    match (key_position(want), key_position(got)) {
        (Some((r1, c1)), Some((r2, c2))) if (r1 - r2).abs() <= 1.0 && (c1 - c2).abs() <= 1.0 => 0.7,
        _ => 1.0,
    }
}

/// Edit cost of typing `typed` for the registered word `registered`
/// (optimal string alignment): a letter left out 0.6, a letter doubled 0.4,
/// another extra letter 0.7, two letters swapped 0.6, a neighbouring key 0.7,
/// any other letter 1.0.
pub fn typing_cost(registered: &str, typed: &str) -> f64 {
    let (r, t) = (registered.as_bytes(), typed.as_bytes());
    let (n, m) = (r.len(), t.len());
    let mut d = vec![vec![0.0f64; m + 1]; n + 1];
    for i in 1..=n {
        d[i][0] = d[i - 1][0] + 0.6;
    }
    for j in 1..=m {
        d[0][j] = d[0][j - 1] + 0.7;
    }
    for i in 1..=n {
        for j in 1..=m {
            let omitted = d[i - 1][j] + 0.6;
            let extra = if j >= 2 && t[j - 1] == t[j - 2] {
                0.4
            } else {
                0.7
            };
            let inserted = d[i][j - 1] + extra;
            let substituted = d[i - 1][j - 1] + substitution_cost(r[i - 1], t[j - 1]);
            let mut best = omitted.min(inserted).min(substituted);
            if i >= 2 && j >= 2 && r[i - 1] == t[j - 2] && r[i - 2] == t[j - 1] {
                best = best.min(d[i - 2][j - 2] + 0.6);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

/// How the typed word `typed` compares with the registered word
/// `registered`: `(similarity, typing cost)`, similarity 1 for the same word
/// (plurals folded), less for a typo, 0 for another word. Words shorter
/// than four letters and words with digits must be equal; longer ones may
/// differ by one edit up to five letters, two up to nine, three beyond.
pub fn word_similarity(registered: &str, typed: &str) -> (f64, f64) {
    if registered == typed {
        return (1.0, 0.0);
    }
    let has_digit = |s: &str| s.bytes().any(|c| c.is_ascii_digit());
    if has_digit(registered) || has_digit(typed) || !registered.is_ascii() || !typed.is_ascii() {
        return (0.0, 0.0);
    }
    let (la, lb) = (registered.len(), typed.len());
    let (shorter, longer) = (la.min(lb), la.max(lb));
    if shorter < 4 {
        return (0.0, 0.0);
    }
    let allowed = match longer {
        0..=5 => 1,
        6..=9 => 2,
        _ => 3,
    };
    if longer - shorter > allowed || strsim::damerau_levenshtein(registered, typed) > allowed {
        return (0.0, 0.0);
    }
    let cost = typing_cost(registered, typed);
    ((1.0 - cost / longer as f64).max(0.0), cost)
}

/// How one pair of word runs was aligned.
#[derive(Debug, Clone)]
struct Pair {
    query: Vec<usize>,
    name: Vec<usize>,
    similarity: f64,
    /// What the typos cost (0 for the same word).
    cost: f64,
}

/// A one-to-one alignment of query words to name words: single words, or a
/// word against two or three run together ("bloomsburypublishing").
fn align(query: &[Weighted], name: &[Weighted]) -> Vec<Pair> {
    let mut pairs: Vec<(f64, Pair)> = Vec::new();
    let value = |p: &Pair| {
        let wq: f64 = p.query.iter().map(|&i| query[i].weight).sum();
        let wn: f64 = p.name.iter().map(|&j| name[j].weight).sum();
        p.similarity * (wq + wn)
    };
    for (i, q) in query.iter().enumerate() {
        for (j, n) in name.iter().enumerate() {
            // A bracketed word of the query qualifies it ("(Hull)", "(parent
            // group)"); it can only agree with a bracketed word of the name.
            if q.word.qualifier && !n.word.qualifier {
                continue;
            }
            let (s, cost) = word_similarity(&n.word.folded, &q.word.folded);
            if s > 0.0 {
                let p = Pair {
                    query: vec![i],
                    name: vec![j],
                    similarity: s,
                    cost,
                };
                pairs.push((value(&p), p));
            }
        }
    }
    // Run-together words, both ways.
    let joined = |ws: &[Weighted], range: std::ops::Range<usize>| -> String {
        let mut s: String = ws[range.clone()]
            .iter()
            .map(|w| w.word.text.as_str())
            .collect();
        if let Some(last) = ws.get(range.end - 1) {
            s.truncate(s.len() - last.word.text.len());
            s.push_str(&last.word.folded);
        }
        s
    };
    for span in 2..=3 {
        for (i, q) in query.iter().enumerate() {
            for j in 0..name.len().saturating_sub(span - 1) {
                let (s, cost) = word_similarity(&joined(name, j..j + span), &q.word.folded);
                // Run together, not another word: at most one slip.
                if s > 0.0 && cost <= 0.7 {
                    let p = Pair {
                        query: vec![i],
                        name: (j..j + span).collect(),
                        similarity: s,
                        cost,
                    };
                    pairs.push((value(&p), p));
                }
            }
        }
        for (j, n) in name.iter().enumerate() {
            for i in 0..query.len().saturating_sub(span - 1) {
                if query[i..i + span].iter().any(|w| w.word.qualifier) {
                    continue;
                }
                let (s, cost) = word_similarity(&n.word.folded, &joined(query, i..i + span));
                if s > 0.0 && cost <= 0.7 {
                    let p = Pair {
                        query: (i..i + span).collect(),
                        name: vec![j],
                        similarity: s,
                        cost,
                    };
                    pairs.push((value(&p), p));
                }
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut used_q = vec![false; query.len()];
    let mut used_n = vec![false; name.len()];
    let mut chosen = Vec::new();
    for (_, p) in pairs {
        if p.query.iter().any(|&i| used_q[i]) || p.name.iter().any(|&j| used_n[j]) {
            continue;
        }
        for &i in &p.query {
            used_q[i] = true;
        }
        for &j in &p.name {
            used_n[j] = true;
        }
        chosen.push(p);
    }
    chosen
}

/// What the features were computed from, kept to explain them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NameDetail {
    /// The name scored: the current name or the previous one.
    pub name: String,
    pub via_previous_name: bool,
    /// Words of the query that the name lacks.
    pub query_extra: Vec<String>,
    /// Words of the name that the query lacks.
    pub name_extra: Vec<String>,
    /// `(typed, registered)` pairs that differ by typos.
    pub typos: Vec<(String, String)>,
    /// Query words found in the registered office's town or region.
    pub in_address: Vec<String>,
    #[serde(skip)]
    pub postcode: Option<PostcodeAgreement>,
}

/// A candidate's features and the detail behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub features: Features,
    pub detail: NameDetail,
}

impl Scored {
    /// The name given is the register's, letter for letter.
    pub fn is_exact(&self) -> bool {
        self.features[f::EXACT] > 0.0
    }

    /// The name given is the register's under the "same as" rules.
    pub fn is_same_as(&self) -> bool {
        self.features[f::SAME_AS] > 0.0
    }
}

/// The legal form the register gives a company.
fn form_of_type(company_type: Option<&str>) -> Option<LegalForm> {
    Some(match company_type? {
        "llp" => LegalForm::Llp,
        "limited-partnership" => LegalForm::LimitedPartnership,
        "ltd"
        | "plc"
        | "private-unlimited"
        | "private-limited-guarant-nsc"
        | "private-limited-guarant-nsc-limited-exemption"
        | "old-public-company" => LegalForm::Company,
        _ => return None,
    })
}

/// The prefix of a company number that says where it is registered.
fn registered_in(number: &str) -> char {
    let upper = number.trim().to_ascii_uppercase();
    match upper.get(..2) {
        Some("SC" | "SO" | "SL" | "SF" | "SP" | "SA" | "SZ" | "SG" | "SR") => 's',
        Some("NI" | "NC" | "NF" | "NL" | "NP" | "NA" | "NZ" | "NO" | "NR") => 'n',
        _ => 'e',
    }
}

/// The features of `candidate` for `query`, from its current name or the
/// previous name the search matched, whichever agrees with the query more
/// (by the two coverages and the "same as" equality: a rule of the names
/// alone, so the features do not depend on the model fitted on them).
pub fn score(query: &PreparedQuery, candidate: &Candidate) -> Scored {
    let current = score_name(query, candidate, &candidate.name, false);
    let Some(previous) = candidate
        .previous_name
        .as_deref()
        .filter(|p| !p.trim().is_empty() && p.trim() != candidate.name.trim())
    else {
        return current;
    };
    let old = score_name(query, candidate, previous, true);
    if agreement(&old.features) > agreement(&current.features) {
        old
    } else {
        current
    }
}

fn score_name(query: &PreparedQuery, candidate: &Candidate, name: &str, previous: bool) -> Scored {
    let mut x = [0.0; K];
    let words = name_words(name, false);
    let name_w = weighted(&words);
    let pairs = align(&query.words, &name_w);
    let mut q_matched = vec![0.0; query.words.len()];
    let mut n_matched = vec![false; name_w.len()];
    let mut detail = NameDetail {
        name: name.to_owned(),
        via_previous_name: previous,
        ..NameDetail::default()
    };
    let mut order: Vec<(usize, usize)> = Vec::new();
    for p in &pairs {
        for &i in &p.query {
            q_matched[i] = p.similarity;
        }
        for &j in &p.name {
            n_matched[j] = true;
        }
        if p.similarity < 1.0 {
            let typed: Vec<&str> = p
                .query
                .iter()
                .map(|&i| query.words[i].word.text.as_str())
                .collect();
            let registered: Vec<&str> = p
                .name
                .iter()
                .map(|&j| name_w[j].word.text.as_str())
                .collect();
            detail.typos.push((typed.join(" "), registered.join(" ")));
            let wq: f64 = p.query.iter().map(|&i| query.words[i].weight).sum();
            x[f::TYPO_LOSS] += wq * p.cost;
        }
        if let (Some(&i), Some(&j)) = (p.query.first(), p.name.first())
            && !query.words[i].word.qualifier
        {
            order.push((i, j));
        }
    }
    order.sort_unstable();
    if order.windows(2).any(|w| w[1].1 < w[0].1) {
        x[f::REORDERED] = 1.0;
    }
    // Query words the name lacks: a town of the registered office is not
    // an extra word but evidence of its own.
    let (mut q_plain, mut q_plain_matched) = (0.0, 0.0);
    for (i, w) in query.words.iter().enumerate() {
        let matched = q_matched[i];
        if !w.word.qualifier {
            q_plain += w.weight;
            q_plain_matched += w.weight * matched;
        }
        if matched > 0.0 {
            continue;
        }
        if candidate.locality.contains(&w.word.text) {
            x[f::TOWN_IN_ADDRESS] += w.weight;
            detail.in_address.push(w.word.text.clone());
            if !w.word.qualifier {
                // Explained, though not by the name.
                q_plain_matched += w.weight;
            }
            continue;
        }
        detail.query_extra.push(w.word.text.clone());
        if w.word.qualifier {
            x[f::QUERY_EXTRA_BRACKETED] += w.weight;
        } else {
            x[f::QUERY_EXTRA] += w.weight;
        }
    }
    let (mut n_plain, mut n_plain_matched) = (0.0, 0.0);
    for (j, w) in name_w.iter().enumerate() {
        if !w.word.qualifier {
            n_plain += w.weight;
            if n_matched[j] {
                n_plain_matched += w.weight;
            }
        }
        if n_matched[j] {
            continue;
        }
        detail.name_extra.push(w.word.text.clone());
        if w.word.qualifier {
            x[f::NAME_EXTRA_BRACKETED] += w.weight;
        } else {
            x[f::NAME_EXTRA] += w.weight;
        }
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    x[f::QUERY_COVERED] = ratio(q_plain_matched, q_plain).min(1.0);
    x[f::NAME_COVERED] = ratio(n_plain_matched, n_plain);
    for i in [
        f::QUERY_EXTRA,
        f::NAME_EXTRA,
        f::QUERY_EXTRA_BRACKETED,
        f::NAME_EXTRA_BRACKETED,
        f::TOWN_IN_ADDRESS,
    ] {
        x[i] = x[i].min(MAX_EXTRA);
    }
    if detail.query_extra.is_empty() && detail.name_extra.is_empty() && !pairs.is_empty() {
        x[f::ALL_WORDS] = 1.0;
    }
    let key = same_as_key(name);
    if !key.is_empty()
        && (key == query.key || loose_keys_equal(&loose_same_as_key(name), &query.loose_key))
    {
        x[f::SAME_AS] = 1.0;
    }
    if exact_form(name) == query.exact {
        x[f::EXACT] = 1.0;
    }
    if previous {
        x[f::PREVIOUS_NAME] = 1.0;
    }
    let found = candidate.postcode.as_deref().and_then(Postcode::parse);
    if let (Some(asked), Some(found)) = (&query.postcode, &found) {
        let agreement = asked.agreement(found);
        detail.postcode = Some(agreement);
        x[match agreement {
            PostcodeAgreement::Full => f::POSTCODE_FULL,
            PostcodeAgreement::Sector => f::POSTCODE_SECTOR,
            PostcodeAgreement::District => f::POSTCODE_DISTRICT,
            PostcodeAgreement::Area => f::POSTCODE_AREA,
            PostcodeAgreement::OtherArea => f::POSTCODE_OTHER_AREA,
        }] = 1.0;
    }
    if let Some(live) = is_live(candidate.status.as_deref())
        && live == query.wants_dissolved
    {
        x[f::STATUS_CONFLICT] = 1.0;
    }
    if !query.wants_dissolved && is_insolvent(candidate.status.as_deref()) {
        x[f::INSOLVENT] = 1.0;
    }
    let candidate_form = form_of_type(candidate.company_type.as_deref()).or(words.form);
    if let (Some(a), Some(b)) = (query.form, candidate_form)
        && a != b
    {
        x[f::LEGAL_FORM_CONFLICT] = 1.0;
    }
    // Where the row's postcode is against where the company is registered,
    // when the candidate's own postcode cannot say.
    if let (Some(asked), None) = (&query.postcode, &found) {
        let expected = if asked.is_scottish() {
            's'
        } else if asked.is_northern_irish() {
            'n'
        } else {
            'e'
        };
        if registered_in(&candidate.company_number) != expected {
            x[f::JURISDICTION_CONFLICT] = 1.0;
        }
    }
    Scored {
        features: x,
        detail,
    }
}

/// How well a name agrees with the query, on a scale of 0 to 3: both
/// coverages and the "same as" equality.
fn agreement(x: &Features) -> f64 {
    x[f::QUERY_COVERED] + x[f::NAME_COVERED] + x[f::SAME_AS]
}

/// Every candidate's features, including those that compare it with the
/// others: how many more typos it needs than the candidate needing fewest,
/// how far its name agrees less than the best-agreeing one, and how many
/// more words of the query (or of its own name) go unmatched than for the
/// candidate leaving fewest. A typo is weak evidence against a name when
/// every candidate needs one (the query is misspelt) and strong when
/// another needs none; a word of the query that no candidate has is likely
/// a description ("Publishing"), one that another candidate has is not.
pub fn score_all(query: &PreparedQuery, candidates: &[Candidate]) -> Vec<Scored> {
    let mut all: Vec<Scored> = candidates.iter().map(|c| score(query, c)).collect();
    let least = |i: usize| {
        all.iter()
            .map(|s| s.features[i])
            .fold(f64::INFINITY, f64::min)
    };
    let least_typos = least(f::TYPO_LOSS);
    let least_query_extra = least(f::QUERY_EXTRA);
    let least_name_extra = least(f::NAME_EXTRA);
    let best_agreement = all
        .iter()
        .map(|s| agreement(&s.features))
        .fold(0.0, f64::max);
    for s in &mut all {
        let x = &mut s.features;
        x[f::TYPOS_BEYOND_THE_BEST] = x[f::TYPO_LOSS] - least_typos;
        x[f::AGREEMENT_BELOW_THE_BEST] = best_agreement - agreement(x);
        x[f::QUERY_EXTRA_BEYOND_THE_BEST] = x[f::QUERY_EXTRA] - least_query_extra;
        x[f::NAME_EXTRA_BEYOND_THE_BEST] = x[f::NAME_EXTRA] - least_name_extra;
    }
    all
}

/// A candidate after the model has weighed it against the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessed {
    /// Index into the candidate slice.
    pub index: usize,
    pub probability: f64,
    pub utility: f64,
    pub scored: Scored,
}

/// Every candidate assessed, most probable first.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub ranked: Vec<Assessed>,
    /// Probability that the company meant is none of the candidates.
    pub none: f64,
}

/// The verdict on a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `ranked[0]` is the company.
    Matched,
    /// The company is one of `ranked[..n]`, which the row cannot tell apart.
    Ambiguous(usize),
    NotFound,
}

/// Score every candidate and weigh them against each other. The same
/// company listed twice (overlapping searches) counts once.
pub fn assess(query: &PreparedQuery, candidates: &[Candidate], model: &Model) -> Assessment {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<usize> = (0..candidates.len())
        .filter(|&i| seen.insert(candidates[i].company_number.trim().to_ascii_uppercase()))
        .collect();
    let chosen: Vec<Candidate> = unique.iter().map(|&i| candidates[i].clone()).collect();
    let mut ranked: Vec<Assessed> = unique
        .into_iter()
        .zip(score_all(query, &chosen))
        .map(|(index, scored)| Assessed {
            index,
            probability: 0.0,
            utility: model.utility(&scored.features),
            scored,
        })
        .collect();
    let none = model.none_utility(query);
    let top = ranked.iter().map(|a| a.utility).fold(none, f64::max);
    let mut total = (none - top).exp();
    for a in &ranked {
        total += (a.utility - top).exp();
    }
    for a in &mut ranked {
        a.probability = (a.utility - top).exp() / total;
    }
    // Stable: among equals the register's own order is kept.
    ranked.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    Assessment {
        ranked,
        none: (none - top).exp() / total,
    }
}

impl Assessment {
    pub fn verdict(&self, model: &Model) -> Verdict {
        let p = |i: usize| self.ranked.get(i).map_or(0.0, |a| a.probability);
        if p(0) >= model.threshold && p(0) > p(1) {
            return Verdict::Matched;
        }
        // The fewest leading candidates that together reach the threshold,
        // when each is a serious contender (at least half the best).
        let mut sum = 0.0;
        for (n, a) in self.ranked.iter().enumerate() {
            if a.probability < p(0) / 2.0 {
                break;
            }
            sum += a.probability;
            if n >= 1 && sum >= model.threshold {
                return Verdict::Ambiguous(n + 1);
            }
        }
        Verdict::NotFound
    }
}

/// One piece of evidence for or against a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// `name`, `previous_name`, `postcode`, `status`, `legal_form`, `jurisdiction`.
    pub factor: &'static str,
    pub detail: String,
    /// What it adds to the candidate's log-odds.
    pub weight: f64,
}

/// The evidence behind a candidate's score, strongest first.
pub fn evidence(scored: &Scored, model: &Model) -> Vec<Evidence> {
    let x = &scored.features;
    let b = &model.coefficients;
    let part = |idx: &[usize]| -> f64 { idx.iter().map(|&i| b[i] * x[i]).sum() };
    let d = &scored.detail;
    let mut out = Vec::new();
    let name_idx = [
        f::QUERY_COVERED,
        f::NAME_COVERED,
        f::QUERY_EXTRA,
        f::NAME_EXTRA,
        f::QUERY_EXTRA_BRACKETED,
        f::NAME_EXTRA_BRACKETED,
        f::TYPO_LOSS,
        f::REORDERED,
        f::ALL_WORDS,
        f::SAME_AS,
        f::EXACT,
        f::TYPOS_BEYOND_THE_BEST,
        f::AGREEMENT_BELOW_THE_BEST,
        f::QUERY_EXTRA_BEYOND_THE_BEST,
        f::NAME_EXTRA_BEYOND_THE_BEST,
    ];
    let mut name = if x[f::EXACT] > 0.0 {
        format!("the name given is {:?}", d.name)
    } else if x[f::SAME_AS] > 0.0 {
        format!("the same name as {:?} under the register's rules", d.name)
    } else {
        format!(
            "{:.0}% of the name given and {:.0}% of {:?} agree",
            100.0 * x[f::QUERY_COVERED],
            100.0 * x[f::NAME_COVERED],
            d.name
        )
    };
    if !d.query_extra.is_empty() {
        name.push_str(&format!(
            "; not in the register's name: {}",
            d.query_extra.join(" ")
        ));
    }
    if !d.name_extra.is_empty() {
        name.push_str(&format!("; not given: {}", d.name_extra.join(" ")));
    }
    if !d.typos.is_empty() {
        let typos: Vec<String> = d.typos.iter().map(|(a, b)| format!("{a}~{b}")).collect();
        name.push_str(&format!("; typos: {}", typos.join(", ")));
    }
    if x[f::REORDERED] > 0.0 {
        name.push_str("; words in another order");
    }
    out.push(Evidence {
        factor: if d.via_previous_name {
            "previous_name"
        } else {
            "name"
        },
        detail: if d.via_previous_name {
            format!("a previous name: {name}")
        } else {
            name
        },
        weight: part(&name_idx) + part(&[f::PREVIOUS_NAME]),
    });
    if x[f::TOWN_IN_ADDRESS] > 0.0 {
        out.push(Evidence {
            factor: "address",
            detail: format!("{} is the registered office's town", d.in_address.join(" ")),
            weight: part(&[f::TOWN_IN_ADDRESS]),
        });
    }
    if let Some(agreement) = d.postcode {
        let detail = match agreement {
            PostcodeAgreement::Full => "the same postcode",
            PostcodeAgreement::Sector => "the same postcode sector",
            PostcodeAgreement::District => "the same postcode district",
            PostcodeAgreement::Area => "the same postcode area, another district",
            PostcodeAgreement::OtherArea => "a postcode in another area",
        };
        out.push(Evidence {
            factor: "postcode",
            detail: detail.to_owned(),
            weight: part(&[
                f::POSTCODE_FULL,
                f::POSTCODE_SECTOR,
                f::POSTCODE_DISTRICT,
                f::POSTCODE_AREA,
                f::POSTCODE_OTHER_AREA,
            ]),
        });
    }
    if x[f::STATUS_CONFLICT] > 0.0 || x[f::INSOLVENT] > 0.0 {
        out.push(Evidence {
            factor: "status",
            detail: if x[f::INSOLVENT] > 0.0 {
                "in insolvency".to_owned()
            } else {
                "not the status wanted (dissolved or live)".to_owned()
            },
            weight: part(&[f::STATUS_CONFLICT, f::INSOLVENT]),
        });
    }
    if x[f::LEGAL_FORM_CONFLICT] > 0.0 {
        out.push(Evidence {
            factor: "legal_form",
            detail: "another legal form than the name given says".to_owned(),
            weight: part(&[f::LEGAL_FORM_CONFLICT]),
        });
    }
    if x[f::JURISDICTION_CONFLICT] > 0.0 {
        out.push(Evidence {
            factor: "jurisdiction",
            detail: "registered in another part of the UK than the postcode given".to_owned(),
            weight: part(&[f::JURISDICTION_CONFLICT]),
        });
    }
    for e in &mut out {
        e.weight = (e.weight * 100.0).round() / 100.0;
    }
    out.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::candidate_from_search_item;
    use crate::resolve::model::MODEL;
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
            .filter_map(candidate_from_search_item)
            .collect()
    }

    fn candidate(number: &str, name: &str, status: &str, postcode: &str) -> Candidate {
        Candidate {
            company_number: number.to_owned(),
            name: name.to_owned(),
            status: Some(status.to_owned()),
            postcode: Some(postcode.to_owned()),
            previous_name: None,
            company_type: None,
            locality: Vec::new(),
        }
    }

    fn decide(
        name: &str,
        postcode: Option<&str>,
        candidates: &[Candidate],
    ) -> (Verdict, Vec<String>) {
        let q = PreparedQuery::new(&Query {
            name: name.to_owned(),
            postcode: postcode.map(str::to_owned),
            wants_dissolved: false,
        });
        let a = assess(&q, candidates, &MODEL);
        let numbers = a
            .ranked
            .iter()
            .map(|r| candidates[r.index].company_number.clone())
            .collect();
        (a.verdict(&MODEL), numbers)
    }

    #[test]
    fn recorded_search_skips_the_item_without_a_title() {
        let candidates = recorded(SEARCH_YOU);
        assert_eq!(candidates.len(), 14);
        assert!(candidates.iter().all(|c| c.company_number != "11722385"));
    }

    #[test]
    fn you_limited_despite_the_double_space() {
        let (v, ranked) = decide("You Limited", None, &recorded(SEARCH_YOU));
        assert_eq!(v, Verdict::Matched);
        assert_eq!(ranked[0], "04475590");
    }

    #[test]
    fn python_ltd_is_the_active_python_limited_not_a_dissolved_namesake() {
        let (v, ranked) = decide("Python Ltd", None, &recorded(SEARCH_PYTHON));
        assert_eq!(v, Verdict::Matched);
        assert_eq!(ranked[0], "07359966");
    }

    #[test]
    fn qualified_siblings_tie_until_a_postcode_decides() {
        let candidates = [
            candidate(
                "07111222",
                "PENNINE CARE SERVICES (NORTH) LIMITED",
                "active",
                "BD23 2NA",
            ),
            candidate(
                "07111333",
                "PENNINE CARE SERVICES (SOUTH) LIMITED",
                "active",
                "SK13 8AQ",
            ),
        ];
        let (v, _) = decide("Pennine Care Services Ltd", None, &candidates);
        assert_eq!(v, Verdict::Ambiguous(2));
        let (v, ranked) = decide("Pennine Care Services Ltd", Some("SK13 8AQ"), &candidates);
        assert_eq!((v, ranked[0].as_str()), (Verdict::Matched, "07111333"));
        let (v, ranked) = decide("Pennine Care Services (North) Ltd", None, &candidates);
        assert_eq!((v, ranked[0].as_str()), (Verdict::Matched, "07111222"));
    }

    #[test]
    fn an_unrelated_name_is_not_found() {
        let (v, _) = decide(
            "Zebra Crossing Consultants Ltd",
            None,
            &recorded(SEARCH_PYTHON),
        );
        assert_eq!(v, Verdict::NotFound);
        assert_eq!(decide("Python", None, &[]).0, Verdict::NotFound);
    }

    #[test]
    fn one_company_listed_twice_is_not_ambiguous() {
        let twice = [
            candidate("04475590", "YOU  LIMITED", "active", "HU17 8EU"),
            candidate("04475590", "YOU  LIMITED", "active", "HU17 8EU"),
        ];
        assert_eq!(decide("You Limited", None, &twice).0, Verdict::Matched);
    }

    #[test]
    fn a_slip_costs_less_than_another_letter() {
        // A letter left out or doubled is a slip; another letter is a change.
        assert!(typing_cost("fairclough", "fairclogh") < typing_cost("faircloth", "fairclogh"));
        assert!(typing_cost("korvella", "korvela") < typing_cost("korvello", "korvela"));
        assert!((typing_cost("python", "pyhton") - 0.6).abs() < 1e-9);
        assert_eq!(word_similarity("holloway", "holloway"), (1.0, 0.0));
        // Short words and numbers must be equal; long ones may differ a little.
        assert_eq!(word_similarity("abc", "abd").0, 0.0);
        assert_eq!(word_similarity("a1", "a2").0, 0.0);
        assert!(word_similarity("bloomsbury", "blomsbery").0 > 0.7);
        assert_eq!(word_similarity("graysonmoss", "grayson").0, 0.0);
    }

    #[test]
    fn the_evidence_names_what_counted() {
        let candidates = [candidate(
            "1",
            "HOLLOWAY & SONS BUILDERS LIMITED",
            "active",
            "HU1 2AB",
        )];
        let q = PreparedQuery::new(&Query {
            name: "Holloway Builders".into(),
            postcode: Some("HU1 2AB".into()),
            wants_dissolved: false,
        });
        let a = assess(&q, &candidates, &MODEL);
        let evidence = evidence(&a.ranked[0].scored, &MODEL);
        let factors: Vec<&str> = evidence.iter().map(|e| e.factor).collect();
        assert!(
            factors.contains(&"name") && factors.contains(&"postcode"),
            "{evidence:?}"
        );
        let name = evidence.iter().find(|e| e.factor == "name").unwrap();
        assert!(
            name.detail.contains("not given: and sons"),
            "{}",
            name.detail
        );
    }

    proptest! {
        #[test]
        fn probabilities_are_a_distribution(
            query_name in "[A-Za-z &.]{0,20}",
            names in prop::collection::vec("[A-Za-z &.()]{0,20}", 0..6),
            postcode in proptest::option::of("[A-Z]{1,2}[0-9] ?[0-9][A-Z]{2}"),
        ) {
            let candidates: Vec<Candidate> = names
                .iter()
                .enumerate()
                .map(|(i, name)| candidate(&format!("{i:08}"), name, if i % 2 == 0 { "active" } else { "dissolved" }, &format!("AB{i} 1CD")))
                .collect();
            let q = PreparedQuery::new(&Query { name: query_name, postcode, wants_dissolved: false });
            let a = assess(&q, &candidates, &MODEL);
            let total: f64 = a.ranked.iter().map(|r| r.probability).sum::<f64>() + a.none;
            prop_assert!((total - 1.0).abs() < 1e-9);
            for r in &a.ranked {
                prop_assert!((0.0..=1.0).contains(&r.probability));
            }
        }

        #[test]
        fn identical_candidates_are_never_matched(
            query_name in any::<String>(),
            name in any::<String>(),
            query_postcode in proptest::option::of(any::<String>()),
        ) {
            let twin = |number: &str| candidate(number, &name, "active", "LS1 1AA");
            let candidates = [twin("00000001"), twin("00000002")];
            let q = PreparedQuery::new(&Query { name: query_name, postcode: query_postcode, wants_dissolved: false });
            let verdict = assess(&q, &candidates, &MODEL).verdict(&MODEL);
            prop_assert!(verdict != Verdict::Matched);
        }
    }
}
