//! An entry's frame, encoded once for every session that gets it.

use crate::messages::{Entry, Epoch, Frame};
use crate::protocol::{RemovedBy, ReplyPreview, RoomRecord, ServerFrame};

/// Encodes entries for `epoch`, messages with `count` as their room's count.
pub(super) fn encoder(
    epoch: &Epoch,
    count: usize,
) -> impl Fn(&Entry, Option<ReplyPreview<'_>>, Option<&Entry>) -> Frame + '_ {
    move |entry, quote, target| frame_of(entry, quote, target, count, epoch.as_str())
}

/// An entry's frame: a message in its current state (quoting `quote`), or
/// an event, with the reactions of its `target` when that is held.
pub fn frame_of(
    entry: &Entry,
    quote: Option<ReplyPreview<'_>>,
    target: Option<&Entry>,
    count: usize,
    epoch: &str,
) -> Frame {
    let offset = entry.seq;
    match entry.record.as_ref() {
        RoomRecord::Message(message) => {
            ServerFrame::message(message, entry.state.view(message, quote), count, offset, epoch).encode()
        }
        RoomRecord::Edit(edit) => ServerFrame::MessageEdited {
            room: &edit.room,
            offset: edit.target,
            event_offset: offset,
            text: &edit.text,
            edited_at: &edit.timestamp,
            epoch,
        }
        .encode(),
        RoomRecord::Delete(delete) => ServerFrame::MessageDeleted {
            room: &delete.room,
            offset: delete.target,
            epoch,
            by: RemovedBy::Author,
            event_offset: Some(offset),
        }
        .encode(),
        RoomRecord::Reaction(reaction) => ServerFrame::Reactions {
            room: &reaction.room,
            offset: reaction.target,
            event_offset: offset,
            emoji: &reaction.emoji,
            added: reaction.added,
            username: &reaction.username,
            reactions: target.map(|target| target.state.reaction_views()),
            epoch,
        }
        .encode(),
    }
}
