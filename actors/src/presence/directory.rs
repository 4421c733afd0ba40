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

/// What a snapshot or an expiry changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changed {
    /// Rooms whose people changed.
    pub rooms: HashSet<String>,
    /// Names now online on that instance that were not (once per session).
    pub joined: Vec<String>,
    /// Names no longer online there.
    pub left: Vec<String>,
}

impl Directory {
    /// Records `instance`'s latest snapshot.
    pub fn apply(&mut self, instance: &str, rooms: BTreeMap<String, Vec<String>>, now: Instant) -> Changed {
        let previous = self.remotes.remove(instance).map(|r| r.rooms).unwrap_or_default();
        let changed = changes(&previous, &rooms);
        if !rooms.is_empty() {
            self.remotes.insert(instance.to_owned(), Remote { seen: now, rooms });
        }
        changed
    }

    /// Forgets instances silent for longer than `ttl`: their people leave.
    pub fn expire(&mut self, now: Instant, ttl: Duration) -> Changed {
        let stale: Vec<String> =
            self.remotes.iter().filter(|(_, r)| now.duration_since(r.seen) > ttl).map(|(id, _)| id.clone()).collect();
        let mut changed = Changed::default();
        for instance in stale {
            log::info!("instance {instance} fell silent; its users leave presence");
            if let Some(remote) = self.remotes.remove(&instance) {
                let gone = changes(&remote.rooms, &BTreeMap::new());
                changed.rooms.extend(gone.rooms);
                changed.left.extend(gone.left);
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

fn changes(before: &BTreeMap<String, Vec<String>>, after: &BTreeMap<String, Vec<String>>) -> Changed {
    let rooms =
        before.keys().chain(after.keys()).filter(|room| before.get(*room) != after.get(*room)).cloned().collect();
    let count = |rooms: &BTreeMap<String, Vec<String>>| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for name in rooms.values().flatten() {
            *counts.entry(name.clone()).or_default() += 1;
        }
        counts
    };
    let (old, new) = (count(before), count(after));
    let surplus = |a: &HashMap<String, usize>, b: &HashMap<String, usize>| -> Vec<String> {
        a.iter()
            .flat_map(|(name, n)| std::iter::repeat_n(name.clone(), n.saturating_sub(*b.get(name).unwrap_or(&0))))
            .collect()
    };
    Changed { rooms, joined: surplus(&new, &old), left: surplus(&old, &new) }
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
        assert_eq!(changed.rooms, HashSet::from(["lobby".to_string(), "quiet".to_string()]));
        assert_eq!(directory.count("lobby"), 1);

        let changed =
            directory.apply("b", rooms(&[("lobby", &["Azure Ronin", "Jade Sage"]), ("quiet", &["Neon Oni"])]), now);
        assert_eq!(changed.rooms, HashSet::from(["lobby".to_string()]));
        assert_eq!((changed.joined, changed.left), (vec!["Jade Sage".to_string()], vec![]));
        assert_eq!(directory.users("lobby").collect::<Vec<_>>(), ["Azure Ronin", "Jade Sage"]);

        let goodbye = directory.apply("b", BTreeMap::new(), now);
        assert_eq!(goodbye.rooms.len(), 2, "an empty snapshot is a goodbye");
        assert_eq!(goodbye.left.len(), 3);
        assert_eq!(directory.count("lobby"), 0);
    }

    #[test]
    fn forgets_silent_instances() {
        let start = Instant::now();
        let mut directory = Directory::default();
        directory.apply("gone", rooms(&[("lobby", &["Azure Ronin"])]), start);
        directory.apply("alive", rooms(&[("lobby", &["Jade Sage"])]), start + Duration::from_secs(10));
        let changed = directory.expire(start + Duration::from_secs(16), Duration::from_secs(15));
        assert_eq!(changed.rooms, HashSet::from(["lobby".to_string()]));
        assert_eq!(changed.left, ["Azure Ronin"]);
        assert_eq!(directory.users("lobby").collect::<Vec<_>>(), ["Jade Sage"]);
        assert_eq!(directory.counts().get("lobby"), Some(&1));
    }
}
