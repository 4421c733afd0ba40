//! Messages between the actors. Each is a named-field struct; the overview
//! in `lib.rs` shows who sends which. None carries a Kafka type: the Kafka
//! actors translate partitions and offsets into rooms and sequence numbers.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use bytestring::ByteString;

use crate::history::{Fact, MessageState};
use crate::outbox::Outbox;
use crate::protocol::{Act, ChatRecord, IdentityRecord, ModerationRecord, Refusal, RoomRecord, Target};

/// An encoded server frame. Cloning shares the bytes, so a broadcast encodes
/// once and hands every session the same buffer.
pub type Frame = ByteString;

/// Identifies one WebSocket session for as long as it is connected.
pub type SessionId = uuid::Uuid;

/// A message's sequence number in its room: strictly increasing, the same
/// on every instance, the protocol's `offset`. (It is the record's Kafka
/// offset, but only the Kafka actors rely on that.)
pub type Seq = i64;

/// Which log sequence numbers belong to. It changes when the chat topic is
/// deleted and recreated, so an offset from the old log is never taken for
/// one of the new.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Epoch(Arc<str>);

impl Epoch {
    pub fn new(id: &str) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One record of a room as the actors hand it around: a message or an
/// event of its life, parsed once, encoded once as the frame every
/// recipient gets.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: Seq,
    pub record: Arc<RoomRecord>,
    /// A message's frame in its current state, or an event's frame.
    pub frame: Frame,
    /// What the message's events made of it (unused for events).
    pub state: MessageState,
}

impl Entry {
    /// A record not encoded yet: the history encodes it when it files it.
    pub fn new(seq: Seq, record: RoomRecord) -> Self {
        Self { seq, record: Arc::new(record), frame: Frame::default(), state: MessageState::default() }
    }

    pub fn message(&self) -> Option<&ChatRecord> {
        self.record.as_message()
    }

    /// A message its author or a moderator removed.
    pub fn deleted(&self) -> bool {
        self.state.removed.is_some()
    }

    /// Memory the entry holds, for the history budget: the frame, the
    /// record's text and the bookkeeping around them.
    pub fn weight(&self) -> usize {
        const OVERHEAD: usize = 160;
        let reactors: usize = self.state.reactions.iter().map(|(_, r)| r.len() * 48).sum();
        let text = self.message().map_or(0, |m| m.text.len() + m.message_id.len() + m.username.len());
        self.frame.len() + text + reactors + OVERHEAD
    }
}

/// Where a replay starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryStart {
    /// Every message after `since` (a client resuming), if `since` belongs
    /// to `epoch`; a client that names no epoch is taken at its word. When
    /// `since` is not of this log (another epoch, or past the end), the last
    /// `fallback` messages instead, with `recovered: false`.
    After { since: Seq, epoch: Option<Epoch>, fallback: usize },
    /// The last this-many messages (a client joining).
    Last(usize),
}

// ---- WsSession → ChatHub ----------------------------------------------------

/// WsSession → ChatHub: a new connection enters `room`. The hub writes the
/// welcome, the count and, through the history, the replay into `outbox`;
/// the welcome is the first frame it writes there (or it closes `outbox`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    /// The session's id.
    pub id: SessionId,
    /// The room to enter (already validated).
    pub room: String,
    /// The one way frames reach the session.
    pub outbox: Outbox,
    /// Which history to replay before live messages.
    pub history: HistoryStart,
    /// The identity the client came back with (`?token=`), if any.
    pub token: Option<String>,
    /// The client's address (through trusted proxies).
    pub address: IpAddr,
}

/// WsSession → ChatHub: the connection is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The session's id.
    pub id: SessionId,
}

/// WsSession → ChatHub: the session's user is typing.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Typing {
    /// The session's id.
    pub id: SessionId,
}

/// Who posts a message.
#[derive(Debug, Clone)]
pub enum Sender {
    /// A WebSocket session; its name is the one the hub gave it.
    Session(SessionId),
    /// `POST /chat/send` with a name of the client's choosing, and the
    /// token of its identity when it has one.
    Http { username: String, token: Option<String>, address: IpAddr },
}

/// WsSession → ChatHub: the session's user reports the message at `offset`.
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct ReportMessage {
    pub id: SessionId,
    pub offset: Seq,
    /// Why, in the reporter's words (already checked).
    pub reason: String,
}

/// WsSession or HTTP → ChatHub: post a message to a room.
#[derive(Message)]
#[rtype(result = "Result<Posted, Refusal>")]
pub struct SendChat {
    pub sender: Sender,
    /// Target room (already validated; a session may only post to its own).
    pub room: String,
    /// Normalised text.
    pub text: String,
    /// The offset of the room's message this one replies to.
    pub reply_to: Option<Seq>,
    /// The client's id for the message: a retry with the same id gets the
    /// first attempt's outcome.
    pub client_msg_id: Option<String>,
}

/// WsSession → ChatHub: react to, edit or delete the message at `offset`
/// of the session's room. Acknowledged like a message: `Posted` names the
/// event's own place in the log.
#[derive(Message)]
#[rtype(result = "Result<Posted, Refusal>")]
pub struct SendAct {
    pub id: SessionId,
    pub offset: Seq,
    /// Already checked (a listed emoji, normalised text).
    pub act: Act,
    pub client_msg_id: Option<String>,
}

/// Where a message is in the log: answered once Kafka has stored it.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The server-assigned id of the message.
    pub message_id: String,
    /// The message's timestamp (RFC 3339).
    pub timestamp: String,
    pub seq: Seq,
    pub epoch: Epoch,
}

/// Server → ChatHub: close every session, tell the other instances, and
/// flush the producer. Answers once Kafka has everything that was acked.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

// ---- Kafka actors → the chat ------------------------------------------------

/// Handover → ChatHub: a chat message stored in the log, in the log's
/// order within its room, once: read by the consumer, or acknowledged to
/// this instance's producer. Checked and parsed already.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct RecordReceived {
    pub room: String,
    pub seq: Seq,
    pub record: Arc<RoomRecord>,
    /// When Kafka took the record (ms since the Unix epoch), if known.
    pub timestamp_ms: Option<i64>,
}

/// ChatHub → KafkaConsumer: `room` has its first member here. Answered once
/// every record of the room written from now on will be read.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), Refusal>")]
pub struct Follow {
    pub room: String,
}

/// ChatHub → KafkaConsumer: `room`'s last member here left.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Unfollow {
    pub room: String,
}

/// KafkaConsumer → History: the live stream of `partition`'s rooms is no
/// longer read; what is held of them has a gap from now on, even if the
/// partition is read again before this is handled.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct FeedStopped {
    pub partition: i32,
}

/// KafkaConsumer → ChatHub: the consumer reads this log from now on.
/// Sent again if the topic is found recreated.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Assigned {
    pub epoch: Epoch,
}

/// KafkaConsumer → ChatHub: an identity was online (on any instance).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct IdentitySeen {
    pub record: IdentityRecord,
}

/// KafkaConsumer → Moderation: a record of the moderation topic
/// (`audit`: of the audit topic).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct ModerationReceived {
    pub payload: Vec<u8>,
    pub audit: bool,
}

/// KafkaConsumer → Presence: a record of the presence topic.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct PresenceReceived {
    /// The record's value.
    pub payload: Vec<u8>,
}

// ---- ChatHub ↔ KafkaProducer -------------------------------------------------

/// ChatHub → KafkaProducer: write one record of a room, key = `room`.
#[derive(Message)]
#[rtype(result = "Delivery")]
pub struct PublishChat {
    pub room: String,
    /// The record's value (JSON).
    pub payload: Vec<u8>,
    /// Its kind and version, the `schema` header (`chat_message/v1`, ...).
    pub schema: &'static str,
}

/// The topics beside the chat topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideTopic {
    /// Who is online and typing (not awaited: re-sent every interval).
    Presence,
    /// Identities seen online (compacted by identity).
    Identities,
    /// Moderation state (compacted by what is moderated).
    Moderation,
    /// Moderators' actions, all of them.
    Audit,
}

/// Presence, ChatHub or Moderation → KafkaProducer: write one record of a side topic.
#[derive(Message)]
#[rtype(result = "Delivery")]
pub struct PublishSide {
    pub topic: SideTopic,
    pub key: String,
    pub payload: Vec<u8>,
}

/// What became of a chat record. Only `NotStored` means the record is
/// certainly not in the log.
#[derive(Debug, Clone)]
pub enum Delivery {
    Stored {
        seq: Seq,
    },
    NotStored {
        reason: String,
    },
    /// Kafka's answer was lost with the record in flight: it may be stored.
    Unknown {
        reason: String,
    },
}

/// ChatHub → KafkaProducer: wait until every queued record is stored or failed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

// ---- ChatHub ↔ Presence --------------------------------------------------------

/// ChatHub → Presence: someone entered (`joined`) or left a room here.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MemberChanged {
    pub room: String,
    pub username: String,
    pub joined: bool,
}

/// ChatHub → Presence: a local user is typing; tell the other instances.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TypingStarted {
    pub room: String,
    pub username: String,
}

/// Presence → ChatHub: a room's people changed (at most every 200 ms; a
/// large room less often).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomPresence {
    pub room: String,
    /// Sessions in the room on other instances.
    pub remote_connections: usize,
    /// The first names online on every instance, alphabetically.
    pub users: Vec<String>,
}

/// Presence → ChatHub: names that came online, or went offline, on other
/// instances (a name on two instances is in `joined` twice).
#[derive(Message)]
#[rtype(result = "()")]
pub struct NamesElsewhere {
    pub joined: Vec<String>,
    pub left: Vec<String>,
}

/// Presence → ChatHub: someone on another instance is typing in `room`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoteTyping {
    pub room: String,
    pub username: String,
}

/// HTTP → Presence: rooms with people online on any instance.
#[derive(Message)]
#[rtype(result = "Vec<RoomCount>")]
pub struct ListRooms;

/// One entry of [`ListRooms`]' answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomCount {
    pub room: String,
    pub active_connections: usize,
}

/// ChatHub → Presence: the instance is stopping; say goodbye at once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leaving;

// ---- ChatHub / HTTP → History ---------------------------------------------------

/// ChatHub → History: the log was (re)assigned; sequence numbers of another
/// epoch are forgotten.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EpochChanged {
    pub epoch: Epoch,
}

/// ChatHub → History: a record of the room, in the log's order. A plain
/// message comes encoded and fanned out already; anything whose frame
/// depends on another message (an event, a reply) is encoded here, and
/// with `reply` the frame comes back as [`Folded`].
#[derive(Message)]
#[rtype(result = "()")]
pub struct Appended {
    pub room: String,
    pub entry: Entry,
    /// The room's count now, for the frame.
    pub active_connections: usize,
    /// The room has members here: the hub waits for the frame.
    pub reply: bool,
}

/// History → ChatHub: the frame of the record at `seq`, folded; `None`
/// when the record changes nothing (an event the rules refuse).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Folded {
    pub room: String,
    pub seq: Seq,
    pub frame: Option<Frame>,
}

/// ChatHub → History: what is known of the room's message at `seq`, so an
/// act on it or a reply to it can be checked. `None`: no such message.
#[derive(Message)]
#[rtype(result = "Result<Option<MessageFacts>, Refusal>")]
pub struct FindMessage {
    pub room: String,
    pub seq: Seq,
}

/// The answer to [`FindMessage`].
#[derive(Debug, Clone)]
pub struct MessageFacts {
    pub fact: Fact,
    /// Its state, when the history holds the message (it is recent).
    pub state: Option<MessageState>,
}

/// ChatHub → History: replay `start` into `outbox`, then `history_end`, then
/// let the live frames the outbox held meanwhile through.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Replay {
    pub room: String,
    pub start: HistoryStart,
    pub outbox: Outbox,
    /// The room's count now, for frames of messages read from Kafka.
    pub active_connections: usize,
}

/// HTTP → History: a page of a room's messages.
#[derive(Message)]
#[rtype(result = "Result<Page, Refusal>")]
pub struct FetchMessages {
    pub room: String,
    pub start: HistoryStart,
    /// Most messages in the page.
    pub max: usize,
}

/// A room's messages, oldest first.
#[derive(Debug)]
pub struct Page {
    pub messages: Vec<Entry>,
    /// False when some of the asked-for messages could not be recovered.
    pub recovered: bool,
    pub epoch: Epoch,
}

/// ChatHub → History: is the message `message_id`, sent at `sent_ms`, in
/// the room's log? Settles a send whose outcome was lost.
#[derive(Message)]
#[rtype(result = "Result<Option<Seq>, Refusal>")]
pub struct Locate {
    pub room: String,
    pub message_id: String,
    /// When the message was handed to Kafka (ms since the Unix epoch).
    pub sent_ms: i64,
}

// ---- Moderation ---------------------------------------------------------------

/// Moderation → ChatHub and History: what a moderation record changed, in
/// the topic's order.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ModerationApplied {
    pub change: Change,
}

/// One change of the moderation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The message at `seq` of `room`, in the log `epoch`, is removed.
    Deleted { epoch: Epoch, room: String, seq: Seq },
    /// `target` may not post until `until_ms` (0: no longer muted).
    Muted { target: Target, until_ms: i64 },
    /// `target` is banned (or no longer).
    Banned { target: Target, banned: bool },
    /// `room` allows one message per identity every `seconds` (0: off).
    SlowMode { room: String, seconds: u32 },
}

/// Admin or ChatHub → Moderation: record a moderation action (or a report).
/// Answered once Kafka has it; every instance then applies it.
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct Moderate {
    pub record: ModerationRecord,
}

/// Admin → Moderation: mutes, bans and slow modes in force.
#[derive(Message)]
#[rtype(result = "ModerationState")]
pub struct DescribeModeration;

/// The answer to [`DescribeModeration`]: the records in force, newest first.
#[derive(Debug, Default, serde::Serialize)]
pub struct ModerationState {
    pub mutes: Vec<ModerationRecord>,
    pub bans: Vec<ModerationRecord>,
    pub slow_mode: Vec<ModerationRecord>,
}

/// Admin → Moderation: the open reports, newest first.
#[derive(Message)]
#[rtype(result = "Vec<ReportSummary>")]
pub struct ListReports;

/// The reports of one message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportSummary {
    pub epoch: String,
    pub room: String,
    pub offset: Seq,
    /// Reporters' identity ids, with their reasons and when.
    pub reports: Vec<(String, String, i64)>,
    /// The newest report's time (ms since the Unix epoch).
    pub at_ms: i64,
}

/// Admin → Moderation: the newest `limit` moderators' actions, newest first.
#[derive(Message)]
#[rtype(result = "Vec<ModerationRecord>")]
pub struct AuditTrail {
    pub limit: usize,
}

// ---- History → KafkaReader ---------------------------------------------------------

/// History → KafkaReader: read part of a room's log.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<RoomRead, ReadError>")]
pub struct ReadRoom {
    pub room: String,
    pub range: ReadRange,
    /// Past this, the read fails rather than keep a session waiting.
    pub deadline: Instant,
}

/// Which messages of a room to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadRange {
    /// The newest `count` before `before` (the log's end when `None`), none
    /// before `floor`.
    Newest { count: usize, before: Option<Seq>, floor: Option<Seq> },
    /// The oldest `count` from `from` on (an HTTP page), with the events on
    /// them the rest of the log holds.
    Oldest { count: usize, from: Seq },
}

/// The answer to [`ReadRoom`]: every record of the room in `[from, until)`,
/// oldest first (for [`ReadRange::Oldest`], then the later events on them).
#[derive(Debug, Default)]
pub struct RoomRead {
    pub messages: Vec<(Seq, RoomRecord)>,
    pub from: Seq,
    pub until: Seq,
    /// Nothing of the room exists before `from` any more.
    pub whole: bool,
    /// Where the room's log ended when the read began.
    pub end: Seq,
}

/// History → KafkaReader: the room's records at these offsets (those of
/// them that are the room's), for the messages events and quotes name.
#[derive(Message, Debug)]
#[rtype(result = "Result<Vec<(Seq, RoomRecord)>, ReadError>")]
pub struct ReadAt {
    pub room: String,
    pub seqs: Vec<Seq>,
    pub deadline: Instant,
}

/// History → KafkaReader: find one message, written at or after `sent_ms`.
#[derive(Message, Debug)]
#[rtype(result = "Result<Option<Seq>, ReadError>")]
pub struct LocateRecord {
    pub room: String,
    pub message_id: String,
    pub sent_ms: i64,
    pub deadline: Instant,
}

/// Why a read of the log failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    #[error("Kafka could not be read: {0}")]
    Kafka(String),
    #[error("the read did not finish before its deadline")]
    Deadline,
    #[error("too many reads are waiting")]
    Busy,
}

// ---- Admin ↔ Kafka actors ------------------------------------------------------------

/// Admin → KafkaConsumer: the chat topic, its partitions and this instance's lag.
#[derive(Message)]
#[rtype(result = "Result<TopicOverview, Refusal>")]
pub struct DescribeTopic;

/// The answer to [`DescribeTopic`].
#[derive(Debug, serde::Serialize)]
pub struct TopicOverview {
    pub instance: String,
    pub topic: String,
    /// The log's epoch (the topic's id), once known.
    pub epoch: Option<String>,
    pub partitions: Vec<PartitionInfo>,
}

/// One partition of the chat topic, for operators.
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

/// Admin → KafkaReader: a room's last records, as Kafka holds them.
#[derive(Message)]
#[rtype(result = "Result<Vec<RawRecord>, Refusal>")]
pub struct RawRecords {
    pub room: String,
    pub limit: usize,
}

/// One record as Kafka holds it, for operators.
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
