//! leadgen: find the executives of UK companies.
//!
//! The data path, which the module tree mirrors:
//!
//! ```text
//! CSV rows -> input -> resolve (Companies House) -> sources fan out
//!          -> merge / dedupe / score -> output (csv | json | jsonl)
//! ```
//!
//! The rooms, and what each may touch (`tests/it/layout.rs` checks that the
//! imports have no cycles):
//!
//! - **Commands**: [`pipeline`] (`discover`: the order of the steps and
//!   nothing of any API's JSON), [`plan`], [`explain`], [`doctor`];
//!   [`cli`] parses flags, [`config`] turns flags, environment and file
//!   into validated settings, each with its origin, in one place
//!   ([`config::layers`]).
//! - **Steps**: [`input`] reads rows, [`resolve`] chooses the company,
//!   [`register`] is the local copy of the register from the bulk files,
//!   [`sources`] holds one folder per API (its client, wire types and the
//!   [`gateway::policy::ProviderPolicy`] that tells the gateway its quota,
//!   headers, error codes and credentials), [`merge`] makes one record per
//!   person, [`output`] writes rows.
//! - **Machinery**: every outbound HTTP call passes through [`gateway`]
//!   (pacing, pauses, retries, breaker; generic, it names no provider's
//!   details); [`cache`] keeps what need not be fetched twice, [`journal`]
//!   what an interrupted run had finished; [`db`], [`lock`], [`atomic`] and
//!   [`private`] are their file plumbing; [`report`] and [`progress`] tell the user.
//! - **Leaves**, which everything may use and which use nothing:
//!   [`provider`], [`company_name`], [`company_number`], [`company_status`], [`sic`], [`criteria`], [`timing`], [`masking`],
//!   [`failure`]; [`model`] and [`error`] are the shared records and errors.
//!
//! The fake APIs the tests, demo and benchmarks run against are the
//! `leadgen-fakes` crate (`fakes/`), never part of this library.

pub mod atomic;
pub mod cache;
pub mod cli;
pub mod company_name;
pub mod company_number;
pub mod company_status;
pub mod config;
pub mod criteria;
pub mod db;
pub mod diff;
pub mod doctor;
pub mod error;
pub mod explain;
pub mod failure;
pub mod find;
pub mod gateway;
pub mod input;
pub mod journal;
pub mod lock;
pub mod masking;
pub mod merge;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod private;
pub mod progress;
pub mod provider;
pub mod register;
pub mod report;
pub mod resolve;
pub mod seniority;
pub mod sic;
pub mod sources;
pub mod stream;
pub mod stream_kind;
pub mod timing;
