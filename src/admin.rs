//! `/admin`: the Control Center view for operators without Control Center.
//! Off unless `CHAT_ADMIN_TOKEN` is set; every API call then needs
//! `Authorization: Bearer <token>`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use actors::messages::{DescribeTopic, ListRooms, RawRecords};
use actors::protocol::{validate_room, Refusal};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::routes::{embedded_file, hub_gone, parse_query, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(page))
        .route("/api/admin/overview", web::get().to(overview))
        .route("/api/admin/rooms/{room}/records", web::get().to(records));
}

async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.admin_token.is_empty() {
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
struct RecordsQuery {
    limit: Option<usize>,
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
    let query = parse_query::<RecordsQuery>(&req)?;
    let limit = match query.limit {
        None => 20,
        Some(limit) if limit <= state.history.max => limit,
        Some(_) => return Err(Refusal::invalid_field(format!("limit must be at most {}", state.history.max)).into()),
    };
    let records = state.actors.reader.send(RawRecords { room, limit }).await.map_err(|_| hub_gone())??;
    Ok(HttpResponse::Ok().json(records))
}

fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    if state.admin_token.is_empty() {
        return Err(ApiError::AdminOff);
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if constant_time_eq(presented.as_bytes(), state.admin_token.as_bytes()) {
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
