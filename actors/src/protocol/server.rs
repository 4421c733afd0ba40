//! Every frame the server sends.

use serde::Serialize;

use super::{ChatRecord, ErrorCode, Refusal};

/// What a quote of another message shows: its author and a short preview
/// of its current text; only its offset when the server does not hold it.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyPreview<'a> {
    pub offset: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

impl ReplyPreview<'_> {
    /// A quote of a message the server does not know.
    pub fn offset_only(offset: i64) -> Self {
        Self { offset, username: None, text: None, deleted: None }
    }
}

/// One emoji on a message: how many, and some of who.
#[derive(Debug, Clone, Serialize)]
pub struct ReactionView<'a> {
    pub emoji: &'a str,
    pub count: usize,
    /// The most recent reactors, at most [`REACTORS_SHOWN`].
    pub users: Vec<&'a str>,
}

/// Reactors named per emoji in a frame.
pub const REACTORS_SHOWN: usize = 10;

/// A message's current state, as its frame shows it.
#[derive(Debug, Clone, Default)]
pub struct MessageView<'a> {
    pub text: &'a str,
    pub edited_at: Option<&'a str>,
    pub deleted: Option<RemovedBy>,
    pub reply_to: Option<ReplyPreview<'a>>,
    pub reactions: Vec<ReactionView<'a>>,
}

/// Who removed a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovedBy {
    Author,
    Moderator,
}

/// A server → client frame. Fields borrow, so a frame for thousands of
/// recipients is built and encoded once.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Welcome {
        username: &'a str,
        room: &'a str,
        session_id: &'a str,
        /// The log the offsets of this connection belong to.
        epoch: &'a str,
        /// Keeps this identity and its name on the next connection.
        token: &'a str,
    },
    ConnectionUpdate {
        active_connections: usize,
        room: &'a str,
        timestamp: &'a str,
    },
    ChatMessage {
        message_id: &'a str,
        username: &'a str,
        text: &'a str,
        room: &'a str,
        timestamp: &'a str,
        active_connections: usize,
        offset: i64,
        epoch: &'a str,
        verified: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        deleted: bool,
        /// Who removed it, when `deleted`.
        #[serde(skip_serializing_if = "Option::is_none")]
        deleted_by: Option<RemovedBy>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reply_to: Option<ReplyPreview<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        edited_at: Option<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        reactions: Vec<ReactionView<'a>>,
    },
    /// The message at `offset` was removed (by its author: the event at
    /// `event_offset`; or by a moderator).
    MessageDeleted {
        room: &'a str,
        offset: i64,
        epoch: &'a str,
        by: RemovedBy,
        #[serde(skip_serializing_if = "Option::is_none")]
        event_offset: Option<i64>,
    },
    /// The author edited the message at `offset` (the event at `event_offset`).
    MessageEdited {
        room: &'a str,
        offset: i64,
        event_offset: i64,
        text: &'a str,
        edited_at: &'a str,
        epoch: &'a str,
    },
    /// `username` added (or took back) `emoji` on the message at `offset`;
    /// `reactions` is the message's after the change, when the server holds it.
    Reactions {
        room: &'a str,
        offset: i64,
        event_offset: i64,
        emoji: &'a str,
        added: bool,
        username: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        reactions: Option<Vec<ReactionView<'a>>>,
        epoch: &'a str,
    },
    /// The report of the message at `offset` was filed.
    ReportReceived {
        offset: i64,
    },
    Ack {
        client_msg_id: Option<&'a str>,
        message_id: &'a str,
        offset: i64,
        epoch: &'a str,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<&'a str>,
        /// For `muted`: when the mute ends (RFC 3339).
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<&'a str>,
        /// For `slow_mode`: how long until the next message may go.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    Heartbeat,
    HistoryEnd {
        room: &'a str,
        recovered: bool,
        epoch: &'a str,
    },
    Presence {
        room: &'a str,
        users: &'a [&'a str],
    },
    Typing {
        room: &'a str,
        /// The first of `users`, for clients that read only one name.
        username: &'a str,
        /// Everyone who started typing since the room was last told.
        users: &'a [&'a str],
    },
}

impl<'a> ServerFrame<'a> {
    /// A new message, as it goes out live.
    pub fn chat(record: &'a ChatRecord, active_connections: usize, offset: i64, epoch: &'a str) -> Self {
        let view = MessageView { text: &record.text, ..MessageView::default() };
        Self::message(record, view, active_connections, offset, epoch)
    }

    /// A message in its current state: edited, removed (no text), reacted to.
    pub fn message(
        record: &'a ChatRecord,
        view: MessageView<'a>,
        active_connections: usize,
        offset: i64,
        epoch: &'a str,
    ) -> Self {
        Self::ChatMessage {
            message_id: &record.message_id,
            username: &record.username,
            text: if view.deleted.is_some() { "" } else { view.text },
            room: &record.room,
            timestamp: &record.timestamp,
            active_connections,
            offset,
            epoch,
            verified: record.verified,
            deleted: view.deleted.is_some(),
            deleted_by: view.deleted,
            reply_to: view.reply_to,
            edited_at: view.edited_at.filter(|_| view.deleted.is_none()),
            reactions: if view.deleted.is_some() { Vec::new() } else { view.reactions },
        }
    }

    pub fn error(refusal: &'a Refusal) -> Self {
        Self::Error {
            code: refusal.code,
            message: &refusal.message,
            client_msg_id: refusal.client_msg_id.as_deref(),
            message_id: refusal.message_id.as_deref(),
            until: refusal.until.as_deref(),
            retry_after_ms: refusal.retry_after_ms,
        }
    }

    /// The frame as JSON text, encoded once and shared by every recipient.
    pub fn encode(&self) -> crate::Frame {
        // These types hold only strings and integers: serializing cannot fail.
        serde_json::to_string(self).expect("server frames serialize").into()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn error_frames_omit_unknown_ids() {
        let refusal = Refusal::new(ErrorCode::BinaryNotSupported, "text frames only");
        let json: Value = serde_json::from_str(&ServerFrame::error(&refusal).encode()).unwrap();
        assert_eq!(json, json!({"type":"error","code":"binary_not_supported","message":"text frames only"}));
    }

    #[test]
    fn an_unknown_outcome_names_the_message() {
        let refusal = Refusal::new(ErrorCode::OutcomeUnknown, "maybe")
            .with_client_msg_id(Some("c1".into()))
            .with_message_id("m1");
        let json: Value = serde_json::from_str(&ServerFrame::error(&refusal).encode()).unwrap();
        assert_eq!(json["code"], "outcome_unknown");
        assert_eq!((json["client_msg_id"].as_str(), json["message_id"].as_str()), (Some("c1"), Some("m1")));
    }
}
