//! `NameBook`: who holds which name, as far as this instance knows. Names
//! are compared by [`comparison_key`], so a lookalike is the same name.
//!
//! Three sources: sessions here; sessions on other instances (presence);
//! identities seen online on any instance within `chat.name_memory` (the
//! identities topic), which keep their name while they are away.

use std::collections::HashMap;

use crate::identity::{comparison_key, Identity};
use crate::protocol::IdentityRecord;

/// Who holds a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// This identity.
    Identity(String),
    /// Someone online elsewhere whose identity this instance has not heard of.
    Unknown,
}

#[derive(Default)]
pub struct NameBook {
    /// key → (identity id, sessions here).
    here: HashMap<String, (String, usize)>,
    /// key → sessions on other instances.
    elsewhere: HashMap<String, usize>,
    /// key → (identity id, when seen, ms since the Unix epoch).
    seen: HashMap<String, (String, i64)>,
}

impl NameBook {
    /// Who holds `name`, if anyone does (seen ones only within `memory_ms`).
    pub fn holder(&self, name: &str, now_ms: i64, memory_ms: i64) -> Option<Holder> {
        let key = comparison_key(name);
        if let Some((id, _)) = self.here.get(&key) {
            return Some(Holder::Identity(id.clone()));
        }
        if let Some((id, _)) = self.seen.get(&key).filter(|(_, at)| within(now_ms, *at, memory_ms)) {
            return Some(Holder::Identity(id.clone()));
        }
        self.elsewhere.contains_key(&key).then_some(Holder::Unknown)
    }

    /// A session of `identity` joined here.
    pub fn claim(&mut self, identity: &Identity) {
        let entry = self.here.entry(comparison_key(&identity.name)).or_insert_with(|| (identity.id.clone(), 0));
        entry.1 += 1;
    }

    /// A session of `identity` left; true when it was its last one here.
    pub fn release(&mut self, identity: &Identity) -> bool {
        let key = comparison_key(&identity.name);
        let Some(entry) = self.here.get_mut(&key) else { return true };
        entry.1 = entry.1.saturating_sub(1);
        if entry.1 == 0 {
            self.here.remove(&key);
            return true;
        }
        false
    }

    /// An identity was online at `record.seen_ms`.
    pub fn seen(&mut self, record: &IdentityRecord) {
        let entry = self.seen.entry(comparison_key(&record.name)).or_insert_with(|| (record.id.clone(), 0));
        if record.seen_ms >= entry.1 {
            *entry = (record.id.clone(), record.seen_ms);
        }
    }

    /// Names that came online, or went offline, on other instances.
    pub fn elsewhere(&mut self, joined: &[String], left: &[String]) {
        for name in joined {
            *self.elsewhere.entry(comparison_key(name)).or_default() += 1;
        }
        for name in left {
            let key = comparison_key(name);
            if let Some(count) = self.elsewhere.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    self.elsewhere.remove(&key);
                }
            }
        }
    }

    /// Forgets identities not seen within `memory_ms`.
    pub fn forget(&mut self, now_ms: i64, memory_ms: i64) {
        self.seen.retain(|_, (_, at)| within(now_ms, *at, memory_ms));
    }

    /// Identities with sessions here, for the periodic "still online".
    pub fn here(&self) -> impl Iterator<Item = &str> {
        self.here.values().map(|(id, _)| id.as_str())
    }
}

/// Whether `at` (from the identities topic: any other service may write
/// it) lies within `memory_ms` of now, either way: a time far in the future
/// holds a name no longer than one far in the past.
fn within(now_ms: i64, at: i64, memory_ms: i64) -> bool {
    now_ms.abs_diff(at) <= memory_ms.unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn identity(id: &str, name: &str) -> Identity {
        Identity { id: id.into(), name: name.into() }
    }

    #[test]
    fn a_name_held_here_elsewhere_or_seen_lately_is_taken_lookalikes_too() {
        let mut book = NameBook::default();
        book.claim(&identity("a", "Azure Ronin"));
        assert_eq!(book.holder("azure ronin", 0, HOUR), Some(Holder::Identity("a".into())));
        assert_eq!(book.holder("Аzure Ronin", 0, HOUR), Some(Holder::Identity("a".into())), "Cyrillic А");
        book.elsewhere(&["Jade Sage".into()], &[]);
        assert_eq!(book.holder("JADE SAGE", 0, HOUR), Some(Holder::Unknown));
        book.seen(&IdentityRecord { id: "n".into(), name: "Neon Oni".into(), seen_ms: 1_000 });
        assert_eq!(book.holder("Neon Oni", 1_000 + HOUR, HOUR), Some(Holder::Identity("n".into())));
        assert_eq!(book.holder("Neon Oni", 2_000 + HOUR, HOUR), None, "away for more than an hour");
        assert_eq!(book.holder("Crimson Miko", 0, HOUR), None);
    }

    #[test]
    fn a_name_is_free_once_its_last_session_leaves_and_its_memory_fades() {
        let mut book = NameBook::default();
        let azure = identity("a", "Azure Ronin");
        book.claim(&azure);
        book.claim(&azure);
        assert!(!book.release(&azure), "a second tab is still here");
        assert!(book.release(&azure));
        assert_eq!(book.holder("Azure Ronin", 0, HOUR), None);
        book.elsewhere(&["Jade Sage".into(), "Jade Sage".into()], &["Jade Sage".into()]);
        assert_eq!(book.holder("Jade Sage", 0, HOUR), Some(Holder::Unknown), "still on one instance");
    }

    #[test]
    fn a_seen_time_of_any_value_neither_panics_nor_holds_a_name_for_ever() {
        let mut book = NameBook::default();
        book.seen(&IdentityRecord { id: "past".into(), name: "Old Oni".into(), seen_ms: i64::MIN });
        book.seen(&IdentityRecord { id: "future".into(), name: "Late Miko".into(), seen_ms: i64::MAX });
        let now = 1_800_000_000_000;
        assert_eq!((book.holder("Old Oni", now, HOUR), book.holder("Late Miko", now, HOUR)), (None, None));
        book.forget(now, HOUR);
        assert_eq!(book.seen.len(), 0, "both forgotten");
    }
}
