//! The directory-listing cache judged by its rule (SPEC §2: heph reuses a directory's listing
//! while its mtime is unchanged). The oracle keeps its own memory of the listings the engine's
//! walker may remember and replays each glob's walk over the workspace the journal recorded
//! when the glob started, taking a remembered listing wherever the active rule
//! (`rules::allows_listing`) trusts it: the files the glob must have considered.
//!
//! A file left out because a trusted listing was stale is a *finding* (heph's hole: a file
//! created within one timestamp step of the listing), counted like a stale walker answer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use engine::walker::Policy;

use super::ledger::Check;
use super::rules::{allows_listing, keeps_listings, Recorded};
use super::walker::Rule;
use super::{Invariant, Verdicts};
use crate::journal::{DirState, EntryKind, Listing, Stat, MAX_WALK_DEPTH};

/// The workspace directories the engine stat'ed and read in one build, as the tap saw them:
/// a glob's walk stats each directory it reaches, then reads it unless it trusts its listing.
#[derive(Debug, Default)]
pub struct Walked {
    /// Directories stat'ed.
    pub stat: BTreeSet<PathBuf>,
    /// Directories read (or tried).
    pub read: BTreeSet<PathBuf>,
    /// Directories whose read failed: the engine remembers nothing of them.
    pub failed: BTreeSet<PathBuf>,
}

impl Walked {
    /// The directories of `seen` (the tap's log) in build `build`; none under a policy that
    /// keeps no listings (nothing to judge them against).
    pub fn of(seen: &[crate::tap::Seen], build: u8, policy: Policy) -> Walked {
        use crate::tap::Access;
        let mut walked = Walked::default();
        if !keeps_listings(policy) {
            return walked;
        }
        for s in seen.iter().filter(|s| s.build == build) {
            let set = match s.access {
                Access::StatDir => &mut walked.stat,
                Access::ListDir => &mut walked.read,
                Access::ListDirFailed => &mut walked.failed,
                Access::ReadWorkspace | Access::WriteCache => continue,
            };
            set.insert(s.path.clone());
        }
        walked
    }
}

/// What the oracle believes the engine's walker remembers of one directory.
#[derive(Clone, Debug)]
struct Memory {
    stat: Stat,
    /// The engine read the listing between these two clocks (its build's start, the glob's
    /// snapshot): the rule's racy test is decided only where both give one answer.
    recorded_lo: u64,
    recorded_at: u64,
    names: Vec<String>,
    /// `stat` and the names are what the engine itself saw (an exact walk), and every walk
    /// since was exact: the engine's memory of the directory is this one.
    exact: bool,
}

/// The oracle's model of one engine's listing cache.
#[derive(Debug, Default)]
pub struct ListingModel {
    memory: BTreeMap<PathBuf, Memory>,
    /// The files each glob's walk found, by the journal position of its listing.
    walked: BTreeMap<u64, Vec<PathBuf>>,
    /// Walks whose files were not the workspace's (a stale listing trusted), for the report.
    pub stale_listings: u64,
    /// The first build in which one did.
    pub first_stale_build: Option<u8>,
}

impl ListingModel {
    /// Forgets everything (a fresh engine process).
    pub fn clear(&mut self) {
        self.memory.clear();
    }

    /// Replays the walk of `listing` under `rule`; call in journal order. A stale listing
    /// trusted is a finding under heph's rule, and a `walker_rule` violation under ours.
    ///
    /// Where the walk and the memory are both exact (`Memory::exact`) and the engine walked
    /// (stat'ed the root and the directory), the rule is judged both ways against `walked`,
    /// the directories the engine read in this build: SPEC §2's
    /// listing is "reused while the directory's mtime is unchanged", so a trusted listing read
    /// again (a memory that lost its update) and a distrusted one served are `walker_rule`
    /// violations.
    pub fn replay(
        &mut self,
        listing: &Listing,
        rule: Rule,
        walked: &Walked,
        verdicts: &mut Verdicts,
    ) {
        let mut files = Vec::new();
        let mut walk = Walk {
            listing,
            rule,
            files: &mut files,
            decided: false,
            walked,
            misjudged: Vec::new(),
        };
        // A walk that fails stops where the engine's does: what it listed before stays.
        let _ = walk.dir(&mut self.memory, PathBuf::new(), 0);
        if walk.decided {
            verdicts.ledger.fired(Check::Listing);
        }
        for message in std::mem::take(&mut walk.misjudged) {
            verdicts.fail(Invariant::WalkerRule, message);
        }
        files.sort();
        if files != listing.files {
            self.stale_listings += 1;
            self.first_stale_build.get_or_insert(listing.build);
            let differ: Vec<String> = (listing.files.iter().filter(|f| !files.contains(f)))
                .chain(files.iter().filter(|f| !listing.files.contains(f)))
                .map(|f| f.display().to_string())
                .collect();
            let (policy, target) = (rule.policy.name(), &listing.target);
            let message = format!("{policy}: glob {target}'s walk trusted a stale directory listing: {} not as the workspace holds them", differ.join(", "));
            if rule.policy == Policy::Ours {
                verdicts.fail(Invariant::WalkerRule, format!("{message}; ours must trust none (a listing read within its directory's step is read again)"));
            } else {
                verdicts.find("stale_walker_listing", message);
            }
        }
        self.walked.insert(listing.seq, files);
    }

    /// The files the walk of `listing` found (`listing.files` when it was never replayed).
    pub fn walked<'a>(&'a self, listing: &'a Listing) -> &'a [PathBuf] {
        self.walked.get(&listing.seq).unwrap_or(&listing.files)
    }
}

/// One glob's walk, depth first in sorted order as the engine's.
struct Walk<'a> {
    listing: &'a Listing,
    rule: Rule,
    files: &'a mut Vec<PathBuf>,
    /// A remembered listing was weighed by the rule (something to judge).
    decided: bool,
    /// The directories the engine stat'ed and read in this build.
    walked: &'a Walked,
    /// Where the engine's reuse went against the rule.
    misjudged: Vec<String>,
}

impl Walk<'_> {
    /// Walks `dir`; `Err` where the engine's walk fails (a directory it must read and cannot,
    /// an entry it cannot `lstat`, a depth past the oracle's bound).
    fn dir(
        &mut self,
        memory: &mut BTreeMap<PathBuf, Memory>,
        dir: PathBuf,
        depth: usize,
    ) -> Result<(), ()> {
        let live = self.listing.dirs.get(&dir).ok_or(())?;
        let policy: Policy = self.rule.policy;
        self.decided |= memory.contains_key(&dir);
        if let Some(m) = memory.get_mut(&dir) {
            self.judge_reuse(m, &dir, live);
        }
        let names = match memory.get(&dir) {
            // A directory that can no longer be read: each remembered name's `lstat` fails.
            Some(m) if self.trusted(m, &live.stat) && live.entries.is_none() => {
                return if m.names.is_empty() { Ok(()) } else { Err(()) };
            }
            Some(m) if self.trusted(m, &live.stat) => m.names.clone(),
            _ => {
                let names: Vec<String> = live.entries.as_ref().ok_or(())?.keys().cloned().collect();
                if keeps_listings(policy) {
                    let remembered = Memory {
                        stat: live.stat,
                        recorded_lo: self.listing.start_clock,
                        recorded_at: self.listing.clock,
                        names: names.clone(),
                        // The engine remembers only what it read: not a directory its walk
                        // never reached (it failed earlier), nor one whose read failed.
                        exact: self.listing.exact
                            && self.walked.read.contains(&dir)
                            && !self.walked.failed.contains(&dir),
                    };
                    memory.insert(dir.clone(), remembered);
                }
                names
            }
        };
        for name in names {
            // What the name is now: a remembered name may be gone, or another kind of entry.
            let kind = live.entries.as_ref().and_then(|e| e.get(&name).copied());
            let path = dir.join(&name);
            match kind {
                Some(EntryKind::File) => self.files.push(path),
                Some(EntryKind::Dir) if depth < MAX_WALK_DEPTH => {
                    self.dir(memory, path, depth + 1)?
                }
                Some(EntryKind::Unstatable) => return Err(()),
                Some(EntryKind::Dir | EntryKind::Other) | None => {}
            }
        }
        Ok(())
    }

    fn trusted(&self, memory: &Memory, now: &Stat) -> bool {
        self.trusted_at(memory, memory.recorded_at, now)
    }

    fn trusted_at(&self, memory: &Memory, recorded_at: u64, now: &Stat) -> bool {
        let was = Recorded {
            stat: memory.stat,
            recorded_at,
            build_start: 0,
        };
        allows_listing(self.rule.policy, &was, now, self.rule.granularity_ns)
    }

    /// The engine's reuse of `dir`'s remembered listing `m` against the rule, where both are
    /// exact and the racy test gives one answer at either end of the moment it was read. An
    /// inexact walk leaves the memory inexact: the engine may have read it again unseen.
    fn judge_reuse(&mut self, m: &mut Memory, dir: &Path, live: &DirState) {
        if !self.listing.exact {
            m.exact = false;
            return;
        }
        let trusted = self.trusted(m, &live.stat);
        let settled = trusted == self.trusted_at(m, m.recorded_lo, &live.stat);
        let reached = [Path::new(""), dir]
            .iter()
            .all(|d| self.walked.stat.contains(*d));
        if !m.exact || !settled || live.entries.is_none() || !reached {
            return;
        }
        let (policy, target) = (self.rule.policy.name(), &self.listing.target);
        let shown = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let message = match (trusted, self.walked.read.contains(dir)) {
            (true, true) => format!("{policy}: glob {target} read {} again though its remembered listing holds (SPEC §2: a listing is reused while the directory is unchanged; the walker's memory of it was lost or never updated)", shown.display()),
            (false, false) => format!("{policy}: glob {target} reused its remembered listing of {} though the directory changed since (SPEC §2)", shown.display()),
            _ => return,
        };
        self.misjudged.push(message);
    }
}
