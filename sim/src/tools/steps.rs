//! Linux's real timestamps (issue 24): how often two writes in a tight loop share an mtime or a
//! ctime on one file system, the step a stat rule can see.

use std::path::Path;

use serde::Serialize;

use super::stat_of;

/// What two writes in a tight loop show of the kernel's timestamps on one file system.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Steps {
    /// Where it was measured.
    pub root: String,
    /// Pairs of writes.
    pub pairs: u64,
    /// Pairs whose second write left the mtime the first one set.
    pub same_mtime: u64,
    /// Pairs whose second write left the ctime the first one set.
    pub same_ctime: u64,
    /// The smallest nonzero mtime step seen, ns.
    pub min_step_ns: u64,
    /// The largest mtime step seen, ns.
    pub max_step_ns: u64,
}

/// At most this many pairs of writes.
pub const MAX_PAIRS: u64 = 1_000_000;

/// Writes one file twice in a row `pairs` times under `root` and compares the timestamps each
/// write left: how often a real edit is invisible to a rule that compares mtime or ctime.
pub fn timestamp_steps(root: &Path, pairs: u64) -> Result<Steps, String> {
    assert!(pairs <= MAX_PAIRS, "at most {MAX_PAIRS} pairs");
    let dir = tempfile::tempdir_in(root)
        .map_err(|e| format!("a directory in {}: {e}", root.display()))?;
    let path = dir.path().join("f");
    let mut steps = Steps {
        root: root.display().to_string(),
        pairs,
        min_step_ns: u64::MAX,
        ..Steps::default()
    };
    for i in 0..pairs {
        let write =
            |b: u8| std::fs::write(&path, [b; 8]).map_err(|e| format!("{}: {e}", path.display()));
        write(i as u8)?;
        let first = stat_of(&path)?;
        write(!(i as u8))?;
        let second = stat_of(&path)?;
        steps.same_mtime += u64::from(first.mtime_ns == second.mtime_ns);
        steps.same_ctime += u64::from(first.ctime_ns == second.ctime_ns);
        let step = second.mtime_ns.saturating_sub(first.mtime_ns);
        if step > 0 {
            steps.min_step_ns = steps.min_step_ns.min(step);
        }
        steps.max_step_ns = steps.max_step_ns.max(step);
    }
    if steps.min_step_ns == u64::MAX {
        steps.min_step_ns = 0;
    }
    assert!(steps.same_mtime <= pairs && steps.same_ctime <= pairs);
    Ok(steps)
}

impl Steps {
    /// One line of the granularity table (Markdown).
    pub fn row(&self) -> String {
        let pct = |n: u64| 100.0 * n as f64 / self.pairs.max(1) as f64;
        format!(
            "| {} | {} | {} ({:.1} %) | {} ({:.1} %) | {} | {} |",
            self.root,
            self.pairs,
            self.same_mtime,
            pct(self.same_mtime),
            self.same_ctime,
            pct(self.same_ctime),
            self.min_step_ns,
            self.max_step_ns
        )
    }
}
