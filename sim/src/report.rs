//! The campaign report: deterministic counts and violations, with timing kept apart so two runs
//! of one seed give byte-identical JSON once `timing` is removed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::oracle::{Finding, Invariant};
use crate::scenario::Scenario;

/// At most this many finding examples are kept per kind.
pub const MAX_FINDING_EXAMPLES: usize = 3;
/// At most this many violations are kept in full (all are counted).
pub const MAX_VIOLATIONS_KEPT: usize = 50;

/// One violation, with how to replay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Schedule index.
    pub schedule: u64,
    /// File system it happened on.
    pub fs: String,
    /// Broken invariant.
    pub invariant: Invariant,
    /// What exactly.
    pub message: String,
    /// One-line replay command.
    pub replay: String,
    /// The shrunk scenario, when shrinking ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<Scenario>,
}

/// Mutation counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutationCounts {
    /// By kind.
    pub by_kind: BTreeMap<String, u64>,
    /// By point.
    pub by_point: BTreeMap<String, u64>,
    /// Mutations whose file was already gone.
    pub skipped: u64,
}

/// One example of a finding, with the schedule it came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingExample {
    /// Kind name.
    pub kind: String,
    /// Schedule index.
    pub schedule: u64,
    /// What exactly.
    pub message: String,
}

/// Findings: counts by kind and a few examples.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Findings {
    /// Count by kind.
    pub counts: BTreeMap<String, u64>,
    /// The first few examples of each kind, in schedule order.
    pub examples: Vec<FindingExample>,
}

impl Findings {
    /// Keeps the first [`MAX_FINDING_EXAMPLES`] examples of each kind, by schedule.
    pub fn normalize(&mut self) {
        self.examples.sort();
        let mut kept: BTreeMap<String, usize> = BTreeMap::new();
        self.examples.retain(|e| {
            let n = kept.entry(e.kind.clone()).or_insert(0);
            *n += 1;
            *n <= MAX_FINDING_EXAMPLES
        });
    }
}

/// One shard of a campaign: schedules `i` with `i % count == index - 1` of `of` (1-based, as
/// `cargo nextest run --partition count:K/N`): shard sizes differ by at most one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// K: which shard, from 1.
    pub index: u64,
    /// N: how many shards.
    pub count: u64,
    /// The whole campaign's schedules.
    pub of: u64,
}

impl Shard {
    /// At most this many shards.
    pub const MAX: u64 = 10_000;

    /// Parses `K/N` (1 ≤ K ≤ N ≤ [`Shard::MAX`]) for a campaign of `of` schedules.
    pub fn parse(text: &str) -> Result<(u64, u64), String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("shard {text:?}: want K/N, e.g. 1/4"))?;
        let parse = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("shard {text:?}: {s:?} is not a number"))
        };
        let (k, n) = (parse(k)?, parse(n)?);
        if n == 0 || n > Self::MAX {
            return Err(format!("shard {text:?}: N must be 1..={}", Self::MAX));
        }
        if k == 0 {
            return Err(format!(
                "shard {text:?}: K counts from 1 (1/{n} is the first shard)"
            ));
        }
        if k > n {
            return Err(format!("shard {text:?}: K must be at most N"));
        }
        Ok((k, n))
    }

    /// The first schedule index of this shard.
    pub fn first(self) -> u64 {
        self.index - 1
    }
}

/// Wall-clock figures: the only part of a report that differs between identical runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Elapsed milliseconds.
    pub elapsed_ms: u64,
    /// Schedules per second.
    pub schedules_per_sec: f64,
}

/// A whole campaign's report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// What ran: `run`, `exhaustive` or `chaos`.
    pub mode: String,
    /// The enumeration's scope (`slice` or `full`), for `exhaustive` reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The seed.
    pub seed: u64,
    /// Schedules run.
    pub schedules: u64,
    /// File systems.
    pub fs: String,
    /// Whether the racy walker option was on.
    pub racy: bool,
    /// Whether schedules were swarm schedules (`sim run --swarm`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub swarm: bool,
    /// The shard this report covers, when it covers one (`sim run --shard K/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The policy cell every schedule ran under (`sim run --policy`), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<crate::schedule::PolicyCell>,
    /// Number of violations (all of them).
    pub violation_count: u64,
    /// The first violations in schedule order.
    pub violations: Vec<Violation>,
    /// Outcome counts (`ok`, `invalid_data`, `not_found`, other errors by name), per build.
    pub outcomes: BTreeMap<String, u64>,
    /// Mutation counts.
    pub mutations: MutationCounts,
    /// The coverage map: mutation kind × point, applied or skipped, and outcomes.
    pub coverage: crate::coverage::Coverage,
    /// For the exhaustive mode: cases per family, and those that never fired.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub families: BTreeMap<String, crate::exhaustive::Family>,
    /// Findings.
    pub findings: Findings,
    /// Hash answers the walker gave from its cache without reading the file (what the walker
    /// rule is judged on; a racy campaign with none would judge nothing).
    pub cached_walker_answers: u64,
    /// What the oracle judged: each check's fired and skipped counts (with reasons), targets
    /// reached, judged and not (a target not judged is a `harness` violation too).
    #[serde(default)]
    pub judged: crate::oracle::ledger::Judged,
    /// Per schedule, a compact digest of what it did (`sim run --fingerprints`): its build
    /// outcomes, then each fired mutation's `kind@point=outcome`, then the invariants it broke,
    /// so that `sim diff` can name the schedules whose behaviour moved. Absent unless asked for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<u64, String>,
    /// Timing (excluded from determinism comparisons).
    pub timing: Timing,
}

impl Report {
    /// Adds a finding, keeping only a few examples per kind.
    pub fn add_finding(&mut self, schedule: u64, finding: Finding) {
        let count = self
            .findings
            .counts
            .entry(finding.kind.clone())
            .or_insert(0);
        *count += 1;
        if *count <= MAX_FINDING_EXAMPLES as u64 {
            self.findings.examples.push(FindingExample {
                kind: finding.kind,
                schedule,
                message: finding.message,
            });
        }
    }

    /// Adds a violation, keeping the first [`MAX_VIOLATIONS_KEPT`].
    pub fn add_violation(&mut self, violation: Violation) {
        self.violation_count += 1;
        if self.violations.len() < MAX_VIOLATIONS_KEPT {
            self.violations.push(violation);
        }
    }

    /// Ok when nothing broke; else the seed and the first replay command, then the report
    /// (what a test prints on failure).
    pub fn clean_or_explain(&self) -> Result<(), String> {
        if self.violation_count == 0 {
            return Ok(());
        }
        let first = self.violations.first().map_or("", |v| v.replay.as_str());
        Err(format!(
            "seed {}: {} violations; replay the first: {first}\n{}",
            self.seed,
            self.violation_count,
            self.to_json()
        ))
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as JSON without the timing object: what determinism compares.
    pub fn deterministic_json(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.remove("timing");
        }
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

/// Writes `text` to `path` atomically (temp file then rename), or to stdout for `-`.
pub fn write_output(path: &Path, text: &str) -> Result<(), String> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{text}").map_err(|e| format!("writing the report to stdout: {e}"));
    }
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_dir() {
            return Err(format!(
                "cannot write the report to {}: it is a directory",
                path.display()
            ));
        }
        if !meta.is_file() {
            // A device or a pipe (`/dev/null`, `/dev/stdout`, a FIFO): written in place, since
            // renaming a temporary file over it would replace the device with a plain file.
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| format!("cannot write the report to {}: {e}", path.display()))?;
            return writeln!(out, "{text}").map_err(|e| format!("writing {}: {e}", path.display()));
        }
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write the report next to {}: {e}", path.display()))?;
    tmp.write_all(text.as_bytes())
        .and_then(|_| tmp.write_all(b"\n"))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("cannot write the report to {}: {}", path.display(), e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_output;
    use std::os::unix::fs::FileTypeExt;

    /// A report written to a pipe or device goes through it: renaming a temporary file over
    /// `/dev/null` once replaced this machine's `/dev/null` with a plain file.
    #[test]
    fn a_fifo_is_written_in_place_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        write_output(&fifo, "{\"ok\":true}").unwrap();
        assert_eq!(reader.join().unwrap(), "{\"ok\":true}\n");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
    }

    #[test]
    fn a_regular_file_is_replaced_whole_and_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.json");
        std::fs::write(&file, "old and longer").unwrap();
        write_output(&file, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new\n");
        let err = write_output(dir.path(), "x").unwrap_err();
        assert!(err.contains("is a directory"), "{err}");
    }
}
