//! Globs judged independently: the oracle matches the patterns it generates with its own matcher
//! (not globset, not the engine's walk) against the workspace as the simulator listed it
//! ([`crate::journal::list_workspace`]), and judges each glob's match set and SPEC §3's skip
//! rule both ways: what a glob left out, and what it failed on.

use std::path::{Path, PathBuf};

use super::ledger::Check;
use engine::target::{Driver, Target};

use super::failures::io_error;
use super::judge::{answer_for, BuildInput, Oracle};
use super::Invariant;
use crate::journal::{skip_explained, HashAct, Unreadable};

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

/// True when `pattern` parses as a glob: every character class (`[`) and alternation (`{`) it
/// opens is closed again, as globset requires (the generator writes no other syntax error).
pub fn parses(pattern: &str) -> bool {
    let mut open: Option<char> = None;
    for c in pattern.chars() {
        match (open, c) {
            (None, '[') => open = Some(']'),
            (None, '{') => open = Some('}'),
            (Some(close), c) if c == close => open = None,
            _ => {}
        }
    }
    open.is_none()
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

impl Oracle {
    /// A glob's match set against the files it hashed, checked both ways (a hashed file its
    /// patterns do not select, a selected file it skipped), and every selected file it left out
    /// against SPEC §3's skip rule. Returns the act of each selected file it hashed, in order.
    pub(super) fn judge_match_set<'a>(
        &mut self,
        b: &BuildInput<'a>,
        name: &str,
        selected: &[PathBuf],
    ) -> Vec<&'a HashAct> {
        let acts: Vec<&HashAct> = b
            .journal
            .acts
            .iter()
            .filter(|a| a.build == b.build && a.target == name)
            .collect();
        self.verdicts.ledger.fired(Check::GlobMatch);
        for act in acts.iter().filter(|a| !selected.contains(&a.path)) {
            let message = format!(
                "glob {name} hashed {}, which its patterns do not select",
                act.path.display()
            );
            self.verdicts.fail(Invariant::Integrity, message);
        }
        let mut hashed = Vec::new();
        for path in selected {
            let Some(act) = acts.iter().find(|a| &a.path == path) else {
                let message = format!(
                    "glob {name} skipped {}, which its patterns select",
                    path.display()
                );
                self.verdicts.fail(Invariant::Integrity, message);
                continue;
            };
            if !self.resolved.contains_key(&act.seq)
                && answer_for(b, act).is_none()
                && !skip_explained(b.journal, act)
            {
                let message = format!("glob {name} left out {}, which was a readable file throughout (SPEC §3 skips only a matched file that cannot be read)", path.display());
                self.verdicts.fail(Invariant::Integrity, message);
            }
            hashed.push(*act);
        }
        hashed
    }

    /// SPEC §3: a glob skips a matched file that cannot be read; failing on one is a false alarm.
    pub(super) fn judge_glob_failure(
        &mut self,
        b: &BuildInput,
        target: &Target,
        error: &(dyn std::error::Error + 'static),
    ) {
        let Driver::FsGlob { patterns, excludes } = &target.driver else {
            return;
        };
        if super::predict::malformed(&target.driver).is_some() {
            return; // refused as a definition (`judge_failed`), never walked
        }
        let name = &target.name;
        let Some(listing) = b
            .journal
            .listings
            .iter()
            .find(|l| l.build == b.build && &l.target == name)
        else {
            return;
        };
        // A file the engine hashed (freshly, or answered from its walker cache as the model's
        // rule allows) may fail later, packed for the cache after it went away: only the
        // files it could not hash are the glob's to skip.
        let hashed = |p: &PathBuf| {
            b.journal.acts.iter().any(|a| {
                a.build == b.build
                    && &a.target == name
                    && &a.path == p
                    && (a.fresh.is_some() || self.resolved.contains_key(&a.seq))
            })
        };
        self.verdicts.ledger.fired(Check::GlobSkip);
        let mut selected = select(self.listings.walked(listing), patterns, excludes);
        selected.retain(|p| !hashed(p));
        if let Some(path) = should_have_skipped(error, &selected) {
            let message = format!("glob {name} failed on {}, which its patterns select and which cannot be read: SPEC §3 skips it ({error})", path.display());
            self.verdicts.fail(Invariant::NoFalseAlarms, message);
        }
    }
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
