//! The LinkedIn client against the fake: vanity candidates, the website
//! rule with a decoy, auth, and the 429 body without headers.

use std::time::Duration;

use secrecy::SecretString;

use super::*;
use crate::cache::Cache;
use crate::gateway::{GatewayError, Provider};
use crate::sources::social::testing::{fast_gateway, query, smith_and_jones};
use leadgen_fakes::{DEMO_API_KEY, DEMO_LINKEDIN_ACCESS_TOKEN, FakeConfig, FakeServer};

fn client(server: &FakeServer, token: &str) -> Client {
    Client::new(
        fast_gateway(Provider::LinkedIn),
        Cache::in_memory(1000),
        &server.base_url(),
        SecretString::from(token),
    )
}

#[tokio::test]
async fn accepts_the_page_whose_website_is_the_company_s_after_a_decoy() {
    let server = FakeServer::start(FakeConfig::bundled(DEMO_API_KEY))
        .await
        .expect("fake starts");
    let li = client(&server, DEMO_LINKEDIN_ACCESS_TOKEN);
    let found = li.lookup(&smith_and_jones()).await.expect("looked up");
    assert_eq!(found.accounts.len(), 1, "{found:?}");
    let page = &found.accounts[0];
    assert_eq!(page.handle_or_vanity, "smith-and-jones-joinery");
    assert_eq!(page.id, "71234561");
    assert_eq!(
        page.url,
        "https://www.linkedin.com/company/smith-and-jones-joinery/"
    );
    assert_eq!(page.matched_on, MatchedOn::WebsiteDomain);
    assert!(found.profiles.is_empty(), "LinkedIn looks up no people");
    // The domain label finds nothing, "smith-jones-joinery" is a decoy with
    // another website, the third candidate is the page; then it stops.
    assert_eq!(server.stats().by_endpoint["linkedin_organizations"], 3);
}

#[tokio::test]
async fn the_domain_label_is_tried_first() {
    let server = FakeServer::start(FakeConfig::bundled(DEMO_API_KEY))
        .await
        .expect("fake starts");
    let li = client(&server, DEMO_LINKEDIN_ACCESS_TOKEN);
    let q = query(
        "YORKSHIRE AIR AMBULANCE LIMITED",
        "04053514",
        Some("https://yorkshireairambulance.org.uk"),
        None,
        vec![],
    );
    let found = li.lookup(&q).await.expect("looked up");
    assert_eq!(found.accounts[0].handle_or_vanity, "yorkshireairambulance");
    assert_eq!(server.stats().by_endpoint["linkedin_organizations"], 1);
}

#[tokio::test]
async fn without_a_website_nothing_is_asked() {
    let server = FakeServer::start(FakeConfig::bundled(DEMO_API_KEY))
        .await
        .expect("fake starts");
    let li = client(&server, DEMO_LINKEDIN_ACCESS_TOKEN);
    let q = query(
        "CANDOUR GROUP LIMITED",
        "08957400",
        None,
        Some("CT1 3DZ"),
        vec![],
    );
    assert_eq!(li.lookup(&q).await.expect("nothing"), Default::default());
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test]
async fn a_refused_token_stops_linkedin_and_is_never_shown() {
    let server = FakeServer::start(FakeConfig::bundled(DEMO_API_KEY))
        .await
        .expect("fake starts");
    let secret = "wrong-linkedin-token-do-not-print";
    let li = client(&server, secret);
    let err = li.lookup(&smith_and_jones()).await.expect_err("refused");
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(
            err,
            SourceError::Gateway(GatewayError::CredentialRefused { status: 401, .. })
        ),
        "{shown}"
    );
    assert!(shown.contains("LINKEDIN_ACCESS_TOKEN"), "{shown}");
    assert!(!shown.contains(secret), "{shown}");
}

#[tokio::test]
async fn a_token_without_organization_access_switches_linkedin_off_naming_it() {
    let mut config = FakeConfig::bundled(DEMO_API_KEY);
    config.social.linkedin_organization_access = false;
    let server = FakeServer::start(config).await.expect("fake starts");
    let gateway = fast_gateway(Provider::LinkedIn);
    let li = Client::new(
        gateway.clone(),
        Cache::in_memory(1000),
        &server.base_url(),
        SecretString::from(DEMO_LINKEDIN_ACCESS_TOKEN),
    );
    let err = li.lookup(&smith_and_jones()).await.expect_err("no access");
    assert!(
        matches!(err, SourceError::Gateway(GatewayError::NotPermitted { .. })),
        "{err}"
    );
    assert_eq!(err.kind().as_str(), "not_permitted");
    let shown = err.to_string();
    assert!(shown.contains("Community Management API"), "{shown}");
    assert!(!shown.contains(DEMO_LINKEDIN_ACCESS_TOKEN), "{shown}");
    // One 403 and no retry; every later call is refused without a request.
    assert_eq!(server.stats().requests, 1);
    assert!(li.organizations_by_vanity_name("linkedin").await.is_err());
    assert_eq!(server.stats().requests, 1);
    let stats = &gateway.stats()[&Provider::LinkedIn];
    assert_eq!(stats.missing_access, Some(super::policy::REQUIRED_ACCESS));
    assert!(!stats.credential_refused, "the token itself is fine");
}

#[tokio::test]
async fn a_429_is_waited_out_and_retried() {
    let mut config = FakeConfig::bundled(DEMO_API_KEY);
    config.social.linkedin_daily_limit = 1;
    config.social.linkedin_window = Duration::from_millis(700);
    let server = FakeServer::start(config).await.expect("fake starts");
    let li = client(&server, DEMO_LINKEDIN_ACCESS_TOKEN);
    let found = li.lookup(&smith_and_jones()).await.expect("recovers");
    assert_eq!(found.accounts.len(), 1);
    let stats = server.stats();
    assert!(stats.served_429 >= 1, "{stats:?}");
}

#[tokio::test]
async fn a_spent_cap_ends_in_an_error_naming_the_throttle() {
    let mut config = FakeConfig::bundled(DEMO_API_KEY);
    config.social.linkedin_daily_limit = 1;
    let server = FakeServer::start(config).await.expect("fake starts");
    let li = client(&server, DEMO_LINKEDIN_ACCESS_TOKEN);
    li.organizations_by_vanity_name("nothing-here")
        .await
        .expect("the one call of the day");
    let err = li
        .organizations_by_vanity_name("smith-and-jones-joinery")
        .await
        .expect_err("cap spent");
    assert!(
        matches!(
            err,
            SourceError::Gateway(GatewayError::Status { status: 429, .. })
        ),
        "{err}"
    );
}

#[test]
fn vanity_candidates_are_slugs() {
    let c = vanity_candidates(
        "SMITH & JONES JOINERY LIMITED",
        Some("https://www.smithandjonesjoinery.co.uk"),
    );
    assert_eq!(
        c,
        [
            "smithandjonesjoinery",
            "smith-jones-joinery",
            "smith-and-jones-joinery",
            "smith-jones-joinery-ltd"
        ]
    );
    assert!(!is_vanity_name("smith&jones"));
    assert!(!is_vanity_name("-x"));
    assert!(access_token_from_lookup(|_| Some(" ".into())).is_none());
}
