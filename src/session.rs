//! The one update path from collector snapshots to a finished model.
//!
//! A [`Session`] owns what it knows of each source (whether and when it answered; the snapshots
//! stay with whoever published them, and models link to them weakly), the trackers that keep
//! each half's history, and the alert engine. Each [`Session::ingest`] updates only the half
//! that changed, derives the model once and judges the alerts once, on a clock that never goes
//! backwards; the result is an immutable [`Model`] behind an `Arc`. The dashboard (on its own task, off the UI),
//! `snapshot`, `check`, the export key and the screenshot generator all go through it.

use std::sync::Arc;
use std::time::SystemTime;

use crate::alerts::{AlertEngine, RuleSet, observe};
use crate::clickhouse::snapshot::ClickHouseSnapshot;
use crate::config::{Config, PipelineConfig};
use crate::kafka::snapshot::KafkaSnapshot;
#[cfg(test)]
use crate::model::SnapshotsReplaced;
use crate::model::clickhouse::{ClickHouseModel, ClickHouseTracker};
use crate::model::kafka::{KafkaModel, KafkaTracker};
use crate::model::own_load::PipetopLoad;
use crate::model::{Model, SnapshotLinks, Sources};
use crate::source::{SourceState, SourceStatus};
use crate::timeline::{self, Timeline};

#[derive(Clone)]
pub struct Session {
    pipelines: Vec<PipelineConfig>,
    /// The ClickHouse query_log window, which the Kafka-engine exception rule counts within.
    window_s: u64,
    /// Whether and when each source answered. The snapshots themselves are kept by whoever
    /// published them (the collector's channel until its next poll starts, a poller, a player),
    /// never by the session: it links to them weakly, for the models' export.
    kafka_state: SourceState,
    clickhouse_state: SourceState,
    snapshots: SnapshotLinks,
    /// What the latest good poll of each source cost, read when it arrived.
    pipetop_load: PipetopLoad,
    kafka_tracker: KafkaTracker,
    clickhouse_tracker: ClickHouseTracker,
    kafka: Arc<KafkaModel>,
    clickhouse: Arc<ClickHouseModel>,
    alerts: AlertEngine,
    thresholds: Arc<RuleSet>,
    /// The newest event time judged so far.
    clock: Option<SystemTime>,
    evaluations: u64,
    criticals_fired: u64,
    timeline: Timeline,
    /// Whether `timeline` is kept: the events screen reads it, `serve` does not.
    events: bool,
    model: Arc<Model>,
}

impl Session {
    /// A session judged by the config's alert rules (validated when the config was loaded).
    pub fn new(config: &Config) -> Session {
        let rules = RuleSet::new(&config.alerts).unwrap_or_default();
        let points = crate::model::series::history_points(config.history, config.refresh);
        let mut session = Session {
            pipelines: config.pipelines.clone(),
            window_s: config.clickhouse.window.as_secs(),
            kafka_state: SourceState::default(),
            clickhouse_state: SourceState::default(),
            snapshots: SnapshotLinks::default(),
            pipetop_load: PipetopLoad::default(),
            kafka_tracker: KafkaTracker::with_history(points),
            clickhouse_tracker: ClickHouseTracker::with_history(points),
            kafka: Arc::default(),
            clickhouse: Arc::default(),
            alerts: AlertEngine::new(rules.clone()),
            thresholds: Arc::new(rules),
            clock: None,
            evaluations: 0,
            criticals_fired: 0,
            timeline: Timeline::default(),
            events: true,
            model: Arc::default(),
        };
        // The pipeline rows exist from the start (nothing found yet), so the screen's layout does
        // not jump when the first poll lands.
        session.model = Arc::new(session.derive());
        session
    }

    /// The same session without the timeline of events, which only the dashboard's events
    /// screen and the export read: comparing every model with the one before costs about a tenth
    /// of a derivation at 200,000 group-partitions. `serve` runs so.
    pub fn without_events(mut self) -> Session {
        self.events = false;
        self
    }

    /// The latest finished model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// How many times the alerts have been judged: once per ingest that brought news.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// Takes what the collectors published (either or both; a status seen before is ignored),
    /// updates the halves that changed, derives the model and judges the alerts, once. Returns
    /// whether anything changed.
    pub fn ingest(
        &mut self,
        kafka: Option<SourceStatus<KafkaSnapshot>>,
        clickhouse: Option<SourceStatus<ClickHouseSnapshot>>,
    ) -> bool {
        let mut events = Vec::new();
        if let Some(status) = kafka.filter(|s| s.polls != self.kafka_state.polls) {
            let news = status.last_good_at != self.kafka_state.last_good_at;
            if news && let Some(snapshot) = &status.last_good {
                if let Some(model) = self.kafka_tracker.update(snapshot) {
                    self.kafka = Arc::new(model);
                }
                self.pipetop_load.kafka = Some(PipetopLoad::kafka_of(snapshot));
                self.snapshots.kafka = Some(Arc::downgrade(snapshot));
            }
            self.kafka_state = status.state();
            events.push(self.kafka_state.latest_event());
        }
        if let Some(status) = clickhouse.filter(|s| s.polls != self.clickhouse_state.polls) {
            let news = status.last_good_at != self.clickhouse_state.last_good_at;
            if news && let Some(snapshot) = &status.last_good {
                let model = self
                    .clickhouse_tracker
                    .update(snapshot, self.alerts.rules());
                self.clickhouse = Arc::new(model);
                self.pipetop_load.hosts = PipetopLoad::hosts_of(snapshot);
                self.snapshots.clickhouse = Some(Arc::downgrade(snapshot));
            }
            self.clickhouse_state = status.state();
            events.push(self.clickhouse_state.latest_event());
        }
        if events.is_empty() {
            return false;
        }
        let newest = events.into_iter().flatten().max();
        // A source whose news is older than what was already judged (a slow ClickHouse poll that
        // started before the last Kafka one) must not turn the alert clock back.
        self.clock = self.clock.max(newest);
        let mut model = self.derive();
        if let Some(at) = self.clock {
            let observations =
                observe::observe(&model, crate::time::unix_ms(at) / 1000, self.window_s);
            let fired = self.alerts.evaluate(observations, at);
            self.criticals_fired += fired.len() as u64;
            self.evaluations += 1;
        }
        model.alerts = self.alerts.summary();
        model.judged_at = self.clock;
        model.criticals_fired = self.criticals_fired;
        if let Some(at) = self.clock
            && self.events
        {
            self.timeline
                .record(at, timeline::changes(&self.model, &model));
        }
        model.events = self.timeline.shared();
        self.model = Arc::new(model);
        true
    }

    /// The model of the halves as they are now, before the alerts are judged on it.
    fn derive(&self) -> Model {
        let mut model = Model::new(
            Sources {
                kafka: self.kafka_state.clone(),
                clickhouse: self.clickhouse_state.clone(),
            },
            Arc::clone(&self.kafka),
            Arc::clone(&self.clickhouse),
            &self.pipelines,
            self.pipetop_load.clone(),
            self.snapshots.clone(),
        );
        model.thresholds = Arc::clone(&self.thresholds);
        model
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::alerts::{RuleKind, Subject, SubjectKind};
    use crate::clickhouse::snapshot::{HostOutcome, Section, ServerInfo};

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    fn config() -> Config {
        // Fire at once, so one evaluation is visible in the alert history.
        Config {
            alerts: toml::from_str(
                "[rules.clickhouse_unreachable]\nfor = \"0s\"\n[rules.kafka_unreachable]\nfor = \"0s\"\n",
            )
            .unwrap(),
            ..Config::default()
        }
    }

    fn kafka(polls: u64, taken: SystemTime) -> SourceStatus<KafkaSnapshot> {
        let mut status = SourceStatus::default();
        for _ in 0..polls {
            let snapshot = KafkaSnapshot {
                taken_at_ms: crate::time::unix_ms(taken),
                ..KafkaSnapshot::default()
            };
            status.record(Ok(snapshot), taken);
        }
        status
    }

    fn clickhouse_down(polls: u64, failed: SystemTime) -> SourceStatus<ClickHouseSnapshot> {
        let mut status = SourceStatus::default();
        for _ in 0..polls {
            status.record(Err::<ClickHouseSnapshot, _>("refused".into()), failed);
        }
        status
    }

    /// The session keeps no snapshot: whoever published it does (here the status, as the
    /// collector's channel does), and models link to it weakly. Once the publisher lets it go
    /// for its next poll, a model derived from it says so: replaced while that poll runs, let go
    /// when that poll failed (its model still holds what was derived from it).
    #[test]
    fn models_link_to_the_snapshots_their_publisher_keeps() {
        let mut session = Session::new(&config());
        let mut status = SourceStatus::default();
        let good = |status: &mut SourceStatus<KafkaSnapshot>, s| {
            let snapshot = KafkaSnapshot {
                taken_at_ms: crate::time::unix_ms(at(s)),
                ..KafkaSnapshot::default()
            };
            status.record(Ok(snapshot), at(s));
        };
        let taken_at = |model: &Model| model.snapshots().unwrap().kafka.map(|k| k.taken_at_ms);
        good(&mut status, 10);
        assert!(session.ingest(Some(status.clone()), None));
        status.mark_taken();
        let first_model = Arc::clone(session.model());
        assert_eq!(taken_at(&first_model), Some(crate::time::unix_ms(at(10))));

        // The next poll starts: the publisher lets go, and the model cannot be exported yet.
        status.let_go_if_taken();
        assert_eq!(first_model.snapshots().unwrap_err(), SnapshotsReplaced);
        good(&mut status, 12);
        assert!(session.ingest(Some(status.clone()), None));
        status.mark_taken();
        assert_eq!(
            taken_at(session.model()),
            Some(crate::time::unix_ms(at(12)))
        );
        assert!(session.model().snapshots().unwrap().clickhouse.is_none());
        assert_eq!(first_model.snapshots().unwrap_err(), SnapshotsReplaced);

        // The poll after it fails: the snapshot is gone for good, the model derived from it is not.
        let kafka_model = Arc::clone(&session.model().kafka);
        status.let_go_if_taken();
        status.record(Err::<KafkaSnapshot, _>("refused".into()), at(14));
        assert!(session.ingest(Some(status.clone()), None));
        let after_failure = session.model().snapshots().unwrap();
        assert!(after_failure.kafka.is_none());
        assert_eq!(after_failure.let_go, ["kafka"]);
        assert!(Arc::ptr_eq(&kafka_model, &session.model().kafka));
        assert_eq!(
            session.model().sources.kafka.last_good_at,
            Some(at(12)),
            "the age of the last good data is still known"
        );

        // A status nobody marked as taken keeps its snapshot through the next poll.
        good(&mut status, 16);
        assert!(session.ingest(Some(status.clone()), None));
        status.let_go_if_taken();
        assert_eq!(
            taken_at(session.model()),
            Some(crate::time::unix_ms(at(16)))
        );
    }

    /// Kafka and ClickHouse publish at their own pace, and a slow ClickHouse poll reports an event
    /// older than the Kafka poll already judged: each ingest judges the alerts exactly once, and
    /// the clock they are judged on never goes backwards.
    #[test]
    fn alerts_are_judged_once_per_change_on_a_clock_that_never_goes_back() {
        let mut session = Session::new(&config());
        let mut clocks = Vec::new();
        let updates: Vec<(Option<u64>, Option<u64>)> = vec![
            (Some(10), None),
            (None, Some(8)), // older than the Kafka poll already judged
            (Some(12), None),
            (Some(14), Some(13)),
            (None, Some(11)),
            (Some(16), None),
        ];
        let mut polls = (0, 0);
        for (i, (k, c)) in updates.into_iter().enumerate() {
            let k = k.map(|s| {
                polls.0 += 1;
                kafka(polls.0, at(s))
            });
            let c = c.map(|s| {
                polls.1 += 1;
                clickhouse_down(polls.1, at(s))
            });
            assert!(session.ingest(k, c));
            assert_eq!(
                session.evaluations(),
                i as u64 + 1,
                "one judgement per ingest"
            );
            clocks.push(session.model().judged_at.unwrap());
        }
        assert!(
            clocks.windows(2).all(|w| w[0] <= w[1]),
            "the alert clock went back: {clocks:?}"
        );
        assert_eq!(clocks.last(), Some(&at(16)));
        let down = Subject::new(SubjectKind::Source, "clickhouse");
        let alert = session
            .model()
            .alerts
            .active
            .iter()
            .find(|a| a.rule == RuleKind::ClickHouseUnreachable && a.subject == down)
            .cloned()
            .expect("clickhouse_unreachable fires");
        // It fired when it was first judged: at the Kafka poll's time (10), not the older 8.
        assert_eq!(alert.since, at(10));
    }

    #[test]
    fn a_session_without_events_keeps_no_timeline() {
        let run = |session: Session| {
            let mut session = session;
            session.ingest(Some(kafka(1, at(1))), Some(clickhouse_down(1, at(1))));
            session.ingest(Some(kafka(2, at(3))), Some(clickhouse_down(2, at(3))));
            session.model().events.len()
        };
        assert!(run(Session::new(&config())) > 0, "an alert fired: an event");
        assert_eq!(run(Session::new(&config()).without_events()), 0);
    }

    #[test]
    fn a_status_seen_before_changes_nothing() {
        let mut session = Session::new(&config());
        assert!(session.ingest(Some(kafka(1, at(1))), None));
        let before = Arc::clone(session.model());
        assert!(!session.ingest(Some(kafka(1, at(1))), Some(SourceStatus::default())));
        assert!(Arc::ptr_eq(&before, session.model()));
        assert_eq!(session.evaluations(), 1);
    }

    #[test]
    fn only_the_half_that_changed_is_derived_again() {
        let mut session = Session::new(&config());
        session.ingest(Some(kafka(1, at(1))), None);
        let kafka_half = Arc::clone(&session.model().kafka);
        let mut ch = SourceStatus::default();
        ch.record(
            Ok(ClickHouseSnapshot {
                taken_at_ms: crate::time::unix_ms(at(2)),
                poll_ms: 1,
                queries: 1,
                server: ServerInfo {
                    version: "26.9".into(),
                    uptime_s: 1,
                },
                tables: Section::Unavailable {
                    reason: "no host answered".into(),
                },
                hosts: vec![HostOutcome::Failed {
                    host: "h".into(),
                    error: "x".into(),
                }],
            }),
            at(2),
        );
        session.ingest(None, Some(ch));
        assert!(Arc::ptr_eq(&kafka_half, &session.model().kafka));
        assert_eq!(session.model().clickhouse.hosts.len(), 1);
    }
}
