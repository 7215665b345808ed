//! Retention risk against the live stack: a group whose commit stays at offset 0 of a topic that
//! keeps messages for 20 seconds while the load generator produces into it. pipetop reads the
//! topic's retention (DescribeConfigs), raises `retention_risk` as the oldest unread message
//! ages towards it (warning at 50 %, critical at 80 %), then `messages_lost` once retention
//! deletes what the group never read, with the count the broker's own log start gives
//! (`kafka-get-offsets --time -2`, the reference tool). The stack checks retention every 2 s
//! (`log.retention.check.interval.ms` in tests/stack/lib.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use pipetop::alerts::{AlertState, RuleKind, Severity, Subject, SubjectKind};

const RETENTION_MS: i64 = 20_000;

/// The log start of partition 0 as the reference tool reads it.
fn log_start_by_reference_tool(topic: &str) -> i64 {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new(format!("{root}/tests/stack/kafka-cli"))
        .args([
            "kafka-get-offsets",
            "--bootstrap-server",
            common::KAFKA,
            "--topic",
            topic,
            "--time",
            "-2",
        ])
        .output()
        .expect("run kafka-get-offsets");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{topic}:0:")))
        .unwrap_or_else(|| panic!("no partition 0 in kafka-get-offsets output: {text:?}"));
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

/// What pipetop said after one poll.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug, in the failure messages
struct Seen {
    at_s: f64,
    used: Option<f64>,
    left_s: Option<f64>,
    lost: u64,
    retention_risk: Option<Severity>,
    messages_lost: Option<Severity>,
}

fn firing(watch: &common::Watch, rule: RuleKind, group: &str) -> Option<Severity> {
    watch
        .alert(rule, &Subject::new(SubjectKind::Group, group))
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| a.severity)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_behind_a_short_retention_raises_retention_risk_then_messages_lost() {
    common::needs!(Kafka, LoadGenerator);
    let topic = common::unique("retention_t");
    let group = common::unique("retention_g");
    common::create_topic_with(
        &topic,
        1,
        &[
            ("retention.ms", &RETENTION_MS.to_string()),
            // Roll a segment every second, so retention deletes a second's worth at a time.
            ("segment.ms", "1000"),
        ],
    )
    .await;
    let producer = common::start_producer(&topic, 20);
    // The group read nothing: everything produced from now on is unread.
    common::commit(&group, &topic, &[(0, 0)]);

    let mut watch = common::Watch::new(&common::config());
    let started = Instant::now();
    // What pipetop said, poll by poll.
    let mut seen: Vec<Seen> = Vec::new();
    let show = |seen: &[Seen]| {
        seen.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        watch.poll_kafka().await;
        let g = watch.model().kafka.group(&group).cloned().unwrap();
        let risk = firing(&watch, RuleKind::RetentionRisk, &group);
        let lost = firing(&watch, RuleKind::MessagesLost, &group);
        seen.push(Seen {
            at_s: started.elapsed().as_secs_f64(),
            used: g.retention.used,
            left_s: g.retention.left_s,
            lost: g.retention.lost,
            retention_risk: risk,
            messages_lost: lost,
        });
        if let (Some(used), Some(left), Some(limit)) = (
            g.retention.used,
            g.retention.left_s,
            g.retention.retention_ms,
        ) {
            assert_eq!(limit, RETENTION_MS, "the topic's retention.ms as created");
            let age = g.time_lag_s.unwrap();
            assert!((used - age / 20.0).abs() < 1e-9, "{}", show(&seen));
            assert!(
                (left - (20.0 - age).max(0.0)).abs() < 1e-9,
                "{}",
                show(&seen)
            );
        }
        if lost.is_some() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "messages_lost never fired:\n{}",
            show(&seen)
        );
    }
    // The risk rose through both levels before anything was lost.
    let warned = seen
        .iter()
        .position(|s| s.retention_risk == Some(Severity::Warning))
        .unwrap_or_else(|| panic!("retention_risk never warned:\n{}", show(&seen)));
    let critical = seen
        .iter()
        .position(|s| s.retention_risk == Some(Severity::Critical))
        .unwrap_or_else(|| panic!("retention_risk never went critical:\n{}", show(&seen)));
    let lost_at = seen.iter().position(|s| s.messages_lost.is_some()).unwrap();
    assert!(warned < critical && critical < lost_at, "{}", show(&seen));
    let used_when_warned = seen[warned].used.unwrap();
    assert!(
        (0.5..0.8).contains(&used_when_warned),
        "warned at {used_when_warned}:\n{}",
        show(&seen)
    );
    assert_eq!(seen[lost_at].messages_lost, Some(Severity::Critical));

    // The count: the broker's log start minus the committed 0, read when it did not move across
    // pipetop's poll. With the producer stopped no segment rolls, so once retention has deleted
    // the closed ones the log start holds still (the reference tool takes seconds to start).
    drop(producer);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut tries = Vec::new();
    loop {
        let before = log_start_by_reference_tool(&topic);
        watch.poll_kafka().await;
        let after = log_start_by_reference_tool(&topic);
        let lost = watch.model().kafka.group(&group).unwrap().retention.lost;
        if before == after {
            assert!(before > 0, "retention deleted nothing yet");
            assert_eq!(lost, u64::try_from(before).unwrap(), "messages lost");
            break;
        }
        tries.push((before, lost, after));
        assert!(
            Instant::now() < deadline,
            "the log start never held still across a poll: (before, pipetop, after) {tries:?}"
        );
    }
    common::delete_topic(&topic).await;
}
