//! The hub on librdkafka's mock cluster, its members seated directly and
//! the history's answers played by the test.

use std::collections::BTreeMap;
use std::time::Duration;

use bytesize::ByteSize;
use futures_util::FutureExt;
use futures_util::StreamExt;
use rdkafka::mocking::MockCluster;
use secrecy::SecretString;

use super::*;
use crate::messages::{SendAct, SendChat, Sender};
use crate::outbox::{OutboxLimits, OutboxReader, Outgoing};
use crate::protocol::{Act, ChatRecord, ReactionRecord};
use crate::settings::{BlockedAction, EmbeddedSettings, KafkaSettings};

/// Test only: puts a member in a room as `admit` would, without the
/// consumer's Follow or the history's replay.
#[derive(Message)]
#[rtype(result = "()")]
struct Seat(SessionId, String, Outbox);
impl Handler<Seat> for ChatHub {
    type Result = ();
    fn handle(&mut self, Seat(id, room, outbox): Seat, _: &mut Self::Context) {
        self.rooms.entry(room.clone()).or_default().outboxes.insert(id, outbox.clone());
        let identity = Identity::new("Rin".into());
        let member = Member { room, identity, address: [127, 0, 0, 1].into(), outbox, known_count: 1 };
        self.members.insert(id, member);
    }
}

/// Test only: whether the hub holds `room`, and the newest of its records it
/// has read and written.
#[derive(Message)]
#[rtype(result = "Option<(Option<Seq>, Option<Seq>)>")]
struct Look(String);
impl Handler<Look> for ChatHub {
    type Result = Option<(Option<Seq>, Option<Seq>)>;
    fn handle(&mut self, Look(room): Look, _: &mut Self::Context) -> Self::Result {
        self.rooms.get(&room).map(|room| (room.read_up_to, room.written_up_to))
    }
}

/// Test only: the room's own last write, as if Kafka had stored it at `seq`
/// and the read of it had not come.
#[derive(Message)]
#[rtype(result = "()")]
struct Wrote(String, Seq);
impl Handler<Wrote> for ChatHub {
    type Result = ();
    fn handle(&mut self, Wrote(room, seq): Wrote, _: &mut Self::Context) {
        if let Some(room) = self.rooms.get_mut(&room) {
            room.written_up_to = Some(seq);
        }
    }
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn chat_settings() -> ChatSettings {
    ChatSettings {
        default_room: "lobby".into(),
        max_text_chars: 2000,
        max_client_msg_id_chars: 64,
        max_frame_bytes: 65536,
        rate_per_second: 5,
        rate_burst: 20,
        address_rate_per_second: 20,
        address_rate_burst: 100,
        flood_close_after: 50,
        outbound_max_bytes: ByteSize::mib(8),
        outbound_max_delay: Duration::from_secs(10),
        heartbeat_interval: Duration::from_secs(15),
        client_timeout: Duration::from_secs(45),
        typing_interval: Duration::from_secs(2),
        presence_interval: Duration::from_secs(5),
        presence_ttl: Duration::from_secs(15),
        retry_window: Duration::from_secs(300),
        name_memory: Duration::from_secs(3600),
        edit_window: Duration::from_secs(900),
    }
}

fn history_settings() -> HistorySettings {
    HistorySettings {
        default: 5,
        max: 100,
        replay_max: 100,
        replay_max_bytes: ByteSize::mib(8),
        cache_per_room: 1000,
        cache_budget: ByteSize::mib(64),
        readers: 1,
        max_pending_reads: 100,
        read_deadline: Duration::from_secs(5),
    }
}

fn texts(reader: &mut OutboxReader) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    while let Some(Some(Outgoing::Frame(frame))) = reader.next().now_or_never() {
        out.push(serde_json::from_str(&frame).expect("json"));
    }
    out
}

/// A hub on a mock cluster of its own, assigned to the returned epoch.
async fn start_hub() -> (MockCluster<'static, rdkafka::producer::DefaultProducerContext>, Addr<ChatHub>, Epoch) {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("hub-test", 1, 1).expect("topic");
    let settings = KafkaSettings {
        bootstrap_servers: cluster.bootstrap_servers(),
        topic: "hub-test".into(),
        partitions: 1,
        replication_factor: 1,
        health_interval: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        retry_backoff: Duration::from_secs(1),
        partition_linger: Duration::from_secs(60),
        embedded: EmbeddedSettings { brokers: 1, consumer: BTreeMap::new() },
        producer: props(&[("acks", "all"), ("linger.ms", "0")]),
        consumer: props(&[("enable.auto.commit", "false"), ("enable.partition.eof", "false")]),
    };
    let clients = KafkaClients::new(&settings, &cluster.bootstrap_servers(), "hub-test", 2000).expect("clients");
    let epoch = Epoch::new("hub-test-epoch");
    let hub_settings = HubSettings {
        chat: chat_settings(),
        history: history_settings(),
        moderation: ModerationSettings { blocked_words: vec![], blocked_action: BlockedAction::Refuse },
        tokens: Tokens::new(SecretString::from("hub-test".to_owned())),
    };
    let hub = ChatHub::start(clients, hub_settings).expect("hub").hub;
    hub.send(Assigned { epoch: epoch.clone() }).await.expect("hub");
    (cluster, hub, epoch)
}

fn open_outbox() -> (Outbox, OutboxReader) {
    Outbox::new(OutboxLimits { max_bytes: 1 << 24, max_delay: Duration::from_secs(600) })
}

#[actix::test]
async fn a_message_removed_while_it_waits_behind_a_fold_is_never_shown() {
    let (_cluster, hub, epoch) = start_hub().await;
    let (outbox, mut reader) = open_outbox();
    hub.send(Seat(uuid::Uuid::new_v4(), "lobby".into(), outbox)).await.expect("hub");

    // 1. An event (a reaction to an old message): folded by the history, the room's later records behind it.
    let reaction = RoomRecord::Reaction(ReactionRecord {
        event_id: "e10".into(),
        target: 3,
        room: "lobby".into(),
        emoji: "🔥".into(),
        added: true,
        author: "someone".into(),
        username: "Aoi".into(),
        timestamp: "2026-01-01T00:00:00.000Z".into(),
    });
    // 2. A plain message X at 11, waiting behind it.
    let x = RoomRecord::Message(ChatRecord {
        message_id: "m11".into(),
        username: "Aoi".into(),
        text: "SECRET TEXT".into(),
        room: "lobby".into(),
        timestamp: "2026-01-01T00:00:00.000Z".into(),
        attempt: 1,
        author: None,
        verified: false,
        reply_to: None,
    });
    // All enqueued before the hub runs: the history's own Folded comes after them.
    hub.do_send(RecordReceived { room: "lobby".into(), seq: 10, record: Arc::new(reaction), timestamp_ms: None });
    hub.do_send(RecordReceived { room: "lobby".into(), seq: 11, record: Arc::new(x), timestamp_ms: None });
    // 3. A moderator removes X.
    let change = Change::Deleted { epoch: epoch.clone(), room: "lobby".into(), seq: 11 };
    hub.do_send(ModerationApplied { change });
    // 4. The fold of the event is back (the test plays the history, in case its read is slower).
    hub.send(Folded { room: "lobby".into(), seq: 10, frame: None }).await.expect("hub");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let frames = texts(&mut reader);
    let at_11 = |kind: &str| frames.iter().filter(|f| f["type"] == kind && f["offset"] == 11).count();
    assert_eq!(
        (at_11("message_deleted"), at_11("chat_message")),
        (1, 0),
        "told of the removal, never shown: {frames:#?}"
    );
}

#[actix::test]
async fn a_room_emptied_while_its_write_is_in_flight_stays_until_kafka_answers() {
    let (_cluster, hub, _) = start_hub().await;
    let (id, (outbox, _reader)) = (uuid::Uuid::new_v4(), open_outbox());
    hub.send(Seat(id, "lobby".into(), outbox)).await.expect("hub");
    let send = SendChat {
        sender: Sender::Session(id),
        room: "lobby".into(),
        text: "bye".into(),
        reply_to: None,
        client_msg_id: None,
    };
    let posted = hub.send(send);
    hub.send(Leave { id }).await.expect("hub");
    assert!(hub.send(Look("lobby".into())).await.expect("hub").is_some(), "the write keeps the room");

    let posted = posted.await.expect("hub").expect("stored");
    let after = hub.send(Look("lobby".into())).await.expect("hub");
    assert!(after.is_none(), "answered (at {}), the empty room is closed: {after:?}", posted.seq);
}

#[actix::test]
async fn an_act_whose_rooms_reads_never_catch_up_is_still_answered() {
    let (_cluster, hub, _) = start_hub().await;
    let (id, (outbox, _reader)) = (uuid::Uuid::new_v4(), open_outbox());
    hub.send(Seat(id, "lobby".into(), outbox)).await.expect("hub");
    hub.send(Wrote("lobby".into(), 7)).await.expect("hub");

    let act = Act::React { emoji: "🔥".into(), added: true };
    let answered = hub.send(SendAct { id, offset: 3, act, client_msg_id: None });
    let answer = tokio::time::timeout(Duration::from_secs(30), answered).await.expect("answered").expect("hub");
    // Checked with the history, which cannot read this harness's log: refused, and said why.
    let refusal = answer.expect_err("no message at offset 3");
    assert_eq!(refusal.code, ErrorCode::KafkaUnavailable, "{}", refusal.message);
}
