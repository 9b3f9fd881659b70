//! A crash is a violation: an engine that panics on a common path makes `sim run` exit 1 with
//! the panic, its replay line and a shrunk scenario in the report, on one thread or several,
//! and the report counts exactly the schedules it judged (run with `--features regressions`).
#![cfg(feature = "regressions")]

mod common;

use engine::regress::{self, Regression};
use sim::oracle::Invariant;
use sim::schedule::{run, RunOptions};

fn sim_with_regression(regression: &str, args: &[&str]) -> (i32, String, String) {
    common::sim_with(&[("ENGINE_REGRESSION", regression)], args)
}

#[test]
fn a_panicking_engine_fails_the_campaign_with_the_panic_in_the_report() {
    for threads in ["1", "2"] {
        let (code, stdout, stderr) = sim_with_regression(
            "mode_table_off_by_one",
            &[
                "run",
                "--seed",
                "1",
                "--schedules",
                "60",
                "--threads",
                threads,
                "--json",
                "-",
            ],
        );
        assert_eq!(code, 1, "threads {threads}: {stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["schedules"], 60, "every schedule was judged");
        let violation = &report["violations"][0];
        assert_eq!(violation["invariant"], "panic", "{violation}");
        let message = violation["message"].as_str().unwrap();
        assert!(
            message.contains("the engine panicked in build"),
            "{message}"
        );
        assert!(message.contains("index out of bounds"), "{message}");
        assert!(message.contains("materialize.rs:"), "{message}");
        assert!(violation["replay"]
            .as_str()
            .unwrap()
            .starts_with("sim replay --seed 1"));
        assert!(
            violation["shrunk"].is_object(),
            "a shrunk scenario: {violation}"
        );
        assert!(
            !stderr.contains("panicked at"),
            "caught panics stay off stderr: {stderr}"
        );
        let first = stderr
            .lines()
            .find(|l| !l.starts_with("sim: "))
            .unwrap_or_default();
        assert!(
            first.starts_with("sim run: FAILED with seed 1: ")
                && first.contains("replay the first: sim replay --seed 1 --schedule "),
            "the seed and the replay command come first: {stderr}"
        );
    }
}

#[test]
fn the_panicking_schedule_is_reported_and_the_next_one_still_runs() {
    let scenario = (0..200)
        .map(|i| sim::scenario::generate(1, i))
        .find(|s| s.files.iter().any(|f| f.x) && s.mutations.is_empty())
        .expect("a schedule with an executable file");
    let result = regress::with(Some(Regression::ModeTableOffByOne), || {
        run(&scenario, &RunOptions::default()).unwrap()
    });
    assert_eq!(
        result.outcomes,
        ["panic"],
        "the schedule stops at the panic"
    );
    assert_eq!(result.broken.len(), 1);
    assert_eq!(result.broken[0].invariant, Invariant::Panic);
    let clean = run(&scenario, &RunOptions::default()).unwrap();
    assert!(
        clean.broken.is_empty(),
        "the same schedule passes on the reference engine"
    );
}

#[test]
fn violations_exit_1_with_replay_lines_first() {
    let (code, stdout, stderr) = sim_with_regression(
        "drop_exec_byte",
        &[
            "run",
            "--seed",
            "5",
            "--schedules",
            "20",
            "--no-shrink",
            "--json",
            "-",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let violation = &report["violations"][0];
    for field in ["schedule", "invariant", "message", "replay"] {
        assert!(violation.get(field).is_some(), "violation lacks {field}");
    }
    assert!(
        stderr.contains("replay: sim replay --seed 5 --schedule"),
        "{stderr}"
    );
}
