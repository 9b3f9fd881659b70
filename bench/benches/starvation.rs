//! Issue 8, item 2: runtime starvation. A 1 ms heartbeat task runs on a current-thread tokio
//! runtime while N builds run on the same runtime, each packing (or passing through) one tiny
//! DiskFs source; prints the heartbeat's p50/p99/max delay for pack + Inline (heph before the
//! seed PR), pack + spawn_blocking, and passthrough (Inline and spawn_blocking).
//!
//! Why one current-thread runtime: it is one worker whose every cycle the build competes for,
//! which is what heph's multi-thread runtime looked like once its workers were all busy
//! packing; with spare workers, blocking on one of them hides the problem until the load
//! grows. Not a criterion bench: the figures are latency percentiles, not timings.

use std::time::{Duration, Instant};

use bench::latency::{percentile, LatencyHeartbeat};
use bench::smoke::is_smoke;
use bench::{Mode, SourceTree};
use engine::Blocking;

const PERIOD: Duration = Duration::from_millis(1);

/// One row of the table.
struct Row {
    label: String,
    build: Duration,
    delays: Vec<Duration>,
}

/// The heartbeat alone for `idle`: the floor set by tokio's 1 ms timer wheel.
fn idle(idle: Duration) -> Row {
    let (build, delays) = current_thread().block_on(async {
        let heartbeat = LatencyHeartbeat::spawn(PERIOD);
        tokio::time::sleep(idle).await;
        (Duration::ZERO, heartbeat.stop())
    });
    Row {
        label: format!("no builds ({} ms idle)", idle.as_millis()),
        build,
        delays,
    }
}

/// Runs N one-source builds in `mode` with `blocking` while the heartbeat ticks.
fn measure(tree: &SourceTree, mode: Mode, blocking: Blocking) -> Row {
    let engine = tree.engine(tree.sources(), mode.config(blocking));
    let (build, delays) = current_thread().block_on(async {
        let heartbeat = LatencyHeartbeat::spawn(PERIOD);
        tokio::time::sleep(5 * PERIOD).await;
        let start = Instant::now();
        for name in tree.names() {
            let out = engine.build(name).await;
            assert!(out.failure.is_none(), "{name}: {:?}", out.failure);
        }
        let build = start.elapsed();
        tokio::time::sleep(3 * PERIOD).await;
        (build, heartbeat.stop())
    });
    let label = format!("{} + {:?}", mode.label(), blocking);
    Row {
        label,
        build,
        delays,
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

fn print(n: usize, row: &Row) {
    let max = row.delays.iter().max().copied().unwrap_or_default();
    println!(
        "| {n} | {} | {} | {} | {} | {} | {} |",
        row.label,
        ms(row.build),
        row.delays.len(),
        ms(percentile(&row.delays, 50.0)),
        ms(percentile(&row.delays, 99.0)),
        ms(max),
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn main() {
    let sizes: &[usize] = if is_smoke() { &[20] } else { &[1_000, 10_000] };
    let cases = [
        (Mode::Pack, Blocking::Inline),
        (Mode::Pack, Blocking::SpawnBlocking),
        (Mode::Passthrough, Blocking::Inline),
        (Mode::Passthrough, Blocking::SpawnBlocking),
    ];
    println!(
        "## Heartbeat delay (period {} ms, current-thread runtime)\n",
        ms(PERIOD)
    );
    println!(
        "| N builds | engine + blocking | builds took ms | ticks | p50 ms | p99 ms | max ms |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    print(
        0,
        &idle(Duration::from_millis(if is_smoke() { 20 } else { 200 })),
    );
    for &n in sizes {
        let tree = SourceTree::new(n);
        for (mode, blocking) in cases {
            print(n, &measure(&tree, mode, blocking));
        }
    }
}
