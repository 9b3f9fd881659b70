//! The exact half of `sim diff`: per-schedule fingerprints (`sim run --fingerprints`) of the
//! same schedules run by two engines, compared with no test at all. A schedule whose digest
//! differs, and per leaf cell and outcome (and per invariant broken) the schedules whose count
//! differs, are changes of behaviour, never chance.
//!
//! Architecture Invariant: two reports whose fingerprints do not both record the invariants
//! broken (one written before [`VIOLATED`] existed) compare behaviour alone, so an older base
//! never shows every violating schedule as changed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::replay_command;
use crate::report::Report;

/// In a fingerprint, what follows this character is the invariants the schedule broke.
/// Fingerprints written before it existed have none; two such reports compare behaviour only.
pub const VIOLATED: char = '|';
/// The cell under which a fingerprint's broken invariants are compared (outcome: the invariant).
pub const VIOLATIONS_CELL: &str = "violations";

/// One (cell, outcome) whose count differs on some schedules, exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangedCell {
    /// `kind@point`, `*` (every build) or [`VIOLATIONS_CELL`].
    pub cell: String,
    /// The outcome, or the invariant broken.
    pub outcome: String,
    /// Schedules where the head counts more of it than the base.
    pub more: u64,
    /// Schedules where the head counts fewer.
    pub fewer: u64,
    /// The first such schedule, and the command that replays it (run it with each engine).
    pub first: (u64, String),
}

/// The schedules whose fingerprints differ.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Changed {
    /// How many.
    pub count: u64,
    /// The first, and the command that replays it.
    pub first: Option<(u64, String)>,
}

/// The schedules whose fingerprints differ between two reports, computed once for all that
/// the exact half of the diff tells.
pub(super) struct Exact {
    /// Their indices, in order.
    indices: Vec<u64>,
    /// Broken invariants count (both reports record them).
    whole: bool,
}

impl Exact {
    /// `None` unless both reports carry fingerprints. Broken invariants count only when both
    /// reports record them.
    pub(super) fn of(base: &Report, head: &Report) -> Option<Exact> {
        let whole = records_violations(base) && records_violations(head);
        let part = |r, i| compared_part(fingerprint(r, i), whole);
        let indices: Vec<u64> = fingerprinted(base, head)?
            .into_iter()
            .filter(|&&i| part(base, i) != part(head, i))
            .copied()
            .collect();
        assert!(indices.len() as u64 <= base.schedules.max(head.schedules));
        Some(Exact { indices, whole })
    }

    /// How many schedules changed, and the first with its replay.
    pub(super) fn changed_schedules(&self, base: &Report) -> Changed {
        Changed {
            count: self.indices.len() as u64,
            first: self.indices.first().map(|&i| (i, replay_command(base, i))),
        }
    }

    /// Per (leaf cell, outcome), the schedules whose count differs between the two engines.
    pub(super) fn changed_cells(&self, base: &Report, head: &Report) -> Vec<ChangedCell> {
        let mut cells: BTreeMap<(String, String), ChangedCell> = BTreeMap::new();
        for &index in &self.indices {
            let of = |r| tally(fingerprint(r, index), self.whole);
            let (b, h) = (of(base), of(head));
            let keys: BTreeSet<&(&str, &str)> = b.keys().chain(h.keys()).collect();
            for key in keys {
                let (nb, nh) = (b.get(key).copied(), h.get(key).copied());
                if nb == nh {
                    continue;
                }
                let cell = cells
                    .entry((key.0.to_string(), key.1.to_string()))
                    .or_insert_with(|| ChangedCell {
                        cell: key.0.to_string(),
                        outcome: key.1.to_string(),
                        more: 0,
                        fewer: 0,
                        first: (index, replay_command(base, index)),
                    });
                match nh > nb {
                    true => cell.more += 1,
                    false => cell.fewer += 1,
                }
            }
        }
        let mut out: Vec<ChangedCell> = cells.into_values().collect();
        out.sort_by(|a, b| {
            (b.more + b.fewer)
                .cmp(&(a.more + a.fewer))
                .then(a.first.0.cmp(&b.first.0))
        });
        debug_assert!(out.iter().all(|c| c.more + c.fewer > 0));
        out
    }

    /// The first schedule whose count of `outcome` in `group` (a cell, a margin or `*`)
    /// differs, with its replay command: only a schedule whose fingerprint changed can.
    pub(super) fn first_difference(
        &self,
        base: &Report,
        head: &Report,
        group: &str,
        outcome: &str,
    ) -> Option<(u64, String)> {
        let &index = self.indices.iter().find(|&&i| {
            let of = |r| count_in(fingerprint(r, i), group, outcome);
            of(base) != of(head)
        })?;
        Some((index, replay_command(base, index)))
    }
}

/// Schedule `index`'s fingerprint in `r` (empty when it has none).
fn fingerprint(r: &Report, index: u64) -> &str {
    r.fingerprints.get(&index).map_or("", String::as_str)
}

/// True when the report's fingerprints carry the invariants broken (after [`VIOLATED`]).
fn records_violations(r: &Report) -> bool {
    r.fingerprints
        .values()
        .next()
        .is_some_and(|f| f.contains(VIOLATED))
}

/// The part of a fingerprint two reports compare: all of it, or its behaviour alone.
fn compared_part(fingerprint: &str, whole: bool) -> &str {
    match whole {
        true => fingerprint,
        false => fingerprint.split(VIOLATED).next().unwrap_or_default(),
    }
}

/// One fingerprint as counts per (leaf cell, outcome): `*` for each build's outcome,
/// `kind@point` for each fired mutation, [`VIOLATIONS_CELL`] for each invariant broken (when
/// `whole`).
fn tally(fingerprint: &str, whole: bool) -> BTreeMap<(&str, &str), u64> {
    let (behaviour, broken) = fingerprint
        .split_once(VIOLATED)
        .unwrap_or((fingerprint, ""));
    let mut parts = behaviour.split(';');
    let mut out = BTreeMap::new();
    for outcome in parts
        .next()
        .unwrap_or_default()
        .split(',')
        .filter(|o| !o.is_empty())
    {
        *out.entry(("*", outcome)).or_default() += 1;
    }
    for (cell, outcome) in parts.filter_map(|p| p.split_once('=')) {
        *out.entry((cell, outcome)).or_default() += 1;
    }
    for invariant in broken.split(',').filter(|i| whole && !i.is_empty()) {
        *out.entry((VIOLATIONS_CELL, invariant)).or_default() += 1;
    }
    out
}

/// How many builds of group `group` (a cell, a margin or `*`) ended in `outcome` in one
/// schedule's fingerprint (its behaviour, read as [`tally`] reads it).
fn count_in(fingerprint: &str, group: &str, outcome: &str) -> u64 {
    let (kind, point) = group.split_once('@').unwrap_or((group, "*"));
    tally(fingerprint, false)
        .into_iter()
        .filter(|((cell, o), _)| {
            let every_build = *cell == "*";
            let (k, p) = cell.split_once('@').unwrap_or((cell, ""));
            *o == outcome
                && match group {
                    "*" => every_build,
                    _ => !every_build && (kind == "*" || k == kind) && (point == "*" || p == point),
                }
        })
        .map(|(_, n)| n)
        .sum()
}

/// Every schedule index either report has a fingerprint of (`None` unless both have some).
fn fingerprinted<'a>(base: &'a Report, head: &'a Report) -> Option<BTreeSet<&'a u64>> {
    if base.fingerprints.is_empty() || head.fingerprints.is_empty() {
        return None;
    }
    Some(
        base.fingerprints
            .keys()
            .chain(head.fingerprints.keys())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_tallies_per_leaf_cell_and_invariant() {
        let check = |fingerprint: &str, whole: bool, expected: &[((&str, &str), u64)]| {
            let expected: BTreeMap<(&str, &str), u64> = expected.iter().copied().collect();
            assert_eq!(tally(fingerprint, whole), expected, "{fingerprint}");
        };
        check("ok,ok", true, &[(("*", "ok"), 2)]);
        check("", true, &[]);
        check(
            "ok,invalid_data;edit@after_hashin=invalid_data|integrity,gating",
            true,
            &[
                (("*", "ok"), 1),
                (("*", "invalid_data"), 1),
                (("edit@after_hashin", "invalid_data"), 1),
                ((VIOLATIONS_CELL, "integrity"), 1),
                ((VIOLATIONS_CELL, "gating"), 1),
            ],
        );
        check(
            "ok;edit@after_hashin=ok|integrity",
            false,
            &[(("*", "ok"), 1), (("edit@after_hashin", "ok"), 1)],
        );
        assert_eq!(compared_part("ok|integrity", false), "ok");
        assert_eq!(compared_part("ok|integrity", true), "ok|integrity");
        assert_eq!(count_in("ok;edit@x=ok|integrity", "edit@*", "ok"), 1);
        assert_eq!(count_in("ok|hang", "*", "ok"), 1);
    }
}
