//! The inode table behind [`super::MemFs`]: inodes, directory entries, the logical clock, and
//! path resolution as Linux's `namei` does it (symlinks in any component, `ENOTDIR` before
//! `ENOENT`, `ELOOP` after [`MAX_SYMLINK_HOPS`]).
//!
//! Everything here runs under the `MemFs` mutex. Nothing does real I/O, reads a wall clock or
//! iterates a hash map: inodes and entries live in `BTreeMap`s, inode numbers only grow.
//! Errors are raw Linux errnos, so their kind, message and `raw_os_error` match `DiskFs`.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::mem;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::fs::{check_relative, not_relative};

mod ops;

/// An inode number.
pub(super) type Ino = u64;
/// The root directory's inode number.
pub(super) const ROOT: Ino = 1;
/// Linux's `MAXSYMLINKS`: symlinks one resolution may follow before failing with `ELOOP`.
pub(super) const MAX_SYMLINK_HOPS: usize = 40;
/// Linux's `PATH_MAX` less the NUL: the longest path or symlink target accepted, in bytes.
pub(super) const MAX_PATH_BYTES: usize = 4095;
/// Linux's `NAME_MAX`: the longest single name, in bytes.
pub(super) const MAX_NAME_BYTES: usize = 255;
/// The largest file MemFs holds (1 GiB): a huge `set_len` or write offset fails with `EFBIG`
/// instead of aborting the process on allocation.
pub(super) const MAX_FILE_LEN: u64 = 1 << 30;

/// New-node permission bits (what a `0o022` umask gives on disk).
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;
const SYMLINK_MODE: u32 = 0o777;

/// The Linux errno values MemFs reports.
pub(super) mod errno {
    /// No such file or directory.
    pub const ENOENT: i32 = 2;
    /// Bad file descriptor (a handle whose inode is not a file: internal corruption).
    pub const EBADF: i32 = 9;
    /// Permission denied.
    pub const EACCES: i32 = 13;
    /// Device or resource busy (removing or renaming the root).
    pub const EBUSY: i32 = 16;
    /// File exists.
    pub const EEXIST: i32 = 17;
    /// Not a directory.
    pub const ENOTDIR: i32 = 20;
    /// Is a directory.
    pub const EISDIR: i32 = 21;
    /// Invalid argument (moving a directory into itself).
    pub const EINVAL: i32 = 22;
    /// File too large.
    pub const EFBIG: i32 = 27;
    /// File name too long.
    pub const ENAMETOOLONG: i32 = 36;
    /// Directory not empty.
    pub const ENOTEMPTY: i32 = 39;
    /// Too many levels of symbolic links (`crate::error::ELOOP`).
    pub const ELOOP: i32 = 40;
}
use errno::*;

/// The error Linux would give for `code`.
pub(super) fn os_err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

/// Splits a seam path into its names, refusing absolute paths, `..` (via [`check_relative`])
/// and over-long paths (`ENAMETOOLONG`; an over-long name fails at its lookup). `""` and `"."`
/// give no names: the root.
pub(super) fn components(path: &Path) -> io::Result<Vec<&OsStr>> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    if bytes.starts_with(b"/") {
        return Err(not_relative(path));
    }
    // One pass over the bytes instead of `Path::components` (a tenth of a schedule went
    // there). The same names: empty names and `.` vanish; `..` is refused before any length.
    let mut names = Vec::with_capacity(4);
    for name in bytes.split(|&b| b == b'/') {
        match name {
            b"" | b"." => {}
            b".." => return Err(not_relative(path)),
            _ => names.push(OsStr::from_bytes(name)),
        }
    }
    // The whole path's length is checked as Linux copies it in; a name's, at its lookup.
    if bytes.len() > MAX_PATH_BYTES {
        return Err(os_err(ENAMETOOLONG));
    }
    debug_assert!(
        check_relative(path).is_ok(),
        "{path:?} passed the fast split"
    );
    Ok(names)
}

/// What an inode holds.
#[derive(Debug)]
enum Body {
    /// A regular file's bytes, shared with whole-file readers until the next write.
    File(Arc<Vec<u8>>),
    /// A directory's entries, sorted by name.
    Dir(BTreeMap<OsString, Ino>),
    /// A symlink's target, relative to the link's directory (validated by [`components`]).
    Symlink(PathBuf),
}

/// One file, directory or symlink.
#[derive(Debug)]
struct Inode {
    body: Body,
    /// Permission bits (`0o777` part).
    mode: u32,
    mtime_ns: u64,
    /// Status change time: stamped by every change of content, mode, mtime or name, and never
    /// settable (as POSIX's ctime).
    ctime_ns: u64,
    /// Directory entries naming this inode (the root counts as one).
    nlink: u64,
    /// Open handles keeping this inode alive after its last unlink.
    handles: u64,
}

impl Inode {
    fn is_dir(&self) -> bool {
        matches!(self.body, Body::Dir(_))
    }

    fn is_file(&self) -> bool {
        matches!(self.body, Body::File(_))
    }
}

/// Where a lookup ended.
enum Found {
    /// At an existing inode.
    Node(Ino),
    /// At a missing final name in an existing directory (where `O_CREAT` would create it).
    Missing { dir: Ino, name: OsString },
}

/// The whole file system state: inode table and logical clock.
#[derive(Debug)]
pub(super) struct Tree {
    inodes: BTreeMap<Ino, Inode>,
    next_ino: Ino,
    /// Freed inode numbers, reused lowest first when `reuse_inodes` is on (as ext4 does).
    free_inos: std::collections::BTreeSet<Ino>,
    reuse_inodes: bool,
    /// Reads ignore permission bits (a privileged process).
    pub(super) privileged: bool,
    clock_ns: u64,
    tick_ns: u64,
    granularity_ns: u64,
}

impl Tree {
    /// An empty tree (just the root directory) at logical time 0.
    pub(super) fn new(tick_ns: u64, granularity_ns: u64, reuse_inodes: bool) -> Self {
        let root = Inode {
            body: Body::Dir(BTreeMap::new()),
            mode: DIR_MODE,
            mtime_ns: 0,
            ctime_ns: 0,
            nlink: 1,
            handles: 0,
        };
        Self {
            inodes: BTreeMap::from([(ROOT, root)]),
            next_ino: ROOT + 1,
            free_inos: std::collections::BTreeSet::new(),
            reuse_inodes,
            privileged: false,
            clock_ns: 0,
            tick_ns,
            granularity_ns: granularity_ns.max(1),
        }
    }

    /// The logical clock.
    pub(super) fn now(&self) -> u64 {
        self.clock_ns
    }

    /// The mtime granularity (at least 1).
    pub(super) fn granularity(&self) -> u64 {
        self.granularity_ns
    }

    /// Moves the logical clock forward.
    pub(super) fn advance(&mut self, ns: u64) {
        self.clock_ns = self.clock_ns.saturating_add(ns);
    }

    /// Live inodes, root included.
    #[cfg(any(test, feature = "test-support"))]
    pub(super) fn inode_count(&self) -> usize {
        self.inodes.len()
    }

    /// Advances the clock for one mutation and returns the mtime it stamps.
    /// The clock now, at the granularity, without advancing it.
    fn stamp(&self) -> u64 {
        self.clock_ns - self.clock_ns % self.granularity_ns
    }

    fn tick(&mut self) -> u64 {
        self.clock_ns = self.clock_ns.saturating_add(self.tick_ns);
        self.clock_ns - self.clock_ns % self.granularity_ns
    }

    fn node(&self, ino: Ino) -> io::Result<&Inode> {
        self.inodes.get(&ino).ok_or_else(|| vanished(ino))
    }

    fn node_mut(&mut self, ino: Ino) -> io::Result<&mut Inode> {
        self.inodes.get_mut(&ino).ok_or_else(|| vanished(ino))
    }

    /// A directory's entries; `ENOTDIR` if `ino` is not a directory.
    fn entries(&self, ino: Ino) -> io::Result<&BTreeMap<OsString, Ino>> {
        match &self.node(ino)?.body {
            Body::Dir(entries) => Ok(entries),
            _ => Err(os_err(ENOTDIR)),
        }
    }

    fn entries_mut(&mut self, ino: Ino) -> io::Result<&mut BTreeMap<OsString, Ino>> {
        match &mut self.node_mut(ino)?.body {
            Body::Dir(entries) => Ok(entries),
            _ => Err(os_err(ENOTDIR)),
        }
    }

    fn child(&self, dir: Ino, name: &OsStr) -> io::Result<Option<Ino>> {
        let entries = self.entries(dir)?;
        // A name too long fails where Linux's lookup meets it, after the walk to it: a
        // missing directory before it is `ENOENT`, not `ENAMETOOLONG`.
        if name.len() > MAX_NAME_BYTES {
            return Err(os_err(ENAMETOOLONG));
        }
        Ok(entries.get(name).copied())
    }

    /// Walks `names` from directory `start`, following symlinks in every component and, if
    /// `follow_last`, in the final one. Symlink targets resolve relative to the directory
    /// holding the link (they contain no `..`, so that is the directory the walk is in).
    fn lookup<'a>(
        &'a self,
        start: Ino,
        mut names: Vec<&'a OsStr>,
        follow_last: bool,
    ) -> io::Result<Found> {
        names.reverse();
        let mut pending = names;
        let mut cur = start;
        let mut hops = 0;
        while let Some(name) = pending.pop() {
            let Some(child) = self.child(cur, name)? else {
                if pending.is_empty() {
                    let name = name.to_os_string();
                    return Ok(Found::Missing { dir: cur, name });
                }
                return Err(os_err(ENOENT));
            };
            match &self.node(child)?.body {
                Body::Symlink(target) if follow_last || !pending.is_empty() => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(os_err(ELOOP));
                    }
                    pending.extend(target_names(target).rev());
                }
                _ => cur = child,
            }
        }
        Ok(Found::Node(cur))
    }

    /// The inode `names` leads to from the root; `ENOENT` if missing.
    fn resolve(&self, names: Vec<&OsStr>, follow_last: bool) -> io::Result<Ino> {
        match self.lookup(ROOT, names, follow_last)? {
            Found::Node(ino) => Ok(ino),
            Found::Missing { .. } => Err(os_err(ENOENT)),
        }
    }

    /// The directory holding the final name of `names`, and that name; `None` for the root.
    fn resolve_parent(&self, mut names: Vec<&OsStr>) -> io::Result<Option<(Ino, OsString)>> {
        let Some(name) = names.pop() else {
            return Ok(None);
        };
        let dir = self.resolve(names, true)?;
        self.entries(dir)?;
        Ok(Some((dir, name.to_os_string())))
    }

    /// Allocates an inode, links it as `name` in `dir` and stamps `dir`.
    fn add(
        &mut self,
        dir: Ino,
        name: OsString,
        body: Body,
        mode: u32,
        now: u64,
    ) -> io::Result<Ino> {
        let ino = self.free_inos.pop_first().unwrap_or(self.next_ino);
        let node = Inode {
            body,
            mode,
            mtime_ns: now,
            ctime_ns: now,
            nlink: 1,
            handles: 0,
        };
        let parent = self.node_mut(dir)?;
        let Body::Dir(entries) = &mut parent.body else {
            return Err(os_err(ENOTDIR));
        };
        let previous = entries.insert(name, ino);
        debug_assert!(previous.is_none(), "add over an existing entry");
        parent.mtime_ns = now;
        if ino == self.next_ino {
            self.next_ino += 1;
        }
        let previous = self.inodes.insert(ino, node);
        debug_assert!(previous.is_none(), "inode {ino} allocated twice");
        Ok(ino)
    }

    /// Removes entry `name` from `dir` (stamping `dir`), returning the inode it named.
    fn remove_entry(&mut self, dir: Ino, name: &OsString, now: u64) -> io::Result<Option<Ino>> {
        let parent = self.node_mut(dir)?;
        let Body::Dir(entries) = &mut parent.body else {
            return Err(os_err(ENOTDIR));
        };
        let ino = entries.remove(name);
        parent.mtime_ns = now;
        Ok(ino)
    }

    /// Drops one link to `ino`, freeing it once no link and no handle remain.
    fn drop_link(&mut self, ino: Ino) -> io::Result<()> {
        let node = self.node_mut(ino)?;
        debug_assert!(node.nlink > 0, "nlink underflow on inode {ino}");
        node.nlink = node.nlink.saturating_sub(1);
        self.free_if_unused(ino);
        Ok(())
    }

    fn free_if_unused(&mut self, ino: Ino) {
        if let Some(node) = self.inodes.get(&ino) {
            if node.nlink == 0 && node.handles == 0 {
                debug_assert!(ino != ROOT, "freeing the root");
                debug_assert!(
                    !matches!(&node.body, Body::Dir(e) if !e.is_empty()),
                    "freeing a non-empty directory"
                );
                self.inodes.remove(&ino);
                if self.reuse_inodes {
                    self.free_inos.insert(ino);
                }
            }
        }
    }

    /// Drops the link to `ino` and, if it is a directory, to everything below it.
    /// Iterative, so a deep tree cannot overflow the stack.
    fn drop_tree(&mut self, ino: Ino) -> io::Result<()> {
        let mut stack = vec![ino];
        while let Some(cur) = stack.pop() {
            if let Body::Dir(entries) = &mut self.node_mut(cur)?.body {
                stack.extend(mem::take(entries).into_values());
            }
            self.drop_link(cur)?;
        }
        Ok(())
    }

    /// True when directory `ino` is `ancestor` or lies below it.
    fn contains(&self, ancestor: Ino, ino: Ino) -> bool {
        let mut stack = vec![ancestor];
        while let Some(cur) = stack.pop() {
            if cur == ino {
                return true;
            }
            if let Some(Inode {
                body: Body::Dir(entries),
                ..
            }) = self.inodes.get(&cur)
            {
                stack.extend(entries.values().copied());
            }
        }
        false
    }

    /// Panics unless every inode's `nlink` equals the entries naming it, every live inode is
    /// linked or open, directories are never open and every entry names a live inode.
    #[cfg(test)]
    pub(super) fn check_invariants(&self) {
        let mut refs: BTreeMap<Ino, u64> = BTreeMap::new();
        for node in self.inodes.values() {
            if let Body::Dir(entries) = &node.body {
                for &child in entries.values() {
                    assert!(self.inodes.contains_key(&child), "dangling entry {child}");
                    *refs.entry(child).or_default() += 1;
                }
            }
        }
        assert!(!refs.contains_key(&ROOT), "the root has an entry");
        for (&ino, node) in &self.inodes {
            let links = if ino == ROOT {
                1
            } else {
                refs.get(&ino).copied().unwrap_or(0)
            };
            assert_eq!(node.nlink, links, "nlink of inode {ino}");
            assert!(node.nlink > 0 || node.handles > 0, "inode {ino} leaked");
            assert!(!node.is_dir() || node.handles == 0, "open directory {ino}");
            assert!(ino < self.next_ino, "inode {ino} beyond next_ino");
        }
    }
}

/// The names of a symlink target, in order (`.` dropped; `..` and roots were refused at
/// creation).
fn target_names(target: &Path) -> impl DoubleEndedIterator<Item = &OsStr> + '_ {
    target.components().filter_map(|component| match component {
        Component::Normal(name) => Some(name),
        _ => None,
    })
}

fn to_usize(n: u64) -> io::Result<usize> {
    usize::try_from(n).map_err(|_| os_err(EFBIG))
}

/// An entry or handle naming a freed inode: a MemFs bug, reported rather than panicking.
fn vanished(ino: Ino) -> io::Error {
    io::Error::other(format!("memfs: inode {ino} vanished (internal error)"))
}
