//! Which chat partitions this instance reads: only those that hold rooms
//! with members here, from the moment the first of them arrives until
//! `kafka.partition_linger` after the last leaves. So an instance's
//! consumer work grows with its own rooms, not with the whole site.
//!
//! A partition starts being read at the end it has when the first member
//! of one of its rooms asks ([`Follow`]); the hub welcomes that member only
//! then, and its replay is read from Kafka after that point: nothing
//! written after the welcome is missed. Assignment changes run one at a
//! time, each decided when it runs, so a member who comes back during a
//! release is never left on a partition nobody reads.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix::prelude::*;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::oneshot;

use super::handover::Handover;
use super::{blocking, partition_for, KafkaClients, KafkaConsumer};
use crate::messages::{FeedStopped, Follow, Unfollow};
use crate::protocol::Refusal;

/// The rooms whose live stream this instance reads, for those who must
/// not trust what they hold of any other room (the history's caches).
#[derive(Debug, Clone, Default)]
pub struct LiveRooms(Arc<RwLock<Live>>);

#[derive(Debug, Default)]
struct Live {
    partitions: i32,
    read: HashSet<i32>,
}

impl LiveRooms {
    /// Whether every record of `room` written from now on will be read.
    pub fn covers(&self, room: &str) -> bool {
        let live = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        live.partitions > 0 && live.read.contains(&partition_for(room, live.partitions))
    }

    /// Where this instance writes `room`'s records: its partition among the
    /// chat topic's partitions as read at startup, once they are known. Not
    /// left to the producer's partitioner, which would follow partitions
    /// added to the running topic to where no instance reads.
    pub(super) fn home_of(&self, room: &str) -> Option<i32> {
        let partitions = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).partitions;
        (partitions > 0).then(|| partition_for(room, partitions))
    }

    /// Whether `room` lives in `partition`.
    pub fn lives_in(&self, room: &str, partition: i32) -> bool {
        self.partition_of(room) == partition
    }

    /// The partition `room` lives in, among the chat topic's partitions.
    pub(super) fn partition_of(&self, room: &str) -> i32 {
        partition_for(room, self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).partitions)
    }

    fn update<T>(&self, change: impl FnOnce(&mut Live) -> T) -> T {
        change(&mut self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    pub(super) fn set_partitions(&self, partitions: i32) {
        self.update(|live| live.partitions = partitions);
    }

    fn reads(&self, partition: i32) -> bool {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).read.contains(&partition)
    }

    /// The partitions read now.
    pub(super) fn partitions(&self) -> Vec<i32> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).read.iter().copied().collect()
    }

    fn set(&self, partition: i32, read: bool) {
        let count = self.update(|live| {
            match read {
                true => live.read.insert(partition),
                false => live.read.remove(&partition),
            };
            live.read.len()
        });
        metrics::gauge!(crate::metrics::PARTITIONS_READ).set(count as f64);
    }
}

/// The consumer's bookkeeping of what it follows.
pub(super) struct Following {
    pub(super) live: LiveRooms,
    /// Rooms with members here, by partition.
    rooms: HashMap<i32, HashSet<String>>,
    /// When each partition's last room was left.
    emptied: HashMap<i32, Instant>,
    /// Members waiting for their partition to be read.
    waiting: HashMap<i32, Vec<oneshot::Sender<Result<(), Refusal>>>>,
    changes: VecDeque<Change>,
    /// A change is under way (or the recreated log's whole reassignment,
    /// see `check_epoch`): they run one at a time.
    pub(super) changing: bool,
}

impl Following {
    pub(super) fn new(live: LiveRooms) -> Self {
        Self {
            live,
            rooms: HashMap::new(),
            emptied: HashMap::new(),
            waiting: HashMap::new(),
            changes: VecDeque::new(),
            changing: false,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Read(i32),
    Release(i32),
}

impl KafkaConsumer {
    fn partition_of(&self, room: &str) -> i32 {
        self.following.live.partition_of(room)
    }

    fn queue(&mut self, change: Change, ctx: &mut Context<Self>) {
        self.following.changes.push_back(change);
        self.next_change(ctx);
    }

    /// Runs the next assignment change once the one before is done.
    pub(super) fn next_change(&mut self, ctx: &mut Context<Self>) {
        if self.following.changing {
            return;
        }
        let Some(change) = self.following.changes.pop_front() else { return };
        let follows = &self.following;
        let due = match change {
            Change::Read(partition) => !follows.live.reads(partition),
            Change::Release(partition) => {
                follows.live.reads(partition)
                    && follows.rooms.get(&partition).is_none_or(HashSet::is_empty)
                    && follows.emptied.get(&partition).is_some_and(|at| at.elapsed() >= self.linger())
            }
        };
        if !due {
            if let Change::Read(partition) = change {
                self.answer(partition, Ok(()));
            }
            return self.next_change(ctx);
        }
        if let Change::Release(partition) = change {
            // Untrusted at once: what is read of it from now on may have gaps.
            self.following.live.set(partition, false);
            self.outputs.feed_stopped.do_send(FeedStopped { partition });
        }
        self.following.changing = true;
        let (clients, handover) = (self.clients.clone(), self.outputs.records.clone());
        let applied = blocking(move || apply(&clients, &handover, change));
        ctx.spawn(applied.into_actor(self).map(move |applied, act, ctx| {
            act.following.changing = false;
            act.applied(change, applied);
            act.next_change(ctx);
        }));
    }

    fn applied(&mut self, change: Change, applied: Result<(), KafkaError>) {
        match (change, applied) {
            (Change::Read(partition), Ok(())) => {
                self.following.live.set(partition, true);
                self.answer(partition, Ok(()));
            }
            (Change::Read(partition), Err(e)) => {
                log::warn!("kafka_unavailable: chat partition {partition} could not be read: {e}");
                self.answer(partition, Err(Refusal::unavailable(format!("the room's log could not be read: {e}"))));
            }
            (Change::Release(partition), Ok(())) => log::debug!("chat partition {partition} released"),
            (Change::Release(partition), Err(e)) => log::warn!("chat partition {partition} not released: {e}"),
        }
    }

    fn answer(&mut self, partition: i32, outcome: Result<(), Refusal>) {
        for waiter in self.following.waiting.remove(&partition).unwrap_or_default() {
            let _ = waiter.send(outcome.clone());
        }
    }

    fn linger(&self) -> Duration {
        self.clients.settings.partition_linger
    }
}

/// Starts reading `partition` at its end now, or stops reading it.
fn apply(clients: &KafkaClients, handover: &Handover, change: Change) -> Result<(), KafkaError> {
    let (topic, timeout) = (clients.settings.topic.as_str(), clients.settings.request_timeout);
    let mut list = TopicPartitionList::new();
    match change {
        Change::Read(partition) => {
            let (_, end) = clients.consumer.fetch_watermarks(topic, partition, timeout)?;
            list.add_partition_offset(topic, partition, Offset::Offset(end))?;
            if clients.consumer.assignment()?.find_partition(topic, partition).is_some() {
                // A release that failed left it assigned: assigning it again would be refused.
                clients.consumer.incremental_unassign(&list)?;
            }
            handover.reading_from(partition, end);
            clients.consumer.incremental_assign(&list).inspect_err(|_| handover.stop_reading(partition))
        }
        Change::Release(partition) => {
            handover.stop_reading(partition);
            list.add_partition(topic, partition);
            clients.consumer.incremental_unassign(&list)
        }
    }
}

impl Handler<Follow> for KafkaConsumer {
    type Result = ResponseFuture<Result<(), Refusal>>;

    fn handle(&mut self, msg: Follow, ctx: &mut Self::Context) -> Self::Result {
        let partition = self.partition_of(&msg.room);
        self.following.rooms.entry(partition).or_default().insert(msg.room);
        if self.following.live.reads(partition) {
            // A release waiting in line sees the room and lets it be.
            return Box::pin(async { Ok(()) });
        }
        let (answer, answered) = oneshot::channel();
        let waiting = self.following.waiting.entry(partition).or_default();
        waiting.push(answer);
        if waiting.len() == 1 {
            self.queue(Change::Read(partition), ctx);
        }
        Box::pin(
            async move { answered.await.unwrap_or_else(|_| Err(Refusal::unavailable("the Kafka consumer stopped"))) },
        )
    }
}

impl Handler<Unfollow> for KafkaConsumer {
    type Result = ();

    fn handle(&mut self, msg: Unfollow, ctx: &mut Self::Context) {
        let partition = self.partition_of(&msg.room);
        let Some(rooms) = self.following.rooms.get_mut(&partition) else { return };
        rooms.remove(&msg.room);
        if rooms.is_empty() {
            self.following.emptied.insert(partition, Instant::now());
            ctx.run_later(self.linger(), move |act, ctx| act.queue(Change::Release(partition), ctx));
        }
    }
}

#[cfg(test)]
#[path = "follow_tests.rs"]
mod history_reads_across_follows;
