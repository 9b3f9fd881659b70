//! One build judged: the oracle walks the scenario's targets in definition order (inputs
//! first), predicts each one's key and outputs from its own model, and checks the engine's
//! results, the sandboxes and the caches against the prediction. The prediction itself is in
//! `model`; the checks of caches, globs and guards are in `cache`, `glob` and `guard`.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use engine::cache::Store;
use engine::fs::Fs;
use engine::target::{Driver, Target};
use engine::{BuildOutput, ConsumePath, Event, TargetResult};

use super::consumers::{by_path, judge_cleanup, judge_left_for_diagnosis};
use super::definition::{def_bytes, driver_name, Identity};
use super::gating::{judge_artifacts, judge_cache_write, judge_live_reads, Written};
use super::guard::guard_of;
use super::hashing::oracle_hashin;
use super::ledger::Check;
use super::model::{uses_tmp, Artifact, Entry, Origin};
use super::predict::Unpredicted;
use super::walker::{Resolved, Rule, WalkerModel};
use super::{failures, guard, plan, Invariant, Verdicts};
use crate::journal::{HashAct, Journal, Snapshot};

/// Everything one build left to judge.
pub struct BuildInput<'a> {
    /// The scenario's targets, in definition order (inputs before their consumers).
    pub targets: &'a [Target],
    /// The target the build was asked for.
    pub root: &'a str,
    /// Build 1 or 2.
    pub build: u8,
    /// The walker's validation policy.
    pub policy: engine::walker::Policy,
    /// What the engine returned.
    pub out: &'a BuildOutput,
    /// The engine's events of this build.
    pub events: &'a [Event],
    /// What the simulator saw.
    pub journal: &'a Journal,
    /// The file system.
    pub fs: &'a dyn Fs,
    /// The engine's caches (only the tmp cache's in-memory blobs are looked at, read-only).
    pub store: &'a Store,
    /// The tmp cache's configured memory limits (SPEC §5: about 1 MiB an entry, 64 MiB in all).
    pub tmp_limits: engine::cache::TmpLimits,
    /// Where the engine keeps its cache, tmp spill and sandboxes.
    pub state_dir: &'a Path,
    /// What the tap saw the engine do (workspace reads, cache writes), by target.
    pub seen: &'a [crate::tap::Seen],
    /// The I/O faults that fired so far (in any build).
    pub faults: &'a [crate::faults::FiredFault],
}

/// The oracle's state across the builds of one schedule.
#[derive(Debug, Default)]
pub struct Oracle {
    pub(super) walker: WalkerModel,
    /// The listing-cache model (its `stale_listings` count is reported).
    pub listings: super::listings::ListingModel,
    /// Local cache keys a clean build wrote, with what they hold.
    pub(super) committed: BTreeMap<String, Vec<Artifact>>,
    /// The target that last wrote each committed key.
    pub(super) writers: BTreeMap<String, String>,
    /// Hashins of tmp-path targets that pack nothing: no cache may hold anything of theirs.
    pub(super) passthrough_keys: BTreeSet<String>,
    /// Hash acts resolved so far, by journal position.
    pub(super) resolved: BTreeMap<u64, Resolved>,
    /// This build's model outputs per target.
    pub(super) outputs: BTreeMap<String, Vec<Artifact>>,
    /// Local keys whose entry was read and judged when it was written in this build.
    pub(super) fresh_keys: BTreeSet<String>,
    /// Local keys a pipeline's guard (Bazel's, ccache's) let outputs into although they were built from bytes other
    /// than the key names (its hole; `bazel.rs`).
    pub(super) poisoned: BTreeSet<String>,
    /// Targets of this build that consumed bytes other than those hashed (read unverified).
    pub(super) changed_reads: BTreeSet<String>,
    /// Poisoned entries written or served so far: stale content delivered.
    pub(super) poisoned_uses: u64,
    /// Hash acts the walker model could not resolve because a violation explains why.
    pub(super) reported_acts: BTreeSet<u64>,
    /// The tmp cache's in-memory blobs at the end of the previous build. Held, so that a blob
    /// put again at its path (a coarse clock repeats a tmp key) is told from it by identity.
    pub(super) tmp_held: BTreeMap<PathBuf, std::sync::Arc<Vec<u8>>>,
    /// The tmp cache's in-memory blobs new in this build.
    pub(super) tmp_new: Vec<PathBuf>,
    /// Spilled tmp blobs listed at an earlier judgement (by this engine or a dead one), with
    /// the inode and ctime that tell a blob spilled again at its path (a repeated key) apart.
    pub(super) tmp_spills_listed: BTreeMap<PathBuf, (u64, u64)>,
    /// The cache writes the tap saw in this build.
    pub(super) cache_writes: Vec<crate::tap::Seen>,
    /// Conformance checks counted so far.
    pub(super) conformance_seen: u64,
    /// The plan of the schedule's builds, made once.
    pub(super) plan: Option<plan::Plan>,
    /// Each target's definition bytes (the oracle's own encoding), computed once.
    pub(super) defs: BTreeMap<String, Vec<u8>>,
    /// Each key the engine computed: the identity the oracle gave it, and the target.
    pub(super) identities: BTreeMap<String, (Identity, String)>,
    /// Violations and findings so far.
    pub verdicts: Verdicts,
}

impl Oracle {
    /// Cached walker answers seen so far.
    pub fn cached_answers(&self) -> u64 {
        self.walker.cached_answers
    }

    /// Cached walker answers that were stale (false hits) so far.
    pub fn stale_answers(&self) -> u64 {
        self.walker.stale_answers
    }

    /// Everything so far that put stale content within a build's reach: stale walker answers,
    /// stale directory listings and poisoned cache entries written or served (a guard's hole).
    pub fn stale_uses(&self) -> u64 {
        self.walker.stale_answers + self.listings.stale_listings + self.poisoned_uses
    }

    /// Forgets the walker's memory, as a fresh engine process would.
    pub fn restart(&mut self) {
        self.walker.clear();
        self.listings.clear();
    }

    /// Judges one build.
    pub fn check_build(&mut self, b: &BuildInput) {
        self.outputs.clear();
        self.fresh_keys.clear();
        self.changed_reads.clear();
        self.resolve_acts(b);
        self.replay_listings(b);
        let held = tmp_blobs(b);
        self.tmp_new = held
            .iter()
            .filter(|(p, blob)| {
                self.tmp_held
                    .get(*p)
                    .is_none_or(|old| !std::sync::Arc::ptr_eq(old, blob))
            })
            .map(|(p, _)| p.clone())
            .collect();
        // The definitions do not change between builds: planned once.
        let plan = self
            .plan
            .take()
            .unwrap_or_else(|| plan::plan(b.targets, b.root));
        self.cache_writes = b
            .seen
            .iter()
            .filter(|s| s.access == crate::tap::Access::WriteCache && s.build == b.build)
            .cloned()
            .collect();
        self.judge_plan(b, &plan);
        for target in b.targets.iter().filter(|t| plan.needs(&t.name)) {
            self.judge_target(b, target);
        }
        self.plan = Some(plan);
        self.judge_cache_dir(b);
        self.judge_tmp_cache(b);
        self.judge_tmp_placement(b);
        // The oracle only reads the tmp cache: what it held at the start it holds now.
        self.tmp_held = held;
        self.judge_stop(b);
        for _ in self.conformance_seen..b.journal.conformance_checks {
            self.verdicts.ledger.fired(Check::Conformance);
        }
        self.conformance_seen = b.journal.conformance_checks;
        for (_, line) in b.journal.conformance.iter().filter(|(n, _)| *n == b.build) {
            self.verdicts.fail(Invariant::Differential, line.clone());
        }
    }

    /// A target that started but that the model cannot judge: a `harness` violation (with the
    /// schedule's replay, as every violation), never a silent skip.
    pub(super) fn unjudged(&mut self, b: &BuildInput, name: &str, why: &'static str) {
        self.verdicts.ledger.unjudged.push(why);
        let message = format!("the oracle cannot judge {name} in build {}: {why}", b.build);
        self.verdicts.fail(Invariant::Harness, message);
    }

    /// Every hash act of this build, in the order the engine made them, against the walker
    /// model (whose memory depends on that order, not on the order targets are judged in).
    fn resolve_acts(&mut self, b: &BuildInput) {
        let rule = Rule {
            policy: b.policy,
            granularity_ns: b.fs.mtime_granularity_ns(),
        };
        for act in b.journal.acts.iter().filter(|a| a.build == b.build) {
            let answer = answer_for(b, act);
            let failures = self.verdicts.failures;
            match self.walker.resolve(act, answer, rule, &mut self.verdicts) {
                Some(r) => {
                    self.resolved.insert(act.seq, r);
                }
                None if self.verdicts.failures > failures => {
                    self.reported_acts.insert(act.seq);
                }
                None => {}
            }
        }
    }

    /// Every glob's walk of this build, in journal order, against the listing-cache model.
    fn replay_listings(&mut self, b: &BuildInput) {
        let rule = Rule {
            policy: b.policy,
            granularity_ns: b.fs.mtime_granularity_ns(),
        };
        let listings: Vec<_> = (b.journal.listings.iter())
            .filter(|l| l.build == b.build)
            .collect();
        if listings.is_empty() {
            return; // no glob walked: the tap's log need not be read
        }
        let walked = super::listings::Walked::of(b.seen, b.build, b.policy);
        for listing in listings {
            self.listings
                .replay(listing, rule, &walked, &mut self.verdicts);
        }
    }

    fn judge_target(&mut self, b: &BuildInput, target: &Target) {
        let name = target.name.as_str();
        self.verdicts.ledger.fired(Check::Started);
        let seen = b
            .journal
            .hashins
            .iter()
            .find(|h| h.build == b.build && h.target == name);
        let result = b.out.get(name);
        let Some(seen) = seen else {
            let message = match result {
                Some(_) => format!("{name} has a result but never reported its hashin"),
                None if b.out.failure.is_none() => {
                    format!("build {} succeeded without building {name}", b.build)
                }
                // Not started: the build failed first (`judge_plan` judges where and why).
                None => return,
            };
            return self.verdicts.fail(Invariant::Integrity, message);
        };
        self.verdicts.ledger.reached += 1;
        let mut inputs: Vec<&Artifact> = Vec::new();
        for input in &target.inputs {
            let Some(artifacts) = self.outputs.get(input) else {
                // Its input was not judged (reported there): nothing to judge this one against.
                self.verdicts
                    .ledger
                    .unjudged
                    .push("an input was not judged");
                return;
            };
            inputs.extend(artifacts.iter());
        }
        let hashouts: Vec<&str> = inputs.iter().map(|a| a.hashout.as_str()).collect();
        let def = self
            .defs
            .entry(target.name.clone())
            .or_insert_with(|| def_bytes(&target.driver));
        let key = oracle_hashin(driver_name(&target.driver), def, &hashouts);
        let identity = Identity::of(&target.driver, def, &hashouts);
        self.verdicts.ledger.fired(Check::Key);
        if seen.hashin != key {
            let message = format!("{name}'s key is {} but SPEC §1's hashin of its definition and inputs {hashouts:?} is {key}", seen.hashin);
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        let inputs: Vec<Artifact> = inputs.into_iter().cloned().collect();
        self.judge_identity(name, &seen.hashin, identity);
        let failed = b.out.failure.as_ref().is_some_and(|f| f.target == name);
        match result {
            Some(r) if r.cache_hit => self.judge_hit(b, target, r, &key),
            Some(r) => self.judge_ran(b, target, r, &key, &inputs),
            None if failed => self.judge_failed(b, target, &key, &inputs),
            None => {
                let message = format!("{name} started but neither finished nor failed");
                self.verdicts.fail(Invariant::Integrity, message);
            }
        }
    }

    fn judge_hit(&mut self, b: &BuildInput, target: &Target, r: &TargetResult, key: &str) {
        let name = &target.name;
        let served = r.cache_key.as_deref().unwrap_or_default();
        self.verdicts.ledger.judged += 1;
        let Some(outputs) = self.judge_served(b, target, served, key) else {
            return; // a hit on an entry no clean build wrote: a violation already
        };
        self.verdicts.ledger.fired(Check::Artifacts);
        judge_artifacts(name, r, &outputs, &mut self.verdicts);
        if self.poisoned.contains(served) {
            self.poisoned_uses += 1;
            let message = format!("{name} was served {served}, an entry {} let in with outputs of other bytes than its key names", guard_of(b));
            self.verdicts.find("poisoned_entry_served", message);
        }
        self.outputs.insert(name.clone(), outputs);
    }

    fn judge_ran(
        &mut self,
        b: &BuildInput,
        target: &Target,
        r: &TargetResult,
        key: &str,
        inputs: &[Artifact],
    ) {
        let name = target.name.as_str();
        if let Some(group) = super::predict::duplicate_groups(&target.driver) {
            let message = format!("{name} succeeded though its definition declares the output group {group} twice (SPEC §5: caching rejects duplicate group names)");
            self.verdicts.fail(Invariant::Integrity, message);
            return self.verdicts.ledger.judged += 1;
        }
        if let Some(what) = super::predict::malformed(&target.driver) {
            let message = format!("{name} succeeded though its definition names {what:?}, outside what it may touch or not a pattern: bad input is an error naming it");
            self.verdicts.fail(Invariant::Integrity, message);
            return self.verdicts.ledger.judged += 1;
        }
        if let Some(view) = super::predict::view_across_abi(target, b.targets) {
            let message = format!("{name} succeeded though its input {view} is a View, which cannot cross the plugin ABI (SPEC §3)");
            self.verdicts.fail(Invariant::Integrity, message);
            return self.verdicts.ledger.judged += 1;
        }
        let outputs = self.predict(b, target, inputs);
        if let Driver::Exec { consume, .. } = &target.driver {
            self.judge_open_order(b, name, *consume, inputs);
        }
        if matches!(target.driver, Driver::Exec { .. } | Driver::Plugin { .. }) {
            let sandbox = b.state_dir.join("sandbox").join(name);
            self.verdicts.ledger.fired(Check::SandboxRemoved);
            judge_cleanup(b.fs, name, &sandbox, &mut self.verdicts);
        }
        let outputs = match outputs {
            Ok(outputs) => outputs,
            Err(Unpredicted::Reported) => return self.verdicts.ledger.judged += 1,
            Err(Unpredicted::Unknown(why)) => return self.unjudged(b, name, why),
        };
        self.verdicts.ledger.judged += 1;
        self.verdicts.ledger.fired(Check::Artifacts);
        judge_artifacts(name, r, &outputs, &mut self.verdicts);
        let packs = outputs.iter().any(|a| !a.passes_through);
        self.verdicts.ledger.fired(Check::CacheWrite);
        let written = Written {
            state_dir: b.state_dir,
            seen: &self.cache_writes,
            new_in_memory: &self.tmp_new,
            build: b.build,
        };
        judge_cache_write(name, r, (packs, key), &written, &mut self.verdicts);
        if matches!(target.driver, Driver::Exec { .. }) {
            let entries: Vec<Entry> = inputs
                .iter()
                .flat_map(|a| a.entries.iter().cloned())
                .collect();
            self.verdicts.ledger.fired(Check::ReadsLive);
            judge_live_reads(name, b.build, &entries, b.seen, &mut self.verdicts);
        }
        let refused = match guard::guard(b.policy) {
            Some(model) if packs && !uses_tmp(target) => {
                self.judge_guard(b, name, r, key, inputs, model)
            }
            _ => false,
        };
        if !packs {
            self.passthrough_keys.insert(key.to_string());
        } else if uses_tmp(target) || refused {
            self.judge_tmp_write(b, name, r, key, &outputs);
        } else {
            if self.changed_reads.contains(name) {
                self.poisoned.insert(key.to_string());
                self.poisoned_uses += 1;
                let message = format!("{name}'s outputs, built from bytes other than its key names (read unverified), were cached under {key}: {} did not see the change", guard_of(b));
                self.verdicts.find("guard_hole", message);
            }
            let written = r.cache_key.as_deref().unwrap_or_default();
            self.judge_local_write(b, &target.driver, name, written, key, &outputs);
        }
        self.outputs.insert(name.to_string(), outputs);
    }

    /// SPEC §6: the OS copy (and FUSE's fallback to it) first collects every entry, which opens
    /// each passthrough source, and only then copies; so a source deleted or replaced after the
    /// collection is still read through its open handle.
    fn judge_open_order(
        &mut self,
        b: &BuildInput,
        name: &str,
        via: ConsumePath,
        inputs: &[Artifact],
    ) {
        if !matches!(via, ConsumePath::OsCopy | ConsumePath::Fuse) {
            return;
        }
        let live = inputs
            .iter()
            .flat_map(|a| a.entries.iter())
            .filter(|e| e.live)
            .count();
        let first_read = b
            .journal
            .first_reads
            .iter()
            .find(|r| r.build == b.build && r.target == name)
            .map_or(u64::MAX, |r| r.seq);
        let opened = b
            .journal
            .opens
            .iter()
            .filter(|o| o.build == b.build && o.target == name && o.seq < first_read)
            .count();
        if first_read != u64::MAX {
            self.verdicts.ledger.fired(Check::OpenOrder);
        }
        if first_read != u64::MAX && opened < live {
            let message = format!("{name} read a passthrough source after opening {opened} of its {live}: SPEC §6's copy opens every source before it reads any");
            self.verdicts.fail(Invariant::Integrity, message);
        }
    }

    /// A build the engine died in (a simulated crash): its results are lost with it, so the
    /// targets that completed (every one that started before the last) are predicted from the
    /// journal, and the local entries they wrote are judged and remembered, so the restarted
    /// engine's hits on them can be judged.
    pub fn check_crashed(&mut self, b: &BuildInput) {
        self.outputs.clear();
        self.fresh_keys.clear();
        // The dead engine's memory is gone with it: its spills are remembered, not judged.
        for _ in self.new_spills(b) {
            let reason = "a spill of an engine that crashed";
            self.verdicts.ledger.skipped(Check::TmpPlacement, reason);
        }
        self.resolve_acts(b);
        // Its globs walked with the listings it remembered, as a build that finishes does.
        self.replay_listings(b);
        let started = b.journal.started(b.build);
        let completed = &started[..started.len().saturating_sub(1)];
        for target in b
            .targets
            .iter()
            .filter(|t| completed.contains(&t.name.as_str()))
        {
            let mut inputs = Vec::new();
            for input in &target.inputs {
                let Some(artifacts) = self.outputs.get(input) else {
                    return;
                };
                inputs.extend(artifacts.iter().cloned());
            }
            let hashouts: Vec<&str> = inputs.iter().map(|a| a.hashout.as_str()).collect();
            let driver = &target.driver;
            let def = self
                .defs
                .entry(target.name.clone())
                .or_insert_with(|| def_bytes(driver));
            let key = oracle_hashin(driver_name(driver), def, &hashouts);
            // A cacheable target that hashed, materialized and wrote nothing was served.
            let name = target.name.as_str();
            let worked = b
                .journal
                .acts
                .iter()
                .any(|a| a.build == b.build && a.target == name)
                || snapshot(b, name).is_some()
                || b.journal
                    .writes
                    .iter()
                    .any(|w| w.build == b.build && w.target == name);
            let outputs = match self.committed.get(&key) {
                Some(committed) if !uses_tmp(target) && !worked => Ok(committed.clone()),
                _ => self.predict(b, target, &inputs),
            };
            let outputs = match outputs {
                Ok(outputs) => outputs,
                Err(Unpredicted::Reported) => return,
                Err(Unpredicted::Unknown(why)) => return self.unjudged(b, name, why),
            };
            // Under Bazel's pipeline a write under another key is one its guard refused (to
            // the tmp cache); elsewhere any write is judged as the local one it must be.
            let guarded = guard::guard(b.policy).is_some();
            let wrote = b.journal.writes.iter().any(|w| {
                w.build == b.build && w.target == target.name && (w.key == key || !guarded)
            });
            if wrote && !uses_tmp(target) {
                self.judge_local_write(b, driver, &target.name, &key, &key, &outputs);
            }
            self.outputs.insert(target.name.clone(), outputs);
        }
        self.judge_cache_dir(b);
    }

    fn judge_failed(&mut self, b: &BuildInput, target: &Target, key: &str, inputs: &[Artifact]) {
        let name = target.name.as_str();
        let Some(failure) = &b.out.failure else {
            return;
        };
        let reads: Vec<Origin> = inputs
            .iter()
            .flat_map(|a| a.entries.iter())
            .filter(|e| e.live)
            .filter_map(|e| e.origin.clone())
            .collect();
        let hashouts: Vec<Option<String>> = reads
            .iter()
            .map(|o| self.resolved.get(&o.act_seq).map(|r| r.hashout.clone()))
            .collect();
        let mut acts = Vec::new();
        for act in b
            .journal
            .acts
            .iter()
            .filter(|a| a.build == b.build && a.target == name)
        {
            let origin = self
                .resolved
                .get(&act.seq)
                .and_then(|r| r.entry.origin.clone());
            acts.push(origin.unwrap_or(Origin {
                path: act.path.clone(),
                act_seq: act.seq,
                stale: false,
            }));
        }
        let expected: Vec<Entry> = inputs
            .iter()
            .flat_map(|a| a.entries.iter().cloned())
            .collect();
        let consumer = matches!(target.driver, Driver::Exec { .. } | Driver::Plugin { .. });
        let collision = consumer && by_path(&expected).is_none()
            || super::predict::duplicate_groups(&target.driver).is_some()
            || super::predict::view_across_abi(target, b.targets).is_some();
        let mut refusals: Vec<String> = match collision {
            true => ["collision", "duplicate", "cannot cross the plugin ABI"]
                .map(String::from)
                .to_vec(),
            false => Vec::new(),
        };
        // Bad input is refused naming what was wrong: the path or the pattern itself.
        refusals.extend(super::predict::malformed(&target.driver));
        self.verdicts.ledger.judged += 1;
        let excuses = failures::Excuses {
            // Damage excuses only the entry (or sandbox) it hit, until that is made again.
            damaged: b
                .journal
                .damages
                .iter()
                .filter(|d| b.journal.damage_stands(b.state_dir, d))
                .map(|d| d.path.clone())
                .collect(),
            faults: b
                .faults
                .iter()
                .filter(|f| f.build == b.build)
                .filter_map(|f| f.fault.errno().map(|e| (e, f.path.clone())))
                .collect(),
            storms: b
                .faults
                .iter()
                .filter(|f| f.build == b.build && f.fault == crate::faults::Fault::EintrStorm)
                .map(|f| f.path.clone())
                .collect(),
        };
        let sources = failures::Sources {
            reads: &reads,
            acts: &acts,
            expected: &hashouts,
            // A pipeline policy reads unverified in consumers only; packing still verifies.
            reads_verify: guard::guard(b.policy).is_none() || !consumer,
        };
        self.judge_glob_failure(b, target, &failure.error);
        self.verdicts.ledger.fired(Check::Failure);
        failures::judge(
            name,
            &failure.error,
            sources,
            b.journal,
            &excuses,
            &refusals,
            &mut self.verdicts,
        );
        let committed = !uses_tmp(target)
            && (b.journal.writes.iter())
                .any(|w| w.build == b.build && w.target == name && w.key == key);
        if committed {
            // It failed after its entry was complete (removing its sandbox, say): the entry is
            // judged as written and remembered, as a crashed build's are.
            match self.predict(b, target, inputs) {
                Ok(outputs) => self.judge_local_write(b, &target.driver, name, key, key, &outputs),
                Err(Unpredicted::Reported) => {}
                Err(Unpredicted::Unknown(why)) => self.unjudged(b, name, why),
            }
        } else if let Some(snapshot) = snapshot(b, name).filter(|_| consumer) {
            self.judge_delivery(b, name, inputs, snapshot);
        }
        let began = b
            .journal
            .consumes
            .iter()
            .any(|c| c.build == b.build && c.target == name);
        if consumer
            && began
            && failures::io_kind(&failure.error) == Some(io::ErrorKind::InvalidData)
        {
            self.verdicts.ledger.fired(Check::SandboxKept);
            let sandbox = b.state_dir.join("sandbox").join(name);
            judge_left_for_diagnosis(b, name, &sandbox, &mut self.verdicts);
        }
    }
}

/// The hashout `act`'s target put on the artifact for the act's path, if it made one.
pub(super) fn answer_for<'a>(b: &'a BuildInput, act: &HashAct) -> Option<&'a str> {
    let target = b.targets.iter().find(|t| t.name == act.target)?;
    let result = b.out.get(&act.target).filter(|r| !r.cache_hit)?;
    let group = match &target.driver {
        Driver::FsFile { .. } => "out".to_string(),
        Driver::FsGlob { .. } => act.path.to_string_lossy().into_owned(),
        Driver::Plugin { sources, .. } => {
            format!("src{}", sources.iter().position(|s| *s == act.path)?)
        }
        _ => return None,
    };
    result
        .artifacts
        .iter()
        .find(|a| a.group == group)
        .map(|a| a.hashout.as_str())
}

/// The files of `snapshot`'s sandbox the simulator wrote into before it was taken.
pub(super) fn tampered(b: &BuildInput, snapshot: &Snapshot) -> Vec<PathBuf> {
    let sandbox = b.state_dir.join("sandbox").join(&snapshot.consumer);
    b.journal
        .damages
        .iter()
        .filter(|d| d.seq < snapshot.seq)
        .filter_map(|d| d.path.strip_prefix(&sandbox).ok().map(Path::to_path_buf))
        .collect()
}

pub(super) fn snapshot<'a>(b: &BuildInput<'a>, consumer: &str) -> Option<&'a Snapshot> {
    b.journal
        .snapshots
        .iter()
        .find(|s| s.build == b.build && s.consumer == consumer)
}

/// The tmp cache's in-memory blobs by path.
fn tmp_blobs(b: &BuildInput) -> BTreeMap<PathBuf, std::sync::Arc<Vec<u8>>> {
    let paths = b.store.tmp.memory_paths();
    let blobs: BTreeMap<_, _> = paths
        .into_iter()
        .filter_map(|p| b.store.tmp.memory_blob(&p).map(|blob| (p, blob)))
        .collect();
    debug_assert!(
        blobs.len() <= 1 << 20,
        "a schedule's tmp cache holds few blobs"
    );
    blobs
}
