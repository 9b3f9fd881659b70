//! The directory-listing cache judged by its rule (SPEC §2: heph reuses a directory's listing
//! while its mtime is unchanged). The oracle keeps its own memory of the listings the engine's
//! walker may remember and replays each glob's walk over the workspace the journal recorded
//! when the glob started, taking a remembered listing wherever the active rule
//! (`rules::allows_listing`) trusts it: the files the glob must have considered.
//!
//! A file left out because a trusted listing was stale is a *finding* (heph's hole: a file
//! created within one timestamp step of the listing), counted like a stale walker answer.

use std::collections::BTreeMap;
use std::path::PathBuf;

use engine::walker::Policy;

use super::ledger::Check;
use super::rules::{allows_listing, keeps_listings, Recorded};
use super::walker::Rule;
use super::{Invariant, Verdicts};
use crate::journal::{EntryKind, Listing, Stat, MAX_WALK_DEPTH};

/// What the oracle believes the engine's walker remembers of one directory.
#[derive(Clone, Debug)]
struct Memory {
    stat: Stat,
    recorded_at: u64,
    names: Vec<String>,
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
    pub fn replay(&mut self, listing: &Listing, rule: Rule, verdicts: &mut Verdicts) {
        let mut files = Vec::new();
        let mut walk = Walk {
            listing,
            rule,
            files: &mut files,
            decided: false,
        };
        // A walk that fails stops where the engine's does: what it listed before stays.
        let _ = walk.dir(&mut self.memory, PathBuf::new(), 0);
        if walk.decided {
            verdicts.ledger.fired(Check::Listing);
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
                        recorded_at: self.listing.clock,
                        names: names.clone(),
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
        let was = Recorded {
            stat: memory.stat,
            recorded_at: memory.recorded_at,
            build_start: 0,
        };
        allows_listing(self.rule.policy, &was, now, self.rule.granularity_ns)
    }
}
