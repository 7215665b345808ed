//! Each disk's free space over the last hour, to say when it will be full: only when the history
//! supports it (`model::projection`, fitted over [`DISK_FIT_WINDOW_S`]).
//!
//! Bounded: a disk keeps the points of the last [`DISK_FIT_WINDOW_S`] and at most
//! [`MAX_POINTS`] of them (16 bytes each); a disk that leaves its host's answer, and a host that
//! leaves the config, take their points with them.

use std::collections::{HashMap, VecDeque};

use crate::clickhouse::resources::Disk;
use crate::model::projection::time_to_reach_within;

/// How far back the line through a disk's free space is fitted. A disk that fills in a day loses
/// about 4 % of its free space an hour, well above the projection's 1 % minimum change; over five
/// minutes (the other projections' window) it would look flat.
pub const DISK_FIT_WINDOW_S: f64 = 3600.0;
/// Points kept per disk: an hour at a 1 s refresh.
pub const MAX_POINTS: usize = 3600;

#[derive(Debug, Clone, Default)]
pub struct DiskHistory {
    /// (host, disk name) → (Unix seconds, free bytes), oldest first.
    disks: HashMap<(String, String), VecDeque<(f64, f64)>>,
}

impl DiskHistory {
    /// Records one host's disks as of its poll's end (`at_ms`) and returns, per disk, the seconds
    /// until its free space reaches its `keep_free_space` (the server writes no new part below
    /// it). A host reported again with the same answer (a slow host) adds no point. Disks of this
    /// host that are not in `disks` are forgotten.
    pub fn record(&mut self, host: &str, at_ms: i64, disks: &[Disk]) -> Vec<Option<f64>> {
        let at = at_ms as f64 / 1000.0;
        self.disks
            .retain(|(h, name), _| h != host || disks.iter().any(|d| &d.name == name));
        disks
            .iter()
            .map(|d| {
                let points = self
                    .disks
                    .entry((host.to_string(), d.name.clone()))
                    .or_default();
                if points.back().is_none_or(|(t, _)| at > *t) {
                    points.push_back((at, d.free_bytes as f64));
                }
                while points
                    .front()
                    .is_some_and(|(t, _)| *t < at - DISK_FIT_WINDOW_S)
                    || points.len() > MAX_POINTS
                {
                    points.pop_front();
                }
                // A disk without a total (object storage) never fills.
                d.free_ratio()?;
                let (older, newer) = points.as_slices();
                let all: Vec<(f64, f64)> = older.iter().chain(newer).copied().collect();
                time_to_reach_within(&all, d.keep_free_bytes as f64, DISK_FIT_WINDOW_S)
            })
            .collect()
    }

    /// Forgets the hosts no longer configured.
    pub fn retain_hosts(&mut self, configured: &[&str]) {
        self.disks
            .retain(|(h, _), _| configured.contains(&h.as_str()));
    }

    /// Points held, over every disk (for tests and memory accounting).
    pub fn points(&self) -> usize {
        self.disks.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(name: &str, free: u64) -> Disk {
        Disk {
            name: name.into(),
            path: "/var/lib/clickhouse/".into(),
            free_bytes: free,
            total_bytes: 1_000_000_000,
            keep_free_bytes: 0,
            kind: Some("Local".into()),
        }
    }

    #[test]
    fn a_disk_filling_steadily_is_full_when_the_line_says() {
        let mut h = DiskHistory::default();
        // 500 MB free, 100 kB less every 10 s (10 kB/s): 50,000 s to go from the first point.
        let mut last = None;
        for i in 0..60 {
            let free = 500_000_000 - 100_000 * i;
            last = h.record("a", 1_000_000 + i as i64 * 10_000, &[disk("default", free)])[0];
        }
        let t = last.unwrap();
        // 494.1 MB left at the newest point: 49,410 s.
        assert!((t - 49_410.0).abs() < 5.0, "{t}");
    }

    #[test]
    fn flat_or_noisy_free_space_is_not_projected_and_history_is_bounded() {
        let mut h = DiskHistory::default();
        let mut last = Some(0.0);
        for i in 0..400 {
            // Merges free and take space: up and down around 500 MB.
            let free = if i % 2 == 0 { 500_000_000 } else { 499_000_000 };
            last = h.record("a", i as i64 * 10_000, &[disk("default", free)])[0];
        }
        assert_eq!(last, None);
        // An hour at one point per 10 s, plus the newest.
        assert_eq!(h.points(), 361);
        // The same answer again (a slow host reported twice) adds nothing.
        h.record("a", 399 * 10_000, &[disk("default", 1)]);
        assert_eq!(h.points(), 361);
    }

    #[test]
    fn gone_disks_and_hosts_are_forgotten() {
        let mut h = DiskHistory::default();
        h.record("a", 0, &[disk("default", 5), disk("cold", 5)]);
        h.record("b", 0, &[disk("default", 5)]);
        assert_eq!(h.points(), 3);
        h.record("a", 1000, &[disk("default", 5)]);
        assert_eq!(
            h.points(),
            3,
            "a's cold disk went, its default gained a point"
        );
        h.retain_hosts(&["a"]);
        assert_eq!(h.points(), 2);
    }

    #[test]
    fn a_disk_without_a_total_never_fills() {
        let mut h = DiskHistory::default();
        let mut s3 = disk("s3", 0);
        s3.total_bytes = 0;
        let mut last = Some(0.0);
        for i in 0..60 {
            s3.free_bytes = 1_000_000 - i * 1000;
            last = h.record("a", i as i64 * 10_000, std::slice::from_ref(&s3))[0];
        }
        assert_eq!(last, None);
    }
}
