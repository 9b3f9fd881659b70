//! MemFs tests: table-driven scenarios (`check`), targeted tests of the clock, inode lifetime
//! and limits, and a differential run of the same operations against `DiskFs`.

use std::io::{self, Read, Write};
use std::path::Path;

use super::{MemFs, MemFsConfig};
use crate::fs::{DiskFs, FileKind, Fs, FsRead};
use crate::sync::lock;

/// One operation, with every argument a static string so tables stay readable.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// `Fs::write` (creates parents).
    Write(&'static str, &'static str),
    /// `Fs::create` then writes the content (no parents).
    Create(&'static str, &'static str),
    /// `Fs::open_at` then writes the content.
    WriteAt(&'static str, u64, &'static str),
    /// `Fs::read`, giving the content.
    Read(&'static str),
    SetLen(&'static str, u64),
    Mkdir(&'static str),
    Remove(&'static str),
    RemoveAll(&'static str),
    Rename(&'static str, &'static str),
    /// `symlink(target, link)`.
    Symlink(&'static str, &'static str),
    /// Names joined by `,`.
    ReadDir(&'static str),
    /// `kind [len] ±x` (no len for directories: it differs between file systems).
    Stat(&'static str),
    Lstat(&'static str),
    SetMode(&'static str, u32),
    SetMtime(&'static str, u64),
    /// Opens a read handle into a slot.
    Hold(usize, &'static str),
    /// Reads up to n bytes from a held handle.
    ReadHeld(usize, usize),
    /// Drops a held handle.
    Release(usize),
}

use Op::*;

/// Runs [`Op`]s on one file system, holding open read handles in slots.
struct Runner<'a> {
    fs: &'a dyn Fs,
    held: Vec<Option<Box<dyn FsRead>>>,
}

fn p(path: &str) -> &Path {
    Path::new(path)
}

fn outcome<T>(result: io::Result<T>, ok: impl FnOnce(T) -> String) -> String {
    match result {
        Ok(value) => ok(value),
        Err(err) => format!("err:{:?}", err.kind()),
    }
}

fn done(_: ()) -> String {
    "ok".to_owned()
}

fn write_with(file: io::Result<Box<dyn crate::fs::FsWrite>>, data: &str) -> io::Result<()> {
    let mut file = file?;
    file.write_all(data.as_bytes())?;
    file.flush()
}

fn stat(meta: crate::fs::Metadata) -> String {
    let x = if meta.exec() { "+x" } else { "-x" };
    match meta.kind {
        FileKind::Dir => format!("dir {x}"),
        FileKind::File => format!("file {} {x}", meta.len),
        FileKind::Symlink => format!("symlink {} {x}", meta.len),
    }
}

impl<'a> Runner<'a> {
    fn new(fs: &'a dyn Fs) -> Self {
        Self {
            fs,
            held: (0..4).map(|_| None).collect(),
        }
    }

    fn run(&mut self, op: Op) -> String {
        let fs = self.fs;
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        match op {
            Write(path, data) => outcome(fs.write(p(path), data.as_bytes()), done),
            Create(path, data) => outcome(write_with(fs.create(p(path)), data), done),
            WriteAt(path, at, data) => outcome(write_with(fs.open_at(p(path), at), data), done),
            Read(path) => outcome(fs.read(p(path), 1 << 20), text),
            SetLen(path, len) => outcome(fs.set_len(p(path), len), done),
            Mkdir(path) => outcome(fs.create_dir_all(p(path)), done),
            Remove(path) => outcome(fs.remove_file(p(path)), done),
            RemoveAll(path) => outcome(fs.remove_dir_all(p(path)), done),
            Rename(from, to) => outcome(fs.rename(p(from), p(to)), done),
            Symlink(target, link) => outcome(fs.symlink(p(target), p(link)), done),
            ReadDir(path) => outcome(fs.read_dir(p(path)), |names| names.join(",")),
            Stat(path) => outcome(fs.metadata(p(path)), stat),
            Lstat(path) => outcome(fs.symlink_metadata(p(path)), stat),
            SetMode(path, mode) => outcome(fs.set_mode(p(path), mode), done),
            SetMtime(path, ns) => outcome(fs.set_mtime(p(path), ns), done),
            Hold(slot, path) => outcome(fs.open(p(path)), |file| {
                self.held[slot] = Some(file);
                "ok".to_owned()
            }),
            ReadHeld(slot, n) => match &mut self.held[slot] {
                None => "closed".to_owned(),
                Some(file) => {
                    let mut buf = vec![0; n];
                    outcome(file.read(&mut buf), |got| {
                        buf.truncate(got);
                        text(buf)
                    })
                }
            },
            Release(slot) => {
                self.held[slot] = None;
                "ok".to_owned()
            }
        }
    }
}

fn invariants(fs: &MemFs) {
    lock(&fs.state).check_invariants();
}

/// Runs `steps` on a fresh MemFs, checking each outcome and the inode invariants.
fn check(steps: &[(Op, &str)]) -> MemFs {
    let fs = MemFs::default();
    let mut runner = Runner::new(&fs);
    for (i, (op, want)) in steps.iter().enumerate() {
        let got = runner.run(*op);
        assert_eq!(got, *want, "step {i}: {op:?}");
        invariants(&fs);
    }
    drop(runner);
    invariants(&fs);
    fs
}

#[test]
fn write_read_round_trip() {
    check(&[
        (Write("a/b/c.txt", "hello"), "ok"),
        (Read("a/b/c.txt"), "hello"),
        (Stat("a/b/c.txt"), "file 5 -x"),
        (Stat("a/b"), "dir +x"),
        (Create("a/b/c.txt", "hi"), "ok"),
        (Read("a/b/c.txt"), "hi"),
        (Read("./a/./b/c.txt"), "hi"),
        (Write("empty", ""), "ok"),
        (Read("empty"), ""),
    ]);
}

#[test]
fn read_dir_is_sorted() {
    check(&[
        (Write("d/zeta", ""), "ok"),
        (Write("d/alpha", ""), "ok"),
        (Mkdir("d/Mid"), "ok"),
        (Symlink("alpha", "d/beta"), "ok"),
        (ReadDir("d"), "Mid,alpha,beta,zeta"),
        (ReadDir(""), "d"),
        (ReadDir("."), "d"),
        (ReadDir("d/alpha"), "err:NotADirectory"),
        (ReadDir("nope"), "err:NotFound"),
    ]);
}

#[test]
fn handle_survives_unlink() {
    let fs = check(&[
        (Write("f", "old bytes"), "ok"),
        (Hold(0, "f"), "ok"),
        (Remove("f"), "ok"),
        (Read("f"), "err:NotFound"),
        (ReadHeld(0, 3), "old"),
        (ReadHeld(0, 100), " bytes"),
        (ReadHeld(0, 100), ""),
    ]);
    assert_eq!(
        fs.inode_count(),
        1,
        "the unlinked file is freed with its handle"
    );
}

#[test]
fn handle_survives_rename_over() {
    check(&[
        (Write("f", "OLD"), "ok"),
        (Write("tmp", "NEW"), "ok"),
        (Hold(0, "f"), "ok"),
        (Rename("tmp", "f"), "ok"),
        (Hold(1, "f"), "ok"),
        (ReadHeld(0, 10), "OLD"),
        (ReadHeld(1, 10), "NEW"),
        (Read("tmp"), "err:NotFound"),
        (ReadDir(""), "f"),
    ]);
}

#[test]
fn truncate_and_in_place_writes_are_visible_through_a_handle() {
    check(&[
        (Write("f", "abcdef"), "ok"),
        (Hold(0, "f"), "ok"),
        (ReadHeld(0, 2), "ab"),
        (WriteAt("f", 2, "XY"), "ok"),
        (ReadHeld(0, 2), "XY"),
        (SetLen("f", 3), "ok"),
        (ReadHeld(0, 10), ""),
        (Hold(1, "f"), "ok"),
        (ReadHeld(1, 10), "abX"),
        (WriteAt("f", 5, "Z"), "ok"),
        (Read("f"), "abX\0\0Z"),
        (SetLen("f", 8), "ok"),
        (Stat("f"), "file 8 -x"),
        (Create("f", "fresh"), "ok"),
        (ReadHeld(0, 10), "h"),
        (WriteAt("missing", 0, "x"), "err:NotFound"),
        (SetLen("missing", 0), "err:NotFound"),
    ]);
}

#[test]
fn modes_and_permissions() {
    check(&[
        (Write("run.sh", "#!"), "ok"),
        (Stat("run.sh"), "file 2 -x"),
        (SetMode("run.sh", 0o755), "ok"),
        (Stat("run.sh"), "file 2 +x"),
        (Symlink("run.sh", "link"), "ok"),
        (SetMode("link", 0o644), "ok"),
        (Stat("run.sh"), "file 2 -x"),
        (Lstat("link"), "symlink 6 +x"),
        (SetMode("run.sh", 0o200), "ok"),
        (Read("run.sh"), "err:PermissionDenied"),
        (Read("link"), "err:PermissionDenied"),
        (Stat("run.sh"), "file 2 -x"),
        (SetMode("run.sh", 0o400), "ok"),
        (Read("run.sh"), "#!"),
        (SetMode("nope", 0o644), "err:NotFound"),
    ]);
    let fs = MemFs::default();
    fs.write(p("f"), b"").unwrap();
    fs.set_mode(p("f"), 0o7755).unwrap();
    assert_eq!(fs.metadata(p("f")).unwrap().mode, 0o755);
    assert_eq!(fs.metadata(p("")).unwrap().mode, 0o755);
}

#[test]
fn symlinks() {
    check(&[
        (Write("dir/real", "data"), "ok"),
        (Symlink("real", "dir/rel"), "ok"),
        (Symlink("dir", "top"), "ok"),
        (Symlink("dir/rel", "chain"), "ok"),
        (Read("dir/rel"), "data"),
        (Read("top/real"), "data"),
        (Read("chain"), "data"),
        (Stat("chain"), "file 4 -x"),
        (Lstat("chain"), "symlink 7 +x"),
        (Stat("top"), "dir +x"),
        (Lstat("top"), "symlink 3 +x"),
        (ReadDir("top"), "real,rel"),
        (Symlink("missing", "dangling"), "ok"),
        (Read("dangling"), "err:NotFound"),
        (Stat("dangling"), "err:NotFound"),
        (Lstat("dangling"), "symlink 7 +x"),
        (Create("dangling", "made"), "ok"),
        (Read("missing"), "made"),
        (Symlink("nodir/x", "deep"), "ok"),
        (Create("deep", "x"), "err:NotFound"),
        (Symlink("dir", "top"), "err:AlreadyExists"),
        (Symlink("/abs", "abs"), "err:InvalidInput"),
        (Symlink("../up", "up"), "err:InvalidInput"),
        (Symlink("", "empty"), "err:NotFound"),
        (Symlink("x", "nodir/link"), "err:NotFound"),
        (Create("top", ""), "err:IsADirectory"),
        (Remove("top"), "ok"),
        (Read("dir/real"), "data"),
        (Rename("chain", "renamed"), "ok"),
        (Read("renamed"), "data"),
        (Symlink("dir", "top2"), "ok"),
        (RemoveAll("top2"), "ok"),
        (ReadDir("dir"), "real,rel"),
        (Mkdir("dangling"), "err:AlreadyExists"),
        (Symlink("dir", "ldir"), "ok"),
        (Mkdir("ldir/sub"), "ok"),
        (ReadDir("dir"), "real,rel,sub"),
    ]);
}

#[test]
fn symlink_loops() {
    check(&[
        (Symlink("b", "a"), "ok"),
        (Symlink("a", "b"), "ok"),
        (Symlink("self", "self"), "ok"),
        (Read("a"), "err:FilesystemLoop"),
        (Stat("self"), "err:FilesystemLoop"),
        (Create("a", "x"), "err:FilesystemLoop"),
        (Read("a/x"), "err:FilesystemLoop"),
        (Lstat("a"), "symlink 1 +x"),
        (Mkdir("a"), "err:AlreadyExists"),
        (Mkdir("a/x"), "err:FilesystemLoop"),
        (Remove("a"), "ok"),
        (Read("b"), "err:NotFound"),
    ]);
    let fs = MemFs::default();
    fs.symlink(p("loop"), p("loop")).unwrap();
    let err = fs.open(p("loop")).err().unwrap();
    assert_eq!(err.raw_os_error(), Some(40));
}

/// Builds `l0 -> l1 -> ... -> l{n-1} -> target`, a chain of `n` symlinks.
fn chain(fs: &dyn Fs, n: usize) {
    fs.write(p("target"), b"end").unwrap();
    for i in 0..n {
        let next = if i + 1 == n {
            "target".to_owned()
        } else {
            format!("l{}", i + 1)
        };
        fs.symlink(p(&next), p(&format!("l{i}"))).unwrap();
    }
}

#[test]
fn forty_hops_resolve_forty_one_loop() {
    let fs = MemFs::default();
    chain(&fs, 41);
    assert_eq!(fs.read(p("l1"), 10).unwrap(), b"end");
    let err = fs.read(p("l0"), 10).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(40));
}

#[test]
fn error_kinds() {
    check(&[
        (Create("nodir/f", ""), "err:NotFound"),
        (Write("f", "x"), "ok"),
        (Mkdir("d/e"), "ok"),
        (Read("d"), "err:IsADirectory"),
        (Read(""), "err:IsADirectory"),
        (Create("d", ""), "err:IsADirectory"),
        (Create("", ""), "err:IsADirectory"),
        (WriteAt("d", 0, ""), "err:IsADirectory"),
        (SetLen("d", 0), "err:IsADirectory"),
        (SetMtime("d", 7), "ok"),
        (Read("f/x"), "err:NotADirectory"),
        (Create("f/x", ""), "err:NotADirectory"),
        (Write("f/x", ""), "err:NotADirectory"),
        (Mkdir("f"), "err:AlreadyExists"),
        (Mkdir("f/x"), "err:NotADirectory"),
        (Mkdir(""), "ok"),
        (Mkdir("d"), "ok"),
        (Read("/f"), "err:InvalidInput"),
        (Read("../f"), "err:InvalidInput"),
        (Read("d/../f"), "err:InvalidInput"),
        (Write("/abs", ""), "err:InvalidInput"),
        (Rename("f", "../g"), "err:InvalidInput"),
        (Remove("d"), "err:IsADirectory"),
        (Remove(""), "err:IsADirectory"),
        (Remove("nope"), "err:NotFound"),
        (RemoveAll("f"), "err:NotADirectory"),
        (RemoveAll("nope"), "err:NotFound"),
        (RemoveAll(""), "err:ResourceBusy"),
        (Read("nope"), "err:NotFound"),
        (Stat("nope/x"), "err:NotFound"),
    ]);
}

#[test]
fn rename_rules() {
    check(&[
        (Write("f", "F"), "ok"),
        (Write("g", "G"), "ok"),
        (Mkdir("d/sub"), "ok"),
        (Mkdir("empty"), "ok"),
        (Rename("f", "f"), "ok"),
        (Read("f"), "F"),
        (Rename("d", "d"), "ok"),
        (Rename("nope", "x"), "err:NotFound"),
        (Rename("f", "nodir/x"), "err:NotFound"),
        (Rename("f", "g/x"), "err:NotADirectory"),
        (Rename("f", "d"), "err:IsADirectory"),
        (Rename("d", "f"), "err:NotADirectory"),
        (Rename("empty", "d"), "err:DirectoryNotEmpty"),
        (Rename("d", "d/sub/x"), "err:InvalidInput"),
        (Rename("d/sub", "d"), "err:DirectoryNotEmpty"),
        (Rename("", "x"), "err:ResourceBusy"),
        (Rename("d", "empty"), "ok"),
        (ReadDir(""), "empty,f,g"),
        (ReadDir("empty"), "sub"),
        (Rename("f", "empty/sub/f"), "ok"),
        (Rename("g", "empty/sub/f"), "ok"),
        (Read("empty/sub/f"), "G"),
        (ReadDir(""), "empty"),
    ]);
}

#[test]
fn remove_dir_all_removes_a_tree() {
    let fs = check(&[
        (Write("t/a/b/c", "1"), "ok"),
        (Write("t/a/d", "2"), "ok"),
        (Write("keep", "k"), "ok"),
        (Symlink("../keep", "t/up"), "err:InvalidInput"),
        (Symlink("a", "t/link"), "ok"),
        (Hold(0, "t/a/d"), "ok"),
        (RemoveAll("t"), "ok"),
        (Stat("t"), "err:NotFound"),
        (ReadHeld(0, 9), "2"),
        (Read("keep"), "k"),
        (RemoveAll("t"), "err:NotFound"),
    ]);
    assert_eq!(fs.inode_count(), 2, "root and keep");
}

#[test]
fn inode_freed_after_last_handle() {
    let fs = MemFs::default();
    fs.write(p("f"), b"abc").unwrap();
    assert_eq!(fs.inode_count(), 2);
    let mut first = fs.open(p("f")).unwrap();
    let second = fs.open(p("f")).unwrap();
    let mut writer = fs.open_at(p("f"), 3).unwrap();
    fs.remove_file(p("f")).unwrap();
    assert_eq!(fs.inode_count(), 2);
    writer.write_all(b"def").unwrap();
    drop(writer);
    drop(second);
    assert_eq!(fs.inode_count(), 2);
    let mut out = String::new();
    first.read_to_string(&mut out).unwrap();
    assert_eq!(out, "abcdef");
    drop(first);
    assert_eq!(fs.inode_count(), 1);
    invariants(&fs);
}

#[test]
fn writer_is_visible_immediately_and_reads_handle_edges() {
    let fs = MemFs::default();
    let mut writer = fs.create(p("f")).unwrap();
    writer.write_all(b"part").unwrap();
    assert_eq!(fs.read(p("f"), 100).unwrap(), b"part");
    let mut reader = fs.open(p("f")).unwrap();
    assert_eq!(reader.read(&mut []).unwrap(), 0);
    writer.write_all(b"2").unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"part2");
    assert_eq!(writer.write(b"").unwrap(), 0);
    let mut far = fs.open_at(p("f"), u64::MAX - 1).unwrap();
    assert_eq!(far.write(b"xx").unwrap_err().raw_os_error(), Some(27));
    assert_eq!(
        fs.set_len(p("f"), u64::MAX).unwrap_err().raw_os_error(),
        Some(27)
    );
    let long = "n".repeat(256);
    assert_eq!(
        fs.write(p(&long), b"").unwrap_err().raw_os_error(),
        Some(36)
    );
    let deep = "d/".repeat(2048);
    assert_eq!(fs.metadata(p(&deep)).unwrap_err().raw_os_error(), Some(36));
}

#[test]
fn mtime_granularity_and_clock() {
    let second = 1_000_000_000;
    let fs = MemFs::new(MemFsConfig {
        mtime_granularity_ns: second,
        tick_ns: 1_000,
        reuse_inodes: false,
        privileged: false,
        clock_resolution_ns: 1,
    });
    assert_eq!(fs.mtime_granularity_ns(), second);
    assert_eq!(fs.now_nanos(), 0);
    fs.advance_clock(5 * second);
    fs.write(p("f"), b"1").unwrap();
    let first = fs.metadata(p("f")).unwrap().mtime_ns;
    fs.write(p("f"), b"2").unwrap();
    assert_eq!(fs.metadata(p("f")).unwrap().mtime_ns, first, "same second");
    assert_eq!(first, 5 * second);
    assert!(fs.now_nanos() > 5 * second);
    fs.advance_clock(second);
    let before = fs.now_nanos();
    fs.open_at(p("f"), 1).unwrap().write_all(b"3").unwrap();
    assert_eq!(fs.now_nanos(), before + 1_000, "a write ticks once");
    assert_eq!(fs.metadata(p("f")).unwrap().mtime_ns, 6 * second);
    assert_eq!(
        fs.metadata(p("")).unwrap().mtime_ns,
        5 * second,
        "root stamped on create"
    );

    let zero = MemFs::new(MemFsConfig {
        mtime_granularity_ns: 0,
        tick_ns: 7,
        reuse_inodes: false,
        privileged: false,
        clock_resolution_ns: 1,
    });
    assert_eq!(zero.mtime_granularity_ns(), 1);
    zero.write(p("f"), b"").unwrap();
    assert_eq!(zero.metadata(p("f")).unwrap().mtime_ns, 7);
}

#[test]
fn the_engine_reads_the_clock_at_its_own_resolution() {
    let fs = MemFs::new(MemFsConfig {
        clock_resolution_ns: 1_000_000,
        ..MemFsConfig::default()
    });
    fs.advance_clock(2_500_000);
    assert_eq!(fs.now_nanos(), 2_000_000, "rounded down to the resolution");
    fs.write(p("f"), b"x").unwrap();
    let mtime = fs.metadata(p("f")).unwrap().mtime_ns;
    assert!(
        mtime > 2_500_000 && !mtime.is_multiple_of(1_000_000),
        "mtimes keep their own granularity: {mtime}"
    );
    assert_eq!(
        fs.now_nanos(),
        2_000_000,
        "one write later, the same instant"
    );
    fs.advance_clock(500_000);
    assert_eq!(fs.now_nanos(), 3_000_000);
}

#[test]
fn which_operations_stamp_what() {
    let fs = MemFs::default();
    fs.create_dir_all(p("d")).unwrap();
    fs.write(p("d/f"), b"x").unwrap();
    let mtime = |path: &str| fs.metadata(p(path)).unwrap().mtime_ns;
    let (dir, file) = (mtime("d"), mtime("d/f"));
    fs.set_mode(p("d/f"), 0o600).unwrap();
    assert_eq!(
        (mtime("d"), mtime("d/f")),
        (dir, file),
        "chmod stamps nothing"
    );
    fs.set_len(p("d/f"), 1).unwrap();
    assert!(
        mtime("d/f") > file && mtime("d") == dir,
        "ftruncate stamps the file"
    );
    let file = mtime("d/f");
    fs.rename(p("d/f"), p("d/g")).unwrap();
    assert!(
        mtime("d") > dir && mtime("d/g") == file,
        "rename stamps the directory"
    );
    let dir = mtime("d");
    fs.symlink(p("g"), p("d/l")).unwrap();
    assert!(mtime("d") > dir);
    let dir = mtime("d");
    fs.remove_file(p("d/l")).unwrap();
    assert!(mtime("d") > dir);
}

#[test]
fn set_mtime_restores_exactly_without_ticking() {
    let fs = MemFs::new(MemFsConfig {
        mtime_granularity_ns: 1_000_000,
        tick_ns: 333,
        reuse_inodes: false,
        privileged: false,
        clock_resolution_ns: 1,
    });
    fs.write(p("f"), b"v1").unwrap();
    fs.symlink(p("f"), p("l")).unwrap();
    let old = fs.metadata(p("f")).unwrap().mtime_ns;
    fs.advance_clock(10_000_000);
    fs.write(p("f"), b"v2").unwrap();
    assert_ne!(fs.metadata(p("f")).unwrap().mtime_ns, old);
    let (clock, dir) = (fs.now_nanos(), fs.metadata(p("")).unwrap().mtime_ns);
    fs.set_mtime(p("l"), old).unwrap();
    assert_eq!(fs.metadata(p("f")).unwrap().mtime_ns, old);
    fs.set_mtime(p("f"), 123_456_789).unwrap();
    assert_eq!(fs.metadata(p("f")).unwrap().mtime_ns, 123_456_789);
    assert_eq!(fs.now_nanos(), clock);
    assert_eq!(fs.metadata(p("")).unwrap().mtime_ns, dir);
    // A directory's mtime is set as a file's, exactly, and its ctime moves.
    let ctime = fs.metadata(p("")).unwrap().ctime_ns;
    fs.set_mtime(p(""), 5).unwrap();
    let root = fs.metadata(p("")).unwrap();
    assert_eq!(root.mtime_ns, 5);
    assert!(root.ctime_ns >= ctime);
    assert_eq!(
        fs.set_mtime(p("nope"), 1).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
}

#[test]
fn clones_share_one_file_system() {
    let fs = MemFs::default();
    let other = fs.clone();
    other.write(p("f"), b"shared").unwrap();
    assert_eq!(fs.read(p("f"), 100).unwrap(), b"shared");
    other.advance_clock(5);
    assert_eq!(fs.now_nanos(), other.now_nanos());
    assert_eq!(
        fs.metadata(p("f")).unwrap().ino,
        other.metadata(p("f")).unwrap().ino
    );
    assert!(format!("{fs:?}").contains("inodes: 2"));
    let meta = fs.metadata(p("f")).unwrap();
    assert_eq!((meta.kind, meta.len), (FileKind::File, 6));
    assert_ne!(meta.ino, fs.metadata(p("")).unwrap().ino);
    std::thread::spawn(move || other.write(p("g"), b"").unwrap())
        .join()
        .unwrap();
    assert!(fs.exists(p("g")));
}

#[test]
fn read_limit_is_enforced() {
    let fs = MemFs::default();
    fs.write(p("f"), b"12345").unwrap();
    let error = fs.read(p("f"), 4).unwrap_err();
    assert_eq!(error.to_string(), "f is larger than 4 bytes");
    assert_eq!(fs.read(p("f"), 5).unwrap(), b"12345");
    fs.remove_file(p("f")).unwrap();
    assert_eq!(fs.inode_count(), 1, "whole-file reads leave no handle open");
    fs.write(p("d/secret"), b"s").unwrap();
    fs.set_mode(p("d/secret"), 0o200).unwrap();
    assert_eq!(
        fs.read(p("d/secret"), 9).unwrap_err().kind(),
        io::ErrorKind::PermissionDenied
    );
    assert_eq!(
        fs.read(p("d"), 9).unwrap_err().raw_os_error(),
        Some(21),
        "EISDIR"
    );
}

/// Runs `ops` on a MemFs and on a DiskFs over a temporary directory, comparing every outcome.
/// `SetMode` on what MemFs says is a directory uses `0o755`, so a non-root run can still
/// traverse it on disk.
fn differential(ops: &[Op]) {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskFs::new(dir.path()).unwrap();
    let mem = MemFs::default();
    let (mut on_disk, mut in_mem) = (Runner::new(&disk), Runner::new(&mem));
    for (i, &op) in ops.iter().enumerate() {
        let op = match op {
            SetMode(path, _) if mem.metadata(p(path)).is_ok_and(|m| m.kind == FileKind::Dir) => {
                SetMode(path, 0o755)
            }
            op => op,
        };
        let (want, got) = (on_disk.run(op), in_mem.run(op));
        assert_eq!(got, want, "step {i}: {op:?}\nhistory: {:?}", &ops[..=i]);
        invariants(&mem);
        assert_eq!(
            in_mem.run(ReadDir("")),
            on_disk.run(ReadDir("")),
            "root after step {i}"
        );
    }
}

#[test]
fn differential_scripted() {
    differential(&[
        Write("a/b/c", "hello"),
        Read("a/b/c"),
        Mkdir("a/b/c"),
        Mkdir("a/b/c/d"),
        Create("x/y", ""),
        Symlink("b", "a/l"),
        Read("a/l/c"),
        Stat("a/l"),
        Lstat("a/l"),
        Hold(0, "a/l/c"),
        Rename("a/b", "z"),
        ReadHeld(0, 2),
        Read("a/l/c"),
        Symlink("z", "a/z"),
        Create("a/l", "dangling create"),
        Read("a/b"),
        SetLen("a/b", 3),
        WriteAt("a/b", 6, "!"),
        Read("a/b"),
        Stat("a/b"),
        SetMode("a/b", 0o755),
        Stat("a/l"),
        Rename("z", "a/b"),
        Mkdir("e"),
        Rename("z", "e"),
        Rename("e", "z/c"),
        Rename("z", "z/q"),
        Write("z/w", "w"),
        Rename("z/w", "z"),
        Remove("z"),
        RemoveAll("a/l"),
        ReadDir("a"),
        RemoveAll("a"),
        Read("a/b"),
        ReadHeld(0, 9),
        Symlink("s1", "s2"),
        Symlink("s2", "s1"),
        Read("s1"),
        Mkdir("s1/x"),
        Create("s1", ""),
        SetMtime("s1", 5),
        SetMtime("z", 5),
        Stat("z/c"),
        ReadDir("z"),
        ReadDir("z/c"),
        Read("z"),
        Remove("z/c"),
    ]);
}

#[test]
fn differential_symlink_hop_limit() {
    for n in [40, 41] {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskFs::new(dir.path()).unwrap();
        let mem = MemFs::default();
        chain(&disk, n);
        chain(&mem, n);
        let on_disk = disk.read(p("l0"), 10).map_err(|e| e.raw_os_error());
        assert_eq!(mem.read(p("l0"), 10).map_err(|e| e.raw_os_error()), on_disk);
    }
}

/// A tiny deterministic generator (Knuth's MMIX LCG) for the random differential runs.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.next() % items.len()]
    }

    fn op(&mut self) -> Op {
        const PATHS: &[&str] = &["a", "b", "a/b", "a/c", "b/a", "a/b/c", "l", "a/l", "m"];
        const TARGETS: &[&str] = &["a", "b", "a/b", "l", "m", "c", "."];
        const DATA: &[&str] = &["", "x", "hello", "0123456789"];
        let path = self.pick(PATHS);
        match self.next() % 18 {
            0 | 1 => Write(path, self.pick(DATA)),
            2 => Create(path, self.pick(DATA)),
            3 => WriteAt(path, self.pick(&[0, 2, 12]), self.pick(DATA)),
            4 => Read(path),
            5 => SetLen(path, self.pick(&[0, 3, 20])),
            6 => Mkdir(path),
            7 => Remove(path),
            8 => RemoveAll(path),
            9 => Rename(path, self.pick(PATHS)),
            10 => Symlink(self.pick(TARGETS), path),
            11 => ReadDir(path),
            12 => Stat(path),
            13 => Lstat(path),
            14 => SetMode(path, self.pick(&[0o644, 0o755])),
            15 => Hold(self.next() % 4, path),
            16 => ReadHeld(self.next() % 4, 1 + self.next() % 4),
            _ => Release(self.next() % 4),
        }
    }
}

#[test]
fn differential_random() {
    for seed in 0..40 {
        let mut rng = Lcg(seed);
        let ops: Vec<Op> = (0..150).map(|_| rng.op()).collect();
        differential(&ops);
    }
}

/// The fast path splitter gives `Path::components`' names, and refuses what `check_relative`
/// refuses, for the shapes a seam path can take.
#[test]
fn a_name_too_long_fails_at_its_lookup_after_the_walk_to_it() {
    let fs = MemFs::default();
    let long = "n".repeat(256);
    let errno = |path: &str| fs.metadata(p(path)).unwrap_err().raw_os_error();
    assert_eq!(errno(&long), Some(36), "ENAMETOOLONG");
    assert_eq!(errno(&format!("missing/{long}")), Some(2), "ENOENT first");
    fs.write(p("f"), b"x").unwrap();
    assert_eq!(errno(&format!("f/{long}")), Some(20), "ENOTDIR first");
    assert_eq!(
        fs.write(p(&long), b"x").unwrap_err().raw_os_error(),
        Some(36)
    );
}

#[test]
fn components_match_std_path_components() {
    use crate::fs::mem::tree::components;
    let long_name = "n".repeat(256);
    let long_path = "d/".repeat(2048);
    for case in [
        "",
        ".",
        "./",
        "a",
        "a/b",
        "a//b",
        "a/./b",
        "./a/b/",
        "a/b/.",
        "a/../b",
        "..",
        "/a",
        "//a",
        "./../a",
        "a/.../b",
        ".hidden/x.",
        &long_name,
        &long_path,
    ] {
        let path = Path::new(case);
        let expected: io::Result<Vec<std::ffi::OsString>> = crate::fs::check_relative(path)
            .and_then(|()| match path.as_os_str().len() > 4095 {
                true => Err(io::Error::from_raw_os_error(36)),
                false => Ok(path
                    .components()
                    .map(|c| c.as_os_str().to_os_string())
                    .collect()),
            })
            .map(|names: Vec<_>| names.into_iter().filter(|n| n != ".").collect());
        // A name too long is no error here: its lookup fails, after the walk to it.
        let got = components(path);
        match (&got, &expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{case:?}"),
            (Err(g), Err(e)) => assert_eq!(g.kind(), e.kind(), "{case:?}: {g} vs {e}"),
            _ => panic!("{case:?}: got {got:?}, expected {expected:?}"),
        }
    }
}

/// ctime follows every change of content, mode, mtime and name, and `set_mtime` cannot set it.
#[test]
fn ctime_stamps_every_change_and_cannot_be_restored() {
    let fs = MemFs::default();
    let f = Path::new("f");
    fs.write(f, b"v1").unwrap();
    let first = fs.metadata(f).unwrap();
    assert_eq!(first.ctime_ns, first.mtime_ns, "a new file");
    fs.set_mode(f, 0o755).unwrap();
    let chmod = fs.metadata(f).unwrap();
    assert_eq!(chmod.mtime_ns, first.mtime_ns, "chmod keeps the mtime");
    assert!(chmod.ctime_ns > first.ctime_ns, "chmod moves the ctime");
    fs.write(f, b"v2").unwrap();
    fs.set_mtime(f, first.mtime_ns).unwrap();
    let restored = fs.metadata(f).unwrap();
    assert_eq!(restored.mtime_ns, first.mtime_ns, "the mtime is restored");
    assert!(restored.ctime_ns > chmod.ctime_ns, "the ctime is not");
    fs.rename(f, Path::new("g")).unwrap();
    assert!(fs.metadata(Path::new("g")).unwrap().ctime_ns > restored.ctime_ns);
}

/// With `reuse_inodes`, a deleted file's inode number goes to the next new file.
#[test]
fn freed_inodes_are_reused_only_when_configured() {
    for reuse in [false, true] {
        let fs = MemFs::new(MemFsConfig {
            reuse_inodes: reuse,
            ..MemFsConfig::default()
        });
        fs.write(Path::new("a"), b"1").unwrap();
        let before = fs.metadata(Path::new("a")).unwrap().ino;
        fs.remove_file(Path::new("a")).unwrap();
        fs.write(Path::new("a"), b"2").unwrap();
        let after = fs.metadata(Path::new("a")).unwrap().ino;
        assert_eq!(before == after, reuse, "reuse_inodes={reuse}");
    }
}

#[test]
fn a_privileged_file_system_reads_through_missing_read_bits() {
    for (privileged, expected) in [
        (false, Err(io::ErrorKind::PermissionDenied)),
        (true, Ok(b"x".to_vec())),
    ] {
        let fs = MemFs::new(MemFsConfig {
            privileged,
            ..MemFsConfig::default()
        });
        fs.write(Path::new("f"), b"x").unwrap();
        fs.set_mode(Path::new("f"), 0).unwrap();
        assert_eq!(
            fs.read(Path::new("f"), 10).map_err(|e| e.kind()),
            expected,
            "privileged: {privileged}"
        );
    }
}
