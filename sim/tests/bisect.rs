//! `just bisect` (issue 25) names the first bad commit: on a clone of this repository with
//! three commits added (a harmless one, one that switches the seeded regression
//! `skip_small_verify` on for good, another harmless one), `scripts/bisect` between the clone's
//! start and its end, replaying the regression's corpus entry, names the middle commit. It
//! builds `sim` at each step, so it is not part of `just test`: `just bisect-check` runs it.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=bisect", "-c", "user.email=bisect@test"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(dir: &Path, file: &str, edit: impl FnOnce(String) -> String, message: &str) -> String {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("the file");
    std::fs::write(&path, edit(text)).expect("written");
    git(dir, &["commit", "-q", "-am", message]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
#[ignore = "builds sim at every bisection step: run by `just bisect-check`"]
fn bisect_names_the_commit_that_switched_a_regression_on() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace");
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let clone = tmp.path().join("clone");
    let status = Command::new("git")
        .args(["clone", "-q", "--no-hardlinks"])
        .arg(repo)
        .arg(&clone)
        .status()
        .expect("git clone");
    assert!(status.success());
    let good = git(&clone, &["rev-parse", "HEAD"]);
    commit(&clone, "README.md", |t| t + "\n", "a harmless commit");
    let bad = commit(
        &clone,
        "engine/src/regress.rs",
        |t| {
            assert!(t.contains(r#"std::env::var("ENGINE_REGRESSION").ok()?"#));
            t.replace(
                r#"std::env::var("ENGINE_REGRESSION").ok()?"#,
                r#"String::from("skip_small_verify")"#,
            )
        },
        "skip_small_verify switched on for good",
    );
    let last = commit(&clone, "README.md", |t| t + "\n", "another harmless commit");
    let out = Command::new("bash")
        .current_dir(&clone)
        .env("CARGO_TARGET_DIR", repo.join("target/bisect-target"))
        .args([
            "scripts/bisect",
            &good,
            &last,
            "sim/corpus/skip_small_verify.json",
        ])
        .output()
        .expect("scripts/bisect runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("first bad commit: {bad}")),
        "{stdout}\n{stderr}"
    );
}
