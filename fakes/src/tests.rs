//! Behaviour of the fake as a client sees it over HTTP, and validity of the
//! bundled dataset against the official spec and enumerations.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::companies_house::Register;
use super::*;

const KEY: &str = "test-key";

async fn serve(config: FakeConfig) -> FakeServer {
    FakeServer::start(config).await.expect("fake starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

async fn get(server: &FakeServer, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", server.base_url()))
        .basic_auth(KEY, Some(""))
        .send()
        .await
        .expect("request succeeds")
}

async fn get_json(server: &FakeServer, path: &str) -> Value {
    let response = get(server, path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("JSON body")
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn unauthorised_requests_get_the_real_401_body() {
    let server = serve(FakeConfig::bundled(KEY)).await;
    let url = format!("{}/company/04475590", server.base_url());
    let attempts = [
        client().get(&url),
        client().get(&url).bearer_auth(KEY),
        client().get(&url).basic_auth("wrong-key", Some("")),
    ];
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(header(&response, "x-ratelimit-remain").is_none());
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "Invalid Authorization", "type": "ch:service"})
        );
    }
    assert_eq!(server.stats().served_401, 3);
}

#[tokio::test]
async fn profile_is_served_verbatim_with_rate_limit_headers() {
    let server = serve(FakeConfig::bundled(KEY)).await;
    let response = get(&server, "/company/08957400").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "x-ratelimit-limit").as_deref(),
        Some("600")
    );
    assert_eq!(
        header(&response, "x-ratelimit-remain").as_deref(),
        Some("599")
    );
    assert_eq!(
        header(&response, "x-ratelimit-window").as_deref(),
        Some("5m")
    );
    let reset: u64 = header(&response, "x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reset > now && reset <= now + 301, "reset {reset} now {now}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["company_name"], "CANDOUR GROUP LIMITED");
    assert_eq!(body["registered_office_address"]["region"], Value::Null);
    assert_eq!(body["accounts"]["accounting_reference_date"]["day"], "31");
}

#[tokio::test]
async fn paging_the_big_company_returns_every_officer_exactly_once() {
    let server = serve(FakeConfig::bundled(KEY)).await;
    let mut seen = HashSet::new();
    let mut start = 0;
    let mut total;
    loop {
        let page = get_json(
            &server,
            &format!("/company/01987654/officers?items_per_page=100&start_index={start}"),
        )
        .await;
        assert_eq!(page["kind"], "officer-list");
        assert_eq!(page["items_per_page"], 100);
        let items = page["items"].as_array().unwrap();
        total = Some(page["total_results"].as_u64().unwrap());
        if items.is_empty() {
            break;
        }
        for item in items {
            let link = item["links"]["self"].as_str().unwrap().to_owned();
            assert!(seen.insert(link), "an officer came twice");
        }
        start += items.len();
    }
    assert_eq!(total, Some(230));
    assert_eq!(seen.len(), 230);
    // The default page is 35, as observed on the real API; more than 100 is capped.
    let page = get_json(&server, "/company/01987654/officers").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 35);
    let page = get_json(&server, "/company/01987654/officers?items_per_page=500").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 100);
    let counts = page["active_count"].as_u64().unwrap() + page["resigned_count"].as_u64().unwrap();
    assert_eq!(counts, 230);
}

#[tokio::test]
async fn advanced_search_filters_as_the_spec_names_them() {
    let server = serve(FakeConfig::bundled(KEY)).await;
    // Name words near a postcode district (search-companies.json#searchAdvanced).
    let body = get_json(
        &server,
        "/advanced-search/companies?company_name_includes=pennine&location=SK13",
    )
    .await;
    assert_eq!(body["kind"], "search#advanced-search");
    assert_eq!(body["hits"], "1");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["company_number"], "07111333");
    assert_eq!(item["kind"], "search-results#company");
    assert_eq!(item["links"]["company_profile"], "/company/07111333");
    for field in [
        "company_name",
        "company_status",
        "company_type",
        "date_of_creation",
    ] {
        assert!(
            item.get(field).is_some(),
            "advancedCompany requires {field}"
        );
    }
    assert_eq!(item["registered_office_address"]["postal_code"], "SK13 8AQ");
    assert_eq!(body["top_hit"], *item);
    // "LS1" is a district of its own, not a prefix of LS11.
    let none = get(
        &server,
        "/advanced-search/companies?company_name_includes=pennine&location=SK1",
    )
    .await;
    assert_eq!(none.status(), 404, "no companies is the spec's 404");
    // Lists are any-of, comma-separated or repeated.
    let body = get_json(
        &server,
        "/advanced-search/companies?company_name_includes=python&company_status=dissolved,liquidation&size=100",
    )
    .await;
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| i["company_status"] == "dissolved"));
    let bad = get(
        &server,
        "/advanced-search/companies?company_name_includes=x&size=0",
    )
    .await;
    assert_eq!(bad.status(), 400, "size must be 1 to 5000");
    let bad = get(
        &server,
        "/advanced-search/companies?sic_codes=43220&incorporated_from=01/02/2020",
    )
    .await;
    assert_eq!(bad.status(), 400, "dates are YYYY-MM-DD");
    let body: Value = bad.json().await.expect("json");
    assert_eq!(body["errors"][0]["type"], "ch:validation");
    assert_eq!(body["errors"][0]["location"], "incorporated_from");
    // sic_codes takes a comma list or the key repeated, as the spec says.
    let comma = get_json(
        &server,
        "/advanced-search/companies?sic_codes=43220,41202&size=100",
    )
    .await;
    let repeated = get_json(
        &server,
        "/advanced-search/companies?sic_codes=43220&sic_codes=41202&size=100",
    )
    .await;
    assert_eq!(comma["hits"], repeated["hits"]);
    assert!(comma["hits"].is_string(), "hits is a string in the spec");
}

#[tokio::test]
async fn search_returns_the_target_among_noise() {
    let server = serve(FakeConfig::bundled(KEY)).await;
    let body = get_json(&server, "/search/companies?q=you%20limited").await;
    assert_eq!(body["kind"], "search#companies");
    assert_eq!(body["items_per_page"], 20);
    assert_eq!(body["page_number"], 1);
    let items = body["items"].as_array().unwrap();
    assert!(items.len() > 5, "noise is part of the answer");
    assert_eq!(items[0]["company_number"], "04475590");
    assert_eq!(items[0]["title"], "YOU  LIMITED", "recorded title kept");
    assert_eq!(
        items[0]["description"],
        "04475590 - Incorporated on  2 July 2002"
    );
    assert_eq!(
        items[0]["matches"]["title"],
        serde_json::json!([1, 3, 6, 12])
    );
    assert_eq!(items[0]["kind"], "searchresults#company");

    // Previous names are searched too and shown as the snippet.
    let body = get_json(&server, "/search/companies?q=you%20tec").await;
    let clever = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["company_number"] == "11722385")
        .expect("found by its previous name");
    assert_eq!(clever["snippet"], "YOU TEC ");

    // Dissolved namesakes come back alongside the active company.
    let body = get_json(
        &server,
        "/search/companies?q=PYTHON%20LIMITED&items_per_page=100",
    )
    .await;
    let items = body["items"].as_array().unwrap();
    let statuses: HashMap<&str, &str> = items
        .iter()
        .map(|i| {
            (
                i["company_number"].as_str().unwrap(),
                i["company_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses["07359966"], "active");
    assert_eq!(statuses["02054368"], "dissolved");
    assert_eq!(statuses["05226269"], "dissolved");
    let dissolved = items
        .iter()
        .find(|i| i["company_number"] == "05226269")
        .unwrap();
    assert_eq!(
        dissolved["description"],
        "05226269 - Dissolved on  9 February 2010"
    );
    assert_eq!(dissolved["date_of_cessation"], "2010-02-09");

    // A typo still finds the company; paging moves through the same ranking.
    let body = get_json(
        &server,
        "/search/companies?q=hargreaves%20precission%20engineering",
    )
    .await;
    assert_eq!(body["items"][0]["company_number"], "05678123");
    let page2 = get_json(
        &server,
        "/search/companies?q=python&items_per_page=5&start_index=5",
    )
    .await;
    assert_eq!(page2["page_number"], 2);
    assert_eq!(page2["items"].as_array().unwrap().len(), 5);

    // Every item carries the spec's required members.
    for item in items {
        for field in [
            "kind",
            "title",
            "address_snippet",
            "links",
            "company_number",
            "date_of_creation",
            "company_type",
            "company_status",
            "address",
        ] {
            assert!(item.get(field).is_some(), "{field} missing in {item}");
        }
    }
}

#[tokio::test]
async fn missing_things_get_the_real_error_answers() {
    let server = serve(FakeConfig::bundled(KEY)).await;
    let response = get(&server, "/company/99999999").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"errors": [{"type": "ch:service", "error": "company-profile-not-found"}]})
    );
    for path in [
        "/company/99999999/officers",
        "/company/99999999/persons-with-significant-control",
        // A company without PSCs answers 404 too.
        "/company/GE000152/persons-with-significant-control",
    ] {
        let response = get(&server, path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.bytes().await.unwrap().is_empty());
    }

    let response = get(&server, "/company/044755901").await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "Internal server error");
    assert!(
        body["exception_id"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_hexdigit())
    );
    assert_eq!(server.stats().served_404, 4);
    assert_eq!(server.stats().served_5xx, 1);
}

#[tokio::test]
async fn psc_list_has_the_spec_shape() {
    let server = serve(FakeConfig::bundled(KEY)).await;
    let body = get_json(
        &server,
        "/company/04053514/persons-with-significant-control",
    )
    .await;
    assert_eq!(body["items_per_page"], 25);
    assert_eq!(body["total_results"], 5);
    assert_eq!(body["active_count"], 1);
    assert_eq!(body["ceased_count"], 4);
    assert_eq!(
        body["links"]["self"],
        "/company/04053514/persons-with-significant-control"
    );
    assert_eq!(
        body["items"][4]["kind"],
        "corporate-entity-person-with-significant-control"
    );
}

#[tokio::test]
async fn protected_pscs_and_psc_statements_have_the_spec_shape() {
    let server = serve(FakeConfig::bundled(KEY)).await;
    // superSecure: kind, description, etag, links; no name, no details.
    let body = get_json(
        &server,
        "/company/14285714/persons-with-significant-control",
    )
    .await;
    let item = &body["items"][0];
    assert_eq!(item["kind"], "super-secure-person-with-significant-control");
    assert_eq!(
        item["description"],
        "super-secure-persons-with-significant-control"
    );
    assert!(item.get("name").is_none() && item.get("address").is_none());
    // statementList (pscModels.json), paged like the other lists.
    let body = get_json(
        &server,
        "/company/14285716/persons-with-significant-control-statements?items_per_page=1&start_index=1",
    )
    .await;
    assert_eq!(body["total_results"], 2);
    assert_eq!(body["active_count"], 1);
    assert_eq!(body["ceased_count"], 1);
    assert_eq!(body["start_index"], 1);
    assert_eq!(
        body["links"]["self"],
        "/company/14285716/persons-with-significant-control-statements"
    );
    assert_eq!(
        body["items"][0]["statement"],
        "psc-exists-but-not-identified"
    );
    assert_eq!(
        body["items"][0]["kind"],
        "persons-with-significant-control-statement"
    );
    // A company without statements: 404, as for PSCs.
    let response = get(
        &server,
        "/company/04053514/persons-with-significant-control-statements",
    )
    .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn quota_gives_429_with_headers_until_the_window_ends() {
    let mut config = FakeConfig::bundled(KEY);
    config.quota_limit = 3;
    config.quota_window = Duration::from_secs(1);
    let server = serve(config).await;
    for remain in ["2", "1", "0"] {
        let response = get(&server, "/company/04475590").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "x-ratelimit-remain").as_deref(),
            Some(remain)
        );
        assert_eq!(
            header(&response, "x-ratelimit-window").as_deref(),
            Some("1s")
        );
    }
    let response = get(&server, "/company/04475590").await;
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "x-ratelimit-limit").as_deref(), Some("3"));
    assert_eq!(
        header(&response, "x-ratelimit-remain").as_deref(),
        Some("0")
    );
    assert!(header(&response, "x-ratelimit-reset").is_some());
    assert!(header(&response, "retry-after").is_none());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = get(&server, "/company/04475590").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "x-ratelimit-remain").as_deref(),
        Some("2")
    );
    assert_eq!(server.stats().served_429, 1);
}

fn with_faults(faults: Faults) -> FakeConfig {
    let mut config = FakeConfig::bundled(KEY);
    config.faults = faults;
    config
}

#[tokio::test]
async fn each_fault_happens_at_rate_one() {
    let server = serve(with_faults(Faults {
        rate_429: 1.0,
        ..Faults::default()
    }))
    .await;
    let response = get(&server, "/company/04475590").await;
    assert_eq!(response.status(), 429);
    assert!(header(&response, "x-ratelimit-reset").is_some());

    let server = serve(with_faults(Faults {
        rate_503: 1.0,
        ..Faults::default()
    }))
    .await;
    let response = get(&server, "/company/04475590").await;
    assert_eq!(response.status(), 503);
    let body = response.text().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&body).is_err(),
        "a gateway page, not JSON"
    );

    let server = serve(with_faults(Faults {
        rate_slow: 1.0,
        slow_delay: Duration::from_millis(300),
        ..Faults::default()
    }))
    .await;
    let started = Instant::now();
    assert_eq!(get(&server, "/company/04475590").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let server = serve(with_faults(Faults {
        rate_truncated: 1.0,
        ..Faults::default()
    }))
    .await;
    let response = get(&server, "/company/04475590/officers").await;
    assert_eq!(response.status(), 200);
    let length: usize = header(&response, "content-length")
        .unwrap()
        .parse()
        .unwrap();
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), length);
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    let server = serve(with_faults(Faults {
        rate_drop: 1.0,
        ..Faults::default()
    }))
    .await;
    let result = client()
        .get(format!("{}/company/04475590", server.base_url()))
        .basic_auth(KEY, Some(""))
        .send()
        .await;
    assert!(result.is_err(), "the connection closes without an answer");
    assert_eq!(server.stats().requests, 1);
}

#[tokio::test]
async fn no_fault_happens_at_rate_zero() {
    let server = serve(with_faults(Faults {
        slow_delay: Duration::from_secs(30),
        seed: 7,
        ..Faults::default()
    }))
    .await;
    for _ in 0..30 {
        let response = get(&server, "/company/04475590/officers").await;
        assert_eq!(response.status(), 200);
        let _: Value = response.json().await.expect("complete JSON");
    }
}

#[tokio::test]
async fn stats_count_what_was_served_and_are_readable_over_http() {
    let server = serve(FakeConfig::bundled(KEY)).await;
    get(&server, "/search/companies?q=candour").await;
    get(&server, "/company/08957400").await;
    get(&server, "/company/08957400/officers").await;
    get(
        &server,
        "/company/08957400/persons-with-significant-control",
    )
    .await;
    get(&server, "/company/00000000").await;
    get(&server, "/nowhere").await;
    client()
        .get(format!("{}/company/08957400", server.base_url()))
        .send()
        .await
        .unwrap();
    let stats = server.stats();
    assert_eq!(stats.requests, 7);
    assert_eq!(stats.served_401, 1);
    assert_eq!(stats.served_404, 2);
    assert_eq!(stats.by_endpoint["search"], 1);
    assert_eq!(stats.by_endpoint["profile"], 3);
    assert_eq!(stats.by_endpoint["officers"], 1);
    assert_eq!(stats.by_endpoint["psc"], 1);
    assert_eq!(stats.by_endpoint["other"], 1);

    let over_http: Value = client()
        .get(format!("{}/__fake/stats", server.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, stats.to_json());
    assert_eq!(
        server.stats().requests,
        7,
        "reading the stats is not counted"
    );
    server.reset_stats();
    assert_eq!(server.stats(), Stats::default());
}

#[tokio::test]
async fn many_concurrent_requests_are_served_with_latency_overlapping() {
    let mut config = FakeConfig::bundled(KEY);
    config.latency = Duration::from_millis(200);
    let server = serve(config).await;
    // One client: building one loads TLS roots, tens of milliseconds each
    // in a debug build, which would be timed instead of the server.
    let http = client();
    let url = format!("{}/company/04475590", server.base_url());
    let started = Instant::now();
    let requests = (0..50).map(|_| http.get(&url).basic_auth(KEY, Some("")).send());
    let responses = futures::future::join_all(requests).await;
    assert!(
        responses
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status() == 200))
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "latency is not serialised"
    );
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// The dataset

const OFFICER_ROLES: &[&str] = &[
    "cic-manager",
    "corporate-director",
    "corporate-llp-designated-member",
    "corporate-llp-member",
    "corporate-manager-of-an-eeig",
    "corporate-managing-officer",
    "corporate-member-of-a-management-organ",
    "corporate-member-of-a-supervisory-organ",
    "corporate-member-of-an-administrative-organ",
    "corporate-nominee-director",
    "corporate-nominee-secretary",
    "corporate-secretary",
    "director",
    "general-partner-in-a-limited-partnership",
    "corporate-general-partner-in-a-limited-partnership",
    "limited-partner-in-a-limited-partnership",
    "corporate-limited-partner-in-a-limited-partnership",
    "judicial-factor",
    "llp-designated-member",
    "llp-member",
    "manager-of-an-eeig",
    "managing-officer",
    "member-of-a-management-organ",
    "member-of-a-supervisory-organ",
    "member-of-an-administrative-organ",
    "nominee-director",
    "nominee-secretary",
    "person-authorised-to-accept",
    "person-authorised-to-represent",
    "person-authorised-to-represent-and-accept",
    "receiver-and-manager",
    "secretary",
];

const COMPANY_STATUSES: &[&str] = &[
    "active",
    "dissolved",
    "liquidation",
    "receivership",
    "converted-closed",
    "voluntary-arrangement",
    "insolvency-proceedings",
    "administration",
    "open",
    "closed",
    "registered",
    "removed",
];

/// `kind` of a PSC list item (pscModels.json and the shared docs, section 3.7).
const PSC_KINDS: &[&str] = &[
    "individual-person-with-significant-control",
    "corporate-entity-person-with-significant-control",
    "legal-person-with-significant-control",
    "super-secure-person-with-significant-control",
    "individual-beneficial-owner",
    "corporate-entity-beneficial-owner",
    "legal-person-beneficial-owner",
    "super-secure-beneficial-owner",
];

fn validate(register: &Register) -> Vec<String> {
    let mut problems = Vec::new();
    for c in register.companies() {
        let n = c.number().to_owned();
        let p = &c.profile;
        for field in [
            "company_name",
            "company_number",
            "type",
            "can_file",
            "links",
        ] {
            if p.get(field).is_none() {
                problems.push(format!("{n}: profile lacks {field}"));
            }
        }
        if p["links"]["self"] != format!("/company/{n}") {
            problems.push(format!("{n}: links.self"));
        }
        if n.len() != 8 {
            problems.push(format!("{n}: number is not 8 characters"));
        }
        let status = p["company_status"].as_str().unwrap_or_default();
        if !COMPANY_STATUSES.contains(&status) {
            problems.push(format!("{n}: status {status:?}"));
        }
        if status == "dissolved" && p.get("date_of_cessation").is_none() {
            problems.push(format!("{n}: dissolved without date_of_cessation"));
        }
        for o in &c.officers {
            for field in ["links", "name", "officer_role"] {
                if o.get(field).is_none() {
                    problems.push(format!("{n}: officer lacks {field}: {o}"));
                }
            }
            let role = o["officer_role"].as_str().unwrap_or_default();
            if !OFFICER_ROLES.contains(&role) {
                problems.push(format!("{n}: officer role {role:?}"));
            }
            if o["links"]["officer"]["appointments"].as_str().is_none() {
                problems.push(format!("{n}: officer lacks links.officer.appointments"));
            }
            if o["is_pre_1992_appointment"] == true
                && (o.get("appointed_before").is_none() || o.get("appointed_on").is_some())
            {
                problems.push(format!("{n}: pre-1992 appointment shape: {o}"));
            }
            if let Some(dob) = o.get("date_of_birth")
                && (!dob["month"].is_u64() || !dob["year"].is_u64())
            {
                problems.push(format!("{n}: officer date_of_birth {dob}"));
            }
        }
        for psc in &c.persons_with_significant_control {
            let kind = psc["kind"].as_str().unwrap_or_default();
            if !PSC_KINDS.contains(&kind) {
                problems.push(format!("{n}: PSC kind {kind:?}"));
            }
            // pscModels.json superSecure / superSecureBeneficialOwner: no
            // name and no details, only these.
            let protected = kind.starts_with("super-secure-");
            let required: &[&str] = if protected {
                &["etag", "kind", "description", "links"]
            } else {
                &[
                    "etag",
                    "name",
                    "links",
                    "address",
                    "notified_on",
                    "natures_of_control",
                ]
            };
            for field in required {
                if psc.get(*field).is_none_or(Value::is_null) {
                    problems.push(format!("{n}: PSC lacks {field}: {psc}"));
                }
            }
            if protected && (psc.get("name").is_some() || psc.get("address").is_some()) {
                problems.push(format!("{n}: a protected PSC shows details: {psc}"));
            }
            if kind.starts_with("individual-") && psc["name_elements"]["surname"].as_str().is_none()
            {
                problems.push(format!("{n}: individual PSC without name_elements.surname"));
            }
            if (kind.starts_with("corporate-entity-") || kind.starts_with("legal-person-"))
                && (psc["identification"]["legal_authority"].as_str().is_none()
                    || psc["identification"]["legal_form"].as_str().is_none())
            {
                problems.push(format!("{n}: corporate PSC without identification"));
            }
        }
        // pscModels.json statement: required etag, kind, notified_on,
        // statement, links; the statement a psc_descriptions.yml key.
        for st in &c.psc_statements {
            for field in ["etag", "kind", "notified_on", "statement", "links"] {
                if st.get(field).is_none_or(Value::is_null) {
                    problems.push(format!("{n}: PSC statement lacks {field}: {st}"));
                }
            }
            if st["kind"] != "persons-with-significant-control-statement" {
                problems.push(format!("{n}: PSC statement kind {}", st["kind"]));
            }
            let known = include_str!("../../data/psc_descriptions.tsv")
                .lines()
                .any(|l| l.split('\t').nth(1) == st["statement"].as_str());
            if !known {
                problems.push(format!("{n}: PSC statement {}", st["statement"]));
            }
        }
    }
    problems
}

#[test]
fn bundled_dataset_follows_the_spec() {
    let register = Register::bundled();
    assert!(
        (60..=120).contains(&register.len()),
        "{} companies",
        register.len()
    );
    assert_eq!(validate(&register), Vec::<String>::new());
    // The role enumeration is covered, so the client meets every role.
    let roles: HashSet<&str> = register
        .companies()
        .iter()
        .flat_map(|c| c.officers.iter())
        .filter_map(|o| o["officer_role"].as_str())
        .collect();
    let missing: Vec<&&str> = OFFICER_ROLES
        .iter()
        .filter(|r| !roles.contains(**r))
        .collect();
    assert!(missing.is_empty(), "roles not in the dataset: {missing:?}");
}

#[test]
fn synthetic_registers_are_deterministic_valid_and_uniquely_named() {
    let a = Register::synthetic(500, 42);
    let b = Register::synthetic(500, 42);
    assert_eq!(a.to_json(), b.to_json());
    assert_ne!(a.to_json(), Register::synthetic(500, 43).to_json());
    assert_eq!(validate(&a), Vec::<String>::new());
    let names: HashSet<&str> = a.companies().iter().map(|c| c.name()).collect();
    assert_eq!(names.len(), 500);
    let merged = Register::bundled()
        .merged(&a)
        .expect("numbers do not clash");
    assert_eq!(merged.len(), Register::bundled().len() + 500);
}

#[test]
fn window_labels_read_like_the_real_header() {
    assert_eq!(server::window_label(Duration::from_secs(300)), "5m");
    assert_eq!(server::window_label(Duration::from_secs(2)), "2s");
    assert_eq!(server::window_label(Duration::from_millis(500)), "500ms");
}

/// The labelled cases only make sense if the search offers the right company
/// on its first page, and every expected number is on the register.
#[test]
fn labelled_cases_are_answerable_from_the_first_search_page() {
    let register = Register::bundled();
    let cases = include_str!("../../fixtures/labelled/resolve_cases.csv");
    let mut reader = csv::Reader::from_reader(cases.as_bytes());
    let mut rows = 0;
    for row in reader.records() {
        let row = row.expect("well-formed CSV");
        rows += 1;
        let (name, number, status, expected) = (&row[0], &row[2], &row[3], &row[4]);
        assert!(
            ["matched", "not_found", "ambiguous"].contains(&status),
            "{row:?}"
        );
        if !expected.is_empty() {
            assert!(
                register.company(expected).is_some(),
                "{expected} not on the register"
            );
        }
        if status == "matched" && number.is_empty() {
            let page = register.search(name, 0, 20);
            let found = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["company_number"] == expected);
            assert!(found, "search for {name:?} does not offer {expected}");
        }
    }
    assert!(rows >= 60);
}

/// The calibration world (`fixtures/fake-data/calibration_*.json`, served
/// with the bundled data by `tests/it/calibration.rs`) follows the same spec,
/// adds to the bundled register without clashing, and holds every company
/// the calibration set means; its social presence belongs to its companies.
#[test]
fn calibration_world_follows_the_spec_and_answers_the_calibration_set() {
    let world = Register::from_json(include_str!(
        "../../fixtures/fake-data/calibration_register.json"
    ))
    .expect("valid dataset");
    assert_eq!(validate(&world), Vec::<String>::new());
    let register = Register::bundled()
        .merged(&world)
        .expect("numbers do not clash with the bundled register");
    let social = crate::social::SocialData::from_json(include_str!(
        "../../fixtures/fake-data/calibration_social.json"
    ))
    .expect("valid social dataset");
    for company in social.companies() {
        assert!(world.company(&company.company_number).is_some());
    }
    let cases = include_str!("../../fixtures/labelled/calibration.csv");
    let mut reader = csv::Reader::from_reader(cases.as_bytes());
    let headers = reader.headers().expect("header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (expected, split) = (col("expected_company_number"), col("split"));
    let mut rows = 0;
    for row in reader.records() {
        let row = row.expect("well-formed CSV");
        rows += 1;
        assert!(["dev", "holdout"].contains(&&row[split]), "{row:?}");
        if !row[expected].is_empty() {
            assert!(
                register.company(&row[expected]).is_some(),
                "{} not on the register",
                &row[expected]
            );
        }
    }
    assert!(rows >= 100);
}

/// `/officers/{officer_id}/appointments` (officerAppointmentList.json) and
/// the synthetic register's people with several appointments.
mod appointments {
    use super::*;
    use crate::BurstKind;
    use crate::synthetic::{self, SharedPerson};
    use std::collections::BTreeMap;

    /// officerAppointmentList.json: `appointmentList`'s members, then its required ones.
    const LIST_MEMBERS: &[&str] = &[
        "date_of_birth",
        "etag",
        "is_corporate_officer",
        "items",
        "items_per_page",
        "kind",
        "links",
        "name",
        "start_index",
        "total_results",
    ];
    const LIST_REQUIRED: &[&str] = &[
        "etag",
        "is_corporate_officer",
        "items",
        "items_per_page",
        "kind",
        "links",
        "name",
        "start_index",
        "total_results",
    ];
    /// `officerAppointmentSummary`'s members, then its required ones.
    const ITEM_MEMBERS: &[&str] = &[
        "address",
        "appointed_before",
        "appointed_on",
        "appointed_to",
        "contact_details",
        "name",
        "country_of_residence",
        "former_names",
        "identification",
        "identity_verification_details",
        "is_pre_1992_appointment",
        "links",
        "name_elements",
        "nationality",
        "occupation",
        "officer_role",
        "principal_office_address",
        "resigned_on",
        "responsibilities",
    ];
    const ITEM_REQUIRED: &[&str] = &["appointed_to", "links", "name", "officer_role"];
    /// `appointedTo`, `nameElements`, `dateOfBirth`.
    const APPOINTED_TO: &[&str] = &["company_name", "company_number", "company_status"];
    const NAME_ELEMENTS: &[&str] = &["forename", "title", "other_forenames", "surname", "honours"];

    const SEED: u64 = 21;
    const SYNTHETIC: usize = 400;

    fn world() -> Register {
        Register::bundled()
            .merged(&Register::synthetic(SYNTHETIC, SEED))
            .expect("numbers do not clash")
    }

    fn config() -> FakeConfig {
        let mut c = FakeConfig::new(world(), KEY);
        c.quota_limit = 100_000;
        c.stream.ambient = None;
        c
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn assert_shape(list: &Value) {
        for k in keys(list) {
            assert!(LIST_MEMBERS.contains(&k), "appointmentList has no {k}");
        }
        for k in LIST_REQUIRED {
            assert!(list.get(*k).is_some(), "{k} missing");
        }
        assert_eq!(list["kind"], "personal-appointment");
        assert!(list["etag"].is_string() && list["is_corporate_officer"].is_boolean());
        if let Some(dob) = list.get("date_of_birth") {
            assert_eq!(keys(dob), ["month", "year"]);
        }
        for item in list["items"].as_array().unwrap() {
            for k in keys(item) {
                assert!(
                    ITEM_MEMBERS.contains(&k),
                    "officerAppointmentSummary has no {k}"
                );
            }
            for k in ITEM_REQUIRED {
                assert!(item.get(*k).is_some(), "{k} missing in {item}");
            }
            for k in keys(&item["appointed_to"]) {
                assert!(APPOINTED_TO.contains(&k), "appointedTo has no {k}");
            }
            let number = item["appointed_to"]["company_number"].as_str().unwrap();
            assert_eq!(keys(&item["links"]), ["company"]);
            assert_eq!(item["links"]["company"], format!("/company/{number}"));
            if let Some(elements) = item.get("name_elements") {
                for k in keys(elements) {
                    assert!(NAME_ELEMENTS.contains(&k), "nameElements has no {k}");
                }
                assert!(elements["surname"].is_string());
            }
        }
    }

    fn resigned(item: &Value) -> bool {
        item.get("resigned_on").is_some()
    }

    /// Active by appointed_on descending, then resigned by resigned_on descending.
    fn assert_order(items: &[Value]) {
        let key = |i: &Value| {
            let date = if resigned(i) {
                &i["resigned_on"]
            } else if i.get("appointed_on").is_some() {
                &i["appointed_on"]
            } else {
                &i["appointed_before"]
            };
            (
                resigned(i),
                std::cmp::Reverse(date.as_str().unwrap().to_owned()),
            )
        };
        for pair in items.windows(2) {
            assert!(key(&pair[0]) <= key(&pair[1]), "out of order: {pair:?}");
        }
    }

    /// A 200's JSON, through one client (making one per request is slow).
    async fn json(client: &reqwest::Client, server: &FakeServer, path: &str) -> Value {
        let response = client
            .get(format!("{}{path}", server.base_url()))
            .basic_auth(KEY, Some(""))
            .send()
            .await
            .expect("request succeeds");
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("JSON body")
    }

    /// Every item of `path`, paged by 50, with the first page.
    async fn all_items(
        client: &reqwest::Client,
        server: &FakeServer,
        path: &str,
        query: &str,
    ) -> (Value, Vec<Value>) {
        let first = json(client, server, &format!("{path}?items_per_page=50{query}")).await;
        let total = first["total_results"].as_u64().unwrap() as usize;
        let mut items = first["items"].as_array().unwrap().clone();
        while items.len() < total {
            let page = json(
                client,
                server,
                &format!(
                    "{path}?items_per_page=50&start_index={}{query}",
                    items.len()
                ),
            )
            .await;
            assert_eq!(page["total_results"], first["total_results"]);
            let more = page["items"].as_array().unwrap();
            assert!(!more.is_empty(), "{path}: a page short of {total}");
            items.extend(more.iter().cloned());
        }
        (first, items)
    }

    fn appointments_of(register: &Register, number: &str, name: &str) -> String {
        register
            .company(number)
            .unwrap()
            .officers
            .iter()
            .find(|o| o["name"] == name)
            .and_then(|o| o["links"]["officer"]["appointments"].as_str())
            .expect("the officer is listed")
            .to_owned()
    }

    #[tokio::test]
    async fn appointments_have_the_spec_shape_order_and_filter() {
        let register = world();
        let server = serve(config()).await;
        let http = client();
        // A person in two bundled companies, both active: the newer first.
        let path = appointments_of(&register, "04567123", "ASHWORTH, Matthew");
        let list = json(&http, &server, &path).await;
        assert_shape(&list);
        assert_eq!(list["name"], "Matthew ASHWORTH");
        assert_eq!(list["is_corporate_officer"], false);
        assert_eq!(
            list["date_of_birth"],
            serde_json::json!({"month": 1, "year": 1962})
        );
        assert_eq!(list["links"]["self"], path);
        assert_eq!(
            (
                list["total_results"].as_u64(),
                list["items_per_page"].as_u64()
            ),
            (Some(2), Some(35))
        );
        let item = &list["items"][0];
        assert_eq!(
            item["appointed_to"],
            serde_json::json!({"company_number": "08567124",
            "company_name": "ASHWORTH ENGINEERING HOLDINGS LIMITED", "company_status": "active"})
        );
        assert_eq!(item["name"], "Matthew ASHWORTH");
        assert_eq!(
            item["name_elements"],
            serde_json::json!({"forename": "Matthew", "surname": "ASHWORTH"})
        );
        assert_eq!(
            list["items"][1]["appointed_to"]["company_number"],
            "04567123"
        );

        // A corporate officer: named as registered, no name elements or birth date.
        let path = appointments_of(
            &register,
            "04567123",
            "ASHWORTH HOLDINGS SECRETARIES LIMITED",
        );
        let list = json(&http, &server, &path).await;
        assert_shape(&list);
        assert_eq!(list["is_corporate_officer"], true);
        assert_eq!(list["name"], "ASHWORTH HOLDINGS SECRETARIES LIMITED");
        assert!(list.get("date_of_birth").is_none());
        assert!(list["items"][0].get("name_elements").is_none());
        assert!(list["items"][0]["identification"].is_object());

        // Pre-1992 appointments keep their markers; two roles in one company are two items.
        let mut pre_1992 = 0;
        for c in register
            .companies()
            .iter()
            .filter(|c| !c.number().starts_with('2'))
        {
            for o in c
                .officers
                .iter()
                .filter(|o| o["is_pre_1992_appointment"] == true)
                .take(1)
            {
                let (list, items) = all_items(
                    &http,
                    &server,
                    o["links"]["officer"]["appointments"].as_str().unwrap(),
                    "",
                )
                .await;
                assert_shape(&list);
                assert_order(&items);
                let item = items
                    .iter()
                    .find(|i| i["appointed_to"]["company_number"] == c.number())
                    .unwrap();
                assert_eq!(item["appointed_before"], o["appointed_before"]);
                assert_eq!(item["is_pre_1992_appointment"], true);
                pre_1992 += 1;
            }
        }
        assert!(pre_1992 > 0);
        let path = appointments_of(&register, "04475590", "STEVENSON, Elizabeth Mary");
        let list = json(&http, &server, &path).await;
        let roles: HashSet<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["officer_role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, HashSet::from(["secretary", "director"]));
        assert_eq!(
            list["date_of_birth"],
            serde_json::json!({"month": 3, "year": 1957})
        );

        // The synthetic person of 360 appointments: default page 35, at most 50.
        let person = synthetic::shared_person(SYNTHETIC, SEED).unwrap();
        let path = person.appointments_path();
        let page = json(&http, &server, &path).await;
        assert_shape(&page);
        assert_eq!(page["items"].as_array().unwrap().len(), 35);
        let page = json(&http, &server, &format!("{path}?items_per_page=500")).await;
        assert_eq!(page["items_per_page"], 50);
        assert_eq!(page["items"].as_array().unwrap().len(), 50);
        let (_, all) = all_items(&http, &server, &path, "").await;
        assert_order(&all);
        let (active, items) = all_items(&http, &server, &path, "&filter=active").await;
        assert_shape(&active);
        assert!(items.iter().all(|i| !resigned(i)));
        let expected: Vec<&Value> = all.iter().filter(|i| !resigned(i)).collect();
        assert_eq!(items.iter().collect::<Vec<_>>(), expected);
        assert!(
            !items.is_empty() && items.len() < all.len(),
            "some resigned, some not"
        );

        // Unknown: 404 with no body; counted as `appointments`.
        let response = get(
            &server,
            "/officers/NoSuchOfficerId0000000000000/appointments",
        )
        .await;
        assert_eq!(response.status(), 404);
        assert!(response.bytes().await.unwrap().is_empty());
        let stats = server.stats();
        assert_eq!(stats.served_404, 1);
        assert_eq!(stats.by_endpoint["appointments"], stats.requests);
    }

    #[tokio::test]
    async fn pages_of_a_person_with_hundreds_of_appointments_agree() {
        let server = serve(config()).await;
        let http = client();
        let person: SharedPerson = synthetic::shared_person(SYNTHETIC, SEED).unwrap();
        let path = person.appointments_path();
        let (first, all) = all_items(&http, &server, &path, "").await;
        assert_eq!(first["total_results"], 360);
        assert_eq!(first["name"], "Alistair Quentin PEMBERTON-HALE");
        let numbers: Vec<String> = all
            .iter()
            .map(|i| {
                i["appointed_to"]["company_number"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let unique: HashSet<&String> = numbers.iter().collect();
        assert_eq!(unique.len(), 360, "each company once");
        assert_eq!(unique, person.company_numbers.iter().collect());
        // Any page is the same slice of the whole list.
        for (start, per_page) in [(0, 35), (35, 35), (7, 13), (349, 50), (360, 10)] {
            let page = json(
                &http,
                &server,
                &format!("{path}?start_index={start}&items_per_page={per_page}"),
            )
            .await;
            assert_eq!(page["start_index"], start);
            assert_eq!(page["total_results"], 360);
            let end = (start + per_page).min(all.len());
            assert_eq!(
                page["items"].as_array().unwrap()[..],
                all[start..end],
                "{start}+{per_page}"
            );
        }
    }

    /// A person's appointment list agrees with the officer lists, on the
    /// live register (after published officer changes).
    #[tokio::test]
    async fn appointments_agree_with_the_officer_lists() {
        let server = serve(config()).await;
        let http = client();
        let burst = server.publish_burst(BurstKind::Officers, 12, 5);
        let register = server.register();
        let mut sample: Vec<(&str, &Value)> = Vec::new();
        for (k, c) in register.companies().iter().enumerate() {
            let changed = burst.companies.iter().any(|n| n == c.number());
            let synthetic = c.number().starts_with('2');
            for (j, o) in c.officers.iter().enumerate() {
                if changed || (!synthetic && j < 12) || (synthetic && (k + j) % 9 == 0) {
                    sample.push((c.number(), o));
                }
            }
        }
        assert!(sample.len() > 250, "{}", sample.len());
        let mut lists: HashMap<String, (Value, Vec<Value>)> = HashMap::new();
        for (number, o) in sample {
            let path = o["links"]["officer"]["appointments"]
                .as_str()
                .unwrap()
                .to_owned();
            if !lists.contains_key(&path) {
                let fetched = all_items(&http, &server, &path, "").await;
                lists.insert(path.clone(), fetched);
            }
            let (list, items) = &lists[&path];
            let same = |key: &str| {
                items.iter().any(|i| {
                    i["appointed_to"]["company_number"] == number
                        && i["officer_role"] == o["officer_role"]
                        && i.get(key) == o.get(key)
                })
            };
            for key in ["appointed_on", "appointed_before", "resigned_on"] {
                assert!(same(key), "{number} {key} of {o} not in {path}");
            }
            let name = o["name"].as_str().unwrap();
            if let Some((surname, forenames)) = name.split_once(", ") {
                assert_eq!(list["name"], format!("{forenames} {surname}"), "{path}");
            }
            if let Some(dob) = o.get("date_of_birth") {
                assert_eq!(&list["date_of_birth"], dob, "{path}");
            }
        }
    }

    #[test]
    fn synthetic_people_hold_several_appointments_consistently() {
        let n = 2_000;
        let register = Register::synthetic(n, 9);
        // Officer id -> (company number, name, date of birth), per item.
        let mut people: BTreeMap<&str, Vec<(&str, &Value, &Value)>> = BTreeMap::new();
        let mut items = 0;
        for c in register.companies() {
            for o in &c.officers {
                items += 1;
                let link = o["links"]["officer"]["appointments"].as_str().unwrap();
                people
                    .entry(link)
                    .or_default()
                    .push((c.number(), &o["name"], &o["date_of_birth"]));
            }
        }
        for (link, seen) in &people {
            assert!(
                seen.iter().all(|s| s.1 == seen[0].1 && s.2 == seen[0].2),
                "{link}: {seen:?}"
            );
            let companies: HashSet<&str> = seen.iter().map(|s| s.0).collect();
            assert_eq!(companies.len(), seen.len(), "{link}: twice in one company");
        }
        let shared: usize = people.values().filter(|s| s.len() > 1).map(Vec::len).sum();
        let big = synthetic::shared_person(n, 9).unwrap();
        let share = (shared - 360) as f64 / items as f64;
        assert!(
            (0.07..0.13).contains(&share),
            "{share} of officer items are pooled people's"
        );
        // The documented rules find them.
        let listed = |path: &str| -> Vec<String> {
            people
                .get(path)
                .map(|s| s.iter().map(|s| s.0.to_owned()).collect())
                .unwrap_or_default()
        };
        assert_eq!(listed(&big.appointments_path()), big.company_numbers);
        assert_eq!(big.company_numbers.len(), 360);
        assert_eq!(big.company_numbers[0], "20000000");
        for p in 0..synthetic::pooled_people(n) {
            let person = synthetic::pooled_person(n, 9, p);
            assert!((2..=6).contains(&person.company_numbers.len()));
            assert_eq!(
                listed(&person.appointments_path()),
                person.company_numbers,
                "pooled person {p}"
            );
            let (_, name, dob) = people[person.appointments_path().as_str()][0];
            assert_eq!(name, &person.name);
            assert_eq!(dob["year"], person.date_of_birth.0);
        }
        // The big person only from 300 companies, after every other officer.
        assert!(synthetic::shared_person(299, 9).is_none());
        let small = Register::synthetic(299, 9);
        for (a, b) in small.companies().iter().zip(register.companies()) {
            assert_eq!(b.officers[..b.officers.len() - 1], a.officers[..]);
            assert_eq!(
                b.officers.last().unwrap()["links"]["officer"]["appointments"],
                big.appointments_path()
            );
        }
    }
}

mod social {
    use super::*;
    use crate::social::SocialData;
    use crate::{DEMO_FACEBOOK_APP_ID, DEMO_FACEBOOK_APP_SECRET, DEMO_X_BEARER_TOKEN};

    async fn get_with(server: &FakeServer, path: &str, auth: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", server.base_url()))
            .header("Authorization", auth)
            .send()
            .await
            .expect("answered")
    }

    #[test]
    fn bundled_social_data_covers_bundled_companies() {
        let register = crate::companies_house::Register::bundled();
        let social = SocialData::bundled();
        assert!(social.companies().len() >= 5);
        for company in social.companies() {
            assert!(
                register.company(&company.company_number).is_some(),
                "{}",
                company.company_number
            );
        }
    }

    #[test]
    fn synthetic_social_data_is_deterministic_and_matches_its_register() {
        let register = crate::companies_house::Register::synthetic(40, 7);
        let a = SocialData::synthetic(&register, 7);
        let b = SocialData::synthetic(&register, 7);
        assert_eq!(a.to_json(), b.to_json());
        assert!(!a.companies().is_empty());
        for company in a.companies() {
            assert!(register.company(&company.company_number).is_some());
        }
        let merged = SocialData::bundled().merged(&a);
        assert_eq!(
            merged.companies().len(),
            SocialData::bundled().companies().len() + a.companies().len()
        );
    }

    /// A field or expansion X's OpenAPI spec does not have is refused with
    /// X's 400 invalid-request problem (`fakes/data/x_query_enums.tsv`).
    #[tokio::test]
    async fn x_refuses_fields_and_expansions_the_spec_does_not_have() {
        let server = serve(FakeConfig::bundled(KEY)).await;
        let auth = format!("Bearer {DEMO_X_BEARER_TOKEN}");
        for (path, param, bad) in [
            (
                "/2/users/by?usernames=SmithJones",
                "user.fields",
                "description,shoe_size",
            ),
            (
                "/2/users/by?usernames=SmithJones",
                "expansions",
                "pinned_post_id",
            ),
            (
                "/2/tweets/search/recent?query=from:SmithJones",
                "tweet.fields",
                "text,likes",
            ),
        ] {
            let url = format!("{path}&{param}={bad}");
            let response = get_with(&server, &url, &auth).await;
            assert_eq!(response.status(), 400, "{url}");
            let body: serde_json::Value = response.json().await.expect("json");
            assert_eq!(body["type"], "https://api.x.com/2/problems/invalid-request");
            let unknown = &body["errors"][0]["parameters"][param];
            assert_eq!(unknown.as_array().map(Vec::len), Some(1), "{body}");
        }
        let url = "/2/users/by?usernames=SmithJones&user.fields=description,url,entities,verified,verified_type&expansions=pinned_tweet_id";
        assert_eq!(get_with(&server, url, &auth).await.status(), 200);
    }

    #[tokio::test]
    async fn x_errors_are_problem_json_with_rate_headers() {
        let server = serve(FakeConfig::bundled(KEY)).await;
        let response = get_with(&server, "/2/users/by?usernames=SmithJones", "Bearer nope").await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            header(&response, "content-type").as_deref(),
            Some("application/problem+json")
        );
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(
            body,
            serde_json::json!({"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"})
        );
        let auth = format!("Bearer {DEMO_X_BEARER_TOKEN}");
        let response = get_with(&server, "/2/users/by?usernames=SmithJones,nobody", &auth).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "x-rate-limit-limit").as_deref(),
            Some("300")
        );
        assert_eq!(
            header(&response, "x-rate-limit-remaining").as_deref(),
            Some("299")
        );
        let body: serde_json::Value = response.json().await.expect("json");
        // Default fields only, as X answers without user.fields.
        assert_eq!(
            body["data"][0],
            serde_json::json!({"id":"1700000000000000001","name":"Smith & Jones Joinery","username":"SmithJones"})
        );
        assert_eq!(body["errors"][0]["value"], "nobody");
        let stats = server.stats();
        assert_eq!(stats.by_endpoint["x_users_by"], 2);
        assert_eq!(stats.served_401, 1);
    }

    #[tokio::test]
    async fn facebook_reports_usage_and_graph_errors() {
        let server = serve(FakeConfig::bundled(KEY)).await;
        let response = get_with(
            &server,
            "/v25.0/100071234561?fields=name&access_token=x|y",
            "",
        )
        .await;
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], 190);
        assert_eq!(body["error"]["type"], "OAuthException");
        assert!(body["error"]["fbtrace_id"].is_string());
        let token = format!("{DEMO_FACEBOOK_APP_ID}|{DEMO_FACEBOOK_APP_SECRET}");
        // The form Meta's access-token guide shows is the query parameter;
        // a bearer header is not that form and counts as no token.
        let response = get_with(
            &server,
            "/v25.0/100071234561?fields=name",
            &format!("Bearer {token}"),
        )
        .await;
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], 104);
        let page = format!("/v25.0/100071234561?fields=name,website&access_token={token}");
        let response = get_with(&server, &page, "").await;
        assert_eq!(response.status(), 200);
        assert!(header(&response, "x-app-usage").is_some());
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(
            body,
            serde_json::json!({"id":"100071234561","name":"Smith & Jones Joinery","website":"http://smithandjonesjoinery.co.uk/"})
        );
        assert_eq!(server.stats().by_endpoint["facebook_page"], 3);
    }

    #[tokio::test]
    async fn permission_errors_for_apps_without_the_access() {
        let mut config = FakeConfig::bundled(KEY);
        config.social.facebook_page_access = false;
        config.social.linkedin_organization_access = false;
        let server = serve(config).await;
        let token = format!("{DEMO_FACEBOOK_APP_ID}|{DEMO_FACEBOOK_APP_SECRET}");
        let search = format!("/v25.0/pages/search?q=smith&access_token={token}");
        let response = get_with(&server, &search, "").await;
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], 10);
        assert_eq!(body["error"]["type"], "OAuthException");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("'Page Public Metadata Access' feature"),
            "{message}"
        );
        let response = reqwest::Client::new()
            .get(format!(
                "{}/rest/organizations?q=vanityName&vanityName=yorkshireairambulance",
                server.base_url()
            ))
            .bearer_auth(crate::DEMO_LINKEDIN_ACCESS_TOKEN)
            .header("LinkedIn-Version", "202611")
            .header("X-Restli-Protocol-Version", "2.0.0")
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 403);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(
            body,
            serde_json::json!({"message":"Not enough permissions to access: GET /organizations","serviceErrorCode":100,"status":403})
        );
    }

    #[tokio::test]
    async fn linkedin_needs_a_version_and_answers_its_error_shape() {
        let server = serve(FakeConfig::bundled(KEY)).await;
        let response = get_with(
            &server,
            "/rest/organizations?q=vanityName&vanityName=yorkshireairambulance",
            "",
        )
        .await;
        assert_eq!(response.status(), 401);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(
            body,
            serde_json::json!({"message":"Empty oauth2_access_token","serviceErrorCode":401,"status":401})
        );
        let auth = format!("Bearer {}", crate::DEMO_LINKEDIN_ACCESS_TOKEN);
        let response = get_with(
            &server,
            "/rest/organizations?q=vanityName&vanityName=yorkshireairambulance",
            &auth,
        )
        .await;
        assert_eq!(response.status(), 400, "no LinkedIn-Version header");
        assert_eq!(server.stats().by_endpoint["linkedin_organizations"], 2);
    }
}

/// The streaming API (`stream.rs`): read as a client reads it, line by line.
mod streams {
    use super::*;
    use crate::companies_house::Company;
    use crate::{BurstKind, Stream, StreamFakeConfig};
    use serde_json::json;

    const STREAM_KEY: &str = "test-stream-key";

    /// The bundled register, quiet streams (no ambient events) and a short heartbeat.
    fn config() -> FakeConfig {
        let mut c = FakeConfig::bundled(KEY);
        c.stream = StreamFakeConfig {
            heartbeat: Duration::from_millis(50),
            ambient: None,
            ..StreamFakeConfig::new(STREAM_KEY)
        };
        c
    }

    /// No overall timeout: a stream's body never ends.
    fn stream_client() -> reqwest::Client {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("client builds")
    }

    async fn connect(server: &FakeServer, path: &str, key: &str) -> reqwest::Response {
        stream_client()
            .get(format!("{}{path}", server.base_url()))
            .basic_auth(key, Some(""))
            .send()
            .await
            .expect("answered")
    }

    async fn open(server: &FakeServer, path: &str) -> Lines {
        let response = connect(server, path, STREAM_KEY).await;
        assert_eq!(response.status(), 200, "{path}");
        Lines {
            response,
            buf: Vec::new(),
        }
    }

    /// A stream body split into lines.
    struct Lines {
        response: reqwest::Response,
        buf: Vec<u8>,
    }

    impl Lines {
        /// The next line (`""` for a heartbeat), `Ok(None)` when the body
        /// ended, `Err` when nothing came within `wait`.
        async fn within(&mut self, wait: Duration) -> Result<Option<String>, ()> {
            loop {
                if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.buf.drain(..=i).collect();
                    return Ok(Some(String::from_utf8_lossy(&line[..i]).into_owned()));
                }
                match tokio::time::timeout(wait, self.response.chunk()).await {
                    Err(_) => return Err(()),
                    Ok(Ok(Some(chunk))) => self.buf.extend_from_slice(&chunk),
                    Ok(Ok(None) | Err(_)) => return Ok(None),
                }
            }
        }

        async fn line(&mut self) -> Option<String> {
            self.within(Duration::from_secs(5))
                .await
                .expect("a line within 5 s")
        }

        /// The next line that is not a heartbeat.
        async fn text(&mut self) -> String {
            loop {
                match self.line().await {
                    Some(l) if l.is_empty() => continue,
                    Some(l) => return l,
                    None => panic!("the stream ended"),
                }
            }
        }

        async fn event(&mut self) -> Value {
            let text = self.text().await;
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        }

        /// Whether the body ends within 5 s (lines before the end are skipped).
        async fn ends(&mut self) -> bool {
            loop {
                match self.within(Duration::from_secs(5)).await {
                    Ok(None) => return true,
                    Ok(Some(_)) => continue,
                    Err(()) => return false,
                }
            }
        }

        /// Nothing at all arrives for `quiet` (after what was already in flight).
        async fn falls_silent(&mut self, quiet: Duration) -> bool {
            // Up to a few frames may already be on their way.
            for _ in 0..20 {
                if self.within(quiet).await.is_err() {
                    return true;
                }
            }
            false
        }
    }

    fn timepoint(event: &Value) -> u64 {
        event["event"]["timepoint"]
            .as_u64()
            .expect("an integer timepoint")
    }

    /// The envelope's members are the real ones, in the real order.
    fn assert_envelope(event: &Value) {
        let members: Vec<&str> = event
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            members,
            [
                "resource_kind",
                "resource_uri",
                "resource_id",
                "data",
                "event"
            ],
            "{event}"
        );
        let meta = event["event"].as_object().unwrap();
        for key in meta.keys() {
            assert!(
                ["timepoint", "published_at", "type", "fields_changed"].contains(&key.as_str()),
                "event.{key}"
            );
        }
        assert_eq!(event["event"]["type"], "changed");
        timepoint(event);
        let at = event["event"]["published_at"].as_str().unwrap();
        let b = at.as_bytes();
        assert!(
            b.len() == 19
                && b[4] == b'-'
                && b[7] == b'-'
                && b[10] == b'T'
                && b[13] == b':'
                && b[16] == b':'
                && at
                    .replace(['-', 'T', ':'], "")
                    .bytes()
                    .all(|c| c.is_ascii_digit()),
            "published_at {at}"
        );
        assert_eq!(
            event["resource_uri"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap(),
            event["resource_id"].as_str().unwrap()
        );
    }

    fn number_of(event: &Value) -> String {
        event["resource_uri"]
            .as_str()
            .unwrap()
            .split('/')
            .nth(2)
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn each_stream_sends_the_real_envelope_for_a_published_change() {
        // A third connection would close the first: use a second account.
        let mut c = config();
        c.stream.other_stream_keys = vec!["second-key".into()];
        let server = serve(c).await;
        let mut companies = open(&server, "/companies").await;
        let mut officers = open(&server, "/officers").await;
        let response = connect(&server, "/persons-with-significant-control", "second-key").await;
        assert_eq!(response.status(), 200);
        let mut psc = Lines {
            response,
            buf: Vec::new(),
        };
        let response = connect(
            &server,
            "/persons-with-significant-control-statements",
            "second-key",
        )
        .await;
        assert_eq!(response.status(), 200);
        let mut statements = Lines {
            response,
            buf: Vec::new(),
        };
        // Mixed: officers, PSC, companies, PSC statements in turn.
        let burst = server.publish_burst(BurstKind::Mixed, 4, 1);
        assert_eq!(burst.events, 4);
        assert_eq!(burst.companies.len(), 4);

        let o = officers.event().await;
        assert_envelope(&o);
        assert_eq!(o["resource_kind"], "company-officers");
        assert_eq!(number_of(&o), burst.companies[0]);
        assert!(
            o["resource_uri"]
                .as_str()
                .unwrap()
                .starts_with(&format!("/company/{}/appointments/", burst.companies[0]))
        );
        assert_eq!(o["resource_uri"], o["data"]["links"]["self"]);
        assert!(o["data"].get("company_number").is_none());
        assert!(o["data"]["name"].is_string() && o["data"]["officer_role"].is_string());
        assert_eq!(timepoint(&o), Stream::Officers.first_timepoint());

        let p = psc.event().await;
        assert_envelope(&p);
        assert_eq!(number_of(&p), burst.companies[1]);
        let kind = p["data"]["kind"].as_str().unwrap();
        assert_eq!(p["resource_kind"], crate::stream::psc_resource_kind(kind));
        assert!(
            p["resource_kind"]
                .as_str()
                .unwrap()
                .starts_with("company-psc-")
        );
        assert!(p["resource_uri"].as_str().unwrap().starts_with(&format!(
            "/company/{}/persons-with-significant-control/",
            burst.companies[1]
        )));
        assert_eq!(timepoint(&p), Stream::Psc.first_timepoint());

        let c = companies.event().await;
        assert_envelope(&c);
        assert_eq!(c["resource_kind"], "company-profile");
        let n = &burst.companies[2];
        assert_eq!(c["resource_uri"], format!("/company/{n}"));
        assert_eq!(c["resource_id"], n.as_str());
        assert_eq!(c["data"]["company_number"], n.as_str());
        assert_eq!(
            c["event"]["fields_changed"][0],
            "registered_office_address.address_line_1"
        );
        assert_eq!(timepoint(&c), Stream::Companies.first_timepoint());
        // The profile the event carries is the one REST serves now.
        assert_eq!(get_json(&server, &format!("/company/{n}")).await, c["data"]);
        assert_ne!(
            c["data"]["etag"],
            Register::bundled().company(n).unwrap().profile["etag"]
        );

        let s = statements.event().await;
        assert_envelope(&s);
        assert_eq!(s["resource_kind"], "company-psc-statement");
        assert_eq!(number_of(&s), burst.companies[3]);
        assert_eq!(timepoint(&s), Stream::PscStatements.first_timepoint());

        let stats = server.stream_stats();
        assert_eq!((stats.open, stats.connections), (4, 4));
        assert_eq!(stats.streams["officers"].latest, Some(7_800_000));
        assert_eq!(stats.streams["companies"].published, 1);
        assert_eq!(
            stats.streams["persons-with-significant-control-statements"].latest,
            Some(3_100_000)
        );
    }

    #[tokio::test]
    async fn statements_stream_carries_the_rest_items_of_a_statements_burst() {
        let server = serve(config()).await;
        let before = Register::bundled();
        let today = crate::stream::utc_date(std::time::SystemTime::now());
        let mut stream = open(&server, "/persons-with-significant-control-statements").await;
        // Every company: most have no statement yet, 14285715 has an active one.
        let burst = server.publish_burst(BurstKind::PscStatements, before.len(), 1);
        let rest = client();
        assert_eq!(burst.events, before.len());
        let (mut notified, mut ceased) = (0, 0);
        for (k, number) in burst.companies.iter().enumerate() {
            let event = stream.event().await;
            assert_envelope(&event);
            assert_eq!(event["resource_kind"], "company-psc-statement");
            assert_eq!(&number_of(&event), number);
            assert_eq!(
                timepoint(&event),
                Stream::PscStatements.first_timepoint() + k as u64
            );
            let item = &event["data"];
            assert_eq!(event["resource_uri"], item["links"]["self"]);
            assert!(
                event["resource_uri"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!(
                        "/company/{number}/persons-with-significant-control-statements/"
                    ))
            );
            assert_eq!(item["kind"], "persons-with-significant-control-statement");
            // pscModels.json#statement members only.
            for key in item.as_object().unwrap().keys() {
                assert!(
                    [
                        "etag",
                        "kind",
                        "notified_on",
                        "ceased_on",
                        "restrictions_notice_withdrawal_reason",
                        "statement",
                        "linked_psc_name",
                        "links"
                    ]
                    .contains(&key.as_str()),
                    "statement.{key}"
                );
            }
            // The REST list has the event's item, and counts it (one client
            // for all the requests keeps the test quick).
            let list: Value = rest
                .get(format!(
                    "{}/company/{number}/persons-with-significant-control-statements?items_per_page=100",
                    server.base_url()
                ))
                .basic_auth(KEY, Some(""))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let items = list["items"].as_array().unwrap();
            assert!(items.contains(item), "{number}: listed");
            let old = &before.company(number).unwrap().psc_statements;
            let old_ceased = old.iter().filter(|s| s.get("ceased_on").is_some()).count();
            let total = list["total_results"].as_u64().unwrap() as usize;
            let active = list["active_count"].as_u64().unwrap() as usize;
            let ceased_now = list["ceased_count"].as_u64().unwrap() as usize;
            assert_eq!(active + ceased_now, total);
            if item["ceased_on"] == today.as_str() {
                ceased += 1;
                assert_eq!(total, old.len());
                assert_eq!(ceased_now, old_ceased + 1);
                let was = old
                    .iter()
                    .find(|s| s["links"]["self"] == item["links"]["self"])
                    .expect("an existing statement ceased");
                assert!(was.get("ceased_on").is_none());
                assert_ne!(was["etag"], item["etag"], "a new etag");
            } else {
                notified += 1;
                assert_eq!(item["notified_on"], today.as_str());
                assert!(item.get("ceased_on").is_none());
                assert_eq!(total, old.len() + 1);
                assert_eq!(ceased_now, old_ceased);
                assert_eq!(items[0], *item, "the newest statement first");
                let has_psc = before
                    .company(number)
                    .unwrap()
                    .persons_with_significant_control
                    .iter()
                    .any(|p| p.get("ceased_on").is_none() && p["ceased"] != true);
                let expected = if has_psc {
                    "psc-details-not-confirmed"
                } else {
                    "no-individual-or-entity-with-signficant-control"
                };
                assert_eq!(item["statement"], expected, "{number}");
            }
        }
        assert!(
            notified > 0 && ceased > 0,
            "{notified} notified, {ceased} ceased"
        );
        // 14285715's only statement was active: it is ceased, not doubled.
        let list = get_json(
            &server,
            "/company/14285715/persons-with-significant-control-statements",
        )
        .await;
        assert_eq!(
            (
                list["total_results"].as_u64(),
                list["active_count"].as_u64()
            ),
            (Some(1), Some(0))
        );
        // The other streams are untouched, and the register still follows the spec.
        let stats = server.stream_stats();
        assert_eq!(
            stats.streams["persons-with-significant-control"].published,
            0
        );
        assert_eq!(
            stats.streams["persons-with-significant-control-statements"].published,
            before.len() as u64
        );
        assert_eq!(server.stats().by_endpoint["stream_psc_statements"], 1);
        assert_eq!(validate(&server.register()), Vec::<String>::new());
    }

    #[tokio::test]
    async fn rest_reflects_published_officer_and_psc_changes() {
        let server = serve(config()).await;
        let before = Register::bundled();
        let burst = server.publish_burst(BurstKind::Officers, 6, 3);
        assert_eq!(burst.events, 6);
        let mut stream = open(&server, &format!("/officers?timepoint={}", 7_800_000)).await;
        let mut appointed = 0;
        for number in &burst.companies {
            let event = stream.event().await;
            assert_eq!(&number_of(&event), number);
            let item = &event["data"];
            let list = get_json(
                &server,
                &format!("/company/{number}/officers?items_per_page=100"),
            )
            .await;
            let old: &Company = before.company(number).unwrap();
            let served = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["links"]["self"] == item["links"]["self"])
                .expect("the changed appointment is listed");
            assert_eq!(served, item);
            let total = list["total_results"].as_u64().unwrap() as usize;
            let active = list["active_count"].as_u64().unwrap();
            let resigned = list["resigned_count"].as_u64().unwrap();
            assert_eq!(active + resigned, total as u64);
            if item.get("resigned_on").is_some()
                && old
                    .officers
                    .iter()
                    .any(|o| o["links"]["self"] == item["links"]["self"])
            {
                assert_eq!(total, old.officers.len());
            } else {
                appointed += 1;
                assert_eq!(total, old.officers.len() + 1);
                assert_eq!(list["items"][0], *item, "the newest appointment first");
                assert_eq!(item["officer_role"], "director");
                assert!(item["name"].as_str().unwrap().contains(", "));
                assert_eq!(
                    item["appointed_on"],
                    crate::stream::utc_date(std::time::SystemTime::now())
                );
                assert!(
                    item["links"]["officer"]["appointments"]
                        .as_str()
                        .unwrap()
                        .starts_with("/officers/")
                );
                assert!(item["date_of_birth"]["year"].is_u64());
            }
        }
        assert!(appointed > 0, "seed 3 appoints someone");
        assert_eq!(
            server.stats().by_endpoint["officers"],
            burst.companies.len() as u64
        );

        let burst = server.publish_burst(BurstKind::Psc, 4, 9);
        let mut stream = open(
            &server,
            "/persons-with-significant-control?timepoint=4900000",
        )
        .await;
        for number in &burst.companies {
            let event = stream.event().await;
            let list = get_json(
                &server,
                &format!("/company/{number}/persons-with-significant-control"),
            )
            .await;
            assert!(
                list["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| *p == event["data"]),
                "{number}: the PSC list has the event's item"
            );
        }
        // The register as served now still follows the spec.
        assert_eq!(validate(&server.register()), Vec::<String>::new());
    }

    #[tokio::test]
    async fn resume_is_inclusive_and_bad_timepoints_get_416() {
        let mut c = config();
        c.stream.backlog = 5;
        let server = serve(c).await;
        // Before anything is published only "now" is a valid timepoint.
        let response = connect(&server, "/officers?timepoint=7799999", STREAM_KEY).await;
        assert_eq!(response.status(), 416);
        let _now = open(&server, "/officers?timepoint=7800000").await;
        drop(_now);
        server.publish_burst(BurstKind::Officers, 8, 2);
        let stats = server.stream_stats();
        assert_eq!(stats.streams["officers"].oldest, Some(7_800_003));
        assert_eq!(stats.streams["officers"].latest, Some(7_800_007));

        let mut resumed = open(&server, "/officers?timepoint=7800005").await;
        for expected in 7_800_005..=7_800_007 {
            assert_eq!(timepoint(&resumed.event().await), expected);
        }
        // Then live events follow the backlog.
        server.publish_burst(BurstKind::Officers, 1, 77);
        assert_eq!(timepoint(&resumed.event().await), 7_800_008);
        drop(resumed);

        // The oldest retained (the backlog of 5 has moved on) and latest + 1
        // are both fine.
        let mut oldest = open(&server, "/officers?timepoint=7800004").await;
        assert_eq!(timepoint(&oldest.event().await), 7_800_004);
        drop(oldest);
        let mut next = open(&server, "/officers?timepoint=7800009").await;
        assert_eq!(
            next.line().await.as_deref(),
            Some(""),
            "a heartbeat, no event"
        );
        drop(next);

        for bad in ["7800003", "7800010", "abc", "", "-1", "7800004.5"] {
            let response =
                connect(&server, &format!("/officers?timepoint={bad}"), STREAM_KEY).await;
            assert_eq!(response.status(), 416, "timepoint={bad}");
            assert_eq!(response.bytes().await.unwrap().len(), 0);
        }
        // Each stream counts on its own.
        let response = connect(&server, "/companies?timepoint=7800005", STREAM_KEY).await;
        assert_eq!(response.status(), 416);
        assert_eq!(server.stats().by_endpoint["stream_officers"], 11);
    }

    #[tokio::test]
    async fn rest_and_stream_keys_are_not_interchangeable() {
        let server = serve(config()).await;
        let invalid = json!({"error": "Invalid Authorization", "type": "ch:service"});
        let response = connect(&server, "/companies", KEY).await;
        assert_eq!(response.status(), 401);
        assert_eq!(response.json::<Value>().await.unwrap(), invalid);
        let response = stream_client()
            .get(format!("{}/officers", server.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let response = client()
            .get(format!("{}/company/08957400", server.base_url()))
            .basic_auth(STREAM_KEY, Some(""))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.json::<Value>().await.unwrap(), invalid);
        let stats = server.stats();
        assert_eq!(stats.served_401, 3);
        assert_eq!(stats.by_endpoint["stream_companies"], 1);
        assert_eq!(stats.by_endpoint["stream_officers"], 1);
        assert_eq!(server.stream_stats().connections, 0);
    }

    #[tokio::test]
    async fn a_third_connection_closes_the_oldest_of_its_key() {
        let mut c = config();
        c.stream.other_stream_keys = vec!["other-account".into()];
        let server = serve(c).await;
        let mut first = open(&server, "/companies").await;
        let mut second = open(&server, "/officers").await;
        let other = connect(&server, "/companies", "other-account").await;
        assert_eq!(other.status(), 200);
        assert_eq!(server.stream_stats().closed_oldest, 0);
        let mut third = open(&server, "/persons-with-significant-control-statements").await;
        assert!(first.ends().await, "the oldest connection is closed");
        // The others still stream.
        assert_eq!(second.line().await.as_deref(), Some(""));
        assert_eq!(third.line().await.as_deref(), Some(""));
        let stats = server.stream_stats();
        assert_eq!(
            (
                stats.open,
                stats.max_open,
                stats.connections,
                stats.closed_oldest
            ),
            (3, 2, 4, 1)
        );
    }

    #[tokio::test]
    async fn injected_failures_answer_the_next_attempts_then_streaming_resumes() {
        let server = serve(config()).await;
        server.fail_stream_connects(429, 1);
        let response = connect(&server, "/officers", STREAM_KEY).await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.bytes().await.unwrap().len(), 0);
        let _ok = open(&server, "/officers").await;

        // Over HTTP, as the benchmarks drive it.
        let admin = format!(
            "{}/__fake/stream/fail?status=503&times=2",
            server.base_url()
        );
        assert_eq!(client().post(admin).send().await.unwrap().status(), 204);
        for _ in 0..2 {
            let response = connect(&server, "/companies", STREAM_KEY).await;
            assert_eq!(response.status(), 503);
            assert_eq!(
                header(&response, "content-type").as_deref(),
                Some("text/html")
            );
            let page = response.text().await.unwrap();
            assert!(page.starts_with("<html>") && page.contains("503"), "{page}");
        }
        server.fail_stream_connects(416, 1);
        assert_eq!(
            connect(&server, "/companies", STREAM_KEY).await.status(),
            416
        );
        let _ok = open(&server, "/companies").await;
        let stats = server.stats();
        assert_eq!((stats.served_429, stats.served_5xx), (1, 2));
        assert_eq!(stats.requests, 6);
        // The REST quota is untouched by stream connections.
        let response = get(&server, "/company/08957400").await;
        assert_eq!(
            header(&response, "x-ratelimit-remain").as_deref(),
            Some("599")
        );
    }

    #[tokio::test]
    async fn heartbeats_when_idle_and_silence_sends_nothing_at_all() {
        let server = serve(config()).await;
        let mut stream = open(&server, "/officers").await;
        let started = Instant::now();
        for _ in 0..3 {
            assert_eq!(stream.line().await.as_deref(), Some(""));
        }
        assert!(started.elapsed() >= Duration::from_millis(100));

        server.silence_streams(true);
        assert!(stream.falls_silent(Duration::from_millis(300)).await);
        // New connections are silent too, backlog and all.
        server.publish_burst(BurstKind::Officers, 1, 5);
        let mut late = open(&server, "/officers?timepoint=7800000").await;
        assert!(late.within(Duration::from_millis(300)).await.is_err());

        server.silence_streams(false);
        assert_eq!(timepoint(&late.event().await), 7_800_000);
        assert_eq!(timepoint(&stream.event().await), 7_800_000);
        assert_eq!(stream.line().await.as_deref(), Some(""));

        // Over HTTP.
        let admin = format!("{}/__fake/stream/silence?on=true", server.base_url());
        assert_eq!(client().post(admin).send().await.unwrap().status(), 204);
        assert!(stream.falls_silent(Duration::from_millis(300)).await);
        server.silence_streams(false);
        assert_eq!(stream.line().await.as_deref(), Some(""));
    }

    #[tokio::test]
    async fn raw_lines_are_delivered_verbatim_in_order() {
        let server = serve(config()).await;
        let mut stream = open(&server, "/officers").await;
        server.publish_burst(BurstKind::Officers, 1, 1);
        let raws = [
            "{\"resource_kind\":\"company-officers\",\"resource_uri\":\"/company/1234",
            "{\"resource_kind\":\"company-charges\",\"resource_uri\":\"/company/00000006/charges/x\",\"resource_id\":\"x\",\"data\":{},\"event\":{\"timepoint\":1,\"published_at\":\"2022-11-15T18:27:56\",\"type\":\"changed\"}}",
            "{\"resource_kind\":\"company-officers\",\"resource_uri\":\"/company/123456789/appointments/y\",\"resource_id\":\"y\",\"data\":{},\"event\":{\"timepoint\":2,\"published_at\":\"2022-11-15T18:27:56\",\"type\":\"changed\"}}",
        ];
        let mut slots = Vec::new();
        for raw in raws {
            slots.push(server.publish_raw(Stream::Officers, raw));
        }
        // Over HTTP, with a trailing newline of its own that is dropped.
        let url = format!("{}/__fake/stream/raw?stream=officers", server.base_url());
        let answer: Value = client()
            .post(url)
            .body("not json at all\n")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["timepoint"], 7_800_004);
        server.publish_burst(BurstKind::Officers, 1, 2);

        assert_eq!(timepoint(&stream.event().await), 7_800_000);
        for raw in raws {
            assert_eq!(stream.text().await, raw);
        }
        assert_eq!(stream.text().await, "not json at all");
        // The raw lines took their slots: the next event's timepoint is after them.
        assert_eq!(slots, [7_800_001, 7_800_002, 7_800_003]);
        assert_eq!(timepoint(&stream.event().await), 7_800_005);
        // And a resume lands on a raw line as on any event.
        let mut resumed = open(&server, "/officers?timepoint=7800002").await;
        assert_eq!(resumed.text().await, raws[1]);
    }

    #[tokio::test]
    async fn ambient_events_are_about_companies_off_the_register() {
        let mut c = config();
        c.stream.ambient = Some(Duration::from_millis(20));
        let server = serve(c).await;
        let register = Register::bundled();
        let mut companies = open(&server, "/companies").await;
        let mut officers = open(&server, "/officers").await;
        let mut seen = HashSet::new();
        for _ in 0..3 {
            for event in [companies.event().await, officers.event().await] {
                assert_envelope(&event);
                let n = number_of(&event);
                assert!(n.len() == 8 && n.starts_with('9'), "{n}");
                assert!(register.company(&n).is_none());
                seen.insert(n);
            }
        }
        assert!(seen.len() >= 6, "distinct companies: {seen:?}");
        drop((companies, officers));
        let mut psc = open(&server, "/persons-with-significant-control").await;
        let event = psc.event().await;
        assert_envelope(&event);
        assert_eq!(
            event["resource_kind"],
            crate::stream::psc_resource_kind(event["data"]["kind"].as_str().unwrap())
        );
        let n = number_of(&event);
        assert!(n.starts_with('9') && register.company(&n).is_none());
        drop(psc);
        let mut statements = open(&server, "/persons-with-significant-control-statements").await;
        let event = statements.event().await;
        assert_envelope(&event);
        assert_eq!(event["resource_kind"], "company-psc-statement");
        assert_eq!(
            event["data"]["kind"],
            "persons-with-significant-control-statement"
        );
        assert_eq!(
            event["data"]["notified_on"],
            crate::stream::utc_date(std::time::SystemTime::now())
        );
        let n = number_of(&event);
        assert!(n.starts_with('9') && register.company(&n).is_none());
        // The register is not changed by background traffic.
        assert_eq!(server.register().to_json(), register.to_json());
    }

    #[tokio::test]
    async fn admin_endpoints_publish_disconnect_and_report() {
        let server = serve(config()).await;
        let base = server.base_url();
        let mut stream = open(&server, "/companies").await;
        let burst: Value = client()
            .post(format!(
                "{base}/__fake/stream/burst?kind=companies&companies=4&seed=1"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(burst["events"], 4);
        let numbers = burst["companies"].as_array().unwrap();
        assert_eq!(numbers.len(), 4);
        for n in numbers {
            let event = stream.event().await;
            assert_eq!(event["resource_id"], *n);
        }
        let raw: Value = client()
            .post(format!("{base}/__fake/stream/raw?stream=psc-statements"))
            .body("{}")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(raw["timepoint"], 3_100_000);
        let burst: Value = client()
            .post(format!(
                "{base}/__fake/stream/burst?kind=psc-statements&companies=2&seed=1"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(burst["events"], 2);
        let bad = client()
            .post(format!("{base}/__fake/stream/burst?kind=filings"))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let stats: Value = client()
            .get(format!("{base}/__fake/stream/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(stats["open"], 1);
        assert_eq!(stats["streams"]["companies"]["latest"], 20_000_003);
        assert_eq!(stats["streams"]["companies"]["published"], 4);
        assert_eq!(stats["streams"]["officers"]["latest"], Value::Null);
        assert_eq!(
            stats["streams"]["persons-with-significant-control-statements"]["latest"],
            3_100_002
        );
        let closed: Value = client()
            .post(format!("{base}/__fake/stream/disconnect"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(closed["closed"], 1);
        assert!(stream.ends().await);
        assert_eq!(server.stream_stats().open, 0);
        // Admin calls are not counted as requests.
        assert_eq!(server.stats().requests, 1);
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_is_disconnected() {
        let mut c = config();
        c.stream.queue = 4;
        c.stream.heartbeat = Duration::from_secs(30);
        let server = serve(c).await;
        // Connected but never read: the socket buffers fill, then the queue.
        let _stalled = open(&server, "/officers").await;
        let big = format!("{{\"padding\":\"{}\"}}", "x".repeat(64 * 1024));
        let mut published = 0;
        while published < 600 && server.stream_stats().closed_slow == 0 {
            server.publish_raw(Stream::Officers, &big);
            published += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let stats = server.stream_stats();
        assert_eq!((stats.closed_slow, stats.open), (1, 0));
        // It was read for a while (into the socket buffers), not cut at once.
        assert!(published > 8, "closed after {published} lines");
    }
}
