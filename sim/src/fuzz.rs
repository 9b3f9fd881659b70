//! What the fuzz target (`fuzz/fuzz_targets/schedule.rs`, cargo-fuzz) runs on each input: the
//! bytes are a decision tape for the generator; the scenario runs on MemFs under the oracle,
//! with heph's walker, with the racy one, and in one cell of the policy matrix that the tape
//! also decides (drawn after the scenario, so a tape's scenario does not depend on it). Kept here, in the stable workspace, so that plain
//! `cargo test` replays the fuzz corpus through exactly this code (`tests/fuzz_corpus.rs`).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::policies::{other_policies, GRANULARITIES};
use crate::rng::{Choices, Tape};
use crate::scenario::{generate_from, Palette};
use crate::schedule::{run, PolicyCell, RunOptions};

/// At most this many input bytes are read (a scenario needs a few hundred).
pub const MAX_TAPE: usize = 1 << 16;

/// Ok, or the report of a violation: the scenario JSON first (to replay with
/// `sim replay --scenario FILE`), then what broke.
pub fn judge_tape(bytes: &[u8]) -> Result<(), String> {
    // Counts the inputs this process judged, so that a kill reports after how many (the
    // kill-time table in BENCHMARKS.md, `scripts/fuzz-kill`).
    static JUDGED: AtomicU64 = AtomicU64::new(0);
    let judged = JUDGED.fetch_add(1, Ordering::Relaxed) + 1;
    let mut tape = Tape::new(&bytes[..bytes.len().min(MAX_TAPE)]);
    let scenario = generate_from(&mut tape, Palette::full());
    let cell = PolicyCell {
        policy: *tape.pick(other_policies()),
        granularity_ns: *tape.pick(&GRANULARITIES),
    };
    for (racy, cell) in [(false, None), (true, None), (false, Some(cell))] {
        let options = RunOptions {
            racy,
            cell,
            ..RunOptions::default()
        };
        let broken = match run(&scenario, &options) {
            Ok(result) => result.broken,
            Err(message) => return Err(format!("schedule could not run: {message}")),
        };
        if let Some(first) = broken.first() {
            let json = serde_json::to_string(&scenario).unwrap_or_default();
            let flags = match (racy, cell) {
                (_, Some(c)) => format!(
                    " --policy {} --granularity {}ns",
                    c.policy.name(),
                    c.granularity_ns
                ),
                (true, None) => " --racy".to_string(),
                (false, None) => String::new(),
            };
            return Err(format!(
                "scenario (save it and run `sim replay --scenario FILE{flags}`): {json}\n\
                 {:?}: {}\nfuzz input #{judged} of this process",
                first.invariant, first.message
            ));
        }
    }
    Ok(())
}
