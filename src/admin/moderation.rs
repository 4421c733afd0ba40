//! The moderators' API: remove a message, mute or ban an identity or an
//! address, slow a room down, deal with reports, read the audit trail. Each
//! action is a record of the moderation topic: answered once Kafka has it,
//! in force on every instance as each reads it.

use std::net::IpAddr;

use actix_web::{web, HttpRequest, HttpResponse};
use actors::hub::CurrentEpoch;
use actors::messages::{AuditTrail, DescribeModeration, FetchMessages, HistoryStart, ListReports, Moderate};
use actors::protocol::{normalize_username, validate_room, ErrorCode, ModerationRecord, Refusal, Target};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{authorize, limit};
use crate::error::ApiError;
use crate::routes::{hub_gone, message_json, read_json, AppState};

/// Longest mute: 30 days.
const MAX_MUTE_SECONDS: u64 = 30 * 24 * 3600;
/// Longest slow mode interval: one hour.
const MAX_SLOW_MODE_SECONDS: u32 = 3600;
/// Longest reason a moderator may give.
const MAX_REASON_CHARS: usize = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/rooms/{room}/messages/{offset}", web::delete().to(delete_message))
        .route("/rooms/{room}/slow-mode", web::put().to(slow_mode))
        .route("/mutes", web::post().to(mute))
        .route("/mutes", web::delete().to(unmute))
        .route("/bans", web::post().to(ban))
        .route("/bans", web::delete().to(unban))
        .route("/moderation", web::get().to(state_in_force))
        .route("/reports", web::get().to(reports))
        .route("/reports", web::delete().to(dismiss))
        .route("/audit", web::get().to(audit));
}

/// Who acts, and why: in every action's body, beside what the action needs.
#[derive(Deserialize)]
struct Signed {
    moderator: String,
    reason: Option<String>,
}

impl Signed {
    /// The moderator's name and reason, checked like a username and a report.
    fn checked(self) -> Result<(String, String), ApiError> {
        let moderator = normalize_username(&self.moderator)
            .map_err(|_| Refusal::invalid_field("moderator must be 1 to 40 printable characters"))?;
        let reason: String = self.reason.unwrap_or_default().chars().filter(|c| !c.is_control()).collect();
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(Refusal::invalid_field(format!("reason is longer than {MAX_REASON_CHARS} characters")).into());
        }
        Ok((moderator, reason.trim().to_owned()))
    }
}

/// An action's body: what it acts on (`T`, which refuses fields it does
/// not know, so a misspelt or misplaced one is an error, not ignored) and
/// its checked moderator and reason.
async fn action<T: DeserializeOwned>(body: web::Payload, state: &AppState) -> Result<(T, String, String), ApiError> {
    let mut fields: Map<String, Value> = read_json(body, state).await?;
    let signed = json!({"moderator": fields.remove("moderator"), "reason": fields.remove("reason")});
    let invalid = |e: serde_json::Error| Refusal::new(ErrorCode::InvalidJson, format!("request body: {e}"));
    let (by, reason) = serde_json::from_value::<Signed>(signed).map_err(invalid)?.checked()?;
    Ok((serde_json::from_value(Value::Object(fields)).map_err(invalid)?, by, reason))
}

/// The body of an action that needs nothing beyond its moderator and reason.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

/// An identity id or an address, checked.
fn target(value: Target) -> Result<Target, ApiError> {
    match value {
        Target::Identity(id)
            if (1..=64).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Target::Identity(id))
        }
        Target::Address(address) => match address.trim().parse::<IpAddr>() {
            Ok(ip) => Ok(Target::Address(ip.to_canonical().to_string())),
            Err(_) => Err(Refusal::invalid_field("target.address must be an IP address").into()),
        },
        Target::Identity(_) => Err(Refusal::invalid_field("target.identity must be an identity id").into()),
    }
}

async fn record(state: &AppState, record: ModerationRecord) -> Result<HttpResponse, ApiError> {
    log::info!("moderation: {}", record.key());
    state.actors.moderation.send(Moderate { record }).await.map_err(|_| hub_gone())??;
    Ok(HttpResponse::Ok().json(json!({"success": true})))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The log's epoch now: removals and reports name the log their offset is of.
async fn epoch(state: &AppState) -> Result<String, ApiError> {
    let epoch = state.actors.hub.send(CurrentEpoch).await.map_err(|_| hub_gone())?;
    epoch.map(|e| e.as_str().to_owned()).ok_or(ApiError::NotReady("the consumer is not assigned yet"))
}

async fn delete_message(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (room, offset) = path.into_inner();
    validate_room(&room)?;
    if offset < 0 {
        return Err(Refusal::invalid_field("offset must be a message's offset").into());
    }
    let (Nothing {}, by, reason) = action(body, &state).await?;
    let epoch = epoch(&state).await?;
    record(&state, ModerationRecord::Delete { epoch, room, offset, by, at_ms: now_ms(), reason }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowModeBody {
    seconds: u32,
}

async fn slow_mode(
    req: HttpRequest,
    state: web::Data<AppState>,
    room: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let room = room.into_inner();
    validate_room(&room)?;
    let (body, by, reason): (SlowModeBody, _, _) = action(body, &state).await?;
    if body.seconds > MAX_SLOW_MODE_SECONDS {
        return Err(Refusal::invalid_field(format!("seconds must be 0 to {MAX_SLOW_MODE_SECONDS}")).into());
    }
    record(&state, ModerationRecord::SlowMode { room, seconds: body.seconds, by, at_ms: now_ms(), reason }).await
}

/// A ban's or a lift's body: whom. Only a mute has a duration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetBody {
    target: Target,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MuteBody {
    target: Target,
    duration_seconds: Option<u64>,
}

async fn mute(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (body, by, reason): (MuteBody, _, _) = action(body, &state).await?;
    let seconds = body.duration_seconds.filter(|s| (1..=MAX_MUTE_SECONDS).contains(s)).ok_or_else(|| {
        ApiError::from(Refusal::invalid_field(format!("duration_seconds must be 1 to {MAX_MUTE_SECONDS}")))
    })?;
    let target = target(body.target)?;
    let at_ms = now_ms();
    let until_ms = at_ms.saturating_add(i64::try_from(seconds * 1000).unwrap_or(i64::MAX));
    record(&state, ModerationRecord::Mute { target, until_ms, by, at_ms, reason }).await
}

async fn unmute(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (body, by, reason): (TargetBody, _, _) = action(body, &state).await?;
    record(&state, ModerationRecord::Unmute { target: target(body.target)?, by, at_ms: now_ms(), reason }).await
}

async fn ban(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (body, by, reason): (TargetBody, _, _) = action(body, &state).await?;
    record(&state, ModerationRecord::Ban { target: target(body.target)?, by, at_ms: now_ms(), reason }).await
}

async fn unban(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (body, by, reason): (TargetBody, _, _) = action(body, &state).await?;
    record(&state, ModerationRecord::Unban { target: target(body.target)?, by, at_ms: now_ms(), reason }).await
}

fn rfc3339(at_ms: i64) -> Value {
    json!(chrono::DateTime::from_timestamp_millis(at_ms)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
}

/// Mutes, bans and slow modes in force.
async fn state_in_force(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let moderation = state.actors.moderation.send(DescribeModeration).await.map_err(|_| hub_gone())?;
    let view = |records: &[ModerationRecord]| records.iter().map(entry).collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(json!({
        "mutes": view(&moderation.mutes),
        "bans": view(&moderation.bans),
        "slow_mode": view(&moderation.slow_mode),
    })))
}

/// A moderation record as `/admin` shows it.
fn entry(record: &ModerationRecord) -> Value {
    match record {
        ModerationRecord::Mute { target, until_ms, by, at_ms, reason } => {
            json!({"action": "mute", "target": target, "until": rfc3339(*until_ms), "by": by, "at": rfc3339(*at_ms), "reason": reason})
        }
        ModerationRecord::Unmute { target, by, at_ms, reason } => {
            json!({"action": "unmute", "target": target, "by": by, "at": rfc3339(*at_ms), "reason": reason})
        }
        ModerationRecord::Ban { target, by, at_ms, reason } => {
            json!({"action": "ban", "target": target, "by": by, "at": rfc3339(*at_ms), "reason": reason})
        }
        ModerationRecord::Unban { target, by, at_ms, reason } => {
            json!({"action": "unban", "target": target, "by": by, "at": rfc3339(*at_ms), "reason": reason})
        }
        ModerationRecord::SlowMode { room, seconds, by, at_ms, reason } => {
            json!({"action": "slow_mode", "room": room, "seconds": seconds, "by": by, "at": rfc3339(*at_ms), "reason": reason})
        }
        ModerationRecord::Delete { room, offset, by, at_ms, reason, .. } => {
            json!({"action": "delete", "room": room, "offset": offset, "by": by, "at": rfc3339(*at_ms), "reason": reason})
        }
        ModerationRecord::Dismiss { room, offset, by, at_ms, reason, .. } => {
            json!({"action": "dismiss", "room": room, "offset": offset, "by": by, "at": rfc3339(*at_ms), "reason": reason})
        }
        ModerationRecord::Report { room, offset, reporter, reason, at_ms, .. } => {
            json!({"action": "report", "room": room, "offset": offset, "by": reporter, "at": rfc3339(*at_ms), "reason": reason})
        }
    }
}

/// The open reports, newest first, each with the message it is about.
async fn reports(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let open = state.actors.moderation.send(ListReports).await.map_err(|_| hub_gone())?;
    let current = epoch(&state).await?;
    let mut reports = Vec::with_capacity(open.len());
    for summary in open {
        // A report of a log since recreated names an offset of that log: no message of this one.
        let message = match summary.epoch == current {
            true => reported_message(&state, &summary.room, summary.offset).await,
            false => None,
        };
        let (reporter, reason, at_ms) = summary.reports.first().cloned().unwrap_or_default();
        reports.push(json!({
            "room": summary.room,
            "offset": summary.offset,
            "epoch": summary.epoch,
            "message": message,
            "reporter": reporter,
            "reason": reason,
            "at": rfc3339(at_ms),
            "count": summary.reports.len(),
        }));
    }
    Ok(HttpResponse::Ok().json(json!({"reports": reports})))
}

async fn reported_message(state: &AppState, room: &str, offset: i64) -> Option<Value> {
    let start = HistoryStart::After { since: offset.saturating_sub(1), epoch: None, fallback: 1 };
    let fetch = FetchMessages { room: room.to_owned(), start, max: 1 };
    match state.actors.history.send(fetch).await {
        Ok(Ok(page)) => page.messages.iter().find(|m| m.seq == offset).map(message_json),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DismissBody {
    room: String,
    offset: i64,
    /// The log the report is of, as `reports` lists it; the current one if left out.
    epoch: Option<String>,
}

async fn dismiss(req: HttpRequest, state: web::Data<AppState>, body: web::Payload) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (DismissBody { room, offset, epoch }, by, reason) = action(body, &state).await?;
    validate_room(&room)?;
    if offset < 0 {
        return Err(Refusal::invalid_field("offset must be a message's offset").into());
    }
    let epoch = match epoch {
        Some(epoch) => epoch,
        None => self::epoch(&state).await?,
    };
    record(&state, ModerationRecord::Dismiss { epoch, room, offset, by, at_ms: now_ms(), reason }).await
}

/// Who did what when, newest first.
async fn audit(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let limit = limit(&req, &state)?;
    let trail = state.actors.moderation.send(AuditTrail { limit }).await.map_err(|_| hub_gone())?;
    let entries: Vec<Value> = trail.iter().map(entry).collect();
    Ok(HttpResponse::Ok().json(json!({"entries": entries})))
}
