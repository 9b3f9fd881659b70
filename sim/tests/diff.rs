//! `sim diff` (issue 25) from the command line: reports of other schedules are refused naming
//! the field; two runs of one engine (at different thread counts) show no moved cell; a seeded
//! regression moves cells (run by `just test` with `--features regressions`).
#![cfg(feature = "regressions")]

use std::process::Command;

/// Runs `sim` with `regression` switched on (or none): exit code and stderr.
fn sim(regression: Option<&str>, args: &[&str]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sim"));
    if let Some(name) = regression {
        command.env("ENGINE_REGRESSION", name);
    }
    let out = command.args(args).output().expect("sim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A campaign report of `schedules` schedules of `seed` at `threads` threads.
fn campaign(
    dir: &std::path::Path,
    name: &str,
    (seed, schedules, threads): (u64, u64, u64),
    regression: Option<&str>,
) -> String {
    let path = dir.join(name).to_string_lossy().into_owned();
    let (seed, schedules, threads) = (seed.to_string(), schedules.to_string(), threads.to_string());
    let args = [
        "run",
        "--seed",
        &seed,
        "--schedules",
        &schedules,
        "--threads",
        &threads,
        "--no-shrink",
        "--fingerprints",
        "--json",
        &path,
    ];
    let (code, err) = sim(regression, &args);
    assert!(
        code == 0 || (regression.is_some() && code == 1),
        "{args:?}: {err}"
    );
    path
}

#[test]
fn diff_refuses_other_schedules_and_sees_a_regression_move_cells() {
    let dir = tempfile::tempdir().unwrap();
    let base = campaign(dir.path(), "base.json", (3, 1500, 1), None);
    let same = campaign(dir.path(), "same.json", (3, 1500, 2), None);
    let other_seed = campaign(dir.path(), "seed4.json", (4, 1500, 2), None);
    let shorter = campaign(dir.path(), "short.json", (3, 1000, 2), None);
    let regressed = campaign(
        dir.path(),
        "regressed.json",
        (3, 1500, 2),
        Some("skip_small_verify"),
    );

    let (code, err) = sim(None, &["diff", &base, &other_seed]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("differ in seed (3 against 4)"), "{err}");
    let (code, err) = sim(None, &["diff", &base, &shorter]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("differ in schedules"), "{err}");
    let (code, err) = sim(None, &["diff", &base, "/nonexistent/head.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/head.json"), "{err}");

    let json = dir.path().join("d.json").to_string_lossy().into_owned();
    let (code, err) = sim(None, &["diff", &base, &same, "--json", &json]);
    assert_eq!(code, 0, "one engine at 1 and 2 threads: {err}");
    let diff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(diff["moved"].as_array().unwrap().len(), 0, "{diff}");
    assert!(diff["tests"].as_u64().unwrap() > 100, "{diff}");
    assert_eq!(diff["changed_schedules"]["count"], 0, "{diff}");
    assert_eq!(diff["changed_cells"].as_array().unwrap().len(), 0, "{diff}");
    let fingerprints = |p: &str| {
        let text = std::fs::read_to_string(p).unwrap();
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        r["fingerprints"].clone()
    };
    assert_eq!(
        fingerprints(&base),
        fingerprints(&same),
        "no thread count moves a schedule"
    );
    assert_eq!(fingerprints(&base).as_object().unwrap().len(), 1500);

    let md = dir.path().join("d.md").to_string_lossy().into_owned();
    let (code, err) = sim(
        None,
        &[
            "diff",
            &base,
            &regressed,
            "--json",
            &json,
            "--markdown",
            &md,
        ],
    );
    assert_eq!(code, 1, "a regression moves behaviour: {err}");
    let diff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let moved = diff["moved"].as_array().unwrap();
    // Exactly: some schedules' outcomes changed, the first named with its replay.
    let changed = &diff["changed_schedules"];
    assert!(changed["count"].as_u64().unwrap() > 0, "{diff}");
    assert!(
        changed["first"][1]
            .as_str()
            .unwrap()
            .starts_with("sim replay --seed 3 --schedule "),
        "{diff}"
    );
    assert!(
        moved.iter().any(|m| m["outcome"] == "invalid_data"),
        "skip_small_verify turns invalid_data into ok: {diff}"
    );
    // Its violations are an event count that moved too.
    assert!(
        moved
            .iter()
            .any(|m| m["cell"] == "count" && m["outcome"] == "violations"),
        "{diff}"
    );
    // Each moved cell names the first schedule that moved, with its replay command.
    for m in moved.iter().filter(|m| m["cell"] != "count") {
        let (index, command) = (&m["first"][0], &m["first"][1]);
        let expected = format!("sim replay --seed 3 --schedule {index}");
        assert!(command.as_str().unwrap().starts_with(&expected), "{m}");
    }
    // Exactly, per cell: invalid_data turned into ok on named schedules.
    let cells = diff["changed_cells"].as_array().unwrap();
    assert!(
        cells
            .iter()
            .any(|c| c["outcome"] == "invalid_data" && c["fewer"].as_u64().unwrap() > 0),
        "{diff}"
    );
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains("| cell | outcome | before | after | p |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| cell | outcome | schedules with more | with fewer |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("schedules changed their outcomes"),
        "{markdown}"
    );
}

/// `sim run --policy` runs every schedule under one cell: a report of it is refused against a
/// default one, and a regression of that rule changes schedules there, each named with its
/// cell in the replay command.
#[test]
fn a_policy_campaign_diffs_one_rule() {
    let dir = tempfile::tempdir().unwrap();
    let default = campaign(dir.path(), "default.json", (5, 300, 2), None);
    let run = |name: &str, regression: Option<&str>| {
        let path = dir.path().join(name).to_string_lossy().into_owned();
        let mut args = vec!["run", "--seed", "5", "--schedules", "300", "--threads", "2"];
        args.extend(["--no-shrink", "--fingerprints", "--json", &path]);
        args.extend(["--policy", "mercurial", "--granularity", "1ns"]);
        let (code, err) = sim(regression, &args);
        assert!(code == 0 || (regression.is_some() && code == 1), "{err}");
        path
    };
    let base = run("hg.json", None);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert_eq!(report["cell"]["policy"], "mercurial", "{report}");
    let (code, err) = sim(None, &["diff", &default, &base]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("differ in policy cell"), "{err}");
    // Mercurial's unsure window at the file system's step instead of a second: stale answers.
    let head = run("hg-regressed.json", Some("mercurial_unsure_at_granularity"));
    let json = dir.path().join("d.json").to_string_lossy().into_owned();
    let (code, err) = sim(None, &["diff", &base, &head, "--json", &json]);
    assert_eq!(code, 1, "{err}");
    let diff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(
        diff["changed_schedules"]["count"].as_u64().unwrap() > 0,
        "{diff}"
    );
    let first = diff["changed_schedules"]["first"][1].as_str().unwrap();
    assert!(
        first.ends_with("--policy mercurial --granularity 1ns"),
        "{first}"
    );
}

/// A regression that changes no build's outcome, only what the oracle finds wrong (SPEC §7's
/// message without the hash it read): too rare a change per cell for a share to move beyond
/// chance, yet each schedule it broke is named exactly under `violations`.
#[test]
fn violations_alone_change_cells_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let base = campaign(dir.path(), "base.json", (3, 600, 2), None);
    let head = campaign(
        dir.path(),
        "head.json",
        (3, 600, 2),
        Some("verify_message_omits_read_hash"),
    );
    let json = dir.path().join("d.json").to_string_lossy().into_owned();
    let (code, err) = sim(None, &["diff", &base, &head, "--json", &json]);
    assert_eq!(code, 1, "{err}");
    let diff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cells = diff["changed_cells"].as_array().unwrap();
    let violated = cells
        .iter()
        .find(|c| c["cell"] == "violations" && c["outcome"] == "no_false_alarms")
        .unwrap_or_else(|| panic!("{diff}"));
    assert!(violated["more"].as_u64().unwrap() > 0, "{diff}");
    assert_eq!(violated["fewer"], 0, "{diff}");
    assert!(
        cells.iter().all(|c| c["cell"] == "violations"),
        "the same failures, only with half a message: {diff}"
    );
    let first = violated["first"][1].as_str().unwrap();
    assert!(
        first.starts_with("sim replay --seed 3 --schedule "),
        "{first}"
    );
}

/// `sim diff` of two exhaustive enumerations (`sim exhaustive --fingerprints`): the same cases
/// under each engine, compared case by case. A guard that skips a nested View's sources, which
/// the random mix meets once in thousands of schedules of one guard's cell, shows at once, and
/// the first changed case replays with `sim exhaustive --case`.
#[test]
fn exhaustive_enumerations_diff_case_by_case() {
    let dir = tempfile::tempdir().unwrap();
    let enumerate = |name: &str, regression: Option<&str>| {
        let path = dir.path().join(name).to_string_lossy().into_owned();
        let args = ["exhaustive", "--scope", "slice", "--threads", "2"];
        let (code, err) = sim(
            regression,
            &[&args[..], &["--fingerprints", "--json", &path]].concat(),
        );
        assert!(code == 0 || (regression.is_some() && code == 1), "{err}");
        path
    };
    let base = enumerate("base.json", None);
    let head = enumerate("head.json", Some("guard_checks_one_view_deep"));
    let json = dir.path().join("d.json").to_string_lossy().into_owned();
    let (code, err) = sim(None, &["diff", &base, &base, "--json", &json]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = sim(None, &["diff", &base, &head, "--json", &json]);
    assert_eq!(code, 1, "{err}");
    let diff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cells = diff["changed_cells"].as_array().unwrap();
    let poisoned = cells
        .iter()
        .find(|c| c["cell"] == "violations" && c["outcome"] == "no_poisoning")
        .unwrap_or_else(|| panic!("{diff}"));
    let command = poisoned["first"][1].as_str().unwrap();
    assert!(
        command.starts_with("sim exhaustive --scope slice --fs mem --case "),
        "{command}"
    );
    // The command replays that case: clean under the reference, a violation under the head.
    let words: Vec<&str> = command.split(' ').skip(1).collect();
    assert_eq!(sim(None, &words).0, 0, "{command}");
    assert_eq!(
        sim(Some("guard_checks_one_view_deep"), &words).0,
        1,
        "{command}"
    );
    let (code, err) = sim(
        None,
        &["exhaustive", "--scope", "slice", "--case", "99999999"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no case 99999999: the slice enumeration has"),
        "{err}"
    );
}
