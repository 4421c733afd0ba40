//! `KafkaConsumer`: reads the chat and presence topics live and hands each
//! room's messages to the hub, in the log's order.
//!
//! Every instance reads the partitions it needs itself (plain `assign`, no
//! consumer group): each broadcasts its rooms' messages to its own sessions,
//! and reads a room's partition only while the room has members here
//! ([`super::follow`]). The side topics are read whole. Chat records go
//! through the [`Handover`], which skips those of this instance that Kafka's
//! acknowledgement already brought.

use std::sync::Arc;

use actix::prelude::*;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::follow::Following;
use super::handover::{Handover, LogRecord};
use super::reader::TopicLayout;
use super::{blocking, ensure_topics, topic_id, KafkaClients, KafkaReader};
use crate::messages::{
    Assigned, DescribeTopic, Epoch, FeedStopped, IdentitySeen, ModerationReceived, PartitionInfo, PresenceReceived,
    TopicOverview,
};
use crate::protocol::Refusal;

/// Where the consumer hands what it reads.
pub struct ConsumerOutputs {
    /// Rooms' messages, on their way to the hub.
    pub records: Arc<Handover>,
    pub assigned: Recipient<Assigned>,
    pub presence: Recipient<PresenceReceived>,
    pub identities: Recipient<IdentitySeen>,
    pub moderation: Recipient<ModerationReceived>,
    /// Told when the consumer stops reading some rooms.
    pub feed_stopped: Recipient<FeedStopped>,
}

/// Owns the stream consumer. The read loop runs as a future of this actor,
/// so it ends when the actor stops.
pub struct KafkaConsumer {
    pub(super) clients: Arc<KafkaClients>,
    pub(super) outputs: Arc<ConsumerOutputs>,
    reader: Addr<KafkaReader>,
    epoch: Option<Epoch>,
    pub(super) following: Following,
}

/// Where reading starts when the consumer is assigned.
struct Assignment {
    epoch: Epoch,
    partitions: i32,
    /// The end of each state topic when assigned: until the consumer has
    /// read that far, moderation and names are not known yet.
    catch_up: Vec<(String, i64)>,
}

impl KafkaConsumer {
    pub fn new(clients: Arc<KafkaClients>, outputs: ConsumerOutputs, reader: Addr<KafkaReader>) -> Self {
        let following = Following::new(clients.live.clone());
        Self { clients, outputs: Arc::new(outputs), reader, epoch: None, following }
    }

    /// Tells the hub and the reader which log is read now.
    fn announce(&mut self, assignment: &Assignment) {
        self.epoch = Some(assignment.epoch.clone());
        self.following.live.set_partitions(assignment.partitions);
        self.reader.do_send(TopicLayout { partitions: assignment.partitions });
        self.outputs.assigned.do_send(Assigned { epoch: assignment.epoch.clone() });
    }

    /// A topic deleted and recreated under a running server has a new id:
    /// its offsets start again, so it is another epoch, read from its start.
    fn check_epoch(&mut self, ctx: &mut Context<Self>) {
        let clients = self.clients.clone();
        let check = async move {
            let (topic, timeout) = (clients.settings.topic.clone(), clients.settings.request_timeout);
            let task = clients.clone();
            blocking(move || topic_id::topic_id(task.admin.inner(), &topic, timeout)).await
        };
        ctx.spawn(check.into_actor(self).map(|id, act, ctx| {
            let Ok(id) = id else { return };
            // A partition being read or released now would be lost to the
            // whole assignment below (or added back at an old offset): the
            // next check, one interval on, finds the new log still there.
            if act.epoch.as_ref().is_none_or(|epoch| epoch.as_str() == id) || act.following.changing {
                return;
            }
            log::warn!("the chat topic was recreated (id {id}); reading the new log from its start");
            let (clients, read) = (act.clients.clone(), act.following.live.partitions());
            let handover = act.outputs.records.clone();
            act.following.changing = true;
            let reassign = async move { assign(&clients, &handover, &read, Offset::Beginning).await };
            ctx.wait(reassign.into_actor(act).map(|assigned, act, ctx| {
                act.following.changing = false;
                match assigned {
                    Ok(assignment) => act.announce(&assignment),
                    Err(e) => log::warn!("could not assign the recreated topic, retrying: {e}"),
                }
                act.next_change(ctx);
            }));
        }));
    }
}

impl Actor for KafkaConsumer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let (clients, handover) = (self.clients.clone(), self.outputs.records.clone());
        let assigned = async move {
            loop {
                match assign(&clients, &handover, &[], Offset::End).await {
                    Ok(assignment) => return assignment,
                    Err(e) => {
                        log::warn!("Kafka consumer not ready, retrying in {:?}: {e}", clients.settings.retry_backoff);
                        tokio::time::sleep(clients.settings.retry_backoff).await;
                    }
                }
            }
        };
        ctx.wait(assigned.into_actor(self).map(|assignment, act, ctx| {
            log::info!("consuming topic {} (epoch {})", act.clients.settings.topic, assignment.epoch.as_str());
            act.announce(&assignment);
            let read = read_loop(act.clients.clone(), act.outputs.clone(), assignment.catch_up);
            ctx.spawn(read.into_actor(act));
            if act.clients.embedded_epoch.is_none() {
                ctx.run_interval(act.clients.settings.health_interval, Self::check_epoch);
            }
        }));
    }
}

impl Handler<DescribeTopic> for KafkaConsumer {
    type Result = ResponseFuture<Result<TopicOverview, Refusal>>;

    fn handle(&mut self, _: DescribeTopic, _: &mut Self::Context) -> Self::Result {
        let clients = self.clients.clone();
        let epoch = self.epoch.as_ref().map(|e| e.as_str().to_owned());
        Box::pin(async move {
            let task = clients.clone();
            let partitions = blocking(move || describe_partitions(&task))
                .await
                .map_err(|e| Refusal::unavailable(format!("Kafka could not be asked about the topic: {e}")))?;
            Ok(TopicOverview {
                instance: clients.instance_id.clone(),
                topic: clients.settings.topic.clone(),
                epoch,
                partitions,
            })
        })
    }
}

/// Reads until the actor stops. Once every state topic is read to the end
/// it had when assigned (and the hub has the epoch in its mailbox), the
/// instance is ready: upgrades may come.
async fn read_loop(clients: Arc<KafkaClients>, outputs: Arc<ConsumerOutputs>, mut catch_up: Vec<(String, i64)>) {
    let settings = &clients.settings;
    let (chat, presence, identities) = (settings.topic.clone(), settings.presence_topic(), settings.identities_topic());
    let (moderation, audit) = (settings.moderation_topic(), settings.audit_topic());
    loop {
        if catch_up.is_empty() && !clients.health.is_consuming() {
            clients.health.set_consuming();
        }
        match clients.consumer.recv().await {
            Ok(message) => {
                clients.health.answered();
                let topic = message.topic();
                catch_up.retain(|(name, end)| name != topic || message.offset() + 1 < *end);
                let payload = || message.payload().map(<[u8]>::to_vec).unwrap_or_default();
                if topic == chat {
                    outputs.records.read(&LogRecord {
                        partition: message.partition(),
                        offset: message.offset(),
                        key: message.key(),
                        payload: message.payload().unwrap_or_default(),
                        timestamp_ms: message.timestamp().to_millis(),
                    });
                } else if topic == presence {
                    outputs.presence.do_send(PresenceReceived { payload: payload() });
                } else if topic == identities {
                    on_identity_record(&outputs, &payload());
                } else if topic == moderation || topic == audit {
                    outputs.moderation.do_send(ModerationReceived { payload: payload(), audit: topic == audit });
                }
            }
            // librdkafka reconnects by itself: errors are reports, not ends
            // (the producer's probe logs the outage once). Many may have
            // queued up while nobody polled, so they are drained, not waited on.
            Err(e) => log::debug!("Kafka consumer: {e}"),
        }
        // `recv` is ready at once while events are buffered; yield so the
        // hub and the producer on this thread get their turn.
        tokio::task::yield_now().await;
    }
}

fn on_identity_record(outputs: &ConsumerOutputs, payload: &[u8]) {
    match serde_json::from_slice(payload) {
        Ok(record) => outputs.identities.do_send(IdentitySeen { record }),
        // A tombstone (empty value) or another writer's record: nothing to learn.
        Err(e) => log::debug!("skipping identity record: {e}"),
    }
}

/// Assigns the side topics from their beginning (state, and minutes of
/// presence whose stale entries are ignored) and the chat partitions `read`
/// at `start`. Creates the topics first if they are missing.
async fn assign(
    clients: &Arc<KafkaClients>,
    handover: &Arc<Handover>,
    read: &[i32],
    start: Offset,
) -> Result<Assignment, KafkaError> {
    let (read, handover) = (read.to_vec(), handover.clone());
    let chat_topic = clients.settings.topic.clone();
    let side: Vec<String> = clients.settings.side_topics().into_iter().map(|(name, _)| name).collect();
    let (mut chat, mut missing) = (partition_ids(clients, &chat_topic).await?, false);
    for topic in &side {
        missing |= partition_ids(clients, topic).await?.is_empty();
    }
    if chat.is_empty() || missing {
        ensure_topics(&clients.admin, &clients.settings).await?;
        chat = partition_ids(clients, &chat_topic).await?;
        missing = false;
        for topic in &side {
            missing |= partition_ids(clients, topic).await?.is_empty();
        }
    }
    if chat.is_empty() || missing {
        // A topic just created may take a moment to show up in metadata.
        return Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition));
    }
    let task = clients.clone();
    blocking(move || {
        let timeout = task.settings.request_timeout;
        let epoch = match &task.embedded_epoch {
            Some(epoch) => epoch.clone(),
            None => Epoch::new(&topic_id::topic_id(task.admin.inner(), &chat_topic, timeout)?),
        };
        let mut list = TopicPartitionList::new();
        for partition in read.iter().filter(|p| chat.contains(p)) {
            // At the end found now: everything written from here on is read.
            let at = match start {
                Offset::End => Offset::Offset(task.consumer.fetch_watermarks(&chat_topic, *partition, timeout)?.1),
                other => other,
            };
            match at {
                Offset::Offset(offset) => handover.reading_from(*partition, offset),
                _ => handover.reading_from_unknown(*partition),
            }
            list.add_partition_offset(&chat_topic, *partition, at)?;
        }
        // The side topics hold state (or minutes of presence): read whole.
        let mut catch_up = Vec::new();
        for topic in &side {
            list.add_partition_offset(topic, 0, Offset::Beginning)?;
            let (low, high) = task.consumer.fetch_watermarks(topic, 0, timeout)?;
            if high > low && topic != &task.settings.presence_topic() {
                catch_up.push((topic.clone(), high));
            }
        }
        task.consumer.assign(&list)?;
        let partitions = i32::try_from(chat.len()).unwrap_or(i32::MAX);
        Ok(Assignment { epoch, partitions, catch_up })
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

/// Low and high watermarks of every chat partition, and where this instance reads.
fn describe_partitions(clients: &KafkaClients) -> Result<Vec<PartitionInfo>, KafkaError> {
    let (topic, timeout) = (clients.settings.topic.as_str(), clients.settings.request_timeout);
    let metadata = clients.consumer.fetch_metadata(Some(topic), timeout)?;
    let positions = clients.consumer.position()?;
    let ids: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    ids.into_iter()
        .map(|partition| {
            let (low, high) = clients.consumer.fetch_watermarks(topic, partition, timeout)?;
            let position = positions.find_partition(topic, partition).and_then(|p| match p.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            });
            let lag = position.map(|position| (high - position).max(0));
            Ok(PartitionInfo { partition, low, high, position, lag })
        })
        .collect()
}
