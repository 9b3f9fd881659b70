//! I/O faults and crashes, injected between the engine and its file system: a [`FaultFs`]
//! wraps the schedule's file system and, once a fault is armed (by a mutation at its point),
//! makes the next matching operation fail (EIO, ENOSPC), stutter (EINTR, short reads, short
//! writes) or crash the engine mid-write (a panic with a crash payload after half the bytes).
//!
//! Architecture Invariant: only the engine sees faults; the observer and the oracle read and
//! mutate through the inner file system.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use engine::fs::{Fs, FsRead, FsWrite, Metadata};

/// Linux's errnos the faults use.
pub const EIO: i32 = 5;
/// No space left on device.
pub const ENOSPC: i32 = 28;
/// Interrupted system call.
pub const EINTR: i32 = 4;
/// The panic message of a simulated crash.
pub const CRASH: &str = "simulated crash: the engine process died mid-write";
/// How many interruptions an EINTR fault makes a reader suffer.
pub const EINTR_TIMES: u32 = 3;

/// What an armed fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The next read of the file fails with EIO.
    Eio,
    /// The next reads of the file are interrupted (EINTR) a few times first.
    Eintr,
    /// The file's next reader returns at most one byte per read.
    ShortRead,
    /// The next write under the engine's state directory fails with ENOSPC.
    Enospc,
    /// The next writer under the state directory writes at most half of what it is given.
    ShortWrite,
    /// The next cache write stops after half its bytes: the engine process dies.
    Crash,
    /// The file's next reader is interrupted (EINTR) on every read, forever: a correct engine
    /// gives up after its bound (`engine::retry::MAX_INTERRUPTS_IN_A_ROW`) and fails.
    EintrStorm,
    /// The engine's next operation on a directory's entries (`create_dir_all`, `rename`,
    /// `read_dir`, `remove_file`, `remove_dir_all`) or `stat` or read of its own state (under
    /// the state directory: manifests, tars, spills, sandboxes) fails with EIO.
    DirEio,
}

impl Fault {
    /// The errno a failing fault returns (`None`: it must be invisible to a correct engine).
    pub fn errno(self) -> Option<i32> {
        match self {
            Fault::Eio | Fault::DirEio => Some(EIO),
            Fault::Enospc => Some(ENOSPC),
            _ => None,
        }
    }
}

/// One fault that fired: what, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiredFault {
    /// The fault.
    pub fault: Fault,
    /// The path it hit.
    pub path: PathBuf,
    /// The build it hit in.
    pub build: u8,
}

#[derive(Debug, Default)]
struct State {
    /// Armed faults: what, and the file it waits for (`None`: any write under the state dir).
    armed: Vec<(Fault, Option<PathBuf>)>,
    fired: Vec<FiredFault>,
    build: u8,
    crashed: bool,
}

/// The faults of one schedule, shared by the observer (which arms them) and the [`FaultFs`].
#[derive(Clone, Debug, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    state_dir: PathBuf,
}

impl Faults {
    /// Faults for an engine that keeps its state under `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Faults {
            state: Arc::default(),
            state_dir: state_dir.to_path_buf(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms `fault` for the file at `path` (reads) or for the state directory (writes).
    pub fn arm(&self, fault: Fault, path: &Path) {
        let reads = [
            Fault::Eio,
            Fault::Eintr,
            Fault::ShortRead,
            Fault::EintrStorm,
        ];
        let target = reads.contains(&fault).then(|| path.to_path_buf());
        self.lock().armed.push((fault, target));
    }

    /// Marks the build faults now fire in.
    pub fn set_build(&self, build: u8) {
        self.lock().build = build;
    }

    /// The faults that fired so far.
    pub fn fired(&self) -> Vec<FiredFault> {
        self.lock().fired.clone()
    }

    /// True once a simulated crash happened (and clears the flag for the restarted engine).
    pub fn take_crash(&self) -> bool {
        std::mem::take(&mut self.lock().crashed)
    }

    /// True when the next read of `path` would fire a fault (nothing is consumed).
    fn armed_for_read(&self, path: &Path) -> bool {
        self.armed_index(&self.lock(), path, false).is_some()
    }

    /// Which armed fault an operation on `path` (a write, or a read) would fire, if any.
    fn armed_index(&self, state: &State, path: &Path, write: bool) -> Option<usize> {
        // Only writes look at where they write (a read is matched by its path alone).
        let under_state = || path.starts_with(&self.state_dir);
        let cache = || under_state() && !path.starts_with(self.state_dir.join("sandbox"));
        state
            .armed
            .iter()
            .position(|(fault, target)| match (fault, target) {
                (Fault::Crash, _) => write && cache(),
                (Fault::DirEio, _) => false, // directory operations only: `trigger_dir`
                (_, None) => write && under_state(),
                (_, Some(target)) => !write && target == path,
            })
    }

    /// Takes an armed directory fault for an operation on `path`, recording it as fired.
    fn trigger_dir(&self, path: &Path) -> Option<Fault> {
        let mut state = self.lock();
        let i = state.armed.iter().position(|(f, _)| *f == Fault::DirEio)?;
        let (fault, _) = state.armed.remove(i);
        let build = state.build;
        state.fired.push(FiredFault {
            fault,
            path: path.to_path_buf(),
            build,
        });
        Some(fault)
    }

    /// Fails a directory operation on `path` if a directory fault is armed.
    fn dir_op(&self, path: &Path) -> io::Result<()> {
        match self.trigger_dir(path) {
            Some(_) => Err(io::Error::from_raw_os_error(EIO)),
            None => Ok(()),
        }
    }

    /// Fails a `stat` or read of `path` under the state directory if a directory fault is
    /// armed (a source's are the walker's and the readers', which mutations exercise instead).
    fn state_op(&self, path: &Path) -> io::Result<()> {
        match path.starts_with(&self.state_dir) {
            true => self.dir_op(path),
            false => Ok(()),
        }
    }

    /// Takes the armed fault that an operation on `path` triggers, recording it as fired.
    fn trigger(&self, path: &Path, write: bool) -> Option<Fault> {
        let mut state = self.lock();
        let i = self.armed_index(&state, path, write)?;
        let (fault, _) = state.armed.remove(i);
        let build = state.build;
        state.crashed |= fault == Fault::Crash;
        state.fired.push(FiredFault {
            fault,
            path: path.to_path_buf(),
            build,
        });
        Some(fault)
    }
}

/// A file system whose operations fail as armed faults say.
pub struct FaultFs {
    inner: Arc<dyn Fs>,
    faults: Faults,
}

impl FaultFs {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Fs>, faults: Faults) -> Self {
        FaultFs { inner, faults }
    }
}

/// A reader that fails or stutters as its fault says.
struct FaultReader {
    inner: Box<dyn FsRead>,
    fault: Fault,
    interrupts: u32,
}

impl Read for FaultReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.fault {
            Fault::Eio => {
                self.fault = Fault::ShortWrite; // fires once, then reads normally
                Err(io::Error::from_raw_os_error(EIO))
            }
            Fault::Eintr if self.interrupts < EINTR_TIMES && !buf.is_empty() => {
                self.interrupts += 1;
                Err(io::Error::from_raw_os_error(EINTR))
            }
            Fault::EintrStorm if !buf.is_empty() => Err(io::Error::from_raw_os_error(EINTR)),
            Fault::ShortRead => {
                let n = buf.len().min(1);
                self.inner.read(&mut buf[..n])
            }
            _ => self.inner.read(buf),
        }
    }
}

/// A writer that fails, writes short, or crashes as its fault says.
struct FaultWriter {
    inner: Box<dyn FsWrite>,
    fault: Fault,
}

impl Write for FaultWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.fault {
            Fault::Enospc => Err(io::Error::from_raw_os_error(ENOSPC)),
            Fault::ShortWrite if buf.len() > 1 => self.inner.write(&buf[..buf.len() / 2]),
            Fault::Crash => {
                let _ = self.inner.write(&buf[..buf.len() / 2]);
                std::panic::panic_any(CRASH.to_string())
            }
            _ => self.inner.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl FaultFs {
    /// A handle opened on `path`, with the fault waiting for it, if any.
    fn reader(&self, path: &Path, inner: Box<dyn FsRead>) -> Box<dyn FsRead> {
        match self.faults.trigger(path, false) {
            Some(fault) => Box::new(FaultReader {
                inner,
                fault,
                interrupts: 0,
            }),
            None => inner,
        }
    }
}

impl Fs for FaultFs {
    fn open(&self, path: &Path) -> io::Result<Box<dyn FsRead>> {
        self.faults.state_op(path)?;
        let inner = self.inner.open(path)?;
        Ok(self.reader(path, inner))
    }
    fn open_stat(&self, path: &Path) -> io::Result<(Box<dyn FsRead>, Metadata)> {
        self.faults.state_op(path)?;
        let (inner, meta) = self.inner.open_stat(path)?;
        Ok((self.reader(path, inner), meta))
    }
    fn read(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        self.faults.state_op(path)?;
        // The inner file system's whole-file read unless a fault waits for this file.
        match self.faults.armed_for_read(path) {
            false => self.inner.read(path, limit),
            true => engine::fs::read_all(self.open(path)?, path, limit),
        }
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn FsWrite>> {
        let inner = self.inner.create(path)?;
        Ok(match self.faults.trigger(path, true) {
            Some(fault) => Box::new(FaultWriter { inner, fault }),
            None => inner,
        })
    }
    fn open_at(&self, path: &Path, offset: u64) -> io::Result<Box<dyn FsWrite>> {
        self.inner.open_at(path, offset)
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.faults.state_op(path)?;
        self.inner.metadata(path)
    }
    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.faults.state_op(path)?;
        self.inner.symlink_metadata(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.faults.dir_op(path)?;
        self.inner.read_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.faults.dir_op(path)?;
        self.inner.create_dir_all(path)
    }
    fn set_len(&self, path: &Path, len: u64) -> io::Result<()> {
        self.inner.set_len(path, len)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.faults.dir_op(path)?;
        self.inner.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.faults.dir_op(path)?;
        self.inner.remove_dir_all(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.faults.dir_op(to)?;
        self.inner.rename(from, to)
    }
    fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.inner.set_mode(path, mode)
    }
    fn set_mtime(&self, path: &Path, mtime_ns: u64) -> io::Result<()> {
        self.inner.set_mtime(path, mtime_ns)
    }
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
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

    fn setup() -> (FaultFs, Faults) {
        let mem = MemFs::default();
        mem.write(Path::new("src/a"), b"abcdef").unwrap();
        let faults = Faults::new(Path::new(".heph"));
        (FaultFs::new(Arc::new(mem), faults.clone()), faults)
    }

    #[test]
    fn read_faults_hit_the_next_open_of_their_file_once() {
        let (fs, faults) = setup();
        faults.arm(Fault::Eio, Path::new("src/a"));
        let err = fs.read(Path::new("src/a"), 100).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(EIO));
        assert_eq!(
            fs.read(Path::new("src/a"), 100).unwrap(),
            b"abcdef",
            "fired once"
        );
        faults.arm(Fault::ShortRead, Path::new("src/a"));
        let mut reader = fs.open(Path::new("src/a")).unwrap();
        assert_eq!(reader.read(&mut [0u8; 4]).unwrap(), 1);
        faults.arm(Fault::Eintr, Path::new("src/a"));
        let mut reader = fs.open(Path::new("src/a")).unwrap();
        for _ in 0..EINTR_TIMES {
            assert_eq!(
                reader.read(&mut [0u8; 4]).unwrap_err().raw_os_error(),
                Some(EINTR)
            );
        }
        assert_eq!(reader.read(&mut [0u8; 4]).unwrap(), 4);
        assert_eq!(faults.fired().len(), 3);
    }

    #[test]
    fn write_faults_hit_the_state_directory_only() {
        let (fs, faults) = setup();
        faults.arm(Fault::Enospc, Path::new("src/a"));
        fs.write(Path::new("src/b"), b"x").unwrap();
        let err = fs.write(Path::new(".heph/cache/k/t"), b"x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(ENOSPC));
        faults.arm(Fault::ShortWrite, Path::new("src/a"));
        fs.write(Path::new(".heph/sandbox/c0/f"), b"123456")
            .unwrap();
        assert_eq!(
            fs.read(Path::new(".heph/sandbox/c0/f"), 10).unwrap(),
            b"123456",
            "write_all"
        );
    }

    #[test]
    fn a_storm_interrupts_every_read_and_a_directory_fault_the_next_directory_operation() {
        let (fs, faults) = setup();
        faults.arm(Fault::EintrStorm, Path::new("src/a"));
        let mut reader = fs.open(Path::new("src/a")).unwrap();
        for _ in 0..10_000 {
            let err = reader.read(&mut [0u8; 4]).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(EINTR));
        }
        faults.arm(Fault::DirEio, Path::new("src/a"));
        fs.write(Path::new("src/b"), b"x").unwrap(); // a write is not a directory operation
        let err = fs
            .create_dir_all(Path::new(".heph/sandbox/c0"))
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(EIO));
        fs.create_dir_all(Path::new(".heph/sandbox/c0")).unwrap(); // once
        let fired = faults.fired();
        assert_eq!(
            fired.last().map(|f| (f.fault, f.path.as_path())),
            Some((Fault::DirEio, Path::new(".heph/sandbox/c0")))
        );
    }

    #[test]
    fn a_crash_cuts_a_cache_write_in_half_and_unwinds() {
        let (fs, faults) = setup();
        faults.arm(Fault::Crash, Path::new("src/a"));
        fs.write(Path::new(".heph/sandbox/c0/f"), b"sandbox")
            .unwrap();
        let crashed = crate::panics::catch(|| fs.write(Path::new(".heph/cache/k/t"), b"12345678"));
        assert_eq!(crashed.unwrap_err().split(" at ").next(), Some(CRASH));
        assert_eq!(fs.read(Path::new(".heph/cache/k/t"), 10).unwrap(), b"1234");
        assert!(faults.take_crash() && !faults.take_crash());
    }
}
