//! MemFs against the kernel, call by call (`sim fsops`): a fixed run that `just test` holds to
//! no disagreement, reaching every failure the engine's `Fs` can meet on Linux.

use sim::fsops::{refuses_a_file_root, run};

/// The errnos a run must meet on the kernel, so that the error paths are compared, not only
/// the successes: ENOENT, EEXIST, ENOTDIR, EISDIR, EINVAL, ENAMETOOLONG, ENOTEMPTY, ELOOP,
/// EBUSY.
const MUST_MEET: [i32; 9] = [2, 17, 20, 21, 22, 36, 39, 40, 16];

#[test]
fn memfs_answers_every_call_as_the_kernel_does() {
    let (found, tally) = run(1, 3_000).expect("sim fsops runs");
    if let Some(d) = found.first() {
        panic!(
            "sequence {} of seed 1 disagrees after {:?}:\nMemFs:  {}\nkernel: {}",
            d.sequence, d.calls, d.mem, d.disk
        );
    }
    for errno in MUST_MEET {
        let met = tally.failures.get(&format!("errno {errno}")).copied();
        assert!(met.unwrap_or(0) > 0, "errno {errno} never met: {tally:?}");
    }
    assert!(tally.calls > 3_000, "{tally:?}");
}

#[test]
fn disk_fs_refuses_a_file_for_its_root() {
    assert_eq!(refuses_a_file_root(), Ok(()));
}

#[test]
fn the_command_names_its_run() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["fsops", "--seed", "3", "--sequences", "50"])
        .output()
        .expect("sim runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("50 sequences (seed 3)") && stderr.contains("0 disagreements"),
        "{stderr}"
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["fsops", "--sequences", "0"])
        .output()
        .expect("sim runs");
    assert_eq!(bad.status.code(), Some(2), "0 sequences is bad usage");
}
