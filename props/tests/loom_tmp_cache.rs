//! Loom model of the tmp cache under concurrent writers: whatever the interleaving, no blob is
//! lost or torn, memory stays within its limits and is accounted exactly, and a blob that
//! does not fit is spilled to the file system before `put` returns.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p props --test loom_tmp_cache --release`.
#![cfg(loom)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::cache::{Placement, TmpCache, TmpLimits};
use engine::fs::{Fs, MemFs};

fn check(limits: TmpLimits, blobs: [(&'static str, usize, u8); 2]) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(move || {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::default());
        let tmp = TmpCache::new(fs.clone(), limits);
        let writers: Vec<_> = blobs
            .iter()
            .map(|&(path, len, byte)| {
                let tmp = tmp.clone();
                let fs = fs.clone();
                loom::thread::spawn(move || {
                    let placement = tmp.put(Path::new(path), vec![byte; len]).unwrap();
                    if placement == Placement::Spilled {
                        assert_eq!(fs.read(Path::new(path), 1 << 20).unwrap(), vec![byte; len]);
                    }
                    assert!(tmp.memory_bytes() <= limits.total, "over the total limit");
                    placement
                })
            })
            .collect();
        let placements: Vec<Placement> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        let mut held = 0;
        for (&(path, len, byte), placement) in blobs.iter().zip(&placements) {
            let got = tmp
                .get(Path::new(path), 1 << 20)
                .unwrap()
                .expect("blob lost");
            assert_eq!(*got, vec![byte; len], "{path} torn or stale");
            if *placement == Placement::Memory {
                assert!(len as u64 <= limits.per_entry);
                held += len as u64;
            }
        }
        assert_eq!(tmp.memory_bytes(), held, "memory accounting");
        let memory: Vec<PathBuf> = blobs
            .iter()
            .zip(&placements)
            .filter(|(_, p)| **p == Placement::Memory)
            .map(|((path, ..), _)| PathBuf::from(path))
            .collect();
        assert_eq!(tmp.memory_paths(), memory);
    });
}

#[test]
fn two_writers_both_fit() {
    check(
        TmpLimits {
            per_entry: 8,
            total: 16,
        },
        [("t/k1/out_a.tar", 8, 1), ("t/k2/out_a.tar", 8, 2)],
    );
}

#[test]
fn two_writers_compete_for_the_last_bytes() {
    // Only one of them fits in memory: which one depends on the interleaving.
    check(
        TmpLimits {
            per_entry: 8,
            total: 10,
        },
        [("t/k1/out_a.tar", 6, 1), ("t/k2/out_a.tar", 6, 2)],
    );
}

#[test]
fn a_big_writer_spills_while_a_small_one_fits() {
    check(
        TmpLimits {
            per_entry: 4,
            total: 16,
        },
        [("t/k1/out_a.tar", 9, 1), ("t/k2/out_a.tar", 3, 2)],
    );
}
