//! No false alarms (SPEC §8.2), judged by what happened to the files: a failure is justified
//! only by a real change of a source the failing target read, classified by the error's
//! `io::ErrorKind` (found on its source chain) and SPEC's wording, never by the engine's own
//! name for the error.

use std::error::Error;
use std::io;
use std::path::Path;

use super::model::Origin;
use super::{Invariant, Verdicts};

use crate::journal::{history, opened_for_good, read_to_end, History, Journal};

/// SPEC §7's wording of a verification failure.
pub const MODIFIED: &str = "modified after it was hashed";

/// The `io::ErrorKind` behind an error: the first `io::Error` on its source chain.
pub fn io_kind(error: &(dyn Error + 'static)) -> Option<io::ErrorKind> {
    io_error(error).map(io::Error::kind)
}

/// The first `io::Error` on an error's source chain.
pub fn io_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a io::Error> {
    let mut current = Some(error);
    let mut depth = 0;
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        depth += 1;
        if depth > 16 {
            return None;
        }
        current = e.source();
    }
    None
}

/// What the simulator itself did that may make a target fail: files of the engine's state it
/// damaged, and I/O faults that fired (errno and path).
#[derive(Clone, Debug, Default)]
pub struct Excuses {
    /// Damaged files (cache tars and manifests, tmp spills, sandbox files).
    pub damaged: Vec<std::path::PathBuf>,
    /// Faults that fired: the errno they returned and the path they hit.
    pub faults: Vec<(i32, std::path::PathBuf)>,
    /// Files whose reader a storm of interruptions hit: a correct engine gives up on it with
    /// an error of its own (no errno) naming the file.
    pub storms: Vec<std::path::PathBuf>,
}

impl Excuses {
    /// True when `error` (with `message`) is what one of these would cause: it names a damaged
    /// file, or any file of a damaged cache entry (`{cache,tmp}/{key}/`), or the path of a
    /// fault with the errno it returned.
    fn explain(&self, error: Option<&io::Error>, message: &str) -> bool {
        self.damaged
            .iter()
            .any(|p| names(message, p) || names_entry_of(message, p))
            || error
                .and_then(io::Error::raw_os_error)
                .is_some_and(|errno| {
                    self.faults
                        .iter()
                        .any(|(e, p)| *e == errno && names(message, p))
                })
            || error.is_some_and(|e| e.kind() == io::ErrorKind::Other)
                && self.storms.iter().any(|p| names(message, p))
    }
}

/// The sources a failing target touched.
#[derive(Clone, Copy, Debug)]
pub struct Sources<'a> {
    /// The origins of the entries it read live (one per entry).
    pub reads: &'a [Origin],
    /// The origins of its own hash acts.
    pub acts: &'a [Origin],
    /// The hashout each read was expected to verify against (one per read; `None`: unknown).
    pub expected: &'a [Option<String>],
    /// Its live reads verify what they read (heph's pipeline); under a pipeline that reads
    /// inputs as they are (Bazel's, ccache's) a changed source never fails a read.
    pub reads_verify: bool,
}

/// Judges a failure of `target` with `error`: justified only when it names a source of the
/// target whose history shows the matching change, or damage or a fault the simulator caused.
/// `refusals` are what a refusal of the definition that the model expects must say (two inputs
/// at one path, an output group declared twice, a View given to a plugin: the refusal's name;
/// a path outside the workspace or sandbox, a glob that does not parse: the path or pattern
/// itself); empty when the model expects none.
pub fn judge(
    target: &str,
    error: &(dyn Error + 'static),
    sources: Sources,
    journal: &Journal,
    excuses: &Excuses,
    refusals: &[String],
    verdicts: &mut Verdicts,
) {
    let Sources {
        reads,
        acts,
        expected,
        reads_verify,
    } = sources;
    let message = error.to_string();
    if message.contains("panicked") && io_kind(error).is_none() {
        let message = format!("{target} failed because a task panicked: {message}");
        return verdicts.fail(Invariant::Panic, message);
    }
    if excuses.explain(io_error(error), &message) {
        return;
    }
    let histories: Vec<History> = reads
        .iter()
        .map(|o| {
            let entries = reads.iter().filter(|r| r.path == o.path).count();
            let opened = opened_for_good(journal, target, o, entries);
            history(journal, o, opened, read_to_end(journal, target, o, entries))
        })
        .chain(acts.iter().map(|o| history(journal, o, u64::MAX, u64::MAX)))
        .collect();
    // (history, read live) of every source the message names.
    let named: Vec<(&History, bool)> = reads
        .iter()
        .map(|o| (o, true))
        .chain(acts.iter().map(|o| (o, false)))
        .zip(&histories)
        .filter(|((o, _), _)| names(&message, &o.path))
        .map(|((_, live), h)| (h, live))
        .collect();
    let justified = match io_error(error) {
        // SPEC §7: the failure itself (the io::Error, not a wrapper around it) names the source
        // path and both hashes, saying it changed after hashing.
        Some(e) if e.kind() == io::ErrorKind::InvalidData => {
            let verifying = |live: bool| reads_verify || !live;
            let own = e.to_string();
            let says = |o: &Origin, hashout: Option<&String>| {
                names(&own, &o.path)
                    && hashout
                        .is_none_or(|h| own.contains(h.as_str()) && names_another_hash(&own, h))
            };
            own.contains(MODIFIED)
                && reads
                    .iter()
                    .map(|o| (o, true))
                    .chain(acts.iter().map(|o| (o, false)))
                    .zip(&histories)
                    .zip(expected.iter().map(Some).chain(std::iter::repeat(None)))
                    .any(|(((o, live), h), hashout)| {
                        h.changed && verifying(live) && says(o, hashout.and_then(Option::as_ref))
                    })
        }
        Some(e) => named
            .iter()
            .any(|(h, _)| h.unreadable.iter().any(|why| why.explains(e))),
        // A definition the engine must refuse, with an error that says which refusal it is.
        None => refusals.iter().any(|why| message.contains(why.as_str())),
    };
    if !justified {
        let kind = io_kind(error).map_or("no io kind".to_string(), |k| format!("{k:?}"));
        // SPEC §7's message, whole: a source that changed, named without both hashes.
        let half = message.contains(MODIFIED)
            && hashes_named(&message) < 2
            && io_kind(error) == Some(io::ErrorKind::InvalidData);
        let message = match half {
            true => format!("{target} failed (InvalidData) with a message that does not name both hashes, the one read and the one expected (SPEC §7): {message}"),
            false => format!("{target} failed ({kind}) though none of the sources it names changed that way: {message}"),
        };
        verdicts.fail(Invariant::NoFalseAlarms, message);
    }
}

/// True when `message` names a file in the same cache entry as `damaged`
/// (`{state}/{cache|tmp}/{key}/…`).
fn names_entry_of(message: &str, damaged: &Path) -> bool {
    let parts: Vec<_> = damaged.components().take(3).collect();
    let entry: std::path::PathBuf = parts.iter().collect();
    let is_cache =
        parts.len() == 3 && matches!(parts[1].as_os_str().to_str(), Some("cache") | Some("tmp"));
    is_cache && message.contains(&format!("{}/", entry.display()))
}

/// True when `message` names `path` as a whole path (not as a prefix of a longer one).
pub fn names(message: &str, path: &Path) -> bool {
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

/// True when `message` holds a hash other than `expected`: the one read (SPEC §7 names both).
/// A hashout is 1–16 lowercase hex digits; one of eight or more is taken for a hash (a read
/// hash shorter than that comes once in 16^8), so no word of a path passes for one.
fn names_another_hash(message: &str, expected: &str) -> bool {
    hash_words(message).any(|t| t != expected)
}

/// How many hashes `message` holds (as [`names_another_hash`] tells them).
fn hashes_named(message: &str) -> usize {
    hash_words(message).count()
}

fn hash_words(message: &str) -> impl Iterator<Item = &str> {
    let is_hash = |t: &&str| {
        (8..=16).contains(&t.len()) && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(is_hash)
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
    fn a_failure_names_the_hash_it_read_beside_the_expected_one() {
        let check = |message: &str, expected: &str, want: bool| {
            assert_eq!(names_another_hash(message, expected), want, "{message}");
        };
        let both = "passthrough source src/f0.txt was modified after it was hashed: read hash 6841b39251caf5ef, expected 2f91a78ea48f768a";
        check(both, "2f91a78ea48f768a", true);
        check(
            "src/f0.txt was modified after it was hashed: expected 2f91a78ea48f768a",
            "2f91a78ea48f768a",
            false,
        );
        check(
            "src/deadbeef/cafe.txt changed: expected 7a139b6ea8540c",
            "7a139b6ea8540c",
            true,
        );
        check(
            "src/g0-a-name-long-enough.txt changed: expected 7a139b6ea8540c",
            "7a139b6ea8540c",
            false,
        );
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
