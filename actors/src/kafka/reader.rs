//! `KafkaReader`: history reads, through a few long-lived consumers shared
//! by every session. Reads queue (bounded, each with a deadline) and are
//! batched by partition: a free reader takes the oldest read and every other
//! queued read of the same partition, and answers them all with one pass
//! ([`super::scan`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use rdkafka::consumer::BaseConsumer;
use tokio::sync::oneshot;

use super::scan::{self, Job, Partition, Reply};
use super::{partition_for, ChatContext, KafkaClients};
use crate::messages::{LocateRecord, RawRecord, RawRecords, ReadAt, ReadError, ReadRange, ReadRoom, RoomRead, Seq};
use crate::protocol::{Refusal, RoomRecord};

/// Reads one batch takes at most, so one busy partition cannot hold a
/// reader for the whole queue.
const MAX_BATCH: usize = 256;

/// How long an operator's look at a room's records may take.
const RAW_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// KafkaConsumer → KafkaReader: how many partitions the chat topic has.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct TopicLayout {
    pub partitions: i32,
}

struct Queued {
    partition: i32,
    deadline: Instant,
    job: Job,
}

/// Owns the readers and the queue of reads waiting for one.
pub struct KafkaReader {
    clients: Arc<KafkaClients>,
    idle: Vec<BaseConsumer<ChatContext>>,
    /// Readers in use or idle: a reader lost to a failed thread is replaced.
    readers: usize,
    queue: VecDeque<Queued>,
    max_queue: usize,
    partitions: Option<i32>,
}

impl KafkaReader {
    pub fn new(clients: Arc<KafkaClients>, readers: usize, max_queue: usize) -> Self {
        Self { clients, idle: Vec::new(), readers: readers.max(1), queue: VecDeque::new(), max_queue, partitions: None }
    }

    fn new_consumer(&self) -> Option<BaseConsumer<ChatContext>> {
        match self.clients.reader_config.create_with_context(ChatContext) {
            Ok(consumer) => Some(consumer),
            Err(e) => {
                log::warn!("kafka_unavailable: history reader not created: {e}");
                None
            }
        }
    }

    /// Queues `job` for its room's partition, or refuses it at once.
    fn enqueue(&mut self, job: Job, deadline: Instant, ctx: &mut Context<Self>) {
        let Some(partitions) = self.partitions else {
            return job.fail(ReadError::Kafka("the topic is not assigned yet".into()));
        };
        if self.queue.len() >= self.max_queue {
            return job.fail(ReadError::Busy);
        }
        let partition = partition_for(job.room(), partitions);
        self.queue.push_back(Queued { partition, deadline, job });
        self.dispatch(ctx);
    }

    /// Hands batches to free readers while there are both.
    fn dispatch(&mut self, ctx: &mut Context<Self>) {
        while !self.queue.is_empty() {
            let Some(consumer) = self.idle.pop() else { return };
            let Some(batch) = self.next_batch() else {
                self.idle.push(consumer);
                return;
            };
            self.run(consumer, batch, ctx);
        }
    }

    /// The oldest live read and the other queued reads of its partition.
    fn next_batch(&mut self) -> Option<(i32, Instant, Vec<Job>)> {
        let now = Instant::now();
        let first = loop {
            let queued = self.queue.pop_front()?;
            if queued.deadline > now {
                break queued;
            }
            queued.job.fail(ReadError::Deadline);
        };
        let (partition, mut deadline) = (first.partition, first.deadline);
        let mut jobs = vec![first.job];
        let mut rest = VecDeque::with_capacity(self.queue.len());
        for queued in self.queue.drain(..) {
            if queued.partition == partition && jobs.len() < MAX_BATCH && queued.deadline > now {
                deadline = deadline.max(queued.deadline);
                jobs.push(queued.job);
            } else {
                rest.push_back(queued);
            }
        }
        self.queue = rest;
        Some((partition, deadline, jobs))
    }

    fn run(&mut self, consumer: BaseConsumer<ChatContext>, batch: (i32, Instant, Vec<Job>), ctx: &mut Context<Self>) {
        let (partition, deadline, jobs) = batch;
        let clients = self.clients.clone();
        let work = tokio::task::spawn_blocking(move || {
            let part = Partition {
                consumer: &consumer,
                topic: &clients.settings.topic,
                partition,
                timeout: clients.settings.request_timeout,
                deadline,
                max_text_chars: clients.max_text_chars,
            };
            // An unfit consumer is closed here, off the actor's thread.
            scan::run_batch(&part, jobs).then_some(consumer)
        });
        ctx.spawn(work.into_actor(self).map(|finished, act, ctx| {
            match finished {
                Ok(Some(consumer)) => act.idle.push(consumer),
                Ok(None) => {
                    log::warn!("a history read failed in Kafka; replacing its reader");
                    act.idle.extend(act.new_consumer());
                }
                Err(e) => {
                    log::warn!("a history read failed: {e}; replacing its reader");
                    act.idle.extend(act.new_consumer());
                }
            }
            act.dispatch(ctx);
        }));
    }
}

impl Actor for KafkaReader {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        for _ in 0..self.readers {
            self.idle.extend(self.new_consumer());
        }
    }
}

impl Handler<TopicLayout> for KafkaReader {
    type Result = ();

    fn handle(&mut self, msg: TopicLayout, _: &mut Self::Context) {
        self.partitions = Some(msg.partitions);
    }
}

impl Handler<ReadRoom> for KafkaReader {
    type Result = ResponseFuture<Result<RoomRead, ReadError>>;

    fn handle(&mut self, msg: ReadRoom, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let reply = Reply::Read(tx);
        let job = match msg.range {
            ReadRange::Newest { count, before, floor } => Job::Newest { room: msg.room, count, before, floor, reply },
            ReadRange::Oldest { count, from } => Job::Oldest { room: msg.room, count, from, reply },
        };
        self.enqueue(job, msg.deadline, ctx);
        Box::pin(async move { rx.await.unwrap_or(Err(ReadError::Busy)) })
    }
}

impl Handler<LocateRecord> for KafkaReader {
    type Result = ResponseFuture<Result<Option<i64>, ReadError>>;

    fn handle(&mut self, msg: LocateRecord, ctx: &mut Self::Context) -> Self::Result {
        let (reply, rx) = oneshot::channel();
        let job = Job::Locate { room: msg.room, message_id: msg.message_id, sent_ms: msg.sent_ms, reply };
        self.enqueue(job, msg.deadline, ctx);
        Box::pin(async move { rx.await.unwrap_or(Err(ReadError::Busy)) })
    }
}

impl Handler<ReadAt> for KafkaReader {
    type Result = ResponseFuture<Result<Vec<(Seq, RoomRecord)>, ReadError>>;

    fn handle(&mut self, msg: ReadAt, ctx: &mut Self::Context) -> Self::Result {
        let (reply, rx) = oneshot::channel();
        self.enqueue(Job::At { room: msg.room, seqs: msg.seqs, reply }, msg.deadline, ctx);
        Box::pin(async move { rx.await.unwrap_or(Err(ReadError::Busy)) })
    }
}

impl Handler<RawRecords> for KafkaReader {
    type Result = ResponseFuture<Result<Vec<RawRecord>, Refusal>>;

    fn handle(&mut self, msg: RawRecords, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let job = Job::Newest { room: msg.room, count: msg.limit, before: None, floor: None, reply: Reply::Raw(tx) };
        self.enqueue(job, Instant::now() + RAW_DEADLINE, ctx);
        Box::pin(async move {
            match rx.await {
                Ok(Ok(records)) => Ok(records),
                Ok(Err(e)) => Err(Refusal::unavailable(e.to_string())),
                Err(_) => Err(Refusal::unavailable("the history reader stopped")),
            }
        })
    }
}
