//! What lands in Kafka, read back by an independent consumer.

use rdkafka::message::{Headers, Message};
use serde_json::Value;

use crate::helpers::{bootstrap_servers, read_topic, spawn_app};

#[actix_web::test]
async fn a_websocket_message_lands_in_the_topic_as_documented() {
    let app = spawn_app().await;
    let mut client = app.connect_room("record-room").await;
    client.say("persist me", "p1").await;
    let ack = client.expect("ack").await;

    let topic = app.topic.clone();
    let records = tokio::task::spawn_blocking(move || read_topic(&topic, 1)).await.unwrap();
    assert_eq!(records.len(), 1, "exactly one record");
    let record = &records[0];
    assert_eq!(record.key(), Some(&b"record-room"[..]), "key = room");
    assert_eq!(record.offset(), ack["offset"].as_i64().unwrap());

    let value: Value = serde_json::from_slice(record.payload().unwrap()).unwrap();
    let fields: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields.len(), 8, "{value}");
    assert_eq!(value["type"], "chat_message");
    assert_eq!(value["message_id"], ack["message_id"]);
    assert_eq!(value["username"], client.username.as_str());
    assert_eq!(value["text"], "persist me");
    assert_eq!(value["room"], "record-room");
    assert_eq!(value["verified"], true, "posted by a chat identity");
    assert!(value["author"].as_str().is_some_and(|id| id.len() == 22), "the author's identity id: {value}");
    assert!(chrono::DateTime::parse_from_rfc3339(value["timestamp"].as_str().unwrap()).is_ok());

    let headers = record.headers().expect("headers");
    let header = |name: &str| {
        headers.iter().find(|h| h.key == name).and_then(|h| h.value).map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("schema").as_deref(), Some("chat_message/v1"));
    assert!(header("producer").is_some_and(|p| !p.is_empty()));
}

#[actix_web::test]
async fn inspect_script_shows_a_rooms_records_with_key_and_headers() {
    let app = spawn_app().await;
    let mut shown = app.connect_room("shown-room").await;
    let mut hidden = app.connect_room("shown-room-2").await;
    shown.say_and_confirm("look at me", "s1").await;
    hidden.say_and_confirm("not me", "h1").await;

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/inspect.sh");
    let output = tokio::process::Command::new(script)
        .args(["shown-room", "--", "--timeout-ms", "5000"])
        .env("CHAT_TOPIC", &app.topic)
        .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap_servers())
        .output()
        .await
        .expect("scripts/inspect.sh runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains("chat_message")).collect();
    assert_eq!(lines.len(), 1, "only the room's record:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for expected in ["shown-room", "look at me", "content-type:application/json", "schema:chat_message/v1", "Offset:0"]
    {
        assert!(lines[0].contains(expected), "{expected} in {}", lines[0]);
    }
}
