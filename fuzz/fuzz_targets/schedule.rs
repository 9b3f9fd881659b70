//! libFuzzer target: the input bytes are the generator's decision tape; the scenario runs on
//! MemFs under the oracle, and any violation aborts with the scenario JSON (replay it with
//! `sim replay --scenario FILE`) printed first. The target itself is in `schedule_target.rs`,
//! which plain `cargo test` compiles too (`sim/tests/fuzz_corpus.rs`, with a stand-in for
//! `fuzz_target!`), so it cannot rot on stable.
#![no_main]

include!("schedule_target.rs");
