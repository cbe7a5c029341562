//! `Gateway::send` against scripted servers ([`mock`]): what a provider
//! would see of our retries, pauses and breaker.
//!
//! Every test runs on tokio's paused clock (see [`super::clock`]): waits
//! are exact and take no real time, so the bounds below are the behaviour
//! itself (never too many requests, never too early after a reset), not
//! allowances for a busy machine.

mod mock;

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use tokio::time::Instant;

use mock::{Mock, MockServer, Network, Request, ResponseTemplate, method, path};

use super::breaker::BreakerSettings;
use super::retry::{Backoff, BudgetSettings};
use super::*;

const CH: Provider = Provider::CompaniesHouse;

fn fast_settings() -> ProviderSettings {
    ProviderSettings {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        quota: Quota::parse("100/1s").expect("valid"),
        endpoint_quotas: BTreeMap::new(),
        max_attempts: 4,
        backoff: Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(50),
        },
        rate_limited_wait: Duration::from_millis(200),
        max_quota_wait: None,
        retry_budget: BudgetSettings::default(),
        breaker: BreakerSettings {
            threshold: 3,
            cooldown: Duration::from_millis(400),
        },
    }
}

/// Wall time in the tests: a fixed date that moves with tokio's paused clock.
fn test_clock() -> Clock {
    static AT: LazyLock<std::time::Instant> = LazyLock::new(clock::now);
    Clock::following(UNIX_EPOCH + Duration::from_secs(1_800_000_000), *AT)
}

fn wall_now() -> SystemTime {
    test_clock().wall()
}

fn gateway(settings: ProviderSettings) -> Gateway {
    social_gateway(CH, settings)
}

async fn get(gw: &Gateway, server: &MockServer, route: &str) -> Result<HttpResponse, GatewayError> {
    let url = format!("{}{route}", server.uri());
    gw.send(CH, "test", move |client| {
        client.get(&url).basic_auth("not-a-real-key", Some(""))
    })
    .await
}

async fn request_count(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .map(|r| r.len())
        .unwrap_or_default()
}

/// Records when each request reached the server.
fn stamping(
    stamps: &Arc<Mutex<Vec<(Instant, SystemTime)>>>,
    answer: ResponseTemplate,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    let stamps = Arc::clone(stamps);
    move |_: &Request| {
        lock(&stamps).push((Instant::now(), wall_now()));
        answer.clone()
    }
}

fn stats(gw: &Gateway) -> ProviderStats {
    gw.stats().remove(&CH).expect("stats for every provider")
}

#[tokio::test(start_paused = true)]
async fn retries_503_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .with_priority(2)
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());

    let response = get(&gw, &server, "/company/00000006")
        .await
        .expect("recovers");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(request_count(&server).await, 3);
    let s = stats(&gw);
    assert_eq!(
        (s.attempts, s.retries, s.successes, s.failures),
        (3, 2, 1, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_cut_off_json_body_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(&b"{\"items\":[{\"na"[..], "application/json"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(&b"{\"items\":[]}"[..], "application/json"),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());
    let response = get(&gw, &server, "/company/00000006/officers")
        .await
        .expect("recovers");
    assert_eq!(&response.body[..], b"{\"items\":[]}");
    assert_eq!(request_count(&server).await, 2);
    // A body that never claimed to be JSON is the source's business.
    let plain = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(&b"{\"cut"[..], "text/plain"))
        .mount(&plain)
        .await;
    assert!(get(&gw, &plain, "/x").await.is_ok());
    assert_eq!(request_count(&plain).await, 1);
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_attempts_with_the_last_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let mut settings = fast_settings();
    settings.breaker.threshold = 10;
    let gw = gateway(settings);

    let err = get(&gw, &server, "/x").await.expect_err("stays failed");
    assert!(
        matches!(err, GatewayError::Status { status: 502, .. }),
        "{err}"
    );
    assert_eq!(request_count(&server).await, 4);
}

#[tokio::test(start_paused = true)]
async fn the_breaker_cuts_a_call_s_retries_short() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    // Threshold 3 < 4 attempts: the breaker opens on the third failure.
    let gw = gateway(fast_settings());
    let err = get(&gw, &server, "/x").await.expect_err("stays failed");
    assert!(
        matches!(err, GatewayError::Status { status: 502, .. }),
        "{err}"
    );
    assert_eq!(request_count(&server).await, 3);
    let err = get(&gw, &server, "/x").await.expect_err("open");
    assert!(matches!(err, GatewayError::Unavailable { .. }), "{err}");
    assert_eq!(request_count(&server).await, 3);
}

#[tokio::test(start_paused = true)]
async fn never_retries_404_or_400() {
    let server = MockServer::start().await;
    Mock::given(path("/missing"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/bad"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());

    let missing = get(&gw, &server, "/missing")
        .await
        .expect("404 is an answer");
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bad = get(&gw, &server, "/bad").await.expect("400 is an answer");
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(request_count(&server).await, 2);
    assert_eq!(stats(&gw).retries, 0);
}

#[tokio::test(start_paused = true)]
async fn answers_that_prove_the_server_is_up_never_open_the_breaker() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());
    for _ in 0..10 {
        get(&gw, &server, "/missing")
            .await
            .expect("404 is an answer");
    }
    assert_eq!(stats(&gw).breaker_openings, 0);
}

#[tokio::test(start_paused = true)]
async fn refused_credential_disables_the_provider() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(r#"{"error":"Invalid Authorization","type":"ch:service"}"#),
        )
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());

    let first = get(&gw, &server, "/company/1").await.expect_err("refused");
    assert!(
        matches!(
            first,
            GatewayError::CredentialRefused {
                status: 401,
                var: "COMPANIES_HOUSE_API_KEY",
                ..
            }
        ),
        "{first}"
    );
    let started = Instant::now();
    let second = get(&gw, &server, "/company/2")
        .await
        .expect_err("still refused");
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(matches!(second, GatewayError::CredentialRefused { .. }));
    assert_eq!(
        request_count(&server).await,
        1,
        "the second call sent nothing"
    );

    let message = second.to_string();
    assert!(message.contains("COMPANIES_HOUSE_API_KEY"), "{message}");
    assert!(!message.contains("not-a-real-key"), "{message}");
    assert!(stats(&gw).credential_refused);
}

#[tokio::test(start_paused = true)]
async fn spent_window_pauses_every_task_until_the_reset() {
    let server = MockServer::start().await;
    let now_s = wall_now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let reset_s = now_s + 2;
    let reset = UNIX_EPOCH + Duration::from_secs(reset_s);
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(stamping(
            &stamps,
            ResponseTemplate::new(429)
                .insert_header("X-Ratelimit-Remain", "0")
                .insert_header("X-Ratelimit-Reset", reset_s.to_string().as_str()),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(stamping(
            &stamps,
            ResponseTemplate::new(200).insert_header("X-Ratelimit-Remain", "599"),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());

    let first = tokio::spawn({
        let (gw, url) = (gw.clone(), server.uri());
        async move { gw.send(CH, "test", move |c| c.get(&url)).await }
    });
    // Let the first call meet the 429, then start another task.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = get(&gw, &server, "/other").await.expect("after the reset");
    let first = first.await.expect("task ran").expect("after the reset");
    assert_eq!(
        (first.status, second.status),
        (StatusCode::OK, StatusCode::OK)
    );

    let stamps = lock(&stamps).clone();
    assert_eq!(stamps.len(), 3, "one 429, then one request per task");
    for (_, at) in &stamps[1..] {
        assert!(*at >= reset, "a request went out before the reset");
    }
    let s = stats(&gw);
    assert_eq!(s.rate_limited, 1);
    assert!(s.quota_wait_ms >= 1_000, "{s:?}");
}

#[tokio::test(start_paused = true)]
async fn bare_429_waits_the_minimum_then_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());

    let started = Instant::now();
    get(&gw, &server, "/x").await.expect("recovers");
    assert!(started.elapsed() >= Duration::from_millis(190));
    assert_eq!(request_count(&server).await, 2);
    assert_eq!(stats(&gw).rate_limited, 1);
}

#[tokio::test(start_paused = true)]
async fn absurd_reset_is_capped() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-Ratelimit-Remain", "0")
                // Year 2286: a skewed or broken server clock.
                .insert_header("X-Ratelimit-Reset", "9999999999"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let mut settings = fast_settings();
    // Cap = window + 5 s margin; keep the window tiny so the test is quick.
    settings.quota = Quota::parse("1000/100ms").expect("valid");
    let gw = gateway(settings);

    let started = Instant::now();
    let call = tokio::time::timeout(Duration::from_secs(15), get(&gw, &server, "/x")).await;
    let response = call.expect("the pause was capped").expect("recovers");
    assert_eq!(response.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("late but fine"))
        .with_priority(2)
        .mount(&server)
        .await;
    let mut settings = fast_settings();
    settings.timeout = Duration::from_millis(300);
    let gw = gateway(settings);

    let started = Instant::now();
    let response = get(&gw, &server, "/slow")
        .await
        .expect("second attempt answers");
    assert_eq!(response.body, "late but fine");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not wait for the slow answer"
    );
    assert_eq!(stats(&gw).retries, 1);
}

#[tokio::test(start_paused = true)]
async fn connection_errors_are_retried_then_reported() {
    // A host no mock server answers for.
    let url = "http://nobody.test/x".to_owned();
    let mut settings = fast_settings();
    settings.breaker.threshold = 10;
    let gw = gateway(settings);

    let err = gw
        .send(CH, "test", move |c| c.get(&url))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, GatewayError::Connect { .. }), "{err}");
    assert_eq!(stats(&gw).attempts, 4);
}

#[tokio::test(start_paused = true)]
async fn retry_budget_caps_retries_across_calls() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let mut settings = fast_settings();
    settings.retry_budget = BudgetSettings {
        capacity: 10,
        retry_cost: 5,
        timeout_retry_cost: 10,
        success_deposit: 1,
    };
    settings.breaker.threshold = 100;
    let gw = gateway(settings);

    for _ in 0..3 {
        get(&gw, &server, "/x").await.expect_err("all 503");
    }
    // Two retries paid for in total, then one attempt per call.
    assert_eq!(request_count(&server).await, 3 + 2);
    assert_eq!(stats(&gw).retries, 2);
}

#[tokio::test(start_paused = true)]
async fn all_503_server_sees_threshold_requests_then_one_probe_per_cooldown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let mut settings = fast_settings();
    settings.max_attempts = 2;
    let threshold = settings.breaker.threshold as usize;
    let cooldown = settings.breaker.cooldown;
    let gw = gateway(settings);

    let started = Instant::now();
    let mut unavailable = 0;
    while started.elapsed() < Duration::from_millis(1_500) {
        let call_started = Instant::now();
        match get(&gw, &server, "/x").await {
            Err(GatewayError::Unavailable { .. }) => {
                unavailable += 1;
                assert!(
                    call_started.elapsed() < Duration::from_millis(100),
                    "fails fast"
                );
            }
            Err(_) => {}
            Ok(r) => panic!("503 server answered {}", r.status),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    let probes_allowed = (elapsed.as_millis() / cooldown.as_millis()) as usize + 1;
    let requests = request_count(&server).await;
    // Retries count toward the threshold: no more than `threshold`
    // requests before it opens, then one probe per cooldown.
    assert!(
        requests <= threshold + probes_allowed,
        "{requests} requests in {elapsed:?}"
    );
    assert!(requests > threshold, "at least one probe went out");
    assert!(unavailable > 10);
    assert_eq!(stats(&gw).breaker_openings, 1);

    let err = get(&gw, &server, "/x").await.expect_err("still open");
    assert!(
        err.to_string().starts_with("Companies House unavailable: "),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn successful_probe_closes_the_breaker() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let mut settings = fast_settings();
    settings.max_attempts = 1;
    let cooldown = settings.breaker.cooldown;
    let gw = gateway(settings);
    for _ in 0..3 {
        get(&gw, &server, "/x").await.expect_err("500");
    }
    assert!(matches!(
        get(&gw, &server, "/x").await,
        Err(GatewayError::Unavailable { .. })
    ));

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    get(&gw, &server, "/x").await.expect("probe succeeds");
    get(&gw, &server, "/x").await.expect("closed again");
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test(start_paused = true)]
async fn queued_tasks_fail_fast_when_the_breaker_opens() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let mut settings = fast_settings();
    // One request per 500 ms: ten tasks would queue for ~5 s.
    settings.quota = Quota::parse("2/1s").expect("valid");
    settings.max_attempts = 1;
    settings.breaker.threshold = 1;
    settings.breaker.cooldown = Duration::from_secs(60);
    let gw = gateway(settings);

    let started = Instant::now();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let (gw, url) = (gw.clone(), server.uri());
            tokio::spawn(async move { gw.send(CH, "test", move |c| c.get(&url)).await })
        })
        .collect();
    let mut unavailable = 0;
    for call in calls {
        if let Err(GatewayError::Unavailable { .. }) = call.await.expect("task ran") {
            unavailable += 1;
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(unavailable >= 8, "{unavailable}");
    assert!(request_count(&server).await <= 2);
}

#[tokio::test(start_paused = true)]
async fn concurrent_sends_share_the_quota() {
    let server = MockServer::start().await;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(stamping(&stamps, ResponseTemplate::new(200)))
        .mount(&server)
        .await;
    let mut settings = fast_settings();
    settings.quota = Quota::parse("10/1s").expect("valid");
    let gw = gateway(settings);

    let started = Instant::now();
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let (gw, url) = (gw.clone(), format!("{}/company/{i}", server.uri()));
            tokio::spawn(async move { gw.send(CH, "test", move |c| c.get(&url)).await })
        })
        .collect();
    for call in calls {
        call.await.expect("task ran").expect("200");
    }
    let elapsed = started.elapsed();
    // 49 gaps of 101 ms: about 4.95 s.
    assert!(elapsed >= Duration::from_millis(4_500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");

    let mut times: Vec<Instant> = lock(&stamps).iter().map(|(i, _)| *i).collect();
    times.sort();
    assert_eq!(times.len(), 50);
    for (i, start) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 10,
            "{in_window} requests within 1 s of request {i}"
        );
    }
    let s = stats(&gw);
    assert_eq!((s.attempts, s.successes), (50, 50));
}

#[tokio::test(start_paused = true)]
async fn build_is_called_per_attempt_and_stats_serialize() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());
    let builds = Arc::new(Mutex::new(0));
    let url = server.uri();
    gw.send(CH, "test", {
        let builds = Arc::clone(&builds);
        move |c| {
            *lock(&builds) += 1;
            c.get(&url)
        }
    })
    .await
    .expect("recovers");
    assert_eq!(*lock(&builds), 2);

    let json = serde_json::to_value(gw.stats()).expect("serializes");
    assert_eq!(json["companies_house"]["attempts"], 2);
    assert_eq!(json["companies_house"]["retries"], 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_on_503_is_honoured() {
    let server = MockServer::start().await;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(stamping(
            &stamps,
            ResponseTemplate::new(503).insert_header("Retry-After", "1"),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(stamping(&stamps, ResponseTemplate::new(200)))
        .with_priority(2)
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());

    get(&gw, &server, "/x").await.expect("recovers");
    let stamps = lock(&stamps).clone();
    assert_eq!(stamps.len(), 2);
    let gap = stamps[1].0.duration_since(stamps[0].0);
    assert!(gap >= Duration::from_millis(950), "{gap:?}");
}

#[tokio::test(start_paused = true)]
async fn last_request_of_a_window_pauses_the_next_call() {
    let server = MockServer::start().await;
    let now_s = wall_now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let reset_s = now_s + 1;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(stamping(
            &stamps,
            ResponseTemplate::new(200)
                .insert_header("X-Ratelimit-Remain", "0")
                .insert_header("X-Ratelimit-Reset", reset_s.to_string().as_str()),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(stamping(&stamps, ResponseTemplate::new(200)))
        .with_priority(2)
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());

    let first = get(&gw, &server, "/a").await.expect("answered");
    assert_eq!(
        first.status,
        StatusCode::OK,
        "the answer itself is delivered"
    );
    get(&gw, &server, "/b").await.expect("after the reset");
    let stamps = lock(&stamps).clone();
    assert!(stamps[1].1 >= UNIX_EPOCH + Duration::from_secs(reset_s));
    assert_eq!(stats(&gw).rate_limited, 0);
}

fn social_gateway(provider: Provider, settings: ProviderSettings) -> Gateway {
    Gateway::with_transport(
        &crate::sources::POLICIES,
        HashMap::from([(provider, settings)]),
        Arc::new(Network),
        test_clock(),
    )
    .expect("gateway builds")
}

#[tokio::test(start_paused = true)]
async fn x_429_waits_for_x_rate_limit_reset_per_endpoint() {
    let server = MockServer::start().await;
    let now_s = wall_now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let reset_s = now_s + 1;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(path("/2/users/by"))
        .respond_with(stamping(
            &stamps,
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-limit", "300")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", reset_s.to_string().as_str())
                .set_body_raw(
                    &br#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#[..],
                    "application/problem+json",
                ),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/users/by"))
        .respond_with(stamping(
            &stamps,
            ResponseTemplate::new(200).set_body_raw(&br#"{"data":[]}"#[..], "application/json"),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/2/tweets/search/recent"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(&br#"{"meta":{"result_count":0}}"#[..], "application/json"),
        )
        .mount(&server)
        .await;
    let gw = social_gateway(Provider::X, fast_settings());
    let url = format!("{}/2/users/by", server.uri());
    let users = {
        let gw = gw.clone();
        tokio::spawn(async move {
            gw.send(Provider::X, "users/by", move |c| {
                c.get(&url).bearer_auth("not-a-real-token")
            })
            .await
        })
    };
    // X counts per endpoint: search is not held back by the spent users window.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let search_url = format!("{}/2/tweets/search/recent", server.uri());
    gw.send(Provider::X, "tweets/search/recent", move |c| {
        c.get(&search_url).bearer_auth("not-a-real-token")
    })
    .await
    .expect("search answered");
    assert!(started.elapsed() < Duration::from_millis(500));

    let response = users.await.expect("task ran").expect("after the reset");
    assert_eq!(response.status, StatusCode::OK);
    let stamps = lock(&stamps).clone();
    assert_eq!(stamps.len(), 2);
    assert!(stamps[1].1 >= UNIX_EPOCH + Duration::from_secs(reset_s));
    let s = gw.stats().remove(&Provider::X).expect("x stats");
    assert_eq!(s.rate_limited, 1);
}

#[tokio::test(start_paused = true)]
async fn x_usage_cap_goes_back_to_the_source_unretried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).set_body_raw(
            &br#"{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.x.com/2/problems/usage-capped","period":"Monthly","scope":"Product"}"#[..],
            "application/problem+json",
        ))
        .mount(&server)
        .await;
    let gw = social_gateway(Provider::X, fast_settings());
    let url = format!("{}/2/users/by", server.uri());
    let response = gw
        .send(Provider::X, "users/by", move |c| c.get(&url))
        .await
        .expect("the cap is an answer for the source");
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test(start_paused = true)]
async fn facebook_code_4_in_a_400_body_pauses_and_retries() {
    let server = MockServer::start().await;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(stamping(
            &stamps,
            ResponseTemplate::new(400).set_body_raw(
                &br#"{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"AbCdEf"}}"#[..],
                "application/json",
            ),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(stamping(
            &stamps,
            ResponseTemplate::new(200)
                .insert_header(
                    "X-App-Usage",
                    r#"{"call_count":12,"total_time":3,"total_cputime":2}"#,
                )
                .set_body_raw(&br#"{"data":[]}"#[..], "application/json"),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    let gw = social_gateway(Provider::Facebook, fast_settings());
    let url = format!("{}/v25.0/pages/search", server.uri());
    let response = gw
        .send(Provider::Facebook, "pages/search", move |c| c.get(&url))
        .await
        .expect("recovers after the pause");
    assert_eq!(response.status, StatusCode::OK);
    let stamps = lock(&stamps).clone();
    assert_eq!(stamps.len(), 2);
    let gap = stamps[1].0.duration_since(stamps[0].0);
    assert!(gap >= Duration::from_millis(190), "{gap:?}");
    let s = gw.stats().remove(&Provider::Facebook).expect("stats");
    assert_eq!(
        (s.rate_limited, s.failures, s.credential_refused),
        (1, 0, false)
    );
}

#[tokio::test(start_paused = true)]
async fn facebook_usage_near_100_holds_the_next_call() {
    let server = MockServer::start().await;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(stamping(
            &stamps,
            ResponseTemplate::new(200)
                .insert_header(
                    "X-Business-Use-Case-Usage",
                    r#"{"1":[{"type":"pages","call_count":99,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":1}]}"#,
                )
                .set_body_raw(&br#"{"id":"1"}"#[..], "application/json"),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(stamping(&stamps, ResponseTemplate::new(200)))
        .with_priority(2)
        .mount(&server)
        .await;
    let mut settings = fast_settings();
    // The pause is capped at window + 5 s; a 1 ms window caps a minute at ~5 s.
    settings.quota = Quota::parse("1000/1ms").expect("valid");
    let gw = social_gateway(Provider::Facebook, settings);
    let url = format!("{}/v25.0/1", server.uri());
    let first = gw
        .send(Provider::Facebook, "page", {
            let url = url.clone();
            move |c| c.get(&url)
        })
        .await
        .expect("answered");
    assert_eq!(
        first.status,
        StatusCode::OK,
        "the answer itself is delivered"
    );
    let started = Instant::now();
    gw.send(Provider::Facebook, "page", move |c| c.get(&url))
        .await
        .expect("after the pause");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_403_fails_its_call_and_five_in_a_row_switch_the_provider_off() {
    let server = MockServer::start().await;
    // Two 403s, one answer, then 403s for good: the answer resets the count.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403))
        .with_priority(3)
        .mount(&server)
        .await;
    let gw = gateway(fast_settings());
    for _ in 0..2 {
        let e = get(&gw, &server, "/company/1").await.expect_err("403");
        assert!(
            matches!(
                e,
                GatewayError::CredentialRefused {
                    status: 403,
                    disabled: false,
                    ..
                }
            ),
            "{e}"
        );
    }
    get(&gw, &server, "/company/1")
        .await
        .expect("404 is an answer");
    for n in 1..=FORBIDDEN_LIMIT {
        let e = get(&gw, &server, "/company/1").await.expect_err("403");
        let disabled = matches!(e, GatewayError::CredentialRefused { disabled: true, .. });
        assert_eq!(disabled, n == FORBIDDEN_LIMIT, "403 number {n}: {e}");
    }
    assert_eq!(
        request_count(&server).await,
        3 + FORBIDDEN_LIMIT as usize,
        "no retries"
    );
    get(&gw, &server, "/company/1").await.expect_err("off");
    assert_eq!(
        request_count(&server).await,
        3 + FORBIDDEN_LIMIT as usize,
        "switched off"
    );
    let s = stats(&gw);
    assert_eq!(
        (s.auth_failures, s.credential_refused),
        (2 + u64::from(FORBIDDEN_LIMIT), true)
    );
    assert_eq!(s.latency.samples, 3 + u64::from(FORBIDDEN_LIMIT));
    assert!(s.latency.p50_ms <= s.latency.p95_ms && s.latency.p95_ms <= s.latency.p99_ms);
}

#[tokio::test(start_paused = true)]
async fn facebook_expired_token_disables_the_provider() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            &br#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"AbCdEf"}}"#[..],
            "application/json",
        ))
        .mount(&server)
        .await;
    let gw = social_gateway(Provider::Facebook, fast_settings());
    let url = format!("{}/v25.0/pages/search", server.uri());
    let err = gw
        .send(Provider::Facebook, "pages/search", move |c| c.get(&url))
        .await
        .expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("FACEBOOK_APP_ID/FACEBOOK_APP_SECRET"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn linkedin_429_body_waits_the_minimum_then_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).set_body_raw(
            &br#"{"serviceErrorCode":101,"message":"Resource level throttle limit for calls to this resource is reached.","status":429}"#[..],
            "application/json",
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            &br#"{"elements":[],"paging":{"count":10,"start":0,"links":[]}}"#[..],
            "application/json",
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    let gw = social_gateway(Provider::LinkedIn, fast_settings());
    let url = format!("{}/rest/organizations", server.uri());
    let started = Instant::now();
    let response = gw
        .send(Provider::LinkedIn, "organizations", move |c| c.get(&url))
        .await
        .expect("recovers");
    assert_eq!(response.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(190));
    assert_eq!(request_count(&server).await, 2);
    let s = gw.stats().remove(&Provider::LinkedIn).expect("stats");
    assert_eq!(s.rate_limited, 1);
}

#[test]
fn every_provider_has_distinct_names_and_stats() {
    let gw = crate::sources::gateway(HashMap::new()).expect("defaults are valid");
    let json = serde_json::to_value(gw.stats()).expect("serializes");
    for key in ["companies_house", "x", "linkedin", "facebook"] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    let labels: Vec<&str> = Provider::ALL.iter().map(|p| p.label()).collect();
    assert_eq!(labels, ["Companies House", "X", "LinkedIn", "Facebook"]);
    for p in Provider::ALL {
        assert_eq!(serde_json::to_value(p).expect("serializes"), p.key());
    }
}
