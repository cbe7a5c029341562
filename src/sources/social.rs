//! What the social-platform sources (X, LinkedIn, Facebook) share: the
//! question the pipeline asks them ([`SocialQuery`]), the answer they give
//! ([`SocialFindings`]), credential errors, and the matching rules that
//! decide whether an account belongs to a company or a person.
//!
//! Every platform answers the same question — "is this the company's own
//! account, and which officers does it vouch for?" — so the rules live here
//! once: a website domain that matches, a bio that names the company, a
//! postcode that matches the registered office, a display name that matches
//! an officer. Platform clients only say which of their fields feed which
//! rule.
//!
//! Findings keep identifiers and links only, never copies of posts or bios:
//! X's terms allow sharing IDs, and none of the platforms allow storing more
//! than the application needs.

use std::future::Future;

use serde::Serialize;

use crate::company_name::{ends_with_designator, normalize_postcode, same_as_key};
use crate::company_number::CompanyNumber;
use crate::sources::SourceError;

/// A social platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Platform {
    #[serde(rename = "x")]
    X,
    #[serde(rename = "linkedin")]
    LinkedIn,
    #[serde(rename = "facebook")]
    Facebook,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::X => "x",
            Platform::LinkedIn => "linkedin",
            Platform::Facebook => "facebook",
        }
    }
}

/// An officer's name as the register gives it, for matching display names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficerName {
    /// All forenames ("John David"); `None` when the register has none.
    pub given_name: Option<String>,
    pub family_name: String,
}

impl OfficerName {
    /// "John David Smith".
    pub fn full(&self) -> String {
        match &self.given_name {
            Some(given) => format!("{given} {}", self.family_name),
            None => self.family_name.clone(),
        }
    }
}

/// What the pipeline knows about a resolved company when it asks a social
/// source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialQuery {
    /// The registered name ("SMITH & JONES JOINERY LIMITED").
    pub company_name: String,
    pub company_number: CompanyNumber,
    /// The company's website as the input gave it (any form: a URL, a bare
    /// domain).
    pub website: Option<String>,
    /// The registered office postcode.
    pub postcode: Option<String>,
    /// Active officers, in the order the caller wants them referred to by
    /// [`VerifiedProfile::officer_index`].
    pub officers: Vec<OfficerName>,
}

/// Which rule accepted an account as the company's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedOn {
    /// The account links to the company's website domain.
    WebsiteDomain,
    /// The account's bio names the company.
    BioNamesCompany,
    /// The account's address has the registered office postcode.
    Postcode,
}

impl MatchedOn {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedOn::WebsiteDomain => "website_domain",
            MatchedOn::BioNamesCompany => "bio_names_company",
            MatchedOn::Postcode => "postcode",
        }
    }
}

/// A company's own account or page on a platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub platform: Platform,
    /// The platform's id (X user id, LinkedIn organization id, Facebook
    /// page id).
    pub id: String,
    /// X handle, LinkedIn vanity name; Facebook page username when known,
    /// else the page id.
    pub handle_or_vanity: String,
    /// A link a person can open.
    pub url: String,
    /// The display name on the platform.
    pub name: String,
    /// The platform's own verified flag, where it has one (X `verified`).
    pub verified: Option<bool>,
    /// The platform's verification kind as it says it (X `verified_type`,
    /// Facebook `verification_status`), unchanged.
    pub verification: Option<String>,
    pub matched_on: MatchedOn,
}

/// A person's account that the company's own account vouches for and that
/// matches one of its officers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedProfile {
    pub platform: Platform,
    pub id: String,
    pub username: String,
    pub url: String,
    pub display_name: String,
    /// Index into [`SocialQuery::officers`].
    pub officer_index: usize,
    /// The officer's name as the query gave it.
    pub officer_name: String,
    /// Why it counts, in words ("mentioned by @acme; display name matches
    /// ...; bio names the company").
    pub evidence: String,
}

/// What one platform found about one company.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SocialFindings {
    /// Best first: a website match before a bio or postcode match.
    pub accounts: Vec<Account>,
    pub profiles: Vec<VerifiedProfile>,
}

/// A social source the pipeline can ask about a company.
pub trait SocialSource {
    fn platform(&self) -> Platform;

    /// The company's accounts on the platform and, where the platform
    /// allows it, officers' profiles the company's account vouches for.
    fn lookup(
        &self,
        query: &SocialQuery,
    ) -> impl Future<Output = Result<SocialFindings, SourceError>> + Send;
}

/// Why credentials from the environment cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("{present} is set but {missing} is not; set both, or neither to skip {platform}")]
    Incomplete {
        platform: crate::gateway::Provider,
        present: &'static str,
        missing: &'static str,
    },
}

/// A set, non-blank environment value.
pub(crate) fn non_blank(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The host of a website as people write it (`https://www.Acme.co.uk/x`,
/// "acme.co.uk", "www.acme.co.uk"), lower case, without a leading `www.`.
pub fn website_domain(website: &str) -> Option<String> {
    let trimmed = website.trim();
    if trimmed.is_empty() {
        return None;
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme).ok()?;
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    // A bare word is not a website.
    host.contains('.').then_some(host)
}

/// Whether two websites are on the same site: equal domains, or one a
/// subdomain of the other ("shop.acme.co.uk" and "acme.co.uk").
pub fn same_site(a: &str, b: &str) -> bool {
    match (website_domain(a), website_domain(b)) {
        (Some(a), Some(b)) => {
            a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
        }
        _ => false,
    }
}

/// The distinctive label of a domain: "acmewidgets" for
/// "www.acmewidgets.co.uk", "acme" for "shop.acme.com".
pub fn domain_label(domain: &str) -> Option<String> {
    let domain = website_domain(domain)?;
    let labels: Vec<&str> = domain.split('.').collect();
    // Second-level public suffixes a UK company site commonly sits under.
    const SECOND_LEVEL: &[&str] = &["co", "org", "ltd", "plc", "me", "net", "ac", "gov", "com"];
    let n = labels.len();
    let label = if n >= 3 && SECOND_LEVEL.contains(&labels[n - 2]) && labels[n - 1].len() == 2 {
        labels[n - 3]
    } else {
        labels[n.saturating_sub(2)]
    };
    (!label.is_empty()).then(|| label.to_owned())
}

/// Whether two postcodes are the same once spacing and case are ignored.
pub fn same_postcode(a: &str, b: &str) -> bool {
    match (normalize_postcode(a), normalize_postcode(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Words of a free text for matching: transliterated, lower case, `&` read
/// as "and", split on anything but letters and digits.
pub fn words(text: &str) -> Vec<String> {
    deunicode::deunicode(text)
        .to_lowercase()
        .replace('&', " and ")
        .replace('+', " plus ")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The words of a company name without a leading "the" and its trailing
/// designators ("THE SMITH & JONES JOINERY LTD" gives smith, and, jones,
/// joinery): the shortest leading run of words with the whole name's
/// [`same_as_key`].
pub fn company_core_words(name: &str) -> Vec<String> {
    let mut all = words(name);
    if all.len() > 1 && all[0] == "the" {
        all.remove(0);
    }
    let key = same_as_key(name);
    (1..=all.len())
        .find(|&n| same_as_key(&all[..n].join(" ")) == key)
        .map(|n| all[..n].to_vec())
        .unwrap_or(all)
}

/// Whether a bio names the company: the company's core words appear in a
/// row. A one-word core ("You" of YOU LIMITED) must be followed by a
/// designator ("You Ltd"), or any bio with that word would match.
pub fn text_names_company(text: &str, company_name: &str) -> bool {
    let core = company_core_words(company_name);
    if core.is_empty() {
        return false;
    }
    let bio = words(text);
    (0..bio.len().saturating_sub(core.len() - 1)).any(|start| {
        if bio[start..start + core.len()] != core[..] {
            return false;
        }
        if core.len() > 1 {
            return true;
        }
        // The designator may take up to three words ("public limited company").
        (1..=3).any(|extra| {
            let end = start + core.len() + extra;
            end <= bio.len() && ends_with_designator(&bio[start..end].join(" "))
        })
    })
}

/// Titles people put before their name on a profile.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lord", "lady",
];

/// Whether a display name is this officer's name: the first forename,
/// then any of the other forenames (whole or as initials, in order, any
/// left out), then the family name. A title in front is ignored.
pub fn display_name_matches(display_name: &str, officer: &OfficerName) -> bool {
    let mut shown = words(display_name);
    while shown.len() > 1 && TITLES.contains(&shown[0].as_str()) {
        shown.remove(0);
    }
    let family = words(&officer.family_name);
    let given = officer.given_name.as_deref().map(words).unwrap_or_default();
    if family.is_empty() || given.is_empty() || shown.len() < family.len() + 1 {
        return false;
    }
    let (head, tail) = shown.split_at(shown.len() - family.len());
    if tail != family.as_slice() || head[0] != given[0] {
        return false;
    }
    // Middle names on the profile must be the officer's, in order.
    let mut rest = given[1..].iter();
    head[1..].iter().all(|middle| {
        rest.by_ref()
            .any(|g| g == middle || (middle.len() == 1 && g.starts_with(middle.as_str())))
    })
}

/// The first officer whose name the display name is, with its index.
pub fn matching_officer<'a>(
    display_name: &str,
    officers: &'a [OfficerName],
) -> Option<(usize, &'a OfficerName)> {
    officers
        .iter()
        .enumerate()
        .find(|(_, officer)| display_name_matches(display_name, officer))
}

/// Test helpers shared by the social sources' tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::{OfficerName, SocialQuery};
    use crate::company_number::CompanyNumber;
    use crate::gateway::breaker::BreakerSettings;
    use crate::gateway::retry::{Backoff, BudgetSettings};
    use crate::gateway::{Gateway, Provider, ProviderSettings, Quota};

    /// A gateway for `provider` with short windows and waits.
    pub(crate) fn fast_gateway(provider: Provider) -> Gateway {
        let settings = ProviderSettings {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            quota: Quota::parse("100/1s").expect("valid"),
            endpoint_quotas: std::collections::BTreeMap::new(),
            max_attempts: 6,
            backoff: Backoff {
                base: Duration::from_millis(10),
                max: Duration::from_millis(50),
            },
            rate_limited_wait: Duration::from_millis(400),
            max_quota_wait: None,
            retry_budget: BudgetSettings::default(),
            breaker: BreakerSettings {
                threshold: 5,
                cooldown: Duration::from_secs(1),
            },
        };
        crate::sources::gateway(HashMap::from([(provider, settings)])).expect("gateway builds")
    }

    pub(crate) fn officer(given: &str, family: &str) -> OfficerName {
        OfficerName {
            given_name: Some(given.to_owned()),
            family_name: family.to_owned(),
        }
    }

    pub(crate) fn query(
        name: &str,
        number: &str,
        website: Option<&str>,
        postcode: Option<&str>,
        officers: Vec<OfficerName>,
    ) -> SocialQuery {
        SocialQuery {
            company_name: name.to_owned(),
            company_number: CompanyNumber::parse(number).expect("valid number"),
            website: website.map(str::to_owned),
            postcode: postcode.map(str::to_owned),
            officers,
        }
    }

    pub(crate) fn smith_and_jones() -> SocialQuery {
        query(
            "SMITH & JONES JOINERY LIMITED",
            "07234561",
            Some("https://www.smithandjonesjoinery.co.uk"),
            Some("ST4 2RS"),
            vec![
                officer("John David", "SMITH"),
                officer("Carys Angharad", "JONES"),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn officer(given: &str, family: &str) -> OfficerName {
        OfficerName {
            given_name: Some(given.to_owned()),
            family_name: family.to_owned(),
        }
    }

    #[test]
    fn domains_as_people_write_them() {
        let d = |s: &str| website_domain(s);
        assert_eq!(
            d("https://www.AcmeWidgets.co.uk/about"),
            Some("acmewidgets.co.uk".into())
        );
        assert_eq!(d("acmewidgets.co.uk"), Some("acmewidgets.co.uk".into()));
        assert_eq!(d("www.acmewidgets.co.uk"), Some("acmewidgets.co.uk".into()));
        assert_eq!(d("http://shop.acme.com:8080"), Some("shop.acme.com".into()));
        assert_eq!(d("acme"), None);
        assert_eq!(d("  "), None);
        assert!(same_site("https://shop.acme.com", "acme.com"));
        assert!(!same_site("acme.com", "notacme.com"));
        assert!(!same_site("acme.co.uk", "acme.com"));
    }

    #[test]
    fn labels_skip_uk_second_level_suffixes() {
        assert_eq!(
            domain_label("www.acmewidgets.co.uk"),
            Some("acmewidgets".into())
        );
        assert_eq!(
            domain_label("yorkshireairambulance.org.uk"),
            Some("yorkshireairambulance".into())
        );
        assert_eq!(domain_label("https://shop.acme.com"), Some("acme".into()));
        assert_eq!(domain_label("acme.io"), Some("acme".into()));
    }

    #[test]
    fn core_words_drop_the_and_designators() {
        assert_eq!(
            company_core_words("THE SMITH & JONES JOINERY LIMITED"),
            ["smith", "and", "jones", "joinery"]
        );
        assert_eq!(
            company_core_words("NORTHWIND LOGISTICS GROUP PLC"),
            ["northwind", "logistics", "group"]
        );
        assert_eq!(company_core_words("YOU LIMITED"), ["you"]);
    }

    #[test]
    fn bios_name_the_company_by_whole_words() {
        let name = "SMITH & JONES JOINERY LIMITED";
        assert!(text_names_company(
            "Bespoke joinery from Smith and Jones Joinery, Stoke.",
            name
        ));
        assert!(text_names_company(
            "Director at Smith & Jones Joinery Ltd",
            name
        ));
        assert!(!text_names_company("Smith & Jones Roofing", name));
        assert!(!text_names_company(
            "Thank you for following!",
            "YOU LIMITED"
        ));
        assert!(text_names_company(
            "Founder of You Ltd, Beverley",
            "YOU LIMITED"
        ));
        assert!(!text_names_company("", name));
    }

    #[test]
    fn display_names_tolerate_middle_names_and_titles() {
        let john = officer("John David", "Smith");
        assert!(display_name_matches("John Smith", &john));
        assert!(display_name_matches("John David Smith", &john));
        assert!(display_name_matches("Dr John D. Smith", &john));
        assert!(!display_name_matches("David Smith", &john));
        assert!(!display_name_matches("John Smithson", &john));
        assert!(!display_name_matches("John Peter Smith", &john));
        assert!(!display_name_matches("Smith", &john));
        let hyphen = officer("Alistair", "Drake-Brockman");
        assert!(display_name_matches("Alistair Drake-Brockman", &hyphen));
        let accented = officer("Zoë", "Öztürk");
        assert!(display_name_matches("Zoe Ozturk", &accented));
        let no_given = OfficerName {
            given_name: None,
            family_name: "Smith".into(),
        };
        assert!(!display_name_matches("Smith", &no_given));
    }
}
