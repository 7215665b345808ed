//! pipetop as `User:pipetop` over the stack's SASL_SSL listener, with only the ACLs of "The
//! permissions pipetop needs" (README): it sees what it sees over plaintext, says which group it
//! may not describe, and says in one sentence why it cannot get in, without a secret.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::secure::{OIDC_SECRET, PIPETOP_PASSWORD, PIPETOP_USER, SecureKafka, secure_kafka};

/// The request timeout of every config here; each failure must be said within it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How pipetop reaches the broker in a config file.
enum Access<'a> {
    Plaintext,
    Scram {
        bootstrap: &'a str,
        user: &'a str,
        password: &'a str,
        ca: &'a Path,
    },
    /// OAUTHBEARER with tokens from an OIDC token endpoint (`sasl.oauthbearer.method=oidc`).
    Oidc {
        client: &'a str,
        secret: &'a str,
        endpoint: &'a str,
        ca: &'a Path,
    },
}

fn write_config(
    dir: &Path,
    name: &str,
    kafka: &SecureKafka,
    access: &Access,
    filter: &str,
) -> PathBuf {
    let (bootstrap, properties) = match access {
        Access::Plaintext => (kafka.plain.clone(), String::new()),
        Access::Scram {
            bootstrap,
            user,
            password,
            ca,
        } => (
            bootstrap.to_string(),
            format!(
                "[kafka.properties]\n\"security.protocol\" = \"SASL_SSL\"\n\
                 \"sasl.mechanism\" = \"SCRAM-SHA-512\"\n\"sasl.username\" = \"{user}\"\n\
                 \"sasl.password\" = \"{password}\"\n\"ssl.ca.location\" = \"{}\"\n",
                ca.display()
            ),
        ),
        Access::Oidc {
            client,
            secret,
            endpoint,
            ca,
        } => (
            kafka.sasl.clone(),
            format!(
                "[kafka.properties]\n\"security.protocol\" = \"SASL_SSL\"\n\
                 \"sasl.mechanism\" = \"OAUTHBEARER\"\n\"sasl.oauthbearer.method\" = \"oidc\"\n\
                 \"sasl.oauthbearer.client.id\" = \"{client}\"\n\
                 \"sasl.oauthbearer.client.secret\" = \"{secret}\"\n\
                 \"sasl.oauthbearer.token.endpoint.url\" = \"{endpoint}\"\n\
                 \"ssl.ca.location\" = \"{}\"\n",
                ca.display()
            ),
        ),
    };
    let text = format!(
        "[kafka]\nbootstrap_servers = \"{bootstrap}\"\nrequest_timeout = \"{}s\"\n\
         include_groups = [\"{filter}_.*\"]\ninclude_topics = [\"{filter}_.*\"]\n{properties}\
         [clickhouse]\nurl = \"http://127.0.0.1:1\"\n\
         [[pipelines]]\ntopic = \"{filter}_hidden\"\ngroup = \"{filter}_loader\"\ntables = []\n\
         [[pipelines]]\ntopic = \"{filter}_absent\"\ngroup = \"{filter}_loader\"\ntables = []\n",
        REQUEST_TIMEOUT.as_secs()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn pipetop(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipetop"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("PIPETOP_CONTEXT")
        .env("RUST_LOG", "trace")
        .output()
        .expect("pipetop runs")
}

/// `snapshots.kafka` of `snapshot --json`, with what changes from poll to poll blanked: times,
/// request counts, and `__consumer_offsets`' ends (other tests commit on the shared broker).
/// Broker ports are the listener's own and checked apart.
fn kafka_section(out: &Output, listener_port: u16) -> Value {
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let mut kafka = json["snapshots"]["kafka"].clone();
    assert!(kafka.is_object(), "no kafka snapshot: {json}");
    for key in [
        "taken_at_ms",
        "poll_ms",
        "requests",
        "requests_by_kind",
        "phases_ms",
        "produce_times",
        "group_log",
    ] {
        kafka[key] = Value::Null;
    }
    // When the settings were read differs from run to run; what was read must not.
    kafka["topic_configs"]["read_at_ms"] = Value::Null;
    // A commit's produce time comes from a search over ListOffsets by timestamp that narrows
    // poll by poll (`kafka::produce_time`): a one-shot snapshot may stop it at different steps.
    // Whether it was found (pipetop was allowed to ask) must be equal; the instant may differ.
    for g in kafka["groups"].as_array_mut().unwrap() {
        for c in g["committed"].as_array_mut().unwrap() {
            c["produced_ms"] = Value::Bool(!c["produced_ms"].is_null());
        }
    }
    // When each log start was read differs too (the poll's time): that it was read must not.
    for t in kafka["topics"].as_array_mut().unwrap() {
        for p in t["partitions"].as_array_mut().unwrap() {
            p["start_read_ms"] = Value::Bool(!p["start_read_ms"].is_null());
        }
    }
    for list in ["brokers", "broker_health"] {
        for b in kafka[list].as_array_mut().unwrap() {
            assert_eq!(b["port"], listener_port, "{list}: {b}");
            b["port"] = Value::Null;
        }
    }
    kafka
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':').unwrap().1.parse().unwrap()
}

/// The full Kafka snapshot taken as `pipetop` over SASL_SSL (SCRAM, and OIDC tokens) equals the
/// plaintext one (groups, commits, partitions, offsets, topics, brokers), but for a group and a
/// pipeline's topic pipetop is denied: listed, "not authorized" with the principal, and the rest
/// of the poll unharmed. A pipeline's topic that does not exist is listed as such, and the
/// request that found out did not create it.
#[tokio::test(flavor = "multi_thread")]
async fn least_privilege_snapshot_equals_plaintext() {
    common::needs!(SaslKafka);
    let kafka = secure_kafka();
    let prefix = common::unique("sasl");
    let topic = format!("{prefix}_events");
    let (group, denied) = (format!("{prefix}_loader"), format!("{prefix}_denied"));
    kafka.create_topic(&topic, 3).await;
    kafka.produce(&topic, &[5, 3, 2]);
    kafka.commit(&group, &topic, &[(0, 2), (1, 3), (2, 0)]);
    kafka.commit(&denied, &topic, &[(0, 5), (1, 1)]);
    kafka.add_acl(&[
        "--deny-principal",
        "User:pipetop",
        "--operation",
        "Describe",
        "--group",
        &denied,
    ]);
    // A pipeline's topic pipetop may not DESCRIBE (the config names it), and one that is gone.
    let (hidden, absent) = (format!("{prefix}_hidden"), format!("{prefix}_absent"));
    kafka.create_topic(&hidden, 2).await;
    kafka.add_acl(&[
        "--deny-principal",
        "User:pipetop",
        "--operation",
        "Describe",
        "--topic",
        &hidden,
    ]);

    let dir = common::scratch_dir(&prefix);
    let plain = write_config(dir.path(), "plain", &kafka, &Access::Plaintext, &prefix);
    let scram = Access::Scram {
        bootstrap: &kafka.sasl,
        user: PIPETOP_USER,
        password: PIPETOP_PASSWORD,
        ca: &kafka.ca,
    };
    let secure = write_config(dir.path(), "secure", &kafka, &scram, &prefix);

    let oidc = Access::Oidc {
        client: PIPETOP_USER,
        secret: OIDC_SECRET,
        endpoint: &kafka.token_endpoint,
        ca: &kafka.ca,
    };
    let over_oidc = write_config(dir.path(), "oidc", &kafka, &oidc, &prefix);

    let plain_out = pipetop(&plain, &["snapshot", "--json"]);
    let secure_out = pipetop(&secure, &["snapshot", "--json"]);
    let oidc_out = pipetop(&over_oidc, &["snapshot", "--json"]);
    let mut over_plain = kafka_section(&plain_out, port_of(&kafka.plain));
    let mut over_sasl = kafka_section(&secure_out, port_of(&kafka.sasl));
    // The same principal (User:pipetop, the token's subject) through an OIDC token endpoint.
    let mut over_token = kafka_section(&oidc_out, port_of(&kafka.sasl));

    // The denied group: over plaintext (ANONYMOUS, a super user) its commits; as pipetop, listed
    // with the reason and the principal, never missing.
    let take = |snapshot: &mut Value, id: &str| take_where(snapshot, "groups", "group_id", id);
    let seen_plain = take(&mut over_plain, &denied);
    let seen_sasl = take(&mut over_sasl, &denied);
    let seen_token = take(&mut over_token, &denied);
    let error = seen_token["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(
            "not authorized: the token subject of OAuth client pipetop may not DESCRIBE this group"
        ),
        "{seen_token}"
    );
    assert_eq!(seen_plain["error"], Value::Null, "{seen_plain}");
    assert_eq!(seen_plain["committed"].as_array().unwrap().len(), 2);
    let error = seen_sasl["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("not authorized: User:pipetop may not DESCRIBE this group"),
        "{seen_sasl}"
    );
    assert_eq!(seen_sasl["committed"], Value::Array(vec![]), "{seen_sasl}");

    // The denied topic: over plaintext its partitions; as pipetop (either way in), listed with
    // the reason. The absent one: "does not exist" for everyone, and still absent.
    let take_topic =
        |snapshot: &mut Value, name: &str| take_where(snapshot, "topics", "name", name);
    let hidden_plain = take_topic(&mut over_plain, &hidden);
    assert_eq!(hidden_plain["partitions"].as_array().unwrap().len(), 2);
    assert_eq!(hidden_plain.get("error"), None, "{hidden_plain}");
    // Its partitions' leaders lead two partitions fewer that pipetop may see.
    for p in hidden_plain["partitions"].as_array().unwrap() {
        let health = over_plain["broker_health"].as_array_mut().unwrap();
        let leader = health.iter_mut().find(|b| b["id"] == p["leader"]).unwrap();
        leader["leader_of"] = (leader["leader_of"].as_u64().unwrap() - 1).into();
    }
    for (snapshot, principal) in [
        (&mut over_sasl, "User:pipetop"),
        (&mut over_token, "the token subject of OAuth client pipetop"),
    ] {
        let seen = take_topic(snapshot, &hidden);
        assert_eq!(
            seen["error"].as_str().unwrap_or_default(),
            format!(
                "not authorized: {principal} may not DESCRIBE this topic (grant it, see \"The \
                 permissions pipetop needs\")"
            ),
            "{seen}"
        );
        assert_eq!(seen["partitions"], Value::Array(vec![]), "{seen}");
    }
    for snapshot in [&mut over_plain, &mut over_sasl, &mut over_token] {
        let seen = take_topic(snapshot, &absent);
        assert_eq!(
            seen["error"], "does not exist (a pipeline or a consumer's assignment names it)",
            "{seen}"
        );
    }
    assert!(
        !kafka.topic_exists(&absent).await,
        "asking for {absent} by name created it"
    );

    // Everything else, equal: the group's commits, the topic's partitions and offsets, brokers.
    let groups = over_sasl["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["committed"].as_array().unwrap().len(), 3);
    let topics = over_sasl["topics"].as_array().unwrap();
    assert!(
        topics.iter().any(|t| t["name"] == topic.as_str()),
        "{topics:?}"
    );
    assert_eq!(over_sasl, over_plain);
    assert_eq!(over_token, over_plain);
    // The human summary says it too.
    let text = pipetop(&secure, &["snapshot"]);
    let text = String::from_utf8_lossy(&text.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(&denied))
        .unwrap_or_else(|| panic!("{denied} missing: {text}"));
    assert!(
        line.contains("not authorized: User:pipetop may not DESCRIBE this group"),
        "{line}"
    );

    assert_no_secret(
        "least privilege",
        &[&plain_out, &secure_out, &oidc_out],
        &[PIPETOP_PASSWORD, OIDC_SECRET],
    );
}

/// Removes and returns the element of `snapshot[list]` whose `key` is `value`; it must be there.
fn take_where(snapshot: &mut Value, list: &str, key: &str, value: &str) -> Value {
    let items = snapshot[list].as_array_mut().unwrap();
    let at = items
        .iter()
        .position(|item| item[key] == value)
        .unwrap_or_else(|| panic!("{list}: {value} missing: {items:?}"));
    items.remove(at)
}

/// No secret in anything these runs printed, on stdout or stderr.
fn assert_no_secret(name: &str, outs: &[&Output], secrets: &[&str]) {
    for out in outs {
        for stream in [&out.stdout, &out.stderr] {
            let s = String::from_utf8_lossy(stream);
            for secret in secrets {
                assert!(!s.contains(secret), "{name}: a secret leaked: {s}");
            }
        }
    }
}

/// Wrong password, unknown user, a CA that did not sign the broker's certificate, and a broker
/// name its certificate is not for: each is one sentence on the Kafka panels within the request
/// timeout, `check` exits 3 (UNKNOWN) with it, librdkafka's backoff paces the reconnects (no
/// storm), and no password is printed anywhere.
#[test]
fn auth_and_tls_failures_are_one_sentence() {
    common::needs!(SaslKafka);
    let kafka = secure_kafka();
    let prefix = common::unique("sasl_fail");
    let dir = common::scratch_dir(&prefix);
    // A CA of its own, which did not sign the broker's certificate.
    let other_ca = dir.path().join("other-ca.pem");
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=not the stack's CA", "-keyout"])
        .arg(dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .expect("run openssl");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let wrong = "wrong-hunter2-secret";
    // `127.1` is 127.0.0.1 (inet_aton), but a name the certificate (127.0.0.1, localhost) is not for.
    let by_other_name = format!("127.1:{}", port_of(&kafka.sasl));
    let ca = kafka.ca.as_path();
    let cases: [(&str, Access, String); 4] = [
        (
            "wrong_password",
            Access::Scram {
                bootstrap: &kafka.sasl,
                user: PIPETOP_USER,
                password: wrong,
                ca,
            },
            "authentication failed for user pipetop (SCRAM-SHA-512)".to_string(),
        ),
        (
            "unknown_user",
            Access::Scram {
                bootstrap: &kafka.sasl,
                user: "nobody",
                password: wrong,
                ca,
            },
            "authentication failed for user nobody (SCRAM-SHA-512)".to_string(),
        ),
        (
            "wrong_ca",
            Access::Scram {
                bootstrap: &kafka.sasl,
                user: PIPETOP_USER,
                password: PIPETOP_PASSWORD,
                ca: &other_ca,
            },
            format!(
                "TLS: certificate verify failed: self-signed certificate in certificate chain \
                 (CA {})",
                other_ca.display()
            ),
        ),
        (
            "hostname_mismatch",
            Access::Scram {
                bootstrap: &by_other_name,
                user: PIPETOP_USER,
                password: PIPETOP_PASSWORD,
                ca,
            },
            format!(
                "TLS: certificate verify failed: hostname mismatch, the certificate is not for \
                 127.1 (CA {})",
                kafka.ca.display()
            ),
        ),
    ];
    for (name, access, sentence) in cases {
        let config = write_config(dir.path(), name, &kafka, &access, &prefix);
        // The broker logs each failed login or handshake. librdkafka backs off a refused login
        // (1 s doubling to 10 s: a few in the check), but retries a refused handshake every
        // reconnect.backoff.ms without growth: at its default 100 ms the broker logged about 20
        // a second; pipetop's 1 s keeps it under 3 a second (about 2 measured), pipetop's own
        // one handshake included.
        says_one_sentence(
            name,
            &config,
            &sentence,
            &|| kafka.failed_authentications(),
            1,
            3.0,
            &[wrong, PIPETOP_PASSWORD],
        );
    }
}

/// One poll (`snapshot`) gives the sentence on the Kafka source within the request timeout, and
/// `check` over 10 s exits 3 (UNKNOWN) with it; meanwhile `attempts()` (failed logins at the
/// broker, or token requests) grows by at least `min_attempts` and at most `per_second` a second
/// of the check (no storm); none of `secrets` is printed anywhere.
fn says_one_sentence(
    name: &str,
    config: &Path,
    sentence: &str,
    attempts: &dyn Fn() -> usize,
    min_attempts: usize,
    per_second: f64,
    secrets: &[&str],
) {
    let started = Instant::now();
    let snapshot = pipetop(config, &["snapshot", "--json"]);
    let took = started.elapsed();
    assert!(took < REQUEST_TIMEOUT, "{name}: {took:?}");
    let json: Value = serde_json::from_slice(&snapshot.stdout).unwrap();
    assert_eq!(
        json["model"]["sources"]["kafka"]["error"]["message"], sentence,
        "{name}"
    );
    assert_eq!(
        json["model"]["sources"]["kafka"]["last_good_at"],
        Value::Null
    );

    let before = attempts();
    let started = Instant::now();
    let check = pipetop(config, &["check", "--window", "10s"]);
    let secs = started.elapsed().as_secs() + 1;
    let attempts = attempts() - before;
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(3), "{name}: {stdout}");
    assert!(stdout.starts_with("PIPETOP UNKNOWN"), "{name}: {stdout}");
    assert!(
        stdout.contains(&format!("kafka unreachable: {sentence}")),
        "{name}: {stdout}"
    );
    assert!(
        (min_attempts..=(per_second * secs as f64) as usize).contains(&attempts),
        "{name}: {attempts} attempts in {secs} s"
    );

    assert_no_secret(name, &[&snapshot, &check], secrets);
}

/// OIDC (`sasl.oauthbearer.method=oidc`): a token endpoint that refuses pipetop's client
/// secret, one that cannot be reached, a token that has expired, and a token the broker refuses
/// (signed by a key its JWKS does not hold) are each one sentence, in time, with `check` exiting
/// 3; librdkafka asks the endpoint again every 10 s or so, not in a loop; no secret is printed.
#[test]
fn oidc_failures_are_one_sentence() {
    common::needs!(SaslKafka);
    let kafka = secure_kafka();
    let prefix = common::unique("oidc_fail");
    let dir = common::scratch_dir(&prefix);
    let wrong = "wrong-hunter2-oidc";
    let endpoint = kafka.token_endpoint.as_str();
    // Nothing listens on port 1 of loopback.
    let nowhere = "http://127.0.0.1:1/token";
    let ca = kafka.ca.as_path();
    let head = "authentication failed for OAuth client";
    let cases: [(&str, Access, String, bool); 4] = [
        (
            "wrong_client_secret",
            Access::Oidc {
                client: PIPETOP_USER,
                secret: wrong,
                endpoint,
                ca,
            },
            format!(
                "{head} pipetop (OAUTHBEARER): {endpoint} refused it: invalid_client (unknown \
                 client or wrong secret)"
            ),
            true,
        ),
        (
            "endpoint_unreachable",
            Access::Oidc {
                client: PIPETOP_USER,
                secret: OIDC_SECRET,
                endpoint: nowhere,
                ca,
            },
            format!(
                "{head} pipetop (OAUTHBEARER): no token, {nowhere} is unreachable: Failed to \
                 connect to 127.0.0.1:1 after 0 ms: Could not connect to server"
            ),
            false,
        ),
        (
            "expired_token",
            Access::Oidc {
                client: "pipetop-expired",
                secret: OIDC_SECRET,
                endpoint,
                ca,
            },
            format!(
                "{head} pipetop-expired (OAUTHBEARER): the token from {endpoint} had expired \
                 1h00m ago (is a clock wrong?)"
            ),
            true,
        ),
        (
            "token_refused_by_broker",
            Access::Oidc {
                client: "pipetop-foreign",
                secret: OIDC_SECRET,
                endpoint,
                ca,
            },
            format!(
                "{head} pipetop-foreign (OAUTHBEARER): the broker refused its token (invalid_token)"
            ),
            true,
        ),
    ];
    for (name, access, sentence, asks_endpoint) in cases {
        let config = write_config(dir.path(), name, &kafka, &access, &prefix);
        if name == "token_refused_by_broker" {
            // The broker checks the token and refuses it: a failed login, backed off like one.
            says_one_sentence(
                name,
                &config,
                &sentence,
                &|| kafka.failed_authentications(),
                1,
                3.0,
                &[OIDC_SECRET],
            );
        } else {
            // No token, so no login: librdkafka asks the endpoint again 10 s after a failure.
            let min = usize::from(asks_endpoint);
            says_one_sentence(
                name,
                &config,
                &sentence,
                &|| kafka.token_requests(),
                min,
                0.5,
                &[wrong, OIDC_SECRET],
            );
        }
    }
}
