//! The generator: a scenario drawn from a stream of choices (a seed's SplitMix64 or a fuzzer's
//! tape), from a palette of what may be picked (everything, or a swarm subset). Later draws are
//! appended after earlier ones, so every earlier choice of a seed keeps its meaning.

use engine::{CacheConfig, ConsumePath};

use crate::mutation::{MutationKind, Point};
use crate::rng::{Choices, Rng, Tape};
use crate::scenario::{
    BuildMode, ConsumerSpec, DirStamp, ExecShape, FileSpec, GlobShape, GraphDefect, Input,
    MutationSpec, Scenario, BOUNDARY_SIZES, GRANULARITIES, MAX_CONSUMERS, MAX_FILES, MAX_MUTATIONS,
};

/// What the generator may pick from: every mutation kind, point and consumer path (the default),
/// or a random subset of each (swarm testing: each schedule leaves whole features out, so
/// the ones it keeps meet each other more often).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Palette {
    /// Mutation kinds of the workspace.
    pub workspace: Vec<MutationKind>,
    /// Mutation kinds of the engine's own state.
    pub engine: Vec<MutationKind>,
    /// Point kinds, by their index (`0..Point::KINDS`).
    pub points: Vec<u64>,
    /// Consumer paths of exec consumers.
    pub vias: Vec<ConsumePath>,
}

impl Palette {
    /// Everything: what `generate` picks from (built once, not per schedule).
    pub fn full() -> &'static Palette {
        static FULL: std::sync::OnceLock<Palette> = std::sync::OnceLock::new();
        FULL.get_or_init(|| {
            let (workspace, engine) = MutationKind::ALL.iter().partition(|k| !k.on_engine());
            Palette {
                workspace,
                engine,
                points: (0..Point::KINDS as u64).collect(),
                vias: VIAS.to_vec(),
            }
        })
    }

    /// A swarm palette for schedule `index` of `seed`: each kind, point and path kept with
    /// probability one half (at least one of each list), from a stream apart from the
    /// schedule's own.
    pub fn swarm(seed: u64, index: u64) -> Palette {
        let mut rng = Rng::for_schedule(seed ^ SWARM_SALT, index);
        let full = Palette::full();
        Palette {
            workspace: keep_half(&mut rng, &full.workspace),
            engine: keep_half(&mut rng, &full.engine),
            points: keep_half(&mut rng, &full.points),
            vias: keep_half(&mut rng, &full.vias),
        }
    }
}

/// Each of `items` with probability one half; one of them if that leaves none.
fn keep_half<T: Copy>(rng: &mut Rng, items: &[T]) -> Vec<T> {
    let kept: Vec<T> = items.iter().copied().filter(|_| rng.chance(1, 2)).collect();
    match kept.is_empty() {
        true => vec![*rng.pick(items)],
        false => kept,
    }
}

/// Salt of the swarm palettes' random stream.
const SWARM_SALT: u64 = 0x5_3a4d_5741_524d;

/// Generates schedule `index` of campaign `seed`.
pub fn generate(seed: u64, index: u64) -> Scenario {
    generate_with(seed, index, Palette::full())
}

/// Generates schedule `index` of a swarm campaign `seed`: from [`Palette::swarm`].
pub fn generate_swarm(seed: u64, index: u64) -> Scenario {
    generate_with(seed, index, &Palette::swarm(seed, index))
}

/// Generates schedule `index` of campaign `seed`, picking from `palette`.
pub fn generate_with(seed: u64, index: u64, palette: &Palette) -> Scenario {
    generate_from(&mut Rng::for_schedule(seed, index), palette)
}

/// The scenario a fuzzer's input decides: its bytes are the tape of choices (SplitMix64 seeded
/// from them past the end), read by the same generator as a seed's stream.
pub fn generate_from_tape(bytes: &[u8]) -> Scenario {
    generate_from(&mut Tape::new(bytes), Palette::full())
}

/// Generates a scenario from a stream of `choices`, picking from `palette`.
pub fn generate_from(rng: &mut impl Choices, palette: &Palette) -> Scenario {
    assert!(
        !palette.workspace.is_empty() && !palette.points.is_empty() && !palette.vias.is_empty(),
        "a palette offers something"
    );
    let n = 1 + rng.below(MAX_FILES as u64) as usize;
    let mut files = Vec::with_capacity(n + 1);
    for _ in 0..n {
        let size = if rng.chance(1, 10) {
            *rng.pick(&BOUNDARY_SIZES)
        } else {
            rng.below(200)
        };
        files.push(FileSpec {
            size,
            fill: rng.below(256) as u8,
            x: rng.chance(1, 4),
            globbed: rng.chance(1, 4),
            link_to: None,
            nested: rng.chance(1, 6),
            depth: 0,
            long_name: rng.chance(1, 8),
            external: false,
            beside_external: false,
            generated: false,
            generated_dir: false,
            hidden_dir: false,
            odd_name: false,
            also_file: false,
            mode: 0,
        });
    }
    if rng.chance(1, 5) {
        let target = rng.below(n as u64) as usize;
        files.push(FileSpec {
            size: 0,
            fill: 0,
            x: false,
            globbed: rng.chance(1, 3),
            link_to: Some(target),
            // A link lives in src/ itself: the seam refuses `..` in link targets.
            nested: false,
            depth: 0,
            long_name: false,
            external: false,
            beside_external: false,
            generated: false,
            generated_dir: false,
            hidden_dir: false,
            odd_name: false,
            also_file: false,
            mode: 0,
        });
    }
    let singles: Vec<usize> = (0..files.len()).filter(|&i| !files[i].globbed).collect();
    let view: Vec<usize> = if !singles.is_empty() && rng.chance(1, 3) {
        singles
            .iter()
            .copied()
            .filter(|_| rng.chance(1, 2))
            .collect()
    } else {
        vec![]
    };
    let mut scenario = Scenario {
        files,
        view,
        view_cached: false,
        ..Scenario::default()
    };
    let consumers = 1 + rng.below(MAX_CONSUMERS as u64) as usize;
    for k in 0..consumers {
        let consumer = generate_consumer(rng, &scenario, (&singles, &palette.vias), k);
        scenario.consumers.push(consumer);
    }
    let mutations = rng.below(MAX_MUTATIONS as u64 + 1) as usize;
    for _ in 0..mutations {
        let m = generate_mutation(rng, &scenario, palette);
        scenario.mutations.push(m);
    }
    scenario.view_cached = !scenario.view.is_empty() && rng.chance(1, 3);
    if rng.chance(1, 4) {
        let names: Vec<String> = scenario.targets().into_iter().map(|t| t.name).collect();
        let name = rng.pick(&names[..names.len() - 1]).clone();
        let (enabled, shell) = (rng.chance(1, 2), rng.chance(1, 2));
        scenario
            .caching
            .insert(name, CacheConfig { enabled, shell });
    }
    scenario.build = match rng.below(8) {
        0 => BuildMode::AsyncInline,
        1 => BuildMode::AsyncSpawnBlocking,
        _ => BuildMode::Sync,
    };
    scenario.pause = rng.chance(1, 2);
    if rng.chance(1, 4) {
        scenario.granularity_ns = *rng.pick(&GRANULARITIES);
    }
    scenario.spill = rng.chance(1, 4);
    // Drawn last, so every earlier choice of a seed keeps its meaning.
    for consumer in scenario.consumers.iter_mut().filter(|c| !c.plugin) {
        if rng.chance(1, 3) {
            consumer.steps = *rng.pick(&[ExecShape::ChmodX, ExecShape::Stamp]);
        }
    }
    if scenario.has_glob() && rng.chance(1, 2) {
        scenario.glob = *rng.pick(&GlobShape::FIRST);
    }
    if rng.chance(1, 64) {
        scenario.defect = Some(*rng.pick(&GraphDefect::GRAPH));
    }
    // A definition the engine must refuse fails its build: rare, so the rest of the mix runs.
    for consumer in scenario.consumers.iter_mut().filter(|c| !c.plugin) {
        if rng.chance(1, 48) {
            consumer.steps = ExecShape::DuplicateGroup;
        }
    }
    let plain = |f: &FileSpec| !f.globbed && !f.nested && f.link_to.is_none();
    let linked: Vec<usize> = scenario.files.iter().filter_map(|f| f.link_to).collect();
    for (i, file) in scenario.files.iter_mut().enumerate() {
        if plain(file) && !linked.contains(&i) && rng.chance(1, 24) {
            file.generated = true;
        }
    }
    // One mutation in eight within a build comes late (time passes first).
    for mutation in scenario.mutations.iter_mut() {
        if mutation.point != Point::BetweenBuilds && rng.chance(1, 8) {
            mutation.late = true;
        }
    }
    draw_nesting_and_limits(rng, &mut scenario);
    draw_last(rng, &mut scenario);
    debug_assert_eq!(scenario.validate(), Ok(()));
    scenario
}

/// Tar sizes are whole 512-byte blocks: limits drawn from these meet a tar exactly.
const TAR_BLOCK: u64 = 512;

/// Drawn after everything else, so every earlier choice of a seed keeps its meaning: a nested
/// file one or two directories deeper in its own, a plugin given the View, a generated file
/// inside the glob's directories, the View wrapped in one or two more groups (an inner level
/// cached one time in three), and the tmp cache's limits at a tar's boundaries (a blob exactly
/// at a limit stays in memory, one block over spills), instead of heph's or the 1 KiB that
/// spills everything.
fn draw_nesting_and_limits(rng: &mut impl Choices, scenario: &mut Scenario) {
    for file in scenario.files.iter_mut().filter(|f| f.nested) {
        if rng.chance(1, 3) {
            file.depth = 1 + rng.below(u64::from(crate::scenario::MAX_NESTED_DEPTH)) as u8;
        }
    }
    // A plugin given the View, which SPEC §3's ABI cannot carry: rare, like other refusals.
    if !scenario.view.is_empty() {
        for consumer in scenario.consumers.iter_mut().filter(|c| c.plugin) {
            if rng.chance(1, 16) {
                consumer.inputs.push(Input::View);
            }
        }
    }
    // A generated file inside the glob's directories: the glob's patterns match its path, and
    // SPEC §3 must still leave it out ("for any" place, not only beside the sources).
    let linked: Vec<usize> = scenario.files.iter().filter_map(|f| f.link_to).collect();
    for (i, file) in scenario.files.iter_mut().enumerate() {
        if file.nested && file.globbed && !linked.contains(&i) && rng.chance(1, 8) {
            file.generated = true;
        }
    }
    if !scenario.view.is_empty() && rng.chance(1, 3) {
        scenario.view_nesting = 1 + rng.below(u64::from(crate::scenario::MAX_VIEW_NESTING)) as u8;
        let levels = scenario.view_levels();
        for (name, _, _) in &levels[..levels.len() - 1] {
            if rng.chance(1, 3) {
                scenario.caching.insert(name.clone(), CacheConfig::CACHED);
            }
        }
    }
    // A generated file inside a generated directory rather than named so itself, one in two.
    for file in scenario.files.iter_mut().filter(|f| f.generated) {
        file.generated_dir = rng.chance(1, 2);
    }
    // SPEC §2's exec bit is any of the three x bits: modes beyond 0o755 and 0o644 one
    // schedule in four (an x held by group or others alone, a file only its owner reads).
    if rng.chance(1, 4) {
        for file in scenario.files.iter_mut().filter(|f| f.link_to.is_none()) {
            file.mode = rng.below(crate::scenario::EXEC_MODES.len() as u64) as u8;
        }
    }
    // Excludes that name the directories nested globbed files lie in (SPEC §3 excludes
    // files: those under them are still selected), when there are such directories.
    let nested_globbed = scenario.files.iter().any(|f| f.nested && f.globbed);
    if scenario.glob == GlobShape::Plain && nested_globbed && rng.chance(1, 3) {
        scenario.glob = GlobShape::DirsExcluded;
    }
    // A link that reaches its file through another link (SPEC §3 follows symlinks however
    // they chain), one link in three: the new link takes the old one's target.
    if let Some(i) = scenario.files.iter().position(|f| f.link_to.is_some()) {
        if rng.chance(1, 3) && scenario.files.len() < crate::scenario::MAX_FILES * 2 {
            let middle = FileSpec {
                globbed: false,
                ..scenario.files[i].clone()
            };
            scenario.files.push(middle);
            scenario.files[i].link_to = Some(scenario.files.len() - 1);
        }
    }
    if rng.chance(1, 4) {
        let per_entry = TAR_BLOCK * (4 + rng.below(5));
        let total = per_entry * (1 + rng.below(4)) + TAR_BLOCK * rng.below(3);
        scenario.tmp_limits = Some((per_entry, total));
    }
    // One path reached by two source targets (a glob's match with an fs:file of its own),
    // given to a consumer that does not take the glob: hashed twice in a build, through every
    // walker and guard. Given to one that does (one time in four when no other exists), the
    // two inputs collide at one path: a refusal, so rare.
    for i in 0..scenario.files.len() {
        let file = &scenario.files[i];
        if !file.globbed || file.generated || !rng.chance(1, 8) {
            continue;
        }
        let others: Vec<usize> = (0..scenario.consumers.len())
            .filter(|&k| !scenario.consumers[k].inputs.contains(&Input::Glob))
            .collect();
        let k = match others.is_empty() {
            false => Some(*rng.pick(&others)),
            true if rng.chance(1, 4) => Some(rng.below(scenario.consumers.len() as u64) as usize),
            true => None,
        };
        scenario.files[i].also_file = true;
        if let Some(k) = k {
            scenario.consumers[k].inputs.push(Input::File(i));
        }
    }
    // SPEC §2's listing rule keys on a directory's mtime: "for any" stamp, not only the one
    // the file system leaves. One mutation in two of a directory's entries restores or
    // backdates it.
    for mutation in scenario.mutations.iter_mut() {
        if mutation.kind.changes_entries() && rng.chance(1, 2) {
            mutation.dir_stamp = Some(*rng.pick(&[DirStamp::Restore, DirStamp::Backdate]));
        }
    }
}

/// The shapes added after the rest, drawn after every earlier draw so that each seed's
/// scenario keeps what it was and only gains them.
fn draw_last(rng: &mut impl Choices, scenario: &mut Scenario) {
    // SPEC §5's tmp key `{hashin}_{nanos}` holds "for any" clock: one schedule in six reads
    // one coarser than a build, so a rebuild can meet its own key again.
    if rng.chance(1, 6) {
        scenario.clock_ns = *rng.pick(&crate::scenario::CLOCK_RESOLUTIONS);
    }
    // Bad input "for any" definition: a source path outside the workspace, a glob that does
    // not parse, an output outside the sandbox.
    if scenario.defect.is_none() && rng.chance(1, 64) {
        scenario.defect = Some(*rng.pick(&GraphDefect::DEFINITION));
    }
    // SPEC §3's glob matches in any directory, not only in those named plainly: one nested
    // file in four lies in a hidden one (`g{i}d/.h/`).
    for file in scenario.files.iter_mut().filter(|f| f.nested) {
        file.hidden_dir = rng.chance(1, 4);
    }
    // A source may have any name: one file in 16 has `..` inside its name, a space and a
    // letter outside ASCII.
    for file in scenario.files.iter_mut() {
        file.odd_name = rng.chance(1, 16);
    }
    // What the engine remembers holds for any number of builds: one schedule in 64 builds a
    // third time with the same engine.
    scenario.third_build = rng.chance(1, 64);
}

/// The consumer paths of exec consumers (plugins always read in ABI chunks).
pub const VIAS: [ConsumePath; 7] = [
    ConsumePath::OsCopy,
    ConsumePath::Fuse,
    ConsumePath::ViewRepack,
    ConsumePath::PlainReader,
    ConsumePath::OddReads,
    ConsumePath::AsyncCopy,
    ConsumePath::AsyncReadBuf,
];

fn generate_consumer(
    rng: &mut impl Choices,
    scenario: &Scenario,
    (singles, vias): (&[usize], &[ConsumePath]),
    k: usize,
) -> ConsumerSpec {
    let plugin = rng.chance(1, 6);
    let mut inputs: Vec<Input> = singles
        .iter()
        .copied()
        .filter(|_| rng.chance(1, 2))
        .map(Input::File)
        .collect();
    if scenario.has_glob() && rng.chance(2, 3) {
        inputs.push(Input::Glob);
    }
    if !scenario.view.is_empty() && !plugin && rng.chance(1, 2) {
        inputs.push(Input::View);
    }
    let earlier: Vec<usize> = (0..k).filter(|&j| !scenario.consumers[j].plugin).collect();
    if !earlier.is_empty() && rng.chance(1, 3) {
        inputs.push(Input::Consumer(*rng.pick(&earlier)));
    }
    if inputs.is_empty() {
        inputs.push(if singles.is_empty() {
            Input::Glob
        } else {
            Input::File(*rng.pick(singles))
        });
    }
    let via = if plugin {
        ConsumePath::AbiChunked
    } else {
        *rng.pick(vias)
    };
    ConsumerSpec {
        inputs,
        via,
        cached: rng.chance(1, 2),
        plugin,
        steps: ExecShape::Concat,
    }
}

fn generate_mutation(
    rng: &mut impl Choices,
    scenario: &Scenario,
    palette: &Palette,
) -> MutationSpec {
    let file = rng.below(scenario.files.len() as u64) as usize;
    // Three in four mutations change the workspace; the rest attack the engine's own state.
    let kinds = if rng.chance(3, 4) || palette.engine.is_empty() {
        &palette.workspace
    } else {
        &palette.engine
    };
    let kind = *rng.pick(kinds);
    let consumer = rng.below(scenario.consumers.len() as u64) as usize;
    let chunk = rng.below(3) as u32;
    let point = match *rng.pick(&palette.points) {
        0 => Point::BeforeHash,
        1 => Point::AfterHash,
        2 => Point::AfterHashin { consumer },
        3 => Point::AfterCacheWrite { consumer },
        4 => Point::AtOpen,
        5 => Point::AfterChunk { chunk },
        6 => Point::AtEof,
        7 => Point::BetweenConsumers { consumer },
        8 => Point::BeforeOpen,
        9 => Point::AfterHashChunk { chunk },
        10 => Point::DuringPack,
        11 => Point::BeforeCacheRead { consumer },
        12 => Point::BeforeConsume { consumer },
        _ => Point::BetweenBuilds,
    };
    MutationSpec::new(file, kind, point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::MAX_FILE_SIZE;

    #[test]
    fn swarm_palettes_are_subsets_and_the_full_palette_is_plain_generation() {
        let full = Palette::full();
        for index in 0..200 {
            assert_eq!(generate_with(7, index, full), generate(7, index));
            let palette = Palette::swarm(7, index);
            assert_eq!(palette, Palette::swarm(7, index), "deterministic");
            for (some, all) in [
                (palette.workspace.len(), full.workspace.len()),
                (palette.engine.len(), full.engine.len()),
                (palette.points.len(), full.points.len()),
                (palette.vias.len(), full.vias.len()),
            ] {
                assert!((1..=all).contains(&some), "{palette:?}");
            }
            let s = generate_swarm(7, index);
            assert_eq!(s.validate(), Ok(()), "swarm schedule {index}");
            for m in &s.mutations {
                let kinds = [&palette.workspace[..], &palette.engine[..]].concat();
                assert!(kinds.contains(&m.kind), "{:?} outside {palette:?}", m.kind);
            }
            for c in s.consumers.iter().filter(|c| !c.plugin) {
                assert!(palette.vias.contains(&c.via), "{:?}", c.via);
            }
        }
        let sizes: std::collections::BTreeSet<usize> = (0..50)
            .map(|i| Palette::swarm(7, i).workspace.len())
            .collect();
        assert!(
            sizes.len() > 3,
            "palettes differ between schedules: {sizes:?}"
        );
    }

    #[test]
    fn any_tape_is_a_valid_scenario_and_a_seed_is_its_own_tape() {
        assert_eq!(generate_from_tape(&[]).validate(), Ok(()), "the empty tape");
        let mut rng = Rng::for_schedule(9, 4);
        let tape: Vec<u8> = (0..512)
            .flat_map(|_| rng.next_u64().to_le_bytes())
            .collect();
        assert_eq!(
            generate_from_tape(&tape),
            generate(9, 4),
            "SplitMix64's tape is the seed"
        );
        for len in [1, 7, 8, 63, 200, 4096] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let s = generate_from_tape(&bytes);
            assert_eq!(s.validate(), Ok(()), "tape of {len} bytes");
            assert_eq!(s, generate_from_tape(&bytes), "same bytes, same scenario");
        }
    }

    #[test]
    fn generation_is_deterministic_and_valid() {
        for index in 0..500 {
            let a = generate(42, index);
            assert_eq!(a, generate(42, index));
            assert_eq!(a.validate(), Ok(()), "schedule {index}: {a:?}");
            let refused = crate::oracle::plan::refused(&a.targets());
            assert_eq!(
                engine::Graph::new(a.targets()).is_err(),
                refused.is_some(),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn file_bytes_follow_the_prime_period_and_sizes_are_bounded() {
        let spec = |size| FileSpec {
            size,
            fill: 0x5a,
            x: false,
            globbed: false,
            link_to: None,
            ..FileSpec::default()
        };
        for size in [0, 1, 250, 251, 252, 65_537] {
            let expected: Vec<u8> = (0..size).map(|i| ((i % 251) as u8) ^ 0x5a).collect();
            assert_eq!(spec(size).bytes(), expected, "size {size}");
        }
        let mut scenario = generate(1, 0);
        scenario.files[0] = spec(MAX_FILE_SIZE + 1);
        let error = scenario.validate().expect_err("oversized file");
        assert!(error.contains("file 0 is 16777217 bytes"), "{error}");
    }

    /// Every row of SPEC §4's gating table (producer kind × cache enabled × shell, the plugin
    /// boundary being the plugin kind), every build mode, consumer path and the pause occur.
    #[test]
    fn generation_reaches_every_gating_row_build_mode_and_consumer_path() {
        use std::collections::BTreeSet;
        let (mut rows, mut modes, mut vias) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let (mut pauses, mut globbed_links) = (0, 0);
        for index in 0..5_000 {
            let s = generate(1, index);
            for t in s.targets().iter().filter(|t| t.name != "all") {
                let kind = serde_json::to_value(&t.driver).unwrap();
                let kind = kind.as_object().unwrap().keys().next().unwrap().clone();
                rows.insert((kind, t.cache.enabled, t.cache.shell));
            }
            modes.insert(s.build);
            vias.extend(s.consumers.iter().map(|c| format!("{:?}", c.via)));
            pauses += usize::from(s.pause);
            globbed_links += s
                .files
                .iter()
                .filter(|f| f.globbed && f.link_to.is_some())
                .count();
        }
        assert_eq!(rows.len(), 5 * 4, "{rows:?}");
        assert_eq!(modes.len(), 3);
        assert_eq!(vias.len(), VIAS.len() + 1, "{vias:?}");
        assert!(
            pauses > 1_000 && globbed_links > 50,
            "{pauses} {globbed_links}"
        );
    }

    #[test]
    fn generation_covers_every_kind_and_point() {
        let mut kinds = std::collections::BTreeSet::new();
        let mut points = std::collections::BTreeSet::new();
        for index in 0..2000 {
            for m in generate(1, index).mutations {
                kinds.insert(m.kind);
                points.insert(m.point.name());
            }
        }
        assert_eq!(kinds.len(), MutationKind::ALL.len());
        assert_eq!(points.len(), Point::KINDS);
    }

    /// The rules that hold "for any" depth, position, count, shape are exercised beyond their
    /// first case: every glob shape, graph defect and exec shape; nested, generated, linked and
    /// long-named files; mutation points at later consumers and later chunks; several
    /// mutations, several inputs, consumers of consumers.
    #[test]
    fn generation_goes_beyond_the_first_case_of_every_for_any() {
        use std::collections::BTreeSet;
        let (mut globs, mut defects, mut shapes) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let (mut later_consumer, mut later_chunk) = (BTreeSet::new(), BTreeSet::new());
        let mut seen = BTreeSet::new();
        for index in 0..10_000 {
            let s = generate(1, index);
            if s.has_glob() {
                globs.insert(s.glob);
            }
            defects.extend(s.defect);
            for c in &s.consumers {
                shapes.insert(c.steps);
                if c.inputs.len() > 2 {
                    seen.insert("three or more inputs");
                }
                if c.inputs.iter().any(|i| matches!(i, Input::Consumer(_))) {
                    seen.insert("a consumer of a consumer");
                }
            }
            for f in &s.files {
                for (flag, name) in [
                    (f.nested, "nested"),
                    (f.generated, "generated"),
                    (f.long_name, "long name"),
                    (f.link_to.is_some(), "link"),
                ] {
                    if flag {
                        seen.insert(name);
                    }
                }
            }
            if s.mutations.len() == MAX_MUTATIONS {
                seen.insert("the most mutations");
            }
            for m in &s.mutations {
                if let Some(k) = m.point.consumer() {
                    later_consumer.insert(k);
                }
                if let Point::AfterChunk { chunk } | Point::AfterHashChunk { chunk } = m.point {
                    later_chunk.insert(chunk);
                }
            }
        }
        assert_eq!(globs.len(), GlobShape::ALL.len(), "{globs:?}");
        assert_eq!(defects.len(), GraphDefect::ALL.len(), "{defects:?}");
        assert_eq!(shapes.len(), ExecShape::ALL.len(), "{shapes:?}");
        assert_eq!(later_consumer.len(), MAX_CONSUMERS, "{later_consumer:?}");
        assert_eq!(later_chunk, BTreeSet::from([0, 1, 2]));
        assert_eq!(seen.len(), 7, "{seen:?}");
    }
}
