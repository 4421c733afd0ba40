//! The server's metrics, named once here. They go through the `metrics`
//! facade; the binary installs a Prometheus recorder and serves `/metrics`.

use std::time::Duration;

/// Gauge, by `room`: sessions connected to this instance.
pub const CONNECTIONS: &str = "chat_connections";
/// Counter: chat messages accepted from clients (WebSocket and HTTP).
pub const MESSAGES_RECEIVED: &str = "chat_messages_received_total";
/// Counter: chat message frames written to sessions (one per recipient).
pub const MESSAGES_DELIVERED: &str = "chat_messages_delivered_total";
/// Counter, by `code`: refusals sent to clients.
pub const ERRORS: &str = "chat_errors_total";
/// Histogram: a chat record's time from send to Kafka's acknowledgement.
pub const PRODUCE_SECONDS: &str = "chat_kafka_produce_seconds";
/// Gauge, by `topic` and `partition`: records in Kafka not yet read.
pub const CONSUMER_LAG: &str = "chat_kafka_consumer_lag";
/// Gauge: chat partitions this instance reads (those of its rooms).
pub const PARTITIONS_READ: &str = "chat_kafka_partitions_read";
/// Histogram: from a record's Kafka timestamp to its broadcast.
pub const END_TO_END_SECONDS: &str = "chat_end_to_end_seconds";

/// Counter: scans of the chat topic for history (one may serve many rooms).
pub const HISTORY_KAFKA_READS: &str = "chat_history_kafka_reads_total";
/// Counter, by `source` (`cache` or `kafka`): replays and pages answered.
pub const HISTORY_REQUESTS: &str = "chat_history_requests_total";
/// Gauge: memory held by room caches (bytes, estimated).
pub const HISTORY_CACHE_BYTES: &str = "chat_history_cache_bytes";
/// Gauge: rooms with a cache.
pub const HISTORY_CACHE_ROOMS: &str = "chat_history_cache_rooms";
/// Gauge: bytes queued for sessions and not yet taken by their sockets.
pub const OUTBOX_BYTES: &str = "chat_outbox_bytes";
/// Counter: chat-topic records outside their room's partition (skipped).
pub const MISPLACED_RECORDS: &str = "chat_misplaced_records_total";
/// Counter: chat-topic records that are not valid chat messages (skipped).
pub const INVALID_RECORDS: &str = "chat_invalid_records_total";
/// Counter, by `by` (`producer` or `consumer`): chat records handed to the
/// hub, on Kafka's acknowledgement of this instance's write or as read.
pub const RECORDS_HANDED_OVER: &str = "chat_records_handed_over_total";
/// Counter: later records of a message already delivered (a retry; skipped).
pub const DUPLICATE_RECORDS: &str = "chat_duplicate_records_total";

/// Histogram buckets, in seconds: chat latency lives between 1 ms and 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Registers every metric's help text, so `/metrics` lists them from the start.
pub fn describe() {
    metrics::describe_gauge!(CONNECTIONS, "WebSocket sessions connected to this instance, by room");
    metrics::describe_counter!(MESSAGES_RECEIVED, "Chat messages accepted from clients");
    metrics::describe_counter!(MESSAGES_DELIVERED, "Chat message frames written to sessions");
    metrics::describe_counter!(ERRORS, "Refusals sent to clients, by error code");
    metrics::describe_histogram!(PRODUCE_SECONDS, metrics::Unit::Seconds, "Time from send to Kafka acknowledgement");
    metrics::describe_gauge!(CONSUMER_LAG, "Records in Kafka not yet read by this instance, by partition");
    metrics::describe_gauge!(PARTITIONS_READ, "Chat partitions this instance reads: those of rooms with members here");
    metrics::describe_histogram!(END_TO_END_SECONDS, metrics::Unit::Seconds, "Kafka record timestamp to broadcast");
    metrics::describe_counter!(HISTORY_KAFKA_READS, "Scans of the chat topic for history");
    metrics::describe_counter!(HISTORY_REQUESTS, "History replays and pages answered, by source");
    metrics::describe_gauge!(HISTORY_CACHE_BYTES, metrics::Unit::Bytes, "Memory held by room caches (estimated)");
    metrics::describe_gauge!(HISTORY_CACHE_ROOMS, "Rooms with a history cache");
    metrics::describe_gauge!(
        OUTBOX_BYTES,
        metrics::Unit::Bytes,
        "Bytes queued for sessions, not yet taken by their sockets"
    );
    metrics::describe_counter!(MISPLACED_RECORDS, "Chat records outside their room's partition, skipped");
    metrics::describe_counter!(INVALID_RECORDS, "Chat-topic records that are not valid chat messages, skipped");
    metrics::describe_counter!(RECORDS_HANDED_OVER, "Chat records handed to the hub, by who brought them first");
    metrics::describe_counter!(DUPLICATE_RECORDS, "Later records of an already delivered message, skipped");
}

pub fn error(code: crate::protocol::ErrorCode) {
    metrics::counter!(ERRORS, "code" => code.as_str()).increment(1);
}

pub fn produced(elapsed: Duration) {
    metrics::histogram!(PRODUCE_SECONDS).record(elapsed.as_secs_f64());
}
