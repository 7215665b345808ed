//! What pipetop's own queries cost one server, read back from its `query_log` by their markers
//! (`client::marker_prefix`): per poll, and per section. Plain immutable data, and the pure
//! summing that turns the log's rows into it.

use serde::{Deserialize, Serialize};

/// pipetop's cost to one server over the last `window_s` seconds of its query_log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnLoad {
    /// How far back the log was read.
    pub window_s: u64,
    /// Polls of this pipetop the window holds.
    pub polls: u32,
    /// Server time of one poll, the sum of its queries' `query_duration_ms` (they run
    /// concurrently, so this is what the server spent, not how long the poll waited): the mean
    /// and the worst over the polls the window holds whole. None before two whole polls are in
    /// the log (it flushes every few seconds).
    pub poll_ms: Option<PollSpread>,
    /// The CPU those queries took (user + system, `ProfileEvents`), per poll, over the same
    /// polls: `poll_ms` counts a query's waiting too (pipetop's queries of a poll run side by
    /// side, and share the server's cores with everything else). None where the log has no
    /// `ProfileEvents`.
    pub cpu_ms: Option<PollSpread>,
    /// Rows and bytes the server read per poll, on average.
    pub read_rows_per_poll: f64,
    pub read_bytes_per_poll: f64,
    /// The most memory one of pipetop's queries took.
    pub peak_memory_bytes: u64,
    /// Per section (the marker's label), the most server time first.
    pub sections: Vec<SectionLoad>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PollSpread {
    pub mean: f64,
    pub max: u64,
    /// How many whole polls these figures cover.
    pub polls: u32,
}

/// One section's share of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionLoad {
    /// The section's name (`SectionId::name`), `server` for the query opening each poll, `probe`
    /// for the capability probe after a connect.
    pub label: String,
    /// Its queries in the window.
    pub queries: u64,
    /// Server time per poll, on average over the window's polls (a section read every 60 s
    /// shows its cost spread over the polls in between).
    pub ms_per_poll: f64,
    /// CPU per poll, on average the same way; None where the log has no `ProfileEvents`.
    pub cpu_ms_per_poll: Option<f64>,
    pub read_rows_per_poll: f64,
    pub peak_memory_bytes: u64,
}

/// One group of the log's rows: all queries of one poll, or all of one section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRow {
    pub group: LoadGroup,
    pub queries: u64,
    pub duration_ms: u64,
    /// User + system CPU, µs; None where the log does not say.
    pub cpu_us: Option<u64>,
    pub read_rows: u64,
    pub read_bytes: u64,
    pub peak_memory_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadGroup {
    Poll(u64),
    Section(String),
}

impl OwnLoad {
    /// Sums the rows read back from the log. The oldest and the newest poll seen are left out of
    /// the per-poll spread: the window cut into the one, the log had not flushed all of the other.
    pub fn from_rows(window_s: u64, rows: &[LoadRow]) -> OwnLoad {
        let mut polls: Vec<(u64, &LoadRow)> = rows
            .iter()
            .filter_map(|r| match r.group {
                LoadGroup::Poll(n) => Some((n, r)),
                LoadGroup::Section(_) => None,
            })
            .collect();
        polls.sort_by_key(|(n, _)| *n);
        let count = polls.len().max(1) as f64;
        let whole = polls.get(1..polls.len().saturating_sub(1)).unwrap_or(&[]);
        let spread = |ms: &dyn Fn(&LoadRow) -> Option<f64>| -> Option<PollSpread> {
            let values: Option<Vec<f64>> = whole.iter().map(|(_, r)| ms(r)).collect();
            let values = values.filter(|v| v.len() >= 2)?;
            Some(PollSpread {
                mean: values.iter().sum::<f64>() / values.len() as f64,
                max: values.iter().copied().fold(0.0, f64::max).round() as u64,
                polls: u32::try_from(values.len()).unwrap_or(u32::MAX),
            })
        };
        let poll_ms = spread(&|r| Some(r.duration_ms as f64));
        let cpu_ms = spread(&|r| r.cpu_us.map(|us| us as f64 / 1000.0));
        let mut sections: Vec<SectionLoad> = rows
            .iter()
            .filter_map(|r| match &r.group {
                LoadGroup::Section(label) => Some(SectionLoad {
                    label: label.clone(),
                    queries: r.queries,
                    ms_per_poll: r.duration_ms as f64 / count,
                    cpu_ms_per_poll: r.cpu_us.map(|us| us as f64 / 1000.0 / count),
                    read_rows_per_poll: r.read_rows as f64 / count,
                    peak_memory_bytes: r.peak_memory_bytes,
                }),
                LoadGroup::Poll(_) => None,
            })
            .collect();
        sections.sort_by(|a, b| {
            b.ms_per_poll
                .total_cmp(&a.ms_per_poll)
                .then_with(|| a.label.cmp(&b.label))
        });
        let sum = |f: fn(&LoadRow) -> u64| polls.iter().map(|(_, r)| f(r) as f64).sum::<f64>();
        OwnLoad {
            window_s,
            polls: u32::try_from(polls.len()).unwrap_or(u32::MAX),
            poll_ms,
            cpu_ms,
            read_rows_per_poll: sum(|r| r.read_rows) / count,
            read_bytes_per_poll: sum(|r| r.read_bytes) / count,
            peak_memory_bytes: polls
                .iter()
                .map(|(_, r)| r.peak_memory_bytes)
                .max()
                .unwrap_or(0),
            sections,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: LoadGroup, duration_ms: u64, read_rows: u64, memory: u64) -> LoadRow {
        LoadRow {
            group,
            queries: 3,
            duration_ms,
            cpu_us: Some(duration_ms * 500),
            read_rows,
            read_bytes: read_rows * 10,
            peak_memory_bytes: memory,
        }
    }

    #[test]
    fn the_spread_leaves_out_the_cut_polls_at_both_ends() {
        let rows = [
            row(LoadGroup::Poll(7), 1, 10, 5),
            row(LoadGroup::Poll(4), 90, 10, 5),
            row(LoadGroup::Poll(5), 20, 30, 9),
            row(LoadGroup::Poll(6), 40, 50, 7),
            row(LoadGroup::Section("parts".into()), 120, 80, 9),
            row(LoadGroup::Section("disks".into()), 31, 10, 1),
            row(LoadGroup::Section("server".into()), 0, 10, 1),
        ];
        let load = OwnLoad::from_rows(300, &rows);
        assert_eq!(load.polls, 4);
        // Polls 5 and 6 are whole; 4 (cut by the window) and 7 (not flushed yet) are not.
        assert_eq!(
            load.poll_ms,
            Some(PollSpread {
                mean: 30.0,
                max: 40,
                polls: 2
            })
        );
        assert_eq!(
            load.cpu_ms,
            Some(PollSpread {
                mean: 15.0,
                max: 20,
                polls: 2
            })
        );
        assert_eq!(load.read_rows_per_poll, 25.0);
        assert_eq!(load.read_bytes_per_poll, 250.0);
        assert_eq!(load.peak_memory_bytes, 9);
        let labels: Vec<&str> = load.sections.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["parts", "disks", "server"]);
        assert_eq!(load.sections[0].ms_per_poll, 30.0);
        assert_eq!(load.sections[1].ms_per_poll, 7.75);
        assert_eq!(load.sections[1].cpu_ms_per_poll, Some(3.875));
    }

    #[test]
    fn too_few_polls_give_no_spread() {
        let rows = [
            row(LoadGroup::Poll(1), 10, 1, 1),
            row(LoadGroup::Poll(2), 10, 1, 1),
            row(LoadGroup::Poll(3), 10, 1, 1),
        ];
        assert_eq!(OwnLoad::from_rows(300, &rows).poll_ms, None);
        let empty = OwnLoad::from_rows(300, &[]);
        assert_eq!((empty.polls, empty.poll_ms), (0, None));
        assert_eq!(empty.read_rows_per_poll, 0.0);
    }
}
