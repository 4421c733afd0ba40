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
}

fn first_attempt() -> u32 {
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

/// A record of the presence topic: what each instance tells the others.
/// Key = instance id. Never part of the chat topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PresenceRecord {
    /// Everyone online on `instance`, by room. An empty map means the
    /// instance is leaving.
    Snapshot { instance: String, rooms: BTreeMap<String, Vec<String>>, timestamp_ms: i64 },
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
        assert!(ChatRecord::parse(minimal, Some(b"other"), 10).is_err(), "key and room differ");
        assert!(ChatRecord::parse(minimal, None, 10).is_err(), "no key");
        let long = br#"{"type":"chat_message","username":"x","text":"12345678901","room":"lobby"}"#;
        assert!(ChatRecord::parse(long, Some(b"lobby"), 10).is_err(), "text over the limit");
        assert!(ChatRecord::parse(br#"{"type":"snapshot"}"#, Some(b"lobby"), 10).is_err());
    }
}
