//! The validation-policy matrix at a fixed seed, reviewed like code: a change in how any rule
//! decides, or in what the generator produces, shows here as a changed count.

use engine::walker::Policy;
use sim::policies::{markdown, matrix, GRANULARITIES};

#[test]
fn fixed_seed_policy_matrix() {
    let m = matrix(1, 300, (&Policy::ALL, &GRANULARITIES), 2);
    assert_eq!(
        m.failures(),
        Vec::<String>::new(),
        "no violation; ours stale-free"
    );
    insta::assert_snapshot!("policies_seed_1", markdown(&m));
}
