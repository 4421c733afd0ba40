//! Reading parts of one partition back, for history. Blocking: the reader
//! runs these on a thread of their own with one of its long-lived consumers.
//!
//! One batch serves every queued read of the same partition with the same
//! scans: a burst of resumes after a restart costs a few reads of each
//! partition, not one per session.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::oneshot;

use super::ChatContext;
use crate::messages::{RawRecord, ReadError, RoomRead, Seq};
use crate::protocol::RoomRecord;

/// A backwards search with no floor stops after this many records of other
/// rooms: a quiet room in a busy partition must not cost a scan of the
/// whole log on every join.
const SCAN_LIMIT: i64 = 50_000;

/// The first backwards window; it grows fourfold while too few are found.
const FIRST_WINDOW: i64 = 256;
const MAX_WINDOW: i64 = 1 << 20;

/// A message that went missing while Kafka was away was written at most
/// this long before its sender noted the time: where a search starts.
const LOCATE_SLACK_MS: i64 = 5_000;

/// One read of a room, with where its answer goes.
pub(super) enum Job {
    /// The newest `count` records of `room` before `before`, none before `floor`.
    Newest { room: String, count: usize, before: Option<Seq>, floor: Option<Seq>, reply: Reply },
    /// The oldest `count` records of `room` from `from` on.
    Oldest { room: String, count: usize, from: Seq, reply: Reply },
    /// Where the message `message_id`, sent at `sent_ms`, is.
    Locate { room: String, message_id: String, sent_ms: i64, reply: oneshot::Sender<Result<Option<Seq>, ReadError>> },
    /// The records of `room` at these offsets.
    At { room: String, seqs: Vec<Seq>, reply: oneshot::Sender<Result<Vec<(Seq, RoomRecord)>, ReadError>> },
}

/// Where a range read's answer goes: parsed messages for the history, or
/// records as Kafka holds them for operators.
pub(super) enum Reply {
    Read(oneshot::Sender<Result<RoomRead, ReadError>>),
    Raw(oneshot::Sender<Result<Vec<RawRecord>, ReadError>>),
}

impl Job {
    pub(super) fn room(&self) -> &str {
        match self {
            Job::Newest { room, .. } | Job::Oldest { room, .. } | Job::Locate { room, .. } | Job::At { room, .. } => {
                room
            }
        }
    }

    /// Answers with an error (the read never ran).
    pub(super) fn fail(self, error: ReadError) {
        match self {
            Job::Newest { reply, .. } | Job::Oldest { reply, .. } => reply.fail(error),
            Job::Locate { reply, .. } => drop(reply.send(Err(error))),
            Job::At { reply, .. } => drop(reply.send(Err(error))),
        }
    }
}

impl Reply {
    fn fail(self, error: ReadError) {
        match self {
            Reply::Read(tx) => drop(tx.send(Err(error))),
            Reply::Raw(tx) => drop(tx.send(Err(error))),
        }
    }
}

/// What a batch reads with.
pub(super) struct Partition<'a> {
    pub consumer: &'a BaseConsumer<ChatContext>,
    pub topic: &'a str,
    pub partition: i32,
    pub timeout: Duration,
    pub deadline: Instant,
    pub max_text_chars: usize,
}

/// A record of the room, as read: as Kafka holds it, for operators, or
/// parsed, for the history (a record that is not one of the room's is
/// left out of those).
enum Found {
    Raw(RawRecord),
    Record(Seq, RoomRecord),
}

impl Found {
    fn offset(&self) -> i64 {
        match self {
            Found::Raw(raw) => raw.offset,
            Found::Record(seq, _) => *seq,
        }
    }

    /// Whether it counts towards a read's count: operators count records,
    /// the history messages (the events between them come along).
    fn counts(&self) -> bool {
        match self {
            Found::Raw(_) => true,
            Found::Record(_, record) => record.as_message().is_some(),
        }
    }
}

/// Runs every job of one partition and answers each. Returns whether the
/// consumer is still fit to read: false after a Kafka error other than a
/// deadline (a consumer can keep stale metadata past a broker's restart).
pub(super) fn run_batch(part: &Partition<'_>, jobs: Vec<Job>) -> bool {
    // Every error is answered through here, which notes whether it unfits the consumer.
    let fit = std::cell::Cell::new(true);
    let failed = |e: &KafkaError| {
        let error = read_error(e);
        fit.set(fit.get() && matches!(error, ReadError::Deadline));
        error
    };
    let (low, high) = match part.consumer.fetch_watermarks(part.topic, part.partition, part.timeout) {
        Ok(marks) => marks,
        Err(e) => {
            jobs.into_iter().for_each(|job| job.fail(failed(&e)));
            return fit.get();
        }
    };
    metrics::counter!(crate::metrics::HISTORY_KAFKA_READS).increment(1);
    let (mut newest, mut oldest, mut locate, mut at) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for job in jobs {
        match job {
            Job::Newest { room, count, before, floor, reply } => {
                let before = before.unwrap_or(high).clamp(low, high);
                let mut range = Range::new(room, count, floor.unwrap_or(low).clamp(low, before), before, reply);
                range.limited = floor.is_none();
                newest.push(range);
            }
            Job::Oldest { room, count, from, reply } => {
                let from = from.clamp(low, high);
                oldest.push(Range::new(room, count, from, high, reply));
            }
            Job::Locate { room, message_id, sent_ms, reply } => locate.push((room, message_id, sent_ms, reply)),
            Job::At { room, seqs, reply } => at.push((room, seqs, reply)),
        }
    }
    let finish = |ranges: Vec<Range>, outcome: KafkaResult<()>| {
        for range in ranges {
            match &outcome {
                Ok(()) => range.answer(low, high),
                Err(e) => range.reply.fail(failed(e)),
            }
        }
    };
    let outcome = newest_backwards(part, &mut newest);
    finish(newest, outcome);
    let outcome = oldest_forwards(part, &mut oldest, high);
    finish(oldest, outcome);
    for (room, message_id, sent_ms, reply) in locate {
        let _ = reply.send(locate_message(part, &room, &message_id, sent_ms, high).map_err(|e| failed(&e)));
    }
    for (room, seqs, reply) in at {
        let _ = reply.send(records_at(part, &room, &seqs, (low, high)).map_err(|e| failed(&e)));
    }
    fit.get()
}

fn read_error(e: &KafkaError) -> ReadError {
    match e {
        KafkaError::MessageConsumption(RDKafkaErrorCode::RequestTimedOut) => ReadError::Deadline,
        other => ReadError::Kafka(other.to_string()),
    }
}

/// One job's part of a partition: `[floor, before)` to look at, what was
/// found so far, and the part `[from, before)` known completely.
struct Range {
    room: String,
    count: usize,
    floor: i64,
    before: i64,
    from: i64,
    found: Vec<Found>,
    /// How many of `found` count towards `count`.
    counted: usize,
    done: bool,
    /// No floor was asked for: the search stops at [`SCAN_LIMIT`].
    limited: bool,
    reply: Reply,
}

impl Range {
    fn new(room: String, count: usize, floor: i64, before: i64, reply: Reply) -> Self {
        let done = count == 0 || floor >= before;
        Self { room, count, floor, before, from: before, found: Vec::new(), counted: 0, done, limited: false, reply }
    }

    /// `message` as this range keeps it, if it is one of the room's.
    fn read(&self, part: &Partition<'_>, message: &BorrowedMessage<'_>) -> Option<Found> {
        let (offset, timestamp_ms, payload) =
            (message.offset(), message.timestamp().to_millis(), message.payload().unwrap_or_default());
        match self.reply {
            Reply::Raw(_) => Some(Found::Raw(raw_record(part.partition, &self.room, message))),
            Reply::Read(_) => {
                let record = super::room_record(
                    payload,
                    Some(self.room.as_bytes()),
                    part.partition,
                    offset,
                    timestamp_ms,
                    part.max_text_chars,
                );
                record.ok().map(|record| Found::Record(offset, record))
            }
        }
    }

    /// Keeps only the newest `count` that count, and what came after them.
    fn keep_newest(&mut self) {
        let mut counted = 0;
        let first = self.found.iter().rposition(|f| {
            counted += usize::from(f.counts());
            counted == self.count
        });
        if let Some(first) = first {
            self.found.drain(..first);
            self.counted = self.count;
        }
    }

    fn wants(&self, message: &BorrowedMessage<'_>) -> bool {
        let offset = message.offset();
        !self.done && offset >= self.floor && offset < self.before && message.key() == Some(self.room.as_bytes())
    }

    /// Past a forward read's last message: keeps an event on one of its
    /// messages, so they come as they are now, not as first written.
    fn keep_later_event(&mut self, part: &Partition<'_>, message: &BorrowedMessage<'_>) {
        if !matches!(self.reply, Reply::Read(_)) || message.key() != Some(self.room.as_bytes()) {
            return;
        }
        let Some(Found::Record(seq, record)) = self.read(part, message) else { return };
        if record.target().is_some_and(|target| (self.from..self.before).contains(&target)) {
            self.found.push(Found::Record(seq, record));
        }
    }

    fn answer(self, low: i64, high: i64) {
        let Range { from, before, found, reply, .. } = self;
        match reply {
            Reply::Raw(tx) => {
                let raw = found.into_iter().filter_map(|f| if let Found::Raw(raw) = f { Some(raw) } else { None });
                let _ = tx.send(Ok(raw.collect()));
            }
            Reply::Read(tx) => {
                let messages = found.into_iter().filter_map(|f| match f {
                    Found::Record(seq, record) => Some((seq, record)),
                    Found::Raw(_) => None,
                });
                let read =
                    RoomRead { messages: messages.collect(), from, until: before, whole: from <= low, end: high };
                let _ = tx.send(Ok(read));
            }
        }
    }
}

/// Backwards windows from the highest `before`, shared by every job, until
/// each has its count, reached its floor, or (without a floor) the scan limit.
fn newest_backwards(part: &Partition<'_>, ranges: &mut [Range]) -> KafkaResult<()> {
    let Some(mut cursor) = ranges.iter().filter(|r| !r.done).map(|r| r.before).max() else { return Ok(()) };
    let mut window = FIRST_WINDOW;
    while let Some(lowest) = ranges.iter().filter(|r| !r.done).map(|r| r.floor).min() {
        let start = cursor.saturating_sub(window).max(lowest);
        let mut found: Vec<Vec<Found>> = ranges.iter().map(|_| Vec::new()).collect();
        scan(part, start, cursor, |message| {
            for (range, found) in ranges.iter().zip(found.iter_mut()) {
                if range.wants(message) {
                    found.extend(range.read(part, message));
                }
            }
        })?;
        for (range, mut older) in ranges.iter_mut().zip(found) {
            if range.done {
                continue;
            }
            range.counted += older.iter().filter(|f| f.counts()).count();
            older.append(&mut range.found);
            range.found = older;
            range.from = start.max(range.floor).min(range.before);
            if range.counted >= range.count {
                range.keep_newest();
                range.from = range.found.first().map_or(range.from, Found::offset);
                range.done = true;
            } else if start <= range.floor || (range.limited && range.before - start >= SCAN_LIMIT) {
                range.done = true;
            }
        }
        cursor = start;
        window = (window * 4).min(MAX_WINDOW);
    }
    Ok(())
}

/// One forward scan from the lowest start, until every job has its count.
fn oldest_forwards(part: &Partition<'_>, ranges: &mut [Range], high: i64) -> KafkaResult<()> {
    let Some(start) = ranges.iter().filter(|r| !r.done).map(|r| r.floor).min() else { return Ok(()) };
    for range in ranges.iter_mut() {
        range.from = range.floor;
    }
    scan(part, start, high, |message| {
        for range in ranges.iter_mut() {
            if range.done {
                range.keep_later_event(part, message);
                continue;
            }
            let Some(found) = range.wants(message).then(|| range.read(part, message)).flatten() else { continue };
            range.counted += usize::from(found.counts());
            range.found.push(found);
            if range.counted >= range.count {
                range.before = message.offset() + 1;
                range.done = true;
            }
        }
    })
}

/// Forward from a little before `sent_ms` to the end, for one message id.
fn locate_message(
    part: &Partition<'_>,
    room: &str,
    message_id: &str,
    sent_ms: i64,
    high: i64,
) -> KafkaResult<Option<Seq>> {
    let mut at = TopicPartitionList::new();
    at.add_partition_offset(part.topic, part.partition, Offset::Offset(sent_ms - LOCATE_SLACK_MS))?;
    let start = match part.consumer.offsets_for_times(at, part.timeout)?.find_partition(part.topic, part.partition) {
        Some(element) => match element.offset() {
            Offset::Offset(offset) => offset,
            _ => high,
        },
        None => high,
    };
    /// The id of a message or an event, whichever the record is.
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow, alias = "event_id")]
        message_id: Option<std::borrow::Cow<'a, str>>,
    }
    let mut located = None;
    scan(part, start, high, |message| {
        if located.is_none() && message.key() == Some(room.as_bytes()) {
            let id = message.payload().and_then(|p| serde_json::from_slice::<Id<'_>>(p).ok());
            if id.and_then(|id| id.message_id).is_some_and(|id| id == message_id) {
                located = Some(message.offset());
            }
        }
    })?;
    Ok(located)
}

/// The room's records at `seqs` (offsets outside the log, or of other
/// rooms, or not records of a room, are left out).
fn records_at(
    part: &Partition<'_>,
    room: &str,
    seqs: &[Seq],
    (low, high): (i64, i64),
) -> KafkaResult<Vec<(Seq, RoomRecord)>> {
    let mut found = Vec::new();
    for &seq in seqs.iter().filter(|seq| (low..high).contains(*seq)) {
        scan(part, seq, seq + 1, |message| {
            if message.key() != Some(room.as_bytes()) {
                return;
            }
            let (payload, stamp) = (message.payload().unwrap_or_default(), message.timestamp().to_millis());
            let parsed = super::room_record(payload, message.key(), part.partition, seq, stamp, part.max_text_chars);
            found.extend(parsed.ok().map(|record| (seq, record)));
        })?;
    }
    Ok(found)
}

/// Calls `visit` for every record in `[from, until)`, in order.
fn scan(part: &Partition<'_>, from: i64, until: i64, mut visit: impl FnMut(&BorrowedMessage<'_>)) -> KafkaResult<()> {
    if from >= until {
        return Ok(());
    }
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(part.topic, part.partition, Offset::Offset(from))?;
    part.consumer.assign(&list)?;
    let mut next = from;
    while next < until {
        if Instant::now() > part.deadline {
            return Err(KafkaError::MessageConsumption(RDKafkaErrorCode::RequestTimedOut));
        }
        let message = match part.consumer.poll(Duration::from_millis(100)) {
            None => continue,
            // The log's end: what is left before `until` are no records a
            // consumer gets (the markers of another service's transactions).
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                if partition == part.partition && position(part)? >= until {
                    return Ok(());
                }
                continue;
            }
            Some(message) => message?,
        };
        // A fetch of an earlier assignment may still arrive: only this one counts.
        if message.partition() != part.partition || message.offset() < next {
            continue;
        }
        next = message.offset() + 1;
        if message.offset() < until {
            visit(&message);
        }
    }
    Ok(())
}

/// The reader's position in its partition: the next offset it fetches.
fn position(part: &Partition<'_>) -> KafkaResult<i64> {
    let positions = part.consumer.position()?;
    let at = positions.find_partition(part.topic, part.partition).and_then(|p| p.offset().to_raw());
    Ok(at.unwrap_or(-1))
}

fn raw_record(partition: i32, room: &str, message: &BorrowedMessage<'_>) -> RawRecord {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let headers = message
        .headers()
        .map(|headers| headers.iter().map(|h| (h.key.to_owned(), h.value.map(text).unwrap_or_default())).collect());
    RawRecord {
        partition,
        offset: message.offset(),
        timestamp_ms: message.timestamp().to_millis(),
        key: Some(room.to_owned()),
        headers: headers.unwrap_or_default(),
        value: text(message.payload().unwrap_or_default()),
    }
}
