//! Shrinking: reduce a failing scenario to a minimal one that still breaks the same invariant
//! (fewer files, consumers, inputs and mutations; smaller contents), and describe it readably.

use crate::mutation::Point;
use crate::oracle::Invariant;
use crate::scenario::{DirStamp, Input, Scenario};
use std::collections::BTreeMap;

/// At most this many candidate runs per shrink.
pub const MAX_SHRINK_RUNS: usize = 500;

/// Reduces `scenario` while `fails` still says it breaks `invariant`. Greedy: take the first
/// simpler candidate that still fails, until none does or the budget is spent.
pub fn shrink(
    scenario: &Scenario,
    invariant: Invariant,
    fails: &dyn Fn(&Scenario) -> Option<Invariant>,
) -> Scenario {
    let mut best = scenario.clone();
    let mut runs = 0;
    loop {
        // One pass: walk the candidate list once, regenerating it after each success but
        // continuing from the same position, so rejected candidates are not retried at once.
        let mut improved = false;
        let mut position = 0;
        let mut list = candidates(&best);
        while position < list.len() && runs < MAX_SHRINK_RUNS {
            let candidate = &list[position];
            position += 1;
            if candidate.validate().is_err() || candidate == &best {
                continue;
            }
            runs += 1;
            if fails(candidate) == Some(invariant) {
                best = candidate.clone();
                improved = true;
                list = candidates(&best);
                position = position.saturating_sub(1);
            }
        }
        if !improved || runs >= MAX_SHRINK_RUNS {
            return best;
        }
    }
}

/// Simpler variants of `s`, most aggressive first.
fn candidates(s: &Scenario) -> Vec<Scenario> {
    let mut out = Vec::new();
    for k in (0..s.consumers.len()).rev() {
        out.push(without_consumer(s, k));
    }
    for i in (0..s.files.len()).rev() {
        out.push(without_file(s, i));
    }
    for i in (0..s.files.len()).filter(|&i| s.files[i].also_file) {
        let mut c = s.clone();
        c.files[i].also_file = false;
        for consumer in &mut c.consumers {
            consumer.inputs.retain(|input| *input != Input::File(i));
        }
        out.push(c);
    }
    for m in 0..s.mutations.len() {
        let mut c = s.clone();
        c.mutations.remove(m);
        out.push(c);
        if s.mutations[m].late {
            let mut c = s.clone();
            c.mutations[m].late = false;
            out.push(c);
        }
        if s.mutations[m].dir_stamp.is_some() {
            let mut c = s.clone();
            c.mutations[m].dir_stamp = None;
            out.push(c);
        }
    }
    let plain = Scenario {
        caching: BTreeMap::new(),
        build: Default::default(),
        pause: false,
        granularity_ns: 0,
        glob: Default::default(),
        defect: None,
        ..s.clone()
    };
    out.push(plain);
    for (i, _) in s.files.iter().enumerate().filter(|(_, f)| f.odd_name) {
        let mut c = s.clone();
        c.files[i].odd_name = false;
        out.push(c);
    }
    for (i, file) in s.files.iter().enumerate().filter(|(_, f)| f.depth > 0) {
        let mut c = s.clone();
        c.files[i].depth = file.depth - 1;
        out.push(c);
    }
    if s.view_nesting > 0 {
        let mut c = s.clone();
        c.view_nesting -= 1;
        let names: Vec<String> = c.view_levels().into_iter().map(|l| l.0).collect();
        c.caching
            .retain(|name, _| !name.starts_with("view_") || names.contains(name));
        out.push(c);
    }
    if s.third_build {
        out.push(Scenario {
            third_build: false,
            ..s.clone()
        });
    }
    if s.tmp_limits.is_some() || s.spill {
        out.push(Scenario {
            tmp_limits: None,
            spill: false,
            ..s.clone()
        });
    }
    if !s.view.is_empty() {
        let mut c = s.clone();
        without_view(&mut c);
        out.push(c);
    }
    for k in 0..s.consumers.len() {
        for n in 0..s.consumers[k].inputs.len() {
            let mut c = s.clone();
            c.consumers[k].inputs.remove(n);
            out.push(c);
        }
    }
    for i in 0..s.files.len() {
        for size in [0, 1, s.files[i].size / 2] {
            if size < s.files[i].size {
                let mut c = s.clone();
                c.files[i].size = size;
                out.push(c);
            }
        }
    }
    out
}

fn without_consumer(s: &Scenario, k: usize) -> Scenario {
    let mut c = s.clone();
    c.consumers.remove(k);
    for consumer in &mut c.consumers {
        consumer.inputs.retain(|i| *i != Input::Consumer(k));
        for input in &mut consumer.inputs {
            if let Input::Consumer(j) = input {
                if *j > k {
                    *j -= 1;
                }
            }
        }
    }
    c.mutations.retain(|m| m.point.consumer() != Some(k));
    for m in &mut c.mutations {
        m.point = shift_consumer(m.point, k);
    }
    c.caching = renumbered(&c.caching, "c", k);
    c
}

/// Cache overrides after the target `{prefix}{removed}` went: its own override is dropped and
/// the targets after it are renumbered.
fn renumbered(
    caching: &BTreeMap<String, engine::CacheConfig>,
    prefix: &str,
    removed: usize,
) -> BTreeMap<String, engine::CacheConfig> {
    caching
        .iter()
        .filter_map(|(name, config)| {
            let index = name
                .strip_prefix(prefix)
                .and_then(|n| n.parse::<usize>().ok());
            match index {
                Some(j) if j == removed => None,
                Some(j) if j > removed => Some((format!("{prefix}{}", j - 1), *config)),
                _ => Some((name.clone(), *config)),
            }
        })
        .collect()
}

fn shift_consumer(point: Point, removed: usize) -> Point {
    let shift = |c: usize| if c > removed { c - 1 } else { c };
    match point {
        Point::AfterHashin { consumer } => Point::AfterHashin {
            consumer: shift(consumer),
        },
        Point::AfterCacheWrite { consumer } => Point::AfterCacheWrite {
            consumer: shift(consumer),
        },
        Point::BetweenConsumers { consumer } => Point::BetweenConsumers {
            consumer: shift(consumer),
        },
        Point::BeforeCacheRead { consumer } => Point::BeforeCacheRead {
            consumer: shift(consumer),
        },
        Point::BeforeConsume { consumer } => Point::BeforeConsume {
            consumer: shift(consumer),
        },
        other => other,
    }
}

fn without_file(s: &Scenario, i: usize) -> Scenario {
    let mut c = s.clone();
    if c.files.iter().any(|f| f.link_to == Some(i)) || c.files.len() == 1 {
        return s.clone(); // a link would dangle, or nothing would be left: not simpler, skipped
    }
    c.files.remove(i);
    let shift = |j: usize| if j > i { j - 1 } else { j };
    for file in &mut c.files {
        file.link_to = file.link_to.map(shift);
    }
    c.view.retain(|&j| j != i);
    c.view.iter_mut().for_each(|j| *j = shift(*j));
    if c.view.is_empty() {
        without_view(&mut c);
    }
    for consumer in &mut c.consumers {
        consumer.inputs.retain(|input| *input != Input::File(i));
        for input in &mut consumer.inputs {
            if let Input::File(j) = input {
                *j = shift(*j);
            }
        }
    }
    c.mutations.retain(|m| m.file != i);
    c.mutations.iter_mut().for_each(|m| m.file = shift(m.file));
    c.caching = renumbered(&c.caching, "file", i);
    if !c.has_glob() {
        c.consumers
            .iter_mut()
            .for_each(|k| k.inputs.retain(|input| *input != Input::Glob));
    }
    c
}

/// `c` without its View: no group, no wrapping levels, no caching override of them, and no
/// consumer reading it.
fn without_view(c: &mut Scenario) {
    c.view.clear();
    c.view_nesting = 0;
    c.caching.retain(|name, _| !name.starts_with("view"));
    c.consumers
        .iter_mut()
        .for_each(|k| k.inputs.retain(|i| *i != Input::View));
}

/// A readable, line-per-fact description of a scenario.
pub fn describe(s: &Scenario) -> String {
    let mut lines = Vec::new();
    for (i, file) in s.files.iter().enumerate() {
        match file.link_to {
            Some(j) => lines.push(format!(
                "file {i}: {} -> symlink to {}",
                s.path(i),
                s.path(j)
            )),
            None => lines.push(format!(
                "file {i}: {} ({} bytes, fill {}, x={}{})",
                s.path(i),
                file.size,
                file.fill,
                file.x,
                match file.mode {
                    0 => String::new(),
                    _ => format!(", mode {:o}", file.mode_bits()),
                }
            )),
        }
    }
    if s.has_glob() && s.glob != Default::default() {
        let (patterns, excludes) = s.glob.patterns();
        lines.push(format!("glob: {patterns:?} excluding {excludes:?}"));
    }
    if let Some(defect) = s.defect {
        lines.push(format!("graph defect: {defect:?}"));
    }
    if s.third_build {
        lines.push("builds: three by the same engine".into());
    }
    if let Some((per_entry, total)) = s.tmp_limits {
        lines.push(format!(
            "tmp cache in memory: at most {per_entry} bytes a blob, {total} in all"
        ));
    }
    if !s.view.is_empty() {
        let files: Vec<String> = s.view.iter().map(|i| s.path(*i)).collect();
        lines.push(format!("view: group under lib/ of {}", files.join(", ")));
        for (name, members, relocate) in s.view_levels().into_iter().skip(1) {
            lines.push(format!(
                "  wrapped: {name}, a group under {relocate}/ of {}",
                members.join(", ")
            ));
        }
    }
    for (k, c) in s.consumers.iter().enumerate() {
        let inputs: Vec<String> = c.inputs.iter().map(|i| format!("{i:?}")).collect();
        let kind = if c.plugin { "plugin" } else { "exec" };
        let cache = if c.cached { "cached" } else { "tmp" };
        let steps = match c.steps {
            crate::scenario::ExecShape::Concat => String::new(),
            shape => format!(", then {shape:?}"),
        };
        lines.push(format!(
            "consumer c{k}: {kind} via {:?}, {cache}, inputs [{}]{steps}",
            c.via,
            inputs.join(", ")
        ));
    }
    for m in &s.mutations {
        let stamp = match m.dir_stamp {
            Some(DirStamp::Restore) => ", its directory's mtime restored",
            Some(DirStamp::Backdate) => ", its directory's mtime set a second back",
            None => "",
        };
        lines.push(format!(
            "mutation: {} {} at {:?}{}{stamp}",
            m.kind.name(),
            s.path(m.file),
            m.point,
            if m.late { ", late (200 ms on)" } else { "" }
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::generate;

    #[test]
    fn candidates_are_valid_or_skipped_and_never_larger() {
        for index in 0..300 {
            let s = generate(5, index);
            for c in candidates(&s) {
                if c.validate().is_ok() {
                    assert!(
                        c.files.len() <= s.files.len() && c.mutations.len() <= s.mutations.len()
                    );
                    let refused = crate::oracle::plan::refused(&c.targets());
                    assert_eq!(engine::Graph::new(c.targets()).is_err(), refused.is_some());
                }
            }
        }
    }

    #[test]
    fn shrinks_to_the_one_mutation_that_matters() {
        let s = (0..)
            .map(|i| generate(9, i))
            .find(|s| {
                s.mutations.len() == 3
                    && s.files.len() >= 3
                    && s.files.iter().all(|f| f.link_to.is_none())
            })
            .unwrap();
        let culprit = s.mutations[1];
        // A fake failure: fails whenever the culprit mutation is still there (on any file).
        let fails = |c: &Scenario| {
            c.mutations
                .iter()
                .any(|m| m.kind == culprit.kind && m.point.name() == culprit.point.name())
                .then_some(Invariant::Integrity)
        };
        let small = shrink(&s, Invariant::Integrity, &fails);
        assert_eq!(small.mutations.len(), 1);
        assert_eq!(
            small.consumers.len(),
            usize::from(culprit.point.consumer().is_some())
        );
        assert_eq!(small.files.len(), 1, "{}", describe(&small));
        assert_eq!(small.files[0].size, 0);
        assert!(describe(&small).contains(&culprit.kind.name()));
    }
}
