//! A history read still under way when its room's partition starts (or
//! stops and starts again) being read must not be merged into the cache
//! opened meanwhile: that cache missed the records between the read's end
//! and its own start. The real `History` and `KafkaReader` against
//! librdkafka's mock cluster; the test plays the hub and the consumer,
//! sending the history what they send. The mock broker's round trip is
//! raised to 1 s while it matters, so the page's read is in flight (its end
//! taken, its answer not back) while the rest happens. The same holds for
//! a live record that waited (for a read of the message it quotes) while
//! its partition was released: it stays out of the cache opened after.
//! And a partition a failed release left assigned is read again all the same.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytesize::ByteSize;
use futures_util::StreamExt;
use rdkafka::consumer::Consumer;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

use crate::history::{frame_of, History, MessageState};
use crate::kafka::reader::TopicLayout;
use crate::kafka::{Handover, KafkaClients, KafkaReader, LiveRooms};
use crate::messages::{
    Appended, Change, Entry, Epoch, EpochChanged, FeedStopped, FetchMessages, FindMessage, Folded, Frame, HistoryStart,
    ModerationApplied, RecordReceived, Replay,
};
use crate::outbox::{Outbox, OutboxLimits, OutboxReader, Outgoing};
use crate::protocol::{ChatRecord, RoomRecord};
use crate::settings::{EmbeddedSettings, HistorySettings, KafkaSettings};

const TOPIC: &str = "reads-across-follows";
const SLOW: Duration = Duration::from_millis(1000);

struct Hub;
impl Actor for Hub {
    type Context = Context<Self>;
}
impl Handler<Folded> for Hub {
    type Result = ();
    fn handle(&mut self, _: Folded, _: &mut Context<Self>) {}
}
impl Handler<RecordReceived> for Hub {
    type Result = ();
    fn handle(&mut self, _: RecordReceived, _: &mut Context<Self>) {}
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn kafka_settings(bootstrap: &str) -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: bootstrap.to_owned(),
        topic: TOPIC.into(),
        partitions: 1,
        replication_factor: 1,
        health_interval: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        retry_backoff: Duration::from_secs(1),
        partition_linger: Duration::from_secs(60),
        embedded: EmbeddedSettings { brokers: 1, consumer: BTreeMap::new() },
        producer: props(&[("acks", "all"), ("linger.ms", "0")]),
        consumer: props(&[("enable.auto.commit", "false"), ("enable.partition.eof", "false")]),
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
        // One reader: the page's read runs before the reads queued after it.
        readers: 1,
        max_pending_reads: 100,
        read_deadline: Duration::from_secs(60),
    }
}

fn chat(offset: i64, reply_to: Option<i64>) -> ChatRecord {
    ChatRecord {
        message_id: format!("m{offset}"),
        username: "Rin".into(),
        text: format!("text {offset}"),
        room: "lobby".into(),
        timestamp: "2026-01-01T00:00:00.000Z".into(),
        attempt: 1,
        author: None,
        verified: false,
        reply_to,
    }
}

/// lobby's records at `offsets` (the one at `reply.0` replies to `reply.1`).
fn produce(producer: &BaseProducer, offsets: std::ops::Range<i64>, reply: Option<(i64, i64)>) {
    for offset in offsets {
        let reply_to = reply.filter(|(at, _)| *at == offset).map(|(_, to)| to);
        let payload = RoomRecord::Message(chat(offset, reply_to)).to_json();
        producer.send(BaseRecord::<str, [u8]>::to(TOPIC).key("lobby").payload(&payload)).expect("queued");
    }
    producer.flush(Duration::from_secs(30)).expect("flushed");
}

/// The same without waiting for the acknowledgements (which the slow
/// broker holds back): the records are appended as the request arrives.
async fn write(producer: &BaseProducer, offsets: std::ops::Range<i64>, reply: Option<(i64, i64)>) {
    for offset in offsets {
        let reply_to = reply.filter(|(at, _)| *at == offset).map(|(_, to)| to);
        let payload = RoomRecord::Message(chat(offset, reply_to)).to_json();
        producer.send(BaseRecord::<str, [u8]>::to(TOPIC).key("lobby").payload(&payload)).expect("queued");
    }
    producer.poll(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The chat offsets of a replay, and its history_end's `recovered`.
async fn replay_of(reader: &mut OutboxReader) -> (Vec<i64>, bool) {
    let (frames, recovered) = frames_of(reader).await;
    (frames.iter().map(|frame| frame["offset"].as_i64().expect("offset")).collect(), recovered)
}

/// The chat frames of a replay, and its history_end's `recovered`.
async fn frames_of(reader: &mut OutboxReader) -> (Vec<serde_json::Value>, bool) {
    let mut frames = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(60), reader.next()).await;
        let Ok(Some(Outgoing::Frame(frame))) = next else { panic!("no history_end: {next:?}") };
        let value: serde_json::Value = serde_json::from_str(&frame).expect("json");
        match value["type"].as_str() {
            Some("chat_message") => frames.push(value),
            Some("history_end") => return (frames, value["recovered"].as_bool().expect("recovered")),
            _ => {}
        }
    }
}

/// Whether `page` is still waiting for its read (polled once, not consumed).
async fn pending<F: std::future::Future + Unpin>(page: &mut F) -> bool {
    std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut *page).poll(cx).is_pending())).await
}

struct Setup {
    cluster: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    producer: BaseProducer,
    live: LiveRooms,
    history: Addr<History>,
    epoch: Epoch,
}

/// lobby's records 0..19 in partition 0; a History with its reader.
fn setup(read_now: bool) -> Setup {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    let settings = kafka_settings(&cluster.bootstrap_servers());
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("acks", "all")
        .set("linger.ms", "0")
        .create()
        .expect("producer");
    produce(&producer, 0..20, None);
    let clients = KafkaClients::new(&settings, &cluster.bootstrap_servers(), "follow-test", 500).expect("clients");
    clients.live.set_partitions(1);
    if read_now {
        clients.live.set(0, true);
    }
    let live = clients.live.clone();
    let clients = Arc::new(clients);
    let reader = KafkaReader::new(clients.clone(), 1, 100).start();
    reader.do_send(TopicLayout { partitions: 1 });
    let history =
        History::new(reader, Hub.start().recipient(), live.clone(), history_settings(), Duration::from_secs(900))
            .start();
    let epoch = Epoch::new("follow-test-epoch");
    history.do_send(EpochChanged { epoch: epoch.clone() });
    Setup { cluster, producer, live, history, epoch }
}

/// One read first, at full speed: the reader's connection and metadata are ready.
async fn warm_up(s: &Setup) {
    let warm = FetchMessages { room: "warm-up".into(), start: HistoryStart::Last(1), max: 1 };
    let _ = s.history.send(warm).await.expect("history answers");
}

fn outbox() -> (Outbox, OutboxReader) {
    let (outbox, reader) = Outbox::new(OutboxLimits { max_bytes: 1 << 24, max_delay: Duration::from_secs(600) });
    outbox.hold(); // as the hub does at admission
    (outbox, reader)
}

/// The first live record of the (new) assignment: a reply at 25 to message 3.
fn reply_at_25() -> Appended {
    let record = Arc::new(RoomRecord::Message(chat(25, Some(3))));
    let entry = Entry { seq: 25, record, frame: Frame::default(), state: MessageState::default() };
    Appended { room: "lobby".into(), entry, active_connections: 1, reply: true }
}

/// No release at all:
///  - lobby has no member here and its partition is not read;
///  - an HTTP page of lobby is asked for: its Kafka read ends at 20;
///  - 20..24 are written, then the first member M1 joins: the partition is
///    read from its end, 25, and M1's replay waits behind the page's read;
///  - the first live record, 25, is a reply: the history opens the room's
///    cache for it (and reads message 3 for its quote);
///  - the page's read lands: it does not join that cache (which has
///    nothing of 20..24), and M1 and a later resume get all they missed.
#[actix::test]
async fn a_page_read_under_way_when_the_first_member_joins_leaves_no_gap() {
    let s = setup(false);
    warm_up(&s).await;
    s.cluster.broker_round_trip_time(1, SLOW).expect("rtt");
    let page = s.history.send(FetchMessages { room: "lobby".into(), start: HistoryStart::Last(10), max: 10 });
    let mut page = Box::pin(page);
    tokio::time::sleep(Duration::from_millis(300)).await; // the read's ListOffsets is at the broker
    write(&s.producer, 20..25, None).await;
    // Follow: the partition is assigned at E = 25; M1 is admitted; 25 is written.
    s.live.set(0, true);
    write(&s.producer, 25..26, Some((25, 3))).await;
    assert!(pending(&mut page).await, "timing: the page's read must still be in flight");
    let (m1, mut m1_reader) = outbox();
    s.history.do_send(Replay { room: "lobby".into(), start: HistoryStart::Last(5), outbox: m1, active_connections: 1 });
    s.history.do_send(reply_at_25());
    let page = page.await.expect("history answers").expect("a page");
    assert_eq!(page.messages.last().map(|e| e.seq), Some(19), "timing: the page's read predates 20..24");
    s.cluster.broker_round_trip_time(1, Duration::ZERO).expect("rtt");
    s.producer.flush(Duration::from_secs(30)).expect("flushed");

    let (m1_offsets, m1_recovered) = replay_of(&mut m1_reader).await;
    // 25 is filed once the read of message 3 is back (FindMessage waits behind it).
    let _ = s.history.send(FindMessage { room: "lobby".into(), seq: 25 }).await;
    let (m2, mut m2_reader) = outbox();
    let start = HistoryStart::After { since: 19, epoch: Some(s.epoch.clone()), fallback: 5 };
    s.history.do_send(Replay { room: "lobby".into(), start, outbox: m2, active_connections: 2 });
    let (m2_offsets, m2_recovered) = replay_of(&mut m2_reader).await;
    // M1's live frames start at 25 (E; the hub holds 25 in its outbox, a copy of the replay's):
    // its replay is the newest 5, 21..25. A resume after 19 must get 20..25.
    assert_eq!(
        ((m1_offsets, m1_recovered), (m2_offsets, m2_recovered)),
        ((vec![21, 22, 23, 24, 25], true), (vec![20, 21, 22, 23, 24, 25], true)),
        "M1 gets what was written before it joined; the resume gets 20..25"
    );
}

/// The read was sent while the partition was read (its linger running)
/// and lands after the release, the partition read again and the next
/// member's admission.
#[actix::test]
async fn a_page_read_under_way_across_a_release_leaves_no_gap() {
    let s = setup(true);
    warm_up(&s).await;
    s.cluster.broker_round_trip_time(1, SLOW).expect("rtt");
    let page = s.history.send(FetchMessages { room: "lobby".into(), start: HistoryStart::Last(10), max: 10 });
    let mut page = Box::pin(page);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The linger ends (Change::Release: live false, FeedStopped); 20..24 are written while
    // the partition is not read; M1's Follow assigns it again at E = 25; M1 is admitted.
    s.live.set(0, false);
    s.history.do_send(FeedStopped { partition: 0 });
    write(&s.producer, 20..25, None).await;
    s.live.set(0, true);
    write(&s.producer, 25..26, Some((25, 3))).await;
    assert!(pending(&mut page).await, "timing: the page's read must still be in flight");
    let (m1, mut m1_reader) = outbox();
    s.history.do_send(Replay { room: "lobby".into(), start: HistoryStart::Last(5), outbox: m1, active_connections: 1 });
    s.history.do_send(reply_at_25());
    let page = page.await.expect("history answers").expect("a page");
    assert_eq!(page.messages.last().map(|e| e.seq), Some(19), "timing: the page's read predates 20..24");
    s.cluster.broker_round_trip_time(1, Duration::ZERO).expect("rtt");
    s.producer.flush(Duration::from_secs(30)).expect("flushed");

    let (m1_offsets, _) = replay_of(&mut m1_reader).await;
    let _ = s.history.send(FindMessage { room: "lobby".into(), seq: 25 }).await;
    let (m2, mut m2_reader) = outbox();
    let start = HistoryStart::After { since: 19, epoch: Some(s.epoch.clone()), fallback: 5 };
    s.history.do_send(Replay { room: "lobby".into(), start, outbox: m2, active_connections: 2 });
    let (m2_offsets, m2_recovered) = replay_of(&mut m2_reader).await;
    assert_eq!(
        (m1_offsets, (m2_offsets, m2_recovered)),
        (vec![21, 22, 23, 24, 25], (vec![20, 21, 22, 23, 24, 25], true)),
        "no gap for M1 nor for the resume"
    );
}

/// A record of the live stream for lobby at `seq`: a plain message with
/// its frame, as the hub hands it on, or a reply to `quotes`.
fn appended(seq: i64, quotes: Option<i64>, epoch: &Epoch) -> Appended {
    let record = Arc::new(RoomRecord::Message(chat(seq, quotes)));
    let mut entry = Entry { seq, record, frame: Frame::default(), state: MessageState::default() };
    if quotes.is_none() {
        entry.frame = frame_of(&entry, None, None, 1, epoch.as_str());
    }
    Appended { room: "lobby".into(), entry, active_connections: 1, reply: false }
}

/// lobby's cache holding 15..19, opened by a member's replay (the member
/// gone: the cache lingers), and the broker slow from now on.
async fn lingering_cache() -> Setup {
    let s = setup(true);
    warm_up(&s).await;
    let (m0, mut m0_reader) = outbox();
    s.history.do_send(Replay { room: "lobby".into(), start: HistoryStart::Last(5), outbox: m0, active_connections: 1 });
    assert_eq!(replay_of(&mut m0_reader).await, (vec![15, 16, 17, 18, 19], true), "the lingering cache");
    s.cluster.broker_round_trip_time(1, SLOW).expect("rtt");
    s
}

/// The room's cache lingers with no members; a reply at 20 to message 3
/// (not in the cache) waits for a read of 3 while the partition is released,
/// 21..24 are written, the partition is read again from 25 and a member
/// joins, its replay opening a new cache; 25 comes live behind the reply.
/// The reply is not filed into the new cache, which would then claim 20 and
/// 25 with nothing between.
#[actix::test]
async fn a_record_waiting_for_its_quote_across_a_release_stays_out_of_the_next_cache() {
    let s = lingering_cache().await;
    write(&s.producer, 20..21, Some((20, 3))).await;
    s.history.do_send(appended(20, Some(3), &s.epoch));
    s.live.set(0, false);
    s.history.do_send(FeedStopped { partition: 0 });
    write(&s.producer, 21..25, None).await;
    s.live.set(0, true);
    write(&s.producer, 25..26, None).await;
    let (m1, mut m1_reader) = outbox();
    s.history.do_send(Replay { room: "lobby".into(), start: HistoryStart::Last(5), outbox: m1, active_connections: 1 });
    s.history.do_send(appended(25, None, &s.epoch));
    s.cluster.broker_round_trip_time(1, Duration::ZERO).expect("rtt");
    s.producer.flush(Duration::from_secs(30)).expect("flushed");

    let m1_replay = replay_of(&mut m1_reader).await;
    let (m2, mut m2_reader) = outbox();
    let start = HistoryStart::After { since: 19, epoch: Some(s.epoch.clone()), fallback: 5 };
    s.history.do_send(Replay { room: "lobby".into(), start, outbox: m2, active_connections: 2 });
    assert_eq!(
        (m1_replay, replay_of(&mut m2_reader).await),
        ((vec![21, 22, 23, 24, 25], true), (vec![20, 21, 22, 23, 24, 25], true)),
        "no gap for the member nor for the resume"
    );
}

/// librdkafka refuses to assign a partition already assigned (`_CONFLICT`):
/// after a release that failed, every later member of the partition's
/// rooms would have been refused.
#[actix::test]
async fn a_partition_a_failed_release_left_assigned_is_read_again_from_its_end() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    let clients = KafkaClients::new(
        &kafka_settings(&cluster.bootstrap_servers()),
        &cluster.bootstrap_servers(),
        "follow-test",
        500,
    )
    .expect("clients");
    clients.live.set_partitions(1);
    let handover = Handover::new(Hub.start().recipient(), clients.live.clone(), 500);
    clients.consumer.fetch_metadata(Some(TOPIC), Duration::from_secs(10)).expect("metadata");
    let mut left = rdkafka::TopicPartitionList::new();
    left.add_partition_offset(TOPIC, 0, rdkafka::Offset::Beginning).expect("partition");
    clients.consumer.incremental_assign(&left).expect("assigned");

    let read = super::apply(&clients, &handover, super::Change::Read(0));
    assert!(read.is_ok(), "read again: {read:?}");
    let assigned = clients.consumer.assignment().expect("assignment");
    assert_eq!(assigned.count(), 1, "assigned once: {assigned:?}");
}

/// The room's cache lingers with no members; a reply at 20 to message 3
/// (not in the cache) waits for a read of 3, and 21 behind it. A
/// moderator removes 21 meanwhile, and a member resumes after 19: its
/// replay waits for 20 and 21 to be filed (answered at once, it claimed
/// the room whole without them), and 21 is filed removed.
#[actix::test]
async fn a_resume_while_records_wait_for_a_quote_gets_them_and_a_removal_meanwhile_holds() {
    let s = lingering_cache().await;
    write(&s.producer, 20..22, Some((20, 3))).await;
    s.history.do_send(appended(20, Some(3), &s.epoch));
    s.history.do_send(appended(21, None, &s.epoch));
    let removal = Change::Deleted { epoch: s.epoch.clone(), room: "lobby".into(), seq: 21 };
    s.history.do_send(ModerationApplied { change: removal });
    let (m1, mut m1_reader) = outbox();
    let start = HistoryStart::After { since: 19, epoch: Some(s.epoch.clone()), fallback: 5 };
    s.history.do_send(Replay { room: "lobby".into(), start, outbox: m1, active_connections: 1 });
    s.cluster.broker_round_trip_time(1, Duration::ZERO).expect("rtt");
    s.producer.flush(Duration::from_secs(30)).expect("flushed");

    assert_eq!(replay_of(&mut m1_reader).await, (vec![20, 21], true), "the resume has what waited");
    let (m2, mut m2_reader) = outbox();
    s.history.do_send(Replay { room: "lobby".into(), start: HistoryStart::Last(2), outbox: m2, active_connections: 1 });
    let (shown, _) = frames_of(&mut m2_reader).await;
    let at_21 = shown.iter().find(|frame| frame["offset"] == 21).expect("21 keeps its place");
    assert_eq!((&at_21["deleted"], &at_21["text"]), (&serde_json::json!(true), &serde_json::json!("")), "{at_21}");
}
