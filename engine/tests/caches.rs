//! The tmp cache spills without loss; the local cache writes its manifest last and refuses
//! duplicate group names; the walker cache is heph's by default and git's with the racy option.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::both;
use engine::cache::{LocalCache, Manifest, ManifestArtifact, Placement, TmpCache, TmpLimits};
use engine::fs::{Fs, MemFs, MemFsConfig};
use engine::walker::{Policy, WalkerCache};
use engine::{ArtifactType, Ctx, EngineError};

#[test]
fn tmp_cache_spills_beyond_its_limits_without_loss() {
    both(|world| {
        let cache = TmpCache::new(
            world.fs.clone(),
            TmpLimits {
                per_entry: 10,
                total: 25,
            },
        );
        let check = |path: &str, len: usize, placement: Placement| {
            assert_eq!(
                cache.put(Path::new(path), vec![len as u8; len]).unwrap(),
                placement,
                "{path}"
            );
        };
        check("t/a", 10, Placement::Memory);
        check("t/b", 11, Placement::Spilled); // over per-entry
        check("t/c", 10, Placement::Memory);
        check("t/d", 6, Placement::Spilled); // over total
        check("t/e", 5, Placement::Memory);
        assert_eq!(cache.memory_bytes(), 25);
        for (path, len) in [
            ("t/a", 10),
            ("t/b", 11),
            ("t/c", 10),
            ("t/d", 6),
            ("t/e", 5),
        ] {
            assert_eq!(
                *cache.get(Path::new(path), 1 << 20).unwrap().unwrap(),
                vec![len as u8; len],
                "{path}"
            );
        }
        assert!(world.fs.exists(Path::new("t/b")) && !world.fs.exists(Path::new("t/a")));
        assert!(cache.get(Path::new("t/zzz"), 1 << 20).unwrap().is_none());
    });
}

#[test]
fn local_cache_manifest_last_and_no_duplicates() {
    both(|world| {
        let cache = LocalCache::new(world.fs.clone(), Path::new("c"));
        cache.put_tar("k", "out_a.tar", b"tar").unwrap();
        assert_eq!(
            cache.manifest("k").unwrap(),
            None,
            "no manifest yet: a miss"
        );
        assert!(cache.keys().unwrap().is_empty());
        let art = |group: &str| ManifestArtifact {
            group: group.into(),
            kind: ArtifactType::Output,
            tar: format!("out_{group}.tar"),
            hashout: "h".into(),
            tar_hash: String::new(),
        };
        let dup = Manifest {
            key: "k".into(),
            artifacts: vec![art("a"), art("a")],
        };
        assert!(matches!(
            cache.commit(&dup),
            Err(EngineError::DuplicateGroup { .. })
        ));
        assert_eq!(
            cache.manifest("k").unwrap(),
            None,
            "a rejected entry stays invisible"
        );
        let good = Manifest {
            key: "k".into(),
            artifacts: vec![art("a"), art("b")],
        };
        cache.commit(&good).unwrap();
        assert_eq!(cache.manifest("k").unwrap(), Some(good));
        assert_eq!(cache.keys().unwrap(), vec!["k".to_string()]);
    });
}

fn mem(granularity: u64) -> Arc<MemFs> {
    Arc::new(MemFs::new(MemFsConfig {
        mtime_granularity_ns: granularity,
        tick_ns: 1_000,
        ..MemFsConfig::default()
    }))
}

/// Same-size edit with the mtime restored: heph's walker returns the stale hash.
fn stale_after_restored_mtime(racy: bool, granularity: u64) -> bool {
    let fs = mem(granularity);
    let ctx = Ctx::new(fs.clone());
    let path = Path::new("a.txt");
    fs.write(path, b"version 1").unwrap();
    fs.advance_clock(10_000);
    let walker = WalkerCache::new(if racy { Policy::Racy } else { Policy::Heph });
    let first = walker.hash(&ctx, path).unwrap();
    let mtime = fs.metadata(path).unwrap().mtime_ns;
    fs.write(path, b"version 2").unwrap();
    fs.set_mtime(path, mtime).unwrap();
    let second = walker.hash(&ctx, path).unwrap();
    second.hashout == first.hashout
}

#[test]
fn walker_cache_staleness_heph_versus_racy() {
    assert!(
        stale_after_restored_mtime(false, 1),
        "heph trusts size+mtime"
    );
    assert!(
        stale_after_restored_mtime(false, 1_000_000_000),
        "heph trusts size+mtime"
    );
    assert!(
        !stale_after_restored_mtime(true, 1_000_000_000),
        "racy: mtime within granularity of recording"
    );
    assert!(
        stale_after_restored_mtime(true, 1),
        "racy cannot see an mtime restored long after"
    );
}

#[test]
fn walker_cache_returns_stored_exec_bit_and_rehashes_on_size_change() {
    let fs = mem(1);
    let ctx = Ctx::new(fs.clone());
    let path = Path::new("a.sh");
    fs.write(path, b"echo").unwrap();
    let walker = WalkerCache::new(Policy::Heph);
    let first = walker.hash(&ctx, path).unwrap();
    assert!(!first.cached && !first.x);
    let mtime = fs.metadata(path).unwrap().mtime_ns;
    fs.set_mode(path, 0o755).unwrap();
    fs.set_mtime(path, mtime).unwrap();
    let second = walker.hash(&ctx, path).unwrap();
    assert!(second.cached && !second.x, "stored exec bit, as heph");
    fs.write(path, b"echo hi").unwrap();
    let third = walker.hash(&ctx, path).unwrap();
    assert!(!third.cached && third.x);
    assert_eq!(third.hashout, engine::hash::bytes_hashout(b"echo hi", true));
}

#[test]
fn walker_cache_keeps_every_path_until_cleared() {
    let fs = mem(1);
    let ctx = Ctx::new(fs.clone());
    for name in ["a", "b", "c"] {
        fs.write(Path::new(name), name.as_bytes()).unwrap();
    }
    fs.advance_clock(10_000);
    let walker = WalkerCache::new(Policy::Heph);
    let cached = |name: &str| walker.hash(&ctx, Path::new(name)).unwrap().cached;
    assert_eq!([cached("a"), cached("b"), cached("c")], [false; 3]);
    assert_eq!(
        [cached("a"), cached("b"), cached("c")],
        [true; 3],
        "remembering one path keeps the others"
    );
    walker.clear();
    assert!(!cached("b"), "a cleared cache re-hashes");
}

#[test]
fn racy_rule_trusts_an_entry_recorded_one_granule_after_its_mtime() {
    // MemFs stamps mtime = clock - clock % granularity; hashing does not move the clock.
    let check = |advance: u64, trusted: bool| {
        let fs = mem(1_000);
        let ctx = Ctx::new(fs.clone());
        fs.write(Path::new("f"), b"x").unwrap();
        let mtime = fs.metadata(Path::new("f")).unwrap().mtime_ns;
        fs.advance_clock(advance);
        assert_eq!(
            fs.now_nanos(),
            mtime + advance,
            "the clock sits on a granule"
        );
        let walker = WalkerCache::new(Policy::Racy);
        walker.hash(&ctx, Path::new("f")).unwrap();
        let again = walker.hash(&ctx, Path::new("f")).unwrap();
        assert_eq!(
            again.cached, trusted,
            "recorded {advance} ns after its mtime"
        );
    };
    check(0, false);
    check(999, false);
    check(1_000, true);
    check(5_000, true);
}

#[test]
fn local_cache_reports_what_it_cannot_read_instead_of_missing() {
    both(|world| {
        world.write("c/k", b"a file where the entry directory goes");
        let cache = LocalCache::new(world.fs.clone(), Path::new("c"));
        let err = cache.manifest("k").unwrap_err().to_string();
        assert!(err.contains("c/k/manifest.json"), "{:?}: {err}", world.kind);
        world.write("d", b"a file where the cache directory goes");
        let err = LocalCache::new(world.fs.clone(), Path::new("d"))
            .keys()
            .unwrap_err();
        assert!(err.to_string().starts_with("d: "), "{err}");
        let absent = LocalCache::new(world.fs.clone(), Path::new("absent"));
        assert_eq!(
            absent.keys().unwrap(),
            Vec::<String>::new(),
            "no directory: no keys"
        );
    });
}

#[test]
fn manifest_size_limit_is_inclusive() {
    both(|world| {
        let cache = LocalCache::new(world.fs.clone(), Path::new("c"));
        let manifest = Manifest {
            key: "k".into(),
            artifacts: vec![],
        };
        cache.commit(&manifest).unwrap();
        let path = Path::new("c/k/manifest.json");
        let limit = engine::cache::local::MAX_MANIFEST_BYTES as usize;
        // A sound manifest file of `len` bytes: JSON padded with spaces, then its checksum.
        let sound = |len: usize| {
            let json = serde_json::to_vec(&manifest).unwrap();
            let sum_len = engine::hash::checksum(&json).len();
            let mut padded = json.clone();
            while padded.len() + 2 + sum_len < len {
                padded.push(b' ');
            }
            let sum = engine::hash::checksum(&padded);
            [padded, b"\n".to_vec(), sum.into_bytes(), b"\n".to_vec()].concat()
        };
        let at_limit = sound(limit);
        assert_eq!(at_limit.len(), limit);
        world.fs.write(path, &at_limit).unwrap();
        assert_eq!(
            cache.manifest("k").unwrap(),
            Some(manifest.clone()),
            "exactly the limit"
        );
        let over = sound(limit + 1);
        assert_eq!(over.len(), limit + 1);
        world.fs.write(path, &over).unwrap();
        assert_eq!(
            cache.manifest("k").unwrap(),
            None,
            "over the limit: damaged, a miss"
        );
    });
}

#[test]
fn walker_cache_rehashes_a_size_change_even_with_the_mtime_restored() {
    let fs = mem(1);
    let ctx = Ctx::new(fs.clone());
    let path = Path::new("a");
    fs.write(path, b"short").unwrap();
    fs.advance_clock(10_000);
    let walker = WalkerCache::new(Policy::Heph);
    walker.hash(&ctx, path).unwrap();
    let mtime = fs.metadata(path).unwrap().mtime_ns;
    fs.write(path, b"much longer").unwrap();
    fs.set_mtime(path, mtime).unwrap();
    let again = walker.hash(&ctx, path).unwrap();
    assert!(!again.cached, "heph's cache checks the size too");
    assert_eq!(
        again.hashout,
        engine::hash::bytes_hashout(b"much longer", false)
    );
}

#[test]
fn source_errors_are_typed() {
    use engine::walker::source_error;
    use std::io::{Error, ErrorKind};
    let path = Path::new("src/a");
    let typed = |kind: ErrorKind| source_error(path, Error::from(kind));
    assert!(matches!(
        typed(ErrorKind::NotFound),
        EngineError::MissingSource { .. }
    ));
    assert!(matches!(
        typed(ErrorKind::IsADirectory),
        EngineError::NotAFile { .. }
    ));
    assert!(typed(ErrorKind::Other).to_string().contains("src/a"));
}

#[test]
fn tmp_cache_reports_a_spill_it_cannot_read_instead_of_missing() {
    both(|world| {
        let cache = TmpCache::new(world.fs.clone(), TmpLimits::default());
        world.fs.create_dir_all(Path::new("t/dir")).unwrap();
        let err = cache.get(Path::new("t/dir"), 1 << 20).unwrap_err();
        assert!(err.to_string().starts_with("t/dir: "), "{err}");
        assert!(cache.get(Path::new("t/none"), 1 << 20).unwrap().is_none());
    });
}
