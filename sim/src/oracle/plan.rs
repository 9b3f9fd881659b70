//! The oracle's own model of planning: from the scenario's definitions alone, whether a build
//! of `root` can be planned (unique names, every input defined, no cycle, no dependency chain
//! longer than the engine's documented limit) and which targets it needs. The engine's
//! graph code is never asked; its refusals and its starts are judged against this.

use std::collections::{BTreeMap, BTreeSet};

use engine::target::Target;

use super::definition::Identity;
use super::judge::{BuildInput, Oracle};
use super::ledger::Check;
use super::{failures, Invariant};

/// The longest dependency chain a build may hold (`engine::target::MAX_CHAIN`, the engine's
/// documented limit: ordering recurses along a chain).
pub const MAX_CHAIN: usize = engine::target::MAX_CHAIN;

/// What planning a build of `root` must give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The graph can be built: these targets are needed (root and, transitively, its inputs).
    Valid(BTreeSet<String>),
    /// It cannot: why (a duplicate name, an unknown input or root, a cycle, a chain too long).
    Invalid(String),
}

impl Plan {
    /// True when `name` is needed by a valid plan.
    pub fn needs(&self, name: &str) -> bool {
        matches!(self, Plan::Valid(needed) if needed.contains(name))
    }
}

/// True when the graph of `targets` is refused as a whole, whatever is built: duplicate names
/// or an input no target defines.
pub fn refused(targets: &[Target]) -> Option<String> {
    let mut names = BTreeSet::new();
    for t in targets {
        if !names.insert(t.name.as_str()) {
            return Some(format!("two targets are named {:?}", t.name));
        }
    }
    for t in targets {
        if let Some(input) = t.inputs.iter().find(|i| !names.contains(i.as_str())) {
            return Some(format!(
                "{:?} has an input {input:?} no target defines",
                t.name
            ));
        }
    }
    None
}

/// Plans a build of `root` over `targets`.
pub fn plan(targets: &[Target], root: &str) -> Plan {
    if let Some(why) = refused(targets) {
        return Plan::Invalid(why);
    }
    let by_name: BTreeMap<&str, &Target> = targets.iter().map(|t| (t.name.as_str(), t)).collect();
    if !by_name.contains_key(root) {
        return Plan::Invalid(format!("no target is named {root:?}"));
    }
    // Depth-first with an explicit stack: (name, depth, inputs visited so far).
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut on_path: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<(&str, usize, usize)> = vec![(root, 1, 0)];
    on_path.insert(root);
    let mut steps = 0usize;
    while let Some((name, depth, next)) = stack.pop() {
        steps += 1;
        assert!(
            steps <= 4 * targets.len() * targets.len() + 16,
            "planning terminates"
        );
        if depth > MAX_CHAIN {
            return Plan::Invalid(format!(
                "a dependency chain longer than {MAX_CHAIN} targets"
            ));
        }
        let inputs = &by_name[name].inputs;
        let Some(input) = inputs.get(next) else {
            on_path.remove(name);
            done.insert(name);
            continue;
        };
        stack.push((name, depth, next + 1));
        let input = input.as_str();
        if on_path.contains(input) {
            return Plan::Invalid(format!("a dependency cycle through {input:?}"));
        }
        if !done.contains(input) {
            on_path.insert(input);
            stack.push((input, depth + 1, 0));
        }
    }
    Plan::Valid(done.into_iter().map(String::from).collect())
}

impl Oracle {
    /// Judges the build's starts against its plan: a valid graph starts each needed target at
    /// most once, none that is not needed and none before its inputs, and fails, if at all, at a
    /// target it started; an invalid graph fails before any target starts.
    pub(super) fn judge_plan(&mut self, b: &BuildInput, plan: &Plan) {
        self.verdicts.ledger.fired(Check::Plan);
        let started = b.journal.started(b.build);
        let failure = b.out.failure.as_ref();
        match plan {
            Plan::Invalid(why) => {
                let message = match (failure, started.first()) {
                    (_, Some(first)) => format!("build {} started {first} though its graph cannot be planned: {why}", b.build),
                    (None, None) => format!("build {} succeeded though its graph cannot be planned: {why}", b.build),
                    (Some(f), None) if failures::io_kind(&f.error).is_some() => format!("build {} failed with an I/O error ({}) where its graph cannot be planned: {why}", b.build, f.error),
                    (Some(_), None) => return,
                };
                self.verdicts.fail(Invariant::Integrity, message);
            }
            Plan::Valid(needed) => {
                let mut seen = BTreeSet::new();
                for name in &started {
                    let message = if !needed.contains(*name) {
                        format!(
                            "build {} started {name}, which the build of {} does not need",
                            b.build, b.root
                        )
                    } else if !seen.insert(*name) {
                        format!("build {} started {name} twice", b.build)
                    } else if let Some(input) = b
                        .targets
                        .iter()
                        .find(|t| t.name == *name)
                        .and_then(|t| t.inputs.iter().find(|i| !seen.contains(i.as_str())))
                    {
                        format!("build {} started {name} before its input {input}", b.build)
                    } else {
                        continue;
                    };
                    self.verdicts.fail(Invariant::Integrity, message);
                }
                if let Some(f) = failure.filter(|f| !started.contains(&f.target.as_str())) {
                    let message = format!(
                        "build {} failed at {} before starting it ({}), though its graph is valid",
                        b.build, f.target, f.error
                    );
                    self.verdicts.fail(Invariant::NoFalseAlarms, message);
                }
            }
        }
    }

    /// A build stops at its first failure: no target starts after the one that failed.
    pub(super) fn judge_stop(&mut self, b: &BuildInput) {
        let Some(failure) = &b.out.failure else {
            return;
        };
        self.verdicts.ledger.fired(Check::BuildStops);
        let mut hashins = b.journal.hashins.iter().filter(|h| h.build == b.build);
        if hashins.by_ref().any(|h| h.target == failure.target) {
            if let Some(later) = hashins.next() {
                let message = format!(
                    "{} started after {} failed: a failed build must stop",
                    later.target, failure.target
                );
                self.verdicts.fail(Invariant::Integrity, message);
            }
        }
    }

    /// SPEC §1: a key stands for one identity (driver, definition bytes, sorted input
    /// hashouts); the engine giving two different identities one key is a violation, whatever
    /// the key's own check said.
    pub(super) fn judge_identity(&mut self, name: &str, key: &str, identity: Identity) {
        self.verdicts.ledger.fired(Check::KeyIdentity);
        match self.identities.get(key) {
            Some((known, other)) if *known != identity => {
                let message = format!(
                    "{name} and {other} have different definitions or inputs but share key {key}"
                );
                self.verdicts.fail(Invariant::CacheKey, message);
            }
            Some(_) => {}
            None => {
                self.identities
                    .insert(key.to_string(), (identity, name.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, inputs: &[&str]) -> Target {
        let mut target = Target::fs_file(name, "src/a");
        target.inputs = inputs.iter().map(|s| s.to_string()).collect();
        target
    }

    fn check(targets: &[Target], root: &str, expected: &str) {
        let got = match plan(targets, root) {
            Plan::Valid(needed) => needed.into_iter().collect::<Vec<_>>().join(","),
            Plan::Invalid(why) => format!("invalid: {why}"),
        };
        assert!(got.starts_with(expected), "{got} vs {expected}");
    }

    #[test]
    fn check_plans() {
        let diamond = [
            t("a", &[]),
            t("b", &["a"]),
            t("c", &["a"]),
            t("all", &["b", "c"]),
        ];
        check(&diamond, "all", "a,all,b,c");
        check(&diamond, "b", "a,b");
        check(&diamond, "z", "invalid: no target is named \"z\"");
        check(
            &[t("a", &["a"])],
            "a",
            "invalid: a dependency cycle through \"a\"",
        );
        check(
            &[t("a", &["b"]), t("b", &["a"])],
            "a",
            "invalid: a dependency cycle",
        );
        check(&[t("a", &["x"])], "a", "invalid: \"a\" has an input \"x\"");
        check(
            &[t("a", &[]), t("a", &[])],
            "a",
            "invalid: two targets are named",
        );
        // A cycle the root does not reach does not stop its build.
        check(&[t("a", &[]), t("b", &["b"])], "a", "a");
    }

    #[test]
    fn chains_up_to_the_limit_plan_and_longer_ones_do_not() {
        let chain = |n: usize| -> Vec<Target> {
            (0..n)
                .map(|i| match i {
                    0 => t("t0", &[]),
                    _ => t(&format!("t{i}"), &[&format!("t{}", i - 1)]),
                })
                .collect()
        };
        let top = |n: usize| format!("t{}", n - 1);
        assert!(
            matches!(plan(&chain(MAX_CHAIN), &top(MAX_CHAIN)), Plan::Valid(n) if n.len() == MAX_CHAIN)
        );
        check(
            &chain(MAX_CHAIN + 1),
            &top(MAX_CHAIN + 1),
            "invalid: a dependency chain longer",
        );
    }
}
