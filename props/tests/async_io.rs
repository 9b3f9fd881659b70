//! Async engine paths under tokio-test: a mock async reader (tokio-test's io builder) delivers
//! chunks, delays and errors into the async passthrough copy, which must verify exactly at EOF
//! and keep every error's kind; the engine's Blocking policy is checked for what it does to the
//! runtime; and paused-time heartbeat tests make starvation visible: an inline build holds the
//! runtime thread (no tick while it runs), spawn_blocking and the async copy do not.
#![cfg(not(loom))] // tokio-test's io mocks do not exist under `--cfg loom`.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as WallClock};

use engine::asyncio::copy_verified;
use engine::fs::{Fs, MemFs};
use engine::hash::bytes_hashout;
use engine::probe::{Observer, Probe};
use engine::{Blocking, CacheConfig, ConsumePath, Ctx, Engine, EngineConfig, Graph, Target};
use props::heartbeat::Heartbeat;
use tokio_test::io::Builder;
use tokio_test::{assert_pending, assert_ready, assert_ready_ok, task};

const SOURCE: &str = "mgmt/go/go.mod";
const CONTENT: &[u8] = b"module example\n";

fn hashout() -> String {
    bytes_hashout(CONTENT, false)
}

#[tokio::test(start_paused = true)]
async fn chunks_and_delays_are_copied_and_verified() {
    let mock = Builder::new()
        .read(b"mod")
        .wait(Duration::from_millis(10))
        .read(b"ule ")
        .wait(Duration::from_millis(5))
        .read(b"example\n")
        .build();
    let start = tokio::time::Instant::now();
    let mut sink = Vec::new();
    let n = copy_verified(mock, &mut sink, Path::new(SOURCE), &hashout(), false)
        .await
        .unwrap();
    assert_eq!(n, CONTENT.len() as u64);
    assert_eq!(sink, CONTENT);
    assert_eq!(start.elapsed(), Duration::from_millis(15), "virtual time");
}

#[tokio::test(start_paused = true)]
async fn a_changed_chunk_fails_at_eof_with_invalid_data() {
    let mock = Builder::new()
        .read(b"module ")
        .wait(Duration::from_millis(1))
        .read(b"tampered\n")
        .build();
    let mut sink = Vec::new();
    let err = copy_verified(mock, &mut sink, Path::new(SOURCE), &hashout(), false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let text = err.to_string();
    assert!(text.contains("modified after it was hashed"), "{text}");
    assert!(text.contains("go.mod"), "{text}");
    assert_eq!(
        sink, b"module tampered\n",
        "bytes were copied before the verdict"
    );
}

#[tokio::test]
async fn the_recorded_exec_bit_is_part_of_the_hash() {
    let mock = Builder::new().read(CONTENT).build();
    let mut sink = Vec::new();
    let err = copy_verified(mock, &mut sink, Path::new(SOURCE), &hashout(), true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[tokio::test(start_paused = true)]
async fn read_errors_keep_their_kind_and_are_never_eof() {
    for kind in [
        io::ErrorKind::PermissionDenied,
        io::ErrorKind::NotFound,
        io::ErrorKind::InvalidData,
        io::ErrorKind::UnexpectedEof,
    ] {
        let mock = Builder::new()
            .read(b"module ")
            .wait(Duration::from_millis(2))
            .read_error(io::Error::new(kind, "source went away"))
            .build();
        let mut sink = Vec::new();
        let err = copy_verified(mock, &mut sink, Path::new(SOURCE), &hashout(), false)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind);
        assert_eq!(err.to_string(), "source went away", "not rewritten");
        assert_eq!(sink, b"module ");
    }
}

#[tokio::test]
async fn interrupted_reads_are_retried() {
    let mock = Builder::new()
        .read(b"module ")
        .read_error(io::ErrorKind::Interrupted.into())
        .read(b"example\n")
        .build();
    let mut sink = Vec::new();
    copy_verified(mock, &mut sink, Path::new(SOURCE), &hashout(), false)
        .await
        .unwrap();
    assert_eq!(sink, CONTENT);
}

#[test]
fn verification_waits_for_eof_not_for_the_byte_count() {
    let (mock, mut handle) = Builder::new().build_with_handle();
    let expected = hashout();
    let mut sink = Vec::new();
    let mut copy = task::spawn(copy_verified(
        mock,
        &mut sink,
        Path::new(SOURCE),
        &expected,
        false,
    ));
    assert_pending!(copy.poll());
    handle.read(CONTENT);
    // Every hashed byte has arrived, but no EOF yet: the copy must not finish (or fail).
    assert_pending!(copy.poll());
    handle.read(b"and more\n");
    assert_pending!(copy.poll());
    drop(handle);
    assert!(copy.is_woken());
    let err = assert_ready!(copy.poll()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "grown source");

    let (mock, mut handle) = Builder::new().build_with_handle();
    let mut sink = Vec::new();
    let mut copy = task::spawn(copy_verified(
        mock,
        &mut sink,
        Path::new(SOURCE),
        &expected,
        false,
    ));
    handle.read(CONTENT);
    assert_pending!(copy.poll());
    drop(handle);
    assert_eq!(assert_ready_ok!(copy.poll()), CONTENT.len() as u64);
}

/// Records the heartbeat's tick count at every probe point of a build; optionally, at the first
/// probe, blocks its (blocking-pool) thread until the heartbeat has ticked, proving the runtime
/// thread is free while the engine works.
struct Watch {
    ticks: Arc<AtomicU64>,
    seen: Mutex<Vec<u64>>,
    wait_for_ticks: bool,
}

impl Observer for Watch {
    fn on(&self, _: &Probe<'_>, _: &dyn Fs) {
        let now = self.ticks.load(Ordering::SeqCst);
        let first = {
            let mut seen = self.seen.lock().unwrap();
            seen.push(now);
            seen.len() == 1
        };
        if self.wait_for_ticks && first {
            // A generous real-time bound only turns a starved runtime into a failure, not a hang.
            let deadline = WallClock::now() + Duration::from_secs(30);
            while self.ticks.load(Ordering::SeqCst) < now + 3 {
                assert!(WallClock::now() < deadline, "runtime starved: no heartbeat");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// A source file, and a cached exec target that consumes and packs it.
fn packing_engine(blocking: Blocking, watch: Arc<Watch>) -> Arc<Engine> {
    let fs = MemFs::default();
    fs.write(Path::new("src/a.txt"), &[7u8; 200_000]).unwrap();
    let ctx = Ctx::new(Arc::new(fs)).with_observer(watch);
    let graph = Graph::new(vec![
        Target::fs_file("a", "src/a.txt"),
        Target::concat("use", &["a"], ConsumePath::OsCopy, CacheConfig::CACHED),
    ])
    .unwrap();
    let config = EngineConfig {
        blocking,
        ..EngineConfig::default()
    };
    Engine::new(ctx, graph, config)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn inline_build_holds_the_runtime_thread() {
    let heartbeat = Heartbeat::spawn(Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let before = heartbeat.ticks();
    assert!(
        before >= 4,
        "heartbeat runs when the runtime is free: {before}"
    );
    let watch = Arc::new(Watch {
        ticks: heartbeat.tick_counter(),
        seen: Mutex::new(vec![]),
        wait_for_ticks: false,
    });
    let engine = packing_engine(Blocking::Inline, watch.clone());
    let mut build = task::spawn(engine.build("use"));
    // The whole build, pack included, runs inside one poll: it never yields.
    let out = assert_ready!(build.poll());
    assert!(out.failure.is_none(), "{:?}", out.failure);
    assert!(out.get("use").unwrap().cache_key.is_some(), "it packed");
    let seen = watch.seen.lock().unwrap().clone();
    assert!(seen.len() >= 4, "probes: {seen:?}");
    assert!(
        seen.iter().all(|&t| t == before),
        "a tick during an inline build: {seen:?}"
    );
    assert_eq!(heartbeat.ticks(), before);
}

/// At most this many 1 ms steps of paused tokio time while a spawn_blocking build runs.
const MAX_ADVANCES: u32 = 1_000_000;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn spawn_blocking_build_leaves_the_runtime_free() {
    let heartbeat = Heartbeat::spawn(Duration::from_millis(1));
    let watch = Arc::new(Watch {
        ticks: heartbeat.tick_counter(),
        seen: Mutex::new(vec![]),
        wait_for_ticks: true,
    });
    let engine = packing_engine(Blocking::SpawnBlocking, watch.clone());
    let before = heartbeat.ticks();
    let done = AtomicBool::new(false);
    // A blocking task inhibits paused time's auto-advance, so the test moves the clock itself.
    let (out, ()) = tokio::join!(
        async {
            let out = engine.build("use").await;
            done.store(true, Ordering::SeqCst);
            out
        },
        async {
            // Bounded: a build that never finishes fails here instead of hanging the suite.
            for _ in 0..MAX_ADVANCES {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                tokio::time::advance(Duration::from_millis(1)).await;
                tokio::task::yield_now().await;
            }
            panic!("the build did not finish within {MAX_ADVANCES} ms of tokio time");
        }
    );
    assert!(out.failure.is_none(), "{:?}", out.failure);
    assert!(out.get("use").unwrap().cache_key.is_some(), "it packed");
    let seen = watch.seen.lock().unwrap().clone();
    assert!(
        seen.last().copied().unwrap_or(before) >= before + 3,
        "the heartbeat ticked while the engine worked: {seen:?}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn async_passthrough_copy_keeps_the_heartbeat_on_time() {
    let heartbeat = Heartbeat::spawn(Duration::from_millis(1));
    let mut builder = Builder::new();
    for chunk in CONTENT.chunks(4) {
        builder.wait(Duration::from_millis(3)).read(chunk);
    }
    let before = heartbeat.ticks();
    let start = tokio::time::Instant::now();
    let mut sink = Vec::new();
    copy_verified(
        builder.build(),
        &mut sink,
        Path::new(SOURCE),
        &hashout(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(sink, CONTENT);
    let elapsed = start.elapsed();
    assert_eq!(elapsed, Duration::from_millis(12));
    let during = heartbeat.ticks() - before;
    assert!(during >= 11, "ticks during the copy: {during}");
    let stats = heartbeat.stop();
    assert_eq!(stats.max_late, Duration::ZERO, "never late: {stats:?}");
}
