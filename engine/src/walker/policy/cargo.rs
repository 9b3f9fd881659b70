//! Cargo's fingerprint: a unit is dirty when an input's mtime is newer than its dep-info file,
//! whose mtime is rewound to the start of the build that wrote it. Size, inode and content are
//! not looked at. Its hole: a backdated mtime (`touch -r`, archives, containers zeroing
//! nanoseconds).

use super::{floor, Stamp};
use crate::fs::Metadata;

/// Fresh while the mtime is not newer than the recording build's start.
pub fn trusts(was: &Stamp, now: &Metadata, granularity_ns: u64) -> bool {
    let dep_info = if crate::regressed!(CargoDepInfoNotRewound) {
        was.recorded_at_ns
    } else {
        was.build_start_ns
    };
    now.mtime_ns <= floor(dep_info, granularity_ns)
}
