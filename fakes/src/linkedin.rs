//! The fake LinkedIn REST API: `GET /rest/organizations?q=vanityName`, with
//! Bearer auth, the `LinkedIn-Version` and `X-Restli-Protocol-Version`
//! headers required, a daily application cap answered with LinkedIn's 429
//! body, no rate-limit headers (LinkedIn documents none), and, for a token
//! without Community Management API access, the 403 "Not enough
//! permissions" body.

use hyper::StatusCode;
use hyper::http::request::Parts;
use serde_json::json;

use super::server::{Draws, Query, Reply, Shared, json_response};

pub(crate) enum Route {
    Organizations,
    Other,
}

impl Route {
    pub(crate) fn parse(path: &str) -> Route {
        match path.trim_end_matches('/') {
            "/rest/organizations" => Route::Organizations,
            _ => Route::Other,
        }
    }

    pub(crate) fn endpoint(&self) -> &'static str {
        match self {
            Route::Organizations => "linkedin_organizations",
            Route::Other => "linkedin_other",
        }
    }
}

fn error(status: StatusCode, service_error_code: u16, message: &str) -> Reply {
    json_response(
        status,
        &json!({"message": message, "serviceErrorCode": service_error_code, "status": status.as_u16()}),
    )
}

pub(crate) fn answer(shared: &Shared, parts: &Parts, route: &Route, draws: &Draws) -> Reply {
    let config = &shared.config.social;
    match super::x::bearer_token(parts) {
        None => return error(StatusCode::UNAUTHORIZED, 401, "Empty oauth2_access_token"),
        Some(token) if token != config.linkedin_access_token => {
            return error(StatusCode::UNAUTHORIZED, 401, "Invalid access token");
        }
        Some(_) => {}
    }
    let taken = shared.take_window(
        "linkedin:daily",
        config.linkedin_daily_limit,
        config.linkedin_window,
    );
    if !taken.allowed || draws.too_many {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            101,
            "Resource level throttle limit for calls to this resource is reached.",
        );
    }
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let version_ok = header("linkedin-version").is_some_and(|v| {
        let digits = v.split('.').next().unwrap_or_default();
        digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())
    });
    if !version_ok {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"status": 400, "message": "A version must be present. Please specify a version by adding the LinkedIn-Version header."}),
        );
    }
    if header("x-restli-protocol-version").as_deref() != Some("2.0.0") {
        // Protocol 1.0 encodes finders differently; the fake speaks 2.0.0 only.
        return error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported Rest.li protocol version",
        );
    }
    let Route::Organizations = route else {
        return error(StatusCode::NOT_FOUND, 404, "Resource not found");
    };
    if !config.linkedin_organization_access {
        // The shape of the shared notes' 403 (linkedin-api-python-client
        // issue #49: "Not enough permissions to access: GET /me").
        return error(
            StatusCode::FORBIDDEN,
            100,
            "Not enough permissions to access: GET /organizations",
        );
    }
    let query = Query::parse(parts.uri.query());
    let (Some("vanityName"), Some(vanity)) = (query.get("q"), query.get("vanityName")) else {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            "Invalid query parameters passed to request",
        );
    };
    let elements: Vec<_> = config
        .data
        .linkedin_organization(vanity)
        .into_iter()
        .cloned()
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"elements": elements, "paging": {"count": 10, "start": 0, "links": []}}),
    )
}
