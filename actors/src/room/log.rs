//! `RoomLog`: the recent messages of one room, in memory, in front of Kafka.
//! It knows the exact range it holds completely, so a join or a resume it can
//! answer needs no Kafka read, and one it cannot answer is never answered
//! with a gap.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::protocol::ChatRecord;

/// One message as kept in memory: its offset and its record.
pub type Entry = (i64, Arc<ChatRecord>);

pub struct RoomLog {
    entries: VecDeque<Entry>,
    /// Every message of the room with an offset at or above this is in `entries`.
    complete_from: i64,
    /// `complete_from` is the start of the partition: nothing older exists.
    whole: bool,
    capacity: usize,
}

impl RoomLog {
    /// An empty log that will hold every message from `next_offset` on.
    pub fn new(next_offset: i64, capacity: usize) -> Self {
        Self { entries: VecDeque::new(), complete_from: next_offset, whole: false, capacity: capacity.max(1) }
    }

    /// Appends a message read live.
    pub fn push(&mut self, offset: i64, record: Arc<ChatRecord>) {
        if self.entries.back().is_some_and(|(last, _)| *last >= offset) {
            return;
        }
        self.entries.push_back((offset, record));
        self.trim();
    }

    /// Every message after `offset`, if the log holds all of them.
    pub fn after(&self, offset: i64) -> Option<Vec<Entry>> {
        (offset + 1 >= self.complete_from || self.whole)
            .then(|| self.entries.iter().filter(|(o, _)| *o > offset).cloned().collect())
    }

    /// The last `count` messages, if the log holds that many (or all there are).
    pub fn last(&self, count: usize) -> Option<Vec<Entry>> {
        (self.entries.len() >= count || self.whole)
            .then(|| self.entries.iter().skip(self.entries.len().saturating_sub(count)).cloned().collect())
    }

    /// Merges a Kafka read that covered every message of the room in
    /// `[from, until)`; `whole` when `from` was the start of the partition.
    pub fn absorb(&mut self, from: i64, until: i64, whole: bool, records: Vec<Entry>) {
        // Only a read that reaches what the log already holds extends it.
        if until < self.complete_from || from >= self.complete_from {
            return;
        }
        let older = records.into_iter().filter(|(offset, _)| *offset < self.complete_from);
        let mut merged: VecDeque<Entry> = older.collect();
        merged.append(&mut self.entries);
        self.entries = merged;
        self.complete_from = from;
        self.whole = whole;
        self.trim();
    }

    fn trim(&mut self) {
        while self.entries.len() > self.capacity {
            if let Some((offset, _)) = self.entries.pop_front() {
                self.complete_from = offset + 1;
                self.whole = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: i64) -> Entry {
        let record = ChatRecord {
            message_id: format!("m{offset}"),
            username: "Azure Ronin".into(),
            text: format!("text {offset}"),
            room: "lobby".into(),
            timestamp: "2026-11-25T12:00:00.000Z".into(),
        };
        (offset, Arc::new(record))
    }

    fn offsets(entries: Option<Vec<Entry>>) -> Option<Vec<i64>> {
        entries.map(|entries| entries.iter().map(|(o, _)| *o).collect())
    }

    #[test]
    fn answers_only_ranges_it_holds_completely() {
        let mut log = RoomLog::new(10, 100);
        for offset in [12, 15, 20] {
            log.push(offset, record(offset).1);
        }
        assert_eq!(offsets(log.after(9)), Some(vec![12, 15, 20]));
        assert_eq!(offsets(log.after(15)), Some(vec![20]));
        assert_eq!(offsets(log.after(5)), None, "offsets 6..10 were never seen");
        assert_eq!(offsets(log.last(2)), Some(vec![15, 20]));
        assert_eq!(offsets(log.last(5)), None, "older messages may exist");
    }

    #[test]
    fn eviction_moves_the_complete_range() {
        let mut log = RoomLog::new(0, 2);
        for offset in [1, 2, 3] {
            log.push(offset, record(offset).1);
        }
        assert_eq!(offsets(log.after(1)), Some(vec![2, 3]));
        assert_eq!(offsets(log.after(0)), None);
    }

    #[test]
    fn absorbs_contiguous_reads_and_ignores_others() {
        let mut log = RoomLog::new(10, 100);
        log.push(11, record(11).1);
        log.absorb(0, 12, true, vec![record(3), record(7), record(11)]);
        assert_eq!(offsets(log.after(-1)), Some(vec![3, 7, 11]));
        assert_eq!(offsets(log.last(10)), Some(vec![3, 7, 11]), "the whole partition is known");

        let mut log = RoomLog::new(50, 100);
        log.absorb(0, 40, false, vec![record(3)]);
        assert_eq!(offsets(log.after(2)), None, "a read that stops short leaves a gap");
    }
}
