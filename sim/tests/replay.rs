//! Replay prints one schedule's whole story, identically every time.

use sim::replay::replay;
use sim::scenario::generate;
use sim::schedule::RunOptions;

#[test]
fn replay_is_complete_and_deterministic() {
    let index = (0..)
        .find(|&i| generate(1, i).mutations.len() >= 2)
        .unwrap();
    let scenario = generate(1, index);
    let (text, clean) = replay(&scenario, &RunOptions::default()).unwrap();
    assert!(clean, "{text}");
    for needle in [
        "scenario:",
        "build 1:",
        "build 2:",
        "\"event\":\"hashin\"",
        "outcome: ",
        "mutation ",
        "verdict: all invariants hold",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert_eq!(replay(&scenario, &RunOptions::default()).unwrap().0, text);
}
