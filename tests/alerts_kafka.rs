//! Kafka alerts against the live stack: the load generator's sink paused and resumed, and per-group
//! overrides. pipetop is driven through its library (its own collectors polled into a `Model`, which
//! judges the alerts on every ingest), with small thresholds so each test takes seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant, SystemTime};

use pipetop::alerts::{AlertState, RuleKind, Severity, Subject, SubjectKind};

const REFRESH: Duration = Duration::from_millis(500);

/// One round: the measured time lag of the group and the time-lag alert's level after it.
#[derive(Debug, Clone)]
struct Sample {
    /// When this round's Kafka poll was recorded: the engine judges on this clock.
    at: SystemTime,
    time_lag: Option<f64>,
    /// (severity, state, since) of the consumer_time_lag alert.
    alert: Option<(Severity, AlertState, SystemTime)>,
}

impl Sample {
    fn firing(&self) -> Option<Severity> {
        self.alert
            .and_then(|(s, st, _)| (st == AlertState::Firing).then_some(s))
    }
}

async fn sample(watch: &mut common::Watch, group: &str) -> Sample {
    watch.poll_kafka().await;
    let subject = Subject::new(SubjectKind::Group, group);
    Sample {
        at: watch.kafka_polled_at().unwrap(),
        time_lag: watch
            .model()
            .kafka
            .groups
            .iter()
            .find(|g| g.group_id == group)
            .and_then(|g| g.time_lag_s),
        alert: watch
            .alert(RuleKind::ConsumerTimeLag, &subject)
            .map(|a| (a.severity, a.state, a.since)),
    }
}

/// Polls every REFRESH, recording samples, until `done` holds for the newest one.
async fn record_until(
    watch: &mut common::Watch,
    group: &str,
    limit: Duration,
    what: &str,
    samples: &mut Vec<Sample>,
    done: impl Fn(&Sample) -> bool,
) {
    let started = Instant::now();
    let mut ticker = tokio::time::interval(REFRESH);
    loop {
        ticker.tick().await;
        let s = sample(watch, group).await;
        samples.push(s.clone());
        if done(&s) {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{what} not reached within {limit:?}; samples:\n{}",
            show(samples)
        );
    }
}

fn show(samples: &[Sample]) -> String {
    let t0 = samples
        .first()
        .map(|s| s.at)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    samples
        .iter()
        .map(|s| {
            format!(
                "  +{:5.1}s  lag {:>6}  {:?}",
                s.at.duration_since(t0).unwrap_or_default().as_secs_f64(),
                s.time_lag.map_or("-".into(), |v| format!("{v:.2}")),
                s.alert.map(|(sev, st, _)| (sev, st))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The sink paused: lag time grows, the warning is pending for its `for` and then fires, then the
/// critical; resumed (draining slower than real time, so the lag falls gradually), the critical
/// holds below its threshold until clear_ratio × threshold, de-escalates to the warning, which
/// holds likewise, and then clears. The history records both as fired and cleared.
#[tokio::test(flavor = "multi_thread")]
async fn paused_sink_fires_time_lag_warning_then_critical_and_resuming_clears_them() {
    common::needs!(Kafka, ClickHouse, LoadGenerator);
    let topic = common::unique("alerts_pause");
    let group = common::unique("alerts_pause_g");
    common::create_topic(&topic, 1).await;
    // warn > 3 s, crit > 6 s, each after 2 s; clear below half the threshold.
    let (warn, crit, for_, clear_ratio) = (3.0, 6.0, Duration::from_secs(2), 0.5);
    let config = common::config_from_toml(&format!(
        r#"
        refresh = "500ms"
        [kafka]
        bootstrap_servers = "{kafka}"
        include_groups = ["{group}"]
        include_topics = ["{topic}"]
        [alerts.rules.consumer_time_lag]
        warn = {warn}
        crit = {crit}
        for = "2s"
        clear_ratio = {clear_ratio}
        "#,
        kafka = common::KAFKA,
    ));
    let producer = common::start_producer(&topic, 20);
    let sink = common::LoadSink::start(&topic, &group);
    let mut watch = common::Watch::new(&config);
    let subject = Subject::new(SubjectKind::Group, &group);

    // Running: caught up, quiet.
    let mut samples = Vec::new();
    record_until(
        &mut watch,
        &group,
        Duration::from_secs(45),
        "the sink caught up",
        &mut samples,
        |s| s.time_lag.is_some_and(|t| t < 1.5) && s.alert.is_none(),
    )
    .await;

    // Paused: warning, then critical.
    sink.ctl(&["pause"]);
    let mut paused = Vec::new();
    record_until(
        &mut watch,
        &group,
        Duration::from_secs(30),
        "critical firing",
        &mut paused,
        |s| s.firing() == Some(Severity::Critical),
    )
    .await;
    let log = show(&paused);
    for s in &paused {
        assert!(
            s.time_lag.is_some(),
            "time lag unknown while paused:\n{log}"
        );
    }
    // Nothing fires on its first sample over the line: pending for `for`, then firing.
    let first_over = |bound: f64| paused.iter().position(|s| s.time_lag.unwrap() > bound);
    let warn_fired = paused
        .iter()
        .position(|s| s.firing() == Some(Severity::Warning))
        .unwrap_or_else(|| panic!("the warning never fired before the critical:\n{log}"));
    let crit_fired = paused.len() - 1;
    assert!(warn_fired < crit_fired, "{log}");
    let over_warn = first_over(warn).unwrap();
    assert!(
        matches!(
            paused[over_warn].alert,
            Some((Severity::Warning, AlertState::Pending, _))
        ),
        "the first sample over {warn}s is pending, not firing:\n{log}"
    );
    let over_crit = first_over(crit).unwrap();
    assert!(
        over_crit < crit_fired && paused[over_crit].firing() == Some(Severity::Warning),
        "the first sample over {crit}s leaves the warning firing, the critical pending:\n{log}"
    );
    for (fired, over, level) in [
        (warn_fired, over_warn, "warning"),
        (crit_fired, over_crit, "critical"),
    ] {
        // Pending from the first sample over the line ...
        let since = paused[fired].alert.unwrap().2;
        assert_eq!(
            since, paused[over].at,
            "{level} pending since the crossing:\n{log}"
        );
        // ... firing at the first poll at least `for` later, not one poll sooner or later.
        let waited = |i: usize| paused[i].at.duration_since(since).unwrap();
        assert!(
            waited(fired) >= for_ && waited(fired - 1) < for_,
            "{level} fired {:.2}s after the crossing (for = 2s), the poll before at {:.2}s:\n{log}",
            secs(waited(fired)),
            secs(waited(fired - 1))
        );
    }
    let alert = watch.alert(RuleKind::ConsumerTimeLag, &subject).unwrap();
    assert!(alert.value > crit && alert.threshold == crit, "{alert:?}");

    // Resumed, draining at 35/s while 20/s arrive: the lag falls by ~0.75 s each second.
    sink.ctl(&["slow", "35"]);
    sink.ctl(&["run"]);
    let mut draining = Vec::new();
    record_until(
        &mut watch,
        &group,
        Duration::from_secs(40),
        "the alert cleared",
        &mut draining,
        |s| s.alert.is_none(),
    )
    .await;
    let log = show(&draining);
    let mut level = Some(Severity::Critical);
    for s in &draining {
        let value = s
            .time_lag
            .unwrap_or_else(|| panic!("time lag unknown:\n{log}"));
        let now = s.firing();
        if now < level {
            // Falling a level needs the value at or under clear_ratio × that level's threshold.
            let bound = if level == Some(Severity::Critical) {
                crit
            } else {
                warn
            };
            assert!(
                value <= bound * clear_ratio,
                "{level:?} left at {value:.2}s, above {clear_ratio} × {bound}s:\n{log}"
            );
            // A critical that falls to a value the warning would hold is held as a warning.
            if level == Some(Severity::Critical) && value > warn * clear_ratio {
                assert_eq!(
                    now,
                    Some(Severity::Warning),
                    "the critical cleared at {value:.2}s, above the warning's lower bound:\n{log}"
                );
            }
        }
        assert!(now <= level, "re-escalated while draining:\n{log}");
        level = now;
    }
    // Hysteresis was observable, not just allowed: a sample under the critical threshold while
    // the critical still fired, and one under the warning threshold while the warning fired.
    assert!(
        draining
            .iter()
            .any(|s| s.time_lag.unwrap() <= crit && s.firing() == Some(Severity::Critical)),
        "no sample showed the critical held under {crit}s:\n{log}"
    );
    assert!(
        draining
            .iter()
            .any(|s| s.time_lag.unwrap() <= warn && s.firing() == Some(Severity::Warning)),
        "no sample showed the warning held under {warn}s:\n{log}"
    );

    let history = watch.history(RuleKind::ConsumerTimeLag, &subject);
    let fired: Vec<Severity> = history.iter().map(|e| e.severity).collect();
    assert!(
        fired.starts_with(&[Severity::Warning, Severity::Critical]),
        "history: {history:?}"
    );
    assert!(
        history.iter().all(|e| e.cleared_at.is_some()),
        "every event cleared: {history:?}"
    );
    let critical = &history[1];
    assert!(
        critical.peak > crit && critical.cleared_at.unwrap() > critical.fired_at,
        "{critical:?}"
    );
    // The critical's event closed where the warning's second event opened, never both open.
    assert!(
        history[0].cleared_at.unwrap() <= critical.fired_at,
        "{history:?}"
    );

    // The producer first: Kafka auto-creates a topic someone still writes to. The killed sink's
    // member stays until its session times out, so deleting the group may fail; with the topic
    // gone it has no commits left to show.
    drop(producer);
    drop(sink);
    common::delete_topic(&topic).await;
    common::delete_groups(&[&group]).await;
}

/// Three groups equally far behind on one topic: the default threshold fires for the first, a
/// per-group override raising the threshold keeps the second quiet, `disabled = true` the third.
#[tokio::test(flavor = "multi_thread")]
async fn per_group_overrides_change_which_group_alerts() {
    common::needs!(Kafka, LoadGenerator);
    let topic = common::unique("alerts_groups");
    let base = common::unique("alerts_grp");
    let (loud, raised, off) = (
        format!("{base}_loud"),
        format!("{base}_raised"),
        format!("{base}_off"),
    );
    common::create_topic(&topic, 1).await;
    // All three committed at 0 before anything is produced: the same oldest unread message.
    for g in [&loud, &raised, &off] {
        common::commit(g, &topic, &[(0, 0)]);
    }
    let config = common::config_from_toml(&format!(
        r#"
        refresh = "500ms"
        [kafka]
        bootstrap_servers = "{kafka}"
        include_groups = ["{base}_.*"]
        include_topics = ["{topic}"]
        [alerts.rules.consumer_time_lag]
        warn = 2
        crit = 4
        for = "1s"
        [alerts.rules.consumer_status]
        disabled = true
        [[alerts.overrides]]
        rule = "consumer_time_lag"
        match = "group:*_raised"
        warn = 600
        crit = 1200
        [[alerts.overrides]]
        rule = "consumer_time_lag"
        match = "group:re:^{base}_off$"
        disabled = true
        "#,
        kafka = common::KAFKA,
    ));
    let mut watch = common::Watch::new(&config);
    watch.poll_kafka().await;
    let producer = common::start_producer(&topic, 20);
    let subject = |g: &str| Subject::new(SubjectKind::Group, g);
    let lag_of = |w: &common::Watch, g: &str| {
        w.model()
            .kafka
            .groups
            .iter()
            .find(|x| x.group_id == g)
            .and_then(|x| x.time_lag_s)
    };
    let started = Instant::now();
    let mut ticker = tokio::time::interval(REFRESH);
    let mut log = Vec::new();
    loop {
        ticker.tick().await;
        watch.poll_kafka().await;
        let lags = [&loud, &raised, &off].map(|g| lag_of(&watch, g));
        let alerts = [&loud, &raised, &off].map(|g| {
            watch
                .alert(RuleKind::ConsumerTimeLag, &subject(g))
                .map(|a| (a.severity, a.state))
        });
        log.push(format!("{lags:?} {alerts:?}"));
        assert_eq!(alerts[1], None, "raised threshold:\n{}", log.join("\n"));
        assert_eq!(alerts[2], None, "disabled:\n{}", log.join("\n"));
        if alerts[0] == Some((Severity::Critical, AlertState::Firing)) {
            // All three were as far behind as each other when the first went critical.
            let [a, b, c] = lags.map(|l| l.expect("time lag known"));
            assert!(
                a > 4.0 && (a - b).abs() < 0.01 && (a - c).abs() < 0.01,
                "{lags:?}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{loud} never went critical:\n{}",
            log.join("\n")
        );
    }
    let history = watch.history(RuleKind::ConsumerTimeLag, &subject(&loud));
    assert_eq!(
        history.iter().map(|e| e.severity).collect::<Vec<_>>(),
        [Severity::Warning, Severity::Critical],
        "{history:?}"
    );
    for g in [&raised, &off] {
        assert!(
            watch
                .history(RuleKind::ConsumerTimeLag, &subject(g))
                .is_empty()
        );
    }
    drop(producer);
    common::delete_groups(&[&loud, &raised, &off]).await;
    common::delete_topic(&topic).await;
}
