//! The engine's DiskFs judged against the OS: on a real directory the simulator reads every
//! `stat` it checks a second time with `std::fs` itself, so a DiskFs that reports a wrong
//! field (ctime copied from mtime, a device number for an inode, seconds for nanoseconds)
//! is a violation even when no walker policy in the run happens to read that field.
//!
//! Architecture Invariant: the oracle's view of a real file system never goes through the
//! engine's `Fs` implementation alone.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use engine::fs::{FileKind, Fs, Metadata};

/// At most this many disagreements are kept per schedule.
pub const MAX_KEPT: usize = 16;

/// What `std::fs` says of `path` under `root`, in the engine's terms (`follow`: through links).
fn os_metadata(root: &Path, path: &Path, follow: bool) -> Option<Metadata> {
    let full = root.join(path);
    let meta = if follow {
        std::fs::metadata(full)
    } else {
        std::fs::symlink_metadata(full)
    }
    .ok()?;
    let kind = match meta.file_type() {
        t if t.is_symlink() => FileKind::Symlink,
        t if t.is_dir() => FileKind::Dir,
        _ => FileKind::File,
    };
    let nanos = |s: i64, ns: i64| {
        u64::try_from(s)
            .ok()?
            .checked_mul(1_000_000_000)?
            .checked_add(u64::try_from(ns).ok()?)
    };
    Some(Metadata {
        kind,
        len: meta.len(),
        mtime_ns: nanos(meta.mtime(), meta.mtime_nsec())?,
        ctime_ns: nanos(meta.ctime(), meta.ctime_nsec())?,
        mode: meta.mode() & 0o777,
        ino: meta.ino(),
    })
}

/// The fields on which the engine's `fs` and the OS disagree about `path`, as one line each.
pub fn disagreements(fs: &dyn Fs, root: &Path, path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (call, follow) in [("metadata", true), ("symlink_metadata", false)] {
        let engine = if follow {
            fs.metadata(path)
        } else {
            fs.symlink_metadata(path)
        };
        let os = os_metadata(root, path, follow);
        match (engine.ok(), os) {
            (Some(e), Some(o)) if e != o => out.push(format!(
                "DiskFs::{call}({}) says {e:?}, the OS says {o:?}",
                path.display()
            )),
            (Some(_), None) => out.push(format!(
                "DiskFs::{call}({}) answers for a path the OS cannot stat",
                path.display()
            )),
            (None, Some(_)) => out.push(format!(
                "DiskFs::{call}({}) fails where the OS answers",
                path.display()
            )),
            _ => {}
        }
    }
    debug_assert!(out.len() <= 2, "two calls, at most two lines");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_fs_agrees_with_the_os_on_files_links_and_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let fs = engine::fs::DiskFs::new(dir.path()).unwrap();
        fs.write(Path::new("a.txt"), b"abc").unwrap();
        fs.symlink(Path::new("a.txt"), Path::new("l.txt")).unwrap();
        fs.create_dir_all(Path::new("d")).unwrap();
        for path in ["a.txt", "l.txt", "d", "missing"] {
            assert_eq!(
                disagreements(&fs, dir.path(), Path::new(path)),
                Vec::<String>::new(),
                "{path}"
            );
        }
    }

    #[test]
    fn a_wrong_field_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let fs = engine::fs::DiskFs::new(dir.path()).unwrap();
        fs.write(Path::new("a.txt"), b"abc").unwrap();
        // Another root: the same name with other bytes and another inode.
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("a.txt"), b"abcdef").unwrap();
        let lines = disagreements(&fs, other.path(), Path::new("a.txt"));
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("DiskFs::metadata(a.txt)"), "{lines:?}");
    }
}
