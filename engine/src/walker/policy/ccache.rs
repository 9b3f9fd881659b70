//! ccache: `file_stat_matches` trusts size, mtime and ctime; a file whose mtime or ctime was at
//! or after the compile's start is never cached (it is "too new"). The start is read from the
//! clock at full resolution while the file system truncates timestamps, so on a coarse file
//! system a file written in the same step just before the compile is not too new. Its hole: a
//! same-size rewrite within that timestamp step.

use super::Stamp;
use crate::fs::Metadata;

/// Stat match, and the file was not too new when it was recorded.
pub fn trusts(was: &Stamp, now: &Metadata, _granularity_ns: u64) -> bool {
    let start = if crate::regressed!(CcacheTooNewFromRecording) {
        was.recorded_at_ns
    } else {
        was.build_start_ns
    };
    let too_new = was.mtime_ns >= start || was.ctime_ns >= start;
    was.len == now.len && was.mtime_ns == now.mtime_ns && was.ctime_ns == now.ctime_ns && !too_new
}
