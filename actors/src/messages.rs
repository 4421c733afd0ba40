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

/// ChatRoom → WsSession: write this frame to the socket.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Deliver {
    /// The JSON text of the frame.
    pub frame: Frame,
}

/// ChatRoom → WsSession: the server is shutting down; close with 1001.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct GoAway;

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
    pub addr: Recipient<Deliver>,
    /// Where the room says the server is going away.
    pub go_away: Recipient<GoAway>,
}

/// ChatRoom's answer to [`Join`].
#[derive(Debug, MessageResponse)]
pub struct Joined {
    /// The server-chosen name, unique among users online on this instance.
    pub username: String,
    /// Sessions in the room, the newcomer included.
    pub active_connections: usize,
}

/// WsSession → ChatRoom: the connection is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The session's id.
    pub id: SessionId,
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

/// ChatRoom → KafkaProducer: write one record.
#[derive(Message)]
#[rtype(result = "Result<Stored, crate::kafka::PublishError>")]
pub struct Publish {
    /// Record key: the room.
    pub key: String,
    /// Record value: the JSON chat record.
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

/// KafkaConsumer → ChatRoom: a record read from the chat topic.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct RecordReceived {
    /// Partition the record was read from.
    pub partition: i32,
    /// The record's offset.
    pub offset: i64,
    /// The record's value.
    pub payload: Vec<u8>,
}

/// KafkaConsumer → ChatRoom: partitions are assigned; records produced from
/// now on will be read, so sends may go to Kafka.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct ConsumerAssigned {
    /// `(partition, offset)` where reading starts.
    pub partitions: Vec<(i32, i64)>,
}
