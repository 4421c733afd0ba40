//! `ChatContext`: how librdkafka's own reports reach our logs. A broker that
//! is away is an operational fault, not a crash, so librdkafka's errors are
//! logged at warn (librdkafka already folds identical repeats).

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

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
