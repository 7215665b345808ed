# shellcheck shell=bash
# Shared settings and helpers for the pipetop test stack. Sourced, not run.

STACK_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$STACK_HOME/../.." && pwd)"

KAFKA_VERSION="${PIPETOP_KAFKA_VERSION:-4.1.1}"
CHDB_VERSION="${PIPETOP_CHDB_VERSION:-26.9.0}"
LZ4_PY_VERSION="4.4.5"
CITYHASH_PY_VERSION="1.0.2.6"

STATE_DIR="${PIPETOP_STACK_DIR:-$REPO_ROOT/target/stack}"
# A relative PIPETOP_STACK_DIR is taken from the current directory, made absolute so the
# brokers (whose log.dirs it names) and later commands agree wherever they run from.
case $STATE_DIR in /*) ;; *) STATE_DIR="$PWD/$STATE_DIR" ;; esac
CACHE_DIR="${PIPETOP_CACHE_DIR:-$HOME/.cache/pipetop}"
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/logs"

KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_STATE="$STATE_DIR/kafka"

PYTHON="${PIPETOP_PYTHON:-python3}"
CHDB_PORT="${PIPETOP_CHDB_PORT:-8123}"
LEGACY_HTTP_PORT=18123
LEGACY_TCP_PORT=19000
LEGACY_INTERSERVER_PORT=19009
LEGACY_BIN=/usr/sbin/clickhouse-server

# The replicated pair (service `replicas`): two more clickhouse-server 18.16 and Debian's
# ZooKeeper, run as our own processes (never the system services).
ZK_PORT=12181
ZK_JAR=/usr/share/java/zookeeper.jar
REPLICA_HTTP_PORTS=(18223 18323)
REPLICA_TCP_PORTS=(19200 19300)
REPLICA_INTERSERVER_PORTS=(19209 19309)

START_TIMEOUT="${PIPETOP_START_TIMEOUT:-90}"

# Kafka node i (1-based): broker port P+100*(i-1), controller P+1+100*(i-1), where P is
# PIPETOP_KAFKA_PORT (default 9092). A second stack (other PIPETOP_STACK_DIR and port) can run
# beside the default one, e.g. for the benchmark, which must not load the shared broker.
KAFKA_PORT="${PIPETOP_KAFKA_PORT:-9092}"
[[ $KAFKA_PORT =~ ^[0-9]+$ ]] || { printf 'ERROR: PIPETOP_KAFKA_PORT must be a port number\n' >&2; exit 1; }
# Broker heap; the benchmark's 20,000 partitions want more than the default.
KAFKA_HEAP="${PIPETOP_KAFKA_HEAP:-1536m}"
kafka_broker_port() { echo $((KAFKA_PORT + 100 * ($1 - 1))); }
kafka_controller_port() { echo $((KAFKA_PORT + 1 + 100 * ($1 - 1))); }
# The SASL_SSL listener of node i: its broker port + 2 (9094, 9194, 9294 by default).
kafka_sasl_port() { echo $((KAFKA_PORT + 2 + 100 * ($1 - 1))); }
KAFKA_TLS="$KAFKA_STATE/tls"
# The keystore's password: a test fixture of the local stack, never a real secret.
KAFKA_TLS_STOREPASS="pipetop-stack-keystore"
# SCRAM-SHA-512 users of the SASL_SSL listener (see tests/stack/README.md).
KAFKA_ADMIN_USER="admin"
KAFKA_ADMIN_PASSWORD="admin-secret"
KAFKA_PIPETOP_USER="pipetop"
KAFKA_PIPETOP_PASSWORD="pipetop-secret"
# OAUTHBEARER on the same SASL_SSL listeners: tokens from the stack's OIDC token endpoint
# (tests/stack/oidc_token.py on the broker port + 3: 9095 by default), validated by the brokers
# against the JWKS file it writes (oidc/jwks.json).
KAFKA_OIDC="$KAFKA_STATE/oidc"
kafka_oidc_port() { echo $((KAFKA_PORT + 3)); }
KAFKA_OIDC_AUDIENCE="pipetop-stack"

log() { printf '%s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# pid file helpers --------------------------------------------------------
pid_alive() { # pidfile -> 0 when the recorded process is alive
  local f=$1 pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # a zombie or a reused pid running something else does not count
  local state
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
  [[ -n $state && $state != Z ]]
}

stop_pidfile() { # pidfile name [timeout]
  local f=$1 name=$2 timeout=${3:-30} pid i
  if [[ ! -e $f ]]; then return 0; fi
  pid=$(<"$f")
  if pid_alive "$f"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    # A paused process (kafka-node pause) only acts on the TERM once it runs again.
    kill -CONT "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in ${timeout}s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  rm -f "$f"
}

port_open() { # port -> 0 when something accepts on 127.0.0.1:port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

fail_with_log() { # name logfile[:logfile2...] message
  local name=$1 logs=$2 msg=$3 logf
  printf 'ERROR: %s: %s\n' "$name" "$msg" >&2
  IFS=':' read -r -a _logs <<<"$logs"
  for logf in "${_logs[@]}"; do
    if [[ -s $logf ]]; then
      printf -- '---- last 40 lines of %s ----\n' "$logf" >&2
      tail -n 40 "$logf" >&2
      printf -- '----\n' >&2
    fi
  done
  exit 1
}

# Kafka ------------------------------------------------------------------
kafka_java() { # extra JVM args..., then main class and args
  java -Xmx256m -Xms64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$KAFKA_STATE/log4j2-tools.xml" \
    -cp "$KAFKA_LIBS/*" "$@"
}

kafka_write_tools_log4j() {
  mkdir -p "$KAFKA_STATE"
  cat >"$KAFKA_STATE/log4j2-tools.xml.tmp" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- CLI tools: warnings and errors only, on stderr; stdout stays clean. -->
<Configuration status="error">
  <Appenders>
    <Console name="stderr" target="SYSTEM_ERR">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="warn"><AppenderRef ref="stderr"/></Root>
  </Loggers>
</Configuration>
EOF
  mv -f "$KAFKA_STATE/log4j2-tools.xml.tmp" "$KAFKA_STATE/log4j2-tools.xml"
}

kafka_libs_ready() { [[ -f $KAFKA_HOME/.complete ]]; }

kafka_install() {
  kafka_libs_ready && return 0
  command -v mvn >/dev/null || die "mvn (Maven) is required to fetch Kafka $KAFKA_VERSION jars"
  log "installing Kafka $KAFKA_VERSION jars into $KAFKA_HOME (Maven Central)"
  rm -rf "$KAFKA_HOME"
  mkdir -p "$CACHE_DIR"
  local tmp
  tmp=$(mktemp -d "$CACHE_DIR/.kafka-$KAFKA_VERSION.XXXXXX")
  # -Dmaven.repo.local is left alone: ~/.m2 caches the artifacts.
  if ! (cd "$tmp" && mvn -B -q -f "$STACK_HOME/kafka/pom.xml" \
        -Dkafka.version="$KAFKA_VERSION" -Dlibs.dir="$tmp/libs" \
        package >"$tmp/mvn.log" 2>&1); then
    cat "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    die "maven could not fetch Kafka $KAFKA_VERSION"
  fi
  rm -rf "$STACK_HOME/kafka/target"
  ls "$tmp/libs"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null || die "kafka_2.13-$KAFKA_VERSION.jar missing after maven"
  mkdir -p "$KAFKA_HOME"
  mv "$tmp/libs" "$KAFKA_LIBS"
  rm -rf "$tmp"
  touch "$KAFKA_HOME/.complete"
}

# chdb -------------------------------------------------------------------
py_tag() { "$PYTHON" -c 'import sys; print("py%d.%d" % sys.version_info[:2])'; }
chdb_venv() { echo "$CACHE_DIR/chdb-core-$CHDB_VERSION-$(py_tag)/venv"; }

chdb_ready() { [[ -f $(chdb_venv)/../.complete ]]; }

chdb_install() {
  chdb_ready && return 0
  local venv base wheels
  venv=$(chdb_venv)
  base=$(dirname "$venv")
  wheels="$CACHE_DIR/wheels"
  log "installing chdb-core $CHDB_VERSION into $venv (the wheel is ~180 MB; kept in $wheels)"
  rm -rf "$base"
  mkdir -p "$base" "$wheels"
  local reqs=("chdb-core==$CHDB_VERSION" "lz4==$LZ4_PY_VERSION" "clickhouse-cityhash==$CITYHASH_PY_VERSION")
  # Download (or reuse) every wheel into the cache, then install from there only.
  if ! "$PYTHON" -m pip download -q --dest "$wheels" "${reqs[@]}" >"$base/pip.log" 2>&1; then
    log "pip download failed, trying the wheels already in $wheels"
  fi
  "$PYTHON" -m venv "$venv" >>"$base/pip.log" 2>&1 || { cat "$base/pip.log" >&2; die "python venv failed"; }
  if ! "$venv/bin/python" -m pip install -q --no-index --find-links "$wheels" "${reqs[@]}" >>"$base/pip.log" 2>&1; then
    cat "$base/pip.log" >&2
    die "installing chdb-core $CHDB_VERSION failed"
  fi
  "$venv/bin/python" -c 'import chdb, lz4.block, clickhouse_cityhash.cityhash' >>"$base/pip.log" 2>&1 \
    || { cat "$base/pip.log" >&2; die "chdb venv does not import"; }
  touch "$base/.complete"
}

# Kafka broker nodes ---------------------------------------------------------
kafka_nodes_configured() { # -> number of nodes the kafka state is laid out for (0 = none)
  if [[ -f $KAFKA_STATE/nodes ]]; then cat "$KAFKA_STATE/nodes"; else echo 0; fi
}

kafka_random_uuid() { # Kafka Uuid: 16 random bytes, base64url, no padding, not starting with '-'
  local u
  while :; do
    u=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $u != -* ]] && { echo "$u"; return; }
  done
}

kafka_write_node_config() { # i nodes
  local i=$1 n=$2 dir="$KAFKA_STATE/node$1" j voters="" rf=1 misr=1
  for ((j = 1; j <= n; j++)); do
    voters+="${voters:+,}127.0.0.1:$(kafka_controller_port "$j")"
  done
  if ((n >= 3)); then rf=3; misr=2; fi
  mkdir -p "$dir/data"
  cat >"$dir/server.properties.tmp" <<EOP
# generated by tests/stack/up — node $i of $n (combined broker+controller, KRaft)
node.id=$i
process.roles=broker,controller
listeners=PLAINTEXT://127.0.0.1:$(kafka_broker_port "$i"),CONTROLLER://127.0.0.1:$(kafka_controller_port "$i"),SASL_SSL://127.0.0.1:$(kafka_sasl_port "$i")
advertised.listeners=PLAINTEXT://127.0.0.1:$(kafka_broker_port "$i"),CONTROLLER://127.0.0.1:$(kafka_controller_port "$i"),SASL_SSL://127.0.0.1:$(kafka_sasl_port "$i")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
# SASL_SSL: SCRAM-SHA-512 users (formatted in), TLS with the stack's own CA (tls/ca.pem).
sasl.enabled.mechanisms=SCRAM-SHA-512,OAUTHBEARER
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# OAUTHBEARER: JWTs of the stack's token endpoint, checked against its JWKS file, audience and
# issuer; the principal is the token's subject (User:pipetop, the same ACLs as over SCRAM).
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
# Named, not left to the default: Kafka 4.1.1's default validator checks a token's claims but not
# its signature (a token signed by any key got in; tests/kafka_sasl.rs checks that one is refused).
sasl.oauthbearer.jwt.validator.class=org.apache.kafka.common.security.oauthbearer.BrokerJwtValidator
sasl.oauthbearer.jwks.endpoint.url=file://$KAFKA_OIDC/jwks.json
sasl.oauthbearer.expected.audience=$KAFKA_OIDC_AUDIENCE
sasl.oauthbearer.expected.issuer=http://127.0.0.1:$(kafka_oidc_port)
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_TLS/broker.p12
ssl.keystore.password=$KAFKA_TLS_STOREPASS
ssl.client.auth=none
# ACLs. PLAINTEXT and CONTROLLER connections are User:ANONYMOUS: a super user, so the
# plaintext tests, the brokers and the controllers keep full access; every SASL_SSL user but
# admin gets only what the ACLs grant (tests/stack/README.md says why not allow.everyone).
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:$KAFKA_ADMIN_USER
allow.everyone.if.no.acl.found=false
controller.quorum.bootstrap.servers=$voters
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$misr
auto.create.topics.enable=true
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$misr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$misr
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=104857600
# Seconds, not five minutes: tests/retention_live.rs waits for retention to delete segments.
log.retention.check.interval.ms=2000
delete.topic.enable=true
EOP
  mv -f "$dir/server.properties.tmp" "$dir/server.properties"
}

kafka_write_broker_log4j() {
  mkdir -p "$KAFKA_STATE"
  cat >"$KAFKA_STATE/log4j2-broker.xml.tmp" <<'EOF2'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Broker: INFO to stdout, which tests/stack/up sends to logs/kafka-N.log -->
<Configuration status="error">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="stdout"/></Root>
    <Logger name="org.apache.kafka.clients" level="warn"/>
    <Logger name="state.change.logger" level="warn"/>
    <Logger name="kafka.request.logger" level="warn"/>
    <Logger name="org.apache.kafka.controller" level="info"/>
    <Logger name="kafka.log.LogCleaner" level="warn"/>
  </Loggers>
</Configuration>
EOF2
  mv -f "$KAFKA_STATE/log4j2-broker.xml.tmp" "$KAFKA_STATE/log4j2-broker.xml"
}

kafka_format_node() { # i nodes
  local i=$1 n=$2 dir="$KAFKA_STATE/node$1" cid args=()
  [[ -f $dir/data/meta.properties ]] && return 0
  cid=$(<"$KAFKA_STATE/cluster.id")
  if ((n == 1)); then
    args=(--standalone)
  else
    args=(--initial-controllers "$(<"$KAFKA_STATE/initial-controllers")")
  fi
  log "formatting kafka node $i storage (cluster $cid)"
  if ! kafka_java kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" "${args[@]}" \
       --add-scram "SCRAM-SHA-512=[name=$KAFKA_ADMIN_USER,password=$KAFKA_ADMIN_PASSWORD]" \
       --add-scram "SCRAM-SHA-512=[name=$KAFKA_PIPETOP_USER,password=$KAFKA_PIPETOP_PASSWORD]" \
       >"$LOG_DIR/kafka-$i-format.log" 2>&1; then
    fail_with_log "kafka node $i" "$LOG_DIR/kafka-$i-format.log" "storage format failed"
  fi
  touch "$dir/scram-users"
}

# The stack's CA and the brokers' certificate (SAN 127.0.0.1 and localhost), made once with
# openssl: tls/ca.pem (what a client trusts), tls/broker.p12 (the brokers' keystore).
kafka_tls_setup() {
  [[ -f $KAFKA_TLS/broker.p12 && -f $KAFKA_TLS/ca.pem ]] && return 0
  command -v openssl >/dev/null || die "openssl is required for the SASL_SSL listener's certificates"
  log "making the stack's CA and broker certificate in $KAFKA_TLS"
  local t="$KAFKA_TLS.tmp"
  rm -rf "$t" && mkdir -p "$t"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pipetop test stack CA" \
      -keyout "$t/ca.key" -out "$t/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$t/broker.key" -out "$t/broker.csr" &&
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "extendedKeyUsage=serverAuth" >"$t/broker.ext" &&
    openssl x509 -req -in "$t/broker.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
      -days 3650 -extfile "$t/broker.ext" -out "$t/broker.pem" &&
    openssl pkcs12 -export -in "$t/broker.pem" -inkey "$t/broker.key" -certfile "$t/ca.pem" \
      -name broker -passout "pass:$KAFKA_TLS_STOREPASS" -out "$t/broker.p12"
  } >"$LOG_DIR/kafka-tls.log" 2>&1 || fail_with_log "kafka tls" "$LOG_DIR/kafka-tls.log" "openssl failed"
  rm -f "$t/broker.csr" "$t/broker.ext" "$t/ca.srl"
  rm -rf "$KAFKA_TLS" && mv "$t" "$KAFKA_TLS"
}

# The OIDC token endpoint's keys and the JWKS the brokers trust (made once), and the endpoint
# itself (tests/stack/oidc_token.py), a process of the stack like the brokers.
kafka_oidc_setup() {
  [[ -f $KAFKA_OIDC/jwks.json ]] && return 0
  log "making the OIDC token endpoint's keys in $KAFKA_OIDC"
  "$PYTHON" "$STACK_HOME/oidc_token.py" init "$KAFKA_OIDC" >"$LOG_DIR/kafka-oidc-init.log" 2>&1 \
    || fail_with_log "kafka oidc" "$LOG_DIR/kafka-oidc-init.log" "could not make the OIDC keys"
}

kafka_oidc_start() {
  local pidf="$RUN_DIR/oidc.pid" logf="$LOG_DIR/oidc.log" port deadline
  port=$(kafka_oidc_port)
  pid_alive "$pidf" && return 0
  port_open "$port" && die "127.0.0.1:$port is already in use by a process this stack did not start"
  echo "==== $(date -u +%FT%TZ) starting the OIDC token endpoint" >>"$logf"
  setsid "$PYTHON" "$STACK_HOME/oidc_token.py" serve "$KAFKA_OIDC" "$port" </dev/null >>"$logf" 2>&1 &
  echo $! >"$pidf"
  deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$port"; do
    pid_alive "$pidf" || fail_with_log "oidc token endpoint" "$logf" "exited during startup"
    ((SECONDS < deadline)) || fail_with_log "oidc token endpoint" "$logf" "not listening on 127.0.0.1:$port"
    sleep 0.2
  done
}

# A state dir formatted before the SASL_SSL listener has no SCRAM users: add them to the running
# cluster (as ANONYMOUS over PLAINTEXT, a super user), once.
kafka_scram_upgrade() { # bootstrap
  [[ -f $KAFKA_STATE/node1/scram-users ]] && return 0
  log "adding the SCRAM users to a cluster formatted without them"
  local u pw
  for u in "$KAFKA_ADMIN_USER:$KAFKA_ADMIN_PASSWORD" "$KAFKA_PIPETOP_USER:$KAFKA_PIPETOP_PASSWORD"; do
    pw=${u#*:}
    kafka_java kafka.admin.ConfigCommand --bootstrap-server "$1" --alter --entity-type users \
      --entity-name "${u%%:*}" --add-config "SCRAM-SHA-512=[password=$pw]" \
      >"$LOG_DIR/kafka-scram.log" 2>&1 || fail_with_log "kafka" "$LOG_DIR/kafka-scram.log" "could not add SCRAM user ${u%%:*}"
  done
  touch "$KAFKA_STATE/node1/scram-users"
}

# What User:pipetop may do, and nothing more (README: "The permissions pipetop needs"). Adding an
# ACL that exists is a no-op, so this is idempotent; a marker skips the JVM start next time.
kafka_acls_setup() { # bootstrap
  local marker="$KAFKA_STATE/node1/acls-v1" bs=$1 p="User:$KAFKA_PIPETOP_USER"
  [[ -f $marker ]] && return 0
  log "granting $p its read-only ACLs"
  local args
  for args in "--operation Describe --cluster" \
              "--operation Describe --operation DescribeConfigs --topic *" \
              "--operation Describe --group *"; do
    # shellcheck disable=SC2086 # word splitting of the fixed argument list is intended
    set -f
    kafka_java org.apache.kafka.tools.AclCommand --bootstrap-server "$bs" --add --force \
      --allow-principal "$p" $args >"$LOG_DIR/kafka-acls.log" 2>&1 \
      || { set +f; fail_with_log "kafka" "$LOG_DIR/kafka-acls.log" "could not add ACL: $args"; }
    set +f
  done
  touch "$marker"
}

kafka_start_node() { # i   (config and storage must exist)
  local i=$1 pidf="$RUN_DIR/kafka-$1.pid" logf="$LOG_DIR/kafka-$1.log" port
  port=$(kafka_broker_port "$i")
  [[ -f $KAFKA_STATE/node$i/server.properties ]] || die "kafka node $i is not configured (run tests/stack/up)"
  if pid_alive "$pidf"; then
    # A node started with an older config (before the SASL_SSL listener or OAUTHBEARER existed):
    # restart it with its new one.
    cmp -s "$KAFKA_STATE/node$i/server.properties" "$RUN_DIR/kafka-$i.properties" && return 0
    log "kafka node $i runs with an older config; restarting it"
    stop_pidfile "$pidf" "kafka node $i" 30
  fi
  if port_open "$port"; then
    die "127.0.0.1:$port is already in use by a process this stack did not start"
  fi
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  echo "==== $(date -u +%FT%TZ) starting kafka node $i" >>"$logf"
  cp -f "$KAFKA_STATE/node$i/server.properties" "$RUN_DIR/kafka-$i.properties"
  # Kafka 4 reads no OAuth URL it is not allowed to: the JWKS file is the only one.
  setsid java -Xmx"$KAFKA_HEAP" -Xms256m -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_STATE/log4j2-broker.xml" \
    -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="file://$KAFKA_OIDC/jwks.json" \
    -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_STATE/node$i/server.properties" \
    </dev/null >>"$logf" 2>&1 &
  echo $! >"$pidf"
}

kafka_wait_node() { # i
  local i=$1 pidf="$RUN_DIR/kafka-$1.pid" logf="$LOG_DIR/kafka-$1.log" port deadline
  port=$(kafka_broker_port "$i")
  deadline=$((SECONDS + START_TIMEOUT))
  while ! port_open "$port" || ! port_open "$(kafka_sasl_port "$i")"; do
    pid_alive "$pidf" || fail_with_log "kafka node $i" "$logf" "broker process exited during startup"
    ((SECONDS < deadline)) || fail_with_log "kafka node $i" "$logf" "not listening on 127.0.0.1:$port after ${START_TIMEOUT}s"
    sleep 0.3
  done
}
