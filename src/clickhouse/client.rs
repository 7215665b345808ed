//! The only way pipetop talks to ClickHouse: every query read-only, time-limited on the server and
//! on the client, and its failure turned into a small error value a panel can show.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clickhouse::sql::Identifier;
use clickhouse::{RowOwned, RowRead};
use tokio::sync::Semaphore;

use super::response_cap::{self, TooLarge, size_text};
use crate::config::ClickHouseConfig;

/// Extra client-side wait beyond the server's `max_execution_time`, so the server's own, clearer
/// TIMEOUT_EXCEEDED error usually arrives first.
const CLIENT_GRACE: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct ChClient {
    inner: clickhouse::Client,
    timeout: Duration,
    /// `max_response_bytes`: on the socket (in the connector) and for the rows kept in memory.
    max_response_bytes: u64,
    /// Queries sent, shared by clones so a poll can report how many it cost.
    sent: Arc<AtomicU32>,
    /// Queries the server answered, with rows or with an exception (not timed out, refused or cut
    /// off): none of a poll's answered means the server stopped answering mid-poll.
    answered: Arc<AtomicU32>,
    /// The poll the queries being sent belong to, shared by clones: it goes into each query's
    /// marker (see [`marker_prefix`]); 0 before the first.
    poll: Arc<AtomicU64>,
    /// `max_concurrent_queries`: how many of pipetop's queries run on the server at once, shared
    /// by clones. A query waits for a slot before it is sent; its time limit starts then.
    slots: Arc<Semaphore>,
    /// Set when a query of the current poll got no answer within its time limit: the poll's
    /// queries still waiting for a slot are not sent (one stalled server costs a poll one time
    /// limit, not one per query). Cleared by [`ChClient::begin_poll`].
    stalled: Arc<AtomicBool>,
}

/// Every query pipetop sends starts with `/* pipetop <instance>:<poll> <label> */`: the server's
/// `query_log` keeps the text, so what pipetop costs the server can be read back per poll and per
/// section (`sections::own_load`), and pipetop's own queries left out of the figures on servers
/// too old for `log_comment`. `instance` tells this process from other pipetops on the server.
pub fn marker_prefix() -> String {
    format!("/* pipetop {}:", instance())
}

/// Eight hex digits, fixed for the process: its id mixed with its start time.
pub fn instance() -> &'static str {
    static INSTANCE: OnceLock<String> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or(0);
        format!("{:08x}", std::process::id().rotate_left(16) ^ nanos)
    })
}

/// What queries without a section are marked with.
pub mod labels {
    /// The `version()` / `uptime()` query that opens each poll: one per poll.
    pub const SERVER: &str = "server";
    /// The capability probe (system.columns), after a connect or a restart.
    pub const PROBE: &str = "probe";
}

/// A statement with its values kept apart from the SQL text: every `?` in `sql` is replaced by the
/// crate's escaping `bind` (a quoted string literal or a back-quoted identifier), so nothing a user
/// types is ever spliced into SQL by hand. A literal `?` in the text must be written `??`.
#[derive(Debug, Clone, Default)]
pub struct Stmt {
    pub sql: String,
    pub args: Vec<Arg>,
    /// Overrides the client's `max_execution_time` (and client-side timeout) for this statement.
    pub time_limit: Option<Duration>,
    /// What the statement is for, in its marker: the section's name (`[a-z_+]` only).
    pub label: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Str(String),
    Ident(String),
    U64(u64),
}

impl Stmt {
    pub fn new(sql: impl Into<String>) -> Stmt {
        Stmt {
            sql: sql.into(),
            ..Stmt::default()
        }
    }

    pub fn arg(mut self, arg: Arg) -> Stmt {
        self.args.push(arg);
        self
    }

    pub fn args(mut self, args: impl IntoIterator<Item = Arg>) -> Stmt {
        self.args.extend(args);
        self
    }

    pub fn time_limit(mut self, limit: Option<Duration>) -> Stmt {
        self.time_limit = limit;
        self
    }

    pub fn label(mut self, label: &'static str) -> Stmt {
        self.label = label;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChError {
    /// The server answered with an exception (`Code: N. DB::Exception: ...`).
    #[error("{message}")]
    Server { code: Option<u32>, message: String },
    /// The whole answer, body included, did not arrive in time.
    #[error("timed out: no whole answer within {0:?}")]
    Timeout(Duration),
    /// The answer passed `max_response_bytes`: reading stopped there.
    #[error("response larger than {}: refused", size_text(*.0))]
    TooLarge(u64),
    /// The connection closed before the body's announced length arrived.
    #[error("response truncated: the connection closed before the whole answer arrived")]
    Truncated,
    /// A 200 whose body is not rows of the query (an HTML page from a proxy, garbage).
    #[error("not a valid answer to the query ({0})")]
    Invalid(String),
    #[error("{0}")]
    Transport(String),
    /// Not sent: an earlier query of the same poll got no answer within its time limit.
    #[error("not sent: another query of this poll got no answer within {0:?}")]
    NotSent(Duration),
}

/// Exception codes pipetop reacts to.
pub mod codes {
    pub const UNKNOWN_TABLE: u32 = 60;
    pub const UNKNOWN_IDENTIFIER: u32 = 47;
    pub const TIMEOUT_EXCEEDED: u32 = 159;
    pub const READONLY: u32 = 164;
    pub const AUTHENTICATION_FAILED: u32 = 516;
}

impl ChError {
    /// Whether the server answered at all: an exception, an answer too large or not rows is still
    /// an answer; a timeout, a refused or broken connection and a cut-off body are not.
    pub fn is_answer(&self) -> bool {
        match self {
            ChError::Server { .. } | ChError::TooLarge(_) | ChError::Invalid(_) => true,
            ChError::Timeout(_)
            | ChError::Truncated
            | ChError::Transport(_)
            | ChError::NotSent(_) => false,
        }
    }

    pub fn code(&self) -> Option<u32> {
        match self {
            ChError::Server { code, .. } => *code,
            _ => None,
        }
    }
}

impl ChClient {
    pub fn new(config: &ClickHouseConfig) -> ChClient {
        let mut inner = response_cap::client(config.max_response_bytes)
            .with_url(&config.url)
            .with_user(&config.user)
            .with_database(&config.database)
            // pipetop never writes: the server refuses anything but reads from this client.
            .with_setting("readonly", "1")
            .with_setting(
                "max_execution_time",
                whole_seconds(config.query_timeout).to_string(),
            );
        if !config.password.is_empty() {
            inner = inner.with_password(config.password.expose());
        }
        ChClient {
            inner,
            timeout: config.query_timeout,
            max_response_bytes: config.max_response_bytes,
            sent: Arc::new(AtomicU32::new(0)),
            answered: Arc::new(AtomicU32::new(0)),
            poll: Arc::new(AtomicU64::new(0)),
            slots: Arc::new(Semaphore::new(config.max_concurrent_queries.max(1))),
            stalled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The queries from now on belong to a new poll (in their markers). Poll numbers are unique
    /// in the process, whichever client sends them: a collector started again (a context switch)
    /// never reuses one.
    pub fn begin_poll(&self) {
        static POLLS: AtomicU64 = AtomicU64::new(1);
        self.poll
            .store(POLLS.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        self.stalled.store(false, Ordering::Relaxed);
    }

    /// `stmt`'s SQL behind its marker.
    fn marked(&self, stmt: &Stmt) -> String {
        let label = if stmt.label.is_empty() {
            "other"
        } else {
            stmt.label
        };
        format!(
            "{}{} {label} */ {}",
            marker_prefix(),
            self.poll.load(Ordering::Relaxed),
            stmt.sql
        )
    }

    /// A client for one of several hosts: the same credentials and limits, another URL.
    pub fn for_host(config: &ClickHouseConfig, url: &str) -> ChClient {
        let config = ClickHouseConfig {
            url: url.to_string(),
            ..config.clone()
        };
        ChClient::new(&config)
    }

    /// A setting sent with every query from now on (e.g. `log_comment`, once the server is known
    /// to accept it: an unknown setting fails every query on old servers).
    pub fn with_setting(mut self, name: &str, value: &str) -> ChClient {
        self.inner = self.inner.with_setting(name, value);
        self
    }

    /// Queries sent since the last call.
    pub fn take_sent(&self) -> u32 {
        self.sent.swap(0, Ordering::Relaxed)
    }

    /// Queries the server answered (rows or an exception) since the last call.
    pub fn take_answered(&self) -> u32 {
        self.answered.swap(0, Ordering::Relaxed)
    }

    /// Servers older than 2019 lack RowBinaryWithNamesAndTypes, which schema validation needs.
    pub fn without_validation(mut self) -> ChClient {
        self.inner = self.inner.with_validation(false);
        self
    }

    /// Runs one bounded SELECT, marked with `label`, and returns its rows.
    pub async fn fetch_all<T>(&self, label: &'static str, sql: &str) -> Result<Vec<T>, ChError>
    where
        T: RowOwned + RowRead,
    {
        self.fetch(&Stmt::new(sql).label(label)).await
    }

    /// Runs one bounded SELECT with bound values and returns its rows.
    pub async fn fetch<T>(&self, stmt: &Stmt) -> Result<Vec<T>, ChError>
    where
        T: RowOwned + RowRead,
    {
        let mut query = self.inner.query(&self.marked(stmt));
        for arg in &stmt.args {
            query = match arg {
                Arg::Str(s) => query.bind(s.as_str()),
                Arg::Ident(s) => query.bind(Identifier(s)),
                Arg::U64(n) => query.bind(*n),
            };
        }
        let server_limit = stmt.time_limit.unwrap_or(self.timeout);
        if let Some(limit) = stmt.time_limit {
            query = query.with_setting("max_execution_time", whole_seconds(limit).to_string());
        }
        let limit = server_limit + CLIENT_GRACE;
        // The semaphore is never closed; should it be, the query runs without a slot.
        let _slot = self.slots.acquire().await.ok();
        if self.stalled.load(Ordering::Relaxed) {
            return Err(ChError::NotSent(limit));
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let result =
            match tokio::time::timeout(limit, collect_rows(query, self.max_response_bytes)).await {
                Ok(result) => result,
                Err(_) => {
                    self.stalled.store(true, Ordering::Relaxed);
                    Err(ChError::Timeout(limit))
                }
            };
        if result.as_ref().map_or_else(ChError::is_answer, |_| true) {
            self.answered.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    pub async fn fetch_one<T>(&self, label: &'static str, sql: &str) -> Result<T, ChError>
    where
        T: RowOwned + RowRead,
    {
        self.fetch_all::<T>(label, sql)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ChError::Transport(format!("no row returned by: {sql}")))
    }
}

/// The crate's `fetch_all`, with the rows' size in memory bounded too: small rows decode into larger
/// values (an empty string is one byte on the wire, 24 in a `String`), so an answer under the
/// socket's cap could still take many times it in memory. Each row counts its size plus the bytes
/// decoded into it (a string's text lands on the heap).
async fn collect_rows<T>(query: clickhouse::query::Query, max: u64) -> Result<Vec<T>, ChError>
where
    T: RowOwned + RowRead,
{
    let row_size = std::mem::size_of::<T>() as u64;
    let mut cursor = query.fetch::<T>()?;
    let mut rows = Vec::new();
    while let Some(row) = cursor.next().await? {
        rows.push(row);
        let in_memory = (rows.len() as u64)
            .saturating_mul(row_size)
            .saturating_add(cursor.decoded_bytes());
        if in_memory > max {
            return Err(ChError::TooLarge(max));
        }
    }
    Ok(rows)
}

/// `max_execution_time` is whole seconds on old servers; below one second means "no limit" (0).
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs().max(1)
}

impl From<clickhouse::error::Error> for ChError {
    fn from(e: clickhouse::error::Error) -> ChError {
        use clickhouse::error::Error as E;
        if let Some(TooLarge(max)) = response_cap::is_too_large(&e) {
            return ChError::TooLarge(max);
        }
        match e {
            // The crate's own words when a body ends before its columns header, or has none.
            E::BadResponse(text) if CRATE_HEADER_ERRORS.contains(&text.as_str()) => {
                ChError::Invalid(text)
            }
            // The crate's stand-in when an error's body is empty or could not be read whole (cut
            // off at the cap, or not UTF-8): say so rather than show a bare code.
            E::BadResponse(text) if is_bare_status(&text) => {
                parse_exception(&format!("{text} (no readable error text came with it)"))
            }
            E::BadResponse(text) => parse_exception(&text),
            E::TimedOut => ChError::Timeout(Duration::ZERO),
            E::Network(_) if is_incomplete(&e) => ChError::Truncated,
            // What the body held cannot be rows of the query: a proxy's page, garbage, a cut row.
            E::DataFormat(_)
            | E::NotEnoughData
            | E::InvalidUtf8Encoding(_)
            | E::InvalidTagEncoding(_)
            | E::VariantDiscriminatorIsOutOfBound(_)
            | E::Custom(_)
            | E::InvalidColumnsHeader(_)
            | E::SchemaMismatch(_)
            | E::Decompression(_) => ChError::Invalid(first_line(&with_causes(&e), 200)),
            other => ChError::Transport(with_causes(&other)),
        }
    }
}

const CRATE_HEADER_ERRORS: [&str; 2] = [
    "Could not read columns header",
    "Expected at least one column in the header",
];

/// The connection closed before the announced Content-Length (hyper: "end of file before message
/// length reached", or "connection closed before message completed").
fn is_incomplete(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(cause) = next {
        if cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
            || cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
        {
            return true;
        }
        next = cause.source();
    }
    false
}

/// `Code: 241` (the exception-code header) or `500 Internal Server Error` (the status): what the
/// crate reports for an error response without a readable body.
fn is_bare_status(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match text.strip_prefix("Code: ") {
        Some(code) => digits(code),
        None => text
            .split_once(' ')
            .is_some_and(|(status, _)| status.len() == 3 && digits(status)),
    }
}

/// Garbage quoted back is itself garbage: one line, at most `max` characters of it.
fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// "network error: client error (Connect): tcp connect error: Connection refused (os error 111)":
/// the outer layers only say that something failed, the innermost one says what.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// `Code: 60. DB::Exception: Table system.kafka_consumers does not exist. (UNKNOWN_TABLE) (version ...)`
/// → code 60 and the message without the version suffix.
pub fn parse_exception(text: &str) -> ChError {
    let text = text.trim();
    let code = text
        .strip_prefix("Code: ")
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok());
    let message = match text.find(" (version ") {
        Some(i) => &text[..i],
        None => text,
    };
    ChError::Server {
        code,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_code_and_text_are_parsed() {
        let e = parse_exception(
            "Code: 60. DB::Exception: Table system.kafka_consumers does not exist. (UNKNOWN_TABLE) (version 26.9.1.1)\n",
        );
        assert_eq!(e.code(), Some(codes::UNKNOWN_TABLE));
        assert_eq!(
            e.to_string(),
            "Code: 60. DB::Exception: Table system.kafka_consumers does not exist. (UNKNOWN_TABLE)"
        );
    }

    #[test]
    fn a_bare_status_says_the_error_text_is_missing() {
        let e = ChError::from(clickhouse::error::Error::BadResponse("Code: 241".into()));
        assert_eq!(e.code(), Some(241));
        assert_eq!(
            e.to_string(),
            "Code: 241 (no readable error text came with it)"
        );
        let e = ChError::from(clickhouse::error::Error::BadResponse(
            "502 Bad Gateway".into(),
        ));
        assert_eq!(
            e.to_string(),
            "502 Bad Gateway (no readable error text came with it)"
        );
        let e = ChError::from(clickhouse::error::Error::BadResponse(
            "Code: 60. DB::Exception: no table".into(),
        ));
        assert_eq!(e.to_string(), "Code: 60. DB::Exception: no table");
    }

    /// A server that takes connections and never answers: the first query of a poll times out,
    /// and the poll's queries still waiting for a slot are not sent at all.
    #[tokio::test]
    async fn a_stalled_server_costs_a_poll_one_time_limit() {
        let skipped =
            || eprintln!("SKIPPED a_stalled_server_costs_a_poll_one_time_limit: no loopback");
        let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
            return skipped();
        };
        let addr = listener.local_addr().unwrap();
        // Without a network (`unshare -n`) the bind works but nothing can connect.
        let Ok(_probe) = tokio::net::TcpStream::connect(addr).await else {
            return skipped();
        };
        let url = format!("http://{addr}");
        let accept = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let config = ClickHouseConfig {
            url,
            query_timeout: Duration::from_secs(1),
            max_concurrent_queries: 1,
            ..ClickHouseConfig::default()
        };
        let client = ChClient::new(&config);
        client.begin_poll();
        let query = || client.fetch_all::<u64>("test", "SELECT 1");
        let (a, b, c) = tokio::join!(query(), query(), query());
        let errors = [a.unwrap_err(), b.unwrap_err(), c.unwrap_err()];
        assert!(matches!(errors[0], ChError::Timeout(_)), "{errors:?}");
        assert!(
            errors[1..].iter().all(|e| matches!(e, ChError::NotSent(_))),
            "{errors:?}"
        );
        assert_eq!(client.take_sent(), 1);
        // The next poll tries again.
        client.begin_poll();
        let again = query().await.unwrap_err();
        assert!(matches!(again, ChError::Timeout(_)), "{again:?}");
        accept.abort();
    }

    #[test]
    fn text_without_code_is_kept() {
        let e = parse_exception("502 Bad Gateway");
        assert_eq!(e.code(), None);
        assert_eq!(e.to_string(), "502 Bad Gateway");
    }
}
