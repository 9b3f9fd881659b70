//! Tmp keys (SPEC §5: `{hashin}_{nanos}` for a tmp target), one target's each.
//!
//! Two targets with one hashin (two plugins given the same source, two execs alike) that pack
//! in one instant of a clock coarser than a build would share `{hashin}_{nanos}`, and the
//! second's tars would replace the first's while the first's artifacts still name them: if a
//! source changed between the two, the first target's entry then holds bytes it never made.
//! So a key found held by another target moves on to the next nanosecond. A target that packs
//! again in the same instant keeps its own key (its new entry replaces its old one).
//!
//! Architecture Invariant: within one engine, a tmp key names one target's entry.

use std::collections::BTreeMap;

use crate::sync::{lock, Mutex};

/// At most this many keys are remembered; past it they are forgotten (a clock that stands
/// still for this many packs is not one a build runs on).
const MAX_REMEMBERED: usize = 1 << 16;

/// The tmp keys handed out, by owner.
#[derive(Debug, Default)]
pub struct TmpKeys {
    owners: Mutex<BTreeMap<String, String>>,
}

impl TmpKeys {
    /// The tmp key of `target`, whose key is `hashin`, at `now_nanos`.
    pub fn key(&self, hashin: &str, target: &str, now_nanos: u64) -> String {
        let mut owners = lock(&self.owners);
        if owners.len() >= MAX_REMEMBERED {
            owners.clear();
        }
        if crate::regressed!(TmpKeySharedAcrossTargets) {
            return format!("{hashin}_{now_nanos}");
        }
        let mut nanos = now_nanos;
        // Each step passes a key another target holds: at most as many as are remembered.
        for _ in 0..=MAX_REMEMBERED {
            let key = format!("{hashin}_{nanos}");
            match owners.get(&key) {
                Some(owner) if owner != target => nanos = nanos.saturating_add(1),
                _ => {
                    owners.insert(key.clone(), target.to_string());
                    debug_assert!(nanos >= now_nanos);
                    return key;
                }
            }
        }
        unreachable!("fewer than {MAX_REMEMBERED} keys are held by other targets")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_targets_with_one_hashin_in_one_instant_get_two_keys() {
        let keys = TmpKeys::default();
        assert_eq!(keys.key("ab", "c0", 7), "ab_7");
        assert_eq!(keys.key("ab", "c2", 7), "ab_8", "the next nanosecond");
        assert_eq!(
            keys.key("ab", "c0", 7),
            "ab_7",
            "a target keeps its own key"
        );
        assert_eq!(
            keys.key("cd", "c2", 7),
            "cd_7",
            "another hashin is another key"
        );
        assert_eq!(keys.key("ab", "c3", 9), "ab_9");
    }
}
