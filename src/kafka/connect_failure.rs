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
    /// `sasl.oauthbearer.client.id`: who pipetop is to an OIDC token endpoint.
    pub oauth_client: Option<String>,
    /// `sasl.oauthbearer.token.endpoint.url` without what may hold a secret (user info, query).
    pub token_endpoint: Option<String>,
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
            oauth_client: get("sasl.oauthbearer.client.id"),
            token_endpoint: get("sasl.oauthbearer.token.endpoint.url").map(|u| without_secrets(&u)),
            protocol: get("security.protocol")
                .unwrap_or_else(|| "plaintext".into())
                .to_ascii_lowercase(),
        }
    }

    /// The principal a broker sees (`User:NAME`) when pipetop authenticates with SASL; for other
    /// protocols the broker derives it (ANONYMOUS, or the certificate's name).
    pub fn principal(&self) -> String {
        let oauth = self.mechanism().eq_ignore_ascii_case("OAUTHBEARER");
        match (&self.user, self.protocol.starts_with("sasl")) {
            // The broker names an OAuth client by its token's subject, which only the token says.
            _ if oauth => match &self.oauth_client {
                Some(client) => format!("the token subject of OAuth client {client}"),
                None => "the token's subject".into(),
            },
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
    if who.mechanism().eq_ignore_ascii_case("OAUTHBEARER") {
        return Some(oauth_sentence(message, who));
    }
    let mechanism = who.mechanism();
    Some(match &who.user {
        Some(user) => format!("authentication failed for user {user} ({mechanism})"),
        None => format!("authentication failed ({mechanism})"),
    })
}

/// librdkafka's prefix of every failure to get a token (`sasl.oauthbearer.method=oidc`).
const NO_TOKEN: &str = "Failed to acquire SASL OAUTHBEARER token: ";

/// Longest part of a token endpoint's own answer quoted in a sentence.
const MAX_QUOTED: usize = 160;

/// An OAUTHBEARER failure: the token endpoint refused pipetop or could not be reached, its token
/// had expired, or the broker refused the token.
fn oauth_sentence(message: &str, who: &Identity) -> String {
    let head = match &who.oauth_client {
        Some(client) => format!("authentication failed for OAuth client {client} (OAUTHBEARER)"),
        None => "authentication failed (OAUTHBEARER)".to_string(),
    };
    let endpoint = who
        .token_endpoint
        .as_deref()
        .unwrap_or("the token endpoint");
    let Some((_, why)) = message.split_once(NO_TOKEN) else {
        // The broker's answer to the token: `{"status":"invalid_token"}`.
        let status = json_field(message, "status").unwrap_or_else(|| "refused".into());
        return format!("{head}: the broker refused its token ({status})");
    };
    if let Some(ago) = expired_for(why) {
        return format!(
            "{head}: the token from {endpoint} had expired {} ago (is a clock wrong?)",
            crate::time::short_duration(ago)
        );
    }
    if let Some(error) = json_field(why, "error") {
        let detail = json_field(why, "error_description")
            .map(|d| format!(" ({})", bounded(&d)))
            .unwrap_or_default();
        return format!("{head}: {endpoint} refused it: {}{detail}", bounded(&error));
    }
    let lower = why.to_ascii_lowercase();
    if lower.contains("connect") || lower.contains("resolve") || lower.contains("timed out") {
        return format!(
            "{head}: no token, {endpoint} is unreachable: {}",
            bounded(why)
        );
    }
    format!("{head}: no token from {endpoint}: {}", bounded(why))
}

/// How long ago the token librdkafka refused had expired: "Must supply an unexpired token:
/// now=1796268934478ms, exp=1796265334000ms".
fn expired_for(why: &str) -> Option<std::time::Duration> {
    let rest = why.strip_prefix("Must supply an unexpired token: ")?;
    let number = |key: &str| -> Option<u64> {
        let (_, after) = rest.split_once(key)?;
        after.split("ms").next()?.trim().parse().ok()
    };
    let (now, exp) = (number("now=")?, number("exp=")?);
    Some(std::time::Duration::from_millis(now.saturating_sub(exp)))
}

/// A string field of a JSON object (an OAuth error answer), if the text is one.
fn json_field(text: &str, key: &str) -> Option<String> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    let value: serde_json::Value = serde_json::from_str(text.get(start..=end)?).ok()?;
    value.get(key)?.as_str().map(str::to_string)
}

/// At most `MAX_QUOTED` characters of a server's text, marked when cut.
fn bounded(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_QUOTED) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A URL without user info or query, either of which may carry a secret.
fn without_secrets(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
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
            ..Identity::default()
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

    fn oidc() -> Identity {
        let mut config = ClientConfig::new();
        config
            .set("security.protocol", "SASL_SSL")
            .set("sasl.mechanism", "OAUTHBEARER")
            .set("sasl.oauthbearer.client.id", "pipetop")
            .set("sasl.oauthbearer.client.secret", "hunter2-oidc")
            .set(
                "sasl.oauthbearer.token.endpoint.url",
                "https://svc:hunter2-url@idp.example/oauth2/token?key=hunter2-query",
            );
        Identity::of(&config)
    }

    fn said_for_oidc(message: &str) -> String {
        classify(RDKafkaErrorCode::Authentication, message, &oidc(), |_| None).unwrap()
    }

    #[test]
    fn oauth_failures_name_the_client_the_endpoint_and_the_cause() {
        let head = "authentication failed for OAuth client pipetop (OAUTHBEARER)";
        let endpoint = "https://idp.example/oauth2/token";
        assert_eq!(
            said_for_oidc(
                "Failed to acquire SASL OAUTHBEARER token: {\"error\": \"invalid_client\", \
                 \"error_description\": \"unknown client or wrong secret\"}"
            ),
            format!(
                "{head}: {endpoint} refused it: invalid_client (unknown client or wrong secret)"
            )
        );
        assert_eq!(
            said_for_oidc(
                "Failed to acquire SASL OAUTHBEARER token: Must supply an unexpired token: \
                 now=1796268934478ms, exp=1796265334000ms"
            ),
            format!("{head}: the token from {endpoint} had expired 1h00m ago (is a clock wrong?)")
        );
        assert_eq!(
            said_for_oidc(
                "Failed to acquire SASL OAUTHBEARER token: Failed to connect to 127.0.0.1:9099 \
                 after 0 ms: Could not connect to server"
            ),
            format!(
                "{head}: no token, {endpoint} is unreachable: Failed to connect to \
                 127.0.0.1:9099 after 0 ms: Could not connect to server"
            )
        );
        assert_eq!(
            said_for_oidc(
                "sasl_ssl://127.0.0.1:9094/bootstrap: SASL authentication error: \
                 {\"status\":\"invalid_token\"} (after 303ms in state AUTH_REQ)"
            ),
            format!("{head}: the broker refused its token (invalid_token)")
        );
        let long = format!(
            "Failed to acquire SASL OAUTHBEARER token: {}",
            "x".repeat(5000)
        );
        assert!(said_for_oidc(&long).chars().count() < 400);
        for said in [said_for_oidc(&long), format!("{:?}", oidc())] {
            assert!(!said.contains("hunter2"), "{said}");
        }
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
