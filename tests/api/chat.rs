//! The WebSocket protocol: welcome, counts, chat in Kafka order, acks, errors.

use std::collections::HashSet;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, start, test_settings, Client};

fn is_rfc3339(value: &Value) -> bool {
    value.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

#[actix_web::test]
async fn a_newcomer_gets_a_welcome_then_the_room_count() {
    let app = spawn_app().await;
    let url = format!("ws://{}/ws/chat", app.addr);
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut raw = crate::helpers::Client::raw(socket);

    let welcome = raw.next().await;
    assert_eq!(welcome["type"], "welcome");
    assert!(welcome["epoch"].as_str().is_some_and(|epoch| epoch.len() == 22), "the topic's id: {welcome}");
    assert_eq!(welcome["room"], "anonymous-anime-universe");
    assert!(welcome["username"].as_str().is_some_and(|name| name.contains(' ')), "{welcome}");
    assert!(welcome["session_id"].as_str().is_some_and(|id| !id.is_empty()));

    let update = raw.next().await;
    assert_eq!(update["type"], "connection_update");
    assert_eq!(update["active_connections"], 1);
    assert_eq!(update["room"], "anonymous-anime-universe");
    assert!(is_rfc3339(&update["timestamp"]), "{update}");
}

#[actix_web::test]
async fn connection_updates_count_joins_and_leaves() {
    let app = spawn_app().await;
    let mut first = app.connect().await;
    assert_eq!(first.expect("connection_update").await["active_connections"], 1);

    let mut second = app.connect().await;
    assert_eq!(second.expect("connection_update").await["active_connections"], 2);
    assert_eq!(first.expect("connection_update").await["active_connections"], 2);

    let mut elsewhere = app.connect_room("other-room").await;
    assert_eq!(elsewhere.expect("connection_update").await["active_connections"], 1);

    drop(second);
    assert_eq!(first.expect("connection_update").await["active_connections"], 1);
}

#[actix_web::test]
async fn two_clients_see_each_others_messages_in_the_same_order() {
    let app = spawn_app().await;
    let mut alice = app.connect().await;
    let mut bob = app.connect().await;
    assert_ne!(alice.username, bob.username);
    // Both live from here: a message that lands while a replay is still read
    // comes in the replay, counted as the room was then (docs/protocol.md).
    alice.history().await;
    bob.history().await;

    for i in 0..5 {
        alice.say(&format!("alice {i}"), &format!("a{i}")).await;
        bob.say(&format!("bob {i}"), &format!("b{i}")).await;
    }
    let seen_by_alice = alice.chat_messages(10).await;
    let seen_by_bob = bob.chat_messages(10).await;
    assert_eq!(seen_by_alice, seen_by_bob, "both clients see one order");
    let offsets: Vec<i64> = seen_by_alice.iter().map(|m| m["offset"].as_i64().unwrap()).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "offsets increase: {offsets:?}");
    for message in &seen_by_alice {
        assert_eq!(message["room"], "anonymous-anime-universe");
        assert_eq!(message["active_connections"], 2);
        assert!(is_rfc3339(&message["timestamp"]), "{message}");
        assert!(message["message_id"].as_str().is_some_and(|id| !id.is_empty()));
        let text = message["text"].as_str().unwrap();
        let author = if text.starts_with("alice") { &alice.username } else { &bob.username };
        assert_eq!(&message["username"], author.as_str());
    }
    let from_alice: Vec<&str> =
        seen_by_alice.iter().filter_map(|m| m["text"].as_str()).filter(|t| t.starts_with("alice")).collect();
    assert_eq!(from_alice, ["alice 0", "alice 1", "alice 2", "alice 3", "alice 4"], "a sender's order is kept");
    let ids: HashSet<&str> = seen_by_alice.iter().filter_map(|m| m["message_id"].as_str()).collect();
    assert_eq!(ids.len(), 10, "message ids are unique");
}

#[actix_web::test]
async fn the_sender_gets_an_ack_matching_the_broadcast() {
    let app = spawn_app().await;
    let mut alice = app.connect().await;
    let (ack, broadcast) = alice.say_and_confirm("hello universe", "my-id-1").await;
    assert_eq!(ack["client_msg_id"], "my-id-1");
    assert_eq!(ack["message_id"], broadcast["message_id"]);
    assert_eq!(ack["offset"], broadcast["offset"]);
    alice.say("  trimmed \r\n ", "my-id-2").await;
    assert_eq!(alice.expect("chat_message").await["text"], "trimmed", "text is normalised");
}

#[actix_web::test]
async fn a_client_msg_id_sent_again_gets_the_first_answer_and_with_another_message_an_error() {
    let app = spawn_app().await;
    let mut alice = app.connect().await;
    alice.history().await;
    let (ack, _) = alice.say_and_confirm("first", "same").await;
    let again = alice.request(json!({"type": "chat_message", "text": "first", "client_msg_id": "same"})).await;
    assert_eq!(
        (&again["type"], &again["message_id"], &again["offset"]),
        (&json!("ack"), &ack["message_id"], &ack["offset"])
    );
    let other = alice.request(json!({"type": "chat_message", "text": "something else", "client_msg_id": "same"})).await;
    assert_eq!((other["type"].as_str(), other["code"].as_str()), (Some("error"), Some("invalid_field")), "{other}");
    // Neither was written: the next message comes right after the first.
    let (next, _) = alice.say_and_confirm("next", "next").await;
    assert_eq!(next["offset"].as_i64(), ack["offset"].as_i64().map(|offset| offset + 1));
}

#[actix_web::test]
async fn every_bad_frame_gets_its_error_code_and_the_connection_stays_open() {
    let app = spawn_app().await;
    let mut client = app.connect().await;
    let long_text = "ア".repeat(2001);
    let cases = [
        (Message::text("not json"), "invalid_json", None),
        (Message::text(r#"{"text":"no type"}"#), "invalid_json", None),
        (Message::text(r#"{"type":"dance","client_msg_id":"d1"}"#), "unknown_type", Some("d1")),
        (Message::text(r#"{"type":"chat_message","text":"   ","client_msg_id":"e1"}"#), "empty_text", Some("e1")),
        (
            Message::text(json!({"type":"chat_message","text":long_text,"client_msg_id":"l1"}).to_string()),
            "text_too_long",
            Some("l1"),
        ),
        (Message::text(r#"{"type":"chat_message","text":7}"#), "invalid_field", None),
        (Message::text(r#"{"type":"chat_message","text":"hi","username":"Chosen Name"}"#), "invalid_field", None),
        (Message::binary(vec![1u8, 2, 3]), "binary_not_supported", None),
    ];
    for (frame, code, client_msg_id) in cases {
        client.send(frame).await;
        let error = client.expect("error").await;
        assert_eq!(error["code"], code, "{error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        match client_msg_id {
            Some(id) => assert_eq!(error["client_msg_id"], id),
            None => assert!(error.get("client_msg_id").is_none(), "{error}"),
        }
    }
    client.say("still here", "ok-1").await;
    assert_eq!(client.expect("ack").await["client_msg_id"], "ok-1");
}

#[actix_web::test]
async fn a_message_of_exactly_the_limit_is_accepted() {
    let app = spawn_app().await;
    let mut client = app.connect().await;
    client.say(&"🌸".repeat(2000), "max").await;
    assert_eq!(client.expect("ack").await["client_msg_id"], "max");
}

#[actix_web::test]
async fn usernames_are_unique_among_online_users() {
    let app = spawn_app().await;
    let mut clients = Vec::new();
    for _ in 0..40 {
        clients.push(app.connect().await);
    }
    let names: HashSet<&str> = clients.iter().map(|c| c.username.as_str()).collect();
    assert_eq!(names.len(), clients.len(), "{names:?}");
}

#[actix_web::test]
async fn until_kafka_is_reached_upgrades_and_sends_are_refused_with_503() {
    let mut settings = test_settings();
    // Nothing listens on port 1, so the consumer never gets its partitions.
    settings.kafka.bootstrap_servers = "127.0.0.1:1".into();
    let app = start(settings).await;
    // A client welcomed now could miss records written before the consumer
    // is assigned: it is told to come back instead.
    let refused = app.try_connect("/ws/chat").await.expect_err("no welcome before the consumer is assigned");
    assert_eq!((refused.status, refused.retry_after.as_deref()), (503, Some("1")));
    assert_eq!(refused.body["code"], "kafka_unavailable");

    let (status, body) = app.post_json("/chat/send", &json!({"username": "Sakura", "text": "hi"})).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "kafka_unavailable");
    assert_eq!(body["success"], false);
}

#[actix_web::test]
async fn heartbeats_flow_and_silent_peers_are_dropped() {
    use futures_util::StreamExt;
    let mut settings = test_settings();
    settings.chat.heartbeat_interval = std::time::Duration::from_millis(200);
    settings.chat.client_timeout = std::time::Duration::from_millis(700);
    let app = start(settings).await;
    app.wait_ready().await;
    let mut lively = app.connect().await;
    let silent = app.connect().await;
    lively.count_becomes(2).await;

    let (mut heartbeats, mut pings) = (0, 0);
    while heartbeats == 0 || pings == 0 {
        match tokio::time::timeout(crate::helpers::PATIENCE, lively.socket.next()).await.unwrap().unwrap().unwrap() {
            Message::Text(text) if text.contains(r#""type":"heartbeat""#) => heartbeats += 1,
            Message::Ping(_) => pings += 1,
            _ => {}
        }
    }
    // `silent` never reads, so it never answers a ping: it is dropped,
    // while `lively` (whose reads answer pings) stays.
    lively.count_becomes(1).await;
    drop(silent);
    lively.say_and_confirm("still alive", "alive").await;
}

#[actix_web::test]
async fn cors_allows_local_origins_and_refuses_others() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        awc::Client::default()
            .request(actix_web::http::Method::OPTIONS, app.url("/chat/send"))
            .insert_header(("Origin", origin))
            .insert_header(("Access-Control-Request-Method", "POST"))
            .insert_header(("Access-Control-Request-Headers", "content-type"))
            .send()
    };
    let allowed = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.headers().get("access-control-allow-origin").unwrap(), "http://localhost:3000");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn another_sites_page_cannot_post_through_its_visitors_browsers() {
    let app = spawn_app().await;
    // A simple request (text/plain): the browser sends it without a preflight.
    let post = |origin: Option<&'static str>, text: &'static str| {
        let request = awc::Client::default().post(app.url("/chat/send")).content_type("text/plain");
        let request = match origin {
            Some(origin) => request.insert_header(("Origin", origin)),
            None => request,
        };
        request.send_body(json!({"username": "Visitor", "text": text, "room": "csrf"}).to_string())
    };
    let mut refused = post(Some("https://evil.example"), "spam").await.expect("answered");
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.expect("a JSON error");
    assert_eq!(body["code"], "origin_not_allowed");
    assert_eq!(post(Some("http://localhost:3000"), "from an allowed page").await.expect("answered").status(), 200);
    assert_eq!(post(None, "from a program").await.expect("answered").status(), 200, "not a browser's");

    let (_, page) = app.get_json("/api/rooms/csrf/messages").await;
    let texts: Vec<&str> =
        page["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["from an allowed page", "from a program"], "the cross-site post never stored");
}

/// `cargo run` with nothing else installed: the embedded mock cluster.
#[actix_web::test]
async fn the_embedded_kafka_serves_a_whole_conversation() {
    let mut settings = test_settings();
    settings.kafka.bootstrap_servers = String::new();
    let app = start(settings).await;
    app.wait_ready().await;
    let mut alice = app.connect_room("embedded").await;
    alice.history().await;
    assert_eq!(alice.epoch.len(), 22, "an epoch of the topic id's form");
    let (ack, _) = alice.say_and_confirm("all in memory", "m1").await;
    let mut bob = app.connect_to(&format!("/ws/chat?room=embedded&since=-1&epoch={}", alice.epoch)).await;
    let (history, end) = bob.history().await;
    assert_eq!((history.len(), &history[0]["message_id"], &end["recovered"]), (1, &ack["message_id"], &json!(true)));
}

#[actix_web::test]
async fn what_a_client_sends_the_moment_its_socket_opens_is_posted_after_its_welcome() {
    let app = spawn_app().await;
    let url = format!("ws://{}/ws/chat?room=early", app.addr);
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("upgrade");
    let mut client = Client::raw(socket);
    client.say("first words", "c-early").await;
    client.say("second words", "c-early-2").await;

    assert_eq!(client.next().await["type"], "welcome", "the welcome comes first");
    let (mut acked, mut posted) = (Vec::new(), Vec::new());
    while acked.len() < 2 || posted.len() < 2 {
        let frame = client.next_of(&["ack", "error", "chat_message"]).await;
        match frame["type"].as_str() {
            Some("chat_message") => posted.push(frame["text"].clone()),
            _ => acked.push(frame["client_msg_id"].clone()),
        }
    }
    assert_eq!(acked, [json!("c-early"), json!("c-early-2")], "both acked");
    assert_eq!(posted, [json!("first words"), json!("second words")], "posted, in the order sent");
}
