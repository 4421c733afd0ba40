//! Kafka going away and coming back, on a broker of the test's own.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;

use crate::helpers::{
    bootstrap_servers, eventually, free_port, get_json, produce, unique_topic, ServerProcess, TestBroker, PATIENCE,
};

async fn kafka_connected(addr: std::net::SocketAddr) -> bool {
    get_json(addr, "/health").await.1["kafka_connected"] == true
}

async fn ready(addr: std::net::SocketAddr) -> bool {
    get_json(addr, "/ready").await.0 == 200
}

#[actix_web::test]
async fn the_server_rides_out_a_missing_and_a_restarted_broker() {
    let broker = TestBroker::new();
    let server = ServerProcess::spawn(&unique_topic(), &broker.bootstrap(), free_port());
    let addr = server.addr;

    // Starts anyway, and says so honestly.
    eventually("server answers /health", || async move {
        awc::Client::default().get(format!("http://{addr}/health")).send().await.is_ok()
    })
    .await;
    let (status, health) = get_json(addr, "/health").await;
    assert_eq!((status, health["kafka_connected"].clone()), (200, false.into()));
    assert_eq!(get_json(addr, "/ready").await.0, 503);
    let refused = server.try_connect("/ws/chat").await.expect_err("upgrades wait for Kafka");
    assert_eq!((refused.status, refused.body["code"].as_str()), (503, Some("kafka_unavailable")));

    // The broker arrives: recovery without a restart.
    broker.start();
    eventually("/health reports Kafka back", || kafka_connected(addr)).await;
    eventually("/ready turns 200", || ready(addr)).await;
    let mut client = server.connect("/ws/chat").await;
    client.say_and_confirm("hello kafka", "h1").await;

    // The broker goes away mid-session: /health follows, the client stays.
    broker.stop();
    eventually("/health reports Kafka gone", || async move { !kafka_connected(addr).await }).await;
    assert_eq!(get_json(addr, "/ready").await.0, 503, "not ready while the broker is away");
    client.say("while it is down", "d1").await;
    let error = client.expect("error").await;
    assert_eq!(error["code"], "kafka_unavailable", "refused after message.timeout.ms");

    broker.start();
    eventually("/health reports Kafka back again", || kafka_connected(addr)).await;
    eventually("/ready turns 200 again", || ready(addr)).await;
    let (_, delivered) = client.say_and_confirm("after the outage", "o1").await;
    assert_eq!(delivered["offset"], 1, "the refused message was never stored");
    assert_eq!(delivered["epoch"], client.epoch.as_str(), "the same log");
}

/// The server is frozen (SIGSTOP) while another service writes 20 messages
/// to a room and the oldest 10 of them are deleted (as retention or
/// DeleteRecords would): thawed, its consumer's place lies before the log's
/// start. It goes on from the start, and the room's member gets the 10 that
/// are left, not a silent jump past them to the log's end.
#[actix_web::test]
async fn a_consumer_whose_place_was_deleted_goes_on_from_what_is_left() {
    let topic = unique_topic();
    let server = ServerProcess::start(&topic, free_port()).await;
    let mut member = server.connect("/ws/chat?room=behind").await;
    member.history().await;
    let at = topic.clone();
    let (partition, end) = tokio::task::spawn_blocking(move || end_of(&at, "behind")).await.unwrap();
    server.signal("STOP");
    // Its fetch in flight is answered, empty, while it cannot read it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let written: Vec<_> = (0..20)
        .map(|i| json!({"type": "chat_message", "username": "Service", "text": format!("m{i}"), "room": "behind"}))
        .collect();
    let at = topic.clone();
    tokio::task::spawn_blocking(move || produce(&at, "behind", &written)).await.unwrap();
    let mut cut = TopicPartitionList::new();
    cut.add_partition_offset(&topic, partition, Offset::Offset(end + 10)).unwrap();
    let admin: AdminClient<_> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap_servers()).create().expect("admin client");
    admin.delete_records(&cut, &AdminOptions::new().operation_timeout(Some(PATIENCE))).await.expect("deleted");
    server.signal("CONT");

    let arrived = member.chat_messages(10).await;
    let texts: Vec<_> = arrived.iter().map(|m| m["text"].as_str().unwrap_or_default()).collect();
    assert_eq!(texts, (10..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert_eq!(arrived[0]["offset"], end + 10);
}

/// The partition `room` lives in, and its end now.
fn end_of(topic: &str, room: &str) -> (i32, i64) {
    let consumer: BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap_servers()).create().expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), PATIENCE).expect("metadata");
    let partitions = i32::try_from(metadata.topics()[0].partitions().len()).expect("a partition count");
    let partition = actors::kafka::partition_for(room, partitions);
    (partition, consumer.fetch_watermarks(topic, partition, PATIENCE).expect("watermarks").1)
}
