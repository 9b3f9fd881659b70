//! Running one schedule: set up the workspace, build twice with mutations firing at their
//! points, and let the oracle judge each build.

use std::path::Path;
use std::sync::Arc;

use engine::fs::{DiskFs, Fs, MemFs, MemFsConfig};
use engine::trace::Trace;
use engine::walker::Policy;
use engine::{Blocking, BuildOutput, Ctx, Engine, EngineConfig, Event, Graph, Target};
use serde::{Deserialize, Serialize};

use crate::faults::{FaultFs, Faults};
use crate::journal::Journal;
use crate::observer::{Fired, Setup, SimObserver};
use crate::oracle::hashing::oracle_hashout;
use crate::oracle::ledger::Check;
use crate::oracle::{Broken, BuildInput, Finding, Invariant, Oracle};
use crate::panics;
use crate::scenario::{BuildMode, Scenario};

/// Which file system a schedule runs on.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum FsKind {
    /// The in-memory MemFs.
    #[default]
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
    /// A cell of the validation-policy matrix: its walker policy and timestamp granularity
    /// replace the racy flag's and the scenario's, and MemFs reuses inode numbers.
    pub cell: Option<PolicyCell>,
    /// Fill `ScheduleResult::deliveries` (what a differential run compares).
    pub digest: bool,
}

/// One cell of the validation-policy matrix (`sim policies`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PolicyCell {
    /// The walker's validation rule.
    pub policy: Policy,
    /// MemFs's timestamp granularity.
    pub granularity_ns: u64,
}

impl RunOptions {
    /// The walker policy a schedule runs under.
    pub fn policy(&self) -> Policy {
        match (self.cell, self.racy) {
            (Some(cell), _) => cell.policy,
            (None, true) => Policy::Racy,
            (None, false) => Policy::Heph,
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            fs: FsKind::Mem,
            racy: false,
            variant: Variant::Reference,
            keep_trace: false,
            cell: None,
            digest: false,
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
    /// What the walker did and what it cost (the validation-policy matrix reads it).
    pub walker: WalkerTally,
    /// The first build whose glob walk trusted a stale directory listing, if any.
    #[serde(skip)]
    pub stale_listing_build: Option<u8>,
    /// A file-system-independent digest of what each consumer received (for differential runs;
    /// empty unless `RunOptions::digest`).
    pub deliveries: Vec<String>,
    /// What the oracle judged (checks fired and skipped, targets reached and judged).
    #[serde(skip)]
    pub ledger: crate::oracle::ledger::Ledger,
    /// The event trace, when asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<Vec<Event>>,
}

/// What the walker did in one schedule, as the oracle judged it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WalkerTally {
    /// `stat` calls before a hash (hash acts).
    pub stats: u64,
    /// Files read and hashed.
    pub fresh_hashes: u64,
    /// Bytes those reads hashed.
    pub bytes_hashed: u64,
    /// Answers from the cache.
    pub cached_answers: u64,
    /// Cached answers whose remembered bytes were not the file's (false hits).
    pub stale_answers: u64,
    /// Glob walks that trusted a stale directory listing (heph's listing cache: a file created
    /// within one timestamp step of the listing left out).
    pub stale_listings: u64,
    /// Builds that succeeded although one of their answers was stale: stale content delivered
    /// (cached outputs of old bytes), since a consumer that reads a source verifies it.
    pub stale_delivered: u64,
}

impl WalkerTally {
    /// Adds `other` to this tally.
    pub fn add(&mut self, other: &WalkerTally) {
        self.stats += other.stats;
        self.fresh_hashes += other.fresh_hashes;
        self.bytes_hashed += other.bytes_hashed;
        self.cached_answers += other.cached_answers;
        self.stale_answers += other.stale_answers;
        self.stale_listings += other.stale_listings;
        self.stale_delivered += other.stale_delivered;
    }
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

fn make_fs(kind: FsKind, options: &RunOptions, scenario: &Scenario) -> Result<Made, String> {
    match kind {
        FsKind::Mem => {
            let granularity = match (options.cell, scenario.granularity_ns, options.racy) {
                (Some(cell), _, _) => cell.granularity_ns,
                (None, 0, true) => RACY_MTIME_GRANULARITY_NS,
                (None, 0, false) => 1,
                (None, chosen, _) => chosen,
            };
            let config = MemFsConfig {
                mtime_granularity_ns: granularity,
                reuse_inodes: options.cell.is_some(),
                // Compared with a real disk: read as this process reads there.
                privileged: options.digest && disk_reads_unreadable(),
                clock_resolution_ns: scenario.clock_ns,
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

/// True when this process reads a file with no read bit on the disk under `TMPDIR` (as root
/// does): a differential run's MemFs must then read such files too, so that both file systems
/// give the same outcomes. Found out once, by trying.
pub fn disk_reads_unreadable() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let Ok(dir) = tempfile::tempdir() else {
            return false;
        };
        let path = dir.path().join("mode-000");
        let made = std::fs::write(&path, b"x")
            .and_then(|_| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)));
        made.is_ok() && std::fs::read(&path).is_ok()
    })
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
        fs.set_mode(Path::new(&path), file.mode_bits())
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

/// Everything a schedule builds with: the file system as it is, the engine (over the same file
/// system, through faults when the scenario injects any), the observer and the oracle.
struct World {
    made: Made,
    faults: Option<Faults>,
    /// Counts the engine's steps and records what torn hash acts read.
    tap: Arc<crate::tap::Tap>,
    observer: Arc<SimObserver>,
    /// What the engine is given: the targets its constructors made.
    targets: Vec<Target>,
    /// What the oracle judges against: the scenario's own definitions of the same targets.
    defined: Vec<Target>,
    config: EngineConfig,
    runtime: Option<tokio::runtime::Runtime>,
    /// Digest what consumers received (only a differential run compares digests).
    digest: bool,
}

impl World {
    fn new(scenario: &Scenario, options: &RunOptions) -> Result<World, String> {
        let made = make_fs(options.fs, options, scenario)?;
        populate(&*made.fs, scenario)?;
        let blocking = match scenario.build {
            BuildMode::AsyncSpawnBlocking => Blocking::SpawnBlocking,
            _ => Blocking::Inline,
        };
        let mut config = EngineConfig {
            walker: options.policy(),
            blocking,
            ..EngineConfig::default()
        };
        if scenario.spill {
            config.tmp_limits.per_entry = crate::scenario::SPILL_LIMIT;
        }
        if let Some((per_entry, total)) = scenario.tmp_limits {
            config.tmp_limits = engine::cache::TmpLimits { per_entry, total };
        }
        let faults = scenario
            .mutations
            .iter()
            .any(|m| m.kind.on_engine())
            .then(|| Faults::new(&config.state_dir));
        let tap = Arc::new(crate::tap::Tap::new(
            crate::tap::MAX_STEPS,
            &config.state_dir,
        ));
        let observer = Arc::new(SimObserver::new(Setup {
            scenario,
            trace: Arc::new(Trace::new()),
            state_dir: &config.state_dir,
            disk_root: made._dir.as_ref().map(|d| d.path()),
            tamper: options.variant == Variant::TamperDelivered,
            fs: made.fs.clone(),
            faults: faults.clone(),
            tap: tap.clone(),
            clock: made.mem.clone(),
        }));
        Ok(World {
            tap,
            digest: options.digest,
            runtime: runtime(scenario.build)?,
            targets: scenario.targets(),
            defined: scenario.defined_targets(),
            made,
            faults,
            observer,
            config,
        })
    }

    /// A fresh engine (a new process: empty walker and tmp cache) over the schedule's files.
    fn engine(&self) -> Result<Arc<Engine>, String> {
        let fs: Arc<dyn Fs> = match &self.faults {
            Some(faults) => Arc::new(FaultFs::new(self.made.fs.clone(), faults.clone())),
            None => self.made.fs.clone(),
        };
        let fs: Arc<dyn Fs> = Arc::new(crate::tap::TapFs::new(fs, self.tap.clone()));
        let ctx = Ctx {
            fs,
            observer: self.observer.clone(),
            trace: self.observer.trace(),
            reads_unverified: false, // consumers' readers follow the policy
        };
        let graph = Graph::new(self.targets.clone()).map_err(|e| e.to_string())?;
        Ok(Engine::new(ctx, graph, self.config.clone()))
    }

    /// Runs build `build` of `engine`: `Err` with the panic's message if it panicked.
    fn build(&self, engine: &Arc<Engine>, build: u8, pause: bool) -> Result<BuildOutput, String> {
        if pause {
            // Time passes before each build: after the workspace was written (so its files are
            // old when first hashed, as in a real checkout) and between the builds.
            if let Some(mem) = &self.made.mem {
                mem.advance_clock(PAUSE_NS);
            }
        }
        panics::catch(|| {
            self.observer.start_build(build);
            match &self.runtime {
                Some(rt) => rt.block_on(engine.build("all")),
                None => engine.build_sync("all"),
            }
        })
    }
}

/// At most this many builds in one schedule: two (three with `Scenario::third_build`), and one
/// more by a fresh engine after a crash.
pub const MAX_BUILDS: u8 = 4;

/// Runs one schedule: two builds of every consumer, mutations at their points, oracle after each.
/// A panic of the engine or of the oracle ends the schedule with an `invariant: panic` violation;
/// a simulated crash instead restarts the engine, which then builds a third time.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<ScheduleResult, String> {
    scenario.validate()?;
    let world = World::new(scenario, options)?;
    let mut oracle = Oracle::default();
    let mut result = ScheduleResult::default();
    oracle.verdicts.ledger.fired(Check::Definitions);
    for (invariant, message) in
        crate::targets::constructor_disagreements(&world.targets, &world.defined)
    {
        oracle.verdicts.fail(invariant, message);
    }
    if let Some(refused) = judge_refusal(&world, &mut oracle) {
        // Neither build can run: each has the refusal for its outcome.
        result.outcomes = vec![refused.clone(), refused];
        result.ledger = std::mem::take(&mut oracle.verdicts.ledger);
        result.broken = oracle.verdicts.broken;
        return Ok(result);
    }
    let mut engine = world.engine()?;
    let planned = if scenario.third_build { 3 } else { 2 };
    let mut builds = planned;
    let mut build = 1;
    let mut stale_before = 0;
    while build <= builds {
        assert!(
            build <= MAX_BUILDS,
            "a schedule has at most {MAX_BUILDS} builds"
        );
        let built = world.build(&engine, build, scenario.pause);
        let events = engine.ctx().trace.take();
        // Judging part of a build as if it were all of it would leave the rest unjudged.
        let dropped = engine.ctx().trace.dropped();
        if dropped > 0 {
            let message = format!("the engine's trace dropped {dropped} events by build {build} (over {} kept): the oracle would judge part of the build", engine::trace::MAX_EVENTS);
            oracle.verdicts.fail(Invariant::Harness, message);
        }
        let crashed = world.faults.as_ref().is_some_and(Faults::take_crash);
        let out = match built {
            // However the unwinding surfaced (a panic, a failed blocking task), the budget
            // decides: a schedule that spent it hangs.
            _ if world.tap.spent() => {
                result.outcomes.push("hang".into());
                result.errors.push(crate::tap::BUDGET_SPENT.into());
                let message = format!(
                    "build {build} made more than {} file-system steps: the engine hangs or loops",
                    crate::tap::MAX_STEPS
                );
                oracle.verdicts.fail(Invariant::Hang, message);
                break;
            }
            // A crash inside spawn_blocking comes back as a failed task, not as a panic.
            _ if crashed => {
                result.outcomes.push("crash".into());
                result.errors.push(crate::faults::CRASH.into());
                if options.keep_trace {
                    result.trace.push(events);
                }
                judge_crashed(&world, &engine, &mut oracle, build);
                engine = world.engine()?;
                oracle.restart();
                builds = planned + 1;
                build += 1;
                continue;
            }
            Err(message) => {
                result.outcomes.push("panic".into());
                result.errors.push(message.clone());
                let message = format!("the engine panicked in build {build}: {message}");
                oracle.verdicts.fail(Invariant::Panic, message);
                break;
            }
            Ok(out) => out,
        };
        judge(
            &world,
            &engine,
            &mut oracle,
            &mut result,
            build,
            &out,
            &events,
        );
        let (name, message) = outcome(&out);
        let stale_now = oracle.stale_uses();
        if name == "ok" && stale_now > stale_before {
            result.walker.stale_delivered += 1;
        }
        stale_before = stale_now;
        result.outcomes.push(name);
        result.errors.push(message);
        if options.keep_trace {
            result.trace.push(events);
        }
        build += 1;
    }
    result.walker.cached_answers = oracle.cached_answers();
    result.walker.stale_answers = oracle.stale_answers();
    result.walker.stale_listings = oracle.listings.stale_listings;
    result.stale_listing_build = oracle.listings.first_stale_build;
    world.observer.with_journal(|journal| {
        for act in &journal.acts {
            result.walker.stats += 1;
            if act.fresh.is_some() {
                result.walker.fresh_hashes += 1;
                result.walker.bytes_hashed += act.stat.map_or(0, |s| s.len);
            }
        }
    });
    result.ledger = std::mem::take(&mut oracle.verdicts.ledger);
    result.broken = oracle.verdicts.broken;
    result.findings = oracle.verdicts.findings;
    result.fired = world.observer.fired();
    Ok(result)
}

/// Whether the engine refuses the scenario's graph as a whole, judged against the oracle's own
/// planning (duplicate names, unknown inputs): `Some(outcome)` when either refuses, with any
/// disagreement a violation; `None` when both accept it and the builds can run.
fn judge_refusal(world: &World, oracle: &mut Oracle) -> Option<String> {
    let engine = Graph::new(world.targets.clone());
    let model = crate::oracle::plan::refused(&world.defined);
    if engine.is_err() || model.is_some() {
        oracle
            .verdicts
            .ledger
            .fired(crate::oracle::ledger::Check::Plan);
    }
    match (engine, model) {
        (Ok(_), None) => None,
        (Err(_), Some(_)) => Some("graph_refused".into()),
        (Err(e), None) => {
            let message = format!("the engine refused a valid graph: {e}");
            oracle.verdicts.fail(Invariant::NoFalseAlarms, message);
            Some("graph_refused".into())
        }
        (Ok(_), Some(why)) => {
            let message = format!("the engine accepted a graph it must refuse: {why}");
            oracle.verdicts.fail(Invariant::Integrity, message);
            Some("graph_accepted".into())
        }
    }
}

/// Runs `judge` on what the oracle sees of one build, under `catch_unwind`: a panic of the
/// oracle comes back as its message.
fn judged<T>(
    world: &World,
    engine: &Engine,
    build: u8,
    (out, events): (&BuildOutput, &[Event]),
    judge: impl FnOnce(&BuildInput, &Journal) -> T,
) -> Result<T, String> {
    let fired = world.faults.as_ref().map(Faults::fired).unwrap_or_default();
    panics::catch(|| {
        world.tap.with_seen(|seen| {
            world.observer.with_journal(|journal| {
                let input = BuildInput {
                    targets: &world.defined,
                    root: "all",
                    build,
                    policy: world.config.walker,
                    out,
                    events,
                    journal,
                    fs: &*world.made.fs,
                    store: engine.store(),
                    tmp_limits: world.config.tmp_limits,
                    seen,
                    state_dir: &world.config.state_dir,
                    faults: &fired,
                };
                judge(&input, journal)
            })
        })
    })
}

/// Lets the oracle judge what a crashed build completed (a panic of the oracle is a violation).
fn judge_crashed(world: &World, engine: &Engine, oracle: &mut Oracle, build: u8) {
    let out = BuildOutput::default();
    let verdict = judged(world, engine, build, (&out, &[]), |input, _| {
        oracle.check_crashed(input)
    });
    if let Err(message) = verdict {
        let message = format!("the oracle panicked judging crashed build {build}: {message}");
        oracle.verdicts.fail(Invariant::Panic, message);
    }
}

/// Lets the oracle judge one build (a panic of the oracle is a violation too).
#[allow(clippy::too_many_arguments)]
fn judge(
    world: &World,
    engine: &Engine,
    oracle: &mut Oracle,
    result: &mut ScheduleResult,
    build: u8,
    out: &BuildOutput,
    events: &[Event],
) {
    let verdict = judged(world, engine, build, (out, events), |input, journal| {
        oracle.check_build(input);
        match world.digest {
            true => deliveries(journal, build),
            false => Vec::new(),
        }
    });
    match verdict {
        Ok(digest) => result.deliveries.extend(digest),
        Err(message) => {
            let message = format!("the oracle panicked judging build {build}: {message}");
            oracle.verdicts.fail(Invariant::Panic, message);
        }
    }
}
