//! A heartbeat that records how late every tick fired, for percentiles of runtime starvation.
//!
//! Like `props::heartbeat::Heartbeat`, deadlines advance by one period whatever happens, so a
//! thread held for 100 ms with a 1 ms period yields 100 late ticks (100 ms, 99 ms, ... late):
//! every tick stands for a request that wanted service at its deadline, and none is forgotten
//! (no coordinated omission).

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running heartbeat task on the current tokio runtime.
pub struct LatencyHeartbeat {
    delays: Arc<Mutex<Vec<Duration>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LatencyHeartbeat {
    /// Spawns the heartbeat; its first deadline is one period from now.
    pub fn spawn(period: Duration) -> LatencyHeartbeat {
        let delays = Arc::new(Mutex::new(Vec::new()));
        let sink = delays.clone();
        let task = tokio::spawn(async move {
            let mut deadline = tokio::time::Instant::now() + period;
            loop {
                tokio::time::sleep_until(deadline).await;
                let late = tokio::time::Instant::now().saturating_duration_since(deadline);
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(late);
                deadline += period;
            }
        });
        LatencyHeartbeat { delays, task }
    }

    /// Stops the heartbeat and returns every tick's delay, in order.
    pub fn stop(self) -> Vec<Duration> {
        self.task.abort();
        std::mem::take(&mut *self.delays.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The `p`-th percentile (0..=100, nearest rank) of `samples`; zero when there are none.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&ms, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&ms, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
