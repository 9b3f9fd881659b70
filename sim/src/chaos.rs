//! Chaos mode on DiskFs: a real thread mutates workspace files while the engine runs. Not
//! deterministic; only integrity is judged, from hashes alone: every delivered passthrough entry
//! must hash (with its delivered exec bit) to the hashout the engine recorded for its source.

use crate::rng::Choices;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::fs::DiskFs;
use engine::{Ctx, Engine, EngineConfig, Event, Graph};

use crate::campaign::timing;
use crate::mutation::{apply, MutationKind, World};
use crate::oracle::hashing::oracle_hashout;
use crate::oracle::Invariant;
use crate::report::{Report, Violation};
use crate::rng::Rng;
use crate::scenario::{generate, Input, Scenario};
use crate::schedule::populate;

/// A hashed source: the target that hashed it and the workspace path.
type Source = (String, PathBuf);

fn source(target: &str, path: &std::path::Path) -> Source {
    (target.to_string(), path.to_path_buf())
}

/// Which source (hashing target, workspace path) provides the entry `path` that consumer `k`
/// received: its View (`lib/…`, or deeper when nested), one of its fs:file inputs, or its glob
/// (a globbed file with an fs:file of its own is that target's when the consumer takes it).
fn provider(scenario: &Scenario, k: usize, path: &std::path::Path) -> Option<Source> {
    for (prefix, files) in scenario.view_prefixes() {
        let Ok(inner) = path.strip_prefix(&prefix) else {
            continue;
        };
        let found = files
            .into_iter()
            .find(|&i| std::path::Path::new(&scenario.path(i)) == inner);
        if let Some(i) = found {
            return Some(source(&format!("file{i}"), inner));
        }
    }
    let i = (0..scenario.files.len()).find(|&i| std::path::Path::new(&scenario.path(i)) == path)?;
    let takes_file =
        (scenario.consumers.get(k)).is_some_and(|c| c.inputs.contains(&Input::File(i)));
    let target = match scenario.files[i].globbed && !takes_file {
        true => "glob".to_string(),
        false => format!("file{i}"),
    };
    Some(source(&target, path))
}

/// How a chaos schedule's engine panic is reported (its invariant is `panic`).
const PANIC_PREFIX: &str = "the engine panicked: ";

/// At most this many mutations per chaos schedule.
pub const MAX_CHAOS_MUTATIONS: usize = 64;

fn mutator(fs: Arc<DiskFs>, paths: Vec<PathBuf>, mut rng: Rng, stop: Arc<AtomicBool>) -> usize {
    let mut applied = 0;
    while !stop.load(Ordering::Relaxed) && applied < MAX_CHAOS_MUTATIONS {
        let path = rng.pick(&paths).clone();
        let kinds: Vec<MutationKind> = MutationKind::ALL
            .into_iter()
            .filter(|k| !k.on_engine())
            .collect();
        let kind = *rng.pick(&kinds);
        let world = World {
            paths: &paths,
            disk_root: Some(fs.root()),
            state_dir: Path::new(".heph"),
            target: "",
            faults: None,
            pick: 0,
            originals: &[],
            packing: false,
        };
        if apply(&*fs, &path, kind, &world).is_ok() {
            applied += 1;
        }
        std::thread::sleep(Duration::from_micros(rng.below(200)));
    }
    applied
}

/// Checks one build's deliveries against the hashouts in its trace: each delivered passthrough
/// entry must hash to what the target that provided it recorded for it.
fn check(scenario: &Scenario, out: &engine::BuildOutput, events: &[Event]) -> Vec<String> {
    let mut hashed: BTreeMap<Source, &str> = BTreeMap::new();
    let mut current = "";
    for event in events {
        match event {
            Event::Hashin { target, .. } => current = target,
            Event::Hash { path, hashout, .. } => {
                hashed.insert(source(current, path), hashout);
            }
            _ => {}
        }
    }
    let mut broken = Vec::new();
    for (name, result) in &out.results {
        let Some(k) = name.strip_prefix('c').and_then(|k| k.parse::<usize>().ok()) else {
            continue;
        };
        for item in &result.delivered {
            let Some(expected) =
                provider(scenario, k, &item.path).and_then(|key| hashed.get(&key).copied())
            else {
                continue;
            };
            let got = oracle_hashout(&item.data, item.x);
            if got != expected {
                broken.push(format!(
                    "{name} received {} hashing to {got}, but {expected} was hashed",
                    item.path.display()
                ));
            }
        }
    }
    broken
}

fn one(scenario: &Scenario, rng: Rng, root: &Path) -> Result<(Vec<String>, String), String> {
    let dir = tempfile::tempdir_in(root)
        .map_err(|e| format!("cannot create a temp dir in {}: {e}", root.display()))?;
    let fs = Arc::new(DiskFs::new(dir.path()).map_err(|e| e.to_string())?);
    populate(&*fs, scenario)?;
    let paths: Vec<PathBuf> = (0..scenario.files.len())
        .map(|i| PathBuf::from(scenario.path(i)))
        .collect();
    let engine = Engine::new(
        Ctx::new(fs.clone()),
        Graph::new(scenario.targets()).map_err(|e| e.to_string())?,
        EngineConfig::default(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let (fs, stop) = (fs.clone(), stop.clone());
        std::thread::spawn(move || mutator(fs, paths, rng, stop))
    };
    let built = crate::panics::catch(|| engine.build_sync("all"));
    stop.store(true, Ordering::Relaxed);
    handle
        .join()
        .map_err(|_| "mutator thread panicked".to_string())?;
    let out = match built {
        Ok(out) => out,
        Err(message) => {
            let panic = format!("{PANIC_PREFIX}{message}");
            return Ok((vec![panic], "panic".to_string()));
        }
    };
    let broken = check(scenario, &out, &engine.ctx().trace.take());
    let outcome = out
        .failure
        .map_or("ok".to_string(), |f| f.error.name().to_string());
    Ok((broken, outcome))
}

/// Runs `schedules` chaos schedules from `seed`, each in a fresh directory under `TMPDIR`.
pub fn chaos(seed: u64, schedules: u64) -> Report {
    chaos_in(seed, schedules, &std::env::temp_dir())
}

/// Runs `schedules` chaos schedules from `seed`, each in a fresh directory under `root`. A
/// schedule that cannot be set up is a `harness` violation.
pub fn chaos_in(seed: u64, schedules: u64, root: &Path) -> Report {
    let started = Instant::now();
    let mut report = Report {
        mode: "chaos".into(),
        seed,
        schedules,
        fs: "disk".into(),
        ..Report::default()
    };
    for index in 0..schedules {
        let mut scenario = generate(seed, index);
        // The mutator is the chaos; a graph defect would only refuse the build.
        scenario.mutations.clear();
        scenario.defect = None;
        let rng = Rng::for_schedule(seed ^ 0xc4a05, index);
        match one(&scenario, rng, root) {
            Ok((broken, outcome)) => {
                *report.outcomes.entry(outcome).or_insert(0) += 1;
                for message in broken {
                    let replay = format!("sim chaos --seed {seed} --schedules {} (schedule {index}, not deterministic)", index + 1);
                    let invariant = if message.starts_with(PANIC_PREFIX) {
                        Invariant::Panic
                    } else {
                        Invariant::Integrity
                    };
                    report.add_violation(Violation {
                        schedule: index,
                        fs: "disk".into(),
                        invariant,
                        message,
                        replay,
                        shrunk: None,
                    });
                }
            }
            // A schedule the harness could not set up judged nothing: a violation, never an
            // outcome that a run with 0 violations would hide.
            Err(message) => report.add_violation(Violation {
                schedule: index,
                fs: "disk".into(),
                invariant: Invariant::Harness,
                message: format!("chaos schedule {index} could not be set up or run: {message}"),
                replay: format!("sim chaos --seed {seed} --schedules {}", index + 1),
                shrunk: Some(scenario),
            }),
        }
    }
    report.timing = timing(started, schedules);
    report
}
