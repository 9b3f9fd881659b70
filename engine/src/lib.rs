//! A reference engine that models heph's passthrough source-artifact pipeline (see SPEC.md):
//! hashing, drivers, gating, caching, passthrough verification and consumer materialization,
//! all over one file-system trait so a simulator can run it on a simulated file system.
#![deny(missing_docs)]

/// True when the named seeded regression is active; always `false` (and free) without the
/// `regressions` feature.
#[macro_export]
#[doc(hidden)]
macro_rules! regressed {
    ($name:ident) => {{
        #[cfg(feature = "regressions")]
        {
            $crate::regress::is($crate::regress::Regression::$name)
        }
        #[cfg(not(feature = "regressions"))]
        {
            false
        }
    }};
}

pub mod abi;
pub mod artifact;
pub mod asyncio;
pub mod cache;
pub mod ctx;
pub mod drivers;
pub mod engine;
pub mod error;
pub mod fs;
pub mod gate;
pub mod guard;
pub mod hash;
pub mod materialize;
pub mod passthrough;
pub mod patterns;
pub mod probe;
#[cfg(feature = "regressions")]
pub mod regress;
pub mod retry;
#[cfg(test)]
mod scripted;
pub mod sync;
pub mod target;
pub mod tmpkey;
pub mod trace;
pub mod walker;

pub use artifact::{Artifact, ArtifactType, Content};
pub use ctx::Ctx;
pub use engine::{Blocking, BuildOutput, Engine, EngineConfig, TargetResult};
pub use error::{EngineError, Result};
pub use gate::{is_passthrough, CacheConfig};
pub use target::{Driver, Graph, Target};
pub use trace::{ConsumePath, Event};
