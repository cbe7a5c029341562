//! One folder per API.
pub mod companies_house;
