#!/usr/bin/env bash
# RFC 6455 conformance: runs the Autobahn test cases of categories 1-7 with
# kosoku against the chat server's echo endpoint (/ws/echo, served only when
# CHAT_CONFORMANCE_ECHO=1), prints a per-category table and exits non-zero if
# any case failed or did not run. Called by scripts/test.sh.
set -euo pipefail

SCRIPT_NAME=conformance.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: scripts/conformance.sh [-h]

  Installs kosoku (config/conformance/requirements.txt) into .venv-conformance/,
  starts $CHAT_BIN with CHAT_CONFORMANCE_ECHO=1 on a free loopback port
  (embedded Kafka), waits for GET /ready to answer 200, runs the Autobahn
  cases against ws://127.0.0.1:PORT/ws/echo and prints per category how many
  were OK, NON-STRICT, INFORMATIONAL, FAILED or not run. The HTML/JSON report
  goes to target/conformance/report/ (index.html, index.json).

Environment (all optional):
  CHAT_BIN                   server binary (default: ${CARGO_TARGET_DIR:-target}/debug/anime-chat)
  CONFORMANCE_PATH           WebSocket path (default: /ws/echo)
  CONFORMANCE_CASES          case globs, space-separated (default: "1.* 2.* 3.* 4.* 5.* 6.* 7.*")
  CONFORMANCE_PORT           port to start the server on (default: a free one)
  CONFORMANCE_OUT            output folder (default: target/conformance)
  CONFORMANCE_VENV           kosoku's virtualenv (default: .venv-conformance)
  CONFORMANCE_READY_TIMEOUT  seconds to wait for /ready (default: 60)
  CONFORMANCE_TIMEOUT        seconds the whole kosoku run may take (default: 900)
USAGE
}

CONFORMANCE_CONFIG_DIR="$REPO_ROOT/config/conformance"
REQUIREMENTS="$CONFORMANCE_CONFIG_DIR/requirements.txt"
EXPECTED_CASES="$CONFORMANCE_CONFIG_DIR/expected-cases.txt"
VENV="$(abs_path "${CONFORMANCE_VENV:-$REPO_ROOT/.venv-conformance}")"
OUT="$(abs_path "${CONFORMANCE_OUT:-$REPO_ROOT/target/conformance}")"
CHAT_BIN="$(abs_path "${CHAT_BIN:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/anime-chat}")"
WS_PATH="${CONFORMANCE_PATH:-/ws/echo}"
read -r -a CASE_GLOBS <<<"${CONFORMANCE_CASES:-1.* 2.* 3.* 4.* 5.* 6.* 7.*}"
SERVER_PID=""

# The venv is rebuilt only when requirements.txt changes (stamp = its hash).
install_kosoku() {
  local stamp_file="$VENV/.stamp" stamp
  stamp="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/kosoku" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 not found; install it with: apt-get install -y python3 python3-venv"
  say "installing $(grep -v '^#' "$REQUIREMENTS" | xargs) into $VENV"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
      say "python3 -m venv failed; installing python3-venv"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$VENV" || die "could not create $VENV"
    else
      die "python3 -m venv failed; install it with: apt-get install -y python3-venv"
    fi
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS" ||
    die "pip could not install kosoku (requirements: $REQUIREMENTS)"
  printf '%s\n' "$stamp" >"$stamp_file"
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

# Upgrades get 503 until the server is ready (Kafka reachable), so wait for
# GET /ready to answer 200; give up if the server exits first.
wait_ready() {
  local port="$1"
  "$VENV/bin/python" - "$port" "$SERVER_PID" "${CONFORMANCE_READY_TIMEOUT:-60}" <<'PY'
import os, sys, time, urllib.error, urllib.request
port, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("the server exited before it was ready")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except (urllib.error.URLError, OSError):
        pass
    time.sleep(0.2)
sys.exit(f"GET /ready did not answer 200 within {timeout:g} s")
PY
}

main() {
  [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
  (($# == 0)) || { usage >&2; exit 2; }
  [[ -x "$CHAT_BIN" ]] || die "no server binary at $CHAT_BIN (build it with cargo build, or set CHAT_BIN)"

  install_kosoku
  rm -rf "$OUT"
  mkdir -p "$OUT"

  local port="${CONFORMANCE_PORT:-$(free_port)}"
  trap stop_server EXIT
  say "starting $CHAT_BIN on 127.0.0.1:$port (log: $OUT/server.log)"
  env -u KAFKA_BOOTSTRAP_SERVERS CHAT_CONFORMANCE_ECHO=1 CHAT_ADDR="127.0.0.1:$port" \
    "$CHAT_BIN" >"$OUT/server.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_ready "$port"; then
    tail -n 20 "$OUT/server.log" >&2
    die "the server did not become ready"
  fi

  local url="ws://127.0.0.1:$port$WS_PATH" glob kosoku_rc=0 report_rc=0
  local -a include=()
  for glob in "${CASE_GLOBS[@]}"; do include+=(-i "$glob"); done
  say "kosoku $url ${CASE_GLOBS[*]} (log: $OUT/kosoku.log)"
  timeout "${CONFORMANCE_TIMEOUT:-900}" "$VENV/bin/kosoku" "$url" "${include[@]}" -o "$OUT/report" \
    >"$OUT/kosoku.log" 2>&1 || kosoku_rc=$?
  stop_server

  "$VENV/bin/python" "$REPO_ROOT/scripts/conformance-report.py" \
    "$OUT/report/index.json" "$EXPECTED_CASES" "${CASE_GLOBS[@]}" || report_rc=$?
  if ((report_rc == 2)); then
    tail -n 20 "$OUT/kosoku.log" >&2
    die "kosoku wrote no report (exit $kosoku_rc; logs in $OUT)"
  fi
  say "report: $OUT/report/index.html"
  if ((report_rc != 0 || kosoku_rc != 0)); then
    say "FAILED: conformance (kosoku exit $kosoku_rc; server log: $OUT/server.log)"
    exit 1
  fi
  say "all cases OK, NON-STRICT or INFORMATIONAL"
}

main "$@"
