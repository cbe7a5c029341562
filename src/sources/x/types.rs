//! X API v2 JSON, as the OpenAPI spec (`xdk/latest-openapi.json`, v2.159)
//! and the recorded responses under `shared/realdata/social/tweepy` define it.
//!
//! Only the members leadgen reads are declared; unknown members are
//! ignored, and everything the spec does not require is optional. Posts are
//! read for their ids only: leadgen keeps no copies of posts.

use secrecy::SecretString;
use serde::Deserialize;

/// `Get2UsersByResponse` (`GET /2/users/by`): users found, and a
/// `resource-not-found` problem per username that does not exist (HTTP 200
/// with both, or with `errors` alone when none exists).
#[derive(Debug, Clone, Deserialize)]
pub struct UsersResponse {
    #[serde(default)]
    pub data: Vec<User>,
    #[serde(default)]
    pub errors: Vec<Problem>,
}

/// `User`: `id`, `name` and `username` always; the rest when asked for in
/// `user.fields`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub username: String,
    /// The bio.
    pub description: Option<String>,
    /// The profile URL as entered, usually a `t.co` link; the real target
    /// is in `entities.url.urls[].expanded_url`.
    pub url: Option<String>,
    pub entities: Option<UserEntities>,
    pub verified: Option<bool>,
    /// blue, business, government or none.
    pub verified_type: Option<String>,
}

impl User {
    /// Every address the profile links to, expanded where X expanded it.
    pub fn profile_links(&self) -> Vec<&str> {
        let mut links: Vec<&str> = self
            .entities
            .iter()
            .filter_map(|e| e.url.as_ref())
            .flat_map(|u| u.urls.iter())
            .filter_map(|u| u.expanded_url.as_deref().or(u.url.as_deref()))
            .collect();
        if links.is_empty()
            && let Some(url) = self.url.as_deref()
        {
            links.push(url);
        }
        links
    }
}

/// `User.entities`: the profile URL's and the bio's entities.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserEntities {
    pub url: Option<UrlEntities>,
}

/// `User.entities.url`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UrlEntities {
    #[serde(default)]
    pub urls: Vec<UrlEntity>,
}

/// `UrlEntity` (`UrlFields` plus indices).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UrlEntity {
    pub url: Option<String>,
    pub expanded_url: Option<String>,
    pub display_url: Option<String>,
}

/// `Get2TweetsSearchRecentResponse` (`GET /2/tweets/search/recent`).
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResponse {
    #[serde(default)]
    pub data: Vec<PostId>,
    pub includes: Option<Includes>,
    pub meta: Option<SearchMeta>,
    #[serde(default)]
    pub errors: Vec<Problem>,
}

/// A `Tweet`, of which only the id is read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PostId {
    pub id: String,
}

/// `Expansions`: the users the posts mention, with `expansions=entities.mentions.username`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Includes {
    #[serde(default)]
    pub users: Vec<User>,
}

/// The recent-search `meta`.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchMeta {
    pub result_count: Option<u64>,
    pub newest_id: Option<String>,
    pub oldest_id: Option<String>,
    pub next_token: Option<String>,
}

/// An RFC 7807 `Problem`, with the members of the subtypes leadgen reports
/// (`ResourceNotFoundProblem`, `UsageCapExceededProblem`,
/// `ClientForbiddenProblem`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
    pub status: Option<u16>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub parameter: Option<String>,
    pub value: Option<String>,
    pub period: Option<String>,
    pub scope: Option<String>,
    pub reason: Option<String>,
}

impl Problem {
    /// The last segment of `type`: `resource-not-found`, `usage-capped`,
    /// `about:blank`; the prefix differs between spec versions.
    pub fn suffix(&self) -> Option<&str> {
        // `about:blank` has no slash and stays whole.
        self.kind
            .as_deref()
            .map(|kind| kind.rsplit('/').next().unwrap_or(kind))
    }

    /// "usage-capped: Daily" or "rate-limit-exceeded: Too Many Requests".
    pub fn summary(&self) -> String {
        let kind = self.suffix().unwrap_or("unknown problem");
        let more = self
            .period
            .as_deref()
            .or(self.reason.as_deref())
            .or(self.detail.as_deref())
            .or(self.title.as_deref());
        match more {
            Some(more) => format!("{kind}: {more}"),
            None => kind.to_owned(),
        }
    }
}

impl crate::sources::ErrorBody for Problem {
    fn summary(&self) -> Option<String> {
        Some(Problem::summary(self))
    }
}

/// The answer of `POST /oauth2/token`: `{"token_type":"bearer","access_token":"..."}`.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub token_type: String,
    pub access_token: SecretString,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded by tweepy (cassette `test_client_get_users`): the default
    /// fields only.
    const RECORDED_USERS: &str =
        include_str!("../../../fixtures/recorded/social/tweepy/test_client_get_users.json");
    /// Recorded by tweepy (cassette `test_client_search_recent_tweets`).
    const RECORDED_SEARCH: &str = include_str!(
        "../../../fixtures/recorded/social/tweepy/test_client_search_recent_tweets.json"
    );

    fn recorded_body(text: &str) -> serde_json::Value {
        let interactions: serde_json::Value = serde_json::from_str(text).expect("recording");
        interactions[0]["body"].clone()
    }

    #[test]
    fn recorded_users_lookup_parses() {
        let body = recorded_body(RECORDED_USERS);
        let r: UsersResponse = serde_json::from_value(body).expect("parses");
        assert_eq!(r.data.len(), 2);
        assert_eq!(r.data[0].username, "Twitter");
        assert_eq!(r.data[1].id, "2244994945");
        assert!(r.data[0].description.is_none());
        assert!(r.errors.is_empty());
    }

    #[test]
    fn recorded_recent_search_parses() {
        let body = recorded_body(RECORDED_SEARCH);
        let r: SearchResponse = serde_json::from_value(body).expect("parses");
        assert_eq!(r.data.len(), 10);
        let meta = r.meta.expect("meta");
        assert_eq!(meta.result_count, Some(10));
        assert!(meta.next_token.is_some());
        assert!(r.includes.is_none());
    }

    #[test]
    fn partial_errors_and_expanded_links() {
        let body = r#"{
          "data":[{"id":"1","name":"Acme","username":"acme","url":"https://t.co/abc",
                   "entities":{"url":{"urls":[{"start":0,"end":23,"url":"https://t.co/abc",
                     "expanded_url":"https://www.acme.co.uk","display_url":"acme.co.uk"}]}}}],
          "errors":[{"value":"nobody","detail":"Could not find user with usernames: [nobody].",
                     "title":"Not Found Error","resource_type":"user","parameter":"usernames",
                     "resource_id":"nobody","type":"https://api.x.com/2/problems/resource-not-found"}]}"#;
        let r: UsersResponse = serde_json::from_str(body).expect("parses");
        assert_eq!(r.data[0].profile_links(), ["https://www.acme.co.uk"]);
        assert_eq!(r.errors[0].suffix(), Some("resource-not-found"));
        assert_eq!(r.errors[0].value.as_deref(), Some("nobody"));
    }

    #[test]
    fn token_debug_hides_the_token() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"token_type":"bearer","access_token":"AAAA-secret-token"}"#)
                .expect("parses");
        assert!(!format!("{t:?}").contains("AAAA-secret-token"));
    }
}
