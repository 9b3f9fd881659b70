//! Probe points: named moments of the pipeline where an observer (the simulator) may act on the
//! file system before the engine goes on.
//!
//! Architecture Invariant: the engine calls [`Observer::on`] synchronously at each point and
//! does not touch the file system for that step until it returns, so a mutation made by the
//! observer lands exactly between two engine actions.

use std::path::Path;

use crate::fs::Fs;

/// One named point of the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe<'a> {
    /// About to hash a source file (fs:file / fs:glob driver or the walker).
    BeforeHash {
        /// The workspace path.
        path: &'a Path,
    },
    /// The walker read a source's metadata and is about to open it to hash it.
    BeforeOpen {
        /// The workspace path.
        path: &'a Path,
    },
    /// The walker hashed chunk `index` (from 0) of a source.
    AfterHashChunk {
        /// The workspace path.
        path: &'a Path,
        /// Which chunk.
        index: u32,
    },
    /// A source file was hashed.
    AfterHash {
        /// The workspace path.
        path: &'a Path,
        /// Its hashout.
        hashout: &'a str,
    },
    /// A target's hashin (cache key) was computed.
    AfterHashin {
        /// The target.
        target: &'a str,
        /// Its hashin.
        hashin: &'a str,
    },
    /// Bazel's guard is about to check a target's sources before its outputs are cached.
    BeforeGuard {
        /// The target.
        target: &'a str,
    },
    /// A target's packed outputs were written to a cache.
    AfterCacheWrite {
        /// The target.
        target: &'a str,
        /// The cache key written.
        key: &'a str,
    },
    /// A File artifact is about to be read from the workspace to be packed (the file is open).
    PackRead {
        /// The packing target.
        target: &'a str,
        /// The source path.
        path: &'a Path,
    },
    /// A cacheable target is about to look its key up in the local cache.
    BeforeCacheRead {
        /// The target.
        target: &'a str,
        /// The key.
        key: &'a str,
    },
    /// A consumer is about to materialize its inputs.
    BeforeConsume {
        /// The consuming target.
        consumer: &'a str,
    },
    /// A passthrough source was opened for reading.
    OpenPassthrough {
        /// The workspace path.
        path: &'a Path,
    },
    /// A chunk of a passthrough source was read (index counts from 0).
    AfterReadChunk {
        /// The workspace path.
        path: &'a Path,
        /// Which read this was.
        index: u32,
    },
    /// A passthrough reader reached end of file, before verification.
    AtEof {
        /// The workspace path.
        path: &'a Path,
    },
    /// A consumer's inputs were materialized.
    AfterMaterialize {
        /// The consuming target.
        consumer: &'a str,
    },
}

/// Receives probe points; may mutate the file system it is handed.
pub trait Observer: Send + Sync {
    /// Called at every probe point, before the engine continues.
    fn on(&self, probe: &Probe<'_>, fs: &dyn Fs);
}

/// The observer that does nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopObserver;

impl Observer for NoopObserver {
    #[inline]
    fn on(&self, _: &Probe<'_>, _: &dyn Fs) {}
}
