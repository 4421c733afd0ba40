//! `KafkaProducer`: writes chat records and answers with where they landed.

use std::time::Duration;

use actix::prelude::*;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use super::{blocking, ChatContext, KafkaClients, KafkaHealth};
use crate::messages::{Flush, Publish, Stored, Topic};

/// Headers every chat record carries, so Control Center and the console
/// tools can show what a record is and who wrote it.
pub const CONTENT_TYPE: &str = "application/json";
pub const SCHEMA: &str = "chat_message/v1";
pub const PRESENCE_SCHEMA: &str = "presence/v1";

/// Mailbox size: a burst of sends waits here rather than parking senders,
/// which would not keep their order.
const MAILBOX_CAPACITY: usize = 65_536;

/// Why a record was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("Kafka did not store the record: {0}")]
    Kafka(#[from] KafkaError),
    #[error("the producer stopped before Kafka answered")]
    Canceled,
}

/// Owns the idempotent producer and probes the broker for `/health`.
pub struct KafkaProducer {
    producer: FutureProducer<ChatContext>,
    topic: String,
    presence_topic: String,
    headers: OwnedHeaders,
    presence_headers: OwnedHeaders,
    health: KafkaHealth,
    probe_interval: Duration,
    probe_timeout: Duration,
}

impl KafkaProducer {
    pub fn new(clients: &KafkaClients) -> Self {
        let headers = |schema: &str| {
            OwnedHeaders::new_with_capacity(3)
                .insert(Header { key: "content-type", value: Some(CONTENT_TYPE) })
                .insert(Header { key: "schema", value: Some(schema) })
                .insert(Header { key: "producer", value: Some(clients.instance_id.as_str()) })
        };
        Self {
            producer: clients.producer.clone(),
            topic: clients.settings.topic.clone(),
            presence_topic: clients.settings.presence_topic(),
            headers: headers(SCHEMA),
            presence_headers: headers(PRESENCE_SCHEMA),
            health: clients.health.clone(),
            probe_interval: clients.settings.health_interval,
            probe_timeout: clients.settings.request_timeout,
        }
    }

    fn probe(&mut self, ctx: &mut Context<Self>) {
        let producer = self.producer.clone();
        let (topic, timeout, health) = (self.topic.clone(), self.probe_timeout, self.health.clone());
        let probe = async move {
            let answer = blocking(move || producer.client().fetch_metadata(Some(&topic), timeout).map(drop)).await;
            let connected = answer.is_ok();
            if health.set_connected(connected) != connected {
                match answer {
                    Ok(()) => log::info!("Kafka is reachable"),
                    Err(e) => log::warn!("Kafka is unreachable: {e}"),
                }
            }
        };
        ctx.spawn(probe.into_actor(self));
    }
}

impl Actor for KafkaProducer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        self.probe(ctx);
        ctx.run_interval(self.probe_interval, Self::probe);
    }
}

impl Handler<Flush> for KafkaProducer {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Flush, _: &mut Self::Context) -> Self::Result {
        let producer = self.producer.clone();
        // Queued records get until their own delivery timeout, so nothing
        // acknowledged-to-be is cut short; librdkafka bounds that wait.
        Box::pin(async move {
            match blocking(move || producer.flush(rdkafka::util::Timeout::Never)).await {
                Ok(()) => log::info!("producer flushed"),
                Err(e) => log::warn!("producer flush failed: {e}"),
            }
        })
    }
}

impl Handler<Publish> for KafkaProducer {
    type Result = ResponseFuture<Result<Stored, PublishError>>;

    fn handle(&mut self, msg: Publish, _: &mut Self::Context) -> Self::Result {
        let (topic, headers) = match msg.topic {
            Topic::Chat => (&self.topic, &self.headers),
            Topic::Presence => (&self.presence_topic, &self.presence_headers),
        };
        let mut record = FutureRecord::to(topic).key(&msg.key).payload(&msg.payload).headers(headers.clone());
        record.partition = msg.partition;
        // Enqueue now, in mailbox order, so one session's messages keep
        // their order in the log; only the acknowledgement is awaited.
        let delivery = self.producer.send_result(record).map_err(|(e, _)| PublishError::Kafka(e));
        let (sent, timed) = (std::time::Instant::now(), msg.topic == Topic::Chat);
        Box::pin(async move {
            match delivery?.await {
                Ok(Ok(stored)) => {
                    if timed {
                        crate::metrics::produced(sent.elapsed());
                    }
                    Ok(Stored { partition: stored.partition, offset: stored.offset })
                }
                Ok(Err((e, _))) => Err(PublishError::Kafka(e)),
                Err(_) => Err(PublishError::Canceled),
            }
        })
    }
}
