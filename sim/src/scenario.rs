//! Scenarios: a small build graph, file contents and a list of mutations, all derived from
//! `(seed, index)` or written by hand, and turned into engine targets.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use engine::{CacheConfig, ConsumePath};

use crate::mutation::{MutationKind, Point};

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
    /// This path is a symlink to file `link_to` (itself a link at most once more: a chain of
    /// at most [`MAX_LINK_CHAIN`] links ends at a plain file).
    pub link_to: Option<usize>,
    /// It lives in a directory of its own under `src/` (which a mutation can remove or rename).
    #[serde(default, skip_serializing_if = "is_default")]
    pub nested: bool,
    /// How many more directories it lies under inside its own (`d1/`, `d1/d2/`), so that a
    /// glob's "however nested" is held beyond the first level. Only for a nested file.
    #[serde(default, skip_serializing_if = "is_default")]
    pub depth: u8,
    /// Its name is over 100 bytes long (a tar needs its long-name extension for it).
    #[serde(default, skip_serializing_if = "is_default")]
    pub long_name: bool,
    /// It belongs to an external repository (`external/repo/`), which Bazel's lite guard does
    /// not check. Set by stories and the exhaustive cases, never drawn by the generator (so a
    /// seed's scenario keeps its meaning).
    #[serde(default, skip_serializing_if = "is_default")]
    pub external: bool,
    /// It belongs to the main repository, in a directory whose name only begins like the
    /// external repositories' (`externals/`): a guard must check it. Set by the exhaustive
    /// cases, never drawn by the generator.
    #[serde(default, skip_serializing_if = "is_default")]
    pub beside_external: bool,
    /// It is generated in place (named `.heph-…`): SPEC §3's fs:file produces no artifact
    /// for it, and no glob ever sees it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub generated: bool,
    /// A generated file lies inside a generated directory (`.heph-gen{i}/`) under its own
    /// name, instead of bearing the `.heph` name itself: SPEC §3's "generated in place" holds
    /// for a path at any position, not only its last.
    #[serde(default, skip_serializing_if = "is_default")]
    pub generated_dir: bool,
    /// It lies in a hidden directory inside its own (`src/g{i}d/.h/`), where the glob's
    /// patterns still reach it: SPEC §3's fs:glob makes "one artifact per matched file" in any
    /// directory, hidden or not (only paths generated in place, `.heph*`, are left out). Only
    /// for a nested file.
    #[serde(default, skip_serializing_if = "is_default")]
    pub hidden_dir: bool,
    /// Its name holds characters a path check may trip on though nothing is wrong with them
    /// ([`ODD_SUFFIX`]: `..` inside a name, a space, a letter outside ASCII): SPEC gives a
    /// source any name, and only a `..` *component* leaves the workspace.
    #[serde(default, skip_serializing_if = "is_default")]
    pub odd_name: bool,
    /// Which permission bits it is created with, an index into [`EXEC_MODES`] or
    /// [`PLAIN_MODES`] by its exec bit: SPEC §2's `x` is *any* of the three x bits, so a file
    /// whose only x bit is its group's or others' must count as executable.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mode: u8,
    /// A globbed file that has an fs:file target of its own too: one path reached by two
    /// source targets, so hashed twice in one build (SPEC §3 gives every source file its
    /// fs:file, whatever globs match it).
    #[serde(default, skip_serializing_if = "is_default")]
    pub also_file: bool,
}

impl FileSpec {
    /// True when the file has an fs:file target (`file{i}`).
    pub fn has_file_target(&self) -> bool {
        !self.globbed || self.also_file
    }
}

/// At most this many links in a row before a plain file (SPEC §3 follows symlinks however
/// they chain).
pub const MAX_LINK_CHAIN: usize = 2;

/// Modes an executable file is created with (index `FileSpec::mode`): owner, group or others
/// alone may hold the x bit.
pub const EXEC_MODES: [u32; 5] = [0o755, 0o700, 0o710, 0o654, 0o645];
/// Modes a plain file is created with: no x bit anywhere, whatever else is set.
pub const PLAIN_MODES: [u32; 5] = [0o644, 0o600, 0o640, 0o666, 0o604];

impl FileSpec {
    /// The permission bits it is created with.
    pub fn mode_bits(&self) -> u32 {
        let modes = if self.x { &EXEC_MODES } else { &PLAIN_MODES };
        modes[usize::from(self.mode) % modes.len()]
    }

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
    /// Time passes first ([`LATE_NS`]): the edit comes late in whatever is running, past the
    /// windows rules open at an action's start (ccache's 100 ms "too new" margin).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    /// What becomes of the mtime of the file's directory after the mutation: restored or set
    /// back (`rsync -t`, `tar x`, `touch -r` on a directory), so a listing rule keyed on it
    /// meets an unchanged or older stamp over changed entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir_stamp: Option<DirStamp>,
}

/// A directory's mtime after a mutation in it, instead of what the file system left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirStamp {
    /// Set back to what it was before the mutation.
    Restore,
    /// Set a second before what it was before the mutation.
    Backdate,
}

impl MutationSpec {
    /// `kind` on file `file` at `point`, on time (not late).
    pub fn new(file: usize, kind: MutationKind, point: Point) -> MutationSpec {
        MutationSpec {
            file,
            kind,
            point,
            late: false,
            dir_stamp: None,
        }
    }
}

/// How much time passes before a late mutation: past ccache's 100 ms margin, within git's and
/// Mercurial's one-second racy windows only sometimes.
pub const LATE_NS: u64 = 200_000_000;

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
    /// `src/g*.txt`, excluding `src/g?d` and `*/d1`: excludes that name directories, not
    /// files. SPEC §3 applies excludes to matched files, so the files under those directories
    /// are still selected (a walk must not prune what an exclude names). Drawn last.
    DirsExcluded,
    /// `src/g*.txt`, excluding `src/*-a-name-long-*`: long names left out.
    NotLong,
}

impl GlobShape {
    /// Every shape.
    pub const ALL: [GlobShape; 6] = [
        GlobShape::Plain,
        GlobShape::NotNested,
        GlobShape::OneChar,
        GlobShape::NotFirst,
        GlobShape::NotLong,
        GlobShape::DirsExcluded,
    ];
    /// The shapes drawn first (`DirsExcluded` is drawn last, so a seed keeps its meaning).
    pub const FIRST: [GlobShape; 4] = [
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
            GlobShape::DirsExcluded => (&["src/g*.txt"], &["src/g?d", "*/d1"]),
        }
    }
}

/// A defect of the build graph or of one definition, so that refusals are judged both ways
/// (SPEC: targets name their inputs; a build plans its dependencies first; bad input is an error
/// naming what was wrong and where). A graph defect must fail before any target starts; a
/// definition defect fails its own target when it runs, naming the path or pattern.
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
    /// The first consumer also takes an fs:file of an absolute path (`/escape.txt`).
    SourceAbsolute,
    /// The first consumer also takes an fs:file of a path above the workspace (`../escape.txt`).
    SourceAboveWorkspace,
    /// The first consumer also takes an fs:file of the empty path.
    SourceEmpty,
    /// The first consumer also takes a glob whose pattern does not parse (`src/[g*.txt`).
    BadGlobPattern,
    /// The first consumer writes an output outside its sandbox (`../escape.txt`).
    OutputEscapes,
}

impl GraphDefect {
    /// Every defect.
    pub const ALL: [GraphDefect; 9] = [
        GraphDefect::Cycle,
        GraphDefect::UnknownInput,
        GraphDefect::DuplicateName,
        GraphDefect::DeepChain,
        GraphDefect::SourceAbsolute,
        GraphDefect::SourceAboveWorkspace,
        GraphDefect::SourceEmpty,
        GraphDefect::BadGlobPattern,
        GraphDefect::OutputEscapes,
    ];
    /// The defects of the graph as a whole: planning refuses them.
    pub const GRAPH: [GraphDefect; 4] = [
        GraphDefect::Cycle,
        GraphDefect::UnknownInput,
        GraphDefect::DuplicateName,
        GraphDefect::DeepChain,
    ];
    /// The defects of one definition: its target refuses it when it runs.
    pub const DEFINITION: [GraphDefect; 5] = [
        GraphDefect::SourceAbsolute,
        GraphDefect::SourceAboveWorkspace,
        GraphDefect::SourceEmpty,
        GraphDefect::BadGlobPattern,
        GraphDefect::OutputEscapes,
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
    /// The resolution of the clock the engine reads on MemFs, in nanoseconds (0: exact). A
    /// clock coarser than a build (Windows' 15.6 ms tick, a one-second clock) gives two builds
    /// of one target the same tmp key `{hashin}_{nanos}`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub clock_ns: u64,
    /// The tmp cache keeps at most [`SPILL_LIMIT`] bytes per blob in memory: packed outputs spill
    /// to the file system (where a mutation can damage them).
    #[serde(default, skip_serializing_if = "is_default")]
    pub spill: bool,
    /// Memory limits at the tmp cache's boundaries instead (SPEC §5 holds "for any" size, so
    /// blobs land exactly at, just under and just over them): `(per_entry, total)` in bytes,
    /// both multiples of a tar block so that whole tars meet them exactly. Overrides `spill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmp_limits: Option<(u64, u64)>,
    /// How many more groups wrap the View (0: the View is a group of files; 1 or 2: a group of
    /// the inner View and a file, relocated again), so that SPEC §1's "path-rewritten window"
    /// is held at every depth of nesting.
    #[serde(default, skip_serializing_if = "is_default")]
    pub view_nesting: u8,
    /// The glob target's patterns and excludes.
    #[serde(default, skip_serializing_if = "is_default")]
    pub glob: GlobShape,
    /// A defect of the graph: nothing can be built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defect: Option<GraphDefect>,
    /// One more build by the same engine after the rebuild (0: two builds in all), so that
    /// what the engine remembers holds for any number of builds, not only for the first reuse
    /// (a memory that is read but never updated shows only the second time round).
    #[serde(default, skip_serializing_if = "is_default")]
    pub third_build: bool,
}

/// The coarse clocks a scenario may read: a millisecond, Windows' default tick, a second.
pub const CLOCK_RESOLUTIONS: [u64; 3] = [1_000_000, 15_625_000, 1_000_000_000];

/// The tmp cache's per-blob memory limit when a scenario spills.
pub const SPILL_LIMIT: u64 = 1_024;

/// The largest tmp-cache limit a scenario may set (the default total, 64 MiB).
pub const MAX_TMP_LIMIT: u64 = 64 << 20;

/// At most this many directories more under a nested file's own.
pub const MAX_NESTED_DEPTH: u8 = 2;

/// At most this many groups wrap the View.
pub const MAX_VIEW_NESTING: u8 = 2;

/// Where each level of the View relocates, innermost first.
pub const VIEW_RELOCATIONS: [&str; MAX_VIEW_NESTING as usize + 1] = ["lib", "pkg", "dist"];

/// What an odd name adds: `..` inside the name (not a component), a space and a letter
/// outside ASCII.
pub const ODD_SUFFIX: &str = "..v2 é";

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
        if file.generated && file.generated_dir {
            let dir = if file.nested {
                format!("src/{prefix}{i}d/")
            } else {
                "src/".into()
            };
            return format!("{dir}.heph-gen{i}/{prefix}{i}.txt");
        }
        if file.generated && !file.nested {
            return format!("src/.heph-gen{i}.txt");
        }
        let dir = if file.external {
            format!("{}/repo/", engine::guard::EXTERNAL)
        } else if file.beside_external {
            format!("{}s/", engine::guard::EXTERNAL)
        } else if file.nested {
            let deeper: String = (1..=file.depth).map(|d| format!("d{d}/")).collect();
            let hidden = if file.hidden_dir { ".h/" } else { "" };
            format!("src/{prefix}{i}d/{hidden}{deeper}")
        } else {
            "src/".to_string()
        };
        if file.generated {
            // Inside the glob's territory (`src/g*.txt` matches it), which must still skip it.
            return format!("{dir}.heph-gen{i}.txt");
        }
        let long = if file.long_name { LONG_SUFFIX } else { "" };
        let odd = if file.odd_name { ODD_SUFFIX } else { "" };
        format!("{dir}{prefix}{i}{link}{odd}{long}.txt")
    }

    /// The initial bytes and exec bit seen through file `i` (following links).
    pub fn content(&self, i: usize) -> (Vec<u8>, bool) {
        let real = self.link_end(i).unwrap_or(i);
        (self.files[real].bytes(), self.files[real].x)
    }

    /// The plain file a chain of links from file `i` ends at (`i` itself when it is no link);
    /// `None` when the chain is longer than [`MAX_LINK_CHAIN`], loops or leaves the files.
    pub fn link_end(&self, i: usize) -> Option<usize> {
        let mut at = i;
        for _ in 0..=MAX_LINK_CHAIN {
            match self.files.get(at)?.link_to {
                None => return Some(at),
                Some(next) if next == i => return None,
                Some(next) => at = next,
            }
        }
        None
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

    /// The View's groups, innermost first: `(name, members, relocate)`. The innermost groups the
    /// View's files under `lib/`; each wrapping level groups the level inside it and the View's
    /// first file under the next of `pkg/`, `dist/`. The outermost is `view`, what consumers read.
    pub fn view_levels(&self) -> Vec<(String, Vec<String>, &'static str)> {
        let Some(&first) = self.view.first() else {
            return Vec::new();
        };
        let depth = usize::from(self.view_nesting);
        assert!(
            depth <= usize::from(MAX_VIEW_NESTING),
            "view nesting is bounded"
        );
        let name = |level: usize| match depth - level {
            0 => "view".to_string(),
            n => format!("view_{n}"),
        };
        let mut levels = vec![(
            name(0),
            self.view.iter().map(|i| format!("file{i}")).collect(),
            VIEW_RELOCATIONS[0],
        )];
        for (level, relocate) in VIEW_RELOCATIONS.iter().enumerate().take(depth + 1).skip(1) {
            let members = vec![name(level - 1), format!("file{first}")];
            levels.push((name(level), members, *relocate));
        }
        levels
    }

    /// Each path prefix under which the View holds workspace files, with those files: where a
    /// consumer's entry `{prefix}/{path(i)}` comes from.
    pub fn view_prefixes(&self) -> Vec<(std::path::PathBuf, Vec<usize>)> {
        let Some(&first) = self.view.first() else {
            return Vec::new();
        };
        let depth = usize::from(self.view_nesting);
        let mut out = Vec::new();
        // Level `l`'s own file sits under the relocations of levels depth..=l.
        for level in 0..=depth {
            let prefix: std::path::PathBuf =
                (level..=depth).rev().map(|l| VIEW_RELOCATIONS[l]).collect();
            let files = if level == 0 {
                self.view.clone()
            } else {
                vec![first]
            };
            out.push((prefix, files));
        }
        out
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
                if self.link_end(i).is_none() {
                    return Err(format!("file {i} links to {j}, which does not reach a plain file within {MAX_LINK_CHAIN} links"));
                }
                if file.nested {
                    return Err(format!("file {i} is a link and cannot be nested"));
                }
            }
            if file.generated_dir && !file.generated {
                return Err(format!(
                    "file {i} lies in a generated directory but is not generated"
                ));
            }
            if usize::from(file.mode) >= EXEC_MODES.len() {
                return Err(format!(
                    "file {i} has mode {}: at most {} (an index into the table of modes)",
                    file.mode,
                    EXEC_MODES.len() - 1
                ));
            }
            if file.hidden_dir && !file.nested {
                return Err(format!(
                    "file {i} lies in a hidden directory but is not nested"
                ));
            }
            if file.depth > MAX_NESTED_DEPTH || (file.depth > 0 && !file.nested) {
                return Err(format!(
                    "file {i} lies {} directories deeper: only a nested file may, at most {MAX_NESTED_DEPTH}",
                    file.depth
                ));
            }
            if file.generated
                && (file.nested != file.globbed || file.external || file.link_to.is_some())
            {
                return Err(format!(
                    "file {i} is generated: it is either plain, or both nested and globbed (in the glob's directories); never external or a link"
                ));
            }
            let outside_src = file.external || file.beside_external;
            if outside_src
                && (file.nested || file.globbed || file.link_to.is_some() || file.generated)
            {
                return Err(format!(
                    "file {i} lies outside src/ (external or beside it): it cannot also be nested, globbed, generated or a link"
                ));
            }
            if file.external && file.beside_external {
                return Err(format!(
                    "file {i} is either external or beside the external repositories, not both"
                ));
            }
        }
        for (k, consumer) in self.consumers.iter().enumerate() {
            if consumer.plugin && consumer.steps != ExecShape::Concat {
                return Err(format!("consumer {k}: a plugin runs no exec steps"));
            }
            for input in &consumer.inputs {
                match *input {
                    Input::File(i) if i >= self.files.len() || !self.files[i].has_file_target() => {
                        return Err(format!("consumer {k}: bad file input {i}"))
                    }
                    Input::Consumer(j) if j >= k || self.consumers[j].plugin => {
                        return Err(format!("consumer {k}: bad consumer input {j}"))
                    }
                    Input::View if self.view.is_empty() => {
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
        if self.view_nesting > MAX_VIEW_NESTING || (self.view_nesting > 0 && self.view.is_empty()) {
            return Err(format!(
                "view_nesting {} needs a View and is at most {MAX_VIEW_NESTING}",
                self.view_nesting
            ));
        }
        if let Some((per_entry, total)) = self.tmp_limits {
            if per_entry == 0 || total < per_entry || total > MAX_TMP_LIMIT {
                return Err(format!("tmp_limits ({per_entry}, {total}): want 0 < per_entry <= total <= {MAX_TMP_LIMIT}"));
            }
        }
        if self.granularity_ns > 2_000_000_000 {
            return Err(format!(
                "granularity {} ns is above two seconds (FAT's)",
                self.granularity_ns
            ));
        }
        if self.clock_ns > 2_000_000_000 {
            return Err(format!(
                "clock_ns {} is above two seconds (no system clock is coarser)",
                self.clock_ns
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

pub use crate::generate::{
    generate, generate_from, generate_from_tape, generate_swarm, generate_with, Palette, VIAS,
};
