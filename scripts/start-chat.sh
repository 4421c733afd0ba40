#!/usr/bin/env bash
# Start Anime Universe Chat with one command: the whole compose stack when a
# Docker engine is reachable, else the local Kafka broker and the server
# built with cargo, in the foreground.
set -euo pipefail

SCRIPT_NAME=start-chat.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
usage: scripts/start-chat.sh [-h] [--local]

With Docker (docker compose works and an engine answers `docker info`):
  docker compose up -d --build   (kafka, control-center, chat; see docker-compose.yml)
Otherwise, or with --local:
  scripts/kafka.sh start, then KAFKA_BOOTSTRAP_SERVERS=<its address> cargo run --release
  in the foreground (Ctrl-C stops the server; the broker keeps running until
  scripts/kafka.sh stop).

environment: CHAT_ADDR (local server address, default 127.0.0.1:8003),
             RUST_LOG (default info), KAFKA_PORT etc. as for scripts/kafka.sh
EOF
}

# Both the compose plugin and a live engine: the client alone (as on
# machines without a daemon) cannot start anything. Bounded, since a client
# can wait a long time on a dead socket.
docker_usable() {
  command -v docker >/dev/null 2>&1 &&
    timeout 10 docker compose version >/dev/null 2>&1 &&
    timeout 10 docker info >/dev/null 2>&1
}

start_with_docker() {
  cd "$REPO_ROOT"
  say "Docker engine found: docker compose up -d --build"
  docker compose up -d --build
  cat <<'EOF'

  chat            http://localhost:8003
  Control Center  http://localhost:9021  (takes a minute to come up)
  Kafka           localhost:9092

  logs: docker compose logs -f chat    stop: docker compose down
EOF
}

start_locally() {
  command -v cargo >/dev/null 2>&1 ||
    die "cargo not found; install Rust (https://rustup.rs) or run with Docker"
  local bootstrap addr="${CHAT_ADDR:-127.0.0.1:8003}"
  say "no usable Docker engine: starting the local Kafka broker (scripts/kafka.sh start)"
  # kafka.sh prints the bootstrap address as its last line of stdout.
  bootstrap="$("$REPO_ROOT/scripts/kafka.sh" start | tail -n 1)"
  cd "$REPO_ROOT"
  say "running: KAFKA_BOOTSTRAP_SERVERS=$bootstrap cargo run --release"
  say "chat will be at http://$addr once built (the first release build takes minutes)"
  KAFKA_BOOTSTRAP_SERVERS="$bootstrap" RUST_LOG="${RUST_LOG:-info}" \
    exec cargo run --release
}

main() {
  local local_only=false
  while (($# > 0)); do
    case "$1" in
      -h | --help)
        usage
        return 0
        ;;
      --local) local_only=true ;;
      *)
        usage >&2
        exit 2
        ;;
    esac
    shift
  done
  if ! $local_only && docker_usable; then
    start_with_docker
  else
    start_locally
  fi
}

main "$@"
