//! `Rules`: the moderation the hub enforces on every post and connection:
//! mutes, bans, slow mode per room, blocked words, and the messages removed
//! (so an instance that reads a message late never shows it). Built from the
//! moderation topic's changes, in order, the same on every instance.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use regex::{Regex, RegexBuilder};

use crate::messages::{Change, Epoch, Seq};
use crate::protocol::{ErrorCode, Refusal, Target};
use crate::settings::{BlockedAction, ModerationSettings};

/// Who posts, as the rules see it.
pub struct Poster<'a> {
    pub room: &'a str,
    /// Slow mode counts per identity, or per name for HTTP clients without one.
    pub key: &'a str,
    pub identity: Option<&'a str>,
    pub address: IpAddr,
}

pub struct Rules {
    /// Until when (ms since the Unix epoch).
    mutes: HashMap<Target, i64>,
    bans: HashSet<Target>,
    slow: HashMap<String, Duration>,
    last_post: HashMap<(String, String), Instant>,
    deleted: HashSet<(Epoch, String, Seq)>,
    blocked: Option<Regex>,
    action: BlockedAction,
}

impl Rules {
    /// Fails when a blocked pattern is not a valid regular expression.
    pub fn new(settings: &ModerationSettings) -> Result<Self, regex::Error> {
        let blocked = match settings.blocked_words.is_empty() {
            true => None,
            false => {
                let any = settings.blocked_words.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|");
                Some(RegexBuilder::new(&any).case_insensitive(true).build()?)
            }
        };
        Ok(Self {
            mutes: HashMap::new(),
            bans: HashSet::new(),
            slow: HashMap::new(),
            last_post: HashMap::new(),
            deleted: HashSet::new(),
            blocked,
            action: settings.blocked_action,
        })
    }

    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Deleted { epoch, room, seq } => {
                self.deleted.insert((epoch.clone(), room.clone(), *seq));
            }
            Change::Muted { target, until_ms: 0 } => drop(self.mutes.remove(target)),
            Change::Muted { target, until_ms } => drop(self.mutes.insert(target.clone(), *until_ms)),
            Change::Banned { target, banned: true } => drop(self.bans.insert(target.clone())),
            Change::Banned { target, banned: false } => drop(self.bans.remove(target)),
            Change::SlowMode { room, seconds: 0 } => drop(self.slow.remove(room)),
            Change::SlowMode { room, seconds } => {
                self.slow.insert(room.clone(), Duration::from_secs(u64::from(*seconds)));
            }
        }
    }

    pub fn is_deleted(&self, epoch: &Epoch, room: &str, seq: Seq) -> bool {
        self.deleted.contains(&(epoch.clone(), room.to_owned(), seq))
    }

    pub fn is_banned(&self, identity: Option<&str>, address: IpAddr) -> bool {
        self.bans.contains(&Target::Address(address.to_string()))
            || identity.is_some_and(|id| self.bans.contains(&Target::Identity(id.to_owned())))
    }

    /// Whether `poster` may post `text` now (which may be masked). A post
    /// let through counts for the room's slow mode.
    pub fn check_post(
        &mut self,
        poster: &Poster<'_>,
        text: &mut String,
        now: Instant,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        self.check_speaker(poster, Some(text), now_ms)?;
        self.slow_mode(poster, now)
    }

    /// What a post and an act on a message (a reaction, an edit's `text`)
    /// must both pass: no ban, no mute, no blocked word (or it is masked).
    pub fn check_speaker(&self, poster: &Poster<'_>, text: Option<&mut String>, now_ms: i64) -> Result<(), Refusal> {
        if self.is_banned(poster.identity, poster.address) {
            return Err(Refusal::new(ErrorCode::Banned, "you are banned from this chat"));
        }
        if let Some(until) = self.muted_until(poster.identity, poster.address, now_ms) {
            let mut refusal = Refusal::new(ErrorCode::Muted, "a moderator muted you for a while");
            refusal.until = chrono::DateTime::from_timestamp_millis(until)
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            return Err(refusal);
        }
        if let (Some(blocked), Some(text)) = (&self.blocked, text) {
            if blocked.is_match(text) {
                if self.action == BlockedAction::Refuse {
                    return Err(Refusal::new(
                        ErrorCode::BlockedText,
                        "the message holds a word this chat does not allow",
                    ));
                }
                *text =
                    blocked.replace_all(text, |m: &regex::Captures<'_>| "*".repeat(m[0].chars().count())).into_owned();
            }
        }
        Ok(())
    }

    fn muted_until(&self, identity: Option<&str>, address: IpAddr, now_ms: i64) -> Option<i64> {
        let by_address = self.mutes.get(&Target::Address(address.to_string()));
        let by_identity = identity.and_then(|id| self.mutes.get(&Target::Identity(id.to_owned())));
        by_address.into_iter().chain(by_identity).copied().filter(|until| *until > now_ms).max()
    }

    fn slow_mode(&mut self, poster: &Poster<'_>, now: Instant) -> Result<(), Refusal> {
        let Some(every) = self.slow.get(poster.room).copied() else { return Ok(()) };
        let key = (poster.room.to_owned(), poster.key.to_owned());
        if let Some(waited) = self.last_post.get(&key).map(|at| now.saturating_duration_since(*at)) {
            if waited < every {
                let mut refusal = Refusal::new(
                    ErrorCode::SlowMode,
                    format!("slow mode: one message every {} s in this room", every.as_secs()),
                );
                refusal.retry_after_ms = u64::try_from((every - waited).as_millis()).ok();
                return Err(refusal);
            }
        }
        self.last_post.insert(key, now);
        Ok(())
    }

    /// The post checked at `at` was not stored: it no longer counts.
    pub fn unpost(&mut self, room: &str, key: &str, at: Instant) {
        let key = (room.to_owned(), key.to_owned());
        if self.last_post.get(&key) == Some(&at) {
            self.last_post.remove(&key);
        }
    }

    /// Forgets posts older than any slow mode in force.
    pub fn forget(&mut self, now: Instant) {
        let longest = self.slow.values().max().copied().unwrap_or_default();
        self.last_post.retain(|_, at| now.saturating_duration_since(*at) < longest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(words: &[&str], action: BlockedAction) -> Rules {
        let settings =
            ModerationSettings { blocked_words: words.iter().map(|w| w.to_string()).collect(), blocked_action: action };
        Rules::new(&settings).expect("valid patterns")
    }

    fn poster<'a>(identity: Option<&'a str>) -> Poster<'a> {
        Poster { room: "lobby", key: identity.unwrap_or("http:x"), identity, address: [127, 0, 0, 9].into() }
    }

    fn post(rules: &mut Rules, who: &Poster<'_>, text: &str, now: Instant) -> Result<String, ErrorCode> {
        let mut text = text.to_owned();
        rules.check_post(who, &mut text, now, 1_000).map(|()| text).map_err(|r| r.code)
    }

    #[test]
    fn mutes_and_bans_apply_to_an_identity_or_an_address_until_lifted() {
        let mut rules = rules(&[], BlockedAction::Refuse);
        let (me, now) = (poster(Some("id")), Instant::now());
        rules.apply(&Change::Muted { target: Target::Identity("id".into()), until_ms: 5_000 });
        assert_eq!(post(&mut rules, &me, "hi", now), Err(ErrorCode::Muted));
        assert_eq!(post(&mut rules, &poster(Some("other")), "hi", now), Ok("hi".into()));
        rules.apply(&Change::Muted { target: Target::Identity("id".into()), until_ms: 0 });
        assert_eq!(post(&mut rules, &me, "hi", now), Ok("hi".into()));
        rules.apply(&Change::Banned { target: Target::Address("127.0.0.9".into()), banned: true });
        assert!(rules.is_banned(None, [127, 0, 0, 9].into()));
        assert_eq!(post(&mut rules, &poster(None), "hi", now), Err(ErrorCode::Banned));
    }

    #[test]
    fn slow_mode_lets_one_message_through_per_interval() {
        let mut rules = rules(&[], BlockedAction::Refuse);
        let (me, now) = (poster(Some("id")), Instant::now());
        rules.apply(&Change::SlowMode { room: "lobby".into(), seconds: 10 });
        assert!(post(&mut rules, &me, "one", now).is_ok());
        assert_eq!(post(&mut rules, &me, "two", now + Duration::from_secs(3)), Err(ErrorCode::SlowMode));
        assert!(post(&mut rules, &poster(Some("other")), "theirs", now).is_ok(), "per identity");
        assert!(post(&mut rules, &me, "three", now + Duration::from_secs(11)).is_ok());
    }

    #[test]
    fn blocked_words_are_refused_or_masked() {
        let mut refusing = rules(&["spoiler"], BlockedAction::Refuse);
        assert_eq!(
            post(&mut refusing, &poster(None), "no SPOILER please", Instant::now()),
            Err(ErrorCode::BlockedText)
        );
        let mut masking = rules(&["spoil(er)?"], BlockedAction::Mask);
        assert_eq!(post(&mut masking, &poster(None), "a Spoiler!", Instant::now()), Ok("a *******!".into()));
    }

    #[test]
    fn a_post_not_stored_no_longer_counts_for_slow_mode_but_a_later_one_does() {
        let mut rules = rules(&[], BlockedAction::Refuse);
        let (me, now) = (poster(Some("id")), Instant::now());
        rules.apply(&Change::SlowMode { room: "lobby".into(), seconds: 30 });
        assert!(post(&mut rules, &me, "lost", now).is_ok());
        rules.unpost("lobby", me.key, now);
        let later = now + Duration::from_secs(1);
        assert_eq!(post(&mut rules, &me, "stored", later), Ok("stored".into()), "the lost one does not count");
        rules.unpost("lobby", me.key, now);
        assert_eq!(post(&mut rules, &me, "again", later), Err(ErrorCode::SlowMode), "the stored one still does");
    }
}
