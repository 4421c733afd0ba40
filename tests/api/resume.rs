//! Joins and resumes under load: the replay and the live stream meet
//! without a gap or a duplicate, however many come at once, and an offset
//! is never replayed against the wrong log.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::helpers::{
    bootstrap_servers, free_port, metric, spawn_app, start, test_settings, unique_topic, unlimited_settings, Client,
    ServerProcess, NO_RATE_LIMIT, PATIENCE,
};

/// Rate limits out of the way, and room for hundreds of clients on one address.
const CROWD: &str = "[chat]\nrate_per_second = 100000\nrate_burst = 100000\n\
    [server]\nmax_connections_per_ip = 2000\nhttp_send_per_second = 100000\nhttp_send_burst = 100000\n";

fn offset(frame: &Value) -> i64 {
    frame["offset"].as_i64().expect("an offset")
}

/// Posts `count` messages to `room` over HTTP; returns their offsets and epoch.
async fn post(addr: std::net::SocketAddr, room: &str, count: usize, tag: &str) -> (Vec<i64>, String) {
    let (mut offsets, mut epoch) = (Vec::with_capacity(count), String::new());
    for i in 0..count {
        let body = json!({"username": "Poster", "text": format!("{tag} {i}"), "room": room});
        let url = format!("http://{addr}/chat/send");
        let mut response = awc::Client::default().post(url).send_json(&body).await.unwrap();
        assert_eq!(response.status(), 200);
        let posted: Value = response.json().await.unwrap();
        offsets.push(offset(&posted));
        epoch = posted["epoch"].as_str().unwrap_or_default().to_owned();
    }
    (offsets, epoch)
}

/// The replay up to `history_end`: its offsets and whether it recovered.
async fn replayed(client: &mut Client) -> (Vec<i64>, bool) {
    let (messages, end) = client.history().await;
    (messages.iter().map(offset).collect(), end["recovered"] == true)
}

/// 400 clients in 20 rooms, in two groups that left at different points,
/// resume at once after the server restarted (its caches are empty): each
/// gets exactly what it missed, and the history is read from Kafka at most
/// once per room and range.
#[actix_web::test]
async fn four_hundred_clients_resuming_at_once_after_a_restart_each_get_exactly_their_gap() {
    let (topic, port) = (unique_topic(), free_port());
    let rooms: Vec<String> = (0..20).map(|r| format!("storm-{r}")).collect();
    let mut server = ServerProcess::start_with(&topic, port, CROWD).await;
    let (mut early_since, mut late_since, mut epoch) = (HashMap::new(), HashMap::new(), String::new());
    for room in &rooms {
        early_since.insert(room.clone(), post(server.addr, room, 2, "before").await.0[1]);
        let (last, of) = post(server.addr, room, 1, "last seen by some").await;
        late_since.insert(room.clone(), last[0]);
        epoch = of;
    }
    assert!(server.signal_and_wait("TERM").success());

    // Written while everyone is away, through another instance.
    let mut other = ServerProcess::start_with(&topic, free_port(), CROWD).await;
    let mut missed = HashMap::new();
    for room in &rooms {
        missed.insert(room.clone(), post(other.addr, room, 40, "missed").await.0);
    }
    assert!(other.signal_and_wait("TERM").success());

    let server = ServerProcess::start_with(&topic, port, CROWD).await;
    let reads_before = metric(server.addr, "chat_history_kafka_reads_total", "").await;
    let mut resumes = Vec::new();
    for room in &rooms {
        for group in [&early_since, &late_since] {
            for _ in 0..10 {
                let path = format!("/ws/chat?room={room}&since={}&epoch={epoch}", group[room]);
                let url = format!("ws://{}{path}", server.addr);
                let (room, since) = (room.clone(), group[room]);
                resumes.push(actix_web::rt::spawn(async move {
                    let mut client = Client::connect(&url).await;
                    (room, since, replayed(&mut client).await)
                }));
            }
        }
    }
    for resume in resumes {
        let (room, since, (offsets, recovered)) = resume.await.expect("every resume completes");
        let mut expected: Vec<i64> = if since == early_since[&room] { vec![late_since[&room]] } else { vec![] };
        expected.extend(&missed[&room]);
        assert_eq!(offsets, expected, "{room} after {since}: exactly the gap, in order");
        assert!(recovered, "{room} after {since}");
    }
    let reads = metric(server.addr, "chat_history_kafka_reads_total", "").await - reads_before;
    assert!(reads <= (rooms.len() * 2) as f64, "{reads} Kafka reads for {} rooms and 2 ranges each", rooms.len());
}

/// 100 clients join an empty room one after another while messages flow:
/// each gets its history and then every later message exactly once.
#[actix_web::test]
async fn joins_while_messages_flow_meet_the_live_stream_without_a_gap() {
    let app = start(unlimited_settings()).await;
    app.wait_ready().await;
    let (stop, stopped) = watch::channel(false);
    let mut sender = app.connect_room("seam").await;
    sender.history().await;
    let sending = actix_web::rt::spawn(send_until(sender, stopped.clone()));
    let mut joined = Vec::new();
    for _ in 0..100 {
        let client = app.connect_room("seam").await;
        joined.push(actix_web::rt::spawn(collect_until(client, stopped.clone())));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).expect("the sender listens");
    let acked = sending.await.expect("the sender ran");
    let last = *acked.last().expect("messages were sent");
    for client in joined {
        let offsets = client.await.expect("every client ran");
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "no duplicate, in order: {offsets:?}");
        let first = *offsets.first().expect("a client got messages");
        let due: Vec<i64> = acked.iter().copied().filter(|o| *o >= first).collect();
        assert_eq!(offsets.iter().copied().filter(|o| *o <= last).collect::<Vec<_>>(), due, "no gap after {first}");
    }
}

/// Sends a message every 5 ms until told to stop; returns the acked offsets.
async fn send_until(mut sender: Client, mut stop: watch::Receiver<bool>) -> Vec<i64> {
    let mut acked = Vec::new();
    let mut i = 0;
    while !*stop.borrow() {
        let (ack, _) = sender.say_and_confirm(&format!("flow {i}"), &format!("f{i}")).await;
        acked.push(offset(&ack));
        i += 1;
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
    acked
}

/// Every chat message's offset, history and live, until `stop` and a quiet moment.
async fn collect_until(mut client: Client, mut stop: watch::Receiver<bool>) -> Vec<i64> {
    let mut offsets = Vec::new();
    loop {
        let wait = if *stop.borrow() { Duration::from_secs(2) } else { PATIENCE };
        tokio::select! {
            frame = tokio::time::timeout(wait, client.next()) => match frame {
                Ok(frame) if frame["type"] == "chat_message" => offsets.push(offset(&frame)),
                Ok(_) => {}
                Err(_) => return offsets,
            },
            _ = stop.changed(), if !*stop.borrow() => {}
        }
    }
}

/// A client that connects the moment the server lets it misses nothing
/// written after its welcome, while another instance writes all along.
#[actix_web::test]
async fn a_client_welcomed_during_startup_misses_nothing_written_after_its_welcome() {
    let topic = unique_topic();
    let writing = ServerProcess::start_with(&topic, free_port(), NO_RATE_LIMIT).await;
    let (stop, stopped) = watch::channel(false);
    let mut writer = writing.connect("/ws/chat").await;
    writer.history().await;
    let sending = actix_web::rt::spawn(send_until(writer, stopped.clone()));

    let starting = ServerProcess::spawn(&topic, &bootstrap_servers(), free_port());
    crate::helpers::eventually("the new server listens", || async {
        tokio::net::TcpStream::connect(starting.addr).await.is_ok()
    })
    .await;
    let client = loop {
        match starting.try_connect("/ws/chat").await {
            Ok(client) => break client,
            Err(refused) => assert_eq!(refused.status, 503, "refused only while starting"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let welcomed_after = writing_progress(&writing).await;
    let collecting = actix_web::rt::spawn(collect_until(client, stopped));
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.send(true).expect("the sender listens");
    let acked = sending.await.expect("the sender ran");
    let received: BTreeSet<i64> = collecting.await.expect("the client ran").into_iter().collect();
    let due: Vec<i64> = acked.into_iter().filter(|o| *o > welcomed_after).collect();
    assert!(!due.is_empty(), "messages were written after the welcome");
    let missing: Vec<&i64> = due.iter().filter(|o| !received.contains(o)).collect();
    assert!(missing.is_empty(), "missed after the welcome: {missing:?}");
}

/// The offset of the newest message the writing instance has stored.
async fn writing_progress(server: &ServerProcess) -> i64 {
    let (_, page) = crate::helpers::get_json(server.addr, "/api/rooms/anonymous-anime-universe/messages?limit=1").await;
    page["messages"][0]["offset"].as_i64().unwrap_or(-1)
}

/// The topic is deleted and created again, and grows past an old offset:
/// that offset with its old epoch gets the room as it is and
/// `recovered: false`, never a replay from the wrong place.
#[actix_web::test]
async fn an_offset_of_a_recreated_topic_is_not_replayed_against_the_new_log() {
    let mut settings = unlimited_settings();
    settings.kafka.health_interval = Duration::from_millis(300);
    let app = start(settings).await;
    app.wait_ready().await;
    let mut old = app.connect_room("epochs").await;
    old.history().await;
    let mut old_offset = 0;
    for i in 0..5 {
        old_offset = offset(&old.say_and_confirm(&format!("old log {i}"), &format!("o{i}")).await.0);
    }
    let old_epoch = old.epoch.clone();

    recreate_topic(&app.topic).await;
    assert_eq!(old.closed_with().await, 1012, "sessions of the old log are told to come back");
    let mut writer = app.connect_room("epochs").await;
    assert_ne!(writer.epoch, old_epoch, "a new log, a new epoch");
    writer.history().await;
    let mut new_offsets = Vec::new();
    for i in 0..20 {
        new_offsets.push(offset(&writer.say_and_confirm(&format!("new log {i}"), &format!("n{i}")).await.0));
    }
    assert!(*new_offsets.last().unwrap() > old_offset, "the new log grew past the old offset");

    let mut stale = app.connect_to(&format!("/ws/chat?room=epochs&since={old_offset}&epoch={old_epoch}")).await;
    let (offsets, recovered) = replayed(&mut stale).await;
    assert!(!recovered, "an offset of the old log is not recovered");
    assert_eq!(offsets, new_offsets, "the room's latest history instead");
    let path = format!("/ws/chat?room=epochs&since={old_offset}&epoch={old_epoch}&history=5");
    let (offsets, recovered) = replayed(&mut app.connect_to(&path).await).await;
    assert_eq!((offsets.as_slice(), recovered), (&new_offsets[15..], false), "as many as the client asked for");

    let mut legacy = app.connect_to(&format!("/ws/chat?room=epochs&since={old_offset}")).await;
    let (offsets, _) = replayed(&mut legacy).await;
    let after: Vec<i64> = new_offsets.iter().copied().filter(|o| *o > old_offset).collect();
    assert_eq!(offsets, after, "a client without an epoch is taken at its word, as before");
}

/// Deletes `topic` and creates it again with the same partitions.
async fn recreate_topic(topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<_> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap_servers()).create().expect("admin client");
    let options = AdminOptions::new().operation_timeout(Some(PATIENCE));
    admin.delete_topics(&[topic], &options).await.expect("delete request")[0].as_ref().expect("deleted");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let new = NewTopic::new(topic, 2, TopicReplication::Fixed(1));
        let created = admin.create_topics([&new], &options).await.expect("create request");
        if created[0].is_ok() {
            return;
        }
        // Deletion finishes in the background: the name is free a moment later.
        assert!(tokio::time::Instant::now() < deadline, "topic recreated: {:?}", created[0]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A room with no messages answers joins at once, from what the server
/// learned, and `since` and `limit` out of range are refused at the edge.
#[actix_web::test]
async fn offsets_and_limits_out_of_range_are_refused_on_every_endpoint() {
    let app = spawn_app().await;
    for query in
        ["since=-2", "since=9223372036854775807", "since=99999999999999999999", "limit=501", "limit=-1", "epoch=x"]
    {
        let (status, body) = app.get_json(&format!("/api/rooms/lobby/messages?{query}")).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_field")), "{query}");
        let refused = app.try_connect(&format!("/ws/chat?{}", query.replace("limit", "history"))).await;
        let refused = refused.expect_err(query);
        assert_eq!((refused.status, refused.body["code"].as_str()), (400, Some("invalid_field")), "{query}");
    }
}

#[actix_web::test]
async fn the_replay_cap_counts_messages_not_the_reactions_to_those_the_client_has() {
    let mut settings = test_settings();
    settings.history.replay_max = 3;
    let app = start(settings).await;
    app.wait_ready().await;
    let mut alice = app.connect_room("capped").await;
    alice.history().await;
    let (seen, _) = alice.say_and_confirm("seen", "m0").await;
    alice.say_and_confirm("missed", "m1").await;
    for (i, emoji) in ["🔥", "😂", "👍"].iter().enumerate() {
        let react =
            json!({"type": "react", "offset": seen["offset"], "emoji": emoji, "client_msg_id": format!("r{i}")});
        assert_eq!(alice.request(react).await["type"], "ack");
    }
    // Back after "seen": one message missed, and three reactions to "seen".
    let mut back = app.connect_to(&format!("/ws/chat?room=capped&since={}", seen["offset"])).await;
    let (replay, end) = back.history().await;
    assert_eq!(replay.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(), ["missed"]);
    assert_eq!(end["recovered"], true, "{end}");
}
