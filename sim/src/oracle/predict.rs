//! Prediction: what a target that ran must have produced, by its driver, from the model
//! (`model`), the walker's resolved hash acts and the journal. A target the model cannot
//! predict is never skipped in silence: the prediction says why ([`Unpredicted`]), and the
//! judge reports it as a `harness` violation unless a violation already explains it.

use std::path::{Path, PathBuf};

use engine::target::{Driver, Target};

use super::consumers::{judge_snapshot, known_entries};
use super::glob::select;
use super::guard;
use super::judge::{answer_for, snapshot, tampered, BuildInput, Oracle};
use super::model::{exec_outputs, plugin_concat, source_artifact, view_artifact, Artifact, Entry};
use super::Invariant;
use crate::journal::{HashAct, Snapshot};

/// Why a target's outputs were not predicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unpredicted {
    /// A violation already recorded explains it (the target was judged, and found broken).
    Reported,
    /// The model cannot tell: a gap of the harness, reported as such.
    Unknown(&'static str),
}

/// A prediction.
pub type Predicted<T> = Result<T, Unpredicted>;

impl Oracle {
    /// What `target` must produce from `inputs`, by its driver, from the journal.
    pub(super) fn predict(
        &mut self,
        b: &BuildInput,
        target: &Target,
        inputs: &[Artifact],
    ) -> Predicted<Vec<Artifact>> {
        match &target.driver {
            Driver::FsFile { path } => self.fs_file(b, target, path),
            Driver::FsGlob { patterns, excludes } => self.fs_glob(b, target, patterns, excludes),
            Driver::Group { relocate } => Ok(vec![view_artifact(
                target,
                relocate,
                &inputs.iter().collect::<Vec<_>>(),
            )]),
            Driver::Exec { steps, outputs, .. } => {
                let entries = self.consumed(b, &target.name, inputs)?;
                exec_outputs(&entries, steps, outputs).ok_or(Unpredicted::Unknown(
                    "an exec step or a received entry the model cannot compute",
                ))
            }
            Driver::Plugin { sources, concat_to } => {
                self.plugin(b, target, inputs, sources, concat_to)
            }
        }
    }

    /// The source artifact a target that hashed `path` carries for it.
    fn source(
        &mut self,
        b: &BuildInput,
        target: &Target,
        path: &Path,
    ) -> Predicted<(Entry, String)> {
        let Some(act) = act(b, &target.name, path) else {
            let made = b
                .out
                .get(&target.name)
                .is_some_and(|r| !r.artifacts.is_empty());
            let message = match made {
                true => format!("{} produced an artifact for {} without hashing it", target.name, path.display()),
                false => format!("{} succeeded without hashing {} or producing its artifact (SPEC §3: a source must be hashed; a missing path or a directory is an error)", target.name, path.display()),
            };
            let invariant = if made {
                Invariant::HashParity
            } else {
                Invariant::Integrity
            };
            self.verdicts.fail(invariant, message);
            return Err(Unpredicted::Reported);
        };
        if let Some(resolved) = self.resolved.get(&act.seq) {
            return Ok((resolved.entry.clone(), resolved.hashout.clone()));
        }
        if self.reported_acts.contains(&act.seq) {
            return Err(Unpredicted::Reported);
        }
        if act.fresh.is_none() && answer_for(b, act).is_none() {
            let message = format!(
                "{} succeeded without a hash of {}: it neither read the file nor answered from its walker cache",
                target.name,
                path.display()
            );
            self.verdicts.fail(Invariant::Integrity, message);
            return Err(Unpredicted::Reported);
        }
        Err(Unpredicted::Unknown(
            "a hash act the walker model could not resolve",
        ))
    }

    fn fs_file(
        &mut self,
        b: &BuildInput,
        target: &Target,
        path: &Path,
    ) -> Predicted<Vec<Artifact>> {
        if generated(path) {
            // SPEC §3: a path generated in place produces zero artifacts (and is not hashed).
            if act(b, &target.name, path).is_some() {
                let message = format!(
                    "{} hashed {}, a path generated in place (SPEC §3: no artifact)",
                    target.name,
                    path.display()
                );
                self.verdicts.fail(Invariant::Integrity, message);
            }
            return Ok(Vec::new());
        }
        let (entry, hashout) = self.source(b, target, path)?;
        Ok(vec![source_artifact(target, "out", entry, hashout)])
    }

    fn fs_glob(
        &mut self,
        b: &BuildInput,
        target: &Target,
        patterns: &[String],
        excludes: &[String],
    ) -> Predicted<Vec<Artifact>> {
        let name = &target.name;
        let listing = b
            .journal
            .listings
            .iter()
            .find(|l| l.build == b.build && &l.target == name)
            .ok_or(Unpredicted::Unknown(
                "no listing of the workspace was recorded for the glob",
            ))?;
        let selected = select(self.listings.walked(listing), patterns, excludes);
        let mut outputs = Vec::new();
        for act in self.judge_match_set(b, name, &selected) {
            if let Some(resolved) = self.resolved.get(&act.seq) {
                let group = act.path.to_string_lossy();
                outputs.push(source_artifact(
                    target,
                    &group,
                    resolved.entry.clone(),
                    resolved.hashout.clone(),
                ));
            }
        }
        Ok(outputs)
    }

    /// A consumer's materialized sandbox against its inputs' entries; the entries to compute
    /// its outputs from.
    fn consumed(
        &mut self,
        b: &BuildInput,
        name: &str,
        inputs: &[Artifact],
    ) -> Predicted<Vec<Entry>> {
        let Some(snapshot) = snapshot(b, name) else {
            let message = format!("{name} succeeded without materializing its inputs");
            self.verdicts.fail(Invariant::Integrity, message);
            return Err(Unpredicted::Reported);
        };
        let expected = self.judge_delivery(b, name, inputs, snapshot);
        Ok(known_entries(&expected, Some(snapshot)))
    }

    /// Judges what a consumer's sandbox received against its inputs' entries (as an unverified
    /// reader may deliver them); returns the entries expected.
    pub(super) fn judge_delivery(
        &mut self,
        b: &BuildInput,
        name: &str,
        inputs: &[Artifact],
        snapshot: &Snapshot,
    ) -> Vec<Entry> {
        let expected: Vec<Entry> = inputs
            .iter()
            .flat_map(|a| a.entries.iter().cloned())
            .collect();
        let expected = self.as_read(b, name, expected, snapshot);
        self.verdicts.ledger.fired(super::ledger::Check::Delivery);
        judge_snapshot(
            snapshot,
            &expected,
            &tampered(b, snapshot),
            &mut self.verdicts,
        );
        expected
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
    ) -> Predicted<Vec<Artifact>> {
        let entries = self.consumed(b, &target.name, inputs)?;
        let mut outputs = Vec::new();
        for (k, path) in sources.iter().enumerate() {
            let (entry, hashout) = self.source(b, target, path)?;
            let mut artifact = source_artifact(target, &format!("src{k}"), entry, hashout);
            artifact.passes_through = false; // the ABI drops the flag (SPEC §3)
            outputs.push(artifact);
        }
        let concat = plugin_concat(&entries, concat_to)
            .ok_or(Unpredicted::Unknown("a received entry's bytes are unknown"))?;
        outputs.push(concat);
        Ok(outputs)
    }
}

/// SPEC §3's paths generated in place, by the oracle's own reading: a `.heph*` name anywhere
/// in the path.
pub fn generated(path: &Path) -> bool {
    path.components()
        .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b".heph"))
}

/// A plugin given a View that passes through (an uncached group's): SPEC §3's ABI has no View,
/// so the plugin must fail (a cached group's View is packed first and crosses as a tar).
pub fn view_across_abi<'a>(target: &Target, targets: &'a [Target]) -> Option<&'a str> {
    if !matches!(target.driver, Driver::Plugin { .. }) {
        return None;
    }
    let inputs = target
        .inputs
        .iter()
        .filter_map(|i| targets.iter().find(|t| &t.name == i));
    inputs
        .filter(|t| matches!(t.driver, Driver::Group { .. }) && super::model::uses_tmp(t))
        .map(|t| t.name.as_str())
        .next()
}

/// What a target's definition names that lies outside what it may touch, by the oracle's own
/// reading of paths (a source outside the workspace: absolute, empty or through `..`; an
/// output outside the sandbox) or a glob pattern that does not parse: the engine must refuse
/// it when the target runs, naming it. `Some(what it must name)`.
pub fn malformed(driver: &Driver) -> Option<String> {
    let outside = |path: &Path| {
        path.as_os_str().is_empty()
            || path.is_absolute()
            || path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
    };
    match driver {
        Driver::FsFile { path } if outside(path) => Some(path.display().to_string()),
        Driver::FsGlob { patterns, excludes } => patterns
            .iter()
            .chain(excludes)
            .find(|p| !super::glob::parses(p))
            .cloned(),
        Driver::Exec { outputs, .. } => outputs
            .iter()
            .find(|o| outside(&o.path))
            .map(|o| o.path.display().to_string()),
        Driver::Plugin {
            sources, concat_to, ..
        } => sources
            .iter()
            .chain(std::iter::once(concat_to))
            .find(|p| outside(p))
            .map(|p| p.display().to_string()),
        _ => None,
    }
}

/// A target's definition declares an output group twice (SPEC §5: caching rejects it).
pub fn duplicate_groups(driver: &Driver) -> Option<&str> {
    let Driver::Exec { outputs, .. } = driver else {
        return None;
    };
    let mut seen = std::collections::BTreeSet::new();
    outputs
        .iter()
        .map(|o| o.group.as_str())
        .chain(std::iter::once("log"))
        .find(|g| !seen.insert(*g))
}

fn act<'a>(b: &BuildInput<'a>, target: &str, path: &Path) -> Option<&'a HashAct> {
    b.journal
        .acts
        .iter()
        .find(|a| a.build == b.build && a.target == target && a.path == path)
}
