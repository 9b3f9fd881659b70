//! Property tests, loom models and async tests of the engine's components live in this crate's
//! `tests/` directory; the library itself only hosts what they share.
#![deny(missing_docs)]

use proptest::test_runner::{Config, FileFailurePersistence};

pub mod heartbeat;

/// The proptest configuration of every suite: cases from `PROPTEST_CASES` (256 by default),
/// failures persisted to `proptest-regressions/{suite}.txt` under this crate (integration tests
/// have no `lib.rs` beside them, so proptest's default `SourceParallel` cannot place them), so
/// a failure found once is replayed first on every later run once it is committed.
pub fn config(regressions: &'static str) -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..Config::default()
    }
}
