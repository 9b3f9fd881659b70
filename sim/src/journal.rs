//! The journal: what the simulator itself saw on the file system while the engine ran, in one
//! sequence. The oracle judges every build from this record and from its own model of the
//! scenario; what the engine reports about itself is only ever checked against it.
//!
//! Architecture Invariant: every entry is read through the file system (never from the engine's
//! results), at the moment the engine acted: what a hash act was about to read is recorded after
//! the mutations of its point fired; what a consumer received is recorded before them.
//!
//! Beside the records: the reads that take them (`read_live`, `stat`, `snapshot_dir`,
//! `list_workspace`) and the queries the oracle asks of them (a source's `history` since its
//! hash act, when a reader had opened it for good, whether a glob's skip is explained).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::fs::{FileKind, Fs, Metadata};

use crate::oracle::hashing::Fingerprint;
use crate::oracle::model::Origin;

mod workspace;

pub use workspace::{list_workspace, DirState, EntryKind, Workspace};

/// At most this many bytes are read from one file by the oracle.
pub const MAX_READ: u64 = 1 << 30;
/// At most this many entries of a sandbox are snapshot.
pub const MAX_SNAPSHOT_ENTRIES: usize = 10_000;
/// At most this deep a sandbox or workspace walk of the oracle descends.
pub const MAX_WALK_DEPTH: usize = 32;
/// At most this many files in one listing.
pub const MAX_LISTED: usize = 100_000;

/// A file as the oracle read it: bytes, exec bit (following symlinks) and the stat fields a
/// walker rule looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Live {
    /// The content.
    pub bytes: Arc<Vec<u8>>,
    /// The exec bit.
    pub x: bool,
    /// Size from `stat`.
    pub len: u64,
    /// Modification time from `stat`.
    pub mtime_ns: u64,
    /// Inode number of the file behind the path (links followed).
    pub ino: u64,
}

impl Live {
    /// The fingerprint of what it holds.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.bytes, self.x)
    }
}

/// Why a path could not be read as a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unreadable {
    /// Nothing there (or a dangling link, or a missing parent).
    Missing,
    /// A directory.
    Directory,
    /// A directory without read permission (`stat` says directory, `open` says denied).
    DeniedDirectory,
    /// Read permission refused.
    Denied,
    /// A symlink loop.
    Loop,
    /// Anything else.
    Other,
}

impl Unreadable {
    /// True when a path in this state explains an `open` or `stat` failing with `error`.
    pub fn explains(self, error: &std::io::Error) -> bool {
        let cause = Self::of(error);
        cause != Unreadable::Other
            && (cause == self
                || (self == Unreadable::DeniedDirectory
                    && matches!(cause, Unreadable::Denied | Unreadable::Directory)))
    }

    /// Linux's `ELOOP`, which both file systems report for a symlink loop.
    pub const ELOOP: i32 = 40;

    /// The way an error of `stat`, `open` or `read` says a path is unreadable.
    pub fn of(e: &std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        if e.raw_os_error() == Some(Self::ELOOP) {
            return Unreadable::Loop;
        }
        match e.kind() {
            NotFound | NotADirectory => Unreadable::Missing,
            IsADirectory => Unreadable::Directory,
            PermissionDenied => Unreadable::Denied,
            _ => Unreadable::Other,
        }
    }
}

/// The part of `stat` a walker rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Size.
    pub len: u64,
    /// Modification time.
    pub mtime_ns: u64,
    /// Exec bit.
    pub x: bool,
    /// Status change time.
    pub ctime_ns: u64,
    /// Inode number.
    pub ino: u64,
    /// Permission bits.
    pub mode: u32,
}

/// SPEC §2's exec bit, the oracle's own: any of the three x bits of `mode`.
pub fn exec_bit(mode: u32) -> bool {
    mode & 0o111 != 0
}

/// `stat` of `path` (following links), when it names a file.
pub fn stat(fs: &dyn Fs, path: &Path) -> Option<Stat> {
    let meta = fs
        .metadata(path)
        .ok()
        .filter(|m| m.kind == FileKind::File)?;
    Some(Stat {
        len: meta.len,
        mtime_ns: meta.mtime_ns,
        x: exec_bit(meta.mode),
        ctime_ns: meta.ctime_ns,
        ino: meta.ino,
        mode: meta.mode,
    })
}

/// What a path held: its fingerprint and inode, or why it was not a readable file.
pub type State = Result<(Fingerprint, u64), Unreadable>;

/// Reads `path` the way a consumer would see it: its content, or why it could not.
pub fn read_live(fs: &dyn Fs, path: &Path) -> Result<Live, Unreadable> {
    let meta = fs.metadata(path).map_err(|e| Unreadable::of(&e))?;
    if meta.kind == FileKind::Dir {
        // What opening it says: a directory without read permission refuses before it is
        // found to be a directory.
        return Err(match fs.open(path).map_err(|e| Unreadable::of(&e)) {
            Err(Unreadable::Denied) => Unreadable::DeniedDirectory,
            _ => Unreadable::Directory,
        });
    }
    let bytes = fs
        .read_shared(path, MAX_READ)
        .map_err(|e| Unreadable::of(&e))?;
    Ok(Live {
        bytes,
        x: exec_bit(meta.mode),
        len: meta.len,
        mtime_ns: meta.mtime_ns,
        ino: meta.ino,
    })
}

/// Reads `path` the way a consumer would see it, or `None` when it is not a readable file.
pub fn live(fs: &dyn Fs, path: &Path) -> Option<Live> {
    read_live(fs, path).ok()
}

/// The state of `path` now.
pub fn state(fs: &dyn Fs, path: &Path) -> State {
    read_live(fs, path).map(|l| (l.fingerprint(), l.ino))
}

/// One moment the engine hashed (or answered the hash of) a source.
#[derive(Clone, Debug)]
pub struct HashAct {
    /// Position in the journal.
    pub seq: u64,
    /// Build 1 or 2.
    pub build: u8,
    /// The target whose driver hashed (from the last `AfterHashin`).
    pub target: String,
    /// The workspace path.
    pub path: PathBuf,
    /// What the engine was about to read (after the mutations of `BeforeHash` fired).
    pub before: Option<Live>,
    /// Why it could not be read, when `before` is `None`.
    pub unreadable: Option<Unreadable>,
    /// What `stat` said (all a walker rule looks at), even when the content was unreadable.
    pub stat: Option<Stat>,
    /// The engine's hashout when it read the file (`AfterHash`); `None` when it answered from
    /// its walker cache, or failed.
    pub fresh: Option<String>,
    /// The file system clock when the fresh hash was recorded.
    pub recorded_at: u64,
    /// The file system clock when its build started.
    pub build_start: u64,
    /// A mutation of this path fired while it was being hashed: `read` holds what was hashed.
    pub torn: bool,
    /// What the engine's reads of a torn act returned, byte for byte (the file's bytes at the
    /// act up to the tear, then what the tap recorded); `None` when not torn or not known.
    pub read: Option<Arc<Vec<u8>>>,
    /// How many bytes the engine's reads of a fresh hash returned (`None`: not recorded).
    pub read_len: Option<u64>,
}

/// What a consumer's sandbox held right after it materialized its inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Position in the journal.
    pub seq: u64,
    /// Build 1 or 2.
    pub build: u8,
    /// The consuming target.
    pub consumer: String,
    /// Sandbox-relative path to (bytes, exec bit).
    pub entries: Files,
    /// What could not be read (a directory where a file was expected, a dangling link…).
    pub problems: Vec<String>,
}

/// The live state of every watched path right after a mutation fired.
#[derive(Clone, Debug)]
pub struct Change {
    /// Position in the journal.
    pub seq: u64,
    /// Build 1 or 2.
    pub build: u8,
    /// Watched path to its fingerprint and inode, or why it is not a readable file.
    pub now: BTreeMap<PathBuf, State>,
}

/// A target's hashin as the engine computed it, at `AfterHashin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashinSeen {
    /// Position in the journal.
    pub seq: u64,
    /// Build 1 or 2.
    pub build: u8,
    /// The target.
    pub target: String,
    /// The engine's hashin.
    pub hashin: String,
}

/// The workspace's files as the oracle listed them when a glob target started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// Position in the journal.
    pub seq: u64,
    /// Build 1 or 2.
    pub build: u8,
    /// The glob target.
    pub target: String,
    /// Every workspace file a walk finds (regular files and links to them), sorted.
    pub files: Vec<PathBuf>,
    /// Every workspace directory the walk reached: its `stat` and its entries.
    pub dirs: BTreeMap<PathBuf, DirState>,
    /// The file system's clock at the listing (the moment a walker's listing is read).
    pub clock: u64,
    /// The clock when the build started: the walk read its listings between it and `clock`.
    pub start_clock: u64,
    /// No change was recorded in this build before the listing, so `dirs` is what the walk
    /// itself saw (a mutation while the glob hashed its files would make them later states).
    pub exact: bool,
}

/// A source the engine opened to read it (a consumer's passthrough read, or a pack read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// Position in the journal.
    pub seq: u64,
    /// Build 1 or 2.
    pub build: u8,
    /// The target reading it.
    pub target: String,
    /// The workspace path.
    pub path: PathBuf,
}

/// A cache entry the engine reported written (`AfterCacheWrite`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Position in the journal.
    pub seq: u64,
    /// Build number.
    pub build: u8,
    /// The target.
    pub target: String,
    /// The key written.
    pub key: String,
}

/// A file of the engine's state the simulator damaged (a cache file cut, corrupted or deleted;
/// a sandbox file written into).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damaged {
    /// Position in the journal.
    pub seq: u64,
    /// Build 1 or 2 (or 3 after a restart).
    pub build: u8,
    /// The file.
    pub path: PathBuf,
}

/// The moment Bazel's guard checked a target's sources, and what each watched file held then
/// (read by the simulator, not reported by the engine).
#[derive(Clone, Debug)]
pub struct GuardSeen {
    /// Position in the journal.
    pub seq: u64,
    /// Build 1 or 2.
    pub build: u8,
    /// The guarded target.
    pub target: String,
    /// Each watched path's `stat` and content then (`None`: not a readable file).
    pub files: BTreeMap<PathBuf, (Option<Stat>, Option<Live>)>,
}

/// Everything the simulator saw during one schedule.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    /// Hash acts, in order.
    pub acts: Vec<HashAct>,
    /// Sandbox snapshots, in order.
    pub snapshots: Vec<Snapshot>,
    /// Live states after mutations, in order.
    pub changes: Vec<Change>,
    /// Hashins, in order.
    pub hashins: Vec<HashinSeen>,
    /// Glob listings, in order.
    pub listings: Vec<Listing>,
    /// Sources opened for reading, in order.
    pub opens: Vec<Opened>,
    /// Engine state the simulator damaged, in order.
    pub damages: Vec<Damaged>,
    /// Cache writes the engine reported, in order.
    pub writes: Vec<Written>,
    /// Cache lookups the engine was about to make (after the mutations of their point), in order.
    pub lookups: Vec<Written>,
    /// Passthrough sources a reader read to EOF (`AtEof`, recorded before that point's
    /// mutations: the bytes were read, verification had not yet run), in order.
    pub eofs: Vec<Opened>,
    /// Consumers that began materializing their inputs (`BeforeConsume`), in order.
    pub consumes: Vec<Written>,
    /// The first chunk read from each passthrough source, in order (the `key` is the path).
    pub first_reads: Vec<Written>,
    /// Where Bazel's guard checked a target's sources, with what the files held then.
    pub guards: Vec<GuardSeen>,
    /// The file system clock when the running build started (after `BetweenBuilds`).
    pub build_start: u64,
    /// The journal's position when the running build started (after `BetweenBuilds`).
    pub build_started_at: u64,
    /// (build, line): where the engine's DiskFs and the OS disagreed (`stat`, `read`,
    /// `read_dir`, links followed).
    pub conformance: Vec<(u8, String)>,
    /// How many conformance checks were made (DiskFs only).
    pub conformance_checks: u64,
    next: u64,
}

impl Journal {
    /// True when a file under `dir` was damaged after `since` (a journal position).
    pub fn damaged_under(&self, dir: &Path, since: u64) -> bool {
        self.damages
            .iter()
            .any(|d| d.seq > since && d.path.starts_with(dir))
    }

    /// True when damage `d` still stands: the cache entry it hit was not written again since,
    /// the sandbox it hit was not made afresh since (entries live under
    /// `{state_dir}/{cache|tmp}/{key}/`, sandboxes under `{state_dir}/sandbox/{target}/`).
    pub fn damage_stands(&self, state_dir: &Path, d: &Damaged) -> bool {
        let Ok(rest) = d.path.strip_prefix(state_dir) else {
            return true;
        };
        let mut parts = rest.components().map(|c| c.as_os_str().to_string_lossy());
        match (parts.next().as_deref(), parts.next()) {
            (Some("cache" | "tmp"), Some(key)) => d.seq > self.last_write(&key),
            (Some("sandbox"), Some(target)) => {
                let made = self.consumes.iter().filter(|c| c.target == target);
                made.map(|c| c.seq).max().is_none_or(|made| d.seq > made)
            }
            _ => true,
        }
    }

    /// The targets build `build` started (reported a hashin for), in order.
    pub fn started(&self, build: u8) -> Vec<&str> {
        self.hashins
            .iter()
            .filter(|h| h.build == build)
            .map(|h| h.target.as_str())
            .collect()
    }

    /// When `key` was last written (0: never, as far as the journal knows).
    pub fn last_write(&self, key: &str) -> u64 {
        self.writes
            .iter()
            .filter(|w| w.key == key)
            .map(|w| w.seq)
            .max()
            .unwrap_or(0)
    }

    /// The target whose write of `key` came last (in any build).
    pub fn last_writer(&self, key: &str) -> Option<&str> {
        let last = self
            .writes
            .iter()
            .filter(|w| w.key == key)
            .max_by_key(|w| w.seq);
        last.map(|w| w.target.as_str())
    }

    /// The next sequence number.
    pub fn tick(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// The current sequence number (of the last entry).
    pub fn now(&self) -> u64 {
        self.next
    }
}

/// What the journal shows happened to one source after the act that hashed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Its bytes or exec bit differed from what was hashed at some moment (or the answer was
    /// stale or torn).
    pub changed: bool,
    /// The ways it was not a readable file at some moment (or when it was hashed).
    pub unreadable: BTreeSet<Unreadable>,
}

/// The history of `origin` in `journal` as a reader could see it: every recorded live state
/// after its hash act and before `until` (the moment the reader had read its last byte: a
/// change after it is one no check of the engine could see), where a path that became
/// unreadable only after `opened` (the moment the reader had opened it for good) does not count
/// (SPEC §7: an open handle still reads the file it opened, so only an open can fail for a
/// missing, denied or replaced path).
pub fn history(journal: &Journal, origin: &Origin, opened: u64, until: u64) -> History {
    let Ok(i) = journal
        .acts
        .binary_search_by_key(&origin.act_seq, |a| a.seq)
    else {
        return History {
            changed: true,
            ..History::default()
        };
    };
    let act = &journal.acts[i];
    // What was hashed (unknown when the file could not be read: any later content differs).
    let hashed = act.before.as_ref().map(|b| (b.fingerprint(), b.ino));
    let mut history = History {
        changed: origin.stale || act.torn,
        unreadable: act.unreadable.into_iter().collect(),
    };
    for change in journal
        .changes
        .iter()
        .filter(|c| c.seq > act.seq && c.seq < until)
    {
        match change.now.get(&origin.path) {
            Some(Ok((now, _))) => history.changed |= hashed.is_none_or(|(h, _)| *now != h),
            Some(Err(why)) if change.seq < opened => {
                history.unreadable.insert(*why);
            }
            Some(Err(_)) => {}
            None => {}
        }
        // A reader opened before the path moved on still reads the file it opened: a change
        // to that file, seen through any other path, counts too.
        if let Some((hashed, ino)) = hashed {
            history.changed |= change
                .now
                .values()
                .flatten()
                .any(|(now, i)| *i == ino && *now != hashed);
        }
    }
    history
}

/// When `target` had read every one of its `entries` of the source of `origin` to the end
/// since it was hashed (`u64::MAX`: some read did not get there): verification at EOF sees no
/// change made after its last byte was read.
pub fn read_to_end(journal: &Journal, target: &str, origin: &Origin, entries: usize) -> u64 {
    last_of_every(&journal.eofs, target, origin, entries)
}

/// The last of `target`'s records of `origin`'s source since its hash act, when there are at
/// least `entries` of them (`u64::MAX` otherwise).
fn last_of_every(records: &[Opened], target: &str, origin: &Origin, entries: usize) -> u64 {
    let seqs: Vec<u64> = records
        .iter()
        .filter(|o| o.seq > origin.act_seq && o.target == target && o.path == origin.path)
        .map(|o| o.seq)
        .collect();
    match seqs.last() {
        Some(last) if seqs.len() >= entries => *last,
        _ => u64::MAX,
    }
}

/// When `target` had opened the source of `origin` for good: its last open since the source was
/// hashed, if it opened it as many times as it had entries of it to read (else an open of it
/// failed, later).
pub fn opened_for_good(journal: &Journal, target: &str, origin: &Origin, entries: usize) -> u64 {
    last_of_every(&journal.opens, target, origin, entries)
}

/// True when the journal explains why a glob left out `act`'s file: it was not a readable file
/// when it was hashed or at some moment since (SPEC §3: "a matched file that cannot be read is
/// skipped"). A fault the simulator injected into a readable file explains nothing: a glob that
/// drops a file on EIO builds from fewer sources than the workspace holds, and says nothing.
///
/// Architecture Invariant: a skip is judged by the file's state as the simulator saw it, never
/// by the error the engine got.
pub fn skip_explained(journal: &Journal, act: &HashAct) -> bool {
    let origin = Origin {
        path: act.path.clone(),
        act_seq: act.seq,
        stale: false,
    };
    act.unreadable.is_some()
        || !history(journal, &origin, u64::MAX, u64::MAX)
            .unreadable
            .is_empty()
}

/// Files of a directory tree by relative path: bytes and exec bit.
pub type Files = BTreeMap<PathBuf, (Arc<Vec<u8>>, bool)>;

/// Reads a sandbox directory recursively: every file's bytes and exec bit, and what could not
/// be read.
pub fn snapshot_dir(fs: &dyn Fs, dir: &Path) -> (Files, Vec<String>) {
    let mut entries = BTreeMap::new();
    let mut problems = Vec::new();
    let mut pending = vec![(PathBuf::new(), 0usize)];
    while let Some((rel, depth)) = pending.pop() {
        let names = match fs.read_dir(&dir.join(&rel)) {
            Ok(names) => names,
            Err(e) if rel.as_os_str().is_empty() && e.kind() == std::io::ErrorKind::NotFound => {
                break
            }
            Err(e) => {
                problems.push(format!("{}: {e}", rel.display()));
                continue;
            }
        };
        for name in names {
            let path = rel.join(&name);
            let full = dir.join(&path);
            // A file's own metadata (not a symlink's): its exec bit is the file's.
            match fs.symlink_metadata(&full) {
                Ok(m) if m.kind == FileKind::Dir && depth < MAX_WALK_DEPTH => {
                    pending.push((path, depth + 1))
                }
                Ok(m) if m.kind == FileKind::File && entries.len() < MAX_SNAPSHOT_ENTRIES => {
                    match fs.read_shared(&full, MAX_READ) {
                        Ok(bytes) => {
                            entries.insert(path, (bytes, exec_bit(m.mode)));
                        }
                        Err(e) => problems.push(format!("{}: {e}", path.display())),
                    }
                }
                Ok(Metadata { kind, .. }) => {
                    problems.push(format!("{}: unexpected {kind:?}", path.display()))
                }
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
    }
    (entries, problems)
}
