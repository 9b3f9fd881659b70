//! The fixed-seed campaign report: `sim run --seed 7 --schedules 2000 --fs mem` as JSON, timing
//! redacted, and its coverage map as the table `--coverage` prints. Any change in what the
//! simulator generates, fires or concludes shows as a diff.

use sim::campaign::{campaign, CampaignOptions, FsChoice};
use sim::schedule::Variant;

#[test]
fn fixed_seed_campaign_report() {
    let options = CampaignOptions {
        seed: 7,
        schedules: 2000,
        fs: FsChoice::Mem,
        threads: 1,
        racy: false,
        variant: Variant::Reference,
        shrink: true,
        shard: None,
        swarm: false,
        fingerprints: false,
        cell: None,
    };
    let report = campaign(&options, &|_, _| {});
    assert_eq!(
        report.violation_count, 0,
        "the reference engine broke an invariant"
    );
    insta::assert_snapshot!("campaign_seed_7_coverage", report.coverage.table());
    insta::assert_json_snapshot!("campaign_seed_7", report, {
        ".timing" => "[timing]",
        ".coverage" => "[coverage: campaign_seed_7_coverage]",
    });
}
