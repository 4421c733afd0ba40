//! `KafkaConsumer`: reads the chat topic and hands each record to the room hub.
//!
//! Every instance reads every partition itself (plain `assign`, no consumer
//! group): each must broadcast every message to its own sessions.

use std::sync::Arc;

use actix::prelude::*;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::{blocking, ensure_topic, pause, KafkaClients};
use crate::messages::{ConsumerAssigned, RecordReceived};

/// Owns the stream consumer. The read loop runs as a future of this actor,
/// so it ends when the actor stops.
pub struct KafkaConsumer {
    clients: Arc<KafkaClients>,
    room: Recipient<RecordReceived>,
    assigned: Recipient<ConsumerAssigned>,
}

impl KafkaConsumer {
    pub fn new(
        clients: Arc<KafkaClients>,
        room: Recipient<RecordReceived>,
        assigned: Recipient<ConsumerAssigned>,
    ) -> Self {
        Self { clients, room, assigned }
    }
}

impl Actor for KafkaConsumer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let run = read_loop(self.clients.clone(), self.room.clone(), self.assigned.clone());
        ctx.spawn(run.into_actor(self));
    }
}

async fn read_loop(
    setup: Arc<KafkaClients>,
    room: Recipient<RecordReceived>,
    assigned: Recipient<ConsumerAssigned>,
) {
    let partitions = loop {
        match assign_at_end(&setup).await {
            Ok(partitions) => break partitions,
            Err(e) => {
                log::warn!("Kafka consumer not ready, retrying in {:?}: {e}", setup.settings.retry_backoff);
                pause(setup.settings.retry_backoff).await;
            }
        }
    };
    log::info!("consuming topic {} from {partitions:?}", setup.settings.topic);
    setup.health.set_consuming();
    assigned.do_send(ConsumerAssigned { partitions });
    loop {
        match setup.consumer.recv().await {
            Ok(message) => room.do_send(RecordReceived {
                partition: message.partition(),
                offset: message.offset(),
                payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            }),
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

/// Assigns every partition of the topic at its current end and returns
/// `(partition, offset)` for each. Creates the topic first if it is missing.
async fn assign_at_end(setup: &Arc<KafkaClients>) -> Result<Vec<(i32, i64)>, KafkaError> {
    let mut partitions = partition_ids(setup).await?;
    if partitions.is_empty() {
        ensure_topic(&setup.admin, &setup.settings).await?;
        partitions = partition_ids(setup).await?;
    }
    if partitions.is_empty() {
        // A topic just created may take a moment to show up in metadata.
        return Err(KafkaError::MetadataFetch(rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition));
    }
    let task = setup.clone();
    blocking(move || {
        let (topic, timeout) = (&task.settings.topic, task.settings.request_timeout);
        let mut list = TopicPartitionList::new();
        let mut ends = Vec::with_capacity(partitions.len());
        for partition in partitions {
            let (_, high) = task.consumer.fetch_watermarks(topic, partition, timeout)?;
            list.add_partition_offset(topic, partition, Offset::Offset(high))?;
            ends.push((partition, high));
        }
        task.consumer.assign(&list)?;
        Ok(ends)
    })
    .await
}

/// The topic's partition ids; empty when the topic does not exist yet.
/// Looking metadata up before `assign` also spares the first fetch a wait.
async fn partition_ids(setup: &Arc<KafkaClients>) -> Result<Vec<i32>, KafkaError> {
    let task = setup.clone();
    blocking(move || {
        let metadata = task
            .consumer
            .fetch_metadata(Some(&task.settings.topic), task.settings.request_timeout)?;
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect())
    })
    .await
}
