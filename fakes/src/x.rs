//! The fake X API v2: `POST /oauth2/token`, `GET /2/users/by` and
//! `GET /2/tweets/search/recent`, with app-only Bearer auth, per-endpoint
//! windows reported in `x-rate-limit-*` headers, problem+json errors and
//! partial errors (HTTP 200 with `data` and `errors`).

use base64::Engine as _;
use bytes::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::server::{Draws, Query, Reply, Shared, Taken, json_response, problem_response};

pub(crate) enum Route {
    Token,
    UsersBy,
    SearchRecent,
    Other,
}

impl Route {
    pub(crate) fn parse(path: &str) -> Route {
        match path.trim_end_matches('/') {
            "/oauth2/token" => Route::Token,
            "/2/users/by" => Route::UsersBy,
            "/2/tweets/search/recent" => Route::SearchRecent,
            _ => Route::Other,
        }
    }

    pub(crate) fn endpoint(&self) -> &'static str {
        match self {
            Route::Token => "x_oauth2_token",
            Route::UsersBy => "x_users_by",
            Route::SearchRecent => "x_search_recent",
            Route::Other => "x_other",
        }
    }
}

/// The fields every user object carries whatever `user.fields` says.
const DEFAULT_USER_FIELDS: [&str; 3] = ["id", "name", "username"];

pub(crate) fn answer(
    shared: &Shared,
    parts: &Parts,
    body: &Bytes,
    route: &Route,
    draws: &Draws,
) -> Reply {
    let config = &shared.config.social;
    if let Route::Token = route {
        return token(shared, parts, body);
    }
    if bearer(parts).as_deref() != Some(config.x_bearer_token.as_str()) {
        return problem_response(
            StatusCode::UNAUTHORIZED,
            &json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}),
        );
    }
    let quota = match route {
        Route::UsersBy => config.x_users_by_quota,
        Route::SearchRecent => config.x_search_recent_quota,
        Route::Token | Route::Other => {
            return problem_response(
                StatusCode::NOT_FOUND,
                &json!({"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"}),
            );
        }
    };
    let taken = shared.take_window(
        &format!("x:{}", route.endpoint()),
        quota.limit.get(),
        quota.window,
    );
    if !taken.allowed || draws.too_many {
        let spent = Taken {
            remaining: 0,
            ..taken
        };
        return with_rate_headers(
            problem_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}),
            ),
            &spent,
        );
    }
    if parts.method != Method::GET {
        return with_rate_headers(invalid_request("Method not allowed."), &taken);
    }
    let query = Query::parse(parts.uri.query());
    let path = match route {
        Route::UsersBy => "/2/users/by",
        _ => "/2/tweets/search/recent",
    };
    if let Some(refused) = unknown_values(path, &query) {
        return with_rate_headers(refused, &taken);
    }
    let reply = match route {
        Route::UsersBy => users_by(shared, &query),
        _ => search_recent(shared, &query),
    };
    with_rate_headers(reply, &taken)
}

fn with_rate_headers(reply: Reply, taken: &Taken) -> Reply {
    reply
        .with_header("x-rate-limit-limit", taken.limit.to_string())
        .with_header("x-rate-limit-remaining", taken.remaining.to_string())
        .with_header("x-rate-limit-reset", taken.reset_epoch.to_string())
}

/// `POST /oauth2/token`: Basic `key:secret` (each form-encoded), body
/// `grant_type=client_credentials`; answers the app's one bearer token.
fn token(shared: &Shared, parts: &Parts, body: &Bytes) -> Reply {
    let config = &shared.config.social;
    let credentials = basic(parts);
    let expected = (config.x_api_key.as_str(), config.x_api_secret.as_str());
    if credentials.as_ref().map(|(k, s)| (k.as_str(), s.as_str())) != Some(expected) {
        // The v1.1-style body the token endpoint still uses (OpenAPI `Error`).
        return json_response(
            StatusCode::FORBIDDEN,
            &json!({"errors": [{"code": 99, "message": "Unable to verify your credentials"}]}),
        );
    }
    let form_ok = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let grant = url::form_urlencoded::parse(body)
        .any(|(k, v)| k == "grant_type" && v == "client_credentials");
    if parts.method != Method::POST || !form_ok || !grant {
        return invalid_request("grant_type=client_credentials is required.");
    }
    json_response(
        StatusCode::OK,
        &json!({"token_type": "bearer", "access_token": config.x_bearer_token}),
    )
}

fn users_by(shared: &Shared, query: &Query) -> Reply {
    let names: Vec<&str> = query
        .get("usernames")
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() || names.len() > 100 || !names.iter().all(|n| is_handle(n)) {
        return invalid_request("The `usernames` query parameter value is not valid.");
    }
    let fields = requested(query.get("user.fields"));
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        match shared.config.social.data.x_user(name) {
            Some(user) => data.push(project(user, &fields)),
            None => errors.push(json!({
                "value": name,
                "detail": format!("Could not find user with usernames: [{name}]."),
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "usernames",
                "resource_id": name,
                "type": "https://api.x.com/2/problems/resource-not-found",
            })),
        }
    }
    let mut body = Map::new();
    if !data.is_empty() {
        body.insert("data".into(), Value::Array(data));
    }
    if !errors.is_empty() {
        body.insert("errors".into(), Value::Array(errors));
    }
    json_response(StatusCode::OK, &Value::Object(body))
}

/// Understands `from:<handle>` and `has:mentions`; other terms are ignored.
fn search_recent(shared: &Shared, query: &Query) -> Reply {
    let Some(q) = query.get("query").filter(|q| !q.trim().is_empty()) else {
        return invalid_request("The `query` query parameter can not be empty.");
    };
    let author = q
        .split_whitespace()
        .find_map(|term| term.strip_prefix("from:"))
        .unwrap_or_default();
    let needs_mentions = q.split_whitespace().any(|t| t == "has:mentions");
    let max = query
        .get("max_results")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(10, 100);
    let data_set = &shared.config.social.data;
    let posts: Vec<&Value> = data_set
        .x_posts_by(author)
        .iter()
        .filter(|p| !needs_mentions || !mentions(p).is_empty())
        .take(max)
        .collect();
    if posts.is_empty() {
        return json_response(StatusCode::OK, &json!({"meta": {"result_count": 0}}));
    }
    let data: Vec<Value> = posts
        .iter()
        .map(|p| json!({"edit_history_tweet_ids": [p["id"]], "id": p["id"], "text": p["text"]}))
        .collect();
    let mut body = json!({
        "data": data,
        "meta": {
            "newest_id": posts[0]["id"],
            "oldest_id": posts[posts.len() - 1]["id"],
            "result_count": posts.len(),
        },
    });
    let expands = query
        .get("expansions")
        .unwrap_or_default()
        .split(',')
        .any(|e| e == "entities.mentions.username");
    if expands {
        let fields = requested(query.get("user.fields"));
        let mut users: Vec<Value> = Vec::new();
        for post in &posts {
            for handle in mentions(post) {
                if let Some(user) = data_set.x_user(&handle)
                    && !users.iter().any(|u| u["id"] == user["id"])
                {
                    users.push(project(user, &fields));
                }
            }
        }
        if !users.is_empty() {
            body["includes"] = json!({"users": users});
        }
    }
    json_response(StatusCode::OK, &body)
}

/// The `@handles` in a post's text.
fn mentions(post: &Value) -> Vec<String> {
    let text = post["text"].as_str().unwrap_or_default();
    text.split('@')
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|h| is_handle(h))
        .collect()
}

fn requested(fields: Option<&str>) -> Vec<String> {
    fields
        .unwrap_or_default()
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The user with only the default and the requested fields, as X sends it.
fn project(user: &Value, fields: &[String]) -> Value {
    let mut out = Map::new();
    if let Some(all) = user.as_object() {
        for (key, value) in all {
            if DEFAULT_USER_FIELDS.contains(&key.as_str()) || fields.iter().any(|f| f == key) {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// The values X's OpenAPI spec allows for each list-valued query parameter
/// of the endpoints served here (`fakes/data/x_query_enums.tsv`).
const QUERY_ENUMS: &str = include_str!("../data/x_query_enums.tsv");

/// A 400 `invalid-request`, as X answers, when a list-valued parameter
/// (`user.fields`, `tweet.fields`, `expansions`, ...) names a value the spec
/// does not have for `path`.
fn unknown_values(path: &str, query: &Query) -> Option<Reply> {
    let allowed = |param: &str, value: &str| {
        QUERY_ENUMS.lines().any(|l| {
            let mut cols = l.split('\t');
            cols.next() == Some(path) && cols.next() == Some(param) && cols.next() == Some(value)
        })
    };
    // Each parameter once: the file has a line per allowed value, a
    // parameter's lines together.
    let mut params: Vec<&str> = QUERY_ENUMS
        .lines()
        .filter_map(|l| {
            let mut cols = l.split('\t');
            (cols.next() == Some(path)).then(|| cols.next()).flatten()
        })
        .collect();
    params.dedup();
    for param in params {
        let Some(given) = query.get(param) else {
            continue;
        };
        let unknown: Vec<&str> = given.split(',').filter(|v| !allowed(param, v)).collect();
        if !unknown.is_empty() {
            return Some(problem_response(
                StatusCode::BAD_REQUEST,
                &json!({
                    "errors": [{
                        "parameters": {param: unknown},
                        "message": format!(
                            "The `{param}` query parameter value [{}] is not one of the values the API accepts",
                            unknown.join(",")
                        ),
                    }],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.x.com/2/problems/invalid-request",
                }),
            ));
        }
    }
    None
}

fn invalid_request(message: &str) -> Reply {
    problem_response(
        StatusCode::BAD_REQUEST,
        &json!({
            "errors": [{"parameters": {}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.x.com/2/problems/invalid-request",
        }),
    )
}

fn is_handle(s: &str) -> bool {
    (1..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Basic credentials, each part form-decoded (RFC 6749 §2.3.1).
fn basic(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (key, secret) = decoded.split_once(':')?;
    let form = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((form(key), form(secret)))
}

/// Bearer auth, shared with the other social fakes.
pub(crate) fn bearer_token(parts: &Parts) -> Option<String> {
    bearer(parts)
}
