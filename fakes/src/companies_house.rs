//! The fake Companies House: `/search/companies`, `/advanced-search/companies`,
//! `/company/{n}`, `/company/{n}/officers`,
//! `/company/{n}/persons-with-significant-control`,
//! `/officers/{officer_id}/appointments`.
//!
//! The register holds every record as `serde_json::Value` in the API's own
//! shapes (profile verbatim, officer summaries, PSC list items), so the fake
//! never depends on the client's Rust types: a client bug in a type cannot be
//! hidden by the fake sharing it. This module builds the JSON bodies; the HTTP
//! plumbing (auth, quota, faults) lives in `server.rs`.
//!
//! A [`Register`] is immutable once loaded. The running server serves it
//! through a `LiveRegister`, which keeps copies of the companies that the
//! fake streaming API has changed (copy-on-write, `stream.rs`), so the REST
//! endpoints answer with the state after each published event. Changes never
//! rename a company, so the search index built from the register stays valid.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The bundled dataset, embedded so `leadgen-fakes` works from any directory.
pub const BUNDLED_DATASET: &str = include_str!("../../fixtures/fake-data/companies_house.json");

/// One company as the fake stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Company {
    /// `companyProfile`, served verbatim by `/company/{n}`.
    pub profile: Value,
    /// `officerSummary` items, in the order the officers endpoint pages them.
    #[serde(default)]
    pub officers: Vec<Value>,
    /// PSC list items; empty means the PSC endpoint answers 404.
    #[serde(default)]
    pub persons_with_significant_control: Vec<Value>,
    /// PSC statements (`pscModels.json#statement`); empty means the
    /// statements endpoint answers 404.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub psc_statements: Vec<Value>,
    /// A recorded `CompanySearchItems` to serve instead of one derived from
    /// the profile (keeps real quirks such as `"YOU  LIMITED"`); `matches`
    /// and `snippet` are always recomputed for the query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_item: Option<Value>,
}

impl Company {
    pub fn number(&self) -> &str {
        self.profile["company_number"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.profile["company_name"].as_str().unwrap_or_default()
    }
}

/// The dataset file: `{"companies": [Company, ...]}`.
#[derive(Serialize, Deserialize)]
struct DatasetFile {
    companies: Vec<Company>,
}

/// Why a dataset could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read the fake dataset {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the fake dataset is not valid JSON of the form {{\"companies\":[...]}}: {0}")]
    Json(#[from] serde_json::Error),
    #[error("company #{index} of the fake dataset is invalid: {reason}")]
    Invalid { index: usize, reason: String },
}

/// The register the fake serves: records in the API's own JSON shapes.
///
/// Cheap to clone (shared behind an `Arc`); the search index is built once.
#[derive(Debug, Clone, Default)]
pub struct Register {
    inner: Arc<RegisterInner>,
}

#[derive(Debug, Default)]
struct RegisterInner {
    companies: Vec<Company>,
    by_number: HashMap<String, usize>,
    index: SearchIndex,
    /// `(hash of links.officer.appointments, company position)`, sorted:
    /// which companies list an officer. Built on the first appointments
    /// request, so registers nobody asks that of never pay for it.
    by_officer: OnceLock<Vec<(u64, u32)>>,
}

impl Register {
    /// The embedded `fixtures/fake-data/companies_house.json`.
    pub fn bundled() -> Register {
        // The bundled file is validated by the tests; failing here is a build defect.
        Register::from_json(BUNDLED_DATASET).expect("the bundled fake dataset is valid")
    }

    pub fn from_json(text: &str) -> Result<Register, DatasetError> {
        let file: DatasetFile = serde_json::from_str(text)?;
        Register::from_companies(file.companies)
    }

    pub fn from_path(path: &Path) -> Result<Register, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Register::from_json(&text)
    }

    pub fn from_companies(companies: Vec<Company>) -> Result<Register, DatasetError> {
        let mut by_number = HashMap::with_capacity(companies.len());
        for (index, company) in companies.iter().enumerate() {
            let invalid = |reason: String| DatasetError::Invalid { index, reason };
            let number = company.profile["company_number"]
                .as_str()
                .ok_or_else(|| invalid("profile.company_number is missing".into()))?;
            if number.len() != 8 || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(invalid(format!(
                    "company_number {number:?} is not 8 letters or digits"
                )));
            }
            if company.profile["company_name"].as_str().is_none() {
                return Err(invalid(format!(
                    "{number}: profile.company_name is missing"
                )));
            }
            if by_number.insert(number.to_owned(), index).is_some() {
                return Err(invalid(format!("{number} appears twice")));
            }
        }
        let index = SearchIndex::build(&companies);
        Ok(Register {
            inner: Arc::new(RegisterInner {
                companies,
                by_number,
                index,
                by_officer: OnceLock::new(),
            }),
        })
    }

    /// This register plus `other`'s companies (numbers must not clash).
    pub fn merged(&self, other: &Register) -> Result<Register, DatasetError> {
        let mut all = self.inner.companies.clone();
        all.extend(other.inner.companies.iter().cloned());
        Register::from_companies(all)
    }

    pub fn companies(&self) -> &[Company] {
        &self.inner.companies
    }

    pub fn len(&self) -> usize {
        self.inner.companies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.companies.is_empty()
    }

    /// Look a company up by its 8-character number (case-insensitive).
    pub fn company(&self, number: &str) -> Option<&Company> {
        self.position(number).map(|i| &self.inner.companies[i])
    }

    /// The dataset file text for this register.
    pub fn to_json(&self) -> String {
        let file = DatasetFile {
            companies: self.inner.companies.clone(),
        };
        // Serialising plain `Value`s cannot fail.
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    /// A `CompanySearch` body for `q`, paged like the real search.
    pub fn search(&self, q: &str, start_index: usize, items_per_page: usize) -> Value {
        self.search_in(&Base(&self.inner.companies), q, start_index, items_per_page)
    }

    fn search_in(
        &self,
        view: &impl View,
        q: &str,
        start_index: usize,
        items_per_page: usize,
    ) -> Value {
        // Names and numbers never change, so the base companies rank the hits.
        let hits = self.inner.index.search(&self.inner.companies, q);
        let items: Vec<Value> = hits
            .iter()
            .skip(start_index)
            .take(items_per_page)
            .map(|hit| search_item(view.at(hit.company), hit))
            .collect();
        json!({
            "kind": "search#companies",
            "items_per_page": items_per_page,
            "start_index": start_index,
            "total_results": hits.len(),
            "page_number": start_index / items_per_page.max(1) + 1,
            "items": items,
        })
    }

    /// An `advancedCompanySearch` body (`search-companies.json#searchAdvanced`),
    /// or `None` when no company qualifies (the spec's 404 "No companies
    /// found").
    ///
    /// How the filters match is not documented beyond their names; the fake
    /// reads them as a person would: `company_name_includes` every word of
    /// it in the current name, `company_name_excludes` none of them,
    /// `location` every word of it in the registered office address (a
    /// postcode, full or outward code, against the office's postcode), list
    /// filters as any-of, dates inclusive. Results are in name order.
    pub fn advanced_search(
        &self,
        filter: &AdvancedFilter,
        start_index: usize,
        size: usize,
    ) -> Option<Value> {
        self.advanced_search_in(&Base(&self.inner.companies), filter, start_index, size)
    }

    fn advanced_search_in(
        &self,
        view: &impl View,
        filter: &AdvancedFilter,
        start_index: usize,
        size: usize,
    ) -> Option<Value> {
        let includes = tokens(filter.name_includes.as_deref().unwrap_or_default());
        let excludes = tokens(filter.name_excludes.as_deref().unwrap_or_default());
        let location = filter
            .location
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        let mut hits: Vec<&Company> = (0..self.inner.companies.len())
            .map(|i| view.at(i))
            .filter(|c| {
                let name = tokens(c.name());
                let p = &c.profile;
                let any_of = |wanted: &[String], value: &str| {
                    wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(value))
                };
                let date = |key: &str| p[key].as_str().unwrap_or_default().to_owned();
                let sics: Vec<&str> = p["sic_codes"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                includes.iter().all(|w| name.contains(w))
                    && !excludes.iter().any(|w| name.contains(w))
                    && (location.is_empty()
                        || address_matches(&p["registered_office_address"], location))
                    && any_of(
                        &filter.statuses,
                        p["company_status"].as_str().unwrap_or_default(),
                    )
                    && any_of(&filter.types, p["type"].as_str().unwrap_or_default())
                    && any_of(&filter.subtypes, p["subtype"].as_str().unwrap_or_default())
                    && (filter.sic_codes.is_empty()
                        || sics.iter().any(|s| filter.sic_codes.iter().any(|w| w == s)))
                    && filter
                        .incorporated_from
                        .as_ref()
                        .is_none_or(|d| date("date_of_creation") >= *d)
                    && filter.incorporated_to.as_ref().is_none_or(|d| {
                        let created = date("date_of_creation");
                        !created.is_empty() && created <= *d
                    })
                    && filter
                        .dissolved_from
                        .as_ref()
                        .is_none_or(|d| date("date_of_cessation") >= *d)
                    && filter.dissolved_to.as_ref().is_none_or(|d| {
                        let ceased = date("date_of_cessation");
                        !ceased.is_empty() && ceased <= *d
                    })
            })
            .collect();
        if hits.is_empty() {
            return None;
        }
        hits.sort_by(|a, b| a.name().cmp(b.name()).then(a.number().cmp(b.number())));
        let items: Vec<Value> = hits
            .iter()
            .skip(start_index)
            .take(size)
            .map(|c| advanced_item(&c.profile))
            .collect();
        Some(json!({
            "kind": "search#advanced-search",
            "hits": hits.len().to_string(),
            "top_hit": items.first().cloned().unwrap_or(Value::Null),
            "items": items,
            "etag": etag(&["advanced", &hits.len().to_string()]),
        }))
    }

    /// An `officerList` page, or `None` for an unknown company.
    pub fn officer_list(
        &self,
        number: &str,
        start_index: usize,
        items_per_page: usize,
    ) -> Option<Value> {
        officer_list(self.company(number)?, start_index, items_per_page)
    }

    /// A PSC list page, or `None` when the company is unknown or has no PSCs
    /// (the real API answers 404 to both).
    pub fn psc_list(
        &self,
        number: &str,
        start_index: usize,
        items_per_page: usize,
    ) -> Option<Value> {
        psc_list(self.company(number)?, start_index, items_per_page)
    }

    /// A page of PSC statements (`statementList`), or `None` when the
    /// company is unknown or has none (404).
    pub fn psc_statement_list(
        &self,
        number: &str,
        start_index: usize,
        items_per_page: usize,
    ) -> Option<Value> {
        psc_statement_list(self.company(number)?, start_index, items_per_page)
    }

    /// An `appointmentList` page (officerAppointmentList.json) of the person
    /// whose officer items link to `/officers/{officer_id}/appointments`,
    /// or `None` when no officer item does (the endpoint's 404). See
    /// [`appointment_list`] for the order and the fields.
    pub fn appointment_list(
        &self,
        officer_id: &str,
        start_index: usize,
        items_per_page: usize,
        active_only: bool,
    ) -> Option<Value> {
        let page = Paging {
            start_index,
            items_per_page,
            active_only,
        };
        self.appointments_in(&Base(&self.inner.companies), officer_id, &page)
    }

    fn appointments_in(&self, view: &impl View, officer_id: &str, page: &Paging) -> Option<Value> {
        let link = format!("/officers/{officer_id}/appointments");
        // Unchanged companies through the index; changed ones (which may
        // have gained or lost the officer) are all looked at.
        let mut positions: Vec<usize> = self.officer_positions(&link);
        positions.extend(view.changed());
        positions.sort_unstable();
        positions.dedup();
        let mut found: Vec<(&Company, usize, &Value)> = Vec::new();
        for i in positions {
            let company = view.at(i);
            for (k, o) in company.officers.iter().enumerate() {
                if o["links"]["officer"]["appointments"].as_str() == Some(link.as_str()) {
                    found.push((company, k, o));
                }
            }
        }
        appointment_list(officer_id, found, page)
    }

    /// The positions of the companies whose base records list `link`.
    fn officer_positions(&self, link: &str) -> Vec<usize> {
        let index = self.inner.by_officer.get_or_init(|| {
            let mut index: Vec<(u64, u32)> = Vec::new();
            for (i, c) in self.inner.companies.iter().enumerate() {
                for o in &c.officers {
                    if let Some(l) = o["links"]["officer"]["appointments"].as_str() {
                        index.push((fnv1a(l), i as u32));
                    }
                }
            }
            index.sort_unstable();
            index.dedup();
            index
        });
        let h = fnv1a(link);
        let from = index.partition_point(|&(k, _)| k < h);
        index[from..]
            .iter()
            .take_while(|&&(k, _)| k == h)
            .map(|&(_, i)| i as usize)
            .collect()
    }

    /// The position of company `number` (case-insensitive) in [`Register::companies`].
    fn position(&self, number: &str) -> Option<usize> {
        self.inner
            .by_number
            .get(&number.to_ascii_uppercase())
            .copied()
    }
}

/// Where the query methods read a company from: the register as loaded
/// ([`Base`]) or with the streaming API's changes (`Overlay`).
trait View {
    fn at(&self, index: usize) -> &Company;

    /// The positions of the companies that differ from the base register.
    fn changed(&self) -> Vec<usize> {
        Vec::new()
    }
}

struct Base<'a>(&'a [Company]);

impl View for Base<'_> {
    fn at(&self, index: usize) -> &Company {
        &self.0[index]
    }
}

struct Overlay<'a> {
    base: &'a [Company],
    changed: &'a HashMap<usize, Company>,
}

impl View for Overlay<'_> {
    fn at(&self, index: usize) -> &Company {
        self.changed.get(&index).unwrap_or(&self.base[index])
    }

    fn changed(&self) -> Vec<usize> {
        self.changed.keys().copied().collect()
    }
}

fn officer_list(company: &Company, start_index: usize, items_per_page: usize) -> Option<Value> {
    let resigned = company
        .officers
        .iter()
        .filter(|o| o.get("resigned_on").is_some_and(|v| !v.is_null()))
        .count();
    let items: Vec<&Value> = company
        .officers
        .iter()
        .skip(start_index)
        .take(items_per_page)
        .collect();
    Some(json!({
        "kind": "officer-list",
        "items_per_page": items_per_page,
        "start_index": start_index,
        "total_results": company.officers.len(),
        "active_count": company.officers.len() - resigned,
        "resigned_count": resigned,
        "inactive_count": 0,
        // Follows the list: a new appointment or a resignation changes it.
        "etag": etag(&[
            "officers",
            company.number(),
            &company.officers.len().to_string(),
            &resigned.to_string(),
        ]),
        "links": { "self": format!("/company/{}/officers", company.number()) },
        "items": items,
    }))
}

/// A page request of the appointments endpoint.
struct Paging {
    start_index: usize,
    items_per_page: usize,
    /// `filter=active`: active appointments only.
    active_only: bool,
}

fn is_resigned(officer: &Value) -> bool {
    officer.get("resigned_on").is_some_and(|v| !v.is_null())
}

/// The members an `officerSummary` shares with an `officerAppointmentSummary`
/// (officerAppointmentList.json), copied when the officer item has them.
const APPOINTMENT_MEMBERS: &[&str] = &[
    "appointed_on",
    "is_pre_1992_appointment",
    "appointed_before",
    "resigned_on",
    "occupation",
    "nationality",
    "country_of_residence",
    "address",
    "former_names",
    "identification",
    "contact_details",
    "principal_office_address",
    "responsibilities",
    "identity_verification_details",
];

/// Whether an officer item is a corporate body's: a `corporate-*` role, or
/// the `identification` only corporate bodies carry (a corporate body can
/// hold a natural role, as LONDON LAW SERVICES LIMITED is a `nominee-director`).
fn is_corporate(officer: &Value) -> bool {
    officer["officer_role"]
        .as_str()
        .is_some_and(|r| r.starts_with("corporate-"))
        || officer.get("identification").is_some_and(|v| !v.is_null())
}

/// A natural officer's name as the appointments list shows it, from the
/// officer list's `"SURNAME, Forenames"`: `("Forenames SURNAME",
/// nameElements)` (`"HORLEY, Allan David"` → `"Allan David HORLEY"`,
/// forename Allan, other_forenames David, surname HORLEY). A name without
/// a comma is all surname. The officer list has no title or honours, so
/// neither has this.
fn appointment_name(list_name: &str) -> (String, Value) {
    let (surname, forenames) = match list_name.split_once(',') {
        Some((surname, forenames)) => (surname.trim(), forenames.trim()),
        None => (list_name.trim(), ""),
    };
    let mut words = forenames.split_whitespace();
    let mut elements = Map::new();
    if let Some(forename) = words.next() {
        elements.insert("forename".into(), json!(forename));
        let others: Vec<&str> = words.collect();
        if !others.is_empty() {
            elements.insert("other_forenames".into(), json!(others.join(" ")));
        }
    }
    elements.insert("surname".into(), json!(surname));
    let name = if forenames.is_empty() {
        surname.to_owned()
    } else {
        format!("{forenames} {surname}")
    };
    (name, Value::Object(elements))
}

/// One `officerAppointmentSummary`: the officer item's appointment at `company`.
fn appointment_item(company: &Company, officer: &Value) -> Value {
    let number = company.number();
    let mut appointed_to = Map::new();
    appointed_to.insert("company_number".into(), json!(number));
    appointed_to.insert("company_name".into(), json!(company.name()));
    if let Some(status) = company
        .profile
        .get("company_status")
        .filter(|v| !v.is_null())
    {
        appointed_to.insert("company_status".into(), status.clone());
    }
    let mut item = Map::new();
    item.insert("appointed_to".into(), Value::Object(appointed_to));
    let list_name = officer["name"].as_str().unwrap_or_default();
    if is_corporate(officer) {
        // nameElements are "the separate elements of a natural officer's name".
        item.insert("name".into(), json!(list_name));
    } else {
        let (name, elements) = appointment_name(list_name);
        item.insert("name".into(), json!(name));
        item.insert("name_elements".into(), elements);
    }
    item.insert("officer_role".into(), officer["officer_role"].clone());
    for key in APPOINTMENT_MEMBERS {
        if let Some(v) = officer.get(*key).filter(|v| !v.is_null()) {
            item.insert((*key).into(), v.clone());
        }
    }
    item.insert(
        "links".into(),
        json!({ "company": format!("/company/{number}") }),
    );
    Value::Object(item)
}

/// An `appointmentList` (officerAppointmentList.json) of the officer items
/// `found` (company, position in its list, item), or `None` when empty.
///
/// Order, as Companies House staff describe it (forum
/// /t/officer-appointments-disqualifications-ordering/488): active
/// appointments by appointment date, newest first, then resigned ones by
/// resignation date, newest first (a pre-1992 appointment by its
/// `appointed_before`); ties by company number, then list position.
/// `name`, `is_corporate_officer` and `date_of_birth` come from the first
/// appointment of that order, whatever the page and filter.
fn appointment_list(
    officer_id: &str,
    mut found: Vec<(&Company, usize, &Value)>,
    page: &Paging,
) -> Option<Value> {
    if found.is_empty() {
        return None;
    }
    let date = |o: &Value| -> String {
        let key = if is_resigned(o) {
            "resigned_on"
        } else if o.get("appointed_on").is_some_and(|v| !v.is_null()) {
            "appointed_on"
        } else {
            "appointed_before"
        };
        o[key].as_str().unwrap_or_default().to_owned()
    };
    found.sort_by(|(ca, ka, a), (cb, kb, b)| {
        is_resigned(a)
            .cmp(&is_resigned(b))
            .then_with(|| date(b).cmp(&date(a)))
            .then_with(|| ca.number().cmp(cb.number()))
            .then_with(|| ka.cmp(kb))
    });
    let resigned = found.iter().filter(|(_, _, o)| is_resigned(o)).count();
    let all = found.len();
    let (_, _, first) = found[0];
    let corporate = is_corporate(first);
    let name = if corporate {
        first["name"].as_str().unwrap_or_default().to_owned()
    } else {
        appointment_name(first["name"].as_str().unwrap_or_default()).0
    };
    let date_of_birth = found.iter().find_map(|(_, _, o)| {
        let dob = o.get("date_of_birth")?;
        // dateOfBirth is month and year only.
        Some(json!({ "month": dob.get("month")?, "year": dob.get("year")? }))
    });
    let listed: Vec<&(&Company, usize, &Value)> = found
        .iter()
        .filter(|(_, _, o)| !page.active_only || !is_resigned(o))
        .collect();
    let items: Vec<Value> = listed
        .iter()
        .skip(page.start_index)
        .take(page.items_per_page)
        .map(|(c, _, o)| appointment_item(c, o))
        .collect();
    let mut body = Map::new();
    body.insert("kind".into(), json!("personal-appointment"));
    body.insert("name".into(), json!(name));
    body.insert("is_corporate_officer".into(), json!(corporate));
    if let Some(dob) = date_of_birth.filter(|_| !corporate) {
        body.insert("date_of_birth".into(), dob);
    }
    body.insert("items_per_page".into(), json!(page.items_per_page));
    body.insert("start_index".into(), json!(page.start_index));
    body.insert("total_results".into(), json!(listed.len()));
    // Follows the list: a new appointment or a resignation changes it.
    body.insert(
        "etag".into(),
        json!(etag(&[
            "appointments",
            officer_id,
            &all.to_string(),
            &resigned.to_string(),
            if page.active_only { "active" } else { "" },
        ])),
    );
    body.insert(
        "links".into(),
        json!({ "self": format!("/officers/{officer_id}/appointments") }),
    );
    body.insert("items".into(), Value::Array(items));
    Some(Value::Object(body))
}

/// FNV-1a, for the officer index.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn psc_list(company: &Company, start_index: usize, items_per_page: usize) -> Option<Value> {
    list_with_ceased(
        &company.persons_with_significant_control,
        start_index,
        items_per_page,
        format!(
            "/company/{}/persons-with-significant-control",
            company.number()
        ),
    )
}

fn psc_statement_list(
    company: &Company,
    start_index: usize,
    items_per_page: usize,
) -> Option<Value> {
    list_with_ceased(
        &company.psc_statements,
        start_index,
        items_per_page,
        format!(
            "/company/{}/persons-with-significant-control-statements",
            company.number()
        ),
    )
}

/// The register as the running server serves it: the loaded [`Register`]
/// plus copies of the companies the fake streaming API has changed, so the
/// REST endpoints reflect every published event. Reads share a lock; a
/// change copies its company once and then edits the copy.
#[derive(Debug)]
pub(crate) struct LiveRegister {
    base: Register,
    /// By position in the base register.
    changed: RwLock<HashMap<usize, Company>>,
}

impl LiveRegister {
    pub(crate) fn new(base: Register) -> LiveRegister {
        LiveRegister {
            base,
            changed: RwLock::new(HashMap::new()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<usize, Company>> {
        self.changed.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<usize, Company>> {
        self.changed.write().unwrap_or_else(|e| e.into_inner())
    }

    fn with_view<R>(&self, f: impl FnOnce(&Overlay<'_>) -> R) -> R {
        let changed = self.read();
        f(&Overlay {
            base: &self.base.inner.companies,
            changed: &changed,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.base.len()
    }

    pub(crate) fn contains(&self, number: &str) -> bool {
        self.base.position(number).is_some()
    }

    /// The company as served now.
    pub(crate) fn company(&self, number: &str) -> Option<Company> {
        let i = self.base.position(number)?;
        Some(self.with_view(|v| v.at(i).clone()))
    }

    /// The profile as `/company/{n}` serves it now.
    pub(crate) fn profile(&self, number: &str) -> Option<Value> {
        let i = self.base.position(number)?;
        Some(self.with_view(|v| v.at(i).profile.clone()))
    }

    /// Change the company at `index` (copied from the base on its first change).
    pub(crate) fn update<R>(&self, index: usize, f: impl FnOnce(&mut Company) -> R) -> R {
        let mut changed = self.write();
        let company = changed
            .entry(index)
            .or_insert_with(|| self.base.inner.companies[index].clone());
        f(company)
    }

    /// A register of the companies as served now (rebuilds the index).
    pub(crate) fn snapshot(&self) -> Register {
        let companies = self.with_view(|v| (0..self.len()).map(|i| v.at(i).clone()).collect());
        // The changes keep numbers and names, so this cannot fail.
        Register::from_companies(companies).unwrap_or_default()
    }

    pub(crate) fn search(&self, q: &str, start_index: usize, items_per_page: usize) -> Value {
        self.with_view(|v| self.base.search_in(v, q, start_index, items_per_page))
    }

    pub(crate) fn advanced_search(
        &self,
        filter: &AdvancedFilter,
        start_index: usize,
        size: usize,
    ) -> Option<Value> {
        self.with_view(|v| self.base.advanced_search_in(v, filter, start_index, size))
    }

    fn list(&self, number: &str, f: impl FnOnce(&Company) -> Option<Value>) -> Option<Value> {
        let i = self.base.position(number)?;
        self.with_view(|v| f(v.at(i)))
    }

    pub(crate) fn officer_list(
        &self,
        number: &str,
        start_index: usize,
        items_per_page: usize,
    ) -> Option<Value> {
        self.list(number, |c| officer_list(c, start_index, items_per_page))
    }

    pub(crate) fn psc_list(
        &self,
        number: &str,
        start_index: usize,
        items_per_page: usize,
    ) -> Option<Value> {
        self.list(number, |c| psc_list(c, start_index, items_per_page))
    }

    /// As [`Register::appointment_list`], with the published changes.
    pub(crate) fn appointment_list(
        &self,
        officer_id: &str,
        start_index: usize,
        items_per_page: usize,
        active_only: bool,
    ) -> Option<Value> {
        let page = Paging {
            start_index,
            items_per_page,
            active_only,
        };
        self.with_view(|v| self.base.appointments_in(v, officer_id, &page))
    }

    pub(crate) fn psc_statement_list(
        &self,
        number: &str,
        start_index: usize,
        items_per_page: usize,
    ) -> Option<Value> {
        self.list(number, |c| {
            psc_statement_list(c, start_index, items_per_page)
        })
    }
}

/// After a registered office change: a recorded search item (kept for its
/// real quirks) shows the new address too.
pub(crate) fn refresh_search_item(company: &mut Company) {
    let Some(Value::Object(item)) = &mut company.search_item else {
        return;
    };
    let mut address = Map::new();
    if let Some(office) = company.profile["registered_office_address"].as_object() {
        for (k, v) in office {
            if !v.is_null() {
                address.insert(k.clone(), v.clone());
            }
        }
    }
    item.insert("address_snippet".into(), json!(address_snippet(&address)));
    item.insert("address".into(), Value::Object(address));
}

/// One page of a PSC or statement list (`list` / `statementList` in
/// pscModels.json): the counts of active and ceased items (`ceased_on`, or
/// a protected item's `ceased`) over the whole list; `None` when empty.
fn list_with_ceased(
    all: &[Value],
    start_index: usize,
    items_per_page: usize,
    self_link: String,
) -> Option<Value> {
    if all.is_empty() {
        return None;
    }
    let ceased = all
        .iter()
        .filter(|p| p.get("ceased_on").is_some_and(|v| !v.is_null()) || p["ceased"] == true)
        .count();
    let items: Vec<&Value> = all.iter().skip(start_index).take(items_per_page).collect();
    Some(json!({
        "items_per_page": items_per_page,
        "start_index": start_index,
        "total_results": all.len(),
        "active_count": all.len() - ceased,
        "ceased_count": ceased,
        "links": { "self": self_link },
        "items": items,
    }))
}

/// A 40-hex-digit etag like the real ones (SHA-1 sized), stable for the same input.
pub(crate) fn etag(parts: &[&str]) -> String {
    let mut out = String::with_capacity(40);
    for salt in 0u64..3 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
        for part in parts {
            for b in part.bytes().chain(std::iter::once(0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        let _ = write!(out, "{h:016x}");
    }
    out.truncate(40);
    out
}

// ---------------------------------------------------------------------------
// Search

/// Words that say what kind of company it is, not which: they rank but never
/// retrieve on their own (else "X LIMITED" would return the whole register).
const WEAK_WORDS: &[&str] = &[
    "LIMITED", "PLC", "LLP", "LP", "THE", "AND", "OF", "CO", "COMPANY", "UK", "CIC", "SE", "EEIG",
];

/// Upper-case ASCII words; `&` becomes AND, apostrophes and dots join
/// (`O'NEILL` → ONEILL, `A.B.C.` → ABC), and the legally equivalent
/// designators fold together (LTD, CYF, CYFYNGEDIG → LIMITED).
pub(crate) fn tokens(text: &str) -> Vec<String> {
    let ascii = deunicode::deunicode(text).to_ascii_uppercase();
    let mut cleaned = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        match c {
            '&' => cleaned.push_str(" AND "),
            '\'' | '.' | '`' => {}
            c if c.is_ascii_alphanumeric() => cleaned.push(c),
            _ => cleaned.push(' '),
        }
    }
    cleaned
        .split_whitespace()
        .map(|w| match w {
            "LTD" | "CYF" | "CYFYNGEDIG" => "LIMITED".to_owned(),
            "CCC" | "CYFYNGEDIGCCC" => "PLC".to_owned(),
            other => other.to_owned(),
        })
        .collect()
}

fn is_weak(token: &str) -> bool {
    WEAK_WORDS.contains(&token)
}

#[derive(Debug, Default)]
struct SearchIndex {
    /// token → (company index, which name: 0 = current, k = previous name k-1)
    postings: HashMap<String, Vec<(usize, usize)>>,
    /// Per company, per name: its tokens.
    names: Vec<Vec<Vec<String>>>,
}

/// One search result: which company, and which of its names matched.
#[derive(Debug)]
struct Hit {
    company: usize,
    /// 0 = the current name; k = previous name k-1 (shown as the snippet).
    name: usize,
    /// Query tokens matched in that name (for highlighting).
    matched: HashSet<String>,
}

impl SearchIndex {
    fn build(companies: &[Company]) -> SearchIndex {
        let mut index = SearchIndex::default();
        for (ci, company) in companies.iter().enumerate() {
            let mut names = vec![tokens(company.name())];
            if let Some(previous) = company.profile["previous_company_names"].as_array() {
                for p in previous {
                    names.push(tokens(p["name"].as_str().unwrap_or_default()));
                }
            }
            for (ni, name) in names.iter().enumerate() {
                for t in name.iter().collect::<HashSet<_>>() {
                    index.postings.entry(t.clone()).or_default().push((ci, ni));
                }
            }
            index.names.push(names);
        }
        index
    }

    /// Name tokens close enough to a query token to count as a match: the
    /// same word, or a typo of it. The real search's tolerance is not
    /// documented; this is Elasticsearch's `fuzziness: AUTO`, the usual
    /// setting of a search built on it: no edit for words of up to two
    /// letters, one edit up to five, two beyond.
    fn similar<'a>(&'a self, token: &str) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some((k, _)) = self.postings.get_key_value(token) {
            out.push(k);
        }
        let edits = match token.len() {
            0..=2 => 0,
            3..=5 => 1,
            _ => 2,
        };
        if edits > 0 {
            for k in self.postings.keys() {
                if k != token
                    && k.len().abs_diff(token.len()) <= edits
                    && strsim::damerau_levenshtein(k, token) <= edits
                {
                    out.push(k);
                }
            }
        }
        out
    }

    fn search(&self, companies: &[Company], q: &str) -> Vec<Hit> {
        let query = tokens(q);
        let mut seen_query = HashSet::new();
        let query: Vec<String> = query
            .into_iter()
            .filter(|t| seen_query.insert(t.clone()))
            .collect();
        if query.is_empty() {
            return Vec::new();
        }
        let retrieving: Vec<&String> = if query.iter().all(|t| is_weak(t)) {
            query.iter().collect()
        } else {
            query.iter().filter(|t| !is_weak(t)).collect()
        };
        // Query token → the name tokens it matches.
        let mut expansions: HashMap<&str, Vec<&str>> = HashMap::new();
        for t in &query {
            expansions.insert(t.as_str(), self.similar(t));
        }
        let mut candidates: HashSet<(usize, usize)> = HashSet::new();
        for t in &retrieving {
            for name_token in &expansions[t.as_str()] {
                if let Some(list) = self.postings.get(*name_token) {
                    candidates.extend(list.iter().copied());
                }
            }
        }
        // The real search also finds a company by its number.
        let compact: String = q
            .split_whitespace()
            .collect::<String>()
            .to_ascii_uppercase();
        let by_number = companies
            .iter()
            .position(|c| c.number() == compact)
            .map(|ci| (ci, 0usize));
        candidates.extend(by_number);

        // Best-scoring name per company.
        let mut best: BTreeMap<usize, (Score, Hit)> = BTreeMap::new();
        for (ci, ni) in candidates {
            let name = &self.names[ci][ni];
            let name_set: HashSet<&str> = name.iter().map(String::as_str).collect();
            let mut matched = HashSet::new();
            let mut exact = 0usize;
            let mut fuzzy = 0usize;
            for t in &query {
                if name_set.contains(t.as_str()) {
                    exact += 1;
                    matched.insert(t.clone());
                } else if let Some(hit) = expansions[t.as_str()]
                    .iter()
                    .find(|e| name_set.contains(**e))
                {
                    fuzzy += 1;
                    matched.insert((*hit).to_owned());
                }
            }
            let strong = matched.iter().any(|t| !is_weak(t));
            if !strong && Some((ci, ni)) != by_number && !retrieving.iter().all(|t| is_weak(t)) {
                continue;
            }
            let score = Score {
                by_number: Some((ci, ni)) == by_number,
                words: exact + fuzzy,
                exact,
                extra: name.len().saturating_sub(exact + fuzzy),
                previous_name: ni > 0,
            };
            let hit = Hit {
                company: ci,
                name: ni,
                matched,
            };
            match best.get(&ci) {
                Some((s, _)) if !score.better_than(s) => {}
                _ => {
                    best.insert(ci, (score, hit));
                }
            }
        }
        let mut ranked: Vec<(Score, Hit)> = best.into_values().collect();
        ranked.sort_by(|(a, ha), (b, hb)| {
            b.rank_key()
                .cmp(&a.rank_key())
                .then_with(|| {
                    companies[ha.company]
                        .name()
                        .cmp(companies[hb.company].name())
                })
                .then_with(|| {
                    companies[ha.company]
                        .number()
                        .cmp(companies[hb.company].number())
                })
        });
        ranked.into_iter().map(|(_, hit)| hit).collect()
    }
}

/// Ranking: a number match first, then more matching words, more of them
/// exact, fewer words the query did not ask for, current name before a
/// previous one.
#[derive(Debug, Clone, Copy)]
struct Score {
    by_number: bool,
    words: usize,
    exact: usize,
    extra: usize,
    previous_name: bool,
}

impl Score {
    fn rank_key(&self) -> (bool, usize, usize, std::cmp::Reverse<usize>, bool) {
        (
            self.by_number,
            self.words,
            self.exact,
            std::cmp::Reverse(self.extra),
            !self.previous_name,
        )
    }

    fn better_than(&self, other: &Score) -> bool {
        self.rank_key() > other.rank_key()
    }
}

/// 1-based, inclusive character offsets of the words of `text` whose tokens
/// were matched, flattened as the real `matches` arrays are (`[1, 3]`).
fn highlight(text: &str, matched: &HashSet<String>) -> Vec<usize> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        // Trim punctuation so "(NORTH)" highlights NORTH.
        let (mut s, mut e) = (start, i);
        while s < e && !chars[s].is_alphanumeric() {
            s += 1;
        }
        while e > s && !chars[e - 1].is_alphanumeric() {
            e -= 1;
        }
        if s == e {
            continue;
        }
        let word: String = chars[s..e].iter().collect();
        if tokens(&word).iter().any(|t| matched.contains(t)) {
            out.push(s + 1);
            out.push(e);
        }
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2002-07-02` → ` 2 July 2002`: the real descriptions pad the day to two
/// characters with a space ("Incorporated on  2 July 2002").
fn long_date(iso: &str) -> Option<String> {
    let mut parts = iso.splitn(3, '-');
    let year = parts.next()?;
    let month: usize = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.get(..2)?.parse().ok()?;
    let month = MONTHS.get(month.checked_sub(1)?)?;
    Some(format!("{day:>2} {month} {year}"))
}

/// The name with its designator dropped, as the real snippet shows a matched
/// previous name (`"YOU TEC "` for YOU TEC LTD).
fn snippet_name(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let keep = match words.last().map(|w| tokens(w)) {
        Some(t) if t.len() == 1 && (t[0] == "LIMITED" || t[0] == "PLC") => words.len() - 1,
        _ => words.len(),
    };
    let mut out = words[..keep].join(" ");
    out.push(' ');
    out
}

fn address_snippet(address: &Map<String, Value>) -> String {
    let field = |k: &str| {
        address
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty())
    };
    // Recorded snippets join a numbered premises to the street with a space
    // ("74  Lairgate") and a named one with a comma ("Santok House, Braintree Road").
    let first = match (field("premises"), field("address_line_1")) {
        (Some(p), Some(l)) if p.starts_with(|c: char| c.is_ascii_digit()) => {
            Some(format!("{p} {l}"))
        }
        (Some(p), Some(l)) => Some(format!("{p}, {l}")),
        (p, l) => p.or(l),
    };
    let mut parts: Vec<String> = Vec::new();
    parts.extend(field("care_of"));
    parts.extend(field("po_box"));
    parts.extend(first);
    for k in [
        "address_line_2",
        "locality",
        "region",
        "country",
        "postal_code",
    ] {
        parts.extend(field(k));
    }
    parts.join(", ")
}

/// `description` and `description_identifier` per search_descriptions_raw.yaml.
fn description(profile: &Value) -> (String, Vec<&'static str>) {
    let number = profile["company_number"].as_str().unwrap_or_default();
    let status = profile["company_status"].as_str().unwrap_or_default();
    let created = profile["date_of_creation"].as_str().unwrap_or_default();
    let ceased = profile["date_of_cessation"].as_str().unwrap_or_default();
    let (ident, label, date) = match status {
        "dissolved" => ("dissolved-on", "Dissolved on", ceased),
        "converted-closed" => ("converted-closed-on", "Converted/Closed on", ceased),
        "removed" => ("removed", "Removed on", ceased),
        _ if profile["type"] == "registered-overseas-entity" => {
            ("registered-on", "Registered on", created)
        }
        _ => ("incorporated-on", "Incorporated on", created),
    };
    let mut text = match long_date(date) {
        Some(d) => format!("{number} - {label} {d}"),
        None => number.to_owned(),
    };
    let mut idents = vec![ident];
    let status_label = match status {
        "liquidation" => Some(("liquidation", "Liquidation")),
        "receivership" => Some(("receivership", "Receiver Action")),
        "administration" => Some(("administration", "In Administration")),
        "voluntary-arrangement" => Some(("voluntary-arrangement", "Voluntary Arrangement")),
        "insolvency-proceedings" => Some(("insolvency-proceedings", "Insolvency Proceedings")),
        _ => None,
    };
    if let Some((id, label)) = status_label {
        idents.push(id);
        let _ = write!(text, " - {label}");
    }
    (text, idents)
}

/// The filters of `/advanced-search/companies`.
#[derive(Debug, Clone, Default)]
pub struct AdvancedFilter {
    pub name_includes: Option<String>,
    pub name_excludes: Option<String>,
    pub location: Option<String>,
    pub statuses: Vec<String>,
    pub types: Vec<String>,
    pub subtypes: Vec<String>,
    pub sic_codes: Vec<String>,
    pub incorporated_from: Option<String>,
    pub incorporated_to: Option<String>,
    pub dissolved_from: Option<String>,
    pub dissolved_to: Option<String>,
}

/// Whether `location` is in the address: a postcode (or outward code)
/// against the office's postcode, else every word among the address's words.
fn address_matches(address: &Value, location: &str) -> bool {
    let compact = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    let postcode = address["postal_code"].as_str().unwrap_or_default();
    let wanted = compact(location);
    let looks_like_postcode = wanted.len() >= 2
        && wanted.len() <= 7
        && wanted
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && wanted.chars().any(|c| c.is_ascii_digit());
    if looks_like_postcode {
        let found = compact(postcode);
        // An outward code matches the postcodes of that district only
        // ("LS1" is not "LS11").
        let outward = postcode
            .split_whitespace()
            .next()
            .map(compact)
            .unwrap_or_default();
        return found == wanted || outward == wanted;
    }
    let mut words: Vec<String> = Vec::new();
    if let Some(fields) = address.as_object() {
        for v in fields.values() {
            if let Some(s) = v.as_str() {
                words.extend(tokens(s));
            }
        }
    }
    tokens(location).iter().all(|w| words.contains(w))
}

fn advanced_item(profile: &Value) -> Value {
    let number = profile["company_number"].as_str().unwrap_or_default();
    let mut item = Map::new();
    item.insert("kind".into(), json!("search-results#company"));
    item.insert("company_name".into(), profile["company_name"].clone());
    item.insert("company_number".into(), json!(number));
    item.insert("company_status".into(), profile["company_status"].clone());
    item.insert("company_type".into(), profile["type"].clone());
    if let Some(subtype) = profile.get("subtype") {
        item.insert("company_subtype".into(), subtype.clone());
    }
    item.insert(
        "date_of_creation".into(),
        profile["date_of_creation"].clone(),
    );
    if let Some(ceased) = profile.get("date_of_cessation") {
        item.insert("date_of_cessation".into(), ceased.clone());
    }
    if let Some(office) = profile["registered_office_address"].as_object() {
        // advanced_company_registered_office_address has these members only.
        let mut address = Map::new();
        for key in [
            "address_line_1",
            "address_line_2",
            "locality",
            "postal_code",
            "region",
            "country",
        ] {
            if let Some(v) = office.get(key).filter(|v| !v.is_null()) {
                address.insert(key.into(), v.clone());
            }
        }
        item.insert("registered_office_address".into(), Value::Object(address));
    }
    if let Some(sics) = profile.get("sic_codes") {
        item.insert("sic_codes".into(), sics.clone());
    }
    item.insert(
        "links".into(),
        json!({ "company_profile": format!("/company/{number}") }),
    );
    Value::Object(item)
}

fn search_item(company: &Company, hit: &Hit) -> Value {
    let mut item = match &company.search_item {
        Some(Value::Object(stored)) => stored.clone(),
        _ => derived_search_item(&company.profile),
    };
    let title = item
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut matches = Map::new();
    if hit.name == 0 {
        item.insert("snippet".into(), json!(""));
        matches.insert("snippet".into(), json!([]));
        matches.insert("title".into(), json!(highlight(&title, &hit.matched)));
    } else {
        let previous = company.profile["previous_company_names"][hit.name - 1]["name"]
            .as_str()
            .unwrap_or_default();
        let snippet = snippet_name(previous);
        matches.insert("snippet".into(), json!(highlight(&snippet, &hit.matched)));
        item.insert("snippet".into(), json!(snippet));
    }
    item.insert("matches".into(), Value::Object(matches));
    Value::Object(item)
}

fn derived_search_item(profile: &Value) -> Map<String, Value> {
    let number = profile["company_number"].as_str().unwrap_or_default();
    let mut address = Map::new();
    if let Some(office) = profile["registered_office_address"].as_object() {
        for (k, v) in office {
            // Search addresses omit what the profile sends as null.
            if !v.is_null() {
                address.insert(k.clone(), v.clone());
            }
        }
    }
    let (description, identifiers) = description(profile);
    let mut item = Map::new();
    item.insert("kind".into(), json!("searchresults#company"));
    item.insert("title".into(), profile["company_name"].clone());
    item.insert("company_number".into(), json!(number));
    item.insert("company_status".into(), profile["company_status"].clone());
    item.insert("company_type".into(), profile["type"].clone());
    item.insert(
        "date_of_creation".into(),
        profile["date_of_creation"].clone(),
    );
    if let Some(ceased) = profile.get("date_of_cessation") {
        item.insert("date_of_cessation".into(), ceased.clone());
    }
    item.insert("address_snippet".into(), json!(address_snippet(&address)));
    item.insert("address".into(), Value::Object(address));
    item.insert("description".into(), json!(description));
    item.insert("description_identifier".into(), json!(identifiers));
    item.insert(
        "links".into(),
        json!({ "self": format!("/company/{number}") }),
    );
    item
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn long_dates_pad_one_digit_days_with_a_space() {
        assert_eq!(long_date("2002-07-02").as_deref(), Some(" 2 July 2002"));
        assert_eq!(long_date("2018-12-11").as_deref(), Some("11 December 2018"));
        assert_eq!(long_date("nonsense"), None);
    }

    #[test]
    fn tokens_fold_designators_ampersands_and_punctuation() {
        assert_eq!(
            tokens("O'Neill & Daughters (Builders) Ltd."),
            ["ONEILL", "AND", "DAUGHTERS", "BUILDERS", "LIMITED"]
        );
        assert_eq!(
            tokens("A.B.C. Printing Cyf"),
            ["ABC", "PRINTING", "LIMITED"]
        );
        assert_eq!(tokens("Zoë Öztürk"), ["ZOE", "OZTURK"]);
    }

    #[test]
    fn highlight_gives_one_based_inclusive_offsets() {
        let matched: HashSet<String> = ["YOU".to_owned()].into();
        assert_eq!(highlight("YOU  LIMITED", &matched), vec![1, 3]);
        let matched: HashSet<String> = ["NORTH".to_owned()].into();
        assert_eq!(highlight("X (NORTH) LIMITED", &matched), vec![4, 8]);
    }

    #[test]
    fn description_matches_the_recorded_format() {
        let p = json!({"company_number": "05226269", "company_status": "dissolved",
            "date_of_creation": "2004-09-09", "date_of_cessation": "2010-02-09", "type": "ltd"});
        assert_eq!(
            description(&p),
            (
                "05226269 - Dissolved on  9 February 2010".to_owned(),
                vec!["dissolved-on"]
            )
        );
    }

    #[test]
    fn snippet_name_drops_the_designator_and_keeps_a_trailing_space() {
        assert_eq!(snippet_name("YOU TEC LTD"), "YOU TEC ");
    }
}
