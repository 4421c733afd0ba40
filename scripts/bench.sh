#!/usr/bin/env bash
# Runs the benchmarks of BENCHMARKS.md: every scenario against the raw tokio
# baseline, the chat server (release build) on real Apache Kafka
# (scripts/kafka.sh) and on embedded Kafka, and Centrifugo v6 (installed
# once into .bench-tools/, configured by bench/centrifugo/config.yaml), one
# after the other. Each run is one fresh server process, so memory per
# connection is measured from a clean start. JSON reports go to
# bench/results/<scenario>.<target>.json; then scripts/bench-report.py
# prints the tables and draws the latency chart.
set -euo pipefail

SCRIPT_NAME=bench.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: scripts/bench.sh [-h] [scenario...]

  Scenarios (default: all, in this order; about 60 minutes):
    latency   100 clients, 1 room, 50 msg/s for 30 s
    latency-busy  the same at 500 msg/s: does the broker's round trip shrink once it is
              busy? Not in the default list.
    fanout    2,000 clients, 1 room, 200 msg/s for 60 s (400,000 deliveries/s)
    rooms     10,000 clients, 200 rooms of 50, 2,000 msg/s for 30 s
    rooms-half  the same rooms at 1,000 msg/s (50,000 deliveries/s)
    idle      19,700 clients, 100 rooms, no messages, held 30 s (2 heartbeats)
    idle-limit  20,500 clients from 2 bench processes: past the server's limit
              (not the baseline: it has no limit, and stops accepting at its open-file limit)
    connect   19,000 connections as fast as they are taken, at most 256 under way at once:
              connections/s, and how many were refused below the servers' limits
    sweep     fan-out at 25..300 msg/s (50,000..600,000 deliveries/s), for the chart
    linger    latency and rooms on real Kafka with the producer's linger.ms at 0 and 5
    variance  fan-out on real Kafka three more times (30 s each): how much runs differ
    crowd     100,000 clients over 6 instances sharing one port (CHAT_REUSE_PORT), on the
              broker, from 6 load processes, in one room: held idle 30 s, then 2 msg/s for 20 s
              (200,000 deliveries/s). Not in the default list: it takes most of the machine.
    storm     reconnect storm, three runs: 10,000 clients in 100 rooms, 200 messages
              behind each, all resume at once after the server restarts (goal: all
              recovered exactly once within 5 s, none evicted, <= 1 Kafka read a room).
              About 5 minutes. Against real Kafka, and against the baseline (in
              memory, not restarted) for what the connects and replays alone cost.
              Not embedded: its log lives in the server process, so a restarted
              server starts an empty log under a new epoch and nothing can be resumed.
              Against Centrifugo twice: restarted (its memory engine keeps nothing, so
              this shows what its clients get back: recovered: false) and, as
              "centrifugo-warm", not restarted, like the baseline.

  Targets, one fresh process each run: baseline (anime-chat-bench --baseline), kafka
  (the chat server on the broker), embedded (the chat server on librdkafka's mock
  cluster), centrifugo (Centrifugo v6.9.1, memory engine, bench/centrifugo/config.yaml).

  Needs: cargo, a JDK 17 and Maven (for Kafka), python3 (for the chart), Go 1.26 or newer
  (for Centrifugo v6.9.1; when there is none, any go, or Debian's golang-go installed for
  the purpose, downloads Go's toolchain module from the Go module proxy).
  Environment: BENCH_PORT (server, default 8003; the storm's writer instance
  uses BENCH_PORT + 1), BASELINE_PORT (8140), CENTRIFUGO_PORT (8200; its storm
  writer CENTRIFUGO_PORT + 1), KAFKA_PORT (9092), BENCH_OUT (default
  bench/results), STORM_RUNS (3), BENCH_BIN (a directory holding anime-chat and
  anime-chat-bench to run instead of building target/release: a copy stays the
  same while a shared target directory is rebuilt), BENCH_TARGETS (only these
  targets, e.g. "centrifugo kafka"), BENCH_SMOKE=1 (every run with a tenth of
  the clients and of the rate, at most 3 s, one storm: checks the script and
  the targets on a busy machine; never figures for BENCHMARKS.md).
USAGE
}

BENCH_PORT="${BENCH_PORT:-8003}"
BASELINE_PORT="${BASELINE_PORT:-8140}"
CENTRIFUGO_PORT="${CENTRIFUGO_PORT:-8200}"
OUT="$(abs_path "${BENCH_OUT:-$REPO_ROOT/bench/results}")"
BIN="$(abs_path "${BENCH_BIN:-$REPO_ROOT/target/release}")"
SERVER_PID=""
URL=""
# The protocol the load tool speaks to the running target (chat or centrifugo).
PROTOCOL=chat
ALL_TARGETS=(baseline kafka embedded centrifugo)

# Centrifugo, built from source with `go install` into a git-ignored folder, with its Go
# module and build caches beside it: nothing outside .bench-tools/.
CENTRIFUGO_VERSION=6.9.1
TOOLS="$REPO_ROOT/.bench-tools"
CENTRIFUGO="$TOOLS/bin/centrifugo"
CENTRIFUGO_CONFIG="$REPO_ROOT/bench/centrifugo/config.yaml"
# Centrifugo v6.9.1's go.mod says `go 1.26`; this toolchain is fetched when no Go that new
# is installed.
GO_MIN=1.26
GO_TOOLCHAIN=go1.26.8

# Arguments of anime-chat-bench per scenario (the URL and output are added per run).
declare -A SCENARIO_ARGS=(
  [latency]="--clients 100 --rooms 1 --rate 50 --duration 30"
  [latency-busy]="--clients 100 --rooms 1 --rate 500 --duration 30"
  [fanout]="--clients 2000 --rooms 1 --rate 200 --duration 60 --connect-rate 1000"
  [rooms]="--clients 10000 --rooms 200 --rate 2000 --duration 30 --connect-rate 1000 --source-ips 128"
  [rooms-half]="--clients 10000 --rooms 200 --rate 1000 --duration 30 --connect-rate 1000 --source-ips 128"
  [idle]="--clients 19700 --rooms 100 --rate 0 --duration 30 --drain 0 --connect-rate 1000 --source-ips 128"
  [idle-limit]="--clients 20500 --rooms 100 --rate 0 --duration 10 --drain 0 --connect-rate 1000 --source-ips 128 --processes 2"
  [connect]="--clients 19000 --rooms 100 --rate 0 --duration 0 --drain 0 --connect-concurrency 256 --source-ips 128"
  [storm]="--clients 10000 --rooms 100 --behind 200 --connect-rate 1000 --source-ips 128 --goal-seconds 5"
)
# Which servers each scenario runs against.
declare -A SCENARIO_TARGETS=(
  [latency]="baseline kafka embedded centrifugo"
  [latency-busy]="baseline kafka embedded centrifugo"
  [fanout]="baseline kafka embedded centrifugo"
  [rooms]="baseline kafka embedded centrifugo"
  [rooms-half]="baseline kafka embedded centrifugo"
  [idle]="baseline kafka embedded centrifugo"
  [idle-limit]="kafka embedded centrifugo"
  [connect]="baseline kafka embedded centrifugo"
  [sweep]="baseline kafka embedded centrifugo"
  [storm]="baseline kafka centrifugo centrifugo-warm"
)
STORM_RUNS="${STORM_RUNS:-3}"
[[ -z "${BENCH_SMOKE:-}" ]] || STORM_RUNS=1
SWEEP_RATES=(25 50 100 150 200 250 300)
# One room of 2,000: the fan-out scenario's shape, which the sweep and variance runs share.
ONE_ROOM="--clients 2000 --rooms 1 --connect-rate 1000"

# scaled <args...>: the arguments as given, or with BENCH_SMOKE a tenth of the clients and
# of the rate (the same rate per client) and at most 3 s.
scaled() {
  if [[ -z "${BENCH_SMOKE:-}" ]]; then
    printf '%s\n' "$*"
    return
  fi
  local out=()
  while (($#)); do
    case "$1" in
      --clients | --rate) out+=("$1" "$((($2 + 9) / 10))") && shift ;;
      --duration) out+=("$1" "$(($2 < 3 ? $2 : 3))") && shift ;;
      *) out+=("$1") ;;
    esac
    shift
  done
  printf '%s\n' "${out[*]}"
}

# The targets of a scenario, less those BENCH_TARGETS leaves out.
targets_of() {
  local target
  for target in ${SCENARIO_TARGETS[$1]}; do
    [[ -z "${BENCH_TARGETS:-}" || " $BENCH_TARGETS " == *" ${target%-warm} "* ]] && printf '%s\n' "$target"
  done
}

wants_target() {
  [[ -z "${BENCH_TARGETS:-}" || " $BENCH_TARGETS " == *" $1 "* ]]
}

# go_ok <go>: true when that go is at least GO_MIN.
go_ok() {
  local version
  version="$("$1" env GOVERSION 2>/dev/null)" || return 1
  version="${version#go}"
  [[ "$(printf '%s\n' "$GO_MIN" "$version" | sort -V | head -n 1)" == "$GO_MIN" ]]
}

# Prints a go that can build Centrifugo: an installed one if it is new enough; else the
# toolchain GO_TOOLCHAIN, which is a module on the Go module proxy (golang.org/toolchain,
# what GOTOOLCHAIN switches to), downloaded once into .bench-tools/ by whatever go there
# is: an older installed one, or Debian's golang-go (1.19 in bookworm, 1.24 in trixie: too
# old to build Centrifugo, new enough to download a module).
find_go() {
  local go arch toolchain
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) die "no Go toolchain module for $(uname -m); install Go $GO_MIN or newer" ;;
  esac
  toolchain="$TOOLS/go/pkg/mod/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-$arch"
  for go in "$(command -v go || true)" /usr/local/go/bin/go "$toolchain/bin/go"; do
    if [[ -n "$go" && -x "$go" ]] && go_ok "$go"; then
      printf '%s\n' "$go"
      return
    fi
  done
  go="$(command -v go || true)"
  [[ -n "$go" ]] || go=/usr/local/go/bin/go
  if [[ ! -x "$go" ]]; then
    say "no go here: installing Debian's golang-go, to download Go $GO_TOOLCHAIN with"
    ((EUID == 0)) || die "go not found; install it with: apt-get install -y golang-go"
    apt-get install -y -q golang-go >&2 || { apt-get update -q >&2 && apt-get install -y -q golang-go >&2; }
    go=/usr/bin/go
  fi
  say "$("$go" version) is older than Go $GO_MIN: downloading $GO_TOOLCHAIN from the Go module proxy (once)"
  GOPATH="$TOOLS/go" GOFLAGS="-modcacherw" GOTOOLCHAIN=local \
    "$go" mod download "golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-$arch" >&2
  # The module cache keeps no file modes; the go command itself restores them when it
  # switches toolchains, and so does this.
  chmod +x "$toolchain/bin/"* "$toolchain/pkg/tool/linux_$arch/"*
  go_ok "$toolchain/bin/go" || die "the downloaded $GO_TOOLCHAIN does not run"
  printf '%s\n' "$toolchain/bin/go"
}

# Installs Centrifugo CENTRIFUGO_VERSION into .bench-tools/bin, once: `go install` of the
# release tag, with the version stamped in as its release builds do.
ensure_centrifugo() {
  if [[ -x "$CENTRIFUGO" ]] && "$CENTRIFUGO" version 2>/dev/null | grep -q "v$CENTRIFUGO_VERSION "; then
    return 0
  fi
  local go
  go="$(find_go)"
  say "installing Centrifugo v$CENTRIFUGO_VERSION with $("$go" env GOVERSION) into $TOOLS/bin (once; a few minutes)"
  GOBIN="$TOOLS/bin" GOPATH="$TOOLS/go" GOCACHE="$TOOLS/go-cache" GOTOOLCHAIN=local GOFLAGS="-modcacherw" \
    "$go" install -ldflags "-X github.com/centrifugal/centrifugo/v6/internal/build.Version=$CENTRIFUGO_VERSION" \
    "github.com/centrifugal/centrifugo/v6@v$CENTRIFUGO_VERSION"
  "$CENTRIFUGO" version | grep -q "v$CENTRIFUGO_VERSION " || die "$CENTRIFUGO is not v$CENTRIFUGO_VERSION"
  "$CENTRIFUGO" checkconfig -c "$CENTRIFUGO_CONFIG" || die "Centrifugo refuses $CENTRIFUGO_CONFIG"
}

# Stops the running target: SERVER_PID holds one PID, or several (the crowd's instances).
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  local pid
  # shellcheck disable=SC2086 # one PID a word
  kill $SERVER_PID 2>/dev/null || true
  for pid in $SERVER_PID; do
    wait "$pid" 2>/dev/null || true
  done
  SERVER_PID=""
  URL=""
}

wait_for_port() {
  local port=$1 i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.2
  done
  die "nothing listens on 127.0.0.1:$port"
}

# wait_for_http <url> <what>: until the URL answers 200 (the server's readiness endpoint).
wait_for_http() {
  local i
  for i in $(seq 150); do
    curl -sf "$1" >/dev/null && return 0
    sleep 0.2
  done
  die "$2 did not become ready (see $OUT/server.log)"
}

# The environment Centrifugo runs with: the port, and the connection limit the chat server
# gives itself (its open-file limit minus 256), so both refuse past the same count.
centrifugo_env() {
  printf '%s\n' "CENTRIFUGO_HTTP_SERVER_PORT=$CENTRIFUGO_PORT" "CENTRIFUGO_CLIENT_CONNECTION_LIMIT=$SERVER_LIMIT"
}

# Starts one target in the background: sets SERVER_PID and URL (its WebSocket endpoint).
start_target() {
  local target=$1 topic=$2
  case "$target" in
    baseline)
      # shellcheck disable=SC2086 # BASELINE_ARGS is a list of options
      "$BIN/anime-chat-bench" --baseline --listen "127.0.0.1:$BASELINE_PORT" ${BASELINE_ARGS:-} >>"$OUT/server.log" 2>&1 &
      SERVER_PID=$!
      wait_for_port "$BASELINE_PORT"
      URL="ws://127.0.0.1:$BASELINE_PORT/ws/chat"
      PROTOCOL=chat
      return
      ;;
    centrifugo)
      local log_size
      log_size="$(stat -c %s "$OUT/server.log")"
      # shellcheck disable=SC2046 # one NAME=value a line
      env $(centrifugo_env) "$CENTRIFUGO" -c "$CENTRIFUGO_CONFIG" >>"$OUT/server.log" 2>&1 &
      SERVER_PID=$!
      wait_for_http "http://127.0.0.1:$CENTRIFUGO_PORT/health" Centrifugo
      # Centrifugo warns about keys it does not know rather than refusing them.
      if tail -c +"$((log_size + 1))" "$OUT/server.log" | grep -q 'unknown key'; then
        die "Centrifugo does not know a key of $CENTRIFUGO_CONFIG (see $OUT/server.log)"
      fi
      URL="ws://127.0.0.1:$CENTRIFUGO_PORT/connection/websocket"
      PROTOCOL=centrifugo
      return
      ;;
    kafka) local bootstrap="$KAFKA_BOOTSTRAP" ;;
    embedded) local bootstrap="" ;;
    *) die "unknown target $target" ;;
  esac
  # The default configuration, on a fresh topic; warnings only, so logging costs nothing.
  env ${BENCH_CONFIG:+CHAT_CONFIG="$BENCH_CONFIG"} KAFKA_BOOTSTRAP_SERVERS="$bootstrap" CHAT_ADDR="127.0.0.1:$BENCH_PORT" \
    CHAT_TOPIC="$topic" RUST_LOG=warn "$BIN/anime-chat" >>"$OUT/server.log" 2>&1 &
  SERVER_PID=$!
  wait_for_http "http://127.0.0.1:$BENCH_PORT/ready" "the chat server"
  URL="ws://127.0.0.1:$BENCH_PORT/ws/chat"
  PROTOCOL=chat
}

# run <name> <target> <bench args...>: one server process, one load run, one JSON.
run() {
  local name=$1 target=$2
  shift 2
  start_target "$target" "bench-$name-$(date +%s)"
  say "$name against $target: anime-chat-bench $*"
  "$BIN/anime-chat-bench" --url "$URL" --protocol "$PROTOCOL" --server-pid "$SERVER_PID" \
    --server-limit "$SERVER_LIMIT" --json "$OUT/$name.$target.json" "$@" | tee "$OUT/$name.$target.txt"
  stop_server
  # Let the closed connections' sockets leave TIME_WAIT pressure behind before the next run.
  sleep 2
}

# The broker's pid (for its CPU in the storm report), from scripts/kafka.sh status.
broker_pid() {
  "$REPO_ROOT/scripts/kafka.sh" status 2>/dev/null | sed -n 's/^running (pid \([0-9]*\).*/\1/p'
}

# run_storm <name> <target> <bench args...>: one reconnect storm. Against the chat server
# the load tool starts the server itself (--server-cmd): it stops it between the phases,
# writes the missed messages through a second instance on BENCH_PORT + 1, and starts it
# again for the storm, so the clients' offsets stay in one process across the restart.
# The baseline keeps its rooms in memory, so it is not restarted: it shows what the
# connects and replays alone cost on this machine.
run_storm() {
  local name=$1 target=$2
  shift 2
  local json="$OUT/$name.$target.json" txt="$OUT/$name.$target.txt"
  say "$name against $target: anime-chat-bench storm $*"
  case "$target" in
    baseline | centrifugo-warm)
      BASELINE_ARGS=--history start_target "${target%-warm}" ""
      "$BIN/anime-chat-bench" storm --protocol "$PROTOCOL" --url "$URL" --server-pid "$SERVER_PID" --json "$json" "$@" \
        | tee "$txt"
      stop_server
      ;;
    centrifugo)
      # Restarted like the chat server: the writes go through a second Centrifugo, which
      # shares nothing with the first (memory engine), and the restarted one starts empty.
      # shellcheck disable=SC2046 # one NAME=value a line
      env $(centrifugo_env) "$BIN/anime-chat-bench" storm --protocol centrifugo \
        --url "ws://127.0.0.1:$CENTRIFUGO_PORT/connection/websocket" --server-cmd "$CENTRIFUGO" \
        --server-arg=-c --server-arg="$CENTRIFUGO_CONFIG" --writer-addr "127.0.0.1:$((CENTRIFUGO_PORT + 1))" \
        --server-log "$OUT/server.log" --json "$json" "$@" | tee "$txt"
      ;;
    kafka)
      local broker
      broker="$(broker_pid)"
      env KAFKA_BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP" CHAT_TOPIC="bench-$name-$(date +%s)" RUST_LOG=warn \
        ${BENCH_CONFIG:+CHAT_CONFIG="$BENCH_CONFIG"} \
        "$BIN/anime-chat-bench" storm --url "ws://127.0.0.1:$BENCH_PORT/ws/chat" \
        --server-cmd "$BIN/anime-chat" --writer-addr "127.0.0.1:$((BENCH_PORT + 1))" \
        --server-log "$OUT/server.log" ${broker:+--broker-pid "$broker"} --json "$json" "$@" | tee "$txt"
      ;;
    *) die "no storm against $target" ;;
  esac
  sleep 2
}

# sample_crowd <file>: every second until killed, a line of the time (s), the instances'
# summed VmRSS (KiB) and CPU time (clock ticks), and the kernel's TCP buffer pages
# (/proc/net/sockstat) and slab (KiB) for both ends of every connection.
sample_crowd() {
  local pid rss cpu stat
  while true; do
    rss=0 cpu=0
    for pid in $SERVER_PID; do
      rss=$((rss + $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")))
      read -ra stat <"/proc/$pid/stat"
      cpu=$((cpu + stat[13] + stat[14]))
    done
    printf '%s %s %s %s %s\n' "$(date +%s.%N)" "$rss" "$cpu" \
      "$(awk '/^TCP:/ {print $NF}' /proc/net/sockstat)" "$(awk '/^Slab:/ {print $2}' /proc/meminfo)"
    sleep 1
  done >"$1"
}

# The crowd: CROWD_INSTANCES chat servers on the broker and one topic, sharing BENCH_PORT
# (CHAT_REUSE_PORT: the kernel spreads the connections), each under its own open-file limit;
# 100,000 clients from CROWD_PROCESSES load processes, all in one room, held idle for 30 s
# (two heartbeats), then a fan-out of 2 messages/s to all of them for 20 s. The instances'
# memory, CPU and the kernel's socket memory are sampled every second into crowd.samples.
run_crowd() {
  local clients=${CROWD_CLIENTS:-100000} instances=${CROWD_INSTANCES:-6} processes=${CROWD_PROCESSES:-6}
  local topic i pids=() sampler
  topic="bench-crowd-$(date +%s)"
  : >"$OUT/crowd.log"
  for i in $(seq "$instances"); do
    KAFKA_BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP" CHAT_ADDR="127.0.0.1:$BENCH_PORT" CHAT_REUSE_PORT=1 CHAT_TOPIC="$topic" \
      RUST_LOG=warn,anime_chat=info "$BIN/anime-chat" >>"$OUT/crowd.log" 2>&1 &
    pids+=($!)
    SERVER_PID="${pids[*]}"
    # Each in turn, so each one's listener is there before the next binds beside it.
    for _ in $(seq 150); do
      (($(grep -c 'to chat (WebSocket' "$OUT/crowd.log") >= i)) && break
      sleep 0.2
    done
  done
  wait_for_http "http://127.0.0.1:$BENCH_PORT/ready" "the crowd's instances"
  sleep 5 # every instance assigned its partitions (each answers /ready on its own)
  say "crowd: $clients clients over $instances instances (pids $SERVER_PID) from $processes load processes"
  sample_crowd "$OUT/crowd.samples" &
  sampler=$!
  "$BIN/anime-chat-bench" --url "ws://127.0.0.1:$BENCH_PORT/ws/chat" --json "$OUT/crowd.kafka.json" \
    --clients "$clients" --rooms 1 --connect-rate 5000 --source-ips 250 --processes "$processes" \
    --hold 30 --rate 2 --duration 20 --drain 5 | tee "$OUT/crowd.kafka.txt"
  kill "$sampler"
  grep -c 'accepting up to' "$OUT/crowd.log" | xargs printf 'instances started: %s\n' >>"$OUT/crowd.kafka.txt"
  stop_server
  sleep 2
}

run_scenario() {
  local scenario=$1 target rate
  if [[ "$scenario" == crowd ]]; then
    wants_target kafka || return 0
    run_crowd
    return
  fi
  if [[ "$scenario" == sweep ]]; then
    for rate in "${SWEEP_RATES[@]}"; do
      for target in $(targets_of sweep); do
        # shellcheck disable=SC2046
        run "sweep-$rate" "$target" $(scaled $ONE_ROOM --rate "$rate" --duration 20)
      done
    done
    return
  fi
  if [[ "$scenario" == variance ]]; then
    wants_target kafka || return 0
    local n
    for n in 1 2 3; do
      # shellcheck disable=SC2046
      run "variance-$n" kafka $(scaled $ONE_ROOM --rate 200 --duration 30)
    done
    return
  fi
  if [[ "$scenario" == linger ]]; then
    wants_target kafka || return 0
    local linger
    for linger in 0 5; do
      printf '[kafka.producer]\n"linger.ms" = "%s"\n' "$linger" >"$OUT/linger-$linger.toml"
      for scenario in latency rooms; do
        # shellcheck disable=SC2046
        BENCH_CONFIG="$OUT/linger-$linger.toml" run "$scenario-linger$linger" kafka $(scaled ${SCENARIO_ARGS[$scenario]})
      done
    done
    return
  fi
  if [[ "$scenario" == storm ]]; then
    local n
    for n in $(seq "$STORM_RUNS"); do
      for target in $(targets_of storm); do
        # shellcheck disable=SC2046
        run_storm "storm-$n" "$target" $(scaled ${SCENARIO_ARGS[storm]})
      done
    done
    return
  fi
  [[ -n "${SCENARIO_ARGS[$scenario]:-}" ]] || die "unknown scenario $scenario (see -h)"
  for target in $(targets_of "$scenario"); do
    # shellcheck disable=SC2046
    run "$scenario" "$target" $(scaled ${SCENARIO_ARGS[$scenario]})
  done
}

main() {
  if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
    usage
    return
  fi
  local scenarios=("$@")
  ((${#scenarios[@]})) || scenarios=(latency fanout rooms rooms-half idle idle-limit connect sweep linger variance storm)
  local target
  for target in ${BENCH_TARGETS:-}; do
    [[ " ${ALL_TARGETS[*]} " == *" $target "* ]] || die "unknown target $target (targets: ${ALL_TARGETS[*]})"
  done
  # Thousands of sockets on each side: both binaries raise their own soft
  # limit to the hard one; raise the shell's too for anything else started here.
  ulimit -n "$(ulimit -Hn)"
  # What the chat server takes as its connection limit (server.max_connections = 0), given
  # to Centrifugo too, and to the load tool for its refused-below-the-limit count.
  SERVER_LIMIT=$(($(ulimit -Hn) - 256))
  mkdir -p "$OUT"
  : >"$OUT/server.log"
  wants_target centrifugo && ensure_centrifugo
  if [[ -n "${BENCH_BIN:-}" ]]; then
    say "using the binaries in $BIN (not building)"
  else
    say "building the release binaries"
    (cd "$REPO_ROOT" && cargo build --release -q -p anime-chat -p anime-chat-bench)
  fi

  # Stop whatever this run started, however it ends (the broker only if it was ours).
  local stop_kafka=false
  KAFKA_BOOTSTRAP=""
  if wants_target kafka; then
    stop_kafka=true
    if "$REPO_ROOT/scripts/kafka.sh" status >/dev/null 2>&1; then
      say "reusing the running broker"
      stop_kafka=false
    fi
  fi
  # shellcheck disable=SC2064 # expand stop_kafka now
  trap "stop_server; $stop_kafka && \"$REPO_ROOT/scripts/kafka.sh\" stop || true" EXIT
  if wants_target kafka; then
    KAFKA_BOOTSTRAP="$("$REPO_ROOT/scripts/kafka.sh" start | tail -n 1)"
  fi

  local scenario
  for scenario in "${scenarios[@]}"; do
    run_scenario "$scenario"
  done
  say "results in $OUT; tables and chart: python3 scripts/bench-report.py"
}

main "$@"
