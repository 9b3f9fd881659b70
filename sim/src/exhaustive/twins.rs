//! Two tmp targets with one hashin, packing in one instant of a coarse clock, under every
//! walker policy: twin consumers (one definition, one input, neither cached) read a source
//! that changes between the first's pack and the second's run. Where the second still runs
//! (the pipelines that read unverified, rules that trust a stale hash), it makes other bytes
//! under the same hashin; its entry must not replace the first's, whose artifacts still name
//! it (SPEC §5's `{hashin}_{nanos}`, `no_poisoning`). The random mix met this in 6 of 10^6
//! schedules.
//!
//! Architecture Invariant: both twins pack at the clock's one instant (a 1 s clock, no
//! pause), and the change lands after the first's pack, before the second consumes.

use engine::ConsumePath;

use super::walkers::cells;
use super::Case;
use crate::mutation::{MutationKind, Point};
use crate::scenario::{ConsumerSpec, ExecShape, FileSpec, Input, MutationSpec, Scenario};

/// The changes between the twins: one that a stat sees, one it does not.
const CHANGES: [MutationKind; 2] = [MutationKind::Append, MutationKind::SameSizeEditRestoreMtime];

/// One file read by two twin consumers (plugins through ABI chunks, or execs through the OS
/// copy), on an engine clock of one second.
fn scenario(plugin: bool) -> Scenario {
    let twin = ConsumerSpec {
        inputs: vec![Input::File(0)],
        via: if plugin {
            ConsumePath::AbiChunked
        } else {
            ConsumePath::OsCopy
        },
        cached: false,
        plugin,
        steps: ExecShape::Concat,
    };
    Scenario {
        files: vec![FileSpec {
            size: 90,
            fill: 5,
            ..FileSpec::default()
        }],
        consumers: vec![twin.clone(), twin],
        clock_ns: 1_000_000_000,
        ..Scenario::default()
    }
}

/// Every case: cell × twin kind × change.
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for cell in cells() {
        for plugin in [true, false] {
            for kind in CHANGES {
                let mut scenario = scenario(plugin);
                let point = Point::BeforeConsume { consumer: 1 };
                scenario.mutations = vec![MutationSpec::new(0, kind, point)];
                out.push(Case {
                    family: format!("twins/{}", cell.policy.name()),
                    scenario,
                    cell: Some(cell),
                });
            }
        }
    }
    assert_eq!(out.len(), cells().len() * 2 * CHANGES.len());
    out
}
