//! The walker's stat→open window, enumerated under every walker policy: a path is stat'ed,
//! then opened and hashed; a change inside that window, put back before the next build's stat,
//! leaves a stamp that no longer describes the bytes hashed. heph's rule and the tools'
//! (which stamp from the path's `stat`) accept the stale hash in the next build: their finding.
//! Ours stamps from the `fstat` of the file it hashed and must accept none (`walker_rule`).
//! The random mix met this round trip once in 2·10^6 schedules; here every policy meets it
//! through a symlink moved and moved back, and a file edited and put back.
//!
//! Architecture Invariant: the window's first change lands between the walker's `stat` and its
//! `open` (`BeforeOpen`), its second after the hash, before any later `stat` of the path.

use engine::walker::Policy;

use super::{os_copy_consumer, Case};
use crate::mutation::{MutationKind, Point};
use crate::scenario::{ExecShape, FileSpec, Input, MutationSpec, Scenario};
use crate::schedule::PolicyCell;

/// The round trips: which file (0: the plain file, 2: the link to it) and the two kinds.
const ROUND_TRIPS: [(usize, MutationKind, MutationKind); 2] = [
    (2, MutationKind::Retarget, MutationKind::Retarget),
    (
        0,
        MutationKind::SameSizeEditRestoreMtime,
        MutationKind::Undo,
    ),
];

/// Every walker policy, at a timestamp step of 1 ns (the walkers' cells and the twins').
pub fn cells() -> Vec<PolicyCell> {
    Policy::ALL
        .into_iter()
        .map(|policy| PolicyCell {
            policy,
            granularity_ns: 1,
        })
        .collect()
}

/// A plain file, another for the link to be moved to, and a link to the first, each read by
/// one consumer.
pub fn scenario() -> Scenario {
    let file = |size, fill| FileSpec {
        size,
        fill,
        ..FileSpec::default()
    };
    let link = FileSpec {
        link_to: Some(0),
        ..FileSpec::default()
    };
    Scenario {
        files: vec![file(70, 7), file(108, 3), link],
        consumers: vec![os_copy_consumer(
            vec![Input::File(0), Input::File(2)],
            false,
            ExecShape::Stamp,
        )],
        ..Scenario::default()
    }
}

/// Every case: cell × round trip.
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for cell in cells() {
        for (file, there, back) in ROUND_TRIPS {
            let mut scenario = scenario();
            scenario.mutations = vec![
                MutationSpec::new(file, there, Point::BeforeOpen),
                MutationSpec::new(file, back, Point::AfterHash),
            ];
            out.push(Case {
                family: format!("walker/{}", cell.policy.name()),
                scenario,
                cell: Some(cell),
            });
        }
    }
    assert_eq!(out.len(), cells().len() * ROUND_TRIPS.len());
    out
}
