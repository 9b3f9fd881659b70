//! What the integration tests share: running the `sim` binary.

use std::process::Command;

/// Runs `sim args` with `env` set; returns the exit code, stdout and stderr.
pub fn sim_with(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("the sim binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
