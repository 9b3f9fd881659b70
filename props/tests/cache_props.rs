//! Laws of the caches (SPEC §5): packing then unpacking any artifact set round-trips bytes,
//! paths and exec bits (through the local cache too); duplicate group names are rejected and
//! leave no entry; the tmp cache keeps every blob it is given, in memory within its limits
//! and spilled beyond them, and always returns the last blob put at a path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::cache::{
    pack, unpack, LocalCache, Manifest, ManifestArtifact, PackEntry, Placement, TmpCache, TmpLimits,
};
use engine::error::EngineError;
use engine::fs::{Fs, MemFs};
use engine::ArtifactType;
use proptest::collection::vec;
use proptest::prelude::*;

/// Relative paths, sometimes longer than the 100 bytes a plain tar header holds.
fn out_path() -> impl Strategy<Value = PathBuf> {
    vec("[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,40}", 1..5).prop_map(|parts| parts.iter().collect())
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => vec(any::<u8>(), 0..600),
        1 => (511usize..514, any::<u8>()).prop_map(|(len, b)| vec![b; len]),
        1 => (0usize..3).prop_map(|k| vec![0u8; 70_000 + k]),
    ]
}

fn entry() -> impl Strategy<Value = PackEntry> {
    (out_path(), any::<bool>(), data()).prop_map(|(path, x, data)| PackEntry { path, x, data })
}

fn kind() -> impl Strategy<Value = ArtifactType> {
    prop::sample::select(vec![
        ArtifactType::Output,
        ArtifactType::Log,
        ArtifactType::SupportFile,
    ])
}

proptest! {
    #![proptest_config(props::config("proptest-regressions/cache_props.txt"))]

    /// One tar: bytes, paths (long ones included), exec bits and order survive; packing is
    /// deterministic.
    #[test]
    fn pack_unpack_round_trips(entries in vec(entry(), 0..6)) {
        let bytes = pack(&entries).unwrap();
        prop_assert_eq!(&unpack(Path::new("t.tar"), &bytes).unwrap(), &entries);
        prop_assert_eq!(pack(&entries).unwrap(), bytes, "deterministic");
    }

    /// A whole artifact set through the local cache: every tar and the manifest read back as
    /// written.
    #[test]
    fn local_cache_round_trips_artifact_sets(
        groups in prop::collection::btree_map("[a-z0-9_]{1,8}", (kind(), vec(entry(), 0..4)), 0..5),
        key in "[0-9a-f]{1,16}",
    ) {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::default());
        let cache = LocalCache::new(fs.clone(), Path::new(".heph/cache"));
        let mut manifest = Manifest { key: key.clone(), artifacts: vec![] };
        for (group, (kind, entries)) in &groups {
            let tar = format!("{}_{group}.tar", kind.tar_prefix());
            cache.put_tar(&key, &tar, &pack(entries).unwrap()).unwrap();
            manifest.artifacts.push(ManifestArtifact {
                group: group.clone(),
                kind: *kind,
                tar,
                hashout: engine::hash::render(entries.len() as u64),
                tar_hash: String::new(),
            });
        }
        prop_assert!(cache.manifest(&key).unwrap().is_none(), "visible before commit");
        cache.commit(&manifest).unwrap();
        let back = cache.manifest(&key).unwrap().expect("committed entry is a hit");
        prop_assert_eq!(&back, &manifest);
        prop_assert_eq!(cache.keys().unwrap(), vec![key.clone()]);
        for (artifact, (_, (_, entries))) in back.artifacts.iter().zip(&groups) {
            let path = cache.tar_path(&key, &artifact.tar);
            let bytes = fs.read(&path, 1 << 24).unwrap();
            prop_assert_eq!(&unpack(&path, &bytes).unwrap(), entries);
        }
    }

    /// Duplicate group names are rejected, name the duplicate, and leave no visible entry;
    /// unique names are accepted.
    #[test]
    fn duplicate_groups_are_rejected(groups in vec("[a-c]{1,2}", 0..8)) {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::default());
        let cache = LocalCache::new(fs, Path::new("cache"));
        let manifest = Manifest {
            key: "k".into(),
            artifacts: groups.iter().map(|g| ManifestArtifact {
                group: g.clone(),
                kind: ArtifactType::Output,
                tar: format!("out_{g}.tar"),
                hashout: "0".into(),
                tar_hash: String::new(),
            }).collect(),
        };
        let mut seen = std::collections::BTreeSet::new();
        let first_dup = groups.iter().find(|g| !seen.insert(g.as_str()));
        match (cache.commit(&manifest), first_dup) {
            (Ok(()), None) => prop_assert!(cache.manifest("k").unwrap().is_some()),
            (Err(EngineError::DuplicateGroup { name, .. }), Some(dup)) => {
                prop_assert_eq!(&name, dup);
                prop_assert!(cache.manifest("k").unwrap().is_none(), "rejected entry visible");
            }
            (result, dup) => prop_assert!(false, "commit gave {:?} with duplicate {:?}", result, dup),
        }
    }

    /// The tmp cache against a model: memory within both limits (accounted exactly), blobs
    /// that do not fit spilled, and every path always yielding the last blob put there.
    #[test]
    fn tmp_cache_spills_without_loss(
        per_entry in 0u64..300,
        total in 0u64..700,
        puts in vec((0usize..5, 0usize..400, any::<u8>()), 1..24),
    ) {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::default());
        let limits = TmpLimits { per_entry, total };
        let tmp = TmpCache::new(fs.clone(), limits);
        let mut last: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        let mut in_memory: BTreeMap<PathBuf, u64> = BTreeMap::new();
        for (slot, len, byte) in puts {
            let path = PathBuf::from(format!(".heph/tmp/k{slot}/out_g.tar"));
            let blob = vec![byte; len];
            let len = len as u64;
            let replaced = in_memory.get(&path).copied().unwrap_or(0);
            let held: u64 = in_memory.values().sum();
            let fits = len <= per_entry && held - replaced + len <= total;
            let placement = tmp.put(&path, blob.clone()).unwrap();
            prop_assert_eq!(placement, if fits { Placement::Memory } else { Placement::Spilled });
            if fits {
                in_memory.insert(path.clone(), len);
            } else {
                in_memory.remove(&path);
            }
            last.insert(path, blob);
            prop_assert!(tmp.memory_bytes() <= total);
            prop_assert_eq!(tmp.memory_bytes(), in_memory.values().sum::<u64>());
            prop_assert_eq!(tmp.memory_paths(), in_memory.keys().cloned().collect::<Vec<_>>());
            for (path, blob) in &last {
                let got = tmp.get(path, 1 << 20).unwrap();
                prop_assert_eq!(got.as_deref(), Some(blob), "{} lost or stale", path.display());
            }
        }
    }
}
