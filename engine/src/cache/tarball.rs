//! Packing artifact entries into tars and reading them back, deterministically (mtime 0,
//! uid 0, sorted by nothing but the order given).

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::fs::check_relative;

/// At most this many entries in one tar.
pub const MAX_TAR_ENTRIES: usize = 100_000;

/// One file inside a packed artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackEntry {
    /// Path relative to the consumer's sandbox.
    pub path: PathBuf,
    /// Exec bit.
    pub x: bool,
    /// Content.
    pub data: Vec<u8>,
}

/// Refuses an out_path that would escape the directory it is materialized into.
pub fn check_out_path(path: &Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(EngineError::PathEscape {
            path: path.into(),
            why: "empty path",
        });
    }
    if path.is_absolute() {
        return Err(EngineError::PathEscape {
            path: path.into(),
            why: "absolute path",
        });
    }
    let text = path.as_os_str().as_encoded_bytes();
    if crate::regressed!(DotdotSubstringRefused) && text.windows(2).any(|w| w == b"..") {
        return Err(EngineError::PathEscape {
            path: path.into(),
            why: "contains `..`",
        });
    }
    check_relative(path).map_err(|_| EngineError::PathEscape {
        path: path.into(),
        why: "contains `..`",
    })
}

/// Packs entries into tar bytes. Paths are checked before anything is written.
pub fn pack(entries: &[PackEntry]) -> Result<Vec<u8>> {
    pack_at_most(entries, MAX_TAR_ENTRIES)
}

/// [`pack`], refusing more than `max` entries.
fn pack_at_most(entries: &[PackEntry], max: usize) -> Result<Vec<u8>> {
    if entries.len() > max {
        return Err(EngineError::Limit {
            what: "tar entries",
            got: entries.len() as u64,
            max: max as u64,
        });
    }
    // Sized up front (data rounded to blocks, a header and perhaps a long-name block each, and
    // the end marker): growing the buffer copied every tar several times.
    let blocks: usize = entries
        .iter()
        .map(|e| e.data.len().div_ceil(512) * 512 + 3 * 512)
        .sum();
    let mut builder = tar::Builder::new(Vec::with_capacity(blocks + 1024));
    for entry in entries {
        check_out_path(&entry.path)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(entry.data.len() as u64);
        header.set_mode(if entry.x { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, &entry.path, entry.data.as_slice())
            .map_err(|e| EngineError::io(&entry.path, e))?;
    }
    builder
        .into_inner()
        .map_err(|e| EngineError::io("<tar>", e))
}

/// Reads tar bytes back into entries; `origin` names the tar in errors.
pub fn unpack(origin: &Path, bytes: &[u8]) -> Result<Vec<PackEntry>> {
    let malformed = |why: String| EngineError::MalformedTar {
        path: origin.into(),
        why,
    };
    // Seeking over an in-memory cursor: tar's non-seeking skip zeroes a 32 KiB buffer per entry.
    let mut archive = tar::Archive::new(io::Cursor::new(bytes));
    let mut out = Vec::new();
    for entry in archive
        .entries_with_seek()
        .map_err(|e| malformed(e.to_string()))?
    {
        let entry = entry.map_err(|e| malformed(e.to_string()))?;
        if out.len() >= MAX_TAR_ENTRIES {
            return Err(malformed(format!("more than {MAX_TAR_ENTRIES} entries")));
        }
        let path = if crate::regressed!(LongNameTruncated) {
            entry.header().path()
        } else {
            entry.path()
        }
        .map_err(|e| malformed(e.to_string()))?
        .into_owned();
        check_out_path(&path).map_err(|e| malformed(e.to_string()))?;
        let x = entry
            .header()
            .mode()
            .map_err(|e| malformed(e.to_string()))?
            & 0o111
            != 0
            && !crate::regressed!(UnpackDropsExecBit);
        // The entry's bytes are a slice of the tar: one copy, no zeroed read buffer.
        let start = entry.raw_file_position();
        let data = start
            .checked_add(entry.size())
            .and_then(|end| bytes.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?))
            .ok_or_else(|| malformed(format!("entry {} runs past the end", path.display())))?
            .to_vec();
        debug_assert_eq!(data.len() as u64, entry.size());
        out.push(PackEntry { path, x, data });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, x: bool, data: &[u8]) -> PackEntry {
        PackEntry {
            path: path.into(),
            x,
            data: data.to_vec(),
        }
    }

    #[test]
    fn round_trips_bytes_paths_and_exec_bits() {
        let entries = vec![
            entry("a/b.txt", false, b"hello"),
            entry("run.sh", true, b""),
            entry("z", false, &[7; 70_000]),
        ];
        let bytes = pack(&entries).unwrap();
        assert_eq!(unpack(Path::new("t.tar"), &bytes).unwrap(), entries);
        assert_eq!(pack(&entries).unwrap(), bytes, "packing is deterministic");
    }

    #[test]
    fn entry_limit_is_inclusive() {
        let entries = vec![entry("a", false, b"1"), entry("b", true, b"2")];
        let packed = pack_at_most(&entries, 2).unwrap();
        assert_eq!(unpack(Path::new("t.tar"), &packed).unwrap(), entries);
        let err = pack_at_most(&entries, 1).unwrap_err();
        assert!(
            matches!(err, EngineError::Limit { got: 2, max: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn escaping_paths_are_rejected() {
        let check = |path: &str, why: &str| {
            let err = pack(&[entry(path, false, b"")]).unwrap_err();
            assert!(err.to_string().contains(why), "{path}: {err}");
        };
        check("../x", "`..`");
        check("a/../../x", "`..`");
        check("/etc/passwd", "absolute");
        check("", "empty");
    }

    #[test]
    fn malformed_tar_names_its_path() {
        let bytes = pack(&[entry("a", false, &[1; 1000])]).unwrap();
        let err = unpack(Path::new("cache/k/out_x.tar"), &bytes[..700]).unwrap_err();
        assert!(matches!(err, EngineError::MalformedTar { .. }), "{err}");
        assert!(err.to_string().contains("cache/k/out_x.tar"), "{err}");
        let garbage = vec![0xffu8; 1024];
        assert!(matches!(
            unpack(Path::new("g.tar"), &garbage),
            Err(EngineError::MalformedTar { .. })
        ));
    }
}
