//! The only way pipetop talks to ClickHouse: every query read-only, time-limited on the server and
//! on the client, and its failure turned into a small error value a panel can show.

use std::time::Duration;

use clickhouse::{RowOwned, RowRead};

use crate::config::ClickHouseConfig;

/// Extra client-side wait beyond the server's `max_execution_time`, so the server's own, clearer
/// TIMEOUT_EXCEEDED error usually arrives first.
const CLIENT_GRACE: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct ChClient {
    inner: clickhouse::Client,
    timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChError {
    /// The server answered with an exception (`Code: N. DB::Exception: ...`).
    #[error("{message}")]
    Server { code: Option<u32>, message: String },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Transport(String),
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
    pub fn code(&self) -> Option<u32> {
        match self {
            ChError::Server { code, .. } => *code,
            _ => None,
        }
    }
}

impl ChClient {
    pub fn new(config: &ClickHouseConfig) -> ChClient {
        let mut inner = clickhouse::Client::default()
            .with_url(&config.url)
            .with_user(&config.user)
            .with_database(&config.database)
            // pipetop never writes: the server refuses anything but reads from this client.
            .with_setting("readonly", "1")
            .with_setting(
                "max_execution_time",
                config.query_timeout.as_secs().max(1).to_string(),
            );
        if !config.password.is_empty() {
            inner = inner.with_password(config.password.expose());
        }
        ChClient {
            inner,
            timeout: config.query_timeout,
        }
    }

    /// Servers older than 2019 lack RowBinaryWithNamesAndTypes, which schema validation needs.
    pub fn without_validation(mut self) -> ChClient {
        self.inner = self.inner.with_validation(false);
        self
    }

    /// Runs one bounded SELECT and returns its rows.
    pub async fn fetch_all<T>(&self, sql: &str) -> Result<Vec<T>, ChError>
    where
        T: RowOwned + RowRead,
    {
        let query = self.inner.query(sql);
        let limit = self.timeout + CLIENT_GRACE;
        match tokio::time::timeout(limit, query.fetch_all::<T>()).await {
            Ok(result) => result.map_err(ChError::from),
            Err(_) => Err(ChError::Timeout(limit)),
        }
    }

    pub async fn fetch_one<T>(&self, sql: &str) -> Result<T, ChError>
    where
        T: RowOwned + RowRead,
    {
        self.fetch_all::<T>(sql)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ChError::Transport(format!("no row returned by: {sql}")))
    }
}

impl From<clickhouse::error::Error> for ChError {
    fn from(e: clickhouse::error::Error) -> ChError {
        match e {
            clickhouse::error::Error::BadResponse(text) => parse_exception(&text),
            clickhouse::error::Error::TimedOut => ChError::Timeout(Duration::ZERO),
            other => ChError::Transport(other.to_string()),
        }
    }
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
    fn text_without_code_is_kept() {
        let e = parse_exception("502 Bad Gateway");
        assert_eq!(e.code(), None);
        assert_eq!(e.to_string(), "502 Bad Gateway");
    }
}
