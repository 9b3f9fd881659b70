//! git's index: a stat match on ctime (unless `core.trustctime=false`), mtime, inode, size and
//! mode; an entry whose mtime is not older than the index write is "racily clean" and its
//! content is compared. git is built without `USE_NSEC`: it compares every timestamp in whole
//! seconds, the stat match's mtime and ctime and the racy test alike (an mtime in the same
//! second as the index write is racy, one in an earlier second is not, however close; an edit
//! that moves the mtime within its second matches). Measured against real git 2.47.3 by
//! `sim tools`. Its hole: a same-size edit with a restored mtime when ctime is not trusted (and
//! the inode kept), or one that stays within the mtime's second.

use super::Stamp;
use crate::fs::Metadata;

/// git's timestamp resolution for its racy test.
const SECOND_NS: u64 = 1_000_000_000;

/// The stat match alone, its timestamps compared at `resolution_ns` (git's: a second).
pub fn stat_match(was: &Stamp, now: &Metadata, trust_ctime: bool, resolution_ns: u64) -> bool {
    let r = resolution_ns.max(1);
    was.len == now.len
        && was.mtime_ns / r == now.mtime_ns / r
        && (!trust_ctime || was.ctime_ns / r == now.ctime_ns / r)
        && (was.ino == now.ino || crate::regressed!(GitIgnoresInode))
        && was.mode == now.mode
}

/// The stat match, then the racy test (in whole seconds, or the file system's coarser step).
pub fn trusts(was: &Stamp, now: &Metadata, granularity_ns: u64, trust_ctime: bool) -> bool {
    let step = granularity_ns.max(SECOND_NS);
    let racy = was.mtime_ns / step >= was.recorded_at_ns / step;
    stat_match(was, now, trust_ctime, SECOND_NS) && !racy
}
