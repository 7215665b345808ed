//! `:self`: what pipetop costs the servers it watches. The latest Kafka poll's requests and where
//! its time went; per ClickHouse host the server time pipetop's queries took per poll (read back
//! from the host's query_log) against the budget; then each section's share, with how often it
//! is read.

use std::cmp::Ordering;
use std::time::{Duration, SystemTime};

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};

use crate::clickhouse::cadence;
use crate::clickhouse::own_load::SectionLoad;
use crate::clickhouse::section_id::SectionId;
use crate::clickhouse::snapshot::CadencedRead;
use crate::format;
use crate::model::Model;
use crate::model::own_load::{HostLoad, KafkaLoad, SERVER_MS_PER_POLL_BUDGET};
use crate::ui::list::{Column, ListSource, SortKey, cell, num_cell};
use crate::ui::panel::{Panel, Source};
use crate::ui::theme::Theme;

pub fn panels<'a>(model: &'a Model, theme: &Theme, now: SystemTime) -> Vec<Panel<'a>> {
    let load = &model.pipetop_load;
    let kafka = match &load.kafka {
        Some(k) => kafka_lines(k, theme),
        None => vec![Line::from(Span::styled("no Kafka poll yet", theme.muted))],
    };
    let mut hosts: Vec<Line<'static>> = load
        .hosts
        .iter()
        .flat_map(|h| host_lines(h, theme, now))
        .collect();
    if hosts.is_empty() {
        hosts.push(Line::from(Span::styled(
            "no ClickHouse poll yet",
            theme.muted,
        )));
    }
    let rows: Vec<(&str, &SectionLoad, f64, &[CadencedRead])> = load
        .hosts
        .iter()
        .filter_map(|h| h.load.as_ref().ok().map(|l| (h, l)))
        .flat_map(|(h, l)| {
            let total: f64 = l.sections.iter().map(|s| s.ms_per_poll).sum();
            l.sections.iter().map(move |s| {
                let share = share(s.ms_per_poll, total);
                (h.host.as_str(), s, share, h.cadenced.as_slice())
            })
        })
        .collect();
    let host_height = hosts.len().min(12) as u16 + 2;
    vec![
        Panel::text("Kafka: the latest poll", kafka, Constraint::Length(4))
            .from_source(Source::Kafka),
        Panel::text(
            format!(
                "ClickHouse: what pipetop's queries cost per poll (server time budget {} ms; they run side by side, waits count)",
                SERVER_MS_PER_POLL_BUDGET
            ),
            hosts,
            Constraint::Length(host_height),
        )
        .from_source(Source::ClickHouse),
        Panel::list(
            "Sections (most server time first)",
            Sections { rows },
            Constraint::Fill(1),
            "no own load read yet (it needs query_log)",
        )
        .from_source(Source::ClickHouse),
    ]
}

fn share(part: f64, total: f64) -> f64 {
    if total > 0.0 { part / total } else { 0.0 }
}

fn kafka_lines(k: &KafkaLoad, theme: &Theme) -> Vec<Line<'static>> {
    let r = &k.by_kind;
    let requests = [
        ("ListOffsets", r.list_offsets),
        ("OffsetFetch", r.offset_fetch),
        ("DescribeGroups", r.describe_groups),
        ("ListGroups", r.list_groups),
        ("Metadata", r.metadata),
        ("DescribeCluster", r.describe_cluster),
        ("ListOffsets by time", r.list_offsets_by_time),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(name, n)| format!("{name} {}", format::thousands(u64::from(*n))))
    .collect::<Vec<_>>()
    .join(" · ");
    let p = &k.phases_ms;
    let phases = [
        ("metadata", p.metadata),
        ("DescribeGroups", p.describe_groups),
        ("OffsetFetch", p.offset_fetch),
        ("log ends", p.list_offsets_end),
        ("log starts", p.list_offsets_start),
        ("produce times", p.produce_times),
    ]
    .iter()
    .map(|(name, ms)| format!("{name} {ms} ms"))
    .collect::<Vec<_>>()
    .join(" · ");
    vec![
        Line::from(vec![
            Span::styled(format!("{} ms", k.poll_ms), theme.text),
            Span::raw(format!(
                ", {} requests{}{requests}",
                format::thousands(u64::from(k.requests)),
                if requests.is_empty() { "" } else { ": " }
            )),
        ]),
        Line::from(Span::styled(format!("side by side: {phases}"), theme.muted)),
    ]
}

/// Two lines per host: what a poll costs the server (and the latest poll's wall time), then what
/// it reads and how fresh the read-back is.
fn host_lines(h: &HostLoad, theme: &Theme, now: SystemTime) -> [Line<'static>; 2] {
    let mut first = vec![Span::raw(format!("{}  ", h.host))];
    let mut second = vec![Span::raw("  ")];
    match &h.load {
        Ok(load) => {
            match load.poll_ms {
                Some(spread) => {
                    let style = if spread.mean > SERVER_MS_PER_POLL_BUDGET {
                        theme.warn
                    } else {
                        theme.ok
                    };
                    first.push(Span::raw("server time "));
                    first.push(Span::styled(format!("{:.0} ms", spread.mean), style));
                    first.push(Span::raw(format!(" mean, {} ms worst", spread.max)));
                    if let Some(cpu) = load.cpu_ms {
                        first.push(Span::raw(format!(
                            " · CPU {:.0} ms mean, {} ms worst",
                            cpu.mean, cpu.max
                        )));
                    }
                }
                None => first.push(Span::styled("too few polls in the log yet", theme.muted)),
            }
            second.push(Span::styled(
                format!(
                    "{} rows, {} read a poll · peak {} in one query · {} polls in the last {}",
                    format::compact(load.read_rows_per_poll.round() as u64),
                    format::bytes(load.read_bytes_per_poll.round() as u64),
                    format::bytes(load.peak_memory_bytes),
                    load.polls,
                    format::seconds(load.window_s as f64),
                ),
                theme.muted,
            ));
        }
        Err(why) => first.push(Span::styled(why.clone(), theme.muted)),
    }
    if let Some((wall_ms, queries)) = h.poll {
        first.push(Span::styled(
            format!(" · latest poll {wall_ms} ms, {queries} queries"),
            theme.muted,
        ));
    }
    if let Some(at_ms) = h.read_at_ms.filter(|_| h.load.is_ok()) {
        let age = (crate::time::unix_ms(now) - at_ms).max(0) as f64 / 1000.0;
        second.push(Span::styled(
            format!(" · read back {} ago", format::seconds(age)),
            theme.muted,
        ));
    }
    [Line::from(first), Line::from(second)]
}

/// How often a section is read: "every poll", or its cadence: as the host's collector reports it
/// (the config may set it), else the default.
fn cadence_text(label: &str, cadenced: &[CadencedRead]) -> String {
    let Some(id) = SectionId::ALL.iter().find(|id| id.name() == label) else {
        return "every poll".to_string();
    };
    let every = match cadenced.iter().find(|r| r.section == *id) {
        Some(read) => Some(Duration::from_secs(read.every_s)),
        None => cadence::interval(*id),
    };
    match every {
        Some(every) if every > Duration::ZERO => {
            format!("every {}", format::seconds(every.as_secs_f64()))
        }
        _ => "every poll".to_string(),
    }
}

struct Sections<'a> {
    /// (host, section, its share of the host's server time, the host's sections on a cadence)
    rows: Vec<(&'a str, &'a SectionLoad, f64, &'a [CadencedRead])>,
}

const COLUMNS: &[Column] = &[
    Column::text("HOST", Constraint::Fill(2)),
    Column::text("SECTION", Constraint::Fill(2)),
    Column::num("MS/POLL", Constraint::Length(8)),
    Column::num("CPU MS", Constraint::Length(7)),
    Column::num("SHARE", Constraint::Length(6)),
    Column::num("ROWS/POLL", Constraint::Length(9)),
    Column::num("QUERIES", Constraint::Length(8)).from_width(100),
    Column::num("PEAK MEM", Constraint::Length(9)).from_width(100),
    Column::text("READ", Constraint::Length(11)),
];

impl ListSource for Sections<'_> {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn key(&self, i: usize) -> String {
        let (host, s, _, _) = self.rows[i];
        format!("{host}/{}", s.label)
    }
    fn filter_text(&self, i: usize) -> String {
        let (host, s, _, _) = self.rows[i];
        format!("{}\n{host}", s.label)
    }
    fn sort_key(&self, i: usize, column: usize) -> SortKey {
        let (host, s, share, cadenced) = self.rows[i];
        match column {
            0 => SortKey::Text(host.to_string()),
            1 => SortKey::Text(s.label.clone()),
            2 => SortKey::Num(s.ms_per_poll),
            3 => SortKey::from(s.cpu_ms_per_poll),
            4 => SortKey::Num(share),
            5 => SortKey::Num(s.read_rows_per_poll),
            6 => SortKey::Num(s.queries as f64),
            7 => SortKey::Num(s.peak_memory_bytes as f64),
            _ => SortKey::Text(cadence_text(&s.label, cadenced)),
        }
    }
    fn natural_order(&self, a: usize, b: usize) -> Ordering {
        self.rows[b]
            .1
            .ms_per_poll
            .total_cmp(&self.rows[a].1.ms_per_poll)
    }
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        let (host, s, share, cadenced) = self.rows[i];
        vec![
            cell(host.to_string()),
            cell(s.label.clone()),
            num_cell(format!("{:.1}", s.ms_per_poll), theme.text),
            num_cell(
                s.cpu_ms_per_poll
                    .map_or("-".to_string(), |cpu| format!("{cpu:.1}")),
                theme.muted,
            ),
            num_cell(format!("{:.0}%", share * 100.0), theme.muted),
            num_cell(
                format::compact(s.read_rows_per_poll.round() as u64),
                theme.text,
            ),
            num_cell(format::thousands(s.queries), theme.muted),
            num_cell(format::bytes(s.peak_memory_bytes), theme.muted),
            cell(cadence_text(&s.label, cadenced)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_column_says_the_interval_the_collector_reports() {
        let read = |section, every_s| CadencedRead {
            section,
            every_s,
            read_at_ms: 0,
        };
        let reported = [read(SectionId::Disks, 300), read(SectionId::Inserts, 0)];
        assert_eq!(cadence_text("disks", &reported), "every 5m");
        assert_eq!(cadence_text("inserts", &reported), "every poll");
        // Not reported (no good answer yet): the default.
        assert_eq!(cadence_text("tables", &reported), "every 10s");
        assert_eq!(cadence_text("merges", &reported), "every poll");
        assert_eq!(cadence_text("probe", &reported), "every poll");
    }
}
