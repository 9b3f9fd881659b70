//! `DiskFs`: the real file system under a root directory.

use std::fs::{self, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{check_relative, FileKind, Fs, FsRead, FsWrite, Metadata};

/// The real file system, rooted at a directory; every path is resolved under it.
#[derive(Clone, Debug)]
pub struct DiskFs {
    root: PathBuf,
}

impl DiskFs {
    /// A file system rooted at `root`, which must exist.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        if !fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("DiskFs root {} is not a directory", root.display()),
            ));
        }
        Ok(Self { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, path: &Path) -> io::Result<PathBuf> {
        check_relative(path)?;
        // Built from the names alone, as MemFs reads a path: `d/.` is `d` (the kernel would
        // take `d/.` as `d` too, but `std::fs::create_dir_all` fails on it).
        let mut full = self.root.clone();
        full.extend(
            path.components()
                .filter(|c| matches!(c, Component::Normal(_))),
        );
        debug_assert!(full.starts_with(&self.root));
        Ok(full)
    }

    /// [`DiskFs::full`] for removing a tree: the root itself is busy, as a file system's root
    /// is to `rmdir(2)` (MemFs answers the same), so that no call can remove the directory the
    /// engine works in (`std::fs::remove_dir_all` would, contents first).
    fn full_entry(&self, path: &Path) -> io::Result<PathBuf> {
        let full = self.full(path)?;
        // `full` is built from the path's names: the root exactly when it has none.
        if full == self.root {
            return Err(io::Error::from_raw_os_error(EBUSY));
        }
        debug_assert!(full.starts_with(&self.root));
        Ok(full)
    }
}

/// What `read(2)` of a directory says, as MemFs says it (kind, message and errno alike).
const EISDIR: i32 = 21;

/// What `rmdir(2)` of a file system's root says.
const EBUSY: i32 = 16;

fn convert(meta: &fs::Metadata) -> Metadata {
    let kind = if meta.file_type().is_symlink() {
        FileKind::Symlink
    } else if meta.is_dir() {
        FileKind::Dir
    } else {
        FileKind::File
    };
    let nanos = |secs: i64, nsec: i64| (secs.max(0) as u64) * 1_000_000_000 + nsec.max(0) as u64;
    Metadata {
        kind,
        len: meta.len(),
        mtime_ns: nanos(meta.mtime(), meta.mtime_nsec()),
        ctime_ns: nanos(meta.ctime(), meta.ctime_nsec()),
        mode: meta.mode() & 0o777,
        ino: meta.ino(),
    }
}

impl Fs for DiskFs {
    fn open(&self, path: &Path) -> io::Result<Box<dyn FsRead>> {
        let full = self.full(path)?;
        let file = fs::File::open(&full)?;
        if file.metadata()?.is_dir() {
            return Err(io::Error::from_raw_os_error(EISDIR));
        }
        Ok(Box::new(file))
    }

    fn open_stat(&self, path: &Path) -> io::Result<(Box<dyn FsRead>, Metadata)> {
        let file = fs::File::open(self.full(path)?)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::from_raw_os_error(EISDIR));
        }
        Ok((Box::new(file), convert(&meta)))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn FsWrite>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.full(path)?)?;
        Ok(Box::new(file))
    }

    fn open_at(&self, path: &Path, offset: u64) -> io::Result<Box<dyn FsWrite>> {
        let mut file = OpenOptions::new().write(true).open(self.full(path)?)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(file))
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        Ok(convert(&fs::metadata(self.full(path)?)?))
    }

    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata> {
        Ok(convert(&fs::symlink_metadata(self.full(path)?)?))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(self.full(path)?)? {
            // A name that is not UTF-8 cannot be named by any target: it is not a source, and
            // a walk passes over it instead of failing on it (see `Fs::read_dir`).
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(self.full(path)?)
    }

    fn set_len(&self, path: &Path, len: u64) -> io::Result<()> {
        OpenOptions::new()
            .write(true)
            .open(self.full(path)?)?
            .set_len(len)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(self.full(path)?)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir_all(self.full_entry(path)?)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(self.full(from)?, self.full(to)?)
    }

    fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        fs::set_permissions(self.full(path)?, fs::Permissions::from_mode(mode & 0o7777))
    }

    fn set_mtime(&self, path: &Path, mtime_ns: u64) -> io::Result<()> {
        let full = self.full(path)?;
        // A directory opens for reading only; its owner may still set its times (futimens).
        let file = match std::fs::metadata(&full)?.is_dir() {
            true => std::fs::File::open(&full)?,
            false => OpenOptions::new().write(true).open(&full)?,
        };
        file.set_modified(UNIX_EPOCH + std::time::Duration::from_nanos(mtime_ns))
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        check_relative(target)?;
        std::os::unix::fs::symlink(target, self.full(link)?)
    }

    fn now_nanos(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    }

    fn mtime_granularity_ns(&self) -> u64 {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_utf8_are_left_out_of_listings() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let fs = DiskFs::new(dir.path()).unwrap();
        fs.write(Path::new("src/g1.txt"), b"ok").unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"\xffg1.txt");
        std::fs::write(dir.path().join("src").join(odd), b"undecodable").unwrap();
        assert_eq!(fs.read_dir(Path::new("src")).unwrap(), ["g1.txt"]);
    }

    /// What `sim fsops` found DiskFs answering unlike MemFs (and, for the root, unlike what
    /// any engine may do): each now answers as MemFs does.
    #[test]
    fn answers_as_memfs_does_where_sim_fsops_found_it_did_not() {
        use crate::fs::{MemFs, MemFsConfig};
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskFs::new(dir.path()).unwrap();
        let mem = MemFs::new(MemFsConfig::default());
        for fs in [&disk as &dyn Fs, &mem] {
            fs.write(Path::new("d/a"), b"x").unwrap();
            let busy = fs.remove_dir_all(Path::new("")).unwrap_err();
            assert_eq!(busy.raw_os_error(), Some(EBUSY), "the root is busy");
            assert_eq!(
                fs.read(Path::new("d/a"), 8).unwrap(),
                b"x",
                "nothing removed"
            );
            let is_dir = fs.read(Path::new("d"), 8).unwrap_err();
            assert_eq!(is_dir.raw_os_error(), Some(EISDIR), "{is_dir}");
            fs.create_dir_all(Path::new("e/.")).unwrap();
            assert_eq!(fs.metadata(Path::new("e")).unwrap().kind, FileKind::Dir);
        }
        assert!(
            DiskFs::new(dir.path().join("d/a")).is_err(),
            "a file is no root"
        );
    }
}
