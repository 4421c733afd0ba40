//! `ChatRoom`: the hub every session registers with. It owns the two Kafka
//! actors, sends chat messages to the log and fans out what comes back.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;

use crate::kafka::{KafkaClients, KafkaConsumer, KafkaProducer};
use crate::messages::{
    ConsumerAssigned, Deliver, Flush, GoAway, Join, Joined, Leave, Posted, Publish, RecordReceived, SendChat,
    SessionId, Shutdown,
};
use crate::names;
use crate::protocol::{ChatRecord, ErrorCode, Refusal, ServerFrame};

/// Same reasoning as the producer's: bursts queue in order instead of parking.
const MAILBOX_CAPACITY: usize = 65_536;

struct Member {
    addr: Recipient<Deliver>,
    go_away: Recipient<GoAway>,
    room: String,
    username: String,
}

/// Sessions by id, rooms as sets of ids, and the names in use.
pub struct ChatRoom {
    members: HashMap<SessionId, Member>,
    rooms: HashMap<String, HashSet<SessionId>>,
    usernames: HashSet<String>,
    producer: Addr<KafkaProducer>,
    /// Until the consumer is assigned, a record written now might be behind
    /// the offset it starts from and never be broadcast, so sends wait for it.
    consuming: bool,
    _consumer: Addr<KafkaConsumer>,
}

impl ChatRoom {
    /// Starts the hub together with its Kafka producer and consumer.
    pub fn start(clients: KafkaClients) -> Addr<Self> {
        let clients = Arc::new(clients);
        Self::create(move |ctx| {
            ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
            let producer = KafkaProducer::new(&clients).start();
            let me = ctx.address();
            let consumer = KafkaConsumer::new(clients, me.clone().recipient(), me.recipient()).start();
            Self {
                members: HashMap::new(),
                rooms: HashMap::new(),
                usernames: HashSet::new(),
                producer,
                consuming: false,
                _consumer: consumer,
            }
        })
    }

    fn occupancy(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, HashSet::len)
    }

    /// Sends one encoded frame to every session in `room` except `skip`.
    fn broadcast(&self, room: &str, frame: &crate::Frame, skip: Option<SessionId>) {
        let Some(ids) = self.rooms.get(room) else { return };
        for id in ids.iter().filter(|id| Some(**id) != skip) {
            if let Some(member) = self.members.get(id) {
                member.addr.do_send(Deliver { frame: frame.clone() });
            }
        }
    }

    fn announce_occupancy(&self, room: &str, skip: Option<SessionId>) {
        let timestamp = now_rfc3339();
        let frame = ServerFrame::ConnectionUpdate {
            active_connections: self.occupancy(room),
            room,
            timestamp: &timestamp,
        }
        .encode();
        self.broadcast(room, &frame, skip);
    }
}

impl Actor for ChatRoom {
    type Context = Context<Self>;
}

impl Handler<Join> for ChatRoom {
    type Result = Joined;

    fn handle(&mut self, msg: Join, _: &mut Self::Context) -> Joined {
        let username = names::unique_name(&self.usernames);
        self.usernames.insert(username.clone());
        self.rooms.entry(msg.room.clone()).or_default().insert(msg.id);
        log::debug!("{username} joined {} ({})", msg.room, msg.id);
        // The newcomer learns the count from the reply, right after its welcome.
        self.announce_occupancy(&msg.room, Some(msg.id));
        let active_connections = self.occupancy(&msg.room);
        let member = Member { addr: msg.addr, go_away: msg.go_away, room: msg.room, username: username.clone() };
        self.members.insert(msg.id, member);
        Joined { username, active_connections }
    }
}

impl Handler<Leave> for ChatRoom {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Self::Context) {
        let Some(member) = self.members.remove(&msg.id) else { return };
        self.usernames.remove(&member.username);
        if let Some(ids) = self.rooms.get_mut(&member.room) {
            ids.remove(&msg.id);
            if ids.is_empty() {
                self.rooms.remove(&member.room);
            }
        }
        log::debug!("{} left {} ({})", member.username, member.room, msg.id);
        self.announce_occupancy(&member.room, None);
    }
}

impl Handler<SendChat> for ChatRoom {
    type Result = ResponseFuture<Result<Posted, Refusal>>;

    fn handle(&mut self, msg: SendChat, _: &mut Self::Context) -> Self::Result {
        if !self.consuming {
            let refusal = unavailable("the server is still connecting to Kafka; try again shortly");
            return Box::pin(async move { Err(refusal) });
        }
        let record = ChatRecord {
            message_id: uuid::Uuid::now_v7().to_string(),
            username: msg.username,
            text: msg.text,
            room: msg.room,
            timestamp: now_rfc3339(),
        };
        // A record holds only strings: serializing cannot fail.
        let payload = serde_json::to_vec(&record).expect("chat records serialize");
        let stored = self.producer.send(Publish { key: record.room.clone(), payload });
        Box::pin(async move {
            match stored.await {
                Ok(Ok(stored)) => Ok(Posted {
                    message_id: record.message_id,
                    timestamp: record.timestamp,
                    partition: stored.partition,
                    offset: stored.offset,
                }),
                Ok(Err(e)) => {
                    log::warn!("kafka_unavailable: message {} not stored: {e}", record.message_id);
                    Err(unavailable("Kafka did not store the message; it was not sent"))
                }
                Err(e) => {
                    log::warn!("kafka_unavailable: producer unreachable: {e}");
                    Err(unavailable("the Kafka producer is not running; the message was not sent"))
                }
            }
        })
    }
}

impl Handler<Shutdown> for ChatRoom {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Shutdown, _: &mut Self::Context) -> Self::Result {
        log::info!("closing {} sessions", self.members.len());
        for member in self.members.values() {
            member.go_away.do_send(GoAway);
        }
        let flushed = self.producer.send(Flush);
        Box::pin(async move {
            if flushed.await.is_err() {
                log::warn!("the producer stopped before it could flush");
            }
        })
    }
}

impl Handler<ConsumerAssigned> for ChatRoom {
    type Result = ();

    fn handle(&mut self, _: ConsumerAssigned, _: &mut Self::Context) {
        self.consuming = true;
    }
}

impl Handler<RecordReceived> for ChatRoom {
    type Result = ();

    fn handle(&mut self, msg: RecordReceived, _: &mut Self::Context) {
        let record: ChatRecord = match serde_json::from_slice(&msg.payload) {
            Ok(record) => record,
            Err(e) => {
                log::warn!("skipping record {}@{}: not a chat record: {e}", msg.partition, msg.offset);
                return;
            }
        };
        let active_connections = self.occupancy(&record.room);
        if active_connections == 0 {
            return;
        }
        let frame = ServerFrame::chat(&record, active_connections, msg.offset).encode();
        self.broadcast(&record.room, &frame, None);
    }
}

fn unavailable(message: &str) -> Refusal {
    Refusal::new(ErrorCode::KafkaUnavailable, message)
}

/// RFC 3339 in UTC with milliseconds, the timestamp format of every frame.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
