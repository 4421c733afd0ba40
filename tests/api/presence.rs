//! Presence, counts and typing across instances, shared through Kafka.

use serde_json::{json, Value};

use crate::helpers::{eventually, free_port, get_json, produce, spawn_app, unique_topic, Client, ServerProcess};

/// Fast presence so that a crashed instance is forgotten within seconds.
const FAST_PRESENCE: &str = "[chat]\npresence_interval = \"500ms\"\npresence_ttl = \"2s\"\n";

async fn two_instances() -> (ServerProcess, ServerProcess) {
    let topic = unique_topic();
    let first = ServerProcess::start_with(&topic, free_port(), FAST_PRESENCE).await;
    let second = ServerProcess::start_with(&topic, free_port(), FAST_PRESENCE).await;
    (first, second)
}

/// Reads frames until a `presence` frame lists exactly `users`.
async fn presence_becomes(client: &mut Client, users: &[String]) -> Value {
    let mut expected: Vec<&str> = users.iter().map(String::as_str).collect();
    expected.sort_unstable();
    loop {
        let frame = client.expect("presence").await;
        let listed: Vec<&str> = frame["users"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        if listed == expected {
            return frame;
        }
    }
}

#[actix_web::test]
async fn presence_and_counts_span_instances_and_survive_a_crash() {
    let (first, mut second) = two_instances().await;
    let mut here = first.connect("/ws/chat?room=party").await;
    let mut there = second.connect("/ws/chat?room=party").await;
    let mut bystander = second.connect("/ws/chat?room=party").await;

    let everyone = [here.username.clone(), there.username.clone(), bystander.username.clone()];
    let frame = presence_becomes(&mut here, &everyone).await;
    assert_eq!(frame["room"], "party");
    let (first_addr, second_addr) = (first.addr, second.addr);
    for addr in [first_addr, second_addr] {
        eventually("both instances count 3 in the room", || async move {
            get_json(addr, "/api/rooms").await.1 == serde_json::json!([{"room": "party", "active_connections": 3}])
        })
        .await;
    }

    // Typing reaches the other instance, and never the typist.
    there.send_json(serde_json::json!({"type": "typing"})).await;
    let typing = here.expect("typing").await;
    assert_eq!((typing["room"].as_str(), typing["username"].as_str()), (Some("party"), Some(there.username.as_str())));
    assert_eq!(bystander.expect("typing").await["username"], there.username.as_str(), "same instance too");

    // The second instance dies without a word: its users leave within the TTL.
    second.signal_and_wait("KILL");
    let alone = [here.username.clone()];
    presence_becomes(&mut here, &alone).await;
    eventually("the count drops to 1", || async move {
        get_json(first_addr, "/api/rooms").await.1 == serde_json::json!([{"room": "party", "active_connections": 1}])
    })
    .await;
    let (_, message) = here.say_and_confirm("anyone left?", "q").await;
    assert_eq!(message["active_connections"], 1);
}

#[actix_web::test]
async fn a_graceful_stop_leaves_presence_at_once() {
    let topic = unique_topic();
    // A long TTL: only the goodbye record can make the user leave in time.
    let slow = "[chat]\npresence_interval = \"500ms\"\npresence_ttl = \"10m\"\n";
    let first = ServerProcess::start_with(&topic, free_port(), slow).await;
    let mut second = ServerProcess::start_with(&topic, free_port(), slow).await;
    let mut here = first.connect("/ws/chat?room=goodbye").await;
    let there = second.connect("/ws/chat?room=goodbye").await;
    let both = [here.username.clone(), there.username.clone()];
    presence_becomes(&mut here, &both).await;

    assert!(second.signal_and_wait("TERM").success());
    let alone = [here.username.clone()];
    presence_becomes(&mut here, &alone).await;
}

#[actix_web::test]
async fn typing_is_refused_with_extra_fields_and_throttled_otherwise() {
    let (first, _second) = two_instances().await;
    let mut typist = first.connect("/ws/chat?room=quiet").await;
    let mut watcher = first.connect("/ws/chat?room=quiet").await;
    typist.send_json(serde_json::json!({"type": "typing", "text": "x"})).await;
    assert_eq!(typist.expect("error").await["code"], "invalid_field");

    for _ in 0..5 {
        typist.send_json(serde_json::json!({"type": "typing"})).await;
    }
    // Rooms hear of typing at most every 250 ms: let that tick pass first.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    typist.say_and_confirm("done typing", "d").await;
    let mut typing_frames = 0;
    loop {
        let frame = watcher.next().await;
        match frame["type"].as_str() {
            Some("typing") => typing_frames += 1,
            Some("chat_message") if frame["text"] == "done typing" => break,
            _ => {}
        }
    }
    assert_eq!(typing_frames, 1, "five notices within the interval make one");
}

#[actix_web::test]
async fn presence_records_from_the_far_past_are_stale_and_those_after_them_count() {
    let app = spawn_app().await;
    let mut here = app.connect_room("haunted").await;
    here.history().await;
    let now = chrono::Utc::now().timestamp_millis();
    // Another service's records, the first two stamped as far back as an i64 goes.
    let records = [
        json!({"type": "typing", "instance": "ghost", "room": "haunted", "username": "Ghost", "timestamp_ms": i64::MIN}),
        json!({"type": "snapshot", "instance": "ghost", "rooms": {"haunted": ["Ghost"]}, "timestamp_ms": i64::MIN}),
        json!({"type": "snapshot", "instance": "elsewhere", "rooms": {"haunted": ["Real"]}, "timestamp_ms": now}),
        json!({"type": "typing", "instance": "elsewhere", "room": "haunted", "username": "Real", "timestamp_ms": now}),
    ];
    let topic = format!("{}-presence", app.topic);
    tokio::task::spawn_blocking(move || produce(&topic, "elsewhere", &records)).await.unwrap();

    let (mut listed, mut typing) = (false, false);
    while !(listed && typing) {
        let frame = here.next_of(&["presence", "typing"]).await;
        assert!(!frame.to_string().contains("Ghost"), "a stale record counted: {frame}");
        typing |= frame["type"] == "typing";
        listed |= frame["type"] == "presence" && frame["users"].as_array().is_some_and(|u| u.contains(&json!("Real")));
    }
}

#[actix_web::test]
async fn a_name_open_in_two_tabs_counts_twice_and_stays_present_until_both_close() {
    let (first, second) = two_instances().await;
    let tab = first.connect("/ws/chat?room=tabs").await;
    let other_tab = first.connect(&format!("/ws/chat?room=tabs&token={}", tab.token)).await;
    assert_eq!(other_tab.username, tab.username, "one identity, two sessions");
    let mut observer = second.connect("/ws/chat?room=tabs").await;
    observer.count_becomes(3).await;

    let name = tab.username.clone();
    tab.leave().await;
    observer.count_becomes(2).await;
    let newcomer = second.connect("/ws/chat?room=tabs").await;
    let everyone = [name, observer.username.clone(), newcomer.username.clone()];
    presence_becomes(&mut observer, &everyone).await;
}
