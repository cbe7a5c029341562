//! Facebook Graph API JSON for Pages, with the field names of Meta's node
//! specs (`facebook-business-sdk-codegen/api_specs/specs/Page.json` and
//! `Location.json`). Only the fields leadgen asks for are declared; Graph
//! returns only the fields asked for, plus `id`.

use serde::Deserialize;

/// A list answer: `{"data":[...],"paging":{"cursors":{...},"next":...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct PageList {
    #[serde(default)]
    pub data: Vec<Page>,
}

/// A `Page` node with the fields leadgen reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Page {
    pub id: String,
    pub name: Option<String>,
    pub website: Option<String>,
    pub location: Option<Location>,
    pub link: Option<String>,
    pub verification_status: Option<String>,
}

impl Page {
    /// This page's fields, with `other`'s where this one has none (the
    /// search result fills what the page read left out).
    pub fn or(self, other: &Page) -> Page {
        Page {
            id: self.id,
            name: self.name.or_else(|| other.name.clone()),
            website: self.website.or_else(|| other.website.clone()),
            location: self.location.or_else(|| other.location.clone()),
            link: self.link.or_else(|| other.link.clone()),
            verification_status: self
                .verification_status
                .or_else(|| other.verification_status.clone()),
        }
    }
}

/// `Location` (a Page's `location`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Location {
    pub street: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorEnvelope {
    pub error: GraphError,
}

impl crate::sources::ErrorBody for ErrorEnvelope {
    fn summary(&self) -> Option<String> {
        Some(self.error.summary())
    }

    /// Code 100, subcode 33: the object does not exist or cannot be read.
    fn means_absent(&self) -> bool {
        self.error.code == Some(100) && self.error.error_subcode == Some(33)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GraphError {
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: Option<i64>,
    pub error_subcode: Option<i64>,
    pub fbtrace_id: Option<String>,
}

impl GraphError {
    /// "code 100/33: Unsupported get request ...".
    pub fn summary(&self) -> String {
        let code = match (self.code, self.error_subcode) {
            (Some(code), Some(sub)) => format!("code {code}/{sub}"),
            (Some(code), None) => format!("code {code}"),
            _ => "no error code".to_owned(),
        };
        match &self.message {
            Some(message) => format!("{code}: {message}"),
            None => code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Meta's node specs, for checking that leadgen asks only for fields
    /// that exist.
    const PAGE_SPEC: &str =
        include_str!("../../../fixtures/recorded/social/facebook-business-sdk-codegen/Page.json");
    const LOCATION_SPEC: &str = include_str!(
        "../../../fixtures/recorded/social/facebook-business-sdk-codegen/Location.json"
    );

    fn spec_fields(text: &str) -> Vec<(String, String)> {
        let spec: serde_json::Value = serde_json::from_str(text).expect("spec");
        spec["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap_or_default().to_owned(),
                    f["type"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn every_requested_field_is_in_the_page_spec() {
        let page = spec_fields(PAGE_SPEC);
        let requested = format!(
            "{},{}",
            crate::sources::facebook::client::SEARCH_FIELDS,
            crate::sources::facebook::client::PAGE_FIELDS
        );
        for field in requested.split(',') {
            assert!(page.iter().any(|(name, _)| name == field), "{field}");
        }
        assert!(page.contains(&("emails".to_owned(), "list<string>".to_owned())));
        assert!(page.contains(&("location".to_owned(), "Location".to_owned())));
        let location = spec_fields(LOCATION_SPEC);
        for field in [
            "street",
            "city",
            "zip",
            "country",
            "country_code",
            "latitude",
            "longitude",
        ] {
            assert!(location.iter().any(|(name, _)| name == field), "{field}");
        }
    }

    #[test]
    fn error_envelope_summary() {
        let e: ErrorEnvelope = serde_json::from_str(
            r#"{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"A1b2"}}"#,
        )
        .expect("parses");
        assert_eq!(
            e.error.summary(),
            "code 4: (#4) Application request limit reached"
        );
    }
}
