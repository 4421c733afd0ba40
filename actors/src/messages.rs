//! Messages between the actors. Each is a named-field struct; the overview
//! in `lib.rs` shows who sends which.

use actix::prelude::*;
use bytestring::ByteString;

use crate::protocol::Refusal;

/// An encoded server frame. Cloning shares the bytes, so a broadcast encodes
/// once and hands every session the same buffer.
pub type Frame = ByteString;

/// Identifies one WebSocket session for as long as it is connected.
pub type SessionId = uuid::Uuid;

/// ChatRoom → WsSession: write this frame (a count, names, typing: chat
/// messages come through the [`ChatFeed`]) to the socket.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Deliver {
    /// The JSON text of the frame.
    pub frame: Frame,
}

/// A session's subscription to its room's chat messages, as
/// `(offset, frame)`: every message recorded since the session joined, each
/// frame shared by all members. It buffers `chat.outbound_queue` messages
/// for a session that is not reading; a session further behind has lagged.
#[derive(Debug)]
pub struct ChatFeed {
    pub messages: tokio::sync::broadcast::Receiver<(i64, Frame)>,
    /// How many messages the session has taken from `messages`: the room
    /// reads it to find a session too far behind before the feed overflows.
    pub read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// ChatRoom → WsSession: the history the session asked for when it joined.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Replay {
    /// `(offset, frame)` of each message, oldest first.
    pub frames: Vec<(i64, Frame)>,
    /// False when some of the asked-for messages could not be recovered.
    pub recovered: bool,
}

/// How the room reaches one session.
#[derive(Clone)]
pub struct SessionHandle {
    pub deliver: Recipient<Deliver>,
    pub replay: Recipient<Replay>,
    pub go_away: Recipient<GoAway>,
}

/// ChatRoom → WsSession: close the connection with this WebSocket close code.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct GoAway {
    /// 1001 when the server shuts down, 1008 for a client too slow to keep up.
    pub code: u16,
    /// Said in the close frame.
    pub reason: &'static str,
}

impl GoAway {
    pub const SHUTDOWN: Self = Self { code: 1001, reason: "server shutting down" };
    pub const TOO_SLOW: Self = Self { code: 1008, reason: "not reading fast enough; reconnect with since" };
}

/// Server → ChatRoom: close every session and flush the producer. Answers
/// once Kafka has everything that was acknowledged.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// ChatRoom → KafkaProducer: wait until every queued record is stored or failed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

/// WsSession → ChatRoom: a new connection wants to enter `room`.
#[derive(Message)]
#[rtype(result = "Joined")]
pub struct Join {
    /// The session's id.
    pub id: SessionId,
    /// The room to enter (already validated).
    pub room: String,
    /// Where the room sends this session's frames.
    pub session: SessionHandle,
    /// Which history to replay before live messages.
    pub history: HistoryStart,
}

/// ChatRoom's answer to [`Join`].
#[derive(Debug, MessageResponse)]
pub struct Joined {
    /// The server-chosen name, unique among users online on this instance.
    pub username: String,
    /// Sessions in the room, the newcomer included.
    pub active_connections: usize,
    /// The room's chat messages from now on; read once the history is written.
    pub feed: ChatFeed,
}

/// WsSession → ChatRoom: the connection is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The session's id.
    pub id: SessionId,
}

/// WsSession → ChatRoom: the session's user is typing.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Typing {
    /// The session's id.
    pub id: SessionId,
}

/// HTTP → ChatRoom: rooms with people online on any instance.
#[derive(Message)]
#[rtype(result = "Vec<RoomCount>")]
pub struct ListRooms;

/// One entry of [`ListRooms`]' answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomCount {
    pub room: String,
    pub active_connections: usize,
}

/// HTTP → ChatRoom: a page of a room's messages.
#[derive(Message)]
#[rtype(result = "Result<History, Refusal>")]
pub struct FetchMessages {
    /// The room (already validated).
    pub room: String,
    /// Where the page starts.
    pub start: HistoryStart,
    /// Most messages in the page.
    pub max: usize,
}

/// Messages of one room, oldest first.
#[derive(Debug, Default)]
pub struct History {
    /// `(offset, record)` of each message.
    pub messages: Vec<(i64, std::sync::Arc<crate::protocol::ChatRecord>)>,
    /// False when some of the asked-for messages could not be recovered.
    pub recovered: bool,
}

/// WsSession or HTTP → ChatRoom: post a message to a room.
#[derive(Message)]
#[rtype(result = "Result<Posted, Refusal>")]
pub struct SendChat {
    /// Author shown to everyone.
    pub username: String,
    /// Target room (already validated).
    pub room: String,
    /// Normalised text.
    pub text: String,
}

/// Where Kafka stored a message: answered once the write is acknowledged.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The server-assigned id of the message.
    pub message_id: String,
    /// The message's timestamp (RFC 3339).
    pub timestamp: String,
    /// The record's partition.
    pub partition: i32,
    /// The record's offset within its partition: the message's sequence number.
    pub offset: i64,
}

/// Which of the two topics a record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// The chat topic, the log of record.
    Chat,
    /// The presence topic: who is online and typing, shared by instances.
    Presence,
}

/// ChatRoom → KafkaProducer: write one record.
#[derive(Message)]
#[rtype(result = "Result<Stored, crate::kafka::PublishError>")]
pub struct Publish {
    /// The topic to write to.
    pub topic: Topic,
    /// Record key: the room (chat) or the instance id (presence).
    pub key: String,
    /// Partition: chosen by the room for chat records, so history reads
    /// know where a room lives; `None` lets Kafka choose.
    pub partition: Option<i32>,
    /// Record value: JSON.
    pub payload: Vec<u8>,
}

/// KafkaProducer's answer to [`Publish`].
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    /// Partition the record went to.
    pub partition: i32,
    /// Offset of the record in that partition.
    pub offset: i64,
}

/// KafkaConsumer → ChatRoom: a record read from the presence topic.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct PresenceReceived {
    /// The record's value.
    pub payload: Vec<u8>,
}

/// Where a history read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryStart {
    /// Every message after this offset (a client resuming).
    After(i64),
    /// The last this-many messages (a client joining).
    Last(usize),
}

/// ChatRoom → KafkaConsumer: read a room's messages from the log itself.
#[derive(Message, Debug)]
#[rtype(result = "Result<RoomRecords, rdkafka::error::KafkaError>")]
pub struct ReadRoom {
    /// The room (the record key to keep).
    pub room: String,
    /// The partition the room lives in.
    pub partition: i32,
    /// Where to start.
    pub start: HistoryStart,
    /// Most records to return.
    pub max: usize,
    /// Which end to keep when there are more than `max`.
    pub keep: Keep,
}

/// Which records a capped history keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The oldest: a page that the next `since` continues.
    Oldest,
    /// The newest: a replay that must join up with live messages.
    Newest,
}

/// One record as Kafka holds it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RawRecord {
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
    pub key: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The value as text (chat values are JSON).
    pub value: String,
}

/// A room's records read from Kafka: every record of the room in
/// `[from, until)` (unless `truncated`), oldest first.
#[derive(Debug, Default)]
pub struct RoomRecords {
    pub records: Vec<RawRecord>,
    /// First offset the read covered.
    pub from: i64,
    /// The partition's end when the read began.
    pub until: i64,
    /// The partition's start (low watermark) when the read began.
    pub low: i64,
    /// Some of the requested range was no longer in Kafka, or `max` cut it.
    pub truncated: bool,
}

/// Admin → ChatRoom: what the Control Center view shows.
#[derive(Message)]
#[rtype(result = "Result<Overview, Refusal>")]
pub struct DescribeChat;

/// ChatRoom → KafkaConsumer: the chat topic's partitions and their offsets.
#[derive(Message)]
#[rtype(result = "Result<Vec<PartitionInfo>, rdkafka::error::KafkaError>")]
pub struct DescribeTopic;

/// One partition of the chat topic.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PartitionInfo {
    pub partition: i32,
    /// First offset still in Kafka.
    pub low: i64,
    /// Next offset to be written.
    pub high: i64,
    /// Next offset this instance will read (`None` before it reads).
    pub position: Option<i64>,
    /// `high - position`.
    pub lag: Option<i64>,
}

/// Answer to [`DescribeChat`].
#[derive(Debug, serde::Serialize)]
pub struct Overview {
    pub instance: String,
    pub topic: String,
    pub partitions: Vec<PartitionInfo>,
    pub rooms: Vec<RoomCount>,
}

/// Admin → ChatRoom: a room's last records, as Kafka holds them.
#[derive(Message)]
#[rtype(result = "Result<Vec<RawRecord>, Refusal>")]
pub struct RoomRecordsRequest {
    pub room: String,
    pub limit: usize,
}

/// KafkaConsumer → ChatRoom: a record read from the chat topic.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct RecordReceived {
    /// Partition the record was read from.
    pub partition: i32,
    /// The record's offset.
    pub offset: i64,
    /// The record's Kafka timestamp (ms since the epoch), when it has one.
    pub timestamp_ms: Option<i64>,
    /// The record's value.
    pub payload: Vec<u8>,
}

/// KafkaConsumer → ChatRoom: partitions are assigned; records produced from
/// now on will be read, so sends may go to Kafka.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct ConsumerAssigned {
    /// `(partition, offset)` of the chat topic where reading starts.
    pub partitions: Vec<(i32, i64)>,
}
