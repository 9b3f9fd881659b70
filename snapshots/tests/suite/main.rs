//! The insta suites of the `snapshots` crate: scenario families, the gating table, the error
//! catalogues (engine, scenario files, command line), the fixed-seed campaign report and the
//! fixed-seed policy matrix. One test binary, one module per suite.

mod campaign;
mod cli;
mod errors;
mod gating;
mod policies;
mod scenarios;
