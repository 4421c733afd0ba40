//! A message's life in the log: replies, reactions, edits and deletions are
//! records of the room in the log's order, checked before they are written,
//! folded the same way by every instance, on every resume and for HTTP.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{eventually, produce, read_topic, spawn_app, start, test_settings, Client, TestApp};

/// `frame` with a `client_msg_id`, for [`Client::request`].
fn with_id(mut frame: Value, id: &str) -> Value {
    frame["client_msg_id"] = json!(id);
    frame
}

fn react(offset: &Value, emoji: &str, id: &str) -> Value {
    with_id(json!({"type": "react", "offset": offset, "emoji": emoji}), id)
}

fn unreact(offset: &Value, emoji: &str, id: &str) -> Value {
    with_id(json!({"type": "unreact", "offset": offset, "emoji": emoji}), id)
}

fn edit(offset: &Value, text: &str, id: &str) -> Value {
    with_id(json!({"type": "edit", "offset": offset, "text": text}), id)
}

fn delete(offset: &Value, id: &str) -> Value {
    with_id(json!({"type": "delete", "offset": offset}), id)
}

fn reply(offset: &Value, text: &str, id: &str) -> Value {
    with_id(json!({"type": "chat_message", "text": text, "reply_to": offset}), id)
}

/// Asserts `answer` is an `ack` and returns the event's own offset.
fn acked(answer: &Value) -> Value {
    assert_eq!(answer["type"], "ack", "{answer}");
    answer["offset"].clone()
}

fn refused(answer: &Value, code: &str) {
    assert_eq!((answer["type"].as_str(), answer["code"].as_str()), (Some("error"), Some(code)), "{answer}");
}

/// The frame of kind `kind` of the event at `at` (its own offset), skipping others.
async fn event_frame(client: &mut Client, kind: &str, at: &Value) -> Value {
    loop {
        let frame = client.expect(kind).await;
        if frame["event_offset"] == *at {
            return frame;
        }
    }
}

/// Two people in `room`, its history read: the first says `text`.
async fn two_in(app: &TestApp, room: &str, text: &str) -> (Client, Client, Value) {
    let mut author = app.connect_room(room).await;
    author.history().await;
    let mut other = app.connect_room(room).await;
    other.history().await;
    let (_, message) = author.say_and_confirm(text, "first").await;
    other.expect("chat_message").await;
    (author, other, message)
}

/// The room's messages over HTTP, by text.
async fn page(app: &TestApp, room: &str) -> Vec<Value> {
    let (status, body) = app.get_json(&format!("/api/rooms/{room}/messages")).await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().cloned().unwrap_or_default()
}

#[actix_web::test]
async fn a_reply_quotes_its_message_live_in_history_and_over_http() {
    let app = spawn_app().await;
    let (mut author, mut other, original) = two_in(&app, "replies", "who watched ||the finale||?").await;
    let answer = other.request(reply(&original["offset"], "me! <img src=x onerror=alert(1)>", "r1")).await;
    let at = acked(&answer);
    let live = author.expect("chat_message").await;
    assert_eq!(live["offset"], at);
    let quote = &live["reply_to"];
    assert_eq!(quote["offset"], original["offset"]);
    assert_eq!(
        (quote["username"].clone(), quote["text"].clone()),
        (original["username"].clone(), original["text"].clone())
    );
    assert_eq!(live["text"], "me! <img src=x onerror=alert(1)>", "text stays text: the page escapes it");

    let mut joiner = app.connect_room("replies").await;
    let (history, _) = joiner.history().await;
    assert_eq!(history[1]["reply_to"], *quote, "the same quote in history");
    let messages = page(&app, "replies").await;
    assert_eq!(messages[1]["reply_to"], *quote, "and over HTTP");
    assert!(messages[1].get("author").is_none(), "identity ids stay with the moderators: {}", messages[1]);

    refused(&other.request(reply(&json!(99_999), "to nothing", "r2")).await, "no_such_message");
    let mut elsewhere = app.connect_room("replies-elsewhere").await;
    elsewhere.history().await;
    refused(&elsewhere.request(reply(&original["offset"], "across rooms", "r3")).await, "no_such_message");
    refused(&other.request(reply(&json!(-1), "negative", "r4")).await, "invalid_field");
}

#[actix_web::test]
async fn reactions_count_once_per_identity_per_emoji_within_a_bounded_set() {
    let app = spawn_app().await;
    let (mut author, mut other, message) = two_in(&app, "reactions", "sugoi").await;
    let offset = &message["offset"];
    let event = acked(&other.request(react(offset, "🔥", "a")).await);
    let frame = event_frame(&mut author, "reactions", &event).await;
    assert_eq!((frame["offset"].clone(), frame["event_offset"].clone()), (offset.clone(), event));
    assert_eq!((frame["emoji"].as_str(), frame["added"].as_bool()), (Some("🔥"), Some(true)));
    assert_eq!(frame["username"], other.username);
    assert_eq!(frame["reactions"], json!([{"emoji": "🔥", "count": 1, "users": [other.username]}]));

    acked(&other.request(react(offset, "🔥", "again")).await);
    let event = acked(&author.request(react(offset, "🔥", "b")).await);
    let counted = event_frame(&mut other, "reactions", &event).await;
    assert_eq!(counted["reactions"][0]["count"], 2, "the second react of one identity counted nothing: {counted}");
    let event = acked(&other.request(unreact(offset, "🔥", "c")).await);
    let taken_back = event_frame(&mut author, "reactions", &event).await;
    assert_eq!(taken_back["added"], false);
    assert_eq!(taken_back["reactions"], json!([{"emoji": "🔥", "count": 1, "users": [author.username]}]));

    refused(&other.request(react(offset, "<script>", "d")).await, "invalid_emoji");
    refused(&other.request(react(&json!(99_999), "🔥", "e")).await, "no_such_message");
    for (i, emoji) in ["❤️", "😂", "👍", "👎", "😮", "😢", "🎉"].iter().enumerate() {
        acked(&other.request(react(offset, emoji, &format!("more-{i}"))).await);
    }
    refused(&other.request(react(offset, "🌸", "ninth")).await, "too_many_reactions");
    acked(&other.request(react(offset, "😂", "but-more-of-one")).await);

    let messages = page(&app, "reactions").await;
    let reactions = messages[0]["reactions"].as_array().cloned().unwrap_or_default();
    assert_eq!(reactions.len(), 8, "{reactions:?}");
    assert_eq!(reactions[2], json!({"emoji": "😂", "count": 1, "users": [other.username]}));
}

#[actix_web::test]
async fn only_the_author_edits_within_the_window_or_deletes() {
    let mut settings = test_settings();
    settings.chat.edit_window = Duration::from_secs(2);
    let app = start(settings).await;
    app.wait_ready().await;
    let (mut author, mut other, message) = two_in(&app, "edits", "tpyo").await;
    let offset = &message["offset"];
    refused(&other.request(edit(offset, "mine now", "a")).await, "not_yours");
    refused(&other.request(delete(offset, "b")).await, "not_yours");

    let event = acked(&author.request(edit(offset, "typo", "c")).await);
    let edited = event_frame(&mut other, "message_edited", &event).await;
    assert_eq!((edited["offset"].clone(), edited["event_offset"].clone()), (offset.clone(), event));
    assert_eq!(edited["text"], "typo");
    assert!(edited["edited_at"].as_str().is_some_and(|at| at > message["timestamp"].as_str().unwrap_or("")));
    refused(&author.request(edit(offset, "   ", "empty")).await, "empty_text");

    let (_, late) = author.say_and_confirm("too late to fix", "late").await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    refused(&author.request(edit(&late["offset"], "fixed", "d")).await, "edit_window_passed");

    let event = acked(&author.request(delete(offset, "e")).await);
    let deleted = event_frame(&mut other, "message_deleted", &event).await;
    assert_eq!(
        deleted,
        json!({
            "type": "message_deleted", "room": "edits", "offset": offset, "epoch": message["epoch"],
            "by": "author", "event_offset": event,
        })
    );
    refused(&author.request(edit(offset, "back", "f")).await, "no_such_message");
    refused(&author.request(delete(offset, "g")).await, "no_such_message");
    let messages = page(&app, "edits").await;
    assert_eq!((messages[0]["deleted"].as_bool(), messages[0]["text"].as_str()), (Some(true), Some("")));
    assert_eq!(messages[0]["deleted_by"], "author");
    assert!(messages[0].get("edited_at").is_none(), "a deleted message shows nothing of its edits");
}

/// What a client shows of a message: the fields its state is made of.
fn state(message: &Value) -> Value {
    json!({
        "offset": message["offset"], "text": message["text"], "deleted": message.get("deleted"),
        "edited_at": message.get("edited_at"), "reply_to": message.get("reply_to"),
        "reactions": message.get("reactions"),
    })
}

/// A second instance on `app`'s topic, with nothing of it read yet, that
/// replays `default` messages to a joining client.
async fn instance_replaying(app: &TestApp, default: usize) -> TestApp {
    let mut settings = test_settings();
    settings.kafka.topic = app.topic.clone();
    settings.history.default = default;
    let instance = start(settings).await;
    instance.wait_ready().await;
    instance
}

async fn another_instance(app: &TestApp) -> TestApp {
    instance_replaying(app, test_settings().history.default).await
}

#[actix_web::test]
async fn acts_on_messages_older_than_an_instance_holds_are_checked_against_the_log_in_order() {
    let warm = spawn_app().await;
    let mut author = warm.connect_room("old").await;
    author.history().await;
    let mut sent = Vec::new();
    for i in 0..4 {
        sent.push(author.say_and_confirm(&format!("old {i}"), &format!("o{i}")).await.1);
    }
    // This instance holds only the last message of the room.
    let cold = instance_replaying(&warm, 1).await;
    let mut reader = cold.connect_room("old").await;
    assert_eq!(reader.history().await.0.len(), 1);

    refused(&reader.request(edit(&sent[0]["offset"], "not mine", "a")).await, "not_yours");
    let event = acked(&reader.request(react(&sent[0]["offset"], "🎉", "b")).await);
    let frame = event_frame(&mut reader, "reactions", &event).await;
    assert_eq!(frame["offset"], sent[0]["offset"]);
    assert!(frame.get("reactions").is_none(), "counts only where the message's state is held: {frame}");

    // The author edits a message the cold instance knows nothing of, and
    // speaks at once: the edit is read and checked first, and comes first.
    let event = acked(&author.request(edit(&sent[1]["offset"], "old 1, fixed", "c")).await);
    author.say("right after", "after").await;
    let edited = reader.next_of(&["message_edited", "chat_message"]).await;
    assert_eq!((edited["event_offset"].clone(), edited["text"].clone()), (event, json!("old 1, fixed")));
    assert_eq!(reader.expect("chat_message").await["text"], "right after");
}

#[actix_web::test]
async fn a_cold_instance_and_a_resume_rebuild_the_same_state_from_the_log() {
    let warm = spawn_app().await;
    let (mut author, mut other, first) = two_in(&warm, "folds", "first").await;
    let (_, second) = author.say_and_confirm("secnod", "2").await;
    let (_, third) = author.say_and_confirm("third, soon gone", "3").await;
    other.chat_messages(2).await;
    let resumer_saw = third["offset"].clone();

    acked(&other.request(react(&first["offset"], "✨", "r1")).await);
    acked(&author.request(react(&first["offset"], "✨", "r2")).await);
    acked(&author.request(edit(&second["offset"], "second", "e1")).await);
    acked(&author.request(delete(&third["offset"], "d1")).await);
    let quoted = acked(&other.request(reply(&second["offset"], "nice fix", "q1")).await);
    while author.expect("chat_message").await["offset"] != quoted {}
    let from_cache = warm.connect_room("folds").await.history().await.0;

    let cold = another_instance(&warm).await;
    let from_log = cold.connect_room("folds").await.history().await.0;
    assert_eq!(from_log.iter().map(state).collect::<Vec<_>>(), from_cache.iter().map(state).collect::<Vec<_>>());
    assert_eq!(from_log[0]["reactions"][0]["count"], 2);
    assert_eq!(from_log[1]["text"], "second");
    assert_eq!((from_log[2]["deleted"].as_bool(), from_log[2]["text"].as_str()), (Some(true), Some("")));
    assert_eq!(from_log[3]["reply_to"]["text"], "second", "the quote shows the edit");
    let over_http = page(&cold, "folds").await;
    assert_eq!(over_http.iter().map(state).collect::<Vec<_>>(), from_log.iter().map(state).collect::<Vec<_>>());

    // A client that saw the three messages resumes on an instance that read
    // nothing of them: the events about them, in order, then the reply.
    let colder = another_instance(&warm).await;
    let epoch = first["epoch"].as_str().unwrap_or_default();
    let mut resumed = colder.connect_to(&format!("/ws/chat?room=folds&since={resumer_saw}&epoch={epoch}")).await;
    let mut replay = Vec::new();
    loop {
        let frame = resumed.next().await;
        match frame["type"].as_str() {
            Some("history_end") => break assert_eq!(frame["recovered"], true),
            Some("reactions" | "message_edited" | "message_deleted" | "chat_message") => replay.push(frame),
            _ => {}
        }
    }
    let kinds: Vec<&str> = replay.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(kinds, ["reactions", "reactions", "message_edited", "message_deleted", "chat_message"]);
    assert_eq!(replay[1]["offset"], first["offset"]);
    assert_eq!(replay[3]["offset"], third["offset"]);
    assert_eq!(replay[4]["reply_to"]["text"], "second");
}

#[actix_web::test]
async fn the_log_keeps_every_event_with_its_schema_and_other_services_follow_the_same_rules() {
    let app = spawn_app().await;
    let (mut author, mut other, message) = two_in(&app, "records", "hello").await;
    acked(&other.request(react(&message["offset"], "👀", "r")).await);
    let event = acked(&author.request(edit(&message["offset"], "hello!", "e")).await);
    event_frame(&mut other, "message_edited", &event).await;
    let topic = app.topic.clone();
    let records = tokio::task::spawn_blocking(move || read_topic(&topic, 3)).await.unwrap();
    let schemas: Vec<String> = records.iter().map(schema_of).collect();
    assert_eq!(schemas, ["chat_message/v1", "reaction/v1", "message_edited/v1"]);
    let edit: Value = serde_json::from_slice(rdkafka::Message::payload(&records[2]).unwrap_or_default()).unwrap();
    assert_eq!((edit["type"].as_str(), edit["target"].clone()), (Some("message_edited"), message["offset"].clone()));

    // Another service writes an edit in someone else's name, and a reaction.
    let author_id = serde_json::from_slice::<Value>(rdkafka::Message::payload(&records[0]).unwrap_or_default())
        .unwrap()["author"]
        .clone();
    let forged = json!({"type": "message_edited", "target": message["offset"], "room": "records",
        "text": "forged", "author": "not-the-author", "username": "Mallory", "timestamp": chrono_now()});
    let reaction = json!({"type": "reaction", "target": message["offset"], "room": "records", "emoji": "🙏",
        "added": true, "author": "bot-1", "username": "Helper Bot"});
    let fair = json!({"type": "message_edited", "target": message["offset"], "room": "records",
        "text": "hello, edited by a trusted service", "author": author_id, "username": "x", "timestamp": chrono_now()});
    let topic = app.topic.clone();
    tokio::task::spawn_blocking(move || produce(&topic, "records", &[forged, reaction, fair])).await.unwrap();
    let first = other.expect("reactions").await;
    assert_eq!(first["username"], "Helper Bot", "the forged edit was never shown: {first}");
    assert_eq!(other.expect("message_edited").await["text"], "hello, edited by a trusted service");
    let messages = page(&app, "records").await;
    assert_eq!(messages[0]["text"], "hello, edited by a trusted service");
    assert_eq!(messages[0]["reactions"].as_array().map(Vec::len), Some(2));
}

fn schema_of(record: &rdkafka::message::OwnedMessage) -> String {
    use rdkafka::message::Headers;
    let headers = rdkafka::Message::headers(record).expect("headers");
    let schema = headers.iter().find(|h| h.key == "schema").and_then(|h| h.value).unwrap_or_default();
    String::from_utf8_lossy(schema).into_owned()
}

fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[actix_web::test]
async fn an_act_waiting_for_the_rooms_own_writes_is_answered_after_its_sender_left() {
    let mut settings = test_settings();
    // Reads come up to a second behind writes. Behind another service's
    // record not read yet, the author's own message is not handed to the
    // room on its ack either, so an edit sent right after that ack waits
    // for the room's reads to reach the message.
    settings.kafka.consumer.insert("fetch.min.bytes".into(), "100000000".into());
    settings.kafka.consumer.insert("fetch.wait.max.ms".into(), "1000".into());
    let app = start(settings).await;
    app.wait_ready().await;
    let mut author = app.connect_room("gone").await;
    author.history().await;
    let token = author.token.clone();
    let (topic, before) =
        (app.topic.clone(), json!({"type": "chat_message", "username": "Bot", "text": "before", "room": "gone"}));
    tokio::task::spawn_blocking(move || produce(&topic, "gone", &[before])).await.unwrap();
    let offset = acked(&author.request(with_id(json!({"type": "chat_message", "text": "draft"}), "m")).await);
    author.send_json(edit(&offset, "final", "e")).await;
    author.leave().await;

    let mut back = app.connect_to(&format!("/ws/chat?room=gone&history=0&token={token}")).await;
    back.history().await;
    acked(&back.request(edit(&offset, "final", "e")).await);
    let app = &app;
    eventually("the edit is the room's history", || async move {
        page(app, "gone").await.iter().map(|m| m["text"].clone()).eq([json!("before"), json!("final")])
    })
    .await;
}

#[actix_web::test]
async fn reads_from_the_log_count_messages_not_the_events_between_them() {
    let warm = spawn_app().await;
    let (mut author, mut other, first) = two_in(&warm, "counted", "first").await;
    let (_, second) = author.say_and_confirm("second", "s").await;
    for (i, emoji) in ["🔥", "❤️", "😂", "👍", "🎉"].iter().enumerate() {
        acked(&other.request(react(&second["offset"], emoji, &format!("r{i}"))).await);
    }
    // Two messages of history, after more reactions than that.
    let cold = instance_replaying(&warm, 2).await;
    let (history, _) = cold.connect_room("counted").await.history().await;
    let offsets: Vec<Value> = history.iter().map(|m| m["offset"].clone()).collect();
    assert_eq!(offsets, [first["offset"].clone(), second["offset"].clone()]);
    assert_eq!(history[1]["reactions"].as_array().map(Vec::len), Some(5), "{}", history[1]);
}

#[actix_web::test]
async fn pages_read_forward_from_the_log_show_messages_as_they_are_now() {
    let warm = spawn_app().await;
    let (mut author, mut other, oops) = two_in(&warm, "paged", "oops").await;
    let (_, next) = author.say_and_confirm("next", "n").await;
    acked(&author.request(delete(&oops["offset"], "d")).await);
    acked(&other.request(react(&next["offset"], "🔥", "r")).await);

    // An instance that never saw the room reads each page forward from the log.
    let cold = another_instance(&warm).await;
    let (_, first) = cold.get_json("/api/rooms/paged/messages?since=-1&limit=1").await;
    assert_eq!(
        (first["messages"][0]["deleted"].as_bool(), first["messages"][0]["text"].as_str()),
        (Some(true), Some(""))
    );
    let (_, second) = cold.get_json(&format!("/api/rooms/paged/messages?since={}&limit=1", oops["offset"])).await;
    assert_eq!(second["messages"][0]["reactions"][0]["emoji"], "🔥", "{second}");
}
