//! The coverage map: how often each mutation kind fired at each probe point (applied, or
//! skipped because there was nothing to mutate that way), and the outcomes of the builds they
//! fired in; printed as a compact table and drawn as an SVG heat map, so a reviewer sees at a
//! glance which cells a campaign never reached.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::mutation::{MutationKind, Point};

/// One cell: a mutation kind at a point.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Times it fired and changed something.
    pub applied: u64,
    /// Times it fired with nothing to mutate that way.
    pub skipped: u64,
    /// Outcomes of the builds it fired in (`ok`, `invalid_data`, …).
    pub outcomes: BTreeMap<String, u64>,
}

/// Cells by `kind@point`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Every cell that fired at least once.
    pub cells: BTreeMap<String, Cell>,
}

/// Every point kind, in the order of the map's columns.
pub const POINTS: [&str; Point::KINDS] = [
    "before_hash",
    "before_open",
    "after_hash_chunk",
    "after_hash",
    "after_hashin",
    "before_cache_read",
    "before_consume",
    "at_open",
    "after_chunk",
    "at_eof",
    "during_pack",
    "after_cache_write",
    "between_consumers",
    "between_builds",
];

/// The key of a cell.
pub fn key(kind: MutationKind, point: &str) -> String {
    format!("{}@{point}", kind.name())
}

impl Coverage {
    /// Counts one fired mutation and the outcome of its build.
    pub fn add(&mut self, kind: MutationKind, point: Point, applied: bool, outcome: &str) {
        let cell = self.cells.entry(key(kind, point.name())).or_default();
        if applied {
            cell.applied += 1;
        } else {
            cell.skipped += 1;
        }
        *cell.outcomes.entry(outcome.to_string()).or_insert(0) += 1;
    }

    /// Folds another map into this one.
    pub fn absorb(&mut self, other: Coverage) {
        for (key, cell) in other.cells {
            let mine = self.cells.entry(key).or_default();
            mine.applied += cell.applied;
            mine.skipped += cell.skipped;
            for (outcome, n) in cell.outcomes {
                *mine.outcomes.entry(outcome).or_insert(0) += n;
            }
        }
    }

    /// The cells (of every kind × point) that never fired.
    pub fn never_fired(&self) -> Vec<String> {
        MutationKind::ALL
            .iter()
            .flat_map(|&k| POINTS.iter().map(move |p| key(k, p)))
            .filter(|key| !self.cells.contains_key(key))
            .collect()
    }

    /// A compact table: per kind, how many points it fired at, and how often it applied.
    pub fn table(&self) -> String {
        let width = MutationKind::ALL
            .iter()
            .map(|k| k.name().len())
            .max()
            .unwrap_or(0);
        let mut out = format!("{:<width$} points applied skipped\n", "kind");
        for kind in MutationKind::ALL {
            let cells: Vec<&Cell> = POINTS
                .iter()
                .filter_map(|p| self.cells.get(&key(kind, p)))
                .collect();
            let applied: u64 = cells.iter().map(|c| c.applied).sum();
            let skipped: u64 = cells.iter().map(|c| c.skipped).sum();
            let _ = writeln!(
                out,
                "{:<width$} {:>2}/{:<3} {applied:>7} {skipped:>7}",
                kind.name(),
                cells.len(),
                POINTS.len()
            );
        }
        let never = self.never_fired();
        let _ = writeln!(
            out,
            "cells never fired: {} of {}",
            never.len(),
            MutationKind::ALL.len() * POINTS.len()
        );
        out
    }

    /// An SVG heat map: kinds down, points across, the shade of a cell the log of how often
    /// it fired (applied), a hatched cell where it fired only with nothing to mutate, an empty
    /// outlined cell where it never fired.
    pub fn svg(&self) -> String {
        const CELL: usize = 22;
        const LEFT: usize = 190;
        const TOP: usize = 130;
        let width = LEFT + CELL * POINTS.len() + 20;
        let height = TOP + CELL * MutationKind::ALL.len() + 20;
        let max = self
            .cells
            .values()
            .map(|c| c.applied)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"monospace\" font-size=\"11\">\n");
        let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        for (col, point) in POINTS.iter().enumerate() {
            let x = LEFT + col * CELL + CELL / 2;
            let _ = writeln!(
                svg,
                "<text transform=\"translate({x},{}) rotate(-60)\">{point}</text>",
                TOP - 6
            );
        }
        for (row, kind) in MutationKind::ALL.iter().enumerate() {
            let y = TOP + row * CELL;
            let _ = writeln!(svg, "<text x=\"4\" y=\"{}\">{}</text>", y + 15, kind.name());
            for (col, point) in POINTS.iter().enumerate() {
                let x = LEFT + col * CELL;
                let (fill, title) = match self.cells.get(&key(*kind, point)) {
                    Some(cell) if cell.applied > 0 => {
                        let shade = (1.0 + cell.applied as f64).ln() / (1.0 + max).ln();
                        let level = (230.0 - 200.0 * shade) as u8;
                        (
                            format!("rgb({level},{level},255)"),
                            format!("{} applied, {} skipped", cell.applied, cell.skipped),
                        )
                    }
                    Some(cell) => (
                        "rgb(255,220,160)".to_string(),
                        format!("0 applied, {} skipped", cell.skipped),
                    ),
                    None => ("white".to_string(), "never fired".to_string()),
                };
                let _ = writeln!(svg, "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#999\"><title>{}@{point}: {title}</title></rect>", CELL - 1, CELL - 1, kind.name());
            }
        }
        svg.push_str("</svg>\n");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_cover_every_point_kind_once() {
        assert_eq!(POINTS.len(), Point::KINDS);
        let mut sorted = POINTS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), POINTS.len());
    }

    #[test]
    fn cells_count_and_the_map_names_what_never_fired() {
        let mut map = Coverage::default();
        map.add(MutationKind::Delete, Point::AtOpen, true, "ok");
        map.add(MutationKind::Delete, Point::AtOpen, false, "not_found");
        let cell = &map.cells["delete@at_open"];
        assert_eq!((cell.applied, cell.skipped), (1, 1));
        assert_eq!(
            map.never_fired().len(),
            MutationKind::ALL.len() * POINTS.len() - 1
        );
        assert!(map.table().contains("delete"));
        let svg = map.svg();
        assert!(svg.starts_with("<svg") && svg.contains("delete@at_open: 1 applied, 1 skipped"));
    }
}
