//! leadgen: find the executives of UK companies.
//!
//! The data path, which the module tree mirrors:
//!
//! ```text
//! CSV rows -> input -> resolve (Companies House) -> sources fan out
//!          -> merge / dedupe / score -> output (csv | json | jsonl)
//! ```
//!
//! Every outbound HTTP call passes through [`gateway`]; [`cache`] keeps what
//! need not be fetched twice, and [`journal`] what an interrupted run had
//! finished. [`pipeline`] knows the order of the steps and
//! nothing of any API's JSON; each module under [`sources`] knows one API and
//! nothing of retries or caching.

pub mod atomic;
pub mod cache;
pub mod cli;
pub mod company_name;
pub mod company_number;
pub mod company_status;
pub mod config;
pub mod db;
pub mod doctor;
pub mod error;
pub mod explain;
pub mod failure;
pub mod gateway;
pub mod input;
pub mod journal;
pub mod lock;
pub mod merge;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod provider;
pub mod report;
pub mod resolve;
pub mod sources;
