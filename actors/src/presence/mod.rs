//! `Presence`: who is online, here and on every other instance, and who is
//! typing. Instances tell each other through the presence topic; rooms are
//! told (through the hub) at most every 200 ms, however many joins a burst
//! brings, so a room of thousands is not told O(members²) times.

mod directory;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use actix::prelude::*;

use self::directory::Directory;
use crate::kafka::KafkaProducer;
use crate::messages::{
    Leaving, ListRooms, MemberChanged, PresenceReceived, PublishPresence, RemoteTyping, RoomCount, RoomPresence,
    TypingStarted,
};
use crate::protocol::PresenceRecord;
use crate::settings::ChatSettings;

/// Presence changes are published to the other instances, and rooms told
/// about their people, at most this often.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// A `presence` frame names at most this many people (alphabetically first);
/// the full count is in `connection_update`. Keeps the frame small in rooms of
/// thousands, where a full list would be tens of KiB per member per change.
pub const PRESENCE_NAMES_MAX: usize = 50;

/// A typing notice older than this when it arrives is not shown.
const TYPING_FRESHNESS_MS: i64 = 5_000;

/// Where presence tells what it learns.
pub struct PresenceOutputs {
    pub rooms: Recipient<RoomPresence>,
    pub typing: Recipient<RemoteTyping>,
}

/// Local names by room, the other instances' directory, and what is due.
pub struct Presence {
    local: HashMap<String, BTreeSet<String>>,
    directory: Directory,
    /// Rooms whose people changed since they were last told.
    dirty: HashSet<String>,
    /// This instance's snapshot changed since it was last published.
    changed: bool,
    outputs: PresenceOutputs,
    producer: Addr<KafkaProducer>,
    instance_id: String,
    settings: ChatSettings,
}

impl Presence {
    pub fn new(
        outputs: PresenceOutputs,
        producer: Addr<KafkaProducer>,
        instance_id: String,
        settings: ChatSettings,
    ) -> Self {
        Self {
            local: HashMap::new(),
            directory: Directory::default(),
            dirty: HashSet::new(),
            changed: false,
            outputs,
            producer,
            instance_id,
            settings,
        }
    }

    /// Tells each changed room (with people here) who is in it.
    fn tell_rooms(&mut self) {
        for room in std::mem::take(&mut self.dirty) {
            let Some(here) = self.local.get(&room) else { continue };
            let mut users: Vec<&str> = here.iter().map(String::as_str).chain(self.directory.users(&room)).collect();
            users.sort_unstable();
            users.truncate(PRESENCE_NAMES_MAX);
            let users = users.into_iter().map(str::to_owned).collect();
            let remote_connections = self.directory.count(&room);
            self.outputs.rooms.do_send(RoomPresence { room, remote_connections, users });
        }
    }

    fn publish_snapshot(&mut self) {
        self.changed = false;
        let rooms: BTreeMap<String, Vec<String>> =
            self.local.iter().map(|(room, names)| (room.clone(), names.iter().cloned().collect())).collect();
        self.publish(&PresenceRecord::Snapshot { instance: self.instance_id.clone(), rooms, timestamp_ms: now_ms() });
    }

    fn publish(&self, record: &PresenceRecord) {
        // A record holds only strings and integers: serializing cannot fail.
        let payload = serde_json::to_vec(record).expect("presence records serialize");
        self.producer.do_send(PublishPresence { key: self.instance_id.clone(), payload });
    }

    fn on_record(&mut self, record: PresenceRecord) {
        let fresh = |timestamp_ms: i64, ttl_ms: i64| now_ms() - timestamp_ms < ttl_ms;
        match record {
            PresenceRecord::Snapshot { instance, .. } if instance == self.instance_id => {}
            PresenceRecord::Snapshot { timestamp_ms, .. } if !fresh(timestamp_ms, self.ttl_ms()) => {}
            PresenceRecord::Snapshot { instance, rooms, .. } => {
                self.dirty.extend(self.directory.apply(&instance, rooms, Instant::now()));
            }
            PresenceRecord::Typing { instance, room, username, timestamp_ms } => {
                if instance != self.instance_id && fresh(timestamp_ms, TYPING_FRESHNESS_MS) {
                    self.outputs.typing.do_send(RemoteTyping { room, username });
                }
            }
        }
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.settings.presence_ttl.as_millis()).unwrap_or(i64::MAX)
    }
}

impl Actor for Presence {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(DEBOUNCE, |act, _| {
            act.tell_rooms();
            if act.changed {
                act.publish_snapshot();
            }
        });
        ctx.run_interval(self.settings.presence_interval, |act, _| {
            act.publish_snapshot();
            let gone = act.directory.expire(Instant::now(), act.settings.presence_ttl);
            act.dirty.extend(gone);
        });
    }
}

impl Handler<MemberChanged> for Presence {
    type Result = ();

    fn handle(&mut self, msg: MemberChanged, _: &mut Self::Context) {
        if msg.joined {
            self.local.entry(msg.room.clone()).or_default().insert(msg.username);
        } else if let Some(names) = self.local.get_mut(&msg.room) {
            names.remove(&msg.username);
            if names.is_empty() {
                self.local.remove(&msg.room);
            }
        }
        self.dirty.insert(msg.room);
        self.changed = true;
    }
}

impl Handler<TypingStarted> for Presence {
    type Result = ();

    fn handle(&mut self, msg: TypingStarted, _: &mut Self::Context) {
        let notice = PresenceRecord::Typing {
            instance: self.instance_id.clone(),
            room: msg.room,
            username: msg.username,
            timestamp_ms: now_ms(),
        };
        self.publish(&notice);
    }
}

impl Handler<PresenceReceived> for Presence {
    type Result = ();

    fn handle(&mut self, msg: PresenceReceived, _: &mut Self::Context) {
        match serde_json::from_slice(&msg.payload) {
            Ok(record) => self.on_record(record),
            Err(e) => log::warn!("skipping presence record: {e}"),
        }
    }
}

impl Handler<ListRooms> for Presence {
    type Result = MessageResult<ListRooms>;

    /// Rooms with people online on any instance, busiest first.
    fn handle(&mut self, _: ListRooms, _: &mut Self::Context) -> Self::Result {
        let mut counts: HashMap<&str, usize> = self.directory.counts();
        for (room, names) in &self.local {
            *counts.entry(room.as_str()).or_default() += names.len();
        }
        let mut rooms: Vec<RoomCount> = counts
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(room, active_connections)| RoomCount { room: room.to_owned(), active_connections })
            .collect();
        rooms.sort_by(|a, b| b.active_connections.cmp(&a.active_connections).then_with(|| a.room.cmp(&b.room)));
        MessageResult(rooms)
    }
}

impl Handler<Leaving> for Presence {
    type Result = ();

    /// Tells the other instances at once rather than after the TTL.
    fn handle(&mut self, _: Leaving, _: &mut Self::Context) {
        self.local.clear();
        self.publish_snapshot();
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
