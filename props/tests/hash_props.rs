//! Laws of the hashing functions.

use engine::hash::{bytes_hashout, StreamHasher};
use proptest::prelude::*;

proptest! {
    /// Any split of the content into updates gives the one-shot hash.
    #[test]
    fn chunking_never_changes_the_hashout(data in proptest::collection::vec(any::<u8>(), 0..4096), cuts in proptest::collection::vec(0usize..4096, 0..8), x: bool) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.sort_unstable();
        let mut hasher = StreamHasher::new();
        let mut start = 0;
        for cut in cuts {
            hasher.update(&data[start..cut]);
            start = cut;
        }
        hasher.update(&data[start..]);
        prop_assert_eq!(hasher.finish(x), bytes_hashout(&data, x));
    }
}
