//! One build judged: the oracle walks the scenario's targets in definition order (inputs
//! first), predicts each one's key and outputs from its own model, and checks the engine's
//! results, the sandboxes and the caches against the prediction.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use engine::cache::Store;
use engine::fs::Fs;
use engine::target::{Driver, Target};
use engine::{BuildOutput, ConsumePath, Event, TargetResult};

use super::cache::{entry_difference, parse_tar, read_one, tar_difference};
use super::consumers::{by_path, judge_cleanup, judge_snapshot, known_entries};
use super::gating::{judge_artifacts, judge_cache_write};
use super::glob::{select, should_have_skipped, skip_explained};
use super::hashing::{oracle_hashin, oracle_hashout};
use super::model::{
    def_bytes, driver_name, exec_outputs, plugin_concat, source_artifact, uses_tmp, view_artifact,
    Artifact, Entry, Expect, Origin,
};
use super::walker::{Resolved, Rule, WalkerModel};
use super::{failures, guard, Invariant, Verdicts};
use crate::journal::{HashAct, Journal, Snapshot, MAX_READ};

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
    /// The engine's caches (only the tmp cache's raw blobs are read from it).
    pub store: &'a Store,
    /// Where the engine keeps its cache, tmp spill and sandboxes.
    pub state_dir: &'a Path,
    /// The I/O faults that fired so far (in any build).
    pub faults: &'a [crate::faults::FiredFault],
}

/// The oracle's state across the builds of one schedule.
#[derive(Debug, Default)]
pub struct Oracle {
    walker: WalkerModel,
    /// Local cache keys a clean build wrote, with what they hold.
    committed: BTreeMap<String, Vec<Artifact>>,
    /// The target that last wrote each committed key.
    writers: BTreeMap<String, String>,
    /// Hashins of tmp-path targets that pack nothing: no cache may hold anything of theirs.
    passthrough_keys: BTreeSet<String>,
    /// Hash acts resolved so far, by journal position.
    resolved: BTreeMap<u64, Resolved>,
    /// This build's model outputs per target.
    outputs: BTreeMap<String, Vec<Artifact>>,
    /// Local keys whose entry was read and judged when it was written in this build.
    fresh_keys: BTreeSet<String>,
    /// Local keys a pipeline's guard (Bazel's, ccache's) let outputs into although they were built from bytes other
    /// than the key names (its hole; `bazel.rs`).
    poisoned: BTreeSet<String>,
    /// Targets of this build that consumed bytes other than those hashed (read unverified).
    changed_reads: BTreeSet<String>,
    /// Poisoned entries written or served so far: stale content delivered.
    poisoned_uses: u64,
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

    /// Everything so far that put stale content within a build's reach: stale walker answers
    /// and poisoned cache entries written or served (a guard's hole).
    pub fn stale_uses(&self) -> u64 {
        self.walker.stale_answers + self.poisoned_uses
    }

    /// Forgets the walker's memory, as a fresh engine process would.
    pub fn restart(&mut self) {
        self.walker.clear();
    }

    /// Judges one build.
    pub fn check_build(&mut self, b: &BuildInput) {
        self.outputs.clear();
        self.fresh_keys.clear();
        self.changed_reads.clear();
        self.resolve_acts(b);
        let needed = reachable(b.targets, b.root);
        for target in b
            .targets
            .iter()
            .filter(|t| needed.contains(t.name.as_str()))
        {
            self.judge_target(b, target);
        }
        self.judge_cache_dir(b);
        self.judge_tmp_cache(b);
        self.judge_stop(b);
        for (_, line) in b.journal.conformance.iter().filter(|(n, _)| *n == b.build) {
            self.verdicts.fail(Invariant::Differential, line.clone());
        }
    }

    /// A build stops at its first failure: no target starts after the one that failed.
    fn judge_stop(&mut self, b: &BuildInput) {
        let Some(failure) = &b.out.failure else {
            return;
        };
        let mut hashins = b.journal.hashins.iter().filter(|h| h.build == b.build);
        if hashins.by_ref().any(|h| h.target == failure.target) {
            if let Some(later) = hashins.next() {
                let message = format!(
                    "{} started after {} failed: a failed build must stop",
                    later.target, failure.target
                );
                self.verdicts.fail(Invariant::Integrity, message);
            }
        }
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
            if let Some(r) = self.walker.resolve(act, answer, rule, &mut self.verdicts) {
                self.resolved.insert(act.seq, r);
            }
        }
    }

    fn judge_target(&mut self, b: &BuildInput, target: &Target) {
        let name = target.name.as_str();
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
                None => return,
            };
            return self.verdicts.fail(Invariant::Integrity, message);
        };
        let mut inputs: Vec<&Artifact> = Vec::new();
        for input in &target.inputs {
            let Some(artifacts) = self.outputs.get(input) else {
                return; // an input the model could not predict: nothing to judge against
            };
            inputs.extend(artifacts.iter());
        }
        let hashouts: Vec<&str> = inputs.iter().map(|a| a.hashout.as_str()).collect();
        let key = oracle_hashin(
            driver_name(&target.driver),
            &def_bytes(&target.driver),
            &hashouts,
        );
        if seen.hashin != key {
            let message = format!("{name}'s key is {} but SPEC §1's hashin of its definition and inputs {hashouts:?} is {key}", seen.hashin);
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        let inputs: Vec<Artifact> = inputs.into_iter().cloned().collect();
        let failed = b.out.failure.as_ref().is_some_and(|f| f.target == name);
        match result {
            Some(r) if r.cache_hit => self.judge_hit(b, target, r, &key),
            Some(r) => self.judge_ran(b, target, r, &key, &inputs),
            None if failed => self.judge_failed(b, target, &inputs),
            None => {
                let message = format!("{name} started but neither finished nor failed");
                self.verdicts.fail(Invariant::Integrity, message);
            }
        }
    }

    fn judge_hit(&mut self, b: &BuildInput, target: &Target, r: &TargetResult, key: &str) {
        let name = &target.name;
        let served = r.cache_key.as_deref().unwrap_or_default();
        let looked_up = b
            .journal
            .lookups
            .iter()
            .rfind(|l| l.build == b.build && &l.target == name)
            .map_or(u64::MAX, |l| l.seq);
        let written = b.journal.last_write(served);
        let damaged = b.journal.damages.iter().any(|d| {
            d.seq > written
                && d.seq < looked_up
                && d.path.starts_with(b.state_dir.join("cache").join(served))
        });
        if damaged {
            let message = format!("{name} was served the cache entry {served}, which was damaged since it was written: a damaged entry must be a miss");
            self.verdicts.fail(Invariant::NoPoisoning, message);
        }
        if uses_tmp(target) {
            let message =
                format!("{name} was served from the cache though SPEC §4 puts it on the tmp path");
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        if served != key {
            let message = format!(
                "{name} was served from the cache under {served}, not under its inputs' key {key}"
            );
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        let Some(outputs) = self.committed.get(served).cloned() else {
            let message = format!("{name}: cache hit on key {served}, which no clean build wrote");
            return self.verdicts.fail(Invariant::CacheKey, message);
        };
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
        let outputs = self.predict(b, target, inputs);
        if let Driver::Exec { consume, .. } = &target.driver {
            self.judge_open_order(b, name, *consume, inputs);
        }
        if matches!(target.driver, Driver::Exec { .. } | Driver::Plugin { .. }) {
            let sandbox = b.state_dir.join("sandbox").join(name);
            judge_cleanup(b.fs, name, &sandbox, &mut self.verdicts);
        }
        let Some(outputs) = outputs else { return };
        judge_artifacts(name, r, &outputs, &mut self.verdicts);
        let packs = outputs.iter().any(|a| !a.passes_through);
        judge_cache_write(name, r, packs, b.events, &mut self.verdicts);
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

    /// A pipeline's guard: the engine must keep a target's outputs out of the local cache exactly
    /// when the oracle's model of the guard finds a main-repository source changed. Returns
    /// whether the engine kept them out (wrote them to the tmp cache).
    fn judge_guard(
        &mut self,
        b: &BuildInput,
        name: &str,
        r: &TargetResult,
        key: &str,
        inputs: &[Artifact],
        model: guard::GuardModel,
    ) -> bool {
        let refused = r.cache_key.as_deref() != Some(key);
        let seen = b
            .journal
            .guards
            .iter()
            .rfind(|g| g.build == b.build && g.target == name);
        let Some(seen) = seen else {
            if !refused {
                let message = format!(
                    "{name}'s outputs were cached without {} checking its sources",
                    guard_of(b)
                );
                self.verdicts.fail(Invariant::NoPoisoning, message);
            }
            return refused;
        };
        let entries: Vec<Entry> = inputs
            .iter()
            .flat_map(|a| a.entries.iter().cloned())
            .collect();
        let must = guard::must_refuse(model, b.journal, seen, &entries, &self.resolved);
        match (must, refused) {
            (Some(path), false) => {
                let message = format!("{} let {name}'s outputs into the cache though {} changed since it was digested", guard_of(b), path.display());
                self.verdicts.fail(Invariant::NoPoisoning, message);
            }
            // An I/O fault on a source in this build may have hit the guard's own read.
            (None, true) if !faulted(b, &entries) => {
                let message = format!(
                    "{} kept {name}'s outputs out of the cache though none of its sources changed",
                    guard_of(b)
                );
                self.verdicts.fail(Invariant::NoFalseAlarms, message);
            }
            _ => {}
        }
        refused
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
        if first_read != u64::MAX && opened < live {
            let message = format!("{name} read a passthrough source after opening {opened} of its {live}: SPEC §6's copy opens every source before it reads any");
            self.verdicts.fail(Invariant::Integrity, message);
        }
    }

    /// What `target` must produce from `inputs`, by its driver, from the journal.
    fn predict(
        &mut self,
        b: &BuildInput,
        target: &Target,
        inputs: &[Artifact],
    ) -> Option<Vec<Artifact>> {
        match &target.driver {
            Driver::FsFile { path } => self.fs_file(b, target, path),
            Driver::FsGlob { patterns, excludes } => self.fs_glob(b, target, patterns, excludes),
            Driver::Group { relocate } => Some(vec![view_artifact(
                target,
                relocate,
                &inputs.iter().collect::<Vec<_>>(),
            )]),
            Driver::Exec { steps, outputs, .. } => self
                .consumed(b, &target.name, inputs)
                .and_then(|e| exec_outputs(&e, steps, outputs)),
            Driver::Plugin { sources, concat_to } => {
                self.plugin(b, target, inputs, sources, concat_to)
            }
        }
    }

    /// A build the engine died in (a simulated crash): its results are lost with it, so the
    /// targets that completed (every one that started before the last) are predicted from the
    /// journal, and the local entries they wrote are judged and remembered, so the restarted
    /// engine's hits on them can be judged.
    pub fn check_crashed(&mut self, b: &BuildInput) {
        self.outputs.clear();
        self.fresh_keys.clear();
        self.resolve_acts(b);
        let started: Vec<&str> = b
            .journal
            .hashins
            .iter()
            .filter(|h| h.build == b.build)
            .map(|h| h.target.as_str())
            .collect();
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
            let key = oracle_hashin(driver_name(driver), &def_bytes(driver), &hashouts);
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
                Some(committed) if !uses_tmp(target) && !worked => Some(committed.clone()),
                _ => self.predict(b, target, &inputs),
            };
            let Some(outputs) = outputs else { return };
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

    fn fs_file(&mut self, b: &BuildInput, target: &Target, path: &Path) -> Option<Vec<Artifact>> {
        let Some(act) = act(b, &target.name, path) else {
            let message = format!(
                "{} produced an artifact for {} without hashing it",
                target.name,
                path.display()
            );
            self.verdicts.fail(Invariant::HashParity, message);
            return None;
        };
        let resolved = self.resolved.get(&act.seq)?;
        let artifact = source_artifact(
            target,
            "out",
            resolved.entry.clone(),
            resolved.hashout.clone(),
        );
        Some(vec![artifact])
    }

    fn fs_glob(
        &mut self,
        b: &BuildInput,
        target: &Target,
        patterns: &[String],
        excludes: &[String],
    ) -> Option<Vec<Artifact>> {
        let name = &target.name;
        let listing = b
            .journal
            .listings
            .iter()
            .find(|l| l.build == b.build && &l.target == name)?;
        let selected = select(&listing.files, patterns, excludes);
        let acts: Vec<&HashAct> = b
            .journal
            .acts
            .iter()
            .filter(|a| a.build == b.build && &a.target == name)
            .collect();
        for act in acts.iter().filter(|a| !selected.contains(&a.path)) {
            let message = format!(
                "glob {name} hashed {}, which its patterns do not select",
                act.path.display()
            );
            self.verdicts.fail(Invariant::Integrity, message);
        }
        let mut outputs = Vec::new();
        for path in &selected {
            let Some(act) = acts.iter().find(|a| &a.path == path) else {
                let message = format!(
                    "glob {name} skipped {}, which its patterns select",
                    path.display()
                );
                self.verdicts.fail(Invariant::Integrity, message);
                continue;
            };
            if !self.resolved.contains_key(&act.seq)
                && answer_for(b, act).is_none()
                && !skip_explained(b.journal, act)
            {
                let message = format!("glob {name} left out {}, which was a readable file throughout (SPEC §3 skips only a matched file that cannot be read)", path.display());
                self.verdicts.fail(Invariant::Integrity, message);
            }
            if let Some(resolved) = self.resolved.get(&act.seq) {
                let group = path.to_string_lossy();
                outputs.push(source_artifact(
                    target,
                    &group,
                    resolved.entry.clone(),
                    resolved.hashout.clone(),
                ));
            }
        }
        Some(outputs)
    }

    /// A consumer's materialized sandbox against its inputs' entries; the entries to compute
    /// its outputs from.
    fn consumed(&mut self, b: &BuildInput, name: &str, inputs: &[Artifact]) -> Option<Vec<Entry>> {
        let expected: Vec<Entry> = inputs
            .iter()
            .flat_map(|a| a.entries.iter().cloned())
            .collect();
        let Some(snapshot) = snapshot(b, name) else {
            let message = format!("{name} succeeded without materializing its inputs");
            self.verdicts.fail(Invariant::Integrity, message);
            return None;
        };
        let expected = self.as_read(b, name, expected, snapshot);
        judge_snapshot(
            snapshot,
            &expected,
            &tampered(b, snapshot),
            &mut self.verdicts,
        );
        Some(known_entries(&expected, Some(snapshot)))
    }

    /// What a consumer may have received: under Bazel's pipeline, which reads unverified, a
    /// source that changed admits what was read (and the target is marked as having read it).
    fn as_read(
        &mut self,
        b: &BuildInput,
        name: &str,
        expected: Vec<Entry>,
        snapshot: &Snapshot,
    ) -> Vec<Entry> {
        if guard::guard(b.policy).is_none() {
            return expected;
        }
        let (read, changed) = guard::as_read(b.journal, &expected, snapshot);
        if changed {
            self.changed_reads.insert(name.to_string());
        }
        read
    }

    fn plugin(
        &mut self,
        b: &BuildInput,
        target: &Target,
        inputs: &[Artifact],
        sources: &[PathBuf],
        concat_to: &Path,
    ) -> Option<Vec<Artifact>> {
        let entries = self.consumed(b, &target.name, inputs)?;
        let mut outputs = Vec::new();
        for (k, path) in sources.iter().enumerate() {
            let act = act(b, &target.name, path)?;
            let resolved = self.resolved.get(&act.seq)?;
            let mut artifact = source_artifact(
                target,
                &format!("src{k}"),
                resolved.entry.clone(),
                resolved.hashout.clone(),
            );
            artifact.passes_through = false; // the ABI drops the flag (SPEC §3)
            outputs.push(artifact);
        }
        outputs.push(plugin_concat(&entries, concat_to)?);
        Some(outputs)
    }

    fn judge_failed(&mut self, b: &BuildInput, target: &Target, inputs: &[Artifact]) {
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
        let collision = consumer && by_path(&expected).is_none();
        let excuses = failures::Excuses {
            damaged: b.journal.damages.iter().map(|d| d.path.clone()).collect(),
            faults: b
                .faults
                .iter()
                .filter(|f| f.build == b.build)
                .filter_map(|f| f.fault.errno().map(|e| (e, f.path.clone())))
                .collect(),
        };
        let sources = failures::Sources {
            reads: &reads,
            acts: &acts,
            // A pipeline policy reads unverified in consumers only; packing still verifies.
            reads_verify: guard::guard(b.policy).is_none() || !consumer,
        };
        self.judge_glob_failure(b, target, &failure.error);
        failures::judge(
            name,
            &failure.error,
            sources,
            b.journal,
            &excuses,
            collision,
            &mut self.verdicts,
        );
        if let Some(snapshot) = snapshot(b, name).filter(|_| consumer) {
            let expected = self.as_read(b, name, expected, snapshot);
            judge_snapshot(
                snapshot,
                &expected,
                &tampered(b, snapshot),
                &mut self.verdicts,
            );
        }
    }

    /// SPEC §3: a glob skips a matched file that cannot be read; failing on one is a false alarm.
    fn judge_glob_failure(
        &mut self,
        b: &BuildInput,
        target: &Target,
        error: &(dyn std::error::Error + 'static),
    ) {
        let Driver::FsGlob { patterns, excludes } = &target.driver else {
            return;
        };
        let name = &target.name;
        let Some(listing) = b
            .journal
            .listings
            .iter()
            .find(|l| l.build == b.build && &l.target == name)
        else {
            return;
        };
        // A file the engine hashed may fail later (packed for the cache after it went away):
        // only the files it could not hash are the glob's to skip.
        let hashed = |p: &PathBuf| {
            b.events
                .iter()
                .any(|e| matches!(e, Event::Hash { path, .. } if path == p))
        };
        let mut selected = select(&listing.files, patterns, excludes);
        selected.retain(|p| !hashed(p));
        if let Some(path) = should_have_skipped(error, &selected) {
            let message = format!("glob {name} failed on {}, which its patterns select and which cannot be read: SPEC §3 skips it ({error})", path.display());
            self.verdicts.fail(Invariant::NoFalseAlarms, message);
        }
    }

    fn judge_tmp_write(
        &mut self,
        b: &BuildInput,
        name: &str,
        r: &TargetResult,
        key: &str,
        outputs: &[Artifact],
    ) {
        let written = r.cache_key.as_deref().unwrap_or_default();
        let well_formed = written
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
        if !well_formed {
            let message = format!("{name} wrote its tmp entry under {written}, not {key}_<nanos>");
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        for (artifact, model) in r
            .artifacts
            .iter()
            .zip(outputs)
            .filter(|(_, m)| !m.passes_through)
        {
            let engine::Content::Tar(path) = &artifact.content else {
                continue;
            };
            if b.journal.damaged_under(path, b.journal.last_write(written)) {
                continue; // damaged by the simulator after it was written
            }
            let bytes = b.store.tmp.get(path, MAX_READ).ok().flatten();
            let difference = match bytes.as_deref().map(|bytes| parse_tar(bytes)) {
                Some(Ok(got)) => tar_difference(&model.entries, &got),
                Some(Err(e)) => Some(format!("unreadable: {e}")),
                None => Some("missing".to_string()),
            };
            if let Some(d) = difference {
                let message = format!("{name}'s tmp cache tar {}: {d}", path.display());
                self.verdicts.fail(Invariant::NoPoisoning, message);
            }
        }
    }

    fn judge_local_write(
        &mut self,
        b: &BuildInput,
        driver: &Driver,
        name: &str,
        written: &str,
        key: &str,
        outputs: &[Artifact],
    ) {
        if written != key {
            let message =
                format!("{name} wrote its cache entry under {written}, not its key {key}");
            self.verdicts.fail(Invariant::CacheKey, message);
        }
        let packed: Vec<&Artifact> = outputs.iter().collect();
        let dir = b.state_dir.join("cache");
        let last_writer = b.journal.last_writer(key);
        let difference = match read_one(b.fs, &dir, key) {
            _ if b
                .journal
                .damaged_under(&dir.join(key), b.journal.last_write(key)) =>
            {
                None
            }
            // Another target's later write of the same key is the entry on disk.
            _ if last_writer.is_some_and(|w| w != name) => None,
            Some(Ok(entry)) => entry_difference(&packed, &entry),
            Some(Err(e)) => Some(format!("unreadable: {e}")),
            None => Some("no complete entry (manifest) was written".to_string()),
        };
        if let Some(d) = difference {
            let message = format!("{name} cached under {key}: {d}");
            self.verdicts.fail(Invariant::NoPoisoning, message);
        }
        self.fresh_keys.insert(key.to_string());
        let writer = self.writers.insert(key.to_string(), name.to_string());
        if let Some(before) = self.committed.insert(key.to_string(), outputs.to_vec()) {
            // Only where the key determines the outputs: a cached source target (or a plugin
            // exposing sources) packs whatever the file holds under a key that ignores it.
            if same_content(&before, outputs) || !keyed_outputs(driver) {
                return;
            }
            match writer {
                // SPEC §1's key holds input hashouts, not input paths: equal definitions over
                // equal contents at different paths share a key and may differ in outputs.
                Some(other) if other != name => {
                    let message = format!("{name} and {other} share key {key} but differ in outputs (SPEC §1's key omits input paths)");
                    self.verdicts.find("key_collision", message);
                }
                _ if self.poisoned.contains(key) => {
                    let message = format!("{name}: key {key}, poisoned through a guard's hole, was written again with other outputs");
                    self.verdicts.find("poisoned_key_rewritten", message);
                }
                _ => {
                    let message = format!("{name}: key {key} stands for two different contents");
                    self.verdicts.fail(Invariant::NoPoisoning, message);
                }
            }
        }
    }

    /// Every complete local entry must be one a clean build wrote, still holding what it wrote
    /// (entries judged as they were written in this build are not read twice).
    fn judge_cache_dir(&mut self, b: &BuildInput) {
        let dir = b.state_dir.join("cache");
        for key in b.fs.read_dir(&dir).unwrap_or_default() {
            if self.fresh_keys.contains(&key)
                || b.journal
                    .damaged_under(&dir.join(&key), b.journal.last_write(&key))
            {
                continue; // judged as written, or damaged by the simulator since
            }
            let Some(entry) = read_one(b.fs, &dir, &key) else {
                continue; // no manifest: not an entry (a torn write is judged where it happens)
            };
            let message = match (entry, self.committed.get(&key)) {
                (Err(e), _) => format!("cache entry {key} is unreadable: {e}"),
                (Ok(_), None) => {
                    let message = format!("the cache holds an entry under {key}, a key no target of this schedule should have written");
                    self.verdicts.fail(Invariant::CacheKey, message);
                    continue;
                }
                (Ok(entry), Some(expected)) => {
                    let expected: Vec<&Artifact> = expected.iter().collect();
                    match entry_difference(&expected, &entry) {
                        Some(d) => {
                            format!("cache entry {key} no longer holds what was written: {d}")
                        }
                        None if entry.key != key => {
                            format!("cache entry {key}'s manifest names key {}", entry.key)
                        }
                        None => continue,
                    }
                }
            };
            self.verdicts.fail(Invariant::NoPoisoning, message);
        }
    }

    /// No tmp-cache blob may belong to a target that SPEC §4 passes through entirely.
    fn judge_tmp_cache(&mut self, b: &BuildInput) {
        let root = b.state_dir.join("tmp");
        let mut paths = b.store.tmp.memory_paths();
        for name in b.fs.read_dir(&root).unwrap_or_default() {
            paths.push(root.join(name));
        }
        for path in paths {
            let Some(dir) = path
                .strip_prefix(&root)
                .ok()
                .and_then(|p| p.components().next())
            else {
                continue;
            };
            let dir = dir.as_os_str().to_string_lossy();
            let hashin = dir.rsplit_once('_').map_or(dir.as_ref(), |(h, _)| h);
            if self.passthrough_keys.contains(hashin) {
                let message = format!("the tmp cache holds {}, packed by a target whose outputs SPEC §4 passes through", path.display());
                self.verdicts.fail(Invariant::Gating, message);
            }
        }
    }
}

/// The guard of the policy `b` runs under, for messages.
fn guard_of(b: &BuildInput) -> String {
    format!("the {} guard", b.policy.name())
}

/// True when an injected I/O fault hit one of `entries`' workspace sources in this build.
fn faulted(b: &BuildInput, entries: &[Entry]) -> bool {
    let sources: BTreeSet<&Path> = entries
        .iter()
        .filter_map(|e| e.origin.as_ref().map(|o| o.path.as_path()))
        .collect();
    b.faults
        .iter()
        .any(|f| f.build == b.build && sources.contains(f.path.as_path()))
}

/// True when two predictions hold the same artifacts: hashouts, and each entry's path, exec
/// bit and content hash (whether the bytes themselves are known, and where they came from,
/// aside).
fn same_content(a: &[Artifact], b: &[Artifact]) -> bool {
    type Digest = Vec<(String, String, Vec<(PathBuf, bool, String)>)>;
    let digest = |arts: &[Artifact]| -> Digest {
        arts.iter()
            .map(|a| {
                let entries = a
                    .entries
                    .iter()
                    .map(|e| {
                        let hash = match &e.expect {
                            Expect::Bytes(bytes) => oracle_hashout(bytes, e.x),
                            Expect::HashesTo(hash) => hash.clone(),
                        };
                        (e.path.clone(), e.x, hash)
                    })
                    .collect();
                (a.group.clone(), a.hashout.clone(), entries)
            })
            .collect()
    };
    digest(a) == digest(b)
}

/// True when a target's outputs are a function of its key (its definition and inputs): not so
/// for targets that read workspace files themselves (sources, and plugins exposing them).
fn keyed_outputs(driver: &Driver) -> bool {
    matches!(driver, Driver::Exec { .. } | Driver::Group { .. })
}

/// The targets a build of `root` needs: `root` and, transitively, its inputs.
fn reachable<'a>(targets: &'a [Target], root: &str) -> BTreeSet<&'a str> {
    let mut needed = BTreeSet::new();
    let mut pending = vec![root];
    while let Some(name) = pending.pop() {
        let Some(target) = targets.iter().find(|t| t.name == name) else {
            continue;
        };
        if needed.insert(target.name.as_str()) {
            pending.extend(target.inputs.iter().map(String::as_str));
        }
    }
    needed
}

/// The hashout `act`'s target put on the artifact for the act's path, if it made one.
fn answer_for<'a>(b: &'a BuildInput, act: &HashAct) -> Option<&'a str> {
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

fn act<'a>(b: &BuildInput<'a>, target: &str, path: &Path) -> Option<&'a HashAct> {
    b.journal
        .acts
        .iter()
        .find(|a| a.build == b.build && a.target == target && a.path == path)
}

/// The files of `snapshot`'s sandbox the simulator wrote into before it was taken.
fn tampered(b: &BuildInput, snapshot: &Snapshot) -> Vec<PathBuf> {
    let sandbox = b.state_dir.join("sandbox").join(&snapshot.consumer);
    b.journal
        .damages
        .iter()
        .filter(|d| d.seq < snapshot.seq)
        .filter_map(|d| d.path.strip_prefix(&sandbox).ok().map(Path::to_path_buf))
        .collect()
}

fn snapshot<'a>(b: &BuildInput<'a>, consumer: &str) -> Option<&'a Snapshot> {
    b.journal
        .snapshots
        .iter()
        .find(|s| s.build == b.build && s.consumer == consumer)
}
