//! The baseline: the smallest tokio WebSocket fan-out server that the load mode can drive.
//!
//! No actors, no Kafka, no validation beyond parsing: one task per connection, one
//! `tokio::sync::broadcast` channel per room. Each chat message is encoded to JSON ONCE and
//! the same `Utf8Bytes` (reference-counted) is handed to every subscriber, so what is left
//! is the unavoidable cost of WebSocket framing and socket writes. Comparing the chat server
//! with this on the same machine shows how much its architecture adds.
//!
//! Protocol subset (see `docs/protocol.md`): `welcome` on connect; for each client
//! `{"type":"chat_message","text":…}` one `chat_message` with `message_id`, `offset` (a
//! per-room counter standing in for the Kafka offset), `text`, `room`, `username` to the
//! whole room, sender included, and an `ack` to the sender; `error` for anything else.
//!
//! With `--history` (off for the benchmarks: it keeps every message in memory, which would
//! count against memory per connection) it also answers `?since=O` like the chat server: the
//! room's messages after `O`, then `history_end`, then live, under one epoch (`baseline`).
//! That is what the storm mode's smoke test runs against.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Connections the kernel may queue before the baseline accepts them: the chat server's
/// backlog (`src/startup.rs`), and Go's (Centrifugo's), which is somaxconn, 4,096 here.
/// `TcpListener::bind` would pass 128, and a connect storm would then lose SYNs to it.
const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with [`LISTEN_BACKLOG`].
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Frames a room buffers for its slowest reader. A reader further behind loses frames
/// (`Lagged`), which the load mode then reports as lost, like a dropped slow client.
const ROOM_BUFFER: usize = 4096;

struct Room {
    tx: broadcast::Sender<Utf8Bytes>,
    next_offset: i64,
    /// Every frame sent to the room, at index = offset (only with history).
    log: Vec<Utf8Bytes>,
}

/// The rooms of one baseline, which several listeners may share (as the chat server's
/// instances share one Kafka topic).
#[derive(Clone, Default)]
pub struct Store {
    rooms: Arc<Mutex<HashMap<String, Room>>>,
    history: bool,
}

impl Store {
    /// Rooms that keep their messages and answer `since=` resumes when `history` is set.
    pub fn new(history: bool) -> Self {
        Store { rooms: Arc::default(), history }
    }
}

/// What every frame of a baseline with history names as its log.
const EPOCH: &str = "baseline";

#[derive(Deserialize)]
struct ClientFrame {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    client_msg_id: Option<String>,
}

/// Accept connections forever, without history.
pub async fn serve(listener: TcpListener) -> anyhow::Result<()> {
    serve_store(listener, Store::default()).await
}

/// Accept connections forever into the rooms of `store`.
pub async fn serve_store(listener: TcpListener, store: Store) -> anyhow::Result<()> {
    let mut session = 0u64;
    loop {
        let (stream, _) = listener.accept().await?;
        session += 1;
        let rooms = store.clone();
        tokio::spawn(async move {
            // A failed connection only ends itself; the errors are the client's business.
            let _ = connection(stream, rooms, session).await;
        });
    }
}

// The handshake callback's error type (an HTTP response) is tungstenite's, not ours to shrink.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, rooms: Store, session: u64) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut query = None;
    // Small read buffer: tungstenite's default 128 KiB per connection would dominate the
    // baseline's memory per connection, which is one of the numbers being compared.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let callback = |req: &Request, resp: Response| {
        if req.uri().path() != "/ws/chat" {
            let mut not_found = ErrorResponse::new(Some("not found".into()));
            *not_found.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND;
            return Err(not_found);
        }
        query = req.uri().query().map(str::to_owned);
        Ok(resp)
    };
    let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await?;
    let room = param(query.as_deref(), "room").unwrap_or("anonymous-anime-universe").to_string();
    let since = param(query.as_deref(), "since").and_then(|s| s.parse::<i64>().ok()).filter(|_| rooms.history);
    let username = format!("bench-{session}");
    // Subscribing and copying the log under one lock: the replay ends where the feed begins.
    let (mut rx, replay) = {
        let mut map = rooms.rooms.lock().unwrap();
        let entry = map.entry(room.clone()).or_insert_with(|| Room {
            tx: broadcast::channel(ROOM_BUFFER).0,
            next_offset: 0,
            log: Vec::new(),
        });
        let replay = since.map(|since| entry.log[(since + 1).clamp(0, entry.log.len() as i64) as usize..].to_vec());
        (entry.tx.subscribe(), replay)
    };

    let (mut sink, mut stream) = ws.split();
    let mut welcome = json!({"type": "welcome", "username": username, "room": room, "session_id": session.to_string()});
    if rooms.history {
        welcome["epoch"] = EPOCH.into();
    }
    sink.send(Message::text(welcome.to_string())).await?;
    if let Some(replay) = replay {
        for frame in replay {
            sink.feed(Message::Text(frame)).await?;
        }
        let end = json!({"type": "history_end", "room": room, "recovered": true, "epoch": EPOCH});
        sink.send(Message::text(end.to_string())).await?;
    }
    loop {
        tokio::select! {
            frame = rx.recv() => {
                match frame {
                    Ok(frame) => {
                        // Queue everything already waiting, then flush once: one write for a burst.
                        sink.feed(Message::Text(frame)).await?;
                        while let Ok(more) = rx.try_recv() {
                            sink.feed(Message::Text(more)).await?;
                        }
                        sink.flush().await?;
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let reply = on_client_text(&rooms, &room, &username, &text);
                    sink.send(Message::text(reply)).await?;
                }
                Some(Ok(Message::Binary(_))) => {
                    let error = json!({"type": "error", "code": "binary_not_supported", "message": "text frames only"});
                    sink.send(Message::text(error.to_string())).await?;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {} // ping/pong: tungstenite answers pings itself
            },
        }
    }
    // Finish the close handshake (tungstenite queued the reply to the client's close frame).
    let _ = sink.close().await;
    Ok(())
}

/// Handle one client frame; returns the reply for the sender (`ack` or `error`).
fn on_client_text(store: &Store, room: &str, username: &str, text: &str) -> String {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(f) if f.kind == "chat_message" => f,
        Ok(_) => return json!({"type": "error", "code": "unknown_type", "message": "unknown type"}).to_string(),
        Err(_) => return json!({"type": "error", "code": "invalid_json", "message": "not a JSON frame"}).to_string(),
    };
    let Some(body) = frame.text.filter(|t| !t.trim().is_empty()) else {
        return json!({"type": "error", "code": "empty_text", "message": "empty text", "client_msg_id": frame.client_msg_id})
            .to_string();
    };
    let mut rooms = store.rooms.lock().unwrap();
    let Some(r) = rooms.get_mut(room) else {
        return json!({"type": "error", "code": "invalid_room", "message": "no such room"}).to_string();
    };
    let offset = r.next_offset;
    r.next_offset += 1;
    let message_id = format!("{room}-{offset}");
    // Encoded once; every subscriber gets a clone of the same reference-counted bytes. Sent
    // under the lock so the channel order is the offset order.
    let mut shared = json!({
        "type": "chat_message", "message_id": message_id, "username": username, "text": body,
        "room": room, "active_connections": r.tx.receiver_count(), "offset": offset,
    });
    let mut ack =
        json!({"type": "ack", "client_msg_id": frame.client_msg_id, "message_id": message_id, "offset": offset});
    if store.history {
        shared["epoch"] = EPOCH.into();
        ack["epoch"] = EPOCH.into();
    }
    let shared = Utf8Bytes::from(shared.to_string());
    if store.history {
        r.log.push(shared.clone());
    }
    let _ = r.tx.send(shared);
    ack.to_string()
}

/// The value of `name=` in a query string (not percent-decoded: the bench sends none).
fn param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')).filter(|v| !v.is_empty())
}
