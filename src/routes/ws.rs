//! The WebSocket upgrades: `/ws/chat`, and `/ws/echo` for the conformance
//! suite when it is turned on.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use actors::protocol::validate_room;
use serde::Deserialize;

use super::{history_start, not_ready, parse_query, AppState};
use crate::error::ApiError;
use crate::limits::ConnectionPermit;
use crate::origin::OriginPolicy;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws/chat", web::get().to(chat)).route("/ws/echo", web::get().to(echo));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatQuery {
    room: Option<String>,
    history: Option<usize>,
    since: Option<i64>,
    epoch: Option<String>,
}

async fn chat(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let query = parse_query::<ChatQuery>(&req)?;
    let room = query.room.unwrap_or_else(|| state.chat.default_room.clone());
    validate_room(&room).map_err(ApiError::from)?;
    let (history, _) =
        history_start(query.since, query.epoch, query.history, &state.history, "history").map_err(ApiError::from)?;
    let permit = admit(&req, &state)?;
    actors::session::serve(&req, stream, room, history, state.actors.hub.clone(), &state.chat, Box::new(permit))
}

async fn echo(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    if !state.conformance_echo {
        return Err(ApiError::NotFound("/ws/echo is off; CHAT_CONFORMANCE_ECHO=1 turns it on").into());
    }
    let permit = admit(&req, &state)?;
    actors::session::serve_echo(&req, stream, &state.chat, Box::new(permit))
}

/// What every upgrade must pass: a ready server (a client welcomed before
/// the consumer is assigned could miss what is written meanwhile), an
/// allowed origin and a place under the connection limits.
fn admit(req: &HttpRequest, state: &AppState) -> Result<ConnectionPermit, ApiError> {
    if let Some(reason) = not_ready(&state.health) {
        return Err(ApiError::NotReady(reason));
    }
    check_origin(req, &state.origins)?;
    state.connections.acquire(client_ip(req)).map_err(|refusal| {
        log::warn!("too_many_connections: {}", refusal.message);
        ApiError::from(refusal)
    })
}

/// The peer's address. Behind a proxy every client shares the proxy's
/// address, so limits per address should then be raised or enforced there.
pub(super) fn client_ip(req: &HttpRequest) -> std::net::IpAddr {
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
