//! The Companies House streams leadgen follows (a leaf: the cache needs the
//! names to know which entries a stream keeps fresh, the follower in
//! [`crate::stream`] needs them to connect).

use std::fmt;

/// One stream of `https://stream.companieshouse.gov.uk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// `/companies`: company profiles (`resource_kind` `company-profile`).
    Companies,
    /// `/officers`: appointments (`company-officers`).
    Officers,
    /// `/persons-with-significant-control` (`company-psc-individual`, ...).
    Psc,
    /// `/persons-with-significant-control-statements`: what a company says
    /// instead of naming PSCs.
    PscStatements,
}

impl Stream {
    pub const ALL: [Stream; 4] = [
        Stream::Companies,
        Stream::Officers,
        Stream::Psc,
        Stream::PscStatements,
    ];

    /// The URL path, which is also the stream's name in the state table,
    /// the metrics and the output: never rename one.
    pub fn path(self) -> &'static str {
        match self {
            Stream::Companies => "companies",
            Stream::Officers => "officers",
            Stream::Psc => "persons-with-significant-control",
            Stream::PscStatements => "persons-with-significant-control-statements",
        }
    }

    /// The stream a short or full name stands for (`--streams`).
    pub fn parse(name: &str) -> Option<Stream> {
        match name.trim().to_ascii_lowercase().as_str() {
            "companies" | "company" | "profile" => Some(Stream::Companies),
            "officers" | "officer" => Some(Stream::Officers),
            "psc" | "persons-with-significant-control" => Some(Stream::Psc),
            "psc-statements" | "statements" | "persons-with-significant-control-statements" => {
                Some(Stream::PscStatements)
            }
            _ => None,
        }
    }

    /// The `resource_kind`s this stream sends (from the real streams:
    /// mrbrianevans/ch-guide docs/streams, and Companies House's own PSC
    /// service, which names its stream kinds `company-psc-individual`,
    /// `company-psc-corporate`, `company-psc-legal`, `company-psc-supersecure`
    /// and the four beneficial-owner kinds). The statements stream's kind
    /// is not documented anywhere leadgen's sources reach: any kind naming
    /// a statement is taken.
    pub fn knows_kind(self, kind: &str) -> bool {
        match self {
            Stream::Companies => kind == "company-profile",
            Stream::Officers => kind == "company-officers",
            Stream::Psc => {
                (kind.starts_with("company-psc-") && !kind.contains("statement"))
                    || kind.ends_with("-beneficial-owner")
            }
            Stream::PscStatements => kind.contains("statement"),
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}
