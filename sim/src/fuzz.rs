//! What the fuzz target (`fuzz/fuzz_targets/schedule.rs`, cargo-fuzz) runs on each input: the
//! bytes are a decision tape for the generator; the scenario runs on MemFs under the oracle,
//! with heph's walker and with the racy one. Kept here, in the stable workspace, so that plain
//! `cargo test` replays the fuzz corpus through exactly this code (`tests/fuzz_corpus.rs`).

use crate::scenario::generate_from_tape;
use crate::schedule::{run, RunOptions};

/// At most this many input bytes are read (a scenario needs a few hundred).
pub const MAX_TAPE: usize = 1 << 16;

/// Ok, or the report of a violation: the scenario JSON first (to replay with
/// `sim replay --scenario FILE`), then what broke.
pub fn judge_tape(bytes: &[u8]) -> Result<(), String> {
    let scenario = generate_from_tape(&bytes[..bytes.len().min(MAX_TAPE)]);
    for racy in [false, true] {
        let options = RunOptions {
            racy,
            ..RunOptions::default()
        };
        let broken = match run(&scenario, &options) {
            Ok(result) => result.broken,
            Err(message) => return Err(format!("schedule could not run: {message}")),
        };
        if let Some(first) = broken.first() {
            let json = serde_json::to_string(&scenario).unwrap_or_default();
            let racy = if racy { " --racy" } else { "" };
            return Err(format!(
                "scenario (save it and run `sim replay --scenario FILE{racy}`): {json}\n{:?}: {}",
                first.invariant, first.message
            ));
        }
    }
    Ok(())
}
