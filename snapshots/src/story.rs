//! Stories: every scenario of a family run on MemFs (deterministic) and rendered as one readable
//! text (the `sim replay` story of each scenario: mutations fired, engine events as JSON lines,
//! outcomes, exact error messages, findings and the oracle's verdict), plus the list of ways the
//! run disagreed with what the scenario's author wrote down.

use std::collections::BTreeSet;
use std::fmt::Write;

use sim::replay::replay;
use sim::schedule::{run, RunOptions};

use crate::family::{Family, Named};

/// A family's rendered text and its disagreements with the authors' expectations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Story {
    /// One section per scenario, in file order.
    pub text: String,
    /// `name: what differed`, one per disagreement; empty when every expectation held.
    pub mismatches: Vec<String>,
}

/// Runs every scenario of `family` and renders them. An `Err` means a scenario could not run at
/// all (the simulator refused it).
pub fn render(family: &Family) -> Result<Story, String> {
    let mut story = Story::default();
    let _ = writeln!(story.text, "{}\n", family.about);
    for named in &family.scenarios {
        let section = render_one(named, &mut story.mismatches)
            .map_err(|e| format!("{}: {:?}: {e}", family.path.display(), named.name))?;
        story.text.push_str(&section);
    }
    Ok(story)
}

fn render_one(named: &Named, mismatches: &mut Vec<String>) -> Result<String, String> {
    let options = RunOptions {
        racy: named.racy,
        cell: named.cell,
        ..RunOptions::default()
    };
    let (trace, _) = replay(&named.scenario, &options)?;
    let result = run(&named.scenario, &options)?;
    let mut text = String::new();
    let _ = writeln!(text, "=== {} ===", named.name);
    for line in named.description.lines() {
        let _ = writeln!(text, "| {}", line.trim_end());
    }
    if named.racy {
        let _ = writeln!(text, "mode: racy (git's walker rule, 1 s mtimes)");
    }
    if let Some(cell) = named.cell {
        let granularity = sim::policies::granularity_name(cell.granularity_ns);
        let _ = writeln!(
            text,
            "mode: walker policy {} at {granularity} timestamps, inode numbers reused",
            cell.policy.name()
        );
    }
    let _ = writeln!(text, "expect: {}", named.expect.join(", "));
    let fired: BTreeSet<usize> = result.fired.iter().map(|f| f.index).collect();
    for (index, m) in named.scenario.mutations.iter().enumerate() {
        if !fired.contains(&index) {
            let line = format!(
                "mutation {index} ({} at {:?}) never fired",
                m.kind.name(),
                m.point
            );
            let _ = writeln!(text, "{line}");
            mismatches.push(format!("{}: {line}", named.name));
        }
    }
    text.push_str(&trace);
    text.push('\n');

    let mut mismatch = |what: String| mismatches.push(format!("{}: {what}", named.name));
    if result.outcomes != named.expect {
        mismatch(format!(
            "outcomes {:?}, expected {:?}",
            result.outcomes, named.expect
        ));
    }
    let found: BTreeSet<&str> = result.findings.iter().map(|f| f.kind.as_str()).collect();
    let wanted: BTreeSet<&str> = named.findings.iter().map(String::as_str).collect();
    if found != wanted {
        mismatch(format!("findings {found:?}, expected {wanted:?}"));
    }
    for broken in &result.broken {
        mismatch(format!(
            "the oracle found a violation: {:?}: {}",
            broken.invariant, broken.message
        ));
    }
    Ok(text)
}
