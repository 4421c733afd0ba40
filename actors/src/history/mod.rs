//! `History`: a room's past, as a service for every session and HTTP page.
//!
//! Room caches ([`cache::RoomCache`]) outlive their last member within one
//! memory budget, least recently used out first, while the instance reads
//! their room's live stream ([`LiveRooms`]): a cache nothing feeds would
//! fall behind the log, so it is never kept or trusted. A request the cache cannot
//! answer waits for a Kafka read of its room; every request for that room
//! that arrives meanwhile waits for the same read, and the next read (if one
//! is still needed) covers all of them: a reconnect storm costs about one
//! read per room. Reads go through the [`KafkaReader`]'s long-lived readers,
//! are bounded in number, and each has a deadline; a read whose sessions all
//! left is not made.
//!
//! The seam with the live stream: the hub registers a session (its outbox
//! holding live frames) before it asks for the replay, and sends every
//! record it reads here, in order, before it fans out its frame. So the
//! cache, or the Kafka read (which reaches the log's end at the time of the
//! read), holds everything before the first held frame, and the outbox
//! drops what both contain.
//!
//! A record whose frame depends on another message (an event of its life,
//! a reply quoting it) is folded here ([`fold`]) and its frame handed back
//! to the hub ([`Folded`]). When the cache knows nothing of the message it
//! names, that one record is read first; the room's later records wait
//! behind it, so every room keeps the log's order.
//!
//! Its parts: [`requests`] (what a waiting request wants, and the one read
//! shaped for all of a room's), [`live`] (the live stream filed into the
//! caches), [`older`] (what is known of older messages a read names),
//! [`fold`] and [`frames`] (a message's state, and its frame).

mod cache;
mod caches;
mod fold;
mod frames;
mod live;
mod older;
mod requests;

pub use fold::{allows, Fact, MessageState};
pub use frames::frame_of;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::oneshot;

use self::cache::{After, RoomCache};
use self::caches::{Caches, Opening};
use self::frames::encoder;
use self::live::Behind;
use self::older::{known_facts, Facts};
use self::requests::{capped, choose, needed_range, To, Waiter, Want};
use crate::kafka::{KafkaReader, LiveRooms};
use crate::messages::{
    Change, Entry, Epoch, EpochChanged, FeedStopped, FetchMessages, Folded, HistoryStart, Locate, LocateRecord,
    ModerationApplied, Page, ReadAt, ReadError, ReadRange, ReadRoom, Replay, RoomRead, Seq,
};
use crate::protocol::{ErrorCode, Refusal, ServerFrame};
use crate::settings::HistorySettings;

/// Owns the room caches and the requests waiting for Kafka.
pub struct History {
    caches: Caches,
    /// Rooms with a read in flight, and the requests waiting for it.
    waiting: HashMap<String, Vec<Waiter>>,
    epoch: Option<Epoch>,
    /// Messages moderators removed, in any epoch: shown without their text.
    removed: HashSet<(Epoch, String, Seq)>,
    /// Rooms whose next record waits for a read of the message it names,
    /// with the records and questions behind it.
    resolving: HashMap<String, VecDeque<Behind>>,
    reader: Addr<KafkaReader>,
    hub: Recipient<Folded>,
    live: LiveRooms,
    settings: HistorySettings,
    edit_window: std::time::Duration,
}

impl History {
    /// `hub` gets the frames of folded records; `live` says which rooms'
    /// caches are fed; `edit_window` is how long after a message its
    /// author's edits count.
    pub fn new(
        reader: Addr<KafkaReader>,
        hub: Recipient<Folded>,
        live: LiveRooms,
        settings: HistorySettings,
        edit_window: std::time::Duration,
    ) -> Self {
        Self {
            caches: Caches::new(),
            waiting: HashMap::new(),
            epoch: None,
            removed: HashSet::new(),
            resolving: HashMap::new(),
            reader,
            hub,
            live,
            settings,
            edit_window,
        }
    }

    /// A request's waiter, its start resolved against the current epoch.
    fn waiter(&self, start: &HistoryStart, to: To) -> Waiter {
        let (want, stale, fallback) = match start {
            HistoryStart::After { epoch: Some(epoch), fallback, .. } if Some(epoch) != self.epoch.as_ref() => {
                (Want::Last(*fallback), true, *fallback)
            }
            HistoryStart::After { since, fallback, .. } => (Want::After(*since), false, *fallback),
            HistoryStart::Last(count) => (Want::Last(*count), false, *count),
        };
        Waiter { want, stale, fallback, covered: false, to }
    }

    /// Answers from the cache, or queues the request for a read of its room.
    fn request(&mut self, room: String, waiter: Waiter, ctx: &mut Context<Self>) {
        if let Some(resolving) = self.resolving.get_mut(&room) {
            return resolving.push_back(Behind::Request(waiter));
        }
        let Some(waiter) = self.answer_from_cache(&room, waiter) else { return };
        if let Some(waiters) = self.waiting.get_mut(&room) {
            waiters.push(waiter);
            return;
        }
        if self.waiting.len() >= self.settings.max_pending_reads {
            return self.fail(&room, waiter, &ReadError::Busy);
        }
        // Created now, so the live messages of the read's duration are kept.
        if self.live.covers(&room) {
            self.caches.open(&room, || RoomCache::new(self.edit_window));
        }
        self.waiting.insert(room.clone(), vec![waiter]);
        self.dispatch(room, ctx);
    }

    /// Answers `waiter` if the cache can; otherwise hands it back.
    fn answer_from_cache(&mut self, room: &str, waiter: Waiter) -> Option<Waiter> {
        if !self.live.covers(room) {
            self.forget(room);
        }
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
        let (opening, epoch) = (self.caches.opening(&room), self.epoch.clone());
        ctx.spawn(self.read(read).map(move |result, act, ctx| {
            // A read of a log since recreated: its requests were failed then,
            // and the room's requests now are of the new log.
            if act.epoch == epoch {
                act.on_read(room, opening, result, ctx);
            }
        }));
    }

    /// Reads part of a room's log, and the older messages its events and
    /// quotes name that the cache knows nothing of.
    fn read(&self, read: ReadRoom) -> impl ActorFuture<Self, Output = Result<(RoomRead, Facts), ReadError>> + 'static {
        let (room, deadline) = (read.room.clone(), read.deadline);
        self.reader.send(read).into_actor(self).then(move |result, act, _| {
            let read = match result.unwrap_or_else(|_| Err(stopped())) {
                Ok(read) => read,
                Err(e) => return fut::ready(Err(e)).boxed_local(),
            };
            let (facts, unknown) = known_facts(act.caches.peek(&room), &read);
            if unknown.is_empty() {
                return fut::ready(Ok((read, facts))).boxed_local();
            }
            let learn = act.reader.send(ReadAt { room: room.clone(), seqs: unknown.clone(), deadline });
            let learnt = learn.into_actor(act).map(move |learnt, act, _| {
                let mut facts = facts;
                act.learn(&room, &mut facts, &unknown, learnt.unwrap_or_else(|_| Err(stopped())));
                Ok((read, facts))
            });
            learnt.boxed_local()
        })
    }

    /// Whether a moderator removed the room's message at `seq` of this log.
    fn is_removed(&self, room: &str, seq: Seq) -> bool {
        self.epoch.as_ref().is_some_and(|epoch| self.removed.contains(&(epoch.clone(), room.to_owned(), seq)))
    }

    /// A read folded as a cache of its own, its frames encoded.
    fn fold_read(&self, room: &str, read: RoomRead, facts: Facts, count: usize) -> Option<RoomCache> {
        let epoch = self.epoch.as_ref()?;
        let entries = read.messages.into_iter().map(|(seq, record)| {
            let mut entry = Entry::new(seq, record);
            if self.is_removed(room, seq) {
                entry.state.remove();
            }
            entry
        });
        let range = (read.from, read.until, read.whole);
        Some(RoomCache::from_read(entries.collect(), range, facts, self.edit_window, &encoder(epoch, count)))
    }

    /// A read landed. It joins the room's cache only if that cache is the
    /// one it was sent against (`opening`): a cache opened (or opened again,
    /// after its partition was released or its log recreated) while the read
    /// was under way was not fed the records between the read's end and its
    /// own start, so the two together would claim a range with a hole.
    fn on_read(
        &mut self,
        room: String,
        opening: Option<Opening>,
        result: Result<(RoomRead, Facts), ReadError>,
        ctx: &mut Context<Self>,
    ) {
        let waiters = self.waiting.remove(&room).unwrap_or_default();
        let read = match result {
            Ok(read) => read,
            Err(e) => {
                log::warn!("history_unavailable: {room}: {e}");
                return waiters.into_iter().for_each(|waiter| self.fail(&room, waiter, &e));
            }
        };
        let (read, facts) = read;
        let (from, until, end) = (read.from, read.until, read.end);
        let count = waiters
            .iter()
            .find_map(|w| match &w.to {
                To::Replay { active_connections, .. } => Some(*active_connections),
                To::Page { .. } => None,
            })
            .unwrap_or(0);
        let Some(mut older) = self.fold_read(&room, read, facts, count) else { return };
        // Covered requests are answered from the read and what the cache
        // holds past it, whether or not the read joins the cache's range.
        let merged: Vec<Entry> = match &self.epoch {
            Some(epoch) if opening.is_some() && self.caches.opening(&room) == opening => {
                let encode = encoder(epoch, count);
                let joined = self.caches.get_mut(&room, |cache| {
                    cache.lend_orphans(&mut older, &encode);
                    let merged = older.entries().chain(cache.held_from(until)).cloned().collect();
                    cache.absorb(older);
                    merged
                });
                joined.unwrap_or_default()
            }
            _ => older.entries().cloned().collect(),
        };
        let mut still = Vec::new();
        for mut waiter in waiters {
            match waiter.want {
                Want::After(since) if waiter.covered && since >= end => {
                    // An offset past the log's end is not from this log.
                    (waiter.want, waiter.stale, waiter.covered) = (Want::Last(waiter.fallback), true, false);
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
                let messages = entries.into_iter().filter(|entry| entry.message().is_some()).collect();
                let _ = reply.send(Ok(Page { messages, recovered, epoch: epoch.clone() }));
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
            let per_room = self.settings.cache_per_room;
            self.caches.peek_mut(room, |cache| cache.trim(per_room));
        }
        let (waiting, resolving) = (&self.waiting, &self.resolving);
        self.caches.evict_beyond(self.settings.cache_budget.0 as usize, |room| {
            waiting.contains_key(room) || resolving.contains_key(room)
        });
        self.gauge_caches();
    }

    fn gauge_caches(&self) {
        metrics::gauge!(crate::metrics::HISTORY_CACHE_BYTES).set(self.caches.bytes() as f64);
        metrics::gauge!(crate::metrics::HISTORY_CACHE_ROOMS).set(self.caches.len() as f64);
    }

    /// Drops a room's cache: nothing feeds it any more.
    fn forget(&mut self, room: &str) {
        self.caches.remove(room);
    }

    /// An HTTP page of the messages after `since`: from the cache, or one
    /// forward read that stops at the page's size.
    fn page_after(&mut self, room: String, since: Seq, max: usize) -> ResponseActFuture<Self, Result<Page, Refusal>> {
        let epoch = self.epoch.clone();
        if !self.live.covers(&room) {
            self.forget(&room);
        }
        if let (Some(epoch), Some(cache)) = (epoch.clone(), self.caches.get(&room)) {
            let page = match cache.after(since) {
                After::Complete(entries) => Some((entries, true)),
                After::Truncated(entries) => Some((entries, false)),
                After::Unknown => None,
            };
            if let Some((entries, recovered)) = page {
                let messages = entries.into_iter().filter(|entry| entry.message().is_some()).take(max).collect();
                return Box::pin(fut::ready(Ok(Page { messages, recovered, epoch })));
            }
        }
        let range = ReadRange::Oldest { count: max, from: since.saturating_add(1) };
        let room_of_page = room.clone();
        let read = self.read(ReadRoom { room, range, deadline: Instant::now() + self.settings.read_deadline });
        Box::pin(read.then(move |result, act, ctx| -> ResponseActFuture<Self, Result<Page, Refusal>> {
            match act.page_of_read(&room_of_page, since, epoch, result) {
                Ok(Some(page)) => Box::pin(fut::ready(Ok(page))),
                // An offset past the log's end is not from this log: its last page, as on the WebSocket.
                Ok(None) => act.stale_page(room_of_page, max, ctx),
                Err(refusal) => Box::pin(fut::ready(Err(refusal))),
            }
        }))
    }

    /// The page a forward read after `since` found; `None` when `since` is
    /// past the log's end.
    fn page_of_read(
        &self,
        room: &str,
        since: Seq,
        epoch: Option<Epoch>,
        result: Result<(RoomRead, Facts), ReadError>,
    ) -> Result<Option<Page>, Refusal> {
        let epoch = epoch.ok_or_else(|| Refusal::unavailable("the server is still connecting to Kafka"))?;
        let (read, facts) = result.map_err(|e| Refusal::unavailable(format!("history could not be read: {e}")))?;
        if since >= read.end {
            return Ok(None);
        }
        let recovered = read.from <= since.saturating_add(1);
        let page = self.fold_read(room, read, facts, 0);
        let messages = page.iter().flat_map(RoomCache::entries).filter(|e| e.message().is_some()).cloned();
        Ok(Some(Page { messages: messages.collect(), recovered, epoch }))
    }

    /// The room's last `max` messages, `recovered: false`.
    fn stale_page(
        &mut self,
        room: String,
        max: usize,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<Page, Refusal>> {
        let (reply, answer) = oneshot::channel();
        let waiter =
            Waiter { want: Want::Last(max), stale: true, fallback: max, covered: false, to: To::Page { reply } };
        self.request(room, waiter, ctx);
        Box::pin(fut::wrap_future(async move {
            answer.await.unwrap_or_else(|_| Err(Refusal::unavailable("the history stopped")))
        }))
    }
}

impl Actor for History {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The hub sends every live message here: bursts queue, in order.
        ctx.set_mailbox_capacity(usize::MAX);
    }
}

fn stopped() -> ReadError {
    ReadError::Kafka("the history reader stopped".into())
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
        self.feed_stopped(|_| true);
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
        self.caches.peek_mut(&room, |cache| cache.remove(seq, &encoder(&epoch, 0)));
    }
}

impl Handler<FeedStopped> for History {
    type Result = ();

    fn handle(&mut self, msg: FeedStopped, _: &mut Self::Context) {
        let stale: Vec<String> = self
            .caches
            .rooms()
            .filter(|room| self.live.lives_in(room, msg.partition) || !self.live.covers(room))
            .cloned()
            .collect();
        for room in stale {
            self.forget(&room);
        }
        let live = self.live.clone();
        self.feed_stopped(|room| live.lives_in(room, msg.partition));
        self.gauge_caches();
    }
}

impl Handler<Replay> for History {
    type Result = ();

    fn handle(&mut self, msg: Replay, ctx: &mut Self::Context) {
        let to = To::Replay { outbox: msg.outbox, active_connections: msg.active_connections };
        let waiter = self.waiter(&msg.start, to);
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
        let (reply, answer) = oneshot::channel();
        let waiter = self.waiter(&msg.start, To::Page { reply });
        if let (Want::After(since), false, false) = (waiter.want, waiter.stale, self.resolving.contains_key(&msg.room))
        {
            return self.page_after(msg.room, since, msg.max);
        }
        self.request(msg.room, waiter, ctx);
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
