//! Campaigns as CI runs them: a short MemFs and DiskFs campaign with zero violations, the
//! exhaustive enumeration, determinism across runs and thread counts, and a differential run.

use sim::campaign::{campaign, CampaignOptions, FsChoice};
use sim::exhaustive::exhaustive;
use sim::schedule::Variant;

fn options(seed: u64, schedules: u64, fs: FsChoice, threads: usize) -> CampaignOptions {
    CampaignOptions {
        seed,
        schedules,
        fs,
        threads,
        racy: false,
        variant: Variant::Reference,
        shrink: true,
        shard: None,
        swarm: false,
        fingerprints: false,
        cell: None,
    }
}

/// No violation; on failure the seed and replay command come before the long report.
fn assert_clean_of(report: &sim::report::Report) {
    report.clean_or_explain().unwrap_or_else(|e| panic!("{e}"));
}

fn assert_clean(report: &sim::report::Report) {
    assert_clean_of(report);
    assert!(
        report.outcomes["ok"] > 0
            && report.outcomes["invalid_data"] > 0
            && report.outcomes["not_found"] > 0,
        "{:?}",
        report.outcomes
    );
}

#[test]
fn short_memfs_campaign_has_no_violations() {
    let report = campaign(&options(20_251_124, 20_000, FsChoice::Mem, 2), &|_, _| {});
    assert_clean(&report);
    assert_eq!(
        report.mutations.by_kind.len(),
        sim::mutation::MutationKind::ALL.len(),
        "every mutation kind fired"
    );
    assert_eq!(
        report.mutations.by_point.len(),
        sim::mutation::Point::KINDS,
        "every point fired (a probe deleted from the engine fails here)"
    );
    assert_eq!(
        report.coverage.never_fired(),
        Vec::<String>::new(),
        "every kind × point cell the generator reaches fired"
    );
    assert!(
        report.findings.counts.contains_key("stale_walker_hash"),
        "{:?}",
        report.findings.counts
    );
}

#[test]
fn short_diskfs_campaign_has_no_violations() {
    assert_clean(&campaign(&options(7, 500, FsChoice::Disk, 2), &|_, _| {}));
}

#[test]
fn differential_run_agrees() {
    assert_clean(&campaign(&options(11, 400, FsChoice::Both, 2), &|_, _| {}));
}

#[test]
fn exhaustive_slice_fires_every_case_with_no_violation() {
    use sim::exhaustive::{cases, Scope};
    let report = exhaustive(
        FsChoice::Mem,
        false,
        Variant::Reference,
        Scope::Slice,
        (2, false),
    );
    assert_eq!(report.schedules, cases(Scope::Slice, false).len() as u64);
    assert_clean(&report);
    assert!(report.families.len() >= 8, "{:?}", report.families.keys());
    for (name, family) in &report.families {
        assert_eq!(
            family.fired, family.cases,
            "{name}: {:?}",
            family.never_fired
        );
    }
}

#[test]
fn a_case_that_never_fires_fails_the_enumeration() {
    use sim::exhaustive::{cases, judge_cases, Scope};
    use sim::mutation::Point;
    let mut case = cases(Scope::Slice, false).swap_remove(0);
    // The 50th read chunk of a small file is never reached.
    case.scenario.mutations[0].point = Point::AfterChunk { chunk: 50 };
    let report = judge_cases(&[case], FsChoice::Mem, false, Variant::Reference, 1);
    assert_eq!(report.violation_count, 1, "{:?}", report.violations);
    let violation = &report.violations[0];
    assert_eq!(violation.invariant, sim::oracle::Invariant::Harness);
    assert!(
        violation.message.contains("never fired"),
        "{}",
        violation.message
    );
    assert!(violation.shrunk.is_some(), "the case is kept for replay");
}

/// The same cases on a real disk, one in 40 of them (DiskFs is slower): no violation, and every
/// one fires there too.
#[test]
fn exhaustive_slice_sampled_on_diskfs() {
    use sim::exhaustive::{cases, Scope};
    for (i, case) in cases(Scope::Slice, true).iter().enumerate().step_by(40) {
        let ran = sim::campaign::run_on(
            &case.scenario,
            i as u64,
            (FsChoice::Disk, None),
            false,
            Variant::Reference,
        );
        let result = ran.results[0].1.as_ref().unwrap();
        assert!(result.broken.is_empty(), "case {i}: {:?}", result.broken);
        assert!(
            result.fired.iter().all(|f| f.skipped.is_none()),
            "case {i}: {:?}",
            result.fired
        );
    }
}

#[test]
fn racy_option_judges_real_cached_answers_and_cuts_stale_hashes() {
    let heph = campaign(&options(3, 3000, FsChoice::Mem, 2), &|_, _| {});
    let racy = campaign(
        &CampaignOptions {
            racy: true,
            ..options(3, 3000, FsChoice::Mem, 2)
        },
        &|_, _| {},
    );
    assert_clean_of(&racy);
    // Schedules that pause between builds let the racy rule trust what it remembered: the rule
    // is judged on real cached answers, not vacuously.
    assert!(
        racy.cached_walker_answers > 100,
        "{}",
        racy.cached_walker_answers
    );
    let stale = |r: &sim::report::Report| r.findings.counts.get("stale_walker_hash").copied();
    let heph_stale = stale(&heph).expect("heph trusts size + mtime");
    // What stays is git's documented hole: a same-size edit that restores an old mtime.
    assert!(
        stale(&racy).unwrap_or(0) < heph_stale,
        "{:?} vs {heph_stale}",
        racy.findings
    );
}

#[test]
fn same_seed_same_report_byte_for_byte() {
    let a = campaign(&options(99, 1500, FsChoice::Mem, 1), &|_, _| {});
    let b = campaign(&options(99, 1500, FsChoice::Mem, 1), &|_, _| {});
    let c = campaign(&options(99, 1500, FsChoice::Mem, 2), &|_, _| {});
    assert_eq!(a.deterministic_json(), b.deterministic_json());
    assert_eq!(
        a.deterministic_json(),
        c.deterministic_json(),
        "thread count must not change the report"
    );
    let d = campaign(&options(100, 1500, FsChoice::Mem, 1), &|_, _| {});
    assert_ne!(
        a.deterministic_json(),
        d.deterministic_json(),
        "another seed, another campaign"
    );
}

/// DiskFs holds a name that is not UTF-8 (MemFs cannot): the glob walk passes over it and the
/// build succeeds, with no violation.
#[test]
fn an_undecodable_name_does_not_fail_a_glob_on_diskfs() {
    use sim::mutation::{MutationKind, Point};
    use sim::scenario::{ConsumerSpec, FileSpec, Input, MutationSpec, Scenario};
    let scenario = Scenario {
        files: vec![FileSpec {
            size: 12,
            globbed: true,
            ..FileSpec::default()
        }],
        consumers: vec![ConsumerSpec {
            inputs: vec![Input::Glob],
            via: engine::ConsumePath::OsCopy,
            cached: false,
            plugin: false,
            steps: Default::default(),
        }],
        mutations: vec![MutationSpec::new(
            0,
            MutationKind::AddUndecodable,
            Point::BetweenBuilds,
        )],
        ..Scenario::default()
    };
    let options = sim::schedule::RunOptions {
        fs: sim::schedule::FsKind::Disk,
        ..Default::default()
    };
    let result = sim::schedule::run(&scenario, &options).unwrap();
    assert_eq!(result.fired[0].skipped, None, "applied on DiskFs");
    assert_eq!(result.outcomes, ["ok", "ok"]);
    assert!(result.broken.is_empty(), "{:?}", result.broken);
}

/// A campaign split into 4 shards and merged is the unsharded campaign, byte for byte but for
/// timing: counts, coverage, finding examples, per-schedule fingerprints and (with an engine
/// that breaks invariants) the first violations in schedule order, shrunk.
#[test]
fn four_shards_merged_equal_the_unsharded_campaign() {
    for variant in [Variant::Reference, Variant::TamperDelivered] {
        let base = CampaignOptions {
            variant,
            shrink: variant == Variant::TamperDelivered,
            fingerprints: true,
            ..options(11, 240, FsChoice::Mem, 2)
        };
        let whole = campaign(&base, &|_, _| {});
        assert_eq!(
            whole.fingerprints.len(),
            240,
            "one fingerprint per schedule"
        );
        let shards: Vec<_> = [3, 1, 4, 2]
            .iter()
            .map(|&k| {
                let report = campaign(
                    &CampaignOptions {
                        shard: Some((k, 4)),
                        threads: 1,
                        ..base
                    },
                    &|_, _| {},
                );
                // Through JSON, as `sim merge` reads them.
                serde_json::from_str(&report.to_json()).unwrap()
            })
            .collect();
        let sizes: Vec<u64> = shards
            .iter()
            .map(|r: &sim::report::Report| r.schedules)
            .collect();
        assert_eq!(sizes, [60, 60, 60, 60], "balanced by schedule count");
        let merged = sim::campaign::merge_shards(shards).unwrap();
        assert_eq!(merged.deterministic_json(), whole.deterministic_json());
        assert_eq!(
            variant == Variant::TamperDelivered,
            whole.violation_count > 0
        );
    }
}

#[test]
fn merging_refuses_what_is_not_one_whole_campaign() {
    let shard = |k: u64, seed: u64| {
        let options = CampaignOptions {
            shard: Some((k, 2)),
            ..options(seed, 8, FsChoice::Mem, 1)
        };
        campaign(&options, &|_, _| {})
    };
    let merge =
        |reports: Vec<sim::report::Report>| sim::campaign::merge_shards(reports).unwrap_err();
    assert!(merge(vec![shard(1, 1)]).contains("shard 2/2 is missing"));
    assert!(merge(vec![shard(1, 1), shard(1, 1)]).contains("given twice"));
    assert!(merge(vec![shard(1, 1), shard(2, 9)]).contains("not of the campaign"));
    assert!(merge(vec![]).contains("no reports"));
    let whole = campaign(&options(1, 8, FsChoice::Mem, 1), &|_, _| {});
    assert!(merge(vec![whole]).contains("not a shard"));
}

/// Swarm campaigns judge like the others, and their replay commands say `--swarm`.
#[test]
fn swarm_campaigns_are_clean_and_replayable() {
    let swarm = CampaignOptions {
        swarm: true,
        ..options(3, 300, FsChoice::Mem, 2)
    };
    let report = campaign(&swarm, &|_, _| {});
    assert_clean_of(&report);
    assert!(report.swarm && report.to_json().contains("\"swarm\": true"));
    let tampered = campaign(
        &CampaignOptions {
            variant: Variant::TamperDelivered,
            shrink: false,
            ..swarm
        },
        &|_, _| {},
    );
    let first = tampered
        .violations
        .first()
        .expect("the tampered engine is caught");
    assert!(first.replay.ends_with(" --swarm"), "{}", first.replay);
}
