//! The live stream into the caches: each record the hub reads is filed,
//! in order, into its room's cache and folded there. A record that names a
//! message the cache knows nothing of waits for that one record's read,
//! with the room's later records (and questions about its messages) behind
//! it, so the fold keeps the log's order.

use std::collections::VecDeque;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::cache::{Known, RoomCache};
use super::frames::encoder;
use super::older::Facts;
use super::requests::Waiter;
use super::{stopped, History};
use crate::messages::{Appended, FindMessage, Folded, MessageFacts, ReadAt, Seq};
use crate::protocol::Refusal;

/// What waits behind a room's record being resolved, in order.
pub(super) enum Behind {
    Record(Appended),
    /// A record of a feed that stopped while it waited (its partition
    /// released, or the log recreated): filed into no cache, for a cache
    /// opened since holds only what came after.
    Stale(Appended),
    /// A [`FindMessage`]: answered once the records before it are filed.
    Find(Seq, oneshot::Sender<Result<Option<MessageFacts>, Refusal>>),
    /// A replay or a page: answered once the records before it are filed,
    /// else it would claim the room whole without them.
    Request(Waiter),
}

impl History {
    /// Files one record of the live stream; false when it waits for a read
    /// of the message it names (`resolved`: that read is done already).
    fn append(&mut self, msg: Appended, resolved: bool, ctx: &mut Context<Self>) -> bool {
        let Some(epoch) = self.epoch.clone() else { return true };
        // A room with members here keeps a cache: its records need folding.
        if msg.reply {
            self.caches.open(&msg.room, || RoomCache::new(self.edit_window));
        }
        let Some(needs) = self.caches.peek(&msg.room).map(|cache| cache.needs(&msg.entry)) else { return true };
        if let Some(named) = needs.filter(|_| !resolved) {
            self.learn_then_append(msg, named, ctx);
            return false;
        }
        let (room, seq, per_room) = (msg.room, msg.entry.seq, self.settings.cache_per_room);
        // A moderator's removal may have come while the record waited here.
        let removed = self.is_removed(&room, seq);
        let encode = encoder(&epoch, msg.active_connections);
        let pushed = self.caches.get_mut(&room, |cache| {
            let frame = cache.push(msg.entry, &encode);
            if removed {
                cache.remove(seq, &encode);
            }
            (frame, cache.records() > per_room)
        });
        let Some((frame, over)) = pushed else { return true };
        if msg.reply {
            self.hub.do_send(Folded { room: room.clone(), seq, frame });
        }
        if over || self.caches.bytes() > self.settings.cache_budget.0 as usize {
            self.tidy(&room);
        }
        true
    }

    /// Reads the message at `named` for `msg`; the room's records wait.
    fn learn_then_append(&mut self, msg: Appended, named: Seq, ctx: &mut Context<Self>) {
        let room = msg.room.clone();
        self.resolving.insert(room.clone(), VecDeque::from([Behind::Record(msg)]));
        let deadline = Instant::now() + self.settings.read_deadline;
        let read = self.reader.send(ReadAt { room: room.clone(), seqs: vec![named], deadline });
        ctx.spawn(read.into_actor(self).map(move |learnt, act, ctx| {
            let mut facts = Facts::new();
            act.learn(&room, &mut facts, &[named], learnt.unwrap_or_else(|_| Err(stopped())));
            act.caches.peek_mut(&room, |cache| facts.into_iter().for_each(|(seq, fact)| cache.learn(seq, fact)));
            act.drain(&room, ctx);
        }));
    }

    /// Files the records that waited for a room's read, in order, until one
    /// has to wait again.
    fn drain(&mut self, room: &str, ctx: &mut Context<Self>) {
        let Some(mut queue) = self.resolving.remove(room) else { return };
        let mut resolved = true;
        while let Some(behind) = queue.pop_front() {
            match behind {
                Behind::Record(msg) => {
                    if !self.append(msg, resolved, ctx) {
                        self.resolving.entry(room.to_owned()).or_default().extend(queue);
                        return;
                    }
                    resolved = false;
                }
                Behind::Stale(msg) => {
                    self.fold_alone(msg);
                    resolved = false;
                }
                Behind::Find(seq, answer) => {
                    ctx.spawn(self.find(room.to_owned(), seq).map(|found, _, _| drop(answer.send(found))));
                }
                Behind::Request(waiter) => self.request(room.to_owned(), waiter, ctx),
            }
        }
    }

    /// The records waiting in `rooms` are of a feed that stopped.
    pub(super) fn feed_stopped(&mut self, rooms: impl Fn(&str) -> bool) {
        for (_, queue) in self.resolving.iter_mut().filter(|(room, _)| rooms(room)) {
            let stale = queue.drain(..).map(|behind| match behind {
                Behind::Record(msg) => Behind::Stale(msg),
                other => other,
            });
            *queue = stale.collect();
        }
    }

    /// A stale record the hub still waits for is folded on its own (its
    /// quote, if any, unknown) so the room's later messages are not held.
    fn fold_alone(&mut self, msg: Appended) {
        let Some(epoch) = &self.epoch else { return };
        if msg.reply {
            let (room, seq) = (msg.room, msg.entry.seq);
            let frame = RoomCache::new(self.edit_window).push(msg.entry, &encoder(epoch, msg.active_connections));
            self.hub.do_send(Folded { room, seq, frame });
        }
    }

    /// What is known of the room's message at `seq`: from the cache when it
    /// knows, else from one record read (and learnt).
    fn find(&mut self, room: String, seq: Seq) -> ResponseActFuture<Self, Result<Option<MessageFacts>, Refusal>> {
        let known = self.caches.peek(&room).map(|cache| match cache.lookup(seq) {
            Known::Held(entry) => Some(
                entry
                    .message()
                    .map(|message| MessageFacts { fact: entry.state.fact(message), state: Some(entry.state.clone()) }),
            ),
            Known::Fact(fact) => Some(Some(MessageFacts { fact: fact.clone(), state: None })),
            Known::Nothing => Some(None),
            Known::Unknown => None,
        });
        if let Some(Some(known)) = known {
            return Box::pin(fut::ready(Ok(known)));
        }
        let deadline = Instant::now() + self.settings.read_deadline;
        let read = self.reader.send(ReadAt { room: room.clone(), seqs: vec![seq], deadline });
        Box::pin(read.into_actor(self).map(move |learnt, act, _| {
            let learnt = learnt.unwrap_or_else(|_| Err(stopped()));
            let learnt = learnt.map_err(|e| Refusal::unavailable(format!("the message could not be read: {e}")))?;
            let mut facts = Facts::new();
            act.learn(&room, &mut facts, &[seq], Ok(learnt));
            let fact = facts.remove(&seq).flatten();
            act.caches.peek_mut(&room, |cache| cache.learn(seq, fact.clone()));
            Ok(fact.map(|fact| MessageFacts { fact, state: None }))
        }))
    }
}

impl Handler<Appended> for History {
    type Result = ();

    fn handle(&mut self, msg: Appended, ctx: &mut Self::Context) {
        match self.resolving.get_mut(&msg.room) {
            Some(waiting) => waiting.push_back(Behind::Record(msg)),
            None => drop(self.append(msg, false, ctx)),
        }
    }
}

impl Handler<FindMessage> for History {
    type Result = ResponseActFuture<Self, Result<Option<MessageFacts>, Refusal>>;

    /// Answered after every record the hub handed on before it.
    fn handle(&mut self, msg: FindMessage, _: &mut Self::Context) -> Self::Result {
        let Some(waiting) = self.resolving.get_mut(&msg.room) else { return self.find(msg.room, msg.seq) };
        let (answer, found) = oneshot::channel();
        waiting.push_back(Behind::Find(msg.seq, answer));
        Box::pin(fut::wrap_future(async move {
            found.await.unwrap_or_else(|_| Err(Refusal::unavailable("the history stopped")))
        }))
    }
}
