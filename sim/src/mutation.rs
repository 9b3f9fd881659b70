//! Mutations of workspace files and the points where they fire.

use std::io::Write;
use std::path::Path;

use engine::fs::Fs;
use engine::probe::Probe;
use serde::{Deserialize, Serialize};

/// What is done to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationKind {
    /// New bytes of another size.
    Rewrite,
    /// Same size, different bytes.
    SameSizeEdit,
    /// Same size, different bytes, mtime restored to what it was.
    SameSizeEditRestoreMtime,
    /// One byte appended.
    Append,
    /// Cut to half its size.
    Truncate,
    /// Unlinked.
    Delete,
    /// A new file renamed over it.
    RenameOver,
    /// Exec bit set.
    ChmodX,
    /// Exec bit cleared.
    ChmodNoX,
    /// Only the mtime moves.
    Touch,
    /// Rewritten with identical bytes.
    IdenticalRewrite,
    /// Changed, then changed back, before anyone reads it.
    Aba,
    /// One byte appended, then the mtime set back (`touch -r`, archive extraction): only the
    /// size tells a stat-based rule that it changed.
    AppendRestoreMtime,
    /// A new file appears beside it (`{stem}-new.txt`): a glob matching its name picks it up.
    CreateSibling,
    /// The file becomes an (empty) directory.
    ToDirectory,
    /// A directory at its path becomes a file again.
    BackToFile,
    /// Its parent directory is removed, with everything in it.
    RemoveParent,
    /// Its parent directory is renamed away (`{dir}-moved`).
    RenameParent,
    /// The symlink at its path points to another of the scenario's files.
    Retarget,
    /// The symlink at its path points to nothing.
    Dangle,
    /// The symlink at its path points to itself.
    Loop,
    /// Mode 000: nobody may read it (MemFs models a non-root user; DiskFs as root ignores it).
    Unreadable,
    /// A file whose name is not UTF-8 appears beside it (DiskFs only: MemFs names are UTF-8).
    AddUndecodable,
    /// Same size, different bytes, and the mtime left to the clock: within one timestamp step
    /// of the last change it does not move (editors on coarse file systems, fast scripts).
    SameSizeEditInStep,
    /// One byte appended, then the mtime set a second before what it was (`touch -r` to an
    /// older file, archives, containers zeroing nanoseconds).
    Backdate,
    /// Deleted and created again with other bytes of the same size and the old mtime (`cp -p`,
    /// rsync); a file system that reuses inode numbers gives the new file the old one.
    Recreate,
    /// Its first bytes come back (an editor's undo, `git checkout`), the mtime moving as for any
    /// edit: after an earlier edit, an A→B→A; Bazel 8.4's re-digest guard cannot see one that
    /// spans an action.
    Undo,
    /// One byte of a local-cache tar flipped (the file index picks which tar).
    CorruptTar,
    /// A local-cache tar cut to half its size.
    TruncateTar,
    /// A local-cache tar deleted.
    DeleteTar,
    /// One byte of a cache manifest flipped.
    CorruptManifest,
    /// A cache manifest deleted.
    DeleteManifest,
    /// A tmp-cache spill file cut to half its size.
    TruncateSpill,
    /// The running consumer's sandbox written into (an input overwritten, or a stranger added).
    WriteIntoSandbox,
    /// The next read of the file fails with EIO.
    FaultEio,
    /// The next reads of the file are interrupted (EINTR) a few times.
    FaultEintr,
    /// The file's next reader returns one byte per read.
    FaultShortRead,
    /// The engine's next write to its state directory fails with ENOSPC.
    FaultEnospc,
    /// The engine's next writer to its state directory writes short.
    FaultShortWrite,
    /// The engine dies in the middle of its next cache write; a fresh engine builds again.
    Crash,
    /// The file's next reader is interrupted on every read, forever.
    FaultEintrStorm,
    /// The engine's next directory operation (mkdir, rename, listing) fails with EIO.
    FaultDirEio,
    /// Another key's local-cache entry (manifest and tars) copied over this one's: a cache
    /// shared between machines or restored from a backup under the wrong name. Its manifest
    /// names the other key, so it must be a miss or a typed error, never served.
    TransplantEntry,
}

impl MutationKind {
    /// Every kind, in a fixed order.
    pub const ALL: [MutationKind; 43] = [
        MutationKind::Rewrite,
        MutationKind::SameSizeEdit,
        MutationKind::SameSizeEditRestoreMtime,
        MutationKind::Append,
        MutationKind::Truncate,
        MutationKind::Delete,
        MutationKind::RenameOver,
        MutationKind::ChmodX,
        MutationKind::ChmodNoX,
        MutationKind::Touch,
        MutationKind::IdenticalRewrite,
        MutationKind::Aba,
        MutationKind::AppendRestoreMtime,
        MutationKind::CreateSibling,
        MutationKind::ToDirectory,
        MutationKind::BackToFile,
        MutationKind::RemoveParent,
        MutationKind::RenameParent,
        MutationKind::Retarget,
        MutationKind::Dangle,
        MutationKind::Loop,
        MutationKind::Unreadable,
        MutationKind::AddUndecodable,
        MutationKind::SameSizeEditInStep,
        MutationKind::Backdate,
        MutationKind::Recreate,
        MutationKind::Undo,
        MutationKind::CorruptTar,
        MutationKind::TruncateTar,
        MutationKind::DeleteTar,
        MutationKind::CorruptManifest,
        MutationKind::DeleteManifest,
        MutationKind::TruncateSpill,
        MutationKind::WriteIntoSandbox,
        MutationKind::FaultEio,
        MutationKind::FaultEintr,
        MutationKind::FaultShortRead,
        MutationKind::FaultEnospc,
        MutationKind::FaultShortWrite,
        MutationKind::Crash,
        MutationKind::FaultEintrStorm,
        MutationKind::FaultDirEio,
        MutationKind::TransplantEntry,
    ];

    /// True for the kinds that damage the engine's state or arm a fault, not the workspace.
    pub fn on_engine(self) -> bool {
        self >= MutationKind::CorruptTar
    }

    /// True for the kinds that add, remove or replace an entry of the file's directory (and
    /// so move the directory's mtime).
    pub fn changes_entries(self) -> bool {
        use MutationKind::*;
        matches!(
            self,
            Delete
                | RenameOver
                | CreateSibling
                | ToDirectory
                | BackToFile
                | Recreate
                | AddUndecodable
        )
    }

    /// The snake_case name used in reports.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }
}

/// Where a mutation fires. `file`/`target` indices refer to the scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "point")]
pub enum Point {
    /// Before the file is hashed.
    BeforeHash,
    /// After it was hashed, before any consumer's hashin.
    AfterHash,
    /// After the hashin of consumer `consumer`.
    AfterHashin {
        /// Consumer index.
        consumer: usize,
    },
    /// After consumer `consumer` wrote its cache entry.
    AfterCacheWrite {
        /// Consumer index.
        consumer: usize,
    },
    /// When the file is opened as a passthrough source.
    AtOpen,
    /// After read chunk `chunk` of the file.
    AfterChunk {
        /// Chunk index.
        chunk: u32,
    },
    /// At EOF of the file's reader, before verification.
    AtEof,
    /// After consumer `consumer` materialized its inputs, before the next consumer.
    BetweenConsumers {
        /// Consumer index.
        consumer: usize,
    },
    /// Between the first build and the incremental rebuild.
    BetweenBuilds,
    /// In the walker, after it read the file's metadata and before it opened it.
    BeforeOpen,
    /// In the walker, after it hashed chunk `chunk` of the file.
    AfterHashChunk {
        /// Chunk index.
        chunk: u32,
    },
    /// While the file is packed into a cache: it is open, nothing read yet.
    DuringPack,
    /// Before consumer `consumer` looks its key up in the local cache.
    BeforeCacheRead {
        /// Consumer index.
        consumer: usize,
    },
    /// Before consumer `consumer` materializes its inputs.
    BeforeConsume {
        /// Consumer index.
        consumer: usize,
    },
}

impl Point {
    /// How many kinds of point there are (for coverage checks).
    pub const KINDS: usize = 14;

    /// The consumer index this point names, if it names one.
    pub fn consumer(self) -> Option<usize> {
        match self {
            Point::AfterHashin { consumer }
            | Point::AfterCacheWrite { consumer }
            | Point::BetweenConsumers { consumer }
            | Point::BeforeCacheRead { consumer }
            | Point::BeforeConsume { consumer } => Some(consumer),
            _ => None,
        }
    }

    /// The report name of the point (without its index).
    pub fn name(self) -> &'static str {
        match self {
            Point::BeforeHash => "before_hash",
            Point::AfterHash => "after_hash",
            Point::AfterHashin { .. } => "after_hashin",
            Point::AfterCacheWrite { .. } => "after_cache_write",
            Point::AtOpen => "at_open",
            Point::AfterChunk { .. } => "after_chunk",
            Point::AtEof => "at_eof",
            Point::BetweenConsumers { .. } => "between_consumers",
            Point::BetweenBuilds => "between_builds",
            Point::BeforeOpen => "before_open",
            Point::AfterHashChunk { .. } => "after_hash_chunk",
            Point::DuringPack => "during_pack",
            Point::BeforeCacheRead { .. } => "before_cache_read",
            Point::BeforeConsume { .. } => "before_consume",
        }
    }

    /// True when `probe` is this point for the file at `path` with consumers named by `consumer`.
    pub fn matches(
        self,
        probe: &Probe<'_>,
        path: &Path,
        consumer: &dyn Fn(usize) -> String,
    ) -> bool {
        match (self, probe) {
            (Point::BeforeHash, Probe::BeforeHash { path: p }) => *p == path,
            (Point::AfterHash, Probe::AfterHash { path: p, .. }) => *p == path,
            (Point::AfterHashin { consumer: c }, Probe::AfterHashin { target, .. }) => {
                *target == consumer(c)
            }
            (Point::AfterCacheWrite { consumer: c }, Probe::AfterCacheWrite { target, .. }) => {
                *target == consumer(c)
            }
            (Point::AtOpen, Probe::OpenPassthrough { path: p }) => *p == path,
            (Point::AfterChunk { chunk }, Probe::AfterReadChunk { path: p, index }) => {
                *p == path && *index == chunk
            }
            (Point::AtEof, Probe::AtEof { path: p }) => *p == path,
            (
                Point::BetweenConsumers { consumer: c },
                Probe::AfterMaterialize { consumer: name },
            ) => *name == consumer(c),
            (Point::BeforeOpen, Probe::BeforeOpen { path: p }) => *p == path,
            (Point::AfterHashChunk { chunk }, Probe::AfterHashChunk { path: p, index }) => {
                *p == path && *index == chunk
            }
            (Point::DuringPack, Probe::PackRead { path: p, .. }) => *p == path,
            (Point::BeforeCacheRead { consumer: c }, Probe::BeforeCacheRead { target, .. }) => {
                *target == consumer(c)
            }
            (Point::BeforeConsume { consumer: c }, Probe::BeforeConsume { consumer: name }) => {
                *name == consumer(c)
            }
            _ => false,
        }
    }
}

/// Filler bytes that differ from `old` at every position, deterministic.
pub fn different(old: &[u8], len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| old.get(i).map_or(b'm', |b| b.wrapping_add(1)))
        .collect()
}

/// What a mutation may need to know beyond its own path.
#[derive(Clone, Copy, Debug)]
pub struct World<'a> {
    /// The scenario's file paths (a retargeted link points to one of them).
    pub paths: &'a [std::path::PathBuf],
    /// The real directory behind a DiskFs (names that are not UTF-8 are made there).
    pub disk_root: Option<&'a Path>,
    /// The engine's state directory (cache, tmp spill, sandboxes).
    pub state_dir: &'a Path,
    /// The target the engine is running (whose sandbox an attack writes into).
    pub target: &'a str,
    /// Where faults are armed (`None`: this schedule injects none).
    pub faults: Option<&'a crate::faults::Faults>,
    /// Which candidate an attack on the engine's state picks.
    pub pick: usize,
    /// Each scenario file's first bytes, by index (what `Undo` writes back; empty in chaos).
    pub originals: &'a [Vec<u8>],
    /// True while the running target packs the outputs of its own sandbox.
    pub packing: bool,
}

/// Applies `kind` to `path`. Returns an error message if there was nothing to mutate that way
/// (a no-op, recorded as skipped).
pub fn apply(fs: &dyn Fs, path: &Path, kind: MutationKind, world: &World) -> Result<(), String> {
    if let Some(result) = crate::structural::apply(fs, path, kind, world) {
        return result;
    }
    if let Some(result) = crate::attacks::apply(fs, kind, world.pick, path, world) {
        return result.map(|_| ());
    }
    let err = |e: std::io::Error| format!("{kind:?} on {}: {e}", path.display());
    let meta = fs.metadata(path).map_err(err)?;
    let old = fs.read(path, 1 << 30).map_err(err)?;
    match kind {
        MutationKind::Rewrite => {
            edit(fs, path, &different(&old, old.len() + 3), meta.mtime_ns).map_err(err)
        }
        MutationKind::SameSizeEdit => {
            edit(fs, path, &different(&old, old.len()), meta.mtime_ns).map_err(err)
        }
        MutationKind::SameSizeEditRestoreMtime => {
            overwrite_in_place(fs, path, &different(&old, old.len())).map_err(err)?;
            fs.set_mtime(path, meta.mtime_ns).map_err(err)
        }
        MutationKind::Append => {
            let mut file = fs.open_at(path, old.len() as u64).map_err(err)?;
            file.write_all(b"+").map_err(err)?;
            drop(file);
            bump_mtime(fs, path, meta.mtime_ns).map_err(err)
        }
        MutationKind::Truncate => {
            fs.set_len(path, old.len() as u64 / 2).map_err(err)?;
            bump_mtime(fs, path, meta.mtime_ns).map_err(err)
        }
        MutationKind::Delete => fs.remove_file(path).map_err(err),
        MutationKind::RenameOver => {
            let tmp = path.with_extension("sim-new");
            fs.write(&tmp, &different(&old, old.len().max(1)))
                .map_err(err)?;
            fs.rename(&tmp, path).map_err(err)?;
            bump_mtime(fs, path, meta.mtime_ns).map_err(err)
        }
        MutationKind::ChmodX => fs.set_mode(path, meta.mode | 0o111).map_err(err),
        MutationKind::ChmodNoX => fs.set_mode(path, meta.mode & !0o111).map_err(err),
        MutationKind::Touch => fs
            .set_mtime(path, meta.mtime_ns + 1_000_000_000)
            .map_err(err),
        MutationKind::IdenticalRewrite => edit(fs, path, &old, meta.mtime_ns).map_err(err),
        MutationKind::Aba => {
            edit(fs, path, &different(&old, old.len() + 1), meta.mtime_ns).map_err(err)?;
            edit(fs, path, &old, meta.mtime_ns).map_err(err)
        }
        MutationKind::AppendRestoreMtime => {
            let mut file = fs.open_at(path, old.len() as u64).map_err(err)?;
            file.write_all(b"+").map_err(err)?;
            drop(file);
            fs.set_mtime(path, meta.mtime_ns).map_err(err)
        }
        MutationKind::CreateSibling => fs.write(&sibling(path), &different(&old, 5)).map_err(err),
        MutationKind::SameSizeEditInStep => {
            overwrite_in_place(fs, path, &different(&old, old.len())).map_err(err)
        }
        MutationKind::Backdate => {
            let mut file = fs.open_at(path, old.len() as u64).map_err(err)?;
            file.write_all(b"+").map_err(err)?;
            drop(file);
            let older = meta.mtime_ns.saturating_sub(1_000_000_000);
            fs.set_mtime(path, older).map_err(err)
        }
        MutationKind::Undo => {
            let original = world.originals.get(world.pick).ok_or_else(|| {
                format!("Undo on {}: no first bytes known for it", path.display())
            })?;
            edit(fs, path, original, meta.mtime_ns).map_err(err)
        }
        MutationKind::Recreate => {
            fs.remove_file(path).map_err(err)?;
            fs.write(path, &different(&old, old.len())).map_err(err)?;
            fs.set_mode(path, meta.mode).map_err(err)?;
            fs.set_mtime(path, meta.mtime_ns).map_err(err)
        }
        _ => unreachable!("{kind:?} is a structural mutation"),
    }
}

/// The new file `CreateSibling` makes beside `path`: `src/g1.txt` gets `src/g1-new.txt`.
pub fn sibling(path: &Path) -> std::path::PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}-new.txt"))
}

/// Rewrites content in place (same inode, O_TRUNC) and makes sure the mtime moved, as a later
/// edit would on any file system (coarse real clocks may otherwise leave it unchanged).
fn edit(fs: &dyn Fs, path: &Path, data: &[u8], old_mtime: u64) -> std::io::Result<()> {
    overwrite_in_place(fs, path, data)?;
    bump_mtime(fs, path, old_mtime)
}

fn overwrite_in_place(fs: &dyn Fs, path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = fs.create(path)?;
    file.write_all(data)?;
    file.flush()
}

fn bump_mtime(fs: &dyn Fs, path: &Path, old_mtime: u64) -> std::io::Result<()> {
    if fs.metadata(path)?.mtime_ns <= old_mtime {
        fs.set_mtime(path, old_mtime + 1_000_000)?;
    }
    Ok(())
}
