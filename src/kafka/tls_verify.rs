//! Why a broker's certificate was refused. librdkafka only says "certificate verify failed"; the
//! reason (an unknown issuer, a name the certificate is not for, an expired one) is OpenSSL's
//! verify result, which it does not pass on. So, once per new failure, pipetop makes one TLS
//! handshake of its own to that broker with the same CA and name check, and reads the result.
//! Nothing is sent after the handshake: the connection is closed at once.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use openssl::ssl::{HandshakeError, SslConnector, SslMethod};

/// OpenSSL's verify result for `host:port` with `ca` (None: the system's CAs), e.g. "Hostname
/// mismatch" or "self-signed certificate in certificate chain"; None when the handshake passes or
/// the broker cannot be reached for this check.
pub fn verify_error(broker: &str, ca: Option<&str>, timeout: Duration) -> Option<String> {
    let (host, port) = split_host_port(broker)?;
    let mut builder = SslConnector::builder(SslMethod::tls_client()).ok()?;
    if let Some(ca) = ca {
        builder.set_ca_file(ca).ok()?;
    }
    let connector = builder.build();
    let addr = (host, port).to_socket_addrs().ok()?.next()?;
    let tcp = TcpStream::connect_timeout(&addr, timeout).ok()?;
    tcp.set_read_timeout(Some(timeout)).ok()?;
    tcp.set_write_timeout(Some(timeout)).ok()?;
    match connector.connect(host, tcp) {
        Ok(_) => None,
        Err(HandshakeError::Failure(mid)) => {
            let result = mid.ssl().verify_result();
            (result.as_raw() != 0).then(|| result.error_string().to_string())
        }
        Err(_) => None,
    }
}

/// `host:port`, `[v6]:port`.
fn split_host_port(broker: &str) -> Option<(&str, u16)> {
    let (host, port) = broker.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host, port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_are_split() {
        assert_eq!(split_host_port("127.0.0.1:9094"), Some(("127.0.0.1", 9094)));
        assert_eq!(split_host_port("[::1]:9094"), Some(("::1", 9094)));
        assert_eq!(split_host_port("nohost"), None);
    }
}
