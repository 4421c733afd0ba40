//! The wire protocols the load tool speaks, behind one small enum, so that every scenario
//! (load, idle, connect rate, storm) runs unchanged against every target and counts
//! latency, loss and duplicates the same way:
//!
//! - [`Protocol::Chat`]: the chat server's own (`docs/protocol.md`), which the baseline
//!   speaks too. The room is in the URL (`?room=R&history=0`, or `&since=O&epoch=E` to
//!   resume); `welcome` says the client is in; `chat_message` frames carry `text` and the
//!   room's `offset`; `ack` and `error` answer a send by its `client_msg_id`; `history_end`
//!   closes a resume's replay. Keep-alives are WebSocket pings, which tungstenite answers.
//! - [`Protocol::Centrifugo`]: Centrifugo's JSON client protocol on `/connection/websocket`.
//!   The client sends `{"id":1,"connect":{}}`, then, once connected,
//!   `{"id":2,"subscribe":{"channel":"chat:R"}}` (with `recover`, `offset` and `epoch` to
//!   resume: the subscribe reply then carries the missed publications and `recovered`). A
//!   send is `{"id":N,"publish":{"channel":"chat:R","data":{…}}}`, answered by
//!   `{"id":N,"publish":{}}` or `{"id":N,"error":{"code":…,"message":…}}`; messages arrive as
//!   `{"push":{"channel":"chat:R","pub":{"data":{…},"offset":O}}}`. One frame may hold several
//!   replies, one a line. The server's ping is an empty `{}`, answered with `{}`.
//!
//! Both carry the same chat payload: the load's `text` (run, sender, sequence number, send
//! time), so the accounting in `load.rs` and `storm.rs` reads [`Event`]s and never a frame.

use std::borrow::Cow;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

use crate::load::Ws;

/// Which protocol the clients speak (`--protocol`).
#[derive(clap::ValueEnum, Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// The chat server's protocol (and the baseline's).
    #[default]
    Chat,
    /// Centrifugo's JSON client protocol, channel `chat:<room>` per room.
    Centrifugo,
}

/// Where a client resumes from: the last offset it had, under which epoch.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    pub offset: i64,
    pub epoch: Option<String>,
}

/// What a server frame means to the accounting, borrowed from the frame where JSON allows.
#[derive(Debug, PartialEq)]
pub enum Event<'a> {
    /// Connected, not yet in a room: Centrifugo's connect reply ([`Protocol::join`] then
    /// subscribes).
    Connected,
    /// The client is in its room: chat's `welcome`, Centrifugo's subscribe reply. `offset` is
    /// the room's position at that moment when the protocol says it (Centrifugo's stream
    /// top), so a client that then sees nothing can still resume from it.
    Joined { epoch: Option<Cow<'a, str>>, offset: Option<i64> },
    /// A chat message of the room: live, or replayed by a resume.
    Chat { text: Option<Cow<'a, str>>, offset: Option<i64> },
    /// A send was taken: `id` as given to [`Protocol::chat_message`]; chat's ack also names
    /// the offset the message got.
    Ack { id: Option<u64>, offset: Option<i64> },
    /// A send or another request was refused, by code.
    Error { code: Cow<'a, str>, id: Option<u64> },
    /// The server refused the connect or the subscribe: the client will not get in.
    Refused { code: Cow<'a, str> },
    /// The end of a resume's replay: whether everything missed was there.
    HistoryEnd { recovered: bool },
    /// The server expects an answer ([`Protocol::pong`]).
    Ping,
    /// Anything else: presence, counts, heartbeats, typing, …
    Other,
    /// A frame (or one of its lines) this protocol cannot read.
    Unparsable,
}

/// How much of a chat message the caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Its text too (the load's timing text).
    Text,
    /// Only its offset: the storm's replay check, where the load tool shares the cores with
    /// the server and two million replayed frames must not each be parsed.
    Offsets,
}

/// Centrifugo command ids: the connect, the subscribe, then publishes at `PUBLISH_ID + id`.
const CONNECT_ID: u64 = 1;
const SUBSCRIBE_ID: u64 = 2;
const PUBLISH_ID: u64 = 16;

/// How long a join may wait for the server's answers (the caller may bound it tighter).
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

impl Protocol {
    /// The URL a client of `room` opens (resuming from `resume`, if any).
    pub fn url(self, base: &str, room: &str, resume: Option<&Resume>) -> String {
        match self {
            Protocol::Chat => {
                let query = match resume {
                    None => format!("room={room}&history=0"),
                    Some(r) => {
                        let mut q = format!("room={room}&since={}", r.offset);
                        if let Some(epoch) = &r.epoch {
                            q.push_str(&format!("&epoch={}", epoch.replace('+', "%2B").replace('/', "%2F")));
                        }
                        q
                    }
                };
                with_query(base, &query)
            }
            Protocol::Centrifugo => base.to_string(),
        }
    }

    /// The endpoint that answers 200 once the server takes clients (polled before a storm).
    pub fn ready_path(self) -> &'static str {
        match self {
            Protocol::Chat => "/ready",
            Protocol::Centrifugo => "/health",
        }
    }

    /// The environment that makes a server process listen on `addr`.
    pub fn listen_env(self, addr: std::net::SocketAddr) -> Vec<(&'static str, String)> {
        match self {
            Protocol::Chat => vec![("CHAT_ADDR", addr.to_string())],
            Protocol::Centrifugo => vec![
                ("CENTRIFUGO_HTTP_SERVER_ADDRESS", addr.ip().to_string()),
                ("CENTRIFUGO_HTTP_SERVER_PORT", addr.port().to_string()),
            ],
        }
    }

    /// Whether a close code means "dropped for being too slow".
    pub fn is_eviction(self, code: u16) -> bool {
        match self {
            Protocol::Chat => code == 1008,
            // DisconnectSlow: the client's queue passed client.queue_max_size.
            Protocol::Centrifugo => code == 3008,
        }
    }

    /// One chat message to `room`; `id` comes back in its [`Event::Ack`] or [`Event::Error`].
    pub fn chat_message(self, room: &str, text: &str, id: u64) -> Message {
        let frame = match self {
            Protocol::Chat => {
                serde_json::json!({"type": "chat_message", "text": text, "client_msg_id": id.to_string()})
            }
            // The chat server names the sender itself; a Centrifugo chat client sends its name
            // in the data, as anonymous connections have no user. Same fields, similar size.
            Protocol::Centrifugo => serde_json::json!({"id": PUBLISH_ID + id, "publish": {
                "channel": channel(room),
                "data": {"username": format!("bench-{id}"), "text": text, "client_msg_id": id.to_string()},
            }}),
        };
        Message::text(frame.to_string())
    }

    /// The answer to [`Event::Ping`].
    pub fn pong(self) -> Message {
        Message::text("{}")
    }

    /// What the client sends once the WebSocket is open (Centrifugo's connect).
    fn hello(self) -> Option<Message> {
        match self {
            Protocol::Chat => None,
            Protocol::Centrifugo => Some(Message::text(format!(r#"{{"id":{CONNECT_ID},"connect":{{}}}}"#))),
        }
    }

    /// Centrifugo's subscribe to `room`, recovering from `resume` when given.
    fn subscribe(room: &str, resume: Option<&Resume>) -> Message {
        let mut subscribe = serde_json::json!({"channel": channel(room)});
        if let Some(r) = resume {
            subscribe["recover"] = true.into();
            subscribe["offset"] = r.offset.max(0).into();
            subscribe["epoch"] = r.epoch.clone().unwrap_or_default().into();
        }
        Message::text(serde_json::json!({"id": SUBSCRIBE_ID, "subscribe": subscribe}).to_string())
    }

    /// Calls `f` with every event of one text frame, in order.
    pub fn each_event<'a>(self, text: &'a str, detail: Detail, mut f: impl FnMut(Event<'a>)) {
        match self {
            Protocol::Chat => f(chat_event(text, detail)),
            Protocol::Centrifugo => {
                for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
                    centrifugo_events(line, &mut f);
                }
            }
        }
    }

    /// Takes an open WebSocket into `room`: sends what the protocol needs (Centrifugo: the
    /// connect, then the subscribe once connected), answers pings, and reads until the
    /// client is in. Every event on the way, [`Event::Joined`] included, goes to `on_event`:
    /// a Centrifugo resume's replay comes inside its subscribe reply. A failure is described
    /// the way the reports count it (`closed 3504 connection limit`, `refused 103 …`).
    pub async fn join(
        self,
        ws: &mut Ws,
        room: &str,
        resume: Option<&Resume>,
        mut on_event: impl FnMut(Event<'_>),
    ) -> Result<(), String> {
        let steps = async {
            if let Some(hello) = self.hello() {
                ws.send(hello).await.map_err(|e| format!("send connect: {e}"))?;
            }
            loop {
                let frame = match ws.next().await {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(frame))) => {
                        return Err(frame.map_or("closed before joined".into(), |f| {
                            format!("closed {} {}", u16::from(f.code), f.reason)
                        }));
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(format!("before joined: {e}")),
                    None => return Err("closed before joined".into()),
                };
                let (mut joined, mut connected, mut ping, mut refused) = (false, false, false, None);
                self.each_event(&frame, Detail::Text, |event| {
                    match &event {
                        Event::Joined { .. } => joined = true,
                        Event::Ping => ping = true,
                        Event::Refused { code } => refused = Some(code.to_string()),
                        Event::Connected => connected = true,
                        _ => {}
                    }
                    on_event(event);
                });
                if let Some(code) = refused {
                    return Err(format!("refused {code}"));
                }
                if ping {
                    ws.send(self.pong()).await.map_err(|e| format!("send pong: {e}"))?;
                }
                if connected && !joined {
                    ws.send(Self::subscribe(room, resume)).await.map_err(|e| format!("send subscribe: {e}"))?;
                }
                if joined {
                    return Ok(());
                }
            }
        };
        tokio::time::timeout(JOIN_TIMEOUT, steps).await.unwrap_or_else(|_| Err("timeout before joined".into()))
    }
}

/// Centrifugo's channel for a room.
fn channel(room: &str) -> String {
    format!("chat:{room}")
}

/// Append `extra` to the URL's query string.
pub(crate) fn with_query(url: &str, extra: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{extra}")
}

/// The fields of chat server frames the bench looks at; everything else is ignored.
#[derive(Deserialize)]
struct ChatFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    offset: Option<i64>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    epoch: Option<Cow<'a, str>>,
    recovered: Option<bool>,
    #[serde(borrow)]
    client_msg_id: Option<Cow<'a, str>>,
}

fn chat_event(text: &str, detail: Detail) -> Event<'_> {
    if detail == Detail::Offsets && frame_type(text) == Some("chat_message") {
        return Event::Chat { text: None, offset: chat_offset(text) };
    }
    let Ok(frame) = serde_json::from_str::<ChatFrame>(text) else { return Event::Unparsable };
    let id = frame.client_msg_id.as_deref().and_then(|s| s.parse().ok());
    match frame.kind.as_ref() {
        "chat_message" => Event::Chat { text: frame.text, offset: frame.offset },
        "welcome" => Event::Joined { epoch: frame.epoch, offset: None },
        "ack" => Event::Ack { id, offset: frame.offset },
        "error" => Event::Error { code: frame.code.unwrap_or(Cow::Borrowed("no_code")), id },
        "history_end" => Event::HistoryEnd { recovered: frame.recovered == Some(true) },
        // connection_update, presence, heartbeat, typing, ...
        _ => Event::Other,
    }
}

/// The `type` of a chat server frame, read without parsing it: `"type":"` cannot occur inside
/// a JSON string (its quotes would be escaped), so the first one is the frame's own.
fn frame_type(text: &str) -> Option<&str> {
    let rest = &text[text.find("\"type\":\"")? + 8..];
    Some(&rest[..rest.find('"')?])
}

/// The `offset` of a `chat_message` frame, without parsing the frame.
fn chat_offset(text: &str) -> Option<i64> {
    let rest = &text[text.find("\"offset\":")? + 9..];
    let end = rest.find(|c: char| c != '-' && !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// One line of a Centrifugo frame: a reply to a command (by `id`), a push, or a ping (`{}`).
#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(default)]
    id: u64,
    #[serde(borrow)]
    error: Option<ReplyError<'a>>,
    #[serde(borrow)]
    push: Option<Push<'a>>,
    connect: Option<IgnoredAny>,
    #[serde(borrow)]
    subscribe: Option<Subscribed<'a>>,
    publish: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ReplyError<'a> {
    code: u32,
    #[serde(borrow)]
    message: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Push<'a> {
    #[serde(rename = "pub", borrow)]
    publication: Option<Publication<'a>>,
}

#[derive(Deserialize)]
struct Publication<'a> {
    #[serde(borrow)]
    data: Option<ChatData<'a>>,
    offset: Option<i64>,
}

/// The data of a chat publication (see [`Protocol::chat_message`]).
#[derive(Deserialize)]
struct ChatData<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

/// A subscribe reply: the stream position, and a resume's outcome and replay.
#[derive(Deserialize)]
struct Subscribed<'a> {
    #[serde(borrow)]
    epoch: Option<Cow<'a, str>>,
    offset: Option<i64>,
    #[serde(default)]
    recovered: bool,
    #[serde(default)]
    was_recovering: bool,
    #[serde(default, borrow)]
    publications: Vec<Publication<'a>>,
}

fn centrifugo_events<'a>(line: &'a str, f: &mut impl FnMut(Event<'a>)) {
    let Ok(reply) = serde_json::from_str::<Reply>(line) else { return f(Event::Unparsable) };
    if let Some(e) = reply.error {
        let code = Cow::Owned(format!("{} {}", e.code, e.message));
        return f(match reply.id {
            CONNECT_ID | SUBSCRIBE_ID => Event::Refused { code },
            id => Event::Error { code, id: id.checked_sub(PUBLISH_ID) },
        });
    }
    if let Some(push) = reply.push {
        return f(match push.publication {
            Some(p) => Event::Chat { text: p.data.and_then(|d| d.text), offset: p.offset },
            // join, leave, unsubscribe, disconnect, message pushes.
            None => Event::Other,
        });
    }
    if let Some(s) = reply.subscribe {
        // An offset of 0 (a new channel) is left out of the JSON.
        f(Event::Joined { epoch: s.epoch, offset: Some(s.offset.unwrap_or(0)) });
        for p in s.publications {
            f(Event::Chat { text: p.data.and_then(|d| d.text), offset: p.offset });
        }
        if s.was_recovering {
            f(Event::HistoryEnd { recovered: s.recovered });
        }
        return;
    }
    if reply.publish.is_some() {
        return f(Event::Ack { id: reply.id.checked_sub(PUBLISH_ID), offset: None });
    }
    if reply.connect.is_some() {
        return f(Event::Connected);
    }
    // A reply to a command this tool does not send, or else the ping `{}`.
    f(if reply.id != 0 { Event::Other } else { Event::Ping })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(protocol: Protocol, text: &str, detail: Detail) -> Vec<Event<'_>> {
        let mut all = Vec::new();
        protocol.each_event(text, detail, |e| all.push(e));
        all
    }

    #[test]
    fn reads_chat_frames() {
        let chat = r#"{"type":"chat_message","message_id":"m","username":"u","text":"\"offset\":7 \"type\":\"x\"","room":"r","timestamp":"t","active_connections":3,"offset":42,"epoch":"e"}"#;
        assert_eq!(
            events(Protocol::Chat, chat, Detail::Text),
            [Event::Chat { text: Some(r#""offset":7 "type":"x""#.into()), offset: Some(42) }]
        );
        assert_eq!(events(Protocol::Chat, chat, Detail::Offsets), [Event::Chat { text: None, offset: Some(42) }]);
        // The baseline's frames come with their keys sorted.
        let sorted = r#"{"active_connections":1,"offset":-1,"text":"t","type":"chat_message"}"#;
        assert_eq!(events(Protocol::Chat, sorted, Detail::Offsets), [Event::Chat { text: None, offset: Some(-1) }]);
        let end = r#"{"type":"history_end","room":"r","recovered":true,"epoch":"e"}"#;
        assert_eq!(events(Protocol::Chat, end, Detail::Offsets), [Event::HistoryEnd { recovered: true }]);
        let ack = r#"{"type":"ack","client_msg_id":"17","offset":5}"#;
        assert_eq!(events(Protocol::Chat, ack, Detail::Text), [Event::Ack { id: Some(17), offset: Some(5) }]);
        let welcome = r#"{"type":"welcome","epoch":"e1","room":"r"}"#;
        assert_eq!(
            events(Protocol::Chat, welcome, Detail::Text),
            [Event::Joined { epoch: Some("e1".into()), offset: None }]
        );
        assert_eq!(events(Protocol::Chat, "nope", Detail::Text), [Event::Unparsable]);
    }

    #[test]
    fn reads_centrifugo_replies_pushes_and_pings() {
        let frame = concat!(
            r#"{"push":{"channel":"chat:r","pub":{"data":{"username":"u","text":"b:1"},"offset":3}}}"#,
            "\n",
            r#"{"id":20,"publish":{}}"#,
            "\n{}\n",
            r#"{"id":21,"error":{"code":111,"message":"too many requests"}}"#,
        );
        assert_eq!(
            events(Protocol::Centrifugo, frame, Detail::Text),
            [
                Event::Chat { text: Some("b:1".into()), offset: Some(3) },
                Event::Ack { id: Some(4), offset: None },
                Event::Ping,
                Event::Error { code: "111 too many requests".into(), id: Some(5) },
            ]
        );
        assert_eq!(
            events(Protocol::Centrifugo, r#"{"id":1,"connect":{"client":"c","ping":15,"pong":true}}"#, Detail::Text),
            [Event::Connected]
        );
        assert_eq!(
            events(
                Protocol::Centrifugo,
                r#"{"id":2,"error":{"code":103,"message":"permission denied"}}"#,
                Detail::Text
            ),
            [Event::Refused { code: "103 permission denied".into() }]
        );
    }

    #[test]
    fn reads_centrifugo_subscribe_replies() {
        let fresh = r#"{"id":2,"subscribe":{"recoverable":true,"epoch":"abc","positioned":true}}"#;
        assert_eq!(
            events(Protocol::Centrifugo, fresh, Detail::Offsets),
            [Event::Joined { epoch: Some("abc".into()), offset: Some(0) }]
        );
        let recovered = r#"{"id":2,"subscribe":{"recoverable":true,"epoch":"abc","offset":5,"recovered":true,"was_recovering":true,"publications":[{"data":{"text":"x"},"offset":4},{"data":{"text":"y"},"offset":5}]}}"#;
        assert_eq!(
            events(Protocol::Centrifugo, recovered, Detail::Offsets),
            [
                Event::Joined { epoch: Some("abc".into()), offset: Some(5) },
                Event::Chat { text: Some("x".into()), offset: Some(4) },
                Event::Chat { text: Some("y".into()), offset: Some(5) },
                Event::HistoryEnd { recovered: true },
            ]
        );
        let lost = r#"{"id":2,"subscribe":{"recoverable":true,"epoch":"new","was_recovering":true}}"#;
        assert_eq!(
            events(Protocol::Centrifugo, lost, Detail::Offsets),
            [Event::Joined { epoch: Some("new".into()), offset: Some(0) }, Event::HistoryEnd { recovered: false }]
        );
    }

    #[test]
    fn builds_urls_and_commands() {
        let resume = Resume { offset: 41, epoch: Some("a+b/c".into()) };
        assert_eq!(Protocol::Chat.url("ws://h/ws/chat", "r", None), "ws://h/ws/chat?room=r&history=0");
        assert_eq!(
            Protocol::Chat.url("ws://h/ws/chat", "r", Some(&resume)),
            "ws://h/ws/chat?room=r&since=41&epoch=a%2Bb%2Fc"
        );
        assert_eq!(
            Protocol::Centrifugo.url("ws://h/connection/websocket", "r", Some(&resume)),
            "ws://h/connection/websocket"
        );
        let sub: serde_json::Value =
            serde_json::from_str(Protocol::subscribe("r", Some(&resume)).to_text().unwrap()).unwrap();
        assert_eq!(
            sub,
            serde_json::json!({"id": 2, "subscribe": {"channel": "chat:r", "recover": true, "offset": 41, "epoch": "a+b/c"}})
        );
        let publish: serde_json::Value =
            serde_json::from_str(Protocol::Centrifugo.chat_message("r", "t", 4).to_text().unwrap()).unwrap();
        assert_eq!(publish["id"], 20);
        assert_eq!(publish["publish"]["channel"], "chat:r");
        assert_eq!(publish["publish"]["data"]["text"], "t");
    }
}
