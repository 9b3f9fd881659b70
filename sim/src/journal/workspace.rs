//! The workspace as a glob's walk may see it, read by the simulator when a glob target starts:
//! every file a walk finds, and every directory's `stat` and entries (what the oracle's model
//! of a listing cache needs to decide which listing the engine's walk used).

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use engine::fs::{FileKind, Fs};

use super::{Stat, MAX_LISTED, MAX_WALK_DEPTH};

/// What one directory entry is to a source walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file, or a symlink to one: a source.
    File,
    /// A directory (not a symlink to one): walked into.
    Dir,
    /// Anything else a walk passes over (a link to a directory, a dangling link).
    Other,
    /// Its `lstat` failed other than with `NotFound`: a walk fails on it.
    Unstatable,
}

/// One workspace directory when the walk reached it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirState {
    /// The directory's own `stat`.
    pub stat: Stat,
    /// Its entries (generated `.heph*` names left out), sorted; `None` when it cannot be read.
    pub entries: Option<BTreeMap<String, EntryKind>>,
}

/// The workspace at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workspace {
    /// Every file a source walk finds, sorted.
    pub files: Vec<PathBuf>,
    /// Every directory reached, by path (`""` is the workspace root).
    pub dirs: BTreeMap<PathBuf, DirState>,
}

/// Every workspace file a source walk finds, and every directory it reaches.
///
/// The walk follows SPEC §3 and the engine's documented rules: generated `.heph*` names are not
/// sources, a symlink to a file is a file, a symlinked directory is not descended into.
pub fn list_workspace(fs: &dyn Fs) -> Workspace {
    let mut workspace = Workspace::default();
    let mut pending = vec![(PathBuf::new(), 0usize)];
    while let Some((dir, depth)) = pending.pop() {
        let Ok(meta) = fs.metadata(&dir) else {
            continue;
        };
        let entries = fs.read_dir(&dir).ok().map(|names| {
            let mut entries = BTreeMap::new();
            for name in names.into_iter().filter(|n| !n.starts_with(".heph")) {
                let path = dir.join(&name);
                let Some(kind) = kind(fs, &path) else {
                    continue;
                };
                match kind {
                    EntryKind::Dir if depth < MAX_WALK_DEPTH => pending.push((path, depth + 1)),
                    EntryKind::File if workspace.files.len() < MAX_LISTED => {
                        workspace.files.push(path)
                    }
                    _ => {}
                }
                entries.insert(name, kind);
            }
            entries
        });
        let stat = Stat {
            len: meta.len,
            mtime_ns: meta.mtime_ns,
            x: super::exec_bit(meta.mode),
            ctime_ns: meta.ctime_ns,
            ino: meta.ino,
            mode: meta.mode,
        };
        workspace.dirs.insert(dir, DirState { stat, entries });
    }
    workspace.files.sort();
    debug_assert!(workspace.files.len() <= MAX_LISTED);
    workspace
}

/// What `path` is to a walk; `None` when it does not exist.
fn kind(fs: &dyn Fs, path: &std::path::Path) -> Option<EntryKind> {
    let kind = match fs.symlink_metadata(path) {
        Ok(meta) => meta.kind,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(_) => return Some(EntryKind::Unstatable),
    };
    Some(match kind {
        FileKind::Dir => EntryKind::Dir,
        FileKind::File => EntryKind::File,
        FileKind::Symlink => match fs.metadata(path) {
            Ok(meta) if meta.kind == FileKind::File => EntryKind::File,
            _ => EntryKind::Other,
        },
    })
}
