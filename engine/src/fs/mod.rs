//! The file-system seam: all engine I/O goes through [`Fs`], so the simulator can substitute
//! [`MemFs`] for the real [`DiskFs`].
//!
//! Architecture Invariant: no engine module outside `fs/` touches `std::fs`, except
//! [`crate::hash::file_hashout`], whose pinned signature takes a real path.
//!
//! Paths given to an [`Fs`] are relative to its root and must not contain `..` or be absolute;
//! [`check_relative`] enforces that at the seam.

mod disk;
mod mem;

pub use disk::DiskFs;
pub use mem::{MemFs, MemFsConfig};

use std::io::{self, Read, Write};
use std::path::{Component, Path};

/// What kind of node a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (only from [`Fs::symlink_metadata`]).
    Symlink,
}

/// The part of `stat` the engine looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Node kind.
    pub kind: FileKind,
    /// Size in bytes.
    pub len: u64,
    /// Modification time in nanoseconds, at the file system's granularity.
    pub mtime_ns: u64,
    /// Status change time in nanoseconds (content, mode, mtime or name changed); no call can
    /// set it.
    pub ctime_ns: u64,
    /// Permission bits (`0o777` part of the mode).
    pub mode: u32,
    /// Inode number: identity of the file behind the path.
    pub ino: u64,
}

impl Metadata {
    /// The exec bit as heph computes it: any of the three x bits.
    pub fn exec(&self) -> bool {
        let bits = if crate::regressed!(ExecBitOwnerOnly) {
            0o100
        } else {
            0o111
        };
        self.mode & bits != 0
    }
}

/// An open file to read from. It keeps reading the file it opened, whatever happens to its path.
pub trait FsRead: Read + Send {}
impl<T: Read + Send> FsRead for T {}

/// An open file to write to.
pub trait FsWrite: Write + Send {}
impl<T: Write + Send> FsWrite for T {}

/// The one trait all engine I/O goes through.
pub trait Fs: Send + Sync + 'static {
    /// Opens a file for reading, following symlinks.
    fn open(&self, path: &Path) -> io::Result<Box<dyn FsRead>>;
    /// Opens a file for reading and stats the file it opened (`fstat` of the handle): the
    /// metadata describes exactly what the handle reads, whatever has become of the path.
    fn open_stat(&self, path: &Path) -> io::Result<(Box<dyn FsRead>, Metadata)>;
    /// Creates or truncates a file (keeping its inode if it exists) and opens it for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn FsWrite>>;
    /// Opens an existing file for writing at `offset` without truncating it.
    fn open_at(&self, path: &Path, offset: u64) -> io::Result<Box<dyn FsWrite>>;
    /// `stat`: follows symlinks.
    fn metadata(&self, path: &Path) -> io::Result<Metadata>;
    /// `lstat`: does not follow a final symlink.
    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata>;
    /// The names in a directory, sorted (determinism). Names that are not valid UTF-8 are left
    /// out: no target can name such a file, so it is not a source (SPEC §3 skips what cannot be
    /// read) and a glob walk must not fail on one of them.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// `mkdir -p`.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Truncates or extends a file to `len` bytes in place.
    fn set_len(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Unlinks a file or symlink.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Removes a directory tree.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Atomically renames `from` over `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Sets the permission bits (following symlinks).
    fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()>;
    /// Sets the modification time of a file or a directory (following symlinks), e.g. to
    /// restore it after an edit.
    fn set_mtime(&self, path: &Path, mtime_ns: u64) -> io::Result<()>;
    /// Creates a symlink at `link` pointing to `target` (relative to the link's directory).
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()>;
    /// The engine's clock in nanoseconds: logical on MemFs, the system clock on DiskFs.
    fn now_nanos(&self) -> u64;
    /// The modification-time granularity in nanoseconds (at least 1).
    fn mtime_granularity_ns(&self) -> u64;

    /// Writes `data` as the whole content of `path`, creating parents.
    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        // Parents are created only when missing: most writes land in existing directories,
        // and `create_dir_all` costs a failed mkdir and a stat on a real disk.
        let mut file = match self.create(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    self.create_dir_all(parent)?;
                }
                self.create(path)?
            }
            other => other?,
        };
        file.write_all(data)?;
        file.flush()
    }

    /// Reads the whole content of `path`, refusing files above `limit` bytes.
    fn read(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        read_all(self.open(path)?, path, limit)
    }

    /// [`Fs::read`] for readers that only look: a file system that holds files in memory
    /// may share its bytes instead of copying them.
    fn read_shared(&self, path: &Path, limit: u64) -> io::Result<std::sync::Arc<Vec<u8>>> {
        self.read(path, limit).map(std::sync::Arc::new)
    }

    /// True when `path` exists (following symlinks).
    fn exists(&self, path: &Path) -> bool {
        self.metadata(path).is_ok()
    }
}

/// The error of [`Fs::read`] for a file above its limit, the same from every implementation.
/// Reads `reader` (opened on `path`) to EOF, refusing more than `limit` bytes: what
/// [`Fs::read`] does unless a file system knows a shorter way.
pub fn read_all(reader: impl Read, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    // Not `read_to_end`: it retries `Interrupted` without a bound, and a reader that answers
    // it forever would spin this loop forever (`retry`).
    let mut reader = reader.take(limit.saturating_add(1));
    let mut out = Vec::new();
    let mut interrupts = crate::retry::Interrupts::new();
    crate::hash::with_chunk_buffer(|chunk| loop {
        match reader.read(chunk) {
            Ok(0) => return io::Result::Ok(()),
            Ok(n) => {
                interrupts.progressed();
                out.extend_from_slice(&chunk[..n]);
            }
            Err(e) => interrupts.retry(e)?,
        }
    })?;
    if out.len() as u64 > limit {
        return Err(too_large(path, limit));
    }
    debug_assert!(out.len() as u64 <= limit);
    Ok(out)
}

fn too_large(path: &Path, limit: u64) -> io::Error {
    io::Error::other(format!("{} is larger than {limit} bytes", path.display()))
}

/// Refuses absolute paths and `..`: the seam only takes root-relative, normal paths.
pub fn check_relative(path: &Path) -> io::Result<()> {
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            _ => return Err(not_relative(path)),
        }
    }
    Ok(())
}

/// The error for a path [`check_relative`] refuses.
pub fn not_relative(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "path {} is not relative to the file system root",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers `Interrupted` `times` times, then yields `bytes` one at a time.
    struct Stormy {
        times: u32,
        bytes: Vec<u8>,
    }

    impl Read for Stormy {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.times > 0 {
                self.times -= 1;
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.bytes.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.bytes.remove(0);
            Ok(1)
        }
    }

    #[test]
    fn read_all_retries_interruptions_up_to_the_bound_and_no_further() {
        let path = Path::new("src/a.txt");
        let few = Stormy {
            times: 3,
            bytes: b"abc".to_vec(),
        };
        assert_eq!(read_all(few, path, 10).unwrap(), b"abc");
        let storm = Stormy {
            times: u32::MAX,
            bytes: vec![],
        };
        let err = read_all(storm, path, 10).unwrap_err();
        assert!(err.to_string().contains("interrupted"), "{err}");
        let big = Stormy {
            times: 0,
            bytes: vec![7; 11],
        };
        assert!(read_all(big, path, 10)
            .unwrap_err()
            .to_string()
            .contains("larger than 10"));
    }
}
