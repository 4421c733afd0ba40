//! Kafka going away and coming back, on a broker of the test's own.

use crate::helpers::{eventually, free_port, get_json, unique_topic, ServerProcess, TestBroker};

async fn kafka_connected(addr: std::net::SocketAddr) -> bool {
    get_json(addr, "/health").await.1["kafka_connected"] == true
}

async fn ready(addr: std::net::SocketAddr) -> bool {
    get_json(addr, "/ready").await.0 == 200
}

#[actix_web::test]
async fn the_server_rides_out_a_missing_and_a_restarted_broker() {
    let broker = TestBroker::new();
    let server = ServerProcess::spawn(&unique_topic(), &broker.bootstrap(), free_port());
    let addr = server.addr;

    // Starts anyway, and says so honestly.
    eventually("server answers /health", || async move {
        awc::Client::default().get(format!("http://{addr}/health")).send().await.is_ok()
    })
    .await;
    let (status, health) = get_json(addr, "/health").await;
    assert_eq!((status, health["kafka_connected"].clone()), (200, false.into()));
    assert_eq!(get_json(addr, "/ready").await.0, 503);
    let refused = server.try_connect("/ws/chat").await.expect_err("upgrades wait for Kafka");
    assert_eq!((refused.status, refused.body["code"].as_str()), (503, Some("kafka_unavailable")));

    // The broker arrives: recovery without a restart.
    broker.start();
    eventually("/health reports Kafka back", || kafka_connected(addr)).await;
    eventually("/ready turns 200", || ready(addr)).await;
    let mut client = server.connect("/ws/chat").await;
    client.say_and_confirm("hello kafka", "h1").await;

    // The broker goes away mid-session: /health follows, the client stays.
    broker.stop();
    eventually("/health reports Kafka gone", || async move { !kafka_connected(addr).await }).await;
    assert_eq!(get_json(addr, "/ready").await.0, 503, "not ready while the broker is away");
    client.say("while it is down", "d1").await;
    let error = client.expect("error").await;
    assert_eq!(error["code"], "kafka_unavailable", "refused after message.timeout.ms");

    broker.start();
    eventually("/health reports Kafka back again", || kafka_connected(addr)).await;
    eventually("/ready turns 200 again", || ready(addr)).await;
    let (_, delivered) = client.say_and_confirm("after the outage", "o1").await;
    assert_eq!(delivered["offset"], 1, "the refused message was never stored");
    assert_eq!(delivered["epoch"], client.epoch.as_str(), "the same log");
}
