//! Scenarios: a small build graph, file contents and a list of mutations, all derived from
//! `(seed, index)` or written by hand, and turned into engine targets.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use engine::{CacheConfig, ConsumePath, Target};

use crate::mutation::{MutationKind, Point};
use crate::rng::{Choices, Rng, Tape};

/// At most this many files in a generated scenario.
pub const MAX_FILES: usize = 4;
/// At most this many consumers.
pub const MAX_CONSUMERS: usize = 3;
/// At most this many mutations.
pub const MAX_MUTATIONS: usize = 3;
/// At most this many bytes in one file (hand-written scenarios included): every schedule holds
/// several copies of each file in memory.
pub const MAX_FILE_SIZE: u64 = 16 << 20;
/// Sizes that sit on interesting boundaries (64 KiB chunks, empty, one byte).
pub const BOUNDARY_SIZES: [u64; 8] = [0, 1, 4095, 65_535, 65_536, 65_537, 131_072, 200_000];

/// One workspace file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// Size in bytes.
    pub size: u64,
    /// Seed of its bytes.
    pub fill: u8,
    /// Exec bit.
    pub x: bool,
    /// Matched by the glob target instead of having its own fs:file target.
    pub globbed: bool,
    /// This path is a symlink to file `link_to` (which must not itself be a link).
    pub link_to: Option<usize>,
    /// It lives in a directory of its own under `src/` (which a mutation can remove or rename).
    #[serde(default, skip_serializing_if = "is_default")]
    pub nested: bool,
    /// Its name is over 100 bytes long (a tar needs its long-name extension for it).
    #[serde(default, skip_serializing_if = "is_default")]
    pub long_name: bool,
    /// It belongs to an external repository (`external/repo/`), which Bazel's lite guard does
    /// not check. Set by stories and the exhaustive cases, never drawn by the generator (so a
    /// seed's scenario keeps its meaning).
    #[serde(default, skip_serializing_if = "is_default")]
    pub external: bool,
    /// It is generated in place (named `.heph-…`): SPEC §3's fs:file produces no artifact
    /// for it, and no glob ever sees it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub generated: bool,
}

impl FileSpec {
    /// The bytes of the file (for a link: of its target, see [`Scenario::content`]).
    pub fn bytes(&self) -> Vec<u8> {
        // Byte i is (i mod 251) ^ fill: a prime period, so chunk boundaries never line up with
        // it. Built by repeating one period, since this runs for every file of every schedule.
        let period: Vec<u8> = (0..251u8).map(|i| i ^ self.fill).collect();
        let size =
            usize::try_from(self.size).expect("validate() bounds file sizes by MAX_FILE_SIZE");
        let mut out = Vec::with_capacity(size);
        while out.len() < size {
            let take = (size - out.len()).min(period.len());
            out.extend_from_slice(&period[..take]);
        }
        debug_assert_eq!(out.len(), size);
        out
    }
}

/// What a consumer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// The fs:file target of file `i`.
    File(usize),
    /// The fs:glob target.
    Glob,
    /// The group (View) target.
    View,
    /// The packed output of an earlier consumer.
    Consumer(usize),
}

/// One consumer of source artifacts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerSpec {
    /// Its inputs.
    pub inputs: Vec<Input>,
    /// How it materializes them (plugins always read in ABI chunks).
    pub via: ConsumePath,
    /// Cache enabled (else tmp).
    pub cached: bool,
    /// An out-of-process plugin (reads through the ABI, exposes file `exposes`).
    pub plugin: bool,
    /// What an exec consumer runs after concatenating its inputs into `out`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub steps: ExecShape,
}

/// The steps of an exec consumer beyond `Concat` into `out` (SPEC §3: exec outputs are
/// hashed with their exec bit, and every step is logged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecShape {
    /// `Concat` into `out` only.
    #[default]
    Concat,
    /// Then `Chmod` `out` to executable.
    ChmodX,
    /// Then `Write` a fixed `stamp` file, declared as a second output group `stamp`.
    Stamp,
    /// Then `Write` the `stamp` file, declared under the group `out` a second time: SPEC §5's
    /// caching rejects duplicate group names, so the target must fail.
    DuplicateGroup,
}

impl ExecShape {
    /// Every shape.
    pub const ALL: [ExecShape; 4] = [
        ExecShape::Concat,
        ExecShape::ChmodX,
        ExecShape::Stamp,
        ExecShape::DuplicateGroup,
    ];
    /// The bytes the `Stamp` step writes.
    pub const STAMP: &'static [u8] = b"stamp\n";
}

/// One mutation: what, to which file, when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutationSpec {
    /// File index.
    pub file: usize,
    /// What is done.
    pub kind: MutationKind,
    /// When.
    pub point: Point,
}

/// The glob target's definition: patterns and excludes that tell SPEC §3's matching apart
/// (a path's directories, one character against many, several patterns and excludes), all
/// selecting only `g`-named files, so no glob overlaps an fs:file target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlobShape {
    /// `src/g*.txt`, excluding `src/*.sim-new`.
    #[default]
    Plain,
    /// `src/g*.txt`, excluding `src/g*d/*`: nested files are left out by a directory part.
    NotNested,
    /// `src/g?.txt` and `src/g?d/g?.txt`: one character only (links' and long names miss).
    OneChar,
    /// `src/g*`, excluding `src/g0*` and `*.sim-new`: the first file left out by its name.
    NotFirst,
    /// `src/g*.txt`, excluding `src/*-a-name-long-*`: long names left out.
    NotLong,
}

impl GlobShape {
    /// Every shape.
    pub const ALL: [GlobShape; 5] = [
        GlobShape::Plain,
        GlobShape::NotNested,
        GlobShape::OneChar,
        GlobShape::NotFirst,
        GlobShape::NotLong,
    ];

    /// Its patterns and excludes.
    pub fn patterns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            GlobShape::Plain => (&["src/g*.txt"], &["src/*.sim-new"]),
            GlobShape::NotNested => (&["src/g*.txt"], &["src/g*d/*"]),
            GlobShape::OneChar => (&["src/g?.txt", "src/g?d/g?.txt"], &[]),
            GlobShape::NotFirst => (&["src/g*"], &["src/g0*", "*.sim-new"]),
            GlobShape::NotLong => (&["src/g*.txt"], &["src/*-a-name-long-*"]),
        }
    }
}

/// A defect of the build graph, so that planning is judged both ways (SPEC: targets name their
/// inputs; a build plans its dependencies first): each must fail before any target starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphDefect {
    /// The first consumer takes the root `all` as an input: a cycle.
    Cycle,
    /// The first consumer names an input no target defines.
    UnknownInput,
    /// A second target named like the first consumer.
    DuplicateName,
    /// A chain of groups one longer than the engine's limit in front of `all`.
    DeepChain,
}

impl GraphDefect {
    /// Every defect.
    pub const ALL: [GraphDefect; 4] = [
        GraphDefect::Cycle,
        GraphDefect::UnknownInput,
        GraphDefect::DuplicateName,
        GraphDefect::DeepChain,
    ];
}

/// How the engine runs a build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildMode {
    /// `Engine::build_sync` on the calling thread.
    #[default]
    Sync,
    /// `Engine::build` on a current-thread tokio runtime, blocking work inline.
    AsyncInline,
    /// `Engine::build` on a current-thread tokio runtime, blocking work via `spawn_blocking`.
    AsyncSpawnBlocking,
}

/// A whole schedule: files, graph, mutations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// Workspace files.
    pub files: Vec<FileSpec>,
    /// Files (by index, not globbed) in the group View.
    pub view: Vec<usize>,
    /// The group target has its cache enabled, so its View must pack (SPEC §4).
    #[serde(default)]
    pub view_cached: bool,
    /// Consumers, built in order within each build.
    pub consumers: Vec<ConsumerSpec>,
    /// Mutations.
    pub mutations: Vec<MutationSpec>,
    /// Cache configurations that replace a target's default (by target name), so every row of
    /// SPEC §4's gating table occurs: cached source targets, shell targets, uncached Views…
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub caching: BTreeMap<String, CacheConfig>,
    /// How the engine runs each build.
    #[serde(default, skip_serializing_if = "is_default")]
    pub build: BuildMode,
    /// Time passes before each build (MemFs's clock moves 2 s after the workspace is written and
    /// again between the builds), so a racy walker can trust what it remembered.
    #[serde(default, skip_serializing_if = "is_default")]
    pub pause: bool,
    /// MemFs's mtime granularity in nanoseconds; 0 keeps the mode's default (1 ns for heph's
    /// rule, 1 s with `--racy`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub granularity_ns: u64,
    /// The tmp cache keeps at most [`SPILL_LIMIT`] bytes per blob in memory: packed outputs spill
    /// to the file system (where a mutation can damage them).
    #[serde(default, skip_serializing_if = "is_default")]
    pub spill: bool,
    /// The glob target's patterns and excludes.
    #[serde(default, skip_serializing_if = "is_default")]
    pub glob: GlobShape,
    /// A defect of the graph: nothing can be built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defect: Option<GraphDefect>,
}

/// The tmp cache's per-blob memory limit when a scenario spills.
pub const SPILL_LIMIT: u64 = 1_024;

/// What a long name adds: 112 bytes, so that `src/…/f1{LONG_SUFFIX}.txt` needs a tar's
/// long-name extension (a plain header holds 100 bytes of name).
pub const LONG_SUFFIX: &str = "-a-name-long-enough-that-a-plain-tar-header-cannot-hold-it-so-the-gnu-long-name-extension-has-to-carry-it-whole";

/// The mtime granularities schedules use: nanosecond, microsecond, 10 ms, one second.
pub const GRANULARITIES: [u64; 4] = [1, 1_000, 10_000_000, 1_000_000_000];

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl Scenario {
    /// The workspace path of file `i`: `src/{f,g,l}{i}.txt` (`g` for a globbed file, which
    /// `src/g*.txt` matches however nested), in `src/{f,g,l}{i}d/` when nested, with a long
    /// suffix when its name is long.
    pub fn path(&self, i: usize) -> String {
        let file = &self.files[i];
        let (prefix, link) = match (file.globbed, file.link_to) {
            (true, Some(_)) => ("g", "l"),
            (false, Some(_)) => ("l", ""),
            (true, None) => ("g", ""),
            (false, None) => ("f", ""),
        };
        if file.generated {
            return format!("src/.heph-gen{i}.txt");
        }
        let dir = if file.external {
            format!("{}/repo/", engine::guard::EXTERNAL)
        } else if file.nested {
            format!("src/{prefix}{i}d/")
        } else {
            "src/".to_string()
        };
        let long = if file.long_name { LONG_SUFFIX } else { "" };
        format!("{dir}{prefix}{i}{link}{long}.txt")
    }

    /// The initial bytes and exec bit seen through file `i` (following a link).
    pub fn content(&self, i: usize) -> (Vec<u8>, bool) {
        let real = self.files[i].link_to.unwrap_or(i);
        (self.files[real].bytes(), self.files[real].x)
    }

    /// The engine name of consumer `k`.
    pub fn consumer_name(k: usize) -> String {
        format!("c{k}")
    }

    /// The file a plugin consumer exposes as an output of its own: the first plain file with
    /// an fs:file target, if any.
    pub fn exposed(&self) -> Option<usize> {
        (0..self.files.len()).find(|&i| {
            let f = &self.files[i];
            !f.globbed && f.link_to.is_none() && !f.generated
        })
    }

    /// The names of the scenario's glob targets.
    pub fn glob_targets(&self) -> std::collections::BTreeSet<String> {
        self.has_glob()
            .then(|| "glob".to_string())
            .into_iter()
            .collect()
    }

    /// True when some file is matched by the glob target.
    pub fn has_glob(&self) -> bool {
        self.files.iter().any(|f| f.globbed)
    }

    /// The engine targets of this scenario, plus the root that builds every consumer.
    pub fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        for i in 0..self.files.len() {
            if !self.files[i].globbed {
                targets.push(Target::fs_file(&format!("file{i}"), &self.path(i)));
            }
        }
        if self.has_glob() {
            let (patterns, excludes) = self.glob.patterns();
            targets.push(Target::fs_glob("glob", patterns, excludes));
        }
        if !self.view.is_empty() {
            let names: Vec<String> = self.view.iter().map(|i| format!("file{i}")).collect();
            let mut view = Target::group(
                "view",
                &names.iter().map(String::as_str).collect::<Vec<_>>(),
                "lib",
            );
            if self.view_cached {
                view.cache = CacheConfig::CACHED;
            }
            targets.push(view);
        }
        for (k, consumer) in self.consumers.iter().enumerate() {
            targets.push(self.consumer_target(k, consumer));
        }
        let consumers: Vec<String> = (0..self.consumers.len()).map(Self::consumer_name).collect();
        targets.push(Target::group(
            "all",
            &consumers.iter().map(String::as_str).collect::<Vec<_>>(),
            "all",
        ));
        for target in &mut targets {
            if let Some(cache) = self.caching.get(&target.name) {
                target.cache = *cache;
            }
        }
        if let Some(defect) = self.defect {
            with_defect(&mut targets, defect);
        }
        targets
    }

    fn consumer_target(&self, k: usize, consumer: &ConsumerSpec) -> Target {
        let inputs: Vec<String> = consumer
            .inputs
            .iter()
            .map(|input| match input {
                Input::File(i) => format!("file{i}"),
                Input::Glob => "glob".into(),
                Input::View => "view".into(),
                Input::Consumer(j) => Self::consumer_name(*j),
            })
            .collect();
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let cache = if consumer.cached {
            CacheConfig::CACHED
        } else {
            CacheConfig::UNCACHED
        };
        let name = Self::consumer_name(k);
        if consumer.plugin {
            let exposed: Vec<String> = self.exposed().map(|i| self.path(i)).into_iter().collect();
            let exposed: Vec<&str> = exposed.iter().map(String::as_str).collect();
            Target::plugin(&name, &inputs, &exposed, cache)
        } else {
            with_shape(
                Target::concat(&name, &inputs, consumer.via, cache),
                consumer.steps,
            )
        }
    }

    /// Checks the structural rules the generator keeps; hand-written scenarios are checked too.
    pub fn validate(&self) -> Result<(), String> {
        if self.files.is_empty() || self.files.len() > MAX_FILES * 2 {
            return Err(format!(
                "{} files; want 1..={}",
                self.files.len(),
                MAX_FILES * 2
            ));
        }
        for (i, file) in self.files.iter().enumerate() {
            if file.size > MAX_FILE_SIZE {
                return Err(format!(
                    "file {i} is {} bytes; at most {MAX_FILE_SIZE}",
                    file.size
                ));
            }
            if let Some(j) = file.link_to {
                if j >= self.files.len() || self.files[j].link_to.is_some() || j == i {
                    return Err(format!("file {i} links to {j}, which is not a plain file"));
                }
                if file.nested {
                    return Err(format!("file {i} is a link and cannot be nested"));
                }
            }
            if file.generated && (file.nested || file.globbed || file.external) {
                return Err(format!(
                    "file {i} is generated: it cannot also be nested, globbed or external"
                ));
            }
            if file.external && (file.nested || file.globbed || file.link_to.is_some()) {
                return Err(format!(
                    "file {i} is external: it cannot also be nested, globbed or a link"
                ));
            }
        }
        for (k, consumer) in self.consumers.iter().enumerate() {
            if consumer.plugin && consumer.steps != ExecShape::Concat {
                return Err(format!("consumer {k}: a plugin runs no exec steps"));
            }
            for input in &consumer.inputs {
                match *input {
                    Input::File(i) if i >= self.files.len() || self.files[i].globbed => {
                        return Err(format!("consumer {k}: bad file input {i}"))
                    }
                    Input::Consumer(j) if j >= k || self.consumers[j].plugin => {
                        return Err(format!("consumer {k}: bad consumer input {j}"))
                    }
                    Input::View if self.view.is_empty() || consumer.plugin => {
                        return Err(format!("consumer {k}: bad view input"))
                    }
                    Input::Glob if !self.has_glob() => {
                        return Err(format!("consumer {k}: no glob"))
                    }
                    _ => {}
                }
            }
        }
        for m in &self.mutations {
            if m.file >= self.files.len() {
                return Err(format!("mutation on missing file {}", m.file));
            }
        }
        if self.granularity_ns > 2_000_000_000 {
            return Err(format!(
                "granularity {} ns is above two seconds (FAT's)",
                self.granularity_ns
            ));
        }
        if !self.caching.is_empty() {
            let names: Vec<String> = self.targets().into_iter().map(|t| t.name).collect();
            if let Some(name) = self.caching.keys().find(|n| !names.contains(n)) {
                return Err(format!(
                    "caching names {name:?}, which is not a target of the scenario"
                ));
            }
        }
        Ok(())
    }
}

/// `targets` (the last one the root `all`, the first consumer `c0`) with `defect` made.
fn with_defect(targets: &mut Vec<Target>, defect: GraphDefect) {
    let first = Scenario::consumer_name(0);
    let Some(k) = targets.iter().position(|t| t.name == first) else {
        return;
    };
    match defect {
        GraphDefect::Cycle => targets[k].inputs.push("all".into()),
        GraphDefect::UnknownInput => targets[k].inputs.push("missing".into()),
        GraphDefect::DuplicateName => targets.push(targets[k].clone()),
        GraphDefect::DeepChain => {
            let n = engine::target::MAX_CHAIN;
            for i in 0..n {
                let inputs: Vec<String> = match i {
                    0 => vec![],
                    _ => vec![format!("chain{}", i - 1)],
                };
                let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                targets.push(Target::group(&format!("chain{i}"), &inputs, "chain"));
            }
            let root = targets.iter_mut().find(|t| t.name == "all");
            if let Some(root) = root {
                root.inputs.push(format!("chain{}", n - 1));
            }
        }
    }
}

/// An exec `target` (a `Target::concat`) with the steps and outputs of `shape` added.
fn with_shape(mut target: Target, shape: ExecShape) -> Target {
    use engine::target::{Driver, ExecOutput, ExecStep};
    let Driver::Exec { steps, outputs, .. } = &mut target.driver else {
        unreachable!("consumers that are not plugins are exec targets");
    };
    debug_assert_eq!(steps.len(), 1, "Target::concat has one step");
    match shape {
        ExecShape::Concat => {}
        ExecShape::ChmodX => steps.push(ExecStep::Chmod {
            path: "out".into(),
            x: true,
        }),
        ExecShape::Stamp | ExecShape::DuplicateGroup => {
            steps.push(ExecStep::Write {
                path: "stamp".into(),
                data: ExecShape::STAMP.to_vec(),
            });
            let group = if shape == ExecShape::Stamp {
                "stamp"
            } else {
                "out"
            };
            outputs.push(ExecOutput {
                group: group.into(),
                path: "stamp".into(),
            });
        }
    }
    target
}

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
            long_name: rng.chance(1, 8),
            external: false,
            generated: false,
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
            long_name: false,
            external: false,
            generated: false,
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
        scenario.glob = *rng.pick(&GlobShape::ALL[1..]);
    }
    if rng.chance(1, 64) {
        scenario.defect = Some(*rng.pick(&GraphDefect::ALL));
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
    debug_assert_eq!(scenario.validate(), Ok(()));
    scenario
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
    MutationSpec { file, kind, point }
}

#[cfg(test)]
mod tests {
    use super::*;

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
