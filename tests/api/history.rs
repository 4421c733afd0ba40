//! History on join and gapless resume by offset, from Kafka.

use std::collections::HashSet;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use crate::helpers::{
    bootstrap_servers, free_port, spawn_app, start, test_settings, unique_topic, unlimited_settings, ServerProcess,
    NO_RATE_LIMIT,
};

fn texts(messages: &[Value]) -> Vec<&str> {
    messages.iter().filter_map(|m| m["text"].as_str()).collect()
}

fn offsets(messages: &[Value]) -> Vec<i64> {
    messages.iter().filter_map(|m| m["offset"].as_i64()).collect()
}

#[actix_web::test]
async fn a_newcomer_gets_the_rooms_last_messages_then_history_end() {
    let app = spawn_app().await;
    let mut author = app.connect_room("history-room").await;
    author.history().await;
    for i in 0..5 {
        author.say_and_confirm(&format!("old {i}"), &format!("o{i}")).await;
    }
    let mut elsewhere = app.connect_room("other-room").await;
    elsewhere.history().await;
    elsewhere.say_and_confirm("not in history-room", "x").await;

    let mut newcomer = app.connect_room("history-room").await;
    let (history, end) = newcomer.history().await;
    assert_eq!(texts(&history), ["old 0", "old 1", "old 2", "old 3", "old 4"]);
    let epoch = newcomer.epoch.as_str();
    assert_eq!(
        end,
        serde_json::json!({"type": "history_end", "room": "history-room", "recovered": true, "epoch": epoch})
    );

    let mut short = app.connect_to("/ws/chat?room=history-room&history=2").await;
    assert_eq!(texts(&short.history().await.0), ["old 3", "old 4"]);

    let (status, page) = app.get_json("/api/rooms/history-room/messages?limit=3").await;
    assert_eq!(status, 200);
    assert_eq!(texts(page["messages"].as_array().unwrap()), ["old 2", "old 3", "old 4"]);
    let since = history[1]["offset"].as_i64().unwrap();
    let (_, page) = app.get_json(&format!("/api/rooms/history-room/messages?since={since}&limit=2")).await;
    assert_eq!(texts(page["messages"].as_array().unwrap()), ["old 2", "old 3"], "the first page after since");
    assert_eq!(page["recovered"], true);
    assert_eq!(app.get_json("/api/rooms/history-room/messages?limit=501").await.0, 400);
    assert_eq!(app.get_json("/api/rooms/Bad%20Room/messages").await.0, 400);
}

#[actix_web::test]
async fn a_resume_after_a_missed_burst_gets_every_message_once_in_order() {
    let app = start(unlimited_settings()).await;
    app.wait_ready().await;
    let mut reader = app.connect_room("burst").await;
    reader.history().await;
    let (_, seen) = reader.say_and_confirm("last seen", "l").await;
    let last_seen = seen["offset"].as_i64().unwrap();
    drop(reader);

    let mut writer = app.connect_room("burst").await;
    writer.history().await;
    writer.say_many(1200, "missed").await;

    let mut resumed = app.connect_to(&format!("/ws/chat?room=burst&since={last_seen}")).await;
    // Live messages written during the replay must join it without a gap.
    writer.say_many(20, "during").await;
    let (replayed, end) = resumed.history().await;
    assert_eq!(end["recovered"], true);
    let mut all = replayed;
    let live_needed = 1220 - all.len();
    all.extend(resumed.chat_messages(live_needed).await);
    let expected: Vec<String> =
        (0..1200).map(|i| format!("missed {i}")).chain((0..20).map(|i| format!("during {i}"))).collect();
    assert_eq!(texts(&all), expected.iter().map(String::as_str).collect::<Vec<_>>());
    let offsets = offsets(&all);
    assert_eq!(offsets[0], last_seen + 1);
    assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "consecutive offsets, no gap");
}

#[actix_web::test]
async fn a_resume_works_on_another_instance_after_a_crash() {
    let topic = unique_topic();
    let mut first = ServerProcess::start_with(&topic, free_port(), NO_RATE_LIMIT).await;
    let second = ServerProcess::start_with(&topic, free_port(), NO_RATE_LIMIT).await;
    let mut client = first.connect("/ws/chat?room=crash").await;
    client.history().await;
    let (_, seen) = client.say_and_confirm("before the crash", "b").await;
    let last_seen = seen["offset"].as_i64().unwrap();

    first.signal_and_wait("KILL");
    let mut writer = second.connect("/ws/chat?room=crash").await;
    writer.history().await;
    writer.say_many(30, "while away").await;

    let mut resumed = second.connect(&format!("/ws/chat?room=crash&since={last_seen}")).await;
    let (mut missed, end) = resumed.history().await;
    assert_eq!(end["recovered"], true);
    // Acks can outrun the second instance's consumer: what it has not read
    // yet when the client resumes follows history_end live, without a gap.
    missed.extend(resumed.chat_messages(30 - missed.len()).await);
    assert_eq!(texts(&missed), (0..30).map(|i| format!("while away {i}")).collect::<Vec<_>>());
    let ids: HashSet<&str> = missed.iter().filter_map(|m| m["message_id"].as_str()).collect();
    assert_eq!(ids.len(), 30, "exactly once");
}

#[actix_web::test]
async fn a_resume_into_a_deleted_range_says_recovered_false() {
    let app = spawn_app().await;
    let mut client = app.connect_room("retention").await;
    client.history().await;
    let mut offsets_sent = Vec::new();
    for i in 0..6 {
        offsets_sent.push(client.say_and_confirm(&format!("m{i}"), &format!("m{i}")).await.1);
    }
    // Delete everything before the fourth message, as retention would.
    let cut = offsets_sent[3]["offset"].as_i64().unwrap();
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap_servers()).create().expect("admin client");
    let mut list = TopicPartitionList::new();
    for p in 0..2 {
        list.add_partition_offset(&app.topic, p, Offset::Offset(cut)).unwrap();
    }
    // Only the room's partition has that many records; the other refuses, harmlessly.
    let _ = admin.delete_records(&list, &AdminOptions::new()).await;

    // Another instance, whose cache never saw the room: the answer comes from Kafka.
    let mut settings = test_settings();
    settings.kafka.topic = app.topic.clone();
    let other = start(settings).await;
    other.wait_ready().await;
    let mut resumed = other.connect_to(&format!("/ws/chat?room=retention&since={}", offsets_sent[0]["offset"])).await;
    let (replayed, end) = resumed.history().await;
    assert_eq!(end["recovered"], false, "part of the range is gone");
    assert_eq!(texts(&replayed), ["m3", "m4", "m5"], "what remains, in order");
}

#[actix_web::test]
async fn a_since_past_the_end_of_the_log_gets_the_latest_history_and_recovered_false() {
    let app = spawn_app().await;
    let mut client = app.connect_room("recreated").await;
    client.history().await;
    for text in ["first", "second", "third"] {
        client.say_and_confirm(text, text).await;
    }
    let mut resumed = app.connect_to("/ws/chat?room=recreated&since=500").await;
    let (replayed, end) = resumed.history().await;
    assert_eq!(texts(&replayed), ["first", "second", "third"], "the room as it is, not a stuck session");
    assert_eq!(end["recovered"], false, "offset 500 cannot come from this log");
    let mut counted = app.connect_to("/ws/chat?room=recreated&since=500&history=2").await;
    let (replayed, end) = counted.history().await;
    assert_eq!(texts(&replayed), ["second", "third"], "as many as the client asked for");
    assert_eq!(end["recovered"], false);
    let (_, live) = client.say_and_confirm("and it goes on live", "l").await;
    assert_eq!(resumed.expect("chat_message").await["message_id"], live["message_id"]);

    // The same over HTTP: the room's last page, not an empty one for ever.
    let (status, page) = app.get_json("/api/rooms/recreated/messages?since=500&limit=2").await;
    assert_eq!(status, 200, "{page}");
    let texts: Vec<&str> =
        page["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["third", "and it goes on live"], "{page}");
    assert_eq!(page["recovered"], false);
}
