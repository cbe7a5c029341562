//! The Facebook client against the fake: the website and postcode rules
//! with decoys, the app token, and throttling by code 4 and `X-App-Usage`.

use std::time::Duration;

use super::*;
use crate::cache::Cache;
use crate::gateway::{GatewayError, Provider};
use crate::sources::social::testing::{fast_gateway, query, smith_and_jones};
use leadgen_fakes::{
    DEMO_API_KEY, DEMO_FACEBOOK_APP_ID, DEMO_FACEBOOK_APP_SECRET, FakeConfig, FakeServer,
};

fn demo_app() -> AppCredentials {
    AppCredentials {
        app_id: DEMO_FACEBOOK_APP_ID.to_owned(),
        app_secret: DEMO_FACEBOOK_APP_SECRET.into(),
    }
}

fn client(server: &FakeServer, app: AppCredentials) -> Client {
    Client::new(
        fast_gateway(Provider::Facebook),
        Cache::in_memory(1000),
        &server.base_url(),
        app,
    )
}

async fn bundled() -> FakeServer {
    FakeServer::start(FakeConfig::bundled(DEMO_API_KEY))
        .await
        .expect("fake starts")
}

#[tokio::test]
async fn website_match_wins_and_a_neighbour_at_the_same_postcode_is_refused() {
    let server = bundled().await;
    let fb = client(&server, demo_app());
    let found = fb.lookup(&smith_and_jones()).await.expect("looked up");
    assert_eq!(found.accounts.len(), 1, "{found:?}");
    let page = &found.accounts[0];
    assert_eq!(page.id, "100071234561");
    assert_eq!(page.matched_on, MatchedOn::WebsiteDomain);
    assert_eq!(page.url, "https://www.facebook.com/100071234561");
    assert_eq!(page.verification.as_deref(), Some("not_verified"));
    let stats = server.stats();
    assert_eq!(stats.by_endpoint["facebook_pages_search"], 1);
    assert_eq!(stats.by_endpoint["facebook_page"], 2);
}

#[tokio::test]
async fn postcode_match_without_a_website() {
    let server = bundled().await;
    let fb = client(&server, demo_app());
    let q = query(
        "CANDOUR GROUP LIMITED",
        "08957400",
        None,
        Some("ct1 3dz"),
        vec![],
    );
    let found = fb.lookup(&q).await.expect("looked up");
    let ids: Vec<&str> = found.accounts.iter().map(|a| a.id.as_str()).collect();
    // "Candour Group Events" is in London.
    assert_eq!(ids, ["100008957400"]);
    assert_eq!(found.accounts[0].matched_on, MatchedOn::Postcode);
}

#[tokio::test]
async fn nothing_to_match_on_means_no_calls() {
    let server = bundled().await;
    let fb = client(&server, demo_app());
    let q = query("CANDOUR GROUP LIMITED", "08957400", None, None, vec![]);
    assert_eq!(fb.lookup(&q).await.expect("nothing"), Default::default());
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test]
async fn an_unknown_page_is_none() {
    let server = bundled().await;
    let fb = client(&server, demo_app());
    assert_eq!(fb.page("999").await.expect("answered"), None);
    assert_eq!(fb.page("../me").await.expect("never sent"), None);
    assert_eq!(server.stats().requests, 1);
}

#[tokio::test]
async fn a_refused_app_secret_stops_facebook_and_is_never_shown() {
    let server = bundled().await;
    let secret = "wrong-app-secret-do-not-print";
    let app = AppCredentials {
        app_id: DEMO_FACEBOOK_APP_ID.to_owned(),
        app_secret: secret.into(),
    };
    assert!(!format!("{app:?}").contains(secret));
    let fb = client(&server, app);
    let err = fb.lookup(&smith_and_jones()).await.expect_err("refused");
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(
            err,
            SourceError::Gateway(GatewayError::CredentialRefused { status: 400, .. })
        ),
        "{shown}"
    );
    assert!(shown.contains("FACEBOOK_APP_SECRET"), "{shown}");
    assert!(!shown.contains(secret), "{shown}");
}

#[tokio::test]
async fn an_app_without_page_access_is_switched_off_with_what_it_lacks() {
    let mut config = FakeConfig::bundled(DEMO_API_KEY);
    config.social.facebook_page_access = false;
    let server = FakeServer::start(config).await.expect("fake starts");
    let gateway = fast_gateway(Provider::Facebook);
    let fb = Client::new(
        gateway.clone(),
        Cache::in_memory(1000),
        &server.base_url(),
        demo_app(),
    );
    let err = fb.lookup(&smith_and_jones()).await.expect_err("no feature");
    assert!(
        matches!(err, SourceError::Gateway(GatewayError::NotPermitted { .. })),
        "{err}"
    );
    assert_eq!(err.kind().as_str(), "not_permitted");
    let shown = err.to_string();
    assert!(shown.contains("Page Public Metadata Access"), "{shown}");
    assert!(!shown.contains(DEMO_FACEBOOK_APP_SECRET), "{shown}");
    // Switched off: the next company costs nothing, and says the same.
    let sent = server.stats().requests;
    let again = fb.lookup(&smith_and_jones()).await.expect_err("still off");
    assert_eq!(again.kind().as_str(), "not_permitted");
    assert_eq!(server.stats().requests, sent);
    assert_eq!(sent, 1, "no retry of an answer no retry can change");
    let stats = &gateway.stats()[&Provider::Facebook];
    assert!(!stats.credential_refused);
    assert_eq!(stats.missing_access, Some(super::policy::REQUIRED_ACCESS));
}

/// Meta's access-token guide passes `access_token={app-id}|{app-secret}`;
/// the fake takes the token only there, so every test above checks the
/// form. A failure with that URL in hand must not show it.
#[tokio::test]
async fn the_token_in_the_url_never_reaches_a_message() {
    let fb = Client::new(
        fast_gateway(Provider::Facebook),
        Cache::in_memory(1000),
        // Nothing listens on port 1.
        "http://127.0.0.1:1",
        demo_app(),
    );
    let err = fb.page("100071234561").await.expect_err("unreachable");
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(err, SourceError::Gateway(GatewayError::Connect { .. })),
        "{shown}"
    );
    assert!(!shown.contains(DEMO_FACEBOOK_APP_SECRET), "{shown}");
    assert!(!shown.contains("access_token"), "{shown}");
}

#[tokio::test]
async fn code_4_from_a_shared_app_is_waited_out_and_retried() {
    let mut config = FakeConfig::bundled(DEMO_API_KEY);
    config.social.facebook_hourly_limit = 1;
    config.social.facebook_window = Duration::from_millis(700);
    let server = FakeServer::start(config).await.expect("fake starts");
    // Another process spends the app's window.
    client(&server, demo_app())
        .page("100071234561")
        .await
        .expect("answered");
    let fb = client(&server, demo_app());
    let page = fb
        .page("100004053514")
        .await
        .expect("recovers")
        .expect("exists");
    assert_eq!(
        page.location.and_then(|l| l.zip).as_deref(),
        Some("HX5 0HQ")
    );
    // One for the other process, a code 4, then the retry.
    assert_eq!(server.stats().by_endpoint["facebook_page"], 3);
}

/// Data minimisation: a page's e-mail addresses, phone, "about" text and
/// address line feed no rule, so they are not requested (issue 16).
#[test]
fn only_the_fields_a_rule_reads_are_requested() {
    for field in super::client::PAGE_FIELDS
        .split(',')
        .chain(super::client::SEARCH_FIELDS.split(','))
    {
        assert!(
            !["emails", "phone", "about", "single_line_address"].contains(&field),
            "{field}"
        );
    }
    for field in crate::sources::x::client::ACCOUNT_USER_FIELDS.split(',') {
        assert!(!["public_metrics", "location"].contains(&field), "{field}");
    }
}

#[test]
fn credentials_need_both_parts() {
    let err =
        AppCredentials::from_lookup(|name| (name == "FACEBOOK_APP_ID").then(|| "123".to_owned()))
            .expect_err("half");
    assert!(err.to_string().contains("FACEBOOK_APP_SECRET"), "{err}");
    assert!(matches!(AppCredentials::from_lookup(|_| None), Ok(None)));
}
