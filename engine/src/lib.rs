//! A reference engine that models heph's passthrough source-artifact pipeline (see SPEC.md):
//! hashing, drivers, gating, caching, passthrough verification and consumer materialization,
//! all over one file-system trait so a simulator can run it on a simulated file system.
#![deny(missing_docs)]

pub mod error;
pub mod fs;
pub mod hash;
pub mod sync;

pub use error::{EngineError, Result};
