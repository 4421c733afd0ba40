//! `RoomCache`: a room's recent messages in memory, in front of Kafka. It
//! knows exactly which range it holds completely, so it answers a join or a
//! resume without a Kafka read when it can, and never answers one with a gap.
//!
//! Two things fill it: the live stream (every message the hub fans out, in
//! the log's order, from the moment the cache exists) and Kafka reads that
//! reach the range it already holds.

use std::collections::VecDeque;

use crate::messages::{Entry, Seq};

#[derive(Debug)]
pub struct RoomCache {
    entries: VecDeque<Entry>,
    /// Every message of the room from here up to `end` is in `entries`;
    /// `None` until the first live message or read.
    complete_from: Option<Seq>,
    /// The first sequence number the cache knows nothing about.
    end: Seq,
    /// Nothing of the room exists before `complete_from` any more.
    whole: bool,
    bytes: usize,
}

/// What the cache can say about the messages after a `since`.
#[derive(Debug)]
pub enum After {
    /// All of them.
    Complete(Vec<Entry>),
    /// All that still exist; older ones were deleted by retention.
    Truncated(Vec<Entry>),
    /// Some may be older than the cache reaches, or newer than it has seen.
    Unknown,
}

impl Default for RoomCache {
    fn default() -> Self {
        Self { entries: VecDeque::new(), complete_from: None, end: Seq::MIN, whole: false, bytes: 0 }
    }
}

impl RoomCache {
    /// Memory held, for the history budget.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Where the complete range starts, if there is one.
    pub fn complete_from(&self) -> Option<Seq> {
        self.complete_from
    }

    /// Whether `since` is a point this cache has seen: the log reached past it.
    pub fn has_seen(&self, since: Seq) -> bool {
        self.complete_from.is_some() && since < self.end
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Appends a message read live; the stream is in order, so everything
    /// from the first one on is complete. Returns the bytes added.
    pub fn push(&mut self, entry: Entry) -> usize {
        if entry.seq < self.end || self.is_retry_of_known(&entry) {
            return 0;
        }
        self.complete_from.get_or_insert(entry.seq);
        self.end = entry.seq + 1;
        let weight = entry.weight();
        self.bytes += weight;
        self.entries.push_back(entry);
        weight
    }

    /// A later attempt of a message already here is not a new message.
    fn is_retry_of_known(&self, entry: &Entry) -> bool {
        entry.record.attempt > 1 && self.find(&entry.record.message_id).is_some()
    }

    /// Merges a Kafka read that covered every message of the room in
    /// `[from, until)`, oldest first; `whole` when nothing exists before
    /// `from`. Only a read that reaches the complete range extends it;
    /// returns whether this one did.
    pub fn absorb(&mut self, read: Vec<Entry>, from: Seq, until: Seq, whole: bool) -> bool {
        let complete_from = self.complete_from.unwrap_or(Seq::MAX);
        // A read ahead of the live stream (this instance's consumer lags)
        // would hide the messages between them once the stream catches up.
        if self.complete_from.is_some() && (until < complete_from || from > self.end) {
            return false;
        }
        let (mut older, mut newer) = (VecDeque::new(), Vec::new());
        for entry in read {
            if entry.seq < complete_from {
                older.push_back(entry);
            } else if entry.seq >= self.end && !self.is_retry_of_known(&entry) {
                newer.push(entry);
            }
        }
        older.append(&mut self.entries);
        older.extend(newer);
        self.entries = older;
        if from < complete_from {
            self.complete_from = Some(from);
            self.whole = whole;
        }
        self.end = self.end.max(until);
        self.bytes = self.entries.iter().map(Entry::weight).sum();
        true
    }

    /// The messages after `since`.
    pub fn after(&self, since: Seq) -> After {
        let Some(complete_from) = self.complete_from else { return After::Unknown };
        if since >= self.end {
            return After::Unknown;
        }
        let newer = || self.entries.iter().filter(|e| e.seq > since).cloned().collect();
        if since.saturating_add(1) >= complete_from {
            After::Complete(newer())
        } else if self.whole {
            After::Truncated(newer())
        } else {
            After::Unknown
        }
    }

    /// The last `count` messages, if the cache holds that many or all there are.
    pub fn last(&self, count: usize) -> Option<Vec<Entry>> {
        let known = self.complete_from.is_some() && (self.entries.len() >= count || self.whole);
        known.then(|| self.newest(count))
    }

    /// The newest `count` messages held, whatever the cache knows beyond them.
    pub fn newest(&self, count: usize) -> Vec<Entry> {
        self.entries.iter().skip(self.entries.len().saturating_sub(count)).cloned().collect()
    }

    /// Every message held from `seq` on, complete or not.
    pub fn held_from(&self, seq: Seq) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.seq >= seq)
    }

    /// Where the message `message_id` is, if it is held.
    pub fn find(&self, message_id: &str) -> Option<Seq> {
        self.entries.iter().rev().find(|e| e.record.message_id == message_id).map(|e| e.seq)
    }

    /// Marks the message at `seq` removed, its frame replaced by the one
    /// `without_text` makes of it; returns the change in bytes held.
    pub fn remove_text(&mut self, seq: Seq, without_text: impl FnOnce(&Entry) -> crate::messages::Frame) -> isize {
        let Ok(at) = self.entries.binary_search_by_key(&seq, |e| e.seq) else { return 0 };
        let entry = &mut self.entries[at];
        let before = entry.weight();
        entry.frame = without_text(entry);
        entry.deleted = true;
        let delta = entry.weight() as isize - before as isize;
        self.bytes = self.bytes.saturating_add_signed(delta);
        delta
    }

    /// Keeps the newest `max` messages; returns the bytes freed.
    pub fn trim(&mut self, max: usize) -> usize {
        let mut freed = 0;
        while self.entries.len() > max.max(1) {
            let Some(oldest) = self.entries.pop_front() else { break };
            freed += oldest.weight();
            self.complete_from = Some(oldest.seq + 1);
            self.whole = false;
        }
        self.bytes -= freed;
        freed
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::protocol::ChatRecord;

    fn entry(seq: Seq) -> Entry {
        let record = ChatRecord {
            message_id: format!("m{seq}"),
            username: "Azure Ronin".into(),
            text: format!("text {seq}"),
            room: "lobby".into(),
            timestamp: "2026-11-25T12:00:00.000Z".into(),
            attempt: 1,
            author: None,
            verified: true,
        };
        Entry { seq, record: Arc::new(record), frame: format!("frame {seq}").into(), deleted: false }
    }

    fn seqs(entries: &[Entry]) -> Vec<Seq> {
        entries.iter().map(|e| e.seq).collect()
    }

    fn complete(after: After) -> Option<Vec<Seq>> {
        match after {
            After::Complete(entries) => Some(seqs(&entries)),
            _ => None,
        }
    }

    #[test]
    fn the_live_stream_is_complete_from_its_first_message() {
        let mut cache = RoomCache::default();
        assert!(matches!(cache.after(5), After::Unknown), "nothing known yet");
        for seq in [12, 15, 20] {
            cache.push(entry(seq));
        }
        assert_eq!(complete(cache.after(11)), Some(vec![12, 15, 20]));
        assert_eq!(complete(cache.after(15)), Some(vec![20]));
        assert_eq!(complete(cache.after(20)), Some(vec![]), "caught up");
        assert!(matches!(cache.after(5), After::Unknown), "6..12 were never seen");
        assert!(matches!(cache.after(21), After::Unknown), "past what the cache has seen");
        assert_eq!(cache.last(2).map(|e| seqs(&e)), Some(vec![15, 20]));
        assert!(cache.last(5).is_none(), "older messages may exist");
    }

    #[test]
    fn a_read_that_reaches_the_complete_range_extends_it() {
        let mut cache = RoomCache::default();
        cache.push(entry(11));
        assert!(cache.absorb(vec![entry(3), entry(7), entry(11)], 0, 12, true));
        assert_eq!(complete(cache.after(-1)), Some(vec![3, 7, 11]));
        assert_eq!(cache.last(10).map(|e| seqs(&e)), Some(vec![3, 7, 11]), "the whole log is known");

        let mut cache = RoomCache::default();
        cache.push(entry(50));
        assert!(!cache.absorb(vec![entry(3)], 0, 40, false), "a read that stops short leaves a gap");
        assert!(matches!(cache.after(2), After::Unknown));
        assert!(!cache.absorb(vec![entry(70)], 60, 80, false), "a read ahead of the live stream");
        assert!(cache.has_seen(50) && !cache.has_seen(51));
    }

    #[test]
    fn a_read_into_an_empty_cache_and_live_copies_after_it() {
        let mut cache = RoomCache::default();
        assert!(cache.absorb(vec![entry(4), entry(9)], 2, 10, false));
        assert_eq!(cache.push(entry(9)), 0, "the consumer delivers 9 after the read had it");
        cache.push(entry(12));
        assert_eq!(complete(cache.after(1)), Some(vec![4, 9, 12]));
        assert!(cache.has_seen(11) && !cache.has_seen(13));
    }

    #[test]
    fn retention_truncates_what_a_since_asks_for() {
        let mut cache = RoomCache::default();
        cache.absorb(vec![entry(40), entry(41)], 30, 42, true);
        assert!(matches!(cache.after(10), After::Truncated(e) if seqs(&e) == [40, 41]));
    }

    #[test]
    fn trimming_moves_the_complete_range_and_frees_memory() {
        let mut cache = RoomCache::default();
        for seq in [1, 2, 3] {
            cache.push(entry(seq));
        }
        let before = cache.bytes();
        assert!(cache.trim(2) > 0 && cache.bytes() < before);
        assert_eq!(complete(cache.after(1)), Some(vec![2, 3]));
        assert!(matches!(cache.after(0), After::Unknown));
    }

    #[test]
    fn a_removed_message_keeps_its_place_without_its_text() {
        let mut cache = RoomCache::default();
        for seq in [1, 2] {
            cache.push(entry(seq));
        }
        assert!(cache.remove_text(1, |_| "removed".into()) < 0);
        let Some(entries) = cache.last(2) else { panic!("both held") };
        assert_eq!((entries[0].deleted, &*entries[0].frame), (true, "removed"));
        assert!(!entries[1].deleted);
        assert_eq!(cache.remove_text(9, |_| "x".into()), 0, "not held: nothing to do");
    }

    #[test]
    fn a_retry_of_a_message_held_is_not_added() {
        let mut cache = RoomCache::default();
        cache.push(entry(1));
        let mut retry = entry(2);
        Arc::make_mut(&mut retry.record).message_id = "m1".into();
        Arc::make_mut(&mut retry.record).attempt = 2;
        assert_eq!(cache.push(retry), 0);
        assert_eq!(cache.find("m1"), Some(1));
    }
}
