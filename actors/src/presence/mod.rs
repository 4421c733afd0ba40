//! `Presence`: who is online, here and on every other instance, and who is
//! typing. Instances tell each other through the presence topic; rooms are
//! told (through the hub) at most every 200 ms, however many joins a burst
//! brings, so a room of thousands is not told O(members²) times; and a large
//! room less often still, since telling it costs a frame per member.

mod directory;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use actix::prelude::*;

use self::directory::{Changed, Directory};
use crate::kafka::KafkaProducer;
use crate::messages::{
    Leaving, ListRooms, MemberChanged, NamesElsewhere, PresenceReceived, PublishSide, RemoteTyping, RoomCount,
    RoomPresence, SideTopic, TypingStarted,
};
use crate::protocol::PresenceRecord;
use crate::settings::ChatSettings;

/// Presence changes are published to the other instances, and rooms told
/// about their people, at most this often.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Members told about their room's people per second, at most, per room:
/// a room of 50 is told every 500 ms, one of 2,000 every 5 s. In a join
/// storm these frames, not the joins, were most of the server's work
/// (19,000 joins into 100 rooms: 95,000 presence frames a second).
const TOLD_PER_SECOND: u32 = 100;

/// The longest a room's count and names wait for a change to be told.
const SLOWEST_TELL: Duration = Duration::from_secs(5);

/// How long a room with `people` here waits between two presence updates.
fn tell_interval(people: usize) -> Duration {
    let people = u32::try_from(people).unwrap_or(u32::MAX);
    (Duration::from_secs(1).saturating_mul(people) / TOLD_PER_SECOND).clamp(DEBOUNCE, SLOWEST_TELL)
}

/// A `presence` frame names at most this many people (alphabetically first);
/// the full count is in `connection_update`. Keeps the frame small in rooms of
/// thousands, where a full list would be tens of KiB per member per change.
pub const PRESENCE_NAMES_MAX: usize = 50;

/// A typing notice older than this when it arrives is not shown.
const TYPING_FRESHNESS_MS: i64 = 5_000;

/// A snapshot record's rooms stay under this many bytes of names: Kafka
/// refuses messages over 1 MiB by default, and an instance may hold 20,000
/// people. A larger snapshot goes in several records.
const SNAPSHOT_PART_BYTES: usize = 200 * 1024;

/// Where presence tells what it learns.
pub struct PresenceOutputs {
    pub rooms: Recipient<RoomPresence>,
    pub typing: Recipient<RemoteTyping>,
    pub names: Recipient<NamesElsewhere>,
}

/// The parts of one instance's snapshot received so far.
struct Parts {
    timestamp_ms: i64,
    parts: u32,
    received: HashSet<u32>,
    rooms: BTreeMap<String, Vec<String>>,
}

/// Sessions of each name here, by room (one identity may have several
/// tabs open).
type Local = HashMap<String, BTreeMap<String, usize>>;

/// Local names by room, the other instances' directory, and what is due.
pub struct Presence {
    local: Local,
    directory: Directory,
    /// Snapshots of other instances still missing parts.
    partial: HashMap<String, Parts>,
    /// Rooms whose people changed since they were last told.
    dirty: HashSet<String>,
    /// When each room with people here was last told.
    told: HashMap<String, Instant>,
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
            partial: HashMap::new(),
            dirty: HashSet::new(),
            told: HashMap::new(),
            changed: false,
            outputs,
            producer,
            instance_id,
            settings,
        }
    }

    /// Tells each changed room with people here who is in it, once its
    /// [`tell_interval`] has passed since it was last told.
    fn tell_rooms(&mut self) {
        let now = Instant::now();
        self.dirty.retain(|room| self.local.contains_key(room));
        let due: Vec<String> = self
            .dirty
            .iter()
            .filter(|room| {
                let people = self.local.get(*room).map_or(0, BTreeMap::len);
                self.told.get(*room).is_none_or(|at| now.duration_since(*at) >= tell_interval(people))
            })
            .cloned()
            .collect();
        for room in due {
            self.dirty.remove(&room);
            self.told.insert(room.clone(), now);
            let here = self.local.get(&room).into_iter().flat_map(BTreeMap::keys);
            let users = listed(here.map(String::as_str).chain(self.directory.users(&room)));
            let remote_connections = self.directory.count(&room);
            self.outputs.rooms.do_send(RoomPresence { room, remote_connections, users });
        }
    }

    fn publish_snapshot(&mut self) {
        self.changed = false;
        let parts = split(&self.local, SNAPSHOT_PART_BYTES);
        let (timestamp_ms, count) = (now_ms(), u32::try_from(parts.len()).unwrap_or(u32::MAX));
        for (part, rooms) in (0..).zip(parts) {
            let instance = self.instance_id.clone();
            self.publish(&PresenceRecord::Snapshot { instance, rooms, timestamp_ms, part, parts: count });
        }
    }

    fn publish(&self, record: &PresenceRecord) {
        // A record holds only strings and integers: serializing cannot fail.
        let payload = serde_json::to_vec(record).expect("presence records serialize");
        self.producer.do_send(PublishSide { topic: SideTopic::Presence, key: self.instance_id.clone(), payload });
    }

    /// Collects a snapshot's parts; applies the whole once it has them all.
    fn on_snapshot(&mut self, instance: String, rooms: BTreeMap<String, Vec<String>>, at: (i64, u32, u32)) {
        let (timestamp_ms, part, parts) = at;
        let pending = self.partial.entry(instance.clone()).or_insert_with(|| Parts {
            timestamp_ms,
            parts,
            received: HashSet::new(),
            rooms: BTreeMap::new(),
        });
        if pending.timestamp_ms != timestamp_ms {
            // A newer snapshot started: the older one's missing parts will not come.
            *pending = Parts { timestamp_ms, parts, received: HashSet::new(), rooms: BTreeMap::new() };
        }
        pending.received.insert(part);
        for (room, names) in rooms {
            pending.rooms.entry(room).or_default().extend(names);
        }
        if pending.received.len() < usize::try_from(pending.parts).unwrap_or(usize::MAX) {
            return;
        }
        let Some(whole) = self.partial.remove(&instance) else { return };
        let changed = self.directory.apply(&instance, whole.rooms, Instant::now());
        self.changed_elsewhere(changed);
    }

    fn changed_elsewhere(&mut self, changed: Changed) {
        self.dirty.extend(changed.rooms);
        if !changed.joined.is_empty() || !changed.left.is_empty() {
            self.outputs.names.do_send(NamesElsewhere { joined: changed.joined, left: changed.left });
        }
    }

    fn on_record(&mut self, record: PresenceRecord) {
        let fresh = |timestamp_ms: i64, ttl_ms: i64| now_ms().saturating_sub(timestamp_ms) < ttl_ms;
        match record {
            PresenceRecord::Snapshot { instance, .. } if instance == self.instance_id => {}
            PresenceRecord::Snapshot { timestamp_ms, .. } if !fresh(timestamp_ms, self.ttl_ms()) => {}
            PresenceRecord::Snapshot { instance, rooms, timestamp_ms, part, parts } => {
                self.on_snapshot(instance, rooms, (timestamp_ms, part, parts));
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
            act.changed_elsewhere(gone);
        });
    }
}

impl Handler<MemberChanged> for Presence {
    type Result = ();

    fn handle(&mut self, msg: MemberChanged, _: &mut Self::Context) {
        if msg.joined {
            *self.local.entry(msg.room.clone()).or_default().entry(msg.username).or_default() += 1;
        } else if let Some(names) = self.local.get_mut(&msg.room) {
            // The name stays while another of its sessions is in the room.
            if let Some(sessions) = names.get_mut(&msg.username) {
                *sessions = sessions.saturating_sub(1);
            }
            names.retain(|_, sessions| *sessions > 0);
            if names.is_empty() {
                self.local.remove(&msg.room);
                self.told.remove(&msg.room);
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
            *counts.entry(room.as_str()).or_default() += names.values().sum::<usize>();
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

/// Rooms and their names, each once per session, in parts of at most
/// `budget` bytes of names (a room too large for one part is split across
/// several). Always one part at least: an empty one says the instance has nobody.
fn split(local: &Local, budget: usize) -> Vec<BTreeMap<String, Vec<String>>> {
    let mut parts = vec![BTreeMap::new()];
    let mut used = 0;
    for (room, names) in local {
        for name in names.iter().flat_map(|(name, sessions)| std::iter::repeat_n(name, *sessions)) {
            // Quotes, a comma and the room's key if it is new to the part.
            let cost = name.len() + 3 + room.len();
            if used + cost > budget && used > 0 {
                parts.push(BTreeMap::new());
                used = 0;
            }
            used += cost;
            if let Some(part) = parts.last_mut() {
                part.entry(room.clone()).or_insert_with(Vec::new).push(name.clone());
            }
        }
    }
    parts
}

/// The names a room's `presence` lists: each once (other instances give
/// one a session, so a name with several tabs comes several times), in
/// alphabetical order, at most [`PRESENCE_NAMES_MAX`].
fn listed<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut users: Vec<&str> = names.collect();
    users.sort_unstable();
    users.dedup();
    users.truncate(PRESENCE_NAMES_MAX);
    users.into_iter().map(str::to_owned).collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_rooms_are_told_less_often_and_none_waits_over_five_seconds() {
        assert_eq!(tell_interval(1), DEBOUNCE);
        assert_eq!(tell_interval(20), DEBOUNCE);
        assert_eq!(tell_interval(50), Duration::from_millis(500));
        assert_eq!(tell_interval(190), Duration::from_millis(1900));
        assert_eq!(tell_interval(2_000), SLOWEST_TELL);
        assert_eq!(tell_interval(usize::MAX), SLOWEST_TELL);
    }

    #[test]
    fn a_large_snapshot_is_split_into_parts_that_fit_a_kafka_message() {
        let mut local = Local::new();
        local.insert("lobby".into(), (0..20_000).map(|i| (format!("Azure Ronin {i}"), 1)).collect());
        local.insert("quiet".into(), BTreeMap::from([("Neon Oni".to_string(), 2)]));
        let parts = split(&local, SNAPSHOT_PART_BYTES);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(serde_json::to_vec(part).unwrap().len() < 256 * 1024);
        }
        let names: usize = parts.iter().flat_map(|p| p.values()).map(Vec::len).sum();
        assert_eq!(names, 20_002, "every name in some part, once per session");
        assert_eq!(split(&HashMap::new(), SNAPSHOT_PART_BYTES), vec![BTreeMap::new()], "nobody: one empty part");
    }

    #[test]
    fn a_name_with_many_sessions_takes_one_place_in_the_list() {
        let names = std::iter::repeat_n("Aoi", PRESENCE_NAMES_MAX).chain(["Zed", "Mio"]);
        assert_eq!(listed(names), ["Aoi", "Mio", "Zed"]);
        let crowd: Vec<String> = (0..2 * PRESENCE_NAMES_MAX).rev().map(|i| format!("User {i:03}")).collect();
        let listed = listed(crowd.iter().map(String::as_str));
        assert_eq!((listed.len(), listed[0].as_str()), (PRESENCE_NAMES_MAX, "User 000"), "the first 50, in order");
    }
}
