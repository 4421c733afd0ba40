//! An instance reads a room's partition only while the room has members
//! there: its consumer work follows its own rooms. Whatever it stopped
//! reading, a member who comes back misses nothing.

use serde_json::json;

use crate::helpers::{eventually, free_port, metric, unique_topic, ServerProcess};

const FOLLOWING: &str = "[kafka]\npartitions = 4\npartition_linger = \"300ms\"\n";

/// A room whose partition (of 4) is not `room`'s.
fn elsewhere_than(room: &str) -> String {
    let home = actors::kafka::partition_for(room, 4);
    (0..).map(|i| format!("elsewhere-{i}")).find(|r| actors::kafka::partition_for(r, 4) != home).unwrap_or_default()
}

async fn partitions_read(server: &ServerProcess) -> f64 {
    metric(server.addr, "chat_kafka_partitions_read", "").await
}

async fn post(server: &ServerProcess, room: &str, text: &str) {
    let body = json!({"username": "Courier", "text": text, "room": room});
    let mut response =
        awc::Client::default().post(format!("http://{}/chat/send", server.addr)).send_json(&body).await.expect("POST");
    assert_eq!(response.status(), 200, "{:?}", response.body().await);
}

async fn texts_of(server: &ServerProcess, path: &str) -> Vec<String> {
    let mut client = server.connect(path).await;
    let (history, end) = client.history().await;
    assert_eq!(end["recovered"], true, "{end}");
    history.iter().filter_map(|m| m["text"].as_str().map(str::to_owned)).collect()
}

#[actix_web::test]
async fn an_instance_reads_only_its_rooms_partitions_and_a_returning_member_misses_nothing() {
    let server = ServerProcess::start_with(&unique_topic(), free_port(), FOLLOWING).await;
    assert_eq!(partitions_read(&server).await, 0.0, "nobody here yet: nothing read");
    let mut first = server.connect("/ws/chat?room=alpha").await;
    first.history().await;
    assert_eq!(partitions_read(&server).await, 1.0);

    // Written while this instance reads nothing of that room: its first
    // member's history comes from Kafka.
    let other = elsewhere_than("alpha");
    post(&server, &other, "while unread").await;
    let mut second = server.connect(&format!("/ws/chat?room={other}")).await;
    let (history, _) = second.history().await;
    assert_eq!(history[0]["text"], "while unread");
    assert_eq!(partitions_read(&server).await, 2.0);
    let (_, said) = second.say_and_confirm("while read", "c1").await;

    drop(second);
    eventually("the room's partition is let go after the linger", || async { partitions_read(&server).await == 1.0 })
        .await;
    post(&server, &other, "while let go").await;
    // What the instance held of the room is not trusted after a gap.
    let path = format!("/ws/chat?room={other}");
    assert_eq!(texts_of(&server, &path).await, ["while unread", "while read", "while let go"]);
    let resume = format!("{path}&since={}&epoch={}", said["offset"], said["epoch"].as_str().unwrap_or_default());
    assert_eq!(texts_of(&server, &resume).await, ["while let go"], "a resume across the gap");
    first.say_and_confirm("the first room never stopped", "c2").await;
}

#[actix_web::test]
async fn partitions_added_to_the_running_topic_take_none_of_its_rooms_writes() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions};
    let topic = unique_topic();
    // Two partitions, and a producer that learns of new ones within a second.
    let config = "[kafka]\npartitions = 2\n[kafka.producer]\n\"topic.metadata.refresh.interval.ms\" = \"1000\"\n";
    let server = ServerProcess::start_with(&topic, free_port(), config).await;
    // A room that Kafka's partitioner moves once the topic has four.
    let moved = (0..)
        .map(|i| format!("moved-{i}"))
        .find(|r| actors::kafka::partition_for(r, 2) != actors::kafka::partition_for(r, 4));
    let room = moved.unwrap_or_default();
    let mut client = server.connect(&format!("/ws/chat?room={room}")).await;
    client.history().await;
    client.say_and_confirm("before", "b").await;

    let admin: AdminClient<_> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", crate::helpers::bootstrap_servers())
        .create()
        .expect("admin");
    let grown = admin.create_partitions(&[NewPartitions::new(&topic, 4)], &AdminOptions::new()).await.expect("grown");
    assert!(grown.iter().all(Result::is_ok), "{grown:?}");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    let (_, mine) = client.say_and_confirm("after", "a").await;
    assert_eq!(mine["text"], "after", "the sender's own message comes back: it is where the room is read");
    assert_eq!(texts_of(&server, &format!("/ws/chat?room={room}")).await, ["before", "after"]);
}
