//! The fake Facebook Graph API, version v25.0: `GET /pages/search` and
//! `GET /{page-id}`, with an app token (`{app-id}|{app-secret}`) in the
//! `access_token` parameter (the form Meta's access-token guide shows), usage
//! reported in `X-App-Usage`, and Graph's `{"error":{...}}` bodies (code 4
//! with HTTP 400 when the app's hourly calls are spent; code 10 for an app
//! without Page Public Metadata Access).

use hyper::StatusCode;
use hyper::http::request::Parts;
use serde_json::{Map, Value, json};

use super::server::{Draws, Query, Reply, Shared, json_response};
use super::social::numeric_id;

/// The version the fake serves.
pub(crate) const VERSION: &str = "v25.0";

pub(crate) enum Route {
    PagesSearch,
    Page(String),
    Other,
}

/// Paths of the Graph API: `/vNN.N/...`.
pub(crate) fn is_graph_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/v") else {
        return false;
    };
    let version = rest.split('/').next().unwrap_or_default();
    version.split_once('.').is_some_and(|(major, minor)| {
        !major.is_empty()
            && major.bytes().all(|b| b.is_ascii_digit())
            && minor.bytes().all(|b| b.is_ascii_digit())
    })
}

impl Route {
    pub(crate) fn parse(path: &str) -> Route {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            [VERSION, "pages", "search"] => Route::PagesSearch,
            [VERSION, id] if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                Route::Page((*id).to_owned())
            }
            _ => Route::Other,
        }
    }

    pub(crate) fn endpoint(&self) -> &'static str {
        match self {
            Route::PagesSearch => "facebook_pages_search",
            Route::Page(_) => "facebook_page",
            Route::Other => "facebook_other",
        }
    }
}

fn graph_error(code: u32, subcode: Option<u32>, kind: &str, message: &str) -> Reply {
    let mut error = json!({
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": trace_id(message),
    });
    if let Some(sub) = subcode {
        error["error_subcode"] = json!(sub);
    }
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": error }))
}

fn trace_id(seed: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("A{}", &numeric_id(&[seed, &nanos.to_string()])[..10])
}

pub(crate) fn answer(shared: &Shared, parts: &Parts, route: &Route, draws: &Draws) -> Reply {
    let config = &shared.config.social;
    let query = Query::parse(parts.uri.query());
    let token = query.get("access_token").map(str::to_owned);
    let expected = format!("{}|{}", config.facebook_app_id, config.facebook_app_secret);
    match token {
        None => {
            return graph_error(
                104,
                None,
                "OAuthException",
                "An access token is required to request this resource.",
            );
        }
        Some(token) if token != expected => {
            return graph_error(
                190,
                None,
                "OAuthException",
                "Invalid OAuth access token - Cannot parse access token",
            );
        }
        Some(_) => {}
    }
    let taken = shared.take_window(
        "facebook:app",
        config.facebook_hourly_limit,
        config.facebook_window,
    );
    let percent = if taken.allowed {
        u64::from(taken.used) * 100 / u64::from(taken.limit.max(1))
    } else {
        100
    };
    let usage =
        json!({"call_count": percent, "total_cputime": percent / 4, "total_time": percent / 4})
            .to_string();
    if !taken.allowed || draws.too_many {
        return graph_error(
            4,
            None,
            "OAuthException",
            "(#4) Application request limit reached",
        )
        .with_header("x-app-usage", usage);
    }
    if !config.facebook_page_access && !matches!(route, Route::Other) {
        // What Graph answers an app without the feature (as users report
        // it: restfb/restfb#1190, strohne/Facepager#139).
        return graph_error(
            10,
            None,
            "OAuthException",
            "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature or the 'Page Public Metadata Access' feature. Refer to https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages, https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS and https://developers.facebook.com/docs/apps/review/feature#page-public-metadata-access for details.",
        )
        .with_header("x-app-usage", usage);
    }
    let fields: Vec<String> = query
        .get("fields")
        .unwrap_or("id,name")
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    let pages = config.data.facebook_pages();
    let reply = match route {
        Route::PagesSearch => {
            let Some(q) = query.get("q").filter(|q| !q.trim().is_empty()) else {
                return graph_error(
                    100,
                    None,
                    "OAuthException",
                    "(#100) The parameter q is required",
                )
                .with_header("x-app-usage", usage);
            };
            let wanted = words(q);
            let data: Vec<Value> = pages
                .iter()
                .filter(|p| {
                    let name = words(p["name"].as_str().unwrap_or_default());
                    wanted.iter().all(|w| name.contains(w))
                })
                .map(|p| project(p, &fields))
                .collect();
            let mut body = json!({ "data": data });
            if !data.is_empty() {
                body["paging"] = json!({"cursors": {"before": "QVFIUmFk", "after": "QVFIUmZA"}});
            }
            json_response(StatusCode::OK, &body)
        }
        Route::Page(id) => match pages.iter().find(|p| p["id"] == id.as_str()) {
            Some(page) => json_response(StatusCode::OK, &project(page, &fields)),
            None => graph_error(
                100,
                Some(33),
                "GraphMethodException",
                &format!(
                    "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
                ),
            ),
        },
        Route::Other => graph_error(2500, None, "OAuthException", "Unknown path components"),
    };
    reply.with_header("x-app-usage", usage)
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace('&', " and ")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The page with `id` and the requested fields only, as Graph sends it.
fn project(page: &Value, fields: &[String]) -> Value {
    let mut out = Map::new();
    if let Some(all) = page.as_object() {
        for (key, value) in all {
            if key == "id" || fields.iter().any(|f| f == key) {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}
