//! The listing rules, enumerated: under every walker policy that caches directory listings
//! (heph's, ours), at a fine and a coarse timestamp step, a glob whose directory gains, loses
//! or replaces an entry after its listing was read, with the directory's mtime as the file
//! system left it, restored, or set back (`DirStamp`), for a file at the glob's root and one,
//! two and three directories below it. The random mix meets a listing policy's cell in about
//! one schedule in 60, and a restamped directory in it far more rarely; here each combination
//! is met once. The oracle replays every walk against its own model of the rule (`listings`):
//! a stale listing the rule allows is heph's finding, one it does not allow a violation.
//!
//! Architecture Invariant: the glob is walked once per build, so every change lands between
//! one build's walk and the next, where only the listing rule decides what the walk sees.

use engine::walker::Policy;

use super::{os_copy_consumer, Case};
use crate::mutation::{MutationKind, Point};
use crate::scenario::{DirStamp, ExecShape, FileSpec, Input, MutationSpec, Scenario};
use crate::schedule::PolicyCell;

/// The changes to a directory's entries.
const KINDS: [MutationKind; 4] = [
    MutationKind::CreateSibling,
    MutationKind::Delete,
    MutationKind::RenameOver,
    MutationKind::Recreate,
];

/// What becomes of the directory's mtime after the change.
const STAMPS: [Option<DirStamp>; 3] = [None, Some(DirStamp::Restore), Some(DirStamp::Backdate)];

/// Where the changed file lies: at the glob's root, or this many directories below it.
const DEPTHS: [Option<u8>; 4] = [None, Some(0), Some(1), Some(2)];

/// The points after build 1's walk read the listing.
fn points() -> [Point; 2] {
    [Point::AfterHash, Point::BetweenBuilds]
}

/// The policies that cache listings, at 1 ns and at 1 s.
pub fn cells() -> Vec<PolicyCell> {
    let mut out = Vec::new();
    for policy in Policy::ALL.into_iter().filter(|p| p.caches_listings()) {
        for granularity_ns in [1, 1_000_000_000] {
            out.push(PolicyCell {
                policy,
                granularity_ns,
            });
        }
    }
    assert!(out.len() >= 4, "heph's and ours, at two steps");
    out
}

/// Two globbed files, the first placed at `depth`, read by one consumer of the glob.
pub fn scenario(depth: Option<u8>) -> Scenario {
    let file = |fill| FileSpec {
        size: 100,
        fill,
        globbed: true,
        ..FileSpec::default()
    };
    let changed = FileSpec {
        nested: depth.is_some(),
        depth: depth.unwrap_or(0),
        ..file(7)
    };
    Scenario {
        files: vec![changed, file(3)],
        consumers: vec![os_copy_consumer(
            vec![Input::Glob],
            false,
            ExecShape::Concat,
        )],
        ..Scenario::default()
    }
}

/// Every listing case: cell × depth × kind × stamp × point, changing file 0's directory.
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for cell in cells() {
        for depth in DEPTHS {
            for kind in KINDS {
                for dir_stamp in STAMPS {
                    for point in points() {
                        let mut scenario = scenario(depth);
                        let mut mutation = MutationSpec::new(0, kind, point);
                        mutation.dir_stamp = dir_stamp;
                        scenario.mutations = vec![mutation];
                        let place = depth.map_or("root".to_string(), |d| format!("depth{}", d + 1));
                        out.push(Case {
                            family: format!("listing/{place}"),
                            scenario,
                            cell: Some(cell),
                        });
                    }
                }
            }
        }
    }
    assert_eq!(
        out.len(),
        cells().len() * DEPTHS.len() * KINDS.len() * STAMPS.len() * 2
    );
    out
}
