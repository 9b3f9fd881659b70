//! The typed event trace: everything the engine did, in a deterministic order, for the
//! simulator's oracle and the snapshot suites.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;

/// Which consumer path materialized an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumePath {
    /// Default OS mode: copy every entry's reader to EOF.
    OsCopy,
    /// FUSE mode; passthrough inputs fall back to the copy path.
    Fuse,
    /// A View re-packed as a tar on the fly.
    ViewRepack,
    /// Chunked reads across the plugin ABI.
    AbiChunked,
    /// A plain reader read to EOF.
    PlainReader,
    /// Reads of odd sizes (one byte included), reads after EOF, one retry after an error.
    OddReads,
    /// The async verifying reader driven by `copy_verified`.
    AsyncCopy,
    /// The async verifying reader read into one `ReadBuf` kept across partial reads.
    AsyncReadBuf,
}

/// One thing the engine did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A source file was hashed (or its hash came from the walker cache).
    Hash {
        /// Workspace path.
        path: PathBuf,
        /// The hashout.
        hashout: String,
        /// The exec bit that went into it.
        x: bool,
        /// True when the walker cache answered without reading the file.
        cached: bool,
    },
    /// A glob's walk reused a directory's remembered listing (heph's cached walker).
    ListingCached {
        /// Workspace directory.
        dir: PathBuf,
    },
    /// A target's cache key.
    Hashin {
        /// Target name.
        target: String,
        /// Its hashin.
        hashin: String,
    },
    /// A cacheable target was served from the local cache.
    CacheHit {
        /// Target name.
        target: String,
        /// The key.
        key: String,
    },
    /// A cache entry's tar was missing or did not match its checksum: treated as a miss.
    CacheDamaged {
        /// Target name.
        target: String,
        /// The key.
        key: String,
        /// The damaged tar's name.
        tar: String,
    },
    /// An output passed through by reference.
    Passthrough {
        /// Target name.
        target: String,
        /// The output group.
        group: String,
    },
    /// LocalCacheWrite started.
    CacheWriteStart {
        /// Target name.
        target: String,
        /// The key being written.
        key: String,
    },
    /// LocalCacheWrite ended.
    CacheWriteEnd {
        /// Target name.
        target: String,
        /// The key written.
        key: String,
        /// How many artifacts were packed.
        artifacts: usize,
    },
    /// A passthrough source was opened.
    Open {
        /// Workspace path.
        path: PathBuf,
    },
    /// A chunk was read from a passthrough source.
    Read {
        /// Workspace path.
        path: PathBuf,
        /// Read index from 0.
        index: u32,
        /// Bytes delivered.
        len: usize,
    },
    /// A passthrough reader verified its bytes at EOF.
    VerifyOk {
        /// Workspace path.
        path: PathBuf,
    },
    /// A passthrough reader of a Bazel pipeline delivered bytes other than those hashed.
    ReadChanged {
        /// Workspace path.
        path: PathBuf,
        /// The hash of what was read.
        got: String,
        /// The recorded hashout.
        expected: String,
    },
    /// Bazel's guard found a source changed since it was digested: the target's outputs are
    /// kept out of the local cache (written to the tmp cache instead).
    GuardRefused {
        /// The target.
        target: String,
        /// The changed source.
        path: PathBuf,
    },
    /// A passthrough reader found the bytes changed.
    VerifyFailed {
        /// Workspace path.
        path: PathBuf,
        /// The hash of what was read.
        got: String,
        /// The recorded hashout.
        expected: String,
    },
    /// An input entry was materialized into a consumer's sandbox.
    Materialize {
        /// The consumer.
        consumer: String,
        /// Sandbox-relative path.
        path: PathBuf,
        /// Which consumer path.
        via: ConsumePath,
    },
    /// An exec sandbox was deleted after caching.
    SandboxDeleted {
        /// The target.
        target: String,
    },
}

/// At most this many events are kept; later ones are counted, not stored.
pub const MAX_EVENTS: usize = 1 << 20;

/// An append-only event log shared by every part of one engine.
#[derive(Debug, Default)]
pub struct Trace {
    events: Mutex<Vec<Event>>,
    dropped: Mutex<u64>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one event.
    pub fn push(&self, event: Event) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if events.len() < MAX_EVENTS {
            events.push(event);
        } else {
            *self.dropped.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        }
    }

    /// A copy of the events so far.
    #[cfg(any(test, feature = "test-support"))]
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Takes the events so far, leaving the trace empty.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// How many events are stored now.
    pub fn len(&self) -> usize {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when no event is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many events did not fit under [`MAX_EVENTS`].
    pub fn dropped(&self) -> u64 {
        *self.dropped.lock().unwrap_or_else(|p| p.into_inner())
    }
}
