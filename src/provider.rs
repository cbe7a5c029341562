//! The APIs leadgen calls, by name. A leaf: the gateway paces them, the
//! cache keys answers by them, the sources speak to them.

use std::fmt;

use serde::Serialize;

/// An API leadgen calls. Each has its own quota, timeouts and failure state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    CompaniesHouse,
    X,
    #[serde(rename = "linkedin")]
    LinkedIn,
    Facebook,
}

impl Provider {
    /// Every provider. A new variant needs a policy in its
    /// `crate::sources` folder (and an entry in `sources::POLICIES`), or
    /// the gateway will refuse its calls.
    pub const ALL: [Provider; 4] = [
        Provider::CompaniesHouse,
        Provider::X,
        Provider::LinkedIn,
        Provider::Facebook,
    ];

    /// Human name, used in messages ("Companies House unavailable").
    pub fn label(self) -> &'static str {
        match self {
            Provider::CompaniesHouse => "Companies House",
            Provider::X => "X",
            Provider::LinkedIn => "LinkedIn",
            Provider::Facebook => "Facebook",
        }
    }

    /// Short name used in configuration keys and environment variables.
    pub fn key(self) -> &'static str {
        match self {
            Provider::CompaniesHouse => "companies_house",
            Provider::X => "x",
            Provider::LinkedIn => "linkedin",
            Provider::Facebook => "facebook",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
