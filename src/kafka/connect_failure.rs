//! Why pipetop cannot get in: librdkafka's authentication and TLS errors, turned into one plain
//! sentence that names the cause ("authentication failed for user pipetop (SCRAM-SHA-512)"),
//! never a secret. librdkafka reports these as error events on its main queue while it retries
//! the connection on its own (with its reconnect backoff); the calls themselves only time out.

use rdkafka::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

/// Who pipetop connects as, from the client's non-secret properties: enough to name the cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `sasl.username`.
    pub user: Option<String>,
    /// `sasl.mechanism` (librdkafka's default is GSSAPI).
    pub mechanism: Option<String>,
    /// `ssl.ca.location`; None: the system's CA certificates.
    pub ca: Option<String>,
    /// `security.protocol`, lower case.
    pub protocol: String,
}

impl Identity {
    pub fn of(config: &ClientConfig) -> Identity {
        let get = |k: &str| config.get(k).filter(|v| !v.is_empty()).map(str::to_string);
        Identity {
            user: get("sasl.username"),
            mechanism: get("sasl.mechanism").or_else(|| get("sasl.mechanisms")),
            ca: get("ssl.ca.location"),
            protocol: get("security.protocol")
                .unwrap_or_else(|| "plaintext".into())
                .to_ascii_lowercase(),
        }
    }

    /// The principal a broker sees (`User:NAME`) when pipetop authenticates with SASL; for other
    /// protocols the broker derives it (ANONYMOUS, or the certificate's name).
    pub fn principal(&self) -> String {
        match (&self.user, self.protocol.starts_with("sasl")) {
            (Some(user), true) => format!("User:{user}"),
            _ if self.protocol == "plaintext" => "User:ANONYMOUS".into(),
            _ => "this client's principal".into(),
        }
    }

    fn mechanism(&self) -> &str {
        self.mechanism.as_deref().unwrap_or("GSSAPI")
    }
}

/// The sentence for a librdkafka error event, when it is an authentication or TLS failure.
/// `verify(broker)` gives OpenSSL's reason a broker's certificate was refused (see `tls_verify`),
/// asked only for a failed verification.
pub fn classify(
    code: RDKafkaErrorCode,
    message: &str,
    who: &Identity,
    verify: impl FnOnce(&str) -> Option<String>,
) -> Option<String> {
    let auth = code == RDKafkaErrorCode::Authentication
        || message.contains("SASL authentication error")
        || message.contains("SASL SCRAM");
    let tls = code == RDKafkaErrorCode::SSL || message.contains("SSL handshake failed");
    if tls {
        return Some(tls_sentence(message, who, verify));
    }
    if !auth {
        return None;
    }
    let mechanism = who.mechanism();
    Some(match &who.user {
        Some(user) => format!("authentication failed for user {user} ({mechanism})"),
        None => format!("authentication failed ({mechanism})"),
    })
}

fn tls_sentence(
    message: &str,
    who: &Identity,
    verify: impl FnOnce(&str) -> Option<String>,
) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("certificate verify failed")
        || lower.contains("could not be verified")
        || lower.contains("failed to verify broker certificate")
    {
        let ca = match &who.ca {
            Some(ca) => format!("CA {ca}"),
            None => "the system's CA certificates; set ssl.ca.location".into(),
        };
        let broker = broker_of(message);
        let why = match broker.and_then(verify) {
            Some(reason) if reason.eq_ignore_ascii_case("hostname mismatch") => {
                let host = broker.map_or("", |b| b.rsplit_once(':').map_or(b, |(h, _)| h));
                format!(": hostname mismatch, the certificate is not for {host}")
            }
            Some(reason) => format!(": {reason}"),
            None => String::new(),
        };
        return format!("TLS: certificate verify failed{why} ({ca})");
    }
    if lower.contains("wrong version number") || lower.contains("packet length too long") {
        return "TLS: the broker does not speak TLS on this port (is it a PLAINTEXT or SASL_PLAINTEXT \
                listener?)"
            .into();
    }
    "TLS: handshake failed".into()
}

/// `host:port` of librdkafka's `sasl_ssl://host:port/bootstrap: ...` prefix.
pub fn broker_of(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("://")?;
    let end = rest.find(['/', ' '])?;
    let broker = &rest[..end];
    broker.contains(':').then_some(broker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scram() -> Identity {
        Identity {
            user: Some("pipetop".into()),
            mechanism: Some("SCRAM-SHA-512".into()),
            ca: Some("/etc/kafka/ca.pem".into()),
            protocol: "sasl_ssl".into(),
        }
    }

    #[test]
    fn authentication_names_the_user_and_mechanism() {
        let said = classify(
            RDKafkaErrorCode::Authentication,
            "sasl_ssl://127.0.0.1:9094/bootstrap: SASL authentication error: Authentication \
             failed during authentication due to invalid credentials with SASL mechanism \
             SCRAM-SHA-512 (after 5ms in state AUTH_REQ)",
            &scram(),
            |_| None,
        );
        assert_eq!(
            said.as_deref(),
            Some("authentication failed for user pipetop (SCRAM-SHA-512)")
        );
    }

    #[test]
    fn tls_failures_name_the_ca_and_openssls_reason() {
        let message = "sasl_ssl://127.0.0.1:9094/bootstrap: SSL handshake failed: \
                       error:0A000086:SSL routines::certificate verify failed: broker certificate \
                       could not be verified";
        let mut asked = None;
        let said = classify(RDKafkaErrorCode::SSL, message, &scram(), |b| {
            asked = Some(b.to_string());
            Some("self-signed certificate in certificate chain".into())
        });
        assert_eq!(asked.as_deref(), Some("127.0.0.1:9094"));
        assert_eq!(
            said.as_deref(),
            Some(
                "TLS: certificate verify failed: self-signed certificate in certificate chain \
                 (CA /etc/kafka/ca.pem)"
            )
        );
        let said = classify(RDKafkaErrorCode::SSL, message, &scram(), |_| None);
        assert_eq!(
            said.as_deref(),
            Some("TLS: certificate verify failed (CA /etc/kafka/ca.pem)")
        );
        let said = classify(RDKafkaErrorCode::SSL, message, &scram(), |_| {
            Some("Hostname mismatch".into())
        });
        assert_eq!(
            said.as_deref(),
            Some(
                "TLS: certificate verify failed: hostname mismatch, the certificate is not for \
                 127.0.0.1 (CA /etc/kafka/ca.pem)"
            )
        );
    }

    #[test]
    fn other_errors_are_not_connect_failures() {
        let said = classify(
            RDKafkaErrorCode::BrokerTransportFailure,
            "127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused",
            &scram(),
            |_| None,
        );
        assert_eq!(said, None);
    }

    #[test]
    fn principal_follows_the_protocol() {
        assert_eq!(scram().principal(), "User:pipetop");
        let plain = Identity::of(ClientConfig::new().set("bootstrap.servers", "x:1"));
        assert_eq!(plain.principal(), "User:ANONYMOUS");
    }
}
