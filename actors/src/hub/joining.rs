//! Joining: whether an address may connect, a join that waits until the
//! room's log is read here, the identity a member gets (its token's, or a
//! fresh name no instance holds, announced to all of them), and the
//! welcome that starts its replay.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Instant;

use actix::prelude::*;

use super::outcomes::now_ms;
use super::{now_rfc3339, ChatHub, Member};
use crate::identity::{unique_name, Identity};
use crate::messages::{
    Epoch, Follow, IdentitySeen, Join, MemberChanged, NamesElsewhere, PublishSide, Replay, SideTopic, Unfollow,
};
use crate::outbox::CloseReason;
use crate::protocol::{ErrorCode, IdentityRecord, Refusal, ServerFrame};

/// HTTP → ChatHub: may a connection from `address` be upgraded?
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct Admit {
    pub address: IpAddr,
}

impl Handler<Admit> for ChatHub {
    type Result = Result<(), Refusal>;

    fn handle(&mut self, msg: Admit, _: &mut Self::Context) -> Self::Result {
        if self.rules.is_banned(None, msg.address) {
            return Err(Refusal::new(ErrorCode::Banned, "this address is banned from the chat"));
        }
        Ok(())
    }
}

/// HTTP → ChatHub: the log's epoch now, if the consumer is assigned.
#[derive(Message)]
#[rtype(result = "Option<Epoch>")]
pub struct CurrentEpoch;

impl Handler<CurrentEpoch> for ChatHub {
    type Result = Option<Epoch>;

    fn handle(&mut self, _: CurrentEpoch, _: &mut Self::Context) -> Self::Result {
        self.epoch.clone()
    }
}

impl Handler<Join> for ChatHub {
    type Result = ();

    /// Admits the member at once when this instance reads the room's log
    /// already; else once it does (the first member's join waits for that).
    fn handle(&mut self, msg: Join, ctx: &mut Self::Context) {
        if self.epoch.is_none() {
            return msg.outbox.close(CloseReason::NOT_READY, false);
        }
        if self.rooms.contains_key(&msg.room) {
            return self.admit(msg);
        }
        if let Some(waiting) = self.joining.get_mut(&msg.room) {
            return waiting.push(msg);
        }
        let room = msg.room.clone();
        self.joining.insert(room.clone(), vec![msg]);
        let followed = self.consumer.send(Follow { room: room.clone() });
        ctx.spawn(followed.into_actor(self).map(move |followed, act, _| {
            let followed = followed.unwrap_or_else(|_| Err(Refusal::unavailable("the Kafka consumer stopped")));
            act.followed(&room, followed);
        }));
    }
}

impl ChatHub {
    /// The room's log is read now (or could not be): its joins go on.
    fn followed(&mut self, room: &str, followed: Result<(), Refusal>) {
        let joins = self.joining.remove(room).unwrap_or_default();
        if let Err(refusal) = &followed {
            log::warn!("kafka_unavailable: {room}: {}", refusal.message);
        }
        for join in joins {
            match (&followed, join.outbox.is_done()) {
                (Ok(()), false) => self.admit(join),
                (Err(_), false) => join.outbox.close(CloseReason::NOT_READY, false),
                (_, true) => {}
            }
        }
        if !self.rooms.contains_key(room) {
            self.consumer.do_send(Unfollow { room: room.to_owned() });
        }
    }

    /// Welcomes a member to a room whose log is read.
    fn admit(&mut self, join: Join) {
        let Join { id, room, outbox, history, token, address } = join;
        let Some(epoch) = self.epoch.clone() else {
            return outbox.close(CloseReason::NOT_READY, false);
        };
        let (identity, notice) = self.identify(token.as_deref());
        self.names.claim(&identity);
        self.announce(&identity);
        let members = self.rooms.entry(room.clone()).or_default();
        members.outboxes.insert(id, outbox.clone());
        let count = members.count();
        let (now, session_id, timestamp, token) =
            (Instant::now(), id.to_string(), now_rfc3339(), self.tokens.issue(&identity));
        let welcome = ServerFrame::Welcome {
            username: &identity.name,
            room: &room,
            session_id: &session_id,
            epoch: epoch.as_str(),
            token: &token,
        };
        let update = ServerFrame::ConnectionUpdate { active_connections: count, room: &room, timestamp: &timestamp };
        let mut first = vec![welcome.encode(), update.encode()];
        first.extend(notice.as_ref().map(|notice| ServerFrame::error(notice).encode()));
        // An empty outbox takes these few frames: none can fail.
        for frame in &first {
            let _ = outbox.push(frame, None, now);
        }
        // Live frames wait behind the replay from now on: no gap, no duplicate.
        outbox.hold();
        log::debug!("{} joined {room} ({id})", identity.name);
        self.presence.do_send(MemberChanged { room: room.clone(), username: identity.name.clone(), joined: true });
        let member = Member { room: room.clone(), identity, address, outbox: outbox.clone(), known_count: count };
        self.members.insert(id, member);
        self.count_connections(&room, true);
        self.history.do_send(Replay { room, start: history, outbox, active_connections: count });
    }
}

impl ChatHub {
    /// The identity a joining client gets: its token's, unless the token is
    /// not ours, was revoked, or its name went to someone else while it was
    /// away; then a new one, and a notice saying why.
    fn identify(&mut self, token: Option<&str>) -> (Identity, Option<Refusal>) {
        let notice = |message: String| Some(Refusal::new(ErrorCode::InvalidToken, message));
        let (returning, why) = match token.map(|token| self.tokens.verify(token)) {
            None => (None, None),
            Some(Err(e)) => (None, notice(format!("{e}; you have a new name"))),
            Some(Ok(identity)) if self.rules.is_banned(Some(&identity.id), IpAddr::from([0, 0, 0, 0])) => {
                (None, notice("that identity was banned; you have a new name".into()))
            }
            Some(Ok(identity)) if !self.name_is_free_for(&identity) => (
                None,
                notice(format!("{} was given to someone else while you were away; you have a new name", identity.name)),
            ),
            Some(Ok(identity)) => (Some(identity), None),
        };
        let identity = returning.unwrap_or_else(|| {
            let (now, memory) = (now_ms(), self.name_memory_ms());
            Identity::new(unique_name(|name| self.names.holder(name, now, memory).is_some()))
        });
        (identity, why)
    }

    /// Tells every instance this identity is online: its name stays its own.
    fn announce(&self, identity: &Identity) {
        let record = IdentityRecord { id: identity.id.clone(), name: identity.name.clone(), seen_ms: now_ms() };
        // A record holds only strings and an integer: serializing cannot fail.
        let payload = serde_json::to_vec(&record).expect("identity records serialize");
        self.producer.do_send(PublishSide { topic: SideTopic::Identities, key: identity.id.clone(), payload });
    }

    pub(super) fn still_here(&mut self) {
        let ids: HashSet<&str> = self.names.here().collect();
        for member in self.members.values().filter(|m| ids.contains(m.identity.id.as_str())) {
            self.announce(&member.identity);
        }
    }
}

impl Handler<IdentitySeen> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: IdentitySeen, _: &mut Self::Context) {
        self.names.seen(&msg.record);
    }
}

impl Handler<NamesElsewhere> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: NamesElsewhere, _: &mut Self::Context) {
        self.names.elsewhere(&msg.joined, &msg.left);
    }
}
