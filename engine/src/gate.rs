//! Gating (SPEC §4): which outputs skip the cache and pass through by reference.

use serde::{Deserialize, Serialize};

use crate::artifact::Content;

/// A target's cache configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CacheConfig {
    /// Whether results are cached under their hashin.
    pub enabled: bool,
    /// Shell mode: always runs uncached.
    pub shell: bool,
}

impl CacheConfig {
    /// Cache on, not a shell.
    pub const CACHED: CacheConfig = CacheConfig {
        enabled: true,
        shell: false,
    };
    /// Cache off (source drivers).
    pub const UNCACHED: CacheConfig = CacheConfig {
        enabled: false,
        shell: false,
    };

    /// SPEC §4: `!enabled || shell`.
    pub fn use_tmp_cache(self) -> bool {
        !self.enabled || (self.shell && !crate::regressed!(ShellCaches))
    }
}

/// SPEC §4, exactly: only a flagged File or a View on the tmp path passes through.
pub fn is_passthrough(use_tmp_cache: bool, content: &Content) -> bool {
    (use_tmp_cache || crate::regressed!(GateIgnoresTmp))
        && match content {
            Content::File { passthrough, .. } => *passthrough,
            Content::View(_) => true,
            Content::Raw { .. } | Content::Tar(_) => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(passthrough: bool) -> Content {
        Content::File {
            source_path: PathBuf::from("go.mod"),
            out_path: PathBuf::from("mgmt/go/go.mod"),
            x: false,
            passthrough,
        }
    }

    #[test]
    fn is_passthrough_gates_on_tmp_and_producer_flag() {
        assert!(
            is_passthrough(true, &file(true)),
            "flagged File on the tmp path passes"
        );
        assert!(!is_passthrough(false, &file(true)), "cache enabled: packs");
        assert!(!is_passthrough(true, &file(false)), "unflagged File packs");
        let raw = Content::Raw {
            data: vec![1, 2, 3],
            path: PathBuf::from("r"),
            x: false,
        };
        assert!(!is_passthrough(true, &raw), "Raw packs");
    }

    #[test]
    fn use_tmp_cache_table() {
        let check = |enabled, shell, expected| {
            assert_eq!(
                CacheConfig { enabled, shell }.use_tmp_cache(),
                expected,
                "{enabled} {shell}"
            )
        };
        check(true, false, false);
        check(true, true, true);
        check(false, false, true);
        check(false, true, true);
    }

    #[test]
    fn views_pass_and_tars_pack() {
        let view = Content::View(Box::default());
        assert!(is_passthrough(true, &view));
        assert!(!is_passthrough(false, &view));
        assert!(!is_passthrough(true, &Content::Tar(PathBuf::from("t.tar"))));
    }
}
