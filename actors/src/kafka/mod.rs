//! The chat's narrow interface to Kafka, and the only code that knows
//! partitions, offsets and rdkafka types:
//!
//! - [`KafkaProducer`] writes records and says honestly what became of each;
//! - [`KafkaConsumer`] reads live, from the end it finds when it starts,
//!   the partitions of the rooms with members here ([`follow`]), and hands
//!   rooms' messages to the hub through the [`Handover`], which lets this
//!   instance's own records through on Kafka's acknowledgement when they
//!   are next in their partition;
//! - [`KafkaReader`] answers history reads with a few long-lived readers;
//! - [`EmbeddedKafka`] is librdkafka's mock cluster, for running alone.
//!
//! Rooms live in the partition Kafka's own key partitioner gives them
//! ([`partitioner`]); a message's sequence number is its offset there, and
//! the log's epoch is the topic's id ([`topic_id`]).

mod consumer;
mod context;
mod embedded;
mod follow;
mod handover;
mod partitioner;
mod producer;
mod reader;
mod scan;
mod topic_id;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::StreamConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::ThreadedProducer;
use rdkafka::ClientConfig;

pub use consumer::{ConsumerOutputs, KafkaConsumer};
pub use context::ChatContext;
pub use embedded::EmbeddedKafka;
pub use follow::LiveRooms;
pub use handover::Handover;
pub use partitioner::partition_for;
pub use producer::KafkaProducer;
pub use reader::KafkaReader;

use crate::settings::KafkaSettings;

/// What operators and load balancers ask about: is the broker answering, and
/// is this instance reading the topic? Written by the Kafka actors, read by
/// `/health`, `/ready` and the WebSocket upgrade.
#[derive(Debug, Clone)]
pub struct KafkaHealth {
    connected: Arc<AtomicBool>,
    consuming: Arc<AtomicBool>,
    /// When Kafka last stored a record of ours or handed us one, in ms since `since`.
    answered_ms: Arc<AtomicU64>,
    since: Instant,
}

impl Default for KafkaHealth {
    fn default() -> Self {
        Self {
            connected: Arc::default(),
            consuming: Arc::default(),
            answered_ms: Arc::new(AtomicU64::new(u64::MAX)),
            since: Instant::now(),
        }
    }
}

impl KafkaHealth {
    /// The last broker probe succeeded.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// The consumer has its partitions assigned and the hub knows the epoch:
    /// a client welcomed from now on misses nothing written after its welcome.
    pub fn is_consuming(&self) -> bool {
        self.consuming.load(Ordering::Relaxed)
    }

    fn set_connected(&self, connected: bool) -> bool {
        self.connected.swap(connected, Ordering::Relaxed)
    }

    fn set_consuming(&self) {
        self.consuming.store(true, Ordering::Relaxed);
    }

    /// Kafka just stored or delivered a record: it is answering.
    fn answered(&self) {
        let now = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.answered_ms.store(now, Ordering::Relaxed);
    }

    /// Kafka stored or delivered a record within `window`. A probe that
    /// times out while records flow is this instance's own load (a saturated
    /// machine answers metadata late), not an absent broker: refusing every
    /// client then would punish them for the server's burst.
    fn answered_within(&self, window: Duration) -> bool {
        let at = self.answered_ms.load(Ordering::Relaxed);
        let now = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        at != u64::MAX && now.saturating_sub(at) <= u64::try_from(window.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Everything needed to talk to one Kafka cluster: clients are created
/// here (no network traffic yet) and handed to the actors that use them.
pub struct KafkaClients {
    pub(crate) producer: Arc<ThreadedProducer<ChatContext>>,
    pub(crate) consumer: Arc<StreamConsumer<ChatContext>>,
    pub(crate) admin: AdminClient<ChatContext>,
    /// Settings for the long-lived consumers that read history.
    pub(crate) reader_config: ClientConfig,
    pub(crate) settings: KafkaSettings,
    pub(crate) health: KafkaHealth,
    pub(crate) instance_id: String,
    /// Records of other services are held to the same text limit as clients.
    pub(crate) max_text_chars: usize,
    /// The epoch of the embedded cluster's log. librdkafka's mock cluster
    /// does not answer DescribeTopics, and needs no topic id: its log lives
    /// and dies with this process, so a fresh random id per process marks
    /// each of its logs apart just as well.
    pub(crate) embedded_epoch: Option<crate::messages::Epoch>,
    /// The rooms whose partitions the live consumer reads.
    pub(crate) live: LiveRooms,
}

impl KafkaClients {
    /// Creates the producer, consumer and admin clients for `bootstrap`.
    /// `instance_id` names this server in client ids and record headers.
    pub fn new(
        settings: &KafkaSettings,
        bootstrap: &str,
        instance_id: &str,
        max_text_chars: usize,
    ) -> Result<Self, KafkaError> {
        let client_id = format!("anime-chat-{instance_id}");
        let mut consumer_props = if settings.is_embedded() {
            merged(&settings.consumer, &settings.embedded.consumer)
        } else {
            settings.consumer.clone()
        };
        // librdkafka wants a group id even for `assign`; it never joins the
        // group or commits, so each instance's id is its own.
        consumer_props.entry("group.id".into()).or_insert_with(|| client_id.clone());
        let mut reader_config = client_config(bootstrap, &format!("{client_id}-history"), &consumer_props);
        // Only the live consumer's statistics describe this instance's lag.
        reader_config.set("statistics.interval.ms", "0");
        // A history scan re-assigns its partition for each window: a fetch
        // parked at the log's end would hold every window that long.
        reader_config.set("fetch.wait.max.ms", "10");
        // A scan to the log's end learns it is there even when the last
        // offsets hold no record it gets (transaction markers).
        reader_config.set("enable.partition.eof", "true");
        let mut producer_config = client_config(bootstrap, &client_id, &settings.producer);
        // Not a setting: rooms must land where Kafka's standard partitioner
        // (the Java client's) puts key = room, which is where we read them.
        producer_config.set("partitioner", "murmur2_random");
        Ok(Self {
            reader_config,
            producer: Arc::new(producer_config.create_with_context(ChatContext)?),
            consumer: Arc::new(client_config(bootstrap, &client_id, &consumer_props).create_with_context(ChatContext)?),
            admin: client_config(bootstrap, &client_id, &BTreeMap::new()).create_with_context(ChatContext)?,
            settings: settings.clone(),
            health: KafkaHealth::default(),
            instance_id: instance_id.to_owned(),
            max_text_chars,
            embedded_epoch: settings.is_embedded().then(random_epoch),
            live: LiveRooms::default(),
        })
    }

    /// The rooms whose live stream this instance reads.
    pub fn live_rooms(&self) -> LiveRooms {
        self.live.clone()
    }

    /// The flags `/health` and `/ready` read.
    pub fn health(&self) -> KafkaHealth {
        self.health.clone()
    }
}

/// 22 characters of base64url, the form of a Kafka topic id.
fn random_epoch() -> crate::messages::Epoch {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits = uuid::Uuid::new_v4().as_u128();
    let id: String = (0..22).map(|i| ALPHABET[((bits >> (i * 6)) & 63) as usize] as char).collect();
    crate::messages::Epoch::new(&id)
}

fn client_config(bootstrap: &str, client_id: &str, props: &BTreeMap<String, String>) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap).set("client.id", client_id);
    for (key, value) in props {
        config.set(key, value);
    }
    config
}

fn merged(base: &BTreeMap<String, String>, overrides: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut all = base.clone();
    all.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

/// Creates the chat topic and the side topics unless they already exist.
pub(crate) async fn ensure_topics(
    admin: &AdminClient<ChatContext>,
    settings: &KafkaSettings,
) -> Result<(), KafkaError> {
    let replication = || TopicReplication::Fixed(settings.replication_factor);
    let side = settings.side_topics();
    let mut topics = vec![NewTopic::new(&settings.topic, settings.partitions, replication())];
    for (name, config) in &side {
        topics.push(config.iter().fold(NewTopic::new(name, 1, replication()), |topic, (k, v)| topic.set(k, v)));
    }
    let options = AdminOptions::new().request_timeout(Some(settings.request_timeout));
    let results = admin.create_topics(&topics, &options).await?;
    for result in results {
        match result {
            Ok(name) => log::info!("created topic {name}"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                log::warn!("could not create topic {name}: {code}");
                return Err(KafkaError::AdminOp(code));
            }
        }
    }
    Ok(())
}

/// A room's record as read from `partition` at `offset`, checked like
/// client input. What other services may leave out is filled in here, the
/// same way on every instance: the id from the record's place in the log,
/// and the timestamp, in UTC, from Kafka's when it is missing or not RFC 3339.
pub(crate) fn room_record(
    payload: &[u8],
    key: Option<&[u8]>,
    partition: i32,
    offset: i64,
    timestamp_ms: Option<i64>,
    max_text_chars: usize,
) -> Result<crate::protocol::RoomRecord, String> {
    let mut record = crate::protocol::RoomRecord::parse(payload, key, max_text_chars)?;
    let (id, timestamp) = record.id_and_timestamp_mut();
    if id.is_empty() {
        *id = format!("kafka-{partition}-{offset}");
    }
    // Every reader shows and compares one form: RFC 3339 in UTC with
    // milliseconds. Another service's own time, in any offset, is kept;
    // without one that parses, the record's Kafka time stands in.
    let at = chrono::DateTime::parse_from_rfc3339(timestamp).map(|at| at.to_utc()).ok();
    let at = at.or_else(|| timestamp_ms.and_then(chrono::DateTime::from_timestamp_millis));
    *timestamp = at.unwrap_or_else(chrono::Utc::now).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Ok(record)
}

/// Runs a blocking librdkafka call off the actor's thread.
pub(crate) async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, KafkaError> {
    tokio::task::spawn_blocking(call).await.unwrap_or(Err(KafkaError::Canceled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_flowing_count_as_kafka_answering_for_a_while() {
        let health = KafkaHealth::default();
        assert!(!health.answered_within(Duration::from_secs(60)), "nothing answered yet");
        health.answered();
        assert!(health.answered_within(Duration::from_secs(60)));
        std::thread::sleep(Duration::from_millis(30));
        assert!(!health.answered_within(Duration::from_millis(10)), "an answer too long ago");
    }
}
