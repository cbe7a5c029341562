//! HTTP calls to the Companies House public data API.

use std::sync::Arc;

use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use super::types::{
    AdvancedCompany, AdvancedCompanySearch, AppointmentItem, AppointmentList, CompanyProfile,
    CompanySearch, CompanySearchItem, OfficerList, OfficerSummary, Psc, PscList, PscStatementItem,
    PscStatementList,
};
use crate::cache::{Cache, CacheKey, Resource};
use crate::company_number::CompanyNumber;
use crate::gateway::{Gateway, Provider};
use crate::sources::SourceError;

/// The live API.
pub const DEFAULT_BASE_URL: &str = "https://api.company-information.service.gov.uk";

const PROVIDER: Provider = Provider::CompaniesHouse;
/// The most the list endpoints give per page; paging follows what each
/// page actually returned, so a smaller server cap still works.
const PAGE_SIZE: u64 = 100;
/// A company with more officers than this many pages hold is not a real one.
const MAX_PAGES: u64 = 200;
/// Search candidates per call: the most a page holds (the recorded real
/// search `search_result_you.json` has `items_per_page: 100`), so one call
/// brings five times the API's default 20 for the same quota.
const SEARCH_PAGE_SIZE: u64 = 100;
/// Companies per advanced search: the spec allows `size` up to 5000; a
/// name fragment near one postcode rarely needs more than a page.
const ADVANCED_PAGE_SIZE: u64 = 100;

/// The advanced search's path (`search-companies.json#searchAdvanced`).
const ADVANCED_PATH: &str = "/advanced-search/companies";

#[derive(Clone)]
pub struct Client {
    gateway: Gateway,
    cache: Cache,
    base_url: Arc<str>,
    api_key: SecretString,
}

impl Client {
    pub fn new(gateway: Gateway, cache: Cache, base_url: &str, api_key: SecretString) -> Client {
        Client {
            gateway,
            cache,
            base_url: base_url.trim_end_matches('/').into(),
            api_key,
        }
    }

    /// The API base URL, part of every cache key.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `/search/companies`: the first page of candidates for `name`.
    pub async fn search_companies(
        &self,
        name: &str,
    ) -> Result<Vec<CompanySearchItem>, SourceError> {
        let q = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let query = [
            ("q", q.clone()),
            ("items_per_page", SEARCH_PAGE_SIZE.to_string()),
        ];
        let what = format!("the search for {q:?}");
        let page: Option<CompanySearch> = self
            .get_json(Resource::Search, "/search/companies", &query, &what)
            .await?;
        Ok(page.map(|p| p.items).unwrap_or_default())
    }

    /// `/advanced-search/companies` for companies whose name includes
    /// `name_includes` with a registered office at `location` (a town or
    /// postcode). A 404 means no companies: an empty list.
    pub async fn advanced_search(
        &self,
        name_includes: &str,
        location: &str,
    ) -> Result<Vec<AdvancedCompany>, SourceError> {
        let query = keys::advanced_query(name_includes, location);
        let what = format!(
            "the advanced search for {:?} near {:?}",
            query[0].1, query[1].1
        );
        let page = self.advanced(&query, &what).await?;
        Ok(page.map(|p| p.items).unwrap_or_default())
    }

    /// One page of `/advanced-search/companies` for `criteria` (with
    /// `location` in place of the criteria's own when given): up to `size`
    /// companies from `start_index`, and the number of hits. A 404 ("No
    /// companies found") is an empty page.
    pub async fn advanced_search_page(
        &self,
        criteria: &crate::criteria::Criteria,
        location: Option<&str>,
        start_index: u64,
        size: u64,
    ) -> Result<AdvancedCompanySearch, SourceError> {
        let query = keys::advanced_criteria(criteria, location, start_index, size);
        let what = format!("the advanced search from {start_index}");
        let page = self.advanced(&query, &what).await?;
        Ok(page.unwrap_or(AdvancedCompanySearch {
            items: Vec::new(),
            hits: Some(0),
        }))
    }

    /// `/advanced-search/companies` with `query`; `None` for its 404.
    async fn advanced(
        &self,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Option<AdvancedCompanySearch>, SourceError> {
        self.get_json(Resource::AdvancedSearch, ADVANCED_PATH, query, what)
            .await
    }

    /// Whether the cache already holds the answer for `key` (a call that
    /// costs no quota).
    pub async fn is_cached(&self, key: &CacheKey) -> bool {
        self.cache.contains(key).await
    }

    /// `/company/{n}`; `None` when the register does not know the number.
    pub async fn company_profile(
        &self,
        number: &CompanyNumber,
    ) -> Result<Option<CompanyProfile>, SourceError> {
        let path = format!("/company/{number}");
        self.get_json(Resource::Profile, &path, &[], &format!("company {number}"))
            .await
    }

    /// Every officer of the company, current and resigned, across all pages.
    pub async fn officers(
        &self,
        number: &CompanyNumber,
    ) -> Result<Vec<OfficerSummary>, SourceError> {
        let path = format!("/company/{number}/officers");
        let what = format!("the officers of {number}");
        self.all_pages(Resource::Officers, &path, &what, |page: OfficerList| {
            (page.items, page.total_results)
        })
        .await
    }

    /// Every appointment of an officer, all pages, from the path in their
    /// officer item's `links.officer.appointments`; `None` when the API
    /// answers 404 (an officer id it does not know).
    pub async fn appointments(
        &self,
        path: &str,
    ) -> Result<Option<Vec<AppointmentItem>>, SourceError> {
        let what = format!("the appointments of officer {path}");
        let first = [
            ("items_per_page", PAGE_SIZE.to_string()),
            ("start_index", "0".to_string()),
        ];
        if self
            .get_json::<AppointmentList>(Resource::Appointments, path, &first, &what)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        // The first page is cached now: all_pages reads it again for free.
        self.all_pages(
            Resource::Appointments,
            path,
            &what,
            |page: AppointmentList| (page.items, page.total_results),
        )
        .await
        .map(Some)
    }

    /// Every person with significant control; none when the API answers 404.
    pub async fn persons_with_significant_control(
        &self,
        number: &CompanyNumber,
    ) -> Result<Vec<Psc>, SourceError> {
        let path = format!("/company/{number}/persons-with-significant-control");
        let what = format!("the persons with significant control of {number}");
        self.all_pages(Resource::Psc, &path, &what, |page: PscList| {
            (page.items, page.total_results)
        })
        .await
    }

    /// The company's PSC statements; none when the API answers 404.
    pub async fn psc_statements(
        &self,
        number: &CompanyNumber,
    ) -> Result<Vec<PscStatementItem>, SourceError> {
        let path = format!("/company/{number}/persons-with-significant-control-statements");
        let what = format!("the PSC statements of {number}");
        self.all_pages(
            Resource::PscStatements,
            &path,
            &what,
            |page: PscStatementList| (page.items, page.total_results),
        )
        .await
    }

    async fn all_pages<P, T>(
        &self,
        resource: Resource,
        path: &str,
        what: &str,
        split: impl Fn(P) -> (Vec<T>, Option<u64>),
    ) -> Result<Vec<T>, SourceError>
    where
        P: DeserializeOwned,
    {
        let mut items = Vec::new();
        let mut start = 0u64;
        for _ in 0..MAX_PAGES {
            let query = [
                ("items_per_page", PAGE_SIZE.to_string()),
                ("start_index", start.to_string()),
            ];
            let Some(page) = self.get_json::<P>(resource, path, &query, what).await? else {
                break;
            };
            let (page_items, total) = split(page);
            let got = page_items.len() as u64;
            items.extend(page_items);
            start += got;
            let done = match total {
                Some(total) => start >= total,
                None => got < PAGE_SIZE,
            };
            if done || got == 0 {
                break;
            }
        }
        Ok(items)
    }

    /// GET a resource through the cache; `Ok(None)` for 404.
    async fn get_json<T: DeserializeOwned>(
        &self,
        resource: Resource,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Option<T>, SourceError> {
        let key = cache_key(&self.base_url, resource, path, query);
        crate::sources::cached_json(
            &self.cache,
            key,
            PROVIDER,
            what,
            self.fetch(resource, path, query, what),
        )
        .await
    }

    async fn fetch(
        &self,
        resource: Resource,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Option<Bytes>, SourceError> {
        let url = format!("{}{}", self.base_url, path);
        let response = self
            .gateway
            .send(Provider::CompaniesHouse, resource.as_str(), |http| {
                http.get(&url)
                    .query(query)
                    .header(reqwest::header::ACCEPT, "application/json")
                    // The key is the username; the password is empty.
                    .basic_auth(self.api_key.expose_secret(), Some(""))
            })
            .await?;
        crate::sources::json_answer::<crate::sources::Unread>(PROVIDER, what, response)
    }
}

/// Keys carry the base URL: answers from one API (the bundled fake, say)
/// are never served for another.
fn cache_key(base: &str, resource: Resource, path: &str, query: &[(&str, String)]) -> CacheKey {
    // Search is case-insensitive, so "Acme Ltd" and "ACME LTD" share an entry.
    let mut params: Vec<String> = query
        .iter()
        .map(|(k, v)| match resource {
            Resource::Search | Resource::AdvancedSearch => format!("{k}={}", v.to_lowercase()),
            _ => format!("{k}={v}"),
        })
        .collect();
    params.sort();
    CacheKey {
        resource,
        params: format!("{base}{path}?{}", params.join("&")),
    }
}

/// The cache keys of the calls a company needs, for `discover --plan`.
/// Officer and PSC lists: the first page only (how many pages a company
/// has is known only once the first is fetched).
pub mod keys {
    use super::*;

    pub fn search(base: &str, name: &str) -> CacheKey {
        let q = name.split_whitespace().collect::<Vec<_>>().join(" ");
        cache_key(
            base,
            Resource::Search,
            "/search/companies",
            &[("q", q), ("items_per_page", SEARCH_PAGE_SIZE.to_string())],
        )
    }

    pub(super) fn advanced_query(
        name_includes: &str,
        location: &str,
    ) -> [(&'static str, String); 3] {
        let tidy = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        [
            ("company_name_includes", tidy(name_includes)),
            ("location", tidy(location)),
            ("size", ADVANCED_PAGE_SIZE.to_string()),
        ]
    }

    /// The parameters of a `find` page: the spec's names, lists as comma
    /// lists (`search-companies.json#searchAdvanced`).
    pub fn advanced_criteria(
        c: &crate::criteria::Criteria,
        location: Option<&str>,
        start_index: u64,
        size: u64,
    ) -> Vec<(&'static str, String)> {
        let mut q: Vec<(&'static str, String)> = Vec::new();
        if let Some(codes) = &c.sic_codes {
            q.push((
                "sic_codes",
                codes.iter().copied().collect::<Vec<_>>().join(","),
            ));
        }
        if !c.statuses.is_empty() {
            q.push(("company_status", c.statuses.join(",")));
        }
        if !c.types.is_empty() {
            q.push(("company_type", c.types.join(",")));
        }
        if let Some(d) = &c.incorporated_from {
            q.push(("incorporated_from", d.clone()));
        }
        if let Some(d) = &c.incorporated_to {
            q.push(("incorporated_to", d.clone()));
        }
        if let Some(l) = location.or(c.location.as_deref()) {
            q.push(("location", l.to_owned()));
        }
        if let Some(n) = &c.name_includes {
            q.push(("company_name_includes", n.clone()));
        }
        q.push(("size", size.to_string()));
        q.push(("start_index", start_index.to_string()));
        q
    }

    /// The cache key of a `find` page (for `--plan`).
    pub fn advanced_criteria_page(
        base: &str,
        c: &crate::criteria::Criteria,
        location: Option<&str>,
        start_index: u64,
        size: u64,
    ) -> CacheKey {
        cache_key(
            base,
            Resource::AdvancedSearch,
            ADVANCED_PATH,
            &advanced_criteria(c, location, start_index, size),
        )
    }

    pub fn advanced_search(base: &str, name_includes: &str, location: &str) -> CacheKey {
        cache_key(
            base,
            Resource::AdvancedSearch,
            ADVANCED_PATH,
            &advanced_query(name_includes, location),
        )
    }

    /// The first page of an officer's appointments list (`path` as in
    /// `links.officer.appointments`).
    pub fn appointments(base: &str, path: &str) -> CacheKey {
        first_page(base, Resource::Appointments, path.to_owned())
    }

    pub fn profile(base: &str, number: &CompanyNumber) -> CacheKey {
        cache_key(base, Resource::Profile, &format!("/company/{number}"), &[])
    }

    fn first_page(base: &str, resource: Resource, path: String) -> CacheKey {
        cache_key(
            base,
            resource,
            &path,
            &[
                ("items_per_page", PAGE_SIZE.to_string()),
                ("start_index", "0".to_string()),
            ],
        )
    }

    pub fn officers(base: &str, number: &CompanyNumber) -> CacheKey {
        first_page(
            base,
            Resource::Officers,
            format!("/company/{number}/officers"),
        )
    }

    pub fn psc(base: &str, number: &CompanyNumber) -> CacheKey {
        first_page(
            base,
            Resource::Psc,
            format!("/company/{number}/persons-with-significant-control"),
        )
    }
}
