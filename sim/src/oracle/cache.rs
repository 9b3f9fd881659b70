//! What the caches hold, read directly: the oracle lists the local cache directory through the
//! file system, parses each manifest as plain JSON and unpacks every tar itself with the `tar`
//! crate (names, sizes, bytes and the exec bit of each header), and reads tmp-cache blobs as raw
//! bytes. Nothing here goes through the engine's cache code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine::fs::Fs;

use super::hashing::checksum;
use super::model::{Artifact, Entry};
use crate::journal::MAX_READ;

/// SPEC §5: the manifest's name in an entry directory (written last).
pub const MANIFEST: &str = "manifest.json";
/// At most this many entries in one tar the oracle reads.
pub const MAX_TAR_ENTRIES: usize = 100_000;

/// One file inside a cache tar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarEntry {
    /// Path in the header.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The exec bit of its header's mode.
    pub x: bool,
}

/// One artifact of a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestItem {
    /// Output group.
    pub group: String,
    /// Role, as written (`Output`, `Log`, `SupportFile`).
    pub kind: String,
    /// The tar's file name.
    pub tar: String,
    /// The hashout recorded.
    pub hashout: String,
    /// The checksum recorded for the tar's bytes.
    pub tar_hash: String,
}

/// A complete local cache entry as found on the file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalEntry {
    /// The key its manifest says it was written under.
    pub key: String,
    /// Its artifacts.
    pub items: Vec<ManifestItem>,
    /// Each tar's entries, or why it could not be read.
    pub tars: BTreeMap<String, Result<Vec<TarEntry>, String>>,
}

/// Unpacks tar bytes: every entry must be a regular file whose data lies within the bytes.
pub fn parse_tar(bytes: &[u8]) -> Result<Vec<TarEntry>, String> {
    // Seeking over a cursor: tar's non-seeking skip would zero a 32 KiB buffer per entry.
    let mut archive = tar::Archive::new(std::io::Cursor::new(bytes));
    let mut out = Vec::new();
    for entry in archive.entries_with_seek().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        if out.len() >= MAX_TAR_ENTRIES {
            return Err(format!("more than {MAX_TAR_ENTRIES} entries"));
        }
        let header = entry.header();
        if header.entry_type() != tar::EntryType::Regular {
            return Err(format!("entry of type {:?}", header.entry_type()));
        }
        let x = header.mode().map_err(|e| e.to_string())? & 0o111 != 0;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let start = entry.raw_file_position();
        let data = usize::try_from(start)
            .ok()
            .zip(usize::try_from(entry.size()).ok())
            .and_then(|(start, size)| bytes.get(start..start.checked_add(size)?))
            .ok_or_else(|| format!("entry {} runs past the end", path.display()))?;
        out.push(TarEntry {
            path,
            bytes: data.to_vec(),
            x,
        });
    }
    Ok(out)
}

/// The complete entry of `key` under `dir`, if its manifest exists.
pub fn read_one(fs: &dyn Fs, dir: &Path, key: &str) -> Option<Result<LocalEntry, String>> {
    let manifest = dir.join(key).join(MANIFEST);
    fs.exists(&manifest)
        .then(|| read_entry(fs, &dir.join(key), &manifest))
}

fn read_entry(fs: &dyn Fs, dir: &Path, manifest: &Path) -> Result<LocalEntry, String> {
    let bytes = fs
        .read_shared(manifest, MAX_READ)
        .map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&bytes).map_err(|e| format!("manifest is not UTF-8: {e}"))?;
    let (json, sum) = text
        .strip_suffix('\n')
        .and_then(|t| t.rsplit_once('\n'))
        .ok_or("manifest lacks its checksum line")?;
    if checksum(json.as_bytes()) != sum {
        return Err(format!("manifest checksum {sum} does not match its JSON"));
    }
    let json: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("manifest is not JSON: {e}"))?;
    let text = |v: &serde_json::Value, field: &str| {
        v.get(field)
            .and_then(|f| f.as_str())
            .map(String::from)
            .ok_or_else(|| format!("manifest lacks {field}"))
    };
    let key = text(&json, "key")?;
    let mut items = Vec::new();
    let mut tars = BTreeMap::new();
    let artifacts = json.get("artifacts").and_then(|a| a.as_array());
    for item in artifacts.ok_or("manifest lacks artifacts")? {
        let item = ManifestItem {
            group: text(item, "group")?,
            kind: text(item, "kind")?,
            tar: text(item, "tar")?,
            hashout: text(item, "hashout")?,
            tar_hash: text(item, "tar_hash")?,
        };
        let tar = fs
            .read_shared(&dir.join(&item.tar), MAX_READ)
            .map_err(|e| e.to_string())
            .and_then(|b| match checksum(&b) == item.tar_hash {
                true => parse_tar(&b),
                false => Err(format!(
                    "checksum {} recorded, {} read",
                    item.tar_hash,
                    checksum(&b)
                )),
            });
        tars.insert(item.tar.clone(), tar);
        items.push(item);
    }
    Ok(LocalEntry { key, items, tars })
}

/// The difference between a tar's entries and what an artifact must hold, if any.
pub fn tar_difference(expected: &[Entry], got: &[TarEntry]) -> Option<String> {
    let describe = |e: &TarEntry| format!("{}:{}B:x={}", e.path.display(), e.bytes.len(), e.x);
    let want = |e: &Entry| format!("{}:{}", e.path.display(), e.describe());
    let same = expected.len() == got.len()
        && expected
            .iter()
            .zip(got)
            .all(|(e, g)| e.path == g.path && e.admits(&g.bytes, g.x));
    (!same).then(|| {
        let got: Vec<String> = got.iter().map(describe).collect();
        let want: Vec<String> = expected.iter().map(want).collect();
        format!("[{}] where [{}] was hashed", got.join(" "), want.join(" "))
    })
}

/// The difference between a local entry and the packed artifacts a clean build writes under
/// its key, if any.
pub fn entry_difference(expected: &[&Artifact], entry: &LocalEntry) -> Option<String> {
    if expected.len() != entry.items.len() {
        return Some(format!(
            "{} artifacts where {} are packed",
            entry.items.len(),
            expected.len()
        ));
    }
    for (artifact, item) in expected.iter().zip(&entry.items) {
        let kind = format!("{:?}", artifact.kind);
        if item.group != artifact.group || item.kind != kind || item.tar != artifact.tar_name() {
            return Some(format!(
                "artifact {}/{}/{} where {}/{kind}/{} is packed",
                item.group,
                item.kind,
                item.tar,
                artifact.group,
                artifact.tar_name()
            ));
        }
        if item.hashout != artifact.hashout {
            return Some(format!(
                "{} recorded with hashout {} where its content hashes to {}",
                item.group, item.hashout, artifact.hashout
            ));
        }
        match entry.tars.get(&item.tar) {
            Some(Ok(got)) => {
                if let Some(d) = tar_difference(&artifact.entries, got) {
                    return Some(format!("{}: {d}", item.tar));
                }
            }
            Some(Err(e)) => return Some(format!("{} unreadable: {e}", item.tar)),
            None => return Some(format!("{} missing", item.tar)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tars_are_read_with_their_exec_bits() {
        let entries = vec![
            engine::cache::PackEntry {
                path: "a/b".into(),
                x: true,
                data: b"xy".to_vec(),
            },
            engine::cache::PackEntry {
                path: "c".into(),
                x: false,
                data: vec![],
            },
        ];
        let bytes = engine::cache::pack(&entries).unwrap();
        let got = parse_tar(&bytes).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].path.as_path(), got[0].bytes.as_slice(), got[0].x),
            (Path::new("a/b"), &b"xy"[..], true)
        );
        assert_eq!((got[1].path.as_path(), got[1].x), (Path::new("c"), false));
        assert!(
            parse_tar(b"not a tar at all, just some bytes").is_err()
                || parse_tar(b"x").unwrap().is_empty()
        );
    }
}
