//! Bazel's `FileContentsProxy`: (ctime, mtime, inode), with the size from the digest cache key.
//! Its hole (`--guard_against_concurrent_changes`, which re-stats after an action): an A→B→A
//! edit during one action leaves a new ctime, which this rule sees; under the "lite" default
//! only main-repository sources are checked at all.

use super::Stamp;
use crate::fs::Metadata;

/// Size, ctime, mtime and inode equal.
pub fn trusts(was: &Stamp, now: &Metadata) -> bool {
    was.len == now.len
        && was.ctime_ns == now.ctime_ns
        && was.mtime_ns == now.mtime_ns
        && was.ino == now.ino
}
