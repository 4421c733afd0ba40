//! The actors of Anime Universe Chat and the messages between them.
//!
//! # Actors, one job each
//!
//! - [`WsSession`] (transport) — one per WebSocket connection. Applies RFC
//!   6455 (fragments, closes), parses client frames, forwards messages to the
//!   hub, and writes what its [`Outbox`] hands it as fast as its socket takes
//!   it. Owns the heartbeat that drops dead peers.
//! - [`ChatHub`] (the hub of all rooms) — membership and names, sends to the
//!   producer, and fan-out: every message the consumer reads, every count,
//!   presence and typing notice goes to the room's sessions through their
//!   outboxes. Answers a retried send with its first outcome.
//! - [`Presence`] — who is online here and on the other instances (the
//!   presence topic), debounced; typing across instances.
//! - [`History`] — room caches under one memory budget and the reads that
//!   fill them: replays for joins and resumes, pages for HTTP, one Kafka read
//!   per room however many wait for it.
//! - [`Moderation`](moderation::Moderation) — the moderation log: applies the
//!   moderation topic's records in order on every instance (deletes, mutes,
//!   bans, slow mode, reports), tells the hub (which enforces) and the
//!   history (which hides removed messages), and writes moderators' actions
//!   and the audit trail.
//! - The Kafka layer ([`kafka`]), the only code that knows partitions,
//!   offsets and rdkafka types: [`KafkaProducer`] (writes, and says honestly
//!   whether a record was stored), [`KafkaConsumer`] (reads live the
//!   partitions of the rooms with members here, hands rooms' messages to the
//!   hub; `Follow` / `Unfollow` from the hub), [`KafkaReader`] (history reads
//!   through long-lived readers, batched by partition). Rooms' messages reach
//!   the hub through one [`Handover`](kafka::Handover), once each and in
//!   their partition's order: as the consumer reads them, or, for this
//!   instance's own writes, on Kafka's acknowledgement (in librdkafka's
//!   delivery callback, in Kafka's order) when every earlier record of the
//!   partition has passed.
//!
//! # Messages
//!
//! ```text
//!  WsSession ──Join / Leave / SendChat / Typing──▶ ChatHub ──PublishChat──▶ KafkaProducer ──▶ Kafka
//!     ▲                                         │ │ │  ▲                                     │
//!     │        Outbox (welcome, counts,         │ │ │  └──── RecordReceived / Assigned ── KafkaConsumer
//!     └──────── chat, presence, replay, close) ─┘ │ │                                          │
//!     ▲                    MemberChanged / TypingStarted ▶ Presence ◀── PresenceReceived ──────┘
//!     │                    ◀ RoomPresence / RemoteTyping ─┘    └── PublishPresence ▶ KafkaProducer
//!     │                                           │
//!     └── Outbox.release (replay, history_end) ── History ◀── Appended / Replay / Locate ── ChatHub
//!                                                   └── ReadRoom / LocateRecord ▶ KafkaReader ──▶ Kafka
//!
//!  KafkaConsumer ──ModerationReceived──▶ Moderation ──ModerationApplied──▶ ChatHub, History
//!  ChatHub (reports), /api/admin ──Moderate──▶ Moderation ──PublishSide──▶ KafkaProducer
//!  KafkaConsumer (read), KafkaProducer (acknowledged) ──▶ Handover ──RecordReceived──▶ ChatHub
//! ```
//!
//! Beside the actors: [`identity`] (signed anonymous identities, names
//! compared after normalisation), [`protocol`] (the frames on the wire and
//! the records in Kafka), [`outbox`] (a session's queue and the slow rule).
//!
//! A message is broadcast only after Kafka stored it (`acks=all`) at the
//! offset that is its sequence number ([`messages::Seq`]), of the log named by its
//! [`messages::Epoch`]: every instance and client sees one order and can
//! resume by it. Each frame is encoded once and shared by every recipient
//! ([`Frame`] is a reference-counted string).
//!
//! One rule decides when a session is too slow: its outbox holds more than
//! `chat.outbound_max_bytes`, or its oldest frame has waited longer than
//! `chat.outbound_max_delay`. A reader that keeps reading never meets it,
//! however large a burst; the hub never waits for one that does not.

pub mod history;
pub mod hub;
pub mod identity;
pub mod kafka;
pub mod messages;
pub mod metrics;
pub mod moderation;
pub mod outbox;
pub mod presence;
pub mod protocol;
pub mod session;
pub mod settings;

pub use history::History;
pub use hub::{Chat, ChatHub, HubSettings};
pub use kafka::{KafkaConsumer, KafkaHealth, KafkaProducer, KafkaReader};
pub use messages::Frame;
pub use outbox::Outbox;
pub use presence::Presence;
pub use session::WsSession;
pub use settings::{ChatSettings, HistorySettings, KafkaSettings};
