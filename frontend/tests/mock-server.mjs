// A scripted stand-in for the chat server's WebSocket (and GET /api/rooms),
// living inside the browser through playwright's page.routeWebSocket and
// page.route. It speaks protocol v1 (welcome, connection_update, presence,
// history replay + history_end, chat_message, typing, ack, error, heartbeat)
// and lets a test decide exactly when and in which order frames arrive.
//
// Every room has a log of chat_message frames (offsets are one sequence for
// all rooms, like records of one Kafka partition). A new connection gets the
// room's last `history` messages, or with `since=O` every logged message
// with a larger offset, then history_end; `history: false` behaves like a
// server without history (welcome and connection_update only).
//
// Epochs: the log has a name (`epoch`, on welcome, ack, chat_message and
// history_end). newEpoch() replaces the log by a new, empty one (offsets
// start again at 0), as a server that lost its log would; a resume with
// `since` and an old `epoch` then gets the room's recent history and
// history_end with recovered:false. `epoch: null` is an older server: no
// epoch anywhere.
//
// Outcomes: a message's message_id is fixed per client_msg_id, like the real
// server's: outcomeUnknown(frame) answers an attempt with an `outcome_unknown`
// error (the message is not stored yet), and accept() for a retry of the same
// client_msg_id stores it then under that id, or answers with the first
// attempt's outcome when it was stored already.
//
// Identity and moderation: with `token` the welcome carries it (null: an
// older server without identities); `rejectTokens = n` makes the next n
// connections that bring a token get a new name and token plus an
// `invalid_token` error, as a server that could not restore them.
// deleteMessage(offset) removes a logged message (later replays show it
// `deleted` without text) and returns the `message_deleted` frame;
// refusal(frame, code, extra) is an error for one of the page's messages
// (muted, slow_mode, blocked_text, …). Report frames from the page get
// `report_received` (reportMode 'ack'), nothing ('manual') or an error
// without client_msg_id ('error').
//
// Replies, reactions, edits, deletions: a chat_message with `reply_to`
// gets the quote (author, current text cut to 120 characters, deleted) or
// just the offset for a message the log does not have. The page's
// react/unreact/edit/delete frames are checked like the server does (the 18
// emoji, 8 kinds per message, the author, the 15-minute edit window:
// `editWindowMs`) and answered with an ack (the event's offset) and the
// event frame (`reactions`, `message_edited`, `message_deleted` by
// "author"), in the order of `mode`; `actions: 'manual'` leaves the answer to
// the test (answerAction()). Events are records of the log with their own
// `event_offset`: a resume replays the new messages (as they are now) and
// the events about older ones. react()/edit()/deleteByAuthor() are others
// doing the same. GET /api/rooms/{room}/messages answers from the log like
// the history API (historyRequests).

import { randomUUID } from 'node:crypto';

import { waitFor } from './helpers.mjs';

export const DEFAULT_ROOM = 'anonymous-anime-universe';
/** The emoji the server takes. */
export const REACTION_EMOJI = ['🔥', '❤️', '😂', '👍', '👎', '😮', '😢', '🎉', '👀', '🙏', '💯', '✨', '🤔', '😍', '😭', '🤯', '⭐', '🌸'];
const ACTION_TYPES = new Set(['react', 'unreact', 'edit', 'delete']);
/** A log record's own place: a message's offset, an event's event_offset. */
const logPos = (f) => (f.type === 'chat_message' ? f.offset : f.event_offset);

export class MockChat {
  /**
   * @param {object} [options]
   * @param {string} [options.username] name given in `welcome`
   * @param {number} [options.online] active_connections
   * @param {'ack-first'|'message-first'|'manual'} [options.mode] what happens when the page sends a message
   * @param {boolean} [options.history] replay history + history_end + presence after the welcome (default true)
   * @param {string[]} [options.users] others in the presence list (our name is added)
   * @param {{room: string, active_connections: number}[] | null} [options.rooms] GET /api/rooms (default: derived)
   * @param {string|null} [options.epoch] the log's epoch (null: an older server without epochs)
   * @param {string|null} [options.token] the identity token given in `welcome` (null: none, an older server)
   * @param {'ack'|'manual'|'error'} [options.reportMode] how report frames are answered
   * @param {'auto'|'manual'} [options.actions] answer react/unreact/edit/delete frames (or leave it to the test)
   * @param {number} [options.editWindowMs]
   */
  constructor({ username = 'Azure Ronin', online = 2, mode = 'ack-first', history = true, users = [], rooms = null, epoch = 'epoch-a', token = null, reportMode = 'ack', actions = 'auto', editWindowMs = 15 * 60 * 1000 } = {}) {
    this.username = username;
    this.online = online;
    this.mode = mode;
    this.history = history;
    this.users = users;
    this.rooms = rooms;
    this.routes = [];
    /** frames from the page, as sent */
    this.received = [];
    /** frame -> {at, room} */
    this.receivedMeta = new WeakMap();
    this.offset = 0;
    /** room -> chat_message frames, in offset order */
    this.logs = new Map();
    /** while true, new connections are closed right away (server down) */
    this.refuse = false;
    /**
     * this many next upgrades go to the HTTP server behind the page (the
     * static test server), which refuses them with 503 + Retry-After, like a
     * server that is starting: the browser sees a WebSocket that fails before
     * it opens
     */
    this.refuseUpgrades = 0;
    this.connects = 0;
    /** the `recovered` of the next history_end frames */
    this.recovered = true;
    /** replay this many already-seen messages before the `since` ones too (a sloppy server) */
    this.replayOverlap = 0;
    /** hold back history_end (and the replay) until releaseHistory() */
    this.holdHistory = false;
    this.roomRequests = 0;
    this.epoch = epoch;
    /** client_msg_id -> {messageId, ack, message}: what each of the page's messages became */
    this.outcomes = new Map();
    this.token = token;
    /** this many next connections that bring a token are refused it (invalid_token) */
    this.rejectTokens = 0;
    this.reportMode = reportMode;
    this.actions = actions;
    this.editWindowMs = editWindowMs;
    /** logged chat_message -> Map(emoji -> users, most recent first) */
    this.reactionState = new Map();
    /** URLs of GET /api/rooms/{room}/messages */
    this.historyRequests = [];
  }

  /** The log is lost: a new epoch, an empty log, offsets from 0 again. */
  newEpoch(epoch) {
    this.epoch = epoch;
    this.offset = 0;
    this.logs.clear();
    this.outcomes.clear();
  }

  /** `frame` with this server's epoch (unchanged for an older server). */
  withEpoch(frame) {
    return this.epoch === null ? frame : { ...frame, epoch: this.epoch };
  }

  /**
   * The error an attempt of a client frame gets when the server cannot tell
   * whether it was stored; the message_id is the one a later accept() uses.
   */
  outcomeUnknown(frame) {
    const outcome = this.outcomeFor(frame.client_msg_id);
    return {
      type: 'error',
      code: 'outcome_unknown',
      message: 'The chat log did not confirm this message in time; it may or may not be stored.',
      client_msg_id: frame.client_msg_id,
      message_id: outcome.messageId,
    };
  }

  outcomeFor(clientMsgId) {
    if (!this.outcomes.has(clientMsgId)) this.outcomes.set(clientMsgId, { messageId: randomUUID(), ack: null, message: null });
    return this.outcomes.get(clientMsgId);
  }

  /** Route the page's /ws/chat connections (and /api/rooms) to this mock. */
  async install(page) {
    this.page = page;
    await page.routeWebSocket(/\/ws\/chat/, (route) => this._accept(route));
    await page.route(/\/api\/rooms\/[^/?]+\/messages(\?.*)?$/, (route) => this._history(route));
    await page.route(/\/api\/rooms(\?.*)?$/, (route) => {
      this.roomRequests += 1;
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(this.roomList()) });
    });
    return this;
  }

  get current() {
    return this.routes[this.routes.length - 1] ?? null;
  }

  /** URLs of all connection attempts, as URL objects. */
  get urls() {
    return this._urls ?? [];
  }

  log(room) {
    if (!this.logs.has(room)) this.logs.set(room, []);
    return this.logs.get(room);
  }

  /** Put past messages into a room's log: [[username, text], ...]. */
  seed(room, messages) {
    for (const [username, text] of messages) this.record(this.other(username, text, { room }));
  }

  /** Log a chat_message (as Kafka would) without sending it to anyone. */
  record(frame) {
    this.log(frame.room).push(frame);
    return frame;
  }

  roomList() {
    if (this.rooms) return this.rooms;
    const counts = new Map();
    for (const r of this.routes) if (r.open) counts.set(r.room, this.online);
    return [...counts].map(([room, n]) => ({ room, active_connections: n }));
  }

  presenceFrame(room = this.current?.room ?? DEFAULT_ROOM, users = [this.username, ...this.users]) {
    return { type: 'presence', room, users };
  }

  _accept(route) {
    this.connects += 1;
    const url = new URL(route.url());
    (this._urls ??= []).push(url);
    if (this.refuseUpgrades > 0) {
      this.refuseUpgrades -= 1;
      route.connectToServer();
      return;
    }
    if (this.refuse) {
      route.close({ code: 1011, reason: 'server down' });
      return;
    }
    const room = url.searchParams.get('room') ?? DEFAULT_ROOM;
    route.room = room;
    route.open = true;
    route.since = url.searchParams.has('since') ? Number(url.searchParams.get('since')) : null;
    route.epoch = url.searchParams.get('epoch');
    this.routes.push(route);
    route.onClose(() => {
      route.open = false;
    });
    route.onMessage((raw) => {
      let frame;
      try {
        frame = JSON.parse(String(raw));
      } catch {
        frame = { invalid: String(raw) };
      }
      this.received.push(frame);
      if (frame && typeof frame === 'object') this.receivedMeta.set(frame, { at: Date.now(), room: route.room });
      if (frame.type === 'chat_message') this._onChat(route, frame);
      if (frame.type === 'report') this._onReport(route, frame);
      if (ACTION_TYPES.has(frame.type)) this._onAction(route, frame);
    });
    const rejected = url.searchParams.has('token') && this.rejectTokens > 0;
    if (rejected) {
      // a new identity: another name and token
      this.rejectTokens -= 1;
      this.username = `${this.username} II`;
      this.token = `${this.token ?? 'token'}-new`;
    }
    const welcome = { type: 'welcome', username: this.username, room, session_id: randomUUID() };
    if (this.token !== null) welcome.token = this.token;
    this.sendTo(route, this.withEpoch(welcome));
    if (rejected) {
      this.sendTo(route, { type: 'error', code: 'invalid_token', message: 'Your chat identity could not be restored: you have a new name.' });
    }
    this.sendTo(route, {
      type: 'connection_update',
      active_connections: this.online,
      room,
      timestamp: new Date().toISOString(),
    });
    if (!this.history) return;
    this.sendTo(route, this.presenceFrame(room));
    if (this.holdHistory) route.pendingHistory = true;
    else this._replay(route);
  }

  /** Send the held-back replay + history_end to the current connection. */
  releaseHistory(route = this.current) {
    if (route?.pendingHistory) {
      route.pendingHistory = false;
      this._replay(route);
    }
  }

  _replay(route) {
    const log = this.log(route.room);
    let frames;
    // an offset of a log that is gone: start over with the recent history
    const deadLog = route.epoch !== null && this.epoch !== null && route.epoch !== this.epoch;
    if (route.since !== null && Number.isFinite(route.since) && !deadLog) {
      const first = log.findIndex((f) => logPos(f) > route.since);
      const from = first < 0 ? log.length : first;
      // new messages as they are now; events only about messages the page has
      frames = log.slice(Math.max(0, from - this.replayOverlap)).filter((f) => f.type === 'chat_message' || f.offset <= route.since);
    } else {
      const n = Number(new URL(route.url()).searchParams.get('history') ?? 50);
      const chats = log.filter((f) => f.type === 'chat_message');
      frames = n > 0 ? chats.slice(-n) : [];
    }
    for (const f of frames) this.sendTo(route, this.asNow(f));
    this.sendTo(route, this.withEpoch({ type: 'history_end', room: route.room, recovered: this.recovered && !deadLog }));
  }

  _onChat(route, frame) {
    if (this.mode === 'manual') return;
    const { ack, message, repeated } = this.accept(frame, route.room);
    if (repeated) {
      this.sendTo(route, ack); // the message itself went out with the first attempt
    } else if (this.mode === 'message-first') {
      this.sendTo(route, message);
      this.sendTo(route, ack);
    } else {
      this.sendTo(route, ack);
      this.sendTo(route, message);
    }
  }

  /**
   * The ack and chat_message the server would produce for a client frame
   * (logged in the room). A frame whose client_msg_id was stored already
   * gets that first outcome again, logged once.
   */
  accept(frame, room = this.current?.room ?? DEFAULT_ROOM, username = this.username) {
    const outcome = this.outcomeFor(frame.client_msg_id);
    if (outcome.ack) return { ack: outcome.ack, message: outcome.message, repeated: true };
    const offset = this.offset++;
    outcome.message = this.record(this.withEpoch({
      type: 'chat_message',
      message_id: outcome.messageId,
      username,
      text: frame.text,
      room,
      timestamp: new Date().toISOString(),
      active_connections: this.online,
      offset,
      ...(Number.isSafeInteger(frame.reply_to) ? { reply_to: this.quote(frame.reply_to, room) } : {}),
    }));
    outcome.ack = this.withEpoch({ type: 'ack', client_msg_id: frame.client_msg_id, message_id: outcome.messageId, offset });
    return { ack: outcome.ack, message: outcome.message, repeated: false };
  }

  // ---- replies, reactions, edits, deletions ----------------------------------

  /** The logged chat_message at `offset` in `room` (events are logged too: not those). */
  message(offset, room = this.current?.room ?? DEFAULT_ROOM) {
    return this.log(room).find((f) => f.type === 'chat_message' && f.offset === offset) ?? null;
  }

  /** `reply_to` as the server sends it: the quoted message's author and current text (≤120 chars), or just the offset. */
  quote(offset, room = this.current?.room ?? DEFAULT_ROOM) {
    const target = this.message(offset, room);
    if (!target) return { offset };
    const text = Array.from(target.text ?? '');
    return { offset, username: target.username, text: target.deleted ? '' : text.slice(0, 120).join(''), deleted: target.deleted === true };
  }

  /** A logged frame as the server would replay it now (the quote of a reply follows its message). */
  asNow(frame) {
    if (frame.type !== 'chat_message' || !frame.reply_to) return frame;
    return { ...frame, reply_to: this.quote(frame.reply_to.offset, frame.room) };
  }

  /** The reaction list of a logged message, as the server sends it. */
  reactionList(target) {
    const state = this.reactionState.get(target) ?? new Map();
    return [...state].map(([emoji, users]) => ({ emoji, count: users.length, users: users.slice(0, 10) }));
  }

  /** Log an event frame about `target` under a new offset of the room's log. */
  event(room, frame) {
    const eventOffset = this.offset++;
    return this.record(this.withEpoch({ ...frame, room, event_offset: eventOffset }));
  }

  /**
   * `username` reacts (or takes it back) on the message at `offset`: the
   * `reactions` frame (logged), or an error code. withList: false leaves the
   * list out, like a server that does not hold that message's state.
   */
  react(offset, emoji, username, { added = true, withList = true, room = this.current?.room ?? DEFAULT_ROOM } = {}) {
    const target = this.message(offset, room);
    if (!target || target.deleted) return { error: 'no_such_message' };
    if (!REACTION_EMOJI.includes(emoji)) return { error: 'invalid_emoji' };
    if (!this.reactionState.has(target)) this.reactionState.set(target, new Map());
    const state = this.reactionState.get(target);
    const users = state.get(emoji) ?? [];
    if (added && users.includes(username)) return { unchanged: true };
    if (!added && !users.includes(username)) return { unchanged: true };
    if (added && !state.has(emoji) && state.size >= 8) return { error: 'too_many_reactions' };
    if (added) state.set(emoji, [username, ...users]);
    else if (users.length > 1) state.set(emoji, users.filter((u) => u !== username));
    else state.delete(emoji);
    target.reactions = this.reactionList(target);
    const frame = { type: 'reactions', offset, emoji, added, username, ...(withList ? { reactions: target.reactions } : {}) };
    return { event: this.event(room, frame) };
  }

  /** The author edits the message at `offset` (checks: checkAuthor); the `message_edited` frame, or an error code. */
  edit(offset, text, { room = this.current?.room ?? DEFAULT_ROOM, username = null } = {}) {
    const target = this.message(offset, room);
    if (!target || target.deleted) return { error: 'no_such_message' };
    if (username !== null && target.username !== username) return { error: 'not_yours' };
    if (username !== null && Date.now() - Date.parse(target.timestamp) > this.editWindowMs) return { error: 'edit_window_passed' };
    if (String(text).trim() === '') return { error: 'empty_text' };
    target.text = text;
    target.edited_at = new Date().toISOString();
    return { event: this.event(room, { type: 'message_edited', offset, text, edited_at: target.edited_at }) };
  }

  /** The author deletes the message at `offset`: the `message_deleted` frame (by: "author"), or an error code. */
  deleteByAuthor(offset, { room = this.current?.room ?? DEFAULT_ROOM, username = null } = {}) {
    const target = this.message(offset, room);
    if (!target || target.deleted) return { error: 'no_such_message' };
    if (username !== null && target.username !== username) return { error: 'not_yours' };
    Object.assign(target, { deleted: true, text: '' });
    delete target.edited_at;
    delete target.reactions;
    this.reactionState.delete(target);
    return { event: this.event(room, { type: 'message_deleted', offset, by: 'author' }) };
  }

  /**
   * The server's answer to one of the page's react/unreact/edit/delete
   * frames: {ack, event} (event null when nothing changed) or {error}.
   * A repeated client_msg_id gets the first answer again, and no event.
   */
  answerAction(frame, room = this.current?.room ?? DEFAULT_ROOM, username = this.username) {
    const outcome = this.outcomeFor(frame.client_msg_id);
    if (outcome.ack) return { ack: outcome.ack, event: null, repeated: true };
    let result;
    if (frame.type === 'react' || frame.type === 'unreact') result = this.react(frame.offset, frame.emoji, username, { added: frame.type === 'react', room });
    else if (frame.type === 'edit') result = this.edit(frame.offset, frame.text, { room, username });
    else result = this.deleteByAuthor(frame.offset, { room, username });
    if (result.error) {
      const messages = {
        not_yours: 'That is not your message.',
        edit_window_passed: 'Messages can only be edited for 15 minutes.',
        too_many_reactions: 'A message can have at most 8 different reactions.',
        invalid_emoji: 'That emoji is not one of the reactions.',
        no_such_message: 'There is no such message in this room.',
      };
      return { error: { type: 'error', code: result.error, message: messages[result.error] ?? result.error, client_msg_id: frame.client_msg_id } };
    }
    const event = result.event ?? null;
    outcome.ack = this.withEpoch({ type: 'ack', client_msg_id: frame.client_msg_id, message_id: outcome.messageId, offset: event ? event.event_offset : this.offset - 1 });
    return { ack: outcome.ack, event };
  }

  _onAction(route, frame) {
    if (this.actions === 'manual' || this.mode === 'manual') return;
    const { ack, event, error } = this.answerAction(frame, route.room);
    if (error) {
      this.sendTo(route, error);
      return;
    }
    if (this.mode === 'message-first' && event) this.sendTo(route, event);
    this.sendTo(route, ack);
    if (this.mode !== 'message-first' && event) this.sendTo(route, event);
  }

  /** react/unreact/edit/delete frames from the page. */
  actionFrames(type = null) {
    return this.received.filter((f) => (type ? f.type === type : ACTION_TYPES.has(f.type)));
  }

  /** GET /api/rooms/{room}/messages?since&epoch&limit, like the server's history API. */
  _history(route) {
    const url = new URL(route.request().url());
    this.historyRequests.push(url);
    const room = decodeURIComponent(url.pathname.split('/')[3]);
    const since = url.searchParams.has('since') ? Number(url.searchParams.get('since')) : null;
    const epoch = url.searchParams.get('epoch');
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const dead = since !== null && epoch !== null && this.epoch !== null && epoch !== this.epoch;
    const chats = this.log(room).filter((f) => f.type === 'chat_message');
    const messages = since !== null && !dead ? chats.filter((f) => f.offset > since).slice(0, limit) : chats.slice(-limit);
    const body = { room, messages: messages.map((f) => this.asNow(f)), recovered: !dead, epoch: this.epoch };
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  }

  _onReport(route, frame) {
    if (this.reportMode === 'ack') this.sendTo(route, { type: 'report_received', offset: frame.offset });
    if (this.reportMode === 'error') {
      this.sendTo(route, { type: 'error', code: 'rate_limited', message: 'Too many reports: try again later.' });
    }
  }

  /** Report frames from the page. */
  reportFrames() {
    return this.received.filter((f) => f.type === 'report');
  }

  /**
   * A moderator removes the logged message at `offset`: replays show it
   * deleted, without text. Returns the live `message_deleted` frame.
   */
  deleteMessage(offset, room = this.current?.room ?? DEFAULT_ROOM) {
    const logged = this.message(offset, room);
    if (logged) {
      Object.assign(logged, { deleted: true, text: '' });
      delete logged.edited_at;
      delete logged.reactions;
    }
    return this.withEpoch({ type: 'message_deleted', room, offset, by: 'moderator' });
  }

  /** The server refusing one of the page's messages (muted, slow_mode, blocked_text, …). */
  refusal(frame, code, extra = {}) {
    const messages = {
      muted: 'A moderator muted you.',
      slow_mode: 'Slow mode is on in this room.',
      blocked_text: 'That message contains a blocked word.',
    };
    return { type: 'error', code, message: messages[code] ?? code, client_msg_id: frame.client_msg_id, ...extra };
  }

  /** A typing frame naming several people (the first also as `username`, like the server). */
  typingUsers(users, room = this.current?.room ?? DEFAULT_ROOM) {
    return { type: 'typing', room, username: users[0], users };
  }

  /** A chat_message from someone else, logged in its room (the current one unless `extra.room`). */
  other(username, text, extra = {}) {
    const offset = this.offset++;
    return this.record(this.withEpoch({
      type: 'chat_message',
      message_id: randomUUID(),
      username,
      text,
      room: this.current?.room ?? DEFAULT_ROOM,
      timestamp: new Date().toISOString(),
      active_connections: this.online,
      offset,
      ...extra,
    }));
  }

  typing(username, room = this.current?.room ?? DEFAULT_ROOM) {
    return { type: 'typing', room, username };
  }

  sendTo(route, frame) {
    if (route?.open) route.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Send a frame (object or raw string) on the current connection. */
  push(frame) {
    this.sendTo(this.current, frame);
  }

  /** Drop the current connection (as a crashed server would). */
  drop(code = 1012) {
    const route = this.current;
    if (route?.open) {
      route.open = false;
      route.close({ code, reason: 'restart' });
    }
  }

  chatFrames() {
    return this.received.filter((f) => f.type === 'chat_message');
  }

  /** Typing frames from the page, each with `at` (ms) and `room` of its connection. */
  typingFrames() {
    return this.received.filter((f) => f.type === 'typing').map((f) => ({ frame: f, ...this.receivedMeta.get(f) }));
  }

  async waitForChatFrames(n, timeout = 10000) {
    await waitFor(() => this.chatFrames().length >= n, { timeout, message: `${n} chat_message frame(s) from the page` });
    return this.chatFrames();
  }

  async waitForConnects(n, timeout = 10000) {
    await waitFor(() => this.routes.length >= n, { timeout, message: `${n} accepted connection(s)` });
    return this.routes[n - 1];
  }
}
