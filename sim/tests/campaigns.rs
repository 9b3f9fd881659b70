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
    }
}

fn assert_clean(report: &sim::report::Report) {
    assert_eq!(report.violation_count, 0, "{}", report.to_json());
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
fn exhaustive_small_scope_has_no_violations() {
    for fs in [FsChoice::Mem, FsChoice::Disk] {
        let report = exhaustive(fs, false, Variant::Reference);
        assert_eq!(report.schedules, sim::exhaustive::scenarios().len() as u64);
        assert_clean(&report);
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
    assert_eq!(racy.violation_count, 0, "{}", racy.to_json());
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
        }],
        mutations: vec![MutationSpec {
            file: 0,
            kind: MutationKind::AddUndecodable,
            point: Point::BetweenBuilds,
        }],
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
