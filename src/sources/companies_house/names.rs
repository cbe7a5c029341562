//! People's names as Companies House writes them.
//!
//! Officer lists say `"SURNAME, Forenames"`, with a title or honour after a
//! second comma when there is one (`"BRANSON, Richard Charles Nicholas,
//! Sir"`); PSC lists say `"Mr Forenames Surname"` with `name_elements`
//! beside it; appointment lists and officer search say `"Forenames
//! SURNAME"`. All become a [`PersonName`] displayed in normal case, because
//! a lead list that shouts "STEVENSON" at its reader looks machine-made.
//!
//! Casing rules ([`normal_case`]): each word and each part after a hyphen
//! starts with a capital; "Mc" names capitalise the letter after the prefix
//! ("McDonald"); a one-letter prefix before an apostrophe keeps its capital
//! and gives one to what follows ("O'Brien", "D'Arcy"); particles inside a
//! multi-word surname stay lower case ("van der Berg", "de la Cruz", "ap
//! Rhys"). "Mac" names are left as "Macdonald": Mack, Mace, Machin and Macey
//! show that no rule tells where a "Mac" prefix ends. Words that already mix
//! upper and lower case are taken as written by their owner and kept.

use super::types::NameElements;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    pub title: Option<String>,
    /// Forenames in normal case, space-separated ("John David").
    pub given_name: Option<String>,
    /// Surname in normal case ("McDonald", "O'Brien", "Smith-Jones").
    pub family_name: String,
}

impl PersonName {
    /// "John David Smith".
    pub fn display(&self) -> String {
        match self.given_name.as_deref().filter(|g| !g.is_empty()) {
            Some(given) if self.family_name.is_empty() => given.to_owned(),
            Some(given) => format!("{given} {}", self.family_name),
            None => self.family_name.clone(),
        }
    }
}

/// Parse an officer-list name: "SMITH, John David".
///
/// A third comma-separated part is the title ("Sir", "Dr"); anything after
/// it (honours) is dropped. Without a comma the name is read forenames
/// first, as [`parse_forenames_surname`] does. Bodies corporate
/// ("LONDON LAW SECRETARIAL LIMITED") are not people: tell them apart by
/// role or with `company_name::ends_with_designator` before calling this.
pub fn parse_officer_name(raw: &str) -> PersonName {
    let mut parts = raw.split(',').map(collapse_whitespace);
    let surname = parts.next().unwrap_or_default();
    let Some(forenames) = parts.next() else {
        return parse_forenames_surname(raw);
    };
    if surname.is_empty() {
        return parse_forenames_surname(&forenames);
    }
    let mut title = parts.find(|p| !p.is_empty()).map(|t| tidy_title(&t));

    let mut words: Vec<&str> = forenames.split(' ').filter(|w| !w.is_empty()).collect();
    let leading_titles = count_leading_titles(&words, words.len());
    if leading_titles > 0 {
        let stripped = tidy_title(&words[..leading_titles].join(" "));
        title.get_or_insert(stripped);
        words.drain(..leading_titles);
    }
    PersonName {
        title,
        given_name: given_from_words(&words),
        family_name: tidy_case(&surname),
    }
}

/// Parse a PSC name: "Mr John David Smith", preferring `name_elements` when present.
///
/// The elements say where the surname starts; the forenames are taken from
/// the full name when it ends with that surname, because the elements of
/// some lists carry only the first forename (appointment lists put the
/// others in `other_forenames`).
pub fn parse_psc_name(raw: &str, elements: Option<&NameElements>) -> PersonName {
    let Some(elements) = elements else {
        return parse_forenames_surname(raw);
    };
    let surname = collapse_whitespace(elements.surname.as_deref().unwrap_or_default());
    if surname.is_empty() {
        return parse_forenames_surname(raw);
    }
    let title = elements
        .title
        .as_deref()
        .map(collapse_whitespace)
        .filter(|t| !t.is_empty());

    let from_elements: Vec<String> = [
        elements.forename.as_deref(),
        elements.middle_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(collapse_whitespace)
    .filter(|w| !w.is_empty())
    .collect();
    let from_raw = forenames_before_surname(raw, &surname, title.as_deref());
    let given_words: Vec<&str> = match &from_raw {
        Some(words) if !words.is_empty() => words.clone(),
        _ => from_elements.iter().flat_map(|w| w.split(' ')).collect(),
    };

    PersonName {
        title: title.map(|t| tidy_title(&t)),
        given_name: given_from_words(&given_words),
        family_name: tidy_case(&surname),
    }
}

/// Parse a name written forenames first, with or without leading titles:
/// "Mr Peter Sunderland", "Allan David HORLEY", "John REDFERN".
///
/// When the name ends with words in capitals after words that are not, as
/// appointment lists and officer search write it, those capitals are the
/// surname ("Ludwig VAN BEETHOVEN"). Otherwise the last word is, together
/// with any particles before it ("Jan van der Berg").
pub fn parse_forenames_surname(raw: &str) -> PersonName {
    let collapsed = collapse_whitespace(raw);
    let mut words: Vec<&str> = collapsed.split(' ').filter(|w| !w.is_empty()).collect();
    let leading_titles = count_leading_titles(&words, words.len().saturating_sub(1));
    let title = (leading_titles > 0).then(|| tidy_title(&words[..leading_titles].join(" ")));
    words.drain(..leading_titles);

    let surname_len = surname_word_count(&words);
    let split = words.len() - surname_len;
    PersonName {
        title,
        given_name: given_from_words(&words[..split]),
        family_name: tidy_case(&words[split..].join(" ")),
    }
}

/// "MCDONALD" -> "McDonald", "o'brien" -> "O'Brien", "SMITH-JONES" -> "Smith-Jones".
///
/// Only the case of letters changes: every other character, blank space
/// included, is kept, and a letter whose other case is not a single letter
/// of the same kind ("ß") is left alone.
pub fn normal_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let folded: Vec<char> = chars.iter().map(|&c| fold(c)).collect();
    let words = word_spans(&chars);
    let mut cased = chars.clone();
    for (n, &(start, end)) in words.iter().enumerate() {
        let is_inner_particle = n + 1 < words.len() && {
            let word: String = folded[start..end].iter().collect();
            PARTICLES.contains(&word.as_str())
        };
        if is_inner_particle {
            for c in &mut cased[start..end] {
                *c = to_lower(*c);
            }
        } else {
            case_word(&mut cased[start..end], &folded[start..end]);
        }
    }
    cased.into_iter().collect()
}

/// Words inside a surname that stay lower case ("van der Berg").
const PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "de", "del", "della", "di", "da", "das", "do", "dos", "du", "la",
    "le", "ter", "ten", "zu", "ap", "bin", "ibn",
];

/// Titles that may precede or follow a name, lowercase, without full stops.
const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "master",
    "dr",
    "doctor",
    "sir",
    "dame",
    "lord",
    "lady",
    "prof",
    "professor",
    "rev",
    "revd",
    "reverend",
    "rt",
    "hon",
    "honourable",
    "baron",
    "baroness",
    "viscount",
    "viscountess",
    "earl",
    "countess",
    "captain",
    "capt",
    "major",
    "colonel",
    "col",
    "cllr",
    "councillor",
];

fn is_title(word: &str) -> bool {
    let bare = word.trim_end_matches('.').to_lowercase();
    TITLES.contains(&bare.as_str())
}

/// How many leading words are titles, but never more than `at_most`, so a
/// name is never consumed entirely by them.
fn count_leading_titles(words: &[&str], at_most: usize) -> usize {
    words
        .iter()
        .take(at_most)
        .take_while(|w| is_title(w))
        .count()
}

fn tidy_title(title: &str) -> String {
    title
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| tidy_case(w.trim_end_matches('.')))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Normal case for text in one case; text that mixes cases is kept.
fn tidy_case(s: &str) -> String {
    let has_upper = s.chars().any(char::is_uppercase);
    let has_lower = s.chars().any(char::is_lowercase);
    if has_upper && has_lower {
        s.to_owned()
    } else {
        normal_case(s)
    }
}

fn given_from_words(words: &[&str]) -> Option<String> {
    let given = words
        .iter()
        .filter(|w| !w.is_empty())
        .map(|w| tidy_case(w))
        .collect::<Vec<_>>()
        .join(" ");
    (!given.is_empty()).then_some(given)
}

/// How many trailing words form the surname; at least one when there are words.
fn surname_word_count(words: &[&str]) -> usize {
    if words.len() <= 1 {
        return words.len();
    }
    let is_shouted =
        |w: &str| w.chars().any(char::is_uppercase) && !w.chars().any(char::is_lowercase);
    let trailing_capitals = words.iter().rev().take_while(|w| is_shouted(w)).count();
    if trailing_capitals > 0 && trailing_capitals < words.len() {
        return trailing_capitals;
    }
    let particles_before_last = words[..words.len() - 1]
        .iter()
        .rev()
        .take_while(|w| PARTICLES.contains(&w.to_lowercase().as_str()))
        .count();
    // Keep one forename: "Van Morrison" is a forename and a surname.
    (1 + particles_before_last).min(words.len() - 1)
}

/// The words of `raw` between its titles and `surname`, when `raw` ends
/// with `surname` (compared without regard to case).
fn forenames_before_surname<'a>(
    raw: &'a str,
    surname: &str,
    title: Option<&str>,
) -> Option<Vec<&'a str>> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    let surname_words: Vec<String> = surname.split(' ').map(str::to_lowercase).collect();
    let split = words.len().checked_sub(surname_words.len())?;
    let ends_with_surname = words[split..]
        .iter()
        .zip(&surname_words)
        .all(|(w, s)| w.to_lowercase() == *s);
    if !ends_with_surname {
        return None;
    }
    let title_words: Vec<String> = title
        .unwrap_or_default()
        .split_whitespace()
        .map(|t| t.trim_end_matches('.').to_lowercase())
        .collect();
    let leading = words[..split]
        .iter()
        .take_while(|w| {
            is_title(w) || title_words.contains(&w.trim_end_matches('.').to_lowercase())
        })
        .count();
    Some(words[leading..split].to_vec())
}

/// `(start, end)` of each run of non-blank characters.
fn word_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in chars.iter().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, chars.len()));
    }
    spans
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`')
}

/// Cases one word in place; decisions read only `folded`, so casing an
/// already cased word decides the same way (idempotence).
fn case_word(word: &mut [char], folded: &[char]) {
    let mut letters_in_part = 0;
    let mut capitalise_next = true;
    let mut capital_at = None;
    for i in 0..word.len() {
        let c = word[i];
        if c.is_alphabetic() {
            let upper = if letters_in_part == 0 {
                if is_mc_prefix(&word[i..], &folded[i..]) {
                    capital_at = Some(i + 2);
                }
                capitalise_next
            } else {
                capital_at == Some(i)
            };
            word[i] = if upper { to_upper(c) } else { to_lower(c) };
            letters_in_part += 1;
        } else if !is_combining_mark(c) {
            // After "O'" a capital follows; after "Ann'" it does not.
            capitalise_next = !is_apostrophe(c) || letters_in_part == 1;
            letters_in_part = 0;
        }
    }
}

/// Combining diacritics ("e" + U+0301) belong to the letter before them and
/// must not start a new part of the word.
fn is_combining_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// "Mc" followed by at least two more letters ("McKay", not "Mca").
fn is_mc_prefix(word: &[char], folded: &[char]) -> bool {
    folded.len() >= 4
        && folded[0] == 'm'
        && folded[1] == 'c'
        && word[..4].iter().all(|c| c.is_alphabetic())
}

/// The lower case of a letter when it is a single character, else the letter.
fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn to_lower(c: char) -> char {
    let lower = fold(c);
    if fold(lower) == fold(c) { lower } else { c }
}

fn to_upper(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) if fold(u) == fold(c) => u,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::companies_house::types::{OfficerList, PscList};
    use proptest::prelude::*;

    const OFFICERS_YOU_LIMITED: &str = include_str!(
        "../../../fixtures/recorded/companies_house/herrbert74/officers_you_limited.json"
    );
    const PSC_YORKSHIRE_AIR_AMBULANCE: &str = include_str!(
        "../../../fixtures/recorded/companies_house/herrbert74/persons_yorkshire_air_ambulance.json"
    );
    const APPOINTMENTS_HORLEY: &str = include_str!(
        "../../../fixtures/recorded/companies_house/herrbert74/appointments_allan_david_horley.json"
    );
    const OFFICER_SEARCH_JOHN: &str =
        include_str!("../../../fixtures/recorded/companies_house/chwrapper/officer_results.json");

    fn name(title: Option<&str>, given: Option<&str>, family: &str) -> PersonName {
        PersonName {
            title: title.map(str::to_owned),
            given_name: given.map(str::to_owned),
            family_name: family.to_owned(),
        }
    }

    #[test]
    fn recorded_officer_names() {
        let list: OfficerList = serde_json::from_str(OFFICERS_YOU_LIMITED).expect("parses");
        let people: Vec<String> = list
            .items
            .iter()
            .filter(|o| !crate::company_name::ends_with_designator(&o.name))
            .map(|o| parse_officer_name(&o.name).display())
            .collect();
        assert_eq!(
            people,
            [
                "Elizabeth Mary Stevenson",
                "Benjamin Thomas Stevenson",
                "Elizabeth Mary Stevenson",
                "Benjamin Thomas Stevenson",
                "Leslie Alan Stevenson",
            ]
        );
        assert_eq!(
            parse_officer_name("STEVENSON, Elizabeth Mary"),
            name(None, Some("Elizabeth Mary"), "Stevenson")
        );
    }

    #[test]
    fn recorded_psc_names_prefer_name_elements() {
        let list: PscList = serde_json::from_str(PSC_YORKSHIRE_AIR_AMBULANCE).expect("parses");
        let parsed: Vec<PersonName> = list
            .items
            .iter()
            .filter(|p| p.kind.as_deref() == Some("individual-person-with-significant-control"))
            .map(|p| {
                parse_psc_name(
                    p.name.as_deref().unwrap_or_default(),
                    p.name_elements.as_ref(),
                )
            })
            .collect();
        assert_eq!(parsed[0], name(Some("Mr"), Some("Peter"), "Sunderland"));
        assert_eq!(
            parsed[3],
            name(Some("Mr"), Some("John William Young Strachan"), "Samuel")
        );
        assert_eq!(parsed[3].display(), "John William Young Strachan Samuel");
        assert_eq!(parsed.len(), 4);
    }

    #[test]
    fn recorded_appointment_names_keep_all_forenames() {
        let value: serde_json::Value = serde_json::from_str(APPOINTMENTS_HORLEY).expect("parses");
        let raw = value["name"].as_str().expect("name");
        assert_eq!(raw, "Allan David HORLEY");
        assert_eq!(
            parse_forenames_surname(raw),
            name(None, Some("Allan David"), "Horley")
        );
        for item in value["items"].as_array().expect("items") {
            let elements: NameElements =
                serde_json::from_value(item["name_elements"].clone()).expect("elements");
            let parsed = parse_psc_name(item["name"].as_str().expect("name"), Some(&elements));
            // The elements hold "David" in other_forenames, which NameElements lacks.
            assert_eq!(parsed, name(Some("Mr"), Some("Allan David"), "Horley"));
        }
    }

    #[test]
    fn recorded_officer_search_titles() {
        let value: serde_json::Value = serde_json::from_str(OFFICER_SEARCH_JOHN).expect("parses");
        let displayed: Vec<String> = value["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| parse_forenames_surname(i["title"].as_str().expect("title")).display())
            .collect();
        assert_eq!(displayed[0], "John Redfern");
        assert!(displayed.contains(&"John McSorley".to_owned()));
        assert!(displayed.iter().all(|d| d.starts_with("John ")));
    }

    #[test]
    fn surnames_in_capitals() {
        assert_eq!(normal_case("MCDONALD"), "McDonald");
        assert_eq!(normal_case("MACDONALD"), "Macdonald");
        assert_eq!(normal_case("O'BRIEN"), "O'Brien");
        assert_eq!(normal_case("o’brien"), "O’Brien");
        assert_eq!(normal_case("D'ARCY"), "D'Arcy");
        assert_eq!(normal_case("SMITH-JONES"), "Smith-Jones");
        assert_eq!(normal_case("VAN DER BERG"), "van der Berg");
        assert_eq!(normal_case("DE LA CRUZ"), "de la Cruz");
        assert_eq!(normal_case("VAN"), "Van");
        assert_eq!(normal_case("MC"), "Mc");
        assert_eq!(normal_case("ZOË"), "Zoë");
        assert_eq!(normal_case("JOSÉ"), "José");
        assert_eq!(normal_case("RENE\u{301}E"), "Rene\u{301}e");
        assert_eq!(normal_case("ØSTERGÅRD"), "Østergård");
        assert_eq!(normal_case("STRAßE"), "Straße");
    }

    #[test]
    fn officer_name_edge_cases() {
        assert_eq!(
            parse_officer_name("BRANSON, Richard Charles Nicholas, Sir"),
            name(Some("Sir"), Some("Richard Charles Nicholas"), "Branson")
        );
        assert_eq!(
            parse_officer_name("MCDONALD, MARY-JANE"),
            name(None, Some("Mary-Jane"), "McDonald")
        );
        assert_eq!(
            parse_officer_name("  VAN DER BERG ,   Pieter   JAN  "),
            name(None, Some("Pieter Jan"), "van der Berg")
        );
        assert_eq!(
            parse_officer_name("DE LA CRUZ, José"),
            name(None, Some("José"), "de la Cruz")
        );
        assert_eq!(
            parse_officer_name("O'BRIEN, zoë"),
            name(None, Some("Zoë"), "O'Brien")
        );
        assert_eq!(
            parse_officer_name("SMITH, Dr John"),
            name(Some("Dr"), Some("John"), "Smith")
        );
        assert_eq!(
            parse_officer_name("SMITH, Jean-Luc DeShawn"),
            name(None, Some("Jean-Luc DeShawn"), "Smith")
        );
        assert_eq!(parse_officer_name("SMITH,"), name(None, None, "Smith"));
        assert_eq!(parse_officer_name(""), name(None, None, ""));
    }

    #[test]
    fn officer_name_without_a_comma_takes_the_last_word_as_surname() {
        assert_eq!(
            parse_officer_name("John   David Smith"),
            name(None, Some("John David"), "Smith")
        );
        assert_eq!(parse_officer_name("CHER"), name(None, None, "Cher"));
        assert_eq!(
            parse_officer_name("Jan van der Berg"),
            name(None, Some("Jan"), "van der Berg")
        );
        assert_eq!(
            parse_officer_name("Ludwig VAN BEETHOVEN"),
            name(None, Some("Ludwig"), "van Beethoven")
        );
    }

    #[test]
    fn psc_name_without_elements_strips_the_title() {
        assert_eq!(
            parse_psc_name("Mr Peter Sunderland", None),
            name(Some("Mr"), Some("Peter"), "Sunderland")
        );
        assert_eq!(
            parse_psc_name("Dame Judith Olivia Dench", None),
            name(Some("Dame"), Some("Judith Olivia"), "Dench")
        );
        assert_eq!(
            parse_psc_name("Prof. Dr. Ada LOVELACE", None),
            name(Some("Prof Dr"), Some("Ada"), "Lovelace")
        );
        assert_eq!(parse_psc_name("Mr", None), name(None, None, "Mr"));
        assert_eq!(
            parse_psc_name("Van Morrison", None),
            name(None, Some("Van"), "Morrison")
        );
    }

    #[test]
    fn psc_elements_without_surname_fall_back_to_the_name() {
        let elements = NameElements {
            title: Some("Mrs".to_owned()),
            forename: Some("Ann".to_owned()),
            ..NameElements::default()
        };
        assert_eq!(
            parse_psc_name("Mrs Ann O'NEILL", Some(&elements)),
            name(Some("Mrs"), Some("Ann"), "O'Neill")
        );
    }

    #[test]
    fn psc_elements_that_disagree_with_the_name_win() {
        let elements = NameElements {
            title: Some("Ms".to_owned()),
            forename: Some("Maria".to_owned()),
            middle_name: Some("Luisa".to_owned()),
            surname: Some("GARCIA LOPEZ".to_owned()),
        };
        assert_eq!(
            parse_psc_name("Ms Maria Garcia", Some(&elements)),
            name(Some("Ms"), Some("Maria Luisa"), "Garcia Lopez")
        );
    }

    #[test]
    fn display_uses_family_name_alone_without_forenames() {
        assert_eq!(name(Some("Sir"), None, "Branson").display(), "Branson");
        assert_eq!(
            name(Some("Sir"), Some("Richard"), "Branson").display(),
            "Richard Branson"
        );
        assert_eq!(name(None, Some("Cher"), "").display(), "Cher");
    }

    fn same_letters(a: &str, b: &str) -> bool {
        a.chars().count() == b.chars().count()
            && a.chars().zip(b.chars()).all(|(x, y)| {
                x == y
                    || x.to_lowercase().eq(y.to_lowercase())
                    || x.to_uppercase().eq(y.to_uppercase())
            })
    }

    proptest! {
        #[test]
        fn normal_case_is_idempotent(s in any::<String>()) {
            let once = normal_case(&s);
            prop_assert_eq!(normal_case(&once), once);
        }

        #[test]
        fn normal_case_changes_only_case(s in any::<String>()) {
            prop_assert!(same_letters(&s, &normal_case(&s)));
        }

        #[test]
        fn name_like_input_is_idempotent(s in "[A-Za-zÀ-ÿ' -]{0,30}") {
            let once = normal_case(&s);
            prop_assert_eq!(normal_case(&once), once);
        }

        #[test]
        fn parsers_never_panic(raw in any::<String>(), surname in any::<Option<String>>()) {
            let elements = NameElements { surname, ..NameElements::default() };
            let _ = parse_officer_name(&raw).display();
            let _ = parse_psc_name(&raw, Some(&elements)).display();
            let _ = parse_psc_name(&raw, None).display();
        }
    }
}
