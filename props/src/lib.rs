//! Property tests, loom models and async tests of the engine's components live in this crate's
//! `tests/` directory; the library itself only hosts shared strategies.
#![deny(missing_docs)]
