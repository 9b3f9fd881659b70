//! A heartbeat task that makes runtime starvation visible: the async tests run it beside the
//! engine's async pipeline and fail when blocking work on the runtime thread starves it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a [`Heartbeat`] observed, in tokio time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatStats {
    /// Ticks so far.
    pub ticks: u64,
    /// The largest delay of a tick past its deadline.
    pub max_late: Duration,
}

/// A task that ticks every `period` on tokio time and records how late each tick fired. A
/// runtime starved by blocking work on its thread shows as missing or late ticks.
pub struct Heartbeat {
    ticks: Arc<AtomicU64>,
    stats: Arc<Mutex<HeartbeatStats>>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    /// Spawns the heartbeat on the current runtime. Its first deadline is one period from now.
    pub fn spawn(period: Duration) -> Heartbeat {
        assert!(!period.is_zero(), "heartbeat period must be positive");
        let ticks = Arc::new(AtomicU64::new(0));
        let stats = Arc::new(Mutex::new(HeartbeatStats::default()));
        let (task_ticks, task_stats) = (ticks.clone(), stats.clone());
        let task = tokio::spawn(async move {
            let mut deadline = tokio::time::Instant::now() + period;
            loop {
                tokio::time::sleep_until(deadline).await;
                let late = tokio::time::Instant::now().saturating_duration_since(deadline);
                {
                    let mut stats = task_stats.lock().unwrap_or_else(|p| p.into_inner());
                    stats.ticks += 1;
                    stats.max_late = stats.max_late.max(late);
                }
                task_ticks.fetch_add(1, Ordering::SeqCst);
                deadline += period;
            }
        });
        Heartbeat { ticks, stats, task }
    }

    /// Ticks so far; readable from any thread (e.g. an engine probe observer).
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::SeqCst)
    }

    /// A shared counter of the ticks, for observers that outlive a borrow of the heartbeat.
    pub fn tick_counter(&self) -> Arc<AtomicU64> {
        self.ticks.clone()
    }

    /// Everything observed so far.
    pub fn stats(&self) -> HeartbeatStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops the heartbeat and returns what it observed.
    pub fn stop(self) -> HeartbeatStats {
        self.task.abort();
        self.stats()
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
