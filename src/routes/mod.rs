//! HTTP endpoints: the page and its assets, health and readiness, metrics;
//! the chat API ([`chat`]) and the WebSocket upgrades ([`ws`]).

mod chat;
mod ws;

pub(crate) use chat::{bearer, message_json, read_json};

use std::borrow::Cow;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use actors::hub::{now_rfc3339, Chat};
use actors::messages::{Epoch, HistoryStart, Seq};
use actors::protocol::{ErrorCode, Refusal};
use actors::{ChatSettings, HistorySettings, KafkaHealth};
use rust_embed::Embed;
use serde_json::json;

use crate::error::ApiError;
use crate::forwarded::TrustedProxies;
use crate::origin::OriginPolicy;

/// What every handler can reach.
pub struct AppState {
    pub actors: Chat,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub health: KafkaHealth,
    pub chat: ChatSettings,
    pub history: HistorySettings,
    pub origins: OriginPolicy,
    /// Who may say who the client is.
    pub proxies: TrustedProxies,
    /// This server's own scheme (`https` when it terminates TLS).
    pub scheme: &'static str,
    /// Empty when `/admin` is off.
    pub admin_token: secrecy::SecretString,
    /// `/ws/echo` is served (a test aid).
    pub conformance_echo: bool,
    pub connections: crate::limits::ConnectionLimits,
    pub http_sends: std::sync::Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
    /// How long a request body may take to arrive.
    pub request_timeout: std::time::Duration,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
}

impl AppState {
    /// The client's address: the peer, or who a trusted proxy says it serves.
    pub fn client_addr(&self, req: &HttpRequest) -> std::net::IpAddr {
        self.proxies.client_addr(req.head())
    }

    /// Refuses a browser's request from a page of another site (`what`, for
    /// the log). Browsers send `Origin` on every upgrade and POST; other
    /// clients may not, and are not browsers' visitors posting unawares.
    pub fn check_origin(&self, req: &HttpRequest, what: &str) -> Result<(), ApiError> {
        let Some(origin) = req.headers().get(header::ORIGIN).map(header::HeaderValue::to_str) else {
            return Ok(());
        };
        let origin = origin.unwrap_or_default();
        let own = self.proxies.own_origin(req.head(), self.scheme);
        if self.origins.allows(origin, own.as_deref()) {
            return Ok(());
        }
        log::warn!("origin_not_allowed: {what} from {origin}");
        Err(ApiError::OriginNotAllowed(origin.to_owned()))
    }
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
        .configure(chat::configure)
        .configure(ws::configure)
        .configure(crate::admin::configure);
}

/// Any path or method not served: a JSON error like every other.
pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("nothing is served at this path with this method"))
}

/// A path segment of the wrong type (an offset that is not a number).
pub(crate) fn path_error(error: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::from(Refusal::invalid_field(format!("the path: {error}"))).into()
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
    match not_ready(&state.health) {
        None => HttpResponse::Ok().json(json!({"status": "ready"})),
        Some(reason) => HttpResponse::ServiceUnavailable().json(json!({"status": "not_ready", "reason": reason})),
    }
}

fn not_ready(health: &KafkaHealth) -> Option<&'static str> {
    if !health.is_connected() {
        Some("Kafka is not reachable")
    } else if !health.is_consuming() {
        Some("the Kafka consumer is not assigned yet")
    } else {
        None
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

pub(crate) fn hub_gone() -> ApiError {
    Refusal::unavailable("the chat hub is not running").into()
}

pub(crate) fn parse_query<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| Refusal::invalid_field(format!("query: {e}")).into())
}

/// Where a replay or a page starts, from a request's `since`, `epoch` and
/// count (`history` or `limit`, named `name`), checked at the edge: nothing
/// out of range goes further, and nothing done with them can overflow.
pub(crate) fn history_start(
    since: Option<i64>,
    epoch: Option<String>,
    count: Option<usize>,
    settings: &HistorySettings,
    name: &str,
) -> Result<(HistoryStart, usize), Refusal> {
    let count = match count {
        None => settings.default,
        Some(n) if n <= settings.max => n,
        Some(_) => return Err(Refusal::invalid_field(format!("{name} must be at most {}", settings.max))),
    };
    let epoch = epoch.map(|epoch| valid_epoch(&epoch)).transpose()?;
    let start = match (since, epoch) {
        (Some(since), epoch) if (-1..Seq::MAX).contains(&since) => {
            HistoryStart::After { since, epoch, fallback: count }
        }
        (Some(_), _) => {
            return Err(Refusal::invalid_field(format!("since must be an offset from -1 to {}", Seq::MAX - 1)))
        }
        (None, Some(_)) => return Err(Refusal::invalid_field("epoch names the log of a since; give both")),
        (None, None) => HistoryStart::Last(count),
    };
    Ok((start, count))
}

/// An epoch as the server hands it out: a Kafka topic id (base64, 22
/// characters), or the embedded cluster's equivalent.
fn valid_epoch(epoch: &str) -> Result<Epoch, Refusal> {
    let shaped = (1..=64).contains(&epoch.len())
        && epoch.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'+' || b == b'/');
    if shaped {
        Ok(Epoch::new(epoch))
    } else {
        Err(Refusal::new(ErrorCode::InvalidField, "epoch must be the epoch the server sent"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> HistorySettings {
        crate::config::Settings::load_from(|_| None).expect("defaults").history
    }

    #[test]
    fn history_starts_are_checked_at_the_edge() {
        let s = settings();
        let start = |since, epoch: Option<&str>, count| {
            history_start(since, epoch.map(str::to_owned), count, &s, "limit").map(|(start, _)| start)
        };
        assert_eq!(start(None, None, None), Ok(HistoryStart::Last(50)));
        assert_eq!(start(Some(-1), None, None), Ok(HistoryStart::After { since: -1, epoch: None, fallback: 50 }));
        let epoch = Some(Epoch::new("pYh2fC3nQkGm4xYz0aBcDQ"));
        assert_eq!(
            start(Some(7), Some("pYh2fC3nQkGm4xYz0aBcDQ"), None),
            Ok(HistoryStart::After { since: 7, epoch, fallback: 50 })
        );
        for bad in [start(Some(-2), None, None), start(Some(i64::MAX), None, None), start(None, Some("e"), None)] {
            assert_eq!(bad.unwrap_err().code, ErrorCode::InvalidField);
        }
        assert_eq!(start(None, None, Some(501)).unwrap_err().code, ErrorCode::InvalidField);
        assert_eq!(start(Some(1), Some("no spaces"), None).unwrap_err().code, ErrorCode::InvalidField);
    }
}
