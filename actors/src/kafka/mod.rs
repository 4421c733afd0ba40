//! The chat's narrow interface to Kafka: a producer actor, a consumer actor,
//! the embedded cluster, and the shared health flags that HTTP probes read.

mod consumer;
mod context;
mod embedded;
mod history;
mod producer;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::StreamConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;

pub use consumer::{ConsumerOutputs, KafkaConsumer};
pub use context::ChatContext;
pub use embedded::EmbeddedKafka;
pub use producer::{KafkaProducer, PublishError};

use crate::settings::KafkaSettings;

/// What operators and load balancers ask about: is the broker answering, and
/// is this instance reading the topic? Written by the Kafka actors, read by
/// `/health` and `/ready`.
#[derive(Debug, Clone, Default)]
pub struct KafkaHealth {
    connected: Arc<AtomicBool>,
    consuming: Arc<AtomicBool>,
}

impl KafkaHealth {
    /// The last broker probe succeeded.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// The consumer has its partitions assigned and is fetching.
    pub fn is_consuming(&self) -> bool {
        self.consuming.load(Ordering::Relaxed)
    }

    fn set_connected(&self, connected: bool) -> bool {
        self.connected.swap(connected, Ordering::Relaxed)
    }

    fn set_consuming(&self) {
        self.consuming.store(true, Ordering::Relaxed);
    }
}

/// Everything needed to talk to one Kafka cluster: clients are created
/// here (no network traffic yet) and handed to the actors that use them.
pub struct KafkaClients {
    pub(crate) producer: FutureProducer<ChatContext>,
    pub(crate) consumer: Arc<StreamConsumer<ChatContext>>,
    pub(crate) admin: AdminClient<ChatContext>,
    /// Settings for the short-lived consumers that read history.
    pub(crate) reader_config: ClientConfig,
    pub(crate) settings: KafkaSettings,
    pub(crate) health: KafkaHealth,
    pub(crate) instance_id: String,
}

impl KafkaClients {
    /// Creates the producer, consumer and admin clients for `bootstrap`.
    /// `instance_id` names this server in client ids and record headers.
    pub fn new(settings: &KafkaSettings, bootstrap: &str, instance_id: &str) -> Result<Self, KafkaError> {
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
        Ok(Self {
            reader_config,
            producer: client_config(bootstrap, &client_id, &settings.producer).create_with_context(ChatContext)?,
            consumer: Arc::new(client_config(bootstrap, &client_id, &consumer_props).create_with_context(ChatContext)?),
            admin: client_config(bootstrap, &client_id, &BTreeMap::new()).create_with_context(ChatContext)?,
            settings: settings.clone(),
            health: KafkaHealth::default(),
            instance_id: instance_id.to_owned(),
        })
    }

    /// The flags `/health` and `/ready` read.
    pub fn health(&self) -> KafkaHealth {
        self.health.clone()
    }
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

/// Presence records only matter for a few intervals; a short retention keeps
/// the topic small, and small segments let retention act.
const PRESENCE_TOPIC_CONFIG: [(&str, &str); 2] = [("retention.ms", "600000"), ("segment.ms", "60000")];

/// The partition a room's messages go to. Chosen by us rather than by the
/// client library, so that a history read knows where to look.
pub fn partition_for(room: &str, partitions: i32) -> i32 {
    // FNV-1a: stable across versions and processes.
    let hash = room.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    (hash % partitions.max(1).unsigned_abs()) as i32
}

/// Creates the chat and presence topics unless they already exist.
pub(crate) async fn ensure_topics(
    admin: &AdminClient<ChatContext>,
    settings: &KafkaSettings,
) -> Result<(), KafkaError> {
    let replication = || TopicReplication::Fixed(settings.replication_factor);
    let presence_topic = settings.presence_topic();
    let chat = NewTopic::new(&settings.topic, settings.partitions, replication());
    let presence = PRESENCE_TOPIC_CONFIG
        .iter()
        .fold(NewTopic::new(&presence_topic, 1, replication()), |topic, (k, v)| topic.set(k, v));
    let options = AdminOptions::new().request_timeout(Some(settings.request_timeout));
    let results = admin.create_topics([&chat, &presence], &options).await?;
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

/// Runs a blocking librdkafka call off the actor's thread.
pub(crate) async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, KafkaError> {
    tokio::task::spawn_blocking(call).await.unwrap_or(Err(KafkaError::Canceled))
}

/// A short pause used between retries.
pub(crate) async fn pause(duration: Duration) {
    tokio::time::sleep(duration).await;
}
