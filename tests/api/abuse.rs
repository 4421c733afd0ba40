//! Limits and hostile input: every refusal is explicit, and everyone else
//! keeps being served.

use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{start, test_settings, TestApp};

async fn app_with(configure: impl FnOnce(&mut anime_chat::config::Settings)) -> TestApp {
    let mut settings = test_settings();
    configure(&mut settings);
    let app = start(settings).await;
    app.wait_ready().await;
    app
}

#[actix_web::test]
async fn oversized_frames_close_with_1009_and_invalid_utf8_with_1007() {
    let app = app_with(|_| {}).await;
    let mut big = app.connect().await;
    big.send(Message::text("x".repeat(64 * 1024 + 1))).await;
    assert_eq!(big.closed_with().await, 1009);

    let mut garbled = app.connect().await;
    let frame = Frame::message(vec![0xff, 0xfe, 0x22], OpCode::Data(Data::Text), true);
    garbled.send(Message::Frame(frame)).await;
    assert_eq!(garbled.closed_with().await, 1007);

    let mut fine = app.connect().await;
    fine.say_and_confirm("others are unaffected", "ok").await;
}

#[actix_web::test]
async fn a_burst_over_the_rate_is_refused_message_by_message_and_a_flood_is_closed() {
    let app = app_with(|s| {
        s.chat.rate_per_second = 1;
        s.chat.rate_burst = 5;
        s.chat.flood_close_after = 30;
    })
    .await;
    let mut client = app.connect().await;
    client.history().await;
    for i in 0..8 {
        client.say(&format!("burst {i}"), &format!("b{i}")).await;
    }
    let (mut acked, mut limited) = (Vec::new(), Vec::new());
    while acked.len() + limited.len() < 8 {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("ack") => acked.push(frame["client_msg_id"].as_str().unwrap().to_owned()),
            Some("error") if frame["code"] == "rate_limited" => {
                limited.push(frame["client_msg_id"].as_str().unwrap().to_owned())
            }
            _ => {}
        }
    }
    assert_eq!(acked.len(), 5, "the burst allowance goes through");
    assert_eq!(limited, ["b5", "b6", "b7"], "the rest are refused by name");

    for i in 0..40 {
        client.say(&format!("flood {i}"), &format!("f{i}")).await;
    }
    assert_eq!(client.closed_with().await, 1008, "a sustained flood is closed");
}

/// The upgrade's status for a connection from `source`, and the client
/// when it got in (kept open by the caller).
async fn connect_from(app: &TestApp, source: [u8; 4]) -> (u16, Option<crate::helpers::Client>) {
    match app.connect_from(source, "/ws/chat").await {
        Ok(client) => (101, Some(client)),
        Err(refused) => (refused.status, None),
    }
}

#[actix_web::test]
async fn connections_over_the_limits_are_refused_with_503() {
    let app = app_with(|s| {
        s.server.max_connections = 3;
        s.server.max_connections_per_ip = 2;
    })
    .await;
    let mut open = Vec::new();
    for source in [[127, 0, 0, 1], [127, 0, 0, 1], [127, 0, 0, 2]] {
        let (status, socket) = connect_from(&app, source).await;
        assert_eq!(status, 101);
        open.push(socket);
    }
    assert_eq!(connect_from(&app, [127, 0, 0, 1]).await.0, 503, "over the limit per address");
    assert_eq!(connect_from(&app, [127, 0, 0, 3]).await.0, 503, "over the limit in total");

    open.pop();
    crate::helpers::eventually("a closed connection frees its place", || async {
        connect_from(&app, [127, 0, 0, 3]).await.0 == 101
    })
    .await;
}

#[actix_web::test]
async fn http_sends_are_limited_per_address() {
    let app = app_with(|s| {
        s.server.http_send_per_second = 1;
        s.server.http_send_burst = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let (status, body) =
            app.post_json("/chat/send", &json!({"username": "Sakura", "text": format!("hi {i}")})).await;
        if status == 429 {
            assert_eq!(body["code"], "rate_limited");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
}
