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
    assert!(
        report
            .outcomes
            .keys()
            .all(|k| !k.starts_with("setup_error")),
        "{:?}",
        report.outcomes
    );
}
