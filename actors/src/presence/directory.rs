//! `Directory`: who is online on the other instances, as they last told us
//! through the presence topic. An instance that stops telling is forgotten
//! after the presence TTL, so a crashed instance's users leave in bounded time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

struct Remote {
    seen: Instant,
    rooms: BTreeMap<String, Vec<String>>,
}

#[derive(Default)]
pub struct Directory {
    remotes: HashMap<String, Remote>,
}

impl Directory {
    /// Records `instance`'s latest snapshot; returns the rooms whose users changed.
    pub fn apply(&mut self, instance: &str, rooms: BTreeMap<String, Vec<String>>, now: Instant) -> HashSet<String> {
        let previous = self.remotes.remove(instance).map(|r| r.rooms).unwrap_or_default();
        let changed = changed_rooms(&previous, &rooms);
        if !rooms.is_empty() {
            self.remotes.insert(instance.to_owned(), Remote { seen: now, rooms });
        }
        changed
    }

    /// Forgets instances silent for longer than `ttl`; returns their rooms.
    pub fn expire(&mut self, now: Instant, ttl: Duration) -> HashSet<String> {
        let stale: Vec<String> =
            self.remotes.iter().filter(|(_, r)| now.duration_since(r.seen) > ttl).map(|(id, _)| id.clone()).collect();
        let mut changed = HashSet::new();
        for instance in stale {
            log::info!("instance {instance} fell silent; its users leave presence");
            if let Some(remote) = self.remotes.remove(&instance) {
                changed.extend(remote.rooms.into_keys());
            }
        }
        changed
    }

    /// Names online in `room` on other instances.
    pub fn users<'a>(&'a self, room: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.remotes.values().filter_map(move |r| r.rooms.get(room)).flatten().map(String::as_str)
    }

    /// Connections in `room` on other instances.
    pub fn count(&self, room: &str) -> usize {
        self.remotes.values().filter_map(|r| r.rooms.get(room)).map(Vec::len).sum()
    }

    /// Connections per room on other instances.
    pub fn counts(&self) -> HashMap<&str, usize> {
        let mut counts = HashMap::new();
        for (room, users) in self.remotes.values().flat_map(|r| r.rooms.iter()) {
            *counts.entry(room.as_str()).or_default() += users.len();
        }
        counts
    }
}

fn changed_rooms(before: &BTreeMap<String, Vec<String>>, after: &BTreeMap<String, Vec<String>>) -> HashSet<String> {
    before.keys().chain(after.keys()).filter(|room| before.get(*room) != after.get(*room)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rooms(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        entries.iter().map(|(room, users)| (room.to_string(), users.iter().map(|u| u.to_string()).collect())).collect()
    }

    #[test]
    fn tracks_snapshots_and_reports_changed_rooms() {
        let now = Instant::now();
        let mut directory = Directory::default();
        let changed = directory.apply("b", rooms(&[("lobby", &["Azure Ronin"]), ("quiet", &["Neon Oni"])]), now);
        assert_eq!(changed, HashSet::from(["lobby".to_string(), "quiet".to_string()]));
        assert_eq!(directory.count("lobby"), 1);

        let changed =
            directory.apply("b", rooms(&[("lobby", &["Azure Ronin", "Jade Sage"]), ("quiet", &["Neon Oni"])]), now);
        assert_eq!(changed, HashSet::from(["lobby".to_string()]));
        assert_eq!(directory.users("lobby").collect::<Vec<_>>(), ["Azure Ronin", "Jade Sage"]);

        assert_eq!(directory.apply("b", BTreeMap::new(), now).len(), 2, "an empty snapshot is a goodbye");
        assert_eq!(directory.count("lobby"), 0);
    }

    #[test]
    fn forgets_silent_instances() {
        let start = Instant::now();
        let mut directory = Directory::default();
        directory.apply("gone", rooms(&[("lobby", &["Azure Ronin"])]), start);
        directory.apply("alive", rooms(&[("lobby", &["Jade Sage"])]), start + Duration::from_secs(10));
        let changed = directory.expire(start + Duration::from_secs(16), Duration::from_secs(15));
        assert_eq!(changed, HashSet::from(["lobby".to_string()]));
        assert_eq!(directory.users("lobby").collect::<Vec<_>>(), ["Jade Sage"]);
        assert_eq!(directory.counts().get("lobby"), Some(&1));
    }
}
