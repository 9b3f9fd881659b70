//! MemFs judged against the kernel, call by call (`sim fsops`): random sequences of `Fs` calls
//! run on MemFs and on DiskFs in a fresh directory, and every call must come out the same on
//! both: the same errno for a failure, the same bytes, names and metadata (kind, length,
//! permission bits) for a success, the same files and directories stamped with a new mtime
//! (each is set to an old one before the call), and the same tree after the sequence.
//!
//! The calls reach what the engine's own calls rarely do: nested directories, symlinks (to
//! files, directories, nothing, themselves), renames of files and directories over each
//! other and into themselves, files taken for directories, paths that are not relative or
//! climb out, names too long, reads beyond a limit, handles opened before an unlink.
//!
//! Architecture Invariant: every verdict the simulator gives on MemFs rests on MemFs
//! answering as Linux does; a difference found here is a MemFs bug (or a row of
//! [`NOT_MODELLED`], with its reason), never a tolerance in the comparison.

use std::io::{Read, Write};
use std::path::Path;

use engine::fs::{DiskFs, FileKind, Fs, MemFs, MemFsConfig, Metadata};

use crate::rng::{Choices, Rng};

/// At most this many calls in one sequence.
pub const MAX_CALLS: u64 = 24;

/// At most this many sequences in one run.
pub const MAX_SEQUENCES: u64 = 1_000_000;

/// At most this many bytes read by one call (a read beyond fails as too large).
const READ_LIMIT: u64 = 48;

/// The paths calls name: files, directories and links at three depths, a file taken for a
/// directory, and paths through `.`.
const PATHS: [&str; 13] = [
    "a", "b", "d", "d/a", "d/b", "d/e", "d/e/a", "a/x", "l", "d/l", "d/e/l", "d/./a", "d/e/b",
];

/// Paths no call may take, or only some: the root, climbing out, absolute, a name too long.
const ODD_PATHS: [&str; 5] = ["", "../x", "/abs", "d/../a", LONG];

/// A name longer than `NAME_MAX` (255 bytes).
const LONG: &str = "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn";

/// What symlinks point to (relative to the link's directory).
const LINK_TARGETS: [&str; 8] = ["a", "d", "d/a", "missing", "../a", "l", "e", ""];

/// Permission bits a call may set (no bits at all only where reads ignore them).
const MODES: [u32; 5] = [0o644, 0o755, 0o600, 0o700, 0o000];

/// What MemFs leaves out on purpose, and why: calls whose result the comparison skips.
pub const NOT_MODELLED: [&str; 2] = [
    "a directory's size (ext4 reports its blocks, tmpfs its entries; no walker reads it)",
    "a rename naming the root: MemFs's root is a file system's (EBUSY), DiskFs's a directory \
     in a larger one (EINVAL, or its parent's errors); the engine never renames its root",
];

/// One `Fs` call.
#[derive(Clone, Debug)]
enum Call {
    Read(&'static str),
    OpenStat(&'static str),
    ReadAfterUnlink(&'static str),
    Write(&'static str, u8),
    WriteAt(&'static str, u8, u8),
    Stat(&'static str),
    Lstat(&'static str),
    ReadDir(&'static str),
    CreateDirAll(&'static str),
    SetLen(&'static str, u8),
    RemoveFile(&'static str),
    RemoveDirAll(&'static str),
    Rename(&'static str, &'static str),
    SetMode(&'static str, u32),
    SetMtime(&'static str),
    Symlink(&'static str, &'static str),
}

/// A path for a call: an odd one (the root, climbing out, absolute, too long) one time in 8.
fn path(rng: &mut impl Choices) -> &'static str {
    match rng.chance(1, 8) {
        true => rng.pick::<&str>(&ODD_PATHS),
        false => rng.pick::<&str>(&PATHS),
    }
}

/// Draws one call.
fn draw(rng: &mut impl Choices, privileged: bool) -> Call {
    let (p, q) = (path(rng), path(rng));
    let n = rng.below(64) as u8;
    // Reads ignore permission bits only where a mode of 0 can be compared.
    let modes = if privileged { &MODES[..] } else { &MODES[..4] };
    match rng.below(16) {
        0 => Call::Read(p),
        1 => Call::OpenStat(p),
        2 => Call::ReadAfterUnlink(p),
        3 | 4 => Call::Write(p, n),
        5 => Call::WriteAt(p, n % 8, rng.below(8) as u8),
        6 => Call::Stat(p),
        7 => Call::Lstat(p),
        8 => Call::ReadDir(p),
        9 => Call::CreateDirAll(p.rsplit_once('/').map_or(p, |(dir, _)| dir)),
        10 => Call::SetLen(p, n),
        11 => Call::RemoveFile(p),
        12 => Call::RemoveDirAll(p),
        13 if !p.is_empty() && !q.is_empty() => Call::Rename(p, q),
        13 => Call::Stat(p),
        14 => Call::SetMode(p, *rng.pick(modes)),
        15 if n.is_multiple_of(2) => Call::SetMtime(p),
        _ => Call::Symlink(rng.pick::<&str>(&LINK_TARGETS), p),
    }
}

/// At most this many creating calls before a sequence's own.
const SETUP_CALLS: u64 = 6;

/// A call that creates a node: a file, a directory or a link.
fn populate(rng: &mut impl Choices) -> Call {
    let path = *rng.pick(&PATHS);
    match rng.below(4) {
        0 | 1 => Call::Write(path, rng.below(40) as u8),
        2 => Call::CreateDirAll(path),
        _ => Call::Symlink(rng.pick::<&str>(&LINK_TARGETS), path),
    }
}

/// What a failure says: its errno, else its kind.
fn failure(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => format!("errno {errno}"),
        None => format!("error {:?}", e.kind()),
    }
}

/// The comparable part of a `stat`: kind, length (not a directory's) and permission bits (not
/// a link's, which Linux leaves 0o777).
fn meta(m: &Metadata) -> String {
    match m.kind {
        FileKind::File => format!("file len {} mode {:o}", m.len, m.mode & 0o777),
        FileKind::Dir => format!("dir mode {:o}", m.mode & 0o777),
        FileKind::Symlink => format!("symlink len {}", m.len),
    }
}

/// Runs `call` on `fs`: what came of it, in words both file systems must share.
fn apply(fs: &dyn Fs, call: &Call) -> String {
    let said = |r: std::io::Result<String>| r.unwrap_or_else(|e| failure(&e));
    let p = |s: &str| Path::new(s).to_path_buf();
    match call {
        Call::Read(path) => said(fs.read(&p(path), READ_LIMIT).map(|b| format!("{b:?}"))),
        Call::OpenStat(path) => said(fs.open_stat(&p(path)).and_then(|(mut r, m)| {
            let mut bytes = Vec::new();
            r.read_to_end(&mut bytes)?;
            Ok(format!("{} {bytes:?}", meta(&m)))
        })),
        Call::ReadAfterUnlink(path) => said(fs.open(&p(path)).and_then(|mut r| {
            fs.remove_file(&p(path))?;
            let mut bytes = Vec::new();
            r.read_to_end(&mut bytes)?;
            Ok(format!("{bytes:?}"))
        })),
        Call::Write(path, n) => said(
            fs.write(&p(path), &vec![b'w'; *n as usize])
                .map(|_| "ok".into()),
        ),
        Call::WriteAt(path, at, n) => {
            said(fs.open_at(&p(path), u64::from(*at)).and_then(|mut w| {
                w.write_all(&vec![b'o'; *n as usize])?;
                w.flush().map(|_| "ok".into())
            }))
        }
        Call::Stat(path) => said(fs.metadata(&p(path)).map(|m| meta(&m))),
        Call::Lstat(path) => said(fs.symlink_metadata(&p(path)).map(|m| meta(&m))),
        Call::ReadDir(path) => said(fs.read_dir(&p(path)).map(|n| n.join(","))),
        Call::CreateDirAll(path) => said(fs.create_dir_all(&p(path)).map(|_| "ok".into())),
        Call::SetLen(path, n) => said(fs.set_len(&p(path), u64::from(*n)).map(|_| "ok".into())),
        Call::RemoveFile(path) => said(fs.remove_file(&p(path)).map(|_| "ok".into())),
        Call::RemoveDirAll(path) => said(fs.remove_dir_all(&p(path)).map(|_| "ok".into())),
        Call::Rename(from, to) => said(fs.rename(&p(from), &p(to)).map(|_| "ok".into())),
        Call::SetMode(path, mode) => said(fs.set_mode(&p(path), *mode).map(|_| "ok".into())),
        Call::SetMtime(path) => said(fs.set_mtime(&p(path), 1_000_000_000).map(|_| "ok".into())),
        Call::Symlink(target, link) => said(fs.symlink(&p(target), &p(link)).map(|_| "ok".into())),
    }
}

/// The mtime every file and directory is given before a call, so that the nodes a call
/// stamped are those whose mtime moved, whatever the step of the kernel's clock.
const UNSTAMPED_NS: u64 = 7_000_000_000;

/// The root (`""`) and every node under it, with its `lstat`, breadth first: the one walk
/// the stamps and the tree are read from.
fn nodes(fs: &dyn Fs) -> Vec<(String, Metadata)> {
    let mut out: Vec<(String, Metadata)> = fs
        .symlink_metadata(Path::new(""))
        .map(|m| (String::new(), m))
        .into_iter()
        .collect();
    let mut next = 0;
    while next < out.len() {
        assert!(
            out.len() < 1_000,
            "a sequence of {MAX_CALLS} calls makes a small tree"
        );
        let (dir, kind) = (out[next].0.clone(), out[next].1.kind);
        next += 1;
        if kind != FileKind::Dir {
            continue;
        }
        for name in fs.read_dir(Path::new(&dir)).unwrap_or_default() {
            let path = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            if let Ok(m) = fs.symlink_metadata(Path::new(&path)) {
                out.push((path, m));
            }
        }
    }
    out
}

/// Sets every file's and directory's mtime to [`UNSTAMPED_NS`] (links aside: `set_mtime`
/// follows them).
fn unstamp(fs: &dyn Fs) {
    for (path, m) in nodes(fs) {
        if m.kind != FileKind::Symlink {
            // A node the call cannot reach stays out of the comparison on both sides alike.
            let _ = fs.set_mtime(Path::new(&path), UNSTAMPED_NS);
        }
    }
}

/// The files and directories whose mtime moved since [`unstamp`]: what a call stamped (SPEC
/// §2's listing cache keys on a directory's mtime, the walkers on a file's).
fn stamped(fs: &dyn Fs) -> String {
    let moved: Vec<String> = nodes(fs)
        .into_iter()
        .filter(|(_, m)| m.kind != FileKind::Symlink && m.mtime_ns != UNSTAMPED_NS)
        .map(|(p, _)| if p.is_empty() { ".".into() } else { p })
        .collect();
    format!("stamped [{}]", moved.join(", "))
}

/// The whole tree under the root, one line a node (`lstat`, and a file's bytes), sorted.
fn tree(fs: &dyn Fs) -> Vec<String> {
    let mut out: Vec<String> = nodes(fs)
        .into_iter()
        .filter(|(path, _)| !path.is_empty())
        .map(|(path, m)| {
            let bytes = match m.kind {
                FileKind::File => format!(
                    " {:?}",
                    fs.read(Path::new(&path), 1 << 10).map_err(|e| failure(&e))
                ),
                FileKind::Dir | FileKind::Symlink => String::new(),
            };
            format!("{path}: {}{bytes}", meta(&m))
        })
        .collect();
    out.sort();
    out
}

/// One disagreement: where it happened and what each file system said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    /// The sequence (`--seed` and this index replay it).
    pub sequence: u64,
    /// The calls up to and including the one that disagreed (or all, for the tree).
    pub calls: Vec<String>,
    /// What MemFs said.
    pub mem: String,
    /// What the kernel said (through DiskFs).
    pub disk: String,
}

/// Runs sequence `index` of `seed` on a fresh MemFs and a fresh directory: the first
/// disagreement, if any.
pub fn sequence(seed: u64, index: u64, tally: &mut Tally) -> Result<Option<Disagreement>, String> {
    let privileged = crate::schedule::disk_reads_unreadable();
    let mem = MemFs::new(MemFsConfig {
        privileged,
        ..MemFsConfig::default()
    });
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let disk = DiskFs::new(dir.path()).map_err(|e| format!("{}: {e}", dir.path().display()))?;
    let mut rng = Rng::for_schedule(seed, index);
    let calls = 1 + rng.below(MAX_CALLS);
    // A few nodes first, so that calls meet files, directories and links more than nothing.
    let setup = rng.below(SETUP_CALLS + 1);
    let mut done = Vec::new();
    for k in 0..setup + calls {
        let call = match k < setup {
            true => populate(&mut rng),
            false => draw(&mut rng, privileged),
        };
        done.push(format!("{call:?}"));
        unstamp(&mem);
        unstamp(&disk);
        let (m, d) = (apply(&mem, &call), apply(&disk, &call));
        tally.calls += 1;
        if d.starts_with("errno") || d.starts_with("error") {
            *tally.failures.entry(d.clone()).or_default() += 1;
        }
        // What the call answered, then which nodes it stamped.
        let (m, d) = match m == d {
            true => (stamped(&mem), stamped(&disk)),
            false => (m, d),
        };
        if m != d {
            return Ok(Some(Disagreement {
                sequence: index,
                calls: done,
                mem: m,
                disk: d,
            }));
        }
    }
    let (m, d) = (tree(&mem), tree(&disk));
    if m != d {
        let (mem, disk) = (m.join("\n"), d.join("\n"));
        return Ok(Some(Disagreement {
            sequence: index,
            calls: done,
            mem,
            disk,
        }));
    }
    // Let the directory go even after a mode of 0 on a directory in it.
    restore_modes(dir.path());
    Ok(None)
}

/// Gives every directory under `root` its owner's bits back, so the temp dir can be removed.
fn restore_modes(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
}

/// What a run did: calls made, and how the kernel's failures among them were spread (so
/// that a run is seen to reach the error paths, not only the successes).
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Calls made (on each file system).
    pub calls: u64,
    /// The kernel's failures, by errno (or kind), with their counts.
    pub failures: std::collections::BTreeMap<String, u64>,
}

/// Runs `sequences` sequences of `seed`: every disagreement found, in order, and the tally.
pub fn run(seed: u64, sequences: u64) -> Result<(Vec<Disagreement>, Tally), String> {
    assert!(
        sequences <= MAX_SEQUENCES,
        "at most {MAX_SEQUENCES} sequences"
    );
    let mut found = Vec::new();
    let mut tally = Tally::default();
    for index in 0..sequences {
        if let Some(d) = sequence(seed, index, &mut tally)? {
            found.push(d);
        }
    }
    debug_assert!(tally.calls >= sequences);
    Ok((found, tally))
}

/// The DiskFs constructor refuses a root that is not a directory, naming it.
pub fn refuses_a_file_root() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").map_err(|e| format!("{}: {e}", file.display()))?;
    match DiskFs::new(&file) {
        Err(e) if e.to_string().contains("not a directory") => Ok(()),
        Err(e) => Err(format!(
            "DiskFs::new({}) failed without naming why: {e}",
            file.display()
        )),
        Ok(_) => Err(format!(
            "DiskFs::new({}) took a file for its root",
            file.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_judged_by_the_nodes_it_stamps() {
        let fs = MemFs::default();
        fs.write(Path::new("d/a"), b"x").unwrap();
        unstamp(&fs);
        assert_eq!(stamped(&fs), "stamped []", "a fresh start");
        fs.read(Path::new("d/a"), 8).unwrap();
        assert_eq!(stamped(&fs), "stamped []", "a read stamps nothing");
        fs.write(Path::new("d/b"), b"y").unwrap();
        assert_eq!(
            stamped(&fs),
            "stamped [d, d/b]",
            "a new file and its directory"
        );
        unstamp(&fs);
        fs.rename(Path::new("d/a"), Path::new("a")).unwrap();
        assert_eq!(
            stamped(&fs),
            "stamped [., d]",
            "both directories of a rename"
        );
    }
}
