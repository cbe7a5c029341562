//! Company names as the register compares them: the "same as" keys, the
//! designators of legal form, postcodes, and the words a name is scored on.
//!
//! A leaf module: both [`crate::resolve`] (which chooses a company) and
//! [`crate::sources`] (which tells people from bodies corporate) use it, and
//! it uses neither.
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
//! agreement at this level is weaker evidence than at the designator level.
//! "Group", "holdings", "international", "services" and
//! "export" were on the pre-2015 list but were deleted by the 2015
//! Regulations, so "Tesco Holdings" and "Tesco" are different names. (Sources: the 2015 Regulations, Schedules 2 and 3;
//! Companies House "same as" guidance; the list of deleted words as reported
//! at the time, e.g. laytons.com, "What's in a name? New regulations on
//! company names". The plural "s" comes from the guidance, not the
//! Schedule.)

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

/// The words of `name` under the designator-level "same as" rules: what
/// [`same_as_key`] joins (the local register indexes these words).
pub fn key_words(name: &str) -> Vec<String> {
    designator_level_words(name)
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

/// Case-folded, with each run of blank space one space: what "letter for
/// letter" means for `MatchMethod::Exact` (in `crate::resolve`).
pub fn exact_form(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Loose keys are equal when they differ at most by a final "s", which the
/// registrar disregards ("Hands" and "Hand").
pub fn loose_keys_equal(a: &str, b: &str) -> bool {
    a == b || a.strip_suffix('s') == Some(b) || b.strip_suffix('s') == Some(a)
}

/// How far two postcodes agree, from the strongest agreement down.
///
/// A UK postcode is an outward code (area letters and district, "LS11")
/// and an inward code (sector digit and unit, "5QT"). Companies in one
/// sector are neighbours; one district, one part of a town; one area, one
/// region (LS is Leeds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PostcodeAgreement {
    /// Different postcode areas.
    OtherArea,
    /// Same area ("LS"), another district.
    Area,
    /// Same district ("LS11"), another sector.
    District,
    /// Same sector ("LS11 5"), another unit.
    Sector,
    /// The same postcode.
    Full,
}

/// A postcode split into its parts; `None` when the text is not shaped like
/// a UK postcode or outward code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postcode {
    /// Uppercase, no space: "LS115QT", or an outward code alone: "LS11".
    pub compact: String,
    pub area: String,
    pub outward: String,
    /// Outward code plus the sector digit ("LS115"); `None` for an outward code alone.
    pub sector: Option<String>,
}

impl Postcode {
    pub fn parse(raw: &str) -> Option<Postcode> {
        let compact = normalize_postcode(raw)?;
        let bytes = compact.as_bytes();
        let area_len = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        if !(1..=2).contains(&area_len) || bytes.len() < area_len + 1 {
            return None;
        }
        // An outward code is the area, a digit, and at most one more
        // letter or digit; a full postcode adds a digit and two letters.
        let is_outward = |s: &[u8]| {
            s.len() > area_len && s.len() <= area_len + 2 && s[area_len].is_ascii_digit()
        };
        let (outward, sector) = if bytes.len() >= area_len + 4 {
            let (out, inward) = bytes.split_at(bytes.len() - 3);
            let inward_ok = inward[0].is_ascii_digit()
                && inward[1].is_ascii_alphabetic()
                && inward[2].is_ascii_alphabetic();
            if !is_outward(out) || !inward_ok {
                return None;
            }
            let outward = compact[..out.len()].to_owned();
            let sector = format!("{outward}{}", inward[0] as char);
            (outward, Some(sector))
        } else if is_outward(bytes) {
            (compact.clone(), None)
        } else {
            return None;
        };
        Some(Postcode {
            area: compact[..area_len].to_owned(),
            compact,
            outward,
            sector,
        })
    }

    /// How far `other` agrees with this postcode. A bare outward code agrees
    /// at most to the district.
    pub fn agreement(&self, other: &Postcode) -> PostcodeAgreement {
        if self.sector.is_some() && self.compact == other.compact {
            PostcodeAgreement::Full
        } else if self.sector.is_some() && self.sector == other.sector {
            PostcodeAgreement::Sector
        } else if self.outward == other.outward {
            PostcodeAgreement::District
        } else if self.area == other.area {
            PostcodeAgreement::Area
        } else {
            PostcodeAgreement::OtherArea
        }
    }

    /// Scottish postcode areas (registered offices there belong to
    /// companies registered in Scotland, numbered SC, SO, SL, ...). TD is
    /// mostly Scottish; its few English districts (TD12, TD15) are treated
    /// as Scottish too, which only ever weakens a jurisdiction hint.
    pub fn is_scottish(&self) -> bool {
        const AREAS: [&str; 16] = [
            "AB", "DD", "DG", "EH", "FK", "G", "HS", "IV", "KA", "KW", "KY", "ML", "PA", "PH",
            "TD", "ZE",
        ];
        AREAS.contains(&self.area.as_str())
    }

    /// Northern Ireland's one postcode area.
    pub fn is_northern_irish(&self) -> bool {
        self.area == "BT"
    }
}

/// One word of a name, as the scorer compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameWord {
    /// Lowercase ASCII, signs spelled out, abbreviations expanded.
    pub text: String,
    /// `text` with a plural ending folded ("builders" -> "builder"), for comparison.
    pub folded: String,
    /// Inside parentheses or brackets: a qualifier ("(NORTH)", "(UK)").
    pub qualifier: bool,
}

/// The legal form a name's designator announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegalForm {
    /// Limited or public limited company (people write "Ltd" for a PLC).
    Company,
    Llp,
    LimitedPartnership,
    CommunityInterest,
}

/// A name broken into the words it is scored on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameWords {
    pub words: Vec<NameWord>,
    /// The legal form of the trailing designator, when the name has one.
    pub form: Option<LegalForm>,
}

/// Abbreviations lead lists use, and the word the register spells out.
fn expand_abbreviation(word: &str) -> Option<&'static str> {
    Some(match word {
        "intl" | "int" | "internat" => "international",
        "bros" => "brothers",
        "mgmt" | "mgt" => "management",
        "svcs" | "svc" | "servs" => "services",
        "eng" | "engg" | "engr" => "engineering",
        "assoc" | "assocs" => "associates",
        "co" => "company",
        "cos" => "companies",
        "grp" => "group",
        "hldgs" | "hldg" | "hold" => "holdings",
        "props" => "properties",
        "devs" => "developments",
        "dev" => "development",
        "inv" | "invs" => "investments",
        "tech" => "technology",
        "techs" => "technologies",
        "contr" | "contrs" => "contractors",
        "mfg" => "manufacturing",
        "natl" => "national",
        "corp" => "corporation",
        "dept" => "department",
        "elec" => "electrical",
        "st" => "saint",
        _ => return None,
    })
}

/// The plural ending a comparison should not see: "builders" and "builder",
/// "properties" and "property", "glass" untouched.
pub fn fold_plural(word: &str) -> String {
    if word.len() > 4
        && let Some(stem) = word.strip_suffix("ies")
    {
        return format!("{stem}y");
    }
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") {
        return word[..word.len() - 1].to_owned();
    }
    word.to_owned()
}

/// Characters that are invisible in a name and only ever copied in by
/// accident (zero-width spaces and joiners, the byte order mark).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// Split words a person ran together by their capitals ("BrandNameLtd" ->
/// "Brand Name Ltd"). Only mixed-case text is split: the register writes
/// names in capitals, and an all-lowercase name has no capitals to go by.
fn split_camel_case(name: &str) -> String {
    let has_lower = name.chars().any(char::is_lowercase);
    let has_upper = name.chars().any(char::is_uppercase);
    if !(has_lower && has_upper) {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 8);
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if let Some(p) = previous
            && p.is_lowercase()
            && c.is_uppercase()
        {
            out.push(' ');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// The legal form of a designator word sequence.
fn form_of(designator: &[String]) -> Option<LegalForm> {
    let joined = designator.join(" ");
    Some(match joined.as_str() {
        "limited"
        | "ltd"
        | "cyfyngedig"
        | "cyf"
        | "plc"
        | "public limited company"
        | "ccc"
        | "cwmni cyfyngedig cyhoeddus"
        | "unlimited"
        | "anghyfyngedig" => LegalForm::Company,
        "llp" | "limited liability partnership" | "pac" | "partneriaeth atebolrwydd cyfyngedig" => {
            LegalForm::Llp
        }
        "lp" | "limited partnership" | "partneriaeth cyfyngedig" => LegalForm::LimitedPartnership,
        "cic" | "community interest company" | "cbc" | "cwmni buddiant cymunedol" => {
            LegalForm::CommunityInterest
        }
        _ => return None,
    })
}

/// A designator glued to the last word ("zyntraltd"), split off when what
/// is left is still a word of three letters or more.
fn split_glued_designator(words: &mut Vec<(String, bool)>) {
    let Some((last, qualifier)) = words.last().cloned() else {
        return;
    };
    if qualifier {
        return;
    }
    for suffix in ["limited", "ltd", "plc", "llp"] {
        if let Some(stem) = last.strip_suffix(suffix)
            && stem.len() >= 3
        {
            let n = words.len();
            words[n - 1].0 = stem.to_owned();
            words.push((suffix.to_owned(), false));
            return;
        }
    }
}

/// The words of `name` that identify it. With `typed` (a name a person
/// wrote rather than the register's), words run together by their capitals
/// or with a designator glued on are split first.
///
/// Trailing designators are dropped (their legal form kept in
/// [`NameWords::form`]), and so is a leading "the"; words in parentheses
/// or brackets are kept, marked as qualifiers.
pub fn name_words(name: &str, typed: bool) -> NameWords {
    let visible: String = name.chars().filter(|&c| !is_invisible(c)).collect();
    let text = if typed {
        split_camel_case(&visible)
    } else {
        visible
    };
    // Split into plain and bracketed runs, then into words.
    let mut words: Vec<(String, bool)> = Vec::new();
    let mut depth = 0usize;
    let mut run = String::new();
    let flush = |run: &mut String, qualifier: bool, words: &mut Vec<(String, bool)>| {
        for w in spelled_words(run) {
            words.push((w, qualifier));
        }
        run.clear();
    };
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => {
                flush(&mut run, depth > 0, &mut words);
                depth += 1;
            }
            ')' | ']' | '}' => {
                flush(&mut run, depth > 0, &mut words);
                depth = depth.saturating_sub(1);
            }
            c => run.push(c),
        }
    }
    flush(&mut run, depth > 0, &mut words);
    if typed {
        split_glued_designator(&mut words);
    }
    if words.len() > 1 && words[0].0 == "the" {
        words.remove(0);
    }
    // The trailing designator, looked for among the plain words only:
    // "ACME (UK) LIMITED" ends with LIMITED even though "(UK)" comes first.
    let plain_positions: Vec<usize> = (0..words.len()).filter(|&i| !words[i].1).collect();
    let mut plain: Vec<String> = plain_positions
        .iter()
        .map(|&i| words[i].0.clone())
        .collect();
    let before = plain.len();
    strip_trailing(&mut plain, &[DESIGNATORS]);
    let mut form = None;
    if plain.len() < before {
        let removed: Vec<String> = plain_positions[plain.len()..]
            .iter()
            .map(|&i| words[i].0.clone())
            .collect();
        form = form_of(&removed);
        let drop: std::collections::HashSet<usize> =
            plain_positions[plain.len()..].iter().copied().collect();
        let mut i = 0;
        words.retain(|_| {
            let keep = !drop.contains(&i);
            i += 1;
            keep
        });
    }
    let words = words
        .into_iter()
        .map(|(w, qualifier)| {
            let text = expand_abbreviation(&w).map_or(w, str::to_owned);
            NameWord {
                folded: fold_plural(&text),
                text,
                qualifier,
            }
        })
        .collect();
    NameWords { words, form }
}

/// Why a typed name cannot be the name of any company on the register.
///
/// Register names use the Latin alphabet (the permitted characters of the
/// Company and Business Names Regulations), run to at most 160 characters
/// (the bulk product's `CompanyName` field), and contain no control
/// characters; a name made only of designators or punctuation names
/// nothing. Searching for such a name would spend quota on a certain miss.
pub fn unsearchable(name: &str) -> Option<String> {
    /// Generous: lead lists add descriptive words to register names.
    const MAX_CHARS: usize = 300;
    let chars = name.chars().count();
    if chars > MAX_CHARS {
        return Some(format!(
            "the name is {chars} characters long; register names have at most 160"
        ));
    }
    if let Some((at, c)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Some(format!(
            "the name contains a control character (U+{:04X} at character {})",
            c as u32,
            at + 1
        ));
    }
    let letters: Vec<char> = name.chars().filter(|c| c.is_alphabetic()).collect();
    let non_latin = letters.iter().filter(|&&c| !is_latin(c)).count();
    if non_latin > 0 && non_latin * 2 >= letters.len() {
        return Some(
            "the name is not written in the Latin alphabet; the register holds names in Latin letters only"
                .to_owned(),
        );
    }
    let words = name_words(name, true);
    let is_filler = |w: &NameWord| {
        matches!(w.text.as_str(), "and" | "the" | "of" | "at" | "plus")
            || DESIGNATORS.iter().any(|d| d.len() == 1 && d[0] == w.text)
    };
    let only_designators = words.words.iter().all(is_filler);
    if only_designators {
        return Some(
            "the name has no words that identify a company (only designators or punctuation)"
                .to_owned(),
        );
    }
    None
}

/// Letters of the Latin script: ASCII, Latin-1, Latin Extended-A/B and
/// Additional, and the IPA/modifier blocks between them.
fn is_latin(c: char) -> bool {
    matches!(c as u32, 0x41..=0x5A | 0x61..=0x7A | 0xAA | 0xBA | 0xC0..=0x24F | 0x250..=0x2AF | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xFB00..=0xFB06)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        let outward = |code: &str| Postcode::parse(code).map(|p| p.outward);
        assert_eq!(outward("HU178EU").as_deref(), Some("HU17"));
        assert_eq!(outward("M14EX").as_deref(), Some("M1"));
        assert_eq!(outward("SW7").as_deref(), Some("SW7"));
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

    }

    #[test]
    fn name_words_split_run_together_words_and_keep_qualifiers() {
        let words = |name: &str| -> Vec<(String, bool)> {
            name_words(name, true)
                .words
                .into_iter()
                .map(|w| (w.text, w.qualifier))
                .collect()
        };
        assert_eq!(
            words("HollowayBuildersLtd"),
            [
                ("holloway".to_owned(), false),
                ("builders".to_owned(), false)
            ]
        );
        assert_eq!(words("zyntraltd"), [("zyntra".to_owned(), false)]);
        assert_eq!(
            words("The Acme (UK) Ltd"),
            [("acme".to_owned(), false), ("uk".to_owned(), true)]
        );
        assert_eq!(name_words("Acme LLP", true).form, Some(LegalForm::Llp));
        assert_eq!(
            words("Smith Bros Intl"),
            [
                ("smith".to_owned(), false),
                ("brothers".to_owned(), false),
                ("international".to_owned(), false)
            ]
        );
        // The register's own capitals are never split.
        assert_eq!(words("MCDONALD LTD"), [("mcdonald".to_owned(), false)]);
    }

    #[test]
    fn postcodes_agree_by_parts() {
        let p = |s: &str| Postcode::parse(s).unwrap();
        assert_eq!(
            p("LS11 5QT").agreement(&p("ls115qt")),
            PostcodeAgreement::Full
        );
        assert_eq!(
            p("LS11 5QT").agreement(&p("LS11 5AB")),
            PostcodeAgreement::Sector
        );
        assert_eq!(
            p("LS11 5QT").agreement(&p("LS11 9AB")),
            PostcodeAgreement::District
        );
        assert_eq!(
            p("LS11").agreement(&p("LS11 9AB")),
            PostcodeAgreement::District
        );
        assert_eq!(
            p("LS11 5QT").agreement(&p("LS1 5QT")),
            PostcodeAgreement::Area
        );
        assert_eq!(
            p("LS11 5QT").agreement(&p("M1 1AA")),
            PostcodeAgreement::OtherArea
        );
        assert!(Postcode::parse("not a postcode").is_none());
        assert!(Postcode::parse("12345").is_none());
        assert!(p("G2 4JR").is_scottish() && p("BT28 1AA").is_northern_irish());
    }

    #[test]
    fn names_that_cannot_be_a_register_name_are_refused() {
        assert!(unsearchable("Acme Ltd").is_none());
        assert!(unsearchable("Zoë Öztürk Design").is_none());
        for bad in [
            "Ltd",
            "The Limited",
            " - . & ",
            "PLC",
            "Газпром",
            "東京電力",
            "Acme\u{7}Ltd",
        ] {
            assert!(unsearchable(bad).is_some(), "{bad:?}");
        }
        assert!(
            unsearchable(&"a".repeat(10_000))
                .unwrap()
                .contains("10000 characters")
        );
    }

    #[test]
    fn plurals_fold() {
        assert_eq!(fold_plural("builders"), "builder");
        assert_eq!(fold_plural("properties"), "property");
        assert_eq!(fold_plural("glass"), "glass");
        assert_eq!(fold_plural("bus"), "bus");
    }
}
