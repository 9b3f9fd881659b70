//! The wall-clock backstop of a campaign: each worker says which schedule it is on, and a
//! schedule that runs past a generous limit is a hang even when it makes no file-system step
//! for the tap's budget to count (a loop on a sticky error, say). A campaign cannot take a
//! thread back from a loop, so a hang ends the run: its seed, schedule and replay come first.
//!
//! The deterministic budget (`tap::MAX_STEPS`) decides in every ordinary case; this limit
//! only fires where nothing else can, and is far above any schedule's honest running time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long one schedule may run on the wall clock (`SIM_SCHEDULE_TIMEOUT_S` overrides it):
/// the slowest honest schedule takes well under a second, on a loaded machine a few.
pub const SCHEDULE_WALL_LIMIT: Duration = Duration::from_secs(300);

/// What each worker is doing: the schedule it is on (plus one; 0 when idle) and when it began,
/// in milliseconds since the watchdog started.
#[derive(Debug)]
pub struct Watchdog {
    started: Instant,
    limit: Duration,
    slots: Vec<(AtomicU64, AtomicU64)>,
}

impl Watchdog {
    /// A watchdog over `workers` workers with `limit` per schedule.
    pub fn new(workers: usize, limit: Duration) -> Self {
        assert!(workers >= 1, "at least one worker");
        Watchdog {
            started: Instant::now(),
            limit,
            slots: (0..workers)
                .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
                .collect(),
        }
    }

    /// The limit from `SIM_SCHEDULE_TIMEOUT_S` when set to a number of seconds, else
    /// [`SCHEDULE_WALL_LIMIT`].
    pub fn limit_from_env() -> Duration {
        std::env::var("SIM_SCHEDULE_TIMEOUT_S")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map_or(SCHEDULE_WALL_LIMIT, Duration::from_secs)
    }

    fn millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Worker `worker` starts schedule `index`.
    pub fn begin(&self, worker: usize, index: u64) {
        let (on, since) = &self.slots[worker];
        since.store(self.millis(), Ordering::SeqCst);
        on.store(index + 1, Ordering::SeqCst);
    }

    /// Worker `worker` finished its schedule.
    pub fn end(&self, worker: usize) {
        self.slots[worker].0.store(0, Ordering::SeqCst);
    }

    /// The first schedule some worker has been on for longer than the limit, at `now_ms`
    /// (milliseconds since the watchdog started).
    pub fn overdue_at(&self, now_ms: u64) -> Option<u64> {
        let limit = self.limit.as_millis() as u64;
        self.slots.iter().find_map(|(on, since)| {
            let index = on.load(Ordering::SeqCst).checked_sub(1)?;
            let since = since.load(Ordering::SeqCst);
            (now_ms.saturating_sub(since) > limit).then_some(index)
        })
    }

    /// [`Watchdog::overdue_at`] now.
    pub fn overdue(&self) -> Option<u64> {
        self.overdue_at(self.millis())
    }

    /// The limit.
    pub fn limit(&self) -> Duration {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_past_the_limit_is_overdue_and_an_idle_worker_never_is() {
        let dog = Watchdog::new(2, Duration::from_millis(1_000));
        assert_eq!(dog.overdue_at(u64::MAX), None, "idle workers");
        dog.begin(1, 41);
        let began = dog.slots[1].1.load(Ordering::SeqCst);
        assert_eq!(dog.overdue_at(began + 1_000), None, "at the limit");
        assert_eq!(dog.overdue_at(began + 1_001), Some(41));
        dog.end(1);
        assert_eq!(dog.overdue_at(u64::MAX), None, "ended");
    }
}
