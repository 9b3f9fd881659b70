//! libFuzzer target: the input bytes are the generator's decision tape; the scenario runs on
//! MemFs under the oracle, and any violation aborts with the scenario JSON (replay it with
//! `sim replay --scenario FILE`) printed first.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(report) = sim::fuzz::judge_tape(data) {
        panic!("{report}");
    }
});
