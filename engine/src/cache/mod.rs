//! Caches: tar packing, the local on-disk cache and the tmp cache, behind one [`Store`] that
//! resolves a `Tar(path)` content wherever it lives.

pub mod local;
pub mod tarball;
pub mod tmp;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{EngineError, Result};
use crate::fs::Fs;
pub use local::{LocalCache, Manifest, ManifestArtifact};
pub use tarball::{pack, unpack, PackEntry};
pub use tmp::{Placement, TmpCache, TmpLimits};

/// Largest tar the store will read back.
pub const MAX_TAR_BYTES: u64 = 1 << 32;

/// Both caches: cacheable entries go to `local`, tmp entries to `tmp` (memory, then spill).
#[derive(Clone)]
pub struct Store {
    /// The durable cache, keyed by hashin.
    pub local: LocalCache,
    /// The tmp cache, keyed by `{hashin}_{nanos}`.
    pub tmp: TmpCache,
    tmp_dir: PathBuf,
}

impl Store {
    /// A store with its local cache under `cache_dir` and tmp spill area under `tmp_dir`.
    pub fn new(fs: Arc<dyn Fs>, cache_dir: &Path, tmp_dir: &Path, limits: TmpLimits) -> Self {
        Store {
            local: LocalCache::new(fs.clone(), cache_dir),
            tmp: TmpCache::new(fs, limits),
            tmp_dir: tmp_dir.to_path_buf(),
        }
    }

    /// Where a tmp entry's tar lives (in memory or spilled).
    pub fn tmp_path(&self, key: &str, name: &str) -> PathBuf {
        self.tmp_dir.join(key).join(name)
    }

    /// Reads a tar wherever it lives, checked against the checksum recorded when it was
    /// written, and unpacks it.
    pub fn read_tar(&self, path: &Path) -> Result<Vec<PackEntry>> {
        if path.starts_with(self.local.dir()) {
            return unpack(path, &self.local.read_verified(path)?);
        }
        let bytes = self.tmp.get(path, MAX_TAR_BYTES)?.ok_or_else(|| {
            EngineError::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "cache tar missing"),
            )
        })?;
        unpack(path, &bytes)
    }
}
