//! The shadow model: what bytes and exec bit each source had when it was hashed, which sources a
//! mutation made suspect, and the independent hash the oracle compares against.
//!
//! Architecture Invariant: the shadow never calls the engine's hashing or verifying reader; it
//! hashes with xxhash-rust directly, so an engine hashing bug cannot hide itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use engine::fs::Fs;

/// SPEC §2 computed independently of the engine.
pub fn oracle_hashout(bytes: &[u8], x: bool) -> String {
    let mut state = xxhash_rust::xxh3::Xxh3::new();
    state.update(bytes);
    state.update(&[u8::from(x)]);
    format!("{:x}", state.digest())
}

/// What was hashed for one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashed {
    /// The bytes at hash time.
    pub bytes: Vec<u8>,
    /// The exec bit at hash time.
    pub x: bool,
    /// The hashout the engine reported.
    pub hashout: String,
}

/// The oracle's memory of one schedule.
#[derive(Debug, Default)]
pub struct Shadow {
    /// Per workspace path: what was hashed last.
    pub hashed: BTreeMap<PathBuf, Hashed>,
    /// Paths whose live content differs from what was hashed (may justify an InvalidData).
    pub suspect: BTreeSet<PathBuf>,
    /// Paths that a delete or rename made vanish at some point (may justify a NotFound).
    pub vanished: BTreeSet<PathBuf>,
    /// Hash-parity failures seen at hash time.
    pub parity: Vec<String>,
    /// Paths whose bytes differed from their last hash when the current build started.
    pub stale_bytes_at_start: BTreeSet<PathBuf>,
    /// Paths whose exec bit differed from their last hash when the current build started.
    pub stale_x_at_start: BTreeSet<PathBuf>,
}

/// The live (bytes, exec bit) at `path`, or `None` when it cannot be read.
pub fn live(fs: &dyn Fs, path: &Path) -> Option<(Vec<u8>, bool)> {
    let meta = fs.metadata(path).ok()?;
    let bytes = fs.read(path, 1 << 30).ok()?;
    Some((bytes, meta.exec()))
}

impl Shadow {
    /// Records what the engine just hashed, checking hash parity.
    pub fn on_hashed(&mut self, fs: &dyn Fs, path: &Path, hashout: &str) {
        let Some((bytes, x)) = live(fs, path) else {
            self.parity
                .push(format!("{} vanished while being hashed", path.display()));
            return;
        };
        let expected = oracle_hashout(&bytes, x);
        if expected != hashout {
            self.parity.push(format!(
                "{}: engine hashout {hashout}, file_hashout of its bytes {expected}",
                path.display()
            ));
        }
        self.suspect.remove(path);
        self.hashed.insert(
            path.to_path_buf(),
            Hashed {
                bytes,
                x,
                hashout: hashout.to_string(),
            },
        );
    }

    /// After a mutation of `path`: marks it suspect if its content no longer matches the hash.
    pub fn on_mutated(&mut self, fs: &dyn Fs, path: &Path) {
        let now = live(fs, path);
        if now.is_none() {
            self.vanished.insert(path.to_path_buf());
        }
        let Some(hashed) = self.hashed.get(path) else {
            return;
        };
        if now.is_none_or(|(bytes, _)| bytes != hashed.bytes) {
            self.suspect.insert(path.to_path_buf());
        }
    }

    /// At the start of a build: sources whose live bytes differ from the last hash are suspect
    /// (a stale walker hash can carry the old hash into this build).
    pub fn on_build_start(&mut self, fs: &dyn Fs) {
        self.stale_bytes_at_start.clear();
        self.stale_x_at_start.clear();
        let paths: Vec<PathBuf> = self.hashed.keys().cloned().collect();
        for path in paths {
            self.on_mutated(fs, &path);
            let hashed = &self.hashed[&path];
            match live(fs, &path) {
                Some((bytes, _)) if bytes != hashed.bytes => {
                    self.stale_bytes_at_start.insert(path);
                }
                Some((_, x)) if x != hashed.x => {
                    self.stale_x_at_start.insert(path);
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_hash_matches_spec_vectors() {
        assert_eq!(oracle_hashout(b"", false), "c44bdff4074eecdb");
        assert_eq!(oracle_hashout(b"hello world\n", true), "b71cc2b61479e8de");
        assert_eq!(oracle_hashout(b"file 3\n", false), "7a139b6ea8540c");
    }
}
