//! Acts on a room's messages: reactions, edits by the author within the
//! window, deletions by the author. Each is checked against the message
//! here, before it is written, with the same rules every reader of the log
//! applies to it afterwards ([`crate::history::allows`]).

use std::time::Duration;

use actix::prelude::*;

use super::outcomes::now_ms;
use super::posting::{refused, request_of, Answered};
use super::rules::Poster;
use super::{now_rfc3339, ChatHub};
use crate::history::allows;
use crate::messages::{MessageFacts, SendAct, Seq};
use crate::protocol::{
    Act, DeleteRecord, EditRecord, ErrorCode, ReactionRecord, Refusal, RoomRecord, MAX_DISTINCT_REACTIONS,
};

/// Whether the message at `seq` (what the history knows of it: `facts`)
/// allows `record`, a reply to it or an act on it.
pub(super) fn check(
    record: &RoomRecord,
    seq: Seq,
    facts: Option<MessageFacts>,
    edit_window: Duration,
) -> Result<(), Refusal> {
    let missing = |why: &str| Refusal::new(ErrorCode::NoSuchMessage, format!("the message at offset {seq} {why}"));
    let Some(MessageFacts { fact, state }) = facts else { return Err(missing("is not one of this room's")) };
    if fact.deleted || state.as_ref().is_some_and(|state| state.removed.is_some()) {
        return Err(missing("was deleted"));
    }
    let theirs = fact.author.is_some() && fact.author.as_deref() == record.author();
    match record {
        RoomRecord::Edit(_) | RoomRecord::Delete(_) if !theirs => {
            Err(Refusal::new(ErrorCode::NotYours, "only a message's author can edit or delete it"))
        }
        RoomRecord::Edit(_) if !allows(fact.author.as_deref(), &fact.timestamp, record, edit_window) => {
            let minutes = edit_window.as_secs() / 60;
            Err(Refusal::new(
                ErrorCode::EditWindowPassed,
                format!("a message can be edited for {minutes} minutes after it is sent"),
            ))
        }
        RoomRecord::Reaction(reaction)
            if reaction.added && state.as_ref().is_some_and(|state| !state.takes(&reaction.emoji)) =>
        {
            Err(Refusal::new(
                ErrorCode::TooManyReactions,
                format!("a message carries at most {MAX_DISTINCT_REACTIONS} different reactions"),
            ))
        }
        _ => Ok(()),
    }
}

impl Handler<SendAct> for ChatHub {
    type Result = Answered;

    fn handle(&mut self, msg: SendAct, ctx: &mut Self::Context) -> Self::Result {
        if self.epoch.is_none() {
            return refused(Refusal::unavailable("the server is still connecting to Kafka; try again shortly"));
        }
        let Some(member) = self.members.get(&msg.id) else {
            return refused(Refusal::unavailable("the session is not in a room"));
        };
        if self.address_budget.check_key(&member.address).is_err() {
            return refused(Refusal::new(ErrorCode::RateLimited, "too much from your address; slow down"));
        }
        let (identity, room, address) = (member.identity.clone(), member.room.clone(), member.address);
        let (sender, request) = (format!("identity:{}", identity.id), request_of((&room, msg.offset, &msg.act)));
        if let Some(answered) = self.retried(&sender, msg.client_msg_id.as_deref(), request, ctx) {
            return answered;
        }
        let poster = Poster { room: &room, key: "", identity: Some(&identity.id), address };
        let (event_id, timestamp, target) = (uuid::Uuid::now_v7().to_string(), now_rfc3339(), msg.offset);
        let (author, username) = (identity.id.clone(), identity.name.clone());
        let record = match msg.act {
            // Taking one's own message back is allowed even while muted.
            Act::Delete => RoomRecord::Delete(DeleteRecord { event_id, target, room, author, username, timestamp }),
            Act::Edit { mut text } => {
                if let Err(refusal) = self.rules.check_speaker(&poster, Some(&mut text), now_ms()) {
                    return refused(refusal);
                }
                RoomRecord::Edit(EditRecord { event_id, target, room, text, author, username, timestamp })
            }
            Act::React { emoji, added } => {
                if let Err(refusal) = self.rules.check_speaker(&poster, None, now_ms()) {
                    return refused(refusal);
                }
                let reaction = ReactionRecord { event_id, target, room, emoji, added, author, username, timestamp };
                RoomRecord::Reaction(reaction)
            }
        };
        self.submit(record, (sender, request), Some(msg.id), msg.client_msg_id, ctx)
    }
}
