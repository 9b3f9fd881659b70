//! Gating (SPEC §4) from definitions: whether each output passes through is decided by the
//! model from the producing target's definition (`use_tmp_cache` and the content's producer),
//! never from its name or the engine's events; the engine's artifacts and cache writes are
//! checked against it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use engine::{Content, TargetResult};

use super::model::{Artifact, Entry};
use super::{Invariant, Verdicts};
use crate::tap::{Access, Seen};

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

/// The cache entries a target was seen writing: files it created under the state directory's
/// `cache/{key}/` or `tmp/{key}_{nanos}/` (the tap's log), and tmp blobs new in memory since
/// the last build under a directory named for `key`.
pub struct Written<'a> {
    /// Where the engine keeps its state.
    pub state_dir: &'a Path,
    /// The tap's log of the build.
    pub seen: &'a [Seen],
    /// The tmp cache's in-memory blobs that are new in this build.
    pub new_in_memory: &'a [PathBuf],
    /// The build.
    pub build: u8,
}

impl Written<'_> {
    /// The entry directories (`cache/{key}` or `tmp/{key}_{nanos}`) `target`, whose key is
    /// `key`, was seen writing.
    pub fn by(&self, target: &str, key: &str) -> BTreeSet<PathBuf> {
        // `cache/{key}` or `tmp/{key}_{nanos}`, relative to the state directory.
        let ours = |entry: &Path| -> bool {
            let text = entry.to_string_lossy();
            match text.split_once('/') {
                Some(("cache", dir)) => dir == key,
                Some(("tmp", dir)) => dir.strip_prefix(key).is_some_and(|r| r.starts_with('_')),
                _ => false,
            }
        };
        let files = self.seen.iter().filter(|s| {
            s.access == Access::WriteCache && s.build == self.build && &*s.target == target
        });
        let mut dirs: BTreeSet<PathBuf> = files
            .filter(|s| ours(&s.path))
            .map(|s| s.path.clone())
            .collect();
        for blob in self.new_in_memory {
            let Ok(rest) = blob.strip_prefix(self.state_dir) else {
                continue;
            };
            let entry: PathBuf = rest.components().take(2).collect();
            if ours(&entry) {
                dirs.insert(entry);
            }
        }
        dirs
    }
}

/// SPEC §4-5 as observed: a target with nothing to pack writes no cache entry at all, and one
/// with something to pack writes one (the files it was seen writing, or the tmp blobs new in
/// memory under its key), which is the key it reports.
pub fn judge_cache_write(
    name: &str,
    result: &TargetResult,
    (packs, key): (bool, &str),
    written: &Written,
    verdicts: &mut Verdicts,
) {
    let dirs = written.by(name, key);
    if !packs && !dirs.is_empty() {
        let message = format!(
            "{name} wrote the cache entry {} though all its outputs pass through",
            first(&dirs)
        );
        verdicts.fail(Invariant::Gating, message);
    }
    if packs && dirs.is_empty() {
        let message = format!(
            "{name} ran and packs outputs, but was seen writing no cache entry under its key {key}"
        );
        verdicts.fail(Invariant::Gating, message);
    }
    if !packs && result.cache_key.is_some() {
        let message = format!("{name} reports a cache entry though all its outputs pass through");
        verdicts.fail(Invariant::Gating, message);
    }
    if packs && result.cache_key.is_none() {
        let message = format!("{name} ran but reports no cache entry for what it packs");
        verdicts.fail(Invariant::Gating, message);
    }
}

fn first(dirs: &BTreeSet<PathBuf>) -> String {
    dirs.iter()
        .next()
        .map_or(String::new(), |d| d.display().to_string())
}

/// SPEC §4 as a consumer's reads show it: it opened from the workspace exactly the sources of
/// the entries it receives by reference (`live`), and none whose bytes a cache must deliver.
pub fn judge_live_reads(
    name: &str,
    build: u8,
    expected: &[Entry],
    seen: &[Seen],
    verdicts: &mut Verdicts,
) {
    let live: BTreeSet<&Path> = expected
        .iter()
        .filter(|e| e.live)
        .filter_map(|e| e.origin.as_ref().map(|o| o.path.as_path()))
        .collect();
    let packed: BTreeSet<&Path> = expected
        .iter()
        .filter(|e| !e.live)
        .filter_map(|e| e.origin.as_ref().map(|o| o.path.as_path()))
        .filter(|p| !live.contains(p))
        .collect();
    let opened: BTreeSet<&Path> = seen
        .iter()
        .filter(|s| s.build == build && &*s.target == name && s.access == Access::ReadWorkspace)
        .map(|s| s.path.as_path())
        .collect();
    if let Some(path) = live.iter().find(|p| !opened.contains(*p)) {
        let message = format!("{name} received {} without reading it from the workspace, though SPEC §4 passes it through by reference", path.display());
        verdicts.fail(Invariant::Gating, message);
    }
    if let Some(path) = packed.iter().find(|p| opened.contains(*p)) {
        let message = format!("{name} read {} from the workspace, though SPEC §4 packs it: its bytes must come from the cache", path.display());
        verdicts.fail(Invariant::Gating, message);
    }
}
