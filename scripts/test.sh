#!/usr/bin/env bash
# Runs every test of Anime Universe Chat on a fresh machine: installs what the
# tests need (Debian's chromium, a colour emoji font and nginx, a JDK and
# Maven, the npm test dependencies, kosoku in a git-ignored venv), starts a
# real Apache Kafka with scripts/kafka.sh, then runs the Rust tests, the
# Autobahn WebSocket conformance cases and the browser tests. Exits non-zero
# if anything failed.
set -euo pipefail

SCRIPT_NAME=test.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: scripts/test.sh [-h]

  Installs missing system packages (apt-get), starts Kafka on 127.0.0.1:9092
  (KAFKA_PORT overrides), runs `cargo test --workspace`, the Autobahn cases
  of categories 1-7 against /ws/echo (scripts/conformance.sh), the browser
  tests in frontend/tests with Chromium, and stops the broker again if it
  started it.
USAGE
}

# Debian packages the tests use, keyed by the command that proves them present.
declare -A PACKAGES=(
  [chromium]=chromium
  [nginx]=nginx-light
  [java]=openjdk-17-jre-headless
  [mvn]=maven
  [node]=nodejs
  [npm]=npm
)
# ... and those without a command, keyed by a file they install: colour emoji
# for the browser tests' screenshots (without it Chromium draws empty boxes).
declare -A PACKAGE_FILES=(
  [/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf]=fonts-noto-color-emoji
)

install_missing_packages() {
  local missing=() command file
  for command in "${!PACKAGES[@]}"; do
    command -v "$command" >/dev/null 2>&1 || [[ -x "/usr/sbin/$command" ]] || missing+=("${PACKAGES[$command]}")
  done
  for file in "${!PACKAGE_FILES[@]}"; do
    [[ -e "$file" ]] || missing+=("${PACKAGE_FILES[$file]}")
  done
  ((${#missing[@]} == 0)) && return
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_browser_test_deps() {
  say "installing the browser tests' npm packages"
  (cd "$REPO_ROOT/frontend/tests" && npm ci --no-audit --no-fund --loglevel=error)
}

# Starts the broker unless one of ours already runs; stops it on exit only
# if this run started it.
start_kafka() {
  if "$REPO_ROOT/scripts/kafka.sh" status >/dev/null 2>&1; then
    say "reusing the running broker"
  else
    trap '"$REPO_ROOT/scripts/kafka.sh" stop || true' EXIT
  fi
  KAFKA_BOOTSTRAP_SERVERS="$("$REPO_ROOT/scripts/kafka.sh" start | tail -n 1)"
  export KAFKA_BOOTSTRAP_SERVERS
}

main() {
  [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
  export PATH="$PATH:/usr/sbin"
  install_missing_packages
  install_browser_test_deps
  start_kafka

  local failed=()
  say "cargo test --workspace (Kafka at $KAFKA_BOOTSTRAP_SERVERS)"
  (cd "$REPO_ROOT" && cargo test --workspace) || failed+=("cargo test")

  export CHAT_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/anime-chat"
  say "WebSocket conformance (Autobahn categories 1-7, kosoku)"
  "$REPO_ROOT/scripts/conformance.sh" || failed+=("conformance")

  say "browser tests"
  (cd "$REPO_ROOT/frontend/tests" && node --test --test-concurrency=1) || failed+=("browser tests")

  if ((${#failed[@]} > 0)); then
    say "FAILED: ${failed[*]}"
    exit 1
  fi
  say "all tests passed"
}

main "$@"
