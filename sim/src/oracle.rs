//! The oracle: checks SPEC §8's invariants after each build from the shadow model, never from
//! the engine's own verification.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use engine::cache::Store;
use engine::materialize::Delivered;
use engine::target::ExecStep;
use engine::{BuildOutput, Content, Event, TargetResult};
use serde::Serialize;

use crate::scenario::{Input, Scenario};
use crate::shadow::Shadow;

/// The invariants of SPEC §8, plus the simulator's own checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// 1: never different bytes with success.
    Integrity,
    /// 2: no error when the delivered bytes equal the hashed ones.
    NoFalseAlarms,
    /// 3: every cache entry equals a clean rebuild of its key.
    NoPoisoning,
    /// 4: exactly SPEC §4's outputs skip the cache.
    Gating,
    /// 5: every hashout is file_hashout of its bytes.
    HashParity,
    /// MemFs and DiskFs disagree.
    Differential,
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

/// What a consumer must contain in its `exec.log`.
fn exec_log() -> Vec<u8> {
    let step = ExecStep::Concat { to: "out".into() };
    format!("{}\n", serde_json::to_string(&step).unwrap_or_default()).into_bytes()
}

/// The oracle's state across the builds of one schedule.
#[derive(Debug, Default)]
pub struct Oracle {
    /// Per cache key: the content a clean build wrote there.
    written: BTreeMap<String, Vec<(PathBuf, Vec<u8>)>>,
    /// This build's expected output per consumer index.
    outs: BTreeMap<usize, Vec<u8>>,
    /// Broken invariants so far.
    pub broken: Vec<Broken>,
    /// Findings so far.
    pub findings: Vec<Finding>,
}

impl Oracle {
    fn fail(&mut self, invariant: Invariant, message: String) {
        self.broken.push(Broken { invariant, message });
    }

    /// Checks one build.
    pub fn check_build(
        &mut self,
        scenario: &Scenario,
        racy: bool,
        out: &BuildOutput,
        events: &[Event],
        shadow: &Shadow,
        store: &Store,
    ) {
        self.outs.clear();
        for message in &shadow.parity {
            self.fail(Invariant::HashParity, message.clone());
        }
        self.check_gating(out, events);
        self.check_findings(racy, events, shadow);
        for k in 0..scenario.consumers.len() {
            if let Some(result) = out.get(&Scenario::consumer_name(k)) {
                self.check_consumer(scenario, k, result, shadow, store);
            }
        }
        if let Some(failure) = &out.failure {
            self.check_failure(
                scenario,
                &failure.target,
                failure.error.name(),
                &failure.error.to_string(),
                shadow,
            );
        }
    }

    fn expected_entry(
        &self,
        scenario: &Scenario,
        k: usize,
        path: &Path,
        shadow: &Shadow,
    ) -> Option<(Vec<u8>, bool)> {
        if path == Path::new("exec.log") {
            return Some((exec_log(), false));
        }
        if path == Path::new("out") {
            let j = scenario.consumers[k].inputs.iter().find_map(|i| {
                if let Input::Consumer(j) = i {
                    Some(*j)
                } else {
                    None
                }
            })?;
            return self.outs.get(&j).map(|bytes| (bytes.clone(), false));
        }
        let source = path.strip_prefix("lib").unwrap_or(path);
        shadow.hashed.get(source).map(|h| (h.bytes.clone(), h.x))
    }

    fn check_consumer(
        &mut self,
        scenario: &Scenario,
        k: usize,
        result: &TargetResult,
        shadow: &Shadow,
        store: &Store,
    ) {
        let name = Scenario::consumer_name(k);
        if result.cache_hit {
            return self.check_hit(k, &name, result, store);
        }
        let mut delivered: Vec<&Delivered> = result.delivered.iter().collect();
        for item in &delivered {
            match self.expected_entry(scenario, k, &item.path, shadow) {
                Some((bytes, x)) if bytes == item.data && x == item.x => {}
                Some((bytes, x)) => self.fail(
                    Invariant::Integrity,
                    format!(
                        "{name} received {} ({} bytes, x={}) but {} bytes, x={x} were hashed",
                        item.path.display(),
                        item.data.len(),
                        item.x,
                        bytes.len()
                    ),
                ),
                None => self.fail(
                    Invariant::Integrity,
                    format!(
                        "{name} received {} which none of its inputs provides",
                        item.path.display()
                    ),
                ),
            }
        }
        self.check_required(scenario, k, &delivered);
        let plugin = scenario.consumers[k].plugin;
        if !plugin {
            delivered.sort_by(|a, b| a.path.cmp(&b.path));
        }
        let mut expected_out = Vec::new();
        for item in &delivered {
            expected_out.extend(
                self.expected_entry(scenario, k, &item.path, shadow)
                    .map(|e| e.0)
                    .unwrap_or_default(),
            );
        }
        let mut expected = vec![(
            PathBuf::from(if plugin { "plugin_out" } else { "out" }),
            expected_out.clone(),
        )];
        if !plugin {
            expected.push(("exec.log".into(), exec_log()));
        }
        self.outs.insert(k, expected_out);
        self.check_written(&name, result, store, expected);
    }

    fn check_required(&mut self, scenario: &Scenario, k: usize, delivered: &[&Delivered]) {
        let got: BTreeSet<PathBuf> = delivered.iter().map(|d| d.path.clone()).collect();
        for input in &scenario.consumers[k].inputs {
            let required: Vec<PathBuf> = match input {
                Input::File(i) => vec![scenario.path(*i).into()],
                Input::View => scenario
                    .view
                    .iter()
                    .map(|i| Path::new("lib").join(scenario.path(*i)))
                    .collect(),
                Input::Consumer(_) => vec!["out".into(), "exec.log".into()],
                Input::Glob => vec![],
            };
            for path in required.into_iter().filter(|p| !got.contains(p)) {
                self.fail(
                    Invariant::Integrity,
                    format!("c{k} succeeded without receiving {}", path.display()),
                );
            }
        }
    }

    fn cache_content(
        &mut self,
        name: &str,
        result: &TargetResult,
        store: &Store,
    ) -> Option<Vec<(PathBuf, Vec<u8>)>> {
        let mut content = Vec::new();
        for artifact in &result.artifacts {
            let Content::Tar(path) = &artifact.content else {
                continue;
            };
            match store.read_tar(path) {
                Ok(entries) => content.extend(entries.into_iter().map(|e| (e.path, e.data))),
                Err(e) => {
                    self.fail(
                        Invariant::NoPoisoning,
                        format!("{name}: cache entry unreadable: {e}"),
                    );
                    return None;
                }
            }
        }
        Some(content)
    }

    fn check_written(
        &mut self,
        name: &str,
        result: &TargetResult,
        store: &Store,
        expected: Vec<(PathBuf, Vec<u8>)>,
    ) {
        let Some(key) = &result.cache_key else { return };
        let Some(content) = self.cache_content(name, result, store) else {
            return;
        };
        if content != expected {
            let got: Vec<String> = content
                .iter()
                .map(|(p, d)| format!("{}:{}B", p.display(), d.len()))
                .collect();
            let want: Vec<String> = expected
                .iter()
                .map(|(p, d)| format!("{}:{}B", p.display(), d.len()))
                .collect();
            self.fail(
                Invariant::NoPoisoning,
                format!(
                    "{name} cached [{}] where a clean rebuild gives [{}]",
                    got.join(" "),
                    want.join(" ")
                ),
            );
        }
        if let Some(before) = self.written.insert(key.clone(), expected.clone()) {
            if before != expected {
                self.fail(
                    Invariant::NoPoisoning,
                    format!("{name}: one key written with two different contents"),
                );
            }
        }
    }

    fn check_hit(&mut self, k: usize, name: &str, result: &TargetResult, store: &Store) {
        let Some(key) = &result.cache_key else { return };
        let Some(content) = self.cache_content(name, result, store) else {
            return;
        };
        if let Some((_, out)) = content.iter().find(|(path, _)| path == Path::new("out")) {
            self.outs.insert(k, out.clone());
        }
        match self.written.get(key) {
            Some(expected) if *expected == content => {}
            Some(_) => self.fail(
                Invariant::NoPoisoning,
                format!("{name}: cache hit differs from what a clean build wrote under its key"),
            ),
            None => self.fail(
                Invariant::NoPoisoning,
                format!("{name}: cache hit on a key no clean build wrote"),
            ),
        }
    }

    fn sources(scenario: &Scenario, target: &str) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        let mut add = |i: usize| {
            paths.push(PathBuf::from(scenario.path(i)));
            if let Some(j) = scenario.files[i].link_to {
                paths.push(PathBuf::from(scenario.path(j)));
            }
        };
        if let Some(i) = target
            .strip_prefix("file")
            .and_then(|i| i.parse::<usize>().ok())
        {
            add(i);
        }
        let k = target
            .strip_prefix('c')
            .and_then(|k| k.parse::<usize>().ok());
        for input in k
            .and_then(|k| scenario.consumers.get(k))
            .map(|c| c.inputs.as_slice())
            .unwrap_or(&[])
        {
            match input {
                Input::File(i) => add(*i),
                Input::View => scenario.view.iter().for_each(|i| add(*i)),
                Input::Glob => (0..scenario.files.len())
                    .filter(|i| scenario.files[*i].globbed)
                    .for_each(&mut add),
                Input::Consumer(_) => {}
            }
        }
        paths
    }

    fn check_failure(
        &mut self,
        scenario: &Scenario,
        target: &str,
        kind: &str,
        message: &str,
        shadow: &Shadow,
    ) {
        let sources = Self::sources(scenario, target);
        let justified = match kind {
            "invalid_data" => sources.iter().any(|p| shadow.suspect.contains(p)),
            "not_found" => sources.iter().any(|p| shadow.vanished.contains(p)),
            _ => false,
        };
        if !justified {
            self.fail(
                Invariant::NoFalseAlarms,
                format!("{target} failed ({kind}) though none of its sources changed: {message}"),
            );
        }
    }

    fn check_gating(&mut self, out: &BuildOutput, events: &[Event]) {
        for event in events {
            match event {
                Event::Passthrough { target, group } if target.starts_with('c') => self.fail(
                    Invariant::Gating,
                    format!(
                        "{target} output {group} passed through; exec and plugin outputs must pack"
                    ),
                ),
                Event::CacheWriteStart { target, .. } if !target.starts_with('c') => self.fail(
                    Invariant::Gating,
                    format!("{target} wrote the cache though all its outputs pass through"),
                ),
                _ => {}
            }
        }
        for (name, result) in &out.results {
            let consumer = name.starts_with('c');
            if consumer && !result.cache_hit && result.cache_key.is_none() {
                self.fail(Invariant::Gating, format!("{name} ran but packed nothing"));
            }
            let passthrough = result.artifacts.iter().any(|a| {
                matches!(
                    a.content,
                    Content::File {
                        passthrough: true,
                        ..
                    } | Content::View(_)
                )
            });
            if consumer && passthrough {
                self.fail(
                    Invariant::Gating,
                    format!("{name} returned a passthrough artifact"),
                );
            }
        }
    }

    fn check_findings(&mut self, racy: bool, events: &[Event], shadow: &Shadow) {
        for event in events {
            let Event::Hash {
                path, cached: true, ..
            } = event
            else {
                continue;
            };
            let mode = if racy { "racy walker" } else { "heph walker" };
            if shadow.stale_bytes_at_start.contains(path) {
                let message = format!("{mode}: {} changed with size and mtime kept; its stale hash is used, so consumers fail as \"modified mid-build\" on every build", path.display());
                self.findings.push(Finding {
                    kind: "stale_walker_hash".into(),
                    message,
                });
            } else if shadow.stale_x_at_start.contains(path) {
                let message = format!(
                    "{mode}: {} changed mode only; the stored exec bit is used",
                    path.display()
                );
                self.findings.push(Finding {
                    kind: "stale_walker_exec_bit".into(),
                    message,
                });
            }
        }
    }
}
