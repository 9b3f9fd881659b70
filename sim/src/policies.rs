//! The validation-policy matrix (`sim policies`, issue 14): the *same* generated schedules run
//! under every walker policy (heph, racy, git, git without ctime, Mercurial, Bazel, ccache,
//! Cargo, always-hash) and every timestamp granularity, on a MemFs that reuses inode numbers;
//! per cell and per mutation kind it counts the stale hashes the rule accepted (false hits),
//! the builds that succeeded on a stale hash (stale content delivered), the oracle's violations
//! (a failure without a real change is one), and the cost (`stat`s, files and bytes hashed).
//!
//! Architecture Invariant: the matrix is a pure function of (seed, schedules, granularities):
//! schedules are summed in index order whatever the thread count, and no timing is reported.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use engine::walker::Policy;
use serde::Serialize;

use crate::panics;
use crate::scenario::generate;
use crate::schedule::{run, FsKind, PolicyCell, RunOptions, WalkerTally};

/// The granularities of the matrix by default: 1 ns, 1 µs, 10 ms, 1 s, 2 s (FAT).
pub const GRANULARITIES: [u64; 5] = [1, 1_000, 10_000_000, 1_000_000_000, 2_000_000_000];
/// At most this many schedules per cell.
pub const MAX_SCHEDULES: u64 = 10_000_000;
/// At most this many granularities.
pub const MAX_GRANULARITIES: usize = 16;
/// The policy lane's `k`th cell: every policy but heph's and the racy one (lanes of their
/// own) at every granularity of the matrix, in turn (the kill matrix's and `sim run`'s lane).
pub fn lane_cell(k: u64) -> PolicyCell {
    let policies = other_policies().len() as u64;
    let granularities = GRANULARITIES.len() as u64;
    PolicyCell {
        policy: other_policies()[(k % policies) as usize],
        granularity_ns: GRANULARITIES[((k / policies) % granularities) as usize],
    }
}

/// Every policy but heph's and the racy one, in table order: what the kill matrix's policy
/// lane and the fuzz target draw from, beside their heph and racy runs.
pub fn other_policies() -> &'static [Policy] {
    static OTHERS: std::sync::OnceLock<Vec<Policy>> = std::sync::OnceLock::new();
    OTHERS.get_or_init(|| {
        let others: Vec<Policy> = Policy::ALL
            .into_iter()
            .filter(|p| !matches!(p, Policy::Heph | Policy::Racy))
            .collect();
        assert_eq!(others.len() + 2, Policy::ALL.len());
        others
    })
}

/// The policy we propose (with verification at consume time): it must deliver no stale content.
pub const OURS: Policy = Policy::Ours;

/// What one cell, or one mutation kind within it, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Schedules run.
    pub schedules: u64,
    /// The walker's tally, summed.
    pub walker: WalkerTally,
    /// Violations of the oracle's invariants (a failure without a real change included).
    pub violations: u64,
    /// Schedules that could not run (harness errors).
    pub errors: u64,
    /// The first schedule that delivered stale content, or broke an invariant, for replay.
    pub first_failing: Option<u64>,
    /// The first schedule in which the rule accepted a stale hash (delivered or not), so a
    /// false hit that verification caught can be replayed too.
    pub first_stale_hash: Option<u64>,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.schedules += other.schedules;
        self.walker.add(&other.walker);
        self.violations += other.violations;
        self.errors += other.errors;
        self.first_failing = earliest(self.first_failing, other.first_failing);
        self.first_stale_hash = earliest(self.first_stale_hash, other.first_stale_hash);
    }
}

/// The earlier of two schedule indices, either of which may be absent.
fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One cell: a policy at a granularity.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// The policy.
    pub policy: Policy,
    /// The granularity, in nanoseconds.
    pub granularity_ns: u64,
    /// Everything.
    pub total: Counts,
    /// Per mutation kind, for the schedules where it alone fired (`none`: nothing fired;
    /// `several`: more than one kind did).
    pub by_kind: BTreeMap<String, Counts>,
}

/// The whole matrix.
#[derive(Clone, Debug, Serialize)]
pub struct Matrix {
    /// Campaign seed.
    pub seed: u64,
    /// Schedules per cell.
    pub schedules: u64,
    /// Granularities, in nanoseconds.
    pub granularities: Vec<u64>,
    /// The policies, in the order asked for.
    pub policies: Vec<Policy>,
    /// Cells, policy-major.
    pub cells: Vec<Cell>,
    /// The file system the schedules ran on: MemFs (the granularities simulated) or DiskFs
    /// (the kernel's own timestamps, ctime and inode numbers; one granularity, the real one).
    #[serde(default)]
    pub fs: FsKind,
}

impl Matrix {
    /// Violations in any cell, or stale content delivered under [`OURS`]: what fails the run.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for cell in &self.cells {
            let g = granularity_name(cell.granularity_ns);
            let replay = |index: Option<u64>| {
                let command = index.map(|i| replay_command(self.seed, i, cell));
                command.unwrap_or_default()
            };
            if cell.total.violations > 0 || cell.total.errors > 0 {
                out.push(format!(
                    "{} at {g}: {} violations, {} harness errors; first: {}",
                    cell.policy.name(),
                    cell.total.violations,
                    cell.total.errors,
                    replay(cell.total.first_failing)
                ));
            }
            if cell.policy == OURS && cell.total.walker.stale_delivered > 0 {
                out.push(format!(
                    "ours ({}) delivered stale content in {} builds at {g}; first: {}",
                    cell.policy.name(),
                    cell.total.walker.stale_delivered,
                    replay(cell.total.first_failing)
                ));
            }
        }
        out
    }
}

/// The command that replays schedule `index` of `seed` in `cell`.
pub fn replay_command(seed: u64, index: u64, cell: &Cell) -> String {
    format!(
        "sim replay --seed {seed} --schedule {index} --policy {} --granularity {}ns",
        cell.policy.name(),
        cell.granularity_ns
    )
}

/// Runs `schedules` schedules of `seed` under each of `policies` at every granularity of
/// `granularities`, on `threads` threads.
pub fn matrix(
    seed: u64,
    schedules: u64,
    (policies, granularities): (&[Policy], &[u64]),
    threads: usize,
) -> Matrix {
    matrix_on(
        FsKind::Mem,
        seed,
        schedules,
        (policies, granularities),
        threads,
    )
}

/// [`matrix`] on `fs`. On DiskFs the timestamps are the kernel's: the one granularity must be
/// 1 ns (what `DiskFs` tells the walker and the oracle), the others are MemFs's to simulate.
pub fn matrix_on(
    fs: FsKind,
    seed: u64,
    schedules: u64,
    (policies, granularities): (&[Policy], &[u64]),
    threads: usize,
) -> Matrix {
    assert!(schedules <= MAX_SCHEDULES, "schedules out of range");
    assert!(
        fs == FsKind::Mem || granularities == [1],
        "DiskFs runs at the kernel's granularity only"
    );
    assert!(!policies.is_empty(), "at least one policy");
    assert!(
        !granularities.is_empty() && granularities.len() <= MAX_GRANULARITIES,
        "granularities out of range"
    );
    let cells: Vec<PolicyCell> = policies
        .iter()
        .copied()
        .flat_map(|policy| {
            granularities.iter().map(move |&granularity_ns| PolicyCell {
                policy,
                granularity_ns,
            })
        })
        .collect();
    let threads = threads.clamp(1, crate::campaign::MAX_THREADS) as u64;
    let parts: Vec<Vec<(Counts, BTreeMap<String, Counts>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let cells = &cells;
                scope.spawn(move || {
                    let mut sums = vec![(Counts::default(), BTreeMap::new()); cells.len()];
                    for index in (t..schedules).step_by(threads as usize) {
                        one_schedule((fs, seed), index, cells, &mut sums);
                    }
                    sums
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out: Vec<Cell> = cells
        .iter()
        .map(|c| Cell {
            policy: c.policy,
            granularity_ns: c.granularity_ns,
            total: Counts::default(),
            by_kind: BTreeMap::new(),
        })
        .collect();
    for part in &parts {
        for (cell, (total, by_kind)) in out.iter_mut().zip(part) {
            cell.total.add(total);
            for (kind, counts) in by_kind {
                cell.by_kind.entry(kind.clone()).or_default().add(counts);
            }
        }
    }
    Matrix {
        seed,
        schedules,
        granularities: granularities.to_vec(),
        policies: policies.to_vec(),
        cells: out,
        fs,
    }
}

/// Runs schedule `index` under every cell, adding what it counted to `sums`.
fn one_schedule(
    (fs, seed): (FsKind, u64),
    index: u64,
    cells: &[PolicyCell],
    sums: &mut [(Counts, BTreeMap<String, Counts>)],
) {
    let scenario = generate(seed, index);
    for (cell, (total, by_kind)) in cells.iter().zip(sums.iter_mut()) {
        let options = RunOptions {
            fs,
            cell: Some(*cell),
            ..RunOptions::default()
        };
        let counts = match panics::catch(|| run(&scenario, &options)) {
            Ok(Ok(result)) => {
                let kinds: Vec<String> = result
                    .fired
                    .iter()
                    .map(|f| f.mutation.kind.name())
                    .collect();
                let failing = result.walker.stale_delivered > 0 || !result.broken.is_empty();
                let stale_hash = result.walker.stale_answers > 0;
                let counts = Counts {
                    first_stale_hash: stale_hash.then_some(index),
                    schedules: 1,
                    walker: result.walker,
                    violations: result.broken.len() as u64,
                    errors: 0,
                    first_failing: failing.then_some(index),
                };
                // Attributed to a kind only when it fired alone, so a row says what that
                // kind does to the rule.
                let kind = match kinds.as_slice() {
                    [] => "none".to_string(),
                    [one] => one.clone(),
                    many if many.iter().all(|k| *k == many[0]) => many[0].clone(),
                    _ => "several".to_string(),
                };
                by_kind.entry(kind).or_default().add(&counts);
                counts
            }
            Ok(Err(_)) | Err(_) => Counts {
                schedules: 1,
                errors: 1,
                first_failing: Some(index),
                ..Counts::default()
            },
        };
        total.add(&counts);
    }
}

/// A granularity as people write it.
pub fn granularity_name(ns: u64) -> String {
    match ns {
        n if n >= 1_000_000_000 && n % 1_000_000_000 == 0 => format!("{} s", n / 1_000_000_000),
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{} ms", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{} µs", n / 1_000),
        n => format!("{n} ns"),
    }
}

/// Parses one policy name (for clap).
pub fn parse_policy(name: &str) -> Result<Policy, String> {
    Policies::parse(name).and_then(|p| match p.0.as_slice() {
        [one] => Ok(*one),
        _ => Err(format!("one policy, not {name:?}")),
    })
}

/// A parsed `--policies` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policies(pub Vec<Policy>);

impl Policies {
    /// Parses `heph,git` (for clap); `all` is every policy.
    pub fn parse(text: &str) -> Result<Policies, String> {
        if text == "all" {
            return Ok(Policies(Policy::ALL.to_vec()));
        }
        let mut out = Vec::new();
        for name in text.split(',').map(str::trim) {
            let policy = Policy::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Policy::ALL.iter().map(|p| p.name()).collect();
                format!("unknown policy {name:?}; known: {}", known.join(", "))
            })?;
            if !out.contains(&policy) {
                out.push(policy);
            }
        }
        Ok(Policies(out))
    }
}

/// A parsed `--granularity` list, in nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Granularities(pub Vec<u64>);

impl Granularities {
    /// Parses `1ns,1us,10ms,1s,2s` (for clap).
    pub fn parse(text: &str) -> Result<Granularities, String> {
        parse_granularities(text).map(Granularities)
    }
}

/// Parses a granularity list: `1ns,1us,10ms,1s,2s` (units ns, us or µs, ms, s).
pub fn parse_granularities(text: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim) {
        let split = item
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("granularity {item:?} has no unit (ns, us, ms or s)"))?;
        let (digits, unit) = item.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("granularity {item:?} does not start with a number"))?;
        let scale = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            other => return Err(format!("granularity {item:?}: unknown unit {other:?}")),
        };
        let ns = n
            .checked_mul(scale)
            .filter(|&ns| (1..=60_000_000_000).contains(&ns))
            .ok_or_else(|| format!("granularity {item:?} is not between 1 ns and 60 s"))?;
        out.push(ns);
    }
    if out.len() > MAX_GRANULARITIES {
        return Err(format!("at most {MAX_GRANULARITIES} granularities"));
    }
    Ok(out)
}

/// The matrix as Markdown: stale content delivered, false hits and cost per policy and
/// granularity, then stale content delivered per mutation kind.
pub fn markdown(m: &Matrix) -> String {
    let mut out = String::new();
    let head: Vec<String> = m
        .granularities
        .iter()
        .map(|&g| granularity_name(g))
        .collect();
    let _ = writeln!(
        out,
        "Seed {}, {} schedules per cell, {}.\n",
        m.seed,
        m.schedules,
        match m.fs {
            FsKind::Mem => "MemFs reusing inode numbers",
            FsKind::Disk => "DiskFs: the kernel's own timestamps, ctime and inode numbers",
        }
    );
    for (title, value) in [
        (
            "Builds that succeeded on a stale hash (stale content delivered)",
            (|c: &Counts| c.walker.stale_delivered) as fn(&Counts) -> u64,
        ),
        ("Stale hashes accepted (false hits)", |c| {
            c.walker.stale_answers
        }),
        (
            "Stale directory listings trusted (a glob missing a file)",
            |c| c.walker.stale_listings,
        ),
        (
            "Violations (failures without a real change included)",
            |c| c.violations,
        ),
        ("Files hashed", |c| c.walker.fresh_hashes),
        ("Answers from the cache", |c| c.walker.cached_answers),
    ] {
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(out, "| policy | {} |", head.join(" | "));
        let _ = writeln!(out, "|---|{}", "---:|".repeat(head.len()));
        for &policy in &m.policies {
            let row: Vec<String> = m
                .cells
                .iter()
                .filter(|c| c.policy == policy)
                .map(|c| value(&c.total).to_string())
                .collect();
            let _ = writeln!(out, "| {} | {} |", policy.name(), row.join(" | "));
        }
        let _ = writeln!(out);
    }
    by_kind_table(m, &mut out);
    out
}

/// Stale content delivered per mutation kind that fired alone (summed over granularities), for
/// the kinds where some policy delivered any.
fn by_kind_table(m: &Matrix, out: &mut String) {
    let mut per: BTreeMap<String, BTreeMap<Policy, u64>> = BTreeMap::new();
    for cell in &m.cells {
        for (kind, counts) in &cell.by_kind {
            *per.entry(kind.clone())
                .or_default()
                .entry(cell.policy)
                .or_default() += counts.walker.stale_delivered;
        }
    }
    per.retain(|_, row| row.values().any(|&v| v > 0));
    let names: Vec<&str> = m.policies.iter().map(|p| p.name()).collect();
    let _ = writeln!(
        out,
        "### Stale content delivered, by the mutation kind that fired alone (all granularities)\n"
    );
    let _ = writeln!(out, "| kind | {} |", names.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(names.len()));
    for (kind, row) in &per {
        let cells: Vec<String> = m
            .policies
            .iter()
            .map(|p| row.get(p).copied().unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(out, "| {kind} | {} |", cells.join(" | "));
    }
}

/// The matrix as an SVG heat map: policies down, granularities across, shaded by stale
/// content delivered per 1,000 schedules.
pub fn svg(m: &Matrix) -> String {
    const CELL_W: usize = 90;
    const CELL_H: usize = 26;
    const LEFT: usize = 120;
    const TOP: usize = 50;
    let width = LEFT + CELL_W * m.granularities.len() + 20;
    let height = TOP + CELL_H * m.policies.len() + 30;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"monospace\" font-size=\"12\">\n");
    let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(svg, "<text x=\"4\" y=\"16\">stale content delivered per 1,000 schedules (seed {}, {} schedules)</text>", m.seed, m.schedules);
    for (col, &g) in m.granularities.iter().enumerate() {
        let x = LEFT + col * CELL_W + 8;
        let _ = writeln!(
            svg,
            "<text x=\"{x}\" y=\"{}\">{}</text>",
            TOP - 8,
            granularity_name(g)
        );
    }
    let rate = |c: &Cell| {
        let n = c.total.schedules.max(1) as f64;
        c.total.walker.stale_delivered as f64 * 1000.0 / n
    };
    let max = m.cells.iter().map(rate).fold(0.0_f64, f64::max).max(1e-9);
    for (row, policy) in m.policies.iter().enumerate() {
        let y = TOP + row * CELL_H;
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{}\">{}</text>",
            y + 17,
            policy.name()
        );
        for (col, cell) in m.cells.iter().filter(|c| c.policy == *policy).enumerate() {
            let x = LEFT + col * CELL_W;
            let r = rate(cell);
            let shade = if r == 0.0 { 0.0 } else { 0.15 + 0.85 * r / max };
            let fill = format!("rgb(255,{0},{0})", (255.0 * (1.0 - shade)) as u8);
            let _ = writeln!(svg, "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#888\"/>", CELL_W - 2, CELL_H - 2);
            let _ = writeln!(svg, "<text x=\"{}\" y=\"{}\">{r:.1}</text>", x + 8, y + 17);
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granularity_lists_parse_or_name_what_is_wrong() {
        assert_eq!(
            parse_granularities("1ns,1us,10ms,1s,2s").unwrap(),
            GRANULARITIES.to_vec()
        );
        assert_eq!(parse_granularities("5µs").unwrap(), vec![5_000]);
        for (bad, why) in [
            ("10", "no unit"),
            ("ms", "does not start with a number"),
            ("3h", "unknown unit"),
            ("0s", "between 1 ns and 60 s"),
            ("61s", "between 1 ns and 60 s"),
        ] {
            let err = parse_granularities(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert_eq!(granularity_name(10_000_000), "10 ms");
        assert_eq!(granularity_name(1_500), "1500 ns");
    }

    #[test]
    fn a_false_hit_names_the_first_schedule_that_shows_it() {
        let cells = (&[Policy::Heph][..], &[1_000_000_000][..]);
        let m = matrix(1, 300, cells, 2);
        let total = &m.cells[0].total;
        assert!(
            total.walker.stale_answers > 0,
            "heph at 1 s accepts stale hashes"
        );
        let first = total.first_stale_hash.expect("a false hit has a schedule");
        let options = RunOptions {
            fs: FsKind::Mem,
            cell: Some(PolicyCell {
                policy: Policy::Heph,
                granularity_ns: 1_000_000_000,
            }),
            ..RunOptions::default()
        };
        let alone = run(&generate(1, first), &options).expect("the schedule runs");
        assert!(
            alone.walker.stale_answers > 0,
            "schedule {first} replays its false hit"
        );
        let before = matrix(1, first, cells, 1);
        assert_eq!(
            before.cells[0].total.walker.stale_answers, 0,
            "none earlier"
        );
        assert_eq!(before.cells[0].total.first_stale_hash, None);
    }

    #[test]
    fn the_matrix_is_the_same_on_any_number_of_threads() {
        let one = matrix(3, 12, (&Policy::ALL, &[1, 1_000_000_000]), 1);
        let two = matrix(3, 12, (&Policy::ALL, &[1, 1_000_000_000]), 2);
        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            serde_json::to_string(&two).unwrap()
        );
        assert_eq!(one.cells.len(), Policy::ALL.len() * 2);
        assert!(one.cells.iter().all(|c| c.total.schedules == 12));
        assert_eq!(one.failures(), Vec::<String>::new());
    }
}
