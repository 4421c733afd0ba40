//! One client's accounting of a load run, without any help from the server beyond the
//! protocol:
//!
//! - each message's text is `b:<run>:<sender>:<seq>:<unix_nanos>`; `<run>` keeps messages of
//!   an earlier run (or of another client) out of the numbers, `<seq>` is unique per message
//!   in this run, `<unix_nanos>` is the send time for the latency;
//! - every `ack` the server returns means the message was stored, so it must reach every
//!   client of that room (the sender included): expected = acked × clients in the room;
//! - each client keeps a bitset of the `<seq>` it saw: a second arrival is a duplicate (the
//!   server sends the same `message_id` again), and lost = expected − unique arrivals;
//! - each client checks that `offset` strictly increases in its room (the protocol's promise).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::load::unix_nanos;
use crate::protocol::Event;
use crate::report::{add_counts, latency_histogram, ShardResult};

/// Latencies a client gathers before adding them to its histogram.
const LATENCY_BURST: usize = 64;

/// What one client saw; merged into the report at the end.
pub(crate) struct ClientStats {
    room: usize,
    latency_us: Histogram<u32>,
    /// Latencies not yet in `latency_us`: recorded in bursts, so that the few histogram cache
    /// lines they fall in are loaded once a burst rather than once a delivery (perf: 6 % of
    /// the bench's CPU went to cache misses in 2,000 clients' histograms).
    recent_us: Vec<u64>,
    /// Unique bench messages of this run that arrived.
    deliveries: u64,
    duplicated: u64,
    acked: u64,
    offset_regressions: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    /// The connection ended before the run did.
    pub(crate) disconnected: bool,
    /// Bit `seq` is set once message `seq` arrived (a bitset: clients × messages must stay small).
    seen: Vec<u64>,
    last_offset: i64,
}

impl ClientStats {
    pub(crate) fn new(room: usize) -> Self {
        ClientStats {
            room,
            latency_us: latency_histogram().expect("valid histogram bounds"),
            recent_us: Vec::with_capacity(LATENCY_BURST),
            deliveries: 0,
            duplicated: 0,
            acked: 0,
            offset_regressions: 0,
            errors: BTreeMap::new(),
            disconnected: false,
            seen: Vec::new(),
            last_offset: -1,
        }
    }

    fn record_recent(&mut self) {
        for micros in self.recent_us.drain(..) {
            // Clamp instead of failing: a value past the bound is still "very late".
            self.latency_us.saturating_record(micros);
        }
    }

    /// Returns true when `seq` was already seen.
    fn mark_seen(&mut self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        let was = self.seen[word] & (1 << bit) != 0;
        self.seen[word] |= 1 << bit;
        was
    }

    /// Adds what this client saw to its shard's result.
    pub(crate) fn add_to(&mut self, part: &mut ShardResult) {
        self.record_recent();
        part.latency_us
            .extend(self.latency_us.iter_recorded().map(|b| (b.value_iterated_to(), u64::from(b.count_at_value()))));
        part.acked_per_room[self.room] += self.acked;
        part.deliveries += self.deliveries;
        part.duplicated += self.duplicated;
        part.offset_regressions += self.offset_regressions;
        part.disconnected += self.disconnected as u64;
        add_counts(&mut part.errors, &self.errors);
    }

    pub(crate) fn on_event(&mut self, run: &str, event: Event<'_>) {
        match event {
            Event::Chat { text, offset } => {
                if let Some(offset) = offset {
                    if offset <= self.last_offset {
                        self.offset_regressions += 1;
                    }
                    self.last_offset = offset;
                }
                // Only our own run's messages count; anyone else's chat is ignored.
                let Some((seq, sent_nanos)) = text.as_deref().and_then(|t| parse_text(run, t)) else {
                    return;
                };
                if self.mark_seen(seq) {
                    self.duplicated += 1;
                    return;
                }
                self.deliveries += 1;
                let micros = unix_nanos().saturating_sub(sent_nanos) / 1_000;
                self.recent_us.push(micros.max(1));
                if self.recent_us.len() == LATENCY_BURST {
                    self.record_recent();
                }
            }
            Event::Ack { .. } => self.acked += 1,
            Event::Error { code, .. } | Event::Refused { code } => {
                *self.errors.entry(code.into_owned()).or_default() += 1
            }
            Event::Unparsable => *self.errors.entry("unparsable_frame".into()).or_default() += 1,
            // joined, presence, counts, history_end, heartbeat, typing, pings, ...
            _ => {}
        }
    }
}

/// `b:<run>:<sender>:<seq>:<unix_nanos>` → (seq, unix_nanos) when `<run>` is ours.
fn parse_text(run: &str, text: &str) -> Option<(u64, u64)> {
    let mut parts = text.split(':');
    if parts.next()? != "b" || parts.next()? != run {
        return None;
    }
    let _sender = parts.next()?;
    let seq = parts.next()?.parse().ok()?;
    let nanos = parts.next()?.parse().ok()?;
    Some((seq, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_our_run() {
        assert_eq!(parse_text("ab", "b:ab:3:17:123"), Some((17, 123)));
        assert_eq!(parse_text("ab", "b:cd:3:17:123"), None);
        assert_eq!(parse_text("ab", "hello"), None);
    }

    #[test]
    fn bitset_flags_duplicates() {
        let mut s = ClientStats::new(0);
        assert!(!s.mark_seen(130));
        assert!(s.mark_seen(130));
        assert!(!s.mark_seen(0));
    }
}
