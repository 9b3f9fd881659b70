// The body of the `schedule` fuzz target, without the crate attributes, so that
// `sim/tests/fuzz_corpus.rs` can `include!` it under plain `cargo test`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(report) = sim::fuzz::judge_tape(data) {
        panic!("{report}");
    }
});
