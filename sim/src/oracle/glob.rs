//! Globs judged independently: the oracle lists the workspace itself and matches the patterns
//! it generates with its own matcher (not globset, not the engine's walk).
//!
//! The walk follows SPEC §3 and the engine's documented rules: generated `.heph*` names are not
//! sources, a symlink to a file is a file, a symlinked directory is not descended into.

use std::path::{Path, PathBuf};

use engine::fs::{FileKind, Fs};

use super::failures::{history, io_error};
use super::model::Origin;
use crate::journal::{HashAct, Journal, Unreadable, MAX_WALK_DEPTH};

/// At most this many files in one listing.
pub const MAX_LISTED: usize = 100_000;

/// Every workspace file a source walk finds, sorted.
pub fn list_workspace(fs: &dyn Fs) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![(PathBuf::new(), 0usize)];
    while let Some((dir, depth)) = pending.pop() {
        let Ok(names) = fs.read_dir(&dir) else {
            continue;
        };
        for name in names.into_iter().filter(|n| !n.starts_with(".heph")) {
            let path = dir.join(&name);
            let kind = match fs.symlink_metadata(&path) {
                Ok(meta) => meta.kind,
                Err(_) => continue,
            };
            match kind {
                FileKind::Dir if depth < MAX_WALK_DEPTH => pending.push((path, depth + 1)),
                FileKind::File => files.push(path),
                FileKind::Symlink => {
                    if fs.metadata(&path).is_ok_and(|m| m.kind == FileKind::File) {
                        files.push(path);
                    }
                }
                FileKind::Dir => {}
            }
            if files.len() >= MAX_LISTED {
                break;
            }
        }
    }
    files.sort();
    files
}

/// True when `path` matches `pattern`, with globset's default semantics for the patterns the
/// generator writes: `*` matches any run of characters, `/` included; `?` any one character;
/// everything else itself.
pub fn matches(pattern: &str, path: &Path) -> bool {
    debug_assert!(
        !pattern.contains(['[', '{', '\\']),
        "the oracle's matcher knows only * and ?: {pattern}"
    );
    let text: Vec<char> = path.to_string_lossy().chars().collect();
    let pat: Vec<char> = pattern.chars().collect();
    // Classic wildcard matching with one backtrack point (the last `*`).
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pat.len() && (pat[p] == '?' || pat[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pat.len() && pat[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == '*')
}

/// The files a glob with `patterns` and `excludes` selects from `listing`, sorted.
pub fn select(listing: &[PathBuf], patterns: &[String], excludes: &[String]) -> Vec<PathBuf> {
    listing
        .iter()
        .filter(|p| patterns.iter().any(|g| matches(g, p)))
        .filter(|p| !excludes.iter().any(|g| matches(g, p)))
        .cloned()
        .collect()
}

/// True when the journal explains why a glob left out `act`'s file: it was not a readable file
/// when it was hashed or at some moment since (SPEC §3: "a matched file that cannot be read is
/// skipped"). A fault the simulator injected into a readable file explains nothing: a glob that
/// drops a file on EIO builds from fewer sources than the workspace holds, and says nothing.
///
/// Architecture Invariant: a skip is judged by the file's state as the simulator saw it, never
/// by the error the engine got.
pub fn skip_explained(journal: &Journal, act: &HashAct) -> bool {
    let origin = Origin {
        path: act.path.clone(),
        act_seq: act.seq,
        stale: false,
    };
    act.unreadable.is_some() || !history(journal, &origin, u64::MAX).unreadable.is_empty()
}

/// The selected file a glob's failure should have skipped instead: `error` says a file cannot
/// be read (missing, denied, a symlink loop) and names a file the patterns select.
pub fn should_have_skipped<'a>(
    error: &(dyn std::error::Error + 'static),
    selected: &'a [PathBuf],
) -> Option<&'a PathBuf> {
    let why = Unreadable::of(io_error(error)?);
    if !matches!(
        why,
        Unreadable::Missing | Unreadable::Denied | Unreadable::Loop
    ) {
        return None;
    }
    let message = error.to_string();
    selected
        .iter()
        .find(|p| super::failures::names(&message, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_matcher() {
        let check = |pattern: &str, path: &str, expected: bool| {
            assert_eq!(
                matches(pattern, Path::new(path)),
                expected,
                "{pattern} vs {path}"
            );
        };
        check("src/g*.txt", "src/g1.txt", true);
        check("src/g*.txt", "src/g.txt", true);
        check("src/g*.txt", "src/gx/y.txt", true);
        check("src/g*.txt", "src/f1.txt", false);
        check("src/g*.txt", "src/g1.txt.sim-new", false);
        check("src/*.sim-new", "src/g1.sim-new", true);
        check("src/?1.txt", "src/g1.txt", true);
        check("src/?1.txt", "src/gg1.txt", false);
        check("*", "", true);
        check("a*b*c", "aXbYbZc", true);
        check("a*b*c", "aXbYbZ", false);
    }

    #[test]
    fn check_should_have_skipped() {
        let selected = [PathBuf::from("src/g0.txt"), PathBuf::from("src/g1.txt")];
        let check = |path: &str, error: std::io::Error, expected: Option<&str>| {
            let error = engine::EngineError::io(path, error);
            let got =
                should_have_skipped(&error, &selected).map(|p| p.to_string_lossy().into_owned());
            assert_eq!(got.as_deref(), expected, "{error}");
        };
        use std::io::{Error, ErrorKind::*};
        check("src/g0.txt", NotFound.into(), Some("src/g0.txt"));
        check("src/g1.txt", PermissionDenied.into(), Some("src/g1.txt"));
        check(
            "src/g1.txt",
            Error::from_raw_os_error(Unreadable::ELOOP),
            Some("src/g1.txt"),
        );
        check("src/g0.txt", Error::from_raw_os_error(5), None); // EIO: the glob must fail
        check("src/g0.txt", IsADirectory.into(), None);
        check("src/g", NotFound.into(), None); // a directory of the walk, not a matched file
        check("src/g0.txt.sim-new", NotFound.into(), None);
    }

    #[test]
    fn the_matcher_agrees_with_globset_on_generated_patterns() {
        let paths = [
            "src/g0.txt",
            "src/g10.txt",
            "src/gl4.txt",
            "src/f0.txt",
            "src/g0.sim-new",
            "src/sub/g1.txt",
            "src/g",
            "g1.txt",
            "src/g1.txtx",
            "src/l3.txt",
        ];
        for pattern in [
            "src/g*.txt",
            "src/*.sim-new",
            "src/*",
            "*.txt",
            "src/g?.txt",
        ] {
            let set = globset::Glob::new(pattern).unwrap().compile_matcher();
            for path in paths {
                assert_eq!(
                    matches(pattern, Path::new(path)),
                    set.is_match(path),
                    "{pattern} vs {path}"
                );
            }
        }
    }
}
