//! Mutations of the tree rather than of a file's bytes: a file that becomes a directory and
//! back, a parent directory removed or renamed, symlinks retargeted, dangling or looping, a
//! file nobody may read, and a name that is not UTF-8.

use std::path::{Component, Path, PathBuf};

use engine::fs::{FileKind, Fs};

use crate::mutation::{MutationKind, World};

/// Applies a structural `kind` to `path`; `None` when `kind` changes contents instead.
pub fn apply(
    fs: &dyn Fs,
    path: &Path,
    kind: MutationKind,
    world: &World,
) -> Option<Result<(), String>> {
    let err = |e: std::io::Error| format!("{kind:?} on {}: {e}", path.display());
    let parent = path.parent().unwrap_or(Path::new(""));
    let result = match kind {
        MutationKind::ToDirectory => match fs.symlink_metadata(path).map_err(err) {
            Ok(meta) if meta.kind == FileKind::Dir => {
                Err(format!("{} is already a directory", path.display()))
            }
            Ok(_) => fs
                .remove_file(path)
                .and_then(|()| fs.create_dir_all(path))
                .map_err(err),
            Err(e) => Err(e),
        },
        MutationKind::BackToFile => match fs.symlink_metadata(path).map_err(err) {
            Ok(meta) if meta.kind == FileKind::Dir => fs
                .remove_dir_all(path)
                .and_then(|()| fs.write(path, b"a file again\n"))
                .map_err(err),
            Ok(_) => Err(format!("{} is not a directory", path.display())),
            Err(e) => Err(e),
        },
        MutationKind::RemoveParent => fs.remove_dir_all(parent).map_err(err),
        MutationKind::RenameParent => {
            let moved = PathBuf::from(format!("{}-moved", parent.display()));
            fs.rename(parent, &moved).map_err(err)
        }
        MutationKind::Retarget | MutationKind::Dangle | MutationKind::Loop => {
            relink(fs, path, kind, world)
                .map_err(err)
                .and_then(|done| done)
        }
        MutationKind::Unreadable => fs.set_mode(path, 0).map_err(err),
        MutationKind::AddUndecodable => add_undecodable(path, world).map_err(err).and_then(|d| d),
        _ => return None,
    };
    Some(result)
}

/// Replaces the symlink at `path` with one pointing elsewhere.
fn relink(
    fs: &dyn Fs,
    path: &Path,
    kind: MutationKind,
    world: &World,
) -> std::io::Result<Result<(), String>> {
    if fs.symlink_metadata(path)?.kind != FileKind::Symlink {
        return Ok(Err(format!("{} is not a symlink", path.display())));
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    let target = match kind {
        MutationKind::Dangle => PathBuf::from("missing.txt"),
        MutationKind::Loop => PathBuf::from(path.file_name().unwrap_or_default()),
        _ => {
            let now = fs.metadata(path).ok().map(|m| m.ino);
            let other = world.paths.iter().find(|p| {
                *p != path
                    && fs
                        .symlink_metadata(p)
                        .is_ok_and(|m| m.kind == FileKind::File)
                    && fs.metadata(p).ok().map(|m| m.ino) != now
            });
            match other {
                Some(other) => relative(dir, other),
                None => return Ok(Err("no other file to point the link to".into())),
            }
        }
    };
    fs.remove_file(path)?;
    fs.symlink(&target, path)?;
    Ok(Ok(()))
}

/// The path of `to` relative to the directory `from` (both relative to the root).
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    out
}

/// A file named `\xff{stem}` beside `path`, made through the real directory of a DiskFs.
fn add_undecodable(path: &Path, world: &World) -> std::io::Result<Result<(), String>> {
    use std::os::unix::ffi::OsStrExt;
    let Some(root) = world.disk_root else {
        return Ok(Err(
            "MemFs names are UTF-8; only DiskFs can hold this one".into()
        ));
    };
    let stem = path.file_stem().unwrap_or_default().as_bytes();
    let name = std::ffi::OsStr::from_bytes(&[b"\xff", stem].concat()).to_os_string();
    let dir = root.join(path.parent().unwrap_or(Path::new("")));
    std::fs::write(dir.join(name), b"undecodable\n")?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_relative() {
        let check = |from: &str, to: &str, expected: &str| {
            assert_eq!(
                relative(Path::new(from), Path::new(to)),
                PathBuf::from(expected),
                "{from} -> {to}"
            );
        };
        check("src", "src/f1.txt", "f1.txt");
        check("src/l4d", "src/f1.txt", "../f1.txt");
        check("src", "src/f1d/f1.txt", "f1d/f1.txt");
        check("src/a", "src/b/f.txt", "../b/f.txt");
    }
}
