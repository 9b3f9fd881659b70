//! git's index: a stat match on ctime (unless `core.trustctime=false`), mtime, inode, size and
//! mode; an entry whose mtime is not older than the index write is "racily clean" and its
//! content is compared. Its hole: a same-size edit with a restored mtime when ctime is not
//! trusted (and the inode kept).

use super::{racily_clean, Stamp};
use crate::fs::Metadata;

/// The stat match, then the racy test.
pub fn trusts(was: &Stamp, now: &Metadata, granularity_ns: u64, trust_ctime: bool) -> bool {
    let stat_match = was.len == now.len
        && was.mtime_ns == now.mtime_ns
        && (!trust_ctime || was.ctime_ns == now.ctime_ns)
        && (was.ino == now.ino || crate::regressed!(GitIgnoresInode))
        && was.mode == now.mode;
    stat_match && !racily_clean(was, granularity_ns)
}
