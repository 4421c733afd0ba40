//! `ChatHub`: the hub of all rooms. It owns membership and names, hands
//! messages to the producer, and fans out every message the consumer reads,
//! and every count, presence and typing notice, through each member's
//! [`Outbox`]. It never waits for a session: one too slow for its outbox's
//! rule is dropped.

mod outcomes;

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use self::outcomes::{now_ms, Answer, Key, Outcomes, State};
use crate::history::History;
use crate::kafka::{ConsumerOutputs, KafkaClients, KafkaConsumer, KafkaProducer, KafkaReader};
use crate::messages::{
    Appended, Assigned, Delivery, Entry, Epoch, EpochChanged, Flush, Frame, Join, Leave, Leaving, Locate,
    MemberChanged, Posted, PublishChat, RecordReceived, RemoteTyping, Replay, RoomPresence, SendChat, Sender, Seq,
    SessionId, Shutdown, Typing, TypingStarted,
};
use crate::names;
use crate::outbox::{CloseReason, Outbox};
use crate::presence::{Presence, PresenceOutputs};
use crate::protocol::{ChatRecord, ErrorCode, Refusal, ServerFrame};
use crate::settings::{ChatSettings, HistorySettings};

/// Bursts queue in order here instead of parking their senders.
const MAILBOX_CAPACITY: usize = 65_536;

/// How often every outbox is checked for a session too slow while nothing
/// new is pushed to it, and the retry window's old entries forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Recent message ids remembered per room, to recognise a retried message
/// whose first attempt turned out stored after all.
const RECENT_IDS: usize = 128;

/// The actors of one server, for the HTTP side.
pub struct Chat {
    pub hub: Addr<ChatHub>,
    pub history: Addr<History>,
    pub presence: Addr<Presence>,
    pub consumer: Addr<KafkaConsumer>,
    pub reader: Addr<KafkaReader>,
}

struct Member {
    room: String,
    username: String,
    outbox: Outbox,
    /// The room's count this session was last told, so a count update only
    /// goes to those whose number changed.
    known_count: usize,
}

/// The members of one room on this instance.
#[derive(Default)]
struct Room {
    outboxes: HashMap<SessionId, Outbox>,
    /// Sessions in the room on other instances, as presence last said.
    remote: usize,
    /// Hashes of the room's latest message ids.
    recent: VecDeque<u64>,
}

impl Room {
    fn count(&self) -> usize {
        self.outboxes.len() + self.remote
    }
}

pub struct ChatHub {
    members: HashMap<SessionId, Member>,
    rooms: HashMap<String, Room>,
    names: HashSet<String>,
    /// The log's epoch; `None` until the consumer is assigned.
    epoch: Option<Epoch>,
    producer: Addr<KafkaProducer>,
    history: Addr<History>,
    presence: Addr<Presence>,
    outcomes: Outcomes,
    settings: ChatSettings,
}

impl ChatHub {
    /// Starts the hub with the actors it owns: the Kafka producer, consumer
    /// and reader, the history and presence.
    pub fn start(clients: KafkaClients, settings: ChatSettings, history: HistorySettings) -> Chat {
        let clients = Arc::new(clients);
        let mut owned = None;
        let hub = Self::create(|ctx| {
            ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
            let me = ctx.address();
            let producer = KafkaProducer::new(&clients).start();
            let reader = KafkaReader::new(clients.clone(), history.readers, history.max_pending_reads).start();
            let history = History::new(reader.clone(), history).start();
            let outputs = PresenceOutputs { rooms: me.clone().recipient(), typing: me.clone().recipient() };
            let presence =
                Presence::new(outputs, producer.clone(), clients.instance_id.clone(), settings.clone()).start();
            let outputs = ConsumerOutputs {
                records: me.clone().recipient(),
                assigned: me.recipient(),
                presence: presence.clone().recipient(),
            };
            let consumer = KafkaConsumer::new(clients.clone(), outputs, reader.clone()).start();
            owned = Some((history.clone(), presence.clone(), consumer, reader));
            Self {
                members: HashMap::new(),
                rooms: HashMap::new(),
                names: HashSet::new(),
                epoch: None,
                producer,
                history,
                presence,
                outcomes: Outcomes::default(),
                settings,
            }
        });
        let (history, presence, consumer, reader) = owned.expect("the hub's constructor ran");
        Chat { hub, history, presence, consumer, reader }
    }

    /// Pushes `frame` to every session of `room` but `skip`; drops those too slow.
    fn fan_out(&mut self, room: &str, frame: &Frame, seq: Option<Seq>, skip: Option<SessionId>) -> usize {
        let Some(members) = self.rooms.get(room) else { return 0 };
        let now = Instant::now();
        let mut slow = Vec::new();
        for (id, outbox) in &members.outboxes {
            if Some(*id) != skip && outbox.push(frame, seq, now).is_err() {
                slow.push(*id);
            }
        }
        let delivered = members.outboxes.len() - slow.len() - usize::from(skip.is_some());
        for id in slow {
            self.evict(id);
        }
        delivered
    }

    /// Drops a session that cannot keep up: out of its room at once, its
    /// queue freed, and told why (when its socket moves again).
    fn evict(&mut self, id: SessionId) {
        let Some(member) = self.remove(id) else { return };
        log::warn!(
            "slow_consumer: {} has over {} or {:?} of frames queued; disconnected",
            member.username,
            self.settings.outbound_max_bytes,
            self.settings.outbound_max_delay
        );
        crate::metrics::error(ErrorCode::SlowConsumer);
        member.outbox.close(CloseReason::TOO_SLOW, true);
    }

    fn remove(&mut self, id: SessionId) -> Option<Member> {
        let member = self.members.remove(&id)?;
        self.names.remove(&member.username);
        if let Some(room) = self.rooms.get_mut(&member.room) {
            room.outboxes.remove(&id);
            if room.outboxes.is_empty() {
                self.rooms.remove(&member.room);
            }
        }
        self.count_connections(&member.room);
        let left = MemberChanged { room: member.room.clone(), username: member.username.clone(), joined: false };
        self.presence.do_send(left);
        Some(member)
    }

    fn count_connections(&self, room: &str) {
        let here = self.rooms.get(room).map_or(0, |r| r.outboxes.len());
        metrics::gauge!(crate::metrics::CONNECTIONS, "room" => room.to_owned()).set(here as f64);
    }

    /// Checks every outbox for a session too slow with nothing new pushed,
    /// and reports what is queued.
    fn sweep(&mut self) {
        let now = Instant::now();
        let mut queued = 0;
        let slow: Vec<SessionId> = self
            .members
            .iter()
            .filter(|(_, member)| {
                queued += member.outbox.queued_bytes();
                member.outbox.check(now).is_err()
            })
            .map(|(id, _)| *id)
            .collect();
        for id in slow {
            self.evict(id);
        }
        metrics::gauge!(crate::metrics::OUTBOX_BYTES).set(queued as f64);
        self.outcomes.expire(now);
    }

    fn record(&self, username: String, room: String, text: String) -> ChatRecord {
        ChatRecord {
            message_id: uuid::Uuid::now_v7().to_string(),
            username,
            text,
            room,
            timestamp: now_rfc3339(),
            attempt: 1,
        }
    }

    /// Hands `record` to the producer; its outcome goes to `reply`.
    fn publish(&mut self, record: ChatRecord, reply: Reply, ctx: &mut Context<Self>) {
        // A record holds only strings and integers: serializing cannot fail.
        let payload = serde_json::to_vec(&record).expect("chat records serialize");
        metrics::counter!(crate::metrics::MESSAGES_RECEIVED).increment(1);
        let stored = self.producer.send(PublishChat { room: record.room.clone(), payload });
        ctx.spawn(stored.into_actor(self).map(move |delivery, act, _| {
            let delivery = delivery.unwrap_or_else(|e| match e {
                MailboxError::Closed => Delivery::NotStored { reason: "the producer is not running".into() },
                MailboxError::Timeout => Delivery::Unknown { reason: "the producer did not answer".into() },
            });
            let outcome = act.outcome(delivery, &record);
            match reply {
                Reply::Direct(answer) => drop(answer.send(outcome)),
                Reply::Tracked(key, step) => act.outcomes.settle(&key, step, outcome),
            }
        }));
    }

    fn posted(&self, record: &ChatRecord, seq: Seq) -> Option<Posted> {
        let epoch = self.epoch.clone()?;
        Some(Posted { message_id: record.message_id.clone(), timestamp: record.timestamp.clone(), seq, epoch })
    }

    fn outcome(&self, delivery: Delivery, record: &ChatRecord) -> Result<Posted, Refusal> {
        match delivery {
            Delivery::Stored { seq } => {
                self.posted(record, seq).ok_or_else(|| Refusal::unavailable("the server lost its Kafka assignment"))
            }
            Delivery::NotStored { reason } => {
                log::warn!("kafka_unavailable: message {} not stored: {reason}", record.message_id);
                Err(Refusal::unavailable("Kafka did not store the message; it was not sent"))
            }
            Delivery::Unknown { reason } => {
                log::warn!("outcome_unknown: message {}: {reason}", record.message_id);
                Err(Refusal::new(
                    ErrorCode::OutcomeUnknown,
                    "Kafka's answer was lost: the message may be stored. Send it again with the same \
                     client_msg_id to learn which; it will not be posted twice",
                )
                .with_message_id(&record.message_id))
            }
        }
    }

    /// A send with a `client_msg_id` seen before: the first attempt's
    /// outcome, settling a lost one first.
    fn retry(&mut self, key: Key, ctx: &mut Context<Self>) -> oneshot::Receiver<Result<Posted, Refusal>> {
        let (answer, answered) = oneshot::channel();
        let Some(attempt) = self.outcomes.get_mut(&key) else { return answered };
        match &mut attempt.state {
            State::Stored(posted) => drop(answer.send(Ok(posted.clone()))),
            State::Pending(waiting) => waiting.push(answer),
            State::Unknown => {
                attempt.state = State::Pending(vec![answer]);
                attempt.step += 1;
                let step = attempt.step;
                let record = attempt.record.clone();
                let locate = Locate {
                    room: record.room.clone(),
                    message_id: record.message_id.clone(),
                    sent_ms: attempt.sent_ms,
                };
                let search = self.history.send(locate);
                ctx.spawn(
                    search.into_actor(self).map(move |found, act, ctx| act.settle(key, step, record, found, ctx)),
                );
            }
        }
        answered
    }

    /// The search for a lost message is back: stored, or write it again.
    fn settle(
        &mut self,
        key: Key,
        step: u32,
        mut record: ChatRecord,
        found: Result<Result<Option<Seq>, Refusal>, MailboxError>,
        ctx: &mut Context<Self>,
    ) {
        match found {
            Ok(Ok(Some(seq))) => {
                let outcome = self.posted(&record, seq).ok_or_else(|| Refusal::unavailable("no Kafka assignment"));
                self.outcomes.settle(&key, step, outcome);
            }
            Ok(Ok(None)) => {
                let Some(attempt) = self.outcomes.get_mut(&key).filter(|a| a.step == step) else { return };
                record.attempt += 1;
                attempt.record.attempt = record.attempt;
                attempt.sent_ms = now_ms();
                self.publish(record, Reply::Tracked(key, step), ctx);
            }
            Ok(Err(_)) | Err(_) => {
                let lost =
                    Refusal::new(ErrorCode::OutcomeUnknown, "the log could not be searched yet; try again shortly")
                        .with_message_id(&record.message_id);
                self.outcomes.settle(&key, step, Err(lost));
            }
        }
    }

    /// A message with a lost outcome arrived: it is stored; tell its sender.
    fn settle_seen(&mut self, record: &ChatRecord, seq: Seq) {
        let Some(epoch) = self.epoch.clone() else { return };
        let posted =
            |r: &ChatRecord| Posted { message_id: r.message_id.clone(), timestamp: r.timestamp.clone(), seq, epoch };
        let Some((session, posted)) = self.outcomes.seen(&record.message_id, posted) else { return };
        let Some(member) = self.members.get(&session) else { return };
        let ack = ServerFrame::Ack {
            client_msg_id: None,
            message_id: &posted.message_id,
            offset: posted.seq,
            epoch: posted.epoch.as_str(),
        }
        .encode();
        if member.outbox.push(&ack, None, Instant::now()).is_err() {
            self.evict(session);
        }
    }
}

/// Where a publish's outcome goes.
enum Reply {
    Direct(Answer),
    Tracked(Key, u32),
}

fn id_hash(message_id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    message_id.hash(&mut hasher);
    hasher.finish()
}

impl Actor for ChatHub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(SWEEP_INTERVAL, |act, _| act.sweep());
    }
}

impl Handler<Join> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: Join, _: &mut Self::Context) {
        let Join { id, room, outbox, history } = msg;
        let Some(epoch) = self.epoch.clone() else {
            return outbox.close(CloseReason::NOT_READY, false);
        };
        let username = names::unique_name(&self.names);
        self.names.insert(username.clone());
        let members = self.rooms.entry(room.clone()).or_default();
        members.outboxes.insert(id, outbox.clone());
        let count = members.count();
        let (now, session_id, timestamp) = (Instant::now(), id.to_string(), now_rfc3339());
        let welcome =
            ServerFrame::Welcome { username: &username, room: &room, session_id: &session_id, epoch: epoch.as_str() };
        let update = ServerFrame::ConnectionUpdate { active_connections: count, room: &room, timestamp: &timestamp };
        // An empty outbox takes two frames: these cannot fail.
        let _ = outbox.push(&welcome.encode(), None, now).and(outbox.push(&update.encode(), None, now));
        // Live frames wait behind the replay from now on: no gap, no duplicate.
        outbox.hold();
        log::debug!("{username} joined {room} ({id})");
        self.presence.do_send(MemberChanged { room: room.clone(), username: username.clone(), joined: true });
        self.members.insert(id, Member { room: room.clone(), username, outbox: outbox.clone(), known_count: count });
        self.count_connections(&room);
        self.history.do_send(Replay { room, start: history, outbox, active_connections: count });
    }
}

impl Handler<Leave> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Self::Context) {
        if let Some(member) = self.remove(msg.id) {
            log::debug!("{} left {} ({})", member.username, member.room, msg.id);
        }
    }
}

impl Handler<Typing> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: Typing, _: &mut Self::Context) {
        let Some(member) = self.members.get(&msg.id) else { return };
        let (room, username) = (member.room.clone(), member.username.clone());
        let frame = ServerFrame::Typing { room: &room, username: &username }.encode();
        self.fan_out(&room, &frame, None, Some(msg.id));
        self.presence.do_send(TypingStarted { room, username });
    }
}

impl Handler<SendChat> for ChatHub {
    type Result = ResponseFuture<Result<Posted, Refusal>>;

    fn handle(&mut self, msg: SendChat, ctx: &mut Self::Context) -> Self::Result {
        let refused = |refusal: Refusal| -> Self::Result { Box::pin(async move { Err(refusal) }) };
        if self.epoch.is_none() {
            return refused(Refusal::unavailable("the server is still connecting to Kafka; try again shortly"));
        }
        let (username, sender, notify) = match &msg.sender {
            Sender::Session(id) => match self.members.get(id) {
                Some(member) => (member.username.clone(), format!("session:{id}"), Some(*id)),
                None => return refused(Refusal::unavailable("the session is not in a room")),
            },
            Sender::Http { username } => (username.clone(), format!("http:{username}"), None),
        };
        let (answer, answered) = oneshot::channel();
        let record = self.record(username, msg.room, msg.text);
        match msg.client_msg_id {
            Some(client_msg_id) => {
                let key = Key { sender, client_msg_id };
                if self.outcomes.get_mut(&key).is_some() {
                    let answered = self.retry(key, ctx);
                    return Box::pin(async move { answered.await.unwrap_or_else(|_| Err(gone())) });
                }
                let forget_at = Instant::now() + self.settings.retry_window;
                self.outcomes.begin(key.clone(), record.clone(), notify, answer, forget_at);
                self.publish(record, Reply::Tracked(key, 0), ctx);
            }
            None => self.publish(record, Reply::Direct(answer), ctx),
        }
        Box::pin(async move { answered.await.unwrap_or_else(|_| Err(gone())) })
    }
}

fn gone() -> Refusal {
    Refusal::unavailable("the chat hub stopped before Kafka answered")
}

impl Handler<RecordReceived> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: RecordReceived, _: &mut Self::Context) {
        let Some(epoch) = self.epoch.clone() else { return };
        let RecordReceived { room, seq, record, timestamp_ms } = msg;
        let id = id_hash(&record.message_id);
        if let Some(members) = self.rooms.get_mut(&room) {
            if record.attempt > 1 && members.recent.contains(&id) {
                metrics::counter!(crate::metrics::DUPLICATE_RECORDS).increment(1);
                return;
            }
            if members.recent.len() == RECENT_IDS {
                members.recent.pop_front();
            }
            members.recent.push_back(id);
        }
        let count = self.rooms.get(&room).map_or(0, Room::count);
        let frame = ServerFrame::chat(&record, count, seq, epoch.as_str()).encode();
        let delivered = self.fan_out(&room, &frame, Some(seq), None);
        metrics::counter!(crate::metrics::MESSAGES_DELIVERED).increment(delivered as u64);
        if self.outcomes.is_open(&record.message_id) {
            self.settle_seen(&record, seq);
        }
        self.history.do_send(Appended { room, entry: Entry { seq, record, frame } });
        if let Some(sent_ms) = timestamp_ms {
            let seconds = (now_ms() - sent_ms).max(0) as f64 / 1000.0;
            metrics::histogram!(crate::metrics::END_TO_END_SECONDS).record(seconds);
        }
    }
}

impl Handler<Assigned> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: Assigned, _: &mut Self::Context) {
        if self.epoch.as_ref().is_some_and(|epoch| *epoch != msg.epoch) {
            // Offsets the sessions hold belong to the old log: they come back
            // with them, and are told they are stale.
            let ids: Vec<SessionId> = self.members.keys().copied().collect();
            for id in ids {
                if let Some(member) = self.remove(id) {
                    member.outbox.close(CloseReason::LOG_RECREATED, true);
                }
            }
        }
        self.epoch = Some(msg.epoch.clone());
        self.history.do_send(EpochChanged { epoch: msg.epoch });
    }
}

impl Handler<RoomPresence> for ChatHub {
    type Result = ();

    /// Tells the room how many are there (only those whose number changed)
    /// and who (the first names).
    fn handle(&mut self, msg: RoomPresence, _: &mut Self::Context) {
        let Some(members) = self.rooms.get_mut(&msg.room) else { return };
        members.remote = msg.remote_connections;
        let count = members.count();
        let timestamp = now_rfc3339();
        let update =
            ServerFrame::ConnectionUpdate { active_connections: count, room: &msg.room, timestamp: &timestamp };
        let update = update.encode();
        let users: Vec<&str> = msg.users.iter().map(String::as_str).collect();
        let presence = ServerFrame::Presence { room: &msg.room, users: &users }.encode();
        let now = Instant::now();
        let mut slow = Vec::new();
        for id in members.outboxes.keys() {
            let Some(member) = self.members.get_mut(id) else { continue };
            let stale = std::mem::replace(&mut member.known_count, count) != count;
            let told = (!stale || member.outbox.push(&update, None, now).is_ok())
                && member.outbox.push(&presence, None, now).is_ok();
            if !told {
                slow.push(*id);
            }
        }
        for id in slow {
            self.evict(id);
        }
    }
}

impl Handler<RemoteTyping> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: RemoteTyping, _: &mut Self::Context) {
        let frame = ServerFrame::Typing { room: &msg.room, username: &msg.username }.encode();
        self.fan_out(&msg.room, &frame, None, None);
    }
}

impl Handler<Shutdown> for ChatHub {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Shutdown, _: &mut Self::Context) -> Self::Result {
        log::info!("closing {} sessions", self.members.len());
        for member in self.members.values() {
            member.outbox.close(CloseReason::SHUTDOWN, false);
        }
        self.presence.do_send(Leaving);
        let flushed = self.producer.send(Flush);
        Box::pin(async move {
            if flushed.await.is_err() {
                log::warn!("the producer stopped before it could flush");
            }
        })
    }
}

/// RFC 3339 in UTC with milliseconds, the timestamp format of every frame.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
