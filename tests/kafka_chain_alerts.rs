//! The Kafka-engine chain's alerts on the fixture model, judged by the real engine.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod fixtures;

use pipetop::alerts::{AlertState, RuleKind, Severity, SubjectKind};

/// The fixture chain (fixtures/kafka_chain.rs): the failing view raises `mv_failures` with its
/// Kafka table and exception in the detail, the healthy one nothing; commit failures growing 2 a
/// poll raise `kafka_engine_commit_failures` on the host, with the failures of the window (every
/// poll of the fixture is in it: 2 × the polls after the first).
#[test]
fn kafka_chain_alerts() {
    let model = fixtures::kafka_chain::chain_model();
    let find = |rule: RuleKind, name: &str| {
        model
            .alerts
            .active
            .iter()
            .find(|a| a.rule == rule && a.subject.name == name)
            .cloned()
    };
    let mv = find(RuleKind::MvFailures, "kafka_engine.events_mv").expect("mv_failures");
    assert_eq!(mv.subject.kind, SubjectKind::Table);
    assert_eq!(
        (mv.severity, mv.state, mv.value),
        (Severity::Warning, AlertState::Firing, 12.0)
    );
    assert!(
        mv.detail.contains("kafka_engine.events_queue")
            && mv.detail.contains(fixtures::kafka_chain::EXCEPTION),
        "{}",
        mv.detail
    );
    assert!(find(RuleKind::MvFailures, "kafka_engine.events_dedup_mv").is_none());
    let commits = model
        .alerts
        .active
        .iter()
        .find(|a| a.rule == RuleKind::KafkaEngineCommitFailures)
        .expect("kafka_engine_commit_failures");
    let in_window = 2.0 * (fixtures::POLLS - 1) as f64;
    assert_eq!(
        (commits.severity, commits.value),
        (Severity::Warning, in_window)
    );
    assert!(
        commits.detail.contains("in the window"),
        "{}",
        commits.detail
    );
}
