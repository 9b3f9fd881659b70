//! Snapshot-reviewed regression suites: scenario traces, the gating table, error messages and a
//! fixed-seed campaign report as insta snapshots under `tests/`, reviewed like code.
//!
//! The library holds what the suites render: scenario families read from
//! `snapshots/scenarios/*.toml` ([`family`]), their stories ([`story`]) and the gating table
//! ([`gating`]). The insta assertions live in `tests/suite/`.
#![deny(missing_docs)]

pub mod family;
pub mod gating;
pub mod story;
