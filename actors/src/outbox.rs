//! `Outbox`: the one way frames reach a session. Chat messages, counts,
//! presence, typing, the replay and the final close all go through it, in
//! order, and one rule says when a session is too slow: more than
//! `outbound_max_bytes` queued, or its oldest frame queued longer than
//! `outbound_max_delay`, a joiner's catch-up aside (its replay, and what the
//! room said while the server read it: the client reads it at its own pace). A reader that keeps up never meets either, however
//! many messages a burst brings; the room never waits for one that does not.
//!
//! The hub (and the history, for the replay) push; the session's actor takes
//! frames only as fast as its socket accepts them, because actix-web runs it
//! only while the connection's write buffer has room. So what waits here is
//! exactly what the client has not taken yet.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_util::Stream;

use crate::messages::{Frame, Seq};

/// When a session counts as too slow.
#[derive(Debug, Clone, Copy)]
pub struct OutboxLimits {
    pub max_bytes: usize,
    pub max_delay: Duration,
}

/// How the connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseReason {
    /// WebSocket close code.
    pub code: u16,
    /// Said in the close frame.
    pub reason: &'static str,
}

impl CloseReason {
    pub const SHUTDOWN: Self = Self { code: 1001, reason: "server shutting down" };
    pub const TOO_SLOW: Self = Self { code: 1008, reason: "not reading fast enough; reconnect with since" };
    pub const LOG_RECREATED: Self = Self { code: 1012, reason: "the chat log was recreated; reconnect" };
    pub const BANNED: Self = Self { code: 1008, reason: "banned by a moderator" };
    pub const NOT_READY: Self = Self { code: 1013, reason: "the server is still connecting to Kafka; try again" };
}

/// What the session writes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Frame(Frame),
    Close(CloseReason),
}

/// The session is too slow: the caller drops it (see [`Outbox::close`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSlow;

/// The pushing side, held by the hub and lent to the history for the replay.
#[derive(Clone)]
pub struct Outbox {
    queue: Arc<Mutex<Queue>>,
}

/// The session's side: a stream of what to write.
pub struct OutboxReader {
    queue: Arc<Mutex<Queue>>,
}

struct Item {
    frame: Frame,
    /// Set for chat messages: lets the replay drop live copies it contains.
    seq: Option<Seq>,
    queued_at: Instant,
    /// Part of the catch-up: the replay, its `history_end`, and what was
    /// held while the history was read.
    replay: bool,
}

struct Queue {
    items: VecDeque<Item>,
    /// Frames pushed while the session waits for its history: they follow
    /// the replay, and their wait does not count until then.
    held: Option<VecDeque<Item>>,
    /// Bytes of frames in `items` and `held`.
    bytes: usize,
    /// Bytes of the catch-up not taken yet. It is the client's to read at
    /// its own pace: the replay (up to `history.replay_max_bytes`, more than
    /// `max_bytes` may be) and the frames held behind it (up to `max_bytes`,
    /// while the server read the history: the client had nothing to read).
    /// Neither its bytes nor the time it takes count, and what follows it
    /// waits from when it was all taken.
    replay_bytes: usize,
    waker: Option<Waker>,
    /// Written after `items`; then the stream ends.
    close: Option<CloseReason>,
    /// The highest chat message queued: a room's sequence numbers only
    /// grow, so one at or below it is a copy (a Kafka read for the replay can
    /// run ahead of this instance's live consumer).
    last_seq: Seq,
    /// Nothing more will be queued: closed by the hub, or the session is gone.
    done: bool,
    limits: OutboxLimits,
}

impl Outbox {
    /// A new, empty outbox and the session's end of it.
    pub fn new(limits: OutboxLimits) -> (Self, OutboxReader) {
        let queue = Queue {
            items: VecDeque::new(),
            held: None,
            bytes: 0,
            replay_bytes: 0,
            waker: None,
            close: None,
            last_seq: Seq::MIN,
            done: false,
            limits,
        };
        let queue = Arc::new(Mutex::new(queue));
        (Self { queue: queue.clone() }, OutboxReader { queue })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    /// Queues `frame` (`seq` for a chat message) behind everything before
    /// it. Fails, queuing nothing, when the session is too slow.
    pub fn push(&self, frame: &Frame, seq: Option<Seq>, now: Instant) -> Result<(), TooSlow> {
        let waker = {
            let mut queue = self.lock();
            if queue.done || seq.is_some_and(|seq| seq <= queue.last_seq && queue.held.is_none()) {
                return Ok(());
            }
            queue.check(frame.len(), now)?;
            if let (Some(seq), None) = (seq, &queue.held) {
                queue.last_seq = seq;
            }
            queue.bytes += frame.len();
            let item = Item { frame: frame.clone(), seq, queued_at: now, replay: false };
            match &mut queue.held {
                Some(held) => held.push_back(item),
                None => queue.items.push_back(item),
            }
            queue.waker.take()
        };
        wake(waker);
        Ok(())
    }

    /// From now on, pushed frames wait behind the replay (see [`Self::release`]).
    pub fn hold(&self) {
        let mut queue = self.lock();
        queue.held.get_or_insert_with(VecDeque::new);
    }

    /// Queues the replay and `tail` (ending with its `history_end`), then
    /// the frames held since [`Self::hold`], minus chat messages at or below
    /// `seen`: the replay or the client already has them.
    pub fn release(&self, replay: impl IntoIterator<Item = (Seq, Frame)>, tail: &[Frame], seen: Seq, now: Instant) {
        let waker = {
            let mut queue = self.lock();
            if queue.done {
                return;
            }
            let held = queue.held.take().unwrap_or_default();
            queue.last_seq = queue.last_seq.max(seen);
            for (seq, frame) in replay {
                queue.last_seq = queue.last_seq.max(seq);
                queue.append(frame, Some(seq), now, true);
            }
            for frame in tail {
                queue.append(frame.clone(), None, now, true);
            }
            for item in held {
                queue.bytes -= item.frame.len();
                match item.seq {
                    Some(seq) if seq <= queue.last_seq => {}
                    Some(seq) => {
                        queue.last_seq = seq;
                        queue.append(item.frame, item.seq, now, true);
                    }
                    None => queue.append(item.frame, None, now, true),
                }
            }
            queue.waker.take()
        };
        wake(waker);
    }

    /// Whether the session is too slow now, with nothing new pushed.
    pub fn check(&self, now: Instant) -> Result<(), TooSlow> {
        let queue = self.lock();
        if queue.done {
            return Ok(());
        }
        queue.check(0, now)
    }

    /// Ends the session with `reason`: after the frames already queued, or
    /// (`discard`) at once, freeing them.
    pub fn close(&self, reason: CloseReason, discard: bool) {
        let waker = {
            let mut queue = self.lock();
            if queue.done {
                return;
            }
            if discard {
                queue.items = VecDeque::new();
                queue.held = None;
                (queue.bytes, queue.replay_bytes) = (0, 0);
            }
            queue.close = Some(reason);
            queue.done = true;
            queue.waker.take()
        };
        wake(waker);
    }

    /// Nobody will read this outbox any more (closed, or the session is gone).
    pub fn is_done(&self) -> bool {
        self.lock().done
    }

    /// Bytes queued and not yet taken by the session.
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }
}

impl Queue {
    fn check(&self, extra: usize, now: Instant) -> Result<(), TooSlow> {
        let waited = match self.items.front() {
            Some(item) if !item.replay => now.saturating_duration_since(item.queued_at),
            _ => Duration::ZERO,
        };
        let live_bytes = self.bytes - self.replay_bytes;
        if live_bytes + extra > self.limits.max_bytes || waited > self.limits.max_delay {
            return Err(TooSlow);
        }
        Ok(())
    }

    fn append(&mut self, frame: Frame, seq: Option<Seq>, now: Instant, replay: bool) {
        self.bytes += frame.len();
        if replay {
            self.replay_bytes += frame.len();
        }
        self.items.push_back(Item { frame, seq, queued_at: now, replay });
    }
}

impl Stream for OutboxReader {
    type Item = Outgoing;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Outgoing>> {
        let mut queue = lock(&self.queue);
        if let Some(item) = queue.items.pop_front() {
            queue.bytes -= item.frame.len();
            if item.replay {
                queue.replay_bytes -= item.frame.len();
                if queue.replay_bytes == 0 {
                    // What waited behind the replay waits from now.
                    let now = Instant::now();
                    queue.items.iter_mut().for_each(|behind| behind.queued_at = behind.queued_at.max(now));
                }
            }
            if queue.items.is_empty() && queue.items.capacity() > SHRINK_ABOVE {
                // A burst's queue is not kept for the life of the connection.
                queue.items.shrink_to(SHRINK_ABOVE);
            }
            return Poll::Ready(Some(Outgoing::Frame(item.frame)));
        }
        if let Some(reason) = queue.close.take() {
            return Poll::Ready(Some(Outgoing::Close(reason)));
        }
        if queue.done {
            return Poll::Ready(None);
        }
        if !queue.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            queue.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for OutboxReader {
    fn drop(&mut self) {
        let mut queue = lock(&self.queue);
        queue.done = true;
        queue.items = VecDeque::new();
        queue.held = None;
        (queue.bytes, queue.replay_bytes) = (0, 0);
    }
}

/// Queue capacity kept once a queue empties.
const SHRINK_ABOVE: usize = 64;

/// A poisoned lock only means another thread panicked mid-push; the queue
/// itself is still consistent enough to drain.
fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    const LIMITS: OutboxLimits = OutboxLimits { max_bytes: 100, max_delay: Duration::from_secs(10) };

    fn frame(text: &str) -> Frame {
        Frame::from(text.to_owned())
    }

    fn drain(reader: &mut OutboxReader) -> Vec<Outgoing> {
        let mut out = Vec::new();
        while let Some(Some(item)) = reader.next().now_or_never() {
            out.push(item);
        }
        out
    }

    fn texts(items: &[Outgoing]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                Outgoing::Frame(frame) => frame.to_string(),
                Outgoing::Close(reason) => format!("close {}", reason.code),
            })
            .collect()
    }

    use futures_util::FutureExt;

    #[test]
    fn a_reader_that_keeps_up_is_never_too_slow() {
        let (outbox, mut reader) = Outbox::new(LIMITS);
        let now = Instant::now();
        for i in 0..10_000 {
            outbox.push(&frame("0123456789"), Some(i), now).expect("room for one more");
            assert_eq!(drain(&mut reader).len(), 1);
        }
    }

    #[test]
    fn too_many_bytes_or_too_long_a_wait_is_too_slow() {
        let (outbox, _reader) = Outbox::new(LIMITS);
        let now = Instant::now();
        for i in 0..10 {
            outbox.push(&frame("0123456789"), Some(i), now).unwrap();
        }
        assert_eq!(outbox.push(&frame("x"), None, now), Err(TooSlow), "101 bytes");

        let (outbox, _reader) = Outbox::new(LIMITS);
        outbox.push(&frame("x"), None, now).unwrap();
        assert_eq!(outbox.check(now + Duration::from_secs(9)), Ok(()));
        assert_eq!(outbox.check(now + Duration::from_secs(11)), Err(TooSlow));
    }

    #[test]
    fn the_replay_is_read_at_the_clients_pace_and_what_follows_it_waits_from_then() {
        let (outbox, mut reader) = Outbox::new(LIMITS);
        let start = Instant::now();
        outbox.hold();
        // 300 bytes of replay, three times the limit.
        let replay: Vec<(Seq, Frame)> = (0..30).map(|seq| (seq, frame("0123456789"))).collect();
        outbox.release(replay, &[frame("end")], 0, start);
        outbox.push(&frame("live"), Some(30), start).expect("the replay's bytes do not count");
        assert_eq!(outbox.check(start + Duration::from_secs(60)), Ok(()), "nor the time it takes to read");
        for _ in 0..31 {
            reader.next().now_or_never().flatten().expect("a replayed frame");
        }
        let taken = Instant::now();
        assert_eq!(outbox.check(taken + Duration::from_secs(9)), Ok(()), "the live frame waits from then");
        assert_eq!(outbox.check(taken + Duration::from_secs(11)), Err(TooSlow));
        for i in 0..9 {
            outbox.push(&frame("0123456789"), Some(31 + i), taken).unwrap();
        }
        assert_eq!(outbox.push(&frame("0123456789"), None, taken), Err(TooSlow), "live bytes count as ever");
    }

    #[test]
    fn the_replay_goes_first_and_live_copies_it_holds_are_dropped() {
        let (outbox, mut reader) = Outbox::new(LIMITS);
        let now = Instant::now();
        outbox.push(&frame("welcome"), None, now).unwrap();
        outbox.hold();
        outbox.push(&frame("live 5"), Some(5), now).unwrap();
        outbox.push(&frame("count"), None, now).unwrap();
        outbox.push(&frame("live 6"), Some(6), now).unwrap();
        assert_eq!(texts(&drain(&mut reader)), ["welcome"], "live frames wait for the replay");
        // Held frames do not count as waiting while the history is read.
        assert_eq!(outbox.check(now + Duration::from_secs(60)), Ok(()));
        let later = now + Duration::from_secs(60);
        outbox.release([(4, frame("old 4")), (5, frame("old 5"))], &[frame("end")], 3, later);
        assert_eq!(texts(&drain(&mut reader)), ["old 4", "old 5", "end", "count", "live 6"]);
        assert_eq!(outbox.queued_bytes(), 0);
    }

    #[test]
    fn what_was_held_while_the_history_was_read_is_caught_up_at_the_clients_pace_too() {
        let (outbox, mut reader) = Outbox::new(LIMITS);
        let now = Instant::now();
        outbox.hold();
        for seq in 0..8 {
            outbox.push(&frame("0123456789"), Some(seq), now).expect("80 of the 100 bytes");
        }
        outbox.release([], &[frame("end")], -1, now);
        for seq in 8..17 {
            outbox.push(&frame("0123456789"), Some(seq), now).expect("the held 80 bytes do not count once released");
        }
        assert_eq!(outbox.push(&frame("0123456789x"), Some(17), now), Err(TooSlow), "the frames after them do");
        assert_eq!(drain(&mut reader).len(), 18, "the end, the held 8 and the 9 after them");
    }

    #[test]
    fn messages_the_client_already_has_are_not_sent_again() {
        let (outbox, mut reader) = Outbox::new(LIMITS);
        let now = Instant::now();
        outbox.hold();
        outbox.push(&frame("live 7"), Some(7), now).unwrap();
        outbox.push(&frame("live 9"), Some(9), now).unwrap();
        outbox.release([], &[frame("end")], 8, now);
        assert_eq!(texts(&drain(&mut reader)), ["end", "live 9"]);
    }

    #[test]
    fn a_message_the_replay_read_ahead_of_the_live_stream_comes_once() {
        let (outbox, mut reader) = Outbox::new(LIMITS);
        let now = Instant::now();
        outbox.hold();
        outbox.release([(3, frame("old 3"))], &[frame("end")], -1, now);
        outbox.push(&frame("live 3"), Some(3), now).unwrap();
        outbox.push(&frame("live 4"), Some(4), now).unwrap();
        assert_eq!(texts(&drain(&mut reader)), ["old 3", "end", "live 4"]);
    }

    #[test]
    fn closing_frees_the_queue_and_ends_the_stream() {
        let (outbox, mut reader) = Outbox::new(LIMITS);
        let now = Instant::now();
        outbox.push(&frame("a"), None, now).unwrap();
        outbox.close(CloseReason::TOO_SLOW, true);
        assert_eq!(outbox.queued_bytes(), 0);
        assert_eq!(texts(&drain(&mut reader)), ["close 1008"]);
        assert_eq!(reader.next().now_or_never(), Some(None));
        assert!(outbox.is_done());
        assert_eq!(outbox.push(&frame("b"), None, now), Ok(()), "pushing to a closed outbox is a no-op");
    }

    #[test]
    fn a_gone_session_frees_its_queue() {
        let (outbox, reader) = Outbox::new(LIMITS);
        outbox.push(&frame("a"), None, Instant::now()).unwrap();
        drop(reader);
        assert!(outbox.is_done());
        assert_eq!(outbox.queued_bytes(), 0);
    }
}
