//! The social dataset the fake X, LinkedIn and Facebook serve, keyed by
//! company, with every record in its API's own JSON shape (X `User`,
//! LinkedIn organization, Graph `Page`), so the fakes never share the
//! clients' Rust types.
//!
//! `fixtures/fake-data/social.json` (embedded) covers some companies of the
//! bundled register, with decoys; [`SocialData::synthetic`] gives the
//! synthetic register's companies a deterministic presence too.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::companies_house::{Register, etag};
use super::synthetic::SplitMix64;

/// The bundled dataset.
pub const BUNDLED_SOCIAL_DATASET: &str = include_str!("../../fixtures/fake-data/social.json");

/// One company's presence on the three platforms, decoys included.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CompanySocial {
    pub company_number: String,
    /// The company's website, as an input row would give it (for tests and
    /// demo inputs; the fakes do not serve it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default)]
    pub x: XPresence,
    #[serde(default)]
    pub linkedin: LinkedInPresence,
    #[serde(default)]
    pub facebook: FacebookPresence,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct XPresence {
    /// `User` objects with every field the fake may be asked for.
    #[serde(default)]
    pub users: Vec<Value>,
    /// Posts: `{"id","author","text"}`; mentions are the `@handles` in the text.
    #[serde(default)]
    pub posts: Vec<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LinkedInPresence {
    /// Organizations as a non-administrator sees them.
    #[serde(default)]
    pub organizations: Vec<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FacebookPresence {
    /// `Page` nodes with every field the fake may be asked for.
    #[serde(default)]
    pub pages: Vec<Value>,
}

#[derive(Serialize, Deserialize)]
struct SocialFile {
    companies: Vec<CompanySocial>,
}

/// Everything the social fakes serve, indexed. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SocialData {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    companies: Vec<CompanySocial>,
    x_users: HashMap<String, Value>,
    x_posts: HashMap<String, Vec<Value>>,
    linkedin: HashMap<String, Value>,
    facebook: Vec<Value>,
}

impl SocialData {
    /// The embedded `fixtures/fake-data/social.json`.
    pub fn bundled() -> SocialData {
        // Validated by the tests; failing here is a build defect.
        SocialData::from_json(BUNDLED_SOCIAL_DATASET).expect("the bundled social dataset is valid")
    }

    pub fn from_json(text: &str) -> Result<SocialData, serde_json::Error> {
        let file: SocialFile = serde_json::from_str(text)?;
        Ok(SocialData::from_companies(file.companies))
    }

    pub fn from_path(path: &Path) -> std::io::Result<SocialData> {
        let text = std::fs::read_to_string(path)?;
        SocialData::from_json(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    pub fn from_companies(companies: Vec<CompanySocial>) -> SocialData {
        let mut inner = Inner::default();
        for company in &companies {
            for user in &company.x.users {
                if let Some(name) = user["username"].as_str() {
                    inner
                        .x_users
                        .insert(name.to_ascii_lowercase(), user.clone());
                }
            }
            for post in &company.x.posts {
                if let Some(author) = post["author"].as_str() {
                    inner
                        .x_posts
                        .entry(author.to_ascii_lowercase())
                        .or_default()
                        .push(post.clone());
                }
            }
            for org in &company.linkedin.organizations {
                if let Some(vanity) = org["vanityName"].as_str() {
                    inner
                        .linkedin
                        .insert(vanity.to_ascii_lowercase(), org.clone());
                }
            }
            inner
                .facebook
                .extend(company.facebook.pages.iter().cloned());
        }
        inner.companies = companies;
        SocialData {
            inner: Arc::new(inner),
        }
    }

    /// This data plus `other`'s.
    pub fn merged(&self, other: &SocialData) -> SocialData {
        let mut all = self.inner.companies.clone();
        all.extend(other.inner.companies.iter().cloned());
        SocialData::from_companies(all)
    }

    pub fn companies(&self) -> &[CompanySocial] {
        &self.inner.companies
    }

    pub fn company(&self, number: &str) -> Option<&CompanySocial> {
        self.inner
            .companies
            .iter()
            .find(|c| c.company_number.eq_ignore_ascii_case(number))
    }

    pub fn to_json(&self) -> String {
        let file = SocialFile {
            companies: self.inner.companies.clone(),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    pub(crate) fn x_user(&self, username: &str) -> Option<&Value> {
        self.inner.x_users.get(&username.to_ascii_lowercase())
    }

    pub(crate) fn x_posts_by(&self, username: &str) -> &[Value] {
        self.inner
            .x_posts
            .get(&username.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub(crate) fn linkedin_organization(&self, vanity: &str) -> Option<&Value> {
        self.inner.linkedin.get(&vanity.to_ascii_lowercase())
    }

    pub(crate) fn facebook_pages(&self) -> &[Value] {
        &self.inner.facebook
    }

    /// A social presence for some of `register`'s companies, the same for
    /// the same register and seed: about half have a website; of those,
    /// most have an X account (with a mention of their first officer),
    /// a LinkedIn page and a Facebook page; every fifth X account has a
    /// decoy with a similar handle and another website.
    pub fn synthetic(register: &Register, seed: u64) -> SocialData {
        let mut rng = SplitMix64::new(seed ^ 0x50c1_a1da_7a5e);
        let mut companies = Vec::new();
        for (i, company) in register.companies().iter().enumerate() {
            if rng.below(2) == 0 || company.profile["company_status"] != "active" {
                continue;
            }
            let number = company.number().to_owned();
            let name = company.name();
            let words: Vec<String> = name
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .filter(|w| !matches!(w.as_str(), "limited" | "ltd" | "plc" | "llp"))
                .collect();
            let slug = words.concat();
            let website = format!("https://www.{slug}.co.uk");
            let postcode = company.profile["registered_office_address"]["postal_code"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let handle: String = slug.chars().take(15).collect();
            let id = |salt: &str| numeric_id(&[&number, salt]);
            let mut social = CompanySocial {
                company_number: number.clone(),
                website: Some(website.clone()),
                ..CompanySocial::default()
            };
            if rng.below(10) < 8 {
                social.x.users.push(x_user(
                    &id("x"),
                    name,
                    &handle,
                    &format!("{name}, official account."),
                    &website,
                    "business",
                ));
                let officer = company.officers.iter().find(|o| o["resigned_on"].is_null());
                if let Some((surname, forename)) = officer
                    .and_then(|o| o["name"].as_str())
                    .and_then(|n| n.split_once(", "))
                {
                    let forename = forename.split_whitespace().next().unwrap_or_default();
                    let display = format!("{forename} {}", title_case(surname));
                    let person: String = format!("{forename}{surname}")
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(15)
                        .collect();
                    social.x.users.push(x_user(
                        &id("officer"),
                        &display,
                        &person,
                        &format!("Director at {name}."),
                        "",
                        "none",
                    ));
                    social.x.posts.push(json!({
                        "id": id("post"),
                        "author": handle,
                        "text": format!("Welcome aboard @{person}!"),
                    }));
                }
                if i % 5 == 0 {
                    let decoy: String = format!("{}_", handle.chars().take(14).collect::<String>());
                    social.x.users.push(x_user(
                        &id("decoy"),
                        name,
                        &decoy,
                        "Fan account.",
                        &format!("https://{slug}.example.com"),
                        "none",
                    ));
                }
            }
            if rng.below(10) < 7 {
                social.linkedin.organizations.push(json!({
                    "id": id("li").parse::<u64>().unwrap_or(1) % 100_000_000,
                    "vanityName": slug,
                    "localizedName": name,
                    "localizedWebsite": website,
                    "primaryOrganizationType": "NONE",
                    "name": {"localized": {"en_GB": name}, "preferredLocale": {"country": "GB", "language": "en"}},
                    "locations": [],
                }));
            }
            if rng.below(10) < 7 {
                let page_id = id("fb");
                social.facebook.pages.push(json!({
                    "id": page_id,
                    "name": name,
                    "link": format!("https://www.facebook.com/{page_id}"),
                    "website": website,
                    "location": {"zip": postcode, "country": "United Kingdom"},
                }));
            }
            companies.push(social);
        }
        SocialData::from_companies(companies)
    }
}

/// A numeric id (like X and Graph ids) derived from `parts`.
pub(crate) fn numeric_id(parts: &[&str]) -> String {
    let hex = etag(parts);
    let n = u64::from_str_radix(&hex[..15], 16).unwrap_or(1);
    format!("{}", 1_000_000_000_000_000 + n % 8_000_000_000_000_000)
}

fn title_case(word: &str) -> String {
    let lower = word.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn x_user(
    id: &str,
    name: &str,
    username: &str,
    bio: &str,
    website: &str,
    verified_type: &str,
) -> Value {
    let mut user = json!({
        "id": id,
        "name": name,
        "username": username,
        "description": bio,
        "verified": verified_type != "none",
        "verified_type": verified_type,
        "location": "United Kingdom",
        "public_metrics": {"followers_count": 120, "following_count": 80, "tweet_count": 300, "listed_count": 2, "like_count": 40},
    });
    if !website.is_empty() {
        let short = format!("https://t.co/{}", &etag(&[website])[..10]);
        user["url"] = json!(short);
        user["entities"] = json!({"url": {"urls": [{
            "start": 0, "end": short.len(), "url": short,
            "expanded_url": website,
            "display_url": website.trim_start_matches("https://").trim_start_matches("www."),
        }]}});
    }
    user
}
