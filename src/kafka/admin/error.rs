//! The error of a whole admin call, and the redaction of configuration values
//! from librdkafka's client-creation errors.

use std::cmp::Reverse;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// Errors of a whole admin call. Per-group / per-partition failures are not
/// errors of the call; they are reported in the `error` field of the entry.
///
/// No variant ever carries a configuration value: librdkafka's configuration
/// errors quote the offending value, so those messages are redacted.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A configuration property was rejected (unknown name or invalid value).
    #[error("invalid Kafka client property `{key}`: {reason}")]
    Config { key: String, reason: String },
    /// librdkafka could not create the client.
    #[error("cannot create Kafka client: {0}")]
    Create(String),
    /// The request as a whole failed (e.g. broker unreachable, timed out).
    #[error("{op} failed: {message}")]
    Kafka {
        op: &'static str,
        code: RDKafkaErrorCode,
        message: String,
    },
    /// No result arrived even after librdkafka's own timeout should have fired.
    #[error("{op} got no result within {timeout:?}")]
    Timeout { op: &'static str, timeout: Duration },
    /// librdkafka returned something its documentation rules out
    /// (NULL where a value is promised, failed allocation).
    #[error("{op}: unexpected librdkafka behaviour: {detail}")]
    Internal { op: &'static str, detail: String },
}

impl AdminError {
    /// True when the call failed because the cluster did not answer in time.
    pub fn is_timeout(&self) -> bool {
        match self {
            AdminError::Timeout { .. } => true,
            AdminError::Kafka { code, .. } => *code == RDKafkaErrorCode::OperationTimedOut,
            _ => false,
        }
    }
}

pub(super) fn creation_error(err: KafkaError, config: &ClientConfig) -> AdminError {
    match err {
        // The fourth field is the rejected value: never surface it.
        KafkaError::ClientConfig(_, reason, key, _) => AdminError::Config {
            reason: redact(&reason, config),
            key,
        },
        KafkaError::ClientCreation(msg) => AdminError::Create(redact(&msg, config)),
        other => AdminError::Create(redact(&other.to_string(), config)),
    }
}

/// librdkafka quotes configuration values in some messages; blank out every
/// configured value (longest first, so a value containing another is
/// removed whole).
fn redact(message: &str, config: &ClientConfig) -> String {
    let mut values: Vec<&str> = config
        .config_map()
        .into_values()
        .filter(|v| !v.is_empty())
        .collect();
    values.sort_by_key(|v| Reverse(v.len()));
    let mut out = message.to_owned();
    for value in values {
        out = out.replace(value, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::admin::Admin;

    #[test]
    fn config_errors_never_contain_values() {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("sasl.password", "hunter2-secret")
            .set("security.protocol", "hunter2-secret");
        let err = Admin::new(&config).expect_err("invalid security.protocol must be rejected");
        let text = format!("{err} {err:?}");
        assert!(matches!(err, AdminError::Config { ref key, .. } if key == "security.protocol"));
        assert!(!text.contains("hunter2"), "{text}");

        let mut config = ClientConfig::new();
        config.set("no.such.property", "hunter2-secret");
        let err = Admin::new(&config).expect_err("unknown property must be rejected");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn redact_replaces_longest_values_first() {
        let mut config = ClientConfig::new();
        config.set("a", "pass").set("b", "password1");
        assert_eq!(redact("got password1 and pass", &config), "got *** and ***");
    }
}
