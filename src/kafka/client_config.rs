//! librdkafka settings for pipetop's one (admin) client.

use rdkafka::ClientConfig;

use crate::config::KafkaConfig;

/// Requests in flight on one broker connection (see `client_config`).
pub const MAX_IN_FLIGHT_PER_CONNECTION: usize = 32;

/// librdkafka settings for the admin client: the user's properties verbatim, then ours.
pub fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut cc = ClientConfig::new();
    for (key, value) in &config.properties {
        cc.set(key, value);
    }
    cc.set("bootstrap.servers", &config.bootstrap_servers);
    cc.set("client.id", "pipetop");
    // A stalled broker (alive, no answers) must cost a fraction of a request timeout, not
    // librdkafka's own 60 s socket timeout and 30 s connection setup. Every request librdkafka
    // has sent or queued to a stalled broker waits until it drops that connection, which it does
    // once a request on it is older than `socket.timeout.ms` (the poll's own time limits do not
    // end them sooner): Metadata, ListGroups, DescribeCluster alike. So a third of the request
    // timeout: the first poll after a broker stalls then ends within the request timeout (the
    // check, these requests, then the groups' and offsets' short limits; see `poll_blocking`),
    // and the next Metadata goes to a broker that answers (see `metadata_poll`). A user's own
    // values (above) are kept. (librdkafka takes no timeout under 1 s.)
    let third = (config.request_timeout / 3).as_millis().max(1_000);
    let half = (config.request_timeout / 2).as_millis().max(1_000);
    for (key, ms) in [
        ("socket.timeout.ms", third),
        ("socket.connection.setup.timeout.ms", half),
    ] {
        if !config.properties.contains_key(key) {
            cc.set(key, ms.to_string());
        }
    }
    // Requests written to one broker connection and not yet answered. librdkafka's default is a
    // million: a poll of 1,000 groups wrote hundreds of requests to a broker at once, more than
    // its socket's receive buffer holds (Kafka's socket.receive.buffer.bytes, 100 KB) while it
    // answers a connection's requests one at a time. Now and then the kernel dropped segments
    // (TcpExtTCPRcvQDrop), both ends' retransmission timers backed off to seconds, and the
    // connection stood still until socket.timeout.ms dropped it (found with `bench_kafka` and
    // `ss -tni`, see the README). A few in flight keep the broker as busy.
    if !config
        .properties
        .contains_key("max.in.flight.requests.per.connection")
    {
        cc.set(
            "max.in.flight.requests.per.connection",
            MAX_IN_FLIGHT_PER_CONNECTION.to_string(),
        );
    }
    // librdkafka reconnects to a broker that refuses its TLS handshake (a wrong CA, a name not in
    // the certificate) every reconnect.backoff.ms, without the growth it applies to other
    // failures: at its 100 ms that is about 10 handshakes a second for as long as pipetop runs.
    // A second keeps that to one a second; growth to reconnect.backoff.max.ms (10 s) is unchanged.
    // Only over TLS: a plaintext cluster keeps librdkafka's quicker reconnect to a broker back up.
    let tls = config
        .properties
        .get("security.protocol")
        .is_some_and(|p| p.eq_ignore_ascii_case("ssl") || p.eq_ignore_ascii_case("sasl_ssl"));
    if tls && !config.properties.contains_key("reconnect.backoff.ms") {
        cc.set("reconnect.backoff.ms", "1000");
    }
    // A broker that is back must be reached within a refresh or so. librdkafka's backoff between
    // attempts to reach a broker that is down grows to reconnect.backoff.max.ms (10 s); an admin
    // request used to cut it short (which, against a broker refusing at once, was a busy loop:
    // see vendor/rdkafka-sys/PIPETOP-PATCH.md, fix 3), and no longer does. A second keeps
    // recovery within one refresh, at one refused attempt a second per broker that is down.
    if !config.properties.contains_key("reconnect.backoff.max.ms") {
        let floor = config
            .properties
            .get("reconnect.backoff.ms")
            .and_then(|ms| ms.parse::<u64>().ok())
            .unwrap_or(0);
        cc.set("reconnect.backoff.max.ms", floor.max(1_000).to_string());
    }
    // Without this librdkafka logs every broker disconnect to stderr, on top of our screen. (A
    // user's own level is kept, for `debug` contexts.)
    if !config.properties.contains_key("log_level") {
        cc.set("log_level", "3");
    }
    // An admin client gets no error events unless asked: failures outside a request, such as an
    // OIDC token endpoint refusing pipetop, were only logged and the poll just timed out. As
    // events on the main queue they reach `connect_failure`, which says them in one sentence.
    cc.set(
        "enabled_events",
        rdkafka::bindings::RD_KAFKA_EVENT_ERROR.to_string(),
    );
    // A Metadata request for a named topic must never create it (librdkafka's default for a
    // producer-type handle, which an admin client is, is to allow that).
    cc.set("allow.auto.create.topics", "false");
    cc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_timeouts_follow_the_request_timeout_unless_set() {
        let mut config = KafkaConfig {
            request_timeout: std::time::Duration::from_secs(10),
            ..KafkaConfig::default()
        };
        let cc = client_config(&config);
        assert_eq!(cc.get("socket.timeout.ms"), Some("3333"));
        assert_eq!(cc.get("socket.connection.setup.timeout.ms"), Some("5000"));
        config.request_timeout = std::time::Duration::from_secs(1);
        config
            .properties
            .insert("socket.timeout.ms".into(), "60000".into());
        let cc = client_config(&config);
        assert_eq!(
            cc.get("socket.timeout.ms"),
            Some("60000"),
            "the user's value"
        );
        assert_eq!(cc.get("socket.connection.setup.timeout.ms"), Some("1000"));
    }

    #[test]
    fn requests_in_flight_per_connection_are_capped_unless_set() {
        let mut config = KafkaConfig::default();
        assert_eq!(
            client_config(&config).get("max.in.flight.requests.per.connection"),
            Some("32")
        );
        config
            .properties
            .insert("max.in.flight.requests.per.connection".into(), "5".into());
        assert_eq!(
            client_config(&config).get("max.in.flight.requests.per.connection"),
            Some("5")
        );
    }

    #[test]
    fn a_users_log_level_is_kept() {
        let mut config = KafkaConfig::default();
        assert_eq!(client_config(&config).get("log_level"), Some("3"));
        config.properties.insert("log_level".into(), "7".into());
        assert_eq!(client_config(&config).get("log_level"), Some("7"));
    }

    #[test]
    fn reconnects_over_tls_are_paced_unless_set() {
        let mut config = KafkaConfig::default();
        assert_eq!(client_config(&config).get("reconnect.backoff.ms"), None);
        config
            .properties
            .insert("security.protocol".into(), "SASL_SSL".into());
        assert_eq!(
            client_config(&config).get("reconnect.backoff.ms"),
            Some("1000")
        );
        config
            .properties
            .insert("reconnect.backoff.ms".into(), "50".into());
        assert_eq!(
            client_config(&config).get("reconnect.backoff.ms"),
            Some("50")
        );
    }

    #[test]
    fn reconnect_backoff_is_capped_at_a_second_unless_set() {
        let mut config = KafkaConfig::default();
        assert_eq!(
            client_config(&config).get("reconnect.backoff.max.ms"),
            Some("1000")
        );
        // Never below the user's own backoff (librdkafka rejects max < backoff).
        config
            .properties
            .insert("reconnect.backoff.ms".into(), "3000".into());
        assert_eq!(
            client_config(&config).get("reconnect.backoff.max.ms"),
            Some("3000")
        );
        config
            .properties
            .insert("reconnect.backoff.max.ms".into(), "20000".into());
        assert_eq!(
            client_config(&config).get("reconnect.backoff.max.ms"),
            Some("20000"),
            "the user's value"
        );
    }
}
