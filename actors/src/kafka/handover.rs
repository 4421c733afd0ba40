//! `Handover`: the one door through which chat records reach the hub, each
//! once and in its partition's order.
//!
//! A record comes back from the log through the consumer. A record this
//! instance wrote is also known the moment Kafka acknowledges it: with
//! `acks=all` it is then in every in-sync replica, at an offset the
//! acknowledgement names, exactly as any consumer will read it. If every
//! earlier record of its partition has already been handed over, it is
//! handed over at once, without waiting for the consumer's fetch to bring
//! it back (a fetch round trip on a broker; up to the fetch wait on the
//! mock cluster). Otherwise it waits for the consumer like any other
//! record. Whichever of the two comes second is skipped by its offset, so
//! the hub sees the log's order either way, as every other instance does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use actix::Recipient;

use super::{room_record, LiveRooms};
use crate::messages::RecordReceived;

/// A chat record as Kafka holds it.
pub(super) struct LogRecord<'a> {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub payload: &'a [u8],
    pub timestamp_ms: Option<i64>,
}

/// Who brings a record to the door.
#[derive(Debug, Clone, Copy)]
pub(super) enum Bearer {
    /// The live consumer, reading the log.
    Consumer,
    /// The producer, on Kafka's acknowledgement of this instance's write.
    Producer,
}

impl Bearer {
    fn label(self) -> &'static str {
        match self {
            Bearer::Consumer => "consumer",
            Bearer::Producer => "producer",
        }
    }
}

pub struct Handover {
    records: Recipient<RecordReceived>,
    /// For each chat partition read, where the hub is in it. A partition
    /// not in it is not read: what the consumer still brings of one being
    /// released (fetched before it let go) is not handed over.
    next: Mutex<HashMap<i32, Next>>,
    /// Knows the chat topic's partition count, for the placement check.
    live: LiveRooms,
    /// Records of other services are held to the same text limit as clients.
    max_text_chars: usize,
}

/// Where the hub is in a partition read.
#[derive(Debug, Clone, Copy)]
enum Next {
    /// The offset of the next record it is to get.
    At(i64),
    /// Read from an unknown start (the beginning of a recreated topic): only
    /// the consumer hands records over, in the order it reads.
    Unknown,
}

impl Handover {
    pub fn new(records: Recipient<RecordReceived>, live: LiveRooms, max_text_chars: usize) -> Arc<Self> {
        Arc::new(Self { records, next: Mutex::default(), live, max_text_chars })
    }

    fn next(&self) -> MutexGuard<'_, HashMap<i32, Next>> {
        self.next.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `partition` is about to be read from `offset`. Called before the
    /// consumer is assigned it, so nothing it reads comes before.
    pub(super) fn reading_from(&self, partition: i32, offset: i64) {
        self.next().insert(partition, Next::At(offset));
    }

    /// `partition` is about to be read from a start not known as an offset.
    pub(super) fn reading_from_unknown(&self, partition: i32) {
        self.next().insert(partition, Next::Unknown);
    }

    /// `partition` is no longer read: called before the consumer lets go.
    pub(super) fn stop_reading(&self, partition: i32) {
        self.next().remove(&partition);
    }

    /// The consumer read `record`: handed over unless it was already, or
    /// its partition is no longer read.
    pub(super) fn read(&self, record: &LogRecord<'_>) {
        let mut next = self.next();
        match next.get_mut(&record.partition) {
            None => return,
            Some(Next::At(next)) if record.offset < *next => return,
            // Past a gap (a transaction marker, say): the log goes on from here.
            Some(Next::At(next)) => *next = record.offset.saturating_add(1),
            Some(Next::Unknown) => {}
        }
        // Held while sending, so the hub's mailbox gets the log's order.
        self.pass(record, Bearer::Consumer);
    }

    /// Kafka acknowledged `record`, written by this instance: handed over
    /// now if it is the next of its partition, else left to the consumer.
    /// Called from librdkafka's delivery callback, which reports a
    /// partition's records in their order.
    pub(super) fn stored(&self, record: &LogRecord<'_>) {
        let mut next = self.next();
        let Some(Next::At(next)) = next.get_mut(&record.partition) else { return };
        if *next != record.offset {
            return;
        }
        *next = record.offset.saturating_add(1);
        self.pass(record, Bearer::Producer);
    }

    /// Checks `record` as a room's message and gives it to the hub. A record
    /// is only a room's message if it sits in that room's partition and
    /// reads like one; anything else is counted, logged and skipped, so no
    /// outside producer can break a room's order.
    fn pass(&self, record: &LogRecord<'_>, bearer: Bearer) {
        let LogRecord { partition, offset, key, payload, timestamp_ms } = *record;
        let Some(room) = key.and_then(|key| std::str::from_utf8(key).ok()) else {
            return skip(crate::metrics::INVALID_RECORDS, partition, offset, "it has no room as its key");
        };
        if self.live.partition_of(room) != partition {
            return skip(crate::metrics::MISPLACED_RECORDS, partition, offset, "it is not in its room's partition");
        }
        match room_record(payload, key, partition, offset, timestamp_ms, self.max_text_chars) {
            Ok(parsed) => {
                metrics::counter!(crate::metrics::RECORDS_HANDED_OVER, "by" => bearer.label()).increment(1);
                self.records.do_send(RecordReceived {
                    room: room.to_owned(),
                    seq: offset,
                    record: Arc::new(parsed),
                    timestamp_ms,
                });
            }
            Err(why) => skip(crate::metrics::INVALID_RECORDS, partition, offset, &why),
        }
    }
}

fn skip(metric: &'static str, partition: i32, offset: i64, why: &str) {
    metrics::counter!(metric).increment(1);
    log::warn!("skipping chat record {partition}@{offset}: {why}");
}

#[cfg(test)]
mod tests {
    use actix::prelude::*;

    use super::*;

    /// Keeps the offsets the hub would get, in the order it gets them.
    #[derive(Default)]
    struct Hub(Vec<i64>);

    impl Actor for Hub {
        type Context = Context<Self>;
    }

    impl Handler<RecordReceived> for Hub {
        type Result = ();

        fn handle(&mut self, msg: RecordReceived, _: &mut Self::Context) {
            self.0.push(msg.seq);
        }
    }

    /// Asks the hub what it got; its mailbox keeps order, so this comes after every record.
    #[derive(Message)]
    #[rtype(result = "Vec<i64>")]
    struct Got;

    impl Handler<Got> for Hub {
        type Result = MessageResult<Got>;

        fn handle(&mut self, _: Got, _: &mut Self::Context) -> Self::Result {
            MessageResult(self.0.clone())
        }
    }

    const PAYLOAD: &[u8] = br#"{"type":"chat_message","username":"Rin","text":"hi","room":"lobby"}"#;

    fn at(offset: i64) -> LogRecord<'static> {
        LogRecord { partition: 0, offset, key: Some(b"lobby"), payload: PAYLOAD, timestamp_ms: None }
    }

    /// Runs `steps` against a handover of one partition and returns what the hub got.
    async fn handed_over(steps: impl FnOnce(&Handover)) -> Vec<i64> {
        let hub = Hub::default().start();
        let live = LiveRooms::default();
        live.set_partitions(1);
        let handover = Handover::new(hub.clone().recipient(), live, 100);
        steps(&handover);
        hub.send(Got).await.expect("the hub answers")
    }

    #[actix::test]
    async fn a_write_acknowledged_next_in_line_is_handed_over_once_whoever_comes_first() {
        let got = handed_over(|handover| {
            handover.reading_from(0, 10);
            handover.stored(&at(10));
            handover.read(&at(10));
            handover.read(&at(11));
            handover.stored(&at(11));
        })
        .await;
        assert_eq!(got, [10, 11]);
    }

    #[actix::test]
    async fn a_write_acknowledged_ahead_of_records_not_read_yet_waits_for_the_consumer() {
        let got = handed_over(|handover| {
            handover.reading_from(0, 10);
            // 10 is another writer's, still on its way to the consumer.
            handover.stored(&at(11));
            handover.read(&at(10));
            handover.read(&at(11));
        })
        .await;
        assert_eq!(got, [10, 11], "never 11 before 10");
    }

    #[actix::test]
    async fn a_partition_of_unknown_start_is_the_consumers_alone() {
        let got = handed_over(|handover| {
            handover.reading_from_unknown(0);
            handover.stored(&at(0));
            handover.read(&at(0));
            handover.stored(&at(1));
            handover.read(&at(1));
        })
        .await;
        assert_eq!(got, [0, 1]);
    }

    #[actix::test]
    async fn what_the_consumer_brings_of_a_partition_being_released_is_not_handed_over() {
        let got = handed_over(|handover| {
            handover.reading_from(0, 10);
            handover.read(&at(10));
            handover.stored(&at(11));
            handover.stop_reading(0);
            // Fetched before the consumer let go: 11 again, and another writer's 12.
            handover.read(&at(11));
            handover.read(&at(12));
            handover.stored(&at(13));
        })
        .await;
        assert_eq!(got, [10, 11]);
    }

    #[actix::test]
    async fn the_consumer_goes_on_past_a_gap_in_the_offsets() {
        let got = handed_over(|handover| {
            handover.reading_from(0, 10);
            handover.read(&at(12));
            handover.stored(&at(13));
            handover.read(&at(13));
        })
        .await;
        assert_eq!(got, [12, 13]);
    }
}
