//! Running one schedule: set up the workspace, build twice with mutations firing at their
//! points, and let the oracle judge each build.

use std::path::Path;
use std::sync::Arc;

use engine::fs::{DiskFs, Fs, MemFs, MemFsConfig};
use engine::trace::Trace;
use engine::{BuildOutput, Ctx, Engine, EngineConfig, Event, Graph};
use serde::{Deserialize, Serialize};

use crate::journal::Journal;
use crate::observer::{Fired, SimObserver};
use crate::oracle::hashing::oracle_hashout;
use crate::oracle::{Broken, BuildInput, Finding, Invariant, Oracle};
use crate::panics;
use crate::scenario::Scenario;

/// Which file system a schedule runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FsKind {
    /// The in-memory MemFs.
    Mem,
    /// A real temporary directory.
    Disk,
}

/// What engine the schedule runs against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// The reference engine as it is.
    #[default]
    Reference,
    /// The reference engine with one byte of a materialized sandbox file flipped after its
    /// materialization (as an engine bug writing wrong bytes would): the oracle must catch it.
    /// For the harness's own tests; not reachable from the command line.
    TamperDelivered,
}

/// How to run a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// File system.
    pub fs: FsKind,
    /// Git-style racy walker cache.
    pub racy: bool,
    /// Engine under test.
    pub variant: Variant,
    /// Keep the full event trace in the result.
    pub keep_trace: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            fs: FsKind::Mem,
            racy: false,
            variant: Variant::Reference,
            keep_trace: false,
        }
    }
}

/// Everything one schedule did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScheduleResult {
    /// Outcome of each build: `ok` or `target:error_name`.
    pub outcomes: Vec<String>,
    /// Error messages of failed builds.
    pub errors: Vec<String>,
    /// Broken invariants.
    pub broken: Vec<Broken>,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Mutations that fired.
    pub fired: Vec<Fired>,
    /// Hash answers the walker gave from its cache, without reading the file.
    pub cached_answers: u64,
    /// A file-system-independent digest of what each consumer received (for differential runs).
    pub deliveries: Vec<String>,
    /// The event trace, when asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<Vec<Event>>,
}

/// MemFs mtime granularity in racy mode: one second, like coarse file systems, where git's racy
/// rule matters. (heph mode keeps nanosecond mtimes.)
pub const RACY_MTIME_GRANULARITY_NS: u64 = 1_000_000_000;

fn make_fs(kind: FsKind, racy: bool) -> Result<(Arc<dyn Fs>, Option<tempfile::TempDir>), String> {
    match kind {
        FsKind::Mem => {
            let granularity = if racy { RACY_MTIME_GRANULARITY_NS } else { 1 };
            let config = MemFsConfig {
                mtime_granularity_ns: granularity,
                ..MemFsConfig::default()
            };
            Ok((Arc::new(MemFs::new(config)), None))
        }
        FsKind::Disk => {
            let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
            let fs =
                DiskFs::new(dir.path()).map_err(|e| format!("{}: {e}", dir.path().display()))?;
            Ok((Arc::new(fs), Some(dir)))
        }
    }
}

/// Writes the scenario's files (and symlinks) into `fs`.
pub fn populate(fs: &dyn Fs, scenario: &Scenario) -> Result<(), String> {
    let err = |path: &str, e: std::io::Error| format!("setting up {path}: {e}");
    for (i, file) in scenario.files.iter().enumerate() {
        let path = scenario.path(i);
        if let Some(j) = file.link_to {
            let target = scenario.path(j);
            let name = Path::new(&target).file_name().unwrap_or_default();
            fs.create_dir_all(Path::new("src"))
                .map_err(|e| err(&path, e))?;
            fs.symlink(Path::new(name), Path::new(&path))
                .map_err(|e| err(&path, e))?;
            continue;
        }
        fs.write(Path::new(&path), &file.bytes())
            .map_err(|e| err(&path, e))?;
        fs.set_mode(Path::new(&path), if file.x { 0o755 } else { 0o644 })
            .map_err(|e| err(&path, e))?;
    }
    Ok(())
}

fn outcome(out: &BuildOutput) -> (String, String) {
    match &out.failure {
        None => ("ok".into(), String::new()),
        Some(f) => (
            format!("{}:{}", f.target, f.error.name()),
            f.error.to_string(),
        ),
    }
}

/// A file-system-independent digest of what each consumer's sandbox received in `build`.
fn deliveries(journal: &Journal, build: u8) -> Vec<String> {
    let mut digest = Vec::new();
    for snapshot in journal.snapshots.iter().filter(|s| s.build == build) {
        for (path, (bytes, x)) in &snapshot.entries {
            digest.push(format!(
                "b{build} {} {} x={x} {}",
                snapshot.consumer,
                path.display(),
                oracle_hashout(bytes, false)
            ));
        }
    }
    digest
}

/// Runs one schedule: two builds of every consumer, mutations at their points, oracle after each.
/// A panic of the engine or of the oracle ends the schedule with an `invariant: panic` violation.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<ScheduleResult, String> {
    scenario.validate()?;
    let (fs, _dir) = make_fs(options.fs, options.racy)?;
    populate(&*fs, scenario)?;
    let config = EngineConfig {
        racy_walker: options.racy,
        ..EngineConfig::default()
    };
    let trace = Arc::new(Trace::new());
    let tamper = options.variant == Variant::TamperDelivered;
    let sandbox_root = config.state_dir.join("sandbox");
    let observer = Arc::new(SimObserver::new(
        scenario,
        trace.clone(),
        &sandbox_root,
        tamper,
    ));
    let ctx = Ctx {
        fs: fs.clone(),
        observer: observer.clone(),
        trace,
    };
    let targets = scenario.targets();
    let graph = Graph::new(targets.clone()).map_err(|e| e.to_string())?;
    let state_dir = config.state_dir.clone();
    let engine = Engine::new(ctx, graph, config);
    let mut oracle = Oracle::default();
    let mut result = ScheduleResult::default();
    for build in 1..=2u8 {
        let built = panics::catch(|| {
            observer.start_build(build, &*fs);
            engine.build_sync("all")
        });
        let events = engine.ctx().trace.take();
        let out = match built {
            Ok(out) => out,
            Err(message) => {
                result.outcomes.push("panic".into());
                result.errors.push(message.clone());
                let message = format!("the engine panicked in build {build}: {message}");
                oracle.verdicts.fail(Invariant::Panic, message);
                break;
            }
        };
        let judged = panics::catch(|| {
            observer.with_journal(|journal| {
                let input = BuildInput {
                    targets: &targets,
                    root: "all",
                    build,
                    racy: options.racy,
                    out: &out,
                    events: &events,
                    journal,
                    fs: &*fs,
                    store: engine.store(),
                    state_dir: &state_dir,
                };
                oracle.check_build(&input);
                deliveries(journal, build)
            })
        });
        match judged {
            Ok(digest) => result.deliveries.extend(digest),
            Err(message) => {
                let message = format!("the oracle panicked judging build {build}: {message}");
                oracle.verdicts.fail(Invariant::Panic, message);
            }
        }
        let (name, message) = outcome(&out);
        result.outcomes.push(name);
        result.errors.push(message);
        if options.keep_trace {
            result.trace.push(events);
        }
    }
    result.cached_answers = oracle.cached_answers();
    result.broken = oracle.verdicts.broken;
    result.findings = oracle.verdicts.findings;
    result.fired = observer.fired();
    Ok(result)
}
