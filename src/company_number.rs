//! Company numbers in the register's 8-character form.

use std::fmt;

use serde::{Serialize, Serializer};

/// A Companies House company number, always 8 characters: digits padded
/// with zeros (`473109` -> `00473109`), letter prefixes kept and the digits
/// after them padded (`SC123` -> `SC000123`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompanyNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a company number: {reason}")]
pub struct InvalidCompanyNumber {
    pub input: String,
    pub reason: &'static str,
}

impl CompanyNumber {
    /// Normalise what a user typed. Spaces are dropped and letters upper-cased.
    pub fn parse(input: &str) -> Result<CompanyNumber, InvalidCompanyNumber> {
        let invalid = |reason| InvalidCompanyNumber {
            input: input.to_string(),
            reason,
        };
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if compact.is_empty() {
            return Err(invalid("it is empty"));
        }
        if !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid("only letters and digits are allowed"));
        }
        if compact.len() > 8 {
            return Err(invalid("it is longer than 8 characters"));
        }
        let prefix_len = compact
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        let (prefix, rest) = compact.split_at(prefix_len);
        if prefix.len() > 2 {
            return Err(invalid("at most two letters may lead it"));
        }
        if rest.is_empty() {
            return Err(invalid("it has no digits"));
        }
        if compact.len() == 8 {
            // Already in register form; some forms (e.g. `R0000001`... ) keep letters inside.
            return Ok(CompanyNumber(compact));
        }
        if !rest.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid("letters may only lead it"));
        }
        let width = 8 - prefix.len();
        Ok(CompanyNumber(format!("{prefix}{rest:0>width$}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CompanyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for CompanyNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> String {
        CompanyNumber::parse(s).unwrap().to_string()
    }

    #[test]
    fn pads_digits_to_eight() {
        assert_eq!(n("473109"), "00473109");
        assert_eq!(n("4475590"), "04475590");
        assert_eq!(n("04475590"), "04475590");
        assert_eq!(n("6"), "00000006");
    }

    #[test]
    fn keeps_prefixes_and_pads_after_them() {
        assert_eq!(n("SC123456"), "SC123456");
        assert_eq!(n("sc12345"), "SC012345");
        assert_eq!(n("NI 1234"), "NI001234");
        assert_eq!(n("OC301540"), "OC301540");
        assert_eq!(n("FC1"), "FC000001");
        assert_eq!(n("R0000001"), "R0000001");
    }

    #[test]
    fn rejects_what_cannot_be_a_number() {
        for bad in ["", "   ", "123456789", "ABC123", "12-345", "SC", "1A2"] {
            assert!(CompanyNumber::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn normalised_numbers_are_eight_chars_and_stable(s in "[A-Za-z]{0,2}[0-9]{1,6}") {
            let a = CompanyNumber::parse(&s).unwrap();
            prop_assert_eq!(a.as_str().len(), 8);
            prop_assert_eq!(CompanyNumber::parse(a.as_str()).unwrap(), a);
        }

        #[test]
        fn never_panics(s in ".{0,20}") {
            let _ = CompanyNumber::parse(&s);
        }
    }
}
