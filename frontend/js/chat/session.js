// One room's conversation with the server, without any DOM: the socket,
// the message store, our messages in flight and what each server frame
// means. The page hands it a `ui` (see RoomSession's constructor) and shows
// what it is told.
//
// Joining: the server replays the room's recent history, ended by a
// `history_end` frame. On a reconnect to the same room the URL carries
// `since=<offset>&epoch=<log>` of the last chat_message received (see
// cursor.js), so the server replays exactly what was missed; the store drops
// anything already shown (by message_id).
//
// Our messages: each frame is kept until the server answers for it, and a
// retry sends the very same frame (same client_msg_id), so the server can
// recognise it. An `error` with code `outcome_unknown` means the server
// cannot tell whether the message was stored: the bubble stays pending
// ("checking") and the same frame goes out again after a growing delay,
// until an ack (the first attempt's outcome, or a late one the server sends
// on its own) or the message itself shows up. Other errors mark it failed,
// with a Retry button; `muted` and `slow_mode` also tell the composer how
// long (ui.limit). One of ours that goes through tells when it was sent
// (ui.delivered): sent after a refusal, it means the wait is over (a
// moderator lifted the mute or turned slow mode off) before its time.
//
// Identity: the welcome's `token` is kept (identity, see identity.js) and
// sent on every connection, so the server gives us the same name again. An
// `invalid_token` error means it could not: the welcome of that connection
// carries a new name and token, and the list says so in a small notice.
//
// Moderation: `message_deleted` removes a message's text (by offset);
// report() asks the moderators to look at one, `report_received` confirms.
//
// Replies, reactions, edits, deletions (actions.js): send() may answer a
// message (`reply_to`); react()/unreact()/edit()/remove() send frames with
// their own client_msg_id, kept in the socket's outbox like messages (sent
// again after a reconnect, and after an `outcome_unknown`) until the ack or
// a refusal, which shows under the message for a while. `message_edited`,
// `message_deleted` and `reactions` frames change a message by its offset;
// their `event_offset` is a record of the room's log (the resume point
// moves past it, see cursor.js), and one seen twice (a replay that
// overlaps) is applied once.

import { backoffDelay } from '../backoff.js';
import { quoteOf } from '../message-state.js';
import { MessageStore } from '../messages.js';
import { TypingNotifier, TypingTracker, presenceList, typingNames } from '../people.js';
import { ChatSocket } from '../socket.js';
import { chatSocketUrl, newClientId } from '../util.js';
import { actionError, actionFrame } from './actions.js';
import { ResumeCursor } from './cursor.js';
import { ReactionMemory } from './reactions.js';
import { reportFrame } from './reports.js';

/** Without a history_end this long after the welcome (an older server), the replay is over. */
export const REPLAY_GRACE_MS = 3000;
/** Delays before asking again about a message with an unknown outcome: ~1 s, 2 s, 4 s, then 8 s. */
export const OUTCOME_RETRY = Object.freeze({ base: 1000, max: 8000, jitter: 0.2 });

/** A refused reaction, edit or deletion stays under its message this long. */
export const ACTION_ERROR_MS = 8000;
/** Event frames remembered for deduplication, at most. */
const MAX_SEEN_EVENTS = 500;

const isCount = (n) => typeof n === 'number' && Number.isFinite(n);
const isOffset = (n) => Number.isSafeInteger(n) && n >= 0;
const epochOf = (frame) => (typeof frame.epoch === 'string' && frame.epoch !== '' ? frame.epoch : null);

export class RoomSession {
  /**
   * @param {object} options
   * @param {string} options.room
   * @param {object} options.ui
   * @param {{insert, update, remove}} options.ui.hooks           the store's hooks (see MessageStore)
   * @param {(name: string|null, first: boolean) => void} options.ui.welcome  a connection was welcomed (with our name, if it says)
   * @param {(n: number) => void} options.ui.online               active_connections of the room
   * @param {(people: {name: string, me: boolean}[]) => void} options.ui.presence
   * @param {(names: string[]) => void} options.ui.typing         others typing now
   * @param {(detail: {state: string, retryAt: number|null}) => void} options.ui.connection
   * @param {(text: string, kind?: 'error'|'ok') => void} options.ui.toast  an error not tied to one of our messages, or a confirmation
   * @param {(limit: {code: string, until?: string, retryAfterMs?: number}) => void} [options.ui.limit]  muted / slow mode
   * @param {(submittedAt: number) => void} [options.ui.delivered]  one of ours was stored; when it was sent (ms, Date.now())
   * @param {{get: () => string, set: (t: string) => void, clear: () => void} | null} [options.identity] where our token is kept
   * @param {string} [options.name] our name so far (from the previous room)
   * @param {{protocol: string, host: string}} [options.location]
   * @param {object} [options.socket] extra ChatSocket options (tests)
   * @param {object} [options.outcomeRetry] backoffDelay options for outcome_unknown
   * @param {number} [options.replayGraceMs]
   * @param {ReactionMemory} [options.reactionMemory] the reactions this page made (all rooms)
   */
  constructor({ room, ui, name = '', identity = null, location = globalThis.location, socket = {}, outcomeRetry = OUTCOME_RETRY, replayGraceMs = REPLAY_GRACE_MS, reactionMemory = null }) {
    this.room = room;
    this.ui = ui;
    this.identity = identity;
    /** the token the current connection was opened with ('' for none) */
    this.sentToken = '';
    this.myName = name;
    this.outcomeRetry = outcomeRetry;
    this.replayGraceMs = replayGraceMs;
    this.cursor = new ResumeCursor();
    /** welcomes received in this room */
    this.connects = 0;
    /** between a welcome and its history_end */
    this.replaying = false;
    /** the current connection asked for `since` */
    this.resumed = false;
    /** a "while you were away" divider is due before the first replayed message */
    this.resumeMark = false;
    /** the "earlier messages / live" divider was placed */
    this.historyMark = false;
    this.replayTimer = null;
    /** client_msg_id -> the frame for one of our messages; a retry sends the very same frame */
    this.outgoing = new Map();
    /** client_msg_id -> {attempt, timer} for messages with an unknown outcome */
    this.checks = new Map();
    /** client_msg_id -> when the user last sent it (typed or Retry), until it is stored */
    this.submittedAt = new Map();

    /** client_msg_id -> {kind, offset, epoch, frame}: reactions, edits, deletions on their way */
    this.actions = new Map();
    /** offset -> timer that clears a refusal shown under that message */
    this.errorTimers = new Map();
    /** "epoch:event_offset" of the event frames applied */
    this.seenEvents = new Set();
    this.store = new MessageStore({ hooks: ui.hooks, room, reactionMemory: reactionMemory ?? new ReactionMemory() });
    this.typing = new TypingTracker({ onChange: (names) => ui.typing(names) });
    this.notifier = new TypingNotifier({ send: () => this.socket.sendVolatile({ type: 'typing' }) });
    this.socket = new ChatSocket({
      url: () => {
        this.sentToken = this.identity?.get() ?? '';
        return chatSocketUrl(location, room, { ...(this.connects > 0 ? this.cursor.params() : {}), token: this.sentToken });
      },
      flushAfter: (frame) => frame.type === 'history_end',
      ...socket,
    });
    this.socket.addEventListener('frame', (event) => this.onFrame(event.detail));
    this.socket.addEventListener('state', (event) => {
      ui.connection(event.detail);
      if (event.detail.state !== 'connected') this.typing.clear();
    });
    this.socket.addEventListener('outbox', ({ detail: { id, status } }) => {
      // back in the queue (connection lost): the reconnect sends it, not the timer
      if (status === 'waiting') this.pauseCheck(id);
      this.store.markStatus(id, status);
    });
  }

  get state() {
    return this.socket.state;
  }

  /** Welcomed, and the replay is over: lastOffset is where the reader is. */
  get caughtUp() {
    return this.connects > 0 && !this.replaying;
  }

  get lastOffset() {
    return this.cursor.offset;
  }

  get epoch() {
    return this.cursor.epoch;
  }

  start() {
    this.socket.start();
  }

  /** Leave the room: close the socket, stop every timer. */
  stop() {
    this.socket.stop();
    this.store.dispose();
    clearTimeout(this.replayTimer);
    for (const check of this.checks.values()) clearTimeout(check.timer);
    this.checks.clear();
    for (const timer of this.errorTimers.values()) clearTimeout(timer);
    this.errorTimers.clear();
    this.actions.clear();
    this.outgoing.clear();
    this.submittedAt.clear();
    this.typing.clear();
    this.typing.dispose();
    this.notifier.reset();
  }

  reconnectNow() {
    this.socket.reconnectNow();
  }

  /** One of ours, typed by the user; `replyTo`: the offset of the message it answers. */
  send(text, { replyTo = null } = {}) {
    const clientMsgId = newClientId();
    const frame = { type: 'chat_message', text, client_msg_id: clientMsgId };
    let quote = null;
    if (isOffset(replyTo)) {
      frame.reply_to = replyTo;
      const target = this.store.at(replyTo);
      quote = target ? quoteOf(target) : { offset: replyTo, username: '', text: '', deleted: false, known: false };
    }
    this.outgoing.set(clientMsgId, frame);
    this.store.addOwn({ clientMsgId, text, username: this.myName, replyTo: quote });
    this.submittedAt.set(clientMsgId, Date.now());
    this.socket.submit(clientMsgId, frame);
  }

  react(offset, emoji) {
    return this.act('react', offset, { emoji });
  }

  unreact(offset, emoji) {
    return this.act('unreact', offset, { emoji });
  }

  /** Our message at `offset` now says `text`; false when there is nothing to send. */
  edit(offset, text) {
    const entry = this.store.at(offset);
    if (!entry || entry.text === String(text ?? '').trim()) return false;
    const frame = this.act('edit', offset, { text });
    if (frame) this.store.setPending(offset, { edit: frame.text });
    return Boolean(frame);
  }

  /** Delete our message at `offset`. */
  remove(offset) {
    const frame = this.act('delete', offset, {});
    if (frame) this.store.setPending(offset, { remove: true });
    return Boolean(frame);
  }

  /** Send an action's frame (queued like a message); returns it, or null. */
  act(kind, offset, extra) {
    const entry = this.store.at(offset);
    if (!entry || entry.deleted) return null;
    const clientMsgId = newClientId();
    const frame = actionFrame(kind, { offset, ...extra }, clientMsgId);
    if (!frame) return null;
    this.actions.set(clientMsgId, { kind, offset, epoch: entry.epoch ?? this.cursor.epoch, frame });
    this.socket.submit(clientMsgId, frame);
    return frame;
  }

  /** The user pressed Retry on a refused message. */
  retry(clientMsgId) {
    const frame = this.outgoing.get(clientMsgId);
    if (!frame || !this.store.retry(clientMsgId)) return;
    this.submittedAt.set(clientMsgId, Date.now());
    this.socket.submit(clientMsgId, frame);
  }

  /**
   * Ask the moderators to look at the message at `offset`. Returns false
   * when it could not go out (not connected; the user may try again).
   */
  report(offset, reason = '') {
    const frame = reportFrame(offset, reason);
    return frame !== null && this.socket.sendVolatile(frame);
  }

  /** The message box changed (tells the server we are typing, throttled). */
  input(draft) {
    this.notifier.input(draft);
  }

  // ---- server frames ---------------------------------------------------------

  onFrame(frame) {
    if (!Object.hasOwn(HANDLERS, frame.type)) return; // unknown types: ignored
    if (ROOM_SCOPED.has(frame.type) && typeof frame.room === 'string' && frame.room !== '' && frame.room !== this.room) return;
    // an event's `offset` is an older message's: only its event_offset moves the resume point (cursor.js)
    this.cursor.observe(frame);
    this[HANDLERS[frame.type]](frame);
  }

  onWelcome(frame) {
    const named = typeof frame.username === 'string' && frame.username !== '';
    if (named) {
      this.myName = frame.username;
      this.store.addOwnName(this.myName);
    }
    if (typeof frame.token === 'string' && frame.token !== '') this.identity?.set(frame.token);
    this.connects += 1;
    this.resumed = /[?&]since=/.test(this.socket.currentUrl ?? '');
    this.replaying = true;
    this.resumeMark = this.resumed;
    clearTimeout(this.replayTimer);
    this.replayTimer = setTimeout(() => this.endReplay(), this.replayGraceMs);
    this.typing.clear();
    this.notifier.reset();
    this.ui.welcome(named ? this.myName : null, this.connects === 1);
  }

  onConnectionUpdate(frame) {
    if (isCount(frame.active_connections)) this.ui.online(frame.active_connections);
  }

  onChatMessage(frame) {
    const { store } = this;
    const messageId = typeof frame.message_id === 'string' ? frame.message_id : '';
    if (this.replaying && this.resumeMark && messageId && !store.has(messageId)) {
      store.addMarker('resumed', { text: 'While you were away' });
      this.resumeMark = false;
    }
    const entry = store.incoming(frame, { history: this.replaying && !this.resumed });
    // one of ours: replayed after its ack was lost, or stored after an
    // unknown outcome: not again
    if (entry?.own && entry.status === 'delivered' && entry.clientMsgId) this.settle(entry.clientMsgId);
    if (typeof frame.username === 'string') this.typing.remove(frame.username);
    if (isCount(frame.active_connections)) this.ui.online(frame.active_connections);
  }

  onHistoryEnd(frame) {
    const firstHistory = !this.resumed && !this.historyMark;
    this.endReplay();
    if (firstHistory && this.store.size > 0) {
      this.store.addMarker('history-end');
      this.historyMark = true;
    }
    if (frame.recovered === false) {
      this.store.addMarker('gap', { text: 'Some older messages are no longer available.' });
    }
  }

  onPresence(frame) {
    if (!Array.isArray(frame.users)) return;
    this.ui.presence(presenceList(frame.users, this.myName));
    this.typing.retain(frame.users);
  }

  onTyping(frame) {
    this.typing.seenAll(typingNames(frame, this.myName));
  }

  onMessageDeleted(frame) {
    if (this.seenEvent(frame)) return;
    // without `by`: an older server, where only moderators removed messages
    this.store.markDeleted(frame.offset, epochOf(frame), frame.by === 'author' ? 'author' : 'moderator');
  }

  onMessageEdited(frame) {
    if (typeof frame.text !== 'string' || this.seenEvent(frame)) return;
    this.store.applyEdit(frame.offset, epochOf(frame), frame.text, typeof frame.edited_at === 'string' ? frame.edited_at : null);
  }

  onReactions(frame) {
    if (this.seenEvent(frame)) return;
    // without the list (the server does not hold that message's state): apply the one change
    if (Array.isArray(frame.reactions)) this.store.setReactions(frame.offset, epochOf(frame), frame.reactions);
    else this.store.changeReaction(frame.offset, epochOf(frame), { emoji: frame.emoji, added: frame.added, username: frame.username });
  }

  /** An event frame applied before (a replay that overlaps)? Remembers it. */
  seenEvent(frame) {
    if (!isOffset(frame.event_offset)) return false;
    const id = `${epochOf(frame) ?? ''}:${frame.event_offset}`;
    if (this.seenEvents.has(id)) return true;
    this.seenEvents.add(id);
    if (this.seenEvents.size > MAX_SEEN_EVENTS) this.seenEvents.delete(this.seenEvents.values().next().value);
    return false;
  }

  onReportReceived(frame) {
    this.store.markReported(frame.offset);
    this.ui.toast('Reported, thank you: a moderator will have a look.', 'ok');
  }

  onHeartbeat() {
    // Only keeps the socket's liveness watchdog fed.
  }

  onAck(frame) {
    if (typeof frame.client_msg_id !== 'string') return;
    const action = this.actions.get(frame.client_msg_id);
    if (action) {
      this.settleAction(frame.client_msg_id);
      this.onActionDone(action);
      return;
    }
    this.socket.settle(frame.client_msg_id);
    this.stopCheck(frame.client_msg_id);
    if (this.store.ack(frame)) {
      this.outgoing.delete(frame.client_msg_id);
      this.delivered(frame.client_msg_id);
    }
  }

  /** One of ours is stored: say when it was sent (the composer's limit may be over). */
  delivered(clientMsgId) {
    const at = this.submittedAt.get(clientMsgId);
    this.submittedAt.delete(clientMsgId);
    if (at !== undefined) this.ui.delivered?.(at);
  }

  onError(frame) {
    const action = typeof frame.client_msg_id === 'string' ? this.actions.get(frame.client_msg_id) : null;
    if (action) {
      this.onActionError(action, frame);
      return;
    }
    if (frame.code === 'outcome_unknown' && typeof frame.client_msg_id === 'string' && this.outgoing.has(frame.client_msg_id)) {
      this.onOutcomeUnknown(frame);
      return;
    }
    if (frame.code === 'invalid_token') {
      this.onInvalidToken(frame);
      return;
    }
    const entry = this.store.fail(frame);
    if (entry) {
      // refused: the frame stays in `outgoing` for the Retry button
      this.socket.settle(entry.clientMsgId);
      this.stopCheck(entry.clientMsgId);
      if (entry.error.code === 'muted' || entry.error.code === 'slow_mode') this.ui.limit?.(entry.error);
    } else {
      this.ui.toast(typeof frame.message === 'string' && frame.message ? frame.message : `Error: ${frame.code ?? 'unknown'}`);
    }
  }

  /**
   * The server could not restore our identity and gave us a new one. The
   * welcome with the new token may come before or after this error: forget
   * the old token only if it is still the kept one.
   */
  onInvalidToken(frame) {
    if (this.sentToken && this.identity?.get() === this.sentToken) this.identity.clear();
    const said = typeof frame.message === 'string' && frame.message ? frame.message : 'Your chat identity could not be restored: you have a new name.';
    this.store.addMarker('notice', { text: said, code: 'invalid_token' });
  }

  onOutcomeUnknown(frame) {
    const id = frame.client_msg_id;
    const entry = this.store.uncertain(frame);
    if (!entry) return;
    if (entry.status === 'delivered') {
      this.settle(id);
      return;
    }
    this.scheduleResend(id);
  }

  /** The server confirmed a reaction, an edit or a deletion of ours (its frame may come before or after). */
  onActionDone({ kind, offset, epoch, frame }) {
    const { store } = this;
    this.showActionError(offset, null);
    if (kind === 'react' || kind === 'unreact') store.rememberReaction(offset, epoch, frame.emoji, kind === 'react');
    if (kind === 'edit') {
      store.applyEdit(offset, epoch, frame.text, null);
      store.setPending(offset, { edit: null });
    }
    if (kind === 'delete') store.markDeleted(offset, epoch, 'author');
  }

  onActionError(action, frame) {
    const id = frame.client_msg_id;
    if (frame.code === 'outcome_unknown') {
      this.scheduleResend(id); // the same frame again, like a message
      return;
    }
    this.settleAction(id);
    if (action.kind === 'edit') this.store.setPending(action.offset, { edit: null });
    if (action.kind === 'delete') this.store.setPending(action.offset, { remove: false });
    this.showActionError(action.offset, actionError(frame));
    if (frame.code === 'muted' || frame.code === 'slow_mode') {
      this.ui.limit?.({ code: frame.code, until: frame.until, retryAfterMs: frame.retry_after_ms });
    }
  }

  /** A refusal under the message at `offset` for ACTION_ERROR_MS (null: clear it now). */
  showActionError(offset, error) {
    clearTimeout(this.errorTimers.get(offset));
    this.errorTimers.delete(offset);
    this.store.setActionError(offset, error);
    if (error) {
      this.errorTimers.set(offset, setTimeout(() => {
        this.errorTimers.delete(offset);
        this.store.setActionError(offset, null);
      }, ACTION_ERROR_MS));
    }
  }

  settleAction(clientMsgId) {
    this.socket.settle(clientMsgId);
    this.actions.delete(clientMsgId);
    this.stopCheck(clientMsgId);
  }

  /** Send the frame `id` again after a growing delay (an unknown outcome). */
  scheduleResend(id) {
    // still in the socket's outbox as "sending": a reconnect meanwhile re-sends it too
    const check = this.checks.get(id) ?? { attempt: 0, timer: null };
    clearTimeout(check.timer);
    const delay = backoffDelay(check.attempt, this.outcomeRetry);
    check.attempt += 1;
    check.timer = setTimeout(() => {
      check.timer = null;
      this.socket.resend(id);
    }, delay);
    this.checks.set(id, check);
  }

  // ---- internals ---------------------------------------------------------------

  endReplay() {
    if (!this.replaying) return;
    this.replaying = false;
    this.resumeMark = false;
    clearTimeout(this.replayTimer);
  }

  /** Our message is stored: forget its frame and any pending check. */
  settle(clientMsgId) {
    this.socket.settle(clientMsgId);
    this.outgoing.delete(clientMsgId);
    this.stopCheck(clientMsgId);
    this.delivered(clientMsgId);
  }

  stopCheck(clientMsgId) {
    const check = this.checks.get(clientMsgId);
    if (!check) return;
    clearTimeout(check.timer);
    this.checks.delete(clientMsgId);
  }

  /** Keep the attempt count (the delays keep growing), drop the timer. */
  pauseCheck(clientMsgId) {
    const check = this.checks.get(clientMsgId);
    if (check) {
      clearTimeout(check.timer);
      check.timer = null;
    }
  }
}

/** Server frames by type: the method that handles them. */
const HANDLERS = {
  welcome: 'onWelcome',
  connection_update: 'onConnectionUpdate',
  chat_message: 'onChatMessage',
  history_end: 'onHistoryEnd',
  presence: 'onPresence',
  typing: 'onTyping',
  ack: 'onAck',
  error: 'onError',
  heartbeat: 'onHeartbeat',
  message_deleted: 'onMessageDeleted',
  message_edited: 'onMessageEdited',
  reactions: 'onReactions',
  report_received: 'onReportReceived',
};

/** Frames about the room, dropped when they name another one (late frames of a socket being replaced). */
const ROOM_SCOPED = new Set(['connection_update', 'chat_message', 'history_end', 'presence', 'typing', 'message_deleted', 'message_edited', 'reactions']);
