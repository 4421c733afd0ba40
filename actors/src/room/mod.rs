//! `ChatRoom`: the hub every session registers with. It owns the two Kafka
//! actors, sends chat messages to the log, fans out what comes back, answers
//! history from its per-room cache or from Kafka, and shares presence and
//! typing with the other instances through the presence topic.

mod log;
mod presence;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::broadcast;

use self::log::{Entry, RoomLog};
use self::presence::Directory;
use crate::kafka::{partition_for, ConsumerOutputs, KafkaClients, KafkaConsumer, KafkaProducer};
use crate::messages::{
    ChatFeed, ConsumerAssigned, Deliver, DescribeChat, DescribeTopic, FetchMessages, Flush, GoAway, History,
    HistoryStart, Join, Joined, Keep, Leave, ListRooms, Overview, Posted, PresenceReceived, Publish, RawRecord,
    ReadRoom, RecordReceived, Replay, RoomCount, RoomRecordsRequest, SendChat, SessionHandle, SessionId, Shutdown,
    Topic, Typing,
};
use crate::names;
use crate::protocol::{ChatRecord, ErrorCode, PresenceRecord, Refusal, ServerFrame};
use crate::settings::ChatSettings;

/// Same reasoning as the producer's: bursts queue in order instead of parking.
const MAILBOX_CAPACITY: usize = 65_536;

/// Presence changes are published to the other instances, and counts and
/// name lists to the rooms, at most this often: joins come in bursts, and
/// telling every member of a room about every join would cost O(members²).
const PRESENCE_DEBOUNCE: Duration = Duration::from_millis(200);

/// A `presence` frame names at most this many people (alphabetically first);
/// the full count is in `connection_update`. Keeps the frame small in rooms of
/// thousands, where a full list would be tens of KiB per member per change.
pub const PRESENCE_NAMES_MAX: usize = 50;

/// A typing notice older than this when it arrives is not shown.
const TYPING_FRESHNESS_MS: i64 = 5_000;

struct Member {
    session: SessionHandle,
    room: String,
    username: String,
    /// The room's count this session was last told, so a coalesced update
    /// only goes to those whose number changed.
    known_count: usize,
    /// The room's `sent` when this session joined.
    joined_at: u64,
    /// Chat messages the session has taken from its feed (it counts them).
    read: Arc<AtomicU64>,
}

impl Member {
    /// Chat messages sent to the room since this session joined that it has not read.
    fn unread(&self, sent: u64) -> u64 {
        (sent - self.joined_at).saturating_sub(self.read.load(Ordering::Relaxed))
    }
}

/// The sessions of one room on this instance, and the feed that carries its
/// chat messages to all of them at once.
struct Room {
    ids: HashSet<SessionId>,
    /// One send per message, whatever the number of members: each frame is
    /// stored once in the ring and every session reads it from there.
    feed: broadcast::Sender<(i64, crate::Frame)>,
    /// Chat messages sent into the feed so far.
    sent: u64,
    /// No member can be `outbound_queue` messages behind before `sent`
    /// reaches this: members are scanned for laggards only then.
    lag_check_at: u64,
}

impl Room {
    fn new(outbound_queue: usize) -> Self {
        let feed = broadcast::channel(outbound_queue.max(1)).0;
        Room { ids: HashSet::new(), feed, sent: 0, lag_check_at: outbound_queue as u64 }
    }
}

/// Sessions by id, rooms and their members, the names in use, recent
/// messages per room, and the other instances' presence.
pub struct ChatRoom {
    members: HashMap<SessionId, Member>,
    rooms: HashMap<String, Room>,
    usernames: HashSet<String>,
    logs: HashMap<String, RoomLog>,
    directory: Directory,
    producer: Addr<KafkaProducer>,
    consumer: Addr<KafkaConsumer>,
    /// Next offset the consumer will hand over, per chat partition. Empty
    /// until the consumer is assigned: a record written before then might be
    /// behind where it starts and never be broadcast, so sends wait for it.
    positions: HashMap<i32, i64>,
    settings: ChatSettings,
    instance_id: String,
    topic: String,
    presence_dirty: bool,
    /// Rooms whose count or names changed since the last announcement.
    announce_due: HashSet<String>,
}

impl ChatRoom {
    /// Starts the hub together with its Kafka producer and consumer.
    pub fn start(clients: KafkaClients, settings: ChatSettings) -> Addr<Self> {
        let clients = Arc::new(clients);
        Self::create(move |ctx| {
            ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
            let producer = KafkaProducer::new(&clients).start();
            let me = ctx.address();
            let outputs = ConsumerOutputs {
                records: me.clone().recipient(),
                presence: me.clone().recipient(),
                assigned: me.recipient(),
            };
            let (instance_id, topic) = (clients.instance_id.clone(), clients.settings.topic.clone());
            let consumer = KafkaConsumer::new(clients, outputs).start();
            Self {
                members: HashMap::new(),
                rooms: HashMap::new(),
                usernames: HashSet::new(),
                logs: HashMap::new(),
                directory: Directory::default(),
                producer,
                consumer,
                positions: HashMap::new(),
                settings,
                instance_id,
                topic,
                presence_dirty: false,
                announce_due: HashSet::new(),
            }
        })
    }

    /// Connections in `room` on every instance.
    fn occupancy(&self, room: &str) -> usize {
        self.local_count(room) + self.directory.count(room)
    }

    /// Connections in `room` on this instance.
    fn local_count(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, |r| r.ids.len())
    }

    /// Sends one encoded frame other than a chat message (those go through
    /// the room's feed) to every session in `room` except `skip`. A session
    /// whose queue is full is not waited for: it leaves the room.
    fn broadcast(&mut self, room: &str, frame: &crate::Frame, skip: Option<SessionId>) {
        let Some(room) = self.rooms.get(room) else { return };
        let slow: Vec<SessionId> = room
            .ids
            .iter()
            .filter(|id| Some(**id) != skip)
            .filter(|id| self.members.get(id).is_some_and(|member| !deliver(member, frame)))
            .copied()
            .collect();
        for id in slow {
            self.evict(id);
        }
    }

    /// Hands a chat message to every session of `room` through its feed.
    /// A session a whole feed's worth behind would miss the next one: it
    /// leaves the room now, as it would if a `Deliver` found its queue full.
    fn publish_chat(&mut self, room: &str, offset: i64, frame: crate::Frame) {
        let Some(room) = self.rooms.get_mut(room) else { return };
        // No receivers (everyone just left) is not an error: the record is in Kafka.
        let recipients = room.feed.send((offset, frame)).unwrap_or_default();
        room.sent += 1;
        metrics::counter!(crate::metrics::MESSAGES_DELIVERED).increment(recipients as u64);
        if room.sent < room.lag_check_at {
            return;
        }
        // Each message puts a member at most one further behind, so the one
        // furthest behind that stays tells when the next scan is due. (The
        // feed's own length would not: an evicted session's receiver keeps it
        // full until that session's actor is gone.)
        let limit = self.settings.outbound_queue as u64;
        let (mut laggards, mut furthest) = (Vec::new(), 0);
        for id in &room.ids {
            let Some(unread) = self.members.get(id).map(|m| m.unread(room.sent)) else { continue };
            if unread >= limit {
                laggards.push(*id);
            } else {
                furthest = furthest.max(unread);
            }
        }
        room.lag_check_at = room.sent + (limit - furthest);
        for id in laggards {
            self.evict(id);
        }
    }

    /// Drops a session that cannot keep up: out of the room at once, and told
    /// to close (which it does when its socket moves again).
    fn evict(&mut self, id: SessionId) {
        let Some(member) = self.remove_member(id) else { return };
        ::log::warn!(
            "slow_consumer: {} has {} frames queued; disconnected",
            member.username,
            self.settings.outbound_queue
        );
        crate::metrics::error(ErrorCode::SlowConsumer);
        member.session.go_away.do_send(GoAway::TOO_SLOW);
        self.announce(&member.room);
    }

    fn remove_member(&mut self, id: SessionId) -> Option<Member> {
        let member = self.members.remove(&id)?;
        self.usernames.remove(&member.username);
        if let Some(room) = self.rooms.get_mut(&member.room) {
            room.ids.remove(&id);
            if room.ids.is_empty() {
                self.rooms.remove(&member.room);
                self.logs.remove(&member.room);
            }
        }
        self.count_connections(&member.room);
        self.presence_dirty = true;
        Some(member)
    }

    /// Marks a room's count and names as changed: after any join or leave,
    /// here or on another instance. [`Self::announce_changes`] tells the room.
    fn announce(&mut self, room: &str) {
        if self.rooms.contains_key(room) {
            self.announce_due.insert(room.to_owned());
        }
    }

    /// Tells each changed room's sessions how many are there (only those
    /// whose number changed) and who (the first [`PRESENCE_NAMES_MAX`] names).
    fn announce_changes(&mut self) {
        if self.announce_due.is_empty() {
            return;
        }
        let timestamp = now_rfc3339();
        let mut slow = Vec::new();
        for room in std::mem::take(&mut self.announce_due) {
            let Some(ids) = self.rooms.get(&room).map(|r| &r.ids) else { continue };
            let active_connections = ids.len() + self.directory.count(&room);
            let count =
                ServerFrame::ConnectionUpdate { active_connections, room: &room, timestamp: &timestamp }.encode();
            let mut users: Vec<&str> = ids
                .iter()
                .filter_map(|id| self.members.get(id))
                .map(|m| m.username.as_str())
                .chain(self.directory.users(&room))
                .collect();
            users.sort_unstable();
            users.truncate(PRESENCE_NAMES_MAX);
            let presence = ServerFrame::Presence { room: &room, users: &users }.encode();
            for id in ids {
                let Some(member) = self.members.get_mut(id) else { continue };
                let stale = std::mem::replace(&mut member.known_count, active_connections) != active_connections;
                if (stale && !deliver(member, &count)) || !deliver(member, &presence) {
                    slow.push(*id);
                }
            }
        }
        for id in slow {
            self.evict(id);
        }
    }

    fn count_connections(&self, room: &str) {
        metrics::gauge!(crate::metrics::CONNECTIONS, "room" => room.to_owned()).set(self.local_count(room) as f64);
    }

    fn partition_of(&self, room: &str) -> Option<i32> {
        let partitions = i32::try_from(self.positions.len()).ok().filter(|n| *n > 0)?;
        Some(partition_for(room, partitions))
    }

    /// A room's recent messages, from its cache when it holds them,
    /// otherwise read from Kafka (and the cache extended with what was read).
    fn history(
        &mut self,
        room: String,
        start: HistoryStart,
        max: usize,
        keep: Keep,
    ) -> ResponseActFuture<Self, Result<History, Refusal>> {
        // An offset past what this instance has read may be one it has not
        // read yet, or one from a log that no longer exists: Kafka decides.
        let ahead = match (start, self.partition_of(&room)) {
            (HistoryStart::After(offset), Some(partition)) => {
                self.positions.get(&partition).is_some_and(|next| offset + 1 > *next)
            }
            _ => false,
        };
        let cached = self.logs.get(&room).filter(|_| !ahead).and_then(|log| match start {
            HistoryStart::After(offset) => log.after(offset),
            HistoryStart::Last(count) => log.last(count),
        });
        if let Some(entries) = cached {
            return Box::pin(fut::ready(Ok(capped(entries, max, keep))));
        }
        let Some(partition) = self.partition_of(&room) else {
            return Box::pin(fut::ready(Err(unavailable("the server is still connecting to Kafka"))));
        };
        let read = self.consumer.send(ReadRoom { room: room.clone(), partition, start, max, keep });
        Box::pin(read.into_actor(self).map(move |result, act, _| {
            let read = match result {
                Ok(Ok(read)) => read,
                Ok(Err(e)) => {
                    ::log::warn!("kafka_unavailable: history of {room} not read: {e}");
                    return Err(unavailable("Kafka could not be read for history"));
                }
                Err(_) => return Err(unavailable("the Kafka consumer is not running")),
            };
            let entries: Vec<Entry> =
                read.records.iter().filter_map(|record| parse(record.offset, record.value.as_bytes())).collect();
            if let Some(log) = act.logs.get_mut(&room) {
                log.absorb(read.from, read.until, read.from <= read.low, entries.clone());
            }
            Ok(History { messages: entries, recovered: !read.truncated })
        }))
    }

    /// Sends a joining session the history it asked for.
    fn replay(&mut self, id: SessionId, room: String, start: HistoryStart, ctx: &mut Context<Self>) {
        let (max, keep) = match start {
            HistoryStart::After(_) => (self.settings.replay_max, Keep::Newest),
            HistoryStart::Last(count) => (count, Keep::Newest),
        };
        let history = self.history(room.clone(), start, max, keep);
        ctx.spawn(history.map(move |history, act, _| {
            let Some(member) = act.members.get(&id) else { return };
            let history = history.unwrap_or_else(|_| History { messages: Vec::new(), recovered: false });
            let count = act.occupancy(&room);
            let frames = history
                .messages
                .iter()
                .map(|(offset, record)| (*offset, ServerFrame::chat(record, count, *offset).encode()))
                .collect();
            member.session.replay.do_send(Replay { frames, recovered: history.recovered });
        }));
    }

    fn publish_presence(&mut self) {
        self.presence_dirty = false;
        let mut rooms: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for member in self.members.values() {
            rooms.entry(member.room.clone()).or_default().push(member.username.clone());
        }
        let snapshot = PresenceRecord::Snapshot { instance: self.instance_id.clone(), rooms, timestamp_ms: now_ms() };
        self.announce_to_instances(&snapshot);
    }

    fn announce_to_instances(&self, record: &PresenceRecord) {
        if self.positions.is_empty() {
            return;
        }
        // Presence is soft state, re-sent every interval: a lost record is
        // corrected by the next, so it is not awaited.
        let payload = serde_json::to_vec(record).expect("presence records serialize");
        self.producer.do_send(Publish {
            topic: Topic::Presence,
            key: self.instance_id.clone(),
            partition: None,
            payload,
        });
    }

    fn on_remote_presence(&mut self, record: PresenceRecord) {
        match record {
            PresenceRecord::Snapshot { instance, .. } if instance == self.instance_id => {}
            PresenceRecord::Snapshot { timestamp_ms, .. }
                if now_ms() - timestamp_ms > self.settings.presence_ttl.as_millis() as i64 => {}
            PresenceRecord::Snapshot { instance, rooms, .. } => {
                for room in self.directory.apply(&instance, rooms, Instant::now()) {
                    self.announce(&room);
                }
            }
            PresenceRecord::Typing { instance, room, username, timestamp_ms } => {
                if instance != self.instance_id && now_ms() - timestamp_ms < TYPING_FRESHNESS_MS {
                    self.broadcast(&room, &ServerFrame::Typing { room: &room, username: &username }.encode(), None);
                }
            }
        }
    }
}

impl Actor for ChatRoom {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(PRESENCE_DEBOUNCE, |act, _| {
            act.announce_changes();
            if act.presence_dirty {
                act.publish_presence();
            }
        });
        ctx.run_interval(self.settings.presence_interval, |act, _| {
            act.publish_presence();
            for room in act.directory.expire(Instant::now(), act.settings.presence_ttl) {
                act.announce(&room);
            }
        });
    }
}

impl Handler<Join> for ChatRoom {
    type Result = Joined;

    fn handle(&mut self, msg: Join, ctx: &mut Self::Context) -> Joined {
        let username = names::unique_name(&self.usernames);
        self.usernames.insert(username.clone());
        let outbound_queue = self.settings.outbound_queue;
        let room = self.rooms.entry(msg.room.clone()).or_insert_with(|| Room::new(outbound_queue));
        room.ids.insert(msg.id);
        // Subscribed here, in the room's order of events: the session sees
        // every message recorded after it joined, none before.
        let feed = ChatFeed { messages: room.feed.subscribe(), read: Arc::default() };
        let joined_at = room.sent;
        if let (false, Some(partition)) = (self.logs.contains_key(&msg.room), self.partition_of(&msg.room)) {
            let next = self.positions.get(&partition).copied().unwrap_or_default();
            self.logs.insert(msg.room.clone(), RoomLog::new(next, self.settings.cache_per_room));
        }
        ::log::debug!("{username} joined {} ({})", msg.room, msg.id);
        // The newcomer learns the count from the reply, right after its welcome.
        let active_connections = self.occupancy(&msg.room);
        let member = Member {
            session: msg.session,
            room: msg.room.clone(),
            username: username.clone(),
            known_count: active_connections,
            joined_at,
            read: feed.read.clone(),
        };
        self.members.insert(msg.id, member);
        self.announce(&msg.room);
        self.count_connections(&msg.room);
        self.presence_dirty = true;
        self.replay(msg.id, msg.room.clone(), msg.history, ctx);
        Joined { username, active_connections, feed }
    }
}

impl Handler<Leave> for ChatRoom {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Self::Context) {
        let Some(member) = self.remove_member(msg.id) else { return };
        ::log::debug!("{} left {} ({})", member.username, member.room, msg.id);
        self.announce(&member.room);
    }
}

impl Handler<Typing> for ChatRoom {
    type Result = ();

    fn handle(&mut self, msg: Typing, _: &mut Self::Context) {
        let Some(member) = self.members.get(&msg.id) else { return };
        let (room, username) = (member.room.clone(), member.username.clone());
        let frame = ServerFrame::Typing { room: &room, username: &username }.encode();
        self.broadcast(&room, &frame, Some(msg.id));
        let notice =
            PresenceRecord::Typing { instance: self.instance_id.clone(), room, username, timestamp_ms: now_ms() };
        self.announce_to_instances(&notice);
    }
}

impl Handler<SendChat> for ChatRoom {
    type Result = ResponseFuture<Result<Posted, Refusal>>;

    fn handle(&mut self, msg: SendChat, _: &mut Self::Context) -> Self::Result {
        let Some(partition) = self.partition_of(&msg.room) else {
            let refusal = unavailable("the server is still connecting to Kafka; try again shortly");
            return Box::pin(async move { Err(refusal) });
        };
        let record = ChatRecord {
            message_id: uuid::Uuid::now_v7().to_string(),
            username: msg.username,
            text: msg.text,
            room: msg.room,
            timestamp: now_rfc3339(),
        };
        // A record holds only strings: serializing cannot fail.
        let payload = serde_json::to_vec(&record).expect("chat records serialize");
        let publish = Publish { topic: Topic::Chat, key: record.room.clone(), partition: Some(partition), payload };
        metrics::counter!(crate::metrics::MESSAGES_RECEIVED).increment(1);
        let stored = self.producer.send(publish);
        Box::pin(async move {
            match stored.await {
                Ok(Ok(stored)) => Ok(Posted {
                    message_id: record.message_id,
                    timestamp: record.timestamp,
                    partition: stored.partition,
                    offset: stored.offset,
                }),
                Ok(Err(e)) => {
                    ::log::warn!("kafka_unavailable: message {} not stored: {e}", record.message_id);
                    Err(unavailable("Kafka did not store the message; it was not sent"))
                }
                Err(e) => {
                    ::log::warn!("kafka_unavailable: producer unreachable: {e}");
                    Err(unavailable("the Kafka producer is not running; the message was not sent"))
                }
            }
        })
    }
}

impl Handler<FetchMessages> for ChatRoom {
    type Result = ResponseActFuture<Self, Result<History, Refusal>>;

    fn handle(&mut self, msg: FetchMessages, _: &mut Self::Context) -> Self::Result {
        let keep = match msg.start {
            HistoryStart::After(_) => Keep::Oldest,
            HistoryStart::Last(_) => Keep::Newest,
        };
        self.history(msg.room, msg.start, msg.max, keep)
    }
}

impl Handler<ListRooms> for ChatRoom {
    type Result = MessageResult<ListRooms>;

    fn handle(&mut self, _: ListRooms, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.room_counts())
    }
}

impl Handler<DescribeChat> for ChatRoom {
    type Result = ResponseActFuture<Self, Result<Overview, Refusal>>;

    fn handle(&mut self, _: DescribeChat, _: &mut Self::Context) -> Self::Result {
        let described = self.consumer.send(DescribeTopic);
        Box::pin(described.into_actor(self).map(|result, act, _| {
            let mut partitions = match result {
                Ok(Ok(partitions)) => partitions,
                _ => return Err(unavailable("Kafka could not be asked about the topic")),
            };
            for info in &mut partitions {
                info.position = act.positions.get(&info.partition).copied();
                info.lag = info.position.map(|position| (info.high - position).max(0));
            }
            Ok(Overview {
                instance: act.instance_id.clone(),
                topic: act.topic.clone(),
                partitions,
                rooms: act.room_counts(),
            })
        }))
    }
}

impl Handler<RoomRecordsRequest> for ChatRoom {
    type Result = ResponseFuture<Result<Vec<RawRecord>, Refusal>>;

    fn handle(&mut self, msg: RoomRecordsRequest, _: &mut Self::Context) -> Self::Result {
        let Some(partition) = self.partition_of(&msg.room) else {
            return Box::pin(async { Err(unavailable("the server is still connecting to Kafka")) });
        };
        let start = HistoryStart::Last(msg.limit);
        let read =
            self.consumer.send(ReadRoom { room: msg.room, partition, start, max: msg.limit, keep: Keep::Newest });
        Box::pin(async move {
            match read.await {
                Ok(Ok(read)) => Ok(read.records),
                _ => Err(unavailable("Kafka could not be read")),
            }
        })
    }
}

impl ChatRoom {
    /// Rooms with people online on any instance, busiest first.
    fn room_counts(&self) -> Vec<RoomCount> {
        let mut counts: HashMap<&str, usize> = self.directory.counts();
        for (name, room) in &self.rooms {
            *counts.entry(name.as_str()).or_default() += room.ids.len();
        }
        let mut rooms: Vec<RoomCount> = counts
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(room, active_connections)| RoomCount { room: room.to_owned(), active_connections })
            .collect();
        rooms.sort_by(|a, b| b.active_connections.cmp(&a.active_connections).then_with(|| a.room.cmp(&b.room)));
        rooms
    }
}

impl Handler<Shutdown> for ChatRoom {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Shutdown, _: &mut Self::Context) -> Self::Result {
        ::log::info!("closing {} sessions", self.members.len());
        for member in self.members.values() {
            member.session.go_away.do_send(GoAway::SHUTDOWN);
        }
        // Tell the other instances at once rather than after the TTL.
        let goodbye = PresenceRecord::Snapshot {
            instance: self.instance_id.clone(),
            rooms: BTreeMap::new(),
            timestamp_ms: now_ms(),
        };
        self.announce_to_instances(&goodbye);
        let flushed = self.producer.send(Flush);
        Box::pin(async move {
            if flushed.await.is_err() {
                ::log::warn!("the producer stopped before it could flush");
            }
        })
    }
}

impl Handler<ConsumerAssigned> for ChatRoom {
    type Result = ();

    fn handle(&mut self, msg: ConsumerAssigned, _: &mut Self::Context) {
        self.positions = msg.partitions.into_iter().collect();
        // Rooms joined before Kafka was reachable get their cache now.
        for room in self.rooms.keys() {
            if let Some(partition) = self.partition_of(room) {
                let next = self.positions[&partition];
                self.logs.entry(room.clone()).or_insert_with(|| RoomLog::new(next, self.settings.cache_per_room));
            }
        }
        self.publish_presence();
    }
}

impl Handler<RecordReceived> for ChatRoom {
    type Result = ();

    fn handle(&mut self, msg: RecordReceived, _: &mut Self::Context) {
        self.positions.insert(msg.partition, msg.offset + 1);
        let Some((offset, record)) = parse(msg.offset, &msg.payload) else {
            ::log::warn!("skipping record {}@{}: not a chat record", msg.partition, msg.offset);
            return;
        };
        let Some(log) = self.logs.get_mut(&record.room) else { return };
        log.push(offset, record.clone());
        let frame = ServerFrame::chat(&record, self.occupancy(&record.room), offset).encode();
        self.publish_chat(&record.room, offset, frame);
        if let Some(sent_ms) = msg.timestamp_ms {
            let seconds = (now_ms() - sent_ms).max(0) as f64 / 1000.0;
            metrics::histogram!(crate::metrics::END_TO_END_SECONDS).record(seconds);
        }
    }
}

impl Handler<PresenceReceived> for ChatRoom {
    type Result = ();

    fn handle(&mut self, msg: PresenceReceived, _: &mut Self::Context) {
        match serde_json::from_slice(&msg.payload) {
            Ok(record) => self.on_remote_presence(record),
            Err(e) => ::log::warn!("skipping presence record: {e}"),
        }
    }
}

/// Queues `frame` for one session; false when its queue is full.
fn deliver(member: &Member, frame: &crate::Frame) -> bool {
    !matches!(member.session.deliver.try_send(Deliver { frame: frame.clone() }), Err(SendError::Full(_)))
}

fn parse(offset: i64, payload: &[u8]) -> Option<Entry> {
    serde_json::from_slice::<ChatRecord>(payload).ok().map(|record| (offset, Arc::new(record)))
}

/// Applies a page size to entries that are complete for their range. A
/// replay cut short has not recovered everything; a page has.
fn capped(mut entries: Vec<Entry>, max: usize, keep: Keep) -> History {
    let recovered = entries.len() <= max || keep == Keep::Oldest;
    if entries.len() > max {
        match keep {
            Keep::Newest => drop(entries.drain(..entries.len() - max)),
            Keep::Oldest => entries.truncate(max),
        }
    }
    History { messages: entries, recovered }
}

fn unavailable(message: &str) -> Refusal {
    Refusal::new(ErrorCode::KafkaUnavailable, message)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// RFC 3339 in UTC with milliseconds, the timestamp format of every frame.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
