//! The HTTP side: status, health, readiness, the send endpoint and the
//! WebSocket upgrade's refusals.

use serde_json::json;

use crate::helpers::{spawn_app, start, test_settings};

#[actix_web::test]
async fn root_serves_the_page_to_browsers_and_json_to_everyone_else() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/").await;
    assert_eq!(status, 200);
    assert_eq!(body["service"], "anime-chat");
    assert_eq!(body["status"], "running");
    assert!(body["version"].is_string());

    let mut page = awc::Client::default()
        .get(app.url("/"))
        .insert_header(("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));
    assert!(page.headers().get("content-security-policy").unwrap().to_str().unwrap().contains("script-src 'self'"));
    let html = String::from_utf8(page.body().await.unwrap().to_vec()).unwrap();
    assert!(html.contains("/assets/app.js"), "the page loads its script");

    let script = awc::Client::default().get(app.url("/assets/app.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers().get("content-type").unwrap().to_str().unwrap().contains("javascript"));
}

#[actix_web::test]
async fn health_and_readiness_report_kafka() {
    let app = spawn_app().await;
    let (status, health) = app.get_json("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["kafka_connected"], true);
    assert!(chrono::DateTime::parse_from_rfc3339(health["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(app.get_json("/ready").await.0, 200);

    let mut settings = test_settings();
    settings.kafka.bootstrap_servers = "127.0.0.1:1".into();
    let orphan = start(settings).await;
    let (status, health) = orphan.get_json("/health").await;
    assert_eq!(status, 200, "liveness holds without Kafka");
    assert_eq!(health["kafka_connected"], false);
    assert_eq!(health["status"], "unhealthy");
    let (status, ready) = orphan.get_json("/ready").await;
    assert_eq!(status, 503);
    assert!(ready["reason"].is_string());
}

#[actix_web::test]
async fn http_send_reaches_websocket_clients() {
    let app = spawn_app().await;
    let mut lobby = app.connect().await;
    let mut side_room = app.connect_room("side-room").await;

    let (status, sent) = app.post_json("/chat/send", &json!({"username": "Old Client", "text": "from HTTP"})).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["success"], true);
    let message = lobby.expect("chat_message").await;
    assert_eq!(message["username"], "Old Client");
    assert_eq!(message["text"], "from HTTP");
    assert_eq!(message["message_id"], sent["message_id"]);
    assert_eq!(message["offset"], sent["offset"]);
    assert_eq!(message["timestamp"], sent["timestamp"]);

    let (status, _) =
        app.post_json("/chat/send", &json!({"username": "Old Client", "text": "side", "room": "side-room"})).await;
    assert_eq!(status, 200);
    assert_eq!(side_room.expect("chat_message").await["text"], "side");
}

#[actix_web::test]
async fn http_send_refuses_bad_input_with_json() {
    let app = spawn_app().await;
    let cases = [
        (json!({"username": "", "text": "hi"}), "invalid_username"),
        (json!({"username": "x".repeat(41), "text": "hi"}), "invalid_username"),
        (json!({"username": "Sakura", "text": "  "}), "empty_text"),
        (json!({"username": "Sakura", "text": "a".repeat(2001)}), "text_too_long"),
        (json!({"username": "Sakura", "text": "hi", "room": "Bad Room"}), "invalid_room"),
        (json!({"text": "no name"}), "invalid_json"),
    ];
    for (body, code) in cases {
        let (status, answer) = app.post_json("/chat/send", &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["success"], false);
        assert_eq!(answer["code"], code, "{answer}");
        assert!(answer["error"].is_string());
    }
}

#[actix_web::test]
async fn websocket_upgrades_refuse_bad_rooms_and_foreign_origins() {
    let app = spawn_app().await;
    let upgrade = |path: &str, origin: &str| {
        let url = format!("ws://{}{path}", app.addr);
        let origin = origin.to_owned();
        async move {
            match awc::Client::default().ws(url).origin(origin).connect().await {
                Ok((response, _)) => response.status().as_u16(),
                Err(awc::error::WsClientError::InvalidResponseStatus(status)) => status.as_u16(),
                Err(e) => panic!("upgrade failed: {e}"),
            }
        }
    };
    assert_eq!(upgrade("/ws/chat?room=No%20Spaces", "http://localhost:3000").await, 400);
    assert_eq!(upgrade("/ws/chat?room=", "http://localhost:3000").await, 400);
    assert_eq!(upgrade("/ws/chat", "https://evil.example").await, 403);
    assert_eq!(upgrade("/ws/chat", "http://127.0.0.1:5173").await, 101);
    assert_eq!(upgrade("/ws/chat", &format!("http://{}", app.addr)).await, 101);
}

#[actix_web::test]
async fn refused_upgrades_explain_themselves_in_json() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/ws/chat?room=UPPER").await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_room");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("a-z")));
}

#[actix_web::test]
async fn every_path_method_and_plain_get_of_a_websocket_is_answered_in_json() {
    let app = spawn_app().await;
    let answer = |method: &'static str, path: &'static str| {
        let request = awc::Client::default().request(method.parse().expect("a method"), app.url(path));
        async move {
            let mut response = request.send().await.expect("answered");
            let body: serde_json::Value = response.json().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            (response.status().as_u16(), body["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    assert_eq!(answer("GET", "/no/such/page").await, (404, "not_found".into()));
    assert_eq!(answer("POST", "/admin").await, (404, "not_found".into()), "a method not served");
    assert_eq!(answer("PUT", "/chat/send").await, (404, "not_found".into()));
    let bad_offset = answer("DELETE", "/api/admin/rooms/lobby/messages/abc").await;
    assert_eq!(bad_offset, (400, "invalid_field".into()), "an offset that is not a number");

    // A tab or a probe, not a socket (raw: awc reads no body after an `Upgrade` header).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.expect("connects");
    tcp.write_all(b"GET /ws/chat HTTP/1.1\r\nHost: chat\r\nConnection: close\r\n\r\n").await.expect("sent");
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.expect("answered");
    assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("upgrade: websocket"), "{answer}");
    assert!(answer.contains(r#""code":"upgrade_required""#), "{answer}");
}
