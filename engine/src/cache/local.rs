//! The local on-disk cache (SPEC §5): one directory per key, one tar per artifact, and a
//! manifest written last.
//!
//! Architecture Invariant: a key without a manifest is a miss, and the manifest is written
//! only after every tar of the entry, so a crash mid-write never yields a partial hit.
//!
//! Architecture Invariant: every file is written under a temporary name and renamed into place
//! (a crash leaves a `.partial` file, never a torn one under its real name); the manifest
//! carries its own checksum and each tar's, and a damaged entry (a manifest or tar cut off,
//! corrupted or missing) is a miss: the target runs again and rewrites it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::artifact::ArtifactType;
use crate::error::{EngineError, Result};
use crate::fs::Fs;
use crate::hash::checksum;

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
    /// The checksum of the tar's bytes (see [`crate::hash::checksum`]).
    #[serde(default)]
    pub tar_hash: String,
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
    /// Tars found damaged (only under the seeded regression `DamageQuarantineSticky`).
    #[cfg(feature = "regressions")]
    quarantined: Arc<std::sync::Mutex<std::collections::BTreeSet<PathBuf>>>,
}

impl LocalCache {
    /// A cache rooted at `dir` of `fs`.
    pub fn new(fs: Arc<dyn Fs>, dir: &Path) -> Self {
        LocalCache {
            fs,
            dir: dir.to_path_buf(),
            #[cfg(feature = "regressions")]
            quarantined: Arc::default(),
        }
    }

    /// The directory the cache lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the tar `name` of `key` lives.
    pub fn tar_path(&self, key: &str, name: &str) -> PathBuf {
        self.dir.join(key).join(name)
    }

    /// Writes one tar of an entry (call [`LocalCache::commit`] after all of them).
    pub fn put_tar(&self, key: &str, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.tar_path(key, name);
        write_atomic(&*self.fs, &path, bytes)?;
        Ok(path)
    }

    /// The bytes of the tar at `path` (a path this cache handed out), checked against the
    /// checksum its entry's manifest recorded: a tar damaged since it was written is an error,
    /// never bytes.
    pub fn read_verified(&self, path: &Path) -> Result<Vec<u8>> {
        let damaged = |why: String| EngineError::DamagedCache {
            path: path.to_path_buf(),
            why,
        };
        // `{dir}/{key}/{tar}`, where a tar's name may hold `/` (a group named after a path).
        let rest = path
            .strip_prefix(&self.dir)
            .map_err(|_| damaged("not under the cache directory".into()))?;
        let mut parts = rest.components();
        let (Some(key), name) = (parts.next(), parts.as_path()) else {
            return Err(damaged("not a cache tar path".into()));
        };
        let key = key.as_os_str().to_string_lossy();
        #[cfg(feature = "regressions")]
        if crate::regressed!(DamageQuarantineSticky)
            && self.quarantined.lock().is_ok_and(|q| q.contains(path))
        {
            return Err(damaged("found damaged before".into()));
        }
        let manifest = self
            .manifest(&key)?
            .ok_or_else(|| damaged("its entry has no sound manifest".into()))?;
        let artifact = manifest
            .artifacts
            .iter()
            .find(|a| Path::new(&a.tar) == name)
            .ok_or_else(|| damaged("its manifest does not list it".into()))?;
        let bytes = self
            .fs
            .read(path, crate::cache::MAX_TAR_BYTES)
            .map_err(|e| EngineError::io(path, e))?;
        let got = checksum(&bytes);
        if got != artifact.tar_hash {
            #[cfg(feature = "regressions")]
            if let Ok(mut quarantined) = self.quarantined.lock() {
                quarantined.insert(path.to_path_buf());
            }
            return Err(damaged(format!(
                "checksum {got}, {} recorded",
                artifact.tar_hash
            )));
        }
        Ok(bytes)
    }

    /// True when the tar of `artifact` under `key` is there with the bytes its checksum names.
    pub fn intact(&self, key: &str, artifact: &ManifestArtifact) -> Result<bool> {
        let path = self.tar_path(key, &artifact.tar);
        match self.fs.read(&path, crate::cache::MAX_TAR_BYTES) {
            Ok(bytes) => Ok(checksum(&bytes) == artifact.tar_hash),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(EngineError::io(&path, e)),
        }
    }

    /// Writes the manifest, making the entry visible. Rejects duplicate group names.
    pub fn commit(&self, manifest: &Manifest) -> Result<()> {
        reject_duplicates(
            &manifest.key,
            manifest.artifacts.iter().map(|a| a.group.as_str()),
        )?;
        let path = self.dir.join(&manifest.key).join(MANIFEST);
        let json =
            serde_json::to_vec_pretty(manifest).map_err(|e| EngineError::io(&path, e.into()))?;
        let mut bytes = json.clone();
        bytes.push(b'\n');
        bytes.extend_from_slice(checksum(&json).as_bytes());
        bytes.push(b'\n');
        write_atomic(&*self.fs, &path, &bytes)
    }

    /// The manifest of `key`, or `None` when there is no complete, undamaged entry (a manifest
    /// missing, cut off, corrupted or too large is a miss). A sound manifest written for another
    /// key is an error.
    pub fn manifest(&self, key: &str) -> Result<Option<Manifest>> {
        let path = self.dir.join(key).join(MANIFEST);
        match self.fs.metadata(&path) {
            Ok(meta) if meta.len > MAX_MANIFEST_BYTES => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EngineError::io(&path, e)),
        }
        let bytes = match self.fs.read(&path, MAX_MANIFEST_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EngineError::io(&path, e)),
        };
        let Some(manifest) = decode(&bytes) else {
            return Ok(None);
        };
        if manifest.key != key && !crate::regressed!(ManifestKeyUnchecked) {
            let why = format!("written for key {:?}", manifest.key);
            return Err(EngineError::MalformedManifest { path, why });
        }
        Ok(Some(manifest))
    }

    /// Every key with a complete entry, sorted.
    #[cfg(any(test, feature = "test-support"))]
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

/// A manifest file's content: its JSON, then a line with the JSON's checksum. `None` when the
/// checksum is missing or wrong, or the JSON does not parse.
fn decode(bytes: &[u8]) -> Option<Manifest> {
    let text = std::str::from_utf8(bytes).ok()?.strip_suffix('\n')?;
    let (json, sum) = text.rsplit_once('\n')?;
    (checksum(json.as_bytes()) == sum)
        .then(|| serde_json::from_str(json).ok())
        .flatten()
}

/// Writes `bytes` to `path` under a temporary name first, then renames it into place, so a
/// crash never leaves a torn file under the real name.
pub fn write_atomic(fs: &dyn Fs, path: &Path, bytes: &[u8]) -> Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    fs.write(&partial, bytes)
        .map_err(|e| EngineError::io(&partial, e))?;
    fs.rename(&partial, path)
        .map_err(|e| EngineError::io(path, e))
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
