//! HTTP endpoints: the page and its assets, health and readiness, the HTTP
//! send endpoint and the WebSocket upgrade.

use std::borrow::Cow;

use actix::Addr;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use actors::messages::{FetchMessages, HistoryStart, ListRooms, SendChat};
use actors::protocol::{normalize_text, normalize_username, validate_room, ErrorCode, Refusal};
use actors::{room::now_rfc3339, ChatRoom, ChatSettings, KafkaHealth};
use rust_embed::Embed;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::origin::OriginPolicy;

/// What every handler can reach.
pub struct AppState {
    pub hub: Addr<ChatRoom>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub health: KafkaHealth,
    pub chat: ChatSettings,
    pub origins: OriginPolicy,
    /// Empty when `/admin` is off.
    pub admin_token: String,
    pub connections: crate::limits::ConnectionLimits,
    pub http_sends: std::sync::Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
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
        .route("/metrics", web::get().to(prometheus))
        .route("/api/stats", web::get().to(stats))
        .route("/chat/send", web::post().to(send))
        .route("/api/rooms", web::get().to(rooms))
        .route("/api/rooms/{room}/messages", web::get().to(messages))
        .route("/ws/chat", web::get().to(websocket))
        .configure(crate::admin::configure);
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

pub(crate) fn embedded_file(req: &HttpRequest, path: &str) -> HttpResponse {
    let Some(file) = Page::get(path) else {
        return HttpResponse::NotFound()
            .json(json!({"success": false, "error": format!("no asset {path}"), "code": "not_found"}));
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

/// Prometheus text format.
async fn prometheus(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}

/// The same figures as `/metrics`, as JSON for pages.
async fn stats(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(crate::telemetry::as_json(&state.metrics.render()))
}

/// Body of `POST /chat/send`. Other fields are ignored, as the original
/// service did, so its clients keep working.
#[derive(Deserialize)]
pub struct SendRequest {
    username: String,
    text: String,
    room: Option<String>,
}

async fn send(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<SendRequest>,
) -> Result<HttpResponse, ApiError> {
    if state.http_sends.check_key(&client_ip(&req)).is_err() {
        return Err(Refusal::new(ErrorCode::RateLimited, "too many messages from your address; slow down").into());
    }
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

/// Rooms with people online, on every instance.
async fn rooms(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rooms = state.hub.send(ListRooms).await.map_err(|_| hub_gone())?;
    Ok(HttpResponse::Ok().json(rooms))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    since: Option<i64>,
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
    let limit = history_size(query.limit, &state.chat, "limit")?;
    let start = query.since.map_or(HistoryStart::Last(limit), HistoryStart::After);
    let history =
        state.hub.send(FetchMessages { room: room.clone(), start, max: limit }).await.map_err(|_| hub_gone())??;
    let messages: Vec<serde_json::Value> = history
        .messages
        .iter()
        .map(|(offset, record)| {
            let mut message = json!(record.as_ref());
            message["offset"] = json!(offset);
            message
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"room": room, "messages": messages, "recovered": history.recovered})))
}

pub(crate) fn hub_gone() -> ApiError {
    Refusal::new(ErrorCode::KafkaUnavailable, "the chat room is not running").into()
}

pub(crate) fn parse_query<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| Refusal::new(ErrorCode::InvalidField, format!("query: {e}")).into())
}

/// A requested history size, within `chat.history_max`.
fn history_size(requested: Option<usize>, chat: &ChatSettings, name: &str) -> Result<usize, ApiError> {
    match requested {
        None => Ok(chat.history_default),
        Some(n) if n <= chat.history_max => Ok(n),
        Some(_) => {
            Err(Refusal::new(ErrorCode::InvalidField, format!("{name} must be at most {}", chat.history_max)).into())
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WsQuery {
    room: Option<String>,
    history: Option<usize>,
    since: Option<i64>,
}

async fn websocket(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    check_origin(&req, &state.origins)?;
    let query = parse_query::<WsQuery>(&req)?;
    let room = query.room.unwrap_or_else(|| state.chat.default_room.clone());
    validate_room(&room).map_err(ApiError::from)?;
    let history = match query.since {
        Some(since) if since < -1 => {
            return Err(
                ApiError::from(Refusal::new(ErrorCode::InvalidField, "since must be an offset, -1 or more")).into()
            )
        }
        Some(since) => HistoryStart::After(since),
        None => HistoryStart::Last(history_size(query.history, &state.chat, "history")?),
    };
    let permit = state.connections.acquire(client_ip(&req)).map_err(|refusal| {
        log::warn!("too_many_connections: {}", refusal.message);
        ApiError::from(refusal)
    })?;
    actors::session::serve(&req, stream, room, history, state.hub.clone(), &state.chat, Box::new(permit))
}

/// The peer's address. Behind a proxy every client shares the proxy's
/// address, so limits per address should then be raised or enforced there.
fn client_ip(req: &HttpRequest) -> std::net::IpAddr {
    req.peer_addr().map_or(std::net::IpAddr::from([0, 0, 0, 0]), |addr| addr.ip())
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
