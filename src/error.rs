//! HTTP errors: JSON bodies with a machine-readable code.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use actors::protocol::{ErrorCode, Refusal};
use serde_json::json;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client's input was refused.
    #[error("{}", .0.message)]
    Refused(Refusal),
    /// The browser origin is not allowed.
    #[error("origin {0} is not allowed")]
    OriginNotAllowed(String),
    /// `/admin` is off: no token is configured.
    #[error("the admin view is off; set CHAT_ADMIN_TOKEN to turn it on")]
    AdminOff,
    /// The admin token is missing or wrong.
    #[error("a valid admin token is required (Authorization: Bearer <token>)")]
    Unauthorized,
    /// The server cannot serve this yet (answered with `Retry-After`).
    #[error("{0}; try again in a moment")]
    NotReady(&'static str),
    /// Nothing is served here.
    #[error("{0}")]
    NotFound(&'static str),
    /// The request's body did not arrive in time.
    #[error("the request took too long to arrive")]
    SlowRequest,
    /// A plain request where only a WebSocket upgrade is served.
    #[error("this is a WebSocket endpoint: connect with a WebSocket client")]
    UpgradeRequired,
}

/// Seconds a client is told to wait while the server is starting.
const RETRY_AFTER_SECONDS: &str = "1";

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::Refused(refusal) => refusal.code.as_str(),
            Self::OriginNotAllowed(_) => "origin_not_allowed",
            Self::AdminOff | Self::NotFound(_) => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::NotReady(_) => ErrorCode::KafkaUnavailable.as_str(),
            Self::SlowRequest => "request_timeout",
            Self::UpgradeRequired => "upgrade_required",
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Refused(refusal) => match refusal.code {
                ErrorCode::KafkaUnavailable | ErrorCode::HistoryUnavailable | ErrorCode::TooManyConnections => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                ErrorCode::OutcomeUnknown => StatusCode::GATEWAY_TIMEOUT,
                ErrorCode::NameTaken | ErrorCode::Muted | ErrorCode::Banned => StatusCode::FORBIDDEN,
                ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
                ErrorCode::SlowMode => StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_REQUEST,
            },
            Self::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            Self::AdminOff | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::SlowRequest => StatusCode::REQUEST_TIMEOUT,
            Self::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        metrics::counter!(actors::metrics::ERRORS, "code" => self.code()).increment(1);
        let mut response = HttpResponse::build(self.status_code());
        use actix_web::http::header::{RETRY_AFTER, UPGRADE};
        match self {
            Self::NotReady(_) => response.insert_header((RETRY_AFTER, RETRY_AFTER_SECONDS)),
            Self::UpgradeRequired => response.insert_header((UPGRADE, "websocket")),
            _ => &mut response,
        };
        let mut body = json!({"success": false, "error": self.to_string(), "code": self.code()});
        if let Self::Refused(refusal) = self {
            let extras = [("message_id", json!(refusal.message_id)), ("until", json!(refusal.until))];
            for (key, value) in extras.into_iter().chain([("retry_after_ms", json!(refusal.retry_after_ms))]) {
                if !value.is_null() {
                    body[key] = value;
                }
            }
        }
        response.json(body)
    }
}
