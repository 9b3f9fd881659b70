//! A test that hangs on purpose, ignored by default: `scripts/hang-check` runs it under nextest
//! to prove that a hung test is killed and named within the configured limit (issue 16).

/// Sleeps forever unless `HEPH_HANG_CHECK` is unset (so a stray `--include-ignored` costs
/// nothing); nextest must terminate it and report it as TIMEOUT.
#[test]
#[ignore = "hangs on purpose; run by scripts/hang-check"]
fn deliberately_hanging_test() {
    if std::env::var_os("HEPH_HANG_CHECK").is_none() {
        return;
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
