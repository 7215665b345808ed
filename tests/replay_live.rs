//! Record and replay against the live stack: the dashboard's own path (collectors on their tasks,
//! the session thread, the recorder tapping what it ingests) records a scripted incident (the
//! load generator's sink paused until the time-lag alert fires, then resumed until it clears), and
//! replaying the file through a fresh session gives the same alert history, the same active
//! alerts and the same events timeline as the live run, at the same recorded instants.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pipetop::alerts::{AlertState, RuleKind, Subject, SubjectKind};
use pipetop::model::Model;
use pipetop::recording::player::Player;
use pipetop::recording::recorder::{self, RecordTo};

/// Waits (up to `limit`) for a model the live session published that satisfies `done`.
async fn wait_for(
    models: &mut tokio::sync::watch::Receiver<Arc<Model>>,
    limit: Duration,
    what: &str,
    done: impl Fn(&Model) -> bool,
) -> Arc<Model> {
    let started = Instant::now();
    loop {
        let model = models.borrow_and_update().clone();
        if done(&model) {
            return model;
        }
        assert!(
            started.elapsed() < limit,
            "{what} not reached within {limit:?}"
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), models.changed()).await;
    }
}

fn time_lag_alert(model: &Model, group: &str) -> Option<(AlertState, pipetop::alerts::Severity)> {
    let subject = Subject::new(SubjectKind::Group, group);
    model
        .alerts
        .active
        .iter()
        .find(|a| a.rule == RuleKind::ConsumerTimeLag && a.subject == subject)
        .map(|a| (a.state, a.severity))
}

/// What must come out the same: the fired/cleared history (newest first), the active alerts and
/// the timeline, with their instants.
fn judged(model: &Model) -> (String, String, String) {
    (
        format!("{:#?}", model.alerts.history),
        format!("{:#?}", model.alerts.active),
        format!("{:#?}", model.events),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_incident_replays_to_the_same_alert_history() {
    common::needs!(Kafka, ClickHouse, LoadGenerator);
    let topic = common::unique("replay_pause");
    let group = common::unique("replay_pause_g");
    common::create_topic(&topic, 1).await;
    let toml = format!(
        r#"
        refresh = "500ms"
        [kafka]
        bootstrap_servers = "{kafka}"
        include_groups = ["{group}"]
        include_topics = ["{topic}"]
        [clickhouse]
        url = "{clickhouse}"
        [alerts.rules.consumer_time_lag]
        warn = 2.0
        crit = 4.0
        for = "1s"
        clear_ratio = 0.5
        "#,
        kafka = common::KAFKA,
        clickhouse = common::CLICKHOUSE,
    );
    let config = common::config_from_toml(&toml);
    let path = std::env::temp_dir().join(common::unique("replay_live.rec"));
    let to = RecordTo {
        path: path.clone(),
        config_toml: toml.clone(),
        limit: 64 << 20,
    };
    let (tap, recorder) = recorder::start(&to).unwrap();
    let collectors = pipetop::collect::Collectors::spawn(&config).unwrap();
    let session = pipetop::live::spawn_session(
        &config,
        collectors.kafka.clone(),
        collectors.clickhouse.clone(),
        Some(tap),
    )
    .unwrap();
    let mut models = session.models.clone();
    let _producer = common::start_producer(&topic, 20);
    let sink = common::LoadSink::start(&topic, &group);

    wait_for(
        &mut models,
        Duration::from_secs(60),
        "the sink caught up",
        |m| {
            m.kafka
                .groups
                .iter()
                .any(|g| g.group_id == group && g.time_lag_s.is_some_and(|t| t < 1.0))
                && time_lag_alert(m, &group).is_none()
        },
    )
    .await;
    sink.ctl(&["pause"]);
    wait_for(
        &mut models,
        Duration::from_secs(40),
        "the critical firing",
        |m| {
            time_lag_alert(m, &group)
                == Some((AlertState::Firing, pipetop::alerts::Severity::Critical))
        },
    )
    .await;
    sink.ctl(&["run"]);
    let live = wait_for(
        &mut models,
        Duration::from_secs(60),
        "the alert cleared",
        |m| {
            time_lag_alert(m, &group).is_none()
                && m.alerts
                    .history
                    .iter()
                    .any(|e| e.rule == RuleKind::ConsumerTimeLag && e.cleared_at.is_some())
        },
    )
    .await;

    // Stop: the session thread ends, and with it the tap; the recorder writes what is queued.
    drop(models);
    drop(session);
    drop(collectors);
    let stats = tokio::task::spawn_blocking(move || recorder.finish())
        .await
        .unwrap();
    assert_eq!(stats.error(), None);
    assert_eq!(
        stats.dropped.load(Ordering::Relaxed),
        0,
        "the recorder fell behind: the replay cannot match"
    );

    let fired: Vec<_> = live
        .alerts
        .history
        .iter()
        .filter(|e| e.rule == RuleKind::ConsumerTimeLag)
        .collect();
    assert!(
        fired.len() >= 2 && fired.iter().all(|e| e.cleared_at.is_some()),
        "the live run fired and cleared the warning and the critical: {fired:#?}"
    );

    // Replay to the live model's ingest (each is named by the two sources' poll counts), through
    // a fresh session judged by the recording's own config.
    let mut player = Player::open(&path).unwrap();
    assert_eq!(player.problem(), None);
    let polls = |m: &Model| (m.sources.kafka.polls, m.sources.clickhouse.polls);
    while polls(player.model()) != polls(&live) {
        assert!(
            player.step(),
            "the replay ended before the live run's last model {:?}",
            polls(&live)
        );
    }
    let replayed = player.model();
    assert_eq!(replayed.judged_at, live.judged_at, "the same alert clock");
    let (live_history, live_active, live_events) = judged(&live);
    let (history, active, events) = judged(replayed);
    assert_eq!(history, live_history, "the alert history");
    assert_eq!(active, live_active, "the active alerts");
    assert_eq!(events, live_events, "the events timeline");

    // Seeking back to the middle of the incident and forward again re-derives the same end.
    let (start, end) = player.span().unwrap();
    player.seek(start + (end.duration_since(start).unwrap() / 2));
    while polls(player.model()) != polls(&live) {
        assert!(player.step());
    }
    assert_eq!(judged(player.model()).0, live_history, "after a seek back");
    let _ = std::fs::remove_file(&path);
}
