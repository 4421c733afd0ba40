//! Nothing acknowledged is lost: a broker restart under steady traffic.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::helpers::{eventually, free_port, get_json, unique_topic, ServerProcess, TestBroker, PATIENCE};

/// Every chat record's message_id in `topic`, with how often it occurs.
fn message_ids(bootstrap: &str, topic: &str) -> HashMap<String, usize> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("audit-{topic}"))
        .create()
        .expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), PATIENCE).expect("metadata");
    let mut list = TopicPartitionList::new();
    let mut remaining = 0;
    for partition in metadata.topics()[0].partitions() {
        let (low, high) = consumer.fetch_watermarks(topic, partition.id(), PATIENCE).expect("watermarks");
        remaining += high - low;
        list.add_partition_offset(topic, partition.id(), Offset::Beginning).unwrap();
    }
    consumer.assign(&list).expect("assign");
    let mut ids = HashMap::new();
    let deadline = std::time::Instant::now() + PATIENCE;
    while remaining > 0 && std::time::Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            remaining -= 1;
            let value: serde_json::Value = serde_json::from_slice(message.payload().unwrap_or_default()).unwrap();
            *ids.entry(value["message_id"].as_str().unwrap().to_owned()).or_insert(0) += 1;
        }
    }
    assert_eq!(remaining, 0, "read the whole topic");
    ids
}

#[actix_web::test]
async fn every_acked_message_survives_a_broker_restart_exactly_once() {
    let broker = TestBroker::new();
    broker.start();
    let topic = unique_topic();
    let server = ServerProcess::spawn(&topic, &broker.bootstrap(), free_port());
    crate::helpers::wait_ready(server.addr).await;
    let mut client = server.connect("/ws/chat?room=steady").await;
    client.history().await;

    let (mut acked, mut refused) = (HashSet::new(), 0);
    let mut stopped = false;
    for i in 0..120 {
        if i == 40 {
            broker.stop();
            stopped = true;
        }
        if i == 45 && stopped {
            // Back well within message.timeout.ms: the sends in between are acked late.
            broker.start();
        }
        client.say(&format!("steady {i}"), &format!("s{i}")).await;
        // Steady traffic, below the rate limit.
        tokio::time::sleep(Duration::from_millis(220)).await;
        while let Ok(frame) = tokio::time::timeout(Duration::from_millis(1), client.next()).await {
            match frame["type"].as_str() {
                Some("ack") => {
                    acked.insert(frame["message_id"].as_str().unwrap().to_owned());
                }
                Some("error") => refused += 1,
                _ => {}
            }
        }
    }
    // Every send gets an answer: an ack or an error.
    let addr = server.addr;
    eventually("Kafka is back", || async move { get_json(addr, "/ready").await.0 == 200 }).await;
    while acked.len() + refused < 120 {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("ack") => {
                acked.insert(frame["message_id"].as_str().unwrap().to_owned());
            }
            Some("error") => refused += 1,
            _ => {}
        }
    }
    let stored = tokio::task::spawn_blocking({
        let (bootstrap, topic) = (broker.bootstrap(), topic.clone());
        move || message_ids(&bootstrap, &topic)
    })
    .await
    .unwrap();
    for id in &acked {
        assert_eq!(stored.get(id), Some(&1), "acked message {id} is in the topic exactly once");
    }
    assert!(stored.values().all(|count| *count == 1), "no duplicates at all");
    assert!(acked.len() >= 100, "most sends were acked ({} acked, {refused} refused)", acked.len());
}
