//! `sim/SPEC-TRACE.md` kept true: every sentence of SPEC §1–§8 is quoted by a row; every quote
//! is in SPEC; every check named exists and fires in a default campaign (DiskFs checks in a
//! differential one); every function named exists in its file; every regression exists and is
//! caught by the invariant named (run by `just test` with `--features regressions`).
#![cfg(feature = "regressions")]

use std::collections::BTreeSet;
use std::path::Path;

use engine::regress::Regression;
use sim::campaign::{campaign, CampaignOptions, FsChoice};
use sim::oracle::ledger::Check;
use sim::schedule::Variant;

/// One row of the trace's tables.
#[derive(Debug)]
struct Row {
    /// The quoted SPEC sentence (first table) or the rule (second table).
    quote: Option<String>,
    checks: Vec<String>,
    judged_by: Vec<String>,
    shape: String,
    regression: String,
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().unwrap().push(chars.next().unwrap())
            }
            '|' => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out.into_iter().map(|c| c.trim().to_string()).collect()
}

fn list(cell: &str, sep: char) -> Vec<String> {
    match cell {
        "—" | "" => vec![],
        _ => cell.split(sep).map(|s| s.trim().to_string()).collect(),
    }
}

/// The rows of both tables (a row is a `|` line whose first cell is not a header).
fn rows(trace: &str) -> Vec<Row> {
    let mut out = Vec::new();
    for line in trace.lines().filter(|l| l.starts_with("| ")) {
        let c = cells(line);
        if c[0] == "§" || c[0] == "rule" {
            continue;
        }
        let row = match c.len() {
            7 => Row {
                quote: Some(c[1].trim_matches('"').to_string()),
                checks: list(&c[2], ','),
                judged_by: list(&c[3], ';'),
                shape: c[4].clone(),
                regression: c[6].clone(),
            },
            6 => Row {
                quote: None,
                checks: list(&c[1], ','),
                judged_by: list(&c[2], ';'),
                shape: c[3].clone(),
                regression: c[5].clone(),
            },
            n => panic!("a row of {n} cells: {line}"),
        };
        out.push(row);
    }
    out
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// SPEC §1–§8 as sentences: paragraphs and list items, split after a full stop followed by a
/// capital or a backquote (not after "e.g" or a list number); tables left out (their rows are
/// data, quoted by the sentence that introduces them).
fn sentences(spec: &str) -> Vec<String> {
    let body = &spec[spec.find("## 1.").expect("§1")..spec.find("## 9.").expect("§9")];
    let mut units: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let flush = |current: &mut Vec<&str>, units: &mut Vec<String>| {
        if !current.is_empty() {
            units.push(current.join(" "));
            current.clear();
        }
    };
    for line in body.lines() {
        let trimmed = line.trim();
        let starts_item = trimmed.starts_with("- ")
            || trimmed.starts_with('|')
            || trimmed
                .split_once(". ")
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok());
        let leaves_table = current.first().is_some_and(|l| l.starts_with('|'));
        if trimmed.is_empty() || line.starts_with("## ") || starts_item || leaves_table {
            flush(&mut current, &mut units);
        }
        if !trimmed.is_empty() && !line.starts_with("## ") {
            current.push(trimmed);
        }
    }
    flush(&mut current, &mut units);
    let mut out = Vec::new();
    for unit in units.iter().filter(|u| !u.starts_with('|')) {
        // Full stops are ASCII, so every `i` below is a char boundary.
        let mut start = 0;
        let bytes = unit.as_bytes();
        for i in 0..bytes.len().saturating_sub(2) {
            if i < start || bytes[i] != b'.' || bytes[i + 1] != b' ' {
                continue;
            }
            let next = bytes[i + 2];
            let before = &unit[start..i];
            let abbreviation = before.ends_with("e.g") || before.ends_with("i.e");
            if (next.is_ascii_uppercase() || next == b'`') && !abbreviation {
                out.push(unit[start..=i].to_string());
                start = i + 2;
            }
        }
        out.push(unit[start..].to_string());
    }
    // Fragments too short to be a sentence ("1.", "- ") belong to the next one.
    let mut merged: Vec<String> = Vec::new();
    let mut carry = String::new();
    for s in out {
        let s = format!("{carry}{s}");
        if s.trim_start_matches("- ").trim().len() < 12 {
            carry = format!("{s} ");
        } else {
            merged.push(squash(&s));
            carry.clear();
        }
    }
    merged
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_spec_sentence_is_traced_and_every_row_holds() {
    let spec = read(&repo().join("../shared/SPEC.md"));
    let trace = read(&repo().join("sim/SPEC-TRACE.md"));
    let rows = rows(&trace);
    assert!(rows.len() >= 60, "only {} rows", rows.len());
    let quotes: Vec<String> = rows
        .iter()
        .filter_map(|r| r.quote.as_deref().map(squash))
        .collect();
    let spec_text = squash(&spec);
    for quote in &quotes {
        assert!(spec_text.contains(quote.as_str()), "not in SPEC: {quote:?}");
    }
    let sentences = sentences(&spec);
    assert!(sentences.len() >= 55, "{} sentences", sentences.len());
    let untraced: Vec<&String> = sentences
        .iter()
        .filter(|s| !quotes.iter().any(|q| s.contains(q.as_str())))
        .collect();
    assert!(
        untraced.is_empty(),
        "SPEC sentences no row quotes: {untraced:#?}"
    );
    for row in &rows {
        let what = row.quote.clone().unwrap_or_else(|| row.shape.clone());
        if row.checks.is_empty() && row.quote.is_some() {
            let said = row.shape.starts_with("descriptive:")
                || (row.shape.starts_with("not modelled:") && row.shape.contains("issue "));
            assert!(said, "{what}: no check, and no reason why");
            continue;
        }
        for check in &row.checks {
            assert!(
                Check::parse(check).is_some(),
                "{what}: no check named {check}"
            );
        }
        for place in &row.judged_by {
            let (file, function) = place.split_once("::").expect("file::function");
            let function = function.rsplit("::").next().unwrap();
            let source = read(&repo().join("sim/src").join(format!("{file}.rs")));
            assert!(
                source.contains(&format!("fn {function}")),
                "{what}: no fn {function} in {file}.rs"
            );
        }
        judge_regression(&what, &row.regression);
    }
}

/// `name → invariant`: a seeded regression caught by that invariant (the kill matrix holds it
/// to it), or `teeth:NN-name` for a patch in `bench/teeth/`.
fn judge_regression(what: &str, cell: &str) {
    let (name, invariant) = cell
        .split_once(" → ")
        .unwrap_or_else(|| panic!("{what}: regression {cell:?}"));
    if let Some(patch) = name.strip_prefix("teeth:") {
        let path = repo().join("bench/teeth").join(format!("{patch}.patch"));
        assert!(path.exists(), "{what}: no {}", path.display());
        return;
    }
    let regression =
        Regression::parse(name).unwrap_or_else(|| panic!("{what}: no regression {name}"));
    let must = serde_json::to_value(sim::mutants::must_catch(regression)).unwrap();
    assert_eq!(
        must.as_str(),
        Some(invariant),
        "{what}: {name} is caught by {must}"
    );
}

/// Every check the trace names fires in a short default campaign, the DiskFs ones in a short
/// differential run (`judged.checks` counts them; the trace's column holds 10^5 figures).
#[test]
fn every_traced_check_fires_in_the_default_mix() {
    let trace = read(&repo().join("sim/SPEC-TRACE.md"));
    let named: BTreeSet<String> = rows(&trace).into_iter().flat_map(|r| r.checks).collect();
    assert_eq!(
        named.len(),
        Check::ALL.len(),
        "every check is traced: {named:?}"
    );
    let options = |schedules, fs| CampaignOptions {
        seed: 1,
        schedules,
        fs,
        threads: 2,
        racy: false,
        variant: Variant::Reference,
        shrink: false,
        shard: None,
        swarm: false,
        fingerprints: false,
        cell: None,
    };
    let mem = campaign(&options(3_000, FsChoice::Mem), &|_, _| {});
    let both = campaign(&options(60, FsChoice::Both), &|_, _| {});
    for name in &named {
        let check = Check::parse(name).unwrap();
        let fired = mem.judged.fired(check) + both.judged.fired(check);
        assert!(
            fired > 0,
            "{name} never fired in 3,000 default and 60 differential schedules"
        );
    }
    assert_eq!(
        mem.judged.reached, mem.judged.judged,
        "{:?}",
        mem.judged.unjudged
    );
    assert!(mem.judged.unjudged.is_empty());
}

#[test]
fn check_sentences() {
    let check = |spec: &str, expected: &[&str]| {
        let text = format!("## 1. A\n{spec}\n## 9. B\n");
        assert_eq!(sentences(&text), expected, "{spec:?}");
    };
    check("One. Two `x` here.", &["One. Two `x` here."]);
    check(
        "First sentence here. Second sentence here.",
        &["First sentence here.", "Second sentence here."],
    );
    check(
        "A driver (e.g. `fs_file`) has more words.",
        &["A driver (e.g. `fs_file`) has more words."],
    );
    check(
        "1. Integrity: bytes arrive whole.\n2. No false alarms here.",
        &[
            "1. Integrity: bytes arrive whole.",
            "2. No false alarms here.",
        ],
    );
    check(
        "- an item that\n  wraps. `Code` starts the next one.",
        &["- an item that wraps.", "`Code` starts the next one."],
    );
    check(
        "| a | b |\n|---|---|\nText after the table is long.",
        &["Text after the table is long."],
    );
}
