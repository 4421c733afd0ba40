//! The requests that wait for a room's read: what each wants (offsets
//! after a `since`, or the last N), whom it answers (a session's replay or
//! an HTTP page), and the one read shaped to answer all of them.

use tokio::sync::oneshot;

use super::cache::{newest_messages, replay_after, RoomCache};
use crate::messages::{Entry, Page, ReadRange, Seq};
use crate::outbox::Outbox;
use crate::protocol::Refusal;

/// What a request wants, its epoch already checked.
#[derive(Debug, Clone, Copy)]
pub(super) enum Want {
    After(Seq),
    Last(usize),
}

pub(super) struct Waiter {
    pub(super) want: Want,
    /// The offset named belonged to another log (or lay past this one's end):
    /// the client gets the latest history and `recovered: false`.
    pub(super) stale: bool,
    /// How many of the latest messages a stale request gets.
    pub(super) fallback: usize,
    /// The read in flight was shaped for this request: once it lands, the
    /// request is answered with what there is.
    pub(super) covered: bool,
    pub(super) to: To,
}

pub(super) enum To {
    Replay { outbox: Outbox, active_connections: usize },
    Page { reply: oneshot::Sender<Result<Page, Refusal>> },
}

impl Waiter {
    pub(super) fn gone(&self) -> bool {
        match &self.to {
            To::Replay { outbox, .. } => outbox.is_done(),
            To::Page { reply } => reply.is_closed(),
        }
    }
}

/// One read for all of a room's waiting requests: the newest messages down
/// to the lowest `since` asked for (or, for joins, as many as the largest
/// join wants), ending where the cache's complete range begins when every
/// request's offset is one the cache has seen, else at the log's end.
pub(super) fn needed_range(cache: Option<&RoomCache>, waiters: &[Waiter], replay_max: usize) -> ReadRange {
    let seen = |since: Seq| cache.is_some_and(|c| c.has_seen(since));
    let from_end = waiters.iter().any(|w| matches!(w.want, Want::After(since) if !seen(since)))
        || cache.is_none_or(|c| c.complete_from().is_none());
    let held = if from_end { 0 } else { cache.map_or(0, RoomCache::len) };
    let (mut count, mut floor, mut joins) = (0, Seq::MAX, false);
    for waiter in waiters {
        match waiter.want {
            Want::After(since) => {
                count = count.max(replay_max);
                floor = floor.min(since.saturating_add(1));
            }
            Want::Last(n) => {
                count = count.max(n.saturating_sub(held));
                joins = true;
            }
        }
    }
    let before = if from_end { None } else { cache.and_then(RoomCache::complete_from) };
    ReadRange::Newest { count: count.max(1), before, floor: (!joins).then_some(floor) }
}

/// What a covered request gets from a read's messages (and the cache's
/// after them); `from` is where the read's complete range began.
pub(super) fn choose(merged: &[Entry], want: Want, from: Seq) -> (Vec<Entry>, bool) {
    match want {
        Want::After(since) => (replay_after(merged.iter(), since), from <= since.saturating_add(1)),
        Want::Last(count) => (newest_messages(merged.iter(), count), true),
    }
}

/// The newest entries within `max` messages (and the events among them)
/// and `max_bytes` of frames; false when some had to be left out.
pub(super) fn capped(mut entries: Vec<Entry>, max: usize, max_bytes: u64) -> (Vec<Entry>, bool) {
    let (mut bytes, mut messages) = (0u64, 0usize);
    let keep = entries
        .iter()
        .rev()
        .take_while(|entry| {
            bytes += entry.frame.len() as u64;
            messages += usize::from(entry.message().is_some());
            messages <= max && bytes <= max_bytes
        })
        .count();
    let complete = keep == entries.len();
    entries.drain(..entries.len() - keep);
    (entries, complete)
}
