//! Scenario families: one snapshot per `scenarios/*.toml` file, holding every scenario's story,
//! and a check that the catalogue as a whole still covers what it must.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use engine::ConsumePath;
use sim::mutation::MutationKind;
use snapshots::family::{self, Family};
use snapshots::story;

fn families() -> Vec<Family> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    family::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
}

/// One snapshot per family file; every family is checked before the test fails.
#[test]
fn scenario_families() {
    let mut failed = Vec::new();
    for family in families() {
        let stem = family
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let story = story::render(&family).unwrap_or_else(|e| panic!("{e}"));
        if !story.mismatches.is_empty() {
            eprintln!(
                "{} disagrees with its expectations:\n{}",
                family.path.display(),
                story.mismatches.join("\n")
            );
            failed.push(format!("{stem} (expectations)"));
        }
        let snapshot = catch_unwind(AssertUnwindSafe(|| {
            insta::with_settings!({ input_file => &family.path, omit_expression => true }, {
                insta::assert_snapshot!(stem.clone(), story.text);
            });
        }));
        if snapshot.is_err() {
            failed.push(format!("{stem} (snapshot)"));
        }
    }
    assert!(failed.is_empty(), "families that failed: {failed:?}");
}

/// The catalogue keeps at least 30 scenarios with unique names, and between them every mutation
/// kind, every mutation point and every consumer path.
#[test]
fn catalogue_covers_every_kind_point_and_path() {
    let families = families();
    let all: Vec<_> = families.iter().flat_map(|f| &f.scenarios).collect();
    assert!(all.len() >= 30, "only {} scenarios", all.len());
    let names: BTreeSet<&str> = all.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names.len(),
        all.len(),
        "scenario names repeat across families"
    );
    let kinds: BTreeSet<MutationKind> = all
        .iter()
        .flat_map(|n| n.scenario.mutations.iter().map(|m| m.kind))
        .collect();
    let missing: Vec<_> = MutationKind::ALL
        .iter()
        .filter(|k| !kinds.contains(k))
        .collect();
    assert!(missing.is_empty(), "no scenario mutates by {missing:?}");
    let points: BTreeSet<&str> = all
        .iter()
        .flat_map(|n| n.scenario.mutations.iter().map(|m| m.point.name()))
        .collect();
    assert_eq!(
        points.len(),
        sim::mutation::Point::KINDS,
        "points used: {points:?}"
    );
    let paths: BTreeSet<String> = all
        .iter()
        .flat_map(|n| n.scenario.consumers.iter().map(|c| format!("{:?}", c.via)))
        .collect();
    let every = [
        ConsumePath::OsCopy,
        ConsumePath::Fuse,
        ConsumePath::ViewRepack,
        ConsumePath::AbiChunked,
        ConsumePath::PlainReader,
        ConsumePath::OddReads,
        ConsumePath::AsyncCopy,
        ConsumePath::AsyncReadBuf,
    ];
    for via in every {
        assert!(
            paths.contains(&format!("{via:?}")),
            "no consumer via {via:?}"
        );
    }
}
