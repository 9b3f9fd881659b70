//! Replay: one schedule's full story (scenario, events, mutations, outcomes, verdict) as text.

use std::fmt::Write;

use crate::observer::Fired;
use crate::scenario::Scenario;
use crate::schedule::{run, RunOptions};
use crate::shrink::describe;

/// Runs `scenario` keeping its trace and renders everything it did.
pub fn replay(scenario: &Scenario, options: &RunOptions) -> Result<(String, bool), String> {
    let result = run(
        scenario,
        &RunOptions {
            keep_trace: true,
            ..*options
        },
    )?;
    let mut text = String::new();
    let _ = writeln!(text, "scenario:\n{}\n", indent(&describe(scenario)));
    for (build, events) in result.trace.iter().enumerate() {
        let _ = writeln!(text, "build {}:", build + 1);
        let fired: Vec<&Fired> = result
            .fired
            .iter()
            .filter(|f| f.build as usize == build + 1)
            .collect();
        // Each mutation is shown where it fired: before the first event recorded after it.
        for (index, event) in events.iter().enumerate() {
            write_fired(&mut text, fired.iter().filter(|f| f.at_event == index));
            let _ = writeln!(
                text,
                "  {}",
                serde_json::to_string(event).unwrap_or_default()
            );
        }
        write_fired(
            &mut text,
            fired.iter().filter(|f| f.at_event >= events.len()),
        );
        let _ = writeln!(text, "  outcome: {}", result.outcomes[build]);
        if !result.errors[build].is_empty() {
            let _ = writeln!(text, "  error: {}", result.errors[build]);
        }
    }
    for finding in &result.findings {
        let _ = writeln!(text, "finding {}: {}", finding.kind, finding.message);
    }
    for broken in &result.broken {
        let _ = writeln!(text, "VIOLATION {:?}: {}", broken.invariant, broken.message);
    }
    if result.broken.is_empty() {
        let _ = writeln!(text, "verdict: all invariants hold");
    }
    Ok((text, result.broken.is_empty()))
}

fn write_fired<'a>(text: &mut String, fired: impl Iterator<Item = &'a &'a Fired>) {
    for fired in fired {
        let status = fired.skipped.as_deref().unwrap_or("applied");
        let _ = writeln!(
            text,
            "  >> mutation {} {} at {:?}: {status}",
            fired.mutation.kind.name(),
            fired.path.display(),
            fired.mutation.point
        );
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
