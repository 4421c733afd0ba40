//! Records other services write to the topic: with Kafka's own tools and
//! standard partitioner they are the room's messages, live, in history and
//! on resume; a record outside its room's partition is counted and skipped,
//! and one written twice under the same `message_id` is one message.

use std::io::Write;

use serde_json::json;

use crate::helpers::{
    bootstrap_servers, eventually, metric, produce, read_topic, spawn_app, start, test_settings, PATIENCE,
};

/// Writes `lines` (`key|value`) with Kafka's console producer.
fn console_produce(topic: &str, lines: &[String]) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka.sh");
    let mut producer = std::process::Command::new(script)
        .args(["tool", "org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", &bootstrap_servers()])
        .args(["--topic", topic, "--reader-property", "parse.key=true", "--reader-property", "key.separator=|"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("the console producer starts");
    let mut stdin = producer.stdin.take().expect("stdin");
    for line in lines {
        writeln!(stdin, "{line}").expect("a line to the producer");
    }
    drop(stdin);
    assert!(producer.wait().expect("the console producer exits").success());
}

#[actix_web::test]
async fn records_from_kafkas_console_producer_reach_the_room_live_in_history_and_on_resume() {
    let app = spawn_app().await;
    let mut live = app.connect_room("console").await;
    live.history().await;
    let (ack, _) = live.say_and_confirm("from the page", "p").await;
    let lines: Vec<String> = ["konnichiwa", "from the CLI"]
        .iter()
        .map(|text| {
            format!(
                "console|{}",
                json!({"type": "chat_message", "username": "Kafka CLI", "text": text, "room": "console"})
            )
        })
        .collect();
    let topic = app.topic.clone();
    tokio::task::spawn_blocking(move || console_produce(&topic, &lines)).await.unwrap();

    let arrived = live.chat_messages(2).await;
    assert_eq!(arrived.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(), ["konnichiwa", "from the CLI"]);
    for message in &arrived {
        assert_eq!(message["username"], "Kafka CLI");
        assert!(message["message_id"].as_str().is_some_and(|id| id.starts_with("kafka-")), "{message}");
        assert!(message["timestamp"].as_str().is_some_and(|t| !t.is_empty()));
    }
    let mut newcomer = app.connect_room("console").await;
    let (history, _) = newcomer.history().await;
    assert_eq!(
        history.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(),
        ["from the page", "konnichiwa", "from the CLI"]
    );
    let mut resumed = app.connect_to(&format!("/ws/chat?room=console&since={}", ack["offset"])).await;
    let (replay, end) = resumed.history().await;
    assert_eq!(
        replay.iter().map(|m| m["message_id"].clone()).collect::<Vec<_>>(),
        arrived.iter().map(|m| m["message_id"].clone()).collect::<Vec<_>>()
    );
    assert_eq!(end["recovered"], true);
}

#[actix_web::test]
async fn a_record_outside_its_rooms_partition_is_counted_and_never_delivered() {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let app = spawn_app().await;
    let mut live = app.connect_room("placed").await;
    live.history().await;
    let home = actors::kafka::partition_for("placed", 2);
    // Someone in a room of the other partition, so this instance reads it.
    let neighbour = (0..).map(|i| format!("neighbour-{i}")).find(|room| actors::kafka::partition_for(room, 2) != home);
    let mut next_door = app.connect_room(&neighbour.unwrap_or_default()).await;
    next_door.history().await;
    let producer: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap_servers()).create().expect("producer");
    let stray =
        json!({"type": "chat_message", "username": "Stray", "text": "wrong partition", "room": "placed"}).to_string();
    let record = FutureRecord::to(&app.topic).key("placed").payload(&stray).partition(1 - home);
    producer.send(record, PATIENCE).await.expect("written");
    let addr = app.addr;
    eventually("the misplaced record is counted", || async move {
        metric(addr, "chat_misplaced_records_total", "").await >= 1.0
    })
    .await;
    live.say("placed right", "r").await;
    assert_eq!(live.expect("chat_message").await["text"], "placed right", "the stray never reached the room");
    let mut newcomer = app.connect_room("placed").await;
    let (history, _) = newcomer.history().await;
    assert_eq!(history.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(), ["placed right"]);
}

#[actix_web::test]
async fn a_message_written_twice_reaches_the_room_once_live_in_history_and_on_resume() {
    let app = spawn_app().await;
    let mut live = app.connect_room("twice").await;
    live.history().await;
    let (ack, _) = live.say_and_confirm("before", "b").await;
    // A service whose producer retried without idempotence: one message, two records.
    let copy =
        json!({"type": "chat_message", "message_id": "svc-1", "username": "Bot", "text": "once", "room": "twice"});
    let topic = app.topic.clone();
    tokio::task::spawn_blocking(move || produce(&topic, "twice", &[copy.clone(), copy])).await.unwrap();
    live.say("after", "a").await;

    let arrived = live.chat_messages(2).await;
    assert_eq!(arrived.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(), ["once", "after"]);
    assert!(metric(app.addr, "chat_duplicate_records_total", "").await >= 1.0);
    let mut newcomer = app.connect_room("twice").await;
    let (history, _) = newcomer.history().await;
    assert_eq!(history.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(), ["before", "once", "after"]);
    let mut resumed = app.connect_to(&format!("/ws/chat?room=twice&since={}", ack["offset"])).await;
    let (replay, _) = resumed.history().await;
    assert_eq!(replay.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(), ["once", "after"]);
    // A second instance knows the room only from a read of the log.
    let mut settings = test_settings();
    settings.kafka.topic = app.topic.clone();
    let other = start(settings).await;
    other.wait_ready().await;
    let (read, _) = other.connect_room("twice").await.history().await;
    assert_eq!(read.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(), ["before", "once", "after"]);
}

#[actix_web::test]
async fn other_services_times_are_shown_in_utc_and_a_record_replying_to_no_offset_is_refused() {
    let app = spawn_app().await;
    let mut live = app.connect_room("stamped").await;
    live.history().await;
    let message = |text: &str| json!({"type": "chat_message", "username": "Bot", "text": text, "room": "stamped"});
    let (mut tokyo, mut vague, mut negative) = (message("from Tokyo"), message("sometime"), message("to nothing"));
    tokyo["timestamp"] = json!("2026-12-01T09:00:00+09:00");
    vague["timestamp"] = json!("yesterday");
    negative["reply_to"] = json!(-1);
    let (topic, before) = (app.topic.clone(), chrono::Utc::now());
    tokio::task::spawn_blocking(move || produce(&topic, "stamped", &[tokyo, vague, negative])).await.unwrap();
    live.say("after", "a").await;

    let arrived = live.chat_messages(3).await;
    assert_eq!(arrived.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(), ["from Tokyo", "sometime", "after"]);
    assert_eq!(arrived[0]["timestamp"], "2026-12-01T00:00:00.000Z");
    let kafka_time = arrived[1]["timestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    assert!(kafka_time.is_some_and(|t| t >= before - chrono::TimeDelta::seconds(1)), "{}", arrived[1]);
    // Counters are the whole test process's: other tests add to them too.
    assert!(metric(app.addr, "chat_invalid_records_total", "").await >= 1.0);
}

/// Writes `value` keyed by `key` in one committed Kafka transaction: the
/// log then ends with a commit marker, an offset no consumer is given.
fn produce_in_a_transaction(topic: &str, key: &str, value: &serde_json::Value) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers())
        .set("partitioner", "murmur2_random")
        .set("transactional.id", format!("{topic}-service"))
        .create()
        .expect("a transactional producer");
    producer.init_transactions(PATIENCE).expect("transactions start");
    producer.begin_transaction().expect("a transaction");
    let payload = value.to_string();
    producer.send(BaseRecord::to(topic).key(key).payload(&payload)).expect("queued");
    producer.commit_transaction(PATIENCE).expect("committed");
    // Kafka writes the commit marker after the commit returns, and until then
    // read_committed readers (the server's among them) end before the record.
    assert_eq!(read_topic(topic, 1).len(), 1, "the committed record is visible");
}

#[actix_web::test]
async fn history_reads_finish_where_the_log_ends_in_another_services_transaction_marker() {
    let app = spawn_app().await;
    let record = json!({"type": "chat_message", "username": "Txn", "text": "committed", "room": "txn"});
    let topic = app.topic.clone();
    tokio::task::spawn_blocking(move || produce_in_a_transaction(&topic, "txn", &record)).await.unwrap();

    // Nobody is in the room: its history is read from the log, to its end.
    let mut client = app.connect_to("/ws/chat?room=txn&history=10").await;
    let mut frames = Vec::new();
    while frames.last().is_none_or(|frame: &serde_json::Value| frame["type"] != "history_end") {
        frames.push(client.next().await);
    }
    let kinds: Vec<_> = frames.iter().map(|frame| frame["type"].clone()).collect();
    assert!(!kinds.contains(&json!("error")), "{frames:?}");
    let texts: Vec<_> = frames.iter().filter(|f| f["type"] == "chat_message").map(|f| f["text"].clone()).collect();
    assert_eq!(texts, ["committed"]);
}
