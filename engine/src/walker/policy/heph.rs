//! heph's rule: a remembered hash stands while size and mtime are what they were. Its hole: a
//! same-size edit whose mtime is restored (or falls in the same timestamp step).

use super::Stamp;
use crate::fs::Metadata;

/// Size and mtime equal.
pub fn trusts(was: &Stamp, now: &Metadata) -> bool {
    was.len == now.len && was.mtime_ns == now.mtime_ns
}
