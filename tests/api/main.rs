//! Integration tests: the real server on a free port, real WebSocket and HTTP
//! clients, and a real Kafka broker (`KAFKA_BOOTSTRAP_SERVERS`, default
//! `127.0.0.1:9092`; `scripts/test.sh` starts one with `scripts/kafka.sh`).

mod abuse;
mod bounds;
mod chat;
mod compose;
mod delivery;
mod durability;
mod faults;
mod foreign;
mod frames;
mod helpers;
mod history;
mod http;
mod identity;
mod instances;
mod kafka_record;
mod lifecycle;
mod moderation;
mod observability;
mod partitions;
mod presence;
mod proxies;
mod resume;
mod tls;
