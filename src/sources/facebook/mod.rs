//! Facebook: the company's own Page, found with Pages search and accepted
//! when its website is the company's or its address has the registered
//! office postcode.
//!
//! Graph offers no search for people, and the Page Public Metadata Access
//! feature an app token needs here is granted for reading public Page
//! information only, so this source looks up no people.

pub mod client;
pub mod policy;
pub mod types;

pub use client::{AppCredentials, Client, DEFAULT_BASE_URL, GRAPH_VERSION};

use crate::sources::SourceError;
use crate::sources::social::{
    Account, MatchedOn, Platform, SocialFindings, SocialQuery, SocialSource, company_core_words,
    same_postcode, same_site, website_domain,
};
use types::Page;

/// Pages shown to people when the page gives no `link`.
pub const WEB_BASE_URL: &str = "https://www.facebook.com";

/// Search results read in full per company; each is one call.
pub const MAX_PAGES_READ: usize = 5;

impl SocialSource for Client {
    fn platform(&self) -> Platform {
        Platform::Facebook
    }

    async fn lookup(&self, query: &SocialQuery) -> Result<SocialFindings, SourceError> {
        let site = query.website.as_deref().and_then(website_domain);
        let postcode = query.postcode.as_deref().filter(|p| !p.trim().is_empty());
        if site.is_none() && postcode.is_none() {
            // Nothing to accept a page on: spare the calls.
            return Ok(SocialFindings::default());
        }
        let name = company_core_words(&query.company_name).join(" ");
        let mut findings = SocialFindings::default();
        for summary in self.search_pages(&name).await?.iter().take(MAX_PAGES_READ) {
            let Some(page) = self.page(&summary.id).await? else {
                continue;
            };
            let page = page.or(summary);
            if let Some(matched) = page_match(&page, site.as_deref(), postcode) {
                findings.accounts.push(account(&page, matched));
            }
        }
        findings.accounts.sort_by_key(|a| a.matched_on);
        Ok(findings)
    }
}

/// Why `page` is the company's, if it is: its website is the company's,
/// or its address has the registered office postcode. A page whose website
/// is another site is not the company's even at the same postcode: many
/// companies share an office building.
pub fn page_match(page: &Page, site: Option<&str>, postcode: Option<&str>) -> Option<MatchedOn> {
    if let (Some(site), Some(website)) = (site, page.website.as_deref()) {
        if same_site(website, site) {
            return Some(MatchedOn::WebsiteDomain);
        }
        if website_domain(website).is_some() {
            return None;
        }
    }
    let zip = page.location.as_ref().and_then(|l| l.zip.as_deref());
    match (postcode, zip) {
        (Some(postcode), Some(zip)) if same_postcode(postcode, zip) => Some(MatchedOn::Postcode),
        _ => None,
    }
}

fn account(page: &Page, matched_on: MatchedOn) -> Account {
    Account {
        platform: Platform::Facebook,
        id: page.id.clone(),
        handle_or_vanity: page.id.clone(),
        url: page
            .link
            .clone()
            .unwrap_or_else(|| format!("{WEB_BASE_URL}/{}", page.id)),
        name: page.name.clone().unwrap_or_default(),
        verified: None,
        verification: page.verification_status.clone(),
        matched_on,
    }
}

#[cfg(test)]
mod tests;
