//! State stays bounded under hostile input: invented room names, many
//! connections from one address, slow request bodies, typing storms.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{free_port, metric, unique_topic, ServerProcess};

#[actix_web::test]
async fn invented_room_names_cannot_grow_the_connections_metric_without_bound() {
    let server = ServerProcess::start(&unique_topic(), free_port()).await;
    let mut clients = Vec::new();
    for room in 0..60 {
        clients.push(server.connect(&format!("/ws/chat?room=invented-{room}")).await);
    }
    let mut response = awc::Client::default().get(format!("http://{}/metrics", server.addr)).send().await.unwrap();
    let text = String::from_utf8_lossy(&response.body().await.unwrap()).into_owned();
    let series = text.lines().filter(|l| l.starts_with("chat_connections{")).count();
    assert!(series <= 51, "{series} chat_connections series");
    assert_eq!(metric(server.addr, "chat_connections", "room=\"other\"").await, 10.0, "the rest counted together");
}

#[actix_web::test]
async fn an_address_has_one_send_budget_over_all_its_connections() {
    let config = "[chat]\naddress_rate_per_second = 1\naddress_rate_burst = 4\n";
    let server = ServerProcess::start_with(&unique_topic(), free_port(), config).await;
    let source = [127, 0, 12, 1];
    let mut first = server.connect_from(source, "/ws/chat?room=budget").await.expect("welcomed");
    let mut second = server.connect_from(source, "/ws/chat?room=budget").await.expect("welcomed");
    first.history().await;
    second.history().await;
    let mut outcomes = Vec::new();
    for (i, client) in [&mut first, &mut second].into_iter().enumerate() {
        for j in 0..3 {
            client.say(&format!("{i}-{j}"), &format!("m{i}{j}")).await;
        }
        for _ in 0..3 {
            let answer = loop {
                let frame = client.next().await;
                if frame["type"] == "ack" || frame["type"] == "error" {
                    break frame;
                }
            };
            outcomes.push(answer["code"].as_str().unwrap_or("ack").to_owned());
        }
    }
    assert_eq!(outcomes.iter().filter(|o| *o == "ack").count(), 4, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| *o == "rate_limited").count(), 2, "{outcomes:?}");
}

#[actix_web::test]
async fn a_request_body_that_trickles_is_cut_off() {
    let config = "[server]\nrequest_timeout = \"1s\"\n";
    let server = ServerProcess::start_with(&unique_topic(), free_port(), config).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = "POST /chat/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(br#"{"username":"#).await.unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(crate::helpers::PATIENCE, stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "the server answers and closes instead of waiting for the rest");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("request_timeout"), "{response}");
}

#[actix_web::test]
async fn typing_notices_reach_the_room_together() {
    let server = ServerProcess::start(&unique_topic(), free_port()).await;
    let mut watcher = server.connect("/ws/chat?room=typing-storm").await;
    watcher.history().await;
    let mut typists = Vec::new();
    for _ in 0..3 {
        let mut typist = server.connect("/ws/chat?room=typing-storm").await;
        typist.history().await;
        typists.push(typist);
    }
    for typist in &mut typists {
        typist.send_json(json!({"type": "typing"})).await;
    }
    let expected: std::collections::HashSet<String> = typists.iter().map(|t| t.username.clone()).collect();
    let mut seen = std::collections::HashSet::new();
    while seen != expected {
        let frame =
            tokio::time::timeout(Duration::from_secs(5), watcher.expect("typing")).await.expect("typing frames");
        let users: Vec<String> = serde_json::from_value(frame["users"].clone()).expect("a list of users");
        assert_eq!(frame["username"].as_str(), users.first().map(String::as_str), "username is the first of users");
        seen.extend(users);
    }
}
