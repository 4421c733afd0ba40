//! Posting: who may post under which name, the rules a post must pass, and
//! honest outcomes (a retry gets the first attempt's, never a second copy).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::names::Holder;
use super::outcomes::{now_ms, Answer, Key, State};
use super::rules::Poster;
use super::{now_rfc3339, ChatHub};
use crate::identity::{comparison_key, Identity};
use crate::messages::{
    Delivery, FindMessage, Locate, Moderate, Posted, PublishChat, ReportMessage, SendChat, Sender, Seq, SessionId,
};
use crate::protocol::{ChatRecord, ErrorCode, ModerationRecord, Refusal, RoomRecord, ServerFrame};

/// The author of a post, once the hub knows who it is.
pub(super) struct Author {
    username: String,
    /// Their chat identity, when they have one.
    identity: Option<String>,
    address: IpAddr,
    /// Retries are recognised per identity, or per name for HTTP clients without one.
    key: String,
    /// The session to tell when a lost outcome turns out stored.
    notify: Option<SessionId>,
}

/// An act or a reply waiting to be checked until this instance has read
/// back its own writes to the room (so a quick second act sees the first).
pub(super) struct Parked {
    record: RoomRecord,
    seq: Seq,
    reply: Reply,
    since: Instant,
}

/// The longest an act waits for its room's reads before it is checked
/// against what the history has: the reads may never come (a log
/// recreated meanwhile), and an act is always answered.
const PARKED_MAX: Duration = Duration::from_secs(5);

/// Where a publish's outcome goes.
pub(super) enum Reply {
    Direct(Answer),
    Tracked(Key, u32),
}

pub(super) type Answered = ResponseFuture<Result<Posted, Refusal>>;

pub(super) fn refused(refusal: Refusal) -> Answered {
    Box::pin(async move { Err(refusal) })
}

impl ChatHub {
    /// Who posts: a session's identity, or an HTTP client's name, which it
    /// may use only if no identity holds it, or with that identity's token.
    pub(super) fn author(&mut self, sender: Sender) -> Result<Author, Refusal> {
        match sender {
            Sender::Session(id) => {
                let member =
                    self.members.get(&id).ok_or_else(|| Refusal::unavailable("the session is not in a room"))?;
                if self.address_budget.check_key(&member.address).is_err() {
                    return Err(Refusal::new(ErrorCode::RateLimited, "too many messages from your address; slow down"));
                }
                Ok(Author {
                    username: member.identity.name.clone(),
                    identity: Some(member.identity.id.clone()),
                    address: member.address,
                    key: format!("identity:{}", member.identity.id),
                    notify: Some(id),
                })
            }
            Sender::Http { username, token: Some(token), address } => {
                let identity =
                    self.tokens.verify(&token).map_err(|e| Refusal::new(ErrorCode::InvalidToken, e.to_string()))?;
                if comparison_key(&identity.name) != comparison_key(&username) {
                    let message = format!("this token belongs to {}, not to {username}", identity.name);
                    return Err(Refusal::new(ErrorCode::NameTaken, message));
                }
                // As on a reconnect: a name given to someone else while its
                // token's identity was away is theirs now.
                if !self.name_is_free_for(&identity) {
                    let message = format!("{username} is someone else's name now; connect for a new one");
                    return Err(Refusal::new(ErrorCode::NameTaken, message));
                }
                let key = format!("identity:{}", identity.id);
                Ok(Author { username: identity.name, identity: Some(identity.id), address, key, notify: None })
            }
            Sender::Http { username, token: None, address } => {
                if self.names.holder(&username, now_ms(), self.name_memory_ms()).is_some() {
                    let message = format!("{username} is someone's name here; post under it with its token");
                    return Err(Refusal::new(ErrorCode::NameTaken, message));
                }
                let key = format!("http:{}", comparison_key(&username));
                Ok(Author { username, identity: None, address, key, notify: None })
            }
        }
    }

    /// Whether an identity came back to its own name, or the name is now
    /// someone else's (it was away longer than the name memory).
    pub(super) fn name_is_free_for(&self, identity: &Identity) -> bool {
        match self.names.holder(&identity.name, now_ms(), self.name_memory_ms()) {
            Some(Holder::Identity(id)) => id == identity.id,
            Some(Holder::Unknown) | None => true,
        }
    }

    pub(super) fn name_memory_ms(&self) -> i64 {
        i64::try_from(self.settings.name_memory.as_millis()).unwrap_or(i64::MAX)
    }

    fn record(&self, author: &Author, room: String, text: String, reply_to: Option<Seq>) -> ChatRecord {
        ChatRecord {
            message_id: uuid::Uuid::now_v7().to_string(),
            username: author.username.clone(),
            text,
            room,
            timestamp: now_rfc3339(),
            attempt: 1,
            author: author.identity.clone(),
            verified: author.identity.is_some(),
            reply_to,
        }
    }

    /// A send naming a `client_msg_id` its sender used within the retry
    /// window: the first attempt's outcome, or a refusal if the id asked
    /// for something else then. Asked before the rules: a message stored
    /// once stays stored, whatever a mute or slow mode says by the retry.
    pub(super) fn retried(
        &mut self,
        sender: &str,
        client_msg_id: Option<&str>,
        request: u64,
        ctx: &mut Context<Self>,
    ) -> Option<Answered> {
        let key = Key { sender: sender.to_owned(), client_msg_id: client_msg_id?.to_owned() };
        if self.outcomes.get_mut(&key)?.request != request {
            let message =
                format!("client_msg_id {:?} was sent with another request; give each its own", key.client_msg_id);
            return Some(refused(Refusal::new(ErrorCode::InvalidField, message)));
        }
        let answered = self.retry(key, ctx);
        Some(Box::pin(async move { answered.await.unwrap_or_else(|_| Err(gone())) }))
    }

    /// Writes `record` (a message, or an act on one, for the `request`
    /// [`retried`](Self::retried) did not know) once the message it names
    /// is found and allows it; answers with its place in the log.
    pub(super) fn submit(
        &mut self,
        record: RoomRecord,
        (sender, request): (String, u64),
        notify: Option<SessionId>,
        client_msg_id: Option<String>,
        ctx: &mut Context<Self>,
    ) -> Answered {
        let (answer, answered) = oneshot::channel();
        let reply = match client_msg_id {
            Some(client_msg_id) => {
                let key = Key { sender, client_msg_id };
                let forget_at = Instant::now() + self.settings.retry_window;
                self.outcomes.begin(key.clone(), record.clone(), request, notify, answer, forget_at);
                Reply::Tracked(key, 0)
            }
            None => Reply::Direct(answer),
        };
        match record.names() {
            None => self.publish(record, reply, ctx),
            Some(seq) => self.check_then_publish(record, seq, reply, ctx),
        }
        Box::pin(async move { answered.await.unwrap_or_else(|_| Err(gone())) })
    }

    /// Asks the history for the message at `seq`; writes `record` if the
    /// message allows it, else answers why not.
    fn check_then_publish(&mut self, record: RoomRecord, seq: Seq, reply: Reply, ctx: &mut Context<Self>) {
        if let Some(room) = self.rooms.get_mut(record.room()).filter(|room| !room.caught_up()) {
            return room.parked.push(Parked { record, seq, reply, since: Instant::now() });
        }
        self.check_with_history(record, seq, reply, ctx);
    }

    fn check_with_history(&mut self, record: RoomRecord, seq: Seq, reply: Reply, ctx: &mut Context<Self>) {
        let found = self.history.send(FindMessage { room: record.room().to_owned(), seq });
        ctx.spawn(found.into_actor(self).map(move |found, act, ctx| {
            let found = found.unwrap_or_else(|_| Err(Refusal::unavailable("the history is not running")));
            match found.and_then(|facts| super::acts::check(&record, seq, facts, act.settings.edit_window)) {
                Ok(()) => act.publish(record, reply, ctx),
                Err(refusal) => act.answer(reply, Err(refusal)),
            }
        }));
    }

    /// Checks the acts that waited for the room's reads to catch up.
    pub(super) fn unpark(&mut self, room: &str, ctx: &mut Context<Self>) {
        let Some(members) = self.rooms.get_mut(room).filter(|room| room.caught_up() && !room.parked.is_empty()) else {
            return;
        };
        for Parked { record, seq, reply, .. } in std::mem::take(&mut members.parked) {
            self.check_then_publish(record, seq, reply, ctx);
        }
        self.close_if_unused(room);
    }

    /// Checks the acts that waited longer than [`PARKED_MAX`] for their
    /// room's reads with what the history has now.
    pub(super) fn unpark_overdue(&mut self, now: Instant, ctx: &mut Context<Self>) {
        let mut overdue = Vec::new();
        for room in self.rooms.values_mut() {
            let (late, waiting) =
                room.parked.drain(..).partition(|parked| now.duration_since(parked.since) >= PARKED_MAX);
            room.parked = waiting;
            overdue.extend(late);
        }
        for Parked { record, seq, reply, .. } in overdue {
            log::warn!("an act on {}'s offset {seq} waited {PARKED_MAX:?} for the room's reads", record.room());
            let room = record.room().to_owned();
            self.check_with_history(record, seq, reply, ctx);
            self.close_if_unused(&room);
        }
    }

    fn answer(&mut self, reply: Reply, outcome: Result<Posted, Refusal>) {
        match reply {
            Reply::Direct(answer) => drop(answer.send(outcome)),
            Reply::Tracked(key, step) => self.outcomes.settle(&key, step, outcome),
        }
    }

    /// Hands `record` to the producer; its outcome goes to `reply`.
    pub(super) fn publish(&mut self, record: RoomRecord, reply: Reply, ctx: &mut Context<Self>) {
        let payload = record.to_json();
        metrics::counter!(crate::metrics::MESSAGES_RECEIVED).increment(1);
        let publish = PublishChat { room: record.room().to_owned(), payload, schema: record.schema() };
        let stored = self.producer.send(publish);
        // Only a room here now waits for this write: one opened later reads from its own start.
        let tracked = self.rooms.get_mut(record.room()).map(|room| room.in_flight += 1).is_some();
        ctx.spawn(stored.into_actor(self).map(move |delivery, act, _| {
            let delivery = delivery.unwrap_or_else(|e| match e {
                MailboxError::Closed => Delivery::NotStored { reason: "the producer is not running".into() },
                MailboxError::Timeout => Delivery::Unknown { reason: "the producer did not answer".into() },
            });
            if let Some(room) = act.rooms.get_mut(record.room()).filter(|_| tracked) {
                room.in_flight -= 1;
                if let Delivery::Stored { seq } = &delivery {
                    room.written_up_to = room.written_up_to.max(Some(*seq));
                }
            }
            let outcome = act.outcome(delivery, &record);
            act.answer(reply, outcome);
            act.close_if_unused(record.room());
        }));
    }

    fn posted(&self, record: &RoomRecord, seq: Seq) -> Option<Posted> {
        let epoch = self.epoch.clone()?;
        Some(Posted { message_id: record.id().to_owned(), timestamp: record.timestamp().to_owned(), seq, epoch })
    }

    fn outcome(&self, delivery: Delivery, record: &RoomRecord) -> Result<Posted, Refusal> {
        match delivery {
            Delivery::Stored { seq } => {
                self.posted(record, seq).ok_or_else(|| Refusal::unavailable("the server lost its Kafka assignment"))
            }
            Delivery::NotStored { reason } => {
                log::warn!("kafka_unavailable: record {} not stored: {reason}", record.id());
                Err(Refusal::unavailable("Kafka did not store the message; it was not sent"))
            }
            Delivery::Unknown { reason } => {
                log::warn!("outcome_unknown: record {}: {reason}", record.id());
                Err(Refusal::new(
                    ErrorCode::OutcomeUnknown,
                    "Kafka's answer was lost: the message may be stored. Send it again with the same \
                     client_msg_id to learn which; it will not be posted twice",
                )
                .with_message_id(record.id()))
            }
        }
    }

    /// A send with a `client_msg_id` seen before: the first attempt's
    /// outcome, settling a lost one first.
    fn retry(&mut self, key: Key, ctx: &mut Context<Self>) -> oneshot::Receiver<Result<Posted, Refusal>> {
        let (answer, answered) = oneshot::channel();
        let Some(attempt) = self.outcomes.get_mut(&key) else { return answered };
        match &mut attempt.state {
            State::Stored(posted) => drop(answer.send(Ok(posted.clone()))),
            State::Pending { waiting, .. } => waiting.push(answer),
            State::Unknown(record) => {
                let record = record.clone();
                attempt.state = State::Pending { record: record.clone(), waiting: vec![answer] };
                attempt.step += 1;
                let step = attempt.step;
                let locate = Locate {
                    room: record.room().to_owned(),
                    message_id: record.id().to_owned(),
                    sent_ms: attempt.sent_ms,
                };
                let search = self.history.send(locate);
                ctx.spawn(
                    search.into_actor(self).map(move |found, act, ctx| act.settle(key, step, record, found, ctx)),
                );
            }
        }
        answered
    }

    /// The search for a lost message is back: stored, or write it again.
    fn settle(
        &mut self,
        key: Key,
        step: u32,
        mut record: RoomRecord,
        found: Result<Result<Option<Seq>, Refusal>, MailboxError>,
        ctx: &mut Context<Self>,
    ) {
        match found.unwrap_or_else(|_| Err(Refusal::unavailable("the history is not running"))) {
            Ok(Some(seq)) => {
                let outcome = self.posted(&record, seq).ok_or_else(|| Refusal::unavailable("no Kafka assignment"));
                self.outcomes.settle(&key, step, outcome);
            }
            Ok(None) => {
                let Some(attempt) = self.outcomes.get_mut(&key).filter(|a| a.step == step) else { return };
                record.next_attempt();
                if let State::Pending { record: kept, .. } = &mut attempt.state {
                    kept.clone_from(&record);
                }
                attempt.sent_ms = now_ms();
                self.publish(record, Reply::Tracked(key, step), ctx);
            }
            Err(refusal) => {
                log::warn!("outcome_unknown: record {} not found yet: {}", record.id(), refusal.message);
                let lost =
                    Refusal::new(ErrorCode::OutcomeUnknown, "the log could not be searched yet; try again shortly")
                        .with_message_id(record.id());
                self.outcomes.settle(&key, step, Err(lost));
            }
        }
    }

    /// A message with a lost outcome arrived: it is stored; tell its sender.
    pub(super) fn settle_seen(&mut self, record: &RoomRecord, seq: Seq) {
        let Some(epoch) = self.epoch.clone() else { return };
        let posted =
            |r: &RoomRecord| Posted { message_id: r.id().to_owned(), timestamp: r.timestamp().to_owned(), seq, epoch };
        let Some((session, posted)) = self.outcomes.seen(record.id(), posted) else { return };
        let Some(member) = self.members.get(&session) else { return };
        let ack = ServerFrame::Ack {
            client_msg_id: None,
            message_id: &posted.message_id,
            offset: posted.seq,
            epoch: posted.epoch.as_str(),
        }
        .encode();
        if member.outbox.push(&ack, None, Instant::now()).is_err() {
            self.evict(session);
        }
    }
}

impl Handler<SendChat> for ChatHub {
    type Result = Answered;

    fn handle(&mut self, msg: SendChat, ctx: &mut Self::Context) -> Self::Result {
        if self.epoch.is_none() {
            return refused(Refusal::unavailable("the server is still connecting to Kafka; try again shortly"));
        }
        let author = match self.author(msg.sender) {
            Ok(author) => author,
            Err(refusal) => return refused(refusal),
        };
        let request = request_of((&msg.room, &msg.text, msg.reply_to));
        if let Some(answered) = self.retried(&author.key, msg.client_msg_id.as_deref(), request, ctx) {
            return answered;
        }
        let mut text = msg.text;
        let poster =
            Poster { room: &msg.room, key: &author.key, identity: author.identity.as_deref(), address: author.address };
        let at = Instant::now();
        if let Err(refusal) = self.rules.check_post(&poster, &mut text, at, now_ms()) {
            return refused(refusal);
        }
        let (room, key) = (msg.room.clone(), author.key.clone());
        let record = RoomRecord::Message(self.record(&author, msg.room, text, msg.reply_to));
        let answered = self.submit(record, (author.key, request), author.notify, msg.client_msg_id, ctx);
        // A message certainly not stored does not count for slow mode: the
        // client's resend is its first message, not a second one.
        let (tell, told) = oneshot::channel();
        ctx.spawn(fut::wrap_future(answered).map(move |outcome: Result<Posted, Refusal>, act: &mut Self, _| {
            if outcome.as_ref().is_err_and(|refusal| refusal.code != ErrorCode::OutcomeUnknown) {
                act.rules.unpost(&room, &key, at);
            }
            let _ = tell.send(outcome);
        }));
        Box::pin(async move { told.await.unwrap_or_else(|_| Err(gone())) })
    }
}

/// What a client asked for, as [`Attempt::request`](super::outcomes::Attempt) holds it.
pub(super) fn request_of(request: impl std::hash::Hash) -> u64 {
    // Fixed keys: the same request hashes the same on every call.
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(request)
}

fn gone() -> Refusal {
    Refusal::unavailable("the chat hub stopped before Kafka answered")
}

impl Handler<ReportMessage> for ChatHub {
    type Result = ResponseFuture<Result<(), Refusal>>;

    /// Files a user's report of one of the room's messages in the
    /// moderation log, where every instance's `/admin` sees it.
    fn handle(&mut self, msg: ReportMessage, _: &mut Self::Context) -> Self::Result {
        let (Some(member), Some(epoch)) = (self.members.get(&msg.id), &self.epoch) else {
            return Box::pin(async { Err(Refusal::unavailable("the session is not in a room")) });
        };
        if self.address_budget.check_key(&member.address).is_err() {
            return Box::pin(async { Err(Refusal::new(ErrorCode::RateLimited, "too many reports; slow down")) });
        }
        let record = ModerationRecord::Report {
            epoch: epoch.as_str().to_owned(),
            room: member.room.clone(),
            offset: msg.offset,
            reporter: member.identity.id.clone(),
            reason: msg.reason,
            at_ms: now_ms(),
        };
        let found = self.history.send(FindMessage { room: member.room.clone(), seq: msg.offset });
        let moderation = self.moderation.clone();
        Box::pin(async move {
            let found = found.await.unwrap_or_else(|_| Err(Refusal::unavailable("the history is not running")))?;
            if found.is_none() {
                let message = format!("the message at offset {} is not one of this room's", msg.offset);
                return Err(Refusal::new(ErrorCode::NoSuchMessage, message));
            }
            let filed = moderation.send(Moderate { record }).await;
            filed.unwrap_or_else(|_| Err(Refusal::unavailable("moderation is not running")))
        })
    }
}
