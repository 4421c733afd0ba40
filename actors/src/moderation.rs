//! `Moderation`: the moderation log. Actions (and users' reports) are
//! records of the compacted moderation topic; every instance reads it from
//! its start, in order, and applies each record here, then tells the hub
//! (which enforces) and the history (which hides removed messages) what
//! changed. Moderators' actions also go to the audit topic: who did what when.

use std::collections::{HashMap, VecDeque};

use actix::prelude::*;

use crate::kafka::KafkaProducer;
use crate::messages::{
    AuditTrail, Change, Delivery, DescribeModeration, Epoch, ListReports, Moderate, ModerationApplied,
    ModerationReceived, ModerationState, PublishSide, ReportSummary, Seq, SideTopic,
};
use crate::protocol::{ErrorCode, ModerationRecord, Refusal, Target};

/// Audit entries kept in memory for `/admin`.
const AUDIT_KEPT: usize = 1_000;

/// The reports of one message.
#[derive(Default)]
struct Reports {
    /// Reporter → (reason, when).
    by: HashMap<String, (String, i64)>,
    /// Reports before this were dealt with.
    dismissed_at: i64,
}

pub struct Moderation {
    mutes: HashMap<Target, ModerationRecord>,
    bans: HashMap<Target, ModerationRecord>,
    slow: HashMap<String, ModerationRecord>,
    reports: HashMap<(String, String, Seq), Reports>,
    audit: VecDeque<ModerationRecord>,
    producer: Addr<KafkaProducer>,
    /// The hub and the history.
    outputs: Vec<Recipient<ModerationApplied>>,
}

impl Moderation {
    pub fn new(producer: Addr<KafkaProducer>, outputs: Vec<Recipient<ModerationApplied>>) -> Self {
        Self {
            mutes: HashMap::new(),
            bans: HashMap::new(),
            slow: HashMap::new(),
            reports: HashMap::new(),
            audit: VecDeque::new(),
            producer,
            outputs,
        }
    }

    fn apply(&mut self, record: ModerationRecord) {
        let change = match &record {
            ModerationRecord::Delete { epoch, room, offset, .. } => {
                Some(Change::Deleted { epoch: Epoch::new(epoch), room: room.clone(), seq: *offset })
            }
            ModerationRecord::Mute { target, until_ms, .. } => {
                self.mutes.insert(target.clone(), record.clone());
                Some(Change::Muted { target: target.clone(), until_ms: *until_ms })
            }
            ModerationRecord::Unmute { target, .. } => {
                self.mutes.remove(target);
                Some(Change::Muted { target: target.clone(), until_ms: 0 })
            }
            ModerationRecord::Ban { target, .. } => {
                self.bans.insert(target.clone(), record.clone());
                Some(Change::Banned { target: target.clone(), banned: true })
            }
            ModerationRecord::Unban { target, .. } => {
                self.bans.remove(target);
                Some(Change::Banned { target: target.clone(), banned: false })
            }
            ModerationRecord::SlowMode { room, seconds, .. } => {
                match seconds {
                    0 => drop(self.slow.remove(room)),
                    _ => drop(self.slow.insert(room.clone(), record.clone())),
                }
                Some(Change::SlowMode { room: room.clone(), seconds: *seconds })
            }
            ModerationRecord::Report { epoch, room, offset, reporter, reason, at_ms } => {
                let reports = self.reports.entry((epoch.clone(), room.clone(), *offset)).or_default();
                if *at_ms > reports.dismissed_at {
                    reports.by.insert(reporter.clone(), (reason.clone(), *at_ms));
                }
                None
            }
            ModerationRecord::Dismiss { epoch, room, offset, at_ms, .. } => {
                let reports = self.reports.entry((epoch.clone(), room.clone(), *offset)).or_default();
                reports.dismissed_at = reports.dismissed_at.max(*at_ms);
                reports.by.retain(|_, (_, at)| *at > *at_ms);
                None
            }
        };
        if let Some(change) = change {
            for output in &self.outputs {
                output.do_send(ModerationApplied { change: change.clone() });
            }
        }
    }

    fn publish(&self, topic: SideTopic, record: &ModerationRecord) -> Request<KafkaProducer, PublishSide> {
        // A record holds only strings and numbers: serializing cannot fail.
        let payload = serde_json::to_vec(record).expect("moderation records serialize");
        self.producer.send(PublishSide { topic, key: record.key(), payload })
    }
}

impl Actor for Moderation {
    type Context = Context<Self>;
}

impl Handler<ModerationReceived> for Moderation {
    type Result = ();

    fn handle(&mut self, msg: ModerationReceived, _: &mut Self::Context) {
        let record: ModerationRecord = match serde_json::from_slice(&msg.payload) {
            Ok(record) => record,
            Err(e) => return log::warn!("skipping moderation record: {e}"),
        };
        if msg.audit {
            if self.audit.len() == AUDIT_KEPT {
                self.audit.pop_front();
            }
            self.audit.push_back(record);
        } else {
            self.apply(record);
        }
    }
}

impl Handler<Moderate> for Moderation {
    type Result = ResponseFuture<Result<(), Refusal>>;

    /// Writes the action; every instance (this one too) applies it when it
    /// reads it back, so all apply the same actions in the same order.
    fn handle(&mut self, msg: Moderate, _: &mut Self::Context) -> Self::Result {
        let stored = self.publish(SideTopic::Moderation, &msg.record);
        let audited = msg.record.is_moderators().then(|| self.publish(SideTopic::Audit, &msg.record));
        Box::pin(async move {
            match stored.await {
                Ok(Delivery::Stored { .. }) => {}
                Ok(Delivery::Unknown { reason }) => {
                    return Err(Refusal::new(ErrorCode::OutcomeUnknown, format!("Kafka's answer was lost: {reason}")))
                }
                Ok(Delivery::NotStored { reason }) => {
                    return Err(Refusal::unavailable(format!("not stored: {reason}")))
                }
                Err(_) => return Err(Refusal::unavailable("the Kafka producer is not running")),
            }
            if let Some(audited) = audited {
                if !matches!(audited.await, Ok(Delivery::Stored { .. })) {
                    log::warn!("a moderation action is in force but missing from the audit trail");
                }
            }
            Ok(())
        })
    }
}

impl Handler<DescribeModeration> for Moderation {
    type Result = MessageResult<DescribeModeration>;

    fn handle(&mut self, _: DescribeModeration, _: &mut Self::Context) -> Self::Result {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let newest_first = |records: Vec<&ModerationRecord>| {
            let mut records: Vec<ModerationRecord> = records.into_iter().cloned().collect();
            records.sort_by_key(|record| std::cmp::Reverse(at_ms(record)));
            records
        };
        let mutes =
            self.mutes.values().filter(|m| matches!(m, ModerationRecord::Mute { until_ms, .. } if *until_ms > now_ms));
        MessageResult(ModerationState {
            mutes: newest_first(mutes.collect()),
            bans: newest_first(self.bans.values().collect()),
            slow_mode: newest_first(self.slow.values().collect()),
        })
    }
}

fn at_ms(record: &ModerationRecord) -> i64 {
    match record {
        ModerationRecord::Delete { at_ms, .. }
        | ModerationRecord::Mute { at_ms, .. }
        | ModerationRecord::Unmute { at_ms, .. }
        | ModerationRecord::Ban { at_ms, .. }
        | ModerationRecord::Unban { at_ms, .. }
        | ModerationRecord::SlowMode { at_ms, .. }
        | ModerationRecord::Report { at_ms, .. }
        | ModerationRecord::Dismiss { at_ms, .. } => *at_ms,
    }
}

impl Handler<ListReports> for Moderation {
    type Result = MessageResult<ListReports>;

    fn handle(&mut self, _: ListReports, _: &mut Self::Context) -> Self::Result {
        let mut open: Vec<ReportSummary> = self
            .reports
            .iter()
            .filter(|(_, reports)| !reports.by.is_empty())
            .map(|((epoch, room, offset), reports)| {
                let mut by: Vec<(String, String, i64)> =
                    reports.by.iter().map(|(who, (why, at))| (who.clone(), why.clone(), *at)).collect();
                by.sort_by_key(|(_, _, at)| std::cmp::Reverse(*at));
                let at_ms = by.first().map_or(0, |(_, _, at)| *at);
                ReportSummary { epoch: epoch.clone(), room: room.clone(), offset: *offset, reports: by, at_ms }
            })
            .collect();
        open.sort_by_key(|summary| std::cmp::Reverse(summary.at_ms));
        MessageResult(open)
    }
}

impl Handler<AuditTrail> for Moderation {
    type Result = MessageResult<AuditTrail>;

    fn handle(&mut self, msg: AuditTrail, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.audit.iter().rev().take(msg.limit).cloned().collect())
    }
}
