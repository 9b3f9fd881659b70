//! What the oracle judged: every named check counts the times it compared something
//! (`fired`) and the times it had nothing to compare, with the reason (`skipped`); every target
//! a build reached counts as judged or not. A campaign's report sums them, so a check that
//! never fires, or judgement that switched off, shows as a number instead of a silence
//! (`sim/SPEC-TRACE.md` names the check that judges each sentence of SPEC).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Invariant;

/// One named check of the oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The build's plan: a valid graph starts no target twice and none before its inputs; an
    /// invalid one fails before any target starts (`judge::judge_plan`).
    Plan,
    /// A needed target of a successful build started; one that started finished or failed
    /// (`judge::judge_target`).
    Started,
    /// A failed build starts no target after the failure (`judge::judge_stop`).
    BuildStops,
    /// A key is SPEC §1's hashin of the definition and inputs (`judge::judge_target`).
    Key,
    /// Two different definitions or inputs never share a key (`judge::judge_identity`).
    KeyIdentity,
    /// A fresh hash is `file_hashout` of every byte of the file (`walker::resolve`).
    FreshHash,
    /// A hash torn by a mutation is `file_hashout` of what its reads returned
    /// (`walker::resolve_torn`).
    TornHash,
    /// A walker-cache answer is one its rule allows, of what it remembered
    /// (`walker::judge_cached`).
    WalkerAnswer,
    /// A target's artifacts: its groups, SPEC §4's pass-through or packed, hashouts
    /// (`gating::judge_artifacts`).
    Artifacts,
    /// Nothing to pack writes no cache entry; something to pack writes one
    /// (`gating::judge_cache_write`).
    CacheWrite,
    /// A consumer read from the workspace exactly the sources SPEC §4 passes through
    /// (`gating::judge_live_reads`).
    ReadsLive,
    /// A cache hit is served under the current key from an intact entry a clean build wrote
    /// (`cache::judge_served`).
    CacheHit,
    /// A local cache write holds exactly the packed outputs under the key (`cache::judge_local_write`).
    LocalWrite,
    /// A tmp cache write is keyed `{hashin}_{nanos}` and holds the packed outputs
    /// (`cache::judge_tmp_write`).
    TmpWrite,
    /// Every complete local entry is one a clean build wrote, still intact
    /// (`cache::judge_cache_dir`).
    CacheDir,
    /// No tmp blob belongs to a target whose outputs all pass through (`cache::judge_tmp_cache`).
    TmpCache,
    /// The tmp cache holds a blob in memory exactly when it fits SPEC §5's limits, and spills
    /// it only when it does not (`cache::judge_tmp_placement`).
    TmpPlacement,
    /// A consumer received exactly its inputs' hashed bytes and exec bits
    /// (`consumers::judge_snapshot`).
    Delivery,
    /// SPEC §6's copy opens every passthrough source before it reads any
    /// (`judge::judge_open_order`).
    OpenOrder,
    /// A consumer that succeeded removed its sandbox (`consumers::judge_cleanup`).
    SandboxRemoved,
    /// A consumer that failed left its sandbox for diagnosis and wrote no cache entry
    /// (`consumers::judge_left_for_diagnosis`).
    SandboxKept,
    /// A failure is justified by a change the engine could see, a fault or damage
    /// (`failures::judge`).
    Failure,
    /// A glob hashes exactly the files its patterns select, skipping only unreadable ones
    /// (`glob::judge_match_set`).
    GlobMatch,
    /// A glob that fails on a selected file it could not read should have skipped it
    /// (`glob::judge_glob_failure`).
    GlobSkip,
    /// A pipeline's guard refuses exactly when a source changed (`guard::judge_guard`).
    Guard,
    /// DiskFs answers as the OS does (`conformance::disagreements`).
    Conformance,
    /// A glob's walk took a remembered directory listing exactly where its rule trusts one
    /// (`listings::replay`; a wrong one shows as `glob_match`'s violation).
    Listing,
    /// The engine's constructors make every target as the scenario defines it
    /// (`targets::constructor_disagreements`).
    Definitions,
}

impl Check {
    /// Every check, in order.
    pub const ALL: [Check; 28] = [
        Check::Plan,
        Check::Started,
        Check::BuildStops,
        Check::Key,
        Check::KeyIdentity,
        Check::FreshHash,
        Check::TornHash,
        Check::WalkerAnswer,
        Check::Artifacts,
        Check::CacheWrite,
        Check::ReadsLive,
        Check::CacheHit,
        Check::LocalWrite,
        Check::TmpWrite,
        Check::CacheDir,
        Check::TmpCache,
        Check::TmpPlacement,
        Check::Delivery,
        Check::OpenOrder,
        Check::SandboxRemoved,
        Check::SandboxKept,
        Check::Failure,
        Check::GlobMatch,
        Check::GlobSkip,
        Check::Guard,
        Check::Conformance,
        Check::Listing,
        Check::Definitions,
    ];

    /// Its snake_case name (as in reports and `SPEC-TRACE.md`).
    pub fn name(self) -> &'static str {
        use Check::*;
        match self {
            Plan => "plan",
            Started => "started",
            BuildStops => "build_stops",
            Key => "key",
            KeyIdentity => "key_identity",
            FreshHash => "fresh_hash",
            TornHash => "torn_hash",
            WalkerAnswer => "walker_answer",
            Artifacts => "artifacts",
            CacheWrite => "cache_write",
            ReadsLive => "reads_live",
            CacheHit => "cache_hit",
            LocalWrite => "local_write",
            TmpWrite => "tmp_write",
            CacheDir => "cache_dir",
            TmpCache => "tmp_cache",
            TmpPlacement => "tmp_placement",
            Delivery => "delivery",
            OpenOrder => "open_order",
            SandboxRemoved => "sandbox_removed",
            SandboxKept => "sandbox_kept",
            Failure => "failure",
            GlobMatch => "glob_match",
            GlobSkip => "glob_skip",
            Guard => "guard",
            Conformance => "conformance",
            Listing => "listing",
            Definitions => "definitions",
        }
    }

    /// The check called `name`.
    pub fn parse(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The invariant its violations break (most of them; a few report others too).
    pub fn invariant(self) -> Invariant {
        use Check::*;
        match self {
            Plan | Started | BuildStops | Delivery | OpenOrder | GlobMatch | Listing => {
                Invariant::Integrity
            }
            Key | KeyIdentity | CacheHit | TmpWrite => Invariant::CacheKey,
            FreshHash | TornHash => Invariant::HashParity,
            WalkerAnswer => Invariant::WalkerRule,
            Artifacts | CacheWrite | ReadsLive | TmpCache | Definitions => Invariant::Gating,
            LocalWrite | CacheDir | Guard | TmpPlacement => Invariant::NoPoisoning,
            SandboxRemoved | SandboxKept => Invariant::SandboxCleanup,
            Failure | GlobSkip => Invariant::NoFalseAlarms,
            Conformance => Invariant::Differential,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// At most this many skips (with their reasons) are kept per schedule.
pub const MAX_SKIPS: usize = 256;

/// The oracle's accounting of one schedule, kept cheaply while it judges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    fired: [u64; Check::ALL.len()],
    skipped: Vec<(Check, &'static str)>,
    /// Targets the engine started (or should have), over every build.
    pub reached: u64,
    /// Targets whose outcome the oracle predicted and judged.
    pub judged: u64,
    /// Why each target it could not judge was not judged (each one a `harness` violation).
    pub unjudged: Vec<&'static str>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            fired: [0; Check::ALL.len()],
            skipped: Vec::new(),
            reached: 0,
            judged: 0,
            unjudged: Vec::new(),
        }
    }
}

impl Ledger {
    /// `check` compared something.
    pub fn fired(&mut self, check: Check) {
        self.fired[check.index()] += 1;
    }

    /// `check` had nothing to compare, for `reason`.
    pub fn skipped(&mut self, check: Check, reason: &'static str) {
        if self.skipped.len() < MAX_SKIPS {
            self.skipped.push((check, reason));
        }
    }

    /// How often `check` fired.
    pub fn fired_count(&self, check: Check) -> u64 {
        self.fired[check.index()]
    }
}

/// How often one check fired and was skipped (by reason), in a report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Times it compared something.
    pub fired: u64,
    /// Times it had nothing to compare, by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<String, u64>,
}

/// The ledgers of many schedules summed, as a report holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judged {
    /// Per check, by name (every check listed, fired or not).
    pub checks: BTreeMap<String, Tally>,
    /// Targets the engine started (or should have), over every build.
    pub reached: u64,
    /// Targets whose outcome the oracle predicted and judged.
    pub judged: u64,
    /// Targets it could not judge, by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unjudged: BTreeMap<String, u64>,
}

impl Judged {
    /// Adds one schedule's ledger.
    pub fn add(&mut self, ledger: &Ledger) {
        for check in Check::ALL {
            let fired = ledger.fired[check.index()];
            match self.checks.get_mut(check.name()) {
                Some(tally) => tally.fired += fired,
                None => {
                    let tally = Tally {
                        fired,
                        ..Tally::default()
                    };
                    self.checks.insert(check.name().to_string(), tally);
                }
            }
        }
        for (check, reason) in &ledger.skipped {
            let tally = self.checks.entry(check.name().to_string()).or_default();
            *tally.skipped.entry(reason.to_string()).or_insert(0) += 1;
        }
        self.reached += ledger.reached;
        self.judged += ledger.judged;
        for reason in &ledger.unjudged {
            *self.unjudged.entry(reason.to_string()).or_insert(0) += 1;
        }
    }

    /// Adds another sum.
    pub fn absorb(&mut self, other: &Judged) {
        for (name, tally) in &other.checks {
            let mine = self.checks.entry(name.clone()).or_default();
            mine.fired += tally.fired;
            for (reason, n) in &tally.skipped {
                *mine.skipped.entry(reason.clone()).or_insert(0) += n;
            }
        }
        self.reached += other.reached;
        self.judged += other.judged;
        for (reason, n) in &other.unjudged {
            *self.unjudged.entry(reason.clone()).or_insert(0) += n;
        }
    }

    /// The checks that never fired (all of them in an empty sum).
    pub fn never_fired(&self) -> Vec<&'static str> {
        let fired = |c: &Check| self.checks.get(c.name()).is_some_and(|t| t.fired > 0);
        Check::ALL
            .iter()
            .filter(|c| !fired(c))
            .map(|c| c.name())
            .collect()
    }

    /// How often `check` fired.
    pub fn fired(&self, check: Check) -> u64 {
        self.checks.get(check.name()).map_or(0, |t| t.fired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_parse_back_and_sums_add_up() {
        let names: std::collections::BTreeSet<&str> = Check::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), Check::ALL.len());
        for check in Check::ALL {
            assert_eq!(Check::parse(check.name()), Some(check));
            assert_eq!(
                Check::ALL[check.index()],
                check,
                "ALL is in declaration order"
            );
        }
        let mut ledger = Ledger::default();
        ledger.fired(Check::Plan);
        ledger.skipped(Check::Delivery, "no sandbox");
        ledger.reached = 3;
        ledger.judged = 2;
        ledger.unjudged.push("unknown bytes");
        let mut one = Judged::default();
        assert_eq!(one.never_fired().len(), Check::ALL.len());
        one.add(&ledger);
        let mut sum = Judged::default();
        sum.absorb(&one);
        sum.absorb(&one);
        assert_eq!(sum.fired(Check::Plan), 2);
        assert_eq!(sum.checks["delivery"].skipped["no sandbox"], 2);
        assert_eq!(
            (sum.reached, sum.judged, sum.unjudged["unknown bytes"]),
            (6, 4, 2)
        );
        assert!(!sum.never_fired().contains(&"plan"));
        assert_eq!(sum.checks.len(), Check::ALL.len(), "every check listed");
    }
}
