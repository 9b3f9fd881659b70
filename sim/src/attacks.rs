//! Mutations of the engine's own state, not of the workspace: cache tars and manifests cut off,
//! corrupted or deleted between builds, tmp spills cut off, a consumer's sandbox written into,
//! and I/O faults (and crashes) armed for the engine's next matching operation.
//!
//! The engine must treat a damaged entry as a miss (or fail with a clear typed error), never
//! deliver or re-cache wrong bytes; the oracle is told what was damaged (the journal).

use std::path::{Path, PathBuf};

use engine::fs::{FileKind, Fs};

use crate::faults::Fault;
use crate::mutation::{different, MutationKind, World};

/// What an attack did, for the journal: the damaged file, and whether it is a cache file
/// (else a sandbox file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The file damaged (or created, in a sandbox).
    pub path: PathBuf,
}

/// Applies an engine-state `kind`, choosing the `pick`-th candidate file; `None` when `kind` is
/// not an attack on the engine's state.
pub fn apply(
    fs: &dyn Fs,
    kind: MutationKind,
    pick: usize,
    path: &Path,
    world: &World,
) -> Option<Result<Option<Damage>, String>> {
    let state = world.state_dir;
    let fault = |f: Fault| {
        if let Some(faults) = world.faults {
            faults.arm(f, path);
        }
        Ok(None)
    };
    let result = match kind {
        MutationKind::CorruptTar => damage(fs, &files(fs, &state.join("cache"), "tar"), pick, flip),
        MutationKind::TruncateTar => damage(fs, &files(fs, &state.join("cache"), "tar"), pick, cut),
        MutationKind::DeleteTar => {
            damage(fs, &files(fs, &state.join("cache"), "tar"), pick, delete)
        }
        MutationKind::CorruptManifest => {
            damage(fs, &files(fs, &state.join("cache"), "json"), pick, flip)
        }
        MutationKind::DeleteManifest => {
            damage(fs, &files(fs, &state.join("cache"), "json"), pick, delete)
        }
        MutationKind::TruncateSpill => damage(fs, &files(fs, &state.join("tmp"), "tar"), pick, cut),
        MutationKind::WriteIntoSandbox => write_into_sandbox(
            fs,
            &state.join("sandbox").join(world.target),
            world.packing,
            pick,
        ),
        MutationKind::FaultEio => fault(Fault::Eio),
        MutationKind::FaultEintr => fault(Fault::Eintr),
        MutationKind::FaultShortRead => fault(Fault::ShortRead),
        MutationKind::FaultEnospc => fault(Fault::Enospc),
        MutationKind::FaultShortWrite => fault(Fault::ShortWrite),
        MutationKind::Crash => fault(Fault::Crash),
        MutationKind::FaultEintrStorm => fault(Fault::EintrStorm),
        MutationKind::FaultDirEio => fault(Fault::DirEio),
        MutationKind::TransplantEntry => transplant(fs, &state.join("cache"), pick),
        _ => return None,
    };
    Some(result)
}

/// How deep under an entry's directory its files are looked for.
const MAX_ENTRY_DEPTH: usize = 16;

/// Files ending in `.{ext}` under each entry of `dir` (`{dir}/{key}/…/{file}`, at any depth:
/// the tars of nested outputs live in subdirectories), sorted by path within each entry.
fn files(fs: &dyn Fs, dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for key in fs.read_dir(dir).unwrap_or_default() {
        let mut pending = vec![(dir.join(&key), 0usize)];
        let mut found = Vec::new();
        while let Some((at, depth)) = pending.pop() {
            for name in fs.read_dir(&at).unwrap_or_default() {
                let path = at.join(&name);
                match fs.symlink_metadata(&path).map(|m| m.kind) {
                    Ok(FileKind::File) if name.ends_with(&format!(".{ext}")) => found.push(path),
                    Ok(FileKind::Dir) if depth < MAX_ENTRY_DEPTH => pending.push((path, depth + 1)),
                    _ => {}
                }
            }
        }
        found.sort();
        out.extend(found);
    }
    out
}

/// At most this many local entries are considered for a transplant.
const MAX_ENTRIES: usize = 1_024;

/// Replaces the files of the `pick`-th complete local entry with those of the next one (in
/// sorted order, wrapping): the manifest and tars of another key under this key's name.
fn transplant(fs: &dyn Fs, cache: &Path, pick: usize) -> Result<Option<Damage>, String> {
    let manifests: Vec<PathBuf> = files(fs, cache, "json")
        .into_iter()
        .filter(|m| m.parent().and_then(Path::parent) == Some(cache))
        .collect();
    let n = manifests.len().min(MAX_ENTRIES);
    if n < 2 {
        return Err("fewer than two cache entries to transplant between".into());
    }
    let manifest = &manifests[pick % n];
    let (into, from) = (manifest.parent(), manifests[(pick + 1) % n].parent());
    let (Some(into), Some(from)) = (into, from) else {
        unreachable!("a manifest lies in its entry's directory");
    };
    assert_ne!(into, from, "two entries of one key");
    let io = |what: &str, path: &Path, e: std::io::Error| format!("{what} {}: {e}", path.display());
    // Tars of nested outputs live in subdirectories: the whole tree is read, then replaced.
    let (files, problems) = crate::journal::snapshot_dir(fs, from);
    if let Some(problem) = problems.first() {
        return Err(format!("reading {}: {problem}", from.display()));
    }
    fs.remove_dir_all(into)
        .map_err(|e| io("removing", into, e))?;
    for (rel, (bytes, _)) in &files {
        let to = into.join(rel);
        let parent = to.parent().unwrap_or(into);
        fs.create_dir_all(parent)
            .map_err(|e| io("creating", parent, e))?;
        fs.write(&to, bytes).map_err(|e| io("writing", &to, e))?;
    }
    Ok(Some(Damage {
        path: manifest.clone(),
    }))
}

fn damage(
    fs: &dyn Fs,
    candidates: &[PathBuf],
    pick: usize,
    how: fn(&dyn Fs, &Path) -> std::io::Result<()>,
) -> Result<Option<Damage>, String> {
    if candidates.is_empty() {
        return Err("nothing of that kind in the engine's state to damage".into());
    }
    let path = &candidates[pick % candidates.len()];
    how(fs, path).map_err(|e| format!("damaging {}: {e}", path.display()))?;
    Ok(Some(Damage { path: path.clone() }))
}

/// Changes one byte (adds one: two attacks never undo each other): the first content byte of a
/// tar (after its 512-byte header), the middle byte of anything shorter.
fn flip(fs: &dyn Fs, path: &Path) -> std::io::Result<()> {
    let mut bytes = fs.read(path, 1 << 30)?;
    let at = if bytes.len() > 512 {
        512
    } else {
        bytes.len() / 2
    };
    if let Some(b) = bytes.get_mut(at) {
        *b = b.wrapping_add(1);
    }
    fs.write(path, &bytes)
}

fn cut(fs: &dyn Fs, path: &Path) -> std::io::Result<()> {
    let len = fs.metadata(path)?.len;
    fs.set_len(path, len / 2)
}

fn delete(fs: &dyn Fs, path: &Path) -> std::io::Result<()> {
    fs.remove_file(path)
}

/// Overwrites a file of a consumer's sandbox with other bytes, or puts a stranger there when it
/// holds none yet. While the target packs its outputs (a leftover process writing after its
/// step), the `pick`-th file of the sandbox, packed already, now or next; else the first.
fn write_into_sandbox(
    fs: &dyn Fs,
    sandbox: &Path,
    packing: bool,
    pick: usize,
) -> Result<Option<Damage>, String> {
    if !fs.exists(sandbox) {
        return Err(format!("no sandbox at {}", sandbox.display()));
    }
    let (entries, _) = crate::journal::snapshot_dir(fs, sandbox);
    let at = if packing && !entries.is_empty() {
        pick % entries.len()
    } else {
        0
    };
    let (path, bytes) = match entries.iter().nth(at) {
        Some((rel, (old, _))) => (sandbox.join(rel), different(old, old.len().max(1))),
        None => (sandbox.join("intruder.txt"), b"intruder\n".to_vec()),
    };
    fs.write(&path, &bytes)
        .map_err(|e| format!("writing into {}: {e}", path.display()))?;
    Ok(Some(Damage { path }))
}
