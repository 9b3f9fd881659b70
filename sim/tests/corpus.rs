//! The committed corpus (`sim/corpus/`) replays: every entry is a valid version-1 scenario, and
//! the reference engine passes every one of them (the `regressions` build checks, in
//! `kill_matrix.rs`, that each still catches the regression it was kept for).

use sim::schedule::run;

fn corpus() -> Vec<(std::path::PathBuf, sim::corpus::Entry)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    sim::corpus::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_corpus_entry_replays_clean_on_the_reference_engine() {
    let entries = corpus();
    assert!(entries.len() >= 30, "{} entries", entries.len());
    for (path, entry) in entries {
        let options = entry.options();
        let result = run(&entry.scenario, &options).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert!(
            result.broken.is_empty(),
            "{}: sim replay --scenario <its scenario>: {:?}",
            path.display(),
            result.broken
        );
    }
}
