//! The values of Kafka records: chat messages in the chat topic, presence
//! and typing in the presence topic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{normalize_text, normalize_username, validate_room};

/// The value of a record in the chat topic, exactly as Kafka stores it.
/// Other services may write records too (`docs/protocol.md`): `message_id`
/// and `timestamp` may then be missing and are filled in when read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "chat_message")]
pub struct ChatRecord {
    #[serde(default)]
    pub message_id: String,
    pub username: String,
    pub text: String,
    pub room: String,
    /// RFC 3339, UTC, millisecond precision.
    #[serde(default)]
    pub timestamp: String,
    /// 1 for a first attempt. A later attempt re-sends a message whose first
    /// outcome was lost; readers keep the first record of a `message_id`.
    #[serde(default = "first_attempt", skip_serializing_if = "is_first_attempt")]
    pub attempt: u32,
    /// The author's identity (its id, never shown), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Sent by a chat identity (a WebSocket session, or HTTP with its
    /// token); false for a free name over plain HTTP or another service.
    #[serde(default)]
    pub verified: bool,
}

fn first_attempt() -> u32 {
    1
}

fn one_part() -> u32 {
    1
}

fn is_first_attempt(attempt: &u32) -> bool {
    *attempt == 1
}

impl ChatRecord {
    /// A record as read from the topic, checked like client input: whoever
    /// wrote it, what reaches clients obeys the same rules. `key` is the
    /// record's key; `max_text_chars` the text limit.
    pub fn parse(payload: &[u8], key: Option<&[u8]>, max_text_chars: usize) -> Result<Self, String> {
        let mut record: Self = serde_json::from_slice(payload).map_err(|e| format!("not a chat record: {e}"))?;
        if key != Some(record.room.as_bytes()) {
            return Err("the record's key is not its room".into());
        }
        validate_room(&record.room).map_err(|r| r.message)?;
        record.username = normalize_username(&record.username).map_err(|r| r.message)?;
        record.text = normalize_text(&record.text, max_text_chars).map_err(|r| r.message)?;
        Ok(record)
    }
}

/// A record of the identities topic (compacted, key = identity id): an
/// identity was online at `seen_ms`, so its name is not free for an hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRecord {
    pub id: String,
    pub name: String,
    pub seen_ms: i64,
}

/// What moderation acts on: an identity (by id) or a client address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Identity(String),
    Address(String),
}

impl Target {
    fn key(&self) -> String {
        match self {
            Target::Identity(id) => format!("identity/{id}"),
            Target::Address(address) => format!("address/{address}"),
        }
    }
}

/// A record of the moderation topic (compacted: the latest per key is the
/// state) and, for moderators' actions, of the audit topic (the trail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ModerationRecord {
    Delete {
        epoch: String,
        room: String,
        offset: i64,
        by: String,
        at_ms: i64,
        reason: String,
    },
    Mute {
        target: Target,
        until_ms: i64,
        by: String,
        at_ms: i64,
        reason: String,
    },
    Unmute {
        target: Target,
        by: String,
        at_ms: i64,
    },
    Ban {
        target: Target,
        by: String,
        at_ms: i64,
        reason: String,
    },
    Unban {
        target: Target,
        by: String,
        at_ms: i64,
    },
    SlowMode {
        room: String,
        seconds: u32,
        by: String,
        at_ms: i64,
    },
    /// A user's report of a message (`reporter`: their identity id).
    Report {
        epoch: String,
        room: String,
        offset: i64,
        reporter: String,
        reason: String,
        at_ms: i64,
    },
    /// The reports of a message were dealt with.
    Dismiss {
        epoch: String,
        room: String,
        offset: i64,
        by: String,
        at_ms: i64,
    },
}

impl ModerationRecord {
    /// The record's key: one per thing moderated, so compaction keeps its state.
    pub fn key(&self) -> String {
        match self {
            Self::Delete { epoch, room, offset, .. } => format!("delete/{epoch}/{room}/{offset}"),
            Self::Mute { target, .. } | Self::Unmute { target, .. } => format!("mute/{}", target.key()),
            Self::Ban { target, .. } | Self::Unban { target, .. } => format!("ban/{}", target.key()),
            Self::SlowMode { room, .. } => format!("slow/{room}"),
            Self::Report { epoch, room, offset, reporter, .. } => format!("report/{epoch}/{room}/{offset}/{reporter}"),
            Self::Dismiss { epoch, room, offset, .. } => format!("dismiss/{epoch}/{room}/{offset}"),
        }
    }

    /// A moderator's action (everything but a user's report) belongs in the audit trail.
    pub fn is_moderators(&self) -> bool {
        !matches!(self, Self::Report { .. })
    }
}

/// A record of the presence topic: what each instance tells the others.
/// Key = instance id. Never part of the chat topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PresenceRecord {
    /// Everyone online on `instance`, by room, in `parts` records of one
    /// `timestamp_ms` (a large instance's list would not fit one Kafka
    /// message). An empty map in one part means the instance is leaving.
    Snapshot {
        instance: String,
        rooms: BTreeMap<String, Vec<String>>,
        timestamp_ms: i64,
        #[serde(default)]
        part: u32,
        #[serde(default = "one_part")]
        parts: u32,
    },
    /// `username` is typing in `room` on `instance`.
    Typing { instance: String, room: String, username: String, timestamp_ms: i64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ChatRecord {
        ChatRecord {
            message_id: "m1".into(),
            username: "Azure Ronin".into(),
            text: "hello".into(),
            room: "lobby".into(),
            timestamp: "2026-11-25T12:00:00.000Z".into(),
            attempt: 1,
            author: Some("id".into()),
            verified: true,
        }
    }

    #[test]
    fn round_trips_with_its_type_tag_and_no_attempt_when_first() {
        let json = serde_json::to_value(record()).unwrap();
        assert_eq!(json["type"], "chat_message");
        assert!(json.get("attempt").is_none());
        assert_eq!(serde_json::from_value::<ChatRecord>(json).unwrap(), record());
    }

    #[test]
    fn records_of_other_services_are_checked_like_client_input() {
        let minimal = br#"{"type":"chat_message","username":" Kafka CLI ","text":" hi\r\n","room":"lobby"}"#;
        let parsed = ChatRecord::parse(minimal, Some(b"lobby"), 10).unwrap();
        assert_eq!((parsed.username.as_str(), parsed.text.as_str(), parsed.attempt), ("Kafka CLI", "hi", 1));
        assert!(!parsed.verified && parsed.author.is_none(), "another service's record is not verified");
        assert!(ChatRecord::parse(minimal, Some(b"other"), 10).is_err(), "key and room differ");
        assert!(ChatRecord::parse(minimal, None, 10).is_err(), "no key");
        let long = br#"{"type":"chat_message","username":"x","text":"12345678901","room":"lobby"}"#;
        assert!(ChatRecord::parse(long, Some(b"lobby"), 10).is_err(), "text over the limit");
        assert!(ChatRecord::parse(br#"{"type":"snapshot"}"#, Some(b"lobby"), 10).is_err());
    }
}
