//! Loom model (SPEC §8.1-2) of the verifying reader consuming a MemFs file while another thread
//! mutates it. MemFs's lock is loom's under `--cfg loom`, so every interleaving of the reader's
//! chunk reads with the mutation is explored: success implies the delivered bytes are exactly
//! the hashed version, and a failure (InvalidData) implies they are not.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p props --test loom_reader --release`;
//! `LOOM_MAX_PREEMPTIONS` bounds the search.
#![cfg(loom)]

use std::io::{Read, Write};
use std::path::Path;

use engine::fs::{Fs, MemFs};
use engine::hash::bytes_hashout;
use engine::passthrough::PassthroughContent;
use engine::Ctx;

const HASHED: &[u8] = b"abcd";

#[derive(Clone, Copy, Debug)]
enum Mutation {
    /// One byte rewritten in place.
    Flip,
    /// Truncated in place.
    Truncate,
    /// Grown in place.
    Append,
    /// A new file renamed over the path (the reader keeps the old inode).
    RenameOver,
    /// Rewritten with identical bytes.
    Identical,
}

fn mutate(fs: &MemFs, mutation: Mutation) {
    let path = Path::new("go.mod");
    match mutation {
        Mutation::Flip => fs.open_at(path, 2).unwrap().write_all(b"X").unwrap(),
        Mutation::Truncate => fs.set_len(path, 1).unwrap(),
        Mutation::Append => fs.open_at(path, 4).unwrap().write_all(b"!").unwrap(),
        Mutation::RenameOver => {
            fs.write(Path::new("go.mod.new"), b"zz").unwrap();
            fs.rename(Path::new("go.mod.new"), path).unwrap();
        }
        Mutation::Identical => fs.write(path, HASHED).unwrap(),
    }
}

fn model(mutation: Mutation, chunk: usize) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(move || {
        let fs = MemFs::default();
        fs.write(Path::new("go.mod"), HASHED).unwrap();
        let hashout = bytes_hashout(HASHED, false);
        let ctx = Ctx::new(std::sync::Arc::new(fs.clone()));
        let content = PassthroughContent::new(
            ctx,
            Path::new("go.mod"),
            Path::new("out/go.mod"),
            false,
            &hashout,
        );
        let mut reader = content.reader().unwrap();

        let mutator = {
            let fs = fs.clone();
            loom::thread::spawn(move || mutate(&fs, mutation))
        };
        let mut delivered = Vec::new();
        let mut buf = vec![0u8; chunk];
        let result = loop {
            match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => delivered.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e),
            }
        };
        mutator.join().unwrap();

        match result {
            Ok(()) => assert_eq!(
                delivered, HASHED,
                "{mutation:?}: success with bytes that were not hashed"
            ),
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{mutation:?}");
                assert_ne!(delivered, HASHED, "{mutation:?}: false alarm");
                assert!(reader.read(&mut buf).is_err(), "failure not sticky");
            }
        }
    });
}

#[test]
fn flip_during_read() {
    model(Mutation::Flip, 1);
    model(Mutation::Flip, 3);
}

#[test]
fn truncate_during_read() {
    model(Mutation::Truncate, 1);
    model(Mutation::Truncate, 3);
}

#[test]
fn append_during_read() {
    model(Mutation::Append, 2);
}

#[test]
fn rename_over_during_read_keeps_the_old_inode() {
    model(Mutation::RenameOver, 1);
}

#[test]
fn identical_rewrite_during_read() {
    model(Mutation::Identical, 1);
}
