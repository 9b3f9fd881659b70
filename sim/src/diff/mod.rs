//! `sim diff` (issue 25): what an engine change did to behaviour, for the reviewer of a pull
//! request. Two campaign reports of the same seed, size, file system and options (the base
//! engine's and the head's) are compared cell by cell: per mutation kind × probe point, each
//! outcome's share of the builds that cell's mutation fired in, before and after (and the same
//! for each kind at any point, each point for any kind, and every build). A cell has
//! *moved* when a two-proportion z-test rejects "same share" at a family-wise level of 0.001,
//! Bonferroni-corrected over every (cell, outcome) compared, so that two runs of one engine
//! show no moved cell and a change that turns thousands of `invalid_data` outcomes into `ok`
//! shows at once. Event counts over the same schedules (violations, each finding kind, each
//! check's fired count, cached walker answers) are tested in the same family, by the
//! conditional test for two Poisson counts, and listed as `count` rows. Beside them: outcome
//! totals, findings, checks fired, cached walker answers, and violations new and gone.
//!
//! With per-schedule fingerprints (`sim run --fingerprints`) the diff is also exact, with no
//! test at all: each schedule ran under both engines, so the schedules whose fingerprints
//! differ, and per cell and outcome (and per invariant broken) the schedules whose count
//! there differs, are changes of behaviour, never chance (`changed_cells`). A change too rare
//! to move a share beyond chance still shows there, with the first schedule and its replay.
//!
//! Architecture Invariant: a diff is a pure function of the two reports (no timing field is
//! read), and reports that do not describe the same schedules are refused, naming the field.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::report::Report;
use crate::schedule::FsKind;

mod exact;
mod stats;

use exact::Exact;
pub use exact::{Changed, ChangedCell, VIOLATED, VIOLATIONS_CELL};
pub use stats::{two_counts_p, two_proportion_p};

/// The family-wise false-alarm rate: the chance that two runs of one engine show a moved cell.
pub const FAMILY_ALPHA: f64 = 0.001;
/// At most this many (cell, outcome) pairs are compared (the map has 70 kinds × 16 points).
pub const MAX_TESTS: usize = 100_000;
/// At most this many exactly changed (cell, outcome) pairs are listed in the Markdown.
pub const MAX_CHANGED_ROWS: usize = 40;

/// One (cell, outcome) whose share moved beyond chance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Moved {
    /// `kind@point`, a margin (`kind@*`, `*@point`) or `*` (every build).
    pub cell: String,
    /// The outcome (`ok`, `invalid_data`, …).
    pub outcome: String,
    /// Builds with that outcome, and builds in the cell, in the base report.
    pub before: (u64, u64),
    /// The same in the head report.
    pub after: (u64, u64),
    /// Two-sided p-value of the two-proportion z-test.
    pub p_value: f64,
    /// The first schedule whose count of this outcome in this group differs between the two
    /// runs (both reports made with `sim run --fingerprints`), and the command that replays it
    /// (run it with each engine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<(u64, String)>,
}

/// A count before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delta {
    /// What is counted.
    pub name: String,
    /// In the base report.
    pub before: u64,
    /// In the head report.
    pub after: u64,
}

/// What the head changed against the base.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diff {
    /// Seed of both campaigns.
    pub seed: u64,
    /// Schedules of both campaigns.
    pub schedules: u64,
    /// (cell, outcome) pairs compared.
    pub tests: u64,
    /// The per-test level: [`FAMILY_ALPHA`] / tests.
    pub alpha: f64,
    /// Cells that moved, most significant first.
    pub moved: Vec<Moved>,
    /// Outcome totals that changed.
    pub outcomes: Vec<Delta>,
    /// Findings that changed.
    pub findings: Vec<Delta>,
    /// Checks whose fired count changed (what the oracle had to judge).
    pub checks: Vec<Delta>,
    /// Cached walker answers (a cost: files not read).
    pub cached_walker_answers: Delta,
    /// Violations of the head that the base did not have (`invariant: message`).
    pub violations_new: Vec<String>,
    /// Violations of the base that the head no longer has.
    pub violations_gone: Vec<String>,
    /// Schedules whose per-schedule outcomes differ (exact: the same schedule run by both
    /// engines, no chance involved), and the first of them with its replay; `None` without
    /// fingerprints.
    pub changed_schedules: Option<Changed>,
    /// Per leaf cell (`kind@point`, `*` for every build, [`VIOLATIONS_CELL`] for the
    /// invariants broken) and outcome, the schedules whose count there differs: exact, most
    /// schedules first; empty without fingerprints.
    pub changed_cells: Vec<ChangedCell>,
}

/// Refuses two reports that do not describe the same schedules, naming the field.
fn same_schedules(base: &Report, head: &Report) -> Result<(), String> {
    let fields = [
        ("mode", base.mode.clone(), head.mode.clone()),
        ("seed", base.seed.to_string(), head.seed.to_string()),
        (
            "schedules",
            base.schedules.to_string(),
            head.schedules.to_string(),
        ),
        ("fs", base.fs.clone(), head.fs.clone()),
        (
            "scope",
            format!("{:?}", base.scope),
            format!("{:?}", head.scope),
        ),
        ("racy", base.racy.to_string(), head.racy.to_string()),
        ("swarm", base.swarm.to_string(), head.swarm.to_string()),
        (
            "policy cell",
            format!("{:?}", base.cell),
            format!("{:?}", head.cell),
        ),
        (
            "shard",
            format!("{:?}", base.shard),
            format!("{:?}", head.shard),
        ),
    ];
    for (field, b, h) in fields {
        if b != h {
            return Err(format!("the reports differ in {field} ({b} against {h}): a diff compares the same schedules run by two engines"));
        }
    }
    Ok(())
}

/// Compares `head` with `base`.
pub fn compare(base: &Report, head: &Report) -> Result<Diff, String> {
    same_schedules(base, head)?;
    let exact = Exact::of(base, head);
    let (gb, gh) = (groups(base), groups(head));
    let names: BTreeSet<&String> = gb.keys().chain(gh.keys()).collect();
    let mut pairs = Vec::new();
    for name in names {
        let empty = BTreeMap::new();
        let b = gb.get(name).unwrap_or(&empty);
        let h = gh.get(name).unwrap_or(&empty);
        let (nb, nh) = (b.values().sum::<u64>(), h.values().sum::<u64>());
        let outcomes: BTreeSet<&String> = b.keys().chain(h.keys()).collect();
        for outcome in outcomes {
            let cb = b.get(outcome).copied().unwrap_or(0);
            let ch = h.get(outcome).copied().unwrap_or(0);
            pairs.push((name.clone(), outcome.clone(), (cb, nb), (ch, nh)));
        }
    }
    if pairs.len() > MAX_TESTS {
        return Err(format!(
            "{} (cell, outcome) pairs: more than {MAX_TESTS}",
            pairs.len()
        ));
    }
    let findings = deltas(&base.findings.counts, &head.findings.counts);
    let checks = deltas(&fired_checks(base), &fired_checks(head));
    let counts = counted(base, head, &findings, &checks);
    let tests = (pairs.len() + counts.len()) as u64;
    let alpha = FAMILY_ALPHA / tests.max(1) as f64;
    let n = base.schedules;
    let candidate = |cell: String, outcome: String, before, after, p_value| Moved {
        cell,
        outcome,
        before,
        after,
        p_value,
        first: None,
    };
    let mut candidates: Vec<Moved> = counts
        .into_iter()
        .map(|(name, b, a)| candidate("count".into(), name, (b, n), (a, n), two_counts_p(b, a)))
        .collect();
    candidates.extend(pairs.into_iter().map(|(cell, outcome, b, a)| {
        let p = two_proportion_p(b, a);
        candidate(cell, outcome, b, a, p)
    }));
    let mut moved: Vec<Moved> = candidates
        .into_iter()
        .filter(|m| m.p_value < alpha)
        .map(|mut m| {
            if let (false, Some(exact)) = (m.cell == "count", &exact) {
                m.first = exact.first_difference(base, head, &m.cell, &m.outcome);
            }
            m
        })
        .collect();
    moved.sort_by(|a, b| {
        a.p_value
            .total_cmp(&b.p_value)
            .then_with(|| a.cell.cmp(&b.cell))
    });
    let render = |v: &crate::report::Violation| format!("{:?}: {}", v.invariant, v.message);
    let (vb, vh): (BTreeSet<String>, BTreeSet<String>) = (
        base.violations.iter().map(render).collect(),
        head.violations.iter().map(render).collect(),
    );
    Ok(Diff {
        seed: base.seed,
        schedules: base.schedules,
        tests,
        alpha,
        moved,
        outcomes: deltas(&base.outcomes, &head.outcomes),
        findings,
        checks,
        cached_walker_answers: Delta {
            name: "cached_walker_answers".into(),
            before: base.cached_walker_answers,
            after: head.cached_walker_answers,
        },
        violations_new: vh.difference(&vb).cloned().collect(),
        violations_gone: vb.difference(&vh).cloned().collect(),
        changed_schedules: exact.as_ref().map(|e| e.changed_schedules(base)),
        changed_cells: exact.map_or_else(Vec::new, |e| e.changed_cells(base, head)),
    })
}

/// Outcome counts per group of builds: every `kind@point` cell of the coverage map, its
/// margins (`kind@*`: the kind at any point; `*@point`: any kind at the point), and `*`: every
/// build of the campaign. A change spread thin over many cells still moves a margin.
fn groups(r: &Report) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (name, cell) in &r.coverage.cells {
        let (kind, point) = name.split_once('@').unwrap_or((name.as_str(), "?"));
        for key in [name.clone(), format!("{kind}@*"), format!("*@{point}")] {
            let group = out.entry(key).or_default();
            for (outcome, n) in &cell.outcomes {
                *group.entry(outcome.clone()).or_default() += n;
            }
        }
    }
    out.insert("*".into(), r.outcomes.clone());
    out
}

/// `sim replay` for schedule `index` of the campaign `r` describes, as the campaign itself
/// writes it (fingerprints are of the first file system a schedule ran on: MemFs unless the
/// campaign ran on DiskFs alone).
fn replay_command(r: &Report, index: u64) -> String {
    use crate::campaign::{CampaignOptions, FsChoice};
    if r.mode == "exhaustive" {
        let scope = r.scope.as_deref().unwrap_or("full");
        return crate::exhaustive::replay_command(scope, &r.fs, r.racy, index);
    }
    let (fs, kind) = match r.fs.as_str() {
        "mem" => (FsChoice::Mem, FsKind::Mem),
        "disk" => (FsChoice::Disk, FsKind::Disk),
        _ => (FsChoice::Both, FsKind::Mem),
    };
    let options = CampaignOptions {
        seed: r.seed,
        schedules: r.schedules,
        fs,
        threads: 1,
        racy: r.racy,
        variant: crate::schedule::Variant::Reference,
        shrink: false,
        shard: None,
        swarm: r.swarm,
        fingerprints: false,
        cell: r.cell,
    };
    crate::campaign::replay_command(r.seed, index, kind, &options)
}

/// The counts of two maps that differ.
fn deltas(base: &BTreeMap<String, u64>, head: &BTreeMap<String, u64>) -> Vec<Delta> {
    let names: BTreeSet<&String> = base.keys().chain(head.keys()).collect();
    names
        .into_iter()
        .map(|n| Delta {
            name: n.clone(),
            before: base.get(n).copied().unwrap_or(0),
            after: head.get(n).copied().unwrap_or(0),
        })
        .filter(|d| d.before != d.after)
        .collect()
}

/// Each check's fired count (what the oracle had to judge), by name.
fn fired_checks(r: &Report) -> BTreeMap<String, u64> {
    r.judged
        .checks
        .iter()
        .map(|(k, t)| (k.clone(), t.fired))
        .collect()
}

/// The event counts of both campaigns, by name: violations, cached walker answers (a cost),
/// and the finding kinds and checks' fired counts that changed (`findings`, `checks`).
fn counted(
    base: &Report,
    head: &Report,
    findings: &[Delta],
    checks: &[Delta],
) -> Vec<(String, u64, u64)> {
    let mut out = vec![
        (
            "violations".to_string(),
            base.violation_count,
            head.violation_count,
        ),
        (
            "cached_walker_answers".to_string(),
            base.cached_walker_answers,
            head.cached_walker_answers,
        ),
    ];
    out.extend(
        findings
            .iter()
            .map(|d| (format!("finding {}", d.name), d.before, d.after)),
    );
    out.extend(
        checks
            .iter()
            .map(|d| (format!("check {} fired", d.name), d.before, d.after)),
    );
    out
}

impl Diff {
    /// The exactly changed cells as a Markdown table (nothing when none changed).
    fn changed_cells_markdown(&self, out: &mut String) {
        if self.changed_cells.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "{} (cell, outcome) pairs changed on the same schedules (exact; `violations` counts the invariants broken):\n",
            self.changed_cells.len()
        );
        out.push_str("| cell | outcome | schedules with more | with fewer | first schedule (replay with each engine) |\n|---|---|---:|---:|---|\n");
        for c in self.changed_cells.iter().take(MAX_CHANGED_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | `{}` |",
                c.cell, c.outcome, c.more, c.fewer, c.first.1
            );
        }
        if self.changed_cells.len() > MAX_CHANGED_ROWS {
            let _ = writeln!(
                out,
                "| … | {} more in the JSON | | | |",
                self.changed_cells.len() - MAX_CHANGED_ROWS
            );
        }
        out.push('\n');
    }

    /// True when the head behaves as the base did on these schedules.
    pub fn unchanged(&self) -> bool {
        self.moved.is_empty()
            && self.violations_new.is_empty()
            && self.violations_gone.is_empty()
            && self.changed_schedules.as_ref().is_none_or(|c| c.count == 0)
    }

    /// The diff as Markdown (a pull-request comment).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### `sim diff`: seed {}, {} schedules\n",
            self.seed, self.schedules
        );
        let _ = writeln!(
            out,
            "{} of {} (mutation kind × probe point, outcome) cells moved beyond chance (two-proportion z-test, family-wise level {FAMILY_ALPHA}, Bonferroni: p < {:.2e}); {} violation(s) new, {} gone.\n",
            self.moved.len(),
            self.tests,
            self.alpha,
            self.violations_new.len(),
            self.violations_gone.len()
        );
        match &self.changed_schedules {
            Some(c) => {
                let first = c.first.as_ref().map_or(String::new(), |(i, command)| {
                    format!("; the first is schedule {i}: `{command}`")
                });
                let _ = writeln!(
                    out,
                    "{} of {} schedules changed their outcomes or the invariants they broke (per-schedule fingerprints: the same schedule under each engine, exact){first}.\n",
                    c.count, self.schedules
                );
            }
            None => out.push_str(
                "Schedules changed: unknown (run both campaigns with --fingerprints).\n\n",
            ),
        }
        self.changed_cells_markdown(&mut out);
        if !self.moved.is_empty() {
            out.push_str("| cell | outcome | before | after | p | first schedule that moved (replay with each engine) |\n|---|---|---:|---:|---:|---|\n");
            for m in &self.moved {
                let first = m.first.as_ref().map_or(
                    match m.cell.as_str() {
                        // An event count is over the whole campaign: no one schedule.
                        "count" => "—".to_string(),
                        _ => "(run with --fingerprints)".to_string(),
                    },
                    |(_, c)| format!("`{c}`"),
                );
                let _ = writeln!(
                    out,
                    "| {} | {} | {}/{} | {}/{} | {:.1e} | {first} |",
                    m.cell, m.outcome, m.before.0, m.before.1, m.after.0, m.after.1, m.p_value
                );
            }
            out.push('\n');
        }
        for (title, rows) in [
            ("Outcomes", &self.outcomes),
            ("Findings", &self.findings),
            ("Checks fired", &self.checks),
        ] {
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{title}:\n\n| | before | after |\n|---|---:|---:|");
            for d in rows.iter() {
                let _ = writeln!(out, "| {} | {} | {} |", d.name, d.before, d.after);
            }
            out.push('\n');
        }
        let c = &self.cached_walker_answers;
        let _ = writeln!(
            out,
            "Cached walker answers: {} before, {} after.",
            c.before, c.after
        );
        for (title, list) in [
            ("New violations", &self.violations_new),
            ("Violations gone", &self.violations_gone),
        ] {
            if !list.is_empty() {
                let _ = writeln!(out, "\n{title}:\n");
                for v in list.iter().take(20) {
                    let _ = writeln!(out, "- {v}");
                }
            }
        }
        out
    }
}
