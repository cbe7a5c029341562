//! The SIC 2007 codes Companies House uses for a company's trade: the 731
//! codes of its condensed list with their texts, and the sections (A–U)
//! and divisions (two-digit) they fall in (`data/README.md`). A leaf: the
//! `find` and `discover` filters and `leadgen sic search` read it.

use std::collections::BTreeSet;
use std::sync::LazyLock;

/// One code of the condensed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SicCode {
    pub code: &'static str,
    pub description: &'static str,
}

/// A section (`F`) or a division (`43`) of SIC 2007.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub code: &'static str,
    pub title: &'static str,
    /// The section letter (a section's own for a section).
    pub section: &'static str,
}

/// A code with the section and division it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Placed {
    pub code: &'static str,
    pub description: &'static str,
    pub section: &'static str,
    pub section_title: &'static str,
    pub division: &'static str,
    pub division_title: &'static str,
}

/// Why a SIC code or section was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SicError {
    #[error(
        "unknown SIC code {code:?}: {}. List codes with `leadgen sic search WORDS`",
        hint(code)
    )]
    UnknownCode { code: String },
    #[error(
        "unknown SIC section or division {given:?}: a section is a letter A to U, a division \
         two digits (43); list them with `leadgen sic search WORDS`"
    )]
    UnknownGroup { given: String },
}

fn hint(code: &str) -> String {
    let starting: Vec<&SicCode> = table()
        .codes
        .iter()
        .filter(|c| !code.is_empty() && c.code.starts_with(code))
        .take(3)
        .collect();
    if !starting.is_empty() {
        let named: Vec<String> = starting
            .iter()
            .map(|c| format!("{} ({})", c.code, c.description))
            .collect();
        return format!(
            "SIC 2007 codes have 5 digits (starting {code}: {})",
            named.join(", ")
        );
    }
    if code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()) {
        "it is not in Companies House's SIC 2007 list".to_owned()
    } else {
        "a SIC 2007 code is 5 digits, e.g. 43220".to_owned()
    }
}

/// The codes, sections and divisions.
pub struct Table {
    pub codes: Vec<SicCode>,
    pub sections: Vec<Group>,
    pub divisions: Vec<Group>,
}

const CODES: &str = include_str!("../data/sic07_condensed_list_en.csv");
const STRUCTURE: &str = include_str!("../data/sic_structure.tsv");

/// The compiled-in table.
pub fn table() -> &'static Table {
    static TABLE: LazyLock<Table> = LazyLock::new(|| {
        let mut codes = Vec::new();
        let mut reader = csv::Reader::from_reader(CODES.as_bytes());
        for record in reader.records() {
            let record = record.expect("the compiled-in SIC list is CSV");
            // Built once per process and kept for its life.
            let code = record[0].to_owned().leak();
            let description = record[1].to_owned().leak();
            codes.push(SicCode { code, description });
        }
        let mut sections = Vec::new();
        let mut divisions = Vec::new();
        for line in STRUCTURE.lines().skip(1) {
            let mut f = line.split('\t');
            let (Some(kind), Some(code), Some(title), Some(section)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            let group = Group {
                code,
                title,
                section,
            };
            match kind {
                "section" => sections.push(group),
                _ => divisions.push(group),
            }
        }
        Table {
            codes,
            sections,
            divisions,
        }
    });
    &TABLE
}

impl Table {
    pub fn code(&self, code: &str) -> Option<&SicCode> {
        self.codes.iter().find(|c| c.code == code)
    }

    /// The code with its section and division.
    pub fn place(&self, code: &SicCode) -> Placed {
        let division = self
            .divisions
            .iter()
            .find(|d| code.code.starts_with(d.code))
            .copied()
            .unwrap_or(Group {
                code: "",
                title: "",
                section: "",
            });
        let section = self
            .sections
            .iter()
            .find(|s| s.code == division.section)
            .map_or("", |s| s.title);
        Placed {
            code: code.code,
            description: code.description,
            section: division.section,
            section_title: section,
            division: division.code,
            division_title: division.title,
        }
    }

    /// Codes whose text, division title or section title holds every word
    /// (case-insensitive, a word matching the start of a text's word), or
    /// whose code starts with a word of digits; in code order.
    pub fn search(&self, words: &[String]) -> Vec<Placed> {
        let wanted: Vec<String> = words
            .iter()
            .flat_map(|w| w.split_whitespace())
            .map(str::to_lowercase)
            .collect();
        self.codes
            .iter()
            .map(|c| self.place(c))
            .filter(|p| {
                let text = format!("{} {} {}", p.description, p.division_title, p.section_title)
                    .to_lowercase();
                let text_words: Vec<&str> = text
                    .split(|ch: char| !ch.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .collect();
                !wanted.is_empty()
                    && wanted.iter().all(|w| {
                        if w.bytes().all(|b| b.is_ascii_digit()) {
                            p.code.starts_with(w.as_str())
                        } else {
                            text_words.iter().any(|t| t.starts_with(w.as_str()))
                        }
                    })
            })
            .collect()
    }

    /// Checks `--sic` codes: each must be on the list.
    pub fn codes_from(&self, given: &[String]) -> Result<BTreeSet<&'static str>, SicError> {
        given
            .iter()
            .map(|g| {
                let g = g.trim();
                self.code(g)
                    .map(|c| c.code)
                    .ok_or_else(|| SicError::UnknownCode { code: g.to_owned() })
            })
            .collect()
    }

    /// The codes in a section (`F`) or division (`43`).
    pub fn group_codes(&self, given: &str) -> Result<BTreeSet<&'static str>, SicError> {
        let g = given.trim().to_ascii_uppercase();
        let unknown = || SicError::UnknownGroup {
            given: given.trim().to_owned(),
        };
        let codes: BTreeSet<&'static str> =
            if let Some(section) = self.sections.iter().find(|s| s.code == g) {
                self.codes
                    .iter()
                    .filter(|c| self.place(c).section == section.code)
                    .map(|c| c.code)
                    .collect()
            } else if let Some(division) = self.divisions.iter().find(|d| d.code == g) {
                self.codes
                    .iter()
                    .filter(|c| c.code.starts_with(division.code))
                    .map(|c| c.code)
                    .collect()
            } else {
                return Err(unknown());
            };
        if codes.is_empty() {
            return Err(unknown());
        }
        Ok(codes)
    }

    /// `--sic` codes plus every code of each `--sic-section`: the industry
    /// filter, `None` when neither is given.
    pub fn filter(
        &self,
        codes: &[String],
        groups: &[String],
    ) -> Result<Option<BTreeSet<&'static str>>, SicError> {
        if codes.is_empty() && groups.is_empty() {
            return Ok(None);
        }
        let mut all = self.codes_from(codes)?;
        for g in groups {
            all.extend(self.group_codes(g)?);
        }
        Ok(Some(all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_division_and_section() {
        let t = table();
        assert_eq!(t.codes.len(), 731);
        assert_eq!(t.sections.len(), 21);
        assert_eq!(t.divisions.len(), 88);
        for c in &t.codes {
            let p = t.place(c);
            assert!(
                !p.division.is_empty() && !p.section_title.is_empty(),
                "{c:?}"
            );
        }
        let plumbing = t.place(t.code("43220").expect("listed"));
        assert_eq!(
            (plumbing.section, plumbing.division, plumbing.description),
            (
                "F",
                "43",
                "Plumbing, heat and air-conditioning installation"
            )
        );
    }

    #[test]
    fn search_matches_word_starts_and_code_prefixes() {
        let t = table();
        let codes = |w: &[&str]| -> Vec<&str> {
            t.search(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .iter()
                .map(|p| p.code)
                .collect()
        };
        // "Wholesale of hardware, plumbing and heating equipment and supplies" too.
        assert_eq!(codes(&["plumb"]), ["43220", "46740"]);
        assert_eq!(codes(&["Plumbing", "AIR"]), ["43220"]);
        assert!(codes(&["432"]).iter().all(|c| c.starts_with("432")));
        assert!(codes(&["specialised construction"]).contains(&"43999"));
        assert!(codes(&["zzzz"]).is_empty());
        assert!(codes(&[]).is_empty());
    }

    #[test]
    fn sections_divisions_and_unknown_codes() {
        let t = table();
        let f = t.group_codes("f").expect("section F");
        assert!(f.contains("41100") && f.contains("43220") && !f.contains("45111"));
        let d43 = t.group_codes("43").expect("division 43");
        assert!(d43.iter().all(|c| c.starts_with("43")));
        assert!(d43.len() < f.len());
        assert!(matches!(
            t.group_codes("Z"),
            Err(SicError::UnknownGroup { .. })
        ));
        let err = t.codes_from(&["4322".into()]).expect_err("4 digits");
        assert!(err.to_string().contains("(starting 4322: 43220 ("), "{err}");
        assert!(err.to_string().contains("leadgen sic search"), "{err}");
        let err = t.codes_from(&["12345".into()]).expect_err("not listed");
        assert!(
            err.to_string().contains("not in Companies House's"),
            "{err}"
        );
        assert_eq!(t.filter(&[], &[]), Ok(None));
        let both = t
            .filter(&["43220".into()], &["41".into()])
            .expect("valid")
            .expect("a filter");
        assert!(both.contains("43220") && both.contains("41100"));
    }
}
