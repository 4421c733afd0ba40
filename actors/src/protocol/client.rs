//! Frames from clients: parsed and validated once, by pure functions the
//! WebSocket session and the HTTP endpoints share.

use serde::Deserialize;
use serde_json::Value;

use super::{ErrorCode, Refusal};

/// What a client asked for, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    /// Post `text` (already normalised) to the session's room, maybe as a
    /// reply to the message at `reply_to`.
    Chat { text: String, client_msg_id: Option<String>, reply_to: Option<i64> },
    /// Act on the room's message at `offset`: react, edit, delete.
    Act { offset: i64, act: Act, client_msg_id: Option<String> },
    /// Tell the others in the room that this user is typing.
    Typing,
    /// Report the room's message at `offset` to the moderators.
    Report { offset: i64, reason: String },
}

/// What a client does to a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Act {
    /// Add (or, not `added`, take back) one of [`super::REACTIONS`].
    React {
        emoji: String,
        added: bool,
    },
    /// Replace the text (already normalised).
    Edit {
        text: String,
    },
    Delete,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActIn {
    #[serde(rename = "type")]
    _type: String,
    offset: i64,
    #[serde(default)]
    emoji: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    client_msg_id: Option<String>,
}

/// Longest reason a report may give.
pub const MAX_REPORT_REASON_CHARS: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportIn {
    #[serde(rename = "type")]
    _type: String,
    offset: i64,
    #[serde(default)]
    reason: String,
}

/// Limits that client input is checked against.
#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    pub max_text_chars: usize,
    pub max_client_msg_id_chars: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatMessageIn {
    #[serde(rename = "type")]
    _type: String,
    text: String,
    #[serde(default)]
    client_msg_id: Option<String>,
    #[serde(default)]
    reply_to: Option<i64>,
}

/// Parses and validates one text frame from a client.
pub fn parse_client_frame(raw: &str, limits: InputLimits) -> Result<ClientCommand, Refusal> {
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| Refusal::new(ErrorCode::InvalidJson, format!("frame is not valid JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(Refusal::new(ErrorCode::InvalidJson, "frame must be a JSON object"));
    };
    // Read the id first so that every later refusal can echo it.
    let named = |refusal: Refusal| {
        refusal.with_client_msg_id(object.get("client_msg_id").and_then(Value::as_str).map(str::to_owned))
    };
    match object.get("type").and_then(Value::as_str) {
        None => Err(named(Refusal::new(ErrorCode::InvalidJson, "frame needs a string \"type\""))),
        Some("chat_message") => parse_chat(value.clone(), limits).map_err(named),
        Some("typing") if object.len() == 1 => Ok(ClientCommand::Typing),
        Some("report") => parse_report(value.clone()),
        Some(kind @ ("react" | "unreact" | "edit" | "delete")) => {
            let kind = kind.to_owned();
            parse_act(&kind, value.clone(), limits).map_err(named)
        }
        Some("typing") => Err(Refusal::new(ErrorCode::InvalidField, "typing takes no fields")),
        Some(other) => {
            Err(named(Refusal::new(ErrorCode::UnknownType, format!("unknown frame type \"{}\"", truncate(other, 40)))))
        }
    }
}

fn parse_act(kind: &str, value: Value, limits: InputLimits) -> Result<ClientCommand, Refusal> {
    let frame: ActIn = serde_json::from_value(value).map_err(|e| Refusal::invalid_field(format!("{kind}: {e}")))?;
    if frame.offset < 0 {
        return Err(Refusal::invalid_field(format!("{kind}: offset must be a message's offset")));
    }
    check_client_msg_id(frame.client_msg_id.as_deref(), limits)?;
    let act = match (kind, frame.emoji, frame.text) {
        ("react" | "unreact", Some(emoji), None) => {
            if !super::REACTIONS.contains(&emoji.as_str()) {
                return Err(Refusal::new(
                    ErrorCode::InvalidEmoji,
                    format!("the reactions are {}", super::REACTIONS.join(" ")),
                ));
            }
            Act::React { emoji, added: kind == "react" }
        }
        ("edit", None, Some(text)) => Act::Edit { text: normalize_text(&text, limits.max_text_chars)? },
        ("delete", None, None) => Act::Delete,
        ("react" | "unreact", _, _) => return Err(Refusal::invalid_field(format!("{kind} takes offset and emoji"))),
        ("edit", _, _) => return Err(Refusal::invalid_field("edit takes offset and text")),
        _ => return Err(Refusal::invalid_field(format!("{kind} takes only offset"))),
    };
    Ok(ClientCommand::Act { offset: frame.offset, act, client_msg_id: frame.client_msg_id })
}

fn check_client_msg_id(id: Option<&str>, limits: InputLimits) -> Result<(), Refusal> {
    if id.is_some_and(|id| id.chars().count() > limits.max_client_msg_id_chars) {
        let limit = limits.max_client_msg_id_chars;
        return Err(Refusal::invalid_field(format!("client_msg_id is longer than {limit} characters")));
    }
    Ok(())
}

fn parse_report(value: Value) -> Result<ClientCommand, Refusal> {
    let frame: ReportIn =
        serde_json::from_value(value).map_err(|e| Refusal::new(ErrorCode::InvalidField, format!("report: {e}")))?;
    if frame.offset < 0 {
        return Err(Refusal::invalid_field("report: offset must be a message's offset"));
    }
    let reason: String = frame.reason.chars().filter(|c| !c.is_control()).collect();
    let reason = reason.trim();
    if reason.chars().count() > MAX_REPORT_REASON_CHARS {
        return Err(Refusal::invalid_field(format!(
            "report: reason is longer than {MAX_REPORT_REASON_CHARS} characters"
        )));
    }
    Ok(ClientCommand::Report { offset: frame.offset, reason: reason.to_owned() })
}

fn parse_chat(value: Value, limits: InputLimits) -> Result<ClientCommand, Refusal> {
    let frame: ChatMessageIn = serde_json::from_value(value)
        .map_err(|e| Refusal::new(ErrorCode::InvalidField, format!("chat_message: {e}")))?;
    check_client_msg_id(frame.client_msg_id.as_deref(), limits)?;
    if frame.reply_to.is_some_and(|offset| offset < 0) {
        return Err(Refusal::invalid_field("reply_to must be a message's offset"));
    }
    let text = normalize_text(&frame.text, limits.max_text_chars)?;
    Ok(ClientCommand::Chat { text, client_msg_id: frame.client_msg_id, reply_to: frame.reply_to })
}

/// Normalises message text: `\r\n` and `\r` become `\n`, every other control
/// character except `\n` and `\t` is removed, surrounding whitespace is
/// trimmed. Refuses text that ends up empty or longer than `max_chars`.
pub fn normalize_text(text: &str, max_chars: usize) -> Result<String, Refusal> {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let cleaned: String = unified.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        return Err(Refusal::new(ErrorCode::EmptyText, "message text is empty"));
    }
    let chars = trimmed.chars().count();
    if chars > max_chars {
        return Err(Refusal::new(
            ErrorCode::TextTooLong,
            format!("message text has {chars} characters; the limit is {max_chars}"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Longest room name.
pub const MAX_ROOM_CHARS: usize = 64;

/// A room name is 1 to 64 characters of `a-z`, `0-9` and `-`.
pub fn validate_room(room: &str) -> Result<(), Refusal> {
    let valid_chars = room.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if room.is_empty() || room.len() > MAX_ROOM_CHARS || !valid_chars {
        return Err(Refusal::new(
            ErrorCode::InvalidRoom,
            format!("room must be 1 to {MAX_ROOM_CHARS} characters of a-z, 0-9 and '-'"),
        ));
    }
    Ok(())
}

/// Longest username accepted over HTTP.
pub const MAX_USERNAME_CHARS: usize = 40;

/// An HTTP client's username is 1 to 40 printable characters after
/// trimming, none of them invisible or reordering text.
pub fn normalize_username(username: &str) -> Result<String, Refusal> {
    let trimmed = username.trim();
    let chars = trimmed.chars().count();
    let hidden = crate::identity::has_hidden_characters(trimmed);
    if chars == 0 || chars > MAX_USERNAME_CHARS || trimmed.chars().any(char::is_control) || hidden {
        return Err(Refusal::new(
            ErrorCode::InvalidUsername,
            format!("username must be 1 to {MAX_USERNAME_CHARS} printable characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

fn truncate(s: &str, max_chars: usize) -> &str {
    s.char_indices().nth(max_chars).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: InputLimits = InputLimits { max_text_chars: 10, max_client_msg_id_chars: 8 };

    fn refusal(raw: &str) -> Refusal {
        parse_client_frame(raw, LIMITS).expect_err(raw)
    }

    #[test]
    fn accepts_a_chat_message_and_normalises_its_text() {
        let command =
            parse_client_frame(r#"{"type":"chat_message","text":"  hi\r\nyou\u0007 ","client_msg_id":"c1"}"#, LIMITS);
        assert_eq!(
            command,
            Ok(ClientCommand::Chat { text: "hi\nyou".into(), client_msg_id: Some("c1".into()), reply_to: None })
        );
    }

    #[test]
    fn refuses_bad_frames_with_their_codes() {
        let cases = [
            ("not json", ErrorCode::InvalidJson),
            ("[1,2]", ErrorCode::InvalidJson),
            (r#"{"text":"x"}"#, ErrorCode::InvalidJson),
            (r#"{"type":"dance"}"#, ErrorCode::UnknownType),
            (r#"{"type":"chat_message"}"#, ErrorCode::InvalidField),
            (r#"{"type":"chat_message","text":5}"#, ErrorCode::InvalidField),
            (r#"{"type":"chat_message","text":"x","colour":"red"}"#, ErrorCode::InvalidField),
            (r#"{"type":"chat_message","text":"x","client_msg_id":"123456789"}"#, ErrorCode::InvalidField),
            (r#"{"type":"chat_message","text":" \t\n "}"#, ErrorCode::EmptyText),
            (r#"{"type":"chat_message","text":"12345678901"}"#, ErrorCode::TextTooLong),
            (r#"{"type":"typing","room":"x"}"#, ErrorCode::InvalidField),
        ];
        for (raw, code) in cases {
            assert_eq!(refusal(raw).code, code, "{raw}");
        }
    }

    #[test]
    fn accepts_reports_with_a_short_reason() {
        assert_eq!(
            parse_client_frame(r#"{"type":"report","offset":7,"reason":" spam\u0007 "}"#, LIMITS),
            Ok(ClientCommand::Report { offset: 7, reason: "spam".into() })
        );
        assert_eq!(refusal(r#"{"type":"report","offset":-1}"#).code, ErrorCode::InvalidField);
        assert_eq!(refusal(r#"{"type":"report"}"#).code, ErrorCode::InvalidField);
        let long = format!(r#"{{"type":"report","offset":1,"reason":"{}"}}"#, "x".repeat(201));
        assert_eq!(refusal(&long).code, ErrorCode::InvalidField);
    }

    #[test]
    fn parses_replies_reactions_edits_and_deletes() {
        let parse = |raw: &str| parse_client_frame(raw, LIMITS);
        assert!(matches!(
            parse(r#"{"type":"chat_message","text":"yes","reply_to":3}"#),
            Ok(ClientCommand::Chat { reply_to: Some(3), .. })
        ));
        let react = parse(r#"{"type":"react","offset":3,"emoji":"🔥","client_msg_id":"r"}"#);
        let act = Act::React { emoji: "🔥".into(), added: true };
        assert_eq!(react, Ok(ClientCommand::Act { offset: 3, act, client_msg_id: Some("r".into()) }));
        assert!(matches!(
            parse(r#"{"type":"unreact","offset":3,"emoji":"🔥"}"#),
            Ok(ClientCommand::Act { act: Act::React { added: false, .. }, .. })
        ));
        assert!(
            matches!(parse(r#"{"type":"edit","offset":3,"text":" fixed "}"#), Ok(ClientCommand::Act { act: Act::Edit { text }, .. }) if text == "fixed")
        );
        assert!(matches!(parse(r#"{"type":"delete","offset":3}"#), Ok(ClientCommand::Act { act: Act::Delete, .. })));
        let cases = [
            (r#"{"type":"react","offset":3,"emoji":"<b>"}"#, ErrorCode::InvalidEmoji),
            (r#"{"type":"react","offset":-3,"emoji":"🔥"}"#, ErrorCode::InvalidField),
            (r#"{"type":"edit","offset":3,"text":" "}"#, ErrorCode::EmptyText),
            (r#"{"type":"delete","offset":3,"text":"x"}"#, ErrorCode::InvalidField),
            (r#"{"type":"chat_message","text":"x","reply_to":-1}"#, ErrorCode::InvalidField),
        ];
        for (raw, code) in cases {
            assert_eq!(refusal(raw).code, code, "{raw}");
        }
    }

    #[test]
    fn accepts_typing() {
        assert_eq!(parse_client_frame(r#"{"type":"typing"}"#, LIMITS), Ok(ClientCommand::Typing));
    }

    #[test]
    fn echoes_the_client_msg_id_on_refusal() {
        let refused = refusal(r#"{"type":"chat_message","text":"","client_msg_id":"abc"}"#);
        assert_eq!(refused.client_msg_id.as_deref(), Some("abc"));
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(normalize_text("🌸🌸🌸🌸🌸🌸🌸🌸🌸🌸", 10).is_ok());
        assert_eq!(normalize_text("🌸🌸🌸🌸🌸🌸🌸🌸🌸🌸🌸", 10).unwrap_err().code, ErrorCode::TextTooLong);
    }

    #[test]
    fn validates_rooms_and_usernames() {
        assert!(validate_room("anime-talk-42").is_ok());
        for bad in ["", "Upper", "with space", "emoji-🌸", &"a".repeat(65)] {
            assert_eq!(validate_room(bad).unwrap_err().code, ErrorCode::InvalidRoom, "{bad}");
        }
        assert_eq!(normalize_username("  Sakura  ").as_deref(), Ok("Sakura"));
        for bad in ["", "   ", "bell\u{7}", &"n".repeat(41), "Azure\u{200B}Ronin", "\u{202E}Ronin"] {
            assert_eq!(normalize_username(bad).unwrap_err().code, ErrorCode::InvalidUsername);
        }
    }

    /// Any accepted text obeys the documented normalisation.
    fn check_accepted(command: &ClientCommand) {
        if let ClientCommand::Chat { text, .. } = command {
            assert!(!text.is_empty() && text.chars().count() <= LIMITS.max_text_chars);
            assert_eq!(text.trim(), text);
            assert!(text.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
        }
    }

    proptest::proptest! {
        // A short run in every `cargo test`; PROPTEST_CASES raises it (docs/reliability.md).
        #[test]
        fn arbitrary_frames_never_panic(raw in ".{0,300}") {
            if let Ok(command) = parse_client_frame(&raw, LIMITS) {
                check_accepted(&command);
            }
        }

        #[test]
        fn arbitrary_chat_frames_are_accepted_or_refused_with_a_code(
            text in proptest::prelude::any::<String>(),
            id in proptest::option::of(".{0,12}"),
            extra in proptest::option::of("[a-z_]{1,8}"),
        ) {
            let mut frame = serde_json::json!({"type": "chat_message", "text": text, "client_msg_id": id});
            if let Some(key) = extra {
                frame[key] = serde_json::json!(1);
            }
            match parse_client_frame(&frame.to_string(), LIMITS) {
                Ok(command) => check_accepted(&command),
                Err(refusal) => assert!(!refusal.message.is_empty()),
            }
        }
    }
}
