//! HTTP endpoints: the page and its assets, health and readiness, the HTTP
//! send endpoint and the WebSocket upgrade.

use std::borrow::Cow;

use actix::Addr;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use actors::protocol::{normalize_text, normalize_username, validate_room, ErrorCode, Refusal};
use actors::{messages::SendChat, room::now_rfc3339, ChatRoom, ChatSettings, KafkaHealth};
use rust_embed::Embed;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::origin::OriginPolicy;

/// What every handler can reach.
pub struct AppState {
    pub hub: Addr<ChatRoom>,
    pub health: KafkaHealth,
    pub chat: ChatSettings,
    pub origins: OriginPolicy,
}

/// The browser page, compiled into the binary.
#[derive(Embed)]
#[folder = "frontend/"]
#[exclude = "tests/*"]
struct Page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/assets/{path:.*}", web::get().to(asset))
        .route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .route("/chat/send", web::post().to(send))
        .route("/ws/chat", web::get().to(websocket));
}

/// Browsers get the page; API clients get a status document.
async fn index(req: HttpRequest) -> HttpResponse {
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        return embedded_file(&req, "index.html");
    }
    HttpResponse::Ok().json(json!({
        "service": "anime-chat",
        "version": env!("CARGO_PKG_VERSION"),
        "status": "running",
    }))
}

async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    embedded_file(&req, &path)
}

fn embedded_file(req: &HttpRequest, path: &str) -> HttpResponse {
    let Some(file) = Page::get(path) else {
        return HttpResponse::NotFound().json(json!({"error": format!("no asset {path}"), "code": "not_found"}));
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let fresh = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str());
    let mut response = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .content_type(mime_guess::from_path(path).first_or_octet_stream().essence_str())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if fresh {
        return response.finish();
    }
    match file.data {
        Cow::Borrowed(bytes) => response.body(bytes),
        Cow::Owned(bytes) => response.body(bytes),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Liveness: 200 while the process runs, with the broker's state.
async fn health(state: web::Data<AppState>) -> HttpResponse {
    let connected = state.health.is_connected();
    HttpResponse::Ok().json(json!({
        "status": if connected { "healthy" } else { "unhealthy" },
        "timestamp": now_rfc3339(),
        "kafka_connected": connected,
    }))
}

/// Readiness: 200 only when the broker answers and the consumer is reading.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let reason = if !state.health.is_connected() {
        Some("Kafka is not reachable")
    } else if !state.health.is_consuming() {
        Some("the Kafka consumer is not assigned yet")
    } else {
        None
    };
    match reason {
        None => HttpResponse::Ok().json(json!({"status": "ready"})),
        Some(reason) => HttpResponse::ServiceUnavailable().json(json!({"status": "not_ready", "reason": reason})),
    }
}

/// Body of `POST /chat/send`. Other fields are ignored, as the original
/// service did, so its clients keep working.
#[derive(Deserialize)]
pub struct SendRequest {
    username: String,
    text: String,
    room: Option<String>,
}

async fn send(state: web::Data<AppState>, body: web::Json<SendRequest>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let username = normalize_username(&body.username)?;
    let text = normalize_text(&body.text, state.chat.max_text_chars)?;
    let room = body.room.unwrap_or_else(|| state.chat.default_room.clone());
    validate_room(&room)?;
    let posted = state
        .hub
        .send(SendChat { username, room, text })
        .await
        .map_err(|_| Refusal::new(ErrorCode::KafkaUnavailable, "the chat room is not running"))??;
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "message": "Message sent",
        "message_id": posted.message_id,
        "timestamp": posted.timestamp,
        "offset": posted.offset,
    })))
}

/// `/chat/send` bodies that are not the expected JSON get a JSON error too.
pub fn json_config(max_body_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(max_body_bytes).error_handler(|err, _| {
        let refusal = Refusal::new(ErrorCode::InvalidJson, format!("request body: {err}"));
        actix_web::Error::from(ApiError::Refused(refusal))
    })
}

#[derive(Deserialize)]
struct WsQuery {
    room: Option<String>,
}

async fn websocket(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    check_origin(&req, &state.origins)?;
    let query = web::Query::<WsQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::from(Refusal::new(ErrorCode::InvalidField, format!("query: {e}"))))?;
    let room = query.into_inner().room.unwrap_or_else(|| state.chat.default_room.clone());
    validate_room(&room).map_err(ApiError::from)?;
    actors::session::serve(&req, stream, room, state.hub.clone(), &state.chat)
}

/// Browsers always send `Origin` on a WebSocket upgrade; other clients may not.
fn check_origin(req: &HttpRequest, origins: &OriginPolicy) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get(header::ORIGIN).map(HeaderValue::to_str) else {
        return Ok(());
    };
    let origin = origin.unwrap_or_default();
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    if origins.allows(origin, host) {
        Ok(())
    } else {
        log::warn!("origin_not_allowed: WebSocket upgrade from {origin}");
        Err(ApiError::OriginNotAllowed(origin.to_owned()))
    }
}
