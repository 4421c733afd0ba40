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
    /// The offset of the room's message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
}

/// The reactions a message may get: a bounded set, so a reaction is never
/// arbitrary text.
pub const REACTIONS: [&str; 18] =
    ["🔥", "❤️", "😂", "👍", "👎", "😮", "😢", "🎉", "👀", "🙏", "💯", "✨", "🤔", "😍", "😭", "🤯", "⭐", "🌸"];

/// Most distinct emoji one message may carry.
pub const MAX_DISTINCT_REACTIONS: usize = 8;

/// `message_edited`: the author changed a message's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "message_edited")]
pub struct EditRecord {
    #[serde(default)]
    pub event_id: String,
    /// The edited message's offset.
    pub target: i64,
    pub room: String,
    pub text: String,
    /// Who edits (an identity id): only the message's author counts.
    pub author: String,
    pub username: String,
    #[serde(default)]
    pub timestamp: String,
}

/// `message_deleted`: the author took a message back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "message_deleted")]
pub struct DeleteRecord {
    #[serde(default)]
    pub event_id: String,
    pub target: i64,
    pub room: String,
    pub author: String,
    pub username: String,
    #[serde(default)]
    pub timestamp: String,
}

/// `reaction`: someone added (or took back) an emoji on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "reaction")]
pub struct ReactionRecord {
    #[serde(default)]
    pub event_id: String,
    pub target: i64,
    pub room: String,
    pub emoji: String,
    pub added: bool,
    pub author: String,
    pub username: String,
    #[serde(default)]
    pub timestamp: String,
}

/// Anything a room's stream in the chat topic holds: its messages and the
/// events of their lives, in one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomRecord {
    Message(ChatRecord),
    Edit(EditRecord),
    Delete(DeleteRecord),
    Reaction(ReactionRecord),
}

impl RoomRecord {
    /// A record as read from the topic, checked like client input.
    pub fn parse(payload: &[u8], key: Option<&[u8]>, max_text_chars: usize) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Kind<'a> {
            #[serde(rename = "type", borrow)]
            kind: std::borrow::Cow<'a, str>,
        }
        let kind: Kind<'_> = serde_json::from_slice(payload).map_err(|e| format!("not a room record: {e}"))?;
        let parsed = |e: serde_json::Error| format!("not a {} record: {e}", kind.kind);
        let record = match kind.kind.as_ref() {
            "chat_message" => return ChatRecord::parse(payload, key, max_text_chars).map(Self::Message),
            "message_edited" => {
                let mut edit: EditRecord = serde_json::from_slice(payload).map_err(parsed)?;
                edit.text = normalize_text(&edit.text, max_text_chars).map_err(|r| r.message)?;
                Self::Edit(edit)
            }
            "message_deleted" => Self::Delete(serde_json::from_slice(payload).map_err(parsed)?),
            "reaction" => {
                let reaction: ReactionRecord = serde_json::from_slice(payload).map_err(parsed)?;
                if !REACTIONS.contains(&reaction.emoji.as_str()) {
                    return Err(format!("{:?} is not one of the reactions", reaction.emoji));
                }
                Self::Reaction(reaction)
            }
            other => return Err(format!("{other:?} is not a room record")),
        };
        if key != Some(record.room().as_bytes()) {
            return Err("the record's key is not its room".into());
        }
        validate_room(record.room()).map_err(|r| r.message)?;
        if record.target().is_some_and(|target| target < 0) || record.author().is_none_or(str::is_empty) {
            return Err("an event needs its target's offset and its author".into());
        }
        let mut record = record;
        let username = match &mut record {
            Self::Edit(e) => &mut e.username,
            Self::Delete(d) => &mut d.username,
            Self::Reaction(r) => &mut r.username,
            Self::Message(m) => &mut m.username,
        };
        *username = normalize_username(username).map_err(|r| r.message)?;
        Ok(record)
    }

    /// The record's own id: a message's `message_id`, an event's `event_id`.
    pub fn id(&self) -> &str {
        match self {
            Self::Message(m) => &m.message_id,
            Self::Edit(e) => &e.event_id,
            Self::Delete(d) => &d.event_id,
            Self::Reaction(r) => &r.event_id,
        }
    }

    pub fn room(&self) -> &str {
        match self {
            Self::Message(m) => &m.room,
            Self::Edit(e) => &e.room,
            Self::Delete(d) => &d.room,
            Self::Reaction(r) => &r.room,
        }
    }

    pub fn username(&self) -> &str {
        match self {
            Self::Message(m) => &m.username,
            Self::Edit(e) => &e.username,
            Self::Delete(d) => &d.username,
            Self::Reaction(r) => &r.username,
        }
    }

    pub fn timestamp(&self) -> &str {
        match self {
            Self::Message(m) => &m.timestamp,
            Self::Edit(e) => &e.timestamp,
            Self::Delete(d) => &d.timestamp,
            Self::Reaction(r) => &r.timestamp,
        }
    }

    /// The identity behind the record, if it has one.
    pub fn author(&self) -> Option<&str> {
        match self {
            Self::Message(m) => m.author.as_deref(),
            Self::Edit(e) => Some(&e.author),
            Self::Delete(d) => Some(&d.author),
            Self::Reaction(r) => Some(&r.author),
        }
    }

    /// The message an event is about.
    pub fn target(&self) -> Option<i64> {
        match self {
            Self::Message(_) => None,
            Self::Edit(e) => Some(e.target),
            Self::Delete(d) => Some(d.target),
            Self::Reaction(r) => Some(r.target),
        }
    }

    pub fn as_message(&self) -> Option<&ChatRecord> {
        match self {
            Self::Message(m) => Some(m),
            _ => None,
        }
    }

    /// Marks a message as the next attempt of the same message. An event
    /// needs no mark: applying one twice changes nothing more.
    pub fn next_attempt(&mut self) {
        if let Self::Message(message) = self {
            message.attempt = message.attempt.saturating_add(1);
        }
    }

    /// The message an event is about, or a reply quotes: the hub checks it
    /// exists before the record is written.
    pub fn names(&self) -> Option<i64> {
        self.target().or_else(|| self.as_message().and_then(|m| m.reply_to))
    }

    /// Every kind's `schema` header.
    pub const SCHEMAS: [&'static str; 4] =
        ["chat_message/v1", "message_edited/v1", "message_deleted/v1", "reaction/v1"];

    /// The `schema` header of the record's kind.
    pub fn schema(&self) -> &'static str {
        let kind = match self {
            Self::Message(_) => 0,
            Self::Edit(_) => 1,
            Self::Delete(_) => 2,
            Self::Reaction(_) => 3,
        };
        Self::SCHEMAS[kind]
    }

    /// The id and timestamp, which other services may leave empty: filled
    /// in when read, the same way on every instance.
    pub fn id_and_timestamp_mut(&mut self) -> (&mut String, &mut String) {
        match self {
            Self::Message(m) => (&mut m.message_id, &mut m.timestamp),
            Self::Edit(e) => (&mut e.event_id, &mut e.timestamp),
            Self::Delete(d) => (&mut d.event_id, &mut d.timestamp),
            Self::Reaction(r) => (&mut r.event_id, &mut r.timestamp),
        }
    }

    /// The record's value, JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Records hold only strings, integers and booleans: serializing cannot fail.
        match self {
            Self::Message(m) => serde_json::to_vec(m),
            Self::Edit(e) => serde_json::to_vec(e),
            Self::Delete(d) => serde_json::to_vec(d),
            Self::Reaction(r) => serde_json::to_vec(r),
        }
        .expect("room records serialize")
    }
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
        if record.reply_to.is_some_and(|offset| offset < 0) {
            return Err("reply_to must be a message's offset".into());
        }
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
        /// Absent in records of servers before it was kept.
        #[serde(default)]
        reason: String,
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
        /// Absent in records of servers before it was kept.
        #[serde(default)]
        reason: String,
    },
    SlowMode {
        room: String,
        seconds: u32,
        by: String,
        at_ms: i64,
        /// Absent in records of servers before it was kept.
        #[serde(default)]
        reason: String,
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
        /// Absent in records of servers before it was kept.
        #[serde(default)]
        reason: String,
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
            reply_to: None,
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
    fn events_round_trip_and_are_checked_too() {
        let reaction = RoomRecord::Reaction(ReactionRecord {
            event_id: "e1".into(),
            target: 4,
            room: "lobby".into(),
            emoji: "🔥".into(),
            added: true,
            author: "id".into(),
            username: "Azure Ronin".into(),
            timestamp: "2026-11-25T12:00:00.000Z".into(),
        });
        let json = reaction.to_json();
        assert_eq!(RoomRecord::parse(&json, Some(b"lobby"), 10), Ok(reaction.clone()));
        let odd = String::from_utf8(json).unwrap().replace("🔥", "<script>");
        assert!(RoomRecord::parse(odd.as_bytes(), Some(b"lobby"), 10).is_err(), "only the listed emoji");
        let edit = br#"{"type":"message_edited","event_id":"e2","target":4,"room":"lobby","text":" fixed ","author":"id","username":"A","timestamp":"t"}"#;
        let RoomRecord::Edit(edit) = RoomRecord::parse(edit, Some(b"lobby"), 10).unwrap() else { panic!("an edit") };
        assert_eq!(edit.text, "fixed", "normalised like any text");
        let message = RoomRecord::Message(record());
        assert_eq!(RoomRecord::parse(&message.to_json(), Some(b"lobby"), 10), Ok(message));
        assert!(RoomRecord::parse(br#"{"type":"snapshot"}"#, Some(b"lobby"), 10).is_err());
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

    #[test]
    fn moderation_records_written_before_lifts_had_reasons_still_read() {
        let old = br#"{"action":"unban","target":{"identity":"x"},"by":"Mod","at_ms":1}"#;
        let unban: ModerationRecord = serde_json::from_slice(old).unwrap();
        assert_eq!(
            unban,
            ModerationRecord::Unban {
                target: Target::Identity("x".into()),
                by: "Mod".into(),
                at_ms: 1,
                reason: String::new()
            }
        );
        let now = serde_json::to_value(ModerationRecord::SlowMode {
            room: "r".into(),
            seconds: 5,
            by: "M".into(),
            at_ms: 2,
            reason: "raid".into(),
        });
        assert_eq!(now.unwrap()["reason"], "raid");
    }
}
