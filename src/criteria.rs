//! What `leadgen find` (and `discover --sic`) select companies by: the
//! industry (SIC codes), the place (postcodes, a free-text location), the
//! status, the type, the incorporation dates and words of the name. Built
//! and checked once from the flags; the local register turns it into SQL,
//! the Companies House client into `/advanced-search/companies` parameters,
//! and [`Criteria::admits`] checks a company against it. A leaf (it uses
//! only [`crate::sic`]).

use std::collections::BTreeSet;

/// Why a filter was refused: the flag and what is wrong, for exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CriteriaError {
    #[error("{0}")]
    Sic(#[from] crate::sic::SicError),
    #[error("--{flag} {value:?}: {reason}")]
    Bad {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("{0}")]
    Contradiction(String),
}

/// A postcode filter: a full postcode (`LS1 4AP`), a sector (`LS1 4`), an
/// outward code (`LS1`, that district only, not `LS11`), or a prefix with
/// `*` (`LS*`: the LS area, not `L`'s neighbours; `LS1*`: LS1 and LS10 to
/// LS19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postcode {
    /// Upper case, one space between outward and inward parts.
    pub text: String,
    pub prefix: bool,
}

impl Postcode {
    pub fn parse(given: &str) -> Result<Postcode, CriteriaError> {
        let bad = |reason: &str| CriteriaError::Bad {
            flag: "postcode",
            value: given.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = given.trim();
        let (body, prefix) = match trimmed.strip_suffix('*') {
            Some(b) => (b.trim_end(), true),
            None => (trimmed, false),
        };
        let upper = body.to_ascii_uppercase();
        let mut parts = upper.split_whitespace();
        let outward = parts.next().ok_or_else(|| bad("empty"))?;
        let inward = parts.next();
        if parts.next().is_some() {
            return Err(bad("a postcode has at most two parts (LS1 4AP)"));
        }
        let letters = outward.bytes().take_while(u8::is_ascii_alphabetic).count();
        let district = &outward[letters..];
        let outward_ok = (1..=2).contains(&letters)
            && (district.is_empty() && prefix && inward.is_none()
                || (1..=2).contains(&district.len())
                    && district.as_bytes()[0].is_ascii_digit()
                    && district.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !outward_ok {
            return Err(bad(
                "expected a postcode (LS1 4AP), an outward code (LS1), a sector (LS1 4) or a \
                 prefix ending in * (LS*)",
            ));
        }
        if let Some(inward) = inward {
            let b = inward.as_bytes();
            let ok = !b.is_empty()
                && b.len() <= 3
                && b[0].is_ascii_digit()
                && b[1..].iter().all(u8::is_ascii_alphabetic);
            if !ok {
                return Err(bad("the inward part is a digit and two letters (4AP)"));
            }
        }
        let text = match inward {
            Some(i) => format!("{outward} {i}"),
            None => outward.to_owned(),
        };
        Ok(Postcode { text, prefix })
    }

    /// Whether a registered office's postcode is in it.
    pub fn matches(&self, postcode: &str) -> bool {
        let upper = postcode.trim().to_ascii_uppercase();
        let mut parts = upper.split_whitespace();
        let Some(outward) = parts.next() else {
            return false;
        };
        let normal = match parts.next() {
            Some(i) => format!("{outward} {i}"),
            None => outward.to_owned(),
        };
        if !self.prefix {
            return match self.text.split_once(' ') {
                // A full postcode, or a sector ("LS1 4": LS1 4AA to 4ZZ).
                Some((_, inward)) if inward.len() == 3 => normal == self.text,
                Some(_) => normal.starts_with(&self.text),
                // A district: whole parts, "LS1" is not LS11.
                None => normal == self.text || normal.starts_with(&format!("{} ", self.text)),
            };
        }
        let Some(rest) = normal.strip_prefix(&self.text) else {
            return false;
        };
        // "LS*" is area LS: the next character is the district's digit, so
        // "L*" does not take in LS.
        let area_only = self.text.bytes().all(|b| b.is_ascii_alphabetic());
        !area_only || rest.bytes().next().is_some_and(|b| b.is_ascii_digit())
    }

    /// A SQLite GLOB pattern for the register's `postal_code` (stored as
    /// the bulk file gives it: upper case, one space).
    pub fn glob(&self) -> String {
        match (
            self.prefix,
            self.text.bytes().all(|b| b.is_ascii_alphabetic()),
        ) {
            (true, true) => format!("{}[0-9]*", self.text),
            (true, false) => format!("{}*", self.text),
            (false, _) if self.text.contains(' ') => format!("{}*", self.text),
            (false, _) => format!("{} *", self.text),
        }
    }

    /// The text to send as advanced search's `location`, when that
    /// narrows the search to this postcode (an outward code or a full
    /// postcode; a prefix cannot be sent).
    pub fn as_location(&self) -> Option<&str> {
        (!self.prefix).then_some(self.text.as_str())
    }
}

/// The filters, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criteria {
    /// `None`: any industry.
    pub sic_codes: Option<BTreeSet<&'static str>>,
    /// Any of them; empty: anywhere.
    pub postcodes: Vec<Postcode>,
    pub location: Option<String>,
    /// API keys (`active`, ...); empty: any status.
    pub statuses: Vec<String>,
    /// API keys (`ltd`, `llp`, ...); empty: any type.
    pub types: Vec<String>,
    /// `YYYY-MM-DD`, inclusive.
    pub incorporated_from: Option<String>,
    pub incorporated_to: Option<String>,
    /// Words every selected name holds (case-insensitive).
    pub name_includes: Option<String>,
}

/// The flags as given (comma lists split).
#[derive(Debug, Clone, Default)]
pub struct Given<'a> {
    pub sic: &'a [String],
    pub sic_sections: &'a [String],
    pub postcodes: &'a [String],
    pub location: Option<&'a str>,
    pub statuses: &'a [String],
    pub types: &'a [String],
    pub incorporated_from: Option<&'a str>,
    pub incorporated_to: Option<&'a str>,
    pub name_includes: Option<&'a str>,
}

/// Short names people use for `company_type` keys.
const TYPE_ALIASES: &[(&str, &str)] = &[
    ("limited", "ltd"),
    ("private-limited", "ltd"),
    ("public", "plc"),
];

impl Criteria {
    /// Checks every flag; `keys` gives the keys of an enumerations section
    /// (`company_status`, `company_type`: api-enumerations `constants.yml`,
    /// as the register import reads them).
    pub fn from_given(
        given: &Given<'_>,
        keys: impl Fn(&str) -> Vec<&'static str>,
    ) -> Result<Criteria, CriteriaError> {
        let statuses_known = keys("company_status");
        let types_known = keys("company_type");
        let sic_codes = crate::sic::table().filter(given.sic, given.sic_sections)?;
        let postcodes = given
            .postcodes
            .iter()
            .map(|p| Postcode::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut statuses = Vec::new();
        for s in given.statuses {
            let key = s.trim().to_ascii_lowercase();
            if key == "any" || key == "all" {
                statuses.clear();
                break;
            }
            if !statuses_known.contains(&key.as_str()) {
                return Err(CriteriaError::Bad {
                    flag: "status",
                    value: s.clone(),
                    reason: format!(
                        "not a company status; one of {}, or any",
                        statuses_known.join(", ")
                    ),
                });
            }
            statuses.push(key);
        }
        let mut types = Vec::new();
        for t in given.types {
            let lower = t.trim().to_ascii_lowercase();
            let key = TYPE_ALIASES
                .iter()
                .find(|(alias, _)| *alias == lower)
                .map_or(lower.clone(), |(_, key)| (*key).to_owned());
            if !types_known.contains(&key.as_str()) {
                return Err(CriteriaError::Bad {
                    flag: "type",
                    value: t.clone(),
                    reason: "not a company type key (e.g. ltd, plc, llp, private-unlimited, \
                             limited-partnership; see api-enumerations' company_type)"
                        .to_owned(),
                });
            }
            types.push(key);
        }
        let date =
            |flag: &'static str, value: Option<&str>| -> Result<Option<String>, CriteriaError> {
                value
                    .map(|v| {
                        iso_date(v.trim()).ok_or_else(|| CriteriaError::Bad {
                            flag,
                            value: v.to_owned(),
                            reason: "expected a date as YYYY-MM-DD".to_owned(),
                        })
                    })
                    .transpose()
            };
        let incorporated_from = date("incorporated-from", given.incorporated_from)?;
        let incorporated_to = date("incorporated-to", given.incorporated_to)?;
        if let (Some(from), Some(to)) = (&incorporated_from, &incorporated_to)
            && from > to
        {
            return Err(CriteriaError::Contradiction(format!(
                "--incorporated-from {from} is after --incorporated-to {to}: no company can match"
            )));
        }
        let text = |v: Option<&str>| {
            v.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
        };
        Ok(Criteria {
            sic_codes,
            postcodes,
            location: text(given.location),
            statuses,
            types,
            incorporated_from,
            incorporated_to,
            name_includes: text(given.name_includes),
        })
    }

    /// Whether a company with these facts passes every filter but the
    /// free-text location (which only the API can judge).
    pub fn admits(&self, c: &Facts<'_>) -> bool {
        let name_ok = self.name_includes.as_ref().is_none_or(|words| {
            let name = c.name.to_lowercase();
            let name_words: Vec<&str> = name
                .split(|ch: char| !ch.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            words
                .to_lowercase()
                .split_whitespace()
                .all(|w| name_words.contains(&w))
        });
        self.admits_industry(c.sic_codes)
            && (self.postcodes.is_empty() || self.postcodes.iter().any(|p| p.matches(c.postcode)))
            && (self.statuses.is_empty()
                || c.status
                    .is_some_and(|s| self.statuses.iter().any(|k| k == s)))
            && (self.types.is_empty()
                || c.company_type
                    .is_some_and(|t| self.types.iter().any(|k| k == t)))
            && self
                .incorporated_from
                .as_ref()
                .is_none_or(|d| c.incorporated_on.is_some_and(|on| on >= d.as_str()))
            && self
                .incorporated_to
                .as_ref()
                .is_none_or(|d| c.incorporated_on.is_some_and(|on| on <= d.as_str()))
            && name_ok
    }

    /// Whether a company with these SIC codes is in the industry filter.
    pub fn admits_industry<S: AsRef<str>>(&self, codes: &[S]) -> bool {
        self.sic_codes
            .as_ref()
            .is_none_or(|wanted| codes.iter().any(|c| wanted.contains(c.as_ref())))
    }
}

/// A company `leadgen find` lists: what `discover` reads back
/// (`company_number`, `company_name`, `postcode`) and what the filters
/// looked at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    pub company_number: String,
    pub company_name: String,
    pub postcode: String,
    pub sic_codes: Vec<String>,
    pub company_status: Option<String>,
    pub company_type: Option<String>,
    pub incorporated_on: Option<String>,
    pub locality: String,
    pub region: String,
}

impl Listed {
    /// What the filters read of it.
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            name: &self.company_name,
            postcode: &self.postcode,
            sic_codes: &self.sic_codes,
            status: self.company_status.as_deref(),
            company_type: self.company_type.as_deref(),
            incorporated_on: self.incorporated_on.as_deref(),
        }
    }
}

/// What [`Criteria::admits`] reads of a company.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub name: &'a str,
    pub postcode: &'a str,
    pub sic_codes: &'a [String],
    pub status: Option<&'a str>,
    pub company_type: Option<&'a str>,
    pub incorporated_on: Option<&'a str>,
}

/// `YYYY-MM-DD` with a day that exists.
pub fn iso_date(text: &str) -> Option<String> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<u32>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ((1..=days).contains(&d) && y >= 1800).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(s: &str) -> Postcode {
        Postcode::parse(s).expect(s)
    }

    #[test]
    fn postcode_patterns_keep_to_their_district_or_area() {
        assert!(pc("LS1").matches("LS1 4AP") && !pc("LS1").matches("LS11 5AB"));
        assert!(pc("ls1*").matches("LS11 5AB") && pc("LS1*").matches("LS1 4AP"));
        assert!(pc("LS*").matches("LS27 0BN") && !pc("L*").matches("LS1 4AP"));
        assert!(pc("L*").matches("L1 8JQ"));
        assert!(pc("LS1 4AP").matches("ls1 4ap") && !pc("LS1 4AP").matches("LS1 4AQ"));
        assert!(pc("LS1 4").matches("LS1 4AP") && !pc("LS1 4").matches("LS1 5AP"));
        assert_eq!(pc("LS*").glob(), "LS[0-9]*");
        assert_eq!(pc("LS1").glob(), "LS1 *");
        assert_eq!(pc("LS1*").glob(), "LS1*");
        assert_eq!(pc("LS1 4").glob(), "LS1 4*");
        assert_eq!(pc("LS*").as_location(), None);
        assert_eq!(pc("ls1").as_location(), Some("LS1"));
        for bad in ["", "1LS", "LS", "LSX1", "LS1 4AP X", "LS1 AP", "LSS1"] {
            assert!(Postcode::parse(bad).is_err(), "{bad}");
        }
        let err = Postcode::parse("LS").expect_err("no district");
        assert!(err.to_string().starts_with("--postcode \"LS\""), "{err}");
    }

    #[test]
    fn dates_statuses_types_and_contradictions() {
        assert_eq!(iso_date("2020-02-29").as_deref(), Some("2020-02-29"));
        for bad in [
            "2019-02-29",
            "2020-13-01",
            "2020-1-01",
            "01/02/2020",
            "2020-04-31",
        ] {
            assert_eq!(iso_date(bad), None, "{bad}");
        }
        let known = |section: &str| match section {
            "company_status" => vec!["active", "dissolved", "liquidation"],
            _ => vec!["ltd", "llp", "plc"],
        };
        let statuses = ["Active".to_string()];
        let types = ["LTD".to_string(), "limited".to_string()];
        let c = Criteria::from_given(
            &Given {
                statuses: &statuses,
                types: &types,
                incorporated_to: Some("2019-12-31"),
                ..Given::default()
            },
            known,
        )
        .expect("valid");
        assert_eq!(c.statuses, ["active"]);
        assert_eq!(c.types, ["ltd", "ltd"]);
        let bad_status = ["trading".to_string()];
        let err = Criteria::from_given(
            &Given {
                statuses: &bad_status,
                ..Given::default()
            },
            known,
        )
        .expect_err("unknown status");
        assert!(err.to_string().contains("--status \"trading\""), "{err}");
        let err = Criteria::from_given(
            &Given {
                incorporated_from: Some("2021-01-01"),
                incorporated_to: Some("2020-01-01"),
                ..Given::default()
            },
            known,
        )
        .expect_err("contradiction");
        assert!(err.to_string().contains("no company can match"), "{err}");
        let err = Criteria::from_given(
            &Given {
                incorporated_from: Some("2021-31-01"),
                ..Given::default()
            },
            known,
        )
        .expect_err("bad date");
        assert!(err.to_string().contains("--incorporated-from"), "{err}");
    }

    #[test]
    fn admits_checks_every_filter() {
        let sic = ["43220".to_string()];
        let postcodes = ["LS*".to_string()];
        let statuses = ["active".to_string()];
        let c = Criteria::from_given(
            &Given {
                sic: &sic,
                postcodes: &postcodes,
                statuses: &statuses,
                incorporated_to: Some("2019-12-31"),
                name_includes: Some("heating"),
                ..Given::default()
            },
            |_| vec!["active", "ltd"],
        )
        .expect("valid");
        let codes = vec!["43220".to_string()];
        let good = Facts {
            name: "ACME PLUMBING & HEATING LTD",
            postcode: "LS12 3AB",
            sic_codes: &codes,
            status: Some("active"),
            company_type: Some("ltd"),
            incorporated_on: Some("2015-06-01"),
        };
        assert!(c.admits(&good));
        assert!(!c.admits(&Facts {
            postcode: "L1 8JQ",
            ..good
        }));
        assert!(!c.admits(&Facts {
            incorporated_on: Some("2020-01-01"),
            ..good
        }));
        assert!(!c.admits(&Facts {
            sic_codes: &[],
            ..good
        }));
        assert!(!c.admits(&Facts {
            name: "ACME PLUMBING LTD",
            ..good
        }));
        assert!(!c.admits(&Facts {
            status: Some("dissolved"),
            ..good
        }));
    }
}
