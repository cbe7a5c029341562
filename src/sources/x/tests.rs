//! The X client against the fake X: the account and officer rules on the
//! bundled social dataset, auth, the token exchange, 429s and partial errors.

use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::*;
use crate::cache::Cache;
use crate::gateway::{GatewayError, Provider};
use crate::sources::social::testing::{fast_gateway, officer, query, smith_and_jones};
use leadgen_fakes::{
    DEMO_API_KEY, DEMO_X_API_KEY, DEMO_X_API_SECRET, DEMO_X_BEARER_TOKEN, FakeConfig, FakeServer,
    Quota,
};

async fn fake(config: FakeConfig) -> FakeServer {
    FakeServer::start(config).await.expect("fake starts")
}

fn client(server: &FakeServer, credentials: Credentials) -> Client {
    Client::new(
        fast_gateway(Provider::X),
        Cache::in_memory(1000),
        &server.base_url(),
        credentials,
    )
}

fn bearer(token: &str) -> Credentials {
    Credentials::Bearer(SecretString::from(token))
}

#[tokio::test]
async fn official_account_by_website_and_an_officer_it_mentions() {
    let server = fake(FakeConfig::bundled(DEMO_API_KEY)).await;
    let x = client(&server, bearer(DEMO_X_BEARER_TOKEN));
    let found = x.lookup(&smith_and_jones()).await.expect("looked up");

    // @smithjonesuk (similar handle, another website) is asked for but refused.
    assert_eq!(found.accounts.len(), 1, "{found:?}");
    let account = &found.accounts[0];
    assert_eq!(account.handle_or_vanity, "SmithJones");
    assert_eq!(account.matched_on, MatchedOn::WebsiteDomain);
    assert_eq!(account.url, "https://x.com/SmithJones");
    assert_eq!(account.verification.as_deref(), Some("business"));

    // @JohnSmithJoiner: name and bio match. @CarysJones_: bio does not name
    // the company. @JohnSmith_Roofs: a namesake whose bio names another company.
    assert_eq!(found.profiles.len(), 1, "{found:?}");
    let john = &found.profiles[0];
    assert_eq!(john.username, "JohnSmithJoiner");
    assert_eq!(john.officer_index, 0);
    assert_eq!(john.officer_name, "John David SMITH");
    assert!(john.evidence.contains("@SmithJones"), "{}", john.evidence);

    let stats = server.stats();
    assert_eq!(stats.by_endpoint["x_users_by"], 1);
    assert_eq!(stats.by_endpoint["x_search_recent"], 1);
    assert!(!stats.by_endpoint.contains_key("x_oauth2_token"));
}

#[tokio::test]
async fn bio_rule_without_a_website_and_single_word_names() {
    let server = fake(FakeConfig::bundled(DEMO_API_KEY)).await;
    let x = client(&server, bearer(DEMO_X_BEARER_TOKEN));

    // "you do you." does not name YOU LIMITED; "You Ltd, Beverley" does.
    let you = query(
        "YOU LIMITED",
        "04475590",
        None,
        None,
        vec![officer("Elizabeth Mary", "STEVENSON")],
    );
    let found = x.lookup(&you).await.expect("looked up");
    let handles: Vec<&str> = found
        .accounts
        .iter()
        .map(|a| a.handle_or_vanity.as_str())
        .collect();
    assert_eq!(handles, ["YouLtd"]);
    assert_eq!(found.accounts[0].matched_on, MatchedOn::BioNamesCompany);
    // "Liz Stevenson" is not "Elizabeth ... Stevenson": nicknames are not guessed.
    let profiles: Vec<&str> = found.profiles.iter().map(|p| p.username.as_str()).collect();
    assert_eq!(profiles, ["EStevensonYou"]);

    let searches = server.stats().by_endpoint["x_search_recent"];
    // @CandourGroupUK links elsewhere and its bio names another business.
    let candour = query("CANDOUR GROUP LIMITED", "08957400", None, None, vec![]);
    let found = x.lookup(&candour).await.expect("looked up");
    let handles: Vec<&str> = found
        .accounts
        .iter()
        .map(|a| a.handle_or_vanity.as_str())
        .collect();
    assert_eq!(handles, ["CandourGroup"]);
    assert!(found.profiles.is_empty());
    // No officers asked about: no search spent.
    assert_eq!(server.stats().by_endpoint["x_search_recent"], searches);
}

#[tokio::test]
async fn a_company_without_presence_finds_nothing() {
    let server = fake(FakeConfig::bundled(DEMO_API_KEY)).await;
    let x = client(&server, bearer(DEMO_X_BEARER_TOKEN));
    let q = query(
        "HARGREAVES PRECISION ENGINEERING LIMITED",
        "05678123",
        Some("hargreavesprecision.co.uk"),
        None,
        vec![officer("Thomas", "HARGREAVES")],
    );
    let found = x.lookup(&q).await.expect("looked up");
    assert_eq!(found, Default::default());
}

#[tokio::test]
async fn partial_errors_list_the_missing_usernames() {
    let server = fake(FakeConfig::bundled(DEMO_API_KEY)).await;
    let x = client(&server, bearer(DEMO_X_BEARER_TOKEN));
    let names = vec![
        "SmithJones".to_owned(),
        "nobody_here".to_owned(),
        "not a handle!".to_owned(),
    ];
    let found = x.users_by_usernames(&names).await.expect("200 with errors");
    assert_eq!(found.users.len(), 1);
    assert_eq!(found.users[0].username, "SmithJones");
    // The invalid handle is never sent (it would fail the whole call).
    assert_eq!(found.not_found, ["nobody_here"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_and_secret_are_exchanged_once_for_concurrent_first_calls() {
    let server = fake(FakeConfig::bundled(DEMO_API_KEY)).await;
    let x = client(
        &server,
        Credentials::AppKey {
            key: DEMO_X_API_KEY.into(),
            secret: DEMO_X_API_SECRET.into(),
        },
    );
    let queries = [
        smith_and_jones(),
        query("YOU LIMITED", "04475590", None, None, vec![]),
        query("CANDOUR GROUP LIMITED", "08957400", None, None, vec![]),
    ];
    let results = futures::future::join_all(queries.iter().map(|q| x.lookup(q))).await;
    for r in results {
        assert_eq!(r.expect("looked up").accounts.len(), 1);
    }
    assert_eq!(server.stats().by_endpoint["x_oauth2_token"], 1);
}

#[tokio::test]
async fn a_refused_bearer_token_stops_x_and_is_never_shown() {
    let server = fake(FakeConfig::bundled(DEMO_API_KEY)).await;
    let secret = "wrong-token-do-not-print";
    let x = client(&server, bearer(secret));
    let err = x.lookup(&smith_and_jones()).await.expect_err("refused");
    assert!(
        matches!(
            err,
            SourceError::Gateway(GatewayError::CredentialRefused { status: 401, .. })
        ),
        "{err}"
    );
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("X_BEARER_TOKEN"), "{shown}");
    assert!(!shown.contains(secret), "{shown}");
    assert_eq!(err.kind().as_str(), "credential_refused");
    // The next company costs no request.
    let before = server.stats().requests;
    assert!(x.lookup(&smith_and_jones()).await.is_err());
    assert_eq!(server.stats().requests, before);
    assert_eq!(server.stats().served_401, 1);
}

#[tokio::test]
async fn a_refused_key_and_secret_are_never_shown() {
    let server = fake(FakeConfig::bundled(DEMO_API_KEY)).await;
    let secret = "wrong-secret-do-not-print";
    let credentials = Credentials::AppKey {
        key: "wrong-key-do-not-print".into(),
        secret: secret.into(),
    };
    assert!(!format!("{credentials:?}").contains(secret));
    let x = client(&server, credentials);
    let err = x.lookup(&smith_and_jones()).await.expect_err("refused");
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(
            err,
            SourceError::Gateway(GatewayError::CredentialRefused { status: 403, .. })
        ),
        "{shown}"
    );
    assert!(
        !shown.contains(secret) && !shown.contains("wrong-key"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_429_waits_for_x_rate_limit_reset_then_recovers() {
    let mut config = FakeConfig::bundled(DEMO_API_KEY);
    config.social.x_users_by_quota = Quota::parse("1/2s").expect("valid");
    let server = fake(config).await;
    let x = client(&server, bearer(DEMO_X_BEARER_TOKEN));
    let first = query("YOU LIMITED", "04475590", None, None, vec![]);
    x.lookup(&first).await.expect("first window");
    // The answer said "remaining 0", so this client would wait on its own;
    // another process sharing the app does not know and meets the 429.
    let x = client(&server, bearer(DEMO_X_BEARER_TOKEN));
    let started = Instant::now();
    let second = query("CANDOUR GROUP LIMITED", "08957400", None, None, vec![]);
    let found = x.lookup(&second).await.expect("after the reset");
    assert_eq!(found.accounts.len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(500));
    let stats = server.stats();
    assert!(stats.served_429 >= 1, "{stats:?}");
    assert_eq!(stats.by_endpoint["x_users_by"], 2 + stats.served_429);
}

#[test]
fn candidates_come_from_the_domain_then_the_name() {
    let c = handle_candidates(
        "SMITH & JONES JOINERY LIMITED",
        Some("https://www.smithandjonesjoinery.co.uk"),
    );
    // Every long form is over 15 characters; the short ones remain.
    assert_eq!(c, ["smithjones", "smithjonesuk", "smithjonesltd"]);
    let c = handle_candidates("ACME WIDGETS LTD", Some("acme-widgets.co.uk"));
    assert_eq!(c[..2], ["acmewidgets", "acme_widgets"]);
    assert!(c.iter().all(|h| is_handle(h)));
    assert!(handle_candidates("", None).is_empty());
}

#[test]
fn credentials_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    assert!(matches!(
        Credentials::from_lookup(env(&[("X_BEARER_TOKEN", "t"), ("X_API_KEY", "k")])),
        Ok(Some(Credentials::Bearer(_)))
    ));
    assert!(matches!(
        Credentials::from_lookup(env(&[("X_API_KEY", "k"), ("X_API_SECRET", "s")])),
        Ok(Some(Credentials::AppKey { .. }))
    ));
    assert!(matches!(
        Credentials::from_lookup(env(&[("X_BEARER_TOKEN", "  ")])),
        Ok(None)
    ));
    let err = Credentials::from_lookup(env(&[("X_API_KEY", "k")])).expect_err("half");
    assert!(err.to_string().contains("X_API_SECRET"), "{err}");
}
