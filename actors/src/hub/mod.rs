//! `ChatHub`: the hub of all rooms. It owns membership, identities and
//! names ([`joining`]), hands messages to the producer ([`posting`]),
//! enforces moderation ([`rules`]), and fans out every message the consumer
//! reads, and every count, presence, typing and moderation notice, through
//! each member's [`Outbox`]. It never waits for a session: one too slow for its outbox's
//! rule is dropped.

mod acts;
mod joining;
mod names;
mod outcomes;
mod posting;
mod rules;

pub use joining::{Admit, CurrentEpoch};

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use self::names::NameBook;
use self::outcomes::{now_ms, Outcomes};
use self::rules::Rules;
use crate::history::{frame_of, History};
use crate::identity::{Identity, Tokens};
use crate::kafka::{ConsumerOutputs, Handover, KafkaClients, KafkaConsumer, KafkaProducer, KafkaReader};
use crate::messages::{
    Appended, Assigned, Change, Entry, Epoch, EpochChanged, Flush, Folded, Frame, Join, Leave, Leaving, MemberChanged,
    ModerationApplied, RecordReceived, RemoteTyping, RoomPresence, Seq, SessionId, Shutdown, Typing, TypingStarted,
    Unfollow,
};
use crate::moderation::Moderation;
use crate::outbox::{CloseReason, Outbox};
use crate::presence::{Presence, PresenceOutputs};
use crate::protocol::{ErrorCode, RemovedBy, RoomRecord, ServerFrame, Target};
use crate::settings::{ChatSettings, HistorySettings, ModerationSettings};

/// Bursts queue in order here instead of parking their senders.
const MAILBOX_CAPACITY: usize = 65_536;

/// How often every outbox is checked for a session too slow while nothing
/// new is pushed to it, and old retry, slow-mode and name entries forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Typing notices reach a room at most this often, all of them in one
/// frame: a notice costs the hub O(1), not O(members).
const TYPING_INTERVAL: Duration = Duration::from_millis(250);

/// Names in one typing frame.
const TYPING_NAMES_MAX: usize = 10;

/// Identities online here are announced again this often, so they keep
/// their names on every instance while they stay.
const STILL_HERE_INTERVAL: Duration = Duration::from_secs(600);

/// Rooms with a `chat_connections` series of their own; the rest are
/// counted together as `other`, so invented room names cannot grow the
/// metric without bound.
const LABELED_ROOMS_MAX: usize = 50;

/// Recent message ids remembered per room, to recognise a retried message
/// whose first attempt turned out stored after all.
const RECENT_IDS: usize = 128;

/// What the hub needs besides the Kafka clients.
pub struct HubSettings {
    pub chat: ChatSettings,
    pub history: HistorySettings,
    pub moderation: ModerationSettings,
    pub tokens: Tokens,
}

/// The actors of one server, for the HTTP side.
pub struct Chat {
    pub hub: Addr<ChatHub>,
    pub history: Addr<History>,
    pub presence: Addr<Presence>,
    pub moderation: Addr<Moderation>,
    pub consumer: Addr<KafkaConsumer>,
    pub reader: Addr<KafkaReader>,
}

struct Member {
    room: String,
    identity: Identity,
    address: IpAddr,
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
    /// Names that started typing since the room was last told.
    typing: Vec<String>,
    /// Records not fanned out yet, in the log's order: the first waits for
    /// the history to fold it (an event, a reply), the rest behind it.
    behind: VecDeque<(Seq, Due)>,
    /// The newest record of the room read, and the newest this instance
    /// wrote: until the first reaches the second, an act is checked
    /// against a state that may not hold this instance's own last acts.
    read_up_to: Option<Seq>,
    written_up_to: Option<Seq>,
    /// Acts and replies waiting for the room's own writes to be read.
    parked: Vec<posting::Parked>,
    /// Writes to the room Kafka has not answered yet: the room stays, and
    /// is read, until it has, so a write of an emptied room that fills
    /// again is read back by the room that counts on it.
    in_flight: usize,
}

/// A record's frame, as far as the hub has it.
enum Due {
    /// The history folds it; `removed`: a moderator removed it meanwhile.
    Folding {
        removed: bool,
    },
    Ready(Frame),
    /// The record changes nothing (an event the rules refuse).
    Nothing,
}

impl Room {
    fn count(&self) -> usize {
        self.outboxes.len() + self.remote
    }

    /// Whether everything this instance wrote to the room has reached the hub.
    fn caught_up(&self) -> bool {
        self.written_up_to <= self.read_up_to
    }
}

pub struct ChatHub {
    members: HashMap<SessionId, Member>,
    rooms: HashMap<String, Room>,
    /// Joins to rooms whose log this instance is starting to read.
    joining: HashMap<String, Vec<Join>>,
    names: NameBook,
    tokens: Tokens,
    rules: Rules,
    /// The log's epoch; `None` until the consumer is assigned.
    epoch: Option<Epoch>,
    producer: Addr<KafkaProducer>,
    consumer: Addr<KafkaConsumer>,
    history: Addr<History>,
    presence: Addr<Presence>,
    moderation: Addr<Moderation>,
    outcomes: Outcomes,
    /// Sends per client address, over all of its connections.
    address_budget: DefaultKeyedRateLimiter<IpAddr>,
    /// Rooms with a metric series of their own.
    labeled_rooms: HashSet<String>,
    /// Sessions here in rooms without one.
    other_rooms: usize,
    settings: ChatSettings,
}

impl ChatHub {
    /// Starts the hub with the actors it owns: the Kafka producer, consumer
    /// and reader, the history, presence and moderation. Fails on a blocked
    /// word pattern that is not a valid regular expression.
    pub fn start(clients: KafkaClients, settings: HubSettings) -> Result<Chat, regex::Error> {
        let rules = Rules::new(&settings.moderation)?;
        let clients = Arc::new(clients);
        let HubSettings { chat, history, tokens, .. } = settings;
        let mut owned = None;
        let hub = Self::create(|ctx| {
            ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
            let me = ctx.address();
            let handover = Handover::new(me.clone().recipient(), clients.live_rooms(), clients.max_text_chars);
            let producer = KafkaProducer::new(&clients, handover.clone()).start();
            let reader = KafkaReader::new(clients.clone(), history.readers, history.max_pending_reads).start();
            let live = clients.live_rooms();
            let history = History::new(reader.clone(), me.clone().recipient(), live, history, chat.edit_window).start();
            let outputs = vec![me.clone().recipient(), history.clone().recipient()];
            let moderation = Moderation::new(producer.clone(), outputs).start();
            let outputs = PresenceOutputs {
                rooms: me.clone().recipient(),
                typing: me.clone().recipient(),
                names: me.clone().recipient(),
            };
            let presence = Presence::new(outputs, producer.clone(), clients.instance_id.clone(), chat.clone()).start();
            let outputs = ConsumerOutputs {
                records: handover,
                assigned: me.clone().recipient(),
                presence: presence.clone().recipient(),
                identities: me.recipient(),
                moderation: moderation.clone().recipient(),
                feed_stopped: history.clone().recipient(),
            };
            let consumer = KafkaConsumer::new(clients.clone(), outputs, reader.clone()).start();
            owned = Some((history.clone(), presence.clone(), moderation.clone(), consumer.clone(), reader));
            let per_second = NonZeroU32::new(chat.address_rate_per_second).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(chat.address_rate_burst).unwrap_or(NonZeroU32::MIN);
            Self {
                members: HashMap::new(),
                rooms: HashMap::new(),
                joining: HashMap::new(),
                names: NameBook::default(),
                tokens,
                rules,
                epoch: None,
                producer,
                consumer,
                history,
                presence,
                moderation,
                outcomes: Outcomes::default(),
                address_budget: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
                labeled_rooms: HashSet::new(),
                other_rooms: 0,
                settings: chat,
            }
        });
        let (history, presence, moderation, consumer, reader) = owned.expect("the hub's constructor ran");
        Ok(Chat { hub, history, presence, moderation, consumer, reader })
    }

    /// A removed message still waiting in the room's queue (behind a record
    /// being folded) is not shown after the room is told of its removal.
    fn never_show(&mut self, room: &str, seq: Seq) {
        let Some(members) = self.rooms.get_mut(room) else { return };
        for (_, due) in members.behind.iter_mut().filter(|(queued, _)| *queued == seq) {
            *due = match due {
                Due::Folding { .. } => Due::Folding { removed: true },
                _ => Due::Nothing,
            };
        }
    }

    /// Fans out, in order, the frames at the front of the room's queue that
    /// are ready.
    fn release(&mut self, room: &str) {
        loop {
            let Some(members) = self.rooms.get_mut(room) else { return };
            let Some((seq, due)) = members.behind.pop_front() else { return };
            match due {
                folding @ Due::Folding { .. } => return members.behind.push_front((seq, folding)),
                Due::Nothing => {}
                Due::Ready(frame) => {
                    let delivered = self.fan_out(room, &frame, Some(seq), None);
                    metrics::counter!(crate::metrics::MESSAGES_DELIVERED).increment(delivered as u64);
                }
            }
        }
    }

    /// Whether `record` is a message the room just had (a later attempt, or
    /// another service's producer writing it twice); notes the room's
    /// messages, and that their speakers stopped typing.
    fn is_repeat(&mut self, room: &str, record: &RoomRecord) -> bool {
        let (Some(members), Some(message)) = (self.rooms.get_mut(room), record.as_message()) else { return false };
        let id = id_hash(&message.message_id);
        if members.recent.contains(&id) {
            return true;
        }
        if members.recent.len() == RECENT_IDS {
            members.recent.pop_front();
        }
        members.recent.push_back(id);
        // Whoever just spoke has stopped typing: a notice still waiting
        // for the tick would come after their message and look stale.
        members.typing.retain(|name| *name != message.username);
        false
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
            member.identity.name,
            self.settings.outbound_max_bytes,
            self.settings.outbound_max_delay
        );
        crate::metrics::error(ErrorCode::SlowConsumer);
        member.outbox.close(CloseReason::TOO_SLOW, true);
    }

    fn remove(&mut self, id: SessionId) -> Option<Member> {
        let member = self.members.remove(&id)?;
        self.names.release(&member.identity);
        if let Some(room) = self.rooms.get_mut(&member.room) {
            room.outboxes.remove(&id);
            self.close_if_unused(&member.room);
        }
        self.count_connections(&member.room, false);
        let left = MemberChanged { room: member.room.clone(), username: member.identity.name.clone(), joined: false };
        self.presence.do_send(left);
        Some(member)
    }

    /// Stops following `room` once nobody here is in it, no write of it is
    /// in flight and no act of it waits for its reads (that would never be
    /// answered).
    fn close_if_unused(&mut self, room: &str) {
        if self.rooms.get(room).is_some_and(|r| r.outboxes.is_empty() && r.parked.is_empty() && r.in_flight == 0) {
            self.rooms.remove(room);
            self.consumer.do_send(Unfollow { room: room.to_owned() });
        }
    }

    /// Closes every session matching `target` (a ban takes effect at once).
    fn close_matching(&mut self, target: &Target, reason: CloseReason) {
        let matching: Vec<SessionId> = self
            .members
            .iter()
            .filter(|(_, m)| match target {
                Target::Identity(id) => m.identity.id == *id,
                Target::Address(address) => m.address.to_string() == *address,
            })
            .map(|(id, _)| *id)
            .collect();
        for id in matching {
            if let Some(member) = self.remove(id) {
                member.outbox.close(reason, true);
            }
        }
    }

    fn count_connections(&mut self, room: &str, joined: bool) {
        if !self.labeled_rooms.contains(room) && self.labeled_rooms.len() < LABELED_ROOMS_MAX && joined {
            self.labeled_rooms.insert(room.to_owned());
        }
        if self.labeled_rooms.contains(room) {
            let here = self.rooms.get(room).map_or(0, |r| r.outboxes.len());
            metrics::gauge!(crate::metrics::CONNECTIONS, "room" => room.to_owned()).set(here as f64);
        } else {
            self.other_rooms = if joined { self.other_rooms + 1 } else { self.other_rooms.saturating_sub(1) };
            metrics::gauge!(crate::metrics::CONNECTIONS, "room" => "other").set(self.other_rooms as f64);
        }
    }

    /// Checks every outbox for a session too slow with nothing new pushed,
    /// reports what is queued, and forgets what is old.
    fn sweep(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        self.unpark_overdue(now, ctx);
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
        self.rules.forget(now);
        self.names.forget(now_ms(), self.name_memory_ms());
        self.address_budget.retain_recent();
    }

    /// Tells every room with new typists who is typing, in one frame.
    fn tell_typing(&mut self) {
        let due: Vec<(String, Vec<String>)> = self
            .rooms
            .iter_mut()
            .filter(|(_, room)| !room.typing.is_empty())
            .map(|(name, room)| (name.clone(), std::mem::take(&mut room.typing)))
            .collect();
        for (room, typists) in due {
            let users: Vec<&str> = typists.iter().map(String::as_str).collect();
            let frame = ServerFrame::Typing { room: &room, username: users[0], users: &users }.encode();
            // Each typist sees the others: the page leaves its own name out.
            self.fan_out(&room, &frame, None, None);
        }
    }

    fn typing_in(&mut self, room: &str, username: String) {
        let Some(room) = self.rooms.get_mut(room) else { return };
        if room.typing.len() < TYPING_NAMES_MAX && !room.typing.contains(&username) {
            room.typing.push(username);
        }
    }
}

fn id_hash(message_id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    message_id.hash(&mut hasher);
    hasher.finish()
}

impl Actor for ChatHub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(SWEEP_INTERVAL, |act, ctx| act.sweep(ctx));
        ctx.run_interval(TYPING_INTERVAL, |act, _| act.tell_typing());
        ctx.run_interval(STILL_HERE_INTERVAL, |act, _| act.still_here());
    }
}

impl Handler<Leave> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Self::Context) {
        // Gone before its room's partition was read: never admitted.
        self.joining.values_mut().for_each(|joins| joins.retain(|join| join.id != msg.id));
        if let Some(member) = self.remove(msg.id) {
            log::debug!("{} left {} ({})", member.identity.name, member.room, msg.id);
        }
    }
}

impl Handler<Typing> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: Typing, _: &mut Self::Context) {
        let Some(member) = self.members.get(&msg.id) else { return };
        let (room, username) = (member.room.clone(), member.identity.name.clone());
        self.typing_in(&room, username.clone());
        self.presence.do_send(TypingStarted { room, username });
    }
}

impl Handler<RemoteTyping> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: RemoteTyping, _: &mut Self::Context) {
        self.typing_in(&msg.room, msg.username);
    }
}

impl Handler<RecordReceived> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: RecordReceived, ctx: &mut Self::Context) {
        let Some(epoch) = self.epoch.clone() else { return };
        let RecordReceived { room, seq, record, timestamp_ms } = msg;
        if let Some(members) = self.rooms.get_mut(&room) {
            members.read_up_to = members.read_up_to.max(Some(seq));
        }
        if self.is_repeat(&room, &record) {
            metrics::counter!(crate::metrics::DUPLICATE_RECORDS).increment(1);
            return;
        }
        if self.outcomes.is_open(record.id()) {
            self.settle_seen(&record, seq);
        }
        let count = self.rooms.get(&room).map_or(0, Room::count);
        let mut entry = Entry { seq, record, frame: Frame::default(), state: Default::default() };
        // An instance that reads a message after its removal never shows it.
        if self.rules.is_deleted(&epoch, &room, seq) {
            entry.state.remove();
        }
        // A plain message's frame is its own; anything else is folded by
        // the history, and what follows it in the room waits for it.
        let plain = entry.record.names().is_none();
        if plain {
            entry.frame = frame_of(&entry, None, None, count, epoch.as_str());
        }
        let here = self.rooms.get_mut(&room);
        let reply = here.is_some() && !plain;
        if let Some(members) = here {
            let due = if plain { Due::Ready(entry.frame.clone()) } else { Due::Folding { removed: false } };
            members.behind.push_back((seq, due));
        }
        self.history.do_send(Appended { room: room.clone(), entry, active_connections: count, reply });
        self.release(&room);
        self.unpark(&room, ctx);
        if let Some(sent_ms) = timestamp_ms {
            let seconds = now_ms().saturating_sub(sent_ms).max(0) as f64 / 1000.0;
            metrics::histogram!(crate::metrics::END_TO_END_SECONDS).record(seconds);
        }
    }
}

impl Handler<Folded> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: Folded, _: &mut Self::Context) {
        let Some(members) = self.rooms.get_mut(&msg.room) else { return };
        // A room emptied and filled again meanwhile has its own queue.
        let Some((_, due)) = members.behind.iter_mut().find(|(seq, _)| *seq == msg.seq) else { return };
        *due = match (&due, msg.frame) {
            (Due::Folding { removed: false }, Some(frame)) => Due::Ready(frame),
            _ => Due::Nothing,
        };
        self.release(&msg.room);
    }
}

impl Handler<ModerationApplied> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: ModerationApplied, _: &mut Self::Context) {
        self.rules.apply(&msg.change);
        match &msg.change {
            Change::Deleted { epoch, room, seq } if Some(epoch) == self.epoch.as_ref() => {
                let (offset, epoch, by) = (*seq, epoch.as_str(), RemovedBy::Moderator);
                self.never_show(room, offset);
                let frame = ServerFrame::MessageDeleted { room, offset, epoch, by, event_offset: None }.encode();
                self.fan_out(room, &frame, None, None);
            }
            Change::Banned { target, banned: true } => {
                self.close_matching(target, CloseReason::BANNED);
            }
            _ => {}
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

#[cfg(test)]
mod tests;
