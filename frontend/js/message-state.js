// What a message carries besides its text and author, for the message
// store: the message it replies to, an edit, a removal (and by whom), its
// reactions; the changes later frames make to them; and the changes that
// came before their message did (held back, or not replayed yet).
//
// A change is one of
//   {kind: 'edit', text, editedAt}
//   {kind: 'delete', by: 'author' | 'moderator' | 'unknown'}
//   {kind: 'reactions', list}                    the server's whole list
//   {kind: 'reaction', emoji, added, username}   one change, when the server sent no list

import { previewOf } from './chat/actions.js';
import { applyReactionChange, cleanReactions } from './chat/reactions.js';

const isOffset = (n) => Number.isSafeInteger(n) && n >= 0;
/** Two offsets are of the same log unless both epochs are known and differ. */
export const sameLog = (a, b) => !a || !b || a === b;

/**
 * A frame's `reply_to`: {offset, username, text, deleted, known}, or null.
 * known: false when the server sent only the offset (it does not know that message).
 */
export function replyFrom(raw) {
  if (!raw || typeof raw !== 'object' || !isOffset(raw.offset)) return null;
  const known = typeof raw.username === 'string' && raw.username !== '';
  const deleted = raw.deleted === true;
  return {
    offset: raw.offset,
    username: known ? raw.username : '',
    text: deleted || typeof raw.text !== 'string' ? '' : previewOf(raw.text),
    deleted,
    known,
  };
}

/** The quote of `target` as a reply shows it. */
export function quoteOf(target) {
  return { offset: target.offset, username: target.username, text: target.deleted ? '' : previewOf(target.text), deleted: target.deleted, known: true };
}

/** Who removed a message, as a frame says: 'author', 'moderator', or 'unknown'. */
export const removedBy = (by) => (by === 'author' || by === 'moderator' ? by : 'unknown');

/**
 * The changes a chat_message frame brings (history and resume carry the
 * message as it is now). A replayed `deleted: true` does not say who
 * removed it, now that authors can too ('unknown': the page says "message
 * deleted"); `deleted_by` is taken if a server sends it.
 */
export function changesOf(frame) {
  const changes = [];
  if (frame.deleted === true) {
    changes.push({ kind: 'delete', by: removedBy(frame.deleted_by) });
    return changes;
  }
  if (typeof frame.edited_at === 'string' && frame.edited_at !== '') {
    changes.push({ kind: 'edit', text: typeof frame.text === 'string' ? frame.text : '', editedAt: frame.edited_at });
  }
  if (Array.isArray(frame.reactions)) changes.push({ kind: 'reactions', list: frame.reactions });
  return changes;
}

const sameReactions = (a, b) =>
  a.length === b.length && a.every((r, i) => r.emoji === b[i].emoji && r.count === b[i].count && r.users.join('\n') === b[i].users.join('\n'));

/**
 * Apply a change to an entry. A removed message stays removed: nothing
 * brings its text back. Returns whether the entry changed.
 */
export function applyChange(entry, change) {
  if (entry.deleted) return false;
  switch (change.kind) {
    case 'delete':
      Object.assign(entry, { deleted: true, deletedBy: change.by, text: '', replyTo: null, reactions: [], editedAt: null, pendingEdit: null, pendingDelete: false });
      return true;
    case 'edit':
      if (entry.text === change.text && entry.editedAt === change.editedAt) return false;
      entry.text = change.text;
      entry.editedAt = change.editedAt;
      return true;
    case 'reactions': {
      const list = cleanReactions(change.list);
      if (sameReactions(list, entry.reactions ?? [])) return false;
      entry.reactions = list;
      return true;
    }
    case 'reaction':
      entry.reactions = applyReactionChange(entry.reactions ?? [], change);
      return true;
    default:
      return false;
  }
}

/** At most this many messages with early changes are kept. */
const MAX_PENDING = 200;

/** Changes for messages not shown yet, by offset, applied when they arrive. */
export class PendingChanges {
  constructor() {
    /** @type {Map<number, {epoch: string|null, changes: object[]}>} */
    this.map = new Map();
  }

  add(offset, epoch, change) {
    const item = this.map.get(offset) ?? { epoch, changes: [] };
    // a whole list replaces the single changes before it
    if (change.kind === 'reactions') item.changes = item.changes.filter((c) => c.kind !== 'reaction' && c.kind !== 'reactions');
    item.changes.push(change);
    this.map.set(offset, item);
    while (this.map.size > MAX_PENDING) this.map.delete(this.map.keys().next().value);
  }

  /** The changes waiting for this entry (forgotten once taken). */
  take(entry) {
    const item = entry.offset === null ? null : this.map.get(entry.offset);
    if (!item || !sameLog(entry.epoch, item.epoch)) return [];
    this.map.delete(entry.offset);
    return item.changes;
  }
}
