//! The `sim` command line's definition (clap), in the library so tests and snapshot suites can
//! parse arguments and render usage errors exactly as the binary does.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::campaign::{FsChoice, MAX_SCHEDULES, MAX_THREADS};
use crate::schedule::FsKind;

/// Deterministic simulator for heph's passthrough pipeline.
#[derive(Parser)]
#[command(name = "sim", version, about)]
pub struct Cli {
    #[command(subcommand)]
    /// The subcommand.
    pub command: Command,
}

/// The machine's available parallelism (1 when it cannot be told).
pub fn default_threads() -> u64 {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get() as u64)
        .min(MAX_THREADS as u64)
}

/// Where the coverage map goes, besides the JSON report.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CoverageArgs {
    /// Print the coverage map (mutation kind × point) as a table on stderr.
    #[arg(long)]
    pub coverage: bool,
    /// Draw the coverage map as an SVG heat map at this path.
    #[arg(long)]
    pub coverage_svg: Option<PathBuf>,
}

#[derive(Subcommand)]
/// The subcommands.
pub enum Command {
    /// Run a campaign of generated schedules. Exit 0: no violation; 1: violations; 2: bad usage.
    Run {
        /// Campaign seed.
        #[arg(long)]
        seed: u64,
        /// Number of schedules.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_SCHEDULES))]
        schedules: u64,
        /// File system(s); `both` compares them (differential mode).
        #[arg(long, value_enum, default_value = "mem")]
        fs: FsChoice,
        /// Write the JSON report here (`-` for stdout).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Worker threads (default: the machine's available parallelism).
        #[arg(long, default_value_t = default_threads(), value_parser = clap::value_parser!(u64).range(1..=MAX_THREADS as u64))]
        threads: u64,
        /// Use the git-style racy walker cache (MemFs then has 1 s mtimes).
        #[arg(long)]
        racy: bool,
        /// Do not shrink failing schedules.
        #[arg(long)]
        no_shrink: bool,
        /// Run only shard K of N (K counts from 1: `1/4` … `4/4`): schedules i with
        /// i % N = K - 1. `sim merge` joins the shards' JSON reports.
        #[arg(long, value_parser = crate::report::Shard::parse)]
        shard: Option<(u64, u64)>,
        /// Swarm schedules: each picks from a random subset of mutation kinds, points and
        /// consumer paths (replay them with `sim replay --swarm`).
        #[arg(long)]
        swarm: bool,
        /// Keep a one-line fingerprint of each schedule in the JSON report (its outcomes, each
        /// fired mutation's outcome and the invariants it broke), so that `sim diff` names the
        /// schedules whose behaviour moved, per cell.
        #[arg(long)]
        fingerprints: bool,
        /// Run every schedule under this walker policy (a cell of the policy matrix), not only
        /// the policy lane's one in eight in rotation: to fuzz or diff a change to one rule.
        #[arg(long, value_parser = crate::policies::parse_policy, conflicts_with = "racy")]
        policy: Option<engine::walker::Policy>,
        /// The timestamp granularity of a `--policy` campaign (default 1ns).
        #[arg(long, value_parser = crate::policies::Granularities::parse, requires = "policy")]
        granularity: Option<crate::policies::Granularities>,
        /// Save each violation's shrunk scenario here as a corpus entry (`sim/corpus/`).
        #[arg(long)]
        corpus: Option<PathBuf>,
        #[command(flatten)]
        /// Coverage map output.
        coverage: CoverageArgs,
    },
    /// Merge the JSON reports of every shard of one campaign into the report the unsharded
    /// campaign gives (timing aside). Exit 1 if it holds violations; 2 on bad input.
    Merge {
        /// The shards' reports (`sim run --shard K/N --json PATH`), in any order.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Write the merged JSON report here (`-` for stdout).
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Compare two campaign reports of the same seed and size (a base engine's and a head's):
    /// per mutation kind × probe point, the outcome shares that moved beyond chance, findings,
    /// checks fired, cost and violations new and gone. Exit 0 when nothing moved, 1 when
    /// behaviour moved, 2 on bad input (reports of other schedules are refused).
    Diff {
        /// The base engine's report (`sim run --json`).
        base: PathBuf,
        /// The head engine's report, same seed, schedules, file system and options.
        head: PathBuf,
        /// Write the diff as Markdown here (`-` for stdout), for a pull-request comment.
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Write the diff as JSON here (`-` for stdout).
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Print the full trace of one schedule.
    Replay {
        /// Campaign seed.
        #[arg(long, required_unless_present = "scenario")]
        seed: Option<u64>,
        /// Schedule index.
        #[arg(long, required_unless_present = "scenario")]
        schedule: Option<u64>,
        /// A scenario JSON file (e.g. a shrunk one) instead of seed and index.
        #[arg(long, conflicts_with_all = ["seed", "schedule"])]
        scenario: Option<PathBuf>,
        /// File system.
        #[arg(long, value_enum, default_value = "mem")]
        fs: FsKind,
        /// Use the git-style racy walker cache (MemFs then has 1 s mtimes).
        #[arg(long, conflicts_with = "policy")]
        racy: bool,
        /// Run under this walker policy, as `sim policies` does (MemFs reusing inode numbers).
        #[arg(long, value_parser = crate::policies::parse_policy, requires = "granularity")]
        policy: Option<engine::walker::Policy>,
        /// The timestamp granularity of a `--policy` run (e.g. `1s`).
        #[arg(long, value_parser = crate::policies::Granularities::parse, requires = "policy")]
        granularity: Option<crate::policies::Granularities>,
        /// The schedule is a swarm schedule (`sim run --swarm`).
        #[arg(long, conflicts_with = "scenario")]
        swarm: bool,
    },
    /// Every mutation kind × point × consumer path on two small files.
    Exhaustive {
        /// File system(s).
        #[arg(long, value_enum, default_value = "mem")]
        fs: FsChoice,
        /// A bounded slice (seconds) or everything, pairs included.
        #[arg(long, value_enum, default_value = "full")]
        scope: crate::exhaustive::Scope,
        /// Worker threads (default: the machine's available parallelism).
        #[arg(long, default_value_t = default_threads(), value_parser = clap::value_parser!(u64).range(1..=MAX_THREADS as u64))]
        threads: u64,
        /// Write the JSON report here (`-` for stdout).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Use the git-style racy walker cache (MemFs then has 1 s mtimes).
        #[arg(long)]
        racy: bool,
        /// Keep a one-line fingerprint of each case in the JSON report, so that `sim diff` of
        /// two enumerations names the cases whose behaviour moved.
        #[arg(long)]
        fingerprints: bool,
        /// Replay case N alone (its story, as `sim replay` tells it, under its policy cell) on
        /// the first file system of `--fs`; exit 1 when it breaks an invariant.
        #[arg(long, value_name = "N", conflicts_with_all = ["json", "fingerprints"])]
        case: Option<u64>,
        #[command(flatten)]
        /// Coverage map output.
        coverage: CoverageArgs,
    },
    /// The validation-policy matrix: the same schedules under every walker policy (heph, racy,
    /// git, git without ctime, Mercurial, Bazel, ccache, Cargo, always-hash) and timestamp
    /// granularity, on MemFs. Exit 1 on a violation, or if ours (git's rule with verification)
    /// delivered stale content; 2 on bad usage.
    Policies {
        /// Campaign seed.
        #[arg(long)]
        seed: u64,
        /// Schedules per cell.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::policies::MAX_SCHEDULES))]
        schedules: u64,
        /// Timestamp granularities, comma-separated with units (ns, us, ms, s).
        #[arg(long, default_value = "1ns,1us,10ms,1s,2s", value_parser = crate::policies::Granularities::parse)]
        granularity: crate::policies::Granularities,
        /// Policies, comma-separated names, or `all`.
        #[arg(long, default_value = "all", value_parser = crate::policies::Policies::parse)]
        policies: crate::policies::Policies,
        /// Worker threads (default: the machine's available parallelism).
        #[arg(long, default_value_t = default_threads(), value_parser = clap::value_parser!(u64).range(1..=MAX_THREADS as u64))]
        threads: u64,
        /// Write the JSON matrix here (`-` for stdout).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write the Markdown tables here (`-` for stdout; default: stdout).
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Draw the heat map of stale content delivered as an SVG at this path.
        #[arg(long)]
        svg: Option<PathBuf>,
        /// The file system: `mem` (the granularities simulated) or `disk` (real timestamps,
        /// ctime and inode reuse in fresh directories; `--granularity 1ns` only).
        #[arg(long, value_enum, default_value_t = crate::schedule::FsKind::Mem)]
        fs: crate::schedule::FsKind,
    },
    /// A real thread mutates files on DiskFs while the engine runs (not deterministic).
    Chaos {
        /// Seed of the builds and of the mutator's choices.
        #[arg(long)]
        seed: u64,
        /// Number of schedules.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        schedules: u64,
        /// Write the JSON report here (`-` for stdout).
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// MemFs against the kernel, call by call: random sequences of file-system calls on MemFs
    /// and on DiskFs in a fresh directory must agree (errno, bytes, names, metadata, the tree
    /// left). Exit 1 on a disagreement, naming the sequence and its calls.
    Fsops {
        /// Seed of the sequences.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of sequences.
        #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=crate::fsops::MAX_SEQUENCES))]
        sequences: u64,
    },
    /// The plugin ABI's wire form against the oracle's own reading of it: frames built well
    /// formed or broken one way each must be accepted exactly when well formed, giving back
    /// what they say, and otherwise refused as malformed wire. Exit 1 on a disagreement.
    Wire {
        /// Seed of the frames.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of frames.
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=crate::wire::MAX_FRAMES))]
        frames: u64,
    },
    /// Real-tool conformance: the policy models of git, Mercurial, Cargo and ccache (both generations) against the real binaries
    /// on a real directory (issue 24). Exit 1 on a disagreement, 2 when a tool is missing.
    Tools {
        /// Random edit sequences per tool configuration (beside the stories).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=100_000))]
        sequences: u64,
        /// Seed of the random sequences.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Tool configurations: git, git_no_ctime, mercurial, cargo, ccache_unguarded, ccache_guarded (comma-separated; default all).
        #[arg(long, value_delimiter = ',')]
        tools: Vec<String>,
        /// Where the sequences' directories are made (default: the temporary directory; e.g.
        /// /dev/shm for tmpfs).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Write the agreement table (Markdown) here (`-` for stdout).
        #[arg(long)]
        markdown: Option<PathBuf>,
    },
    /// The kill matrix: hunt every seeded engine regression (needs the `regressions` feature).
    /// Exit 1 if any regression survives its budget.
    #[cfg(feature = "regressions")]
    Mutants {
        /// Seed of the generated schedules.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// At most this many schedules per regression (the budget is counted in schedules, not
        /// time, so the verdict does not depend on the machine's load).
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        budget_schedules: u64,
        /// Print the regression names, one a line, and exit.
        #[arg(long)]
        list: bool,
        /// Only these regressions (snake_case names), comma-separated.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Write the JSON matrix here (`-` for stdout).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Where the hunt's schedules come from.
        #[arg(long, value_enum, default_value = "mix")]
        source: crate::mutants::Source,
        /// Save each regression's shrunk catch here as a corpus entry (`sim/corpus/`).
        #[arg(long)]
        corpus: Option<PathBuf>,
    },
}
