//! Every frame the server sends.

use serde::Serialize;

use super::{ChatRecord, ErrorCode, Refusal};

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
    },
    /// A moderator removed the message at `offset`.
    MessageDeleted {
        room: &'a str,
        offset: i64,
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
    pub fn chat(record: &'a ChatRecord, active_connections: usize, offset: i64, epoch: &'a str) -> Self {
        Self::ChatMessage {
            message_id: &record.message_id,
            username: &record.username,
            text: &record.text,
            room: &record.room,
            timestamp: &record.timestamp,
            active_connections,
            offset,
            epoch,
            verified: record.verified,
            deleted: false,
        }
    }

    /// A message a moderator removed, as history shows it: no text.
    pub fn deleted(record: &'a ChatRecord, active_connections: usize, offset: i64, epoch: &'a str) -> Self {
        match Self::chat(record, active_connections, offset, epoch) {
            Self::ChatMessage { message_id, username, room, timestamp, verified, .. } => Self::ChatMessage {
                message_id,
                username,
                text: "",
                room,
                timestamp,
                active_connections,
                offset,
                epoch,
                verified,
                deleted: true,
            },
            other => other,
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
