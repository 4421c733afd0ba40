//! `RoomCache`: a room's recent records in memory, in front of Kafka: its
//! messages, in their current state, and the events that made it. It knows
//! exactly which range it holds completely, so it answers a join or a resume
//! without a Kafka read when it can, and never answers one with a gap.
//!
//! Two things fill it: the live stream (every record the hub hands on, in
//! the log's order, from the moment the cache exists) and Kafka reads that
//! reach the range it already holds. Events fold into the message they are
//! about ([`super::fold`]); one about a message older than the cache is kept
//! aside ("orphans") and folded in if a read brings that message later.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::time::Duration;

use super::fold::{allows, Fact};
use crate::messages::{Entry, Frame, Seq};
use crate::protocol::{ReplyPreview, RoomRecord};

/// Makes an entry's frame: a message's from its state and its quote's
/// preview; an event's from the message it is about, as it now is (if held).
pub type Encode<'a> = dyn Fn(&Entry, Option<ReplyPreview<'_>>, Option<&Entry>) -> Frame + 'a;

/// Events kept for messages older than the cache, per room.
const ORPHANS_KEPT: usize = 10_000;

/// Facts kept of messages older than the cache, per room.
const FACTS_KEPT: usize = 4_096;

/// Memory of one record's place in the id index, for the history budget.
const INDEXED_BYTES: usize = 24;

#[derive(Debug)]
pub struct RoomCache {
    entries: VecDeque<Entry>,
    /// Every record of the room from here up to `end` is in `entries`
    /// (but events that changed nothing); `None` until the first live record or read.
    complete_from: Option<Seq>,
    /// The first sequence number the cache knows nothing about.
    end: Seq,
    /// Nothing of the room exists before `complete_from` any more.
    whole: bool,
    /// Memory held by `entries` and `facts`, kept up to date by every change
    /// (a full count per record would be linear in the cache, per record).
    bytes: usize,
    /// Messages in `entries` (the rest are events).
    messages: usize,
    /// The newest entry for each record id's hash: a new message is checked
    /// against every held id without a walk through the cache.
    ids: HashMap<u64, Seq>,
    hasher: RandomState,
    /// Events about messages the cache does not hold, by message.
    orphans: BTreeMap<Seq, Vec<Entry>>,
    /// What is known of messages before the cache (`None`: no message of
    /// the room there), for the events and quotes that name them.
    facts: BTreeMap<Seq, Option<Fact>>,
    /// Messages that quote each message, so a quote's preview follows it.
    quoted_by: HashMap<Seq, Vec<Seq>>,
    edit_window: Duration,
}

/// What the cache knows of the message at an offset.
#[derive(Debug)]
pub enum Known<'a> {
    /// It holds it, in its current state.
    Held(&'a Entry),
    /// It is older than the cache; this much is known of it.
    Fact(&'a Fact),
    /// No message of the room is there.
    Nothing,
    /// It has to be read.
    Unknown,
}

/// What the cache can say about the records after a `since`.
#[derive(Debug)]
pub enum After {
    /// All of them.
    Complete(Vec<Entry>),
    /// All that still exist; older ones were deleted by retention.
    Truncated(Vec<Entry>),
    /// Some may be older than the cache reaches, or newer than it has seen.
    Unknown,
}

impl RoomCache {
    pub fn new(edit_window: Duration) -> Self {
        Self {
            entries: VecDeque::new(),
            complete_from: None,
            end: Seq::MIN,
            whole: false,
            bytes: 0,
            messages: 0,
            ids: HashMap::new(),
            hasher: RandomState::new(),
            orphans: BTreeMap::new(),
            facts: BTreeMap::new(),
            quoted_by: HashMap::new(),
            edit_window,
        }
    }

    /// A cache of what one Kafka read found, `[from, until)`, folded and
    /// encoded; `facts` tell of the older messages its events and quotes name.
    pub fn from_read(
        read: Vec<Entry>,
        range: (Seq, Seq, bool),
        facts: BTreeMap<Seq, Option<Fact>>,
        edit_window: Duration,
        encode: &Encode<'_>,
    ) -> Self {
        let mut cache = Self::new(edit_window);
        (cache.complete_from, cache.end, cache.whole) = (Some(range.0), range.1, range.2);
        cache.facts = facts;
        for entry in read {
            if !cache.holds(&entry) {
                cache.add(entry, encode);
            }
        }
        cache.recount();
        cache
    }

    /// Memory held, for the history budget. An empty cache counts too: the
    /// caches of rooms invented by page requests go like any other's.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.bytes + self.entries.len() * INDEXED_BYTES
    }

    /// Where the complete range starts, if there is one.
    pub fn complete_from(&self) -> Option<Seq> {
        self.complete_from
    }

    /// Whether `since` is a point this cache has seen: the log reached past it.
    pub fn has_seen(&self, since: Seq) -> bool {
        self.complete_from.is_some() && since < self.end
    }

    /// Messages held.
    pub fn len(&self) -> usize {
        self.messages
    }

    /// Records held, messages and events.
    pub fn records(&self) -> usize {
        self.entries.len()
    }

    /// Every record held, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    fn position(&self, seq: Seq) -> Option<usize> {
        self.entries.binary_search_by_key(&seq, |e| e.seq).ok()
    }

    /// What the cache knows of the message at `seq`.
    pub fn lookup(&self, seq: Seq) -> Known<'_> {
        if let Some(at) = self.position(seq) {
            let entry = &self.entries[at];
            return if entry.message().is_some() { Known::Held(entry) } else { Known::Nothing };
        }
        match self.facts.get(&seq) {
            Some(Some(fact)) => Known::Fact(fact),
            Some(None) => Known::Nothing,
            None if self.complete_from.is_some_and(|from| from <= seq) && seq < self.end => Known::Nothing,
            None => Known::Unknown,
        }
    }

    /// The message `entry` names (an event's target, a reply's quote) when
    /// the cache knows nothing of it: it should be learnt before the push.
    pub fn needs(&self, entry: &Entry) -> Option<Seq> {
        let named = entry.record.target().or_else(|| entry.message().and_then(|m| m.reply_to))?;
        matches!(self.lookup(named), Known::Unknown).then_some(named)
    }

    /// Learns what is at `seq`, older than the cache.
    pub fn learn(&mut self, seq: Seq, fact: Option<Fact>) {
        self.bytes += fact_weight(&fact);
        if let Some(known) = self.facts.insert(seq, fact) {
            self.bytes = self.bytes.saturating_sub(fact_weight(&known));
        }
        if self.facts.len() > FACTS_KEPT {
            if let Some((_, forgotten)) = self.facts.pop_first() {
                self.bytes = self.bytes.saturating_sub(fact_weight(&forgotten));
            }
        }
    }

    /// Appends a record read live; the stream is in order, so everything
    /// from the first one on is complete. Returns the frame to fan out: a
    /// message's, or an event's that changed something (`None` for an
    /// event against the rules, or one that changed nothing).
    pub fn push(&mut self, entry: Entry, encode: &Encode<'_>) -> Option<Frame> {
        if entry.seq < self.end {
            // A read got here first: the held record is what goes out.
            return self.position(entry.seq).map(|at| self.entries[at].frame.clone());
        }
        self.complete_from.get_or_insert(entry.seq);
        self.end = entry.seq + 1;
        if self.holds(&entry) {
            return None;
        }
        let before = self.entries.len();
        self.add(entry, encode);
        let frame = (self.entries.len() > before).then(|| self.entries.back().map(|e| e.frame.clone()));
        frame.flatten()
    }

    /// Files `entry`, the newest yet. A message is encoded unless it comes
    /// encoded; an event folds into its message, or (the message being older
    /// than the cache) is checked against what is known of it and kept
    /// aside for a read that brings the message. An event the rules refuse
    /// or that changes nothing is not kept: it never happened.
    fn add(&mut self, mut entry: Entry, encode: &Encode<'_>) {
        let Some(target) = entry.record.target() else {
            if let Some(quoted) = entry.message().and_then(|m| m.reply_to) {
                self.quoted_by.entry(quoted).or_default().push(entry.seq);
                entry.frame = encode(&entry, Some(self.preview(quoted)), None);
            } else if entry.frame.is_empty() {
                entry.frame = encode(&entry, None, None);
            }
            self.append(entry);
            return;
        };
        let event = entry.record.clone();
        let window = self.edit_window;
        match self.lookup(target) {
            Known::Held(_) => {
                let Some(at) = self.position(target) else { return };
                if !self.fold(at, &event, encode) {
                    return;
                }
                entry.frame = encode(&entry, None, Some(&self.entries[at]));
            }
            Known::Fact(fact) if fact.deleted || !allows(fact.author.as_deref(), &fact.timestamp, &event, window) => {
                return
            }
            Known::Nothing => return,
            Known::Fact(_) => {
                if let Some(Some(fact)) = self.facts.get_mut(&target) {
                    let before = fact.weight();
                    fact.apply(&event);
                    self.bytes = (self.bytes + fact.weight()).saturating_sub(before);
                }
                // The replies here quoting it show it as it is now.
                self.reencode(target, encode);
                entry.frame = encode(&entry, None, None);
                self.keep_orphan(entry.clone());
            }
            // A message the server could not learn of: the event goes on as written.
            Known::Unknown => {
                entry.frame = encode(&entry, None, None);
                self.keep_orphan(entry.clone());
            }
        }
        self.append(entry);
    }

    /// Files `entry` last, counted and indexed.
    fn append(&mut self, entry: Entry) {
        self.bytes += entry.weight();
        self.messages += usize::from(entry.message().is_some());
        self.ids.insert(self.hasher.hash_one(entry.record.id()), entry.seq);
        self.entries.push_back(entry);
    }

    /// Applies `event` to the message at `at`; re-encodes it and its quoters.
    fn fold(&mut self, at: usize, event: &RoomRecord, encode: &Encode<'_>) -> bool {
        let window = self.edit_window;
        let entry = &mut self.entries[at];
        let Some(message) = entry.record.as_message() else { return false };
        let before = entry.weight();
        if !entry.state.apply(message, event, window) {
            return false;
        }
        self.bytes = (self.bytes + entry.weight()).saturating_sub(before);
        let seq = entry.seq;
        self.reencode(seq, encode);
        true
    }

    /// Encodes the message at `seq` again, and the messages quoting it.
    fn reencode(&mut self, seq: Seq, encode: &Encode<'_>) {
        let mut due = vec![seq];
        due.extend(self.quoted_by.get(&seq).cloned().unwrap_or_default());
        for seq in due {
            let Some(at) = self.position(seq) else { continue };
            let entry = &self.entries[at];
            let quoted = entry.message().and_then(|m| m.reply_to);
            let frame = encode(entry, quoted.map(|q| self.preview(q)), None);
            let entry = &mut self.entries[at];
            self.bytes = (self.bytes + frame.len()).saturating_sub(entry.frame.len());
            entry.frame = frame;
        }
    }

    /// How the message at `seq` shows in a quote: as it is now, as it was
    /// sent, or only its offset.
    pub fn preview(&self, seq: Seq) -> ReplyPreview<'_> {
        match self.lookup(seq) {
            Known::Held(entry) => match entry.message() {
                Some(message) => entry.state.preview(message, seq),
                None => ReplyPreview::offset_only(seq),
            },
            Known::Fact(fact) => fact.preview(seq),
            Known::Nothing | Known::Unknown => ReplyPreview::offset_only(seq),
        }
    }

    fn keep_orphan(&mut self, event: Entry) {
        let Some(target) = event.record.target() else { return };
        self.orphans.entry(target).or_default().push(event);
        let kept: usize = self.orphans.values().map(Vec::len).sum();
        if kept > ORPHANS_KEPT {
            // The oldest messages' events go first: the least likely to be read again.
            self.orphans.pop_first();
        }
    }

    /// Whether `entry` is a message already here under the same id (a
    /// later attempt, or a record another producer wrote twice): not a new one.
    fn holds(&self, entry: &Entry) -> bool {
        entry.message().is_some() && self.find(entry.record.id()).is_some()
    }

    /// Folds the events this cache keeps aside into `older`'s messages
    /// (they came later than anything in `older`), before `older` answers.
    pub fn lend_orphans(&self, older: &mut RoomCache, encode: &Encode<'_>) {
        let (from, until) = (older.complete_from.unwrap_or(Seq::MAX), older.end);
        for (target, events) in self.orphans.range(from..until) {
            let Some(at) = older.position(*target) else { continue };
            for event in events {
                older.fold(at, &event.record, encode);
            }
        }
        older.recount();
    }

    /// Merges `older`, a folded read (its orphans lent already), when it
    /// reaches the complete range; returns whether it did.
    pub fn absorb(&mut self, mut older: RoomCache) -> bool {
        let (from, until) = (older.complete_from.unwrap_or(Seq::MAX), older.end);
        let complete_from = self.complete_from.unwrap_or(Seq::MAX);
        // A read ahead of the live stream (this instance's consumer lags)
        // would hide the records between them once the stream catches up.
        if self.complete_from.is_some() && (until < complete_from || from > self.end) {
            return false;
        }
        for target in older.entries.iter().map(|e| e.seq) {
            self.orphans.remove(&target);
            self.facts.remove(&target);
        }
        let (front, back): (Vec<Entry>, Vec<Entry>) = older.entries.drain(..).partition(|e| e.seq < complete_from);
        let mut merged: VecDeque<Entry> = front.into();
        merged.append(&mut self.entries);
        merged.extend(back.into_iter().filter(|e| e.seq >= self.end));
        self.entries = merged;
        for (target, mut events) in std::mem::take(&mut older.orphans) {
            self.orphans.entry(target).or_default().append(&mut events);
        }
        for (seq, fact) in std::mem::take(&mut older.facts) {
            self.facts.entry(seq).or_insert(fact);
        }
        for (quoted, by) in older.quoted_by.drain() {
            self.quoted_by.entry(quoted).or_default().extend(by);
        }
        if from < complete_from {
            self.complete_from = Some(from);
            self.whole = older.whole;
        }
        self.end = self.end.max(until);
        self.recount();
        true
    }

    /// Counts and indexes everything again, after the entries were replaced
    /// wholesale (a read merged, the facts taken over).
    fn recount(&mut self) {
        (self.bytes, self.messages) = self.counted();
        // In the log's order, so the newest entry of a hash is the one kept.
        self.ids = self.entries.iter().map(|e| (self.hasher.hash_one(e.record.id()), e.seq)).collect();
    }

    /// Memory held and messages, counted from scratch.
    fn counted(&self) -> (usize, usize) {
        let facts: usize = self.facts.values().map(fact_weight).sum();
        let bytes = self.entries.iter().map(Entry::weight).sum::<usize>() + facts;
        (bytes, self.entries.iter().filter(|e| e.message().is_some()).count())
    }

    /// The records after `since`: messages in their current state, and the
    /// events about messages at or before `since` (the client has those).
    pub fn after(&self, since: Seq) -> After {
        let Some(complete_from) = self.complete_from else { return After::Unknown };
        if since >= self.end {
            return After::Unknown;
        }
        if since.saturating_add(1) >= complete_from {
            After::Complete(replay_after(self.entries.iter(), since))
        } else if self.whole {
            After::Truncated(replay_after(self.entries.iter(), since))
        } else {
            After::Unknown
        }
    }

    /// The last `count` messages, if the cache holds that many or all there are.
    pub fn last(&self, count: usize) -> Option<Vec<Entry>> {
        let known = self.complete_from.is_some() && (self.messages >= count || self.whole);
        known.then(|| newest_messages(self.entries.iter(), count))
    }

    /// Every record held from `seq` on, complete or not.
    pub fn held_from(&self, seq: Seq) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.seq >= seq)
    }

    /// Where the message or event `id` is, if it is held.
    pub fn find(&self, id: &str) -> Option<Seq> {
        let seq = *self.ids.get(&self.hasher.hash_one(id))?;
        match self.position(seq) {
            Some(at) if self.entries[at].record.id() == id => Some(seq),
            // Another id with the same hash: rare enough to walk for.
            _ => self.entries.iter().rev().find(|e| e.record.id() == id).map(|e| e.seq),
        }
    }

    /// A moderator removed the message at `seq`: re-encoded without its
    /// text, and so are the replies quoting it (also when only its fact is here).
    pub fn remove(&mut self, seq: Seq, encode: &Encode<'_>) {
        match (self.position(seq), self.facts.get_mut(&seq)) {
            (Some(at), _) => self.entries[at].state.remove(),
            (None, Some(Some(fact))) => fact.deleted = true,
            (None, _) => return,
        }
        self.reencode(seq, encode);
    }

    /// Keeps the newest `max` records; returns the bytes freed. What the
    /// rules need of the messages let go is kept as facts.
    pub fn trim(&mut self, max: usize) -> usize {
        let before = self.bytes();
        while self.entries.len() > max.max(1) {
            let Some(oldest) = self.entries.pop_front() else { break };
            self.bytes = self.bytes.saturating_sub(oldest.weight());
            self.messages = self.messages.saturating_sub(usize::from(oldest.message().is_some()));
            // Older entries of the same hash went before it: none is left.
            let hash = self.hasher.hash_one(oldest.record.id());
            if self.ids.get(&hash) == Some(&oldest.seq) {
                self.ids.remove(&hash);
            }
            self.quoted_by.remove(&oldest.seq);
            if let Some(message) = oldest.message() {
                self.learn(oldest.seq, Some(oldest.state.fact(message)));
            }
            if let Some(events) = oldest.record.target().and_then(|target| self.orphans.get_mut(&target)) {
                events.retain(|event| event.seq != oldest.seq);
            }
            self.complete_from = Some(oldest.seq + 1);
            self.whole = false;
        }
        debug_assert_eq!((self.bytes, self.messages), self.counted(), "the cache's running count drifted");
        before.saturating_sub(self.bytes())
    }
}

fn fact_weight(fact: &Option<Fact>) -> usize {
    fact.as_ref().map_or(0, Fact::weight)
}

/// What a client that has everything up to `since` lacks: the messages
/// after it, and the events after it about messages it has.
pub fn replay_after<'a>(entries: impl Iterator<Item = &'a Entry>, since: Seq) -> Vec<Entry> {
    let news = |e: &&Entry| e.seq > since && e.record.target().is_none_or(|target| target <= since);
    entries.filter(news).cloned().collect()
}

/// The newest `count` messages of `entries` (oldest first); events left out.
pub fn newest_messages<'a>(entries: impl DoubleEndedIterator<Item = &'a Entry>, count: usize) -> Vec<Entry> {
    let mut newest: Vec<Entry> = entries.rev().filter(|e| e.message().is_some()).take(count).cloned().collect();
    newest.reverse();
    newest
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::history::fold::MessageState;
    use crate::protocol::{ChatRecord, EditRecord, ReactionRecord};

    const WINDOW: Duration = Duration::from_secs(900);

    fn encode(entry: &Entry, quote: Option<ReplyPreview<'_>>, _target: Option<&Entry>) -> Frame {
        let reactions: usize = entry.state.reactions.iter().map(|(_, r)| r.len()).sum();
        let quote = quote.and_then(|q| q.text).unwrap_or_default();
        format!("{} r{reactions} q[{quote}] d{}", entry.seq, entry.state.removed.is_some()).into()
    }

    fn message(seq: Seq) -> Entry {
        message_replying(seq, None)
    }

    fn message_replying(seq: Seq, reply_to: Option<Seq>) -> Entry {
        let record = ChatRecord {
            message_id: format!("m{seq}"),
            username: "Azure Ronin".into(),
            text: format!("text {seq}"),
            room: "lobby".into(),
            timestamp: "2026-11-25T12:00:00.000Z".into(),
            attempt: 1,
            author: Some("me".into()),
            verified: true,
            reply_to,
        };
        Entry {
            seq,
            record: Arc::new(RoomRecord::Message(record)),
            frame: format!("frame {seq}").into(),
            state: MessageState::default(),
        }
    }

    fn reaction(seq: Seq, target: Seq) -> Entry {
        reaction_by(seq, target, &format!("fan {seq}"))
    }

    fn reaction_by(seq: Seq, target: Seq, author: &str) -> Entry {
        let record = RoomRecord::Reaction(ReactionRecord {
            event_id: format!("e{seq}"),
            target,
            room: "lobby".into(),
            emoji: "🔥".into(),
            added: true,
            author: author.into(),
            username: "Fan".into(),
            timestamp: "2026-11-25T12:00:01.000Z".into(),
        });
        Entry { seq, record: Arc::new(record), frame: format!("event {seq}").into(), state: MessageState::default() }
    }

    pub(in crate::history) fn cache_of(seqs: &[Seq]) -> RoomCache {
        let mut cache = RoomCache::new(WINDOW);
        for seq in seqs {
            cache.push(message(*seq), &encode);
        }
        cache
    }

    fn seqs(entries: &[Entry]) -> Vec<Seq> {
        entries.iter().map(|e| e.seq).collect()
    }

    fn complete(after: After) -> Option<Vec<Seq>> {
        match after {
            After::Complete(entries) => Some(seqs(&entries)),
            _ => None,
        }
    }

    fn read(entries: Vec<Entry>, from: Seq, until: Seq, whole: bool) -> RoomCache {
        RoomCache::from_read(entries, (from, until, whole), BTreeMap::new(), WINDOW, &encode)
    }

    fn frame(cache: &RoomCache, seq: Seq) -> String {
        cache.entries().find(|e| e.seq == seq).map(|e| e.frame.to_string()).unwrap_or_default()
    }

    #[test]
    fn the_live_stream_is_complete_from_its_first_message() {
        let mut cache = RoomCache::new(WINDOW);
        assert!(matches!(cache.after(5), After::Unknown), "nothing known yet");
        let cache_ = cache_of(&[12, 15, 20]);
        cache = cache_;
        assert_eq!(complete(cache.after(11)), Some(vec![12, 15, 20]));
        assert_eq!(complete(cache.after(15)), Some(vec![20]));
        assert_eq!(complete(cache.after(20)), Some(vec![]), "caught up");
        assert!(matches!(cache.after(5), After::Unknown), "6..12 were never seen");
        assert!(matches!(cache.after(21), After::Unknown), "past what the cache has seen");
        assert_eq!(cache.last(2).map(|e| seqs(&e)), Some(vec![15, 20]));
        assert!(cache.last(5).is_none(), "older messages may exist");
    }

    #[test]
    fn a_read_that_reaches_the_complete_range_extends_it() {
        let mut cache = cache_of(&[11]);
        assert!(cache.absorb(read(vec![message(3), message(7), message(11)], 0, 12, true)));
        assert_eq!(complete(cache.after(-1)), Some(vec![3, 7, 11]));
        assert_eq!(cache.last(10).map(|e| seqs(&e)), Some(vec![3, 7, 11]), "the whole log is known");

        let mut cache = cache_of(&[50]);
        assert!(!cache.absorb(read(vec![message(3)], 0, 40, false)), "a read that stops short leaves a gap");
        assert!(matches!(cache.after(2), After::Unknown));
        assert!(!cache.absorb(read(vec![message(70)], 60, 80, false)), "a read ahead of the live stream");
        assert!(cache.has_seen(50) && !cache.has_seen(51));
    }

    #[test]
    fn a_read_into_an_empty_cache_and_live_copies_after_it() {
        let mut cache = RoomCache::new(WINDOW);
        assert!(cache.absorb(read(vec![message(4), message(9)], 2, 10, false)));
        assert_eq!(
            cache.push(message(9), &encode).as_deref(),
            Some("frame 9"),
            "the consumer delivers 9 after the read had it"
        );
        cache.push(message(12), &encode);
        assert_eq!(complete(cache.after(1)), Some(vec![4, 9, 12]));
        assert!(cache.has_seen(11) && !cache.has_seen(13));
    }

    #[test]
    fn retention_truncates_what_a_since_asks_for() {
        let mut cache = RoomCache::new(WINDOW);
        cache.absorb(read(vec![message(40), message(41)], 30, 42, true));
        assert!(matches!(cache.after(10), After::Truncated(e) if seqs(&e) == [40, 41]));
    }

    #[test]
    fn trimming_moves_the_complete_range_and_frees_memory() {
        let mut cache = cache_of(&[1, 2, 3]);
        let before = cache.bytes();
        assert!(cache.trim(2) > 0 && cache.bytes() < before);
        assert_eq!(complete(cache.after(1)), Some(vec![2, 3]));
        assert!(matches!(cache.after(0), After::Unknown));
    }

    #[test]
    fn events_fold_into_their_message_and_a_replay_sends_only_what_the_client_lacks() {
        let mut cache = cache_of(&[1, 2]);
        assert!(cache.push(reaction(3, 1), &encode).is_some());
        assert_eq!(frame(&cache, 1), "1 r1 q[] dfalse");
        assert_eq!(cache.push(reaction_by(4, 1, "fan 3"), &encode), None, "the same reactor again changes nothing");
        assert_eq!(cache.records(), 3, "and is not kept");
        cache.push(message(5), &encode);
        cache.push(reaction(6, 5), &encode);
        // A client that has 1..=2 gets the reaction to 1 as an event, and 5 with its reaction folded in.
        assert_eq!(complete(cache.after(2)), Some(vec![3, 5]));
        assert_eq!(cache.last(10).map(|e| seqs(&e)), None, "joins count messages, not events");
        assert_eq!(cache.last(2).map(|e| seqs(&e)), Some(vec![2, 5]));
    }

    #[test]
    fn an_event_about_an_older_message_waits_for_a_read_of_it() {
        let mut cache = cache_of(&[10]);
        assert_eq!(cache.needs(&reaction(11, 4)), Some(4), "message 4 is not held");
        assert!(cache.push(reaction(11, 4), &encode).is_some(), "unlearnt, the event goes on as written");
        let mut older = read(vec![message(4), reaction(6, 4)], 0, 10, true);
        cache.lend_orphans(&mut older, &encode);
        assert!(cache.absorb(older));
        assert_eq!(frame(&cache, 4), "4 r2 q[] dfalse", "the read's and the kept event, both");
    }

    #[test]
    fn an_event_the_rules_refuse_is_not_kept_whether_its_message_is_held_or_known() {
        let mut cache = cache_of(&[1, 2, 3]);
        let edit = |seq: Seq, target: Seq, author: &str| {
            let record = RoomRecord::Edit(EditRecord {
                event_id: format!("e{seq}"),
                target,
                room: "lobby".into(),
                text: "fixed".into(),
                author: author.into(),
                username: "x".into(),
                timestamp: "2026-11-25T12:01:00.000Z".into(),
            });
            Entry { seq, record: Arc::new(record), frame: Frame::default(), state: MessageState::default() }
        };
        assert_eq!(cache.push(edit(4, 1, "someone"), &encode), None, "not the author's");
        assert!(cache.push(edit(5, 1, "me"), &encode).is_some());
        cache.trim(2);
        assert!(matches!(cache.lookup(1), Known::Fact(_)), "what the rules need of 1 is kept");
        assert_eq!(cache.needs(&edit(6, 1, "someone")), None);
        assert_eq!(cache.push(edit(6, 1, "someone"), &encode), None, "refused by what is known of 1");
        assert!(cache.push(edit(7, 1, "me"), &encode).is_some());
        assert!(matches!(cache.lookup(4), Known::Nothing), "no message at 4: a refused event is no message");
    }

    #[test]
    fn a_quote_follows_the_state_of_what_it_quotes() {
        let mut cache = cache_of(&[1]);
        cache.push(message_replying(2, Some(1)), &encode);
        assert!(frame(&cache, 2).contains("q[text 1]"));
        cache.remove(1, &encode);
        assert!(frame(&cache, 2).contains("q[]"), "the quote of a removed message has no text");
        assert_eq!(cache.preview(99).username, None, "a message not held: only its offset");
    }

    #[test]
    fn a_retry_of_a_message_held_is_not_added() {
        let mut cache = cache_of(&[1]);
        let mut retry = message(2);
        if let RoomRecord::Message(m) = Arc::make_mut(&mut retry.record) {
            m.message_id = "m1".into();
            m.attempt = 2;
        }
        cache.push(retry, &encode);
        assert_eq!(cache.find("m1"), Some(1));
        assert_eq!(cache.records(), 1);
    }

    #[test]
    fn the_memory_count_follows_every_change_without_a_recount() {
        let mut cache = cache_of(&[1, 2, 3]);
        for (seq, target) in [(4, 2), (5, 2), (6, 1)] {
            cache.push(reaction(seq, target), &encode);
        }
        cache.remove(3, &encode);
        cache.learn(0, None);
        assert_eq!((cache.bytes, cache.messages), cache.counted());
        // A trim checks the running count against a full one (debug builds).
        let freed = cache.trim(2);
        assert_eq!((cache.bytes, cache.messages), cache.counted());
        assert_eq!(cache.records(), 2);
        assert!(freed > 0);
    }

    #[test]
    fn ids_are_found_until_their_records_are_trimmed() {
        let mut cache = cache_of(&[1, 2, 3]);
        assert_eq!((cache.find("m2"), cache.find("m9")), (Some(2), None));
        cache.trim(1);
        assert_eq!((cache.find("m1"), cache.find("m2"), cache.find("m3")), (None, None, Some(3)));
        // A read merged in front is indexed too.
        assert!(cache.absorb(read(vec![message(1), message(2)], 0, 3, true)));
        assert_eq!((cache.find("m1"), cache.find("m3")), (Some(1), Some(3)));
    }
}
