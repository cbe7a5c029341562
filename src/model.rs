//! The domain records that flow between the steps of the pipeline.
//!
//! Sources turn their API's JSON into these; merge and output read only
//! these, so no step after a source knows any API's wire format.

use serde::Serialize;

use crate::company_number::CompanyNumber;

/// A company as the register describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Company {
    pub company_number: CompanyNumber,
    pub company_name: String,
    pub company_status: Option<String>,
    pub company_type: Option<String>,
    pub date_of_creation: Option<String>,
    pub registered_office_postcode: Option<String>,
    pub sic_codes: Vec<String>,
    /// Where these facts came from: `api`, or `register 2026-11-01` (the
    /// local copy of the register and its snapshot date).
    pub source: String,
    /// The company's PSC statements, fetched only when it lists no PSC:
    /// why there is none to name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub psc_statements: Vec<PscStatement>,
}

/// A PSC statement (`pscModels.json#statement`): what the company says
/// about its persons with significant control, e.g. that it has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PscStatement {
    /// The register's key (`no-individual-or-entity-with-signficant-control`,
    /// spelt as the API spells it).
    pub statement: String,
    /// What it says (Companies House's api-enumerations text).
    pub text: Option<String>,
    pub notified_on: Option<String>,
    pub ceased_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_psc_name: Option<String>,
}

/// A PSC the register holds but does not show (`super-secure-...`): the
/// person's details are protected, so there is no name to report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedPsc {
    /// `super-secure-person-with-significant-control` or
    /// `super-secure-beneficial-owner`.
    pub kind: String,
    /// The item's `description` key.
    pub description: Option<String>,
    /// What it means (Companies House's api-enumerations text).
    pub text: Option<String>,
    /// `false` once the item says `ceased`.
    pub active: bool,
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The company's officer list on the register.
    CompaniesHouseOfficers,
    /// The company's register of persons with significant control.
    CompaniesHousePsc,
    /// An X profile the company's official account vouches for.
    XProfile,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::CompaniesHouseOfficers => "companies_house_officers",
            SourceKind::CompaniesHousePsc => "companies_house_psc",
            SourceKind::XProfile => "x_profile",
        }
    }
}

/// Month and year of birth: all the public register shows, and enough to
/// tell two people of the same name apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BirthMonth {
    pub year: u16,
    pub month: u8,
}

/// The role a person or organisation holds, as the register names it
/// (`director`, `llp-designated-member`, ...); a PSC's role is
/// `person-with-significant-control`.
pub const PSC_ROLE: &str = "person-with-significant-control";

/// One appearance of a natural person in one source.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub source: SourceKind,
    pub title: Option<String>,
    pub given_name: Option<String>,
    pub family_name: String,
    pub role: String,
    /// Not resigned (officers) or not ceased (PSCs).
    pub active: bool,
    pub appointed_on: Option<String>,
    /// Pre-1992 appointments carry only this.
    pub appointed_before: Option<String>,
    pub resigned_on: Option<String>,
    pub occupation: Option<String>,
    pub nationality: Option<String>,
    pub country_of_residence: Option<String>,
    pub birth: Option<BirthMonth>,
    pub natures_of_control: Vec<String>,
    /// The provider's identifier of the person when it has one (Companies
    /// House officer id from `links.officer.appointments`).
    pub person_id: Option<String>,
    /// A link to the record (absolute URL or API path).
    pub link: Option<String>,
}

/// A body corporate or legal person holding a role.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationRecord {
    pub source: SourceKind,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub appointed_on: Option<String>,
    /// A pre-1992 appointment: no date, only the date it was made before.
    pub appointed_before: Option<String>,
    pub resigned_on: Option<String>,
    pub identification: Option<Registration>,
    pub natures_of_control: Vec<String>,
    pub link: Option<String>,
}

/// Where and how a body corporate is registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub registration_number: Option<String>,
    pub legal_form: Option<String>,
    pub place_registered: Option<String>,
}

/// Everything the sources found about one company.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub people: Vec<PersonRecord>,
    pub organisations: Vec<OrganisationRecord>,
}
