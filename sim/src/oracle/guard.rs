//! The oracle's own model of the pipelines that read inputs unverified and guard the cache
//! write instead (Bazel's `bazel_guard` and `bazel_redigest`, ccache's `ccache_unguarded` and
//! `ccache_guarded`), written from the tools' documentation and issues apart from the engine's
//! `guard` module. Such a tool reads an action's inputs as they are, so a consumer may receive
//! bytes other than those its key was computed from when the file changed in between. After
//! the action, Bazel's `--guard_against_concurrent_changes` checks each main-repository source
//! and keeps the outputs out of the cache if one changed: by its `stat` data (8.3's default,
//! "lite") or by re-digesting it (8.4's variant); ccache 4.9.1 refuses a source that is "too
//! new" (mtime or ctime at or after the compile's start), ccache up to 4.9.0 checks nothing.
//! Outputs a guard lets into the cache although they were built from other bytes than their key
//! names are a *poisoned* entry: the tool's hole, counted as stale content delivered, never a
//! violation; a guard that decides otherwise than this model is a violation (`judge_guard`,
//! the verdict on each target the guard let into the cache or kept out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use engine::walker::Policy;
use engine::TargetResult;

use super::hashing::{oracle_hashout, Fingerprint};
use super::judge::{BuildInput, Oracle};
use super::model::{Artifact, Entry, Expect};
use super::walker::Resolved;
use super::Invariant;
use crate::journal::{GuardSeen, Journal, Snapshot};

/// Sources under this workspace directory belong to external repositories: lite never checks
/// them.
const EXTERNAL: &str = "external";

/// What a pipeline's guard compares after an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardModel {
    /// Bazel 8.3 lite: the `FileContentsProxy` (size, ctime, mtime, inode) against the digest's.
    Stat,
    /// Bazel 8.4: the file's digest now against the one in the action's key.
    Redigest,
    /// ccache 4.9.1: the source's mtime and ctime now against the compile's start.
    TooNew,
    /// ccache up to 4.9.0: nothing.
    Never,
}

/// The guard a policy runs, when it models such a pipeline (which then reads unverified).
pub fn guard(policy: Policy) -> Option<GuardModel> {
    match policy {
        Policy::BazelGuard => Some(GuardModel::Stat),
        Policy::BazelRedigest => Some(GuardModel::Redigest),
        Policy::CcacheGuarded => Some(GuardModel::TooNew),
        Policy::CcacheUnguarded => Some(GuardModel::Never),
        _ => None,
    }
}

/// `expected` as an unverified reader may deliver it: a live source that did not hold its
/// hashed bytes at some moment from its hash act to the consume admits the bytes the consumer
/// received (so the outputs are predicted from them). Also true when some entry was read so.
/// A source that held its hashed bytes throughout must still arrive exactly.
pub fn as_read(journal: &Journal, expected: &[Entry], snapshot: &Snapshot) -> (Vec<Entry>, bool) {
    let mut changed = false;
    let entries = expected
        .iter()
        .map(|e| {
            let (Some(origin), Some((bytes, x))) = (&e.origin, snapshot.entries.get(&e.path))
            else {
                return e.clone();
            };
            let unverified = e.live && !e.admits(bytes, *x) && *x == e.x;
            if !unverified || !not_as_hashed(journal, e, &origin.path, origin.act_seq, snapshot) {
                return e.clone();
            }
            changed = true;
            Entry {
                expect: Expect::Bytes(bytes.clone()),
                ..e.clone()
            }
        })
        .collect();
    (entries, changed)
}

/// True when `path` held something other than `e`'s bytes when it was hashed (act `act_seq`)
/// or at any change from then until the consume.
fn not_as_hashed(journal: &Journal, e: &Entry, path: &Path, act_seq: u64, s: &Snapshot) -> bool {
    let expected = match &e.expect {
        Expect::Bytes(bytes) => Fingerprint::of(bytes, e.x),
        Expect::HashesTo(_) => return true, // torn when hashed: nothing is known of it
    };
    let at_act = journal.acts.iter().find(|a| a.seq == act_seq);
    let differs_at_act = at_act
        .and_then(|a| a.before.as_ref())
        .is_none_or(|live| !Fingerprint::of(&live.bytes, e.x).same_bytes(&expected));
    differs_at_act
        || journal
            .changes
            .iter()
            .filter(|c| c.seq > act_seq && c.seq < s.seq)
            .filter_map(|c| c.now.get(path))
            .any(|state| {
                state
                    .as_ref()
                    .map_or(true, |(f, _)| !f.same_bytes(&expected))
            })
}

/// The first main-repository source among `entries` that `model` must find changed at the
/// guard (`seen`, the files as the simulator read them then); `None` when the outputs may be
/// cached. `resolved` gives the hashout each source's key was computed from.
pub fn must_refuse(
    model: GuardModel,
    journal: &Journal,
    seen: &GuardSeen,
    entries: &[Entry],
    resolved: &BTreeMap<u64, Resolved>,
) -> Option<PathBuf> {
    entries
        .iter()
        .filter(|e| e.live)
        .filter_map(|e| Some((e, e.origin.as_ref()?)))
        // Bazel's lite mode never checks external repositories.
        .filter(|(_, origin)| {
            let lite = matches!(model, GuardModel::Stat | GuardModel::Redigest);
            !(lite && origin.path.starts_with(EXTERNAL))
        })
        .find(|(entry, origin)| {
            let keyed = resolved.get(&origin.act_seq).map(|r| r.hashout.as_str());
            changed_at_guard(model, journal, seen, &origin.path, entry.x, keyed)
        })
        .map(|(_, origin)| origin.path.clone())
}

/// True when the guard must find `path` changed: its proxy moved since the digest that hashed
/// it to `keyed` (`Stat`), its bytes with exec bit `x` no longer hash to `keyed` (`Redigest`),
/// or its mtime or ctime is not older than that digest's build start (`TooNew`); a file that is
/// not there, or last digested to other bytes, has changed (`Never` checks nothing).
fn changed_at_guard(
    model: GuardModel,
    journal: &Journal,
    seen: &GuardSeen,
    path: &Path,
    x: bool,
    keyed: Option<&str>,
) -> bool {
    let (stat, live) = seen.files.get(path).cloned().unwrap_or_default();
    // The digest the key used: the file's last digest before the guard, if it hashed to the
    // key's hashout (a later digest of other bytes is a change).
    let digest = || {
        journal
            .acts
            .iter()
            .rfind(|a| a.path == path && a.fresh.is_some() && a.seq < seen.seq)
            .filter(|a| a.fresh.as_deref() == keyed)
    };
    match model {
        GuardModel::Never => false,
        GuardModel::TooNew => match (digest(), stat) {
            (Some(act), Some(now)) => too_new(&now, act.build_start),
            _ => true,
        },
        GuardModel::Stat => {
            let digest = digest().and_then(|a| a.stat);
            let proxy = |s: crate::journal::Stat| (s.len, s.ctime_ns, s.mtime_ns, s.ino);
            match (digest, stat) {
                (Some(was), Some(now)) => proxy(was) != proxy(now),
                _ => true,
            }
        }
        GuardModel::Redigest => {
            live.is_none_or(|l| Some(oracle_hashout(&l.bytes, x).as_str()) != keyed)
        }
    }
}

/// ccache's margin: an edit less than 100 ms after the compile's start is not too new
/// (measured against ccache 4.14.2 by `sim tools`).
pub const TOO_NEW_MARGIN_NS: u64 = 100_000_000;

/// ccache 4.9.1's test of a source after the compile: its mtime or ctime `now` is not older
/// than the compile's start plus [`TOO_NEW_MARGIN_NS`].
pub fn too_new(now: &crate::journal::Stat, build_start: u64) -> bool {
    let deadline = build_start.saturating_add(TOO_NEW_MARGIN_NS);
    now.mtime_ns >= deadline || now.ctime_ns >= deadline
}

impl Oracle {
    /// A pipeline's guard: the engine must keep a target's outputs out of the local cache exactly
    /// when the oracle's model of the guard finds a main-repository source changed. Returns
    /// whether the engine kept them out (wrote them to the tmp cache).
    pub(super) fn judge_guard(
        &mut self,
        b: &BuildInput,
        name: &str,
        r: &TargetResult,
        key: &str,
        inputs: &[Artifact],
        model: GuardModel,
    ) -> bool {
        let refused = r.cache_key.as_deref() != Some(key);
        self.verdicts.ledger.fired(super::ledger::Check::Guard);
        let seen = b
            .journal
            .guards
            .iter()
            .rfind(|g| g.build == b.build && g.target == name);
        let Some(seen) = seen else {
            if !refused {
                let message = format!(
                    "{name}'s outputs were cached without {} checking its sources",
                    guard_of(b)
                );
                self.verdicts.fail(Invariant::NoPoisoning, message);
            }
            return refused;
        };
        let entries: Vec<Entry> = inputs
            .iter()
            .flat_map(|a| a.entries.iter().cloned())
            .collect();
        let must = must_refuse(model, b.journal, seen, &entries, &self.resolved);
        match (must, refused) {
            (Some(path), false) => {
                let message = format!("{} let {name}'s outputs into the cache though {} changed since it was digested", guard_of(b), path.display());
                self.verdicts.fail(Invariant::NoPoisoning, message);
            }
            // An I/O fault on a source in this build may have hit the guard's own read.
            (None, true) if !faulted(b, &entries) => {
                let message = format!(
                    "{} kept {name}'s outputs out of the cache though none of its sources changed",
                    guard_of(b)
                );
                self.verdicts.fail(Invariant::NoFalseAlarms, message);
            }
            _ => {}
        }
        refused
    }
}

/// The guard of the policy `b` runs under, for messages.
pub(super) fn guard_of(b: &BuildInput) -> String {
    format!("the {} guard", b.policy.name())
}

/// True when an injected I/O fault hit one of `entries`' workspace sources in this build.
fn faulted(b: &BuildInput, entries: &[Entry]) -> bool {
    let sources: BTreeSet<&Path> = entries
        .iter()
        .filter_map(|e| e.origin.as_ref().map(|o| o.path.as_path()))
        .collect();
    b.faults
        .iter()
        .any(|f| f.build == b.build && sources.contains(f.path.as_path()))
}
