//! Laws of the verifying reader (SPEC §7, §8.1-2), sync and async: for arbitrary content, read
//! sizes and a mutation of the source at an arbitrary moment, a read to EOF succeeds iff the
//! delivered bytes are the hashed bytes; a failure is InvalidData naming the source, and sticky;
//! a zero-length read never verifies; the async reader decides exactly as the sync one does.

use std::io::{self, Read, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use engine::asyncio::{copy_verified, AsyncVerifyingReader};
use engine::fs::{Fs, MemFs};
use engine::hash::bytes_hashout;
use engine::passthrough::{PassthroughContent, VerifyState};
use engine::Ctx;
use proptest::collection::vec;
use proptest::prelude::*;
use tokio::io::{AsyncRead, ReadBuf};

const SOURCE: &str = "ws/go.mod";

/// What happens to the source while it is being read.
#[derive(Clone, Debug)]
enum Mutation {
    /// Nothing.
    None,
    /// One byte at `offset` (modulo the length) is XORed with a non-zero mask, in place.
    Flip { offset: usize, mask: u8 },
    /// Rewritten in place with the same bytes (a touch that changes nothing).
    Identical,
    /// Truncated in place to `len` (modulo the length).
    Truncate { len: usize },
    /// Grown in place by `extra` bytes.
    Append { extra: Vec<u8> },
    /// Replaced by a new file renamed over the path: the open handle keeps the old inode.
    RenameOver { data: Vec<u8> },
    /// Unlinked: the open handle keeps the old inode.
    Unlink,
    /// Exec bit flipped: the recorded `x` is used, so nothing changes.
    Chmod,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => Just(Mutation::None),
        4 => (any::<usize>(), 1u8..=255).prop_map(|(offset, mask)| Mutation::Flip { offset, mask }),
        1 => Just(Mutation::Identical),
        2 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        2 => vec(any::<u8>(), 1..16).prop_map(|extra| Mutation::Append { extra }),
        1 => vec(any::<u8>(), 0..64).prop_map(|data| Mutation::RenameOver { data }),
        1 => Just(Mutation::Unlink),
        1 => Just(Mutation::Chmod),
    ]
}

fn apply(fs: &MemFs, content: &[u8], mutation: &Mutation) {
    let path = Path::new(SOURCE);
    match mutation {
        Mutation::None => {}
        Mutation::Flip { offset, mask } => {
            if !content.is_empty() {
                let at = offset % content.len();
                let mut w = fs.open_at(path, at as u64).unwrap();
                w.write_all(&[content[at] ^ mask]).unwrap();
            }
        }
        Mutation::Identical => fs.write(path, content).unwrap(),
        Mutation::Truncate { len } => fs
            .set_len(path, (*len % (content.len() + 1)) as u64)
            .unwrap(),
        Mutation::Append { extra } => {
            let mut w = fs.open_at(path, content.len() as u64).unwrap();
            w.write_all(extra).unwrap();
        }
        Mutation::RenameOver { data } => {
            fs.write(Path::new("ws/go.mod.new"), data).unwrap();
            fs.rename(Path::new("ws/go.mod.new"), path).unwrap();
        }
        Mutation::Unlink => fs.remove_file(path).unwrap(),
        Mutation::Chmod => {
            let mode = fs.metadata(path).unwrap().mode;
            fs.set_mode(path, mode ^ 0o111).unwrap();
        }
    }
}

/// Read sizes, zero-length reads included.
fn sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(
        prop_oneof![1 => Just(0usize), 1 => Just(1usize), 4 => 1usize..700],
        1..12,
    )
}

fn check_failure(err: &io::Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let text = err.to_string();
    prop_assert!(text.contains("modified after it was hashed"), "{}", text);
    prop_assert!(text.contains(SOURCE), "{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(props::config("proptest-regressions/reader_props.txt"))]

    /// Integrity and no false alarms, stickiness, and no early verification, on the sync
    /// reader over MemFs.
    #[test]
    fn success_iff_delivered_bytes_are_the_hashed_bytes(
        content in vec(any::<u8>(), 0..2048),
        x: bool,
        sizes in sizes(),
        at_read in 0usize..40,
        mutation in mutation(),
    ) {
        let fs = MemFs::default();
        fs.write(Path::new(SOURCE), &content).unwrap();
        let hashout = bytes_hashout(&content, x);
        let ctx = Ctx::new(Arc::new(fs.clone()));
        let source = PassthroughContent::new(ctx, Path::new(SOURCE), Path::new("out/go.mod"), x, &hashout);
        let mut reader = source.reader().unwrap();
        let mut delivered = Vec::new();
        let mut reads = 0usize;
        let mut mutated = false;
        let result = loop {
            if reads == at_read {
                apply(&fs, &content, &mutation);
                mutated = true;
            }
            // Zero-length reads follow the script, but every other read is a real one.
            let size = match sizes[reads % sizes.len()] {
                0 if !reads.is_multiple_of(2) => 1,
                size => size,
            };
            reads += 1;
            let mut buf = vec![0u8; size];
            match reader.read(&mut buf) {
                Ok(0) if size == 0 => {
                    prop_assert_eq!(reader.state(), &VerifyState::Reading, "a zero-length read verified");
                }
                Ok(0) => break Ok(()),
                Ok(n) => delivered.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e),
            }
            prop_assert!(reads < 10_000, "reader never reached EOF");
        };
        if !mutated {
            apply(&fs, &content, &mutation);
        }
        let ok = result.is_ok();
        prop_assert_eq!(ok, delivered == content, "success iff the hashed bytes were delivered: {:?}", result);
        match result {
            Ok(()) => {
                prop_assert_eq!(reader.state(), &VerifyState::Verified);
                for size in [0usize, 1, 64] {
                    prop_assert_eq!(reader.read(&mut vec![0u8; size]).unwrap(), 0, "read after EOF");
                }
            }
            Err(err) => {
                check_failure(&err)?;
                prop_assert!(matches!(reader.state(), VerifyState::Failed(_)));
                for size in [0usize, 1, 64, 0] {
                    let again = reader.read(&mut vec![0u8; size]);
                    prop_assert!(again.is_err(), "read of {} after a failure succeeded", size);
                    check_failure(&again.unwrap_err())?;
                }
            }
        }
    }

    /// The async reader, fed the same delivered stream in arbitrary chunks, reaches the same
    /// verdict with the same message, and the async copy leaves exactly the streamed bytes in
    /// its sink.
    #[test]
    fn async_reader_agrees_with_sync_reader(
        hashed in vec(any::<u8>(), 0..1024),
        x: bool,
        edit in prop::option::of((any::<usize>(), 1u8..=255)),
        cut in prop::option::of(any::<usize>()),
        chunks in vec(1usize..300, 1..8),
        zero_reads in vec(any::<bool>(), 1..8),
    ) {
        let mut streamed = hashed.clone();
        if let (Some((at, mask)), false) = (edit, streamed.is_empty()) {
            let at = at % streamed.len();
            streamed[at] ^= mask;
        }
        if let Some(cut) = cut {
            streamed.truncate(cut % (streamed.len() + 1));
        }
        let expected = bytes_hashout(&hashed, x);

        let fs = MemFs::default();
        fs.write(Path::new(SOURCE), &streamed).unwrap();
        let ctx = Ctx::new(Arc::new(fs));
        let mut sync_reader = PassthroughContent::new(ctx, Path::new(SOURCE), Path::new("o"), x, &expected).reader().unwrap();
        let mut sync_out = Vec::new();
        let sync_result = sync_reader.read_to_end(&mut sync_out);

        let chunked = Chunked { data: streamed.clone(), chunks: chunks.clone(), next: 0 };
        let (async_out, async_result) = tokio_test::block_on(async {
            let mut sink = Vec::new();
            let result = copy_verified(chunked, &mut sink, Path::new(SOURCE), &expected, x).await;
            (sink, result)
        });

        prop_assert_eq!(&sync_out, &streamed);
        prop_assert_eq!(&async_out, &streamed);
        prop_assert_eq!(sync_result.is_ok(), streamed == hashed);
        prop_assert_eq!(async_result.is_ok(), streamed == hashed);
        if let (Err(s), Err(a)) = (&sync_result, &async_result) {
            check_failure(a)?;
            prop_assert_eq!(s.kind(), a.kind());
            prop_assert_eq!(s.to_string(), a.to_string());
        }

        // Zero-length polls interleaved with real ones never verify, and a failure is sticky.
        let mut reader = AsyncVerifyingReader::new(
            Chunked { data: streamed.clone(), chunks, next: 0 }, Path::new(SOURCE), &expected, x);
        let mut out = Vec::new();
        let mut step = 0usize;
        let verdict = loop {
            // Zero-length reads follow the script, but at least every other read is real.
            let zero = zero_reads[step % zero_reads.len()] && step.is_multiple_of(2);
            step += 1;
            let mut buf = vec![0u8; if zero { 0 } else { 97 }];
            match poll_once(&mut reader, &mut buf) {
                Ok(0) if zero => prop_assert_eq!(reader.state(), &VerifyState::Reading),
                Ok(0) => break Ok(()),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e),
            }
        };
        prop_assert_eq!(&out, &streamed);
        prop_assert_eq!(verdict.is_ok(), streamed == hashed);
        if verdict.is_err() {
            for size in [0usize, 1, 97] {
                prop_assert!(poll_once(&mut reader, &mut vec![0u8; size]).is_err(), "not sticky");
            }
        } else {
            prop_assert_eq!(poll_once(&mut reader, &mut [0u8; 8]).unwrap(), 0);
        }
    }
}

/// An always-ready async reader handing out `data` in scripted chunk sizes.
struct Chunked {
    data: Vec<u8>,
    chunks: Vec<usize>,
    next: usize,
}

impl AsyncRead for Chunked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let size = self.chunks[self.next % self.chunks.len()];
        self.next += 1;
        let n = size.min(buf.remaining()).min(self.data.len());
        let rest = self.data.split_off(n);
        buf.put_slice(&self.data);
        self.data = rest;
        Poll::Ready(Ok(()))
    }
}

/// Polls one read of `reader` into `buf` (the readers here are always ready).
fn poll_once<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let waker = futures_noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut read_buf = ReadBuf::new(buf);
    match Pin::new(reader).poll_read(&mut cx, &mut read_buf) {
        Poll::Ready(Ok(())) => Ok(read_buf.filled().len()),
        Poll::Ready(Err(e)) => Err(e),
        Poll::Pending => panic!("an always-ready reader returned Pending"),
    }
}

fn futures_noop_waker() -> std::task::Waker {
    std::task::Waker::noop().clone()
}
