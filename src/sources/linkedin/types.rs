//! LinkedIn Rest.li JSON for the organization lookup, as LinkedIn's
//! recorded Postman responses (Dec 2022, kept for reference under
//! `shared/realdata/social/api-evangelist-linkedin`) and the documentation
//! show it. Only the members leadgen reads are declared.

use serde::Deserialize;

/// A finder answer (`q=vanityName`): `{"elements":[...],"paging":{...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct FinderResponse {
    #[serde(default)]
    pub elements: Vec<Organization>,
    pub paging: Option<Paging>,
}

/// `paging`: `start`/`count` (default 0/10), `total` when known.
#[derive(Debug, Clone, Deserialize)]
pub struct Paging {
    pub start: Option<u64>,
    pub count: Option<u64>,
    pub total: Option<u64>,
}

/// An organization as a non-administrator sees it: id, name, localizedName,
/// localizedWebsite, vanityName, logoV2, locations, primaryOrganizationType.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: Option<u64>,
    pub vanity_name: Option<String>,
    pub localized_name: Option<String>,
    pub localized_website: Option<String>,
    pub primary_organization_type: Option<String>,
}

/// The error envelope: `{"message","serviceErrorCode","status"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub message: Option<String>,
    pub service_error_code: Option<i64>,
    pub status: Option<u16>,
}

impl crate::sources::ErrorBody for ErrorBody {
    fn summary(&self) -> Option<String> {
        Some(ErrorBody::summary(self))
    }
}

impl ErrorBody {
    /// "serviceErrorCode 100: Not enough permissions ...".
    pub fn summary(&self) -> String {
        match (self.service_error_code, self.message.as_deref()) {
            (Some(code), Some(message)) => format!("serviceErrorCode {code}: {message}"),
            (Some(code), None) => format!("serviceErrorCode {code}"),
            (None, Some(message)) => message.to_owned(),
            (None, None) => "no error body".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_as_recorded() {
        // The members and value shapes of LinkedIn's recorded
        // organizationsLookup answer, with a finder envelope.
        let body = r#"{"paging":{"start":0,"count":10,"links":[],"total":1},"elements":[{
            "name":{"localized":{"en_US":"Internal_EI_Demo"},"preferredLocale":{"country":"US","language":"en"}},
            "primaryOrganizationType":"BRAND","vanityName":"internal-ei-demo","locations":[],
            "localizedName":"Internal_EI_Demo","id":89758488,
            "localizedWebsite":"https://internal-ei-test-company.com"}]}"#;
        let r: FinderResponse = serde_json::from_str(body).expect("parses");
        let org = &r.elements[0];
        assert_eq!(org.id, Some(89758488));
        assert_eq!(org.vanity_name.as_deref(), Some("internal-ei-demo"));
        assert_eq!(
            org.localized_website.as_deref(),
            Some("https://internal-ei-test-company.com")
        );
        assert_eq!(r.paging.and_then(|p| p.total), Some(1));
    }

    #[test]
    fn error_envelope() {
        let e: ErrorBody = serde_json::from_str(
            r#"{"serviceErrorCode":101,"message":"Resource level throttle limit for calls to this resource is reached.","status":429}"#,
        )
        .expect("parses");
        assert!(
            e.summary()
                .starts_with("serviceErrorCode 101: Resource level")
        );
    }
}
