// The message list as data: every message shown, in arrival order,
// deduplicated by message_id, with the lifecycle of our own messages.
//
// Own messages are known only by ids, never by username:
//   addOwn()          -> status "waiting" (not yet on the wire)
//   markStatus()      -> "sending" / back to "waiting" (from the socket's outbox)
//   ack()             -> "delivered"; the ack's message_id links the bubble to
//                        the server's chat_message for it
//   fail()            -> "failed" with the server's reason; retry() -> "waiting"
//   uncertain()       -> "checking": the server could not tell whether it was
//                        stored (outcome_unknown); the app sends the same frame
//                        again until an ack says; while it is re-sent it stays
//                        "checking" rather than "sending"
//
// An outcome_unknown error carries the message_id the server gave that
// attempt: if that message shows up (it was stored after all), it is ours
// and delivered, never a second bubble.
//
// The server's chat_message for our own message can arrive before or after
// the ack. If it comes first, we cannot know yet that it is ours, so while
// any of our messages is still "sending", incoming messages are held back
// (in order, for at most `holdMs`) until the acks are in. A held message
// that turns out to be ours merges into its pending bubble; the others are
// then shown in their arrival order. If an ack comes even later than that,
// the already shown copy is removed, so a message is never shown twice.
//
// After a reconnect the server replays what we missed (`since`), which can
// include our own message that was in flight when the connection dropped:
// written to Kafka, but its ack lost. Such a message comes back under one of
// the names we had in this room (addOwnName) with the text of one of our
// unacknowledged messages; it is adopted by that bubble (delivered) instead
// of being shown a second time, and the app does not send it again.
//
// Moderation: a message a moderator removed arrives as `deleted: true`
// with no text (history, resume), or is removed later by a
// `message_deleted` frame naming its offset (markDeleted). Either way the
// entry keeps its place, loses its text and shows as removed. `verified:
// false` marks messages sent over plain HTTP under a free name (no chat
// identity); missing means verified.
//
// Replies, edits, removals by their author and reactions (message-state.js):
// a chat_message may carry `reply_to`, `edited_at` and `reactions`; later
// frames change them by the message's offset (applyEdit, markDeleted,
// setReactions, changeReaction), also before the message is shown (they
// wait for it). A reaction is "mine" when one of our names is among its
// `users`, or, when `users` is cut short, this page made it (ReactionMemory).
// Our own edits and deletions show as pending until the server confirms
// them (pendingEdit, pendingDelete); a refusal shows under the message
// (actionError). Quotes of an edited or removed message follow it.
//
// Markers (dividers, notices) are entries too, so they keep their place in
// the arrival order even while messages are held back; they do not count as
// messages (`size`).
//
// The store tells the view what changed through three hooks:
// insert(entry) (always at the end), update(entry), remove(entry).

import { PendingChanges, applyChange, changesOf, quoteOf, removedBy, replyFrom, sameLog } from './message-state.js';
import { ReactionMemory, reactionKey } from './chat/reactions.js';

export const HOLD_MS = 1500;

/**
 * @typedef {object} Entry
 * @property {string} key              stable id for the view ("c:<client id>" or "m:<message id>")
 * @property {boolean} own
 * @property {string|null} messageId
 * @property {string|null} clientMsgId
 * @property {string} username
 * @property {string} text
 * @property {string} timestamp        RFC 3339
 * @property {number|null} offset
 * @property {boolean} confirmed       the server's chat_message for it was seen
 * @property {null|'waiting'|'sending'|'checking'|'delivered'|'failed'} status  (own messages only)
 * @property {boolean} [uncertain]     an attempt had an unknown outcome (own messages only)
 * @property {string|null} [pendingMessageId] the message_id of that attempt, if the server said
 * @property {null|{code: string, message: string, until?: string, retryAfterMs?: number}} error
 *   until: end of a mute (RFC 3339); retryAfterMs: slow mode's wait
 * @property {boolean} verified        false: sent without a chat identity (plain HTTP)
 * @property {boolean} deleted         removed (by a moderator or its author): no text, no actions
 * @property {'author'|'moderator'|'unknown'} [deletedBy]  'unknown': replayed as removed, by whom not said
 * @property {null|{offset: number, username: string, text: string, deleted: boolean, known: boolean}} [replyTo]
 *   the message it answers (text: a preview; known: false when only the offset is known)
 * @property {string|null} [editedAt]  RFC 3339, when edited
 * @property {{emoji: string, count: number, users: string[], mine: boolean}[]} [reactions]
 * @property {string|null} [pendingEdit]   our edit, not confirmed yet
 * @property {boolean} [pendingDelete]     our deletion, not confirmed yet
 * @property {null|{code: string, message: string}} [actionError]  a refused reply/reaction/edit/delete
 * @property {boolean} [reported]      we reported it (the server confirmed)
 * @property {boolean} [byUs]          not sent from this page, but under our verified name (an
 *                                     earlier visit: the identity keeps the name), so not ours to report
 * @property {string|null} [epoch]     the log its offset belongs to
 * @property {boolean} [history]       part of the replay sent when joining (or resuming)
 * @property {null|string} [marker]    a divider/notice, not a message: its kind
 */

/** The server's text normalisation (docs/protocol.md), to recognise our own replayed messages. */
export function normalizeText(text) {
  return String(text ?? '')
    .replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .trim();
}

const noop = () => {};
const isOffset = (n) => Number.isSafeInteger(n) && n >= 0;

export class MessageStore {
  /**
   * @param {object} [options]
   * @param {{insert?: (e: Entry) => void, update?: (e: Entry) => void, remove?: (e: Entry) => void}} [options.hooks]
   * @param {number} [options.holdMs]
   * @param {() => string} [options.now] current time as RFC 3339
   * @param {string} [options.room] the room (keys of remembered reactions)
   * @param {ReactionMemory} [options.reactionMemory] the reactions this page made
   */
  constructor(options = {}) {
    const hooks = options.hooks ?? {};
    this.hooks = { insert: hooks.insert ?? noop, update: hooks.update ?? noop, remove: hooks.remove ?? noop };
    this.holdMs = options.holdMs ?? HOLD_MS;
    this.now = options.now ?? (() => new Date().toISOString());
    /** @type {Entry[]} */
    this.entries = [];
    /** @type {Map<string, Entry>} */
    this.byMessageId = new Map();
    /** @type {Map<string, Entry>} */
    this.byClientId = new Map();
    /** client ids of own messages on the wire without an answer yet */
    this.sending = new Set();
    /** chat_message frames held back while own messages are unacknowledged */
    this.held = [];
    this.holdTimer = null;
    this.anonymous = 0;
    this.markers = 0;
    /** names the server gave us in this room (every welcome) */
    this.ownNames = new Set();
    this.room = options.room ?? '';
    this.reactionMemory = options.reactionMemory ?? new ReactionMemory(null);
    /** edits, removals and reactions of messages not shown yet */
    this.pending = new PendingChanges();
  }

  /** Number of messages (markers not counted). */
  get size() {
    return this.entries.length - this.markers;
  }

  /** Known message_id (shown, or held back)? */
  has(messageId) {
    return this.byMessageId.has(messageId) || this.held.some((h) => h.frame?.message_id === messageId);
  }

  /** A name the server gave us (welcome); our replayed messages carry it. */
  addOwnName(name) {
    if (typeof name === 'string' && name) this.ownNames.add(name);
  }

  /**
   * A divider or notice in the message flow, after everything received so
   * far (held messages included).
   * @param {string} kind
   * @param {object} [data] anything the view needs (text, ...)
   */
  addMarker(kind, data = {}) {
    this.anonymous += 1;
    const entry = {
      key: `d:${this.anonymous}`,
      marker: kind,
      own: false,
      messageId: null,
      clientMsgId: null,
      username: '',
      text: '',
      timestamp: this.now(),
      offset: null,
      confirmed: true,
      status: null,
      error: null,
      verified: true,
      deleted: false,
      ...data,
    };
    if (this.held.length > 0) this.held.push({ marker: entry });
    else this._insert(entry);
    return entry;
  }

  /** The message at `offset` of the log `epoch` (null: any), or null. */
  at(offset, epoch = null) {
    if (!isOffset(offset)) return null;
    return this.entries.find((e) => !e.marker && e.offset === offset && sameLog(e.epoch, epoch)) ?? null;
  }

  /** A message we are about to send (replyTo: the quote of the message it answers). */
  addOwn({ clientMsgId, text, username, replyTo = null }) {
    const entry = {
      key: `c:${clientMsgId}`,
      own: true,
      messageId: null,
      clientMsgId,
      username: username ?? '',
      text,
      timestamp: this.now(),
      offset: null,
      confirmed: false,
      status: 'waiting',
      error: null,
      verified: true,
      deleted: false,
      replyTo,
      editedAt: null,
      reactions: [],
    };
    this.byClientId.set(clientMsgId, entry);
    this._insert(entry);
    return entry;
  }

  /** The socket put our message on the wire ("sending") or back in the queue ("waiting"). */
  markStatus(clientMsgId, status) {
    const entry = this.byClientId.get(clientMsgId);
    if (!entry || entry.status === 'delivered') return null;
    if (entry.status === 'failed' && status === 'waiting') return null;
    entry.status = status === 'sending' && entry.uncertain ? 'checking' : status;
    if (status === 'sending') this.sending.add(clientMsgId);
    else this.sending.delete(clientMsgId);
    this.hooks.update(entry);
    this._maybeFlush();
    return entry;
  }

  /** The server wrote our message to Kafka: {client_msg_id, message_id, offset}. */
  ack(frame) {
    const clientMsgId = frame.client_msg_id;
    const messageId = frame.message_id;
    const entry = this.byClientId.get(clientMsgId);
    if (!entry || typeof messageId !== 'string' || messageId === '') return null;
    this.sending.delete(clientMsgId);

    if (entry.messageId && entry.messageId !== messageId) {
      // A re-send after a reconnect was written twice: treat the second copy
      // as the same message so it is not shown again.
      this._adopt(entry, messageId);
      this._maybeFlush();
      return entry;
    }

    entry.messageId = messageId;
    if (typeof frame.offset === 'number') entry.offset = frame.offset;
    if (typeof frame.epoch === 'string' && frame.epoch) entry.epoch = frame.epoch;
    entry.status = 'delivered';
    entry.error = null;
    this._adopt(entry, messageId);
    this.hooks.update(entry);
    this._maybeFlush();
    return entry;
  }

  /** An error frame; returns the entry it applies to, or null (then show it elsewhere). */
  fail(frame) {
    const entry = frame.client_msg_id ? this.byClientId.get(frame.client_msg_id) : null;
    if (!entry || entry.status === 'delivered') return null;
    this.sending.delete(entry.clientMsgId);
    entry.status = 'failed';
    entry.error = {
      code: String(frame.code ?? 'error'),
      message: String(frame.message ?? frame.code ?? 'The server refused this message.'),
    };
    // muted: until when; slow_mode: how long to wait (the view shows both)
    if (typeof frame.until === 'string' && frame.until) entry.error.until = frame.until;
    if (Number.isFinite(frame.retry_after_ms) && frame.retry_after_ms >= 0) entry.error.retryAfterMs = frame.retry_after_ms;
    this.hooks.update(entry);
    this._maybeFlush();
    return entry;
  }

  /**
   * An outcome_unknown error: the message may or may not be stored. Returns
   * the entry (already "delivered" when the message_id of that attempt was
   * seen: then it was stored), or null when it is not one of ours in flight.
   */
  uncertain(frame) {
    const entry = frame.client_msg_id ? this.byClientId.get(frame.client_msg_id) : null;
    if (!entry || entry.status === 'failed') return null;
    if (entry.status === 'delivered') return entry;
    this.sending.delete(entry.clientMsgId);
    const messageId = typeof frame.message_id === 'string' && frame.message_id !== '' ? frame.message_id : null;
    if (messageId && this.has(messageId)) {
      return this.ack({ client_msg_id: entry.clientMsgId, message_id: messageId });
    }
    if (messageId) entry.pendingMessageId = messageId;
    entry.uncertain = true;
    entry.status = 'checking';
    entry.error = null;
    this.hooks.update(entry);
    this._maybeFlush();
    return entry;
  }

  /** The user pressed Retry: back to "waiting" until the socket sends it again. */
  retry(clientMsgId) {
    const entry = this.byClientId.get(clientMsgId);
    if (!entry || entry.status !== 'failed') return null;
    entry.status = 'waiting';
    entry.error = null;
    this.hooks.update(entry);
    return entry;
  }

  /**
   * A chat_message from the server (anyone's, ours included).
   * @param {object} frame
   * @param {{history?: boolean}} [meta] history: part of a replay
   * @returns {Entry|null} the entry shown for it (null while held back)
   */
  incoming(frame, meta = {}) {
    const messageId = typeof frame.message_id === 'string' && frame.message_id !== '' ? frame.message_id : null;
    if (messageId) {
      const known = this.byMessageId.get(messageId);
      if (known) {
        if (known.own && !known.confirmed) {
          this._mergeServer(known, frame);
          this.hooks.update(known);
        } else if (this._applyAll(known, changesOf(frame))) {
          // replayed after it was edited, reacted to or removed while we were away
          this.hooks.update(known);
        }
        return known; // duplicate (e.g. replayed after a reconnect): never shown twice
      }
      if (this.held.some((h) => h.frame?.message_id === messageId)) return null;
      const mine = this._pendingFor(messageId) ?? this._unackedOwnFor(frame);
      if (mine) {
        // Ours, written before the ack could reach us (or echoed before it).
        this.sending.delete(mine.clientMsgId);
        mine.messageId = messageId;
        mine.status = 'delivered';
        mine.error = null;
        this._mergeServer(mine, frame);
        this.byMessageId.set(messageId, mine);
        this.hooks.update(mine);
        this._maybeFlush();
        return mine;
      }
    }
    if (this.sending.size > 0 || this.held.length > 0) {
      this.held.push({ frame, meta });
      if (this.holdTimer === null) {
        this.holdTimer = setTimeout(() => {
          this.holdTimer = null;
          this._flushHeld();
        }, this.holdMs);
      }
      this._maybeFlush();
      return null;
    }
    return this._insertServer(frame, meta);
  }

  /**
   * The message at `offset` was removed (message_deleted, or the ack of our
   * own deletion). Returns the entry shown for it, or null (held back or not
   * seen yet: it shows as removed when it arrives).
   * @param {number} offset
   * @param {string|null} [epoch] the log of that offset, if the frame says
   * @param {'author'|'moderator'|'unknown'} [by]
   */
  markDeleted(offset, epoch = null, by = 'moderator') {
    return this.applyEvent(offset, epoch, { kind: 'delete', by: removedBy(by) });
  }

  /** The message at `offset` now reads `text` (message_edited, or the ack of our edit). */
  applyEdit(offset, epoch, text, editedAt) {
    const entry = this.at(offset, epoch);
    // our own edit confirmed, then its frame (or the other way round): keep the first time
    if (entry && entry.editedAt && entry.text === text && !entry.pendingEdit) return entry;
    return this.applyEvent(offset, epoch, { kind: 'edit', text: String(text ?? ''), editedAt: editedAt || this.now() });
  }

  /** The server's whole reaction list of the message at `offset`. */
  setReactions(offset, epoch, list) {
    return this.applyEvent(offset, epoch, { kind: 'reactions', list });
  }

  /** One reaction added or removed, when the server sent no list. */
  changeReaction(offset, epoch, { emoji, added, username }) {
    if (typeof emoji !== 'string' || emoji === '') return null;
    return this.applyEvent(offset, epoch, { kind: 'reaction', emoji, added: added === true, username });
  }

  /** A change (see message-state.js) for the message at `offset`, now or when it arrives. */
  applyEvent(offset, epoch, change) {
    if (!isOffset(offset)) return null;
    const entry = this.at(offset, epoch);
    if (!entry) {
      this.pending.add(offset, epoch, change);
      return null;
    }
    if (this._applyAll(entry, [change])) this.hooks.update(entry);
    return entry;
  }

  /** We made (or took back) a reaction: remember it, and see "mine" again. */
  rememberReaction(offset, epoch, emoji, on) {
    const entry = this.at(offset, epoch);
    this.reactionMemory.set(reactionKey(this.room, epoch ?? entry?.epoch ?? null, offset), emoji, on);
    if (entry && !entry.deleted) {
      this._markMine(entry);
      this.hooks.update(entry);
    }
    return entry;
  }

  /** Our edit or deletion is on its way (null/false: it is over). */
  setPending(offset, { edit, remove } = {}) {
    const entry = this.at(offset);
    if (!entry) return null;
    if (edit !== undefined) entry.pendingEdit = edit;
    if (remove !== undefined) entry.pendingDelete = remove;
    if (edit || remove) entry.actionError = null;
    this.hooks.update(entry);
    return entry;
  }

  /** A refused action on the message at `offset` (null clears it). */
  setActionError(offset, error) {
    const entry = this.at(offset);
    if (!entry || (entry.actionError ?? null) === error) return entry;
    entry.actionError = error;
    this.hooks.update(entry);
    return entry;
  }

  /** The server filed our report of the message at `offset`. */
  markReported(offset) {
    const entry = this.entries.find((e) => !e.marker && e.offset === offset);
    if (!entry || entry.reported) return entry ?? null;
    entry.reported = true;
    this.hooks.update(entry);
    return entry;
  }

  /** Stop timers (tests, page unload). */
  dispose() {
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
  }

  // ---- internals -------------------------------------------------------

  _insert(entry) {
    this.entries.push(entry);
    if (entry.marker) this.markers += 1;
    this.hooks.insert(entry);
  }

  _remove(entry) {
    const i = this.entries.indexOf(entry);
    if (i >= 0) {
      this.entries.splice(i, 1);
      if (entry.marker) this.markers -= 1;
    }
    this.hooks.remove(entry);
  }

  /** Our message whose attempt got `messageId` but an unknown outcome. */
  _pendingFor(messageId) {
    return this.entries.find((e) => e.own && !e.messageId && e.pendingMessageId === messageId) ?? null;
  }

  /** The oldest of our unacknowledged messages that `frame` (under one of our names) is a copy of. */
  _unackedOwnFor(frame) {
    if (this.ownNames.size === 0 || !this.ownNames.has(frame.username)) return null;
    const text = normalizeText(frame.text);
    return (
      this.entries.find(
        (e) =>
          e.own &&
          !e.messageId &&
          (e.status === 'waiting' || e.status === 'sending' || e.status === 'checking') &&
          normalizeText(e.text) === text,
      ) ?? null
    );
  }

  _mergeServer(entry, frame) {
    if (typeof frame.username === 'string' && frame.username) entry.username = frame.username;
    if (typeof frame.timestamp === 'string' && frame.timestamp) entry.timestamp = frame.timestamp;
    if (typeof frame.offset === 'number') entry.offset = frame.offset;
    if (typeof frame.epoch === 'string' && frame.epoch) entry.epoch = frame.epoch;
    if (frame.verified === false) entry.verified = false;
    const reply = replyFrom(frame.reply_to);
    if (reply && (reply.known || !entry.replyTo)) entry.replyTo = reply;
    entry.confirmed = true;
    this._applyAll(entry, [...changesOf(frame), ...this.pending.take(entry)]);
  }

  /** Apply changes to an entry; returns whether it changed. */
  _applyAll(entry, changes) {
    let changed = false;
    for (const change of changes) {
      if (!applyChange(entry, change)) continue;
      changed = true;
      if (change.kind === 'edit' && entry.pendingEdit === change.text) entry.pendingEdit = null;
      if (change.kind === 'delete' || change.kind === 'edit') this._refreshQuotes(entry);
    }
    if (changed) this._markMine(entry);
    return changed;
  }

  /** Which reactions are ours: our name among `users`, or (when `users` is cut short) made by this page. */
  _markMine(entry) {
    const key = reactionKey(this.room, entry.epoch ?? null, entry.offset);
    for (const r of entry.reactions ?? []) {
      r.mine = r.users.some((u) => this.ownNames.has(u)) || (r.count > r.users.length && this.reactionMemory.has(key, r.emoji));
    }
  }

  /** Replies to `target` show its current text (or that it was removed). */
  _refreshQuotes(target) {
    for (const e of this.entries) {
      if (e === target || e.marker || e.replyTo?.offset !== target.offset || !sameLog(e.epoch, target.epoch)) continue;
      e.replyTo = quoteOf(target);
      this.hooks.update(e);
    }
  }

  /** Link message_id to our own entry, absorbing any copy shown or held for it. */
  _adopt(entry, messageId) {
    const shown = this.byMessageId.get(messageId);
    if (shown && shown !== entry) {
      this._mergeServer(entry, {
        username: shown.username,
        timestamp: shown.timestamp,
        offset: shown.offset ?? undefined,
        epoch: shown.epoch ?? undefined,
        deleted: shown.deleted,
        deleted_by: shown.deletedBy,
        ...(shown.editedAt ? { edited_at: shown.editedAt, text: shown.text } : {}),
        reactions: shown.reactions,
        reply_to: shown.replyTo ?? undefined,
      });
      this._remove(shown);
    }
    this.byMessageId.set(messageId, entry);
    const i = this.held.findIndex((h) => h.frame?.message_id === messageId);
    if (i >= 0) {
      const [{ frame }] = this.held.splice(i, 1);
      this._mergeServer(entry, frame);
    }
  }

  _insertServer(frame, meta = {}) {
    const messageId = typeof frame.message_id === 'string' && frame.message_id !== '' ? frame.message_id : null;
    if (messageId && this.byMessageId.has(messageId)) return this.byMessageId.get(messageId);
    this.anonymous += 1;
    const entry = {
      key: messageId ? `m:${messageId}` : `x:${this.anonymous}`,
      own: false,
      messageId,
      clientMsgId: null,
      username: typeof frame.username === 'string' ? frame.username : '',
      text: typeof frame.text === 'string' ? frame.text : '',
      timestamp: typeof frame.timestamp === 'string' && frame.timestamp ? frame.timestamp : this.now(),
      offset: typeof frame.offset === 'number' ? frame.offset : null,
      confirmed: true,
      status: null,
      error: null,
      history: Boolean(meta.history),
      verified: frame.verified !== false,
      deleted: false,
      epoch: typeof frame.epoch === 'string' && frame.epoch ? frame.epoch : null,
      // a verified name belongs to one identity: ours, when the server gave it to us
      byUs: frame.verified !== false && this.ownNames.has(frame.username),
      replyTo: replyFrom(frame.reply_to),
      editedAt: null,
      reactions: [],
    };
    // only the offset: the page may know that message
    if (entry.replyTo && !entry.replyTo.known) {
      const target = this.at(entry.replyTo.offset, entry.epoch);
      if (target) entry.replyTo = quoteOf(target);
    }
    this._applyAll(entry, [...changesOf(frame), ...this.pending.take(entry)]);
    if (messageId) this.byMessageId.set(messageId, entry);
    this._insert(entry);
    return entry;
  }

  _maybeFlush() {
    if (this.sending.size === 0 && this.held.length > 0) this._flushHeld();
  }

  _flushHeld() {
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    const items = this.held;
    this.held = [];
    for (const item of items) {
      if (item.marker) this._insert(item.marker);
      else this._insertServer(item.frame, item.meta);
    }
  }
}
