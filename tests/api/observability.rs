//! Metrics, stats and the admin API.

use serde_json::Value;

use crate::helpers::{eventually, spawn_app, start, test_settings, TestApp};

/// The value of the series of `metric` whose labels include `labels`, summed.
fn value(stats: &Value, metric: &str, labels: &[(&str, &str)]) -> f64 {
    stats[metric]
        .as_array()
        .map(|series| {
            series
                .iter()
                .filter(|s| labels.iter().all(|(k, v)| s["labels"][*k] == *v))
                .filter_map(|s| s["value"].as_f64())
                .sum()
        })
        .unwrap_or(0.0)
}

async fn stats(app: &TestApp) -> Value {
    let (status, stats) = app.get_json("/api/stats").await;
    assert_eq!(status, 200);
    stats
}

#[actix_web::test]
async fn metrics_move_when_messages_flow() {
    let app = spawn_app().await;
    let before = stats(&app).await;
    let mut alice = app.connect_room("metrics-room").await;
    let mut bob = app.connect_room("metrics-room").await;
    bob.history().await;
    for i in 0..3 {
        alice.say_and_confirm(&format!("m{i}"), &format!("m{i}")).await;
    }
    bob.chat_messages(3).await;
    alice.say("   ", "blank").await;
    alice.expect("error").await;

    let after = stats(&app).await;
    let moved = |metric: &str, labels: &[(&str, &str)]| value(&after, metric, labels) - value(&before, metric, labels);
    assert_eq!(value(&after, "chat_connections", &[("room", "metrics-room")]), 2.0);
    assert!(moved("chat_messages_received_total", &[]) >= 3.0);
    assert!(moved("chat_messages_delivered_total", &[]) >= 6.0, "3 messages to 2 sessions");
    assert!(moved("chat_errors_total", &[("code", "empty_text")]) >= 1.0);
    assert!(moved("chat_kafka_produce_seconds_count", &[]) >= 3.0);
    assert!(moved("chat_end_to_end_seconds_count", &[]) >= 3.0);
    let topic = app.topic.clone();
    eventually("consumer lag is reported per partition", || {
        let app = &app;
        let topic = topic.clone();
        async move {
            stats(app).await["chat_kafka_consumer_lag"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["labels"]["topic"] == topic.as_str()))
        }
    })
    .await;

    let mut response = awc::Client::default().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    for metric in [
        "chat_connections{room=\"metrics-room\"} 2",
        "# TYPE chat_kafka_produce_seconds histogram",
        "chat_end_to_end_seconds_bucket",
    ] {
        assert!(text.contains(metric), "{metric} in /metrics");
    }
}

#[actix_web::test]
async fn admin_is_off_without_a_token_and_guarded_with_one() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/admin").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    assert_eq!(app.get_json("/api/admin/overview").await.0, 404);

    let mut settings = test_settings();
    settings.server.admin_token = "s3cret-token".into();
    let admin = start(settings).await;
    admin.wait_ready().await;
    let mut client = admin.connect_room("inspected").await;
    client.say_and_confirm("look closely", "l").await;

    let call = |path: &str, token: Option<&str>| {
        let mut request = awc::Client::default().get(admin.url(path));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        async move {
            let mut response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().limit(1 << 20).await.unwrap())
        }
    };
    assert_eq!(call("/api/admin/overview", None).await.0, 401);
    let (status, body) = call("/api/admin/overview", Some("wrong")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));

    let (status, body) = call("/api/admin/overview", Some("s3cret-token")).await;
    assert_eq!(status, 200);
    let overview = &body["overview"];
    assert_eq!(overview["topic"], admin.topic.as_str());
    assert_eq!(overview["rooms"], serde_json::json!([{"room": "inspected", "active_connections": 1}]));
    let ends: i64 = overview["partitions"].as_array().unwrap().iter().filter_map(|p| p["high"].as_i64()).sum();
    assert_eq!(ends, 1, "one record in the topic");
    assert!(body["metrics"]["chat_messages_received_total"].is_array());

    let (status, records) = call("/api/admin/rooms/inspected/records?limit=5", Some("s3cret-token")).await;
    assert_eq!(status, 200);
    let record = &records[0];
    assert_eq!(record["key"], "inspected");
    assert!(record["headers"].as_array().unwrap().contains(&serde_json::json!(["schema", "chat_message/v1"])));
    let value: Value = serde_json::from_str(record["value"].as_str().unwrap()).unwrap();
    assert_eq!(value["text"], "look closely");

    let mut page = awc::Client::default().get(admin.url("/admin")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(String::from_utf8_lossy(&page.body().await.unwrap()).contains("/assets/admin.js"));
}
