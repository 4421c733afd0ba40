//! Wire protocol v1: the JSON frames exchanged with clients and the JSON
//! values of Kafka records. `docs/protocol.md` is the prose version.
//!
//! - [`client`]: frames from clients, checked once by pure functions that the
//!   WebSocket session and the HTTP endpoints both use;
//! - [`server`]: every frame the server sends, encoded once per broadcast;
//! - [`record`]: the values of the chat and presence topics.

mod client;
mod record;
mod server;

pub use client::{
    normalize_text, normalize_username, parse_client_frame, validate_room, Act, ClientCommand, InputLimits,
    MAX_ROOM_CHARS, MAX_USERNAME_CHARS,
};
pub use record::{
    ChatRecord, DeleteRecord, EditRecord, IdentityRecord, ModerationRecord, PresenceRecord, ReactionRecord, RoomRecord,
    Target, MAX_DISTINCT_REACTIONS, REACTIONS,
};
pub use server::{MessageView, ReactionView, RemovedBy, ReplyPreview, ServerFrame, REACTORS_SHOWN};

use serde::Serialize;

/// Why a client's input was refused, or what went wrong with it. Serialized
/// as the `code` of an error frame or an HTTP error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not a JSON object with a string `type`.
    InvalidJson,
    /// The frame's `type` is not one the server accepts.
    UnknownType,
    /// A field is missing, has the wrong type, is out of range, or is not part of the frame.
    InvalidField,
    /// The text is empty once control characters and surrounding whitespace are removed.
    EmptyText,
    /// The text is longer than `chat.max_text_chars`.
    TextTooLong,
    /// A binary WebSocket frame; the protocol is text only.
    BinaryNotSupported,
    /// The room name is not 1 to 64 characters of `a-z`, `0-9` and `-`.
    InvalidRoom,
    /// The HTTP username is not 1 to 40 printable characters.
    InvalidUsername,
    /// Kafka certainly did not store the message (or cannot be reached yet).
    KafkaUnavailable,
    /// Kafka's answer was lost: the message may or may not be stored. A
    /// retry with the same `client_msg_id` gets the true outcome.
    OutcomeUnknown,
    /// History could not be read from Kafka in time; the connection goes on live.
    HistoryUnavailable,
    /// The connection (or client address) sends faster than allowed.
    RateLimited,
    /// The name belongs to a chat identity: posting under it needs its token.
    NameTaken,
    /// The token could not be used (not ours, altered, or revoked); a new
    /// identity was given instead.
    InvalidToken,
    /// A moderator muted this identity or address for a while.
    Muted,
    /// A moderator banned this identity or address.
    Banned,
    /// The room allows one message per identity per some seconds.
    SlowMode,
    /// The text holds a blocked word or pattern.
    BlockedText,
    /// The offset names no message of this room (or one removed).
    NoSuchMessage,
    /// Only the message's author may edit or delete it.
    NotYours,
    /// A message can be edited for a while after it was sent, not later.
    EditWindowPassed,
    /// Not one of the reactions the chat offers.
    InvalidEmoji,
    /// The message carries as many different reactions as it may.
    TooManyReactions,
    /// The server is at its connection limit (total or for this address).
    TooManyConnections,
    /// The client did not read fast enough and was disconnected (metrics only).
    SlowConsumer,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::UnknownType => "unknown_type",
            Self::InvalidField => "invalid_field",
            Self::EmptyText => "empty_text",
            Self::TextTooLong => "text_too_long",
            Self::BinaryNotSupported => "binary_not_supported",
            Self::InvalidRoom => "invalid_room",
            Self::InvalidUsername => "invalid_username",
            Self::KafkaUnavailable => "kafka_unavailable",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::HistoryUnavailable => "history_unavailable",
            Self::RateLimited => "rate_limited",
            Self::NameTaken => "name_taken",
            Self::InvalidToken => "invalid_token",
            Self::Muted => "muted",
            Self::Banned => "banned",
            Self::SlowMode => "slow_mode",
            Self::BlockedText => "blocked_text",
            Self::NoSuchMessage => "no_such_message",
            Self::NotYours => "not_yours",
            Self::EditWindowPassed => "edit_window_passed",
            Self::InvalidEmoji => "invalid_emoji",
            Self::TooManyReactions => "too_many_reactions",
            Self::TooManyConnections => "too_many_connections",
            Self::SlowConsumer => "slow_consumer",
        }
    }
}

/// A refused input, or a failed request: what to tell the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    /// The client's id for the message, echoed so it can mark that message.
    pub client_msg_id: Option<String>,
    /// The id the message has (or would have) in the log: set when the
    /// outcome is unknown, so the client can recognise it if it arrives.
    pub message_id: Option<String>,
    /// When a mute ends (RFC 3339).
    pub until: Option<String>,
    /// How long until the room's slow mode lets the next message through.
    pub retry_after_ms: Option<u64>,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), client_msg_id: None, message_id: None, until: None, retry_after_ms: None }
    }

    /// The same refusal, naming the client's message it is about.
    pub fn with_client_msg_id(mut self, client_msg_id: Option<String>) -> Self {
        self.client_msg_id = client_msg_id;
        self
    }

    /// The same refusal, naming the message's id in the log.
    pub fn with_message_id(mut self, message_id: &str) -> Self {
        self.message_id = Some(message_id.to_owned());
        self
    }

    /// An out-of-range or malformed field.
    pub fn invalid_field(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidField, message)
    }

    /// Kafka (or the actor in front of it) cannot take the request now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::KafkaUnavailable, message)
    }
}
