//! The oracle: judges every build from its own model of the scenario (`model`) and from what
//! the simulator itself read on the file system (the [`crate::journal::Journal`]), never from
//! what the engine reports about itself. What the engine reports is only checked against it.
//!
//! - `judge`: the walk over one build's targets: keys, hits, runs, failures.
//! - `plan`: the build's plan from the definitions alone (needed targets, invalid graphs),
//!   and the starts, the stop and key identities judged against it.
//! - `definition`: the oracle's own encoding of a definition (SPEC §1's definition bytes).
//! - `model`: the artifacts, entries and exec outputs the model computes with.
//! - `predict`: what a target that ran must have produced, from the model and the journal;
//!   a target it cannot predict is a `harness` violation, never a skip.
//! - `ledger`: every named check, counted as fired or skipped (with the reason), and the
//!   targets reached and judged.
//! - `cache`: what the caches hold, read directly; the entries served, written and left judged.
//! - `consumers`: what consumers received; sandboxes removed after success.
//! - `gating`: SPEC §4's pass-through against artifacts and cache writes; every hashout.
//! - `failures`: no false alarms: a failure justified only by a change the journal recorded.
//! - `glob`: the oracle's own matcher; match sets and SPEC §3's skip rule both ways.
//! - `guard`: the Bazel and ccache pipelines' guard, modelled, and its verdict on each write.
//! - `walker`: the walker cache's answers judged by the active rule.
//! - `listings`: the directory-listing cache modelled: the files each glob's walk found.
//! - `rules`: the oracle's own model of every walker validation policy.
//! - `hashing`: the oracle's own xxh3.

pub mod cache;
pub mod consumers;
pub mod definition;
pub mod failures;
pub mod gating;
pub mod glob;
pub mod guard;
pub mod hashing;
pub mod judge;
pub mod ledger;
pub mod listings;
pub mod model;
pub mod plan;
pub mod predict;
pub mod rules;
pub mod walker;

use serde::Serialize;

pub use judge::{BuildInput, Oracle};

/// The invariants: SPEC §8's five, then the harness's own.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// 1: never different bytes (or exec bit) with success.
    Integrity,
    /// 2: no error unless a source really changed (or vanished) after it was hashed.
    NoFalseAlarms,
    /// 3: every cache entry equals a clean rebuild of its key.
    NoPoisoning,
    /// 4: exactly SPEC §4's outputs skip the cache, in whichever cache.
    Gating,
    /// 5: every hashout is the hash of the bytes it names (sources, exec outputs, Views,
    /// plugin outputs, tars).
    HashParity,
    /// Every key is SPEC §1's hashin of the target's definition and inputs, and a cache hit is
    /// served only under the current inputs' key from an entry a clean build wrote.
    CacheKey,
    /// A walker-cache answer the active rule does not allow.
    WalkerRule,
    /// An exec or plugin sandbox left behind after a successful build of its target.
    SandboxCleanup,
    /// MemFs and DiskFs disagree, or DiskFs and the OS (`conformance`).
    Differential,
    /// The engine (or the oracle) panicked: a crash is a violation, never a quiet "0 violations".
    Panic,
    /// The schedule spent its budget of engine file-system steps (`tap::MAX_STEPS`): the
    /// engine hangs or loops, which a run reports with its replay instead of never ending.
    Hang,
    /// The schedule could not be set up or run by the harness itself.
    Harness,
}

impl Invariant {
    /// The snake_case name, as reports spell it.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }
}

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// Which.
    pub invariant: Invariant,
    /// What exactly.
    pub message: String,
}

/// Something observed that is heph's behaviour rather than a bug of ours.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// A stable kind name.
    pub kind: String,
    /// What exactly.
    pub message: String,
}

/// At most this many violations are recorded per schedule (a broken engine breaks many).
pub const MAX_BROKEN_PER_SCHEDULE: usize = 64;

/// Violations, findings and the ledger of what was judged, of one schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdicts {
    /// Broken invariants, in the order found.
    pub broken: Vec<Broken>,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Every broken invariant found, kept or not (`broken` keeps the first few).
    pub failures: u64,
    /// What the checks compared and skipped, and the targets judged.
    pub ledger: ledger::Ledger,
}

impl Verdicts {
    /// Records a broken invariant.
    pub fn fail(&mut self, invariant: Invariant, message: String) {
        self.failures += 1;
        if self.broken.len() < MAX_BROKEN_PER_SCHEDULE {
            self.broken.push(Broken { invariant, message });
        }
    }

    /// Records a finding (once per distinct message).
    pub fn find(&mut self, kind: &str, message: String) {
        let finding = Finding {
            kind: kind.to_string(),
            message,
        };
        if !self.findings.contains(&finding) {
            self.findings.push(finding);
        }
    }
}
