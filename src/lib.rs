//! Anime Universe Chat: the HTTP and WebSocket front of the chat server.
//!
//! # Layout
//! - [`config`]: the typed configuration tree (`config/default.toml`, then
//!   `CHAT_CONFIG`, then environment variables).
//! - [`startup`]: [`startup::Application`] binds the listener, starts Kafka
//!   (embedded or real) and the actors, and runs the HTTP server.
//! - [`routes`]: the HTTP endpoints, the WebSocket upgrade and the page.
//! - [`admin`]: `/admin`, the token-protected view of rooms, topic and metrics.
//! - [`error`]: HTTP errors as JSON with a code.
//! - [`origin`]: which browser origins may connect.
//! - [`forwarded`]: the client's address and scheme behind trusted proxies.
//! - [`limits`]: connection limits and the HTTP send rate.
//! - [`telemetry`]: the Prometheus recorder behind `/metrics` and `/api/stats`.
//!
//! The actors themselves live in the `actors` crate.

pub mod admin;
pub mod config;
pub mod error;
pub mod forwarded;
pub mod limits;
pub mod origin;
pub mod routes;
pub mod startup;
pub mod telemetry;
