//! `History`: a room's past, as a service for every session and HTTP page.
//!
//! Room caches ([`cache::RoomCache`]) outlive their last member within one
//! memory budget, least recently used out first. A request the cache cannot
//! answer waits for a Kafka read of its room; every request for that room
//! that arrives meanwhile waits for the same read, and the next read (if one
//! is still needed) covers all of them: a reconnect storm costs about one
//! read per room. Reads go through the [`KafkaReader`]'s long-lived readers,
//! are bounded in number, and each has a deadline; a read whose sessions all
//! left is not made.
//!
//! The seam with the live stream: the hub registers a session (its outbox
//! holding live frames) before it asks for the replay, and sends every
//! message it fans out here first, in order. So the cache, or the Kafka read
//! (which reaches the log's end at the time of the read), holds everything
//! before the first held frame, and the outbox drops what both contain.

mod cache;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use lru::LruCache;
use tokio::sync::oneshot;

use self::cache::{After, RoomCache};
use crate::kafka::KafkaReader;
use crate::messages::{
    Appended, Change, Entry, Epoch, EpochChanged, FetchMessages, HistoryStart, Locate, LocateRecord, ModerationApplied,
    Page, ReadError, ReadRange, ReadRoom, Replay, RoomRead, Seq,
};
use crate::outbox::Outbox;
use crate::protocol::{ChatRecord, ErrorCode, Refusal, ServerFrame};
use crate::settings::HistorySettings;

/// Owns the room caches and the requests waiting for Kafka.
pub struct History {
    caches: LruCache<String, RoomCache>,
    bytes: usize,
    /// Rooms with a read in flight, and the requests waiting for it.
    waiting: HashMap<String, Vec<Waiter>>,
    epoch: Option<Epoch>,
    /// Messages moderators removed, in any epoch: shown without their text.
    removed: HashSet<(Epoch, String, Seq)>,
    reader: Addr<KafkaReader>,
    settings: HistorySettings,
}

/// What a request wants, its epoch already checked.
#[derive(Debug, Clone, Copy)]
enum Want {
    After(Seq),
    Last(usize),
}

struct Waiter {
    want: Want,
    /// The offset named belonged to another log (or lay past this one's end):
    /// the client gets the latest history and `recovered: false`.
    stale: bool,
    /// The read in flight was shaped for this request: once it lands, the
    /// request is answered with what there is.
    covered: bool,
    to: To,
}

enum To {
    Replay { outbox: Outbox, active_connections: usize },
    Page { reply: oneshot::Sender<Result<Page, Refusal>> },
}

impl Waiter {
    fn gone(&self) -> bool {
        match &self.to {
            To::Replay { outbox, .. } => outbox.is_done(),
            To::Page { reply } => reply.is_closed(),
        }
    }
}

impl History {
    pub fn new(reader: Addr<KafkaReader>, settings: HistorySettings) -> Self {
        Self {
            caches: LruCache::unbounded(),
            bytes: 0,
            waiting: HashMap::new(),
            epoch: None,
            removed: HashSet::new(),
            reader,
            settings,
        }
    }

    /// Resolves a start against the current epoch.
    fn want(&self, start: &HistoryStart, default: usize) -> (Want, bool) {
        match start {
            HistoryStart::After { epoch: Some(epoch), .. } if Some(epoch) != self.epoch.as_ref() => {
                (Want::Last(default), true)
            }
            HistoryStart::After { since, .. } => (Want::After(*since), false),
            HistoryStart::Last(count) => (Want::Last(*count), false),
        }
    }

    /// Answers from the cache, or queues the request for a read of its room.
    fn request(&mut self, room: String, waiter: Waiter, ctx: &mut Context<Self>) {
        let Some(waiter) = self.answer_from_cache(&room, waiter) else { return };
        if let Some(waiters) = self.waiting.get_mut(&room) {
            waiters.push(waiter);
            return;
        }
        if self.waiting.len() >= self.settings.max_pending_reads {
            return self.fail(&room, waiter, &ReadError::Busy);
        }
        // Created now, so the live messages of the read's duration are kept.
        if !self.caches.contains(&room) {
            self.caches.put(room.clone(), RoomCache::default());
        }
        self.waiting.insert(room.clone(), vec![waiter]);
        self.dispatch(room, ctx);
    }

    /// Answers `waiter` if the cache can; otherwise hands it back.
    fn answer_from_cache(&mut self, room: &str, waiter: Waiter) -> Option<Waiter> {
        let Some(cache) = self.caches.get(room) else { return Some(waiter) };
        let answer = match waiter.want {
            Want::After(since) => match cache.after(since) {
                After::Complete(entries) => Some((entries, true)),
                After::Truncated(entries) => Some((entries, false)),
                After::Unknown => None,
            },
            Want::Last(count) => cache.last(count).map(|entries| (entries, true)),
        };
        match answer {
            Some((entries, recovered)) => {
                metrics::counter!(crate::metrics::HISTORY_REQUESTS, "source" => "cache").increment(1);
                self.respond(room, waiter, entries, recovered);
                None
            }
            None => Some(waiter),
        }
    }

    /// Sends one read covering every request waiting for `room`.
    fn dispatch(&mut self, room: String, ctx: &mut Context<Self>) {
        let Some(waiters) = self.waiting.get_mut(&room) else { return };
        waiters.retain(|waiter| !waiter.gone());
        if waiters.is_empty() {
            self.waiting.remove(&room);
            return;
        }
        let range = needed_range(self.caches.peek(&room), waiters, self.settings.replay_max);
        waiters.iter_mut().for_each(|waiter| waiter.covered = true);
        let read = ReadRoom { room: room.clone(), range, deadline: Instant::now() + self.settings.read_deadline };
        let sent = self.reader.send(read);
        ctx.spawn(sent.into_actor(self).map(move |result, act, ctx| {
            let result = result.unwrap_or_else(|_| Err(ReadError::Kafka("the history reader stopped".into())));
            act.on_read(room, result, ctx);
        }));
    }

    fn on_read(&mut self, room: String, result: Result<RoomRead, ReadError>, ctx: &mut Context<Self>) {
        let waiters = self.waiting.remove(&room).unwrap_or_default();
        let read = match result {
            Ok(read) => read,
            Err(e) => {
                log::warn!("history_unavailable: {room}: {e}");
                return waiters.into_iter().for_each(|waiter| self.fail(&room, waiter, &e));
            }
        };
        let (from, until, end) = (read.from, read.until, read.end);
        let entries = self.entries(&room, read.messages, &waiters);
        // Covered requests are answered from the read and what the cache
        // holds past it, whether or not the read joins the cache's range.
        let mut merged = entries.clone();
        if let Some(cache) = self.caches.get_mut(&room) {
            merged.extend(cache.held_from(until).cloned());
            cache.absorb(entries, from, until, read.whole);
        }
        let mut still = Vec::new();
        for mut waiter in waiters {
            match waiter.want {
                Want::After(since) if waiter.covered && since >= end => {
                    // An offset past the log's end is not from this log.
                    (waiter.want, waiter.stale, waiter.covered) = (Want::Last(self.settings.default), true, false);
                    still.extend(self.answer_from_cache(&room, waiter));
                }
                _ if waiter.covered => {
                    metrics::counter!(crate::metrics::HISTORY_REQUESTS, "source" => "kafka").increment(1);
                    let (chosen, recovered) = choose(&merged, waiter.want, from);
                    self.respond(&room, waiter, chosen, recovered);
                }
                _ => still.extend(self.answer_from_cache(&room, waiter)),
            }
        }
        if !still.is_empty() {
            self.waiting.insert(room.clone(), still);
            self.dispatch(room.clone(), ctx);
        }
        self.tidy(&room);
    }

    /// Messages read from Kafka as entries, their frames encoded once.
    fn entries(&self, room: &str, messages: Vec<(Seq, ChatRecord)>, waiters: &[Waiter]) -> Vec<Entry> {
        let Some(epoch) = &self.epoch else { return Vec::new() };
        let count = waiters
            .iter()
            .find_map(|w| match &w.to {
                To::Replay { active_connections, .. } => Some(*active_connections),
                To::Page { .. } => None,
            })
            .unwrap_or(0);
        messages
            .into_iter()
            .map(|(seq, record)| {
                let deleted = self.removed.contains(&(epoch.clone(), room.to_owned(), seq));
                let frame = match deleted {
                    true => ServerFrame::deleted(&record, count, seq, epoch.as_str()).encode(),
                    false => ServerFrame::chat(&record, count, seq, epoch.as_str()).encode(),
                };
                Entry { seq, record: Arc::new(record), frame, deleted }
            })
            .collect()
    }

    fn respond(&self, room: &str, waiter: Waiter, entries: Vec<Entry>, recovered: bool) {
        let Some(epoch) = &self.epoch else { return };
        let recovered = recovered && !waiter.stale;
        match waiter.to {
            To::Replay { outbox, .. } => {
                let (replay, complete) = capped(entries, self.settings.replay_max, self.settings.replay_max_bytes.0);
                let recovered = recovered && complete;
                let end = ServerFrame::HistoryEnd { room, recovered, epoch: epoch.as_str() }.encode();
                let seen = match waiter.want {
                    Want::After(since) if !waiter.stale => since,
                    _ => -1,
                };
                let frames = replay.into_iter().map(|entry| (entry.seq, entry.frame));
                outbox.release(frames, &[end], seen, Instant::now());
            }
            To::Page { reply } => {
                let _ = reply.send(Ok(Page { messages: entries, recovered, epoch: epoch.clone() }));
            }
        }
    }

    /// The history cannot be read now: the session goes on live, told why.
    fn fail(&self, room: &str, waiter: Waiter, error: &ReadError) {
        let refusal = Refusal::new(
            ErrorCode::HistoryUnavailable,
            format!("history could not be read ({error}); live messages follow, reconnect to try again"),
        );
        crate::metrics::error(ErrorCode::HistoryUnavailable);
        match waiter.to {
            To::Replay { outbox, .. } => {
                let epoch = self.epoch.as_ref().map_or("", Epoch::as_str);
                let tail = [
                    ServerFrame::error(&refusal).encode(),
                    ServerFrame::HistoryEnd { room, recovered: false, epoch }.encode(),
                ];
                let seen = match waiter.want {
                    Want::After(since) if !waiter.stale => since,
                    _ => -1,
                };
                outbox.release([], &tail, seen, Instant::now());
            }
            To::Page { reply } => drop(reply.send(Err(Refusal::unavailable(refusal.message)))),
        }
    }

    /// Keeps a room's cache and all caches within their bounds. A room
    /// waiting for a read keeps what it has until the read lands.
    fn tidy(&mut self, room: &str) {
        if !self.waiting.contains_key(room) {
            if let Some(cache) = self.caches.peek_mut(room) {
                let freed = cache.trim(self.settings.cache_per_room);
                self.bytes = self.bytes.saturating_sub(freed);
            }
        }
        self.bytes = self.caches.iter().map(|(_, cache)| cache.bytes()).sum();
        let budget = self.settings.cache_budget.0 as usize;
        let mut spared = 0;
        while self.bytes > budget && spared < self.caches.len() {
            let Some((oldest, _)) = self.caches.peek_lru() else { break };
            if self.waiting.contains_key(oldest) {
                let oldest = oldest.clone();
                self.caches.promote(&oldest);
                spared += 1;
                continue;
            }
            if let Some((_, cache)) = self.caches.pop_lru() {
                self.bytes = self.bytes.saturating_sub(cache.bytes());
            }
        }
        metrics::gauge!(crate::metrics::HISTORY_CACHE_BYTES).set(self.bytes as f64);
        metrics::gauge!(crate::metrics::HISTORY_CACHE_ROOMS).set(self.caches.len() as f64);
    }

    /// An HTTP page of the messages after `since`: from the cache, or one
    /// forward read that stops at the page's size.
    fn page_after(&mut self, room: String, since: Seq, max: usize) -> ResponseActFuture<Self, Result<Page, Refusal>> {
        let epoch = self.epoch.clone();
        if let (Some(epoch), Some(cache)) = (epoch.clone(), self.caches.get(&room)) {
            let page = match cache.after(since) {
                After::Complete(entries) => Some((entries, true)),
                After::Truncated(entries) => Some((entries, false)),
                After::Unknown => None,
            };
            if let Some((mut entries, recovered)) = page {
                entries.truncate(max);
                return Box::pin(fut::ready(Ok(Page { messages: entries, recovered, epoch })));
            }
        }
        let range = ReadRange::Oldest { count: max, from: since.saturating_add(1) };
        let room_of_page = room.clone();
        let read = self.reader.send(ReadRoom { room, range, deadline: Instant::now() + self.settings.read_deadline });
        Box::pin(read.into_actor(self).map(move |result, act, _| {
            let epoch = epoch.ok_or_else(|| Refusal::unavailable("the server is still connecting to Kafka"))?;
            let read = result
                .map_err(|_| Refusal::unavailable("the history reader stopped"))?
                .map_err(|e| Refusal::unavailable(format!("history could not be read: {e}")))?;
            let recovered = read.from <= since.saturating_add(1) && since < read.end;
            let messages = act.entries(&room_of_page, read.messages, &[]);
            Ok(Page { messages, recovered, epoch })
        }))
    }
}

/// One read for all of a room's waiting requests: the newest messages down
/// to the lowest `since` asked for (or, for joins, as many as the largest
/// join wants), ending where the cache's complete range begins when every
/// request's offset is one the cache has seen, else at the log's end.
fn needed_range(cache: Option<&RoomCache>, waiters: &[Waiter], replay_max: usize) -> ReadRange {
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
fn choose(merged: &[Entry], want: Want, from: Seq) -> (Vec<Entry>, bool) {
    match want {
        Want::After(since) => {
            let newer = merged.iter().filter(|e| e.seq > since).cloned().collect();
            (newer, from <= since.saturating_add(1))
        }
        Want::Last(count) => (merged[merged.len().saturating_sub(count)..].to_vec(), true),
    }
}

/// The newest entries within `max` messages and `max_bytes` of frames;
/// false when some had to be left out.
fn capped(mut entries: Vec<Entry>, max: usize, max_bytes: u64) -> (Vec<Entry>, bool) {
    let mut bytes = 0u64;
    let keep = entries
        .iter()
        .rev()
        .take(max)
        .take_while(|entry| {
            bytes += entry.frame.len() as u64;
            bytes <= max_bytes
        })
        .count();
    let complete = keep == entries.len();
    entries.drain(..entries.len() - keep);
    (entries, complete)
}

impl Actor for History {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The hub sends every live message here: bursts queue, in order.
        ctx.set_mailbox_capacity(usize::MAX);
    }
}

impl Handler<EpochChanged> for History {
    type Result = ();

    fn handle(&mut self, msg: EpochChanged, _: &mut Self::Context) {
        if self.epoch.as_ref() == Some(&msg.epoch) {
            return;
        }
        if self.epoch.is_some() {
            log::warn!("the log's epoch changed to {}; room caches are dropped", msg.epoch.as_str());
        }
        self.caches.clear();
        self.bytes = 0;
        let waiting: Vec<_> = self.waiting.drain().collect();
        self.epoch = Some(msg.epoch);
        for (room, waiters) in waiting {
            waiters
                .into_iter()
                .for_each(|waiter| self.fail(&room, waiter, &ReadError::Kafka("the log changed".into())));
        }
    }
}

impl Handler<ModerationApplied> for History {
    type Result = ();

    /// A removed message keeps its place in history, without its text.
    fn handle(&mut self, msg: ModerationApplied, _: &mut Self::Context) {
        let Change::Deleted { epoch, room, seq } = msg.change else { return };
        self.removed.insert((epoch.clone(), room.clone(), seq));
        if self.epoch.as_ref() != Some(&epoch) {
            return;
        }
        let Some(cache) = self.caches.peek_mut(&room) else { return };
        let delta =
            cache.remove_text(seq, |entry| ServerFrame::deleted(&entry.record, 0, seq, epoch.as_str()).encode());
        self.bytes = self.bytes.saturating_add_signed(delta);
    }
}

impl Handler<Appended> for History {
    type Result = ();

    fn handle(&mut self, msg: Appended, _: &mut Self::Context) {
        let Some(cache) = self.caches.get_mut(&msg.room) else { return };
        self.bytes += cache.push(msg.entry);
        if cache.len() > self.settings.cache_per_room || self.bytes > self.settings.cache_budget.0 as usize {
            self.tidy(&msg.room);
        }
    }
}

impl Handler<Replay> for History {
    type Result = ();

    fn handle(&mut self, msg: Replay, ctx: &mut Self::Context) {
        let (want, stale) = self.want(&msg.start, self.settings.default);
        let to = To::Replay { outbox: msg.outbox, active_connections: msg.active_connections };
        let waiter = Waiter { want, stale, covered: false, to };
        if self.epoch.is_none() {
            return self.fail(&msg.room, waiter, &ReadError::Kafka("the server is still connecting to Kafka".into()));
        }
        self.request(msg.room, waiter, ctx);
    }
}

impl Handler<FetchMessages> for History {
    type Result = ResponseActFuture<Self, Result<Page, Refusal>>;

    fn handle(&mut self, msg: FetchMessages, ctx: &mut Self::Context) -> Self::Result {
        if self.epoch.is_none() {
            return Box::pin(fut::ready(Err(Refusal::unavailable("the server is still connecting to Kafka"))));
        }
        let (want, stale) = self.want(&msg.start, msg.max);
        if let (Want::After(since), false) = (want, stale) {
            return self.page_after(msg.room, since, msg.max);
        }
        let (reply, answer) = oneshot::channel();
        self.request(msg.room, Waiter { want, stale, covered: false, to: To::Page { reply } }, ctx);
        Box::pin(fut::wrap_future(async move {
            answer.await.unwrap_or_else(|_| Err(Refusal::unavailable("the history stopped")))
        }))
    }
}

impl Handler<Locate> for History {
    type Result = ResponseFuture<Result<Option<Seq>, Refusal>>;

    fn handle(&mut self, msg: Locate, _: &mut Self::Context) -> Self::Result {
        if let Some(seq) = self.caches.peek(&msg.room).and_then(|cache| cache.find(&msg.message_id)) {
            return Box::pin(async move { Ok(Some(seq)) });
        }
        let deadline = Instant::now() + self.settings.read_deadline;
        let read = self.reader.send(LocateRecord {
            room: msg.room,
            message_id: msg.message_id,
            sent_ms: msg.sent_ms,
            deadline,
        });
        Box::pin(async move {
            match read.await {
                Ok(Ok(found)) => Ok(found),
                Ok(Err(e)) => Err(Refusal::unavailable(format!("the log could not be searched: {e}"))),
                Err(_) => Err(Refusal::unavailable("the history reader stopped")),
            }
        })
    }
}
