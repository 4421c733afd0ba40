//! The chat over plain HTTP: posting (the original system's clients), the
//! rooms with people online, and a room's messages.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use actors::messages::{Entry, FetchMessages, ListRooms, SendChat, Sender};
use actors::protocol::{normalize_text, normalize_username, validate_room, ErrorCode, Refusal};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use super::{history_start, hub_gone, parse_query, AppState};
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/chat/send", web::post().to(send))
        .route("/api/rooms", web::get().to(rooms))
        .route("/api/rooms/{room}/messages", web::get().to(messages));
}

/// Body of `POST /chat/send`. Other fields are ignored, as the original
/// service did, so its clients keep working.
#[derive(Deserialize)]
pub struct SendRequest {
    username: String,
    text: String,
    room: Option<String>,
    /// A retry with the same id (and name) gets the first attempt's outcome.
    client_msg_id: Option<String>,
    /// The offset of the room's message this one replies to.
    reply_to: Option<i64>,
}

async fn send(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> Result<HttpResponse, ApiError> {
    // CORS alone would only hide the answer from another site's page: its
    // visitors' browsers would still post (a plain-text body needs no preflight).
    state.check_origin(&req, "POST /chat/send")?;
    let address = state.client_addr(&req);
    if state.http_sends.check_key(&address).is_err() {
        return Err(Refusal::new(ErrorCode::RateLimited, "too many messages from your address; slow down").into());
    }
    let body: SendRequest = read_json(body, &state).await?;
    let username = normalize_username(&body.username)?;
    let text = normalize_text(&body.text, state.chat.max_text_chars)?;
    let room = body.room.unwrap_or_else(|| state.chat.default_room.clone());
    validate_room(&room)?;
    if body.client_msg_id.as_ref().is_some_and(|id| id.chars().count() > state.chat.max_client_msg_id_chars) {
        let limit = state.chat.max_client_msg_id_chars;
        return Err(Refusal::invalid_field(format!("client_msg_id is longer than {limit} characters")).into());
    }
    let token = bearer(&req).map(str::to_owned);
    if token.is_none() && req.headers().contains_key(header::AUTHORIZATION) {
        // Posting unverified instead would hide the client's mistake.
        return Err(Refusal::new(ErrorCode::InvalidToken, "Authorization must be `Bearer <token>`").into());
    }
    let sender = Sender::Http { username, token, address };
    if body.reply_to.is_some_and(|offset| offset < 0) {
        return Err(Refusal::invalid_field("reply_to must be a message's offset").into());
    }
    let request = SendChat { sender, room, text, reply_to: body.reply_to, client_msg_id: body.client_msg_id };
    let posted = state.actors.hub.send(request).await.map_err(|_| hub_gone())??;
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "message": "Message sent",
        "message_id": posted.message_id,
        "timestamp": posted.timestamp,
        "offset": posted.seq,
        "epoch": posted.epoch.as_str(),
    })))
}

/// A request's JSON body, read within the request timeout: a client that
/// trickles its body does not hold the connection. Not JSON, too large or
/// too slow: a JSON error.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    mut body: web::Payload,
    state: &AppState,
) -> Result<T, ApiError> {
    let read = async {
        let mut bytes = web::BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Refusal::new(ErrorCode::InvalidJson, format!("request body: {e}")))?;
            if bytes.len() + chunk.len() > state.max_body_bytes {
                let limit = state.max_body_bytes;
                return Err(Refusal::new(ErrorCode::InvalidJson, format!("request body over {limit} bytes")).into());
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| Refusal::new(ErrorCode::InvalidJson, format!("request body: {e}")).into())
    };
    actix_web::rt::time::timeout(state.request_timeout, read).await.unwrap_or(Err(ApiError::SlowRequest))
}

/// The token of `Authorization: Bearer <token>` (the scheme in any case,
/// RFC 9110), if the request has one.
pub(crate) fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|token| !token.is_empty())
}

/// Rooms with people online, on every instance.
async fn rooms(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rooms = state.actors.presence.send(ListRooms).await.map_err(|_| hub_gone())?;
    Ok(HttpResponse::Ok().json(rooms))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    since: Option<i64>,
    epoch: Option<String>,
    limit: Option<usize>,
}

/// A page of a room's messages: the last `limit`, or the first `limit` after `since`.
async fn messages(
    state: web::Data<AppState>,
    room: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let room = room.into_inner();
    validate_room(&room)?;
    let query = parse_query::<MessagesQuery>(&req)?;
    let (start, max) = history_start(query.since, query.epoch, query.limit, &state.history, "limit")?;
    let fetch = FetchMessages { room: room.clone(), start, max };
    let page = state.actors.history.send(fetch).await.map_err(|_| hub_gone())??;
    let messages: Vec<serde_json::Value> = page.messages.iter().map(public_json).collect();
    let epoch = page.epoch.as_str();
    Ok(HttpResponse::Ok()
        .json(json!({"room": room, "messages": messages, "recovered": page.recovered, "epoch": epoch})))
}

/// A message as the public API shows it: without its author's identity id.
fn public_json(entry: &Entry) -> serde_json::Value {
    let mut message = message_json(entry);
    if let Some(fields) = message.as_object_mut() {
        fields.remove("author");
    }
    message
}

/// A message as the admin API shows it: the record's value and its offset,
/// in its current state (edited, removed without its text, its quote's
/// preview, its reactions), the same as its `chat_message` frame.
pub(crate) fn message_json(entry: &Entry) -> serde_json::Value {
    let mut message = json!(entry.message());
    message["offset"] = json!(entry.seq);
    if let Ok(serde_json::Value::Object(frame)) = serde_json::from_str(&entry.frame) {
        for key in ["text", "edited_at", "deleted", "deleted_by", "reply_to", "reactions"] {
            if let Some(value) = frame.get(key) {
                message[key] = value.clone();
            }
        }
    }
    message
}
