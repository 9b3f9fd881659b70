//! Ours: git's stat match, with its racy test applied to ctime as well as mtime. git alone is
//! fooled by an edit in the same timestamp step as the index write whose mtime is set back
//! (`touch -r`): the mtime passes the racy test and the ctime, coarse, does not move. Found by
//! the policy matrix (10^7 schedules, 74 stale builds at 10 ms to 2 s).

use super::{recorded_within_step, Stamp};
use crate::fs::Metadata;

/// git's rule (its racy test on mtime included), and not racy by ctime either.
pub fn trusts(was: &Stamp, now: &Metadata, granularity_ns: u64) -> bool {
    super::git::trusts(was, now, granularity_ns, true)
        && !recorded_within_step(was, was.ctime_ns, granularity_ns)
}
