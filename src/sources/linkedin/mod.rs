//! LinkedIn: the company's own page, found through the organization lookup
//! API by vanity name and accepted only when the page's website is the
//! company's.
//!
//! LinkedIn offers no API that finds or verifies other people's profiles,
//! and its terms forbid scraping, so this source looks up no people. Without
//! a company website there is nothing to accept a page on, so no call is
//! made.

pub mod client;
pub mod policy;
pub mod types;

pub use client::{
    Client, DEFAULT_BASE_URL, LINKEDIN_VERSION, access_token_from_env, access_token_from_lookup,
    is_vanity_name,
};

use crate::sources::SourceError;
use crate::sources::social::{
    Account, MatchedOn, Platform, SocialFindings, SocialQuery, SocialSource, company_core_words,
    domain_label, same_site, website_domain,
};
use types::Organization;

/// Company pages shown to people.
pub const WEB_BASE_URL: &str = "https://www.linkedin.com/company";

/// Vanity names tried per company; each is one call against a daily cap.
pub const MAX_CANDIDATES: usize = 5;

impl SocialSource for Client {
    fn platform(&self) -> Platform {
        Platform::LinkedIn
    }

    async fn lookup(&self, query: &SocialQuery) -> Result<SocialFindings, SourceError> {
        let Some(site) = query.website.as_deref().and_then(website_domain) else {
            return Ok(SocialFindings::default());
        };
        let mut findings = SocialFindings::default();
        for vanity in vanity_candidates(&query.company_name, Some(&site)) {
            for org in self.organizations_by_vanity_name(&vanity).await? {
                if let Some(account) = accept(&org, &site)
                    && !findings.accounts.iter().any(|a| a.id == account.id)
                {
                    findings.accounts.push(account);
                }
            }
            if !findings.accounts.is_empty() {
                break;
            }
        }
        Ok(findings)
    }
}

/// Vanity names the company's page may have, most likely first: the
/// website's label, then the registered name hyphenated and run together.
pub fn vanity_candidates(company_name: &str, website: Option<&str>) -> Vec<String> {
    let mut raw = Vec::new();
    if let Some(label) = website.and_then(domain_label) {
        raw.push(label);
    }
    let core = company_core_words(company_name);
    if !core.is_empty() {
        let without_and: Vec<&str> = core
            .iter()
            .map(String::as_str)
            .filter(|w| *w != "and")
            .collect();
        raw.push(without_and.join("-"));
        raw.push(core.join("-"));
        raw.push(core.concat());
        raw.push(format!("{}-ltd", without_and.join("-")));
    }
    let mut out: Vec<String> = Vec::new();
    for vanity in raw {
        if is_vanity_name(&vanity) && !out.contains(&vanity) {
            out.push(vanity);
        }
    }
    out.truncate(MAX_CANDIDATES);
    out
}

/// The organization as the company's page, when its website is the company's.
pub fn accept(org: &Organization, company_site: &str) -> Option<Account> {
    let website = org.localized_website.as_deref()?;
    if !same_site(website, company_site) {
        return None;
    }
    let vanity = org.vanity_name.clone()?;
    Some(Account {
        platform: Platform::LinkedIn,
        id: org.id.map(|id| id.to_string()).unwrap_or_default(),
        url: format!("{WEB_BASE_URL}/{vanity}/"),
        handle_or_vanity: vanity,
        name: org.localized_name.clone().unwrap_or_default(),
        verified: None,
        verification: None,
        matched_on: MatchedOn::WebsiteDomain,
    })
}

#[cfg(test)]
mod tests;
