//! Companies House public data API.
pub mod names;
pub mod types;
