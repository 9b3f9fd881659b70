//! What consumers actually received (SPEC §8.1), read from their sandboxes through the file
//! system right after materialization, against the entries the model says their inputs hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine::fs::Fs;

use super::model::Entry;
use super::{Invariant, Verdicts};
use crate::journal::Snapshot;

/// The expected entries by path; `None` when two inputs provide one path (a collision the
/// engine must refuse).
pub fn by_path(entries: &[Entry]) -> Option<BTreeMap<&Path, &Entry>> {
    let mut map = BTreeMap::new();
    for entry in entries {
        if map.insert(entry.path.as_path(), entry).is_some() {
            return None;
        }
    }
    Some(map)
}

/// Judges a sandbox snapshot against the expected entries: exactly those paths, each with the
/// hashed bytes and exec bit.
pub fn judge_snapshot(
    snapshot: &Snapshot,
    expected: &[Entry],
    tampered: &[PathBuf],
    verdicts: &mut Verdicts,
) {
    let name = &snapshot.consumer;
    let Some(expected) = by_path(expected) else {
        let message = format!("{name} materialized inputs that collide on one path");
        return verdicts.fail(Invariant::Integrity, message);
    };
    for problem in &snapshot.problems {
        let message = format!("{name}'s sandbox holds something that is not a file: {problem}");
        verdicts.fail(Invariant::Integrity, message);
    }
    for (path, (bytes, x)) in &snapshot.entries {
        if tampered.contains(path) {
            continue; // the simulator wrote into this sandbox file
        }
        let message = match expected.get(path.as_path()) {
            Some(entry) if entry.admits(bytes, *x) => continue,
            Some(entry) => format!(
                "{name} received {} ({} bytes, x={x}) but {} were hashed",
                path.display(),
                bytes.len(),
                entry.describe()
            ),
            None => format!(
                "{name} received {} which none of its inputs provides",
                path.display()
            ),
        };
        verdicts.fail(Invariant::Integrity, message);
    }
    for path in expected
        .keys()
        .filter(|p| !snapshot.entries.contains_key(**p))
    {
        let message = format!(
            "{name} materialized its inputs without receiving {}",
            path.display()
        );
        verdicts.fail(Invariant::Integrity, message);
    }
}

/// The entries as received, for outputs computed from bytes the model does not know: the
/// snapshot's bytes where an entry's expectation is only a hash.
pub fn known_entries(expected: &[Entry], snapshot: Option<&Snapshot>) -> Vec<Entry> {
    expected
        .iter()
        .map(
            |e| match (e.bytes(), snapshot.and_then(|s| s.entries.get(&e.path))) {
                (None, Some((bytes, x))) if e.admits(bytes, *x) => Entry {
                    expect: super::model::Expect::Bytes(bytes.clone()),
                    ..e.clone()
                },
                _ => e.clone(),
            },
        )
        .collect()
}

/// SPEC §7: a consumer that failed with `InvalidData` leaves its sandbox for diagnosis and
/// gets no cache entry.
pub fn judge_left_for_diagnosis(
    b: &super::judge::BuildInput,
    name: &str,
    sandbox: &Path,
    verdicts: &mut Verdicts,
) {
    if b.fs.symlink_metadata(sandbox).is_err() {
        let message = format!("{name} failed with InvalidData but its sandbox {} is gone: SPEC §7 leaves it for diagnosis", sandbox.display());
        verdicts.fail(Invariant::SandboxCleanup, message);
    }
    let wrote = b
        .journal
        .writes
        .iter()
        .find(|w| w.build == b.build && w.target == name);
    if let Some(write) = wrote {
        let message = format!(
            "{name} failed with InvalidData but wrote the cache entry {}: SPEC §7 gives it none",
            write.key
        );
        verdicts.fail(Invariant::NoPoisoning, message);
    }
}

/// An exec or plugin target that succeeded must have deleted its sandbox after caching.
pub fn judge_cleanup(fs: &dyn Fs, name: &str, sandbox: &Path, verdicts: &mut Verdicts) {
    if fs.symlink_metadata(sandbox).is_ok() {
        let message = format!(
            "{name}'s sandbox {} was kept after its build succeeded",
            sandbox.display()
        );
        verdicts.fail(Invariant::SandboxCleanup, message);
    }
}
