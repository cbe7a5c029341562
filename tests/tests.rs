//! Integration tests: the `leadgen` binary against the in-process fake
//! Companies House. One test binary, so the crate links once.

mod it;
