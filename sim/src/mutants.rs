//! The kill matrix: for each seeded regression of the engine, campaigns until the first
//! violation or a budget, reporting which invariant caught it, how fast, and the shrunk scenario.
//! Built only with the `regressions` feature.

use std::time::Instant;

use engine::regress::{self, Regression};
use serde::Serialize;

use crate::exhaustive::scenarios;
use crate::oracle::Invariant;
use crate::policies::lane_cell;
use crate::report::Timing;
use crate::scenario::{generate, Scenario};
use crate::schedule::{run, FsKind, PolicyCell, RunOptions};
use crate::shrink::shrink;

/// The invariant that must catch `regression`: the SPEC §8 rule (or harness rule) the bug
/// breaks. A hunt counts a schedule as a catch only when this invariant is among its
/// violations, so a bug that only trips some other check (or a crash of the harness) survives.
pub fn must_catch(regression: Regression) -> Invariant {
    use Invariant::*;
    use Regression as R;
    match regression {
        R::DropExecByte
        | R::ZeroPaddedHashout
        | R::HashFirstChunkOnly
        | R::ViewHashoutIgnoresRelocate
        | R::ExecOutputDropsMode => HashParity,
        R::GateIgnoresTmp
        | R::ExecMarksPassthrough
        | R::AbiKeepsPassthrough
        | R::PackAtConsumeTime => Gating,
        R::WalkUnverified
        | R::NonStickyFailure
        | R::AbiErrorToEof
        | R::SkipSmallVerify
        | R::CopyStopsAtDeclaredSize
        | R::AsyncNonSticky
        | R::UnpackDropsExecBit
        | R::GlobSkipsEmptyFiles
        | R::LongNameTruncated
        | R::CopyOpensLazily
        | R::GlobSkipsIoErrors => Integrity,
        R::LiveExecBitVerify
        | R::ZeroLengthReadVerifies
        | R::AsyncRehashesFilled
        | R::GlobFailsOnDenied => NoFalseAlarms,
        R::RacyTrustsCache
        | R::WalkerIgnoresSize
        | R::GitIgnoresInode
        | R::CcacheTooNewFromRecording
        | R::CargoDepInfoNotRewound
        | R::MercurialUnsureAtGranularity => WalkerRule,
        // A shell target's key must be a tmp key (SPEC §5), never served from the local cache.
        R::HashinUnsorted | R::KeyIgnoresDefinition | R::ShellCaches => CacheKey,
        R::GuardSkipsViews | R::TooNewIgnoresCtime => NoPoisoning,
        // A reused sandbox is not made afresh: a plugin that fails on its first read leaves
        // none for diagnosis (SPEC §7), before any stale file is delivered.
        R::SandboxKept | R::PluginSandboxReused => SandboxCleanup,
        R::ModeTableOffByOne => Panic,
        // Issue 23: judgement that used to switch off, and the oracle's last borrowings.
        R::PluginReusesRecordedHash | R::HashPadsToStatSize => HashParity,
        R::SpuriousCycle | R::VerifyRehashesPath | R::VerifyGuardsSizeByPath => NoFalseAlarms,
        R::InterruptsUnbounded => Hang,
        R::AsyncSkipsEofProbe => Harness,
        R::DefHashSkipsExcludes => CacheKey,
        R::TmpKeepsOversizedBlobs => NoPoisoning,
        R::TmpSpillsAtLimit => NoPoisoning,
        R::NestedViewLosesPrefix => Integrity,
        R::GlobSkipsDeepDirs => Integrity,
        R::ManifestKeyUnchecked => NoPoisoning,
        R::GeneratedSkippedAtRootOnly | R::ViewsCrossAbi => Integrity,
        // SPEC sentences that had no seeded regression (`sim/SPEC-TRACE.md`).
        R::SandboxRemovedOnFailure => SandboxCleanup,
        R::VerifyMessageOmitsPath => NoFalseAlarms,
        R::DirectoryYieldsNothing => Integrity,
        R::ExecBitFromLink => HashParity,
        R::TarNameOmitsRole | R::CommitDespiteFailedTar => NoPoisoning,
        R::WritesEmptyEntries => Gating,
        R::GeneratedPathsHashed | R::DuplicateGroupsAccepted => Integrity,
        // Issue 24: ours accepts no stale hash (its stamp is the opened file's).
        R::OursStampsFromPath => WalkerRule,
        // Issue 24: heph's listing cache and ours' answer to its hole: a listing trusted beyond
        // the oracle's own rule is a glob skipping a file its patterns select.
        R::ListingIgnoresMtime | R::OursListingSkipsRacyTest => Integrity,
        // Blind set F's miss: files were only ever 0o755 or 0o644 (SPEC §2: any x bit).
        R::ExecBitOwnerOnly => HashParity,
        // Blind set F's other miss: no exclude ever named a directory without its files.
        R::GlobPrunesExcludedDirs => Integrity,
        // Blind set G's miss: generated paths only ever bore the `.heph` name themselves.
        R::GeneratedDirMissedBelowRoot => Integrity,
        // Blind set H's miss: no sandbox file was written into during its target's pack.
        R::PackSkipsLogCheck => NoPoisoning,
        // Blind set I's miss: no directory's mtime was ever restored or set back.
        R::ListingTrustsOlderMtime => Integrity,
        // Blind set I's other miss: the oracle judged the targets the engine's constructors made.
        R::GlobConstructorCaches => Gating,
        // SPEC §7's "both hashes", judged by half until now: only the expected one was asked.
        R::VerifyMessageOmitsReadHash => NoFalseAlarms,
        // Blind set J's miss: a guard's "any source, however reached" met a nested View's own
        // source under a guard about once in 4,000 schedules of one cell; the guard cases meet
        // every reach at every guard.
        R::GuardChecksOneViewDeep => NoPoisoning,
        // Blind set I's 12, caught then only by `sim policies`: a file digested twice in one
        // build, changed between the digests; a guard case now.
        R::GuardTrustsNewestDigest => NoPoisoning,
        // Blind set J's 03, caught then only by `sim policies`: a directory restamped under
        // ours' listing rule; the listing cases meet every listing rule × change × stamp.
        R::OursListingIgnoresCtime => Integrity,
        // Blind set K's 11, missed by all five: no main-repository source ever lay in a
        // directory whose name begins like the external repositories'; a guard case now.
        R::GuardExternalByPrefix => NoPoisoning,
        R::TmpCountsReplacedBlob => NoPoisoning,
        R::TmpKeySharedAcrossTargets => NoPoisoning,
        R::DamageQuarantineSticky => NoFalseAlarms,
        R::TarsBeforeGate => Gating,
        R::MemfsRenameKeepsTargetDirMtime => Differential,
        // Bad input "for any" definition: a glob that does not parse must be refused.
        R::BadGlobPatternSkipped => Integrity,
        // Faults on every operation on the engine's own state, removals included.
        R::SandboxRemovalErrorIgnored => SandboxCleanup,
        // The ABI's wire form against the oracle's reading of it (`sim wire`).
        R::WireKeepsTrailingBytes => Integrity,
        // Blind set M's 03: no globbed file ever lay in a hidden directory.
        R::GlobSkipsHiddenDirs => Integrity,
        R::ListingKeepsFirst | R::WalkerKeepsFirst | R::EmptySkipsWalkerCache => WalkerRule,
        R::DotdotSubstringRefused => NoFalseAlarms,
    }
}

/// How long to hunt for one regression: counted in schedules, never in time, so the verdict
/// is the same on a loaded machine as on an idle one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// At most this many schedules.
    pub schedules: u64,
    /// Where the schedules come from.
    pub source: Source,
}

/// Where a hunt's schedules come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The exhaustive slice (in a fixed shuffled order), generated and racy generated
    /// schedules, interleaved: what `just test` and `just mutants` run.
    #[default]
    Mix,
    /// Generated schedules only, under heph's walker, the racy one and a policy cell in turn
    /// (random testing).
    Random,
    /// Swarm schedules only, in the same three lanes.
    Swarm,
}

/// What the hunt for one regression found.
#[derive(Clone, Debug, Serialize)]
pub struct Kill {
    /// The regression's name.
    pub regression: String,
    /// Its one-line description.
    pub description: String,
    /// Whether a violation was found within the budget.
    pub caught: bool,
    /// The invariant that must catch it ([`must_catch`]).
    pub expected: Invariant,
    /// The invariant that caught it (the expected one, or `None`).
    pub invariant: Option<Invariant>,
    /// The first violation of another invariant met on the way, if any (it does not count).
    pub other: Option<String>,
    /// Schedules run up to and including the first detection (or the budget).
    pub schedules: u64,
    /// Milliseconds to the first detection (or the budget).
    pub millis: u64,
    /// The violation's message.
    pub message: Option<String>,
    /// Which schedule source caught it (`exhaustive N`, `generated seed/index`, `racy seed/index`).
    pub source: Option<String>,
    /// The shrunk scenario.
    pub shrunk: Option<Scenario>,
    /// It was caught under the racy walker rule.
    pub racy: bool,
    /// It was caught in this cell of the policy matrix.
    pub cell: Option<PolicyCell>,
}

/// The whole matrix.
#[derive(Clone, Debug, Serialize)]
pub struct KillMatrix {
    /// Seed of the generated schedules.
    pub seed: u64,
    /// Budget per regression.
    pub budget: Budget,
    /// Regressions caught.
    pub caught: usize,
    /// Regressions that survived.
    pub survived: Vec<String>,
    /// One row per regression.
    pub regressions: Vec<Kill>,
    /// Median and max milliseconds to detection (over caught regressions).
    pub median_ms: u64,
    /// Max milliseconds to detection.
    pub max_ms: u64,
    /// Wall-clock figures.
    pub timing: Timing,
}

/// The `i`th schedule of a hunt and how to run it: the exhaustive cases (mix only), generated
/// schedules under heph's walker, under the racy one and under a cell of the policy matrix,
/// interleaved so each kind of bug meets its kind of schedule early.
fn nth(
    seed: u64,
    i: u64,
    exhaustive: &[(Scenario, Option<PolicyCell>)],
    source: Source,
) -> (Scenario, RunOptions, String) {
    let (lanes, lane) = match source {
        Source::Mix => (4, i % 4),
        Source::Random | Source::Swarm => (3, 1 + i % 3),
    };
    let k = i / lanes;
    let (generated, flag) = match source {
        Source::Swarm => (crate::scenario::generate_swarm(seed, k), " --swarm"),
        _ => (generate(seed, k), ""),
    };
    let replay = format!("sim replay --seed {seed} --schedule {k}");
    let options = |racy, cell| RunOptions {
        fs: FsKind::Mem,
        racy,
        cell,
        ..RunOptions::default()
    };
    match lane {
        0 => {
            let case = (k as usize) % exhaustive.len();
            let (scenario, cell) = &exhaustive[case];
            let name = match cell {
                Some(c) => format!(
                    "exhaustive case {case} (under {} at {} ns)",
                    c.policy.name(),
                    c.granularity_ns
                ),
                None => format!("exhaustive case {case}"),
            };
            (scenario.clone(), options(false, *cell), name)
        }
        1 => (generated, options(false, None), format!("{replay}{flag}")),
        2 => (
            generated,
            options(true, None),
            format!("{replay} --racy{flag}"),
        ),
        _ => {
            let cell = lane_cell(k);
            let (policy, g) = (cell.policy.name(), cell.granularity_ns);
            let name = format!("{replay} --policy {policy} --granularity {g}ns{flag}");
            (generated, options(false, Some(cell)), name)
        }
    }
}

/// Runs one schedule of a hunt; an exhaustive case (`must_fire`) whose mutations did not all
/// fire and change something is a `harness` violation, as `sim exhaustive` makes it.
pub fn run_judged(
    scenario: &Scenario,
    options: &RunOptions,
    must_fire: bool,
) -> Option<crate::schedule::ScheduleResult> {
    let mut result = run(scenario, options).ok()?;
    let fired = result.fired.len() == scenario.mutations.len()
        && result.fired.iter().all(|f| f.skipped.is_none());
    if must_fire && !fired {
        result.broken.push(crate::oracle::Broken {
            invariant: Invariant::Harness,
            message: "an exhaustive case whose mutation never fired or changed nothing".into(),
        });
    }
    Some(result)
}

/// Regressions whose deciding situation is a composed race the default mix meets about once in
/// 10^6 schedules and no exhaustive case builds: hunted in the corpus entries kept for them
/// (`sim/corpus/`), never in the random budget, so that the matrix says how each was caught.
/// None is left: the stat→open round trip of a symlink (met by the mix once in 2·10^6
/// schedules) is an exhaustive case under every policy (`exhaustive::walkers`), and ours'
/// listing read within its step (41,232 mix schedules to the first) a listing case at 1 s
/// (`exhaustive::listings`).
pub const CORPUS_HUNTED: [Regression; 0] = [];

/// Regressions of MemFs itself that no call the engine makes tells from the kernel's (blind set
/// L's `09`: a rename across directories the engine never does): hunted in `sim fsops`
/// sequences, MemFs against DiskFs call by call, where a disagreement is a `differential`
/// violation. Their catch is a sequence (`sim fsops --seed S --sequences N` replays it), not a
/// scenario, so they have no shrunk scenario and no corpus entry.
pub const FSOPS_HUNTED: [Regression; 1] = [Regression::MemfsRenameKeepsTargetDirMtime];

/// Hunts `regression` in a lane of its own (`sim fsops` sequences, `sim wire` frames): `step`
/// judges item `index` and says what disagreed (`Err`: the item could not run, which is noted
/// and passed over); `replay` names the command that rebuilds the first `n` items.
fn hunt_in_lane(
    kill: &mut Kill,
    regression: Regression,
    (limit, invariant): (u64, Invariant),
    replay: impl Fn(u64) -> String,
    mut step: impl FnMut(u64) -> Result<Option<String>, String>,
) {
    assert!(
        hunted_alone(regression),
        "{regression:?} is hunted in schedules"
    );
    let started = Instant::now();
    regress::with(Some(regression), || {
        for index in 0..limit {
            kill.schedules = index + 1;
            let message = match step(index) {
                Ok(Some(message)) => message,
                Ok(None) => continue,
                Err(e) => {
                    kill.other = Some(format!("Harness in {}: {e}", replay(index + 1)));
                    continue;
                }
            };
            kill.caught = true;
            kill.invariant = Some(invariant);
            kill.message = Some(message);
            kill.source = Some(replay(index + 1));
            break;
        }
    });
    kill.millis = started.elapsed().as_millis() as u64;
    debug_assert!(
        kill.shrunk.is_none(),
        "a catch in a lane of its own has no scenario"
    );
}

/// Hunts a MemFs regression in `sim fsops` sequences (see [`FSOPS_HUNTED`]).
fn hunt_fsops(kill: &mut Kill, regression: Regression, seed: u64, budget: Budget) {
    let limit = budget.schedules.min(crate::fsops::MAX_SEQUENCES);
    let mut tally = crate::fsops::Tally::default();
    let replay = |n| format!("sim fsops --seed {seed} --sequences {n}");
    hunt_in_lane(
        kill,
        regression,
        (limit, Invariant::Differential),
        replay,
        |index| {
            let found = crate::fsops::sequence(seed, index, &mut tally)?;
            Ok(found.map(|d| {
                let last = d.calls.last().cloned().unwrap_or_default();
                format!("{last}: MemFs {} where the kernel {}", d.mem, d.disk)
            }))
        },
    );
}

/// Regressions of the plugin ABI's decoder, which the engine only ever feeds its own encoding:
/// hunted in `sim wire` frames, the oracle's reading of the wire form against the decoder's,
/// where a disagreement is an `integrity` violation. Their catch is a frame (`sim wire --seed
/// S --frames N` rebuilds it), not a scenario.
pub const WIRE_HUNTED: [Regression; 1] = [Regression::WireKeepsTrailingBytes];

/// True when `regression` is hunted in a lane of its own (`sim fsops`, `sim wire`), where a
/// catch is a sequence or a frame: no shrunk scenario, no corpus entry.
pub fn hunted_alone(regression: Regression) -> bool {
    FSOPS_HUNTED.contains(&regression) || WIRE_HUNTED.contains(&regression)
}

/// Hunts an ABI decoder regression in `sim wire` frames (see [`WIRE_HUNTED`]).
fn hunt_wire(kill: &mut Kill, regression: Regression, seed: u64, budget: Budget) {
    let limit = budget.schedules.min(crate::wire::MAX_FRAMES);
    let replay = |n| format!("sim wire --seed {seed} --frames {n}");
    hunt_in_lane(
        kill,
        regression,
        (limit, Invariant::Integrity),
        replay,
        |index| {
            let found = crate::wire::judge(&crate::wire::frame(seed, index));
            Ok(found
                .map(|(oracle, engine)| format!("the oracle reads {oracle}; the engine {engine}")))
        },
    );
}

/// The corpus entries kept for `regression`, as hunt schedules.
fn corpus_schedules(regression: Regression) -> Vec<(Scenario, RunOptions, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let entries = crate::corpus::load_dir(&dir).unwrap_or_default();
    let name = regression.name();
    entries
        .into_iter()
        .filter(|(_, e)| e.catches.as_deref() == Some(name.as_str()))
        .map(|(path, e)| {
            let options = e.options();
            (e.scenario, options, format!("corpus {}", path.display()))
        })
        .collect()
}

/// Hunts one regression on MemFs.
pub fn hunt(regression: Regression, seed: u64, budget: Budget) -> Kill {
    let exhaustive = scenarios();
    let started = Instant::now();
    let expected = must_catch(regression);
    let mut kill = Kill {
        regression: regression.name(),
        description: regression.description().into(),
        caught: false,
        expected,
        invariant: None,
        other: None,
        schedules: 0,
        millis: 0,
        message: None,
        source: None,
        shrunk: None,
        racy: false,
        cell: None,
    };
    if FSOPS_HUNTED.contains(&regression) {
        hunt_fsops(&mut kill, regression, seed, budget);
        return kill;
    }
    if WIRE_HUNTED.contains(&regression) {
        hunt_wire(&mut kill, regression, seed, budget);
        return kill;
    }
    let kept = match CORPUS_HUNTED.contains(&regression) {
        true => corpus_schedules(regression),
        false => Vec::new(),
    };
    let limit = if kept.is_empty() {
        budget.schedules
    } else {
        kept.len() as u64
    };
    regress::with(Some(regression), || {
        for i in 0..limit {
            let (scenario, options, source) = match kept.get(i as usize) {
                Some(k) => k.clone(),
                None => nth(seed, i, &exhaustive, budget.source),
            };
            let must_fire = source.starts_with("exhaustive");
            kill.schedules = i + 1;
            let Some(result) = run_judged(&scenario, &options, must_fire) else {
                continue;
            };
            if kill.other.is_none() {
                let other = result.broken.iter().find(|b| b.invariant != expected);
                kill.other = other.map(|b| format!("{:?} in {source}: {}", b.invariant, b.message));
            }
            let Some(broken) = result.broken.into_iter().find(|b| b.invariant == expected) else {
                continue;
            };
            kill.millis = started.elapsed().as_millis() as u64;
            kill.caught = true;
            kill.invariant = Some(broken.invariant);
            kill.message = Some(broken.message);
            kill.source = Some(source);
            kill.racy = options.racy;
            kill.cell = options.cell;
            let fails = |candidate: &Scenario| {
                run_judged(candidate, &options, must_fire)?
                    .broken
                    .iter()
                    .map(|b| b.invariant)
                    .find(|v| *v == expected)
            };
            kill.shrunk = Some(shrink(&scenario, broken.invariant, &fails));
            return;
        }
        kill.millis = started.elapsed().as_millis() as u64;
    });
    kill
}

/// Runs the hunt for every regression (or the named ones).
pub fn kill_matrix(seed: u64, budget: Budget, only: &[Regression]) -> KillMatrix {
    let started = Instant::now();
    let chosen: Vec<Regression> = if only.is_empty() {
        Regression::ALL.to_vec()
    } else {
        only.to_vec()
    };
    let regressions: Vec<Kill> = chosen.iter().map(|&r| hunt(r, seed, budget)).collect();
    let mut times: Vec<u64> = regressions
        .iter()
        .filter(|k| k.caught)
        .map(|k| k.millis)
        .collect();
    times.sort_unstable();
    let survived: Vec<String> = regressions
        .iter()
        .filter(|k| !k.caught)
        .map(|k| k.regression.clone())
        .collect();
    KillMatrix {
        seed,
        budget,
        caught: regressions.len() - survived.len(),
        survived,
        median_ms: times.get(times.len() / 2).copied().unwrap_or(0),
        max_ms: times.last().copied().unwrap_or(0),
        regressions,
        timing: crate::campaign::timing(started, chosen.len() as u64),
    }
}
