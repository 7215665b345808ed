//! The pipeline view: each configured topic → consumer group → tables chain with both halves side
//! by side, the Kafka group's lag and status next to its target tables' inserts, failures, parts
//! pressure and freshness. The one screen that says where a pipeline is broken.

use serde::Serialize;

use super::clickhouse::ClickHouseModel;
use super::clickhouse::health::TableHealth;
use super::kafka::KafkaModel;
use super::kafka::history::TimeLagKind;
use super::kafka::status::Status;
use crate::config::PipelineConfig;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineRow {
    pub name: String,
    pub topic: String,
    pub group: String,
    pub tables: Vec<String>,
    /// False when the group is not in the latest Kafka poll (never consumed, or deleted).
    pub group_found: bool,
    pub status: Option<Status>,
    /// The group's figures are from an earlier poll (its coordinator is down): their age.
    pub stale_s: Option<f64>,
    pub lag: Option<u64>,
    pub time_lag_s: Option<f64>,
    pub time_lag_kind: Option<TimeLagKind>,
    pub produce_rate: Option<f64>,
    pub consume_rate: Option<f64>,
    /// Summed over the target tables.
    pub inserts_per_s: Option<f64>,
    pub rows_per_s: Option<f64>,
    pub failed_inserts: Option<u64>,
    /// The worst target table's active parts in its worst partition / parts_to_delay_insert:
    /// 1.0 is where ClickHouse starts slowing inserts down (the parts_pressure alert's scale).
    pub parts_to_delay_ratio: Option<f64>,
    /// The freshest watched target table's age (the pipeline is as fresh as its best output).
    pub freshness_s: Option<i64>,
    /// Target tables that are not in the latest ClickHouse poll.
    pub missing_tables: Vec<String>,
}

pub fn pipeline_rows(
    pipelines: &[PipelineConfig],
    kafka: &KafkaModel,
    clickhouse: &ClickHouseModel,
) -> Vec<PipelineRow> {
    pipelines
        .iter()
        .map(|p| row(p, kafka, clickhouse))
        .collect()
}

fn row(p: &PipelineConfig, kafka: &KafkaModel, clickhouse: &ClickHouseModel) -> PipelineRow {
    let group = kafka.groups.iter().find(|g| g.group_id == p.group);
    // The pipeline's topic only: a group may read other topics that are not this pipeline.
    let topic = group
        .and_then(|g| g.topic_lags.iter().find(|t| t.topic == p.topic))
        .map(|t| &t.lag);
    let tables: Vec<&TableHealth> = p
        .tables
        .iter()
        .flat_map(|name| clickhouse.health.iter().filter(move |h| &h.table == name))
        .collect();
    let missing_tables = p
        .tables
        .iter()
        .filter(|name| !clickhouse.health.iter().any(|h| &h.table == *name))
        .cloned()
        .collect();
    let sum_f = |f: fn(&TableHealth) -> Option<f64>| {
        tables.iter().filter_map(|t| f(t)).reduce(|a, b| a + b)
    };
    PipelineRow {
        name: p.name.clone().unwrap_or_else(|| p.group.clone()),
        topic: p.topic.clone(),
        group: p.group.clone(),
        tables: p.tables.clone(),
        group_found: group.is_some(),
        status: topic.map(|t| t.status),
        stale_s: group.and_then(|g| g.stale_s),
        lag: topic.map(|t| t.total_lag),
        time_lag_s: topic.and_then(|t| t.time_lag_s),
        time_lag_kind: topic.map(|t| t.time_lag_kind),
        produce_rate: topic.and_then(|t| t.produce_rate),
        consume_rate: topic.and_then(|t| t.consume_rate),
        inserts_per_s: sum_f(|t| t.inserts_per_s),
        rows_per_s: sum_f(|t| t.rows_per_s),
        failed_inserts: tables
            .iter()
            .filter_map(|t| t.failed_inserts)
            .reduce(|a, b| a + b),
        parts_to_delay_ratio: tables
            .iter()
            .filter_map(|t| t.parts_to_delay_ratio)
            .reduce(f64::max),
        freshness_s: tables.iter().filter_map(|t| t.freshness_s).min(),
        missing_tables,
    }
}
