//! The two engines being compared: heph before PR #127, where every output is packed into the
//! cache, and heph after it, where uncached sources pass through by reference.

use engine::{Blocking, EngineConfig};

/// Which cache-write behaviour an engine models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Before PR #127: every fs:file output is packed into the tmp cache.
    Pack,
    /// After PR #127: fs:file outputs pass through; nothing to pack, no cache write.
    Passthrough,
}

impl Mode {
    /// Both modes, pack first.
    pub const BOTH: [Mode; 2] = [Mode::Pack, Mode::Passthrough];

    /// The name used in benchmark ids and tables.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Pack => "pack",
            Mode::Passthrough => "passthrough",
        }
    }

    /// An engine configuration for this mode with the given blocking policy.
    pub fn config(self, blocking: Blocking) -> EngineConfig {
        EngineConfig {
            passthrough: self == Mode::Passthrough,
            blocking,
            ..EngineConfig::default()
        }
    }
}
