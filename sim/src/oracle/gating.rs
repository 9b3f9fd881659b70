//! Gating (SPEC §4) from definitions: whether each output passes through is decided by the
//! model from the producing target's definition (`use_tmp_cache` and the content's producer),
//! never from its name or the engine's events; the engine's artifacts and cache writes are
//! checked against it.

use engine::{Content, Event, TargetResult};

use super::model::Artifact;
use super::{Invariant, Verdicts};

/// Checks that the engine passed through exactly what the model passes through and packed the
/// rest, and hashed every artifact as the model did.
pub fn judge_artifacts(
    name: &str,
    result: &TargetResult,
    expected: &[Artifact],
    verdicts: &mut Verdicts,
) {
    let got: Vec<&str> = result.artifacts.iter().map(|a| a.group.as_str()).collect();
    let want: Vec<&str> = expected.iter().map(|a| a.group.as_str()).collect();
    if got != want {
        let message =
            format!("{name} produced artifacts {got:?} where its definition produces {want:?}");
        return verdicts.fail(Invariant::Integrity, message);
    }
    for (artifact, model) in result.artifacts.iter().zip(expected) {
        let passed = matches!(
            artifact.content,
            Content::File {
                passthrough: true,
                ..
            } | Content::View(_)
        );
        let packed = matches!(artifact.content, Content::Tar(_));
        let group = &artifact.group;
        if model.passes_through && !passed {
            let message = format!(
                "{name}'s output {group} is a {} but SPEC §4 passes it through",
                artifact.content.kind_name()
            );
            verdicts.fail(Invariant::Gating, message);
        } else if !model.passes_through && !packed {
            let message = format!(
                "{name}'s output {group} was not packed ({}) though SPEC §4 says it packs",
                artifact.content.kind_name()
            );
            verdicts.fail(Invariant::Gating, message);
        }
        if artifact.hashout != model.hashout {
            let message = format!(
                "{name}'s output {group} has hashout {} but its content hashes to {}",
                artifact.hashout, model.hashout
            );
            verdicts.fail(Invariant::HashParity, message);
        }
    }
}

/// A target with nothing to pack writes no cache entry at all (SPEC §5), and one with
/// something to pack reports the key it wrote.
pub fn judge_cache_write(
    name: &str,
    result: &TargetResult,
    packs: bool,
    events: &[Event],
    verdicts: &mut Verdicts,
) {
    let wrote = events
        .iter()
        .any(|e| matches!(e, Event::CacheWriteStart { target, .. } if target == name));
    if !packs && (wrote || result.cache_key.is_some()) {
        let message = format!("{name} wrote a cache entry though all its outputs pass through");
        verdicts.fail(Invariant::Gating, message);
    }
    if packs && result.cache_key.is_none() {
        let message = format!("{name} ran but reports no cache entry for what it packs");
        verdicts.fail(Invariant::Gating, message);
    }
}
