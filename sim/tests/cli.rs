//! The pinned CLI: exit codes, the JSON report's fields, and clear errors for bad usage.

mod common;

fn sim(args: &[&str]) -> (i32, String, String) {
    common::sim_with(&[], args)
}

#[test]
fn run_writes_a_report_with_the_pinned_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let (code, _, stderr) = sim(&[
        "run",
        "--seed",
        "3",
        "--schedules",
        "200",
        "--fs",
        "both",
        "--json",
        path.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for field in [
        "seed",
        "schedules",
        "violations",
        "outcomes",
        "mutations",
        "findings",
        "timing",
    ] {
        assert!(report.get(field).is_some(), "missing {field}");
    }
    assert!(
        report["timing"]["elapsed_ms"].is_u64()
            && report["timing"]["schedules_per_sec"].is_number()
    );
    assert!(report["outcomes"]["ok"].as_u64().unwrap() > 0);
    assert!(
        report["mutations"]["by_kind"].is_object() && report["mutations"]["by_point"].is_object()
    );
}

#[test]
fn bad_usage_exits_2_with_a_clear_message() {
    let check = |args: &[&str], needle: &str| {
        let (code, _, stderr) = sim(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    check(
        &["run", "--seed", "x", "--schedules", "1"],
        "invalid value 'x' for '--seed <SEED>'",
    );
    check(&["run", "--seed", "1", "--schedules", "0"], "--schedules");
    check(
        &["run", "--seed", "1", "--schedules", "5", "--fs", "zfs"],
        "invalid value 'zfs'",
    );
    check(
        &["run", "--seed", "1", "--schedules", "5", "--threads", "0"],
        "--threads",
    );
    check(&["run", "--seed", "1"], "--schedules");
    check(&["frobnicate"], "unrecognized subcommand");
    check(
        &[
            "policies",
            "--seed",
            "1",
            "--schedules",
            "2",
            "--fs",
            "disk",
        ],
        "--granularity 1ns",
    );
    check(&["tools", "--tools", "svn"], "unknown tool \"svn\"");
    check(
        &["replay", "--scenario", "/nonexistent/s.json"],
        "cannot read scenario /nonexistent/s.json",
    );
    check(
        &[
            "run",
            "--seed",
            "1",
            "--schedules",
            "3",
            "--json",
            "/nonexistent/dir/r.json",
        ],
        "/nonexistent/dir/r.json",
    );
}

#[test]
fn replay_and_exhaustive_run_from_the_command_line() {
    let (code, stdout, stderr) = sim(&["replay", "--seed", "1", "--schedule", "4"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("build 2:") && stdout.contains("verdict"),
        "{stdout}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"files\": 3}").unwrap();
    let (code, _, stderr) = sim(&["replay", "--scenario", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is not valid JSON for a scenario"),
        "{stderr}"
    );
    let svg = dir.path().join("coverage.svg");
    let svg_arg = svg.to_str().unwrap();
    let args = [
        "exhaustive",
        "--scope",
        "slice",
        "--json",
        "-",
        "--coverage",
        "--coverage-svg",
        svg_arg,
    ];
    let (code, stdout, stderr) = sim(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("\"families\""),
        "the JSON report has the families"
    );
    for family in ["single/Cached", "single/Plugin", "pair"] {
        assert!(stderr.contains(family), "no {family} line in {stderr}");
    }
    assert!(!stderr.contains("\n  never fired: "), "{stderr}");
    assert!(
        stderr.contains("cells never fired:"),
        "no coverage table: {stderr}"
    );
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(
        drawn.starts_with("<svg") && drawn.contains("</svg>"),
        "{drawn}"
    );
    assert!(
        drawn.contains(">Mutation coverage: sim exhaustive, seed 0, ")
            && drawn.contains(" on mem</text>"),
        "the map is titled with its run: {drawn}"
    );
}

#[test]
fn policies_writes_the_same_matrix_twice_and_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let run = |json: &str| {
        sim(&[
            "policies",
            "--seed",
            "2",
            "--schedules",
            "6",
            "--granularity",
            "1ns,1s",
            "--threads",
            "2",
            "--json",
            json,
            "--markdown",
            &path("m.md"),
            "--svg",
            &path("m.svg"),
        ])
    };
    let (code, _, err) = run(&path("a.json"));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("14 policies x 2 granularities x 6 schedules, 0 failures"),
        "{err}"
    );
    let (code, _, _) = run(&path("b.json"));
    assert_eq!(code, 0);
    let a = std::fs::read_to_string(path("a.json")).unwrap();
    assert_eq!(
        a,
        std::fs::read_to_string(path("b.json")).unwrap(),
        "same seed, same bytes"
    );
    let json: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(json["cells"].as_array().unwrap().len(), 28);
    let md = std::fs::read_to_string(path("m.md")).unwrap();
    assert!(md.contains("| policy | 1 ns | 1 s |"), "{md}");
    let svg = std::fs::read_to_string(path("m.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("always_hash"),
        "{svg}"
    );
}

#[test]
fn policies_run_on_the_disk_at_the_kernels_granularity() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("d.json").to_string_lossy().into_owned();
    let (code, out, err) = sim(&[
        "policies",
        "--seed",
        "1",
        "--schedules",
        "3",
        "--fs",
        "disk",
        "--granularity",
        "1ns",
        "--policies",
        "heph,ours",
        "--threads",
        "1",
        "--json",
        &json,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("2 policies x 1 granularities x 3 schedules, 0 failures"),
        "{err}"
    );
    assert!(out.contains("DiskFs: the kernel's own timestamps"), "{out}");
    let matrix: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(matrix["fs"], "disk");
    assert_eq!(matrix["cells"].as_array().unwrap().len(), 2);
}
