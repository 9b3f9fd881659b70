//! The oracle has teeth: an engine wrapper that delivers altered bytes without error is caught,
//! shrunk to a minimal scenario, and reproducible from its replay command.

use sim::campaign::{campaign, CampaignOptions, FsChoice};
use sim::oracle::Invariant;
use sim::schedule::{run, RunOptions, Variant};
use sim::shrink::describe;

#[test]
fn tampering_wrapper_is_caught_and_shrunk() {
    let options = CampaignOptions {
        seed: 5,
        schedules: 40,
        fs: FsChoice::Mem,
        threads: 1,
        racy: false,
        variant: Variant::TamperDelivered,
        shrink: true,
        shard: None,
        swarm: false,
        fingerprints: false,
        cell: None,
    };
    let report = campaign(&options, &|_, _| {});
    assert!(report.violation_count > 0);
    let first = &report.violations[0];
    assert_eq!(first.invariant, Invariant::Integrity);
    assert_eq!(
        first.replay,
        format!("sim replay --seed 5 --schedule {} --fs mem", first.schedule)
    );
    let shrunk = first.shrunk.as_ref().expect("shrunk scenario");
    let original = sim::scenario::generate(5, first.schedule);
    assert!(
        shrunk.mutations.is_empty(),
        "tampering needs no mutation: {}",
        describe(shrunk)
    );
    assert_eq!(shrunk.consumers.len(), 1);
    assert!(shrunk.files.len() <= original.files.len());
    assert!(
        shrunk.files.iter().map(|f| f.size).sum::<u64>()
            <= original.files.iter().map(|f| f.size).sum::<u64>()
    );
    let again = run(
        shrunk,
        &RunOptions {
            variant: Variant::TamperDelivered,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert!(
        again
            .broken
            .iter()
            .any(|b| b.invariant == Invariant::Integrity),
        "the shrunk scenario still fails"
    );
    let clean = run(shrunk, &RunOptions::default()).unwrap();
    assert!(
        clean.broken.is_empty(),
        "and passes on the reference engine"
    );
}
