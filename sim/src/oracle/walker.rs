//! The walker cache judged by its rule. The oracle keeps its own memory of what the engine's
//! walker may remember (what each fresh hash read, with the `stat` it saw), and decides for
//! every hash act which answers the active rule allows, from its own model of each policy
//! (`rules.rs`: heph's, the racy rule, git's, Mercurial's, Bazel's, ccache's, Cargo's).
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
    stat: Stat,
    recorded_at: u64,
    build_start: u64,
    hashout: String,
    /// The bytes hashed; `None` when a mutation tore the hash.
    bytes: Option<Arc<Vec<u8>>>,
    /// Remembered from a hash no mutation tore: `stat` is the stamp the engine kept (a torn
    /// act's stamp may be the path's before the tear or the opened file's after it).
    exact: bool,
}

impl Memory {
    /// True when the rule lets the walker answer from this memory for a file whose `stat`
    /// says `now`.
    fn trusted(&self, now: &Stat, rule: Rule) -> bool {
        let was = super::rules::Recorded {
            stat: self.stat,
            recorded_at: self.recorded_at,
            build_start: self.build_start,
        };
        super::rules::allows(rule.policy, &was, now, rule.granularity_ns)
    }

    /// True when what it remembers is not what the file holds now (`None`: unreadable, and
    /// then no consumer can succeed with any bytes).
    fn stale_for(&self, now: Option<&Live>) -> bool {
        let Some(now) = now else { return false };
        match &self.bytes {
            Some(b) => !Fingerprint::of(b, self.stat.x).same_bytes(&now.fingerprint()),
            // Hashed while it changed: the bytes are unknown, the hashout is not.
            None => oracle_hashout(&now.bytes, now.x) != self.hashout,
        }
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
            entry: entry(act, expect, self.stat.x, Some(origin)),
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
    /// Cached answers whose remembered bytes were not the file's (false hits), for the
    /// validation-policy matrix.
    pub stale_answers: u64,
}

/// What the active rule is.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The walker's validation policy.
    pub policy: engine::walker::Policy,
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
        if act.torn {
            return self.resolve_torn(act, answer, fresh, verdicts);
        }
        let (Some(stat), Some(before)) = (act.stat, act.before.as_ref()) else {
            let message = format!("{} hashed {path} freshly to {fresh}, but it was not a readable file when the hash began", act.target);
            verdicts.fail(Invariant::Integrity, message);
            return None;
        };
        if (self.memory.get(&act.path)).is_some_and(|m| m.exact && m.trusted(&stat, rule)) {
            let mode = rule.policy.name();
            let message = format!("{mode} walker hashed {path} again though its memory of it holds (SPEC §2: on a hit it returns the stored hash; the memory was lost or never updated)");
            verdicts.fail(Invariant::WalkerRule, message);
        }
        self.remember(act, stat, fresh, Some(before.bytes.clone()), true);
        if let Some(answer) = answer.filter(|a| a != fresh) {
            let message = format!("{}'s artifact for {path} carries {answer}, but the file was just hashed to {fresh}", act.target);
            verdicts.fail(Invariant::HashParity, message);
        }
        verdicts.ledger.fired(super::ledger::Check::FreshHash);
        let expected = oracle_hashout(&before.bytes, before.x);
        let len = before.bytes.len() as u64;
        if act.read_len.is_some_and(|n| n != len) {
            let read = act.read_len.unwrap_or_default();
            let message = format!("{path}: the engine's fresh hash read {read} bytes of the file's {len} (nothing changed it meanwhile)");
            verdicts.fail(Invariant::HashParity, message);
        }
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

    /// A fresh hash torn by a mutation: the oracle hashes exactly the bytes the engine's reads
    /// returned (recorded by the tap) with the exec bit of the engine's `stat`, and the
    /// engine's hashout must be that.
    fn resolve_torn(
        &mut self,
        act: &HashAct,
        answer: Option<&str>,
        fresh: &str,
        verdicts: &mut Verdicts,
    ) -> Option<Resolved> {
        let path = act.path.display();
        let (Some(stat), Some(read)) = (act.stat, act.read.as_ref()) else {
            let message = format!("{}'s hash of {path} was torn by a mutation and the bytes its reads returned are not known (not a file when the hash began, or more than the tap keeps)", act.target);
            verdicts.fail(Invariant::Harness, message);
            return None;
        };
        verdicts.ledger.fired(super::ledger::Check::TornHash);
        let expected = oracle_hashout(read, stat.x);
        if fresh != expected {
            let message = format!("{path}: engine hashout {fresh} of a hash torn by a mutation, but file_hashout of the {} bytes its reads returned (x={}) is {expected}", read.len(), stat.x);
            verdicts.fail(Invariant::HashParity, message);
        }
        if let Some(answer) = answer.filter(|a| *a != fresh) {
            let message = format!("{}'s artifact for {path} carries {answer}, but the file was just hashed to {fresh}", act.target);
            verdicts.fail(Invariant::HashParity, message);
        }
        self.remember(act, stat, fresh, Some(read.clone()), false);
        let origin = Origin {
            path: act.path.clone(),
            act_seq: act.seq,
            stale: true, // torn: what was hashed is not what the file holds
        };
        Some(Resolved {
            hashout: expected,
            entry: entry(act, Expect::Bytes(read.clone()), stat.x, Some(origin)),
        })
    }

    /// What the engine's walker remembers after it hashed `act` freshly; `exact` when no
    /// mutation tore the hash (see `Memory::exact`).
    fn remember(
        &mut self,
        act: &HashAct,
        stat: Stat,
        hashout: &str,
        bytes: Option<Arc<Vec<u8>>>,
        exact: bool,
    ) {
        let memory = Memory {
            stat,
            recorded_at: act.recorded_at,
            build_start: act.build_start,
            hashout: hashout.to_string(),
            bytes,
            exact,
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
        &mut self,
        act: &HashAct,
        answer: &str,
        rule: Rule,
        verdicts: &mut Verdicts,
    ) -> Option<Resolved> {
        let path = act.path.display();
        verdicts.ledger.fired(super::ledger::Check::WalkerAnswer);
        let mode = format!("{} walker", rule.policy.name());
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
        if !memory.trusted(&before, rule) {
            let (was, now) = (&memory.stat, &before);
            let message = format!("{mode} answered {path} from its cache although its rule does not trust it (len/mtime/ctime/ino/mode {}/{}/{}/{}/{:o} remembered at {} in a build started at {}, {}/{}/{}/{}/{:o} now)", was.len, was.mtime_ns, was.ctime_ns, was.ino, was.mode, memory.recorded_at, memory.build_start, now.len, now.mtime_ns, now.ctime_ns, now.ino, now.mode);
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
        let mode_only = memory.stat.x != before.x;
        let answered = memory.answer(act, stale);
        if stale && rule.policy == engine::walker::Policy::Ours {
            // Ours, the rule we propose, stamps the opened file's own `fstat` and applies the
            // racy test to mtime and ctime: no edit it can miss (POLICIES.md, 10^7 schedules).
            let message = format!("{mode} answered a stale hash for {path}: ours must accept none (its stamp is the file it hashed, and racy entries are hashed again)");
            verdicts.fail(Invariant::WalkerRule, message);
        }
        if stale {
            self.stale_answers += 1;
            let message = format!("{mode}: {path} changed in a way its rule does not see; its stale hash is used, so consumers fail as \"modified after it was hashed\" or cached outputs of the old bytes are served");
            verdicts.find("stale_walker_hash", message);
        } else if mode_only {
            let message = format!("{mode}: {path} changed mode only; the stored exec bit is used");
            verdicts.find("stale_walker_exec_bit", message);
        }
        Some(answered)
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
