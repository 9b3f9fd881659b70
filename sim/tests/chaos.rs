//! Chaos mode: a real thread mutates DiskFs files while the engine runs. Outcomes vary from run
//! to run; integrity must hold for every one of them.

#[test]
fn integrity_holds_under_a_concurrent_mutator() {
    let report = sim::chaos::chaos(17, 60);
    report.clean_or_explain().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        report.outcomes.values().sum::<u64>(),
        60,
        "every schedule ran: {:?}",
        report.outcomes
    );
}

#[test]
fn a_schedule_that_cannot_be_set_up_is_a_harness_violation() {
    let missing = std::path::Path::new("/nonexistent/sim-chaos-root");
    let report = sim::chaos::chaos_in(17, 3, missing);
    assert_eq!(report.violations.len(), 3, "{:?}", report.violations);
    for v in &report.violations {
        assert_eq!(v.invariant, sim::oracle::Invariant::Harness);
        assert!(
            v.message.contains("/nonexistent/sim-chaos-root"),
            "{}",
            v.message
        );
        assert!(v.shrunk.is_some(), "the scenario is kept for replay");
    }
    assert!(
        report.clean_or_explain().is_err(),
        "a harness error fails the run"
    );
}
