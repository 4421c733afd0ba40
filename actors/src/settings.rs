//! The parts of the configuration tree that the actors read. The server crate
//! nests these under `[chat]`, `[history]` and `[kafka]`; defaults live in
//! `config/default.toml`, so there are no `Default` impls here to drift.

use std::collections::BTreeMap;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

/// `[chat]`: what a conversation may contain, how a session is kept alive
/// and when it counts as too slow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    /// Room used when a client does not name one.
    pub default_room: String,
    /// Longest message text, in Unicode scalar values after trimming.
    pub max_text_chars: usize,
    /// Longest `client_msg_id` a client may attach to a message.
    pub max_client_msg_id_chars: usize,
    /// Largest WebSocket message accepted; a larger one closes the connection with 1009.
    pub max_frame_bytes: usize,
    /// Frames a connection may send per second, sustained.
    pub rate_per_second: u32,
    /// Frames a connection may send in a burst above the sustained rate.
    pub rate_burst: u32,
    /// Messages all connections of one client address may send per second,
    /// sustained, and in a burst: a budget many connections cannot multiply.
    pub address_rate_per_second: u32,
    pub address_rate_burst: u32,
    /// Refused frames in a row (over the rate) after which the connection
    /// is closed with 1008.
    pub flood_close_after: u32,
    /// A session with more than this queued for it and not yet taken by its
    /// socket is too slow: it is dropped, and the room never waits for it.
    pub outbound_max_bytes: ByteSize,
    /// ... and so is one whose oldest queued frame has waited this long.
    #[serde(with = "humantime_serde")]
    pub outbound_max_delay: Duration,
    /// How often a session pings its peer and sends `{"type":"heartbeat"}`.
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// A peer that sends nothing (not even a pong) for this long is dropped.
    #[serde(with = "humantime_serde")]
    pub client_timeout: Duration,
    /// A session's typing notices reach the others at most this often.
    #[serde(with = "humantime_serde")]
    pub typing_interval: Duration,
    /// How often each instance publishes who is online on it.
    #[serde(with = "humantime_serde")]
    pub presence_interval: Duration,
    /// An instance not heard from for this long is taken as gone, and its
    /// users leave presence.
    #[serde(with = "humantime_serde")]
    pub presence_ttl: Duration,
    /// A send retried with the same `client_msg_id` within this window is
    /// answered with the first attempt's outcome, never stored twice.
    #[serde(with = "humantime_serde")]
    pub retry_window: Duration,
    /// An identity seen online within this long keeps its name: nobody else
    /// is given it, and HTTP clients cannot post under it without its token.
    #[serde(with = "humantime_serde")]
    pub name_memory: Duration,
    /// How long after sending a message its author may still edit it.
    #[serde(with = "humantime_serde")]
    pub edit_window: Duration,
}

/// `[moderation]`: what is refused or masked in every message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModerationSettings {
    /// Regular expressions (case-insensitive), matched against the text.
    pub blocked_words: Vec<String>,
    /// What happens to a message that matches one.
    pub blocked_action: BlockedAction,
}

/// What happens to a message holding a blocked word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockedAction {
    /// Refused with `blocked_text`.
    Refuse,
    /// Posted with each match replaced by asterisks.
    Mask,
}

/// `[history]`: what joins and resumes replay, and the memory and Kafka
/// reads spent on it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySettings {
    /// Messages a new connection gets when it names no `since`.
    pub default: usize,
    /// Most history a client may ask for with `history=N` or `limit=N`.
    pub max: usize,
    /// Most messages one `since` resume replays; older ones are skipped and
    /// the client is told `recovered: false`.
    pub replay_max: usize,
    /// ... and most bytes of frames.
    pub replay_max_bytes: ByteSize,
    /// Most messages kept in memory per room.
    pub cache_per_room: usize,
    /// Memory for all room caches together; the least recently used room
    /// leaves first. Caches outlive their last member within it.
    pub cache_budget: ByteSize,
    /// Long-lived Kafka readers shared by every history read.
    pub readers: usize,
    /// Rooms waiting for a Kafka read at once; past it, history is refused
    /// for the moment (`recovered: false`) rather than queued without end.
    pub max_pending_reads: usize,
    /// A Kafka read not answered by then has failed.
    #[serde(with = "humantime_serde")]
    pub read_deadline: Duration,
}

/// `[kafka]`: where the log is and how we talk to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Broker list; empty means "start the embedded in-memory cluster".
    pub bootstrap_servers: String,
    /// The chat topic. Key = room, so each room keeps its order.
    pub topic: String,
    /// Partitions for the topic when the server creates it.
    pub partitions: i32,
    /// Replication factor for the topic when the server creates it.
    pub replication_factor: i32,
    /// How often the broker is probed for `/health`, and the topic's id checked.
    #[serde(with = "humantime_serde")]
    pub health_interval: Duration,
    /// How long one probe or metadata request may take.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Pause between attempts while the broker cannot be reached at startup.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// A chat partition is read while rooms in it have members here, and
    /// this long after the last leaves (a quick return finds it read).
    #[serde(with = "humantime_serde")]
    pub partition_linger: Duration,
    /// Settings for the embedded cluster, used only when `bootstrap_servers` is empty.
    pub embedded: EmbeddedSettings,
    /// librdkafka producer properties, passed through verbatim.
    pub producer: BTreeMap<String, String>,
    /// librdkafka consumer properties, passed through verbatim.
    pub consumer: BTreeMap<String, String>,
}

/// `[kafka.embedded]`: librdkafka's in-process mock cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedSettings {
    /// Number of mock brokers.
    pub brokers: i32,
    /// librdkafka consumer properties that replace `[kafka.consumer]` ones in
    /// embedded mode (the mock holds empty fetches for `fetch.wait.max.ms`).
    pub consumer: BTreeMap<String, String>,
}

impl KafkaSettings {
    /// True when no broker is configured and the mock cluster is used.
    pub fn is_embedded(&self) -> bool {
        self.bootstrap_servers.trim().is_empty()
    }

    /// The topic instances share presence and typing through: the chat
    /// topic's name with `-presence`. Never holds chat messages.
    pub fn presence_topic(&self) -> String {
        format!("{}-presence", self.topic)
    }

    /// Identities seen online, so names stay theirs: `<topic>-identities`.
    pub fn identities_topic(&self) -> String {
        format!("{}-identities", self.topic)
    }

    /// Moderation state (compacted): `<topic>-moderation`.
    pub fn moderation_topic(&self) -> String {
        format!("{}-moderation", self.topic)
    }

    /// Every moderator's action, the audit trail: `<topic>-audit`.
    pub fn audit_topic(&self) -> String {
        format!("{}-audit", self.topic)
    }

    /// The side topics, each with one partition, and their configuration.
    pub fn side_topics(&self) -> [(String, &'static [(&'static str, &'static str)]); 4] {
        [
            // Only minutes matter; small segments let retention act.
            (self.presence_topic(), &[("retention.ms", "600000"), ("segment.ms", "60000")]),
            // The latest record per identity, for a day.
            (
                self.identities_topic(),
                &[("cleanup.policy", "compact,delete"), ("retention.ms", "86400000"), ("segment.ms", "3600000")],
            ),
            // The latest record per moderated thing, for ever.
            (self.moderation_topic(), &[("cleanup.policy", "compact"), ("segment.ms", "3600000")]),
            // Every action, for 90 days.
            (self.audit_topic(), &[("retention.ms", "7776000000")]),
        ]
    }
}
