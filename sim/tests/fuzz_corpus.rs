//! The fuzz target's corpus (`fuzz/corpus/schedule/`, grown by `just fuzz`) replayed by plain
//! `cargo test` through the very function the target calls, so neither can rot unseen; and the
//! target still calls that function.

use std::path::Path;

#[test]
fn the_fuzz_corpus_replays_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/schedule");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("an entry").path())
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 10, "{} inputs", inputs.len());
    for path in inputs.iter().take(2_000) {
        let bytes = std::fs::read(path).expect("a corpus input");
        if let Err(report) = sim::fuzz::judge_tape(&bytes) {
            panic!("{}: {report}", path.display());
        }
    }
}

#[test]
fn the_fuzz_target_runs_the_tested_function() {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets/schedule.rs");
    let source = std::fs::read_to_string(&target).expect("the fuzz target");
    assert!(source.contains("sim::fuzz::judge_tape(data)"), "{source}");
}
