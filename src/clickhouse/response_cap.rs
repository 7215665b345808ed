//! A cap on how much one ClickHouse response may send, enforced under HTTP, on the socket itself.
//!
//! The `clickhouse` crate streams a 200's rows, but collects an error response (any status but
//! 200) whole, with no length check; and `fetch_all` keeps every row it decodes. Counting bytes in
//! pipetop's row loop would miss the first and come late for the second, so the count sits in the
//! connector the crate's HTTP client is built with: every byte any response brings, headers and
//! error texts included, passes through [`CappedStream`], which fails the read once a response has
//! brought more than the cap. No more than the cap plus one socket read is ever buffered.
//!
//! Connections are kept alive and reused, one request at a time (HTTP/1.1, no pipelining), so a
//! response is everything read between two requests: writing a request starts the count again.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The largest answer pipetop accepts to one query (every query: one limit at the socket).
/// pipetop's largest queries are lists bounded by a LIMIT of a few thousand rows of short
/// columns (tables, partitions, parts, errors): a few MB at most even on big servers. 16 MiB
/// leaves room for that with long names and exception texts, and keeps the worst case for a
/// whole poll (about 15 queries at once, per host) to a few hundred MB only when every one of them
/// goes wrong at once.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// Same keep-alive settings as the crate's own client.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// The error a read fails with once a response passes the cap; found again in the error's chain
/// by [`is_too_large`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("response larger than {}: refused", size_text(*.0))]
pub struct TooLarge(pub u64);

/// `16 MiB`, `512 KiB`, `1000 bytes`: the cap as a config file would say it.
pub fn size_text(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The `TooLarge` somewhere in an error's chain (hyper wraps it in an `io::Error`, the crate in
/// its own error).
pub fn is_too_large(e: &(dyn std::error::Error + 'static)) -> Option<TooLarge> {
    let mut next = Some(e);
    while let Some(cause) = next {
        if let Some(t) = cause.downcast_ref::<TooLarge>() {
            return Some(*t);
        }
        if let Some(t) = cause
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<TooLarge>())
        {
            return Some(*t);
        }
        next = cause.source();
    }
    None
}

/// A `clickhouse` client on the crate's default HTTP client (HTTP and HTTPS through native-tls,
/// the same keep-alive), with every connection capped.
pub fn client(max_response_bytes: u64) -> clickhouse::Client {
    let mut http = HttpConnector::new();
    http.set_keepalive(Some(TCP_KEEPALIVE));
    http.enforce_http(false);
    let capped = CappedConnector {
        http,
        max: max_response_bytes,
    };
    let https = hyper_tls::HttpsConnector::new_with_connector(capped);
    clickhouse::Client::with_http_client(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(https),
    )
}

#[derive(Clone)]
struct CappedConnector {
    http: HttpConnector,
    max: u64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for CappedConnector {
    type Response = TokioIo<CappedStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.http.call(uri);
        let max = self.max;
        Box::pin(async move {
            let tcp = connecting.await?.into_inner();
            Ok(TokioIo::new(CappedStream { tcp, max, read: 0 }))
        })
    }
}

/// A TCP stream that refuses to read more than `max` bytes after the last write.
pub struct CappedStream {
    tcp: TcpStream,
    max: u64,
    read: u64,
}

impl AsyncRead for CappedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.read > self.max {
            return Poll::Ready(Err(io::Error::other(TooLarge(self.max))));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        let got = buf.filled().len().saturating_sub(before) as u64;
        self.read = self.read.saturating_add(got);
        if self.read > self.max {
            // What this read brought is handed on (it is already in hyper's buffer); the next read
            // fails, so the response ends within one read of the cap.
            tracing::debug!(max = self.max, "ClickHouse response over the cap: refused");
        }
        polled
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // A new request on this connection: a new response to count.
        self.read = 0;
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.read = 0;
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

impl Connection for CappedStream {
    fn connected(&self) -> Connected {
        self.tcp.connected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_reads_as_a_config_file_says_it() {
        assert_eq!(size_text(DEFAULT_MAX_RESPONSE_BYTES), "16 MiB");
        assert_eq!(size_text(64 * 1024), "64 KiB");
        assert_eq!(size_text(1000), "1000 bytes");
        assert_eq!(
            TooLarge(DEFAULT_MAX_RESPONSE_BYTES).to_string(),
            "response larger than 16 MiB: refused"
        );
    }

    #[test]
    fn too_large_is_found_inside_an_io_error() {
        let io = io::Error::other(TooLarge(10));
        assert_eq!(is_too_large(&io), Some(TooLarge(10)));
        let other = io::Error::other("something else");
        assert_eq!(is_too_large(&other), None);
    }
}
