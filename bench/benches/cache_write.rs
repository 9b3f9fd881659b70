//! Issue 8, item 1: the cache-write phase for N fs:file targets on DiskFs, pack (heph before
//! PR #127) versus passthrough, at N = 100, 1,000, 10,000.
//!
//! Two measurements per N and mode:
//! - `cache_write_phase`: only `Engine::execute_and_cache` over the N source targets' driver
//!   outputs (hashing and the driver run happen before the clock starts), i.e. the phase
//!   PR #127 removed.
//! - `build_cold`: the whole build of a group target over the N sources with a fresh engine
//!   (cold walker cache, so every file is hashed in both modes; in pack mode the group's View
//!   is packed too, since before PR #127 every output was).

use std::hint::black_box;
use std::time::{Duration, Instant};

use bench::tree::ROOT;
use bench::{Mode, SourceTree};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use engine::drivers::{self, DriverRun};
use engine::hash::hashin;
use engine::{Artifact, Blocking, Engine, Target};

const SIZES: [usize; 3] = [100, 1_000, 10_000];

/// The N source targets with their hashins and driver outputs, computed once per N.
struct Prepared {
    runs: Vec<(Target, String, Vec<Artifact>)>,
}

impl Prepared {
    fn new(tree: &SourceTree) -> Prepared {
        let engine = tree.engine(tree.sources(), Mode::Passthrough.config(Blocking::Inline));
        let runs = tree
            .sources()
            .into_iter()
            .map(|target| {
                let key = hashin(target.driver.name(), &target.driver.def_hash(), &[]);
                let run = drivers::run(&engine.driver_ctx(), &target, &[]).expect("fs:file driver");
                (target, key, run.outputs)
            })
            .collect();
        Prepared { runs }
    }

    /// Times `execute_and_cache` for every source on a fresh engine in `mode`.
    fn time_phase(&self, tree: &SourceTree, mode: Mode) -> Duration {
        let engine = tree.engine(tree.sources(), mode.config(Blocking::Inline));
        let inputs: Vec<(&Target, String, DriverRun)> = self
            .runs
            .iter()
            .map(|(target, key, outputs)| {
                let run = DriverRun {
                    outputs: outputs.clone(),
                    ..DriverRun::default()
                };
                (target, key.clone(), run)
            })
            .collect();
        let start = Instant::now();
        let results: Vec<_> = inputs
            .into_iter()
            .map(|(target, key, run)| engine.execute_and_cache(target, key, run))
            .collect();
        let elapsed = start.elapsed();
        assert!(results.iter().all(Result::is_ok), "cache write failed");
        drop(black_box((results, engine)));
        elapsed
    }
}

/// Times one cold build of the group over every source in `mode`, with a fresh engine whose
/// state dir is removed afterwards (outside the clock).
fn time_cold_build(tree: &SourceTree, mode: Mode, run: u64) -> Duration {
    let mut config = mode.config(Blocking::Inline);
    config.state_dir = format!(".heph-bench-{run}").into();
    let state_dir = tree.root().join(&config.state_dir);
    let engine: std::sync::Arc<Engine> = tree.engine(tree.sources_and_root(), config);
    let start = Instant::now();
    let out = engine.build_sync(ROOT);
    let elapsed = start.elapsed();
    assert!(out.failure.is_none(), "build failed: {:?}", out.failure);
    drop(black_box((out, engine)));
    let _ = std::fs::remove_dir_all(state_dir);
    elapsed
}

fn tune(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, n: usize) {
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(n as u64));
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(if n >= 10_000 { 4 } else { 2 }));
    group.sample_size(if n >= 10_000 { 10 } else { 30 });
}

fn cache_write_phase(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache_write_phase");
    for n in SIZES {
        let tree = SourceTree::new(n);
        let prepared = Prepared::new(&tree);
        tune(&mut group, n);
        for mode in Mode::BOTH {
            group.bench_with_input(BenchmarkId::new(mode.label(), n), &n, |b, _| {
                b.iter_custom(|iters| (0..iters).map(|_| prepared.time_phase(&tree, mode)).sum())
            });
        }
    }
    group.finish();
}

fn build_cold(c: &mut Criterion) {
    let mut group = c.benchmark_group("build_cold");
    for n in SIZES {
        let tree = SourceTree::new(n);
        tune(&mut group, n);
        let mut run = 0u64;
        for mode in Mode::BOTH {
            group.bench_with_input(BenchmarkId::new(mode.label(), n), &n, |b, _| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            run += 1;
                            time_cold_build(&tree, mode, run)
                        })
                        .sum()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, cache_write_phase, build_cold);
criterion_main!(benches);
