//! `MemFs`: an in-memory, POSIX-faithful file system for the deterministic simulator.
//!
//! It models what the engine can observe through [`Fs`] on Linux:
//! - an inode table (the `tree` submodule): files, directories and symlinks with permission
//!   bits, mtime, link count and open-handle count. An inode lives while a directory entry or an
//!   open handle holds it, so a handle keeps reading *its* file after an unlink or a
//!   rename-over, and sees truncations and in-place writes made after it was opened;
//! - path resolution with symlinks in any component (relative to the link's directory) and
//!   `ELOOP` after 40 hops, with Linux's errno for every failure (`io::Error`s built from raw
//!   errnos, so kind, message and `raw_os_error` match `DiskFs`);
//! - a logical clock: every mutation advances it by [`MemFsConfig::tick_ns`], and modified files
//!   (and directories whose entries changed) get `clock - clock % granularity` as mtime, as
//!   Linux does (`chmod` ticks but stamps nothing). [`Fs::set_mtime`] sets an mtime exactly and
//!   does not tick, so restoring an mtime is exact. [`MemFs::advance_clock`] lets time pass.
//!   The engine reads the clock ([`Fs::now_nanos`]) at [`MemFsConfig::clock_resolution_ns`],
//!   as a system clock coarser than a build reads (two builds can then share one instant);
//! - a non-root user for reads: opening a file with no read bit is `PermissionDenied`.
//!   Write permission and directory search bits are not modelled.
//!
//! It is deterministic: no real I/O, no wall clock, no randomness, no hash-map iteration.
//! All state sits behind one [`crate::sync::Mutex`], so `cfg(loom)` builds model it.

mod tree;

#[cfg(test)]
mod tests;

use std::io::{self, Read, Write};
use std::path::Path;

use self::tree::{components, Ino, Tree};
use super::{Fs, FsRead, FsWrite, Metadata};
use crate::sync::{lock, Arc, Mutex};

/// Settings of a [`MemFs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemFsConfig {
    /// Modification-time granularity in nanoseconds (mtimes are rounded down to it; 0 means 1).
    pub mtime_granularity_ns: u64,
    /// How far the logical clock advances on every mutating operation.
    pub tick_ns: u64,
    /// Reuse the lowest freed inode number for the next new file, as real file systems do
    /// (off: numbers only grow, so an inode names one file forever).
    pub reuse_inodes: bool,
    /// Reads ignore permission bits, as a privileged process's do (root, `CAP_DAC_OVERRIDE`):
    /// what a differential run sets when the real disk it is compared with behaves so.
    pub privileged: bool,
    /// The resolution of the clock the engine reads ([`Fs::now_nanos`] is rounded down to it;
    /// 0 means 1): a coarse system clock, which leaves mtimes at their own granularity.
    pub clock_resolution_ns: u64,
}

impl Default for MemFsConfig {
    fn default() -> Self {
        Self {
            mtime_granularity_ns: 1,
            tick_ns: 1_000,
            reuse_inodes: false,
            privileged: false,
            clock_resolution_ns: 1,
        }
    }
}

/// An in-memory file system. Clones are handles on the same file system.
#[derive(Clone)]
pub struct MemFs {
    state: Arc<Mutex<Tree>>,
    clock_resolution_ns: u64,
}

impl MemFs {
    /// An empty file system with a root directory, its logical clock at 0.
    pub fn new(config: MemFsConfig) -> Self {
        let mut tree = Tree::new(
            config.tick_ns,
            config.mtime_granularity_ns,
            config.reuse_inodes,
        );
        tree.privileged = config.privileged;
        Self {
            state: Arc::new(Mutex::new(tree)),
            clock_resolution_ns: config.clock_resolution_ns.max(1),
        }
    }

    /// Advances the logical clock by `ns` nanoseconds (saturating).
    pub fn advance_clock(&self, ns: u64) {
        lock(&self.state).advance(ns);
    }

    /// Live inodes, the root and unlinked-but-open files included (for leak tests).
    #[doc(hidden)]
    #[cfg(any(test, feature = "test-support"))]
    pub fn inode_count(&self) -> usize {
        lock(&self.state).inode_count()
    }

    /// Runs `op` on the tree under the lock.
    fn with<T>(&self, op: impl FnOnce(&mut Tree) -> io::Result<T>) -> io::Result<T> {
        op(&mut lock(&self.state))
    }

    fn handle(&self, ino: Ino, offset: u64) -> Handle {
        Handle {
            state: Arc::clone(&self.state),
            ino,
            offset,
        }
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Default for MemFs {
    fn default() -> Self {
        Self::new(MemFsConfig::default())
    }
}

#[cfg(any(test, feature = "test-support"))]
impl std::fmt::Debug for MemFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tree = lock(&self.state);
        f.debug_struct("MemFs")
            .field("inodes", &tree.inode_count())
            .field("clock_ns", &tree.now())
            .field("mtime_granularity_ns", &tree.granularity())
            .finish_non_exhaustive()
    }
}

/// An open file: holds its inode alive and tracks the file offset.
struct Handle {
    state: Arc<Mutex<Tree>>,
    ino: Ino,
    offset: u64,
}

impl Drop for Handle {
    fn drop(&mut self) {
        lock(&self.state).close(self.ino);
    }
}

/// A read handle from [`Fs::open`].
struct Reader(Handle);

impl Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let handle = &mut self.0;
        let n = lock(&handle.state).read_at(handle.ino, handle.offset, buf)?;
        handle.offset += n as u64;
        Ok(n)
    }
}

/// A write handle from [`Fs::create`] or [`Fs::open_at`]; writes land immediately.
struct Writer(Handle);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let handle = &mut self.0;
        let n = lock(&handle.state).write_at(handle.ino, handle.offset, buf)?;
        handle.offset += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Fs for MemFs {
    fn open(&self, path: &Path) -> io::Result<Box<dyn FsRead>> {
        let names = components(path)?;
        let ino = self.with(|tree| tree.open_read(names))?;
        Ok(Box::new(Reader(self.handle(ino, 0))))
    }

    fn open_stat(&self, path: &Path) -> io::Result<(Box<dyn FsRead>, Metadata)> {
        let names = components(path)?;
        let (ino, meta) = self.with(|tree| {
            let ino = tree.open_read(names)?;
            let meta = tree.inode_metadata(ino);
            if meta.is_err() {
                tree.close(ino);
            }
            meta.map(|m| (ino, m))
        })?;
        debug_assert_eq!(meta.ino, ino, "fstat describes the opened inode");
        Ok((Box::new(Reader(self.handle(ino, 0))), meta))
    }

    fn read(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        self.read_shared(path, limit)
            .map(std::sync::Arc::unwrap_or_clone)
    }

    fn read_shared(&self, path: &Path, limit: u64) -> io::Result<std::sync::Arc<Vec<u8>>> {
        // The file's own bytes under the lock instead of the default chunked read_to_end,
        // which zeroes its spare capacity before every chunk: a third of a schedule went there.
        let names = components(path)?;
        self.with(|tree| tree.read_whole(names, limit))?
            .ok_or_else(|| super::too_large(path, limit))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn FsWrite>> {
        let names = components(path)?;
        let ino = self.with(|tree| tree.create(names))?;
        Ok(Box::new(Writer(self.handle(ino, 0))))
    }

    fn open_at(&self, path: &Path, offset: u64) -> io::Result<Box<dyn FsWrite>> {
        let names = components(path)?;
        let ino = self.with(|tree| tree.open_write(names))?;
        Ok(Box::new(Writer(self.handle(ino, offset))))
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        let names = components(path)?;
        self.with(|tree| tree.metadata(names, true))
    }

    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata> {
        let names = components(path)?;
        self.with(|tree| tree.metadata(names, false))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let names = components(path)?;
        self.with(|tree| tree.read_dir(names))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let names = components(path)?;
        self.with(|tree| tree.create_dir_all(names))
    }

    fn set_len(&self, path: &Path, len: u64) -> io::Result<()> {
        let names = components(path)?;
        self.with(|tree| tree.set_len(names, len))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let names = components(path)?;
        self.with(|tree| tree.remove_file(names))
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        let names = components(path)?;
        self.with(|tree| tree.remove_dir_all(names))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let from = components(from)?;
        let to = components(to)?;
        self.with(|tree| tree.rename(from, to))
    }

    fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        let names = components(path)?;
        self.with(|tree| tree.set_mode(names, mode))
    }

    fn set_mtime(&self, path: &Path, mtime_ns: u64) -> io::Result<()> {
        let names = components(path)?;
        self.with(|tree| tree.set_mtime(names, mtime_ns))
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        components(target)?;
        let names = components(link)?;
        self.with(|tree| tree.symlink(target, names))
    }

    fn now_nanos(&self) -> u64 {
        let now = lock(&self.state).now();
        let coarse = now - now % self.clock_resolution_ns;
        debug_assert!(coarse <= now && now - coarse < self.clock_resolution_ns);
        coarse
    }

    fn mtime_granularity_ns(&self) -> u64 {
        lock(&self.state).granularity()
    }
}
