//! `ChatContext`: how librdkafka's own reports reach us. Its logs and errors
//! go to ours (a broker that is away is an operational fault, not a crash,
//! so its errors are logged at warn; librdkafka already folds identical
//! repeats); each record's delivery report goes to its sender and, for a
//! chat record stored, through the handover to the hub.

use std::sync::Arc;

use rdkafka::bindings::{rd_kafka_message_status, rd_kafka_msg_status_t};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::statistics::Statistics;
use rdkafka::Message;
use tokio::sync::oneshot;

use super::handover::{Handover, LogRecord};
use crate::messages::Delivery;

/// The client context of every producer, consumer and admin client.
#[derive(Debug, Clone, Default)]
pub struct ChatContext;

impl ClientContext for ChatContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let level = match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => log::Level::Error,
            RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => log::Level::Warn,
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => log::Level::Info,
            RDKafkaLogLevel::Debug => log::Level::Debug,
        };
        log::log!(target: "librdkafka", level, "{facility}: {message}");
    }

    fn stats(&self, statistics: Statistics) {
        Self::record_lag(&statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // Unreachable brokers are reported on every reconnect attempt of
        // every client; the producer's probe logs the transition once.
        let unreachable = matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure)
        );
        let level = if unreachable { log::Level::Debug } else { log::Level::Warn };
        log::log!(target: "librdkafka", level, "kafka_error: {error}: {reason}");
    }
}

impl ConsumerContext for ChatContext {}

/// What Kafka said of one record, and where it put it.
pub struct Acknowledgement {
    pub delivery: Delivery,
    pub partition: i32,
    /// The record's timestamp as Kafka keeps it (ms since the Unix epoch).
    pub timestamp_ms: Option<i64>,
}

impl Acknowledgement {
    /// Refused before it reached librdkafka's queue.
    pub fn not_stored(reason: String) -> Self {
        Self { delivery: Delivery::NotStored { reason }, partition: -1, timestamp_ms: None }
    }
}

/// Where one record's outcome goes.
pub struct Outcome {
    /// What the sender awaits.
    pub answer: oneshot::Sender<Acknowledgement>,
    /// For a chat record: the door it goes through to the hub once stored.
    /// Passed here, in librdkafka's own order of acknowledgements, rather
    /// than where the answer is awaited: tasks woken in order are not
    /// always polled in order, and one acknowledgement taken out of turn
    /// left the rest of its partition to the consumer's pace.
    pub handover: Option<Arc<Handover>>,
}

impl ProducerContext for ChatContext {
    type DeliveryOpaque = Box<Outcome>;

    fn delivery(&self, result: &DeliveryResult<'_>, outcome: Self::DeliveryOpaque) {
        let (partition, timestamp_ms) = match result {
            Ok(message) | Err((_, message)) => (message.partition(), message.timestamp().to_millis()),
        };
        let delivery = match result {
            Ok(message) => Delivery::Stored { seq: message.offset() },
            Err((error, message)) => {
                // librdkafka knows whether a failed record ever left this
                // process: only one that never did is certainly not stored.
                // SAFETY: `message` is live for the whole callback.
                let status = unsafe { rd_kafka_message_status(message.ptr()) };
                let reason = error.to_string();
                match status {
                    rd_kafka_msg_status_t::RD_KAFKA_MSG_STATUS_NOT_PERSISTED => Delivery::NotStored { reason },
                    rd_kafka_msg_status_t::RD_KAFKA_MSG_STATUS_PERSISTED if message.offset() >= 0 => {
                        Delivery::Stored { seq: message.offset() }
                    }
                    _ => Delivery::Unknown { reason },
                }
            }
        };
        if let (Delivery::Stored { seq }, Some(handover), Ok(message) | Err((_, message))) =
            (&delivery, &outcome.handover, result)
        {
            let payload = message.payload().unwrap_or_default();
            handover.stored(&LogRecord { partition, offset: *seq, key: message.key(), payload, timestamp_ms });
        }
        // The sender may have stopped waiting (presence records never wait).
        let _ = outcome.answer.send(Acknowledgement { delivery, partition, timestamp_ms });
    }
}

impl ChatContext {
    /// Lag per partition from librdkafka's statistics (enabled for the
    /// consumer by `statistics.interval.ms`): the partition's end minus the
    /// next offset handed to us. Offsets are never committed, so librdkafka's
    /// own `consumer_lag` (against the committed offset) does not apply.
    fn record_lag(statistics: &Statistics) {
        for (topic, stats) in &statistics.topics {
            for partition in stats.partitions.values().filter(|p| p.partition >= 0 && p.desired) {
                // Until a partition's first record reaches us, where it fetches is our position.
                let position = if partition.app_offset >= 0 { partition.app_offset } else { partition.next_offset };
                if partition.hi_offset >= 0 && position >= 0 {
                    let lag = (partition.hi_offset - position).max(0);
                    metrics::gauge!(crate::metrics::CONSUMER_LAG, "topic" => topic.clone(), "partition" => partition.partition.to_string())
                        .set(lag as f64);
                }
            }
        }
    }
}
