//! Delivery: every reader that keeps reading gets every message, however
//! large the burst; one that stops reading is dropped, and its queue freed.

use std::collections::HashSet;

use serde_json::json;

use crate::helpers::{
    eventually, free_port, metric, start, test_settings, unique_topic, wait_ready, Client, ServerProcess, NO_RATE_LIMIT,
};

/// 100 people in one room each send a burst of 18 (within the per-connection
/// rate): 1,800 messages in well under a second, to 101 readers.
#[actix_web::test]
async fn a_burst_from_a_whole_room_reaches_every_reader_and_evicts_no_one() {
    let app = start(test_settings()).await;
    app.wait_ready().await;
    let (senders, burst) = (100, 18);
    let mut clients = Vec::new();
    for person in 0..=senders {
        // 101 people, each from an address of their own (each address has its own budget).
        let source = [127, 0, 9, 1 + u8::try_from(person).expect("fewer than 255")];
        let mut client = app.connect_from(source, "/ws/chat?room=burst").await.expect("welcomed");
        client.history().await;
        clients.push(client);
    }
    let listener = clients.pop().expect("one reader that only reads");
    let expected = senders * burst;
    let mut readers = vec![actix_web::rt::spawn(read_burst(listener, None, expected))];
    for (i, client) in clients.into_iter().enumerate() {
        readers.push(actix_web::rt::spawn(read_burst(client, Some((i, burst)), expected)));
    }
    for reader in readers {
        // `Client::next` panics on a close frame: none may be closed.
        assert_eq!(reader.await.expect("every reader keeps up"), expected);
    }
}

/// Sends its part of the burst (if any) without waiting, then reads until
/// it has every message of the burst, each once, and its own acks.
async fn read_burst(mut client: Client, sends: Option<(usize, usize)>, expected: usize) -> usize {
    let (me, count) = sends.unwrap_or_default();
    for j in 0..count {
        client.say(&format!("{me} says {j}"), &format!("b{me}-{j}")).await;
    }
    let (mut seen, mut acks) = (HashSet::new(), 0);
    while seen.len() < expected || acks < count {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("chat_message") => assert!(seen.insert(frame["message_id"].to_string()), "no duplicate"),
            Some("ack") => acks += 1,
            Some("error") => panic!("refused during the burst: {frame}"),
            _ => {}
        }
    }
    seen.len()
}

/// In a process of its own, so its metrics are its own.
#[actix_web::test]
async fn a_client_that_does_not_read_is_dropped_without_stalling_the_room_and_its_queue_is_freed() {
    let config =
        "[chat]\noutbound_max_bytes = \"1 MiB\"\n[server]\nhttp_send_per_second = 100000\nhttp_send_burst = 100000\n";
    let server = ServerProcess::start_with(&unique_topic(), free_port(), config).await;
    let mut sleeper = server.connect("/ws/chat?room=slow").await;
    let mut reader = server.connect("/ws/chat?room=slow").await;
    reader.count_becomes(2).await;
    // Enough large messages to fill the sleeper's socket buffers and then
    // its queue, posted over HTTP so the reader does nothing but read.
    let total = 1500;
    let poster = actix_web::rt::spawn(post_large(format!("http://{}/chat/send", server.addr), total));
    let mut received = 0;
    let mut sleeper_left = false;
    while received < total || !sleeper_left {
        let frame = reader.next().await;
        match frame["type"].as_str() {
            Some("chat_message") => received += 1,
            Some("connection_update") if frame["active_connections"] == 1 => sleeper_left = true,
            _ => {}
        }
    }
    poster.await.expect("every post accepted");
    assert_eq!(received, total, "the reader got every message while the sleeper was dropped");
    assert_eq!(metric(server.addr, "chat_errors_total", "slow_consumer").await, 1.0);
    queue_freed(server.addr).await;
    assert_eq!(sleeper.closed_with().await, 1008, "the sleeper learns why once it reads again");
}

async fn post_large(url: String, total: usize) {
    let text = "🌸".repeat(2000);
    for _ in 0..total {
        let body = json!({"username": "Poster", "text": text, "room": "slow"});
        let response = awc::Client::default().post(&url).send_json(&body).await.expect("POST");
        assert_eq!(response.status(), 200);
    }
}

/// What was queued for the dropped session is given back.
async fn queue_freed(addr: std::net::SocketAddr) {
    eventually("the outboxes hold almost nothing again", || async move {
        metric(addr, "chat_outbox_bytes", "").await < 64.0 * 1024.0
    })
    .await;
}

/// Acknowledgements reach the handover in Kafka's order, so none waits for
/// the consumer, however far behind it is (here it pauses 2 s after every
/// fetch that brings records). The embedded cluster acknowledges within
/// microseconds, sooner than the server's own tasks run: when the handover
/// ran where the acknowledgement was awaited, one of them taken out of turn
/// left the rest of the partition to the consumer.
#[actix_web::test]
async fn a_burst_goes_out_on_its_acknowledgements_while_the_consumer_lags() {
    const SENDERS: usize = 20;
    const EACH: usize = 50;
    let lagging = "[kafka.embedded.consumer]\n\"queued.min.messages\" = \"1\"\n\"fetch.queue.backoff.ms\" = \"2000\"\n";
    let server = ServerProcess::spawn_with(&unique_topic(), "", free_port(), &format!("{NO_RATE_LIMIT}{lagging}"));
    wait_ready(server.addr).await;
    let mut reader = server.connect("/ws/chat").await;
    reader.history().await;
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let mut sender = server.connect("/ws/chat").await;
        sender.history().await;
        senders.push(sender);
    }
    let prefixes: Vec<String> = (0..SENDERS).map(|i| format!("burst {i}")).collect();
    let bursts = senders.iter_mut().zip(&prefixes).map(|(sender, prefix)| sender.say_many(EACH, prefix));
    futures_util::future::join_all(bursts).await;
    let texts: HashSet<String> = reader
        .chat_messages(SENDERS * EACH)
        .await
        .iter()
        .filter_map(|m| m["text"].as_str().map(String::from))
        .collect();
    assert_eq!(texts.len(), SENDERS * EACH, "every message once");
    let by_consumer = metric(server.addr, "chat_records_handed_over_total", "consumer").await;
    // Only a fetch already waiting can bring a record before its acknowledgement.
    assert!(by_consumer <= 2.0, "{by_consumer} of {} records waited for the lagging consumer", SENDERS * EACH);
}
