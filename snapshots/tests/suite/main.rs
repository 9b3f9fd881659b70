//! The insta suites of the `snapshots` crate: scenario families, the gating table, the error
//! catalogue and the fixed-seed campaign report. One test binary, one module per suite.

mod scenarios;
