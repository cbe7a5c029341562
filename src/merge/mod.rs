//! One executive per real person per company, however many records name them.
//!
//! Records are the same person when their family names agree, their
//! forenames are compatible ("John" vs "John David"), and nothing tells
//! them apart: a different month/year of birth, or (for two officer
//! records) different officer ids with no birth date to prove them the
//! same. When a record fits more than one person, it is kept apart rather
//! than guessed into one.

pub mod score;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{
    BirthMonth, Findings, OrganisationRecord, PersonRecord, Registration, SourceKind,
};
use crate::seniority::{self, Board, Seniority};
use crate::sources::social::{Platform, VerifiedProfile};

/// What the user asked to see.
#[derive(Debug, Clone, Copy, Default)]
pub struct MergeOptions {
    /// Keep resigned officers and ceased PSCs.
    pub include_resigned: bool,
    /// Output month/year of birth.
    pub include_birth: bool,
    /// Keep only the executives whose seniority is `executive`.
    pub executives_only: bool,
}

/// A person with one or more roles at the company.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Executive {
    /// Display name in normal case: "Elizabeth Mary Stevenson".
    pub name: String,
    pub given_name: Option<String>,
    pub family_name: String,
    /// Role keys as the register names them; current roles first.
    pub roles: Vec<String>,
    /// Earliest appointment among the roles shown (for a PSC only: the date notified).
    pub appointed_on: Option<String>,
    /// Pre-1992 appointments carry no date, only the date they were made before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointed_before: Option<String>,
    /// Set when every role shown has ended (only with `--include-resigned`).
    pub resigned_on: Option<String>,
    pub occupation: Option<String>,
    pub nationality: Option<String>,
    pub country_of_residence: Option<String>,
    pub natures_of_control: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<BirthMonth>,
    pub sources: Vec<SourceKind>,
    /// Social profiles the company's official account vouches for.
    pub profiles: Vec<Profile>,
    /// How many independent sources name this person (register officer
    /// list, PSC register, a verified social profile).
    pub verified_by: usize,
    pub confidence: f64,
    /// Executive, non-executive, secretary, ... ([`crate::seniority`]), and
    /// the rule that decided it.
    pub seniority: Seniority,
    pub seniority_basis: String,
    /// With `--appointments`: who else they are.
    #[serde(flatten)]
    pub directorships: Directorships,
    /// The register's officer id (from `links.officer.appointments`).
    #[serde(skip)]
    pub officer_id: Option<String>,
    pub links: BTreeMap<String, String>,
    /// The register's evidence before the match and social factors (see
    /// [`score`]); kept to rescore when social sources confirm the person.
    #[serde(skip)]
    pub evidence: f64,
}

/// An officer's other appointments (`--appointments`), from their
/// appointments list: every page of `/officers/{id}/appointments`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Directorships {
    /// Active appointments, at every company (this one included).
    #[serde(rename = "appointments_count", skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Appointments at other companies, active and resigned.
    #[serde(rename = "other_appointments", skip_serializing_if = "Option::is_none")]
    pub other: Option<Vec<Appointment>>,
    /// Why there is no list (no appointments link, 404, a failed call).
    #[serde(rename = "appointments_note", skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One appointment at another company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appointment {
    pub company_number: String,
    pub company_name: Option<String>,
    pub company_status: Option<String>,
    pub role: Option<String>,
    pub appointed_on: Option<String>,
    pub resigned_on: Option<String>,
}

/// A verified social profile of an executive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub platform: Platform,
    pub id: String,
    pub username: String,
    pub url: String,
}

/// A body corporate or legal person holding a role: never output as a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Organisation {
    pub name: String,
    pub roles: Vec<String>,
    pub appointed_on: Option<String>,
    /// Pre-1992 appointments carry no date, only the date they were made
    /// before (when no role shown has a date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointed_before: Option<String>,
    pub resigned_on: Option<String>,
    pub natures_of_control: Vec<String>,
    pub identification: Option<Registration>,
    pub sources: Vec<SourceKind>,
    /// With `--appointments`: the body's other appointments.
    #[serde(flatten)]
    pub directorships: Directorships,
    #[serde(skip)]
    pub officer_id: Option<String>,
    pub links: BTreeMap<String, String>,
}

/// Merge a company's findings. `match_confidence` is how sure leadgen is
/// that the company is the one the user meant. Executives whose confidence
/// is below `min_confidence` are left out.
pub fn merge(
    findings: &Findings,
    options: MergeOptions,
    match_confidence: f64,
) -> (Vec<Executive>, Vec<Organisation>) {
    let shown = |active: bool| active || options.include_resigned;
    // Records with a birth date first, so they anchor the people that
    // undated records (secretaries, some PSCs) then join.
    let mut people: Vec<&PersonRecord> =
        findings.people.iter().filter(|p| shown(p.active)).collect();
    people.sort_by_key(|p| p.birth.is_none());
    let mut clusters: Vec<Vec<&PersonRecord>> = Vec::new();
    for record in people {
        let fits: Vec<usize> = clusters
            .iter()
            .enumerate()
            .filter(|(_, c)| same_person(record, c))
            .map(|(i, _)| i)
            .collect();
        match fits.as_slice() {
            [one] => clusters[*one].push(record),
            _ => clusters.push(vec![record]),
        }
    }
    // Present people in the order the register lists them.
    let position = |r: &PersonRecord| {
        findings
            .people
            .iter()
            .position(|p| std::ptr::eq(p, r))
            .unwrap_or(usize::MAX)
    };
    clusters.sort_by_key(|c| c.iter().map(|r| position(r)).min());
    let mut executives: Vec<Executive> = clusters
        .iter()
        .map(|c| executive(c, options, match_confidence))
        .collect();
    let organisations = organisations(&findings.organisations, options);
    // The board: every active officer, people and bodies corporate alike.
    let active_roles: Vec<(Vec<String>, Option<String>)> = clusters
        .iter()
        .map(|c| {
            let roles = c
                .iter()
                .filter(|r| r.active)
                .map(|r| r.role.clone())
                .collect();
            (roles, c.iter().find_map(|r| r.occupation.clone()))
        })
        .chain(
            findings
                .organisations
                .iter()
                .filter(|o| o.active)
                .map(|o| (vec![o.role.clone()], None)),
        )
        .collect();
    let board = Board::of(
        active_roles
            .iter()
            .map(|(roles, occupation)| seniority::Person {
                roles,
                occupation: occupation.as_deref(),
            }),
    );
    for e in &mut executives {
        (e.seniority, e.seniority_basis) = seniority::classify(
            seniority::Person {
                roles: &e.roles,
                occupation: e.occupation.as_deref(),
            },
            board,
        );
    }
    (executives, organisations)
}

fn same_person(record: &PersonRecord, cluster: &[&PersonRecord]) -> bool {
    if let Some(id) = &record.person_id
        && cluster.iter().any(|r| r.person_id.as_ref() == Some(id))
    {
        return true;
    }
    cluster.iter().all(|other| compatible(record, other))
}

fn compatible(a: &PersonRecord, b: &PersonRecord) -> bool {
    if fold(&a.family_name) != fold(&b.family_name) || !forenames_compatible(a, b) {
        return false;
    }
    match (a.birth, b.birth) {
        (Some(x), Some(y)) if x != y => return false,
        (Some(_), Some(_)) => return true,
        _ => {}
    }
    // Two officer ids and nothing to prove them one person: two people.
    !matches!((&a.person_id, &b.person_id), (Some(x), Some(y)) if x != y)
}

/// "John" fits "John David"; "John Peter" does not fit "John David".
fn forenames_compatible(a: &PersonRecord, b: &PersonRecord) -> bool {
    let words = |p: &PersonRecord| -> Vec<String> {
        p.given_name
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(fold)
            .collect()
    };
    let (x, y) = (words(a), words(b));
    let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    if short.is_empty() {
        return long.is_empty();
    }
    if short[0] != long[0] {
        return false;
    }
    // The shorter list is the longer with words left out, in order.
    let mut rest = long.iter();
    short.iter().all(|w| rest.any(|l| l == w))
}

fn fold(s: &str) -> String {
    deunicode::deunicode(s)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn executive(records: &[&PersonRecord], options: MergeOptions, match_confidence: f64) -> Executive {
    let officer_first =
        |r: &&&PersonRecord| (r.source != SourceKind::CompaniesHouseOfficers, !r.active);
    let mut ordered: Vec<&PersonRecord> = records.to_vec();
    ordered.sort_by_key(|r| officer_first(&r));
    let fullest = ordered
        .iter()
        .max_by_key(|r| {
            (
                r.given_name
                    .as_deref()
                    .map_or(0, |g| g.split_whitespace().count()),
                r.source == SourceKind::CompaniesHouseOfficers,
            )
        })
        .copied()
        .unwrap_or(ordered[0]);
    let any_active = ordered.iter().any(|r| r.active);
    let shown: Vec<&PersonRecord> = ordered
        .iter()
        .copied()
        .filter(|r| r.active || !any_active)
        .collect();
    let mut roles: Vec<String> = Vec::new();
    for r in ordered
        .iter()
        .filter(|r| r.active || options.include_resigned)
    {
        if !roles.contains(&r.role) {
            roles.push(r.role.clone());
        }
    }
    let first =
        |f: fn(&PersonRecord) -> Option<&String>| ordered.iter().find_map(|r| f(r)).cloned();
    let mut sources: Vec<SourceKind> = ordered.iter().map(|r| r.source).collect();
    sources.sort();
    sources.dedup();
    let mut links = BTreeMap::new();
    for r in &ordered {
        if let Some(link) = &r.link {
            let key = match r.source {
                SourceKind::CompaniesHouseOfficers => "companies_house_officer",
                SourceKind::CompaniesHousePsc => "companies_house_psc",
                SourceKind::XProfile => "x",
            };
            links.entry(key.to_string()).or_insert_with(|| link.clone());
        }
    }
    let mut natures: Vec<String> = ordered
        .iter()
        .flat_map(|r| r.natures_of_control.iter().cloned())
        .collect();
    natures.dedup();
    let evidence = score::evidence(records);
    let name = match &fullest.given_name {
        Some(g) => format!("{g} {}", fullest.family_name),
        None => fullest.family_name.clone(),
    };
    Executive {
        name,
        given_name: fullest.given_name.clone(),
        family_name: fullest.family_name.clone(),
        roles,
        appointed_on: shown.iter().filter_map(|r| r.appointed_on.clone()).min(),
        appointed_before: shown
            .iter()
            .any(|r| r.appointed_on.is_none())
            .then(|| {
                shown
                    .iter()
                    .filter_map(|r| r.appointed_before.clone())
                    .min()
            })
            .flatten(),
        resigned_on: if any_active {
            None
        } else {
            ordered.iter().filter_map(|r| r.resigned_on.clone()).max()
        },
        occupation: first(|r| r.occupation.as_ref()),
        nationality: first(|r| r.nationality.as_ref()),
        country_of_residence: first(|r| r.country_of_residence.as_ref()),
        natures_of_control: natures,
        date_of_birth: if options.include_birth {
            ordered.iter().find_map(|r| r.birth)
        } else {
            None
        },
        verified_by: sources.len(),
        sources,
        profiles: vec![],
        evidence,
        confidence: score::confidence(evidence, 0, match_confidence),
        seniority: Seniority::Unknown,
        seniority_basis: String::new(),
        directorships: Directorships::default(),
        officer_id: ordered
            .iter()
            .filter(|r| r.source == SourceKind::CompaniesHouseOfficers)
            .find_map(|r| r.person_id.clone()),
        links,
    }
}

/// Add the social profiles that vouch for executives. `profiles` index
/// `executives` (the officers the social query listed, in this order).
pub fn confirm(executives: &mut [Executive], profiles: &[VerifiedProfile], match_confidence: f64) {
    for p in profiles {
        let Some(e) = executives.get_mut(p.officer_index) else {
            continue;
        };
        if e.profiles
            .iter()
            .any(|q| q.platform == p.platform && q.id == p.id)
        {
            continue;
        }
        e.profiles.push(Profile {
            platform: p.platform,
            id: p.id.clone(),
            username: p.username.clone(),
            url: p.url.clone(),
        });
        let kind = match p.platform {
            Platform::X => SourceKind::XProfile,
            // LinkedIn and Facebook offer no people lookup.
            Platform::LinkedIn | Platform::Facebook => continue,
        };
        if !e.sources.contains(&kind) {
            e.sources.push(kind);
            e.links
                .entry("x".to_string())
                .or_insert_with(|| p.url.clone());
        }
        e.verified_by = e.sources.len();
        let social = e
            .sources
            .iter()
            .filter(|s| **s == SourceKind::XProfile)
            .count();
        e.confidence = score::confidence(e.evidence, social, match_confidence);
    }
}

fn organisations(records: &[OrganisationRecord], options: MergeOptions) -> Vec<Organisation> {
    let mut out: Vec<Organisation> = Vec::new();
    let key = |r: &OrganisationRecord| fold(&r.name);
    let mut keys: Vec<String> = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.active || options.include_resigned)
    {
        let k = key(r);
        let org = match keys.iter().position(|x| *x == k) {
            Some(i) => &mut out[i],
            None => {
                keys.push(k);
                out.push(Organisation {
                    name: r.name.clone(),
                    roles: vec![],
                    appointed_on: None,
                    appointed_before: None,
                    resigned_on: None,
                    natures_of_control: vec![],
                    identification: None,
                    sources: vec![],
                    directorships: Directorships::default(),
                    officer_id: None,
                    links: BTreeMap::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        if !org.roles.contains(&r.role) {
            org.roles.push(r.role.clone());
        }
        org.appointed_on = [org.appointed_on.take(), r.appointed_on.clone()]
            .into_iter()
            .flatten()
            .min();
        org.appointed_before = [org.appointed_before.take(), r.appointed_before.clone()]
            .into_iter()
            .flatten()
            .min();
        if !r.active {
            org.resigned_on = [org.resigned_on.take(), r.resigned_on.clone()]
                .into_iter()
                .flatten()
                .max();
        }
        for n in &r.natures_of_control {
            if !org.natures_of_control.contains(n) {
                org.natures_of_control.push(n.clone());
            }
        }
        if org.identification.is_none() {
            org.identification = r.identification.clone();
        }
        if !org.sources.contains(&r.source) {
            org.sources.push(r.source);
        }
        if org.officer_id.is_none() && r.source == SourceKind::CompaniesHouseOfficers {
            // The officer link is `.../officers/{id}/appointments`.
            org.officer_id = r.link.as_deref().and_then(|l| {
                let (_, rest) = l.split_once("/officers/")?;
                Some(rest.split('/').next()?.to_owned()).filter(|id| !id.is_empty())
            });
        }
        if let Some(link) = &r.link {
            org.links
                .entry(r.source.as_str().to_string())
                .or_insert_with(|| link.clone());
        }
    }
    // An organisation still holding any role is not resigned.
    for (org, k) in out.iter_mut().zip(&keys) {
        if records.iter().any(|r| r.active && key(r) == *k) {
            org.resigned_on = None;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::company_number::CompanyNumber;
    use crate::model::PSC_ROLE;
    use crate::sources::companies_house::{self as ch, types};

    fn recorded_you_limited() -> Findings {
        let officers: types::OfficerList = serde_json::from_str(include_str!(
            "../../fixtures/recorded/companies_house/herrbert74/officers_you_limited.json"
        ))
        .unwrap();
        ch::findings(
            &CompanyNumber::parse("04475590").unwrap(),
            &officers.items,
            &[],
        )
    }

    fn officer(
        given: &str,
        family: &str,
        role: &str,
        birth: Option<(u16, u8)>,
        id: Option<&str>,
    ) -> PersonRecord {
        PersonRecord {
            source: SourceKind::CompaniesHouseOfficers,
            title: None,
            given_name: Some(given.into()),
            family_name: family.into(),
            role: role.into(),
            active: true,
            appointed_on: Some("2015-01-01".into()),
            appointed_before: None,
            resigned_on: None,
            occupation: Some("Director".into()),
            nationality: None,
            country_of_residence: None,
            birth: birth.map(|(year, month)| BirthMonth { year, month }),
            natures_of_control: vec![],
            person_id: id.map(String::from),
            link: None,
        }
    }

    fn psc(given: &str, family: &str, birth: Option<(u16, u8)>) -> PersonRecord {
        PersonRecord {
            source: SourceKind::CompaniesHousePsc,
            role: PSC_ROLE.into(),
            person_id: None,
            occupation: None,
            natures_of_control: vec!["ownership-of-shares-75-to-100-percent".into()],
            ..officer(given, family, PSC_ROLE, birth, None)
        }
    }

    #[test]
    fn recorded_officer_list_current_people_and_organisations() {
        let (execs, orgs) = merge(&recorded_you_limited(), MergeOptions::default(), 1.0);
        let names: Vec<&str> = execs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["Elizabeth Mary Stevenson", "Benjamin Thomas Stevenson"]
        );
        // Secretary (no birth date) and director share one officer id: one person.
        assert_eq!(execs[0].roles, ["director", "secretary"]);
        assert_eq!(execs[0].appointed_on.as_deref(), Some("2002-07-02"));
        assert_eq!(
            execs[0].date_of_birth, None,
            "birth month is not output by default"
        );
        // The corporate officers both resigned.
        assert!(orgs.is_empty());
    }

    #[test]
    fn recorded_officer_list_with_resigned_keeps_namesakes_apart() {
        let options = MergeOptions {
            include_resigned: true,
            include_birth: true,
            ..MergeOptions::default()
        };
        let (execs, orgs) = merge(&recorded_you_limited(), options, 1.0);
        // Two Benjamin Thomas Stevensons: born 1985-07 (current) and 1985-06 (resigned).
        let benjamins: Vec<&Executive> = execs
            .iter()
            .filter(|e| e.name == "Benjamin Thomas Stevenson")
            .collect();
        assert_eq!(benjamins.len(), 2);
        assert_ne!(benjamins[0].date_of_birth, benjamins[1].date_of_birth);
        assert!(
            execs.iter().any(|e| e.name == "Leslie Alan Stevenson"
                && e.resigned_on.as_deref() == Some("2012-08-28"))
        );
        // A corporate body in a plain `nominee-director` role is still an organisation.
        let org_names: Vec<&str> = orgs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            org_names,
            [
                "LONDON LAW SECRETARIAL LIMITED",
                "LONDON LAW SERVICES LIMITED"
            ]
        );
        assert!(
            execs
                .iter()
                .all(|e| !e.name.to_uppercase().contains("LIMITED"))
        );
    }

    #[test]
    fn recorded_psc_list_splits_people_from_corporate_entities() {
        let pscs: types::PscList = serde_json::from_str(include_str!(
            "../../fixtures/recorded/companies_house/herrbert74/persons_yorkshire_air_ambulance.json"
        ))
        .unwrap();
        let findings = ch::findings(&CompanyNumber::parse("04053514").unwrap(), &[], &pscs.items);
        let (execs, orgs) = merge(&findings, MergeOptions::default(), 1.0);
        // Every individual PSC has ceased; the corporate one is current.
        assert!(execs.is_empty());
        assert_eq!(orgs.len(), 1);
        assert_eq!(orgs[0].name, "Yorkshire Air Ambulance Ltd");
        let (execs, _) = merge(
            &findings,
            MergeOptions {
                include_resigned: true,
                ..MergeOptions::default()
            },
            1.0,
        );
        assert_eq!(execs.len(), 4);
        assert!(
            execs
                .iter()
                .any(|e| e.name == "John William Young Strachan Samuel")
        );
    }

    #[test]
    fn officer_and_psc_are_one_executive_with_both_sources() {
        let findings = Findings {
            people: vec![
                officer(
                    "John David",
                    "Smith",
                    "director",
                    Some((1970, 5)),
                    Some("abc"),
                ),
                psc("John David", "Smith", Some((1970, 5))),
            ],
            organisations: vec![],
        };
        let (execs, _) = merge(&findings, MergeOptions::default(), 1.0);
        assert_eq!(execs.len(), 1);
        assert_eq!(execs[0].roles, ["director", PSC_ROLE]);
        assert_eq!(
            execs[0].sources,
            [
                SourceKind::CompaniesHouseOfficers,
                SourceKind::CompaniesHousePsc
            ]
        );
        assert_eq!(
            execs[0].natures_of_control,
            ["ownership-of-shares-75-to-100-percent"]
        );
        assert_eq!(execs[0].confidence, 0.98);
    }

    #[test]
    fn a_shorter_psc_name_joins_the_officer() {
        let findings = Findings {
            people: vec![
                officer(
                    "John David",
                    "Smith",
                    "director",
                    Some((1970, 5)),
                    Some("abc"),
                ),
                psc("John", "Smith", Some((1970, 5))),
            ],
            organisations: vec![],
        };
        let (execs, _) = merge(&findings, MergeOptions::default(), 1.0);
        assert_eq!(execs.len(), 1);
        assert_eq!(execs[0].name, "John David Smith");
    }

    #[test]
    fn namesakes_with_different_births_stay_two() {
        let findings = Findings {
            people: vec![
                officer("John", "Smith", "director", Some((1960, 1)), Some("a")),
                officer("John", "Smith", "director", Some((1988, 9)), Some("b")),
                psc("John", "Smith", Some((1988, 9))),
            ],
            organisations: vec![],
        };
        let (execs, _) = merge(&findings, MergeOptions::default(), 1.0);
        assert_eq!(execs.len(), 2);
        assert_eq!(
            execs[1].sources.len(),
            2,
            "the PSC joins the namesake born 1988-09"
        );
    }

    #[test]
    fn undated_namesakes_with_different_officer_ids_stay_two() {
        let findings = Findings {
            people: vec![
                officer("Anne", "Jones", "secretary", None, Some("a")),
                officer("Anne", "Jones", "secretary", None, Some("b")),
            ],
            organisations: vec![],
        };
        assert_eq!(merge(&findings, MergeOptions::default(), 1.0).0.len(), 2);
    }

    #[test]
    fn an_undated_record_that_fits_two_people_is_not_guessed() {
        let findings = Findings {
            people: vec![
                officer("John", "Smith", "director", Some((1960, 1)), Some("a")),
                officer("John", "Smith", "director", Some((1988, 9)), Some("b")),
                psc("John", "Smith", None),
            ],
            organisations: vec![],
        };
        assert_eq!(merge(&findings, MergeOptions::default(), 1.0).0.len(), 3);
    }

    #[test]
    fn different_forenames_are_different_people() {
        let findings = Findings {
            people: vec![
                officer("John Peter", "Smith", "director", None, None),
                psc("John David", "Smith", None),
            ],
            organisations: vec![],
        };
        assert_eq!(merge(&findings, MergeOptions::default(), 1.0).0.len(), 2);
    }

    #[test]
    fn a_verified_x_profile_joins_its_officer() {
        let findings = Findings {
            people: vec![
                officer(
                    "John David",
                    "Smith",
                    "director",
                    Some((1970, 5)),
                    Some("a"),
                ),
                officer("Anne", "Jones", "secretary", None, Some("b")),
            ],
            organisations: vec![],
        };
        let (mut execs, _) = merge(&findings, MergeOptions::default(), 1.0);
        let profile = VerifiedProfile {
            platform: Platform::X,
            id: "42".into(),
            username: "jdsmith".into(),
            url: "https://x.com/jdsmith".into(),
            display_name: "John Smith".into(),
            officer_index: 0,
            officer_name: "John David Smith".into(),
            evidence: "bio names the company".into(),
        };
        confirm(&mut execs, &[profile.clone(), profile], 1.0);
        assert_eq!(
            execs[0].sources,
            [SourceKind::CompaniesHouseOfficers, SourceKind::XProfile]
        );
        assert_eq!(execs[0].profiles.len(), 1, "the same profile twice is one");
        assert_eq!(execs[0].verified_by, 2);
        assert_eq!(execs[0].confidence, 0.97);
        assert_eq!(execs[0].links["x"], "https://x.com/jdsmith");
        assert_eq!(execs[1].verified_by, 1);
        assert!(execs[1].profiles.is_empty());
    }

    #[test]
    fn confidence_follows_the_evidence_and_the_match() {
        let director = officer("A", "B", "director", None, None);
        let secretary = officer("A", "B", "secretary", None, None);
        let mut resigned = officer("A", "B", "director", None, None);
        resigned.active = false;
        let p = psc("A", "B", None);
        let c = |records: &[&PersonRecord], social, m| {
            score::confidence(score::evidence(records), social, m)
        };
        assert_eq!(c(&[&director], 0, 1.0), 0.95);
        assert_eq!(c(&[&secretary], 0, 1.0), 0.92);
        assert_eq!(c(&[&p], 0, 1.0), 0.92);
        assert_eq!(c(&[&resigned], 0, 1.0), 0.05);
        assert_eq!(c(&[&director], 0, 0.8), 0.76);
        assert_eq!(c(&[&director], 1, 1.0), 0.97);
        assert_eq!(c(&[&director, &p], 1, 1.0), 0.99, "capped");
        // A verified profile halves the doubt about the company match:
        // 0.97 x (1 - 0.2 x 0.5) = 0.873.
        assert_eq!(c(&[&director], 1, 0.8), 0.87);
        assert_eq!(c(&[&director], 2, 0.8), 0.94);
        // ... but does not revive a resigned officer.
        assert!(c(&[&resigned], 1, 0.8) < 0.1);
    }
}
