//! Async materialization of passthrough sources (SPEC §6-7 on tokio): an [`AsyncVerifyingReader`]
//! that hashes bytes as they stream and verifies them at EOF, [`copy_verified`] that copies one
//! into a sink, and a [`Heartbeat`] that makes runtime starvation visible.
//!
//! Architecture Invariant: the async reader obeys exactly the rules of the synchronous
//! [`crate::passthrough::VerifyingReader`]: verification happens once, at the first real EOF; a
//! zero-length read never verifies; a failure is sticky; inner errors keep their kind; the
//! InvalidData message has the same format. Its I/O only ever awaits, it never blocks the
//! runtime thread.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::hash::{StreamHasher, CHUNK};
use crate::passthrough::VerifyState;

/// The InvalidData error of a passthrough source whose bytes no longer match its hashout,
/// worded as the synchronous verifying reader words it.
pub fn modified_error(path: &Path, got: &str, expected: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "passthrough source {} was modified after it was hashed: read hash {got}, expected {expected}",
            path.display()
        ),
    )
}

/// An async reader that hashes what it delivers and checks it against the recorded hashout at
/// the first EOF.
pub struct AsyncVerifyingReader<R> {
    inner: R,
    path: PathBuf,
    expected: String,
    x: bool,
    hasher: StreamHasher,
    state: VerifyState,
}

impl<R> AsyncVerifyingReader<R> {
    /// Wraps `inner`, which streams the source at `path`, expecting `expected` with exec bit `x`.
    pub fn new(inner: R, path: &Path, expected: &str, x: bool) -> Self {
        AsyncVerifyingReader {
            inner,
            path: path.to_path_buf(),
            expected: expected.to_string(),
            x,
            hasher: StreamHasher::new(),
            state: VerifyState::Reading,
        }
    }

    /// The verification state so far.
    pub fn state(&self) -> &VerifyState {
        &self.state
    }

    /// Content bytes delivered (and hashed) so far.
    pub fn delivered(&self) -> u64 {
        self.hasher.len()
    }

    fn verify_at_eof(&mut self) -> io::Result<()> {
        let got = self.hasher.finish(self.x);
        if got == self.expected {
            self.state = VerifyState::Verified;
            return Ok(());
        }
        let err = modified_error(&self.path, &got, &self.expected);
        self.state = VerifyState::Failed(got);
        Err(err)
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for AsyncVerifyingReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &this.state {
            VerifyState::Failed(_) if crate::regressed!(AsyncNonSticky) => {
                return Poll::Ready(Ok(()))
            }
            VerifyState::Failed(got) => {
                return Poll::Ready(Err(modified_error(&this.path, got, &this.expected)))
            }
            VerifyState::Verified => return Poll::Ready(Ok(())),
            VerifyState::Reading => {}
        }
        if buf.remaining() == 0 {
            // A zero-length read says nothing about EOF: never verify on a partial hash.
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {
                let from = if crate::regressed!(AsyncRehashesFilled) {
                    0
                } else {
                    before
                };
                let fresh = &buf.filled()[from..];
                if fresh.is_empty() {
                    return Poll::Ready(this.verify_at_eof());
                }
                this.hasher.update(fresh);
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// Copies a passthrough source from `reader` into `sink` in [`CHUNK`]-sized reads, verifying it
/// against `expected` (with exec bit `x`) at EOF. Returns the bytes copied. On a mismatch the
/// bytes already copied stay in the sink (as heph's copy leaves them in the sandbox) and the
/// error is InvalidData; inner read and write errors propagate with their kind.
pub async fn copy_verified<R, W>(
    reader: R,
    sink: &mut W,
    path: &Path,
    expected: &str,
    x: bool,
) -> io::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = AsyncVerifyingReader::new(reader, path, expected, x);
    let mut buf = vec![0u8; CHUNK];
    let mut copied = 0u64;
    let mut interrupts = crate::retry::Interrupts::new();
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                interrupts.retry(e)?;
                continue;
            }
        };
        interrupts.progressed();
        if n == 0 {
            debug_assert_eq!(reader.state(), &VerifyState::Verified);
            sink.flush().await?;
            return Ok(copied);
        }
        sink.write_all(&buf[..n]).await?;
        copied += n as u64;
    }
}

/// What a [`Heartbeat`] observed, in tokio time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatStats {
    /// Ticks so far.
    pub ticks: u64,
    /// The largest delay of a tick past its deadline.
    pub max_late: Duration,
}

/// A task that ticks every `period` on tokio time and records how late each tick fired. A
/// runtime starved by blocking work on its thread shows as missing or late ticks.
pub struct Heartbeat {
    ticks: Arc<AtomicU64>,
    stats: Arc<Mutex<HeartbeatStats>>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    /// Spawns the heartbeat on the current runtime. Its first deadline is one period from now.
    pub fn spawn(period: Duration) -> Heartbeat {
        assert!(!period.is_zero(), "heartbeat period must be positive");
        let ticks = Arc::new(AtomicU64::new(0));
        let stats = Arc::new(Mutex::new(HeartbeatStats::default()));
        let (task_ticks, task_stats) = (ticks.clone(), stats.clone());
        let task = tokio::spawn(async move {
            let mut deadline = tokio::time::Instant::now() + period;
            loop {
                tokio::time::sleep_until(deadline).await;
                let late = tokio::time::Instant::now().saturating_duration_since(deadline);
                {
                    let mut stats = task_stats.lock().unwrap_or_else(|p| p.into_inner());
                    stats.ticks += 1;
                    stats.max_late = stats.max_late.max(late);
                }
                task_ticks.fetch_add(1, Ordering::SeqCst);
                deadline += period;
            }
        });
        Heartbeat { ticks, stats, task }
    }

    /// Ticks so far; readable from any thread (e.g. an engine probe observer).
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::SeqCst)
    }

    /// A shared counter of the ticks, for observers that outlive a borrow of the heartbeat.
    pub fn tick_counter(&self) -> Arc<AtomicU64> {
        self.ticks.clone()
    }

    /// Everything observed so far.
    pub fn stats(&self) -> HeartbeatStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops the heartbeat and returns what it observed.
    pub fn stop(self) -> HeartbeatStats {
        self.task.abort();
        self.stats()
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
