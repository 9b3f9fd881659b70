//! Async materialization of passthrough sources (SPEC §6-7 on tokio): an [`AsyncVerifyingReader`]
//! that hashes bytes as they stream and verifies them at EOF, [`copy_verified`] that copies one
//! into a sink.
//!
//! Architecture Invariant: the async reader obeys exactly the rules of the synchronous
//! [`crate::passthrough::VerifyingReader`]: verification happens once, at the first real EOF; a
//! zero-length read never verifies; a failure is sticky; inner errors keep their kind; the
//! InvalidData message has the same format. Its I/O only ever awaits, it never blocks the
//! runtime thread.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

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
