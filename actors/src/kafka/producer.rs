//! `KafkaProducer`: writes chat and presence records and says what became of
//! each chat record: stored (with its sequence number), certainly not stored,
//! or unknown (Kafka's answer was lost while the record was in flight). A
//! stored chat record goes to the [`Handover`] too, which may give it to the
//! hub before the consumer reads it back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use tokio::sync::oneshot;

use super::context::{Acknowledgement, Outcome};
use super::handover::Handover;
use super::{blocking, ChatContext, KafkaClients, KafkaHealth, LiveRooms};
use crate::messages::{Delivery, Flush, PublishChat, PublishSide, SideTopic};
use crate::protocol::RoomRecord;

/// Headers every chat record carries, so Control Center and the console
/// tools can show what a record is and who wrote it.
pub const CONTENT_TYPE: &str = "application/json";
pub const PRESENCE_SCHEMA: &str = "presence/v1";
pub const IDENTITY_SCHEMA: &str = "identity/v1";
pub const MODERATION_SCHEMA: &str = "moderation/v1";

/// Mailbox size: a burst of sends waits here rather than parking senders,
/// which would not keep their order.
const MAILBOX_CAPACITY: usize = 65_536;

/// Owns the idempotent producer and probes the broker for `/health`.
pub struct KafkaProducer {
    producer: Arc<ThreadedProducer<ChatContext>>,
    topic: String,
    /// The chat topic's headers for each kind of record, by `schema`.
    headers: Vec<(&'static str, OwnedHeaders)>,
    /// Each side topic's name and headers.
    side: [(SideTopic, String, OwnedHeaders); 4],
    health: KafkaHealth,
    handover: Arc<Handover>,
    live: LiveRooms,
    probe_interval: Duration,
    probe_timeout: Duration,
}

impl KafkaProducer {
    pub fn new(clients: &KafkaClients, handover: Arc<Handover>) -> Self {
        let headers = |schema: &str| {
            OwnedHeaders::new_with_capacity(3)
                .insert(Header { key: "content-type", value: Some(CONTENT_TYPE) })
                .insert(Header { key: "schema", value: Some(schema) })
                .insert(Header { key: "producer", value: Some(clients.instance_id.as_str()) })
        };
        Self {
            producer: clients.producer.clone(),
            topic: clients.settings.topic.clone(),
            headers: RoomRecord::SCHEMAS.iter().map(|schema| (*schema, headers(schema))).collect(),
            side: [
                (SideTopic::Presence, clients.settings.presence_topic(), headers(PRESENCE_SCHEMA)),
                (SideTopic::Identities, clients.settings.identities_topic(), headers(IDENTITY_SCHEMA)),
                (SideTopic::Moderation, clients.settings.moderation_topic(), headers(MODERATION_SCHEMA)),
                (SideTopic::Audit, clients.settings.audit_topic(), headers(MODERATION_SCHEMA)),
            ],
            health: clients.health.clone(),
            handover,
            live: clients.live_rooms(),
            probe_interval: clients.settings.health_interval,
            probe_timeout: clients.settings.request_timeout,
        }
    }

    fn probe(&mut self, ctx: &mut Context<Self>) {
        let producer = self.producer.clone();
        let (topic, timeout, health) = (self.topic.clone(), self.probe_timeout, self.health.clone());
        let evidence = self.probe_interval + self.probe_timeout;
        let probe = async move {
            let answer = blocking(move || producer.client().fetch_metadata(Some(&topic), timeout).map(drop)).await;
            let connected = answer.is_ok() || health.answered_within(evidence);
            if health.set_connected(connected) != connected {
                match answer {
                    Ok(()) => log::info!("Kafka is reachable"),
                    Err(e) => log::warn!("Kafka is unreachable: {e}"),
                }
            }
        };
        ctx.spawn(probe.into_actor(self));
    }

    /// Hands a record to librdkafka (into `partition`, or where its
    /// partitioner says); its outcome arrives on the receiver.
    fn enqueue(
        &self,
        (topic, partition): (&str, Option<i32>),
        key: &str,
        payload: &[u8],
        headers: &OwnedHeaders,
        handover: Option<Arc<Handover>>,
    ) -> oneshot::Receiver<Acknowledgement> {
        let (answer, delivered) = oneshot::channel();
        let outcome = Box::new(Outcome { answer, handover });
        let mut record = BaseRecord::with_opaque_to(topic, outcome).key(key).payload(payload).headers(headers.clone());
        record.partition = partition;
        if let Err((e, record)) = self.producer.send(record) {
            // Refused before it was queued (queue full, too large): never sent.
            let _ = record.delivery_opaque.answer.send(Acknowledgement::not_stored(e.to_string()));
        }
        delivered
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

impl Handler<PublishChat> for KafkaProducer {
    type Result = ResponseFuture<Delivery>;

    fn handle(&mut self, msg: PublishChat, _: &mut Self::Context) -> Self::Result {
        // Enqueued now, in mailbox order, so one session's messages keep
        // their order in the log; only the outcome is awaited.
        let Some((_, headers)) = self.headers.iter().find(|(schema, _)| *schema == msg.schema) else {
            let reason = format!("no headers for {}", msg.schema);
            return Box::pin(async move { Delivery::NotStored { reason } });
        };
        let at = (self.topic.as_str(), self.live.home_of(&msg.room));
        let delivered = self.enqueue(at, &msg.room, &msg.payload, headers, Some(self.handover.clone()));
        let (sent, health) = (Instant::now(), self.health.clone());
        Box::pin(async move {
            let Ok(acknowledgement) = delivered.await else {
                return Delivery::Unknown { reason: "the producer stopped before Kafka answered".into() };
            };
            if let Delivery::Stored { .. } = acknowledgement.delivery {
                health.answered();
                crate::metrics::produced(sent.elapsed());
            }
            acknowledgement.delivery
        })
    }
}

impl Handler<PublishSide> for KafkaProducer {
    type Result = ResponseFuture<Delivery>;

    fn handle(&mut self, msg: PublishSide, _: &mut Self::Context) -> Self::Result {
        let Some((_, topic, headers)) = self.side.iter().find(|(side, _, _)| *side == msg.topic) else {
            return Box::pin(async { Delivery::NotStored { reason: "no such topic".into() } });
        };
        let delivered = self.enqueue((topic, None), &msg.key, &msg.payload, headers, None);
        let health = self.health.clone();
        Box::pin(async move {
            let delivery = delivered
                .await
                .map_or_else(|_| Delivery::Unknown { reason: "the producer stopped".into() }, |a| a.delivery);
            if let Delivery::Stored { .. } = delivery {
                health.answered();
            }
            delivery
        })
    }
}
