#!/usr/bin/env bash
# Runs the benchmarks of BENCHMARKS.md: every scenario against the raw tokio
# baseline and against the chat server (release build) on real Apache Kafka
# (scripts/kafka.sh) and, where listed, on embedded Kafka. Each run is one
# fresh server process, so memory per connection is measured from a clean
# start. JSON reports go to bench/results/<scenario>.<target>.json; then
# scripts/bench-report.py prints the tables and draws the latency chart.
set -euo pipefail

SCRIPT_NAME=bench.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: scripts/bench.sh [-h] [scenario...]

  Scenarios (default: all, in this order; about 30 minutes):
    latency   100 clients, 1 room, 50 msg/s for 30 s
    fanout    2,000 clients, 1 room, 200 msg/s for 60 s (400,000 deliveries/s)
    rooms     10,000 clients, 200 rooms of 50, 2,000 msg/s for 30 s
    rooms-half  the same rooms at 1,000 msg/s (50,000 deliveries/s)
    idle      19,700 clients, 100 rooms, no messages, held 30 s (2 heartbeats)
    idle-limit  20,500 clients from 2 bench processes: past the server's limit
    sweep     fan-out at 25..300 msg/s (50,000..600,000 deliveries/s), for the chart
    linger    latency and rooms on real Kafka with the producer's linger.ms at 0 and 5
    variance  fan-out on real Kafka three more times (30 s each): how much runs differ
    storm     reconnect storm, three runs: 10,000 clients in 100 rooms, 200 messages
              behind each, all resume at once after the server restarts (goal: all
              recovered exactly once within 5 s, none evicted, <= 1 Kafka read a room).
              About 5 minutes. Against real Kafka, and against the baseline (in
              memory, not restarted) for what the connects and replays alone cost.
              Not embedded: its log lives in the server process, so a restarted
              server starts an empty log under a new epoch and nothing can be resumed.

  Needs: cargo, a JDK 17 and Maven (for Kafka), python3 (for the chart).
  Environment: BENCH_PORT (server, default 8003; the storm's writer instance
  uses BENCH_PORT + 1), BASELINE_PORT (8140), KAFKA_PORT (9092), BENCH_OUT
  (default bench/results), STORM_RUNS (3), BENCH_BIN (a directory holding
  anime-chat and anime-chat-bench to run instead of building target/release:
  a copy stays the same while a shared target directory is rebuilt).
USAGE
}

BENCH_PORT="${BENCH_PORT:-8003}"
BASELINE_PORT="${BASELINE_PORT:-8140}"
OUT="$(abs_path "${BENCH_OUT:-$REPO_ROOT/bench/results}")"
BIN="$(abs_path "${BENCH_BIN:-$REPO_ROOT/target/release}")"
SERVER_PID=""
URL=""

# Arguments of anime-chat-bench per scenario (the URL and output are added per run).
declare -A SCENARIO_ARGS=(
  [latency]="--clients 100 --rooms 1 --rate 50 --duration 30"
  [fanout]="--clients 2000 --rooms 1 --rate 200 --duration 60 --connect-rate 1000"
  [rooms]="--clients 10000 --rooms 200 --rate 2000 --duration 30 --connect-rate 1000 --source-ips 128"
  [rooms-half]="--clients 10000 --rooms 200 --rate 1000 --duration 30 --connect-rate 1000 --source-ips 128"
  [idle]="--clients 19700 --rooms 100 --rate 0 --duration 30 --drain 0 --connect-rate 1000 --source-ips 128"
  [idle-limit]="--clients 20500 --rooms 100 --rate 0 --duration 10 --drain 0 --connect-rate 1000 --source-ips 128 --processes 2"
  [storm]="--clients 10000 --rooms 100 --behind 200 --connect-rate 1000 --source-ips 128 --goal-seconds 5"
)
# Which servers each scenario runs against.
declare -A SCENARIO_TARGETS=(
  [latency]="baseline kafka embedded"
  [fanout]="baseline kafka embedded"
  [rooms]="baseline kafka embedded"
  [rooms-half]="baseline kafka"
  [idle]="baseline kafka"
  [idle-limit]="kafka"
  [storm]="baseline kafka"
)
STORM_RUNS="${STORM_RUNS:-3}"
SWEEP_RATES=(25 50 100 150 200 250 300)
# One room of 2,000: the fan-out scenario's shape, which the sweep and variance runs share.
ONE_ROOM="--clients 2000 --rooms 1 --connect-rate 1000"

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
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
  local i
  for i in $(seq 150); do
    curl -sf "http://127.0.0.1:$BENCH_PORT/ready" >/dev/null && break
    ((i < 150)) || die "the chat server did not become ready (see $OUT/server.log)"
    sleep 0.2
  done
  URL="ws://127.0.0.1:$BENCH_PORT/ws/chat"
}

# run <name> <target> <bench args...>: one server process, one load run, one JSON.
run() {
  local name=$1 target=$2
  shift 2
  start_target "$target" "bench-$name-$(date +%s)"
  say "$name against $target: anime-chat-bench $*"
  "$BIN/anime-chat-bench" --url "$URL" --server-pid "$SERVER_PID" --json "$OUT/$name.$target.json" "$@" \
    | tee "$OUT/$name.$target.txt"
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
    baseline)
      BASELINE_ARGS=--history start_target baseline ""
      "$BIN/anime-chat-bench" storm --url "$URL" --server-pid "$SERVER_PID" --json "$json" "$@" | tee "$txt"
      stop_server
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

run_scenario() {
  local scenario=$1 target rate
  if [[ "$scenario" == sweep ]]; then
    for rate in "${SWEEP_RATES[@]}"; do
      for target in baseline kafka; do
        # shellcheck disable=SC2086
        run "sweep-$rate" "$target" $ONE_ROOM --rate "$rate" --duration 20
      done
    done
    return
  fi
  if [[ "$scenario" == variance ]]; then
    local n
    for n in 1 2 3; do
      # shellcheck disable=SC2086
      run "variance-$n" kafka $ONE_ROOM --rate 200 --duration 30
    done
    return
  fi
  if [[ "$scenario" == linger ]]; then
    local linger
    for linger in 0 5; do
      printf '[kafka.producer]\n"linger.ms" = "%s"\n' "$linger" >"$OUT/linger-$linger.toml"
      for scenario in latency rooms; do
        # shellcheck disable=SC2086
        BENCH_CONFIG="$OUT/linger-$linger.toml" run "$scenario-linger$linger" kafka ${SCENARIO_ARGS[$scenario]}
      done
    done
    return
  fi
  if [[ "$scenario" == storm ]]; then
    local n
    for n in $(seq "$STORM_RUNS"); do
      for target in ${SCENARIO_TARGETS[storm]}; do
        # shellcheck disable=SC2086
        run_storm "storm-$n" "$target" ${SCENARIO_ARGS[storm]}
      done
    done
    return
  fi
  [[ -n "${SCENARIO_ARGS[$scenario]:-}" ]] || die "unknown scenario $scenario (see -h)"
  for target in ${SCENARIO_TARGETS[$scenario]}; do
    # shellcheck disable=SC2086
    run "$scenario" "$target" ${SCENARIO_ARGS[$scenario]}
  done
}

main() {
  if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
    usage
    return
  fi
  local scenarios=("$@")
  ((${#scenarios[@]})) || scenarios=(latency fanout rooms rooms-half idle idle-limit sweep linger variance storm)
  # Thousands of sockets on each side: both binaries raise their own soft
  # limit to the hard one; raise the shell's too for anything else started here.
  ulimit -n "$(ulimit -Hn)"
  mkdir -p "$OUT"
  : >"$OUT/server.log"
  if [[ -n "${BENCH_BIN:-}" ]]; then
    say "using the binaries in $BIN (not building)"
  else
    say "building the release binaries"
    (cd "$REPO_ROOT" && cargo build --release -q -p anime-chat -p anime-chat-bench)
  fi

  # Stop whatever this run started, however it ends (the broker only if it was ours).
  local stop_kafka=true
  if "$REPO_ROOT/scripts/kafka.sh" status >/dev/null 2>&1; then
    say "reusing the running broker"
    stop_kafka=false
  fi
  # shellcheck disable=SC2064 # expand stop_kafka now
  trap "stop_server; $stop_kafka && \"$REPO_ROOT/scripts/kafka.sh\" stop || true" EXIT
  KAFKA_BOOTSTRAP="$("$REPO_ROOT/scripts/kafka.sh" start | tail -n 1)"

  local scenario
  for scenario in "${scenarios[@]}"; do
    run_scenario "$scenario"
  done
  say "results in $OUT; tables and chart: python3 scripts/bench-report.py"
}

main "$@"
