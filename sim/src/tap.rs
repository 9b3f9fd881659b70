//! The engine's file system, tapped: every operation the engine makes (each call of [`Fs`] and
//! each read of a handle it opened) is a step counted against the schedule's budget, so an
//! engine that loops forever on I/O becomes a `hang` violation with its replay instead of a
//! stuck run; and the bytes a hash act's reads return are recorded once a mutation tore the act,
//! so the oracle hashes exactly what the engine read rather than trusting the engine's hashout.
//!
//! Architecture Invariant: the tap only counts and copies; it never changes what an operation
//! returns (until the budget is spent, when every operation unwinds with [`BUDGET_SPENT`]).

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use engine::fs::{Fs, FsRead, FsWrite, Metadata};

/// Steps (file-system calls and handle reads) one schedule may make: far above what any
/// schedule needs (the largest make a few hundred thousand: one-byte reads of 200 KB files),
/// far below what a loop makes in a second.
pub const MAX_STEPS: u64 = 20_000_000;

/// The panic message of an operation made after the budget was spent.
pub const BUDGET_SPENT: &str = "the schedule spent its budget of file-system steps";

/// At most this many bytes of one torn hash act are recorded.
pub const MAX_RECORDED: usize = 1 << 26;

/// What the reads of one hash act returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// The path being hashed.
    pub path: PathBuf,
    /// Bytes its reads returned so far.
    pub read: u64,
    /// Once torn: how many bytes had been read then, and every byte read since.
    pub since_tear: Option<(u64, Vec<u8>)>,
}

/// At most this many accesses are logged per schedule.
pub const MAX_ACCESSES: usize = 100_000;

/// What the engine did to a path, as the tap saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Opened a workspace file (outside the state directory) for reading.
    ReadWorkspace,
    /// Created (or opened for writing, or renamed into place) a file under the state
    /// directory's `cache/` or `tmp/`; the path logged is the entry's directory relative to
    /// the state directory (`cache/{key}` or `tmp/{key}_{nanos}`).
    WriteCache,
    /// Read a workspace directory's entries (a glob's walk that did not trust a remembered
    /// listing).
    ListDir,
    /// Tried to read a workspace directory's entries, and failed (an injected fault): the
    /// walker remembers nothing of it.
    ListDirFailed,
    /// Stat'ed a workspace directory (a glob's walk reaching it, whether it then reads it or
    /// trusts a remembered listing).
    StatDir,
}

/// One access the engine made while a target ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The build.
    pub build: u8,
    /// The target running (the last one whose hashin the observer saw).
    pub target: Arc<str>,
    /// What it did.
    pub access: Access,
    /// The path.
    pub path: PathBuf,
}

/// The shared state of one schedule's tap: the step count, the hash act being recorded, and
/// the accesses logged.
#[derive(Debug)]
pub struct Tap {
    steps: AtomicU64,
    limit: u64,
    spent: AtomicBool,
    recording: Mutex<Option<Recording>>,
    state_dir: PathBuf,
    running: Mutex<(u8, Arc<str>)>,
    seen: Mutex<Vec<Seen>>,
}

impl Default for Tap {
    fn default() -> Self {
        Tap::with_limit(MAX_STEPS)
    }
}

impl Tap {
    /// A tap that allows `limit` steps, for an engine keeping its state in `.heph`.
    pub fn with_limit(limit: u64) -> Self {
        Tap::new(limit, Path::new(".heph"))
    }

    /// A tap that allows `limit` steps, for an engine keeping its state in `state_dir`.
    pub fn new(limit: u64, state_dir: &Path) -> Self {
        assert!(limit > 0, "a budget of at least one step");
        Tap {
            steps: AtomicU64::new(0),
            limit,
            spent: AtomicBool::new(false),
            recording: Mutex::new(None),
            state_dir: state_dir.to_path_buf(),
            running: Mutex::new((1, Arc::from(""))),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Build `build`'s target `target` runs from now on (the observer says so at its hashin).
    pub fn running(&self, build: u8, target: &str) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.0 != build || &*running.1 != target {
            *running = (build, Arc::from(target));
        }
    }

    /// Runs `f` on the accesses logged so far.
    pub fn with_seen<T>(&self, f: impl FnOnce(&[Seen]) -> T) -> T {
        f(&self.seen.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Logs an access of `path`, if it is one the oracle looks at. Paths are compared as bytes
    /// (the engine's paths are normal, relative and `/`-separated): this runs on every open.
    fn log(&self, path: &Path, write: bool) {
        let bytes = path.as_os_str().as_encoded_bytes();
        let state = self.state_dir.as_os_str().as_encoded_bytes();
        let rest = bytes.strip_prefix(state).and_then(|r| r.strip_prefix(b"/"));
        let (access, logged) = match (write, rest) {
            (false, None) => (Access::ReadWorkspace, path.to_path_buf()),
            (true, Some(rest)) if rest.starts_with(b"cache/") || rest.starts_with(b"tmp/") => {
                // The entry's directory: the first two components.
                let mut slashes = rest.iter().enumerate().filter(|(_, b)| **b == b'/');
                let end = slashes.nth(1).map_or(rest.len(), |(i, _)| i);
                let entry = String::from_utf8_lossy(&rest[..end]).into_owned();
                (Access::WriteCache, PathBuf::from(entry))
            }
            _ => return,
        };
        self.push(access, logged);
    }

    /// Logs `access` (a read of its entries, or a `stat`) of `dir`, when it is a workspace
    /// directory.
    fn log_dir(&self, access: Access, dir: &Path) {
        if !dir.starts_with(&self.state_dir) {
            self.push(access, dir.to_path_buf());
        }
    }

    fn push(&self, access: Access, logged: PathBuf) {
        let (build, target) = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() < MAX_ACCESSES {
            seen.push(Seen {
                build,
                target,
                access,
                path: logged,
            });
        }
    }

    /// Counts one step; unwinds once the budget is spent (and marks it spent).
    fn step(&self) {
        let done = self.steps.fetch_add(1, Ordering::Relaxed) + 1;
        if done > self.limit {
            self.spent.store(true, Ordering::SeqCst);
            std::panic::panic_any(BUDGET_SPENT.to_string());
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed).min(self.limit)
    }

    /// True once the budget was spent.
    pub fn spent(&self) -> bool {
        self.spent.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Recording>> {
        self.recording.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts recording the reads of a hash act of `path` (ending any earlier recording).
    pub fn record(&self, path: &Path) {
        *self.lock() = Some(Recording {
            path: path.to_path_buf(),
            ..Recording::default()
        });
    }

    /// A mutation fired during the act being recorded: from now on its bytes are kept.
    pub fn tear(&self) {
        if let Some(r) = self.lock().as_mut() {
            r.since_tear.get_or_insert((r.read, Vec::new()));
        }
    }

    /// Ends the recording, returning it if it was of `path`.
    pub fn take(&self, path: &Path) -> Option<Recording> {
        self.lock().take().filter(|r| r.path == path)
    }

    /// True when reads of `path` are being recorded.
    fn recording(&self, path: &Path) -> bool {
        self.lock().as_ref().is_some_and(|r| r.path == path)
    }

    /// Adds what a read of `path` returned to the recording.
    fn note(&self, path: &Path, bytes: &[u8]) {
        let mut guard = self.lock();
        let Some(r) = guard.as_mut().filter(|r| r.path == path) else {
            return;
        };
        r.read += bytes.len() as u64;
        if let Some((_, kept)) = r.since_tear.as_mut() {
            let room = MAX_RECORDED.saturating_sub(kept.len());
            kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
}

impl Recording {
    /// The bytes the act's reads returned, given what the file held when the act began
    /// (`before`): its first bytes up to the tear, then what was read since. `None` when the
    /// act was not torn (its bytes are `before`), or when the bytes are not all known (the
    /// prefix is not there, or more than [`MAX_RECORDED`] were read since the tear).
    pub fn bytes(&self, before: &[u8]) -> Option<Vec<u8>> {
        let (at, kept) = self.since_tear.as_ref()?;
        let prefix = before.get(..usize::try_from(*at).ok()?)?;
        let mut bytes = Vec::with_capacity(prefix.len() + kept.len());
        bytes.extend_from_slice(prefix);
        bytes.extend_from_slice(kept);
        (bytes.len() as u64 == self.read).then_some(bytes)
    }
}

/// The engine's view of the schedule's file system, tapped.
pub struct TapFs {
    inner: Arc<dyn Fs>,
    tap: Arc<Tap>,
}

impl TapFs {
    /// Wraps `inner` (the file system the engine would otherwise use).
    pub fn new(inner: Arc<dyn Fs>, tap: Arc<Tap>) -> Self {
        TapFs { inner, tap }
    }
}

/// A handle the engine reads: each read is a step, and a recorded act's bytes are noted.
struct TapReader {
    inner: Box<dyn FsRead>,
    tap: Arc<Tap>,
    /// The path, when this handle is read by the hash act being recorded.
    recorded: Option<PathBuf>,
}

impl Read for TapReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tap.step();
        let n = self.inner.read(buf)?;
        if let Some(path) = &self.recorded {
            self.tap.note(path, &buf[..n]);
        }
        Ok(n)
    }
}

impl TapFs {
    /// A handle opened on `path`, logged, its reads counted and recorded.
    fn reader(&self, path: &Path, inner: Box<dyn FsRead>) -> Box<dyn FsRead> {
        self.tap.log(path, false);
        let recorded = self.tap.recording(path).then(|| path.to_path_buf());
        Box::new(TapReader {
            inner,
            tap: self.tap.clone(),
            recorded,
        })
    }
}

impl Fs for TapFs {
    fn open(&self, path: &Path) -> io::Result<Box<dyn FsRead>> {
        self.tap.step();
        let inner = self.inner.open(path)?;
        Ok(self.reader(path, inner))
    }
    fn open_stat(&self, path: &Path) -> io::Result<(Box<dyn FsRead>, Metadata)> {
        self.tap.step();
        let (inner, meta) = self.inner.open_stat(path)?;
        Ok((self.reader(path, inner), meta))
    }
    fn read(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        self.tap.step();
        let bytes = self.inner.read(path, limit)?;
        self.tap.log(path, false);
        self.tap.note(path, &bytes);
        Ok(bytes)
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn FsWrite>> {
        self.tap.step();
        let created = self.inner.create(path)?;
        self.tap.log(path, true);
        Ok(created)
    }
    fn open_at(&self, path: &Path, offset: u64) -> io::Result<Box<dyn FsWrite>> {
        self.tap.step();
        let opened = self.inner.open_at(path, offset)?;
        self.tap.log(path, true);
        Ok(opened)
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.tap.step();
        let meta = self.inner.metadata(path)?;
        if meta.kind == engine::fs::FileKind::Dir {
            self.tap.log_dir(Access::StatDir, path);
        }
        Ok(meta)
    }
    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.tap.step();
        self.inner.symlink_metadata(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.tap.step();
        self.tap.log_dir(Access::ListDir, path);
        let names = self.inner.read_dir(path);
        if names.is_err() {
            self.tap.log_dir(Access::ListDirFailed, path);
        }
        names
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.tap.step();
        self.inner.create_dir_all(path)
    }
    fn set_len(&self, path: &Path, len: u64) -> io::Result<()> {
        self.tap.step();
        self.inner.set_len(path, len)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.tap.step();
        self.inner.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.tap.step();
        self.inner.remove_dir_all(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.tap.step();
        self.inner.rename(from, to)?;
        self.tap.log(to, true);
        Ok(())
    }
    fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.tap.step();
        self.inner.set_mode(path, mode)
    }
    fn set_mtime(&self, path: &Path, mtime_ns: u64) -> io::Result<()> {
        self.tap.step();
        self.inner.set_mtime(path, mtime_ns)
    }
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        self.tap.step();
        self.inner.symlink(target, link)
    }
    fn now_nanos(&self) -> u64 {
        self.inner.now_nanos()
    }
    fn mtime_granularity_ns(&self) -> u64 {
        self.inner.mtime_granularity_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::fs::MemFs;

    fn tapped(limit: u64) -> (TapFs, Arc<Tap>, MemFs) {
        let mem = MemFs::default();
        mem.write(Path::new("src/a"), b"abcdef").unwrap();
        let tap = Arc::new(Tap::with_limit(limit));
        (TapFs::new(Arc::new(mem.clone()), tap.clone()), tap, mem)
    }

    #[test]
    fn a_loop_on_a_handle_spends_the_budget_and_unwinds() {
        let (fs, tap, _) = tapped(100);
        let mut reader = fs.open(Path::new("src/a")).unwrap();
        let looped = crate::panics::catch(|| loop {
            let _ = reader.read(&mut [0u8; 4]);
        });
        assert!(looped.unwrap_err().starts_with(BUDGET_SPENT));
        assert!(tap.spent());
        assert_eq!(tap.steps(), 100);
    }

    #[test]
    fn a_torn_act_keeps_the_bytes_read_after_the_tear() {
        let (fs, tap, mem) = tapped(1_000);
        tap.record(Path::new("src/a"));
        let mut reader = fs.open(Path::new("src/a")).unwrap();
        let mut buf = [0u8; 2];
        reader.read_exact(&mut buf).unwrap();
        mem.write(Path::new("src/a"), b"abXYef").unwrap(); // same inode, in place
        tap.tear();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        let recording = tap.take(Path::new("src/a")).unwrap();
        assert_eq!(recording.read, 6);
        assert_eq!(recording.bytes(b"abcdef").unwrap(), b"abXYef");
        assert_eq!(tap.take(Path::new("src/a")), None, "taken once");
    }

    #[test]
    fn workspace_reads_and_cache_writes_are_logged_with_their_target() {
        let (fs, tap, _) = tapped(1_000);
        tap.running(2, "c0");
        fs.read(Path::new("src/a"), 100).unwrap();
        fs.write(Path::new(".heph/cache/k/t.tar"), b"x").unwrap();
        fs.write(Path::new(".heph/sandbox/c0/f"), b"x").unwrap(); // not a cache
        assert!(fs.open(Path::new("src/missing")).is_err()); // failed: not an access
        let got: Vec<(u8, String, Access, PathBuf)> = tap.with_seen(|seen| {
            seen.iter()
                .map(|s| (s.build, s.target.to_string(), s.access, s.path.clone()))
                .collect()
        });
        let got: Vec<_> = got
            .iter()
            .map(|(b, t, a, p)| (*b, t.as_str(), *a, p.as_path()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "c0", Access::ReadWorkspace, Path::new("src/a")),
                (2, "c0", Access::WriteCache, Path::new("cache/k")),
            ]
        );
    }

    #[test]
    fn an_untorn_act_records_only_a_count() {
        let (fs, tap, _) = tapped(1_000);
        tap.record(Path::new("src/a"));
        assert_eq!(fs.read(Path::new("src/a"), 100).unwrap(), b"abcdef");
        let recording = tap.take(Path::new("src/a")).unwrap();
        assert_eq!((recording.read, recording.bytes(b"abcdef")), (6, None));
        fs.read(Path::new("src/a"), 100).unwrap();
        assert_eq!(tap.take(Path::new("src/a")), None, "nothing recorded");
    }
}
