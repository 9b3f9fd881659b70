//! Passthrough content (SPEC §7): a source file carried by reference and verified as it is read.
//!
//! Architecture Invariant: every path that delivers passthrough bytes (`reader`, `walk`) wraps
//! them in a [`VerifyingReader`]; there is no unverified accessor. Only an engine modelling
//! Bazel's pipeline (`Ctx::reads_unverified`) lets a mismatch through, recorded as
//! `Event::ReadChanged`, and then `crate::guard` decides whether the outputs may be cached.
//!
//! Where heph is weak, this reader is strict: a failure is sticky (every later read fails too),
//! a zero-length read never verifies, and the recorded exec bit is used.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::ctx::Ctx;
use crate::fs::FsRead;
use crate::hash::StreamHasher;
use crate::probe::Probe;
use crate::trace::Event;

/// A reader that hashes what it delivers and checks it against the recorded hashout at EOF.
pub struct VerifyingReader {
    inner: Box<dyn FsRead>,
    ctx: Ctx,
    path: PathBuf,
    expected: String,
    x: bool,
    hasher: StreamHasher,
    reads: u32,
    state: VerifyState,
}

/// Where a [`VerifyingReader`] stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyState {
    /// Still delivering bytes.
    Reading,
    /// EOF reached and the bytes matched.
    Verified,
    /// EOF reached and the bytes did not match; holds the hash that was read.
    Failed(String),
}

impl VerifyingReader {
    /// Wraps `inner`, which reads the source at `path`, expecting `expected` with exec bit `x`.
    pub fn new(inner: Box<dyn FsRead>, ctx: Ctx, path: &Path, expected: &str, x: bool) -> Self {
        VerifyingReader {
            inner,
            ctx,
            path: path.to_path_buf(),
            expected: expected.to_string(),
            x,
            hasher: StreamHasher::new(),
            reads: 0,
            state: VerifyState::Reading,
        }
    }

    /// The verification state so far.
    pub fn state(&self) -> &VerifyState {
        &self.state
    }

    fn failure(&self, got: &str) -> io::Error {
        if crate::regressed!(VerifyMessageOmitsPath) {
            let message = format!(
                "passthrough source was modified after it was hashed: read hash {got}, expected {}",
                self.expected
            );
            return io::Error::new(io::ErrorKind::InvalidData, message);
        }
        if crate::regressed!(VerifyMessageOmitsReadHash) {
            let (path, expected) = (self.path.display(), &self.expected);
            let message = format!(
                "passthrough source {path} was modified after it was hashed: expected {expected}"
            );
            return io::Error::new(io::ErrorKind::InvalidData, message);
        }
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "passthrough source {} was modified after it was hashed: read hash {got}, expected {}",
                self.path.display(),
                self.expected
            ),
        )
    }

    fn verify_at_eof(&mut self) -> io::Result<usize> {
        self.ctx.probe(Probe::AtEof { path: &self.path });
        let x = if crate::regressed!(LiveExecBitVerify) {
            self.ctx
                .fs
                .metadata(&self.path)
                .map(|m| m.exec())
                .unwrap_or(self.x)
        } else {
            self.x
        };
        let live = crate::regressed!(VerifyRehashesPath)
            .then(|| self.ctx.fs.read(&self.path, u64::MAX).ok())
            .flatten();
        let got = match live {
            Some(live) => {
                let mut hasher = StreamHasher::new();
                hasher.update(&live);
                hasher.finish(x)
            }
            None => self.hasher.finish(x),
        };
        let skipped = crate::regressed!(SkipSmallVerify) && self.hasher.len() < 4096;
        if got != self.expected && self.ctx.reads_unverified {
            // Bazel reads an input as it is: the change is for the guard to find.
            self.ctx.emit(Event::ReadChanged {
                path: self.path.clone(),
                got,
                expected: self.expected.clone(),
            });
            self.state = VerifyState::Verified;
            return Ok(0);
        }
        if got == self.expected && !skipped && !self.ctx.reads_unverified {
            if let Some(err) = self.size_moved_at_path(&got) {
                return Err(err);
            }
        }
        if got == self.expected || skipped {
            self.state = VerifyState::Verified;
            self.ctx.emit(Event::VerifyOk {
                path: self.path.clone(),
            });
            return Ok(0);
        }
        self.ctx.emit(Event::VerifyFailed {
            path: self.path.clone(),
            got: got.clone(),
            expected: self.expected.clone(),
        });
        let err = self.failure(&got);
        self.state = VerifyState::Failed(got);
        Err(err)
    }

    /// Seeded regression `VerifyGuardsSizeByPath`: a second check, by path, after the stream
    /// verified. `None` (no failure) in the engine as it should be.
    fn size_moved_at_path(&mut self, got: &str) -> Option<io::Error> {
        if !crate::regressed!(VerifyGuardsSizeByPath) {
            return None;
        }
        let meta = self.ctx.fs.metadata(&self.path).ok()?;
        if meta.kind != crate::fs::FileKind::File || meta.len == self.hasher.len() {
            return None;
        }
        let bytes = self.ctx.fs.read(&self.path, u64::MAX).ok()?;
        let mut hasher = StreamHasher::new();
        hasher.update(&bytes);
        let now = hasher.finish(meta.exec());
        debug_assert_ne!(now, got, "a file of another size hashes differently");
        let err = self.failure(&now);
        self.state = VerifyState::Failed(now);
        Some(err)
    }
}

impl Read for VerifyingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.state {
            VerifyState::Failed(_) if crate::regressed!(NonStickyFailure) => return Ok(0),
            VerifyState::Failed(got) => return Err(self.failure(got)),
            VerifyState::Verified => return Ok(0),
            VerifyState::Reading => {}
        }
        if buf.is_empty() {
            if crate::regressed!(ZeroLengthReadVerifies) {
                return self.verify_at_eof();
            }
            // A zero-length read says nothing about EOF: never verify on a partial hash.
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return self.verify_at_eof();
        }
        assert!(n <= buf.len(), "inner reader returned more than the buffer");
        self.hasher.update(&buf[..n]);
        let index = self.reads;
        self.reads = self.reads.saturating_add(1);
        self.ctx.emit(Event::Read {
            path: self.path.clone(),
            index,
            len: n,
        });
        self.ctx.probe(Probe::AfterReadChunk {
            path: &self.path,
            index,
        });
        Ok(n)
    }
}

/// One entry of an artifact walk: a path in the consumer's view, its exec bit and its bytes.
pub struct Entry {
    /// Path relative to the consumer's sandbox.
    pub path: PathBuf,
    /// Exec bit to set after copying.
    pub x: bool,
    /// The bytes (verified for passthrough entries).
    pub reader: Box<dyn Read + Send>,
}

#[cfg(any(test, feature = "test-support"))]
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("path", &self.path)
            .field("x", &self.x)
            .finish()
    }
}

/// A passthrough result artifact's content: the workspace file by reference, plus what was
/// recorded when it was hashed. It has no cache backing.
#[derive(Clone, Debug)]
pub struct PassthroughContent {
    ctx: Ctx,
    /// The workspace file.
    pub source_path: PathBuf,
    /// Where consumers see it.
    pub out_path: PathBuf,
    /// The exec bit recorded at hash time.
    pub x: bool,
    /// The hashout recorded at hash time.
    pub hashout: String,
}

impl PassthroughContent {
    /// Passthrough content for `source_path` as hashed.
    pub fn new(ctx: Ctx, source_path: &Path, out_path: &Path, x: bool, hashout: &str) -> Self {
        PassthroughContent {
            ctx,
            source_path: source_path.to_path_buf(),
            out_path: out_path.to_path_buf(),
            x,
            hashout: hashout.to_string(),
        }
    }

    /// Opens the source and wraps it in a verifying reader.
    pub fn reader(&self) -> io::Result<VerifyingReader> {
        let inner = self.ctx.fs.open(&self.source_path)?;
        self.ctx.emit(Event::Open {
            path: self.source_path.clone(),
        });
        self.ctx.probe(Probe::OpenPassthrough {
            path: &self.source_path,
        });
        Ok(VerifyingReader::new(
            inner,
            self.ctx.clone(),
            &self.source_path,
            &self.hashout,
            self.x,
        ))
    }

    /// Exactly one entry, at `out_path`, reading through a verifying reader.
    pub fn walk(&self) -> io::Result<Vec<Entry>> {
        if crate::regressed!(WalkUnverified) {
            let inner = self.ctx.fs.open(&self.source_path)?;
            let reader: Box<dyn Read + Send> = Box::new(inner);
            return Ok(vec![Entry {
                path: self.out_path.clone(),
                x: self.x,
                reader,
            }]);
        }
        let reader = self.reader()?;
        Ok(vec![Entry {
            path: self.out_path.clone(),
            x: self.x,
            reader: Box::new(reader),
        }])
    }

    /// Passthrough content has no seekable reader (FUSE falls back to copying).
    #[cfg(any(test, feature = "test-support"))]
    pub fn seekable_reader(&self) -> Option<Box<dyn FsRead>> {
        None
    }

    /// Passthrough content has no cache file path.
    #[cfg(any(test, feature = "test-support"))]
    pub fn file_path(&self) -> Option<PathBuf> {
        None
    }
}
