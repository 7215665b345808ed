//! A small hostile HTTP server on loopback: it stands in for a broken network or a broken proxy in
//! front of ClickHouse, not for ClickHouse itself. Each connection reads one request and answers it
//! the way its [`Mode`] says; [`Hostile::body_bytes_sent`] counts what the client accepted.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 500 with a ClickHouse exception text (and its `X-ClickHouse-Exception-Code` header).
    ServerError,
    /// 200 with its headers at once, then its body a byte a second.
    Slow,
    /// 200 announcing a body far longer than what it sends before closing the connection.
    Truncated,
    /// 200 whose body is an HTML page (what a proxy answers), not rows.
    Garbage,
    /// 200 with a body of this many bytes of well-formed rows (`version String, uptime UInt64`),
    /// generated as it is sent from one reused buffer.
    Huge(u64),
    /// 200 with a body of this many bytes holding one row whose `version` string takes it all:
    /// nothing can be decoded before the whole row has arrived.
    HugeRow(u64),
    /// 500 with a body of this many bytes of exception text: the `clickhouse` crate collects an
    /// error's body whole, with no length check of its own.
    HugeError(u64),
}

/// The exception text of [`Mode::ServerError`].
pub const EXCEPTION: &str = "Code: 241. DB::Exception: Memory limit (total) exceeded: would use 9.31 GiB (attempt to allocate chunk of 4194304 bytes), maximum: 9.31 GiB. (MEMORY_LIMIT_EXCEEDED) (version 24.3.1.1)";

pub struct Hostile {
    pub url: String,
    sent: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Hostile {
    /// Listens on 127.0.0.1, on a port of the system's choosing.
    pub async fn start(mode: Mode) -> io::Result<Hostile> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let sent = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&sent);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let _ = serve(stream, mode, &counter).await;
                });
            }
        });
        Ok(Hostile { url, sent, task })
    }

    /// Body bytes written to clients so far (a write the client's closing interrupted is not
    /// counted). Includes what still sits in the kernel's socket buffers.
    pub fn body_bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, mode: Mode, sent: &AtomicU64) -> io::Result<()> {
    read_request(&mut stream).await?;
    match mode {
        Mode::ServerError => {
            let body = format!("{EXCEPTION}\n");
            let head = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=UTF-8\r\n\
                 X-ClickHouse-Exception-Code: 241\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            write_counted(&mut stream, body.as_bytes(), sent).await?;
        }
        Mode::Slow => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3600\r\nConnection: close\r\n\r\n")
                .await?;
            for _ in 0..3600 {
                write_counted(&mut stream, b"\x02", sent).await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Mode::Truncated => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                      Content-Length: 100000\r\nConnection: close\r\n\r\n",
                )
                .await?;
            // The start of a RowBinaryWithNamesAndTypes header (2 columns, the first named
            // "ver…"): valid so far, so only the missing rest can be the reason it fails.
            write_counted(&mut stream, b"\x02\x07ver", sent).await?;
            stream.flush().await?;
        }
        Mode::Garbage => {
            let body = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
                        <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
                        </body>\r\n</html>\r\n";
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            write_counted(&mut stream, body.as_bytes(), sent).await?;
        }
        Mode::Huge(total) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                 Content-Length: {total}\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            let header = columns_header();
            // One row: "26.1" and an uptime; the buffer holds whole rows only.
            let mut row = vec![4u8];
            row.extend_from_slice(b"26.1");
            row.extend_from_slice(&42u64.to_le_bytes());
            let rows: Vec<u8> = row.repeat(64 * 1024 / row.len());
            let mut left = total;
            let first = header.len().min(left as usize);
            write_counted(&mut stream, &header[..first], sent).await?;
            left -= first as u64;
            while left > 0 {
                let n = rows.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                write_counted(&mut stream, &rows[..n], sent).await?;
                left -= n as u64;
            }
        }
        Mode::HugeRow(total) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                 Content-Length: {total}\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            let mut start = columns_header();
            // Room for the length (a varint of up to 5 bytes) and the UInt64: roughly the body.
            let mut len = total - start.len() as u64 - 5 - 8;
            while len >= 0x80 {
                start.push((len as u8 & 0x7f) | 0x80);
                len >>= 7;
            }
            start.push(len as u8);
            write_counted(&mut stream, &start, sent).await?;
            let text = vec![b'x'; 64 * 1024];
            let mut left = total - start.len() as u64;
            while left > 0 {
                let n = text.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                write_counted(&mut stream, &text[..n], sent).await?;
                left -= n as u64;
            }
        }
        Mode::HugeError(total) => {
            let head = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\
                 X-ClickHouse-Exception-Code: 241\r\nContent-Length: {total}\r\n\
                 Connection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            let text = format!("{EXCEPTION}\n").repeat(256);
            let mut left = total;
            while left > 0 {
                let n = text.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                write_counted(&mut stream, &text.as_bytes()[..n], sent).await?;
                left -= n as u64;
            }
        }
    }
    stream.shutdown().await
}

/// RowBinaryWithNamesAndTypes's header for `version String, uptime UInt64`.
fn columns_header() -> Vec<u8> {
    let mut header = vec![2u8];
    for text in ["version", "uptime", "String", "UInt64"] {
        header.push(text.len() as u8);
        header.extend_from_slice(text.as_bytes());
    }
    header
}

async fn write_counted(stream: &mut TcpStream, bytes: &[u8], sent: &AtomicU64) -> io::Result<()> {
    stream.write_all(bytes).await?;
    sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    Ok(())
}

/// Reads one request whole (headers, then a Content-Length or chunked body), so closing the
/// connection afterwards never resets it under unread data.
async fn read_request(stream: &mut TcpStream) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &buf[head_end..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => find(body, b"0\r\n\r\n").is_some(),
            None => true,
        };
        if done {
            return Ok(());
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
