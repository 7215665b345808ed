//! pipetop's own load, read back from the servers' query_log by the markers its queries carry, and
//! the sections on a cadence, on both engines:
//! - after six polls (logs flushed), a new collector's first poll reads them back: every poll
//!   counted, the spread of the whole ones, each section's share, the poll-opening `server`
//!   query once per poll;
//! - its second poll keeps what is on a cadence and says when that was read (the parts scan
//!   too, unless some partition nears its limit);
//! - the sections of table kinds a server has none of are read at the first poll only;
//! - on 18.16 (no `log_comment`) pipetop's own queries stay out of the slow-query patterns.
//!
//! One test per engine, each in this binary alone with its own polls: the markers name the
//! process, so another test polling the same server from this process would add its polls.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use pipetop::clickhouse::cadence;
use pipetop::clickhouse::collector::ClickHouseCollector;
use pipetop::clickhouse::section_id::SectionId;
use pipetop::clickhouse::sections::parts;
use pipetop::clickhouse::snapshot::{HostOutcome, HostSnapshot};
use pipetop::source::Collector;

const WARM_POLLS: u32 = 6;

async fn poll(collector: &mut ClickHouseCollector) -> HostSnapshot {
    let snapshot = collector.poll().await.unwrap();
    match snapshot.hosts.into_iter().next().unwrap() {
        HostOutcome::Ok(host) => *host,
        other => panic!("host failed: {other:?}"),
    }
}

/// What the log holds of a collector's first poll, before it knows the server: on the current
/// engine the read-back filters on `log_comment` first, which the opening query and the
/// capability probe do not carry yet (not counted: 0 and 0); 18.16 is asked twice who it is (the
/// first answer format it does not know) and probed once (2 and 1).
struct FirstPoll {
    openings: u64,
    probes: u64,
    /// The sections that depend on a kind of table and that the server can answer at all.
    by_kind: &'static [&'static str],
}

/// Which sections read a kind of table the server has (read at every poll) and which read a kind
/// it has none of (read at the first poll only, nothing being known yet; the fresh collector's
/// first poll may add one more), from the server's own count of its tables. The test does not
/// rely on what other tests left on the shared server.
async fn sections_by_kind(
    url: &str,
    by_kind: &[&'static str],
) -> (Vec<&'static str>, Vec<&'static str>) {
    use pipetop::clickhouse::sections::inventory::{Inventory, inventory_sql};
    let inv: Inventory = common::writer(url)
        .with_validation(false)
        .query(&inventory_sql())
        .fetch_one()
        .await
        .unwrap();
    eprintln!("{url}: {inv:?}");
    let count = |label: &str| match label {
        "replicas" | "replication_queue" => inv.replicated,
        "distribution_queue" => inv.distributed,
        "kafka_consumers" => inv.kafka,
        "view_runs" => inv.views,
        other => panic!("{other} does not depend on a kind of table"),
    };
    by_kind.iter().partition(|label| count(label) > 0)
}

async fn read_back(url: &str, first: FirstPoll, slow_sections: &[SectionId]) -> HostSnapshot {
    let (read, skipped) = sections_by_kind(url, first.by_kind).await;
    // Replicated tables never run on the current engine, and the legacy server has none.
    assert!(!skipped.is_empty(), "nothing to skip on {url}");
    let config = common::clickhouse_config(url);
    let mut warm = ClickHouseCollector::new(&config);
    for _ in 0..WARM_POLLS {
        poll(&mut warm).await;
    }
    common::flush_logs(url).await;

    let mut fresh = ClickHouseCollector::new(&config);
    let opened = poll(&mut fresh).await;
    let load = opened.own_load.data().expect("own load answers");
    eprintln!("{url}: {load:#?}");
    assert!(load.polls >= WARM_POLLS, "{load:?}");
    let spread = load.poll_ms.expect("whole polls in the window");
    assert!(spread.polls >= WARM_POLLS - 2, "{spread:?}");
    assert!(spread.max as f64 >= spread.mean && spread.mean >= 0.0);
    // Both engines log each query's CPU (a Map on 26.9, two arrays on 18.16).
    let cpu = load.cpu_ms.expect("CPU per poll");
    assert!(cpu.mean > 0.0 && cpu.polls == spread.polls, "{cpu:?}");
    assert!(load.sections.iter().all(|s| s.cpu_ms_per_poll.is_some()));
    assert!(load.read_rows_per_poll > 0.0, "{load:?}");
    let section = |label: &str| {
        load.sections
            .iter()
            .find(|s| s.label == label)
            .unwrap_or_else(|| panic!("no {label} in {:?}", load.sections))
    };
    // One poll-opening query per poll, whatever else each poll sent. The fresh collector's own
    // poll may be in the log already, in part (a periodic flush while it runs): on 26.9 that poll
    // shows without its opening query, which carries no log_comment yet.
    let server = section("server").queries;
    let expected = u64::from(load.polls) - 1 + first.openings;
    assert!(
        server == expected || (first.openings == 0 && server + 1 == expected),
        "{server} opening queries for {} polls",
        load.polls
    );
    for label in &skipped {
        let queries = load
            .sections
            .iter()
            .find(|s| s.label == *label)
            .map_or(0, |s| s.queries);
        assert!((1..=2).contains(&queries), "{label}: {queries} queries");
    }
    for label in &read {
        // A section on a cadence is read once by polls this close together.
        let every_poll = SectionId::ALL
            .iter()
            .find(|id| id.name() == *label)
            .is_some_and(|id| cadence::interval(*id).is_none());
        let least = if every_poll { u64::from(WARM_POLLS) } else { 1 };
        assert!(section(label).queries >= least, "{label}");
    }
    let probes = load.sections.iter().find(|s| s.label == "probe");
    assert_eq!(probes.map_or(0, |s| s.queries), first.probes, "{probes:?}");
    // The parts scan is on a cadence too, unless a partition nears its limit (another test's).
    assert!(section("tables").queries >= 1);
    // system.parts reads count no rows on 18.16; the query_log scans do everywhere.
    assert!(section("inserts").read_rows_per_poll > 0.0);
    assert!(
        load.sections
            .windows(2)
            .all(|w| w[0].ms_per_poll >= w[1].ms_per_poll)
    );

    // The next poll keeps what is on a cadence, read at the first poll.
    let second = poll(&mut fresh).await;
    for id in slow_sections {
        let read = second
            .cadenced
            .iter()
            .find(|r| r.section == *id)
            .unwrap_or_else(|| panic!("{id:?} not kept: {:?}", second.cadenced));
        assert_eq!(read.read_at_ms, opened.taken_at_ms, "{read:?}");
        assert_eq!(second.read_at_ms(*id), opened.taken_at_ms);
    }
    assert_eq!(second.own_load.data(), Some(load));
    let near_the_limit = opened
        .tables
        .data()
        .is_some_and(|tables| parts::near_the_limit(tables, opened.thresholds.data()));
    let parts_read_at = if near_the_limit {
        second.taken_at_ms
    } else {
        opened.taken_at_ms
    };
    assert_eq!(second.read_at_ms(SectionId::Tables), parts_read_at);
    assert_eq!(second.read_at_ms(SectionId::Partitions), parts_read_at);
    assert_eq!(second.read_at_ms(SectionId::Merges), second.taken_at_ms);
    second
}

#[tokio::test(flavor = "multi_thread")]
async fn own_load_and_cadences_on_the_current_engine() {
    common::needs!(ClickHouse);
    read_back(
        common::CLICKHOUSE,
        FirstPoll {
            openings: 0,
            probes: 0,
            by_kind: &[
                "replicas",
                "replication_queue",
                "distribution_queue",
                "kafka_consumers",
                "view_runs",
            ],
        },
        &[
            SectionId::Thresholds,
            SectionId::DetachedParts,
            SectionId::Disks,
            SectionId::KafkaChains,
            SectionId::OwnLoad,
            SectionId::Inserts,
            SectionId::FailedInserts,
            SectionId::Latency,
            SectionId::SlowQueries,
            SectionId::ViewRuns,
            SectionId::MemoryLimit,
            SectionId::Mutations,
            SectionId::Errors,
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn own_load_on_legacy_18_16_and_its_queries_stay_out_of_the_slow_patterns() {
    common::needs!(LegacyClickHouse);
    // 18.16 has neither system.disks, system.errors nor the dependency columns: nothing of them
    // is kept.
    let host = read_back(
        common::LEGACY_CLICKHOUSE,
        FirstPoll {
            openings: 2,
            probes: 1,
            // It has no send queue, Kafka-consumer table or view log to ask at all.
            by_kind: &["replicas", "replication_queue"],
        },
        &[
            SectionId::Thresholds,
            SectionId::OwnLoad,
            SectionId::Inserts,
            SectionId::FailedInserts,
            SectionId::Latency,
            SectionId::SlowQueries,
            SectionId::MemoryLimit,
            SectionId::Mutations,
        ],
    )
    .await;
    let slow = host.slow_queries.data().expect("slow queries answer");
    for q in slow {
        assert!(
            !q.normalized_query.contains("pipetop"),
            "pipetop's own query among the slow ones: {q:?}"
        );
    }
}
