//! A message's life folded from the log: the events after it (edits,
//! deletion, reactions) applied in the log's order, with the same rules on
//! every instance, so every instance, every resume and every other reader
//! of the topic arrives at the same state. The rules read only the message
//! and the event, never other state, so they give the same answer wherever
//! they run.

use std::time::Duration;

use crate::protocol::{
    ChatRecord, MessageView, ReactionView, RemovedBy, ReplyPreview, RoomRecord, MAX_DISTINCT_REACTIONS, REACTORS_SHOWN,
};

/// Characters of a quoted message shown in a reply's preview.
pub const PREVIEW_CHARS: usize = 120;

/// What a message's events made of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageState {
    /// The latest edit: its text and when (RFC 3339).
    pub edit: Option<(String, String)>,
    pub removed: Option<RemovedBy>,
    /// Emoji in the order they first came, each with its reactors
    /// (identity id, name), oldest first.
    pub reactions: Vec<(String, Vec<(String, String)>)>,
}

/// What the rules need to know of a message, and what a quote of it
/// shows: kept for messages older than a room's cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub author: Option<String>,
    pub username: String,
    /// When it was sent (RFC 3339).
    pub timestamp: String,
    /// The start of its text, as last edited.
    pub preview: String,
    /// Its author took it back.
    pub deleted: bool,
}

impl Fact {
    pub fn of(message: &ChatRecord) -> Self {
        Self {
            author: message.author.clone(),
            username: message.username.clone(),
            timestamp: message.timestamp.clone(),
            preview: message.text.chars().take(PREVIEW_CHARS).collect(),
            deleted: false,
        }
    }

    /// Applies an event the rules allow (see [`allows`]): what a quote of
    /// the message shows follows its edits and deletion.
    pub fn apply(&mut self, event: &RoomRecord) {
        match event {
            RoomRecord::Edit(edit) if !self.deleted => self.preview = edit.text.chars().take(PREVIEW_CHARS).collect(),
            RoomRecord::Delete(_) => self.deleted = true,
            _ => {}
        }
    }

    /// Memory held, for the history budget.
    pub fn weight(&self) -> usize {
        const OVERHEAD: usize = 64;
        let author = self.author.as_ref().map_or(0, String::len);
        self.username.len() + self.timestamp.len() + self.preview.len() + author + OVERHEAD
    }

    /// How the message shows in a quote, as far as this fact knows.
    pub fn preview(&self, offset: i64) -> ReplyPreview<'_> {
        let text = if self.deleted { String::new() } else { self.preview.clone() };
        ReplyPreview { offset, username: Some(&self.username), text: Some(text), deleted: Some(self.deleted) }
    }
}

/// Whether `event` may change the message by `author` sent at `sent`: edits
/// only by the author within the window, deletions only by the author,
/// reactions by anyone (one each per emoji: see [`MessageState::apply`]).
pub fn allows(author: Option<&str>, sent: &str, event: &RoomRecord, edit_window: Duration) -> bool {
    let by_author = author.is_some() && author == event.author();
    match event {
        RoomRecord::Edit(edit) => by_author && within(sent, &edit.timestamp, edit_window),
        RoomRecord::Delete(_) => by_author,
        RoomRecord::Reaction(_) => true,
        RoomRecord::Message(_) => false,
    }
}

impl MessageState {
    /// Applies `event` (an edit, deletion or reaction of `message`); true
    /// when it changed something. An event against the rules is ignored.
    pub fn apply(&mut self, message: &ChatRecord, event: &RoomRecord, edit_window: Duration) -> bool {
        // A removed message changes no more.
        if self.removed.is_some() || !allows(message.author.as_deref(), &message.timestamp, event, edit_window) {
            return false;
        }
        match event {
            RoomRecord::Edit(edit) => {
                let edit = Some((edit.text.clone(), edit.timestamp.clone()));
                std::mem::replace(&mut self.edit, edit) != self.edit
            }
            RoomRecord::Delete(_) => self.removed.replace(RemovedBy::Author).is_none(),
            RoomRecord::Reaction(reaction) if reaction.added => {
                self.add(&reaction.emoji, &reaction.author, &reaction.username)
            }
            RoomRecord::Reaction(reaction) => self.take_back(&reaction.emoji, &reaction.author),
            RoomRecord::Message(_) => false,
        }
    }

    /// A moderator removed the message.
    pub fn remove(&mut self) {
        self.removed = Some(RemovedBy::Moderator);
    }

    fn add(&mut self, emoji: &str, author: &str, username: &str) -> bool {
        let known = self.reactions.iter().position(|(e, _)| e == emoji);
        let at = match known {
            Some(at) => at,
            None if self.reactions.len() < MAX_DISTINCT_REACTIONS => {
                self.reactions.push((emoji.to_owned(), Vec::new()));
                self.reactions.len() - 1
            }
            None => return false,
        };
        let reactors = &mut self.reactions[at].1;
        if reactors.iter().any(|(id, _)| id == author) {
            return false;
        }
        reactors.push((author.to_owned(), username.to_owned()));
        true
    }

    fn take_back(&mut self, emoji: &str, author: &str) -> bool {
        let Some(at) = self.reactions.iter().position(|(e, _)| e == emoji) else { return false };
        let reactors = &mut self.reactions[at].1;
        let before = reactors.len();
        reactors.retain(|(id, _)| id != author);
        let changed = reactors.len() != before;
        if reactors.is_empty() {
            self.reactions.remove(at);
        }
        changed
    }

    /// Whether `author` reacted with `emoji`.
    pub fn has_reacted(&self, emoji: &str, author: &str) -> bool {
        self.reactions.iter().any(|(e, reactors)| e == emoji && reactors.iter().any(|(id, _)| id == author))
    }

    /// Whether one more distinct emoji fits.
    pub fn takes(&self, emoji: &str) -> bool {
        self.reactions.len() < MAX_DISTINCT_REACTIONS || self.reactions.iter().any(|(e, _)| e == emoji)
    }

    /// What the rules and quotes need of the message, as it now is.
    pub fn fact(&self, message: &ChatRecord) -> Fact {
        let mut fact = Fact::of(message);
        fact.preview = self.text(message).chars().take(PREVIEW_CHARS).collect();
        fact.deleted = self.removed.is_some();
        fact
    }

    /// The message's text now.
    pub fn text<'a>(&'a self, message: &'a ChatRecord) -> &'a str {
        self.edit.as_ref().map_or(message.text.as_str(), |(text, _)| text.as_str())
    }

    pub fn reaction_views(&self) -> Vec<ReactionView<'_>> {
        self.reactions
            .iter()
            .map(|(emoji, reactors)| ReactionView {
                emoji,
                count: reactors.len(),
                users: reactors.iter().rev().take(REACTORS_SHOWN).map(|(_, name)| name.as_str()).collect(),
            })
            .collect()
    }

    pub fn view<'a>(&'a self, message: &'a ChatRecord, reply_to: Option<ReplyPreview<'a>>) -> MessageView<'a> {
        MessageView {
            text: self.text(message),
            edited_at: self.edit.as_ref().map(|(_, at)| at.as_str()),
            deleted: self.removed,
            reply_to,
            reactions: self.reaction_views(),
        }
    }

    /// How this message shows when another quotes it.
    pub fn preview<'a>(&'a self, message: &'a ChatRecord, offset: i64) -> ReplyPreview<'a> {
        let deleted = self.removed.is_some();
        let text = if deleted { String::new() } else { self.text(message).chars().take(PREVIEW_CHARS).collect() };
        ReplyPreview { offset, username: Some(&message.username), text: Some(text), deleted: Some(deleted) }
    }
}

/// Whether `at` is within `window` after `sent`.
fn within(sent: &str, at: &str, window: Duration) -> bool {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    let (Some(sent), Some(at)) = (parse(sent), parse(at)) else { return false };
    let elapsed = at.signed_duration_since(sent);
    elapsed >= chrono::TimeDelta::zero() && elapsed.to_std().is_ok_and(|elapsed| elapsed <= window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DeleteRecord, EditRecord, ReactionRecord};

    const WINDOW: Duration = Duration::from_secs(900);

    fn message() -> ChatRecord {
        ChatRecord {
            message_id: "m".into(),
            username: "Azure Ronin".into(),
            text: "typo".into(),
            room: "lobby".into(),
            timestamp: "2026-11-25T12:00:00.000Z".into(),
            attempt: 1,
            author: Some("me".into()),
            verified: true,
            reply_to: None,
        }
    }

    fn edit(author: &str, at: &str) -> RoomRecord {
        RoomRecord::Edit(EditRecord {
            event_id: "e".into(),
            target: 0,
            room: "lobby".into(),
            text: "fixed".into(),
            author: author.into(),
            username: "x".into(),
            timestamp: at.into(),
        })
    }

    fn react(author: &str, emoji: &str, added: bool) -> RoomRecord {
        RoomRecord::Reaction(ReactionRecord {
            event_id: "r".into(),
            target: 0,
            room: "lobby".into(),
            emoji: emoji.into(),
            added,
            author: author.into(),
            username: format!("name of {author}"),
            timestamp: "2026-11-25T12:00:01.000Z".into(),
        })
    }

    #[test]
    fn only_the_author_edits_and_only_within_the_window() {
        let (message, mut state) = (message(), MessageState::default());
        assert!(!state.apply(&message, &edit("someone", "2026-11-25T12:01:00.000Z"), WINDOW), "not theirs");
        assert!(!state.apply(&message, &edit("me", "2026-11-25T12:16:00.000Z"), WINDOW), "too late");
        assert!(state.apply(&message, &edit("me", "2026-11-25T12:01:00.000Z"), WINDOW));
        assert_eq!(state.view(&message, None).text, "fixed");
        assert_eq!(state.view(&message, None).edited_at, Some("2026-11-25T12:01:00.000Z"));
    }

    #[test]
    fn only_the_author_deletes_and_the_text_goes() {
        let (message, mut state) = (message(), MessageState::default());
        let delete = |author: &str| {
            RoomRecord::Delete(DeleteRecord {
                event_id: "d".into(),
                target: 0,
                room: "lobby".into(),
                author: author.into(),
                username: "x".into(),
                timestamp: "2026-11-26T00:00:00.000Z".into(),
            })
        };
        assert!(!state.apply(&message, &delete("someone"), WINDOW));
        assert!(state.apply(&message, &delete("me"), WINDOW), "any time later");
        assert_eq!(state.view(&message, None).deleted, Some(RemovedBy::Author));
        assert_eq!(state.preview(&message, 0).text.as_deref(), Some(""));
    }

    #[test]
    fn one_reaction_per_identity_per_emoji_and_a_bounded_set_per_message() {
        let (message, mut state) = (message(), MessageState::default());
        assert!(state.apply(&message, &react("a", "🔥", true), WINDOW));
        assert!(!state.apply(&message, &react("a", "🔥", true), WINDOW), "once per identity");
        assert!(state.apply(&message, &react("b", "🔥", true), WINDOW));
        let views = state.reaction_views();
        assert_eq!((views[0].count, views[0].users.clone()), (2, vec!["name of b", "name of a"]));
        assert!(state.apply(&message, &react("a", "🔥", false), WINDOW));
        assert!(state.has_reacted("🔥", "b") && !state.has_reacted("🔥", "a"));
        for emoji in crate::protocol::REACTIONS.iter().skip(1).take(MAX_DISTINCT_REACTIONS - 1) {
            assert!(state.apply(&message, &react("a", emoji, true), WINDOW));
        }
        assert!(!state.takes("🌸"));
        assert!(!state.apply(&message, &react("a", "🌸", true), WINDOW), "no ninth emoji");
        assert!(state.apply(&message, &react("c", "🔥", true), WINDOW), "but more of one already there");
    }
}
