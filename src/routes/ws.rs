//! The WebSocket upgrades: `/ws/chat`, and `/ws/echo` for the conformance
//! suite when it is turned on.

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use actors::hub::Admit;
use actors::protocol::{validate_room, Refusal};
use actors::session::Arrival;
use serde::Deserialize;

use super::{history_start, hub_gone, not_ready, parse_query, AppState};
use crate::error::ApiError;
use crate::limits::ConnectionPermit;

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
    /// The identity the client comes back with (from its last `welcome`).
    token: Option<String>,
}

/// Longest token accepted: ours are about 120 characters.
const MAX_TOKEN_CHARS: usize = 512;

/// The access log leaves WebSocket connections out: a refused upgrade is
/// logged here instead.
async fn chat(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let address = state.client_addr(&req);
    upgrade(&req, stream, &state).await.inspect_err(|e| log::info!("{address} WebSocket upgrade refused: {e}"))
}

async fn upgrade(req: &HttpRequest, stream: web::Payload, state: &AppState) -> Result<HttpResponse, actix_web::Error> {
    let query = parse_query::<ChatQuery>(req)?;
    let room = query.room.unwrap_or_else(|| state.chat.default_room.clone());
    validate_room(&room).map_err(ApiError::from)?;
    let (history, _) =
        history_start(query.since, query.epoch, query.history, &state.history, "history").map_err(ApiError::from)?;
    if query.token.as_ref().is_some_and(|token| token.len() > MAX_TOKEN_CHARS) {
        return Err(ApiError::from(Refusal::invalid_field("token is not one this chat issued")).into());
    }
    let (permit, address) = admit(req, state).await?;
    let arrival = Arrival { room, history, token: query.token, address };
    actors::session::serve(req, stream, arrival, state.actors.hub.clone(), &state.chat, Box::new(permit))
}

async fn echo(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    if !state.conformance_echo {
        return Err(ApiError::NotFound("/ws/echo is off; CHAT_CONFORMANCE_ECHO=1 turns it on").into());
    }
    let (permit, _) = admit(&req, &state).await?;
    actors::session::serve_echo(&req, stream, &state.chat, Box::new(permit))
}

/// What every upgrade must pass: a ready server (a client welcomed before
/// the consumer is assigned could miss what is written meanwhile), an
/// allowed origin, an address not banned and a place under the connection
/// limits. Returns the place and the client's address.
async fn admit(req: &HttpRequest, state: &AppState) -> Result<(ConnectionPermit, IpAddr), ApiError> {
    let upgrade = req.headers().get(header::UPGRADE).and_then(|value| value.to_str().ok());
    if !upgrade.is_some_and(|value| value.eq_ignore_ascii_case("websocket")) {
        return Err(ApiError::UpgradeRequired);
    }
    if let Some(reason) = not_ready(&state.health) {
        return Err(ApiError::NotReady(reason));
    }
    state.check_origin(req, "WebSocket upgrade")?;
    let address = state.client_addr(req);
    state.actors.hub.send(Admit { address }).await.map_err(|_| hub_gone())??;
    let permit = state.connections.acquire(address).map_err(|refusal| {
        log::warn!("too_many_connections: {address}: {}", refusal.message);
        ApiError::from(refusal)
    })?;
    Ok((permit, address))
}
