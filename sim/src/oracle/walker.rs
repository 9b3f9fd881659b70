//! The walker cache judged by its rule. The oracle keeps its own memory of what the engine's
//! walker may remember (what each fresh hash read, with the size and mtime it saw), and decides
//! for every hash act which answers the active rule allows:
//!
//! - heph's rule: a remembered answer only when size and mtime equal what was recorded;
//! - the racy rule (git's): additionally never an entry whose mtime lies within the file
//!   system's granularity of the moment it was recorded.
//!
//! A stale answer the rule allows is a *finding* (heph's documented behaviour); any other
//! answer that is not a fresh, correct hash of what the file held is a *violation*.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::hashing::{oracle_hashout, Fingerprint};
use super::model::{Entry, Expect, Origin};
use super::{Invariant, Verdicts};
use crate::journal::{HashAct, Live, Stat};

/// What the oracle believes the engine's walker remembers of one path.
#[derive(Clone, Debug)]
struct Memory {
    len: u64,
    mtime_ns: u64,
    recorded_at: u64,
    hashout: String,
    x: bool,
    /// The bytes hashed; `None` when a mutation tore the hash.
    bytes: Option<Arc<Vec<u8>>>,
}

impl Memory {
    /// True when the rule lets the walker answer from this memory for a file whose `stat`
    /// says `now`.
    fn trusted(&self, now: &Stat, rule: Rule) -> bool {
        self.len == now.len && self.mtime_ns == now.mtime_ns && !self.racy(rule)
    }

    /// git's racy test: recorded within the granularity of the file's mtime.
    fn racy(&self, rule: Rule) -> bool {
        rule.racy && self.recorded_at < self.mtime_ns.saturating_add(rule.granularity_ns.max(1))
    }

    /// True when what it remembers is not the bytes the file holds now (`None`: unreadable,
    /// and then no consumer can succeed with any bytes).
    fn stale_for(&self, now: Option<&Live>) -> bool {
        let Some(now) = now else { return false };
        self.bytes
            .as_ref()
            .is_none_or(|b| !Fingerprint::of(b, self.x).same_bytes(&now.fingerprint()))
    }

    /// The answer it gives for `act`.
    fn answer(&self, act: &HashAct, stale: bool) -> Resolved {
        let expect = match &self.bytes {
            Some(bytes) => Expect::Bytes(bytes.clone()),
            None => Expect::HashesTo(self.hashout.clone()),
        };
        let origin = Origin {
            path: act.path.clone(),
            act_seq: act.seq,
            stale,
        };
        Resolved {
            hashout: self.hashout.clone(),
            entry: entry(act, expect, self.x, Some(origin)),
        }
    }
}

/// A hash act resolved: the hashout that must go into keys, and the entry it stands for.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The hashout the model carries forward.
    pub hashout: String,
    /// What a consumer of it must receive.
    pub entry: Entry,
}

/// The oracle's model of one engine's walker cache.
#[derive(Debug, Default)]
pub struct WalkerModel {
    memory: BTreeMap<PathBuf, Memory>,
    /// Answers given without reading the file (cached walker answers), for the report.
    pub cached_answers: u64,
}

/// What the active rule is.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// git's racy rule on top of heph's.
    pub racy: bool,
    /// The file system's mtime granularity.
    pub granularity_ns: u64,
}

impl WalkerModel {
    /// Forgets everything (a fresh engine process).
    pub fn clear(&mut self) {
        self.memory.clear();
    }

    /// Resolves `act`, whose target answered `answer` (its artifact's hashout; `None` when the
    /// target produced no artifact for it), under `rule`. `None` when there is no answer to
    /// carry forward (the file could not be read, or the engine failed).
    pub fn resolve(
        &mut self,
        act: &HashAct,
        answer: Option<&str>,
        rule: Rule,
        verdicts: &mut Verdicts,
    ) -> Option<Resolved> {
        let Some(fresh) = &act.fresh else {
            let Some(answer) = answer else {
                return self.unanswered(act, rule);
            };
            self.cached_answers += 1;
            return self.judge_cached(act, answer, rule, verdicts);
        };
        let path = act.path.display();
        let origin = |stale| Origin {
            path: act.path.clone(),
            act_seq: act.seq,
            stale,
        };
        let (Some(stat), Some(before)) = (act.stat, act.before.as_ref().filter(|_| !act.torn))
        else {
            // Read while it changed (or became readable only then): the bytes are unknown.
            if let Some(stat) = act.stat {
                self.remember(act, stat, fresh, None);
            }
            let x = act.stat.is_some_and(|s| s.x);
            let entry = entry(act, Expect::HashesTo(fresh.clone()), x, Some(origin(true)));
            return Some(Resolved {
                hashout: fresh.clone(),
                entry,
            });
        };
        self.remember(act, stat, fresh, Some(before.bytes.clone()));
        if let Some(answer) = answer.filter(|a| a != fresh) {
            let message = format!("{}'s artifact for {path} carries {answer}, but the file was just hashed to {fresh}", act.target);
            verdicts.fail(Invariant::HashParity, message);
        }
        let expected = oracle_hashout(&before.bytes, before.x);
        if *fresh != expected {
            let message = format!(
                "{path}: engine hashout {fresh}, file_hashout of its {} bytes (x={}) {expected}",
                before.bytes.len(),
                before.x
            );
            verdicts.fail(Invariant::HashParity, message);
        }
        let entry = entry(
            act,
            Expect::Bytes(before.bytes.clone()),
            before.x,
            Some(origin(false)),
        );
        Some(Resolved {
            hashout: expected,
            entry,
        })
    }

    /// What the engine's walker remembers after it hashed `act` freshly.
    fn remember(&mut self, act: &HashAct, stat: Stat, hashout: &str, bytes: Option<Arc<Vec<u8>>>) {
        let memory = Memory {
            len: stat.len,
            mtime_ns: stat.mtime_ns,
            recorded_at: act.recorded_at,
            hashout: hashout.to_string(),
            x: stat.x,
            bytes,
        };
        self.memory.insert(act.path.clone(), memory);
    }

    /// An act with no fresh hash and no answer on record (its target failed before it made an
    /// artifact): what the walker would have answered, if its rule allowed an answer, so that a
    /// failure caused by a stale answer is recognised as justified.
    fn unanswered(&self, act: &HashAct, rule: Rule) -> Option<Resolved> {
        let stat = act.stat?;
        let memory = self.memory.get(&act.path)?;
        let stale = memory.stale_for(act.before.as_ref());
        memory
            .trusted(&stat, rule)
            .then(|| memory.answer(act, stale))
    }

    /// An answer given without reading the file: legitimate only from memory, and only when
    /// the rule trusts the memory for what the file looks like now.
    fn judge_cached(
        &self,
        act: &HashAct,
        answer: &str,
        rule: Rule,
        verdicts: &mut Verdicts,
    ) -> Option<Resolved> {
        let path = act.path.display();
        let mode = if rule.racy {
            "racy walker"
        } else {
            "heph walker"
        };
        let Some(before) = act.stat else {
            let message = format!("{mode} answered {answer} for {path}, which was not a file");
            verdicts.fail(Invariant::WalkerRule, message);
            return None;
        };
        let Some(memory) = self.memory.get(&act.path) else {
            let message = format!("{mode} answered {answer} for {path} without hashing it, but nothing of it was remembered");
            verdicts.fail(Invariant::WalkerRule, message);
            return None;
        };
        if memory.len != before.len || memory.mtime_ns != before.mtime_ns {
            let message = format!("{mode} answered {path} from its cache although its size/mtime changed ({}/{} remembered, {}/{} now)", memory.len, memory.mtime_ns, before.len, before.mtime_ns);
            verdicts.fail(Invariant::WalkerRule, message);
        } else if memory.racy(rule) {
            let message = format!("racy walker trusted {path} although its mtime is within the granularity of when it was hashed: a racy entry");
            verdicts.fail(Invariant::WalkerRule, message);
        }
        if memory.hashout != answer {
            let message = format!(
                "{mode} answered {answer} for {path}, but what it remembered was {}",
                memory.hashout
            );
            verdicts.fail(Invariant::WalkerRule, message);
        }
        let stale = memory.stale_for(act.before.as_ref());
        if stale {
            let message = format!("{mode}: {path} changed with size and mtime kept; its stale hash is used, so consumers fail as \"modified after it was hashed\"");
            verdicts.find("stale_walker_hash", message);
        } else if memory.x != before.x {
            let message = format!("{mode}: {path} changed mode only; the stored exec bit is used");
            verdicts.find("stale_walker_exec_bit", message);
        }
        Some(memory.answer(act, stale))
    }
}

fn entry(act: &HashAct, expect: Expect, x: bool, origin: Option<Origin>) -> Entry {
    Entry {
        path: act.path.clone(),
        expect,
        x,
        origin,
        live: false,
    }
}
