//! `Caches`: every room's cache, least recently used first, and their total
//! size. The total is kept as each cache changes: the memory budget is
//! checked on every record a full room appends, and summing all rooms for
//! it would make each record cost a walk over every cached room. Each
//! cache is also told apart from the room's earlier ones (its
//! [`Opening`]): a Kafka read may be merged only into the cache that was
//! already fed live when the read took its end.

use lru::LruCache;

use super::cache::RoomCache;

pub(super) struct Caches {
    rooms: LruCache<String, (Opening, RoomCache)>,
    bytes: usize,
    openings: u64,
}

/// Which of a room's caches, over the life of the process, one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Opening(u64);

impl Caches {
    pub fn new() -> Self {
        Self { rooms: LruCache::unbounded(), bytes: 0, openings: 0 }
    }

    /// What every cache holds, in bytes (as [`RoomCache::bytes`] counts).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    pub fn rooms(&self) -> impl Iterator<Item = &String> {
        self.rooms.iter().map(|(room, _)| room)
    }

    /// Which cache the room has now, if any.
    pub fn opening(&self, room: &str) -> Option<Opening> {
        self.rooms.peek(room).map(|(opening, _)| *opening)
    }

    /// A room's cache, marked as used.
    pub fn get(&mut self, room: &str) -> Option<&RoomCache> {
        self.rooms.get(room).map(|(_, cache)| cache)
    }

    /// A room's cache, not marked as used.
    pub fn peek(&self, room: &str) -> Option<&RoomCache> {
        self.rooms.peek(room).map(|(_, cache)| cache)
    }

    /// Starts an empty cache for `room` unless it has one.
    pub fn open(&mut self, room: &str, empty: impl FnOnce() -> RoomCache) {
        if !self.rooms.contains(room) {
            let cache = empty();
            self.bytes += cache.bytes();
            self.openings += 1;
            self.rooms.put(room.to_owned(), (Opening(self.openings), cache));
        }
    }

    /// Changes a room's cache, marked as used; the total follows.
    pub fn get_mut<R>(&mut self, room: &str, change: impl FnOnce(&mut RoomCache) -> R) -> Option<R> {
        let (_, cache) = self.rooms.get_mut(room)?;
        Some(Self::counted(&mut self.bytes, cache, change))
    }

    /// Changes a room's cache, not marked as used; the total follows.
    pub fn peek_mut<R>(&mut self, room: &str, change: impl FnOnce(&mut RoomCache) -> R) -> Option<R> {
        let (_, cache) = self.rooms.peek_mut(room)?;
        Some(Self::counted(&mut self.bytes, cache, change))
    }

    fn counted<R>(bytes: &mut usize, cache: &mut RoomCache, change: impl FnOnce(&mut RoomCache) -> R) -> R {
        let before = cache.bytes();
        let result = change(cache);
        *bytes = (*bytes + cache.bytes()).saturating_sub(before);
        result
    }

    pub fn remove(&mut self, room: &str) -> Option<RoomCache> {
        let (_, cache) = self.rooms.pop(room)?;
        self.bytes = self.bytes.saturating_sub(cache.bytes());
        Some(cache)
    }

    pub fn clear(&mut self) {
        self.rooms.clear();
        self.bytes = 0;
    }

    /// Drops the least recently used caches until all fit in `budget`,
    /// sparing (and marking as used) the rooms `spare` names.
    pub fn evict_beyond(&mut self, budget: usize, spare: impl Fn(&str) -> bool) {
        debug_assert_eq!(
            self.bytes,
            self.rooms.iter().map(|(_, (_, cache))| cache.bytes()).sum::<usize>(),
            "the caches' running total drifted"
        );
        let mut spared = 0;
        while self.bytes > budget && spared < self.rooms.len() {
            let Some((oldest, _)) = self.rooms.peek_lru() else { break };
            if spare(oldest) {
                let oldest = oldest.clone();
                self.rooms.promote(&oldest);
                spared += 1;
            } else if let Some((_, (_, cache))) = self.rooms.pop_lru() {
                self.bytes = self.bytes.saturating_sub(cache.bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::cache::tests::cache_of;

    #[test]
    fn the_total_follows_every_change_and_eviction_spares_whom_it_is_told() {
        let mut caches = Caches::new();
        for room in ["a", "b", "c"] {
            caches.open(room, || cache_of(&[0, 1]));
        }
        let whole = caches.peek("a").map_or(0, RoomCache::bytes);
        assert_eq!(caches.bytes(), 3 * whole);

        // Changing a cache without marking it used: "a" stays the oldest.
        let freed = caches.peek_mut("a", |cache| cache.trim(1)).unwrap_or(0);
        assert!(freed > 0);
        assert_eq!(caches.bytes(), 3 * whole - freed);

        caches.remove("b");
        assert_eq!(caches.bytes(), 2 * whole - freed);

        // "a" is the least recently used, but spared: "c" goes instead.
        caches.evict_beyond(whole, |room| room == "a");
        assert_eq!(caches.rooms().collect::<Vec<_>>(), ["a"]);
        assert_eq!(caches.bytes(), whole - freed);

        caches.clear();
        assert_eq!((caches.len(), caches.bytes()), (0, 0));
    }

    #[test]
    fn empty_caches_count_so_the_budget_evicts_them() {
        let mut caches = Caches::new();
        for room in 0..1_000 {
            caches.open(&format!("invented-{room}"), || RoomCache::new(std::time::Duration::from_secs(900)));
        }
        let each = caches.peek("invented-0").map_or(0, RoomCache::bytes);
        assert!(each > 0, "an empty cache is not free");
        caches.evict_beyond(10 * each, |_| false);
        assert_eq!(caches.len(), 10, "the oldest went");
    }
}
