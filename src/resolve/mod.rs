//! Resolve an input row to one Companies House company.
pub mod matcher;
