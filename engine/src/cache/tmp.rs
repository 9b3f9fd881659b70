//! The tmp cache: uncached and shell targets' packed outputs, held in memory up to a per-entry
//! and a total limit, spilled to the file system beyond them.
//!
//! Architecture Invariant: a put never loses bytes: what does not fit in memory is written to
//! the file system at the same path before `put` returns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::fs::Fs;
use crate::hash::checksum;
use crate::sync::{lock, Arc, Mutex};

/// Memory limits of the tmp cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TmpLimits {
    /// Largest blob kept in memory.
    pub per_entry: u64,
    /// Most bytes kept in memory in all.
    pub total: u64,
}

impl Default for TmpLimits {
    /// heph's: about 1 MiB per entry, 64 MiB in all.
    fn default() -> Self {
        TmpLimits {
            per_entry: 1 << 20,
            total: 64 << 20,
        }
    }
}

/// Where a blob ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Held in memory.
    Memory,
    /// Written to the file system.
    Spilled,
}

#[derive(Default)]
struct Blobs {
    memory: BTreeMap<PathBuf, std::sync::Arc<Vec<u8>>>,
    bytes: u64,
    /// The checksum of every blob spilled to the file system, to tell damage on the way back.
    spilled: BTreeMap<PathBuf, String>,
}

/// In-memory blobs with spill-over, addressed by path.
#[derive(Clone)]
pub struct TmpCache {
    fs: std::sync::Arc<dyn Fs>,
    limits: TmpLimits,
    blobs: Arc<Mutex<Blobs>>,
}

impl TmpCache {
    /// An empty tmp cache spilling into `fs`.
    pub fn new(fs: std::sync::Arc<dyn Fs>, limits: TmpLimits) -> Self {
        TmpCache {
            fs,
            limits,
            blobs: Arc::new(Mutex::new(Blobs::default())),
        }
    }

    /// Stores a blob at `path`, in memory if it fits, else on the file system.
    pub fn put(&self, path: &Path, bytes: Vec<u8>) -> Result<Placement> {
        let len = bytes.len() as u64;
        {
            let mut blobs = lock(&self.blobs);
            let mut replaced = blobs.memory.get(path).map_or(0, |b| b.len() as u64);
            if crate::regressed!(TmpCountsReplacedBlob) {
                replaced = 0;
            }
            let total = blobs.bytes - replaced + len;
            let fits = if crate::regressed!(TmpSpillsAtLimit) {
                len < self.limits.per_entry
            } else {
                len <= self.limits.per_entry || crate::regressed!(TmpKeepsOversizedBlobs)
            };
            if fits && total <= self.limits.total {
                blobs
                    .memory
                    .insert(path.to_path_buf(), std::sync::Arc::new(bytes));
                blobs.bytes = total;
                debug_assert!(blobs.bytes <= self.limits.total);
                return Ok(Placement::Memory);
            }
            // The new blob spills: an older one at the same path must not shadow it.
            if blobs.memory.remove(path).is_some() {
                blobs.bytes -= replaced;
            }
            blobs.spilled.insert(path.to_path_buf(), checksum(&bytes));
        }
        crate::cache::local::write_atomic(&*self.fs, path, &bytes)?;
        Ok(Placement::Spilled)
    }

    /// The blob at `path`, from memory or from the spill area.
    pub fn get(&self, path: &Path, limit: u64) -> Result<Option<std::sync::Arc<Vec<u8>>>> {
        if let Some(blob) = lock(&self.blobs).memory.get(path) {
            return Ok(Some(blob.clone()));
        }
        let recorded = lock(&self.blobs).spilled.get(path).cloned();
        match self.fs.read(path, limit) {
            Ok(bytes) => match recorded {
                Some(sum) if sum != checksum(&bytes) => Err(EngineError::DamagedCache {
                    path: path.to_path_buf(),
                    why: format!("spilled with checksum {sum}, read {}", checksum(&bytes)),
                }),
                _ => Ok(Some(std::sync::Arc::new(bytes))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EngineError::io(path, e)),
        }
    }

    /// Bytes held in memory now.
    pub fn memory_bytes(&self) -> u64 {
        lock(&self.blobs).bytes
    }

    /// The blob held in memory at `path`, if any: a read-only look for inspection (what the
    /// simulator's oracle checks against its model); it never reads the spill area, which
    /// an inspector reads through the file system itself.
    pub fn memory_blob(&self, path: &Path) -> Option<std::sync::Arc<Vec<u8>>> {
        lock(&self.blobs).memory.get(path).cloned()
    }

    /// The paths held in memory, sorted.
    pub fn memory_paths(&self) -> Vec<PathBuf> {
        lock(&self.blobs).memory.keys().cloned().collect()
    }
}
