//! Running one schedule: set up the workspace, build twice with mutations firing at their
//! points, and let the oracle judge each build.

use std::path::Path;
use std::sync::Arc;

use engine::fs::{DiskFs, Fs, MemFs, MemFsConfig};
use engine::trace::Trace;
use engine::{Blocking, BuildOutput, Ctx, Engine, EngineConfig, Event, Graph};
use serde::{Deserialize, Serialize};

use crate::journal::Journal;
use crate::observer::{Fired, SimObserver};
use crate::oracle::hashing::oracle_hashout;
use crate::oracle::{Broken, BuildInput, Finding, Invariant, Oracle};
use crate::panics;
use crate::scenario::{BuildMode, Scenario};

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

/// A schedule's file system: the trait object the engine uses, the MemFs handle (whose clock the
/// schedule moves between builds), and the temporary directory a DiskFs lives in.
struct Made {
    fs: Arc<dyn Fs>,
    mem: Option<MemFs>,
    _dir: Option<tempfile::TempDir>,
}

fn make_fs(kind: FsKind, racy: bool, granularity_ns: u64) -> Result<Made, String> {
    match kind {
        FsKind::Mem => {
            let granularity = match (granularity_ns, racy) {
                (0, true) => RACY_MTIME_GRANULARITY_NS,
                (0, false) => 1,
                (chosen, _) => chosen,
            };
            let config = MemFsConfig {
                mtime_granularity_ns: granularity,
                ..MemFsConfig::default()
            };
            let mem = MemFs::new(config);
            Ok(Made {
                fs: Arc::new(mem.clone()),
                mem: Some(mem),
                _dir: None,
            })
        }
        FsKind::Disk => {
            let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
            let fs =
                DiskFs::new(dir.path()).map_err(|e| format!("{}: {e}", dir.path().display()))?;
            Ok(Made {
                fs: Arc::new(fs),
                mem: None,
                _dir: Some(dir),
            })
        }
    }
}

/// How long a pause before each build lasts on MemFs's clock: past the racy rule's granularity.
pub const PAUSE_NS: u64 = 2 * RACY_MTIME_GRANULARITY_NS;

/// A current-thread tokio runtime for an async build mode, whose threads' panics are captured.
fn runtime(mode: BuildMode) -> Result<Option<tokio::runtime::Runtime>, String> {
    if mode == BuildMode::Sync {
        return Ok(None);
    }
    tokio::runtime::Builder::new_current_thread()
        .on_thread_start(panics::quiet_thread)
        .build()
        .map(Some)
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
}

/// Writes the scenario's files (and symlinks) into `fs`.
pub fn populate(fs: &dyn Fs, scenario: &Scenario) -> Result<(), String> {
    let err = |path: &str, e: std::io::Error| format!("setting up {path}: {e}");
    for (i, file) in scenario.files.iter().enumerate() {
        let path = scenario.path(i);
        if let Some(j) = file.link_to {
            let dir = Path::new(&path).parent().unwrap_or(Path::new(""));
            let target = crate::structural::relative(dir, Path::new(&scenario.path(j)));
            fs.create_dir_all(dir).map_err(|e| err(&path, e))?;
            fs.symlink(&target, Path::new(&path))
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
    let made = make_fs(options.fs, options.racy, scenario.granularity_ns)?;
    let fs = made.fs.clone();
    populate(&*fs, scenario)?;
    let blocking = match scenario.build {
        BuildMode::AsyncSpawnBlocking => Blocking::SpawnBlocking,
        _ => Blocking::Inline,
    };
    let config = EngineConfig {
        racy_walker: options.racy,
        blocking,
        ..EngineConfig::default()
    };
    let runtime = runtime(scenario.build)?;
    let trace = Arc::new(Trace::new());
    let tamper = options.variant == Variant::TamperDelivered;
    let sandbox_root = config.state_dir.join("sandbox");
    let observer = Arc::new(SimObserver::new(
        scenario,
        trace.clone(),
        &sandbox_root,
        made._dir.as_ref().map(|d| d.path()),
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
        if scenario.pause {
            // Time passes before each build: after the workspace was written (so its files are
            // old when first hashed, as in a real checkout) and between the builds.
            if let Some(mem) = &made.mem {
                mem.advance_clock(PAUSE_NS);
            }
        }
        let built = panics::catch(|| {
            observer.start_build(build, &*fs);
            match &runtime {
                Some(rt) => rt.block_on(engine.build("all")),
                None => engine.build_sync("all"),
            }
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
