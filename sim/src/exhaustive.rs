//! Exhaustive small-scope mode: every mutation kind × every point × every consumer path × each
//! of two small files, with no randomness.

use std::time::Instant;

use engine::ConsumePath;

use crate::campaign::{merge, run_on, timing, CampaignOptions, FsChoice};
use crate::mutation::{MutationKind, Point};
use crate::report::Report;
use crate::scenario::{ConsumerSpec, FileSpec, Input, MutationSpec, Scenario};
use crate::schedule::Variant;

/// Every consumer path.
pub const PATHS: [ConsumePath; 5] = [
    ConsumePath::OsCopy,
    ConsumePath::Fuse,
    ConsumePath::ViewRepack,
    ConsumePath::AbiChunked,
    ConsumePath::PlainReader,
];

/// Every point, with the consumer and chunk indices that exist in the small scope.
pub const POINTS: [Point; 10] = [
    Point::BeforeHash,
    Point::AfterHash,
    Point::AfterHashin { consumer: 0 },
    Point::AfterCacheWrite { consumer: 0 },
    Point::AtOpen,
    Point::AfterChunk { chunk: 0 },
    Point::AfterChunk { chunk: 1 },
    Point::AtEof,
    Point::BetweenConsumers { consumer: 0 },
    Point::BetweenBuilds,
];

/// The small-scope scenario: a 12-byte file and a 70,000-byte executable (two 64 KiB chunks),
/// consumed by c0 through `via` and again by c1 (plain copy), with one mutation.
pub fn scenario(via: ConsumePath, file: usize, kind: MutationKind, point: Point) -> Scenario {
    let files = vec![
        FileSpec {
            size: 12,
            fill: 7,
            x: false,
            globbed: false,
            link_to: None,
            ..FileSpec::default()
        },
        FileSpec {
            size: 70_000,
            fill: 9,
            x: true,
            globbed: false,
            link_to: None,
            ..FileSpec::default()
        },
    ];
    let plugin = via == ConsumePath::AbiChunked;
    let (view, inputs) = if via == ConsumePath::ViewRepack {
        (vec![0, 1], vec![Input::View])
    } else {
        (vec![], vec![Input::File(0), Input::File(1)])
    };
    let mut c1_inputs = vec![Input::File(file)];
    if !plugin {
        c1_inputs.push(Input::Consumer(0));
    }
    let consumers = vec![
        ConsumerSpec {
            inputs,
            via,
            cached: true,
            plugin,
        },
        ConsumerSpec {
            inputs: c1_inputs,
            via: ConsumePath::OsCopy,
            cached: false,
            plugin: false,
        },
    ];
    Scenario {
        view_cached: false,
        files,
        view,
        consumers,
        mutations: vec![MutationSpec { file, kind, point }],
        ..Scenario::default()
    }
}

/// Every small-scope scenario, in a fixed order.
pub fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::with_capacity(PATHS.len() * POINTS.len() * MutationKind::ALL.len() * 2);
    for via in PATHS {
        for point in POINTS {
            for kind in MutationKind::ALL {
                for file in 0..2 {
                    out.push(scenario(via, file, kind, point));
                }
            }
        }
    }
    out
}

/// Runs the enumeration on `fs`; violations name the enumeration index.
pub fn exhaustive(fs: FsChoice, racy: bool, variant: Variant) -> Report {
    let started = Instant::now();
    let all = scenarios();
    let options = CampaignOptions {
        seed: 0,
        schedules: all.len() as u64,
        fs,
        threads: 1,
        racy,
        variant,
        shrink: false,
    };
    let mut report = Report {
        mode: "exhaustive".into(),
        schedules: options.schedules,
        racy,
        ..Report::default()
    };
    report.fs = format!("{fs:?}").to_lowercase();
    for (index, scenario) in all.iter().enumerate() {
        let judged = crate::panics::catch(|| {
            let ran = run_on(scenario, index as u64, fs, racy, variant);
            merge(&mut report, &ran, &options);
        });
        if let Err(message) = judged {
            report.add_violation(crate::report::Violation {
                schedule: index as u64,
                fs: report.fs.clone(),
                invariant: crate::oracle::Invariant::Panic,
                message: format!("the harness panicked judging this case: {message}"),
                replay: String::new(),
                shrunk: None,
            });
        }
    }
    for violation in &mut report.violations {
        violation.replay = format!(
            "sim exhaustive --fs {} (case {})",
            violation.fs, violation.schedule
        );
        violation.shrunk = Some(all[violation.schedule as usize].clone());
    }
    report.findings.normalize();
    report.timing = timing(started, options.schedules);
    report
}
