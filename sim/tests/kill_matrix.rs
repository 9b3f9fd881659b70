//! The harness has teeth: every seeded engine regression is caught by the simulator within a
//! small budget (run by `just test` with `--features regressions`).
#![cfg(feature = "regressions")]

use engine::regress::Regression;
use sim::mutants::{kill_matrix, Budget};

#[test]
fn every_seeded_regression_is_caught() {
    let matrix = kill_matrix(
        1,
        Budget {
            schedules: 10_000,
            source: sim::mutants::Source::Mix,
        },
        &[],
    );
    assert_eq!(matrix.regressions.len(), Regression::ALL.len());
    for kill in &matrix.regressions {
        assert!(
            kill.caught,
            "{} survived {} schedules",
            kill.regression, kill.schedules
        );
        let shrunk = kill.shrunk.as_ref().expect("a shrunk scenario");
        assert!(shrunk.validate().is_ok());
    }
    assert!(matrix.survived.is_empty());
}

#[test]
fn the_reference_engine_is_not_a_regression() {
    // With no regression active the same hunt finds nothing: the matrix measures the bugs.
    let none = engine::regress::with(None, || {
        sim::campaign::run_on(
            &sim::scenario::generate(1, 0),
            0,
            sim::campaign::FsChoice::Mem,
            false,
            sim::schedule::Variant::Reference,
        )
    });
    assert!(none
        .results
        .iter()
        .all(|(_, r)| r.as_ref().unwrap().broken.is_empty()));
}
