//! Group and per-topic figures rolled up from partition rows: the worst status, the largest time
//! lag, summed rates, and the time to catch up.

use std::collections::BTreeMap;

use super::history::TimeLagKind;
use super::lag::{GroupLag, Rollup, TopicLag, Trend};
use super::partition_lag::{OffsetFlag, PartitionLag};
use super::status::Status;

pub fn roll_up<'a>(rows: impl IntoIterator<Item = &'a PartitionLag>) -> Rollup {
    let mut r = Rollup {
        partitions: 0,
        total_lag: 0,
        max_lag: 0,
        partitions_without_commit: 0,
        status: Status::Ok,
        time_lag_s: None,
        time_lag_kind: TimeLagKind::Unknown,
        produce_rate: None,
        consume_rate: None,
        catch_up_s: None,
        trend: Trend::Unknown,
    };
    // A rate sum is only known if every partition with lag knows its rates; a partial sum
    // would understate one side and invent a trend.
    let mut rates_known = true;
    let mut any_lag_unknown = false;
    for p in rows {
        r.partitions += 1;
        r.status = r.status.max(p.status());
        if p.flag() == OffsetFlag::NoCommit {
            r.partitions_without_commit += 1;
        }
        match p.lag() {
            Some(lag) => {
                r.total_lag += lag;
                r.max_lag = r.max_lag.max(lag);
            }
            None => any_lag_unknown = true,
        }
        if let Some(t) = p.time_lag_s()
            && r.time_lag_s.is_none_or(|m| t > m)
        {
            r.time_lag_s = Some(t);
            r.time_lag_kind = p.time_lag_kind();
        }
        if p.lag().is_some() {
            match (p.produce_rate(), p.consume_rate()) {
                (Some(pr), Some(cr)) => {
                    r.produce_rate = Some(r.produce_rate.unwrap_or(0.0) + pr);
                    r.consume_rate = Some(r.consume_rate.unwrap_or(0.0) + cr);
                }
                _ => rates_known = false,
            }
        }
    }
    if !rates_known {
        r.produce_rate = None;
        r.consume_rate = None;
    }
    if r.partitions == 0 {
        r.status = Status::Unknown;
    }
    (r.trend, r.catch_up_s) = trend(
        r.total_lag,
        any_lag_unknown && r.total_lag == 0,
        r.produce_rate,
        r.consume_rate,
    );
    r
}

/// Below this net rate (messages/s) the backlog is taken as not moving.
const STEADY_RATE: f64 = 0.01;

fn trend(
    lag: u64,
    lag_unknown: bool,
    produce: Option<f64>,
    consume: Option<f64>,
) -> (Trend, Option<f64>) {
    if lag_unknown {
        return (Trend::Unknown, None);
    }
    if lag == 0 {
        return (Trend::CaughtUp, Some(0.0));
    }
    let (Some(p), Some(c)) = (produce, consume) else {
        return (Trend::Unknown, None);
    };
    let net = c - p;
    if net > STEADY_RATE {
        (Trend::CatchingUp, Some(lag as f64 / net))
    } else if net < -STEADY_RATE {
        (Trend::FallingBehind, None)
    } else {
        (Trend::Steady, None)
    }
}

/// Fills a group's rolled-up fields and its per-topic rollups from its (already filled) rows.
pub fn fill_group(g: &mut GroupLag) {
    let r = roll_up(g.partitions.plain());
    g.status = r.status;
    g.time_lag_s = r.time_lag_s;
    g.time_lag_kind = r.time_lag_kind;
    g.produce_rate = r.produce_rate;
    g.consume_rate = r.consume_rate;
    g.catch_up_s = r.catch_up_s;
    g.trend = r.trend;
    let mut by_topic: BTreeMap<&str, Vec<&PartitionLag>> = BTreeMap::new();
    for (topic, rows) in g.partitions.runs() {
        by_topic.entry(&**topic).or_default().extend(rows);
    }
    g.topic_lags = by_topic
        .into_iter()
        .map(|(topic, rows)| TopicLag {
            topic: topic.to_string(),
            lag: roll_up(rows),
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(lag: Option<u64>, status: Status, rates: Option<(f64, f64)>) -> PartitionLag {
        let mut row = PartitionLag::new(
            0,
            lag.map(|_| 0),
            lag.map(|l| l as i64),
            if lag.is_some() {
                OffsetFlag::Ok
            } else {
                OffsetFlag::NoCommit
            },
            None,
        );
        row.set_time_lag(lag.map(|l| l as f64 / 10.0), TimeLagKind::Interpolated);
        row.set_status(status);
        row.set_rates(rates.map(|r| r.0), rates.map(|r| r.1));
        row
    }

    #[test]
    fn worst_status_largest_time_lag_and_catch_up() {
        let r = roll_up(&[
            row(Some(100), Status::Ok, Some((10.0, 20.0))),
            row(Some(300), Status::Warn, Some((5.0, 15.0))),
            row(None, Status::NoCommit, None),
        ]);
        assert_eq!(r.status, Status::Warn);
        assert_eq!(
            (r.total_lag, r.max_lag, r.partitions_without_commit),
            (400, 300, 1)
        );
        assert_eq!(r.time_lag_s, Some(30.0));
        // 400 messages at a net 20 msg/s.
        assert_eq!((r.trend, r.catch_up_s), (Trend::CatchingUp, Some(20.0)));
    }

    #[test]
    fn falling_behind_steady_caught_up_and_unknown() {
        let r = roll_up(&[row(Some(5), Status::Ok, Some((10.0, 2.0)))]);
        assert_eq!((r.trend, r.catch_up_s), (Trend::FallingBehind, None));
        let r = roll_up(&[row(Some(5), Status::Stop, Some((0.0, 0.0)))]);
        assert_eq!(r.trend, Trend::Steady);
        let r = roll_up(&[row(Some(0), Status::Ok, None)]);
        assert_eq!((r.trend, r.catch_up_s), (Trend::CaughtUp, Some(0.0)));
        // One lagging partition without rates: no invented trend from a partial sum.
        let r = roll_up(&[
            row(Some(5), Status::Ok, Some((1.0, 9.0))),
            row(Some(5), Status::Ok, None),
        ]);
        assert_eq!((r.trend, r.produce_rate), (Trend::Unknown, None));
        assert_eq!(roll_up(&[]).status, Status::Unknown);
    }
}
