//! The fake Companies House: `/search/companies`, `/company/{n}`,
//! `/company/{n}/officers`, `/company/{n}/persons-with-significant-control`.

/// The register the fake serves: records in the API's own JSON shapes.
#[derive(Debug, Clone, Default)]
pub struct Register {}
