//! `KafkaConsumer`: reads the chat and presence topics and hands each record
//! to the room hub; answers history reads from the log.
//!
//! Every instance reads every partition itself (plain `assign`, no consumer
//! group): each must broadcast every message to its own sessions.

use std::sync::Arc;

use actix::prelude::*;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::Semaphore;

use super::{blocking, ensure_topics, history, pause, KafkaClients};
use crate::messages::{ConsumerAssigned, DescribeTopic, PresenceReceived, ReadRoom, RecordReceived, RoomRecords};

/// History reads each open a short-lived Kafka client; this many at once.
const CONCURRENT_HISTORY_READS: usize = 4;

/// Where the consumer hands what it reads.
pub struct ConsumerOutputs {
    pub records: Recipient<RecordReceived>,
    pub presence: Recipient<PresenceReceived>,
    pub assigned: Recipient<ConsumerAssigned>,
}

/// Owns the stream consumer. The read loop runs as a future of this actor,
/// so it ends when the actor stops.
pub struct KafkaConsumer {
    clients: Arc<KafkaClients>,
    outputs: Arc<ConsumerOutputs>,
    history_reads: Arc<Semaphore>,
}

impl KafkaConsumer {
    pub fn new(clients: Arc<KafkaClients>, outputs: ConsumerOutputs) -> Self {
        Self { clients, outputs: Arc::new(outputs), history_reads: Arc::new(Semaphore::new(CONCURRENT_HISTORY_READS)) }
    }
}

impl Actor for KafkaConsumer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let run = read_loop(self.clients.clone(), self.outputs.clone());
        ctx.spawn(run.into_actor(self));
    }
}

impl Handler<ReadRoom> for KafkaConsumer {
    type Result = ResponseFuture<Result<RoomRecords, KafkaError>>;

    fn handle(&mut self, msg: ReadRoom, _: &mut Self::Context) -> Self::Result {
        let (clients, permits) = (self.clients.clone(), self.history_reads.clone());
        Box::pin(async move {
            let _permit = permits.acquire_owned().await.map_err(|_| KafkaError::Canceled)?;
            blocking(move || history::read_room(&clients, &msg)).await
        })
    }
}

impl Handler<DescribeTopic> for KafkaConsumer {
    type Result = ResponseFuture<Result<Vec<crate::messages::PartitionInfo>, KafkaError>>;

    fn handle(&mut self, _: DescribeTopic, _: &mut Self::Context) -> Self::Result {
        let clients = self.clients.clone();
        Box::pin(async move {
            let marks = blocking(move || history::describe_topic(&clients)).await?;
            let info = marks.into_iter().map(|(partition, low, high)| crate::messages::PartitionInfo {
                partition,
                low,
                high,
                position: None,
                lag: None,
            });
            Ok(info.collect())
        })
    }
}

async fn read_loop(clients: Arc<KafkaClients>, outputs: Arc<ConsumerOutputs>) {
    let partitions = loop {
        match assign(&clients).await {
            Ok(partitions) => break partitions,
            Err(e) => {
                log::warn!("Kafka consumer not ready, retrying in {:?}: {e}", clients.settings.retry_backoff);
                pause(clients.settings.retry_backoff).await;
            }
        }
    };
    log::info!("consuming topic {} from {partitions:?}", clients.settings.topic);
    clients.health.set_consuming();
    outputs.assigned.do_send(ConsumerAssigned { partitions });
    let chat_topic = clients.settings.topic.as_str();
    loop {
        match clients.consumer.recv().await {
            Ok(message) => {
                let payload = message.payload().map(<[u8]>::to_vec).unwrap_or_default();
                if message.topic() == chat_topic {
                    let (partition, offset) = (message.partition(), message.offset());
                    let timestamp_ms = message.timestamp().to_millis();
                    outputs.records.do_send(RecordReceived { partition, offset, timestamp_ms, payload });
                } else {
                    outputs.presence.do_send(PresenceReceived { payload });
                }
            }
            // librdkafka reconnects by itself: errors are reports, not ends
            // (the producer's probe logs the outage once). Many may have
            // queued up while nobody polled, so they are drained, not waited on.
            Err(e) => log::debug!("Kafka consumer: {e}"),
        }
        // `recv` is ready at once while events are buffered; yield so the
        // room and the producer on this thread get their turn.
        tokio::task::yield_now().await;
    }
}

/// Assigns every chat partition at its current end, and the presence topic
/// from its beginning (it holds minutes, and stale entries are ignored).
/// Returns `(partition, offset)` for the chat topic. Creates the topics
/// first if they are missing.
async fn assign(clients: &Arc<KafkaClients>) -> Result<Vec<(i32, i64)>, KafkaError> {
    let (chat_topic, presence_topic) = (clients.settings.topic.clone(), clients.settings.presence_topic());
    let mut chat = partition_ids(clients, &chat_topic).await?;
    let mut presence = partition_ids(clients, &presence_topic).await?;
    if chat.is_empty() || presence.is_empty() {
        ensure_topics(&clients.admin, &clients.settings).await?;
        chat = partition_ids(clients, &chat_topic).await?;
        presence = partition_ids(clients, &presence_topic).await?;
    }
    if chat.is_empty() || presence.is_empty() {
        // A topic just created may take a moment to show up in metadata.
        return Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition));
    }
    let task = clients.clone();
    blocking(move || {
        let timeout = task.settings.request_timeout;
        let mut list = TopicPartitionList::new();
        let mut ends = Vec::with_capacity(chat.len());
        for partition in chat {
            let (_, high) = task.consumer.fetch_watermarks(&chat_topic, partition, timeout)?;
            list.add_partition_offset(&chat_topic, partition, Offset::Offset(high))?;
            ends.push((partition, high));
        }
        for partition in presence {
            list.add_partition_offset(&presence_topic, partition, Offset::Beginning)?;
        }
        task.consumer.assign(&list)?;
        Ok(ends)
    })
    .await
}

/// The topic's partition ids; empty when the topic does not exist yet.
/// Looking metadata up before `assign` also spares the first fetch a wait.
async fn partition_ids(clients: &Arc<KafkaClients>, topic: &str) -> Result<Vec<i32>, KafkaError> {
    let (task, topic) = (clients.clone(), topic.to_owned());
    blocking(move || {
        let metadata = task.consumer.fetch_metadata(Some(&topic), task.settings.request_timeout)?;
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect())
    })
    .await
}
