//! `MemFs`: an in-memory, POSIX-faithful file system (placeholder until the real one lands).

use std::io;
use std::path::Path;

use super::{Fs, FsRead, FsWrite, Metadata};

/// Settings of a [`MemFs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemFsConfig {
    /// Modification-time granularity in nanoseconds (mtimes are rounded down to it).
    pub mtime_granularity_ns: u64,
    /// How far the logical clock advances on every mutating operation.
    pub tick_ns: u64,
}

impl Default for MemFsConfig {
    fn default() -> Self {
        Self {
            mtime_granularity_ns: 1,
            tick_ns: 1_000,
        }
    }
}

/// An in-memory file system.
#[derive(Clone, Debug, Default)]
pub struct MemFs {}

impl MemFs {
    /// An empty file system with a root directory.
    pub fn new(config: MemFsConfig) -> Self {
        let _ = config;
        Self {}
    }

    /// Advances the logical clock by `ns` nanoseconds.
    pub fn advance_clock(&self, ns: u64) {
        let _ = ns;
    }
}

impl Fs for MemFs {
    fn open(&self, _: &Path) -> io::Result<Box<dyn FsRead>> {
        todo!()
    }
    fn create(&self, _: &Path) -> io::Result<Box<dyn FsWrite>> {
        todo!()
    }
    fn open_at(&self, _: &Path, _: u64) -> io::Result<Box<dyn FsWrite>> {
        todo!()
    }
    fn metadata(&self, _: &Path) -> io::Result<Metadata> {
        todo!()
    }
    fn symlink_metadata(&self, _: &Path) -> io::Result<Metadata> {
        todo!()
    }
    fn read_dir(&self, _: &Path) -> io::Result<Vec<String>> {
        todo!()
    }
    fn create_dir_all(&self, _: &Path) -> io::Result<()> {
        todo!()
    }
    fn set_len(&self, _: &Path, _: u64) -> io::Result<()> {
        todo!()
    }
    fn remove_file(&self, _: &Path) -> io::Result<()> {
        todo!()
    }
    fn remove_dir_all(&self, _: &Path) -> io::Result<()> {
        todo!()
    }
    fn rename(&self, _: &Path, _: &Path) -> io::Result<()> {
        todo!()
    }
    fn set_mode(&self, _: &Path, _: u32) -> io::Result<()> {
        todo!()
    }
    fn set_mtime(&self, _: &Path, _: u64) -> io::Result<()> {
        todo!()
    }
    fn symlink(&self, _: &Path, _: &Path) -> io::Result<()> {
        todo!()
    }
    fn now_nanos(&self) -> u64 {
        todo!()
    }
    fn mtime_granularity_ns(&self) -> u64 {
        todo!()
    }
}
