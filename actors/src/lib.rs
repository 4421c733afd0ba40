//! The actors of Anime Universe Chat and the messages between them.
//!
//! # Actors
//!
//! - [`WsSession`] — one per WebSocket connection. Parses client frames,
//!   forwards chat messages to the room hub and writes the frames it is handed
//!   to its socket. Owns the heartbeat that drops dead peers.
//! - [`ChatRoom`] — the hub. Knows every session and the room it is in,
//!   hands out unique usernames, sends chat messages to the producer and fans
//!   out every record the consumer reads to the sessions of that record's room.
//!   It never touches rdkafka types: the two Kafka actors are its narrow
//!   interface to the log.
//! - [`KafkaProducer`] — writes chat records to the topic (`acks=all`,
//!   idempotent) and answers with the record's partition and offset.
//! - [`KafkaConsumer`] — reads the topic from the end it found at startup
//!   and hands each record to the room hub.
//!
//! # Messages
//!
//! ```text
//!  WsSession ──Join / Leave / SendChat──▶ ChatRoom ──Publish──▶ KafkaProducer ──▶ Kafka
//!      ▲  ▲                                 │    ▲                                   │
//!      │  └──── Deliver(count, names) ──────┤    └──── RecordReceived ── KafkaConsumer
//!      └─────── ChatFeed(offset, frame) ────┘
//! ```
//!
//! A chat message is broadcast only after it has come back from Kafka, so the
//! record's offset is its sequence number and every instance and client sees
//! one order. Each outbound frame is encoded once and shared by every
//! recipient ([`Frame`] is a reference-counted string). Chat messages reach a
//! room's sessions through one `tokio::sync::broadcast` channel per room (the
//! [`messages::ChatFeed`] each session gets when it joins): one send per
//! message whatever the room's size, no allocation per recipient. Counts,
//! names and typing notices, which are rare, are actix messages ([`messages::Deliver`]).

pub mod kafka;
pub mod messages;
pub mod metrics;
pub mod names;
pub mod protocol;
pub mod room;
pub mod session;
pub mod settings;

pub use kafka::{KafkaConsumer, KafkaHealth, KafkaProducer};
pub use messages::Frame;
pub use room::ChatRoom;
pub use session::WsSession;
pub use settings::{ChatSettings, KafkaSettings};
