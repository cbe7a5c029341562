//! Companies House JSON, as the official Swagger spec and the recorded
//! responses under `shared/realdata/companies_house` define it.
//!
//! Only the members leadgen reads are declared; unknown members are ignored
//! (the developer guidelines say new ones appear without notice) and almost
//! everything is optional, because real responses omit what the spec calls
//! required and send `null` where it says string.

use serde::Deserialize;

/// `CompanySearch` (`/search/companies`).
#[derive(Debug, Clone, Deserialize)]
pub struct CompanySearch {
    #[serde(default)]
    pub items: Vec<CompanySearchItem>,
    pub total_results: Option<u64>,
    pub items_per_page: Option<u64>,
    pub start_index: Option<u64>,
}

/// `CompanySearchItems`.
#[derive(Debug, Clone, Deserialize)]
pub struct CompanySearchItem {
    pub company_number: String,
    /// The company name. Missing in some real responses; such an item cannot be matched.
    pub title: Option<String>,
    pub company_status: Option<String>,
    pub company_type: Option<String>,
    pub date_of_creation: Option<String>,
    pub address: Option<Address>,
    pub address_snippet: Option<String>,
    /// The text the search matched besides the title, e.g. a previous name.
    pub snippet: Option<String>,
}

/// `advancedCompanySearch` (`/advanced-search/companies`,
/// `search-companies.json#searchAdvanced`).
#[derive(Debug, Clone, Deserialize)]
pub struct AdvancedCompanySearch {
    #[serde(default)]
    pub items: Vec<AdvancedCompany>,
    /// "The number of matches found using advanced search": a string in
    /// the spec; a number is taken too.
    #[serde(default, deserialize_with = "count_text")]
    pub hits: Option<u64>,
}

/// `advancedCompany`.
#[derive(Debug, Clone, Deserialize)]
pub struct AdvancedCompany {
    pub company_number: String,
    pub company_name: Option<String>,
    pub company_status: Option<String>,
    pub company_type: Option<String>,
    pub date_of_creation: Option<String>,
    pub registered_office_address: Option<Address>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sic_codes: Vec<String>,
}

/// `companyProfile` (`/company/{company_number}`).
#[derive(Debug, Clone, Deserialize)]
pub struct CompanyProfile {
    pub company_number: String,
    pub company_name: Option<String>,
    pub company_status: Option<String>,
    #[serde(rename = "type")]
    pub company_type: Option<String>,
    pub date_of_creation: Option<String>,
    pub date_of_cessation: Option<String>,
    pub registered_office_address: Option<Address>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sic_codes: Vec<String>,
}

/// `address` / `registeredOfficeAddress`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Address {
    pub premises: Option<String>,
    pub address_line_1: Option<String>,
    pub address_line_2: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// `officerList` (`/company/{company_number}/officers`).
#[derive(Debug, Clone, Deserialize)]
pub struct OfficerList {
    #[serde(default)]
    pub items: Vec<OfficerSummary>,
    pub total_results: Option<u64>,
    pub items_per_page: Option<u64>,
    pub start_index: Option<u64>,
    pub active_count: Option<u64>,
    pub resigned_count: Option<u64>,
}

/// `appointmentList` (`/officers/{officer_id}/appointments`).
#[derive(Debug, Clone, Deserialize)]
pub struct AppointmentList {
    #[serde(default)]
    pub items: Vec<AppointmentItem>,
    pub total_results: Option<u64>,
    pub is_corporate_officer: Option<bool>,
}

/// `officerAppointmentSummary`.
#[derive(Debug, Clone, Deserialize)]
pub struct AppointmentItem {
    pub appointed_to: Option<AppointedTo>,
    pub officer_role: Option<String>,
    pub appointed_on: Option<String>,
    pub appointed_before: Option<String>,
    pub resigned_on: Option<String>,
}

/// `appointed_to`.
#[derive(Debug, Clone, Deserialize)]
pub struct AppointedTo {
    pub company_number: Option<String>,
    pub company_name: Option<String>,
    pub company_status: Option<String>,
}

/// `officerSummary`.
#[derive(Debug, Clone, Deserialize)]
pub struct OfficerSummary {
    pub name: String,
    pub officer_role: Option<String>,
    pub appointed_on: Option<String>,
    /// Pre-1992 appointments have no `appointed_on`, only this.
    pub appointed_before: Option<String>,
    pub is_pre_1992_appointment: Option<bool>,
    pub resigned_on: Option<String>,
    pub occupation: Option<String>,
    pub nationality: Option<String>,
    pub country_of_residence: Option<String>,
    pub date_of_birth: Option<PartialDate>,
    pub identification: Option<Identification>,
    pub links: Option<OfficerLinks>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OfficerLinks {
    #[serde(rename = "self")]
    pub self_link: Option<String>,
    pub officer: Option<OfficerLink>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OfficerLink {
    pub appointments: Option<String>,
}

/// `dateOfBirth`: month and year only in the public lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub struct PartialDate {
    pub month: Option<u8>,
    pub year: Option<u16>,
}

/// `corporateIdent` / `corporateEntityIdent`.
#[derive(Debug, Clone, Deserialize)]
pub struct Identification {
    pub identification_type: Option<String>,
    pub legal_authority: Option<String>,
    pub legal_form: Option<String>,
    pub place_registered: Option<String>,
    pub registration_number: Option<String>,
    pub country_registered: Option<String>,
}

/// The PSC `list` (`/company/{company_number}/persons-with-significant-control`).
#[derive(Debug, Clone, Deserialize)]
pub struct PscList {
    #[serde(default)]
    pub items: Vec<Psc>,
    pub total_results: Option<u64>,
    pub items_per_page: Option<u64>,
    pub start_index: Option<u64>,
    pub active_count: Option<u64>,
    pub ceased_count: Option<u64>,
}

/// `listSummary`: one PSC of any kind.
#[derive(Debug, Clone, Deserialize)]
pub struct Psc {
    pub kind: Option<String>,
    /// A protected (super-secure) item's only description.
    pub description: Option<String>,
    pub name: Option<String>,
    pub name_elements: Option<NameElements>,
    pub notified_on: Option<String>,
    pub ceased_on: Option<String>,
    pub ceased: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub natures_of_control: Vec<String>,
    pub nationality: Option<String>,
    pub country_of_residence: Option<String>,
    pub date_of_birth: Option<PartialDate>,
    pub identification: Option<Identification>,
    pub links: Option<PscLinks>,
}

/// `statementList`: a page of PSC statements.
#[derive(Debug, Clone, Deserialize)]
pub struct PscStatementList {
    #[serde(default)]
    pub items: Vec<PscStatementItem>,
    pub total_results: Option<u64>,
}

/// `statement` (pscModels.json).
#[derive(Debug, Clone, Deserialize)]
pub struct PscStatementItem {
    pub kind: Option<String>,
    pub statement: Option<String>,
    pub notified_on: Option<String>,
    pub ceased_on: Option<String>,
    pub linked_psc_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PscLinks {
    #[serde(rename = "self")]
    pub self_link: Option<String>,
}

/// `nameElements`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NameElements {
    pub title: Option<String>,
    pub forename: Option<String>,
    pub middle_name: Option<String>,
    pub surname: Option<String>,
}

/// `errorModel`: `{"errors":[{"error":"company-profile-not-found","type":"ch:service"}]}`,
/// and the 401 shape `{"error":"Invalid Authorization","type":"ch:service"}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
    pub error: Option<String>,
    #[serde(rename = "type")]
    pub error_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorItem {
    pub error: Option<String>,
    #[serde(rename = "type")]
    pub error_type: Option<String>,
}

impl ErrorBody {
    /// The first error code the body names, in either shape.
    pub fn code(&self) -> Option<&str> {
        self.errors
            .iter()
            .find_map(|e| e.error.as_deref())
            .or(self.error.as_deref())
    }
}

fn count_text<'de, D>(d: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Count {
        Text(String),
        Number(u64),
    }
    Ok(match Option::<Count>::deserialize(d)? {
        Some(Count::Text(t)) => t.trim().parse().ok(),
        Some(Count::Number(n)) => Some(n),
        None => None,
    })
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
