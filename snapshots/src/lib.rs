//! Snapshot-reviewed regression suites: scenario traces, errors and reports as insta snapshots
//! under `tests/`, reviewed like code.
#![deny(missing_docs)]
