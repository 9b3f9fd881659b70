//! Consumers that read the way real callers do, beyond the OS copy: odd and one-byte reads
//! with reads after EOF and a retry after an error (sync), and the async path — the
//! [`AsyncVerifyingReader`] driven by [`copy_verified`], or by a caller that keeps one
//! `ReadBuf` across partial reads. Every pattern must deliver exactly the verified bytes or
//! fail with the verifier's error; each is a [`ConsumePath`] so the simulator attacks it.
//!
//! Architecture Invariant: every passthrough source read here goes through a verifying reader
//! (sync or async) to its first real EOF before its bytes count as delivered.

use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use crate::artifact::{Artifact, Content};
use crate::asyncio::{copy_verified, AsyncVerifyingReader};
use crate::cache::Store;
use crate::ctx::Ctx;
use crate::error::{EngineError, Result};
use crate::fs::FsRead;
use crate::materialize::{entries, read_like, Delivered, Habits, MAX_ENTRY_BYTES};
use crate::passthrough::Entry;
use crate::probe::Probe;
use crate::trace::{ConsumePath, Event};

/// The read sizes of [`ConsumePath::OddReads`], cycled: one byte, primes, one past a chunk.
pub const ODD_SIZES: [usize; 5] = [1, 7, 4_099, 3, 65_537];
/// The buffer a [`ConsumePath::AsyncReadBuf`] caller keeps across partial reads.
pub const READ_BUF: usize = 1_000;
/// At most this many polls of one always-ready future.
pub const MAX_POLLS: u64 = 1 << 32;
/// Reads after EOF a careful caller makes to see that EOF stays EOF.
const READS_AFTER_EOF: usize = 2;

/// Materializes `inputs` by one of the read patterns of this module.
pub fn read_inputs(
    ctx: &Ctx,
    store: &Store,
    inputs: &[Artifact],
    via: ConsumePath,
) -> Result<Vec<Delivered>> {
    let mut delivered = Vec::new();
    for artifact in inputs {
        for entry in source_entries(ctx, store, artifact, Path::new(""))? {
            let (path, x) = (entry.path().to_path_buf(), entry.x());
            let data = match (entry, via) {
                (Source::Plain(mut e), ConsumePath::OddReads) => odd_reads(&mut e.reader),
                (Source::Plain(mut e), _) => crate::materialize::read_plain(&mut e.reader),
                (Source::Verified(s), ConsumePath::OddReads) => odd_reads(&mut s.sync_reader(ctx)),
                (Source::Verified(s), ConsumePath::AsyncCopy) => async_copy(ctx, s),
                (Source::Verified(s), _) => async_read_buf(ctx, s),
            }
            .map_err(|e| EngineError::io(&path, e))?;
            delivered.push(Delivered { path, data, x, via });
        }
    }
    Ok(delivered)
}

/// One entry to read: a passthrough source (verified by the pattern's own reader) or anything
/// else (cache tars, raw bytes, sandbox files), read as it comes.
enum Source {
    Verified(Verified),
    Plain(Entry),
}

impl Source {
    fn path(&self) -> &Path {
        match self {
            Source::Verified(s) => &s.out_path,
            Source::Plain(e) => &e.path,
        }
    }

    /// The exec bit recorded for it, which the consumer sets.
    fn x(&self) -> bool {
        match self {
            Source::Verified(s) => s.x,
            Source::Plain(e) => e.x,
        }
    }
}

/// A passthrough source, opened, with what was recorded when it was hashed.
struct Verified {
    out_path: PathBuf,
    source_path: PathBuf,
    x: bool,
    hashout: String,
    inner: Box<dyn FsRead>,
}

impl Verified {
    fn sync_reader(self, ctx: &Ctx) -> crate::passthrough::VerifyingReader {
        let path = self.source_path.clone();
        crate::passthrough::VerifyingReader::new(
            self.inner,
            ctx.clone(),
            &path,
            &self.hashout,
            self.x,
        )
    }
}

/// The entries of `artifact` under `prefix`; passthrough sources opened but not wrapped.
fn source_entries(
    ctx: &Ctx,
    store: &Store,
    artifact: &Artifact,
    prefix: &Path,
) -> Result<Vec<Source>> {
    match &artifact.content {
        Content::File {
            source_path,
            out_path,
            x,
            passthrough: true,
        } => {
            let inner = ctx
                .fs
                .open(source_path)
                .map_err(|e| EngineError::io(source_path, e))?;
            ctx.emit(Event::Open {
                path: source_path.clone(),
            });
            ctx.probe(Probe::OpenPassthrough { path: source_path });
            let source = Verified {
                out_path: prefix.join(out_path),
                source_path: source_path.clone(),
                x: *x,
                hashout: artifact.hashout.clone(),
                inner,
            };
            if ctx.reads_unverified {
                // Bazel's pipeline: read as it is, through the reader that records a change.
                let (path, x) = (source.out_path.clone(), source.x);
                let reader = Box::new(source.sync_reader(ctx));
                return Ok(vec![Source::Plain(Entry { path, x, reader })]);
            }
            Ok(vec![Source::Verified(source)])
        }
        Content::View(view) => {
            let mut out = Vec::new();
            let within = if crate::regressed!(NestedViewLosesPrefix) {
                view.relocate.clone()
            } else {
                prefix.join(&view.relocate)
            };
            for inner in &view.artifacts {
                out.extend(source_entries(ctx, store, inner, &within)?);
            }
            Ok(out)
        }
        _ => Ok(entries(ctx, store, artifact)?
            .into_iter()
            .map(|mut e| {
                e.path = prefix.join(&e.path);
                Source::Plain(e)
            })
            .collect()),
    }
}

/// Sync: reads of odd sizes (one byte included) to EOF, then reads after EOF that must stay
/// empty; a failed read is retried once, as ordinary callers do.
fn odd_reads(reader: &mut dyn Read) -> io::Result<Vec<u8>> {
    const ODD: Habits = Habits {
        sizes: &ODD_SIZES,
        poll: false,
        after_eof: READS_AFTER_EOF,
    };
    read_like(reader, &ODD, MAX_ENTRY_BYTES)
}

/// A passthrough source's raw reader as an always-ready `AsyncRead` that reports the same
/// events and probe points as the synchronous verifying reader.
struct Probed<'a> {
    ctx: &'a Ctx,
    path: PathBuf,
    inner: Box<dyn FsRead>,
    reads: u32,
}

impl AsyncRead for Probed<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let n = match this.inner.read(buf.initialize_unfilled()) {
            Ok(n) => n,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if n == 0 {
            if !crate::regressed!(AsyncSkipsEofProbe) {
                this.ctx.probe(Probe::AtEof { path: &this.path });
            }
            return Poll::Ready(Ok(()));
        }
        buf.advance(n);
        let index = this.reads;
        this.reads = this.reads.saturating_add(1);
        this.ctx.emit(Event::Read {
            path: this.path.clone(),
            index,
            len: n,
        });
        this.ctx.probe(Probe::AfterReadChunk {
            path: &this.path,
            index,
        });
        Poll::Ready(Ok(()))
    }
}

fn verifying(ctx: &Ctx, source: Verified) -> AsyncVerifyingReader<Probed<'_>> {
    let probed = Probed {
        ctx,
        path: source.source_path.clone(),
        inner: source.inner,
        reads: 0,
    };
    AsyncVerifyingReader::new(probed, &source.source_path, &source.hashout, source.x)
}

/// Async: `copy_verified` into memory.
fn async_copy(ctx: &Ctx, source: Verified) -> io::Result<Vec<u8>> {
    let (path, hashout, x) = (source.source_path.clone(), source.hashout.clone(), source.x);
    let probed = Probed {
        ctx,
        path: path.clone(),
        inner: source.inner,
        reads: 0,
    };
    let mut sink = Vec::new();
    drive(copy_verified(probed, &mut sink, &path, &hashout, x))??;
    Ok(sink)
}

/// Async: one `ReadBuf` of [`READ_BUF`] bytes kept across partial reads until it fills (as
/// `read_exact` does), drained, and reused; EOF must stay EOF; a failed read is retried once.
fn async_read_buf(ctx: &Ctx, source: Verified) -> io::Result<Vec<u8>> {
    let mut reader = verifying(ctx, source);
    let mut storage = [0u8; READ_BUF];
    let mut buf = ReadBuf::new(&mut storage);
    let mut out = Vec::new();
    let mut retried = false;
    let mut interrupts = crate::retry::Interrupts::new();
    let mut eofs = 0;
    while eofs <= READS_AFTER_EOF {
        let before = buf.filled().len();
        match poll_once(&mut reader, &mut buf)? {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => interrupts.retry(e)?,
            Err(_) if !retried => retried = true,
            Err(e) => return Err(e),
            Ok(()) if buf.filled().len() == before => eofs += 1,
            Ok(()) if eofs > 0 => return Err(io::Error::other("a read after EOF returned data")),
            Ok(()) => interrupts.progressed(),
        }
        if buf.remaining() == 0 || eofs > 0 {
            out.extend_from_slice(buf.filled());
            buf.clear();
        }
        if out.len() as u64 > MAX_ENTRY_BYTES {
            return Err(io::Error::other(format!(
                "entry exceeds {MAX_ENTRY_BYTES} bytes"
            )));
        }
    }
    Ok(out)
}

/// One poll of an always-ready reader; `Err` when it was not ready.
fn poll_once<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut ReadBuf<'_>,
) -> io::Result<io::Result<()>> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match Pin::new(reader).poll_read(&mut cx, buf) {
        Poll::Ready(result) => Ok(result),
        Poll::Pending => Err(io::Error::other("a file read was not ready")),
    }
}

/// Runs a future whose I/O is always ready (the file system's readers never wait) to
/// completion on the calling thread, on any runtime or none.
fn drive<F: Future>(future: F) -> io::Result<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    for _ in 0..MAX_POLLS {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Ok(output);
        }
    }
    Err(io::Error::other("an async read made no progress"))
}
