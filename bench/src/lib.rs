//! Shared fixtures for the benchmarks of issue 8 (see BENCHMARKS.md): a tree of tiny source
//! files on DiskFs, engine configurations for "pack" (heph before PR #127) and "passthrough",
//! a heartbeat that records every tick's delay, percentiles, and the smoke-mode switch.

pub mod latency;
pub mod mode;
pub mod smoke;
pub mod tree;

pub use mode::Mode;
pub use tree::SourceTree;
