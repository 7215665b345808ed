//! What retention means for a consumer group: how long until its oldest unconsumed message may
//! be deleted, and how many messages were deleted before it read them.
//!
//! Kafka deletes whole segments once their newest message is older than `retention.ms`, so a
//! message lives *at least* that long: "loses data in 2h" is the earliest it can happen, which is
//! what an engineer racing it needs. Compacted topics (without `delete`) and unlimited retention
//! never lose unread messages by age and get no figure; size-based retention
//! (`retention.bytes`) needs partition sizes, which pipetop does not read, so it gets none either.

use serde::Serialize;

use crate::kafka::topic_configs::TopicConfigs;

/// A group's retention figures, over all its partitions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct GroupRetention {
    /// Seconds until the oldest unconsumed message of the nearest partition may be deleted
    /// (its topic's `retention.ms` minus the message's age, never below 0). None: no partition
    /// with unread messages has a time-based retention known.
    pub left_s: Option<f64>,
    /// That message's age as a share of its topic's `retention.ms` (what `retention_risk` judges).
    pub used: Option<f64>,
    /// The `retention.ms` of that partition's topic.
    pub retention_ms: Option<i64>,
    /// Messages deleted before the group read them: over the partitions whose committed offset is
    /// below the log start, the log start minus the committed offset.
    pub lost: u64,
}

/// What the figures need of one partition row of a group.
pub struct Row<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub committed: Option<i64>,
    pub lag: Option<u64>,
    /// Age of the oldest unconsumed message, seconds.
    pub time_lag_s: Option<f64>,
    /// Committed before the log start.
    pub below_log_start: bool,
}

/// A group's figures from its rows (with their time lag already filled), the topics' settings,
/// and each partition's log start.
pub fn of_group<'a>(
    rows: impl IntoIterator<Item = Row<'a>>,
    configs: &TopicConfigs,
    mut log_start: impl FnMut(&str, i32) -> Option<i64>,
) -> GroupRetention {
    let mut r = GroupRetention::default();
    // A group's rows come in topic order: its limit is looked up once per run of its rows.
    let mut last: Option<(&str, Option<i64>)> = None;
    for p in rows {
        if p.below_log_start
            && let (Some(start), Some(committed)) = (log_start(p.topic, p.partition), p.committed)
        {
            r.lost += u64::try_from(start - committed).unwrap_or(0);
        }
        let unread = p.lag.is_some_and(|l| l > 0);
        let limit = match last {
            Some((topic, limit)) if same_text(topic, p.topic) => limit,
            _ => {
                let limit = configs
                    .topics
                    .get(p.topic)
                    .and_then(|c| c.time_limit_ms())
                    .filter(|ms| *ms > 0);
                last = Some((p.topic, limit));
                limit
            }
        };
        let (Some(age), Some(limit), true) = (p.time_lag_s, limit, unread) else {
            continue;
        };
        let limit_s = limit as f64 / 1000.0;
        let used = age / limit_s;
        if r.used.is_none_or(|u| used > u) {
            r.used = Some(used);
            r.left_s = Some((limit_s - age).max(0.0));
            r.retention_ms = Some(limit);
        }
    }
    r
}

/// Equal text, at once when it is the same shared name.
fn same_text(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::kafka::snapshot::{Committed, Group};
    use crate::kafka::topic_configs::Retention;
    use crate::kafka::types::GroupState;
    use crate::model::kafka::lag::{GroupLag, group_lag};
    use crate::model::kafka::partition_lag::OffsetFlag;

    fn fill(
        g: &mut GroupLag,
        configs: &TopicConfigs,
        log_start: impl FnMut(&str, i32) -> Option<i64>,
    ) {
        let rows = g.partitions.iter().map(|p| Row {
            topic: p.topic,
            partition: p.partition,
            committed: p.committed(),
            lag: p.lag(),
            time_lag_s: p.time_lag_s(),
            below_log_start: p.flag() == OffsetFlag::BelowLogStart,
        });
        g.retention = of_group(rows, configs, log_start);
    }

    fn configs(topic: &str, retention: Retention) -> TopicConfigs {
        TopicConfigs {
            read_at_ms: Some(0),
            error: None,
            topics: BTreeMap::from([(topic.to_string(), retention)]),
        }
    }

    const HOUR: Retention = Retention {
        delete: true,
        compact: false,
        retention_ms: Some(3_600_000),
        retention_bytes: None,
    };

    fn group(rows: &[(i32, i64, Option<f64>)]) -> GroupLag {
        let mut g = group_lag(
            &Group {
                group_id: "g".into(),
                state: GroupState::Empty,
                partition_assignor: String::new(),
                coordinator: None,
                members: vec![],
                committed: rows
                    .iter()
                    .map(|(p, offset, _)| Committed {
                        topic: "t".into(),
                        partition: *p,
                        offset: *offset,
                        produced_ms: crate::compact::OptI64::NONE,
                    })
                    .collect(),
                error: None,
            },
            &Default::default(),
        );
        for (row, (_, offset, age)) in g.partitions.plain_mut().iter_mut().zip(rows) {
            row.set_offsets(row.committed(), Some(1_000));
            row.set_time_lag(*age, row.time_lag_kind());
            if *offset < 100 {
                row.set_flag(OffsetFlag::BelowLogStart);
            }
        }
        g
    }

    #[test]
    fn the_oldest_unread_message_sets_the_time_left_and_lost_messages_are_counted() {
        let mut g = group(&[(0, 900, Some(600.0)), (1, 40, Some(2_700.0))]);
        fill(&mut g, &configs("t", HOUR), |_, p| (p == 1).then_some(100));
        assert_eq!(g.retention.left_s, Some(900.0));
        assert_eq!(g.retention.used, Some(0.75));
        assert_eq!(g.retention.retention_ms, Some(3_600_000));
        assert_eq!(g.retention.lost, 60, "log start 100 − committed 40");
    }

    #[test]
    fn no_figure_without_time_based_retention_or_unread_messages() {
        let compacted = Retention {
            delete: false,
            compact: true,
            ..HOUR
        };
        let mut g = group(&[(0, 900, Some(600.0))]);
        fill(&mut g, &configs("t", compacted), |_, _| None);
        assert_eq!(g.retention, GroupRetention::default());
        // Caught up: nothing unread can be lost.
        let mut g = group(&[(0, 1_000, Some(0.0))]);
        fill(&mut g, &configs("t", HOUR), |_, _| None);
        assert_eq!(g.retention.left_s, None);
        // Settings not read (yet, or not allowed): unknown, never "safe".
        let mut g = group(&[(0, 900, Some(600.0))]);
        fill(&mut g, &TopicConfigs::default(), |_, _| None);
        assert_eq!(g.retention.used, None);
    }

    #[test]
    fn past_retention_is_due_now_not_negative() {
        let mut g = group(&[(0, 900, Some(4_000.0))]);
        fill(&mut g, &configs("t", HOUR), |_, _| None);
        assert_eq!(g.retention.left_s, Some(0.0));
        assert!(g.retention.used.unwrap() > 1.0);
    }
}
