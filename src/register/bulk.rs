//! Reading Companies House's free company data product (BasicCompanyData):
//! a CSV of every live company, one row each, as documented in
//! `../shared/docs/companies-house-api.md` section 5.
//!
//! - Header names are trimmed (about 14 carry a leading space) and columns
//!   are found by name, so a reordered or extended file still reads.
//! - Every field is double-quoted and may hold a newline; the csv crate
//!   reads that.
//! - Bytes that are not UTF-8 are replaced and the row counted, never
//!   dropped.
//! - Status and category are human text ("Active - Proposal to Strike
//!   off", "Private Limited Company"), mapped back to the API's keys by the
//!   api-enumerations descriptions (`data/company_enumerations.tsv`).
//! - Dates are `DD/MM/YYYY`; SIC codes come as "43220 - Plumbing, heat and
//!   air-conditioning installation".

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::company_number::CompanyNumber;

/// One company as the bulk file gives it, in the API's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BulkCompany {
    pub number: String,
    pub name: String,
    /// `active`, ... (the API's `company_status`); `None` when the text is
    /// not one the enumerations know (kept in `status_text`).
    pub status: Option<String>,
    pub status_detail: Option<String>,
    pub status_text: String,
    pub company_type: Option<String>,
    pub subtype: Option<String>,
    pub category_text: String,
    pub incorporated_on: Option<String>,
    pub dissolved_on: Option<String>,
    pub country_of_origin: String,
    pub care_of: String,
    pub po_box: String,
    pub address_line_1: String,
    pub address_line_2: String,
    pub locality: String,
    pub region: String,
    pub country: String,
    pub postal_code: String,
    /// (code, description), at most four.
    pub sic: Vec<(String, String)>,
    /// (name, ceased_on ISO date), most recent first as the file lists them.
    pub previous_names: Vec<(String, Option<String>)>,
}

/// Why a row was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// The columns of one file, found by trimmed name.
#[derive(Debug, Clone)]
pub struct Columns {
    index: HashMap<String, usize>,
    width: usize,
}

/// The columns without which a file is not the company register.
const REQUIRED: [&str; 2] = ["CompanyName", "CompanyNumber"];

impl Columns {
    /// Reads the header; `Err` names what is missing when this is not a
    /// BasicCompanyData file.
    pub fn from_header(header: &csv::ByteRecord) -> Result<Columns, String> {
        let index: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, name)| (String::from_utf8_lossy(name).trim().to_owned(), i))
            .collect();
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|c| !index.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "not a Companies House BasicCompanyData file: no {} column (its header starts {:?})",
                missing.join(" or "),
                header
                    .iter()
                    .take(3)
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect::<Vec<_>>()
            ));
        }
        Ok(Columns {
            index,
            width: header.len(),
        })
    }

    /// Reads one row; the `bool` says whether bytes had to be replaced.
    pub fn company(&self, row: &csv::ByteRecord, line: u64) -> Result<(BulkCompany, bool), BadRow> {
        let bad = |reason: String| BadRow { line, reason };
        if row.len() < self.width {
            return Err(bad(format!(
                "{} fields where the header has {}",
                row.len(),
                self.width
            )));
        }
        let mut lossy = false;
        let mut get = |name: &str| -> String {
            let Some(field) = self.index.get(name).and_then(|&i| row.get(i)) else {
                return String::new();
            };
            match std::str::from_utf8(field) {
                Ok(s) => s.trim().to_owned(),
                Err(_) => {
                    lossy = true;
                    String::from_utf8_lossy(field).trim().to_owned()
                }
            }
        };
        let number_text = get("CompanyNumber");
        let number = CompanyNumber::parse(&number_text)
            .map_err(|e| bad(format!("CompanyNumber {number_text:?}: {e}")))?;
        let name = get("CompanyName");
        if name.is_empty() {
            return Err(bad(format!("company {number}: empty CompanyName")));
        }
        let status_text = get("CompanyStatus");
        let (status, status_detail) = status_keys(&status_text);
        let category_text = get("CompanyCategory");
        let (company_type, subtype) = category_keys(&category_text);
        let sic = (1..=4)
            .filter_map(|i| sic_code(&get(&format!("SICCode.SicText_{i}"))))
            .collect();
        let previous_names = (1..=10)
            .filter_map(|i| {
                let name = get(&format!("PreviousName_{i}.CompanyName"));
                (!name.is_empty())
                    .then(|| (name, iso_date(&get(&format!("PreviousName_{i}.CONDATE")))))
            })
            .collect();
        let company = BulkCompany {
            number: number.to_string(),
            name,
            status,
            status_detail,
            status_text,
            company_type,
            subtype,
            category_text,
            incorporated_on: iso_date(&get("IncorporationDate")),
            dissolved_on: iso_date(&get("DissolutionDate")),
            country_of_origin: get("CountryOfOrigin"),
            care_of: get("RegAddress.CareOf"),
            po_box: get("RegAddress.POBox"),
            address_line_1: get("RegAddress.AddressLine1"),
            address_line_2: get("RegAddress.AddressLine2"),
            locality: get("RegAddress.PostTown"),
            region: get("RegAddress.County"),
            country: get("RegAddress.Country"),
            postal_code: get("RegAddress.PostCode"),
            sic,
            previous_names,
        };
        Ok((company, lossy))
    }
}

/// `DD/MM/YYYY` as `YYYY-MM-DD`; `None` for an empty or malformed date.
pub fn iso_date(text: &str) -> Option<String> {
    let mut parts = text.trim().split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (d, m, y): (u32, u32, u32) = (d.parse().ok()?, m.parse().ok()?, y.parse().ok()?);
    ((1..=31).contains(&d) && (1..=12).contains(&m) && (1000..=9999).contains(&y))
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// "43220 - Plumbing, heat and air-conditioning installation" as its code
/// and text; `None` for an empty field or "None Supplied".
pub fn sic_code(text: &str) -> Option<(String, String)> {
    let (code, description) = match text.split_once(" - ") {
        Some((c, d)) => (c.trim(), d.trim()),
        None => (text.trim(), ""),
    };
    (!code.is_empty() && code.chars().all(|c| c.is_ascii_digit()))
        .then(|| (code.to_owned(), description.to_owned()))
}

/// The enumerations' descriptions, keyed by section then normalised text.
static ENUMERATIONS: LazyLock<HashMap<&'static str, HashMap<String, &'static str>>> =
    LazyLock::new(|| {
        let mut sections: HashMap<&'static str, HashMap<String, &'static str>> = HashMap::new();
        for line in include_str!("../../data/company_enumerations.tsv").lines() {
            let mut fields = line.split('\t');
            if let (Some(section), Some(key), Some(text)) =
                (fields.next(), fields.next(), fields.next())
                && !text.is_empty()
            {
                // The first key listed for a text wins (three ICVC keys
                // share one description; the plain one is listed last).
                sections
                    .entry(section)
                    .or_default()
                    .entry(normalised(text))
                    .or_insert(key);
            }
        }
        sections
    });

/// Lower case, a trailing "(abbreviation)" dropped, letters and digits
/// only, single spaces: "Community Interest Company (CIC)" and
/// "community interest company" read alike.
fn normalised(text: &str) -> String {
    let text = match text
        .trim_end()
        .strip_suffix(')')
        .and_then(|t| t.rsplit_once(" ("))
    {
        Some((head, _)) => head,
        None => text,
    };
    text.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The keys of an enumerations section (`company_status`,
/// `company_type`, ...), sorted; none for a section it does not hold.
pub fn keys(section: &str) -> Vec<&'static str> {
    // From the file, not the text map: keys sharing one text all count.
    let mut keys: Vec<&'static str> = include_str!("../../data/company_enumerations.tsv")
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            (fields.next() == Some(section))
                .then(|| fields.next())
                .flatten()
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn lookup(section: &str, text: &str) -> Option<String> {
    ENUMERATIONS
        .get(section)?
        .get(&normalised(text))
        .map(|k| (*k).to_owned())
}

/// "Active - Proposal to Strike off": status `active`, detail
/// `active-proposal-to-strike-off`.
pub fn status_keys(text: &str) -> (Option<String>, Option<String>) {
    let (head, detail) = match text.split_once(" - ") {
        Some((h, d)) => (h, Some(d)),
        None => (text, None),
    };
    let status = lookup("company_status", head);
    let detail = detail.and_then(|d| {
        lookup("company_status_detail", &format!("{head} {d}"))
            .or_else(|| lookup("company_status_detail", d))
    });
    (status, detail)
}

/// "Private Limited Company": type `ltd`; "Community Interest Company":
/// subtype `community-interest-company` (its type is not in the file).
pub fn category_keys(text: &str) -> (Option<String>, Option<String>) {
    match lookup("company_type", text) {
        Some(t) => (Some(t), None),
        None => (None, lookup("company_subtype", text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_text_maps_to_the_api_keys() {
        assert_eq!(status_keys("Active"), (Some("active".into()), None));
        assert_eq!(
            status_keys("Active - Proposal to Strike off"),
            (
                Some("active".into()),
                Some("active-proposal-to-strike-off".into())
            )
        );
        assert_eq!(
            status_keys("In Administration").0.as_deref(),
            Some("administration")
        );
        assert_eq!(status_keys("Something New"), (None, None));
        assert_eq!(
            category_keys("Private Limited Company").0.as_deref(),
            Some("ltd")
        );
        assert_eq!(
            category_keys("Limited Liability Partnership").0.as_deref(),
            Some("llp")
        );
        assert_eq!(
            category_keys("Public Limited Company").0.as_deref(),
            Some("plc")
        );
        assert_eq!(
            category_keys("Community Interest Company").1.as_deref(),
            Some("community-interest-company")
        );
        assert_eq!(
            category_keys("Investment Company with Variable Capital")
                .0
                .as_deref(),
            Some("icvc-securities")
        );
    }

    #[test]
    fn dates_and_sic_codes() {
        assert_eq!(iso_date("01/11/2026").as_deref(), Some("2026-11-01"));
        assert_eq!(iso_date(""), None);
        assert_eq!(iso_date("31/13/2020"), None);
        assert_eq!(
            sic_code("43220 - Plumbing, heat and air-conditioning installation"),
            Some((
                "43220".into(),
                "Plumbing, heat and air-conditioning installation".into()
            ))
        );
        assert_eq!(sic_code("None Supplied"), None);
        assert_eq!(sic_code(""), None);
    }
}
