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
            "{} survived {} schedules: {:?} must catch it (met only: {:?})",
            kill.regression, kill.schedules, kill.expected, kill.other
        );
        assert_eq!(kill.invariant, Some(kill.expected), "{}", kill.regression);
        let alone = Regression::parse(&kill.regression).is_some_and(sim::mutants::hunted_alone);
        if alone {
            // A MemFs or wire regression is caught in `sim fsops` or `sim wire`, where a catch
            // is a sequence or a frame.
            let source = kill.source.as_deref().unwrap_or_default();
            assert!(
                source.starts_with("sim fsops --seed 1 ")
                    || source.starts_with("sim wire --seed 1 "),
                "{source}"
            );
            continue;
        }
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
            (sim::campaign::FsChoice::Mem, None),
            false,
            sim::schedule::Variant::Reference,
        )
    });
    assert!(none
        .results
        .iter()
        .all(|(_, r)| r.as_ref().unwrap().broken.is_empty()));
}

/// Every corpus entry kept for a regression still catches it, and every regression has one:
/// the corpus keeps its meaning when the generator changes, since entries are scenarios.
#[test]
fn every_corpus_entry_still_catches_its_regression() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let entries = sim::corpus::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut covered = std::collections::BTreeSet::new();
    for (path, entry) in entries {
        let Some(name) = &entry.catches else { continue };
        let regression = Regression::parse(name)
            .unwrap_or_else(|| panic!("{}: unknown regression {name}", path.display()));
        let options = entry.options();
        let result = engine::regress::with(Some(regression), || {
            sim::mutants::run_judged(&entry.scenario, &options, entry.must_fire)
        })
        .unwrap_or_else(|| panic!("{}: the schedule could not run", path.display()));
        let expected = sim::mutants::must_catch(regression);
        assert_eq!(
            entry.invariant,
            Some(expected),
            "{} must name the invariant that catches {name}",
            path.display()
        );
        assert!(
            result.broken.iter().any(|b| b.invariant == expected),
            "{} no longer catches {name} by {expected:?}: {:?}",
            path.display(),
            result.broken
        );
        covered.insert(regression);
    }
    // A MemFs or wire regression's catch is a sequence or a frame, not a scenario.
    let missing: Vec<_> = Regression::ALL
        .iter()
        .filter(|r| !covered.contains(r) && !sim::mutants::hunted_alone(**r))
        .collect();
    assert!(missing.is_empty(), "no corpus entry catches {missing:?}");
}
