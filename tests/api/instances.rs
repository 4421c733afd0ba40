//! Several server processes on one Kafka topic, and restarts.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use crate::helpers::{eventually, free_port, metric, unique_topic, Client, ServerProcess};

/// Has every client send `per_client` messages, interleaved, then checks
/// that every client saw all of them in one order.
async fn chat_in_one_order(clients: &mut [Client], per_client: usize) -> Vec<Value> {
    for round in 0..per_client {
        for (i, client) in clients.iter_mut().enumerate() {
            client.say(&format!("client {i} says {round}"), &format!("{i}-{round}")).await;
        }
    }
    let total = clients.len() * per_client;
    let mut seen = Vec::new();
    for client in clients.iter_mut() {
        seen.push(client.chat_messages(total).await);
    }
    // Counts may differ by instance for a moment; the messages may not.
    let order = |messages: &[Value]| -> Vec<(Value, Value)> {
        messages.iter().map(|m| (m["message_id"].clone(), m["offset"].clone())).collect()
    };
    for other in &seen[1..] {
        assert_eq!(order(other), order(&seen[0]), "every client sees the same messages in the same order");
    }
    let authors: std::collections::HashSet<&str> = seen[0].iter().filter_map(|m| m["username"].as_str()).collect();
    assert_eq!(authors.len(), clients.len(), "messages from every client arrive");
    seen.swap_remove(0)
}

#[actix_web::test]
async fn clients_on_two_instances_see_one_order() {
    let topic = unique_topic();
    let first = ServerProcess::start(&topic, free_port()).await;
    let second = ServerProcess::start(&topic, free_port()).await;
    let mut clients = vec![
        first.connect("/ws/chat").await,
        second.connect("/ws/chat").await,
        first.connect("/ws/chat").await,
        second.connect("/ws/chat").await,
    ];
    let messages = chat_in_one_order(&mut clients, 5).await;
    let offsets: Vec<i64> = messages.iter().filter_map(|m| m["offset"].as_i64()).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
}

/// An instance broadcasts its own message when Kafka acknowledges it, if
/// nothing earlier in the partition is still unread; the other reads it
/// back. Each instance hands every record over once, whoever brings it.
#[actix_web::test]
async fn own_messages_go_out_on_their_acknowledgement_and_every_record_goes_out_once() {
    let topic = unique_topic();
    let (here, there) =
        (ServerProcess::start(&topic, free_port()).await, ServerProcess::start(&topic, free_port()).await);
    let (mut writer, mut reader) = (here.connect("/ws/chat").await, there.connect("/ws/chat").await);
    writer.history().await;
    reader.history().await;
    const SENT: usize = 20;
    for i in 0..SENT {
        let frame = serde_json::json!({"type": "chat_message", "text": format!("own {i}"), "client_msg_id": format!("own-{i}")});
        assert_eq!(writer.request(frame).await["type"], "ack");
    }
    let read = reader.chat_messages(SENT).await;
    let offsets: Vec<i64> = read.iter().filter_map(|m| m["offset"].as_i64()).collect();
    assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "one after the other: {offsets:?}");
    reader.say_and_confirm("and back", "back").await;
    // A record handed over twice would show up among these, before the later one.
    let texts: Vec<Value> = writer.chat_messages(SENT + 1).await.into_iter().map(|m| m["text"].clone()).collect();
    let expected: Vec<Value> = (0..SENT).map(|i| format!("own {i}").into()).chain(["and back".into()]).collect();
    assert_eq!(texts, expected, "each message once, in order");

    let handed = |addr, by| async move { metric(addr, "chat_records_handed_over_total", by).await };
    let (acknowledged, read_back) = (handed(here.addr, "producer").await, handed(here.addr, "consumer").await);
    assert_eq!(acknowledged + read_back, (SENT + 1) as f64, "every record once on the writer's instance");
    assert!(acknowledged >= 1.0, "own messages went out on their acknowledgement: {acknowledged} of {SENT}");
    assert_eq!(handed(there.addr, "consumer").await + handed(there.addr, "producer").await, (SENT + 1) as f64);
    assert!(handed(there.addr, "producer").await <= 1.0, "only its own message can be acknowledged there");
}

#[actix_web::test]
async fn instances_sharing_one_port_split_its_connections() {
    let (topic, port) = (unique_topic(), free_port());
    let config = "[server]\nreuse_port = true\n";
    let mut one = ServerProcess::start_with(&topic, port, config).await;
    let two = ServerProcess::start_with(&topic, port, config).await;
    let mut clients = Vec::new();
    while clients.len() < 20 {
        // Either instance answers; one still starting says 503 for a moment.
        let Ok(mut client) = two.try_connect("/ws/chat?room=shared").await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        client.history().await;
        clients.push(client);
    }
    one.signal_and_wait("KILL");
    // Only the second instance listens now: a message sent through it
    // reaches the clients it holds; the first one's clients were closed.
    let mut last = two.connect("/ws/chat?room=shared").await;
    last.history().await;
    last.say_and_confirm("who is still here?", "q").await;
    let mut reached = 0;
    for client in &mut clients {
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_secs(5), client.socket.next()).await {
            if frame.to_text().is_ok_and(|text| text.contains("who is still here?")) {
                reached += 1;
                break;
            }
        }
    }
    assert!(0 < reached && reached < clients.len(), "{reached} of {} were on the second instance", clients.len());
}

#[actix_web::test]
async fn clients_behind_nginx_see_one_order() {
    let topic = unique_topic();
    let first = ServerProcess::start(&topic, free_port()).await;
    let second = ServerProcess::start(&topic, free_port()).await;
    let nginx = crate::helpers::Nginx::start(&[first.addr, second.addr]);
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(Client::connect(&format!("ws://{}/ws/chat", nginx.addr)).await);
    }
    chat_in_one_order(&mut clients, 3).await;
    // nginx logs a WebSocket when it closes.
    drop(clients);
    let both = [first.addr, second.addr];
    eventually("nginx's log shows both instances served", || async {
        both.iter().all(|a| nginx.upstreams_used().contains(a))
    })
    .await;
}

#[actix_web::test]
async fn a_restarted_server_continues_the_offsets_without_redelivering() {
    let (topic, port) = (unique_topic(), free_port());
    let mut server = ServerProcess::start(&topic, port).await;
    let mut client = server.connect("/ws/chat").await;
    for i in 0..3 {
        client.say(&format!("before restart {i}"), &format!("b{i}")).await;
    }
    let before = client.chat_messages(3).await;
    let last_offset = before[2]["offset"].as_i64().unwrap();

    let status = server.signal_and_wait("TERM");
    assert!(status.success(), "SIGTERM stops the server cleanly: {status}");
    assert_eq!(client.closed_with().await, 1001, "sessions are told the server is going away");

    let server = ServerProcess::start(&topic, port).await;
    let mut client = server.connect("/ws/chat").await;
    let history = client.chat_messages(3).await;
    assert_eq!(history, before, "the old messages come back as history, from Kafka");
    assert_eq!(client.expect("history_end").await["recovered"], true);
    let (_, first_live) = client.say_and_confirm("after restart", "a0").await;
    assert_eq!(first_live["offset"].as_i64().unwrap(), last_offset + 1, "offsets continue");

    let mut resumed = server.connect(&format!("/ws/chat?since={last_offset}")).await;
    assert_eq!(resumed.chat_messages(1).await[0]["text"], "after restart", "a resume skips what it saw");
}
