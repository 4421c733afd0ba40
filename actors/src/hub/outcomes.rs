//! `Outcomes`: what became of each send (a message, or an act on one) that
//! named a `client_msg_id`, kept for the retry window, so a retry is
//! answered with the first attempt's outcome instead of writing it twice.
//!
//! A send whose Kafka answer was lost is `Unknown`: its record may be in the
//! log. Two things settle it: the live stream bringing a record with its id
//! (it was stored), or a retry, which first searches the log and writes the
//! record again (same id; a message's next `attempt`) only if it is not there.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::messages::{Posted, SessionId};
use crate::protocol::{Refusal, RoomRecord};

/// Where one request's answer goes.
pub type Answer = oneshot::Sender<Result<Posted, Refusal>>;

/// Retries are matched by who sent them and the id they gave.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub sender: String,
    pub client_msg_id: String,
}

/// One message's attempts.
pub struct Attempt {
    /// What the client asked for, hashed: a retry asks for the same.
    pub request: u64,
    /// When the latest attempt was handed to Kafka (ms since the Unix epoch).
    pub sent_ms: i64,
    /// The session to tell when a lost outcome turns out stored.
    pub notify: Option<SessionId>,
    pub state: State,
    /// Bumped by each step, so a late answer to an earlier step is ignored.
    pub step: u32,
    /// When its retry window ends: an earlier attempt under the same key,
    /// refused for certain, left an expiry entry of its own behind.
    forget_at: Instant,
}

/// Only an outcome not known yet keeps its record (a second attempt is the
/// same message): a stored one keeps its place in the log, so a sender's
/// whole retry window of long messages is not held.
pub enum State {
    /// Kafka (or the search of the log) has not answered yet; `waiting` wait.
    Pending {
        record: RoomRecord,
        waiting: Vec<Answer>,
    },
    Stored(Posted),
    /// The answer was lost: the record may be in the log.
    Unknown(RoomRecord),
}

#[derive(Default)]
pub struct Outcomes {
    attempts: HashMap<Key, Attempt>,
    /// Messages whose outcome is not known yet, by `message_id`.
    open: HashMap<String, Key>,
    /// When each key may be forgotten, oldest first.
    expiry: VecDeque<(Instant, Key)>,
}

impl Outcomes {
    pub fn get_mut(&mut self, key: &Key) -> Option<&mut Attempt> {
        self.attempts.get_mut(key)
    }

    /// Starts tracking a first attempt; `answer` waits for its outcome.
    pub fn begin(
        &mut self,
        key: Key,
        record: RoomRecord,
        request: u64,
        notify: Option<SessionId>,
        answer: Answer,
        forget_at: Instant,
    ) {
        self.open.insert(record.id().to_owned(), key.clone());
        self.expiry.push_back((forget_at, key.clone()));
        let state = State::Pending { record, waiting: vec![answer] };
        let attempt = Attempt { request, sent_ms: now_ms(), notify, state, step: 0, forget_at };
        self.attempts.insert(key, attempt);
    }

    /// The outcome of `key`'s step `step`; answers whoever waits for it.
    pub fn settle(&mut self, key: &Key, step: u32, outcome: Result<Posted, Refusal>) {
        // Else settled meanwhile (the live stream brought the record), or a later step's to settle.
        let pending =
            self.attempts.get(key).is_some_and(|a| a.step == step && matches!(a.state, State::Pending { .. }));
        if !pending {
            return;
        }
        let Some(mut attempt) = self.attempts.remove(key) else { return };
        let State::Pending { record, waiting } = attempt.state else { return };
        match &outcome {
            Ok(posted) => {
                self.open.remove(&posted.message_id);
                attempt.state = State::Stored(posted.clone());
                self.attempts.insert(key.clone(), attempt);
            }
            Err(refusal) if refusal.code == crate::protocol::ErrorCode::OutcomeUnknown => {
                attempt.state = State::Unknown(record);
                self.attempts.insert(key.clone(), attempt);
            }
            // Certainly not stored: a retry is a new attempt.
            Err(_) => drop(self.open.remove(record.id())),
        }
        for answer in waiting {
            let _ = answer.send(outcome.clone());
        }
    }

    /// A record with `message_id` arrived live: if its outcome was open, it
    /// is stored now. Returns who to tell, if nobody is waiting already.
    pub fn seen(
        &mut self,
        message_id: &str,
        posted: impl FnOnce(&RoomRecord) -> Posted,
    ) -> Option<(SessionId, Posted)> {
        let key = self.open.remove(message_id)?;
        let attempt = self.attempts.get_mut(&key)?;
        let posted = match &attempt.state {
            State::Pending { record, .. } | State::Unknown(record) => posted(record),
            State::Stored(_) => return None,
        };
        attempt.step += 1;
        match std::mem::replace(&mut attempt.state, State::Stored(posted.clone())) {
            State::Pending { waiting, .. } => {
                for answer in waiting {
                    let _ = answer.send(Ok(posted.clone()));
                }
                None
            }
            State::Unknown(_) => attempt.notify.map(|session| (session, posted)),
            State::Stored(_) => None,
        }
    }

    /// Whether a record of `message_id` is one whose outcome is still open.
    pub fn is_open(&self, message_id: &str) -> bool {
        self.open.contains_key(message_id)
    }

    /// Forgets attempts past the retry window that nobody waits for.
    pub fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.expiry.front() {
            if *at > now {
                break;
            }
            let Some((_, key)) = self.expiry.pop_front() else { break };
            let Some(attempt) = self.attempts.get(&key).filter(|a| a.forget_at <= now) else { continue };
            if matches!(attempt.state, State::Pending { .. }) {
                self.expiry.push_back((now + Duration::from_secs(1), key));
                continue;
            }
            if let Some(Attempt { state: State::Unknown(record), .. }) = self.attempts.remove(&key) {
                self.open.remove(record.id());
            }
        }
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Epoch;
    use crate::protocol::ErrorCode;

    fn key() -> Key {
        Key { sender: "s".into(), client_msg_id: "c1".into() }
    }

    fn record() -> RoomRecord {
        RoomRecord::Message(crate::protocol::ChatRecord {
            message_id: "m1".into(),
            username: "Azure Ronin".into(),
            text: "hi".into(),
            room: "lobby".into(),
            timestamp: "2026-11-25T12:00:00.000Z".into(),
            attempt: 1,
            author: None,
            verified: true,
            reply_to: None,
        })
    }

    fn posted(seq: i64) -> Posted {
        Posted { message_id: "m1".into(), timestamp: "t".into(), seq, epoch: Epoch::new("e") }
    }

    fn unknown() -> Refusal {
        Refusal::new(ErrorCode::OutcomeUnknown, "lost").with_message_id("m1")
    }

    #[test]
    fn a_stored_outcome_answers_every_retry_the_same() {
        let mut outcomes = Outcomes::default();
        let (tx, mut rx) = oneshot::channel();
        outcomes.begin(key(), record(), 0, None, tx, Instant::now() + Duration::from_secs(60));
        outcomes.settle(&key(), 0, Ok(posted(7)));
        assert_eq!(rx.try_recv().unwrap().unwrap().seq, 7);
        assert!(matches!(outcomes.get_mut(&key()).unwrap().state, State::Stored(ref p) if p.seq == 7));
    }

    #[test]
    fn a_lost_outcome_is_settled_by_the_record_arriving_and_the_sender_told() {
        let mut outcomes = Outcomes::default();
        let session = uuid::Uuid::new_v4();
        let (tx, mut rx) = oneshot::channel();
        outcomes.begin(key(), record(), 0, Some(session), tx, Instant::now() + Duration::from_secs(60));
        outcomes.settle(&key(), 0, Err(unknown()));
        assert_eq!(rx.try_recv().unwrap().unwrap_err().code, ErrorCode::OutcomeUnknown);
        assert!(outcomes.is_open("m1"));
        let told = outcomes.seen("m1", |_| posted(9));
        assert_eq!(told.map(|(s, p)| (s, p.seq)), Some((session, 9)));
        assert!(!outcomes.is_open("m1"));
    }

    #[test]
    fn a_certain_failure_forgets_the_attempt_so_a_retry_is_new() {
        let mut outcomes = Outcomes::default();
        let (tx, _rx) = oneshot::channel();
        outcomes.begin(key(), record(), 0, None, tx, Instant::now() + Duration::from_secs(60));
        outcomes.settle(&key(), 0, Err(Refusal::unavailable("not stored")));
        assert!(outcomes.get_mut(&key()).is_none());
        assert!(!outcomes.is_open("m1"));
    }

    #[test]
    fn attempts_are_forgotten_after_the_window() {
        let mut outcomes = Outcomes::default();
        let (tx, _rx) = oneshot::channel();
        let start = Instant::now();
        outcomes.begin(key(), record(), 0, None, tx, start + Duration::from_secs(60));
        outcomes.settle(&key(), 0, Ok(posted(1)));
        outcomes.expire(start + Duration::from_secs(59));
        assert!(outcomes.get_mut(&key()).is_some());
        outcomes.expire(start + Duration::from_secs(61));
        assert!(outcomes.get_mut(&key()).is_none());
    }

    #[test]
    fn a_retry_after_a_certain_failure_has_a_window_of_its_own() {
        let mut outcomes = Outcomes::default();
        let start = Instant::now();
        let (tx, _rx) = oneshot::channel();
        outcomes.begin(key(), record(), 0, None, tx, start + Duration::from_secs(60));
        outcomes.settle(&key(), 0, Err(Refusal::unavailable("not stored")));
        let (tx, _rx) = oneshot::channel();
        outcomes.begin(key(), record(), 0, None, tx, start + Duration::from_secs(90));
        outcomes.settle(&key(), 0, Ok(posted(2)));
        outcomes.expire(start + Duration::from_secs(61));
        assert!(outcomes.get_mut(&key()).is_some(), "the first attempt's window does not end the second's");
        outcomes.expire(start + Duration::from_secs(91));
        assert!(outcomes.get_mut(&key()).is_none());
    }
}
