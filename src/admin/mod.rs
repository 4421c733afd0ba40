//! `/admin`: the Control Center view for operators without Control Center,
//! and the moderators' tools ([`moderation`]). Off unless `CHAT_ADMIN_TOKEN`
//! is set; every API call then needs `Authorization: Bearer <token>`, and
//! no answer is cached (`Cache-Control: no-store`).

mod moderation;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};
use actors::messages::{DescribeTopic, FetchMessages, HistoryStart, ListRooms, RawRecords};
use actors::protocol::{validate_room, Refusal};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::routes::{embedded_file, hub_gone, parse_query, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    let no_store = || DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store"));
    let page = web::resource("/admin").wrap(no_store()).route(web::get().to(page));
    cfg.service(page.default_service(web::to(crate::routes::not_found))).service(
        web::scope("/api/admin")
            .wrap(no_store())
            .route("/overview", web::get().to(overview))
            .route("/rooms/{room}/records", web::get().to(records))
            .route("/rooms/{room}/messages", web::get().to(messages))
            .configure(moderation::configure),
    );
}

async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.admin_token.expose_secret().is_empty() {
        return Err(ApiError::AdminOff);
    }
    // The page holds no data; it asks for the token and sends it with each call.
    Ok(embedded_file(&req, "admin.html"))
}

/// Rooms, the topic's partitions with end offsets and lag, and live metrics.
async fn overview(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let topic = state.actors.consumer.send(DescribeTopic).await.map_err(|_| hub_gone())??;
    let rooms = state.actors.presence.send(ListRooms).await.map_err(|_| hub_gone())?;
    let metrics = crate::telemetry::as_json(&state.metrics.render());
    let overview = json!({
        "instance": topic.instance,
        "topic": topic.topic,
        "epoch": topic.epoch,
        "partitions": topic.partitions,
        "rooms": rooms,
    });
    Ok(HttpResponse::Ok().json(json!({"overview": overview, "metrics": metrics})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitQuery {
    limit: Option<usize>,
}

/// A `limit` of 20 unless given, refused past `history.max`.
fn limit(req: &HttpRequest, state: &AppState) -> Result<usize, ApiError> {
    match parse_query::<LimitQuery>(req)?.limit {
        None => Ok(20),
        Some(limit) if limit <= state.history.max => Ok(limit),
        Some(_) => Err(Refusal::invalid_field(format!("limit must be at most {}", state.history.max)).into()),
    }
}

/// A room's last records with key, headers and value.
async fn records(
    req: HttpRequest,
    state: web::Data<AppState>,
    room: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let room = room.into_inner();
    validate_room(&room)?;
    let limit = limit(&req, &state)?;
    let records = state.actors.reader.send(RawRecords { room, limit }).await.map_err(|_| hub_gone())??;
    Ok(HttpResponse::Ok().json(records))
}

/// A room's last messages as moderators see them: with their author's
/// identity, and those removed marked so.
async fn messages(
    req: HttpRequest,
    state: web::Data<AppState>,
    room: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let room = room.into_inner();
    validate_room(&room)?;
    let max = limit(&req, &state)?;
    let fetch = FetchMessages { room: room.clone(), start: HistoryStart::Last(max), max };
    let page = state.actors.history.send(fetch).await.map_err(|_| hub_gone())??;
    let messages: Vec<serde_json::Value> = page.messages.iter().map(crate::routes::message_json).collect();
    Ok(HttpResponse::Ok().json(json!({"room": room, "messages": messages, "epoch": page.epoch.as_str()})))
}

fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let expected = state.admin_token.expose_secret();
    if expected.is_empty() {
        return Err(ApiError::AdminOff);
    }
    let presented = crate::routes::bearer(req).unwrap_or_default();
    if constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        log::warn!("unauthorized: admin call with a missing or wrong token");
        Err(ApiError::Unauthorized)
    }
}

/// Compares without an early exit, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}
