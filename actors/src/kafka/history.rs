//! Reading a room's messages back from the chat topic, for joins and
//! resumes the in-memory cache cannot answer. Blocking: run it off the actor
//! thread. Each read uses a short-lived consumer of its own, so reads never
//! disturb the live consumer's position.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::{ChatContext, KafkaClients};
use crate::messages::{HistoryStart, Keep, RawRecord, ReadRoom, RoomRecords};

/// A backwards search for the last N messages of a room stops after this
/// many records of other rooms: a quiet room in a busy partition must not
/// cost a scan of the whole log on every join.
const SCAN_LIMIT: i64 = 50_000;

/// The first backwards window; it grows fourfold while too few are found.
const FIRST_WINDOW: i64 = 256;

/// A read that has not reached its end by then has failed.
const READ_DEADLINE: Duration = Duration::from_secs(15);

pub(super) fn read_room(clients: &KafkaClients, request: &ReadRoom) -> KafkaResult<RoomRecords> {
    let consumer: BaseConsumer<ChatContext> = clients.reader_config.create_with_context(ChatContext)?;
    let (topic, timeout) = (clients.settings.topic.as_str(), clients.settings.request_timeout);
    consumer.fetch_metadata(Some(topic), timeout)?;
    let (low, high) = consumer.fetch_watermarks(topic, request.partition, timeout)?;
    let reader = Reader { consumer, topic, partition: request.partition, room: request.room.as_bytes() };
    let mut read = match request.start {
        HistoryStart::After(offset) => {
            let from = (offset + 1).clamp(low, high);
            let mut read = reader.scan(from, high)?;
            // Before the log's start, some messages are gone; past its end,
            // the offset cannot come from this log (the topic was recreated).
            read.truncated = offset + 1 < low || offset + 1 > high;
            read
        }
        HistoryStart::Last(count) => reader.last(count, low, high)?,
    };
    read.low = low;
    if read.records.len() > request.max {
        // Narrow the covered range to what is kept, so it stays exact.
        match request.keep {
            Keep::Newest => {
                read.records.drain(..read.records.len() - request.max);
                read.from = read.records.first().map_or(read.until, |record| record.offset);
                read.truncated = true;
            }
            Keep::Oldest => {
                read.records.truncate(request.max);
                read.until = read.records.last().map_or(read.from, |record| record.offset + 1);
            }
        }
    }
    Ok(read)
}

struct Reader<'a> {
    consumer: BaseConsumer<ChatContext>,
    topic: &'a str,
    partition: i32,
    room: &'a [u8],
}

impl Reader<'_> {
    /// The last `count` records of the room, searching backwards from `high`.
    fn last(&self, count: usize, low: i64, high: i64) -> KafkaResult<RoomRecords> {
        let (mut from, mut window) = (high, FIRST_WINDOW);
        let mut records = Vec::new();
        while records.len() < count && from > low && high - from < SCAN_LIMIT {
            let start = (from - window).max(low);
            let mut older = self.scan(start, from)?.records;
            older.append(&mut records);
            records = older;
            from = start;
            window *= 4;
        }
        Ok(RoomRecords { records, from, until: high, low, truncated: false })
    }

    /// Every record of the room in `[from, until)`.
    fn scan(&self, from: i64, until: i64) -> KafkaResult<RoomRecords> {
        let mut records = Vec::new();
        if from < until {
            let mut list = TopicPartitionList::new();
            list.add_partition_offset(self.topic, self.partition, Offset::Offset(from))?;
            self.consumer.assign(&list)?;
            let deadline = Instant::now() + READ_DEADLINE;
            let mut next = from;
            while next < until {
                if Instant::now() > deadline {
                    return Err(KafkaError::MessageConsumption(RDKafkaErrorCode::RequestTimedOut));
                }
                let Some(message) = self.consumer.poll(Duration::from_millis(100)).transpose()? else { continue };
                next = message.offset() + 1;
                if message.offset() < until && message.key() == Some(self.room) {
                    records.push(raw(&message));
                }
            }
        }
        Ok(RoomRecords { records, from, until, low: 0, truncated: false })
    }
}

fn raw(message: &BorrowedMessage<'_>) -> RawRecord {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let headers = message
        .headers()
        .map(|headers| headers.iter().map(|h| (h.key.to_owned(), h.value.map(text).unwrap_or_default())).collect())
        .unwrap_or_default();
    RawRecord {
        partition: message.partition(),
        offset: message.offset(),
        timestamp_ms: message.timestamp().to_millis(),
        key: message.key().map(text),
        headers,
        value: message.payload().map(text).unwrap_or_default(),
    }
}

/// Low and high watermarks of every partition of the chat topic.
pub(super) fn describe_topic(clients: &KafkaClients) -> KafkaResult<Vec<(i32, i64, i64)>> {
    let (topic, timeout) = (clients.settings.topic.as_str(), clients.settings.request_timeout);
    let metadata = clients.consumer.fetch_metadata(Some(topic), timeout)?;
    let partitions = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id()));
    partitions.map(|p| clients.consumer.fetch_watermarks(topic, p, timeout).map(|(low, high)| (p, low, high))).collect()
}
