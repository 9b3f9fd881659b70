//! The probe points cost nothing measurable with the default no-op observer: one MemFs build
//! (100 sources of 4 KiB consumed by an exec target through the OS copy path, so every probe
//! kind fires) with `NoopObserver` versus a trivial observer that counts probes.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use engine::fs::{Fs, MemFs, MemFsConfig};
use engine::probe::{Observer, Probe};
use engine::{CacheConfig, ConsumePath, Ctx, Engine, EngineConfig, Graph, Target};

const SOURCES: usize = 100;

/// Makes the observer of one build; `None` keeps `Ctx::new`'s `NoopObserver`.
type MakeObserver = fn() -> Option<Arc<dyn Observer>>;

/// Counts every probe point it is shown.
#[derive(Default)]
struct CountingObserver(AtomicU64);

impl Observer for CountingObserver {
    fn on(&self, _: &Probe<'_>, _: &dyn Fs) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn workspace() -> (Arc<dyn Fs>, Vec<Target>) {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new(MemFsConfig::default()));
    let mut targets = Vec::new();
    for i in 0..SOURCES {
        let path = format!("src/f{i:03}.txt");
        fs.write(Path::new(&path), &[i as u8; 4096]).expect("write");
        targets.push(Target::fs_file(&format!("s{i:03}"), &path));
    }
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    targets.push(Target::concat(
        "use",
        &names,
        ConsumePath::OsCopy,
        CacheConfig::UNCACHED,
    ));
    (fs, targets)
}

fn observer_cost(c: &mut Criterion) {
    let (fs, targets) = workspace();
    let graph = Graph::new(targets).expect("graph");
    let mut group = c.benchmark_group("observer_cost");
    let observers: [(&str, MakeObserver); 2] = [
        ("noop", || None),
        ("counting", || Some(Arc::new(CountingObserver::default()))),
    ];
    for (label, observer) in observers {
        group.bench_function(label, |b| {
            b.iter_batched(
                || {
                    let mut ctx = Ctx::new(fs.clone());
                    if let Some(observer) = observer() {
                        ctx = ctx.with_observer(observer);
                    }
                    Engine::new(ctx, graph.clone(), EngineConfig::default())
                },
                |engine| {
                    let out = engine.build_sync("use");
                    assert!(out.failure.is_none());
                    black_box((out, engine))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, observer_cost);
criterion_main!(benches);
