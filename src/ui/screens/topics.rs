//! Topics and one topic's partitions: leaders, replicas, ISR, offsets.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use super::{Panel, or_dash};
use crate::kafka::snapshot::{Partition, Topic};
use crate::model::Model;
use crate::ui::format::thousands;
use crate::ui::list::{Column, ListSource, SortKey, num_cell};
use crate::ui::theme::Theme;
use crate::ui::view::View;

fn topics(model: &Model) -> &[Topic] {
    model
        .sources
        .kafka
        .last_good
        .as_ref()
        .map_or(&[], |s| s.topics.as_slice())
}

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
        Topics(topics(model)),
        Constraint::Fill(1),
        "no topics",
    )
    .with_problem(kafka_problem(model))
}

struct Topics<'a>(&'a [Topic]);

fn under_replicated(t: &Topic) -> usize {
    t.partitions
        .iter()
        .filter(|p| p.isr.len() < p.replicas.len())
        .count()
}

fn leaderless(t: &Topic) -> usize {
    t.partitions.iter().filter(|p| p.leader.is_none()).count()
}

fn messages(t: &Topic) -> u64 {
    t.partitions
        .iter()
        .filter_map(|p| Some(u64::try_from(p.end_offset? - p.start_offset?).unwrap_or(0)))
        .sum()
}

const TOPIC_COLUMNS: &[Column] = &[
    Column::text("TOPIC", Constraint::Fill(3)),
    Column::num("PARTITIONS", Constraint::Length(10)),
    Column::num("UNDER-REPL", Constraint::Length(10)),
    Column::num("NO LEADER", Constraint::Length(9)),
    Column::num("MESSAGES", Constraint::Length(14)),
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
            2 => SortKey::Num(under_replicated(t) as f64),
            3 => SortKey::Num(leaderless(t) as f64),
            _ => SortKey::Num(messages(t) as f64),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // Broken topics first, then by name.
        let (ta, tb) = (&self.0[a], &self.0[b]);
        let trouble = |t: &Topic| leaderless(t) * 1000 + under_replicated(t);
        trouble(tb)
            .cmp(&trouble(ta))
            .then_with(|| ta.name.cmp(&tb.name))
    }
    fn row(&self, i: usize, theme: &Theme) -> Row<'static> {
        let t = &self.0[i];
        let (urp, nl) = (under_replicated(t), leaderless(t));
        Row::new(vec![
            Cell::from(t.name.clone()),
            num_cell(t.partitions.len().to_string(), theme.text),
            num_cell(
                if urp > 0 {
                    urp.to_string()
                } else {
                    String::new()
                },
                theme.warn,
            ),
            num_cell(
                if nl > 0 {
                    nl.to_string()
                } else {
                    String::new()
                },
                theme.crit,
            ),
            num_cell(thousands(messages(t)), theme.text),
        ])
    }
    fn open(&self, i: usize) -> Option<View> {
        Some(View::Topic {
            topic: self.0[i].name.clone(),
        })
    }
}

pub fn detail_panels<'a>(model: &'a Model, topic: &str) -> Vec<Panel<'a>> {
    match topics(model).iter().find(|t| t.name == topic) {
        Some(t) => vec![
            Panel::list(
                format!("{} · {} partitions", t.name, t.partitions.len()),
                Partitions(&t.partitions),
                Constraint::Fill(1),
                "no partitions",
            )
            .with_problem(kafka_problem(model)),
        ],
        None => vec![Panel::text(
            topic.to_string(),
            vec![Line::from(Span::raw(format!(
                "topic {topic} does not exist (deleted?) or is hidden"
            )))],
            Constraint::Fill(1),
        )],
    }
}

struct Partitions<'a>(&'a [Partition]);

const PARTITION_COLUMNS: &[Column] = &[
    Column::num("PARTITION", Constraint::Length(9)),
    Column::num("LEADER", Constraint::Length(6)),
    Column::text("REPLICAS", Constraint::Fill(1)),
    Column::text("ISR", Constraint::Fill(1)),
    Column::num("START", Constraint::Length(12)),
    Column::num("END", Constraint::Length(12)),
    Column::text("PROBLEM", Constraint::Fill(1)),
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
            "{} leader {}",
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
            4 => p
                .start_offset
                .map_or(SortKey::Unknown, |v| SortKey::Num(v as f64)),
            5 => p
                .end_offset
                .map_or(SortKey::Unknown, |v| SortKey::Num(v as f64)),
            _ => SortKey::Text(p.error.clone().unwrap_or_default()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        self.0[a].partition.cmp(&self.0[b].partition)
    }
    fn row(&self, i: usize, theme: &Theme) -> Row<'static> {
        let p = &self.0[i];
        let problem = match (p.leader, p.isr.len() < p.replicas.len(), &p.error) {
            (None, _, _) => ("no leader".to_string(), theme.crit),
            (_, true, _) => ("under-replicated".to_string(), theme.warn),
            (_, _, Some(e)) => (e.clone(), theme.warn),
            _ => (String::new(), theme.text),
        };
        Row::new(vec![
            num_cell(p.partition.to_string(), theme.text),
            num_cell(or_dash(p.leader.map(|l| l.to_string())), theme.text),
            Cell::from(ids(&p.replicas)),
            Cell::from(ids(&p.isr)),
            num_cell(or_dash(p.start_offset.map(|v| v.to_string())), theme.text),
            num_cell(or_dash(p.end_offset.map(|v| v.to_string())), theme.text),
            Cell::from(Span::styled(problem.0, problem.1)),
        ])
    }
}
