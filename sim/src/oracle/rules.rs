//! The oracle's own model of every walker validation policy (issue 14): which `stat` data each
//! tool compares, and when it refuses to trust an entry however well it matches. Written from
//! the tools' documentation, apart from the engine's `walker::policy`, so that a wrong rule in
//! the engine is a `walker_rule` violation, not a rule both sides share.

use engine::walker::Policy;

use crate::journal::Stat;

/// One second, Mercurial's dirstate resolution.
const SECOND_NS: u64 = 1_000_000_000;

/// What the walker recorded when it hashed a file, as the journal saw it.
#[derive(Clone, Copy, Debug)]
pub struct Recorded {
    /// `stat` just before the hash.
    pub stat: Stat,
    /// The clock when the hash was recorded (an index or dirstate write).
    pub recorded_at: u64,
    /// The clock when that build started (a dep-info rewound to it; a compile's start).
    pub build_start: u64,
}

/// git's stat match: size, mtime, ctime (when trusted), inode and mode, timestamps compared at
/// `resolution` (real git: whole seconds; ours: the file system's own).
fn git_stat(trust_ctime: bool, w: &Stat, n: &Stat, resolution: u64) -> bool {
    let r = resolution.max(1);
    w.len == n.len
        && w.mtime_ns / r == n.mtime_ns / r
        && (!trust_ctime || w.ctime_ns / r == n.ctime_ns / r)
        && w.ino == n.ino
        && w.mode == n.mode
}

/// True when `policy` lets a hash recorded as `was` stand for a file whose `stat` is `now`.
pub fn allows(policy: Policy, was: &Recorded, now: &Stat, granularity_ns: u64) -> bool {
    let g = granularity_ns.max(1);
    let (w, n) = (&was.stat, now);
    let same = |a: u64, b: u64| a == b;
    // An mtime not older than the moment of recording (at the granularity): racily clean.
    let racy = was.recorded_at < w.mtime_ns.saturating_add(g);
    let floor = |t: u64, step: u64| t / step * step;
    match policy {
        Policy::Heph => same(w.len, n.len) && same(w.mtime_ns, n.mtime_ns),
        Policy::Racy => same(w.len, n.len) && same(w.mtime_ns, n.mtime_ns) && !racy,
        Policy::Git | Policy::GitNoCtime => {
            // git's racy test compares whole seconds (built without USE_NSEC).
            let step = g.max(SECOND_NS);
            let racy_in_seconds = floor(w.mtime_ns, step) >= floor(was.recorded_at, step);
            git_stat(policy == Policy::Git, w, n, SECOND_NS) && !racy_in_seconds
        }
        Policy::Mercurial => {
            let step = g.max(SECOND_NS);
            let unsure = floor(w.mtime_ns, step) >= floor(was.recorded_at, step);
            // dirstate-v1 keeps whole seconds and compares only the owner's exec bit.
            let same_exec = (w.mode ^ n.mode) & 0o100 == 0;
            let same_second = w.mtime_ns / SECOND_NS == n.mtime_ns / SECOND_NS;
            same(w.len, n.len) && same_exec && same_second && !unsure
        }
        Policy::Bazel | Policy::BazelGuard | Policy::BazelRedigest => {
            same(w.len, n.len)
                && same(w.ctime_ns, n.ctime_ns)
                && same(w.mtime_ns, n.mtime_ns)
                && same(w.ino, n.ino)
        }
        Policy::Ccache | Policy::CcacheUnguarded | Policy::CcacheGuarded => {
            // The compile's start at full resolution, the file's stamps truncated.
            let too_new = w.mtime_ns >= was.build_start || w.ctime_ns >= was.build_start;
            let stat = same(w.len, n.len) && same(w.mtime_ns, n.mtime_ns);
            stat && same(w.ctime_ns, n.ctime_ns) && !too_new
        }
        Policy::Cargo => n.mtime_ns <= floor(was.build_start, g),
        Policy::AlwaysHash => false,
        Policy::Ours => {
            // git's stat match and racy test at the file system's step, and an entry whose
            // ctime is not older than its recording is racy too.
            let ctime_racy = was.recorded_at < w.ctime_ns.saturating_add(g);
            git_stat(true, w, n, 1) && !racy && !ctime_racy
        }
    }
}

/// True when `policy`'s tool keeps directory listings: heph's cached walker (SPEC §2), and
/// ours, which answers its hole.
pub fn keeps_listings(policy: Policy) -> bool {
    matches!(policy, Policy::Heph | Policy::Ours)
}

/// True when `policy` lets a directory listing read under the directory `stat` recorded in
/// `was` stand for the directory whose `stat` is `now`. heph (SPEC §2): while the directory's
/// mtime is unchanged. Ours: mtime, ctime and inode unchanged, and neither timestamp within a
/// step of the reading (git's racy test, on a directory).
pub fn allows_listing(policy: Policy, was: &Recorded, now: &Stat, granularity_ns: u64) -> bool {
    let g = granularity_ns.max(1);
    let (w, n) = (&was.stat, now);
    let within_step = |t: u64| was.recorded_at < t.saturating_add(g);
    match policy {
        Policy::Heph => w.mtime_ns == n.mtime_ns,
        Policy::Ours => {
            (w.mtime_ns, w.ctime_ns, w.ino) == (n.mtime_ns, n.ctime_ns, n.ino)
                && !within_step(w.mtime_ns)
                && !within_step(w.ctime_ns)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(len: u64, mtime_ns: u64, ctime_ns: u64, ino: u64) -> Stat {
        Stat {
            len,
            mtime_ns,
            x: false,
            ctime_ns,
            ino,
            mode: 0o644,
        }
    }

    /// Hashed at t=10 s in a build started at t=9 s; the file's mtime and ctime are 5 s.
    fn was() -> Recorded {
        Recorded {
            stat: stat(3, 5 * SECOND_NS, 5 * SECOND_NS, 7),
            recorded_at: 10 * SECOND_NS,
            build_start: 9 * SECOND_NS,
        }
    }

    /// `(policy, now, allowed)`, one line per case: each tool's known hole is a `true` on a
    /// changed file.
    #[test]
    fn each_policy_compares_what_its_tool_compares() {
        let s = SECOND_NS;
        let same = stat(3, 5 * s, 5 * s, 7);
        let restored_mtime = stat(3, 5 * s, 11 * s, 7); // same-size edit, mtime restored
        let recreated = stat(3, 5 * s, 11 * s, 8); // deleted and recreated, mtime restored
        let backdated = stat(4, 4 * s, 11 * s, 7); // edited, then `touch -r` to an older file
        use Policy::*;
        for (policy, now, allowed) in [
            (Heph, same, true),
            (Heph, restored_mtime, true),
            (Racy, restored_mtime, true),
            (Git, restored_mtime, false),
            (GitNoCtime, restored_mtime, true),
            (GitNoCtime, recreated, false),
            (Mercurial, restored_mtime, true),
            (Bazel, restored_mtime, false),
            (Ccache, restored_mtime, false),
            (Cargo, backdated, true),
            (Heph, backdated, false),
            (AlwaysHash, same, false),
            (Ours, same, true),
            (Ours, restored_mtime, false),
        ] {
            assert_eq!(
                allows(policy, &was(), &now, 1),
                allowed,
                "{policy:?} {now:?}"
            );
        }
    }

    #[test]
    fn coarse_timestamps_make_entries_racy_or_unsure() {
        let s = SECOND_NS;
        // Hashed in the same second as its mtime, on a file system with 1 s timestamps.
        let was = Recorded {
            stat: stat(3, 10 * s, 10 * s, 7),
            recorded_at: 10 * s + 5,
            build_start: 10 * s,
        };
        let now = was.stat;
        for (policy, allowed) in [
            (Policy::Heph, true),
            (Policy::Racy, false),
            (Policy::Git, false),
            (Policy::Mercurial, false),
            (Policy::Ccache, false),
            (Policy::Bazel, true),
        ] {
            assert_eq!(allows(policy, &was, &now, s), allowed, "{policy:?}");
        }
    }

    /// A directory listed at t=10 s whose mtime and ctime are 5 s (listed long after its last
    /// change) or 10 s (listed in the step of its last change, at 1 s timestamps).
    #[test]
    fn each_policy_trusts_listings_by_its_own_rule() {
        let s = SECOND_NS;
        let listed = |t: u64| Recorded {
            stat: stat(0, t, t, 7),
            recorded_at: 10 * s + 5,
            build_start: 0,
        };
        let (old, in_step) = (listed(5 * s), listed(10 * s));
        let moved = |r: &Recorded| stat(0, r.stat.mtime_ns + s, r.stat.ctime_ns + s, 7);
        let ctime_moved = |r: &Recorded| stat(0, r.stat.mtime_ns, r.stat.ctime_ns + s, 7);
        use Policy::*;
        for (policy, was, now, allowed) in [
            (Heph, &old, old.stat, true),
            (Heph, &in_step, in_step.stat, true), // the hole: an entry added in the step
            (Heph, &old, moved(&old), false),
            (Heph, &old, ctime_moved(&old), true),
            (Ours, &old, old.stat, true),
            (Ours, &in_step, in_step.stat, false),
            (Ours, &old, ctime_moved(&old), false),
            (Git, &old, old.stat, false), // keeps no listing
            (Racy, &old, old.stat, false),
        ] {
            assert_eq!(
                allows_listing(policy, was, &now, s),
                allowed,
                "{policy:?} {now:?}"
            );
            assert!(!allowed || keeps_listings(policy), "{policy:?} keeps none");
        }
    }
}
