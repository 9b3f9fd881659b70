//! Mercurial's dirstate (v1, the default): size, the owner's exec bit and the mtime in whole
//! seconds (measured against hg 7.2 by `sim tools`); an entry whose mtime falls in the same second as
//! the dirstate write is stored as "unsure" and compared next time. It relies on the clock: a
//! file system step coarser than a second widens the unsure window to that step.

use super::{floor, Stamp};
use crate::fs::Metadata;

const SECOND_NS: u64 = 1_000_000_000;
/// The only mode bit the dirstate compares (with `checkexec`, true on Linux).
const OWNER_EXEC: u32 = 0o100;

/// The stat match, unless the mtime shares the dirstate write's second.
///
/// Architecture Invariant: the mtime is compared in whole seconds, as dirstate-v1 stores it;
/// `sim tools` holds this against the real binary.
pub fn trusts(was: &Stamp, now: &Metadata, granularity_ns: u64) -> bool {
    let step = if crate::regressed!(MercurialUnsureAtGranularity) {
        granularity_ns.max(1)
    } else {
        granularity_ns.max(SECOND_NS)
    };
    let unsure = floor(was.mtime_ns, step) >= floor(was.recorded_at_ns, step);
    let same_exec = (was.mode ^ now.mode) & OWNER_EXEC == 0;
    let same_second = was.mtime_ns / SECOND_NS == now.mtime_ns / SECOND_NS;
    was.len == now.len && same_exec && same_second && !unsure
}
