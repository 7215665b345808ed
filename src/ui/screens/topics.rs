//! Topics and one topic's partitions: leaders, replicas, ISR, offsets, produce rate.

use std::cmp::Ordering;
use std::time::Duration;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::judge;
use crate::alerts::{RuleKind, RuleSet, Severity, Subject, SubjectKind};
use crate::format::{self, compact, thousands};
use crate::kafka::topic_configs::TopicConfigs;
use crate::model::Model;
use crate::model::kafka::topics::{TopicPartitionView, TopicView};
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source, or_dash};
use crate::ui::theme::Theme;
use crate::ui::view::View;

fn kafka_problem(model: &Model) -> Option<String> {
    model
        .sources
        .kafka
        .error
        .as_ref()
        .map(|e| format!("kafka: {}", e.message))
}

pub fn list_panel(model: &Model) -> Panel<'_> {
    Panel::list(
        "Topics",
        Topics(
            &model.kafka.topics,
            &model.kafka.topic_configs,
            &model.thresholds,
        ),
        Constraint::Fill(1),
        "no topics",
    )
    .with_problem(kafka_problem(model))
    .from_source(Source::Kafka)
}

/// A topic's retention in a word: "7d", "compact", "7d+compact", "unlimited", or "-" before
/// its settings are read (or when pipetop may not read them).
pub fn retention_label(configs: &TopicConfigs, topic: &str) -> String {
    let Some(r) = configs.topics.get(topic) else {
        return "-".to_string();
    };
    let time = r.retention_ms.map(format::whole_duration_ms);
    match (r.delete, r.compact, time) {
        (true, false, Some(t)) => t,
        (true, true, Some(t)) => format!("{t}+cmp"),
        (false, true, _) => "compact".to_string(),
        (true, _, None) => "unlimited".to_string(),
        (false, false, _) => "-".to_string(),
    }
}

/// How many groups read the topic; "none" in warning colours when messages come in and no group
/// reads them.
fn groups_cell(t: &TopicView, theme: &Theme) -> Line<'static> {
    let receiving = t.produce_rate.is_some_and(|r| r > 0.0);
    match (t.groups, receiving) {
        (0, true) => num_cell("none".to_string(), theme.warn),
        (0, false) => num_cell("-".to_string(), theme.muted),
        (n, _) => num_cell(n.to_string(), theme.text),
    }
}

/// The topics, their retention settings, and the thresholds that colour a rate outside its
/// `topic_traffic` band.
struct Topics<'a>(&'a [TopicView], &'a TopicConfigs, &'a RuleSet);

const TOPIC_COLUMNS: &[Column] = &[
    Column::text("TOPIC", Constraint::Fill(3)),
    Column::num("PARTITIONS", Constraint::Length(10)),
    Column::num("IN/s", Constraint::Length(8)),
    Column::num("UNDER-REPL", Constraint::Length(10)),
    Column::num("NO LEADER", Constraint::Length(9)),
    Column::num("MESSAGES", Constraint::Length(10)).from_width(90),
    Column::num("GROUPS", Constraint::Length(6)).from_width(80),
    Column::num("RETENTION", Constraint::Length(9)).from_width(100),
];

impl ListSource for Topics<'_> {
    fn columns(&self) -> &'static [Column] {
        TOPIC_COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        self.0[i].name.clone()
    }
    fn filter_text(&self, i: usize) -> String {
        self.0[i].name.clone()
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let t = &self.0[i];
        match column {
            0 => SortKey::Text(t.name.clone()),
            1 => SortKey::Num(t.partitions.len() as f64),
            2 => t.produce_rate.into(),
            3 => SortKey::Num(t.under_replicated as f64),
            4 => SortKey::Num(t.leaderless as f64),
            5 => SortKey::Num(t.messages as f64),
            6 => SortKey::Num(t.groups as f64),
            _ => self
                .1
                .topics
                .get(&t.name)
                .and_then(|r| r.time_limit_ms())
                .map(|ms| ms as f64)
                .into(),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The model keeps topics with problems first, then the busiest.
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let t = &self.0[i];
        let count = |n: usize| if n > 0 { n.to_string() } else { String::new() };
        vec![
            name_cell(t, theme),
            match &t.error {
                Some(_) => num_cell("-".to_string(), theme.muted),
                None => num_cell(t.partitions.len().to_string(), theme.text),
            },
            num_cell(
                judge::opt_rate(t.produce_rate),
                rate_style(self.2, t, theme),
            ),
            num_cell(count(t.under_replicated), theme.crit),
            num_cell(count(t.leaderless), theme.crit),
            match &t.error {
                Some(_) => num_cell("-".to_string(), theme.muted),
                None => num_cell(compact(t.messages), theme.text),
            },
            groups_cell(t, theme),
            num_cell(retention_label(self.1, &t.name), theme.muted),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        Some(View::Topic {
            topic: self.0[i].name.clone(),
        })
    }
}

/// The topic's name, and for one pipetop cannot see, why in a word or two (the detail says all).
fn name_cell(t: &TopicView, theme: &Theme) -> Line<'static> {
    let Some(error) = &t.error else {
        return cell(t.name.clone());
    };
    let why = ["not authorized", "does not exist"]
        .into_iter()
        .find(|w| error.starts_with(w))
        .unwrap_or("unreadable");
    Line::from(vec![
        Span::raw(t.name.clone()),
        Span::styled(format!("  {why}"), theme.crit),
    ])
}

/// Warning colour for a rate `topic_traffic` judges out of its band, as the alert does.
fn rate_style(rules: &RuleSet, t: &TopicView, theme: &Theme) -> ratatui::style::Style {
    let subject = Subject::new(SubjectKind::Topic, t.name.as_str());
    let judged = rules
        .threshold(RuleKind::TopicTraffic, &subject)
        .zip(t.produce_rate)
        .and_then(|(th, rate)| th.judge(rate));
    match judged {
        Some(Severity::Critical) => theme.crit,
        Some(Severity::Warning) => theme.warn,
        None => theme.muted,
    }
}

pub fn detail_panels<'a>(model: &'a Model, topic: &str) -> Vec<Panel<'a>> {
    match model.kafka.topics.iter().find(|t| t.name == topic) {
        Some(t) => vec![
            Panel::list(
                format!(
                    "{} · {} partitions · {} · retention {}{}",
                    t.name,
                    t.partitions.len(),
                    judge::opt_rate(t.produce_rate),
                    retention_label(&model.kafka.topic_configs, &t.name),
                    t.starts_age_s
                        .map(|age| format!(
                            " · starts read {}",
                            format::age(Duration::from_secs(age))
                        ))
                        .unwrap_or_default()
                ),
                Partitions(&t.partitions),
                Constraint::Fill(1),
                "no partitions",
            )
            .with_problem(t.error.clone().or_else(|| kafka_problem(model)))
            .from_source(Source::Kafka),
        ],
        None => vec![Panel::text(
            topic.to_string(),
            vec![Line::from(Span::raw(format!(
                "topic {topic} does not exist (deleted?) or is hidden by the topic filters"
            )))],
            Constraint::Fill(1),
        )],
    }
}

struct Partitions<'a>(&'a [TopicPartitionView]);

const PARTITION_COLUMNS: &[Column] = &[
    Column::num("PARTITION", Constraint::Length(9)),
    Column::num("LEADER", Constraint::Length(6)),
    Column::text("REPLICAS", Constraint::Fill(1)),
    Column::text("ISR", Constraint::Fill(1)),
    Column::num("IN/s", Constraint::Length(8)),
    Column::num("START", Constraint::Length(12)).from_width(100),
    Column::num("END", Constraint::Length(12)),
    Column::text("PROBLEM", Constraint::Length(16)),
];

fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

impl ListSource for Partitions<'_> {
    fn columns(&self) -> &'static [Column] {
        PARTITION_COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        self.0[i].partition.to_string()
    }
    fn filter_text(&self, i: usize) -> String {
        let p = &self.0[i];
        format!(
            "{}\nleader {}",
            p.partition,
            or_dash(p.leader.map(|l| l.to_string()))
        )
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let p = &self.0[i];
        match column {
            0 => SortKey::Num(f64::from(p.partition)),
            1 => p
                .leader
                .map_or(SortKey::Unknown, |l| SortKey::Num(f64::from(l))),
            2 => SortKey::Text(ids(&p.replicas)),
            3 => SortKey::Num(p.isr.len() as f64),
            4 => p.produce_rate().into(),
            5 => p
                .start_offset()
                .map_or(SortKey::Unknown, |v| SortKey::Num(v as f64)),
            6 => p
                .end_offset()
                .map_or(SortKey::Unknown, |v| SortKey::Num(v as f64)),
            _ => SortKey::Num(f64::from(
                u8::from(p.leaderless) * 2 + u8::from(p.under_replicated),
            )),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        self.0[a].partition.cmp(&self.0[b].partition)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let p = &self.0[i];
        let problem = if p.leaderless {
            Span::styled("no leader", theme.crit)
        } else if p.under_replicated {
            Span::styled("ISR < replicas", theme.crit)
        } else if let Some(e) = &p.error {
            Span::styled(e.clone(), theme.warn)
        } else {
            Span::raw("")
        };
        vec![
            num_cell(p.partition.to_string(), theme.text),
            num_cell(or_dash(p.leader.map(|l| l.to_string())), theme.text),
            cell(ids(&p.replicas)),
            cell(ids(&p.isr)),
            num_cell(judge::opt_rate(p.produce_rate()), theme.muted),
            num_cell(
                or_dash(p.start_offset().map(|v| thousands(v.max(0) as u64))),
                theme.text,
            ),
            num_cell(
                or_dash(p.end_offset().map(|v| thousands(v.max(0) as u64))),
                theme.text,
            ),
            Line::from(problem),
        ]
    }
}
