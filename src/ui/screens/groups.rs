//! Consumer groups: the list, and one group's partitions and members.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row};

use super::{Panel, or_dash};
use crate::kafka::admin::GroupState;
use crate::model::Model;
use crate::model::lag::{GroupLag, OffsetFlag, PartitionLag};
use crate::ui::format::thousands;
use crate::ui::list::{Column, ListSource, SortKey, num_cell};
use crate::ui::theme::Theme;
use crate::ui::view::View;

pub fn list_panel(model: &Model, height: Constraint) -> Panel<'_> {
    let problem = model
        .sources
        .kafka
        .error
        .as_ref()
        .map(|e| format!("kafka: {}", e.message));
    Panel::list(
        "Consumer groups",
        Groups(&model.kafka.groups),
        height,
        "no consumer groups",
    )
    .with_problem(problem)
}

pub struct Groups<'a>(pub &'a [GroupLag]);

const GROUP_COLUMNS: &[Column] = &[
    Column::text("GROUP", Constraint::Fill(3)),
    Column::text("STATE", Constraint::Length(11)),
    Column::num("MEMBERS", Constraint::Length(7)),
    Column::text("TOPICS", Constraint::Fill(2)),
    Column::num("LAG", Constraint::Length(11)),
    Column::num("MAX", Constraint::Length(9)),
    Column::num("NO COMMIT", Constraint::Length(9)),
];

impl ListSource for Groups<'_> {
    fn columns(&self) -> &'static [Column] {
        GROUP_COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        self.0[i].group_id.clone()
    }
    fn filter_text(&self, i: usize) -> String {
        let g = &self.0[i];
        format!(
            "{}\n{}\n{}",
            g.group_id,
            g.state.as_str(),
            g.topics.join("\n")
        )
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let g = &self.0[i];
        match column {
            0 => SortKey::Text(g.group_id.clone()),
            1 => SortKey::Text(g.state.as_str().to_string()),
            2 => SortKey::Num(g.members as f64),
            3 => SortKey::Text(g.topics.join(",")),
            4 => SortKey::Num(g.total_lag as f64),
            5 => SortKey::Num(g.max_lag as f64),
            _ => SortKey::Num(g.partitions_without_commit as f64),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The model keeps groups worst first.
        a.cmp(&b)
    }
    fn row(&self, i: usize, theme: &Theme) -> Row<'static> {
        let g = &self.0[i];
        let state_style = match g.state {
            GroupState::Stable => theme.ok,
            GroupState::Empty | GroupState::Dead | GroupState::Unknown => theme.warn,
            _ => theme.text,
        };
        let lag_style = if g.total_lag > 0 {
            theme.warn
        } else {
            theme.text
        };
        Row::new(vec![
            Cell::from(g.group_id.clone()),
            Cell::from(Span::styled(state_label(g.state), state_style)),
            num_cell(g.members.to_string(), theme.text),
            Cell::from(g.topics.join(",")),
            num_cell(thousands(g.total_lag), lag_style),
            num_cell(thousands(g.max_lag), theme.text),
            num_cell(
                match g.partitions_without_commit {
                    0 => String::new(),
                    n => n.to_string(),
                },
                theme.warn,
            ),
        ])
    }
    fn open(&self, i: usize) -> Option<View> {
        Some(View::Group {
            group: self.0[i].group_id.clone(),
        })
    }
}

/// Both rebalance phases mean the same to an on-call engineer: consumption is paused right now.
pub fn state_label(state: GroupState) -> &'static str {
    match state {
        GroupState::PreparingRebalance | GroupState::CompletingRebalance => "Rebalancing",
        other => other.as_str(),
    }
}

pub fn detail_panels<'a>(model: &'a Model, group: &str) -> Vec<Panel<'a>> {
    let Some(g) = model.kafka.groups.iter().find(|g| g.group_id == group) else {
        return vec![Panel::text(
            group.to_string(),
            vec![ratatui::text::Line::from(format!(
                "group {group} is not in the latest poll (deleted, or filtered out)"
            ))],
            Constraint::Fill(1),
        )];
    };
    let members = g.members.max(1).min(8) as u16 + 3;
    vec![
        Panel::list(
            format!(
                "{} · {} · lag {}",
                g.group_id,
                state_label(g.state),
                thousands(g.total_lag)
            ),
            Partitions(&g.partitions),
            Constraint::Fill(1),
            "no committed or assigned partitions",
        )
        .with_problem(g.error.clone()),
        Panel::list(
            "Members",
            Members(model, group.to_string()),
            Constraint::Length(members),
            "no active members: the group is empty",
        ),
    ]
}

struct Partitions<'a>(&'a [PartitionLag]);

const PARTITION_COLUMNS: &[Column] = &[
    Column::text("TOPIC", Constraint::Fill(2)),
    Column::num("PARTITION", Constraint::Length(9)),
    Column::num("COMMITTED", Constraint::Length(12)),
    Column::num("END", Constraint::Length(12)),
    Column::num("LAG", Constraint::Length(10)),
    Column::text("NOTE", Constraint::Length(15)),
    Column::text("OWNER", Constraint::Fill(2)),
];

impl ListSource for Partitions<'_> {
    fn columns(&self) -> &'static [Column] {
        PARTITION_COLUMNS
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn key(&self, i: usize) -> String {
        format!("{}/{}", self.0[i].topic, self.0[i].partition)
    }
    fn filter_text(&self, i: usize) -> String {
        let p = &self.0[i];
        format!(
            "{} {} {}",
            p.topic,
            p.partition,
            p.owner.as_deref().unwrap_or("")
        )
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let p = &self.0[i];
        match column {
            0 => SortKey::Text(p.topic.clone()),
            1 => SortKey::Num(f64::from(p.partition)),
            2 => p
                .committed
                .map_or(SortKey::Unknown, |v| SortKey::Num(v as f64)),
            3 => p.end.map_or(SortKey::Unknown, |v| SortKey::Num(v as f64)),
            4 => p.lag.into(),
            5 => SortKey::Text(flag_label(p.flag).to_string()),
            _ => SortKey::Text(p.owner.clone().unwrap_or_default()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        let (pa, pb) = (&self.0[a], &self.0[b]);
        (&pa.topic, pa.partition).cmp(&(&pb.topic, pb.partition))
    }
    fn row(&self, i: usize, theme: &Theme) -> Row<'static> {
        let p = &self.0[i];
        let flag_style = if p.flag == OffsetFlag::Ok {
            theme.text
        } else {
            theme.warn
        };
        let lag_style = if p.lag.unwrap_or(0) > 0 {
            theme.warn
        } else {
            theme.text
        };
        Row::new(vec![
            Cell::from(p.topic.clone()),
            num_cell(p.partition.to_string(), theme.text),
            num_cell(or_dash(p.committed.map(|v| v.to_string())), theme.text),
            num_cell(or_dash(p.end.map(|v| v.to_string())), theme.text),
            num_cell(or_dash(p.lag.map(thousands)), lag_style),
            Cell::from(Span::styled(flag_label(p.flag), flag_style)),
            Cell::from(Span::styled(
                p.owner.clone().unwrap_or_else(|| "-".into()),
                theme.muted,
            )),
        ])
    }
    fn open(&self, i: usize) -> Option<View> {
        Some(View::Topic {
            topic: self.0[i].topic.clone(),
        })
    }
}

fn flag_label(flag: OffsetFlag) -> &'static str {
    match flag {
        OffsetFlag::Ok => "",
        OffsetFlag::NoCommit => "never committed",
        OffsetFlag::UnknownPartition => "topic gone",
        OffsetFlag::AheadOfEnd => "past log end",
        OffsetFlag::BelowLogStart => "lost: retention",
    }
}

struct Members<'a>(&'a Model, String);

impl Members<'_> {
    fn members(&self) -> &[crate::kafka::snapshot::Member] {
        self.0
            .sources
            .kafka
            .last_good
            .as_ref()
            .and_then(|s| s.groups.iter().find(|g| g.group_id == self.1))
            .map_or(&[], |g| g.members.as_slice())
    }
}

const MEMBER_COLUMNS: &[Column] = &[
    Column::text("CLIENT", Constraint::Fill(2)),
    Column::text("HOST", Constraint::Fill(1)),
    Column::num("PARTITIONS", Constraint::Length(10)),
    Column::text("CONSUMER ID", Constraint::Fill(3)),
];

impl ListSource for Members<'_> {
    fn columns(&self) -> &'static [Column] {
        MEMBER_COLUMNS
    }
    fn len(&self) -> usize {
        self.members().len()
    }
    fn key(&self, i: usize) -> String {
        self.members()[i].consumer_id.clone()
    }
    fn filter_text(&self, i: usize) -> String {
        let m = &self.members()[i];
        format!("{}\n{}\n{}", m.client_id, m.host, m.consumer_id)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let m = &self.members()[i];
        match column {
            0 => SortKey::Text(m.client_id.clone()),
            1 => SortKey::Text(m.host.clone()),
            2 => SortKey::Num(m.assignment.len() as f64),
            _ => SortKey::Text(m.consumer_id.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        let m = self.members();
        m[b].assignment
            .len()
            .cmp(&m[a].assignment.len())
            .then_with(|| m[a].consumer_id.cmp(&m[b].consumer_id))
    }
    fn row(&self, i: usize, theme: &Theme) -> Row<'static> {
        let m = &self.members()[i];
        Row::new(vec![
            Cell::from(m.client_id.clone()),
            Cell::from(m.host.trim_start_matches('/').to_string()),
            num_cell(m.assignment.len().to_string(), theme.text),
            Cell::from(Span::styled(m.consumer_id.clone(), theme.muted)),
        ])
    }
}
