# shellcheck shell=bash
# Shared helpers for scripts/*.sh: repo root, messages, the Kafka jar cache
# and running Kafka's Java tools. Sourced, never run:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Environment (all optional):
#   KAFKA_VERSION    Kafka release to fetch (default: kafka.version in config/kafka/pom.xml)
#   KAFKA_LIB_DIR    jar cache (default: <repo>/.kafka/lib)
#   KAFKA_TOOL_OPTS  JVM options for the console tools

# The repo root, from this file's own location, so scripts work from any cwd.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
KAFKA_CONFIG_DIR="$REPO_ROOT/config/kafka"
KAFKA_POM="$KAFKA_CONFIG_DIR/pom.xml"
# Everything the scripts write lives under .kafka/ (git-ignored).
KAFKA_WORK_DIR="$REPO_ROOT/.kafka"

# An absolute form of a path from the environment: the broker and the pid
# checks must not depend on the caller's working directory.
abs_path() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

KAFKA_LIB_DIR="$(abs_path "${KAFKA_LIB_DIR:-$KAFKA_WORK_DIR/lib}")"

# Messages go to stderr: stdout is kept for what callers parse
# (the bootstrap address, records).
say() { printf '%s: %s\n' "${SCRIPT_NAME:-${0##*/}}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The Kafka version pinned in the pom, unless KAFKA_VERSION overrides it.
kafka_version() {
  if [[ -n "${KAFKA_VERSION:-}" ]]; then
    printf '%s\n' "$KAFKA_VERSION"
  else
    sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$KAFKA_POM" | head -n 1
  fi
}

require_java() {
  command -v java >/dev/null 2>&1 ||
    die "java not found; install it with: apt-get install -y openjdk-17-jre-headless maven"
}

require_maven() {
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found; install it with: apt-get install -y openjdk-17-jre-headless maven"
}

# What the cache was built from: a new version or an edited pom refetches.
kafka_jar_stamp() {
  printf '%s %s\n' "$(kafka_version)" "$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
}

# Fill KAFKA_LIB_DIR with the broker and tool jars, once. Maven downloads into
# its usual cache (~/.m2) and copies the jars here; a second call with the
# same version and pom returns at once, without running Maven.
kafka_fetch_jars() {
  local stamp_file="$KAFKA_LIB_DIR/.stamp" stamp
  stamp="$(kafka_jar_stamp)"
  [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]] && return 0

  require_java
  require_maven
  # Lock, log and the temporary folder sit beside the cache (same file
  # system, so the final rename is atomic).
  local parent
  parent="$(dirname "$KAFKA_LIB_DIR")"
  mkdir -p "$parent"
  # Two callers at once (parallel tests) must not both run Maven into one folder.
  local lock_fd
  exec {lock_fd}>"$parent/fetch.lock"
  flock "$lock_fd"
  if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
    exec {lock_fd}>&-
    return 0
  fi

  local version tmp log="$parent/fetch.log"
  version="$(kafka_version)"
  say "fetching Apache Kafka $version jars from Maven Central (once) ..."
  tmp="$(mktemp -d "$parent/lib.tmp.XXXXXX")"
  chmod 755 "$tmp" # mktemp makes it private; the jars are not secret
  # Copy into a fresh folder and rename it at the end, so an interrupted
  # download never leaves a half-filled cache that looks complete.
  if ! mvn -B -q -Dstyle.color=never -f "$KAFKA_POM" \
    -Dkafka.version="$version" \
    dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -rf "$tmp"
    exec {lock_fd}>&-
    die "Maven could not fetch Kafka $version (full log: $log)"
  fi
  printf '%s\n' "$stamp" >"$tmp/.stamp"
  rm -rf "$KAFKA_LIB_DIR"
  mv "$tmp" "$KAFKA_LIB_DIR"
  exec {lock_fd}>&-
  say "cached $(find "$KAFKA_LIB_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$KAFKA_LIB_DIR" | cut -f1)) in $KAFKA_LIB_DIR"
}

# Java classpath wildcard for the cache (java expands it, not the shell).
kafka_classpath() { printf '%s/*\n' "$KAFKA_LIB_DIR"; }

# The java command line for Kafka's Java tools, in the array KAFKA_TOOL_CMD
# (append the main class and its args). An array rather than a function so
# callers can put `timeout` in front. Tools are short-lived: C1 only and the
# serial GC start faster than the server defaults on two cores. No log4j
# shutdown hook: a tool that exits quickly would otherwise warn that it
# could not register one.
kafka_tool_cmd() {
  require_java
  kafka_fetch_jars
  local -a jvm_opts
  read -r -a jvm_opts <<<"${KAFKA_TOOL_OPTS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
  KAFKA_TOOL_CMD=(java "${jvm_opts[@]}"
    -Dlog4j2.configurationFile="$KAFKA_CONFIG_DIR/tools-log4j2.properties"
    -Dlog4j2.shutdownHookEnabled=false
    -cp "$(kafka_classpath)")
}

# Run one Kafka tool: kafka_tool <main class> [args...]
kafka_tool() {
  kafka_tool_cmd
  "${KAFKA_TOOL_CMD[@]}" "$@"
}
