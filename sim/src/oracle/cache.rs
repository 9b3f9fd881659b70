//! What the caches hold, read directly: the oracle lists the local cache directory through the
//! file system, parses each manifest as plain JSON and unpacks every tar itself with the `tar`
//! crate (names, sizes, bytes and the exec bit of each header), and reads tmp-cache blobs as raw
//! bytes. Nothing here goes through the engine's cache code.
//!
//! And what the caches hold, judged: the entry a hit was served, every local and tmp entry a
//! target wrote, the local cache directory and the tmp cache after each build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::fs::Fs;
use engine::target::{Driver, Target};
use engine::TargetResult;

use super::hashing::{checksum, oracle_hashout};
use super::judge::{BuildInput, Oracle};
use super::ledger::Check;
use super::model::{uses_tmp, Artifact, Entry, Expect};
use super::Invariant;
use crate::journal::MAX_READ;

/// At most this many tmp keys are listed when looking for spills (a schedule writes a few).
const MAX_TMP_KEYS: usize = 4_096;

/// SPEC §5: the manifest's name in an entry directory (written last).
pub const MANIFEST: &str = "manifest.json";
/// At most this many entries in one tar the oracle reads.
pub const MAX_TAR_ENTRIES: usize = 100_000;

/// One file inside a cache tar: its bytes are a window onto the tar's (never copied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarEntry {
    /// Path in the header.
    pub path: PathBuf,
    /// The whole tar.
    pub tar: Arc<Vec<u8>>,
    /// Where its bytes lie in the tar.
    pub range: std::ops::Range<usize>,
    /// The exec bit of its header's mode.
    pub x: bool,
}

/// One artifact of a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestItem {
    /// Output group.
    pub group: String,
    /// Role, as written (`Output`, `Log`, `SupportFile`).
    pub kind: String,
    /// The tar's file name.
    pub tar: String,
    /// The hashout recorded.
    pub hashout: String,
    /// The checksum recorded for the tar's bytes.
    pub tar_hash: String,
}

/// A complete local cache entry as found on the file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalEntry {
    /// The key its manifest says it was written under.
    pub key: String,
    /// Its artifacts.
    pub items: Vec<ManifestItem>,
    /// Each tar's entries, or why it could not be read.
    pub tars: BTreeMap<String, Result<Vec<TarEntry>, String>>,
}

impl TarEntry {
    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.tar[self.range.clone()]
    }
}

/// Unpacks tar bytes: every entry must be a regular file whose data lies within the bytes.
pub fn parse_tar(tar: &Arc<Vec<u8>>) -> Result<Vec<TarEntry>, String> {
    let bytes = tar.as_slice();
    // Seeking over a cursor: tar's non-seeking skip would zero a 32 KiB buffer per entry.
    let mut archive = tar::Archive::new(std::io::Cursor::new(bytes));
    let mut out = Vec::new();
    for entry in archive.entries_with_seek().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        if out.len() >= MAX_TAR_ENTRIES {
            return Err(format!("more than {MAX_TAR_ENTRIES} entries"));
        }
        let header = entry.header();
        if header.entry_type() != tar::EntryType::Regular {
            return Err(format!("entry of type {:?}", header.entry_type()));
        }
        let x = header.mode().map_err(|e| e.to_string())? & 0o111 != 0;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let start = entry.raw_file_position();
        let range = usize::try_from(start)
            .ok()
            .zip(usize::try_from(entry.size()).ok())
            .and_then(|(start, size)| Some(start..start.checked_add(size)?))
            .filter(|r| r.end <= bytes.len())
            .ok_or_else(|| format!("entry {} runs past the end", path.display()))?;
        out.push(TarEntry {
            path,
            tar: tar.clone(),
            range,
            x,
        });
    }
    Ok(out)
}

/// The complete entry of `key` under `dir`, if its manifest exists.
pub fn read_one(fs: &dyn Fs, dir: &Path, key: &str) -> Option<Result<LocalEntry, String>> {
    let manifest = dir.join(key).join(MANIFEST);
    fs.exists(&manifest)
        .then(|| read_entry(fs, &dir.join(key), &manifest))
}

fn read_entry(fs: &dyn Fs, dir: &Path, manifest: &Path) -> Result<LocalEntry, String> {
    let bytes = fs
        .read_shared(manifest, MAX_READ)
        .map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&bytes).map_err(|e| format!("manifest is not UTF-8: {e}"))?;
    let (json, sum) = text
        .strip_suffix('\n')
        .and_then(|t| t.rsplit_once('\n'))
        .ok_or("manifest lacks its checksum line")?;
    if checksum(json.as_bytes()) != sum {
        return Err(format!("manifest checksum {sum} does not match its JSON"));
    }
    let json: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("manifest is not JSON: {e}"))?;
    let text = |v: &serde_json::Value, field: &str| {
        v.get(field)
            .and_then(|f| f.as_str())
            .map(String::from)
            .ok_or_else(|| format!("manifest lacks {field}"))
    };
    let key = text(&json, "key")?;
    let mut items = Vec::new();
    let mut tars = BTreeMap::new();
    let artifacts = json.get("artifacts").and_then(|a| a.as_array());
    for item in artifacts.ok_or("manifest lacks artifacts")? {
        let item = ManifestItem {
            group: text(item, "group")?,
            kind: text(item, "kind")?,
            tar: text(item, "tar")?,
            hashout: text(item, "hashout")?,
            tar_hash: text(item, "tar_hash")?,
        };
        let tar = fs
            .read_shared(&dir.join(&item.tar), MAX_READ)
            .map_err(|e| e.to_string())
            .and_then(|b| match checksum(&b) == item.tar_hash {
                true => parse_tar(&b),
                false => Err(format!(
                    "checksum {} recorded, {} read",
                    item.tar_hash,
                    checksum(&b)
                )),
            });
        tars.insert(item.tar.clone(), tar);
        items.push(item);
    }
    Ok(LocalEntry { key, items, tars })
}

/// The difference between a tar's entries and what an artifact must hold, if any.
pub fn tar_difference(expected: &[Entry], got: &[TarEntry]) -> Option<String> {
    let describe = |e: &TarEntry| {
        let (path, len, sum) = (e.path.display(), e.range.len(), checksum(e.bytes()));
        format!("{path}:{len}B ({sum}):x={}", e.x)
    };
    let want = |e: &Entry| format!("{}:{}", e.path.display(), e.describe());
    let same = expected.len() == got.len()
        && expected
            .iter()
            .zip(got)
            .all(|(e, g)| e.path == g.path && e.admits(g.bytes(), g.x));
    (!same).then(|| {
        let got: Vec<String> = got.iter().map(describe).collect();
        let want: Vec<String> = expected.iter().map(want).collect();
        format!("[{}] where [{}] was hashed", got.join(" "), want.join(" "))
    })
}

/// The difference between a local entry and the packed artifacts a clean build writes under
/// its key, if any.
pub fn entry_difference(expected: &[&Artifact], entry: &LocalEntry) -> Option<String> {
    if expected.len() != entry.items.len() {
        return Some(format!(
            "{} artifacts where {} are packed",
            entry.items.len(),
            expected.len()
        ));
    }
    for (artifact, item) in expected.iter().zip(&entry.items) {
        let kind = format!("{:?}", artifact.kind);
        if item.group != artifact.group || item.kind != kind || item.tar != artifact.tar_name() {
            return Some(format!(
                "artifact {}/{}/{} where {}/{kind}/{} is packed",
                item.group,
                item.kind,
                item.tar,
                artifact.group,
                artifact.tar_name()
            ));
        }
        if item.hashout != artifact.hashout {
            return Some(format!(
                "{} recorded with hashout {} where its content hashes to {}",
                item.group, item.hashout, artifact.hashout
            ));
        }
        match entry.tars.get(&item.tar) {
            Some(Ok(got)) => {
                if let Some(d) = tar_difference(&artifact.entries, got) {
                    return Some(format!("{}: {d}", item.tar));
                }
            }
            Some(Err(e)) => return Some(format!("{} unreadable: {e}", item.tar)),
            None => return Some(format!("{} missing", item.tar)),
        }
    }
    None
}

impl Oracle {
    /// The entry a cache hit was served (`served`) against its key and the clean builds'
    /// writes; what it holds, when a clean build wrote it.
    pub(super) fn judge_served(
        &mut self,
        b: &BuildInput,
        target: &Target,
        served: &str,
        key: &str,
    ) -> Option<Vec<Artifact>> {
        let name = &target.name;
        self.verdicts.ledger.fired(Check::CacheHit);
        let looked_up = b
            .journal
            .lookups
            .iter()
            .rfind(|l| l.build == b.build && &l.target == name)
            .map_or(u64::MAX, |l| l.seq);
        let written = b.journal.last_write(served);
        let damaged = b.journal.damages.iter().any(|d| {
            d.seq > written
                && d.seq < looked_up
                && d.path.starts_with(b.state_dir.join("cache").join(served))
        });
        if damaged {
            let message = format!("{name} was served the cache entry {served}, which was damaged since it was written: a damaged entry must be a miss");
            self.verdicts.fail(Invariant::NoPoisoning, message);
        }
        if uses_tmp(target) {
            let message =
                format!("{name} was served from the cache though SPEC §4 puts it on the tmp path");
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        if served != key {
            let message = format!(
                "{name} was served from the cache under {served}, not under its inputs' key {key}"
            );
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        let Some(outputs) = self.committed.get(served).cloned() else {
            let message = format!("{name}: cache hit on key {served}, which no clean build wrote");
            self.verdicts.fail(Invariant::CacheKey, message);
            return None;
        };
        Some(outputs)
    }

    pub(super) fn judge_tmp_write(
        &mut self,
        b: &BuildInput,
        name: &str,
        r: &TargetResult,
        key: &str,
        outputs: &[Artifact],
    ) {
        let written = r.cache_key.as_deref().unwrap_or_default();
        self.verdicts.ledger.fired(Check::TmpWrite);
        let well_formed = written
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
        if !well_formed {
            let message = format!("{name} wrote its tmp entry under {written}, not {key}_<nanos>");
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        for (artifact, model) in r
            .artifacts
            .iter()
            .zip(outputs)
            .filter(|(_, m)| !m.passes_through)
        {
            let engine::Content::Tar(path) = &artifact.content else {
                continue;
            };
            if b.journal.damaged_under(path, b.journal.last_write(written)) {
                self.verdicts
                    .ledger
                    .skipped(Check::TmpWrite, "damaged by the simulator since");
                continue; // damaged by the simulator after it was written
            }
            // Held in memory (looked at, read-only), or spilled: read from the file system as
            // it is, never through the engine's cache code or its faults.
            let bytes = b
                .store
                .tmp
                .memory_blob(path)
                .or_else(|| b.fs.read_shared(path, MAX_READ).ok());
            let difference = match bytes.as_ref().map(parse_tar) {
                Some(Ok(got)) => tar_difference(&model.entries, &got),
                Some(Err(e)) => Some(format!("unreadable: {e}")),
                None => Some("missing".to_string()),
            };
            if let Some(d) = difference {
                let message = format!("{name}'s tmp cache tar {}: {d}", path.display());
                self.verdicts.fail(Invariant::NoPoisoning, message);
            }
        }
    }

    pub(super) fn judge_local_write(
        &mut self,
        b: &BuildInput,
        driver: &Driver,
        name: &str,
        written: &str,
        key: &str,
        outputs: &[Artifact],
    ) {
        self.verdicts.ledger.fired(Check::LocalWrite);
        if written != key {
            let message =
                format!("{name} wrote its cache entry under {written}, not its key {key}");
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        let packed: Vec<&Artifact> = outputs.iter().collect();
        let dir = b.state_dir.join("cache");
        let last_writer = b.journal.last_writer(key);
        let difference = match read_one(b.fs, &dir, key) {
            _ if b
                .journal
                .damaged_under(&dir.join(key), b.journal.last_write(key)) =>
            {
                None
            }
            // Another target's later write of the same key is the entry on disk.
            _ if last_writer.is_some_and(|w| w != name) => None,
            Some(Ok(entry)) => entry_difference(&packed, &entry),
            Some(Err(e)) => Some(format!("unreadable: {e}")),
            None => Some("no complete entry (manifest) was written".to_string()),
        };
        if let Some(d) = difference {
            let message = format!("{name} cached under {key}: {d}");
            self.verdicts.fail(Invariant::NoPoisoning, message);
        }
        self.fresh_keys.insert(key.to_string());
        let writer = self.writers.insert(key.to_string(), name.to_string());
        if let Some(before) = self.committed.insert(key.to_string(), outputs.to_vec()) {
            // Only where the key determines the outputs: a cached source target (or a plugin
            // exposing sources) packs whatever the file holds under a key that ignores it.
            if same_content(&before, outputs) || !keyed_outputs(driver) {
                return;
            }
            match writer {
                // SPEC §1's key holds input hashouts, not input paths: equal definitions over
                // equal contents at different paths share a key and may differ in outputs.
                Some(other) if other != name => {
                    let message = format!("{name} and {other} share key {key} but differ in outputs (SPEC §1's key omits input paths)");
                    self.verdicts.find("key_collision", message);
                }
                _ if self.poisoned.contains(key) => {
                    let message = format!("{name}: key {key}, poisoned through a guard's hole, was written again with other outputs");
                    self.verdicts.find("poisoned_key_rewritten", message);
                }
                _ => {
                    let message = format!("{name}: key {key} stands for two different contents");
                    self.verdicts.fail(Invariant::NoPoisoning, message);
                }
            }
        }
    }

    /// Every complete local entry must be one a clean build wrote, still holding what it wrote
    /// (entries judged as they were written in this build are not read twice).
    pub(super) fn judge_cache_dir(&mut self, b: &BuildInput) {
        let dir = b.state_dir.join("cache");
        for key in b.fs.read_dir(&dir).unwrap_or_default() {
            if self.fresh_keys.contains(&key)
                || b.journal
                    .damaged_under(&dir.join(&key), b.journal.last_write(&key))
            {
                continue; // judged as written, or damaged by the simulator since
            }
            let Some(entry) = read_one(b.fs, &dir, &key) else {
                continue; // no manifest: not an entry (a torn write is judged where it happens)
            };
            self.verdicts.ledger.fired(Check::CacheDir);
            let message = match (entry, self.committed.get(&key)) {
                (Err(e), _) => format!("cache entry {key} is unreadable: {e}"),
                (Ok(_), None) => {
                    let message = format!("the cache holds an entry under {key}, a key no target of this schedule should have written");
                    self.verdicts.fail(Invariant::CacheKey, message);
                    continue;
                }
                (Ok(entry), Some(expected)) => {
                    let expected: Vec<&Artifact> = expected.iter().collect();
                    match entry_difference(&expected, &entry) {
                        Some(d) => {
                            format!("cache entry {key} no longer holds what was written: {d}")
                        }
                        None if entry.key != key => {
                            format!("cache entry {key}'s manifest names key {}", entry.key)
                        }
                        None => continue,
                    }
                }
            };
            self.verdicts.fail(Invariant::NoPoisoning, message);
        }
    }

    /// SPEC §5's limits, both ways: what the tmp cache holds in memory stays within them, and a
    /// blob new on the file system since the last judgement (spilled by this engine) was one
    /// that did not fit: over the per-entry limit, or over the total with what memory holds.
    /// Memory only grows within an engine's life (a spill at a held path frees that path's
    /// bytes first), so what it holds now bounds what it held at the spill.
    pub(super) fn judge_tmp_placement(&mut self, b: &BuildInput) {
        let limits = b.tmp_limits;
        let mut held = 0u64;
        for path in b.store.tmp.memory_paths() {
            let len = b
                .store
                .tmp
                .memory_blob(&path)
                .map_or(0, |blob| blob.len() as u64);
            held += len;
            self.verdicts.ledger.fired(Check::TmpPlacement);
            if len > limits.per_entry {
                let message = format!("the tmp cache holds {} ({len} bytes) in memory, over its limit of {} bytes an entry: it must spill", path.display(), limits.per_entry);
                self.verdicts.fail(Invariant::NoPoisoning, message);
            }
        }
        let account = b.store.tmp.memory_bytes();
        if account != held {
            let message = format!("the tmp cache counts {account} bytes in memory but holds {held}: SPEC §5's limits then spill blobs that fit, or keep ones that do not");
            self.verdicts.fail(Invariant::NoPoisoning, message);
        }
        if held > limits.total {
            let message = format!(
                "the tmp cache holds {held} bytes in memory, over its limit of {} in all",
                limits.total
            );
            self.verdicts.fail(Invariant::NoPoisoning, message);
        }
        for (path, len) in self.new_spills(b) {
            if b.journal.damages.iter().any(|d| d.path == path) {
                self.verdicts
                    .ledger
                    .skipped(Check::TmpPlacement, "a spill damaged by the simulator");
                continue;
            }
            self.verdicts.ledger.fired(Check::TmpPlacement);
            if len <= limits.per_entry && held + len <= limits.total {
                let message = format!("the tmp cache spilled {} ({len} bytes) to the file system although it fits in memory (at most {} bytes an entry, {} in all, {held} held now): SPEC §5 spills only beyond the limits", path.display(), limits.per_entry, limits.total);
                self.verdicts.fail(Invariant::NoPoisoning, message);
            }
        }
    }

    /// Spilled blobs (`tmp/{key}/{name}`, not a `.partial`) not listed at an earlier
    /// judgement, or spilled again at their path since (another inode or ctime: a coarse clock
    /// repeats a key), with their sizes; each is remembered, so that a fresh engine's spills
    /// are told from a dead one's.
    pub(super) fn new_spills(&mut self, b: &BuildInput) -> Vec<(PathBuf, u64)> {
        let root = b.state_dir.join("tmp");
        let mut out = Vec::new();
        let keys = b.fs.read_dir(&root).unwrap_or_default();
        for key in keys.into_iter().take(MAX_TMP_KEYS) {
            for name in b.fs.read_dir(&root.join(&key)).unwrap_or_default() {
                let path = root.join(&key).join(&name);
                let Ok(meta) = b.fs.symlink_metadata(&path) else {
                    continue;
                };
                if meta.kind != engine::fs::FileKind::File || name.ends_with(".partial") {
                    continue;
                }
                let identity = (meta.ino, meta.ctime_ns);
                if self.tmp_spills_listed.insert(path.clone(), identity) != Some(identity) {
                    out.push((path, meta.len));
                }
            }
        }
        debug_assert!(out.len() <= self.tmp_spills_listed.len());
        out
    }

    /// No tmp-cache blob may belong to a target that SPEC §4 passes through entirely.
    pub(super) fn judge_tmp_cache(&mut self, b: &BuildInput) {
        let root = b.state_dir.join("tmp");
        let mut paths = b.store.tmp.memory_paths();
        for name in b.fs.read_dir(&root).unwrap_or_default() {
            paths.push(root.join(name));
        }
        for path in paths {
            let Some(dir) = path
                .strip_prefix(&root)
                .ok()
                .and_then(|p| p.components().next())
            else {
                continue;
            };
            let dir = dir.as_os_str().to_string_lossy();
            let hashin = dir.rsplit_once('_').map_or(dir.as_ref(), |(h, _)| h);
            self.verdicts.ledger.fired(Check::TmpCache);
            if self.passthrough_keys.contains(hashin) {
                let message = format!("the tmp cache holds {}, packed by a target whose outputs SPEC §4 passes through", path.display());
                self.verdicts.fail(Invariant::Gating, message);
            }
        }
    }
}

/// True when two predictions hold the same artifacts: hashouts, and each entry's path, exec
/// bit and content hash (whether the bytes themselves are known, and where they came from,
/// aside).
fn same_content(a: &[Artifact], b: &[Artifact]) -> bool {
    type Digest = Vec<(String, String, Vec<(PathBuf, bool, String)>)>;
    let digest = |arts: &[Artifact]| -> Digest {
        arts.iter()
            .map(|a| {
                let entries = a
                    .entries
                    .iter()
                    .map(|e| {
                        let hash = match &e.expect {
                            Expect::Bytes(bytes) => oracle_hashout(bytes, e.x),
                            Expect::HashesTo(hash) => hash.clone(),
                        };
                        (e.path.clone(), e.x, hash)
                    })
                    .collect();
                (a.group.clone(), a.hashout.clone(), entries)
            })
            .collect()
    };
    digest(a) == digest(b)
}

/// True when a target's outputs are a function of its key (its definition and inputs): not so
/// for targets that read workspace files themselves (sources, and plugins exposing them).
fn keyed_outputs(driver: &Driver) -> bool {
    matches!(driver, Driver::Exec { .. } | Driver::Group { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tars_are_read_with_their_exec_bits() {
        let entries = vec![
            engine::cache::PackEntry {
                path: "a/b".into(),
                x: true,
                data: b"xy".to_vec(),
            },
            engine::cache::PackEntry {
                path: "c".into(),
                x: false,
                data: vec![],
            },
        ];
        let bytes = Arc::new(engine::cache::pack(&entries).unwrap());
        let got = parse_tar(&bytes).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].path.as_path(), got[0].bytes(), got[0].x),
            (Path::new("a/b"), &b"xy"[..], true)
        );
        assert_eq!((got[1].path.as_path(), got[1].x), (Path::new("c"), false));
        assert!(
            parse_tar(&Arc::new(b"not a tar at all, just some bytes".to_vec())).is_err()
                || parse_tar(&Arc::new(b"x".to_vec())).unwrap().is_empty()
        );
    }
}
