//! The engine's DiskFs judged against the OS: on a real directory the simulator reads every
//! `stat` it checks a second time with `std::fs` itself, so a DiskFs that reports a wrong
//! field (ctime copied from mtime, a device number for an inode, seconds for nanoseconds)
//! is a violation even when no walker policy in the run happens to read that field. So are
//! the bytes a file reads as (`read`), every directory's names (`read_dir`: sorted, names
//! that are not UTF-8 left out, as the `Fs` contract says), and what each symlink reaches
//! (the file `metadata` and `read` follow it to, against the OS following `readlink`'s
//! target: the `Fs` has no `readlink` of its own).
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

/// Where `read` disagrees about `path`: the bytes (or the failure) DiskFs gives against the
/// OS's.
pub fn read_disagreement(fs: &dyn Fs, root: &Path, path: &Path) -> Option<String> {
    let engine = fs.read(path, crate::journal::MAX_READ);
    let os = std::fs::read(root.join(path));
    match (engine, os) {
        (Ok(e), Ok(o)) if e != o => Some(format!(
            "DiskFs::read({}) gives {} bytes, the OS {} bytes{}",
            path.display(),
            e.len(),
            o.len(),
            if e.len() == o.len() {
                " of other content"
            } else {
                ""
            }
        )),
        (Ok(_), Err(e)) => Some(format!(
            "DiskFs::read({}) succeeds where the OS fails ({e})",
            path.display()
        )),
        (Err(e), Ok(_)) => Some(format!(
            "DiskFs::read({}) fails ({e}) where the OS reads",
            path.display()
        )),
        (Err(a), Err(b)) if a.kind() != b.kind() => Some(format!(
            "DiskFs::read({}) fails with {:?}, the OS with {:?}",
            path.display(),
            a.kind(),
            b.kind()
        )),
        _ => None,
    }
}

/// At most this many directories a tree check visits.
pub const MAX_TREE_DIRS: usize = 256;

/// Every directory of the workspace under `root` (the engine's state directory, `.heph*`,
/// aside), walked with `std::fs`: its names against `read_dir`'s, and each entry's `stat`
/// (through links: `readlink` followed) and, for files, its bytes against DiskFs's.
pub fn tree_disagreements(fs: &dyn Fs, root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![std::path::PathBuf::new()];
    let mut visited = 0;
    while let Some(dir) = pending.pop() {
        visited += 1;
        if visited > MAX_TREE_DIRS || out.len() >= MAX_KEPT {
            break;
        }
        let Ok(listing) = std::fs::read_dir(root.join(&dir)) else {
            continue; // a directory the OS cannot list: `stat` conformance judges it
        };
        let mut names: Vec<String> = listing
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| !(dir.as_os_str().is_empty() && n.starts_with(".heph")))
            .collect();
        names.sort();
        let engine: Vec<String> = fs.read_dir(&dir).unwrap_or_default();
        let engine: Vec<String> = engine
            .into_iter()
            .filter(|n| !(dir.as_os_str().is_empty() && n.starts_with(".heph")))
            .collect();
        if engine != names {
            out.push(format!(
                "DiskFs::read_dir({}) lists {engine:?}, the OS (UTF-8 names, sorted) {names:?}",
                dir.display()
            ));
        }
        for name in names {
            let path = dir.join(&name);
            out.extend(disagreements(fs, root, &path));
            match std::fs::metadata(root.join(&path)) {
                Ok(m)
                    if m.is_dir()
                        && !std::fs::symlink_metadata(root.join(&path))
                            .is_ok_and(|l| l.is_symlink()) =>
                {
                    pending.push(path)
                }
                Ok(m) if m.is_file() => out.extend(read_disagreement(fs, root, &path)),
                _ => {}
            }
        }
    }
    out.truncate(MAX_KEPT);
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
    fn the_tree_agrees_and_a_wrong_listing_or_read_is_named() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let fs = engine::fs::DiskFs::new(dir.path()).unwrap();
        fs.write(Path::new("src/a.txt"), b"abc").unwrap();
        fs.write(Path::new("src/d/b.txt"), b"b").unwrap();
        fs.symlink(Path::new("a.txt"), Path::new("src/l.txt"))
            .unwrap();
        fs.write(Path::new(".heph/cache/k/m"), b"state").unwrap();
        // A name that is not UTF-8 is left out by DiskFs and by the OS listing alike.
        std::fs::write(
            dir.path()
                .join("src")
                .join(std::ffi::OsStr::from_bytes(b"\xff.txt")),
            b"x",
        )
        .unwrap();
        assert_eq!(tree_disagreements(&fs, dir.path()), Vec::<String>::new());
        // Another root: other bytes and names under the same paths.
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(other.path().join("src/d")).unwrap();
        std::fs::write(other.path().join("src/a.txt"), b"abd").unwrap();
        std::fs::write(other.path().join("src/d/c.txt"), b"c").unwrap();
        let lines = tree_disagreements(&fs, other.path());
        assert!(
            lines.iter().any(|l| l.contains(
                "DiskFs::read(src/a.txt) gives 3 bytes, the OS 3 bytes of other content"
            )),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("DiskFs::read_dir(src/d) lists [\"b.txt\"]")),
            "{lines:?}"
        );
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
