//! Ours: git's stat match, with its racy test applied to ctime as well as mtime. git alone is
//! fooled by an edit in the same timestamp step as the index write whose mtime is set back
//! (`touch -r`): the mtime passes the racy test and the ctime, coarse, does not move. Found by
//! the policy matrix (10^7 schedules, 74 stale builds at 10 ms to 2 s).

use super::{racily_clean, recorded_within_step, Stamp};
use crate::fs::Metadata;

/// git's stat match and its racy test on mtime at the file system's own step (ours reads the
/// clock as finely as the file system keeps it), and not racy by ctime either.
pub fn trusts(was: &Stamp, now: &Metadata, granularity_ns: u64) -> bool {
    super::git::stat_match(was, now, true, 1)
        && !racily_clean(was, granularity_ns)
        && !recorded_within_step(was, was.ctime_ns, granularity_ns)
}
