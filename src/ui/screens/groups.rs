//! Consumer groups: the list, and one group's partitions and members.

use std::cmp::Ordering;

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use super::{history_charts, judge};
use crate::alerts::{RuleKind, SubjectKind};
use crate::format::{self, compact, thousands};
use crate::kafka::types::GroupState;
use crate::model::Model;
use crate::model::kafka::lag::{GroupLag, Trend};
use crate::model::kafka::partition_lag::OffsetFlag;
use crate::model::kafka::rows::Row;
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source, or_dash};
use crate::ui::sparkline;
use crate::ui::theme::Theme;
use crate::ui::view::{View, Zoom};

pub const TITLE: &str = "Consumer groups";

pub fn list_panel(model: &Model, height: Constraint) -> Panel<'_> {
    let problem = model
        .sources
        .kafka
        .error
        .as_ref()
        .map(|e| format!("kafka: {}", e.message));
    Panel::list(TITLE, Groups(model), height, "no consumer groups")
        .with_problem(problem)
        .from_source(Source::Kafka)
}

pub struct Groups<'a>(pub &'a Model);

const GROUP_COLUMNS: &[Column] = &[
    Column::text("GROUP", Constraint::Fill(3)),
    Column::text("STATUS", Constraint::Length(9)),
    Column::text("STATE", Constraint::Length(7)).from_width(70),
    Column::num("MBR", Constraint::Length(4)).from_width(90),
    Column::num("LAG", Constraint::Length(9)),
    Column::num("TIME LAG", Constraint::Length(8)),
    Column::text("TREND", Constraint::Length(10)).from_width(70),
    Column::num("IN/s", Constraint::Length(7)).from_width(100),
    Column::num("OUT/s", Constraint::Length(7)).from_width(100),
    Column::text("LAG 15m", Constraint::Length(SPARK)).from_width(120),
];

/// Cells of a sparkline column: one per 90 s of the last 15 minutes.
pub const SPARK: u16 = 10;

/// The lag's trend over the list window, or blanks before the group has a history.
pub fn lag_sparkline(model: &Model, group_id: &str, theme: &Theme) -> Line<'static> {
    let text = model
        .kafka
        .series
        .group(group_id)
        .map_or_else(String::new, |s| {
            sparkline::blocks(
                &model.kafka.series.times,
                &s.group.lag,
                sparkline::LIST_WINDOW_S,
                usize::from(SPARK),
            )
        });
    Line::from(Span::styled(text, theme.accent))
}

impl Groups<'_> {
    fn groups(&self) -> &[GroupLag] {
        &self.0.kafka.groups
    }
}

impl ListSource for Groups<'_> {
    fn columns(&self) -> &'static [Column] {
        GROUP_COLUMNS
    }
    fn len(&self) -> usize {
        self.groups().len()
    }
    fn key(&self, i: usize) -> String {
        self.groups()[i].group_id.clone()
    }
    fn filter_text(&self, i: usize) -> String {
        let g = &self.groups()[i];
        format!(
            "{}\n{}\n{}\n{}",
            g.group_id,
            g.status.as_str(),
            g.state.as_str(),
            g.topics.join("\n")
        )
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let g = &self.groups()[i];
        match column {
            0 => SortKey::Text(g.group_id.clone()),
            1 => SortKey::Num(f64::from(g.status.urgency())),
            2 => SortKey::Text(g.state.as_str().to_string()),
            3 => SortKey::Num(g.members as f64),
            4 => SortKey::Num(g.total_lag as f64),
            5 => g.time_lag_s.into(),
            6 => drain_s(self.0, &g.group_id).into(),
            7 => g.produce_rate.into(),
            8 => g.consume_rate.into(),
            _ => SortKey::Num(g.total_lag as f64),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        // The model keeps groups worst first.
        a.cmp(&b)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let g = &self.groups()[i];
        let state_style = match g.state {
            GroupState::Stable => theme.text,
            GroupState::Empty | GroupState::Dead | GroupState::Unknown => theme.warn,
            _ => theme.accent,
        };
        let lag_style = judge::style(
            self.0,
            theme,
            RuleKind::ConsumerTimeLag,
            SubjectKind::Group,
            &g.group_id,
            g.time_lag_s,
        );
        // Figures of an earlier poll (its coordinator is down) say so, with their age; a group
        // without any figures shows none, never a lag of 0.
        let status = match g.stale_s {
            Some(age) => Span::styled(format!("stale {}", format::seconds(age)), theme.stale),
            None => Span::styled(g.status.as_str(), judge::status_style(theme, g.status)),
        };
        let lag = if g.partitions.is_empty() && g.error.is_some() {
            num_cell("-".to_string(), theme.muted)
        } else {
            let style = match (g.stale_s, g.total_lag) {
                (Some(_), _) => theme.stale,
                (None, 0) => theme.muted,
                (None, _) => theme.text,
            };
            num_cell(compact(g.total_lag), style)
        };
        vec![
            cell(g.group_id.clone()),
            Line::from(status),
            Line::from(Span::styled(state_label(g.state), state_style)),
            num_cell(g.members.to_string(), theme.text),
            lag,
            num_cell(judge::time_lag(g.time_lag_s, g.time_lag_kind), lag_style),
            Line::from(trend(g, drain_s(self.0, &g.group_id), theme)),
            num_cell(judge::opt_rate(g.produce_rate), theme.muted),
            num_cell(judge::opt_rate(g.consume_rate), theme.muted),
            lag_sparkline(self.0, &g.group_id, theme),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        Some(View::Group {
            group: self.groups()[i].group_id.clone(),
        })
    }
}

/// The time to drain the backlog, only when the lag's history supports the rates' estimate
/// (see `model::projection`): a rate blip alone never shows a number.
pub fn drain_s(model: &Model, group_id: &str) -> Option<f64> {
    model.kafka.series.group(group_id).and_then(|s| s.drain_s)
}

/// Which way the lag is heading, in a word an engineer reads at once; the drain time only when
/// the history supports it, else "–".
pub fn trend(g: &GroupLag, drain_s: Option<f64>, theme: &Theme) -> Span<'static> {
    match g.trend {
        Trend::CaughtUp => Span::styled("caught up", theme.muted),
        Trend::CatchingUp => Span::styled(
            format!("↓ {}", drain_s.map_or("–".into(), format::seconds)),
            theme.ok,
        ),
        Trend::FallingBehind => Span::styled("↑ behind", theme.warn),
        Trend::Steady => Span::styled("→ steady", theme.muted),
        Trend::Unknown => Span::styled("-", theme.muted),
    }
}

/// Both rebalance phases mean the same to an on-call engineer: consumption is paused right now.
pub fn state_label(state: GroupState) -> &'static str {
    match state {
        GroupState::PreparingRebalance | GroupState::CompletingRebalance => "Rebal.",
        other => other.as_str(),
    }
}

pub fn detail_panels<'a>(
    model: &'a Model,
    group: &str,
    theme: &Theme,
    zoom: Zoom,
) -> Vec<Panel<'a>> {
    let Some(g) = model.kafka.groups.iter().find(|g| g.group_id == group) else {
        return vec![Panel::text(
            group.to_string(),
            // A span, not `Line::from(String)`, which would drop a newline in the id unseen.
            vec![Line::from(Span::raw(format!(
                "group {group} is not in the latest poll (deleted, or filtered out)"
            )))],
            Constraint::Fill(1),
        )];
    };
    let members = (g.members.clamp(1, 6) as u16) + 3;
    let mut summary = summary(g, drain_s(model, group));
    // Third, so a short panel never cuts it: it is how long until the backlog becomes data loss.
    let at = summary.len().min(2);
    for (i, line) in retention_lines(model, g, theme).into_iter().enumerate() {
        summary.insert(at + i, line);
    }
    let summary_height = summary.len().min(6) as u16 + 2;
    let mut panels = vec![
        Panel::text(
            g.group_id.clone(),
            summary,
            Constraint::Length(summary_height),
        )
        .with_problem(g.error.clone())
        .from_source(Source::Kafka),
    ];
    panels.extend(history_charts::group_panel(model, g, theme, zoom));
    panels.extend([
        Panel::list(
            "Partitions",
            Partitions(model, g),
            Constraint::Fill(1),
            "no committed or assigned partitions",
        )
        .from_source(Source::Kafka),
        Panel::list(
            "Members",
            Members(model, group.to_string()),
            Constraint::Length(members),
            "no active members: the group is empty",
        )
        .from_source(Source::Kafka),
    ]);
    panels
}

/// Below this share of its retention the oldest unread message is no news: a week's retention
/// and a minute of lag need no line.
const NOTABLE_RETENTION_USED: f64 = 0.1;

/// How near the unread messages are to deletion by retention, and how many were deleted unread;
/// nothing when the topics' retention is unknown or unlimited and nothing was lost.
fn retention_lines(model: &Model, g: &GroupLag, theme: &Theme) -> Vec<Line<'static>> {
    let r = &g.retention;
    let mut lines = Vec::new();
    let notable = r.used.is_some_and(|u| u >= NOTABLE_RETENTION_USED);
    if let (Some(left), Some(used), Some(limit), true) = (r.left_s, r.used, r.retention_ms, notable)
    {
        let style = judge::style(
            model,
            theme,
            RuleKind::RetentionRisk,
            SubjectKind::Group,
            &g.group_id,
            Some(used),
        );
        let text = if left > 0.0 {
            format!(
                "loses data in {} · oldest unread is {:.0}% of retention {}",
                format::seconds(left),
                used * 100.0,
                format::whole_duration_ms(limit)
            )
        } else {
            format!(
                "losing data now: oldest unread is past retention {}",
                format::whole_duration_ms(limit)
            )
        };
        lines.push(Line::from(Span::styled(text, style)));
    }
    if r.lost > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "{} messages deleted by retention before they were read",
                thousands(r.lost)
            ),
            theme.crit,
        )));
    }
    lines
}

/// Short lines, one fact each, so nothing is lost to wrapping on an 80-column terminal.
fn summary(g: &GroupLag, drain_s: Option<f64>) -> Vec<Line<'static>> {
    let trend = match g.trend {
        Trend::CatchingUp => match drain_s {
            Some(s) => format!("catching up in {}", format::seconds(s)),
            None => "catching up (too early to say when)".to_string(),
        },
        Trend::FallingBehind => "falling behind".to_string(),
        Trend::Steady => "lag steady".to_string(),
        Trend::CaughtUp => "caught up".to_string(),
        Trend::Unknown => "trend unknown yet".to_string(),
    };
    let mut lines = vec![
        Line::from(format!(
            "{} · {} · {} member{} · lag {} · time lag {}",
            g.status.as_str(),
            g.state.as_str(),
            g.members,
            if g.members == 1 { "" } else { "s" },
            thousands(g.total_lag),
            judge::time_lag(g.time_lag_s, g.time_lag_kind),
        )),
        Line::from(format!(
            "produce {} · consume {} · {trend}",
            judge::opt_rate(g.produce_rate),
            judge::opt_rate(g.consume_rate),
        )),
    ];
    for t in &g.topic_lags {
        lines.push(Line::from(format!(
            "{}: {} · {} partition{} · lag {}",
            t.topic,
            t.lag.status.as_str(),
            t.lag.partitions,
            if t.lag.partitions == 1 { "" } else { "s" },
            thousands(t.lag.total_lag)
        )));
    }
    match g.partitions_without_commit {
        0 => {}
        1 => lines.push(Line::from("1 assigned partition never committed")),
        n => lines.push(Line::from(format!(
            "{n} assigned partitions never committed"
        ))),
    }
    lines
}

struct Partitions<'a>(&'a Model, &'a GroupLag);

const PARTITION_COLUMNS: &[Column] = &[
    Column::text("TOPIC", Constraint::Fill(1)),
    Column::num("PART", Constraint::Length(4)),
    Column::text("STATUS", Constraint::Length(9)),
    Column::num("COMMITTED", Constraint::Length(11)).from_width(110),
    Column::num("END", Constraint::Length(11)).from_width(110),
    Column::num("LAG", Constraint::Length(9)),
    Column::num("TIME LAG", Constraint::Length(8)),
    Column::num("IDLE", Constraint::Length(6)).from_width(100),
    Column::text("OWNER / NOTE", Constraint::Fill(2)),
];

impl Partitions<'_> {
    fn row(&self, i: usize) -> Row<'_> {
        self.1.partitions.row(i)
    }
}

impl ListSource for Partitions<'_> {
    fn columns(&self) -> &'static [Column] {
        PARTITION_COLUMNS
    }
    fn len(&self) -> usize {
        self.1.partitions.len()
    }
    fn key(&self, i: usize) -> String {
        let p = self.row(i);
        format!("{}/{}", p.topic, p.partition)
    }
    fn filter_text(&self, i: usize) -> String {
        let p = self.row(i);
        format!(
            "{}\n{}\n{}\n{}",
            p.topic,
            p.partition,
            p.status().as_str(),
            p.owner().unwrap_or("")
        )
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let p = self.row(i);
        match column {
            0 => SortKey::Text(p.topic.to_string()),
            1 => SortKey::Num(f64::from(p.partition)),
            2 => SortKey::Num(f64::from(p.status().urgency())),
            3 => p
                .committed()
                .map_or(SortKey::Unknown, |v| SortKey::Num(v as f64)),
            4 => p.end().map_or(SortKey::Unknown, |v| SortKey::Num(v as f64)),
            5 => p.lag().into(),
            6 => p.time_lag_s().into(),
            7 => p.idle_s().into(),
            _ => SortKey::Text(p.owner().unwrap_or_default().to_string()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        let (pa, pb) = (self.row(a), self.row(b));
        (pa.topic, pa.partition).cmp(&(pb.topic, pb.partition))
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let p = self.row(i);
        let lag_style = judge::style(
            self.0,
            theme,
            RuleKind::ConsumerTimeLag,
            SubjectKind::Group,
            &self.1.group_id,
            p.time_lag_s(),
        );
        let note = match (p.flag(), p.owner()) {
            (OffsetFlag::Ok, Some(owner)) => Span::styled(owner.to_string(), theme.muted),
            (OffsetFlag::Ok, None) => Span::styled("unassigned", theme.muted),
            (flag, _) => Span::styled(flag_label(flag), theme.warn),
        };
        vec![
            cell(p.topic.to_string()),
            num_cell(p.partition.to_string(), theme.text),
            Line::from(Span::styled(
                p.status().as_str(),
                judge::status_style(theme, p.status()),
            )),
            num_cell(or_dash(p.committed().map(|v| v.to_string())), theme.text),
            num_cell(or_dash(p.end().map(|v| v.to_string())), theme.text),
            num_cell(or_dash(p.lag().map(thousands)), theme.text),
            num_cell(
                judge::time_lag(p.time_lag_s(), p.time_lag_kind()),
                lag_style,
            ),
            num_cell(p.idle_s().map_or("-".into(), format::seconds), theme.muted),
            Line::from(note),
        ]
    }
    fn open(&self, i: usize) -> Option<View> {
        Some(View::Topic {
            topic: self.row(i).topic.to_string(),
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
    fn members(&self) -> &[crate::model::kafka::lag::MemberView] {
        self.0
            .kafka
            .group(&self.1)
            .map_or(&[], |g| g.member_list.as_slice())
    }
}

const MEMBER_COLUMNS: &[Column] = &[
    Column::text("CLIENT", Constraint::Fill(2)),
    Column::text("HOST", Constraint::Fill(1)),
    Column::num("PARTITIONS", Constraint::Length(10)),
    Column::text("CONSUMER ID", Constraint::Fill(3)).from_width(100),
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
            2 => SortKey::Num(m.partitions as f64),
            _ => SortKey::Text(m.consumer_id.clone()),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        let m = self.members();
        m[b].partitions
            .cmp(&m[a].partitions)
            .then_with(|| m[a].consumer_id.cmp(&m[b].consumer_id))
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let m = &self.members()[i];
        vec![
            cell(m.client_id.clone()),
            cell(m.host.trim_start_matches('/').to_string()),
            num_cell(m.partitions.to_string(), theme.text),
            Line::from(Span::styled(m.consumer_id.clone(), theme.muted)),
        ]
    }
}
