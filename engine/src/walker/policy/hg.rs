//! Mercurial's dirstate: size, mode and mtime; an entry whose mtime falls in the same second as
//! the dirstate write is stored as "unsure" and compared next time. It relies on the clock: a
//! file system step coarser than a second widens the unsure window to that step.

use super::{floor, Stamp};
use crate::fs::Metadata;

const SECOND_NS: u64 = 1_000_000_000;

/// The stat match, unless the mtime shares the dirstate write's second.
pub fn trusts(was: &Stamp, now: &Metadata, granularity_ns: u64) -> bool {
    let step = if crate::regressed!(MercurialUnsureAtGranularity) {
        granularity_ns.max(1)
    } else {
        granularity_ns.max(SECOND_NS)
    };
    let unsure = floor(was.mtime_ns, step) >= floor(was.recorded_at_ns, step);
    was.len == now.len && was.mode == now.mode && was.mtime_ns == now.mtime_ns && !unsure
}
