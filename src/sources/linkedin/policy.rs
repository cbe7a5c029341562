//! What the gateway needs to know about LinkedIn: its (unpublished) caps,
//! its 429s, and where the member token lives (`../shared/docs/social-apis.md`).

use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::header::HeaderMap;

use super::types::ErrorBody;
use crate::gateway::Provider;
use crate::gateway::policy::{
    ProviderPolicy, ServerWindow, Verdict, default_classify, window_from,
};
use crate::gateway::quota::Quota;
use crate::gateway::settings::ProviderSettings;
use crate::gateway::transport::HttpResponse;

/// The endpoint name the client passes to the gateway.
pub const ORGANIZATIONS: &str = "organizations";

/// LinkedIn publishes no numbers (daily caps shown only in the developer
/// portal); a modest steady pace keeps one run from spending a day's cap in
/// minutes. Raise it with `LEADGEN_LINKEDIN_RATE_LIMIT`.
const LIMIT: NonZeroU32 = NonZeroU32::new(100).expect("100 is not zero");

/// The environment variable holding the member access token.
pub const ACCESS_TOKEN_VAR: &str = "LINKEDIN_ACCESS_TOKEN";

/// What the organization finder needs beyond a valid token: the calls are
/// "protected by 3-legged OAuth token" with `rw_organization_admin`, and the
/// Community Management API is vetted, "only available to registered legal
/// organizations for commercial use cases" (`../shared/docs/social-apis.md`,
/// LinkedIn, organization lookup). A self-serve token (Sign In with
/// LinkedIn, `openid profile email`) is valid but cannot make these calls.
pub const REQUIRED_ACCESS: &str = "the Community Management API (a vetted LinkedIn app, and a \
     member token from it with the rw_organization_admin scope)";

/// LinkedIn's `serviceErrorCode` for "Not enough permissions to access: ..."
/// with HTTP 403 (`{"serviceErrorCode":100,"message":"Not enough permissions
/// to access: GET /me","status":403}`, linkedin-api-python-client issue #49,
/// in the shared notes). The same code comes with 400 for bad query
/// parameters, so only a 403 means a missing permission.
pub const NOT_ENOUGH_PERMISSIONS: i64 = 100;

/// Daily application and member caps whose numbers are not published, no
/// rate-limit headers, and a 429 whose body says
/// `{"serviceErrorCode":101,"message":"Resource level throttle limit ...","status":429}`.
/// A 429 also comes for "infrastructure protection", which passes on its
/// own. Either way the gateway waits its minimum and retries a few times;
/// only `Retry-After` is read, in case LinkedIn ever sends it.
pub struct LinkedInPolicy;

impl ProviderPolicy for LinkedInPolicy {
    fn provider(&self) -> Provider {
        Provider::LinkedIn
    }

    fn credential_vars(&self) -> &'static [&'static str] {
        &[ACCESS_TOKEN_VAR]
    }

    fn required_access(&self) -> Option<&'static str> {
        Some(REQUIRED_ACCESS)
    }

    fn classify(&self, response: &HttpResponse) -> Verdict {
        if response.status.as_u16() == 403 {
            let body = serde_json::from_slice::<ErrorBody>(&response.body).unwrap_or_default();
            if body.service_error_code == Some(NOT_ENOUGH_PERMISSIONS) {
                return Verdict::NotPermitted;
            }
        }
        default_classify(response)
    }

    fn defaults(&self) -> ProviderSettings {
        // A spent daily cap stays spent until midnight UTC: the shared
        // three tries tell a passing "infrastructure protection" 429 from
        // it, and with no headers saying when to resume a bare 429 waits
        // the shared 30 s.
        ProviderSettings::with_quota(Quota::new(LIMIT, Duration::from_secs(60)))
    }

    fn server_window(&self, headers: &HeaderMap) -> Option<ServerWindow> {
        window_from(headers, &[], &[], (&[], None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::policy::{Verdict, test_answer as answer, test_headers as headers};

    #[test]
    fn reads_no_headers_but_retry_after() {
        assert_eq!(LinkedInPolicy.defaults().quota.to_string(), "100/1m");
        let h = headers(&[("x-li-uuid", "AAXwZYJXnc/8Zp667Zwp2w==")]);
        assert_eq!(LinkedInPolicy.server_window(&h), None);
        let body = r#"{"serviceErrorCode":101,"message":"Resource level throttle limit for calls to this resource is reached.","status":429}"#;
        assert_eq!(
            LinkedInPolicy.classify(&answer(429, &[], body)),
            Verdict::RateLimited
        );
        assert_eq!(LinkedInPolicy.limit_scope(ORGANIZATIONS), None);
    }

    #[test]
    fn not_enough_permissions_is_missing_access_not_a_refused_token() {
        // The shared notes' 403 body, and a bare 403 for contrast.
        let body = r#"{"serviceErrorCode":100,"message":"Not enough permissions to access: GET /me","status":403}"#;
        assert_eq!(
            LinkedInPolicy.classify(&answer(403, &[], body)),
            Verdict::NotPermitted
        );
        assert_eq!(
            LinkedInPolicy.classify(&answer(403, &[], "")),
            Verdict::CredentialRefused
        );
        let expired =
            r#"{"message":"Empty oauth2_access_token","serviceErrorCode":401,"status":401}"#;
        assert_eq!(
            LinkedInPolicy.classify(&answer(401, &[], expired)),
            Verdict::CredentialRefused
        );
        let bad_query = r#"{"serviceErrorCode":100,"message":"Invalid query parameters passed to request","status":400}"#;
        assert_eq!(
            LinkedInPolicy.classify(&answer(400, &[], bad_query)),
            Verdict::Final
        );
    }
}
