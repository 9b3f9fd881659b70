//! The sharded CI example (`.github/workflows/sim-shards.yml`) cannot run here, so it is parsed
//! and checked: its shard matrix covers 1..=N once, each shard job runs `sim run --shard K/N`
//! with the same seed and size, the merge job needs them and names every shard's report, and
//! the test jobs partition nextest with 1-based counts.

use yaml_rust2::{Yaml, YamlLoader};

fn workflow() -> Yaml {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.github/workflows/sim-shards.yml"
    );
    let text = std::fs::read_to_string(path).expect("the workflow file");
    let mut docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    assert_eq!(docs.len(), 1, "one document");
    docs.remove(0)
}

fn run_lines(job: &Yaml) -> Vec<String> {
    job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .filter_map(|s| {
            s["run"]
                .as_str()
                .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .collect()
}

#[test]
fn shard_jobs_cover_every_shard_once_and_the_merge_reads_them_all() {
    let w = workflow();
    let jobs = &w["jobs"];
    let shards: Vec<i64> = jobs["shard"]["strategy"]["matrix"]["shard"]
        .as_vec()
        .expect("a shard matrix")
        .iter()
        .map(|v| v.as_i64().expect("a shard number"))
        .collect();
    let n = shards.len() as i64;
    assert_eq!(shards, (1..=n).collect::<Vec<_>>(), "1-based, each once");
    let runs = run_lines(&jobs["shard"]);
    let run = runs
        .iter()
        .find(|r| r.contains("sim run"))
        .expect("a sim run step");
    for part in [
        "--seed \"$SEED\"",
        "--schedules \"$SCHEDULES\"",
        &format!("--shard ${{{{ matrix.shard }}}}/{n}"),
        "--json shard-${{ matrix.shard }}.json",
    ] {
        assert!(run.contains(part), "{run} lacks {part}");
    }
    assert_eq!(jobs["merge"]["needs"].as_str(), Some("shard"));
    let merge = run_lines(&jobs["merge"])
        .into_iter()
        .find(|r| r.contains("sim merge"))
        .expect("a sim merge step");
    for k in 1..=n {
        assert!(merge.contains(&format!("shard-{k}.json")), "{merge}");
    }
    // The CLI accepts exactly what the workflow passes.
    assert_eq!(
        sim::report::Shard::parse(&format!("{n}/{n}")),
        Ok((n as u64, n as u64))
    );
    assert!(sim::report::Shard::parse(&format!("0/{n}")).is_err());
}

#[test]
fn test_jobs_partition_nextest_from_one() {
    let w = workflow();
    let tests = &w["jobs"]["tests"];
    let parts: Vec<i64> = tests["strategy"]["matrix"]["partition"]
        .as_vec()
        .expect("a partition matrix")
        .iter()
        .filter_map(Yaml::as_i64)
        .collect();
    let n = parts.len() as i64;
    assert_eq!(parts, (1..=n).collect::<Vec<_>>());
    let runs = run_lines(tests);
    assert!(
        runs.iter().any(|r| r.contains(&format!(
            "cargo nextest run --workspace --locked --partition count:${{{{ matrix.partition }}}}/{n}"
        ))),
        "{runs:?}"
    );
}

/// The pull-request diff example (`.github/workflows/sim-diff.yml`): it runs `just diff`
/// against the base branch with the seed and size it declares, tolerates exit 1 (behaviour
/// moved: for the reviewer) but not 2, and posts the Markdown `scripts/diff` writes.
#[test]
fn the_diff_workflow_diffs_against_the_base_and_posts_the_markdown() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.github/workflows/sim-diff.yml"
    );
    let text = std::fs::read_to_string(path).expect("the workflow file");
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    let w = &docs[0];
    assert!(
        w["on"]["pull_request"].as_hash().is_some(),
        "runs on pull requests"
    );
    assert_eq!(w["env"]["SIM_SEED"].as_str(), Some("1"));
    assert_eq!(w["env"]["SIM_SCHEDULES"].as_str(), Some("20000"));
    let job = &w["jobs"]["diff"];
    let checkout = &job["steps"][0];
    assert_eq!(
        checkout["with"]["fetch-depth"].as_i64(),
        Some(0),
        "the base commit is fetched"
    );
    let runs = run_lines(job).join("\n");
    assert!(
        runs.contains(r#"just diff "origin/${{ github.base_ref }}" "$SIM_SCHEDULES" "$SIM_SEED""#),
        "{runs}"
    );
    assert!(
        runs.contains(r#"if [ "$code" -gt 1 ]; then exit "$code"; fi"#),
        "{runs}"
    );
    let posted = job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .find_map(|s| s["with"]["path"].as_str())
        .expect("a step posts a file");
    assert_eq!(posted, "target/diff/diff.md");
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/diff")).unwrap();
    assert!(script.contains(r#"> "$out/diff.md""#) && script.contains("out=target/diff"));
    assert!(
        script.contains("exhaustive --scope slice"),
        "the enumeration is diffed too"
    );
}
