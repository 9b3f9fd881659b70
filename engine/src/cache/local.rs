//! The local on-disk cache (SPEC §5): one directory per key, one tar per artifact, and a
//! manifest written last.
//!
//! Architecture Invariant: a key without a manifest is a miss, and the manifest is written
//! only after every tar of the entry, so a crash mid-write never yields a partial hit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::artifact::ArtifactType;
use crate::error::{EngineError, Result};
use crate::fs::Fs;

/// The manifest's file name inside a cache entry directory.
pub const MANIFEST: &str = "manifest.json";
/// Manifests above this size are refused as malformed.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// One artifact recorded in a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestArtifact {
    /// Output group.
    pub group: String,
    /// Role.
    pub kind: ArtifactType,
    /// The tar's file name in the entry directory.
    pub tar: String,
    /// The artifact's hashout.
    pub hashout: String,
}

/// A cache entry's manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The key it was written under.
    pub key: String,
    /// Its artifacts, in output order.
    pub artifacts: Vec<ManifestArtifact>,
}

/// Tars and manifests under one directory of an [`Fs`].
#[derive(Clone)]
pub struct LocalCache {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
}

impl LocalCache {
    /// A cache rooted at `dir` of `fs`.
    pub fn new(fs: Arc<dyn Fs>, dir: &Path) -> Self {
        LocalCache {
            fs,
            dir: dir.to_path_buf(),
        }
    }

    /// Where the tar `name` of `key` lives.
    pub fn tar_path(&self, key: &str, name: &str) -> PathBuf {
        self.dir.join(key).join(name)
    }

    /// Writes one tar of an entry (call [`LocalCache::commit`] after all of them).
    pub fn put_tar(&self, key: &str, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.tar_path(key, name);
        self.fs
            .write(&path, bytes)
            .map_err(|e| EngineError::io(&path, e))?;
        Ok(path)
    }

    /// Writes the manifest, making the entry visible. Rejects duplicate group names.
    pub fn commit(&self, manifest: &Manifest) -> Result<()> {
        reject_duplicates(
            &manifest.key,
            manifest.artifacts.iter().map(|a| a.group.as_str()),
        )?;
        let path = self.dir.join(&manifest.key).join(MANIFEST);
        let bytes =
            serde_json::to_vec_pretty(manifest).map_err(|e| EngineError::io(&path, e.into()))?;
        self.fs
            .write(&path, &bytes)
            .map_err(|e| EngineError::io(&path, e))
    }

    /// The manifest of `key`, or `None` when there is no complete entry.
    pub fn manifest(&self, key: &str) -> Result<Option<Manifest>> {
        let path = self.dir.join(key).join(MANIFEST);
        let len = match self.fs.metadata(&path) {
            Ok(meta) => meta.len,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EngineError::io(&path, e)),
        };
        if len > MAX_MANIFEST_BYTES {
            let why =
                format!("{len} bytes, more than the {MAX_MANIFEST_BYTES} a manifest may have");
            return Err(EngineError::MalformedManifest { path, why });
        }
        let bytes = self
            .fs
            .read(&path, MAX_MANIFEST_BYTES)
            .map_err(|e| EngineError::io(&path, e))?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| EngineError::MalformedManifest {
                path: path.clone(),
                why: e.to_string(),
            })?;
        if manifest.key != key {
            let why = format!("written for key {:?}", manifest.key);
            return Err(EngineError::MalformedManifest { path, why });
        }
        Ok(Some(manifest))
    }

    /// Every key with a complete entry, sorted.
    pub fn keys(&self) -> Result<Vec<String>> {
        let names = match self.fs.read_dir(&self.dir) {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(EngineError::io(&self.dir, e)),
        };
        Ok(names
            .into_iter()
            .filter(|k| self.fs.exists(&self.dir.join(k).join(MANIFEST)))
            .collect())
    }
}

/// Group names must be unique among a target's outputs (SPEC §5).
pub fn reject_duplicates<'a>(target: &str, groups: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for group in groups {
        if !seen.insert(group) {
            return Err(EngineError::DuplicateGroup {
                target: target.into(),
                name: group.into(),
            });
        }
    }
    Ok(())
}
