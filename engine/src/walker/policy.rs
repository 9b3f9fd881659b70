//! Walker validation policies: when a remembered hash may stand for a file without reading it.
//! Each build tool has its own rule, with its own hole; the engine runs any of them so that the
//! simulator can replay the same schedules under each (issue 14, `POLICIES.md`). heph's rule is
//! the default. One module per tool under `policy/`, each a pure function of what was recorded
//! when the file was hashed ([`Stamp`]) and what `stat` says now.
//!
//! Architecture Invariant: a policy only ever *refuses* more answers than another would;
//! it never changes what is hashed or how, so a policy can make a build slower or staler, never
//! read different bytes.

use serde::{Deserialize, Serialize};

use crate::fs::Metadata;

mod always;
mod bazel;
mod cargo;
mod ccache;
mod git;
mod heph;
mod hg;
mod ours;

/// What the walker recorded about a file when it hashed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Size.
    pub len: u64,
    /// Modification time.
    pub mtime_ns: u64,
    /// Status change time.
    pub ctime_ns: u64,
    /// Inode number.
    pub ino: u64,
    /// Permission bits.
    pub mode: u32,
    /// When the hash was recorded (git's index write, Mercurial's dirstate write).
    pub recorded_at_ns: u64,
    /// When the build that hashed it started (Cargo's rewound dep-info, ccache's compile start).
    pub build_start_ns: u64,
}

/// A rule deciding whether a remembered hash stands for a file.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// heph: size and mtime equal the remembered ones.
    #[default]
    Heph,
    /// heph's rule, and never an entry hashed within the granularity of its mtime (git's racy
    /// test on heph's stat data): what we propose for heph.
    Racy,
    /// git: size, mtime, ctime, inode and mode equal, and not racily clean (an mtime not older
    /// than the index write is compared by content).
    Git,
    /// git with `core.trustctime=false`: the same without ctime.
    GitNoCtime,
    /// Mercurial: size, mode and mtime equal, and the mtime not in the same second as the
    /// dirstate write (such an entry is "unsure" and compared).
    Mercurial,
    /// Bazel's `FileContentsProxy`: size, ctime, mtime and inode equal.
    Bazel,
    /// Bazel's pipeline as 8.3 runs it by default: the `FileContentsProxy` rule, inputs read as
    /// they are (no verification at consume time), and `--guard_against_concurrent_changes=lite`:
    /// after an action, a main-repository source whose (ctime, mtime, inode) moved since it
    /// was digested keeps the outputs out of the cache (`crate::guard`).
    BazelGuard,
    /// The same pipeline with the 8.4 variant of the guard, which re-digests each source
    /// instead of comparing its stat data: an A→B→A edit during the action passes it.
    BazelRedigest,
    /// ccache's `file_stat_matches`: size, mtime and ctime equal; and a file whose mtime or
    /// ctime was at or after the compile's start was never cached.
    Ccache,
    /// ccache's pipeline up to 4.9.0: the `Ccache` rule, the compile reading its source as it
    /// is, and the result cached whatever happened to the source meanwhile (only include
    /// files were checked for being "too new"; ccache issue #1378).
    CcacheUnguarded,
    /// ccache's pipeline from 4.9.1: the same, and a source whose mtime or ctime is at or
    /// after the compile's start when the compile ends keeps the result out of the cache.
    CcacheGuarded,
    /// Cargo: fresh while the mtime is not newer than the dep-info, which is rewound to the
    /// start of the build that recorded it.
    Cargo,
    /// Always hash: nothing is trusted.
    AlwaysHash,
    /// Ours: git's rule with its racy test on ctime too (the policy matrix found git fooled
    /// by a same-step edit whose mtime is set back).
    Ours,
}

impl Policy {
    /// Every policy, in table order.
    pub const ALL: [Policy; 14] = [
        Policy::Heph,
        Policy::Racy,
        Policy::Git,
        Policy::GitNoCtime,
        Policy::Mercurial,
        Policy::Bazel,
        Policy::BazelGuard,
        Policy::BazelRedigest,
        Policy::Ccache,
        Policy::CcacheUnguarded,
        Policy::CcacheGuarded,
        Policy::Cargo,
        Policy::AlwaysHash,
        Policy::Ours,
    ];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Heph => "heph",
            Policy::Racy => "racy",
            Policy::Git => "git",
            Policy::GitNoCtime => "git_no_ctime",
            Policy::Mercurial => "mercurial",
            Policy::Bazel => "bazel",
            Policy::BazelGuard => "bazel_guard",
            Policy::BazelRedigest => "bazel_redigest",
            Policy::Ccache => "ccache",
            Policy::CcacheUnguarded => "ccache_unguarded",
            Policy::CcacheGuarded => "ccache_guarded",
            Policy::Cargo => "cargo",
            Policy::AlwaysHash => "always_hash",
            Policy::Ours => "ours",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(name: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The check Bazel's or ccache's pipeline makes after an action, for the policies that
    /// model one: they read inputs unverified and rely on this guard to keep changed inputs'
    /// outputs out of the cache. `None`: the engine verifies at consume time (heph's pipeline).
    pub fn guard(self) -> Option<crate::guard::Guard> {
        match self {
            Policy::BazelGuard => Some(crate::guard::Guard::Stat),
            Policy::BazelRedigest => Some(crate::guard::Guard::Redigest),
            Policy::CcacheUnguarded => Some(crate::guard::Guard::Never),
            Policy::CcacheGuarded => Some(crate::guard::Guard::TooNew),
            _ => None,
        }
    }

    /// True when the hash recorded with `was` may stand for a file whose `stat` is `now`, on a
    /// file system with timestamps of `granularity_ns`.
    pub fn trusts(self, was: &Stamp, now: &Metadata, granularity_ns: u64) -> bool {
        let granularity_ns = granularity_ns.max(1);
        match self {
            Policy::Heph => heph::trusts(was, now),
            Policy::Racy => heph::trusts(was, now) && !racily_clean(was, granularity_ns),
            Policy::Git => git::trusts(was, now, granularity_ns, true),
            Policy::GitNoCtime => git::trusts(was, now, granularity_ns, false),
            Policy::Mercurial => hg::trusts(was, now, granularity_ns),
            Policy::Bazel | Policy::BazelGuard | Policy::BazelRedigest => bazel::trusts(was, now),
            Policy::Ccache | Policy::CcacheUnguarded | Policy::CcacheGuarded => {
                ccache::trusts(was, now, granularity_ns)
            }
            Policy::Cargo => cargo::trusts(was, now, granularity_ns),
            Policy::AlwaysHash => always::trusts(),
            Policy::Ours => ours::trusts(was, now, granularity_ns),
        }
    }
}

impl Policy {
    /// True when the policy keeps directory listings (heph's cached walker, and ours).
    pub fn caches_listings(self) -> bool {
        matches!(self, Policy::Heph | Policy::Ours)
    }

    /// True when a listing read under the directory `stat` recorded as `was` may stand for the
    /// directory whose `stat` is `now`: heph's while the mtime is unchanged; ours while mtime,
    /// ctime and inode are unchanged and neither timestamp was within the step of the reading.
    pub fn trusts_listing(self, was: &Stamp, now: &Metadata, granularity_ns: u64) -> bool {
        match self {
            Policy::Heph if crate::regressed!(ListingIgnoresMtime) => was.ino == now.ino,
            Policy::Heph if crate::regressed!(ListingTrustsOlderMtime) => {
                now.mtime_ns <= was.mtime_ns
            }
            Policy::Heph => was.mtime_ns == now.mtime_ns,
            Policy::Ours => {
                let ctime_held =
                    was.ctime_ns == now.ctime_ns || crate::regressed!(OursListingIgnoresCtime);
                let same = ctime_held && (was.mtime_ns, was.ino) == (now.mtime_ns, now.ino);
                same && (crate::regressed!(OursListingSkipsRacyTest)
                    || !racily_clean(was, granularity_ns)
                        && !recorded_within_step(was, was.ctime_ns, granularity_ns))
            }
            _ => false,
        }
    }
}

/// git's racy test: the file's mtime is not older than the moment its hash was recorded, at
/// the file system's granularity, so a later change within that step would keep every stamp.
pub fn racily_clean(was: &Stamp, granularity_ns: u64) -> bool {
    recorded_within_step(was, was.mtime_ns, granularity_ns)
}

/// True when `was` was recorded before the step of timestamp `t` had passed.
fn recorded_within_step(was: &Stamp, t: u64, granularity_ns: u64) -> bool {
    was.recorded_at_ns < t.saturating_add(granularity_ns.max(1))
}

/// `t` rounded down to the step `granularity_ns`.
fn floor(t: u64, granularity_ns: u64) -> u64 {
    t - t % granularity_ns.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::FileKind;

    /// A file hashed at 10 s with mtime 5 s, in a build started at 9 s.
    fn was() -> Stamp {
        Stamp {
            len: 3,
            mtime_ns: 5_000_000_000,
            ctime_ns: 5_000_000_000,
            ino: 7,
            mode: 0o644,
            recorded_at_ns: 10_000_000_000,
            build_start_ns: 9_000_000_000,
        }
    }

    fn now(change: impl FnOnce(&mut Metadata)) -> Metadata {
        let w = was();
        let mut m = Metadata {
            kind: FileKind::File,
            len: w.len,
            mtime_ns: w.mtime_ns,
            ctime_ns: w.ctime_ns,
            mode: w.mode,
            ino: w.ino,
        };
        change(&mut m);
        m
    }

    /// `(policy, what changed, trusted)`: one line per case.
    fn check(cases: &[(Policy, Metadata, bool)]) {
        for (policy, now, trusted) in cases {
            assert_eq!(
                policy.trusts(&was(), now, 1),
                *trusted,
                "{policy:?} {now:?}"
            );
        }
    }

    #[test]
    fn each_rule_reads_its_own_stamps() {
        let same = now(|_| {});
        let ctime = now(|m| m.ctime_ns += 1);
        let ctime_next_second = now(|m| m.ctime_ns += 1_000_000_000);
        let ino = now(|m| m.ino += 1);
        let mode = now(|m| m.mode = 0o755);
        let older = now(|m| m.mtime_ns -= 1);
        let newer = now(|m| m.mtime_ns = 9_500_000_000);
        let len = now(|m| m.len += 1);
        use Policy::*;
        check(&[
            (Heph, same, true),
            (Heph, ctime, true),
            (Heph, ino, true),
            (Heph, len, false),
            (Racy, same, true),
            (Racy, older, false),
            (Git, same, true),
            // Real git compares timestamps in whole seconds (built without USE_NSEC).
            (Git, ctime, true),
            (Git, ctime_next_second, false),
            (Git, ino, false),
            (Git, mode, false),
            (GitNoCtime, ctime, true),
            (GitNoCtime, ino, false),
            (Mercurial, same, true),
            (Mercurial, ctime, true),
            (Mercurial, mode, false),
            (Bazel, same, true),
            (Bazel, ctime, false),
            (Bazel, ino, false),
            (Bazel, mode, true),
            (Ccache, same, true),
            (Ccache, ctime, false),
            (Ccache, ino, true),
            (Cargo, same, true),
            (Cargo, len, true),
            (Cargo, older, true),
            (Cargo, newer, false),
            (AlwaysHash, same, false),
            (Ours, same, true),
            (Ours, ctime, false),
            (Ours, ino, false),
        ]);
    }

    #[test]
    fn names_round_trip() {
        for policy in Policy::ALL {
            assert_eq!(Policy::parse(policy.name()), Some(policy));
            let json = serde_json::to_string(&policy).unwrap();
            assert_eq!(json, format!("\"{}\"", policy.name()));
        }
        assert_eq!(Policy::parse("svn"), None);
    }
}
