//! X (Twitter) API v2: the company's official account, and officers' own
//! accounts that the official account mentions.
//!
//! The official account is looked up by candidate handles built from the
//! company's website domain and name (`GET /2/users/by`, up to 100 per
//! call), never by people search, which needs a user-context token and is
//! billed per user returned. An account is the company's when its profile
//! links to the company's website domain, or when its bio names the company
//! and its profile link does not point elsewhere.
//!
//! Officers are never searched for by name. The official account's recent
//! posts (`from:<official> has:mentions`) name accounts the company itself
//! points at; one of those counts as an officer's profile only when its
//! display name is the officer's name and its bio names the company. That
//! is matching on public data the user gave X (display name and bio), as
//! X's off-X matching terms allow; only ids and handles are kept.

pub mod client;
pub mod policy;
pub mod types;

pub use client::{Client, Credentials, DEFAULT_BASE_URL, UserLookup, is_handle};

use crate::sources::SourceError;
use crate::sources::social::{
    Account, MatchedOn, Platform, SocialFindings, SocialQuery, SocialSource, VerifiedProfile,
    company_core_words, domain_label, matching_officer, same_site, text_names_company,
    website_domain,
};
use types::User;

/// Profile links shown to people.
pub const WEB_BASE_URL: &str = "https://x.com";

impl SocialSource for Client {
    fn platform(&self) -> Platform {
        Platform::X
    }

    async fn lookup(&self, query: &SocialQuery) -> Result<SocialFindings, SourceError> {
        let candidates = handle_candidates(&query.company_name, query.website.as_deref());
        if candidates.is_empty() {
            return Ok(SocialFindings::default());
        }
        let found = self.users_by_usernames(&candidates).await?;
        let mut accounts: Vec<Account> = found
            .users
            .iter()
            .filter_map(|user| official_match(user, query).map(|m| account(user, m)))
            .collect();
        // Website matches first; candidate order (domain first) breaks ties.
        let rank = |a: &Account| {
            candidates
                .iter()
                .position(|c| c.eq_ignore_ascii_case(&a.handle_or_vanity))
                .unwrap_or(usize::MAX)
        };
        accounts.sort_by_key(|a| (a.matched_on, rank(a)));
        let mut findings = SocialFindings {
            accounts,
            profiles: Vec::new(),
        };
        let Some(official) = findings.accounts.first().cloned() else {
            return Ok(findings);
        };
        if query.officers.is_empty() {
            return Ok(findings);
        }
        let mentioned = self.mentioned_users(&official.handle_or_vanity).await?;
        for user in mentioned {
            if user.id == official.id || findings.profiles.iter().any(|p| p.id == user.id) {
                continue;
            }
            if let Some(profile) = officer_profile(&user, &official, query) {
                findings.profiles.push(profile);
            }
        }
        Ok(findings)
    }
}

/// Handles the company's account may have, most likely first: the website
/// domain's label, then forms of the registered name. Only valid handles
/// (`^[A-Za-z0-9_]{1,15}$`), each once, at most 100 (one call).
pub fn handle_candidates(company_name: &str, website: Option<&str>) -> Vec<String> {
    let mut raw: Vec<String> = Vec::new();
    if let Some(label) = website.and_then(domain_label) {
        raw.push(label.replace('-', ""));
        raw.push(label.replace('-', "_"));
    }
    let core = company_core_words(company_name);
    if !core.is_empty() {
        let without_and: Vec<&str> = core
            .iter()
            .map(String::as_str)
            .filter(|w| *w != "and")
            .collect();
        raw.push(core.concat());
        raw.push(without_and.concat());
        raw.push(without_and.join("_"));
        raw.push(format!("{}uk", without_and.concat()));
        raw.push(format!("{}ltd", without_and.concat()));
        raw.push(format!("{}hq", without_and.concat()));
        // Long names do not fit in 15 characters; companies shorten them
        // to their first words.
        if without_and.len() > 2 {
            let short = without_and[..2].concat();
            raw.push(format!("{short}uk"));
            raw.push(format!("{short}ltd"));
            raw.insert(raw.len() - 2, short);
        }
    }
    let mut out: Vec<String> = Vec::new();
    for handle in raw {
        if is_handle(&handle) && !out.iter().any(|h| h.eq_ignore_ascii_case(&handle)) {
            out.push(handle);
        }
    }
    out.truncate(client::MAX_USERNAMES_PER_CALL);
    out
}

/// Why `user` is the company's own account, if it is.
///
/// A profile that links to another site is not the company's even when its
/// bio names it: namesakes and resellers name companies too.
pub fn official_match(user: &User, query: &SocialQuery) -> Option<MatchedOn> {
    let links = user.profile_links();
    let company_site = query.website.as_deref().and_then(website_domain);
    if let Some(site) = &company_site {
        if links.iter().any(|link| same_site(link, site)) {
            return Some(MatchedOn::WebsiteDomain);
        }
        let links_elsewhere = links.iter().any(|link| website_domain(link).is_some());
        if links_elsewhere {
            return None;
        }
    }
    let bio = user.description.as_deref().unwrap_or_default();
    text_names_company(bio, &query.company_name).then_some(MatchedOn::BioNamesCompany)
}

fn account(user: &User, matched_on: MatchedOn) -> Account {
    Account {
        platform: Platform::X,
        id: user.id.clone(),
        handle_or_vanity: user.username.clone(),
        url: format!("{WEB_BASE_URL}/{}", user.username),
        name: user.name.clone(),
        verified: user.verified,
        verification: user.verified_type.clone(),
        matched_on,
    }
}

/// `user`, mentioned by the official account, as an officer's profile:
/// the display name is an officer's name and the bio names the company.
pub fn officer_profile(
    user: &User,
    official: &Account,
    query: &SocialQuery,
) -> Option<VerifiedProfile> {
    let (index, officer) = matching_officer(&user.name, &query.officers)?;
    let bio = user.description.as_deref()?;
    if !text_names_company(bio, &query.company_name) {
        return None;
    }
    Some(VerifiedProfile {
        platform: Platform::X,
        id: user.id.clone(),
        username: user.username.clone(),
        url: format!("{WEB_BASE_URL}/{}", user.username),
        display_name: user.name.clone(),
        officer_index: index,
        officer_name: officer.full(),
        evidence: format!(
            "mentioned by @{} in a recent post; display name matches officer {}; bio names {}",
            official.handle_or_vanity,
            officer.full(),
            query.company_name
        ),
    })
}

#[cfg(test)]
mod tests;
