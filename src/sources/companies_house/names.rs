//! People's names as Companies House writes them.
//!
//! Officer lists say `"SURNAME, Forenames"`; PSC lists say
//! `"Mr Forenames Surname"` with `name_elements` beside it. Both become a
//! [`PersonName`] displayed in normal case.

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
        unimplemented!("names helper")
    }
}

/// Parse an officer-list name: "SMITH, John David".
pub fn parse_officer_name(raw: &str) -> PersonName {
    let _ = raw;
    unimplemented!("names helper")
}

/// Parse a PSC name: "Mr John David Smith", preferring `name_elements` when present.
pub fn parse_psc_name(raw: &str, elements: Option<&NameElements>) -> PersonName {
    let _ = (raw, elements);
    unimplemented!("names helper")
}

/// "MCDONALD" -> "McDonald", "o'brien" -> "O'Brien", "SMITH-JONES" -> "Smith-Jones".
pub fn normal_case(s: &str) -> String {
    let _ = s;
    unimplemented!("names helper")
}
