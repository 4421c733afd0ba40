//! Anime Universe Chat: the HTTP and WebSocket front of the chat server.
//!
//! # Layout
//! - [`config`]: the typed configuration tree (`config/default.toml`, then
//!   `CHAT_CONFIG`, then environment variables).
//! - [`startup`]: [`startup::Application`] binds the listener, starts Kafka
//!   (embedded or real) and the actors, and runs the HTTP server.
//! - [`routes`]: the HTTP endpoints, the WebSocket upgrade and the page.
//! - [`error`]: HTTP errors as JSON with a code.
//! - [`origin`]: which browser origins may connect.
//!
//! The actors themselves live in the `actors` crate.

pub mod config;
pub mod error;
pub mod origin;
pub mod routes;
pub mod startup;
