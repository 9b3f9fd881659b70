//! No false alarms (SPEC §8.2), judged by what happened to the files: a failure is justified
//! only by a real change of a source the failing target read, classified by the error's
//! `io::ErrorKind` (found on its source chain) and SPEC's wording, never by the engine's own
//! name for the error.

use std::error::Error;
use std::io;
use std::path::Path;

use super::model::Origin;
use super::{Invariant, Verdicts};
use crate::journal::Journal;

/// SPEC §7's wording of a verification failure.
pub const MODIFIED: &str = "modified after it was hashed";

/// The `io::ErrorKind` behind an error: the first `io::Error` on its source chain.
pub fn io_kind(error: &(dyn Error + 'static)) -> Option<io::ErrorKind> {
    let mut current = Some(error);
    let mut depth = 0;
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        depth += 1;
        if depth > 16 {
            return None;
        }
        current = e.source();
    }
    None
}

/// What the journal shows happened to one source after the act that hashed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Its bytes or exec bit differed from what was hashed at some moment (or the answer was
    /// stale or torn).
    pub changed: bool,
    /// It was not a readable file at some moment (or when it was hashed).
    pub vanished: bool,
}

/// The history of `origin` in `journal`: every recorded live state after its hash act.
pub fn history(journal: &Journal, origin: &Origin) -> History {
    let Ok(i) = journal
        .acts
        .binary_search_by_key(&origin.act_seq, |a| a.seq)
    else {
        return History {
            changed: true,
            vanished: false,
        };
    };
    let act = &journal.acts[i];
    let Some(before) = &act.before else {
        return History {
            changed: false,
            vanished: true,
        };
    };
    let hashed = before.fingerprint();
    let mut history = History {
        changed: origin.stale || act.torn,
        vanished: false,
    };
    for change in journal.changes.iter().filter(|c| c.seq > act.seq) {
        match change.now.get(&origin.path) {
            Some(Some((now, _))) => history.changed |= *now != hashed,
            Some(None) => history.vanished = true,
            None => {}
        }
        // A reader opened before the path moved on still reads the file it opened: a change
        // to that file, seen through any other path, counts too.
        history.changed |= change
            .now
            .values()
            .flatten()
            .any(|(now, ino)| *ino == before.ino && *now != hashed);
    }
    history
}

/// Judges a failure of `target` with `error`: justified only when it names a source of the
/// target whose history shows the matching change. `sources` are the origins the target read
/// or hashed in this build; `collision` says the model expects two inputs at one path.
pub fn judge(
    target: &str,
    error: &(dyn Error + 'static),
    sources: &[Origin],
    journal: &Journal,
    collision: bool,
    verdicts: &mut Verdicts,
) {
    let message = error.to_string();
    if message.contains("panicked") && io_kind(error).is_none() {
        let message = format!("{target} failed because a task panicked: {message}");
        return verdicts.fail(Invariant::Panic, message);
    }
    let named = |o: &&Origin| names(&message, &o.path);
    let justified = match io_kind(error) {
        Some(io::ErrorKind::InvalidData) => {
            message.contains(MODIFIED)
                && sources
                    .iter()
                    .filter(named)
                    .any(|o| history(journal, o).changed)
        }
        Some(io::ErrorKind::NotFound) => sources
            .iter()
            .filter(named)
            .any(|o| history(journal, o).vanished),
        _ => collision && message.contains("collision"),
    };
    if !justified {
        let kind = io_kind(error).map_or("no io kind".to_string(), |k| format!("{k:?}"));
        let message = format!(
            "{target} failed ({kind}) though none of the sources it names changed that way: {message}"
        );
        verdicts.fail(Invariant::NoFalseAlarms, message);
    }
}

/// True when `message` names `path` as a whole path (not as a prefix of a longer one).
fn names(message: &str, path: &Path) -> bool {
    let path = path.to_string_lossy();
    message.match_indices(path.as_ref()).any(|(at, _)| {
        let mut rest = message[at + path.len()..].chars();
        match rest.next() {
            None => true,
            Some(c) if c.is_alphanumeric() || c == '_' || c == '-' => false,
            Some('.') => !rest.next().is_some_and(char::is_alphanumeric),
            Some(_) => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_are_found_on_the_source_chain() {
        let error = engine::EngineError::io("src/f0.txt", io::ErrorKind::InvalidData.into());
        assert_eq!(io_kind(&error), Some(io::ErrorKind::InvalidData));
        let graph = engine::EngineError::Graph("x".into());
        assert_eq!(io_kind(&graph), None);
    }

    #[test]
    fn a_path_is_named_only_whole() {
        assert!(names(
            "passthrough source src/f1.txt was modified",
            Path::new("src/f1.txt")
        ));
        assert!(names("src/f1.txt: gone", Path::new("src/f1.txt")));
        assert!(!names("src/f1.txt.sim-new: gone", Path::new("src/f1.txt")));
        assert!(!names("src/f10.txt: gone", Path::new("src/f1")));
    }
}
