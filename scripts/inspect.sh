#!/usr/bin/env bash
# Tail the chat topic with Kafka's own console consumer, from the beginning:
# one line per record, tab-separated: partition, offset, headers, key (the
# room), value (the JSON the chat server wrote). Ctrl-C to stop.
set -euo pipefail

SCRIPT_NAME=inspect.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
CHAT_TOPIC="${CHAT_TOPIC:-anonymous-anime-universe}"

usage() {
  cat <<EOF
usage: scripts/inspect.sh [-h] [ROOM] [-- CONSOLE-CONSUMER-ARGS...]

Print every record of the chat topic from the beginning, then follow it:
  Partition:N <TAB> Offset:N <TAB> headers <TAB> key <TAB> value
With ROOM, only records whose key is exactly ROOM (the key is the room).
Arguments after -- go to Kafka's console consumer, e.g. '-- --timeout-ms 5000'
to exit after 5 s without new records, or '-- --max-messages 10'.

environment:
  KAFKA_BOOTSTRAP_SERVERS  [127.0.0.1:9092]
  CHAT_TOPIC               [anonymous-anime-universe]
  (and KAFKA_VERSION, KAFKA_LIB_DIR, KAFKA_TOOL_OPTS as for scripts/kafka.sh)
EOF
}

# The formatter separates fields with this byte (ASCII unit separator), which
# no room name, header or JSON value contains, so the key column is found
# exactly even when values hold tabs or spaces; awk then prints tabs.
readonly SEP=$'\x1f'

# Fail early with a clear message when there is no broker (the console
# consumer would otherwise retry forever), and say so when the topic does not
# exist yet: the consumer then waits for the chat server to create it.
check_topic() {
  local topics
  kafka_tool_cmd
  topics="$(timeout 30 "${KAFKA_TOOL_CMD[@]}" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --list \
    --command-config "$KAFKA_CONFIG_DIR/probe-admin.properties" 2>/dev/null)" ||
    die "no Kafka broker answers at $KAFKA_BOOTSTRAP_SERVERS (start one with: scripts/kafka.sh start)"
  grep -qxF -- "$CHAT_TOPIC" <<<"$topics" ||
    say "topic $CHAT_TOPIC does not exist yet; waiting for the chat server to create it"
}

# Replace this shell with the console consumer, its stdout going through
# filter_room. exec, so that the script's pid is the JVM's: a caller that
# stops inspect.sh by pid (SIGTERM) stops the consumer, and awk then ends at
# end of input instead of lingering.
exec_consumer() {
  local room="$1"
  shift
  kafka_tool_cmd
  exec > >(filter_room "$room")
  # allow.auto.create.topics=false: the broker auto-creates topics, and a
  # subscription must not create the chat topic with 1 partition before the
  # chat server creates it with the partitions it wants.
  exec "${KAFKA_TOOL_CMD[@]}" org.apache.kafka.tools.consumer.ConsoleConsumer \
    --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" \
    --topic "$CHAT_TOPIC" --from-beginning \
    --command-property allow.auto.create.topics=false \
    --formatter-property print.partition=true \
    --formatter-property print.offset=true \
    --formatter-property print.headers=true \
    --formatter-property print.key=true \
    --formatter-property print.value=true \
    --formatter-property key.separator="$SEP" \
    "$@"
}

# Keep records whose key column (4th) equals ROOM exactly (all when ROOM is
# empty) and print them tab-separated, a line as soon as it arrives. ROOM
# goes through the environment: awk -v would expand backslashes in it.
filter_room() {
  local -a awk_cmd=(awk)
  # mawk (Debian's awk) reads a pipe in large blocks unless told otherwise,
  # which would hold back records until kilobytes have arrived.
  case "$(awk -W version 2>&1 || true)" in
    *mawk*) awk_cmd+=(-W interactive) ;;
  esac
  # shellcheck disable=SC2016 # an awk program, not shell
  ROOM="$1" "${awk_cmd[@]}" -F "$SEP" -v OFS='\t' '
    NF >= 5 && (ENVIRON["ROOM"] == "" || $4 == ENVIRON["ROOM"]) { $1 = $1; print; fflush() }
  '
}

main() {
  local room=""
  while (($# > 0)); do
    case "$1" in
      -h | --help)
        usage
        return 0
        ;;
      --)
        shift
        break
        ;;
      -*) die "unknown option $1 (see -h)" ;;
      *)
        [[ -z "$room" ]] || die "only one ROOM may be given (see -h)"
        room="$1"
        ;;
    esac
    shift
  done
  check_topic
  say "reading $CHAT_TOPIC at $KAFKA_BOOTSTRAP_SERVERS from the beginning${room:+ (room $room only)}"
  exec_consumer "$room" "$@"
}

main "$@"
