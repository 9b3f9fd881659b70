//! Issue 8, item 4: simulator throughput in schedules/s on MemFs and DiskFs with 1 and 2
//! threads (a fixed seed, so every run does the same work), and the 2-thread speed-up.
//! Not a criterion bench: a campaign already times itself and is the unit of work.

use bench::smoke::is_smoke;
use sim::campaign::{campaign, CampaignOptions, FsChoice};
use sim::schedule::Variant;

const SEED: u64 = 1;

fn schedules_per_sec(fs: FsChoice, schedules: u64, threads: usize) -> f64 {
    let options = CampaignOptions {
        seed: SEED,
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
    };
    let report = campaign(&options, &|_, _| {});
    assert!(
        report.violations.is_empty(),
        "the reference engine has no violations"
    );
    report.timing.schedules_per_sec
}

fn main() {
    let smoke = is_smoke();
    // DiskFs schedules run in temporary directories under TMPDIR (tempfile's rule), so the
    // file system they measure is named in the table: `just bench` runs ext4 and tmpfs.
    let disk = format!("DiskFs under {}", std::env::temp_dir().display());
    let cases = [
        (FsChoice::Mem, "MemFs", if smoke { 200 } else { 20_000 }),
        (
            FsChoice::Disk,
            disk.as_str(),
            if smoke { 20 } else { 2_000 },
        ),
    ];
    println!("## Simulator throughput (seed {SEED}, release build)\n");
    println!("| fs | schedules | 1 thread /s | 2 threads /s | speed-up |");
    println!("|---|---:|---:|---:|---:|");
    for (fs, label, schedules) in cases {
        let one = schedules_per_sec(fs, schedules, 1);
        let two = schedules_per_sec(fs, schedules, 2);
        println!(
            "| {label} | {schedules} | {one:.0} | {two:.0} | {:.2}x |",
            two / one
        );
    }
}
