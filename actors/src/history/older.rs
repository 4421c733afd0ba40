//! Older messages that a read's events and quotes name: what the cache
//! knows of them, and what a read of them found. The fold needs their facts
//! (author, time, text of a quote) to apply the same rules as everyone.

use std::collections::BTreeMap;

use super::cache::{Known, RoomCache};
use super::fold::Fact;
use super::History;
use crate::messages::{ReadError, RoomRead, Seq};
use crate::protocol::RoomRecord;

/// Older messages one read's events and quotes may name that are read
/// too; the events about any beyond go on as written.
pub(super) const LEARNT_PER_READ: usize = 256;

/// What is known of the messages before a read (`None`: no message there).
pub(super) type Facts = BTreeMap<Seq, Option<Fact>>;

/// What the cache knows of the older messages a read's events and quotes
/// name, and which it knows nothing of (at most [`LEARNT_PER_READ`]).
pub(super) fn known_facts(cache: Option<&RoomCache>, read: &RoomRead) -> (Facts, Vec<Seq>) {
    let mut facts = Facts::new();
    let mut unknown = Vec::new();
    let named = read.messages.iter().filter_map(|(_, record)| {
        record.target().or_else(|| record.as_message().and_then(|m| m.reply_to)).filter(|seq| *seq < read.from)
    });
    for seq in named {
        if facts.contains_key(&seq) || unknown.contains(&seq) {
            continue;
        }
        match cache.map_or(Known::Unknown, |cache| cache.lookup(seq)) {
            Known::Held(entry) => drop(facts.insert(seq, entry.message().map(|m| entry.state.fact(m)))),
            Known::Fact(fact) => drop(facts.insert(seq, Some(fact.clone()))),
            Known::Nothing => drop(facts.insert(seq, None)),
            Known::Unknown if unknown.len() < LEARNT_PER_READ => unknown.push(seq),
            Known::Unknown => {}
        }
    }
    (facts, unknown)
}

impl History {
    /// Files into `facts` what a read of `room`'s older messages at `seqs`
    /// found: a message's fact (deleted if a moderator removed it), or that
    /// there is none. A failed read teaches nothing: the events go on as written.
    pub(super) fn learn(
        &self,
        room: &str,
        facts: &mut Facts,
        seqs: &[Seq],
        learnt: Result<Vec<(Seq, RoomRecord)>, ReadError>,
    ) {
        let found = match learnt {
            Ok(found) => found,
            Err(e) => return log::warn!("history_unavailable: older messages could not be read: {e}"),
        };
        for seq in seqs {
            let record = found.iter().find(|(at, _)| at == seq).map(|(_, record)| record);
            let fact = record.and_then(RoomRecord::as_message).map(Fact::of).map(|mut fact| {
                fact.deleted = self.is_removed(room, *seq);
                fact
            });
            facts.insert(*seq, fact);
        }
    }
}
