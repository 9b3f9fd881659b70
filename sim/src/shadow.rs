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
    /// The file system clock when it was hashed.
    pub hashed_at: u64,
}

/// A hashed source: the target that hashed it and the workspace path. Two targets may hash one
/// path at different moments (an fs:file target and a plugin exposing the same file).
pub type Source = (String, PathBuf);

/// The key of `path` as hashed by `target`.
pub fn source(target: &str, path: &Path) -> Source {
    (target.to_string(), path.to_path_buf())
}

/// The oracle's memory of one schedule.
#[derive(Debug, Default)]
pub struct Shadow {
    /// Per source: what was hashed last.
    pub hashed: BTreeMap<Source, Hashed>,
    /// Paths whose live content differs from some hash of them (may justify an InvalidData).
    pub suspect: BTreeSet<PathBuf>,
    /// Every hashout seen at hash time, with the bytes and exec bit it named.
    pub by_hashout: BTreeMap<String, (Vec<u8>, bool)>,
    /// Paths that a delete or rename made vanish at some point (may justify a NotFound).
    pub vanished: BTreeSet<PathBuf>,
    /// Hash-parity failures seen at hash time.
    pub parity: Vec<String>,
    /// Sources whose bytes differed from their last hash when the current build started.
    pub stale_bytes_at_start: BTreeSet<Source>,
    /// Sources whose exec bit differed from their last hash when the current build started.
    pub stale_x_at_start: BTreeSet<Source>,
    /// Stale sources whose mtime lies within the granularity of the moment they were hashed: a
    /// git-style racy walker must re-hash them.
    pub racy_at_start: BTreeSet<Source>,
}

/// The live (bytes, exec bit) at `path`, or `None` when it cannot be read.
pub fn live(fs: &dyn Fs, path: &Path) -> Option<(Vec<u8>, bool)> {
    let meta = fs.metadata(path).ok()?;
    let bytes = fs.read(path, 1 << 30).ok()?;
    Some((bytes, meta.exec()))
}

impl Shadow {
    /// Records what `target` just hashed at `path`, checking hash parity.
    pub fn on_hashed(&mut self, fs: &dyn Fs, target: &str, path: &Path, hashout: &str) {
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
        self.by_hashout
            .insert(hashout.to_string(), (bytes.clone(), x));
        let key = source(target, path);
        self.hashed.insert(
            key,
            Hashed {
                bytes,
                x,
                hashout: hashout.to_string(),
                hashed_at: fs.now_nanos(),
            },
        );
        if self
            .hashed
            .iter()
            .filter(|(k, _)| k.1 == path)
            .all(|(_, h)| h.bytes == self.hashed[&source(target, path)].bytes)
        {
            self.suspect.remove(path);
        }
    }

    /// The source that hashed `path` most recently (what a path-keyed walker cache holds).
    pub fn latest(&self, path: &Path) -> Option<Source> {
        self.hashed
            .iter()
            .filter(|(k, _)| k.1 == path)
            .max_by_key(|(_, h)| h.hashed_at)
            .map(|(k, _)| k.clone())
    }

    /// After a mutation of `path`: marks every source at it whose hashed bytes no longer match.
    pub fn on_mutated(&mut self, fs: &dyn Fs, path: &Path) {
        let now = live(fs, path);
        if now.is_none() {
            self.vanished.insert(path.to_path_buf());
        }
        let differs = self
            .hashed
            .iter()
            .filter(|(k, _)| k.1 == path)
            .any(|(_, h)| now.as_ref().is_none_or(|(bytes, _)| *bytes != h.bytes));
        if differs {
            self.suspect.insert(path.to_path_buf());
        }
    }

    /// At the start of a build: sources whose live bytes differ from the last hash are suspect
    /// (a stale walker hash can carry the old hash into this build).
    pub fn on_build_start(&mut self, fs: &dyn Fs) {
        self.stale_bytes_at_start.clear();
        self.stale_x_at_start.clear();
        self.racy_at_start.clear();
        let granularity = fs.mtime_granularity_ns().max(1);
        let keys: Vec<Source> = self.hashed.keys().cloned().collect();
        for key in keys {
            self.on_mutated(fs, &key.1);
            let hashed = &self.hashed[&key];
            match live(fs, &key.1) {
                Some((bytes, _)) if bytes != hashed.bytes => {
                    let mtime = fs.metadata(&key.1).map_or(0, |m| m.mtime_ns);
                    if hashed.hashed_at < mtime.saturating_add(granularity) {
                        self.racy_at_start.insert(key.clone());
                    }
                    self.stale_bytes_at_start.insert(key);
                }
                Some((_, x)) if x != hashed.x => {
                    self.stale_x_at_start.insert(key);
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
