//! The campaign report: deterministic counts and violations, with timing kept apart so two runs
//! of one seed give byte-identical JSON once `timing` is removed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::oracle::{Finding, Invariant};
use crate::scenario::Scenario;

/// At most this many finding examples are kept per kind.
pub const MAX_FINDING_EXAMPLES: usize = 3;
/// At most this many violations are kept in full (all are counted).
pub const MAX_VIOLATIONS_KEPT: usize = 50;

/// One violation, with how to replay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MutationCounts {
    /// By kind.
    pub by_kind: BTreeMap<String, u64>,
    /// By point.
    pub by_point: BTreeMap<String, u64>,
    /// Mutations whose file was already gone.
    pub skipped: u64,
}

/// One example of a finding, with the schedule it came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FindingExample {
    /// Kind name.
    pub kind: String,
    /// Schedule index.
    pub schedule: u64,
    /// What exactly.
    pub message: String,
}

/// Findings: counts by kind and a few examples.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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

/// Wall-clock figures: the only part of a report that differs between identical runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Timing {
    /// Elapsed milliseconds.
    pub elapsed_ms: u64,
    /// Schedules per second.
    pub schedules_per_sec: f64,
}

/// A whole campaign's report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// What ran: `run`, `exhaustive` or `chaos`.
    pub mode: String,
    /// The seed.
    pub seed: u64,
    /// Schedules run.
    pub schedules: u64,
    /// File systems.
    pub fs: String,
    /// Whether the racy walker option was on.
    pub racy: bool,
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
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub families: BTreeMap<String, crate::exhaustive::Family>,
    /// Findings.
    pub findings: Findings,
    /// Hash answers the walker gave from its cache without reading the file (what the walker
    /// rule is judged on; a racy campaign with none would judge nothing).
    pub cached_walker_answers: u64,
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
