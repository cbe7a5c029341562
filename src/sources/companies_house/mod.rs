//! Companies House public data API: search, company profile, officers and
//! persons with significant control, turned into [`crate::model`] records.

pub mod client;
pub mod names;
pub mod policy;
pub mod roles;
pub mod types;

pub use client::{Client, DEFAULT_BASE_URL};

use crate::company_name::ends_with_designator;
use crate::company_number::CompanyNumber;
use crate::model::{
    BirthMonth, Company, Findings, OrganisationRecord, PSC_ROLE, PersonRecord, ProtectedPsc,
    PscStatement, Registration, SourceKind,
};
use names::{parse_officer_name, parse_psc_name};
use roles::OfficerRole;
use types::{CompanyProfile, Identification, OfficerSummary, PartialDate, Psc, PscStatementItem};

/// The public web pages (not the API) a user can open.
pub const WEB_BASE_URL: &str = "https://find-and-update.company-information.service.gov.uk";

/// The company as the profile describes it.
pub fn company(profile: &CompanyProfile, fallback_number: &CompanyNumber) -> Company {
    Company {
        company_number: CompanyNumber::parse(&profile.company_number)
            .unwrap_or_else(|_| fallback_number.clone()),
        company_name: profile.company_name.clone().unwrap_or_default(),
        company_status: profile.company_status.clone(),
        company_type: profile.company_type.clone(),
        date_of_creation: profile.date_of_creation.clone(),
        registered_office_postcode: profile
            .registered_office_address
            .as_ref()
            .and_then(|a| a.postal_code.clone()),
        sic_codes: profile.sic_codes.clone(),
        source: "api".to_owned(),
        psc_statements: Vec::new(),
    }
}

/// The texts of api-enumerations' `psc_descriptions.yml` that leadgen
/// reports: `statement_description` and `super_secure_description`.
fn psc_text(section: &str, key: &str) -> Option<String> {
    include_str!("../../../data/psc_descriptions.tsv")
        .lines()
        .filter_map(|l| {
            let mut cols = l.splitn(3, '\t');
            Some((cols.next()?, cols.next()?, cols.next()?))
        })
        .find(|(s, k, _)| *s == section && *k == key)
        .map(|(_, _, text)| text.to_owned())
}

/// The PSCs whose details the register protects (super-secure items, which
/// have no name): reported as such rather than dropped.
/// Ceased ones only with `include_ceased`.
pub fn protected_pscs(pscs: &[Psc], include_ceased: bool) -> Vec<ProtectedPsc> {
    pscs.iter()
        .filter(|p| {
            p.kind
                .as_deref()
                .is_some_and(|k| k.starts_with("super-secure-"))
        })
        .map(|p| ProtectedPsc {
            kind: p.kind.clone().unwrap_or_default(),
            description: p.description.clone(),
            text: p
                .description
                .as_deref()
                .and_then(|d| psc_text("super_secure_description", d)),
            active: p.ceased != Some(true) && p.ceased_on.is_none(),
        })
        .filter(|p| p.active || include_ceased)
        .collect()
}

/// PSC statements as reported; ceased ones only with `include_ceased`.
pub fn psc_statements(items: &[PscStatementItem], include_ceased: bool) -> Vec<PscStatement> {
    items
        .iter()
        .filter(|s| include_ceased || s.ceased_on.is_none())
        .filter_map(|s| {
            let statement = s.statement.clone()?;
            let text =
                psc_text("statement_description", &statement).map(|t| match &s.linked_psc_name {
                    Some(name) => t.replace("{linked_psc_name}", name),
                    None => t,
                });
            Some(PscStatement {
                statement,
                text,
                notified_on: s.notified_on.clone(),
                ceased_on: s.ceased_on.clone(),
                linked_psc_name: s.linked_psc_name.clone(),
            })
        })
        .collect()
}

/// Officers and PSCs as people and organisations. Resigned officers and
/// ceased PSCs are kept, marked inactive; the caller decides what to show.
pub fn findings(company: &CompanyNumber, officers: &[OfficerSummary], pscs: &[Psc]) -> Findings {
    let mut out = Findings::default();
    for officer in officers {
        let role = OfficerRole::parse(officer.officer_role.as_deref().unwrap_or("unknown"));
        let active = officer.resigned_on.is_none();
        let link =
            officer_id(officer).map(|id| format!("{WEB_BASE_URL}/officers/{id}/appointments"));
        if role.is_corporate() || officer.identification.is_some() || looks_corporate(&officer.name)
        {
            out.organisations.push(OrganisationRecord {
                source: SourceKind::CompaniesHouseOfficers,
                name: officer.name.trim().to_string(),
                role: role.key().to_string(),
                active,
                appointed_on: officer.appointed_on.clone(),
                appointed_before: officer.appointed_before.clone(),
                resigned_on: officer.resigned_on.clone(),
                natures_of_control: vec![],
                identification: officer.identification.as_ref().map(registration),
                link,
            });
            continue;
        }
        let name = parse_officer_name(&officer.name);
        out.people.push(PersonRecord {
            source: SourceKind::CompaniesHouseOfficers,
            title: name.title,
            given_name: name.given_name,
            family_name: name.family_name,
            role: role.key().to_string(),
            active,
            appointed_on: officer.appointed_on.clone(),
            appointed_before: officer.appointed_before.clone(),
            resigned_on: officer.resigned_on.clone(),
            occupation: officer.occupation.clone(),
            nationality: officer.nationality.clone(),
            country_of_residence: officer.country_of_residence.clone(),
            birth: officer.date_of_birth.and_then(birth_month),
            natures_of_control: vec![],
            person_id: officer_id(officer),
            link,
        });
    }
    for psc in pscs {
        let kind = psc.kind.as_deref().unwrap_or("");
        let active = psc.ceased_on.is_none() && psc.ceased != Some(true);
        let Some(raw_name) = psc.name.as_deref().filter(|n| !n.trim().is_empty()) else {
            // Super-secure PSCs have no name: see `protected_pscs`.
            continue;
        };
        let link = Some(format!(
            "{WEB_BASE_URL}/company/{company}/persons-with-significant-control"
        ));
        let is_person =
            kind.starts_with("individual-") || (kind.is_empty() && psc.name_elements.is_some());
        if !is_person {
            out.organisations.push(OrganisationRecord {
                source: SourceKind::CompaniesHousePsc,
                name: raw_name.trim().to_string(),
                role: PSC_ROLE.to_string(),
                active,
                appointed_on: psc.notified_on.clone(),
                appointed_before: None,
                resigned_on: psc.ceased_on.clone(),
                natures_of_control: psc.natures_of_control.clone(),
                identification: psc.identification.as_ref().map(registration),
                link,
            });
            continue;
        }
        let name = parse_psc_name(raw_name, psc.name_elements.as_ref());
        out.people.push(PersonRecord {
            source: SourceKind::CompaniesHousePsc,
            title: name.title,
            given_name: name.given_name,
            family_name: name.family_name,
            role: PSC_ROLE.to_string(),
            active,
            appointed_on: psc.notified_on.clone(),
            appointed_before: None,
            resigned_on: psc.ceased_on.clone(),
            occupation: None,
            nationality: psc.nationality.clone(),
            country_of_residence: psc.country_of_residence.clone(),
            birth: psc.date_of_birth.and_then(birth_month),
            natures_of_control: psc.natures_of_control.clone(),
            person_id: None,
            link,
        });
    }
    out
}

/// The opaque officer id in `links.officer.appointments` (`/officers/{id}/appointments`).
fn officer_id(officer: &OfficerSummary) -> Option<String> {
    let path = officer
        .links
        .as_ref()?
        .officer
        .as_ref()?
        .appointments
        .as_deref()?;
    let id = path.strip_prefix("/officers/")?.split('/').next()?;
    (!id.is_empty()).then(|| id.to_string())
}

fn birth_month(d: PartialDate) -> Option<BirthMonth> {
    match (d.year, d.month) {
        (Some(year), Some(month)) if (1..=12).contains(&month) => Some(BirthMonth { year, month }),
        _ => None,
    }
}

fn registration(id: &Identification) -> Registration {
    Registration {
        registration_number: id.registration_number.clone(),
        legal_form: id.legal_form.clone(),
        place_registered: id
            .place_registered
            .clone()
            .or_else(|| id.country_registered.clone()),
    }
}

/// A person's name on an officer list has a comma ("SURNAME, Forenames");
/// a company's name has none and ends with a designator.
fn looks_corporate(name: &str) -> bool {
    !name.contains(',') && ends_with_designator(name)
}
