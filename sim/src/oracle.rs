//! The oracle: checks SPEC §8's invariants after each build from the shadow model, never from
//! the engine's own verification.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use engine::cache::Store;
use engine::materialize::Delivered;
use engine::target::ExecStep;
use engine::{BuildOutput, Content, Engine, Event, TargetResult};
use serde::Serialize;

use crate::scenario::{Input, Scenario};
use crate::shadow::{source, Shadow, Source};

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
    /// The engine (or the oracle) panicked: a crash is a violation, never a quiet "0 violations".
    Panic,
    /// The schedule could not be set up or run by the harness itself.
    Harness,
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

/// SPEC §4 for the scenario's targets: exec and plugin outputs always pack, a cacheable group's
/// View packs; fs:file, fs:glob and uncached groups pass through.
fn packs(scenario: &Scenario, target: &str) -> bool {
    target.starts_with('c') || (target == "view" && scenario.view_cached)
}

/// Which source (hashing target, workspace path) provides the entry `path` that consumer `k`
/// received: its View (`lib/…`), one of its fs:file inputs, or its glob.
pub fn provider(scenario: &Scenario, k: usize, path: &Path) -> Option<Source> {
    if let Ok(inner) = path.strip_prefix("lib") {
        let i = scenario
            .view
            .iter()
            .copied()
            .find(|&i| Path::new(&scenario.path(i)) == inner)?;
        return Some(source(&format!("file{i}"), inner));
    }
    let i = (0..scenario.files.len()).find(|&i| Path::new(&scenario.path(i)) == path)?;
    let target = if scenario.files[i].globbed {
        "glob".to_string()
    } else {
        format!("file{i}")
    };
    let _ = k;
    Some(source(&target, path))
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
    /// How many of the shadow's hash-parity messages were already reported.
    parity_seen: usize,
    /// This build's hashouts per source, from its trace (cached walker answers included).
    hashed_now: BTreeMap<Source, String>,
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
        engine: &Engine,
    ) {
        let store = engine.store();
        self.outs.clear();
        for message in shadow.parity.iter().skip(self.parity_seen) {
            self.fail(Invariant::HashParity, message.clone());
        }
        self.parity_seen = shadow.parity.len();
        self.check_gating(scenario, out, events);
        self.check_sandboxes(out, engine);
        self.hashed_now.clear();
        let mut current = String::new();
        for event in events {
            match event {
                Event::Hashin { target, .. } => current.clone_from(target),
                Event::Hash { path, hashout, .. } => {
                    self.hashed_now
                        .insert(source(&current, path), hashout.clone());
                }
                _ => {}
            }
        }
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

    fn expected_entry<'a>(
        &'a self,
        scenario: &Scenario,
        k: usize,
        path: &Path,
        shadow: &'a Shadow,
    ) -> Option<(Cow<'a, [u8]>, bool)> {
        if path == Path::new("exec.log") {
            return Some((Cow::Owned(exec_log()), false));
        }
        if path == Path::new("out") {
            let j = scenario.consumers[k].inputs.iter().find_map(|i| {
                if let Input::Consumer(j) = i {
                    Some(*j)
                } else {
                    None
                }
            })?;
            return self
                .outs
                .get(&j)
                .map(|bytes| (Cow::Borrowed(&bytes[..]), false));
        }
        let key = provider(scenario, k, path)?;
        self.hashed_now
            .get(&key)
            .and_then(|h| shadow.by_hashout.get(h))
            .map(|(bytes, x)| (Cow::Borrowed(&bytes[..]), *x))
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
            let wrong = match self.expected_entry(scenario, k, &item.path, shadow) {
                Some((bytes, x)) if *bytes == item.data[..] && x == item.x => continue,
                Some((bytes, x)) => format!(
                    "{name} received {} ({} bytes, x={}) but {} bytes, x={x} were hashed",
                    item.path.display(),
                    item.data.len(),
                    item.x,
                    bytes.len()
                ),
                None => format!(
                    "{name} received {} which none of its inputs provides",
                    item.path.display()
                ),
            };
            self.fail(Invariant::Integrity, wrong);
        }
        self.check_required(scenario, k, &delivered);
        let plugin = scenario.consumers[k].plugin;
        if !plugin {
            delivered.sort_by(|a, b| a.path.cmp(&b.path));
        }
        let mut expected_out = Vec::new();
        for item in &delivered {
            if let Some((bytes, _)) = self.expected_entry(scenario, k, &item.path, shadow) {
                expected_out.extend_from_slice(&bytes);
            }
        }
        let mut expected = Vec::new();
        if let Some(e) = scenario.exposed().filter(|_| plugin) {
            let path = PathBuf::from(scenario.path(e));
            let hashout = self.hashed_now.get(&source(&name, &path));
            let bytes = hashout
                .and_then(|h| shadow.by_hashout.get(h))
                .map(|(b, _)| b.clone())
                .unwrap_or_default();
            expected.push((path, bytes));
        }
        expected.push((
            PathBuf::from(if plugin { "plugin_out" } else { "out" }),
            expected_out.clone(),
        ));
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

    /// The sources a failing target read or hashed: (hashing target, path) pairs, with a
    /// link's target path under the same hashing target.
    fn sources(scenario: &Scenario, target: &str) -> Vec<Source> {
        let mut keys = Vec::new();
        let mut add = |hasher: &str, i: usize| {
            keys.push(source(hasher, Path::new(&scenario.path(i))));
            if let Some(j) = scenario.files[i].link_to {
                keys.push(source(hasher, Path::new(&scenario.path(j))));
            }
        };
        if let Some(i) = target
            .strip_prefix("file")
            .and_then(|i| i.parse::<usize>().ok())
        {
            add(target, i);
        }
        if target == "view" {
            scenario
                .view
                .iter()
                .for_each(|i| add(&format!("file{i}"), *i));
        }
        let k = target
            .strip_prefix('c')
            .and_then(|k| k.parse::<usize>().ok());
        let consumer = k.and_then(|k| scenario.consumers.get(k));
        for input in consumer.map(|c| c.inputs.as_slice()).unwrap_or(&[]) {
            match input {
                Input::File(i) => add(&format!("file{i}"), *i),
                Input::View => scenario
                    .view
                    .iter()
                    .for_each(|i| add(&format!("file{i}"), *i)),
                Input::Glob => (0..scenario.files.len())
                    .filter(|i| scenario.files[*i].globbed)
                    .for_each(|i| add("glob", i)),
                Input::Consumer(_) => {}
            }
        }
        if let (Some(c), Some(e)) = (consumer, scenario.exposed()) {
            if c.plugin {
                add(target, e);
            }
        }
        keys
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
            "invalid_data" => sources.iter().any(|(_, p)| shadow.suspect.contains(p)),
            "not_found" => sources.iter().any(|(_, p)| shadow.vanished.contains(p)),
            _ => false,
        };
        if !justified {
            self.fail(
                Invariant::NoFalseAlarms,
                format!("{target} failed ({kind}) though none of its sources changed: {message}"),
            );
        }
    }

    fn check_gating(&mut self, scenario: &Scenario, out: &BuildOutput, events: &[Event]) {
        for event in events {
            match event {
                Event::Passthrough { target, group } if packs(scenario, target) => self.fail(
                    Invariant::Gating,
                    format!("{target} output {group} passed through; SPEC §4 says it packs"),
                ),
                Event::CacheWriteStart { target, .. } if !packs(scenario, target) => self.fail(
                    Invariant::Gating,
                    format!("{target} wrote the cache though all its outputs pass through"),
                ),
                _ => {}
            }
        }
        for (name, result) in &out.results {
            let consumer = name.starts_with('c');
            if packs(scenario, name) && !result.cache_hit && result.cache_key.is_none() {
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

    /// An exec or plugin target that ran must have deleted its sandbox after caching.
    fn check_sandboxes(&mut self, out: &BuildOutput, engine: &Engine) {
        for (name, result) in out
            .results
            .iter()
            .filter(|(n, r)| n.starts_with('c') && !r.cache_hit)
        {
            let sandbox = engine.sandbox_dir(name);
            if engine.ctx().fs.exists(&sandbox) {
                self.fail(
                    Invariant::Gating,
                    format!(
                        "{name}'s sandbox {} was kept after caching",
                        sandbox.display()
                    ),
                );
            }
            if let Some(a) = result
                .artifacts
                .iter()
                .find(|a| !matches!(a.content, Content::Tar(_)))
            {
                self.fail(
                    Invariant::Gating,
                    format!(
                        "{name}'s output {} was not packed ({})",
                        a.group,
                        a.content.kind_name()
                    ),
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
            // The walker cache is keyed by path: its answer comes from the latest hash of it.
            let Some(key) = shadow.latest(path) else {
                continue;
            };
            let mode = if racy { "racy walker" } else { "heph walker" };
            if racy && shadow.racy_at_start.contains(&key) {
                let message = format!("racy walker trusted {} although its mtime is within the granularity of when it was hashed: a stale hash", path.display());
                self.fail(Invariant::NoFalseAlarms, message);
            }
            if shadow.stale_bytes_at_start.contains(&key) {
                let message = format!("{mode}: {} changed with size and mtime kept; its stale hash is used, so consumers fail as \"modified mid-build\" on every build", path.display());
                self.findings.push(Finding {
                    kind: "stale_walker_hash".into(),
                    message,
                });
            } else if shadow.stale_x_at_start.contains(&key) {
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
