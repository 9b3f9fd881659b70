//! The guards, enumerated: under every walker policy that guards its cache writes (Bazel's
//! proxy and re-digest guards, ccache's "too new" test and its unguarded pipeline), a cached
//! consumer whose source changes between its digest and the guard, for every way a source
//! reaches that consumer (its fs:file, a glob, a symlink, and a View at every nesting depth the
//! scenario builds) and the changes that tell the guards apart. The random mix meets a guard
//! cell in about one schedule in 100, and a deep View source changed in that window far more
//! rarely; here each combination is met once. The oracle judges the guard's verdict either
//! way: it must refuse exactly when its rule sees the change (`guard`).
//!
//! Architecture Invariant: the mutated file is reached by the consumer *only* through the path
//! under test (in a nested View, a file of the innermost group only), so a guard that checks
//! that path in its first case alone is caught here.

use engine::walker::Policy;

use super::{os_copy_consumer, Case};
use crate::mutation::{MutationKind, Point};
use crate::scenario::{ExecShape, FileSpec, Input, MutationSpec, Scenario};
use crate::schedule::PolicyCell;

/// How the mutated source reaches the consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Its own fs:file target.
    File,
    /// The fs:glob target.
    Glob,
    /// A symlink's fs:file target.
    Symlink,
    /// The group View, wrapped in this many more groups.
    View(u8),
    /// Its own fs:file, in an external repository (`external/repo/`): Bazel's lite guards do
    /// not check it, the others do.
    External,
    /// Its own fs:file, in a main-repository directory whose name only begins like the
    /// external repositories' (`externals/`): every guard checks it.
    BesideExternal,
    /// Its own fs:file, digested for an earlier consumer, while a glob that matches it too
    /// (another earlier consumer's input) digests it a second time in the same build, after
    /// the change: the guard must compare against the digest the key was computed from, not
    /// the newest.
    Twice,
}

/// Every way a source reaches the consumer.
pub fn reaches() -> Vec<Reach> {
    let mut out = vec![
        Reach::File,
        Reach::External,
        Reach::BesideExternal,
        Reach::Glob,
        Reach::Symlink,
    ];
    out.extend((0..=crate::scenario::MAX_VIEW_NESTING).map(Reach::View));
    out.push(Reach::Twice);
    out
}

/// The changes that tell the guards apart: bytes and stamps moved, bytes moved with the
/// mtime put back (only a ctime tells), A→B→A (a re-digest passes it), a touch (no byte
/// moved), and the size changed both ways.
const KINDS: [MutationKind; 6] = [
    MutationKind::SameSizeEdit,
    MutationKind::SameSizeEditRestoreMtime,
    MutationKind::Aba,
    MutationKind::Touch,
    MutationKind::Append,
    MutationKind::Truncate,
];

/// The points between consumer 0's digest of its inputs and the end of its action: for each
/// reach but [`Reach::Twice`] the guarded consumer's window, for that one the window between
/// the two digests.
fn points() -> [Point; 4] {
    let consumer = 0;
    [
        Point::AfterHashin { consumer },
        Point::BeforeConsume { consumer },
        Point::AtEof,
        Point::BetweenConsumers { consumer },
    ]
}

/// The walker policies that run a guard, at a timestamp step of 1 ns.
pub fn cells() -> Vec<PolicyCell> {
    let out: Vec<PolicyCell> = Policy::ALL
        .into_iter()
        .filter(|p| p.guard().is_some())
        .map(|policy| PolicyCell {
            policy,
            granularity_ns: 1,
        })
        .collect();
    assert!(out.len() >= 3, "Bazel's two guards and ccache's");
    out
}

/// The scenario: a cached consumer reaching file 0 through `reach` (and, for a View, also
/// file 1, the first of the View, which the wrapping groups hold again at every level).
pub fn scenario(reach: Reach) -> Scenario {
    let file = |fill| FileSpec {
        size: 100,
        fill,
        ..FileSpec::default()
    };
    let mut files = vec![
        FileSpec {
            globbed: matches!(reach, Reach::Glob | Reach::Twice),
            also_file: reach == Reach::Twice,
            external: reach == Reach::External,
            beside_external: reach == Reach::BesideExternal,
            ..file(7)
        },
        file(3),
    ];
    let input = match reach {
        Reach::File | Reach::External | Reach::BesideExternal => Input::File(0),
        Reach::Glob => Input::Glob,
        Reach::Symlink => {
            files.push(FileSpec {
                link_to: Some(0),
                ..FileSpec::default()
            });
            Input::File(2)
        }
        Reach::View(_) => Input::View,
        Reach::Twice => Input::File(0),
    };
    let (view, view_nesting) = match reach {
        // File 1 first: the wrapping levels repeat the View's first file, so file 0 sits in
        // the innermost group alone.
        Reach::View(depth) => (vec![1, 0], depth),
        _ => (vec![], 0),
    };
    let consumer = |input, cached| os_copy_consumer(vec![input], cached, ExecShape::Concat);
    // Twice: the fs:file is digested for c0, the change lands in c0's window, the glob
    // digests the changed file for c1, and c2 (the guarded one) reuses c0's digest.
    let mut consumers = vec![consumer(input, true)];
    if reach == Reach::Twice {
        consumers = vec![
            consumer(Input::File(0), false),
            consumer(Input::Glob, false),
            consumer(Input::File(0), true),
        ];
    }
    Scenario {
        files,
        view,
        view_nesting,
        consumers,
        ..Scenario::default()
    }
}

/// Every guard case: cell × reach × kind × point, mutating file 0 (through its link, for
/// [`Reach::Symlink`]).
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for cell in cells() {
        for reach in reaches() {
            for kind in KINDS {
                for point in points() {
                    let mut scenario = scenario(reach);
                    // The consumer reads the link: mutations name it and reach file 0 through it.
                    let file = if reach == Reach::Symlink { 2 } else { 0 };
                    scenario.mutations = vec![MutationSpec::new(file, kind, point)];
                    out.push(Case {
                        family: format!("guard/{reach:?}"),
                        scenario,
                        cell: Some(cell),
                    });
                }
            }
        }
    }
    assert_eq!(out.len(), cells().len() * reaches().len() * KINDS.len() * 4);
    out
}
