//! The charts' history on the live stack: the load generator's sink consumes a topic of this
//! test's own while its producer writes 20 events/s; pausing the sink makes the group's lag
//! series climb, resuming it (slower than it can, so the backlog drains over several polls) makes
//! the series fall back, poll by poll in the model that the real Kafka collector and the session
//! build at a 500 ms refresh.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use pipetop::model::Model;

const REFRESH: Duration = Duration::from_millis(500);

/// The group's lag series on the time axis, as the model holds them now (empty before the
/// group first shows up).
fn lag_series(model: &Model, group: &str) -> Vec<(i64, f32)> {
    let series = &model.kafka.series;
    series.group(group).map_or_else(Vec::new, |g| {
        pipetop::model::series::timed(&series.times, &g.group.lag, i64::MIN)
    })
}

/// Polls every refresh until `done` holds for the group's newest lag (or `limit` passes).
async fn poll_until(
    watch: &mut common::Watch,
    group: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(f32) -> bool,
) {
    let started = Instant::now();
    let mut ticker = tokio::time::interval(REFRESH);
    loop {
        ticker.tick().await;
        watch.poll_kafka().await;
        let lag = lag_series(watch.model(), group).last().map(|p| p.1);
        if lag.is_some_and(&done) {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{what} not reached within {limit:?}; lag series {:?}",
            lag_series(watch.model(), group)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_sink_draws_a_rising_lag_line_and_resuming_a_falling_one() {
    // The sink inserts into ClickHouse before it commits.
    common::needs!(Kafka, ClickHouse, LoadGenerator);
    let topic = common::unique("history_pause");
    let group = common::unique("history_pause_g");
    common::create_topic(&topic, 1).await;
    let config = common::config_from_toml(&format!(
        r#"
        refresh = "500ms"
        [kafka]
        bootstrap_servers = "{kafka}"
        include_groups = ["{group}"]
        include_topics = ["{topic}"]
        "#,
        kafka = common::KAFKA,
    ));
    let producer = common::start_producer(&topic, 20);
    let sink = common::LoadSink::start(&topic, &group);
    let mut watch = common::Watch::new(&config);

    // Running: caught up within a flush or two.
    poll_until(
        &mut watch,
        &group,
        Duration::from_secs(45),
        "caught up",
        |lag| lag <= 30.0,
    )
    .await;

    // Paused for 8 s: about 160 more messages waiting.
    sink.ctl(&["pause"]);
    let paused_at = lag_series(watch.model(), &group).len();
    for _ in 0..16 {
        tokio::time::sleep(REFRESH).await;
        watch.poll_kafka().await;
    }
    let resumed_at = lag_series(watch.model(), &group).len();

    // Resumed at 35/s against the 20/s produced: the backlog drains by ~15/s, over several polls.
    sink.ctl(&["slow", "35"]);
    sink.ctl(&["run"]);
    poll_until(
        &mut watch,
        &group,
        Duration::from_secs(45),
        "drained",
        |lag| lag <= 30.0,
    )
    .await;

    let series = lag_series(watch.model(), &group);
    let lags: Vec<f32> = series.iter().map(|p| p.1).collect();
    eprintln!("lag series (pause at {paused_at}, resume at {resumed_at}): {lags:?}");
    let show = format!("{series:?}");
    assert!(
        series.windows(2).all(|w| w[0].0 < w[1].0),
        "one point a poll, in time order: {show}"
    );
    let rising: Vec<f32> = series[paused_at..resumed_at].iter().map(|p| p.1).collect();
    let falling: Vec<f32> = series[resumed_at..].iter().map(|p| p.1).collect();
    // Rising: by more than 100 messages over the pause, and never falling back by more than a
    // poll's worth of messages the sink may still have committed as it paused.
    let (first, last) = (rising[0], rising[rising.len() - 1]);
    assert!(last - first >= 100.0, "the lag did not climb: {show}");
    let climbing = rising.windows(2).filter(|w| w[1] >= w[0]).count();
    assert!(
        climbing * 10 >= (rising.len() - 1) * 8,
        "the lag did not climb steadily while paused: {rising:?}"
    );
    // Falling: from the peak back to about where it started, over several polls, steadily.
    let peak_at = (0..falling.len())
        .max_by(|&a, &b| falling[a].total_cmp(&falling[b]))
        .unwrap();
    let down = &falling[peak_at..];
    let end = down[down.len() - 1];
    assert!(
        end <= 30.0 && down[0] - end >= 100.0,
        "the lag did not fall: {falling:?}"
    );
    assert!(
        down.len() >= 5,
        "the lag fell in a jump, not a line: {falling:?}"
    );
    // The sink commits in 500 ms batches against a steady producer, so a poll may catch the
    // backlog a batch higher than the last: two in three steps down, and each third of the
    // descent lower than the one before.
    let descending = down.windows(2).filter(|w| w[1] <= w[0]).count();
    assert!(
        descending * 3 >= (down.len() - 1) * 2,
        "the lag did not fall steadily after the resume: {falling:?}"
    );
    let third = down.len() / 3;
    let mean = |s: &[f32]| s.iter().sum::<f32>() / s.len() as f32;
    let (early, middle, late) = (
        mean(&down[..third]),
        mean(&down[third..2 * third]),
        mean(&down[2 * third..]),
    );
    assert!(
        early > middle && middle > late,
        "the lag did not fall steadily after the resume: {falling:?}"
    );

    drop(sink);
    drop(producer);
    common::delete_topic(&topic).await;
    common::delete_groups(&[&group]).await;
}
