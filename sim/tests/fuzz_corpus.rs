//! The fuzz target (`fuzz/fuzz_targets/schedule_target.rs`) compiled by plain `cargo test` on
//! stable, with a stand-in for libFuzzer's `fuzz_target!` macro, and its corpus
//! (`fuzz/corpus/schedule/`, grown by `just fuzz`) replayed through it: neither can rot unseen.

use std::path::Path;

/// The target's own source, compiled here: `fuzz_target!(|data: &[u8]| body)` becomes
/// `fn fuzz_one(data: &[u8]) body`.
mod target {
    mod libfuzzer_sys {
        macro_rules! fuzz_target {
            (|$data:ident: &[u8]| $body:block) => {
                pub fn fuzz_one($data: &[u8]) $body
            };
        }
        pub(crate) use fuzz_target;
    }

    include!("../../fuzz/fuzz_targets/schedule_target.rs");
}

fn corpus() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/schedule");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("an entry").path())
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn the_fuzz_target_replays_its_corpus_clean() {
    let inputs = corpus();
    assert!(inputs.len() >= 10, "{} inputs", inputs.len());
    for path in inputs.iter().take(2_000) {
        let bytes = std::fs::read(path).expect("a corpus input");
        // A violation panics inside the target with the scenario first; name the input too.
        let outcome = std::panic::catch_unwind(|| target::fuzz_one(&bytes));
        assert!(
            outcome.is_ok(),
            "fuzz corpus input {} broke an invariant",
            path.display()
        );
    }
}

/// The target does not swallow a violation: under a seeded regression, some corpus input
/// makes it panic (run by `just test` with `--features regressions`).
#[cfg(feature = "regressions")]
#[test]
fn the_fuzz_target_aborts_on_a_violation() {
    use engine::regress::Regression;
    let inputs: Vec<Vec<u8>> = corpus()
        .iter()
        .map(|p| std::fs::read(p).expect("an input"))
        .collect();
    for regression in [Regression::HashFirstChunkOnly, Regression::SkipSmallVerify] {
        let aborted = engine::regress::with(Some(regression), || {
            inputs
                .iter()
                .any(|bytes| std::panic::catch_unwind(|| target::fuzz_one(bytes)).is_err())
        });
        assert!(
            aborted,
            "no corpus input made the target abort under {regression:?}"
        );
    }
}
