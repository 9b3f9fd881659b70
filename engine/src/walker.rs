//! The walker hash cache (SPEC §2): file hashouts remembered with the `stat` data they were
//! hashed under, and answered again while the active [`Policy`] trusts that data.
//!
//! heph's behaviour (the default): a hit on (size, mtime_ns) returns the stored hashout and the
//! stored exec bit, so a same-size edit that keeps its mtime yields a stale hashout.
//! The racy policy (what we propose): an entry whose mtime lies within the file system's
//! granularity of the moment it was recorded cannot be trusted, and is re-hashed. The other
//! policies are other tools' rules (`walker/policy/`).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::ctx::Ctx;
use crate::error::{EngineError, Result};
use crate::fs::{FileKind, Metadata};
use crate::hash::hash_reader;
use crate::probe::Probe;
use crate::trace::Event;

pub mod listing;
pub mod policy;

pub use policy::{Policy, Stamp};

/// At most this many paths are remembered; beyond it the cache is cleared (a rare, safe reset).
pub const MAX_WALKER_ENTRIES: usize = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Remembered {
    stamp: Stamp,
    hashout: String,
    x: bool,
}

/// What the walker answered for one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashed {
    /// The hashout.
    pub hashout: String,
    /// The exec bit that went into it.
    pub x: bool,
    /// True when the answer came from the cache without reading the file.
    pub cached: bool,
}

/// The (size, mtime)-validated hash cache.
#[derive(Debug)]
pub struct WalkerCache {
    policy: Policy,
    max_entries: usize,
    /// When the current build started (`begin_build`), stamped on what it hashes.
    build_start_ns: std::sync::atomic::AtomicU64,
    entries: Mutex<BTreeMap<PathBuf, Remembered>>,
    /// Directory listings, for the policies that keep them (heph's, ours).
    listings: listing::ListingCache,
}

#[cfg(any(test, feature = "test-support"))]
impl Default for WalkerCache {
    fn default() -> Self {
        Self::new(Policy::Heph)
    }
}

impl WalkerCache {
    /// A cache validated by `policy`.
    pub fn new(policy: Policy) -> Self {
        WalkerCache {
            policy,
            max_entries: MAX_WALKER_ENTRIES,
            build_start_ns: std::sync::atomic::AtomicU64::new(0),
            entries: Mutex::new(BTreeMap::new()),
            listings: listing::ListingCache::default(),
        }
    }

    /// The policy that validates remembered hashes.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// A build starts at `now_ns`: what it hashes is stamped with that start (Cargo's and
    /// ccache's rules compare against it).
    pub fn begin_build(&self, now_ns: u64) {
        self.build_start_ns
            .store(now_ns, std::sync::atomic::Ordering::SeqCst);
    }

    /// Hashes the file at `path` (following symlinks), or answers from the cache.
    pub fn hash(&self, ctx: &Ctx, path: &Path) -> Result<Hashed> {
        ctx.probe(Probe::BeforeHash { path });
        let meta = ctx.fs.metadata(path).map_err(|e| source_error(path, e))?;
        if meta.kind == FileKind::Dir {
            return Err(EngineError::not_a_file(path));
        }
        let looked_up = !(crate::regressed!(EmptySkipsWalkerCache) && meta.len == 0);
        let hit = looked_up
            .then(|| self.lookup(path, &meta, ctx.fs.mtime_granularity_ns()))
            .flatten();
        if let Some(hit) = hit {
            ctx.emit(Event::Hash {
                path: path.into(),
                hashout: hit.hashout.clone(),
                x: hit.x,
                cached: true,
            });
            return Ok(hit);
        }
        ctx.probe(Probe::BeforeOpen { path });
        let (file, opened) = self.open(ctx, path)?;
        let x = match ctx.fs.symlink_metadata(path) {
            Ok(link) if crate::regressed!(ExecBitFromLink) => link.exec(),
            _ => meta.exec(),
        };
        let hashout = hash_chunks(ctx, path, file, x, meta.len)?;
        self.stamp(ctx, path, (&meta, opened), &hashout, x);
        ctx.emit(Event::Hash {
            path: path.into(),
            hashout: hashout.clone(),
            x,
            cached: false,
        });
        ctx.probe(Probe::AfterHash {
            path,
            hashout: &hashout,
        });
        Ok(Hashed {
            hashout,
            x,
            cached: false,
        })
    }

    /// Remembers `hashout` for `path` under the stamp of what was hashed.
    ///
    /// Architecture Invariant: ours stamps what it hashed, the opened file's own `fstat`, and
    /// remembers nothing when the path's `stat` described another file (or another state of
    /// it): the stat→open gap cannot put one file's hash under another's stamp.
    fn stamp(
        &self,
        ctx: &Ctx,
        path: &Path,
        (meta, opened): (&Metadata, Option<Metadata>),
        hashout: &str,
        x: bool,
    ) {
        let stamped = opened.unwrap_or(*meta);
        let stamp = Stamp {
            len: stamped.len,
            mtime_ns: stamped.mtime_ns,
            ctime_ns: stamped.ctime_ns,
            ino: stamped.ino,
            mode: stamped.mode,
            recorded_at_ns: ctx.fs.now_nanos(),
            build_start_ns: self
                .build_start_ns
                .load(std::sync::atomic::Ordering::SeqCst),
        };
        let remembered = Remembered {
            stamp,
            hashout: hashout.to_string(),
            x,
        };
        if opened.is_none_or(|o| same_file_state(&o, meta)) {
            self.remember(path, remembered);
        }
    }

    /// Opens `path` to hash it: ours with the `fstat` of the handle it reads (`Some`), every
    /// other policy by path alone, as its tool does (heph's stat, then open by path).
    fn open(
        &self,
        ctx: &Ctx,
        path: &Path,
    ) -> Result<(Box<dyn crate::fs::FsRead>, Option<Metadata>)> {
        if self.policy == Policy::Ours && !crate::regressed!(OursStampsFromPath) {
            let (file, meta) = ctx.fs.open_stat(path).map_err(|e| source_error(path, e))?;
            return Ok((file, Some(meta)));
        }
        let file = ctx.fs.open(path).map_err(|e| source_error(path, e))?;
        Ok((file, None))
    }

    fn lookup(&self, path: &Path, now: &crate::fs::Metadata, granularity: u64) -> Option<Hashed> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(path)?;
        let was = entry.stamp;
        let trusted = match self.policy {
            Policy::Heph if crate::regressed!(WalkerIgnoresSize) => was.mtime_ns == now.mtime_ns,
            Policy::Racy if crate::regressed!(RacyTrustsCache) => Policy::Heph.trusts(&was, now, 1),
            policy => policy.trusts(&was, now, granularity),
        };
        trusted.then(|| Hashed {
            hashout: entry.hashout.clone(),
            x: entry.x,
            cached: true,
        })
    }

    fn remember(&self, path: &Path, remembered: Remembered) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.max_entries && !entries.contains_key(path) {
            entries.clear();
        }
        if crate::regressed!(WalkerKeepsFirst) {
            entries.entry(path.to_path_buf()).or_insert(remembered);
        } else {
            entries.insert(path.to_path_buf(), remembered);
        }
        debug_assert!(entries.len() <= self.max_entries);
    }

    /// What was recorded when `path` was last hashed (Bazel's `FileContentsProxy`), with the
    /// hashout it was hashed to.
    pub fn recorded(&self, path: &Path) -> Option<(Stamp, String)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(path).map(|r| (r.stamp, r.hashout.clone()))
    }

    /// The names in directory `dir`, from the listing cache when the policy trusts it.
    pub fn list_dir(&self, ctx: &Ctx, dir: &Path) -> io::Result<std::sync::Arc<[String]>> {
        self.listings.list(ctx, self.policy, dir)
    }

    /// Forgets everything (a fresh process).
    #[cfg(any(test, feature = "test-support"))]
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.listings.clear();
    }
}

/// True when two `stat`s describe the same file in the same state (every field a rule reads).
fn same_file_state(a: &Metadata, b: &Metadata) -> bool {
    (a.len, a.mtime_ns, a.ctime_ns, a.ino, a.mode) == (b.len, b.mtime_ns, b.ctime_ns, b.ino, b.mode)
}

/// A source being hashed, reporting each chunk read (`AfterHashChunk`) to the observer.
/// Exactly `left` bytes of `inner`: zeros past its end, nothing past `left` (the seeded
/// regression that hashes the size a stat gave).
struct PadTo<'a, R> {
    inner: &'a mut R,
    left: u64,
}

impl<R: io::Read> io::Read for PadTo<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = match self.inner.read(&mut buf[..want])? {
            0 => {
                buf[..want].fill(0);
                want
            }
            n => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

struct ChunkProbe<'a> {
    ctx: &'a Ctx,
    path: &'a Path,
    inner: Box<dyn crate::fs::FsRead>,
    index: u32,
}

impl io::Read for ChunkProbe<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            let index = self.index;
            self.index = self.index.saturating_add(1);
            self.ctx.probe(Probe::AfterHashChunk {
                path: self.path,
                index,
            });
        }
        Ok(n)
    }
}

/// Maps an I/O error on a source path to the precise engine error.
pub fn source_error(path: &Path, e: io::Error) -> EngineError {
    match e.kind() {
        io::ErrorKind::NotFound => EngineError::MissingSource {
            path: path.into(),
            source: e,
        },
        io::ErrorKind::IsADirectory => EngineError::NotAFile {
            path: path.into(),
            source: e,
        },
        _ => EngineError::io(path, e),
    }
}

/// Hashes `file` (the bytes of `path`, with exec bit `x`) chunk by chunk, each chunk a probe
/// point; `len` is the size its `stat` gave.
fn hash_chunks(
    ctx: &Ctx,
    path: &Path,
    file: Box<dyn crate::fs::FsRead>,
    x: bool,
    len: u64,
) -> Result<String> {
    let mut chunks = ChunkProbe {
        ctx,
        path,
        inner: file,
        index: 0,
    };
    if crate::regressed!(HashPadsToStatSize) {
        let mut padded = PadTo {
            inner: &mut chunks,
            left: len,
        };
        hash_reader(&mut padded, x)
    } else {
        hash_reader(&mut chunks, x)
    }
    .map_err(|e| source_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remembered() -> Remembered {
        Remembered {
            stamp: Stamp {
                len: 1,
                mtime_ns: 1,
                ctime_ns: 1,
                ino: 2,
                mode: 0o644,
                recorded_at_ns: 1,
                build_start_ns: 0,
            },
            hashout: "h".into(),
            x: false,
        }
    }

    #[test]
    fn a_full_cache_is_cleared_only_for_a_new_path() {
        let cache = WalkerCache {
            max_entries: 2,
            ..WalkerCache::new(Policy::Heph)
        };
        let paths = || -> Vec<PathBuf> {
            let entries = cache.entries.lock().unwrap();
            entries.keys().cloned().collect()
        };
        cache.remember(Path::new("a"), remembered());
        cache.remember(Path::new("b"), remembered());
        cache.remember(Path::new("a"), remembered());
        assert_eq!(
            paths(),
            [Path::new("a"), Path::new("b")],
            "updating keeps both"
        );
        cache.remember(Path::new("c"), remembered());
        assert_eq!(
            paths(),
            [Path::new("c")],
            "a new path resets the full cache"
        );
    }
}
