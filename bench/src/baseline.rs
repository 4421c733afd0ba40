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

/// Frames a room buffers for its slowest reader. A reader further behind loses frames
/// (`Lagged`), which the load mode then reports as lost, like a dropped slow client.
const ROOM_BUFFER: usize = 4096;

struct Room {
    tx: broadcast::Sender<Utf8Bytes>,
    next_offset: i64,
}

type Rooms = Arc<Mutex<HashMap<String, Room>>>;

#[derive(Deserialize)]
struct ClientFrame {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    client_msg_id: Option<String>,
}

/// Accept connections forever.
pub async fn serve(listener: TcpListener) -> anyhow::Result<()> {
    let rooms: Rooms = Arc::default();
    let mut session = 0u64;
    loop {
        let (stream, _) = listener.accept().await?;
        session += 1;
        let rooms = rooms.clone();
        tokio::spawn(async move {
            // A failed connection only ends itself; the errors are the client's business.
            let _ = connection(stream, rooms, session).await;
        });
    }
}

// The handshake callback's error type (an HTTP response) is tungstenite's, not ours to shrink.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, rooms: Rooms, session: u64) -> anyhow::Result<()> {
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
    let room = room_from_query(query.as_deref());
    let username = format!("bench-{session}");
    let mut rx = {
        let mut rooms = rooms.lock().unwrap();
        let entry =
            rooms.entry(room.clone()).or_insert_with(|| Room { tx: broadcast::channel(ROOM_BUFFER).0, next_offset: 0 });
        entry.tx.subscribe()
    };

    let (mut sink, mut stream) = ws.split();
    let welcome = json!({"type": "welcome", "username": username, "room": room, "session_id": session.to_string()});
    sink.send(Message::text(welcome.to_string())).await?;
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
fn on_client_text(rooms: &Rooms, room: &str, username: &str, text: &str) -> String {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(f) if f.kind == "chat_message" => f,
        Ok(_) => return json!({"type": "error", "code": "unknown_type", "message": "unknown type"}).to_string(),
        Err(_) => return json!({"type": "error", "code": "invalid_json", "message": "not a JSON frame"}).to_string(),
    };
    let Some(body) = frame.text.filter(|t| !t.trim().is_empty()) else {
        return json!({"type": "error", "code": "empty_text", "message": "empty text", "client_msg_id": frame.client_msg_id})
            .to_string();
    };
    let mut rooms = rooms.lock().unwrap();
    let Some(r) = rooms.get_mut(room) else {
        return json!({"type": "error", "code": "invalid_room", "message": "no such room"}).to_string();
    };
    let offset = r.next_offset;
    r.next_offset += 1;
    let message_id = format!("{room}-{offset}");
    // Encoded once; every subscriber gets a clone of the same reference-counted bytes. Sent
    // under the lock so the channel order is the offset order.
    let shared = json!({
        "type": "chat_message", "message_id": message_id, "username": username, "text": body,
        "room": room, "active_connections": r.tx.receiver_count(), "offset": offset,
    });
    let _ = r.tx.send(Utf8Bytes::from(shared.to_string()));
    json!({"type": "ack", "client_msg_id": frame.client_msg_id, "message_id": message_id, "offset": offset}).to_string()
}

fn room_from_query(query: Option<&str>) -> String {
    query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("room="))
        .filter(|r| !r.is_empty())
        .unwrap_or("anonymous-anime-universe")
        .to_string()
}
