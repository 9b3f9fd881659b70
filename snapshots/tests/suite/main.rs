//! The insta suites of the `snapshots` crate: scenario families, the gating table, the error
//! catalogues (engine, scenario files, command line) and the fixed-seed campaign report. One test
//! binary, one module per suite.

mod campaign;
mod cli;
mod errors;
mod gating;
mod scenarios;
