#!/usr/bin/env bash
# The local Quarry stack, native processes on 127.0.0.1 only (no Docker needed).
#
#   scripts/stack.sh up [COMPONENT...]     start what is not running (all by default), in order
#   scripts/stack.sh down [COMPONENT...]   stop what `up` started (all by default), in reverse order
#   scripts/stack.sh status                one line per component
#   scripts/stack.sh env                   print the path of the env file `up` writes
#
# Components, in start order: postgres kafka topics migrate emulator intake consumer
# (topics and migrate are one-shot steps; `down` has nothing to stop for them).
#
# Settings (environment, with defaults):
#   QUARRY_RUN_DIR   <repo>/.run     data, pid files (<name>.pid), logs/<name>.log, env
#   QUARRY_BIN_DIR   <repo>/build    quarry-intake, quarry-consumer, quarry-emulator, quarry
#   (all default ports sit below Linux's ephemeral range, 32768-60999, so an outgoing
#   connection's source port can never take one of them)
#   QUARRY_PG_PORT 15432  QUARRY_KAFKA_PORT 19092  QUARRY_KAFKA_CONTROLLER_PORT 19093
#   QUARRY_EMULATOR_PORT 8090  QUARRY_INTAKE_PORT 8080
#   QUARRY_STACK_TIMEOUT 60 (seconds to wait for a component to get ready; Kafka gets twice that)
#   QUARRY_STOP_TIMEOUT 20  (seconds between SIGTERM and SIGKILL)
# Shared defaults (topics, partitions, group, region, model, emulator keys) come from
# deploy/stack.env, which docker-compose.yml uses too; a variable already set in the caller's
# environment wins over the file.
#
# Bedrock target of the consumer:
#   - real Amazon Bedrock when the caller's environment has AWS credentials (AWS_ACCESS_KEY_ID,
#     AWS_PROFILE or AWS_BEARER_TOKEN_BEDROCK) and QUARRY_BEDROCK_ENDPOINT is unset: the consumer
#     gets the caller's environment as is (region: AWS_REGION, default from deploy/stack.env);
#   - otherwise the local emulator: QUARRY_BEDROCK_ENDPOINT=http://127.0.0.1:$QUARRY_EMULATOR_PORT
#     and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY = the emulator's fake keys from stack.env, with
#     AWS_SESSION_TOKEN, AWS_PROFILE and AWS_BEARER_TOKEN_BEDROCK removed. Setting
#     QUARRY_BEDROCK_ENDPOINT (to anything) therefore forces the emulator, whatever credentials
#     the caller has: tests can rely on it to never reach real Bedrock.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_ENV="$REPO/deploy/stack.env"
COMPONENTS=(postgres kafka topics migrate emulator intake consumer)

say() { printf '%s\n' "$*"; }
warn() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

# --- settings --------------------------------------------------------------------------------

# Reads deploy/stack.env (plain KEY=value lines) and exports each key the caller has not set.
load_stack_env() {
  [[ -f $STACK_ENV ]] || die "missing $STACK_ENV"
  local line key val n=0
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || die "$STACK_ENV:$n: not a KEY=value line: $line"
    key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
    if [[ -z ${!key+set} ]]; then export "$key=$val"; else export "${key?}"; fi
  done <"$STACK_ENV"
}
load_stack_env

abspath() { realpath -m -- "$1"; }
RUN=$(abspath "${QUARRY_RUN_DIR:-$REPO/.run}")
BIN=$(abspath "${QUARRY_BIN_DIR:-$REPO/build}")
LOGS="$RUN/logs"
PG_PORT=${QUARRY_PG_PORT:-15432}
KAFKA_PORT=${QUARRY_KAFKA_PORT:-19092}
CTRL_PORT=${QUARRY_KAFKA_CONTROLLER_PORT:-19093}
EMU_PORT=${QUARRY_EMULATOR_PORT:-8090}
INTAKE_PORT=${QUARRY_INTAKE_PORT:-8080}
START_TIMEOUT=${QUARRY_STACK_TIMEOUT:-60}
STOP_TIMEOUT=${QUARRY_STOP_TIMEOUT:-20}
for v in PG_PORT KAFKA_PORT CTRL_PORT EMU_PORT INTAKE_PORT START_TIMEOUT STOP_TIMEOUT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done

TOPIC=$QUARRY_KAFKA_TOPIC
DLQ_TOPIC=$QUARRY_KAFKA_DLQ_TOPIC
BATCH_TOPIC=$QUARRY_KAFKA_BATCH_TOPIC
PARTITIONS=$QUARRY_KAFKA_PARTITIONS
GROUP=$QUARRY_KAFKA_GROUP

PG_DIR="$RUN/pg"
PG_DATA="$PG_DIR/data"
PG_PASSWORD_FILE="$PG_DIR/password"
KAFKA_DIR="$RUN/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LIBS="$REPO/.cache/kafka/libs"
derive_addresses() {
  KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
  EMULATOR_URL="http://127.0.0.1:$EMU_PORT"
  INTAKE_URL="http://127.0.0.1:$INTAKE_PORT"
}
derive_addresses
ENV_OUT="$RUN/env"
IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1

rel() { local p=$1; [[ $p == "$REPO"/* ]] && p=${p#"$REPO"/}; printf '%s' "$p"; }

# --- processes -------------------------------------------------------------------------------

# alive PID: the process exists and is not a zombie.
alive() {
  local pid=$1 stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# args PID: the process's command line, one argument per line.
args() { tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null || true; }

# is_ours NAME PID: PID is alive and is this stack's NAME process (so a pid file left by a
# reboot, whose number now belongs to something else, is recognised as stale).
is_ours() {
  local name=$1 pid=$2 argv
  alive "$pid" || return 1
  argv=$(args "$pid")
  case $name in
    postgres)
      [[ $(basename -- "$(head -n1 <<<"$argv")") == postgres ]] && grep -qxF -- "$PG_DATA" <<<"$argv" ;;
    kafka)
      grep -qxF kafka.Kafka <<<"$argv" && grep -qxF -- "$KAFKA_DIR/server.properties" <<<"$argv" ;;
    emulator|intake|consumer)
      # Our daemons run with the run folder as working directory (when another user started
      # them, their working directory cannot be read: the name has to do).
      local cwd
      [[ $(basename -- "$(head -n1 <<<"$argv")") == "quarry-$name" ]] || return 1
      cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 0
      [[ $cwd == "$RUN" ]] ;;
    *) return 1 ;;
  esac
}

# running NAME: prints the pid and succeeds when NAME is running; removes a stale pid file.
running() {
  local name=$1 pidfile="$RUN/$1.pid" pid=
  [[ -f $pidfile ]] && pid=$(head -n1 "$pidfile" 2>/dev/null || true)
  if [[ -n $pid ]] && is_ours "$name" "$pid"; then printf '%s' "$pid"; return 0; fi
  rm -f "$pidfile"
  if [[ $name == postgres && -f $PG_DATA/postmaster.pid ]]; then
    # Our pid file is gone but the server may still run: adopt it from PostgreSQL's own lock file.
    pid=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
    if [[ -n $pid ]] && is_ours postgres "$pid"; then
      printf '%s\n' "$pid" >"$pidfile"
      printf '%s' "$pid"
      return 0
    fi
  fi
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

need_free_port() {
  local name=$1 port
  shift
  for port in "$@"; do
    port_open "$port" && die "$name: port 127.0.0.1:$port is already in use by another process (set QUARRY_*_PORT to move it)"
  done
  return 0
}

already_running() { say "$1: already running (pid $2)"; }

# use_running_ports: a component that runs keeps the port it was started with (recorded in
# $RUN/NAME.port), whatever the settings say now, so that the env file and the daemons started
# next get the addresses that really answer.
use_running_ports() {
  local name var was
  for name in postgres:PG_PORT kafka:KAFKA_PORT emulator:EMU_PORT intake:INTAKE_PORT; do
    var=${name#*:} name=${name%%:*}
    if [[ ! -f $RUN/$name.port ]] || ! running "$name" >/dev/null; then continue; fi
    was=$(<"$RUN/$name.port")
    if [[ $was != "${!var}" ]]; then
      warn "$name runs on port $was, not on the configured ${!var}: using $was (scripts/stack.sh down $name to change it)"
      printf -v "$var" '%s' "$was"
    fi
  done
  derive_addresses
}

# launch PIDFILE LOG CMD...: starts CMD detached (own session, stdin from /dev/null, output
# appended to LOG, working directory the run folder) and writes its pid to PIDFILE; the pid is
# the command's own, as it is written by the process itself right before exec.
launch() {
  local pidfile=$1 log=$2 i
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
  (cd "$RUN" && exec setsid bash -c 'echo $$ >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@") \
    </dev/null >>"$log" 2>&1 9>&- &
  for ((i = 0; i < 200; i++)); do
    [[ -s $pidfile ]] && break
    sleep 0.05
  done
  [[ -s $pidfile ]] || die "could not start: $*"
  LAUNCHED=$(<"$pidfile")
}

# log_mark NAME: starts a new section in NAME's log and remembers its offset for log_tail.
declare -A LOG_OFFSET=()
log_mark() {
  local log="$LOGS/$1.log"
  printf '=== stack.sh: starting %s at %s ===\n' "$1" "$(date '+%F %T')" >>"$log"
  LOG_OFFSET[$1]=$(stat -c %s "$log")
}
log_since_mark() { tail -c +"$((${LOG_OFFSET[$1]:-0} + 1))" "$LOGS/$1.log" 2>/dev/null || true; }

# fail_start NAME WHY [PID]: stops PID if given and still alive, prints the end of NAME's log and
# exits non-zero. A failed start leaves neither a process nor a pid file behind.
fail_start() {
  local name=$1 why=$2 pid=${3:-}
  if [[ -n $pid ]] && alive "$pid"; then
    kill -s TERM "$pid" 2>/dev/null || true
    kill_wait "$pid" || { kill -s KILL "$pid" 2>/dev/null || true; kill_wait "$pid" 5 || true; }
  fi
  if [[ -f $RUN/$name.pid ]] && ! alive "$(head -n1 "$RUN/$name.pid")"; then rm -f "$RUN/$name.pid"; fi
  warn "$name: $why; last lines of $(rel "$LOGS/$name.log"):"
  log_since_mark "$name" | tail -n 40 | sed 's/^/    /' >&2
  exit 1
}

# wait_ready NAME PID TIMEOUT CHECK...: waits until CHECK succeeds while PID stays alive.
wait_ready() {
  local name=$1 pid=$2 timeout=$3 deadline
  shift 3
  deadline=$((SECONDS + timeout))
  until "$@"; do
    alive "$pid" || fail_start "$name" "exited during startup"
    ((SECONDS < deadline)) || fail_start "$name" "not ready after ${timeout}s (stopped it)" "$pid"
    sleep 0.2
  done
}

# kill_wait PID [SECONDS]: waits until PID is gone (default STOP_TIMEOUT); fails if it is not.
kill_wait() {
  local pid=$1 deadline=$((SECONDS + ${2:-$STOP_TIMEOUT}))
  while alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# stop NAME [SIGNAL]: stops NAME if it runs: SIGNAL (default TERM), up to STOP_TIMEOUT seconds,
# then SIGKILL. Removes the pid file.
stop() {
  local name=$1 sig=${2:-TERM} pid
  if ! pid=$(running "$name"); then
    say "$name: not running"
    return 0
  fi
  kill -s "$sig" "$pid" 2>/dev/null || true
  if ! kill_wait "$pid"; then
    warn "$name (pid $pid) still running after ${STOP_TIMEOUT}s: SIGKILL"
    kill -s KILL "$pid" 2>/dev/null || true
    kill_wait "$pid" 5 || die "$name (pid $pid) survived SIGKILL"
  fi
  rm -f "$RUN/$name.pid"
  say "$name: stopped (pid $pid)"
}

# --- prerequisites ---------------------------------------------------------------------------

need_bin() {
  local b
  for b in "$@"; do
    if [[ ! -x $BIN/$b ]]; then
      local hint="make"
      [[ $(rel "$BIN") == build/san ]] && hint="make SAN=1 all"
      die "missing $(rel "$BIN")/$b: build the binaries first with \`$hint\` (or set QUARRY_BIN_DIR)"
    fi
  done
}

PG_BIN=
find_pg_bin() {
  [[ -n $PG_BIN ]] && return 0
  local want='' d
  [[ -f $PG_DATA/PG_VERSION ]] && want=$(<"$PG_DATA/PG_VERSION")
  if [[ -n ${QUARRY_PG_BIN:-} ]]; then
    PG_BIN=$QUARRY_PG_BIN
  elif [[ -n $want && -x /usr/lib/postgresql/$want/bin/postgres ]]; then
    PG_BIN=/usr/lib/postgresql/$want/bin   # the version the cluster was created with
  else
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
      [[ -x $d/postgres && -x $d/initdb ]] && { PG_BIN=$d; break; }
    done
    if [[ -z $PG_BIN ]] && command -v initdb >/dev/null 2>&1; then
      PG_BIN=$(dirname "$(command -v initdb)")
    fi
  fi
  [[ -n $PG_BIN && -x $PG_BIN/postgres && -x $PG_BIN/initdb ]] ||
    die "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH): run scripts/deps.sh, or set QUARRY_PG_BIN"
}

need_kafka_jars() {
  if ! compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
    say "kafka: jars missing in $(rel "$KAFKA_LIBS"): running scripts/deps.sh kafka"
    "$REPO/scripts/deps.sh" kafka
  fi
  command -v java >/dev/null 2>&1 || die "java not found: run scripts/deps.sh (installs default-jre-headless)"
}

# --- postgres --------------------------------------------------------------------------------

# as_pg CMD...: runs CMD as the owner of the cluster (PostgreSQL refuses to run as root).
as_pg() {
  if ((IS_ROOT)); then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_password() { cat "$PG_PASSWORD_FILE"; }
database_url() { printf 'postgresql://quarry:%s@127.0.0.1:%s/quarry' "$(pg_password)" "$PG_PORT"; }

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres >/dev/null 2>&1; }

up_postgres() {
  local pid
  if pid=$(running postgres); then already_running postgres "$pid"; return 0; fi
  find_pg_bin
  need_free_port postgres "$PG_PORT"
  local sock="$PG_DIR/.s.PGSQL.$PG_PORT"
  ((${#sock} < 100)) || die "postgres: unix socket path too long (${#sock} chars): $sock; use a shorter QUARRY_RUN_DIR"
  mkdir -p "$PG_DIR"
  chmod 700 "$PG_DIR"
  if ((IS_ROOT)); then
    id postgres >/dev/null 2>&1 || die "postgres: no 'postgres' system user (install the postgresql package: scripts/deps.sh)"
    chown postgres:postgres "$PG_DIR"
    [[ ! -d $PG_DATA ]] || chown -R postgres:postgres "$PG_DATA"
    runuser -u postgres -- test -w "$PG_DIR" ||
      die "postgres: user 'postgres' cannot reach $PG_DIR (a parent folder is not traversable, e.g. under /root); set QUARRY_RUN_DIR to a folder it can reach"
  fi
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    say "postgres: creating cluster in $(rel "$PG_DATA")"
    rm -rf "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" --auth-local=peer --auth-host=scram-sha-256 \
      --encoding=UTF8 --no-locale --no-instructions >>"$LOGS/postgres.log" 2>&1 ||
      { tail -n 20 "$LOGS/postgres.log" >&2; die "postgres: initdb failed"; }
  fi
  if [[ ! -f $PG_PASSWORD_FILE ]]; then
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$PG_PASSWORD_FILE.tmp")
    mv -f "$PG_PASSWORD_FILE.tmp" "$PG_PASSWORD_FILE"
  fi
  chmod 600 "$PG_PASSWORD_FILE"
  # A lock file left by a crash or a reboot: PostgreSQL refuses to start if its pid now names
  # some other live process. `running` above has established it is not our server.
  rm -f "$PG_DATA/postmaster.pid"

  log_mark postgres
  local t0=$SECONDS
  local -a as_owner=()
  ((IS_ROOT)) && as_owner=(runuser -u postgres --)
  launch "$PG_DIR/launcher.pid" "$LOGS/postgres.log" "${as_owner[@]}" \
    "$PG_BIN/postgres" -D "$PG_DATA" \
    -c listen_addresses=127.0.0.1 -c port="$PG_PORT" -c unix_socket_directories="$PG_DIR" \
    -c shared_buffers=256MB -c max_connections=200 -c fsync=on \
    -c logging_collector=off -c log_line_prefix='%m [%p] %q%u@%d ' -c log_timezone=UTC
  local launcher=$LAUNCHED
  rm -f "$PG_DIR/launcher.pid"
  wait_ready postgres "$launcher" "$START_TIMEOUT" pg_ready
  pid=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
  is_ours postgres "$pid" || fail_start postgres "cannot find the server's pid in postmaster.pid"
  printf '%s\n' "$pid" >"$RUN/postgres.pid"

  # Role and database, idempotently; the password file is the single source of the password.
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -d postgres \
    >>"$LOGS/postgres.log" 2>&1 <<SQL || fail_start postgres "creating role/database quarry failed"
\\set pw '$(pg_password)'
SELECT format('CREATE ROLE quarry LOGIN PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'quarry') \\gexec
SELECT format('ALTER ROLE quarry LOGIN PASSWORD %L', :'pw') \\gexec
SELECT 'CREATE DATABASE quarry OWNER quarry'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'quarry') \\gexec
SQL
  printf '%s\n' "$PG_PORT" >"$RUN/postgres.port"
  say "postgres: started (pid $pid) on 127.0.0.1:$PG_PORT in $((SECONDS - t0))s"
}

# --- kafka -----------------------------------------------------------------------------------

kafka_java() {
  # One JVM per call; the tools print only warnings.
  java -Xms64m -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" -cp "$KAFKA_LIBS/*" "$@" 9>&-
}

write_kafka_config() {
  mkdir -p "$KAFKA_DATA"
  cat >"$KAFKA_DIR/server.properties.tmp" <<EOF
# Written by scripts/stack.sh on every start: edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CTRL_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CTRL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=$PARTITIONS
auto.create.topics.enable=false
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# After an unclean stop the restarted broker waits for its old registration to expire: keep short.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
num.network.threads=2
num.io.threads=4
log.retention.hours=168
EOF
  mv -f "$KAFKA_DIR/server.properties.tmp" "$KAFKA_DIR/server.properties"
  cat >"$KAFKA_DIR/log4j.properties" <<'EOF'
# Broker logging (reload4j): everything to stdout, which stack.sh appends to logs/kafka.log.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.kafka.server.KafkaConfig=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
  cat >"$KAFKA_DIR/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
EOF
}

kafka_cluster_id() { sed -n 's/^cluster\.id=//p' "$KAFKA_DATA/meta.properties" 2>/dev/null; }

kafka_started_since_mark() { log_since_mark kafka | grep -q 'Kafka Server started'; }
kafka_ready() { port_open "$KAFKA_PORT" && kafka_started_since_mark; }

up_kafka() {
  local pid
  if pid=$(running kafka); then already_running kafka "$pid"; return 0; fi
  need_kafka_jars
  need_free_port kafka "$KAFKA_PORT" "$CTRL_PORT"
  write_kafka_config
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    local uuid
    uuid=$(kafka_java kafka.tools.StorageTool random-uuid) || die "kafka: StorageTool random-uuid failed"
    say "kafka: formatting storage in $(rel "$KAFKA_DATA") (cluster id $uuid)"
    kafka_java kafka.tools.StorageTool format -t "$uuid" -c "$KAFKA_DIR/server.properties" \
      >>"$LOGS/kafka.log" 2>&1 || { tail -n 20 "$LOGS/kafka.log" >&2; die "kafka: storage format failed"; }
  fi
  log_mark kafka
  local t0=$SECONDS
  launch "$RUN/kafka.pid" "$LOGS/kafka.log" \
    java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dkafka.logs.dir="$LOGS" \
    -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties"
  pid=$LAUNCHED
  wait_ready kafka "$pid" "$((START_TIMEOUT * 2))" kafka_ready
  printf '%s\n' "$KAFKA_PORT" >"$RUN/kafka.port"
  say "kafka: started (pid $pid) on $KAFKA_BROKERS in $((SECONDS - t0))s"
}

# --- topics ----------------------------------------------------------------------------------

up_topics() {
  running kafka >/dev/null || die "topics: kafka is not running (scripts/stack.sh up kafka)"
  # Creating topics costs a JVM start each: skip when this Kafka data dir already has them.
  local marker="$KAFKA_DIR/topics.created" want t
  want="$(kafka_cluster_id) $TOPIC $DLQ_TOPIC $BATCH_TOPIC $PARTITIONS"
  if [[ -f $marker && $(<"$marker") == "$want" ]]; then
    say "topics: $TOPIC, $DLQ_TOPIC, $BATCH_TOPIC already created"
    return 0
  fi
  for t in "$TOPIC" "$DLQ_TOPIC" "$BATCH_TOPIC"; do
    kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BROKERS" \
      --create --if-not-exists --topic "$t" --partitions "$PARTITIONS" --replication-factor 1 \
      >>"$LOGS/topics.log" 2>&1 || { tail -n 20 "$LOGS/topics.log" >&2; die "topics: creating $t failed"; }
  done
  printf '%s\n' "$want" >"$marker"
  say "topics: $TOPIC, $DLQ_TOPIC, $BATCH_TOPIC ($PARTITIONS partitions) created"
}

# --- migrate ---------------------------------------------------------------------------------

up_migrate() {
  need_bin quarry
  running postgres >/dev/null || die "migrate: postgres is not running (scripts/stack.sh up postgres)"
  log_mark migrate
  local out
  if ! out=$(QUARRY_DATABASE_URL=$(database_url) "$BIN/quarry" migrate --dir "$REPO/migrations" \
      </dev/null 2>&1 9>&-); then
    printf '%s\n' "$out" >>"$LOGS/migrate.log"
    fail_start migrate "quarry migrate failed"
  fi
  printf '%s\n' "$out" >>"$LOGS/migrate.log"
  date '+%F %T' >"$RUN/migrate.done"
  # quarry migrate prints "applied NNNN_x.sql" per migration, or "database is up to date"
  while IFS= read -r line; do say "migrate: $line"; done <<<"$out"
}

# --- daemons ---------------------------------------------------------------------------------

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }
emulator_ready() { http_ok "$EMULATOR_URL/_emulator/health"; }
intake_ready() { http_ok "$INTAKE_URL/healthz"; }

# The Bedrock target rule (see the header of this file).
bedrock_mode() {
  if [[ -z ${QUARRY_BEDROCK_ENDPOINT:-} ]] &&
     [[ -n ${AWS_ACCESS_KEY_ID:-} || -n ${AWS_PROFILE:-} || -n ${AWS_BEARER_TOKEN_BEDROCK:-} ]]; then
    echo bedrock
  else
    echo emulator
  fi
}

warn_unless_running() {
  local who=$1 c
  shift
  for c in "$@"; do
    running "$c" >/dev/null || warn "$who: $c is not running; $who will wait for it or fail (scripts/stack.sh up $c)"
  done
}

# start_daemon NAME READY_CHECK ENV... : starts $BIN/quarry-NAME with ENV (env(1) arguments).
start_daemon() {
  local name=$1 check=$2 pid t0=$SECONDS
  shift 2
  log_mark "$name"
  launch "$RUN/$name.pid" "$LOGS/$name.log" env "$@" "$BIN/quarry-$name"
  pid=$LAUNCHED
  if [[ -n $check ]]; then
    wait_ready "$name" "$pid" "$START_TIMEOUT" "$check"
  else
    # No readiness endpoint: make sure it did not exit right away (bad config, no broker...).
    sleep 1.5
    alive "$pid" || fail_start "$name" "exited right after start"
  fi
  STARTED_IN=$((SECONDS - t0))
  STARTED_PID=$pid
}

up_emulator() {
  local pid
  if pid=$(running emulator); then already_running emulator "$pid"; return 0; fi
  need_bin quarry-emulator
  need_free_port emulator "$EMU_PORT"
  start_daemon emulator emulator_ready QUARRY_EMULATOR_LISTEN="127.0.0.1:$EMU_PORT"
  printf '%s\n' "$EMU_PORT" >"$RUN/emulator.port"
  say "emulator: started (pid $STARTED_PID) on $EMULATOR_URL in ${STARTED_IN}s"
}

up_intake() {
  local pid
  if pid=$(running intake); then already_running intake "$pid"; return 0; fi
  need_bin quarry-intake
  need_free_port intake "$INTAKE_PORT"
  [[ -f $PG_PASSWORD_FILE ]] || die "intake: no database yet (scripts/stack.sh up postgres migrate)"
  warn_unless_running intake postgres kafka
  start_daemon intake intake_ready \
    QUARRY_INTAKE_LISTEN="127.0.0.1:$INTAKE_PORT" \
    QUARRY_DATABASE_URL="$(database_url)" \
    QUARRY_KAFKA_BROKERS="$KAFKA_BROKERS"
  printf '%s\n' "$INTAKE_PORT" >"$RUN/intake.port"
  say "intake: started (pid $STARTED_PID) on $INTAKE_URL in ${STARTED_IN}s"
}

up_consumer() {
  local pid mode
  if pid=$(running consumer); then already_running consumer "$pid"; return 0; fi
  need_bin quarry-consumer
  [[ -f $PG_PASSWORD_FILE ]] || die "consumer: no database yet (scripts/stack.sh up postgres migrate)"
  warn_unless_running consumer postgres kafka
  local -a envs=(
    QUARRY_DATABASE_URL="$(database_url)"
    QUARRY_KAFKA_BROKERS="$KAFKA_BROKERS"
    QUARRY_KAFKA_TOPIC="$TOPIC"
    QUARRY_KAFKA_GROUP="$GROUP"
  )
  mode=$(bedrock_mode)
  if [[ $mode == emulator ]]; then
    running emulator >/dev/null || warn "consumer: the emulator is not running (scripts/stack.sh up emulator)"
    envs=(-u AWS_SESSION_TOKEN -u AWS_PROFILE -u AWS_BEARER_TOKEN_BEDROCK "${envs[@]}"
      QUARRY_BEDROCK_ENDPOINT="$EMULATOR_URL"
      AWS_ACCESS_KEY_ID="$QUARRY_EMULATOR_ACCESS_KEY_ID"
      AWS_SECRET_ACCESS_KEY="$QUARRY_EMULATOR_SECRET_ACCESS_KEY")
  fi
  start_daemon consumer "" "${envs[@]}"
  printf '%s\n' "$mode" >"$RUN/consumer.target"
  say "consumer: started (pid $STARTED_PID) -> $(target_desc "$mode") in ${STARTED_IN}s"
}

target_desc() {
  if [[ $1 == emulator ]]; then
    printf 'emulator %s' "$EMULATOR_URL"
  else
    printf 'Amazon Bedrock (%s, your AWS credentials)' "$AWS_REGION"
  fi
}

# --- env file, status ------------------------------------------------------------------------

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

write_env() {
  local tmp="$ENV_OUT.tmp"
  {
    say "# Written by scripts/stack.sh up: the addresses of the local Quarry stack in $(rel "$RUN")."
    say "# Use: source $(q "$ENV_OUT")"
    say "export QUARRY_RUN_DIR=$(q "$RUN")"
    [[ -f $PG_PASSWORD_FILE ]] && say "export QUARRY_DATABASE_URL=$(q "$(database_url)")"
    say "export QUARRY_KAFKA_BROKERS=$(q "$KAFKA_BROKERS")"
    say "export QUARRY_KAFKA_TOPIC=$(q "$TOPIC")"
    say "export QUARRY_KAFKA_DLQ_TOPIC=$(q "$DLQ_TOPIC")"
    say "export QUARRY_KAFKA_BATCH_TOPIC=$(q "$BATCH_TOPIC")"
    say "export QUARRY_KAFKA_GROUP=$(q "$GROUP")"
    say "export QUARRY_URL=$(q "$INTAKE_URL")"
    say "export QUARRY_EMULATOR_URL=$(q "$EMULATOR_URL")"
    say "export QUARRY_DEFAULT_MODEL=$(q "$QUARRY_DEFAULT_MODEL")"
    if [[ $(bedrock_mode) == emulator ]]; then
      say "# Emulator mode: these point any AWS SDK or CLI at the local emulator, with its fake keys"
      say "# (sourcing this file replaces the AWS credentials of your shell)."
      say "export QUARRY_BEDROCK_ENDPOINT=$(q "$EMULATOR_URL")"
      say "export AWS_ACCESS_KEY_ID=$(q "$QUARRY_EMULATOR_ACCESS_KEY_ID")"
      say "export AWS_SECRET_ACCESS_KEY=$(q "$QUARRY_EMULATOR_SECRET_ACCESS_KEY")"
      say "export AWS_REGION=$(q "$AWS_REGION")"
      say "unset AWS_SESSION_TOKEN AWS_PROFILE AWS_BEARER_TOKEN_BEDROCK"
    else
      say "# Real Amazon Bedrock: the consumer uses your own AWS credentials."
      say "export AWS_REGION=$(q "$AWS_REGION")"
    fi
  } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$ENV_OUT"
}

status_line() {
  local c=$1 pid where='' port=''
  # The port a component was started with (it may differ from the current settings).
  port=$(cat "$RUN/$c.port" 2>/dev/null || true)
  case $c in
    postgres) where="127.0.0.1:${port:-$PG_PORT} db quarry" ;;
    kafka) where="127.0.0.1:${port:-$KAFKA_PORT}" ;;
    emulator) where="http://127.0.0.1:${port:-$EMU_PORT}" ;;
    intake) where="http://127.0.0.1:${port:-$INTAKE_PORT}" ;;
    consumer)
      local mode
      mode=$(cat "$RUN/consumer.target" 2>/dev/null || bedrock_mode)
      where="-> $(target_desc "$mode")" ;;
  esac
  case $c in
    topics)
      local marker="$KAFKA_DIR/topics.created"
      if [[ -f $marker && $(<"$marker") == "$(kafka_cluster_id) $TOPIC $DLQ_TOPIC $BATCH_TOPIC $PARTITIONS" ]]; then
        printf '  %-9s created   %s, %s, %s (%s partitions)\n' topics "$TOPIC" "$DLQ_TOPIC" "$BATCH_TOPIC" "$PARTITIONS"
      else
        printf '  %-9s pending\n' topics
      fi ;;
    migrate)
      if [[ -f $RUN/migrate.done ]]; then
        printf '  %-9s done      last run %s\n' migrate "$(<"$RUN/migrate.done")"
      else
        printf '  %-9s pending\n' migrate
      fi ;;
    *)
      if pid=$(running "$c"); then
        printf '  %-9s running   (pid %s) %s\n' "$c" "$pid" "$where"
      else
        printf '  %-9s stopped\n' "$c"
      fi ;;
  esac
}

cmd_status() {
  say "Quarry stack in $(rel "$RUN") (binaries from $(rel "$BIN")):"
  local c
  for c in "${COMPONENTS[@]}"; do status_line "$c"; done
}

# --- commands --------------------------------------------------------------------------------

# select_components forward|reverse ARGS...: sets SELECTED to the named components (all when
# none is named) in stack order or its reverse.
select_components() {
  local order=$1 c a ok i
  shift
  for a in "$@"; do
    ok=
    for c in "${COMPONENTS[@]}"; do [[ $a == "$c" ]] && ok=1; done
    [[ -n $ok ]] || die "unknown component '$a' (components: ${COMPONENTS[*]})"
  done
  local -a list=()
  for c in "${COMPONENTS[@]}"; do
    if (($# == 0)); then list+=("$c"); continue; fi
    for a in "$@"; do [[ $a == "$c" ]] && { list+=("$c"); break; }; done
  done
  SELECTED=()
  if [[ $order == reverse ]]; then
    for ((i = ${#list[@]} - 1; i >= 0; i--)); do SELECTED+=("${list[i]}"); done
  else
    SELECTED=("${list[@]}")
  fi
}

lock() {
  mkdir -p "$RUN" "$LOGS"
  exec 9>"$RUN/.lock"
  flock 9 || die "cannot lock $RUN/.lock"
}

cmd_up() {
  select_components forward "$@"
  local -a sel=("${SELECTED[@]}")
  lock
  use_running_ports
  # Check the prerequisites of everything that has to be started before starting anything.
  local c
  for c in "${sel[@]}"; do
    case $c in
      postgres|kafka|emulator|intake|consumer) running "$c" >/dev/null && continue ;;
    esac
    case $c in
      postgres) find_pg_bin ;;
      kafka) need_kafka_jars ;;
      migrate) need_bin quarry ;;
      emulator|intake|consumer) need_bin "quarry-$c" ;;
    esac
  done
  for c in "${sel[@]}"; do
    "up_$c"
    [[ $c != postgres ]] || write_env   # usable as soon as the database is, even if a later step fails
  done
  write_env
  say ""
  cmd_status
  say "  logs: $(rel "$LOGS")/   env: source $(rel "$ENV_OUT")"
}

cmd_down() {
  select_components reverse "$@"
  local -a sel=("${SELECTED[@]}")
  lock
  local c
  for c in "${sel[@]}"; do
    case $c in
      topics|migrate) ;;
      # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") would wait for every client.
      postgres) stop postgres INT ;;
      *) stop "$c" TERM ;;
    esac
  done
}

usage() { sed -n '2,/^[^#]/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status ;;
  env) echo "$ENV_OUT" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
