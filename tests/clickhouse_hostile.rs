//! The real ClickHouse collector against a hostile HTTP server of the test's own on loopback
//! (`common::hostile`): a 500, a byte a second, a truncated body, an HTML page, a 200 MB body.
//! Each costs one poll at most its time limit and ends in one plain sentence naming the cause.
//! Only the last test needs the live ClickHouse; the others need nothing but loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use common::hostile::{EXCEPTION, Hostile, Mode};
use pipetop::clickhouse::collector::ClickHouseCollector;
use pipetop::clickhouse::snapshot::{HostOutcome, HostSnapshot};
use pipetop::config::ClickHouseConfig;
use pipetop::source::Collector;

/// Generous on purpose: a 2-core CI machine under load runs late.
const MARGIN: Duration = Duration::from_secs(5);
/// The client waits this long past `query_timeout` for the server's own timeout error.
const CLIENT_GRACE: Duration = Duration::from_secs(1);

fn config(url: &str, query_timeout: Duration) -> ClickHouseConfig {
    ClickHouseConfig {
        query_timeout,
        freshness: Vec::new(),
        ..common::clickhouse_config(url)
    }
}

/// One poll of the hostile server alone: it fails as a whole (its first query already fails).
/// Returns how long the poll took and its error.
async fn poll_failing(hostile: &Hostile, query_timeout: Duration) -> (Duration, String) {
    let mut collector = ClickHouseCollector::new(&config(&hostile.url, query_timeout));
    let started = Instant::now();
    let result = collector.poll().await;
    let elapsed = started.elapsed();
    let error = result.expect_err("a hostile server's poll must fail");
    eprintln!("{elapsed:?}: {error}");
    assert!(
        elapsed < query_timeout + CLIENT_GRACE + MARGIN,
        "{elapsed:?}: {error}"
    );
    assert!(
        error.starts_with(&format!("{}: ", hostile.url)),
        "names the host: {error}"
    );
    assert!(!error.contains('\n'), "one line: {error:?}");
    (elapsed, error)
}

#[tokio::test]
async fn a_500_reads_as_its_exception_text() {
    common::needs!(Loopback);
    let hostile = Hostile::start(Mode::ServerError).await.unwrap();
    let (_, error) = poll_failing(&hostile, Duration::from_secs(5)).await;
    let expected = EXCEPTION.split(" (version ").next().unwrap();
    assert!(error.ends_with(expected), "{error}");
}

#[tokio::test]
async fn a_byte_a_second_costs_one_time_limit() {
    common::needs!(Loopback);
    let hostile = Hostile::start(Mode::Slow).await.unwrap();
    let timeout = Duration::from_secs(2);
    let (elapsed, error) = poll_failing(&hostile, timeout).await;
    assert!(error.contains("timed out"), "{error}");
    // The body was being read when the deadline struck: the headers came at once.
    assert!(
        hostile.body_bytes_sent() >= 1,
        "{}",
        hostile.body_bytes_sent()
    );
    assert!(elapsed >= timeout, "{elapsed:?}");
}

#[tokio::test]
async fn a_truncated_body_is_named_so() {
    common::needs!(Loopback);
    let hostile = Hostile::start(Mode::Truncated).await.unwrap();
    let (_, error) = poll_failing(&hostile, Duration::from_secs(5)).await;
    assert!(error.contains("response truncated"), "{error}");
}

#[tokio::test]
async fn an_html_page_is_not_a_valid_answer() {
    common::needs!(Loopback);
    let hostile = Hostile::start(Mode::Garbage).await.unwrap();
    let (_, error) = poll_failing(&hostile, Duration::from_secs(5)).await;
    assert!(error.contains("not a valid answer"), "{error}");
}

/// 200 MB, far past the 16 MiB cap.
const HUGE: u64 = 200 * 1000 * 1000;

/// Polls a server answering 200 MB of this shape: the error, and the body bytes it managed to send
/// before the client hung up (far below the 200 MB: never read whole).
async fn poll_huge(mode: fn(u64) -> Mode, what: &str) -> (String, u64) {
    let hostile = Hostile::start(mode(HUGE)).await.unwrap();
    let (elapsed, error) = poll_failing(&hostile, Duration::from_secs(5)).await;
    let sent = settled_bytes_sent(&hostile).await;
    eprintln!(
        "{what}: failed after {elapsed:?}, {sent} bytes sent ({:.1} MiB)",
        sent as f64 / 1024.0 / 1024.0
    );
    // At most 16 MiB of the wire plus what the kernel's socket buffers held on both sides.
    assert!(sent < 48 * 1024 * 1024, "{sent} bytes of {HUGE} sent");
    (error, sent)
}

#[tokio::test]
async fn a_200_mb_body_is_refused_at_the_cap_without_being_read() {
    common::needs!(Loopback);
    // Small rows: the rows' size in memory reaches the cap first.
    let (error, _) = poll_huge(Mode::Huge, "200 MB body").await;
    assert!(
        error.ends_with("response larger than 16 MiB: refused"),
        "{error}"
    );
}

/// One row as large as the body: nothing decodes before it is whole, so the socket's count stops it.
#[tokio::test]
async fn a_200_mb_row_is_refused_on_the_socket() {
    common::needs!(Loopback);
    let (error, sent) = poll_huge(Mode::HugeRow, "one 200 MB row").await;
    assert!(
        error.ends_with("response larger than 16 MiB: refused"),
        "{error}"
    );
    assert!(
        sent >= 16 * 1024 * 1024,
        "stopped by the socket's cap: {sent}"
    );
}

/// The crate collects an error response's body whole: the cap under it stops that too.
#[tokio::test]
async fn a_500_with_a_200_mb_body_is_not_read_whole() {
    common::needs!(Loopback);
    let (error, _) = poll_huge(Mode::HugeError, "500 with a 200 MB body").await;
    // The crate replaces a body it could not read with the status's code.
    assert!(
        error.ends_with("Code: 241 (no readable error text came with it)"),
        "{error}"
    );
}

/// Body bytes the server sent once it stopped: the client closed the connection, so its writes
/// fail (give it a moment to notice).
async fn settled_bytes_sent(hostile: &Hostile) -> u64 {
    let mut sent = hostile.body_bytes_sent();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = hostile.body_bytes_sent();
        if now == sent {
            break;
        }
        sent = now;
    }
    sent
}

/// The cap is the config's: a smaller one refuses sooner, with its own figure in the message.
#[tokio::test]
async fn the_cap_follows_max_response_bytes() {
    common::needs!(Loopback);
    let hostile = Hostile::start(Mode::Huge(200 * 1000 * 1000)).await.unwrap();
    let config = ClickHouseConfig {
        max_response_bytes: 1024 * 1024,
        ..config(&hostile.url, Duration::from_secs(5))
    };
    let error = ClickHouseCollector::new(&config).poll().await.unwrap_err();
    assert!(
        error.ends_with("response larger than 1 MiB: refused"),
        "{error}"
    );
}

/// (section, error) for each section of the host whose query failed, as the model lists them.
fn failed_sections(h: &HostSnapshot) -> Vec<(String, String)> {
    pipetop::model::clickhouse::problems(h)
        .into_iter()
        .filter(|p| !p.unavailable)
        .map(|p| (p.section, p.reason))
        .collect()
}

/// Two hosts, the second hostile: the real one's figures all arrive, in their usual time; the
/// hostile one fails with its reason; the poll as a whole takes one time limit at most.
#[tokio::test]
async fn one_hostile_host_of_two_fails_alone() {
    common::needs!(ClickHouse, Loopback);
    // A table of its own, so that the real host has parts to show whatever ran before.
    common::exec(
        common::CLICKHOUSE,
        "CREATE TABLE IF NOT EXISTS default.hostile_neighbour (n UInt64) ENGINE = MergeTree ORDER BY n",
    )
    .await;
    common::exec(
        common::CLICKHOUSE,
        "INSERT INTO default.hostile_neighbour VALUES (1)",
    )
    .await;
    for mode in [Mode::Slow, Mode::Huge(200 * 1000 * 1000)] {
        let hostile = Hostile::start(mode).await.unwrap();
        let timeout = Duration::from_secs(2);
        let mut config = config(common::CLICKHOUSE, timeout);
        config.hosts = vec![common::CLICKHOUSE.to_string(), hostile.url.clone()];
        let started = Instant::now();
        let snapshot = ClickHouseCollector::new(&config).poll().await.unwrap();
        let elapsed = started.elapsed();
        assert!(elapsed < timeout + CLIENT_GRACE + MARGIN, "{elapsed:?}");
        let real = snapshot.hosts[0].snapshot().expect("the real host answers");
        assert!(real.server.version.starts_with("26."), "{real:?}");
        assert_eq!(failed_sections(real), vec![], "{mode:?}");
        assert!(real.tables.data().is_some_and(|t| !t.is_empty()));
        match &snapshot.hosts[1] {
            HostOutcome::Failed { host, error } => {
                assert_eq!(host, &hostile.url);
                let reason = match mode {
                    Mode::Slow => "timed out",
                    _ => "response larger than 16 MiB: refused",
                };
                assert!(error.contains(reason), "{mode:?}: {error}");
            }
            HostOutcome::Ok(_) => panic!("{mode:?}: the hostile host cannot succeed"),
        }
        eprintln!(
            "{mode:?}: poll {elapsed:?}, real host's own poll {} ms",
            real.poll_ms
        );
    }
}
