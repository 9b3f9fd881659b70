//! Bounded-exhaustive mode: small scope, enumerated completely (CrashMonkey's lesson). Over a
//! few graph shapes and the file shapes around the 64 KiB chunk, every mutation kind at every
//! point the scenario reaches (every consumer, every chunk the file has) through every
//! consumer path; then every ordered pair of mutations on one shape. No no-op case is
//! enumerated (a chmod to the bit the file already has, a symlink mutation of a plain file, a
//! mutation after the file it needs is gone); every case must fire, and the report names any
//! that did not. Then every guard against every way a source reaches its consumer (`guards`),
//! every listing rule against every change of a directory's entries and stamp (`listings`),
//! every walker policy against a change inside its stat→open window (`walkers`), and twin tmp
//! targets with one hashin packing in one instant of a coarse clock (`twins`).

pub mod guards;
pub mod listings;
pub mod twins;
pub mod walkers;

use crate::rng::Choices;
use std::collections::BTreeMap;
use std::time::Instant;

use engine::{CacheConfig, ConsumePath};

use crate::campaign::{merge, run_on, timing, CampaignOptions, FsChoice, Ran};
use crate::mutation::{MutationKind, Point};
use crate::report::Report;
use crate::scenario::{ConsumerSpec, ExecShape, FileSpec, Input, MutationSpec, Scenario, VIAS};
use crate::schedule::{PolicyCell, Variant};

/// The chunk the engine hashes and reads in.
const CHUNK: u64 = engine::hash::CHUNK as u64;
/// File sizes around the chunk boundary.
pub const SIZES: [u64; 6] = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 1];
/// At most this many cases in one enumeration.
pub const MAX_CASES: usize = 2_000_000;

/// How much to enumerate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// A bounded slice (two file shapes, two consumer paths, pairs over a few points): seconds.
    Slice,
    /// Everything: every file shape and consumer path, every pair (`just exhaustive`).
    Full,
}

impl Scope {
    /// The name the command line takes.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Slice => "slice",
            Scope::Full => "full",
        }
    }
}

/// The graph shapes: one source file consumed by one consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A tmp exec consumer of an fs:file.
    Uncached,
    /// A cached exec consumer (local cache entries for the attacks).
    Cached,
    /// A consumer of an fs:glob.
    Glob,
    /// A consumer of a symlink to the file.
    Symlink,
    /// A consumer of a cached group View (packed from the source).
    CachedView,
    /// A plugin consuming and exposing the file.
    Plugin,
    /// A shell consumer (cache enabled, shell: the tmp path).
    Shell,
}

impl Shape {
    /// True for the shapes whose consumer is a cached exec target: it packs its sandbox's
    /// outputs, where an attack on the sandbox during the pack lands.
    fn packs_sandbox(self) -> bool {
        matches!(self, Shape::Cached | Shape::Shell)
    }
}

/// Every shape.
pub const SHAPES: [Shape; 7] = [
    Shape::Uncached,
    Shape::Cached,
    Shape::Glob,
    Shape::Symlink,
    Shape::CachedView,
    Shape::Plugin,
    Shape::Shell,
];

/// One enumerated case.
#[derive(Clone, Debug)]
pub struct Case {
    /// The family it belongs to (`single/<shape>`, `pair` or `guard/<reach>`).
    pub family: String,
    /// The scenario.
    pub scenario: Scenario,
    /// The policy cell it runs under (`None`: heph's walker, the scenario's granularity).
    pub cell: Option<PolicyCell>,
}

/// The scenario of `shape` over a file of `size` bytes with exec bit `x`, consumed by `via`.
pub fn scenario(shape: Shape, size: u64, x: bool, via: ConsumePath) -> Scenario {
    let file = FileSpec {
        size,
        fill: 7,
        x,
        globbed: shape == Shape::Glob,
        ..FileSpec::default()
    };
    let mut files = vec![file];
    let mut input = Input::File(0);
    if shape == Shape::Symlink {
        files.push(FileSpec {
            link_to: Some(0),
            ..FileSpec::default()
        });
        // Another file for a retargeted link to point to.
        files.push(FileSpec {
            size: 5,
            fill: 3,
            ..FileSpec::default()
        });
        input = Input::File(1);
    }
    if shape == Shape::Glob {
        input = Input::Glob;
    }
    let plugin = shape == Shape::Plugin;
    let consumer = ConsumerSpec {
        inputs: vec![if shape == Shape::CachedView {
            Input::View
        } else {
            input
        }],
        via: if plugin { ConsumePath::AbiChunked } else { via },
        cached: matches!(shape, Shape::Cached | Shape::Shell | Shape::Plugin),
        plugin,
        steps: ExecShape::Concat,
    };
    let mut caching = BTreeMap::new();
    if shape == Shape::Shell {
        caching.insert(
            "c0".to_string(),
            CacheConfig {
                enabled: true,
                shell: true,
            },
        );
    }
    Scenario {
        files,
        view: if shape == Shape::CachedView {
            vec![0]
        } else {
            vec![]
        },
        view_cached: shape == Shape::CachedView,
        consumers: vec![consumer],
        caching,
        ..Scenario::default()
    }
}

/// An exec consumer of `inputs` through the OS copy, running `steps`: the consumer of the cases
/// run under a policy cell (`guards`, `listings`, `walkers`).
fn os_copy_consumer(inputs: Vec<Input>, cached: bool, steps: ExecShape) -> ConsumerSpec {
    assert!(!inputs.is_empty(), "a consumer takes an input");
    ConsumerSpec {
        inputs,
        via: ConsumePath::OsCopy,
        cached,
        plugin: false,
        steps,
    }
}

/// The chunks a file of `size` bytes is read in.
fn chunks(size: u64) -> u32 {
    size.div_ceil(CHUNK) as u32
}

/// Every point a scenario of `shape` over a file of `size` bytes reaches, in the order a build
/// reaches them (between builds last).
pub fn points(shape: Shape, size: u64) -> Vec<Point> {
    let consumer = 0;
    let mut out = vec![Point::BeforeHash, Point::BeforeOpen];
    out.extend((0..chunks(size)).map(|chunk| Point::AfterHashChunk { chunk }));
    out.extend([Point::AfterHash, Point::AfterHashin { consumer }]);
    if matches!(shape, Shape::Cached | Shape::Plugin) {
        out.push(Point::BeforeCacheRead { consumer });
    }
    out.extend([Point::BeforeConsume { consumer }, Point::AtOpen]);
    out.extend((0..chunks(size)).map(|chunk| Point::AfterChunk { chunk }));
    out.push(Point::AtEof);
    // The plugin packs the file it exposes; a cached exec consumer packs its sandbox's outputs.
    if shape == Shape::Plugin || shape.packs_sandbox() {
        out.push(Point::DuringPack);
    }
    out.extend([
        Point::BetweenConsumers { consumer },
        Point::AfterCacheWrite { consumer },
        Point::BetweenBuilds,
    ]);
    out
}

/// True when `kind` changes something on the file of `shape` (size, exec bit) at `point` of a
/// single-mutation case, on a file system of `fs` kind.
fn changes(kind: MutationKind, shape: Shape, size: u64, x: bool, point: Point, disk: bool) -> bool {
    use MutationKind::*;
    let cached = matches!(shape, Shape::Cached | Shape::Plugin | Shape::CachedView);
    let at_consumer = matches!(
        point,
        Point::AtOpen
            | Point::AfterChunk { .. }
            | Point::AtEof
            | Point::BeforeConsume { .. }
            | Point::BetweenConsumers { .. }
    );
    if point == Point::DuringPack && shape.packs_sandbox() {
        // Only an attack on the sandbox reaches an exec consumer's pack: the file is not packed.
        return kind == WriteIntoSandbox;
    }
    match kind {
        ChmodX => !x,
        ChmodNoX => x,
        Truncate => size > 1,
        BackToFile => false, // only after a file became a directory: pairs
        Undo => false,       // alone, an identical rewrite; after an edit, an A->B->A: pairs
        Retarget | Dangle | Loop => false, // the mutated file is the plain one; see the symlink shape
        AddUndecodable => disk,
        CorruptTar | TruncateTar | DeleteTar | CorruptManifest | DeleteManifest => {
            cached && point == Point::BetweenBuilds
        }
        TruncateSpill => false, // needs a spilling tmp cache: the random campaigns cover it
        TransplantEntry => false, // needs two local entries: the random campaigns cover it
        // A cached View is read (and its source points reached) while the View packs, in no
        // consumer's sandbox.
        WriteIntoSandbox => {
            at_consumer
                && !matches!(point, Point::BeforeConsume { .. })
                && (shape != Shape::CachedView || matches!(point, Point::BetweenConsumers { .. }))
        }
        _ => true,
    }
}

/// The symlink kinds, applied to the link of the symlink shape.
const LINK_KINDS: [MutationKind; 3] = [
    MutationKind::Retarget,
    MutationKind::Dangle,
    MutationKind::Loop,
];

/// Every single-mutation case of `scope`.
pub fn singles(scope: Scope, disk: bool) -> Vec<Case> {
    let (sizes, vias): (&[u64], &[ConsumePath]) = match scope {
        Scope::Slice => (
            &[1, CHUNK + 1],
            &[ConsumePath::OsCopy, ConsumePath::AsyncReadBuf],
        ),
        Scope::Full => (&SIZES, &VIAS),
    };
    let mut out = Vec::new();
    for shape in SHAPES {
        for &size in sizes {
            for x in [false, true] {
                let vias = if shape == Shape::Plugin {
                    &[ConsumePath::AbiChunked][..]
                } else {
                    vias
                };
                for &via in vias {
                    for point in points(shape, size) {
                        for kind in MutationKind::ALL {
                            // The symlink shape's consumer reads the link: every mutation names
                            // the link (content ones reach the file through it).
                            let link = shape == Shape::Symlink;
                            let ok = if link && LINK_KINDS.contains(&kind) {
                                true
                            } else {
                                changes(kind, shape, size, x, point, disk)
                            };
                            if !ok {
                                continue;
                            }
                            let mut s = scenario(shape, size, x, via);
                            let file = usize::from(link);
                            s.mutations = vec![MutationSpec::new(file, kind, point)];
                            out.push(Case {
                                family: format!("single/{shape:?}"),
                                scenario: s,
                                cell: None,
                            });
                        }
                    }
                }
            }
        }
    }
    assert!(out.len() <= MAX_CASES, "{} cases", out.len());
    out
}

/// The kinds paired: edits that keep the file, read faults, and the kinds that take it away.
const PAIR_KINDS: [MutationKind; 23] = {
    use MutationKind::*;
    [
        Rewrite,
        SameSizeEdit,
        SameSizeEditRestoreMtime,
        Append,
        AppendRestoreMtime,
        Truncate,
        RenameOver,
        ChmodX,
        ChmodNoX,
        Touch,
        IdenticalRewrite,
        Aba,
        CreateSibling,
        FaultEio,
        FaultEintr,
        FaultShortRead,
        Delete,
        RemoveParent,
        RenameParent,
        ToDirectory,
        Unreadable,
        BackToFile,
        Undo,
    ]
};

/// True when `kind` takes the file away (later content mutations have nothing to change).
fn takes_away(kind: MutationKind) -> bool {
    use MutationKind::*;
    matches!(
        kind,
        Delete | RemoveParent | RenameParent | ToDirectory | Unreadable
    )
}

/// True when the ordered pair (`first` fires at `first_point`, no later than `second` at
/// `second_point`) changes something with each of its mutations on a non-executable file of
/// `PAIR_SIZE` bytes, and the second's point is still reached. Once the file is gone, no read
/// of it happens any more (its later read points are never reached): only a directory turned
/// back into a file between the builds follows.
fn pair_changes(
    first: MutationKind,
    first_point: Point,
    second: MutationKind,
    second_point: Point,
) -> bool {
    use MutationKind::*;
    let later = first_point != second_point;
    match (first, second) {
        (ToDirectory, BackToFile) => second_point == Point::BetweenBuilds,
        (ChmodNoX, _) | (BackToFile, _) | (_, BackToFile) => false, // no-ops: see above
        (a, _) if takes_away(a) => false,
        (ChmodX, ChmodX) => false,
        (a, ChmodNoX) => a == ChmodX,
        // Cut to one chunk: no hash or read of chunk 1 happens after it.
        (Truncate, _) if later && chunk_point(second_point) >= 1 => false,
        // Changed between hashing and reading with the mtime restored: the consumer fails in
        // build 1, and the walker cache answers the stale hash in build 2, so it fails again
        // and never reaches the points after a successful consume.
        (SameSizeEditRestoreMtime, _) if later && in_flight(first_point) => !matches!(
            second_point,
            Point::BetweenConsumers { .. } | Point::AfterCacheWrite { .. }
        ),
        _ => true,
    }
}

/// The chunk index of a per-chunk point (0 for any other point).
fn chunk_point(point: Point) -> u64 {
    match point {
        Point::AfterHashChunk { chunk } | Point::AfterChunk { chunk } => u64::from(chunk),
        _ => 0,
    }
}

/// True for the points after hashing began and before the consumer read the last chunk.
fn in_flight(point: Point) -> bool {
    match point {
        Point::AfterHashChunk { .. }
        | Point::AfterHash
        | Point::AfterHashin { .. }
        | Point::BeforeCacheRead { .. }
        | Point::BeforeConsume { .. }
        | Point::AtOpen => true,
        Point::AfterChunk { chunk } => chunk + 1 < chunks(PAIR_SIZE),
        _ => false,
    }
}

/// The size of the pairs' file: two chunks, the second of one byte.
const PAIR_SIZE: u64 = CHUNK + 1;

/// Every ordered pair of mutations on one shape (a cached consumer of a two-chunk file through
/// the OS copy); in a slice, only over a few points.
pub fn pairs(scope: Scope) -> Vec<Case> {
    let size = PAIR_SIZE;
    let mut points = points(Shape::Cached, size);
    // The pairs change the file; the consumer's pack reads only its sandbox.
    points.retain(|p| *p != Point::DuringPack);
    if scope == Scope::Slice {
        points.retain(|p| matches!(p, Point::AfterHash | Point::AtOpen | Point::BetweenBuilds));
    }
    let items: Vec<(usize, MutationKind, Point)> = points
        .iter()
        .enumerate()
        .flat_map(|(rank, &p)| PAIR_KINDS.iter().map(move |&k| (rank, k, p)))
        .collect();
    let mut out = Vec::new();
    for (i, &(ra, ka, pa)) in items.iter().enumerate() {
        for (j, &(rb, kb, pb)) in items.iter().enumerate() {
            // Which fires first: the earlier point; at one point, the first in the scenario.
            let (first, from, second, at) = if ra <= rb {
                (ka, pa, kb, pb)
            } else {
                (kb, pb, ka, pa)
            };
            if i == j || !pair_changes(first, from, second, at) {
                continue;
            }
            let mut s = scenario(Shape::Cached, size, false, ConsumePath::OsCopy);
            s.mutations = vec![MutationSpec::new(0, ka, pa), MutationSpec::new(0, kb, pb)];
            out.push(Case {
                family: "pair".into(),
                scenario: s,
                cell: None,
            });
        }
    }
    assert!(out.len() <= MAX_CASES, "{} cases", out.len());
    out
}

/// Every case of `scope`: the singles, the pairs, then the cases run under a policy cell.
pub fn cases(scope: Scope, disk: bool) -> Vec<Case> {
    let mut all = singles(scope, disk);
    all.extend(pairs(scope));
    all.extend(cell_cases());
    all
}

/// The cases run under a policy cell: the guards, the listing rules, the walkers' windows, the
/// twins.
fn cell_cases() -> Vec<Case> {
    let mut all = guards::cases();
    all.extend(listings::cases());
    all.extend(walkers::cases());
    all.extend(twins::cases());
    all
}

/// The singles' scenarios of the slice in a fixed pseudo-random order, with a case run under a
/// policy cell (and its cell) every [`CELL_CASE_EVERY`]th (what the kill matrix mixes with
/// random ones): a hunt meets every shape, size and exec bit early, and every guard, listing
/// rule, walker and twin family early (`every_family_early`), instead of one shape's thousands
/// of cases after another's.
pub fn scenarios() -> Vec<(Scenario, Option<PolicyCell>)> {
    let mut singles = singles(Scope::Slice, false);
    let mut celled = cell_cases();
    // The same order on every machine: one fixed seed for both shuffles.
    let mut rng = crate::rng::Rng::for_schedule(0x5eed, 0);
    shuffle(&mut singles, &mut rng);
    shuffle(&mut celled, &mut rng);
    let mut celled = every_family_early(celled).into_iter();
    let mut out = Vec::with_capacity(singles.len() + celled.len());
    for (i, case) in singles.into_iter().enumerate() {
        if i % CELL_CASE_EVERY == CELL_CASE_EVERY - 1 {
            out.extend(celled.next().map(|c| (c.scenario, c.cell)));
        }
        out.push((case.scenario, None));
    }
    out.extend(celled.map(|c| (c.scenario, c.cell)));
    assert!(out.len() <= MAX_CASES);
    out
}

/// `cases` (shuffled) reordered so that every family under each of its cells (a guard reach, a
/// listing depth, a walker or twins, under one policy and granularity) comes early, however
/// many cases the others have, while the big families keep their share: one case from each
/// family in turn, alternating with the next case of the shuffled order not taken yet.
fn every_family_early(cases: Vec<Case>) -> Vec<Case> {
    let total = cases.len();
    // A family under each of its cells is one: a policy's bug comes early in every family.
    let mut families: BTreeMap<String, std::collections::VecDeque<usize>> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let cell = case.cell.map(|c| (c.policy.name(), c.granularity_ns));
        let family = format!("{} {cell:?}", case.family);
        families.entry(family).or_default().push_back(i);
    }
    let mut turns = Vec::with_capacity(total);
    while turns.len() < total {
        for queue in families.values_mut() {
            turns.extend(queue.pop_front());
        }
    }
    let mut taken = vec![false; total];
    let mut order = Vec::with_capacity(total);
    let (mut by_turn, mut by_shuffle) = (turns.into_iter(), 0..total);
    while order.len() < total {
        for i in by_turn.by_ref() {
            if !std::mem::replace(&mut taken[i], true) {
                order.push(i);
                break;
            }
        }
        for i in by_shuffle.by_ref() {
            if !std::mem::replace(&mut taken[i], true) {
                order.push(i);
                break;
            }
        }
    }
    assert_eq!(order.len(), total);
    let mut slots: Vec<Option<Case>> = cases.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Fisher-Yates with SplitMix64.
fn shuffle<T>(items: &mut [T], rng: &mut crate::rng::Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// In the kill matrix's exhaustive lane, one case in this many runs under a policy cell.
pub const CELL_CASE_EVERY: usize = 4;

/// Runs `cases` over `threads` workers; results in case order.
fn run_all(
    cases: &[Case],
    fs: FsChoice,
    racy: bool,
    variant: Variant,
    threads: usize,
) -> Vec<Result<Ran, String>> {
    assert!(threads >= 1, "at least one worker");
    let mut results: Vec<Option<Result<Ran, String>>> = (0..cases.len()).map(|_| None).collect();
    let chunks: Vec<Vec<(usize, Result<Ran, String>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..cases.len())
                        .step_by(threads)
                        .map(|i| {
                            let run = || {
                                run_on(
                                    &cases[i].scenario,
                                    i as u64,
                                    (fs, cases[i].cell),
                                    racy,
                                    variant,
                                )
                            };
                            (i, crate::panics::catch(run))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    for (i, ran) in chunks.into_iter().flatten() {
        results[i] = Some(ran);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("a worker thread died".into())))
        .collect()
}

/// A one-line description of a case: its index, mutations, file, consumer path and cell.
fn describe(index: usize, case: &Case) -> String {
    let s = &case.scenario;
    let mutations: Vec<String> = s
        .mutations
        .iter()
        .map(|m| format!("{}@{:?}", m.kind.name(), m.point))
        .collect();
    let file = &s.files[0];
    let cell = case.cell.map_or(String::new(), |c| {
        format!(" under {} at {} ns", c.policy.name(), c.granularity_ns)
    });
    format!(
        "case {index}: {} on {} bytes x={} via {:?}{cell}",
        mutations.join(" then "),
        file.size,
        file.x,
        s.consumers[0].via
    )
}

/// Per family: cases, and the cases whose mutations did not all fire.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Family {
    /// Cases enumerated.
    pub cases: u64,
    /// Cases whose every mutation fired and changed something.
    pub fired: u64,
    /// The first few cases that did not: index, mutations, file and consumer path.
    pub never_fired: Vec<String>,
}

/// At most this many never-fired case indices are listed per family.
pub const MAX_LISTED: usize = 20;

/// Runs the enumeration of `scope` on `fs` over `threads` workers; with `fingerprints`, the
/// report keeps each case's fingerprint (what `sim diff` compares, case by case).
pub fn exhaustive(
    fs: FsChoice,
    racy: bool,
    variant: Variant,
    scope: Scope,
    (threads, fingerprints): (usize, bool),
) -> Report {
    let mut report = judge(
        &cases(scope, fs != FsChoice::Mem),
        (fs, racy, variant),
        threads,
        fingerprints,
    );
    report.scope = Some(scope.name().to_string());
    for violation in &mut report.violations {
        // `--fs both` and `--fs disk` enumerate the same cases; `--case` replays on the first.
        let fs = match violation.fs.as_str() {
            "disk" => "disk",
            _ => report.fs.as_str(),
        };
        violation.replay = replay_command(scope.name(), fs, racy, violation.schedule);
    }
    report
}

/// The command that replays case `index` of an enumeration (`sim exhaustive --case`).
pub fn replay_command(scope: &str, fs: &str, racy: bool, index: u64) -> String {
    let racy = if racy { " --racy" } else { "" };
    format!("sim exhaustive --scope {scope} --fs {fs}{racy} --case {index}")
}

/// Case `index` of the enumeration of `scope` (what `sim exhaustive --case` replays).
pub fn case(scope: Scope, disk: bool, index: u64) -> Result<Case, String> {
    let all = cases(scope, disk);
    let count = all.len();
    usize::try_from(index)
        .ok()
        .and_then(|i| all.into_iter().nth(i))
        .ok_or_else(|| {
            format!(
                "no case {index}: the {} enumeration has {count} cases (0 to {})",
                scope.name(),
                count.saturating_sub(1)
            )
        })
}

/// Runs `all` on `fs` over `threads` workers and judges them: a violation for every broken
/// invariant, and a `harness` violation for every case whose mutations did not all fire.
pub fn judge_cases(
    all: &[Case],
    fs: FsChoice,
    racy: bool,
    variant: Variant,
    threads: usize,
) -> Report {
    judge(all, (fs, racy, variant), threads, false)
}

/// [`judge_cases`], keeping each case's fingerprint when asked.
fn judge(
    all: &[Case],
    (fs, racy, variant): (FsChoice, bool, Variant),
    threads: usize,
    fingerprints: bool,
) -> Report {
    let started = Instant::now();
    let options = CampaignOptions {
        seed: 0,
        schedules: all.len() as u64,
        fs,
        threads,
        racy,
        variant,
        shrink: false,
        shard: None,
        swarm: false,
        fingerprints,
        cell: None,
    };
    let mut report = Report {
        mode: "exhaustive".into(),
        schedules: options.schedules,
        racy,
        ..Report::default()
    };
    report.fs = format!("{fs:?}").to_lowercase();
    let results = run_all(all, fs, racy, variant, threads);
    for (index, (case, ran)) in all.iter().zip(results).enumerate() {
        let family = report.families.entry(case.family.clone()).or_default();
        family.cases += 1;
        let ran = match ran {
            Ok(ran) => ran,
            Err(message) => {
                report.add_violation(crate::report::Violation {
                    schedule: index as u64,
                    fs: report.fs.clone(),
                    invariant: crate::oracle::Invariant::Panic,
                    message: format!("the harness panicked judging this case: {message}"),
                    replay: String::new(),
                    shrunk: Some(case.scenario.clone()),
                });
                continue;
            }
        };
        let fired = ran.results.iter().all(|(_, r)| {
            r.as_ref().is_ok_and(|r| {
                r.fired.len() == case.scenario.mutations.len()
                    && r.fired.iter().all(|f| f.skipped.is_none())
            })
        });
        if fired {
            family.fired += 1;
        } else {
            // A case whose mutation never fired judged nothing it promised: the run fails.
            let described = describe(index, case);
            if family.never_fired.len() < MAX_LISTED {
                family.never_fired.push(described.clone());
            }
            report.add_violation(crate::report::Violation {
                schedule: index as u64,
                fs: report.fs.clone(),
                invariant: crate::oracle::Invariant::Harness,
                message: format!("{described}: a mutation never fired or changed nothing"),
                replay: String::new(),
                shrunk: None,
            });
        }
        // With `fingerprints`, `merge` keeps the case's fingerprint under its index.
        merge(&mut report, &ran, &options);
    }
    for violation in &mut report.violations {
        violation.replay = format!(
            "sim exhaustive --fs {} (case {})",
            violation.fs, violation.schedule
        );
        violation.shrunk = Some(all[violation.schedule as usize].scenario.clone());
    }
    report.findings.normalize();
    report.timing = timing(started, options.schedules);
    report
}
