// Anime Universe Chat: wiring.
//
//   js/socket.js    the WebSocket: reconnects, backoff, outbox queue
//   js/messages.js  the message list as data: dedup, own-message lifecycle
//   js/view.js      rendering
//   js/composer.js  the text box
//   js/people.js    who is online, who is typing (and telling the server we are)
//   js/rooms.js     the live room list (GET /api/rooms)
//   js/panel.js     the side panel / drawer with rooms and people
//   js/theme.js     light / dark theme
//
// Server frames are dispatched by "type" through `handlers` below; unknown
// types are ignored.
//
// One room at a time. Switching rooms (room list, "join" form, a /?room=
// link, back/forward) closes the socket and opens a new one with an empty
// list; the server then replays the room's recent history, ended by a
// `history_end` frame. On a reconnect to the same room the socket URL carries
// `since=<offset of the last chat_message received in the room>`, so the
// server replays exactly what was missed; the store drops anything already
// shown (by message_id).

import { ChatSocket } from './js/socket.js';
import { MessageStore } from './js/messages.js';
import { ChatView } from './js/view.js';
import { Composer } from './js/composer.js';
import { TypingNotifier, TypingTracker, presenceList } from './js/people.js';
import { RoomDirectory, withCurrentRoom } from './js/rooms.js';
import { SidePanel } from './js/panel.js';
import { initTheme } from './js/theme.js';
import {
  chatSocketUrl,
  checkRoomInput,
  isValidRoom,
  newClientId,
  roomFromSearch,
  roomPath,
} from './js/util.js';

/** Without a history_end this long after the welcome (an older server), the replay is over. */
const REPLAY_GRACE_MS = 3000;

let room = '';
let myName = '';
/** active_connections of the current room, when known */
let onlineCount = null;
/** @type {ChatSocket | null} */
let socket = null;
/** @type {MessageStore | null} */
let store = null;
/** removes the current socket's listeners */
let detach = null;
/**
 * State of the current room's connection(s):
 * lastOffset  offset of the last chat_message received (the `since` of the next reconnect)
 * connects    welcomes received in this room
 * replaying   between a welcome and its history_end
 * resumed     the current connection asked for `since`
 * resumeMark  a "while you were away" divider is due before the first replayed message
 * historyMark the "earlier messages / live" divider was placed
 */
let session = null;
/** The frame for one of our messages; a retry sends the very same frame. */
const outgoing = new Map();

initTheme(document.getElementById('theme-toggle'));

const view = new ChatView(document, {
  onRetry: (clientMsgId) => retry(clientMsgId),
  onReconnectNow: () => socket?.reconnectNow(),
  onPickRoom: (name) => switchRoom(name),
});

const typing = new TypingTracker({ onChange: (names) => view.setTyping(names) });
const notifier = new TypingNotifier({ send: () => socket?.sendVolatile({ type: 'typing' }) ?? false });

// Not while our socket is down: the server is probably unreachable too.
const directory = new RoomDirectory({ onUpdate: () => renderRooms(), canFetch: () => !socket || socket.state === 'connected' });
const panel = new SidePanel(document, { onOpen: () => directory.refresh() });

function renderRooms() {
  view.setRooms(withCurrentRoom(directory.rooms, room, onlineCount), {
    error: directory.error,
    loading: directory.loading,
  });
}

// ---- messages ---------------------------------------------------------------

function createStore() {
  const s = new MessageStore({
    hooks: {
      insert: (entry) => {
        view.insert(entry);
        view.setMessageCount(s.size);
      },
      update: (entry) => view.update(entry),
      remove: (entry) => {
        view.remove(entry);
        view.setMessageCount(s.size);
      },
    },
  });
  return s;
}

function send(text) {
  if (!socket || !store) return;
  const clientMsgId = newClientId();
  const frame = { type: 'chat_message', text, client_msg_id: clientMsgId };
  outgoing.set(clientMsgId, frame);
  store.addOwn({ clientMsgId, text, username: myName });
  socket.submit(clientMsgId, frame);
}

function retry(clientMsgId) {
  const frame = outgoing.get(clientMsgId);
  if (!frame || !store?.retry(clientMsgId)) return;
  socket?.submit(clientMsgId, frame);
}

const isCount = (n) => typeof n === 'number' && Number.isFinite(n);
/** Frames naming another room (late frames of a socket being replaced) are ignored. */
const otherRoom = (frame) => typeof frame.room === 'string' && frame.room !== '' && frame.room !== room;

function setOnline(n) {
  onlineCount = Math.max(0, Math.round(n));
  view.setOnline(onlineCount);
}

function endReplay() {
  if (!session?.replaying) return;
  session.replaying = false;
  session.resumeMark = false;
  clearTimeout(session.replayTimer);
}

const handlers = {
  welcome(frame) {
    if (typeof frame.username === 'string' && frame.username) {
      myName = frame.username;
      store.addOwnName(myName);
      view.setIdentity(myName);
    }
    session.connects += 1;
    session.resumed = /[?&]since=/.test(socket.currentUrl ?? '');
    session.replaying = true;
    session.resumeMark = session.resumed;
    clearTimeout(session.replayTimer);
    session.replayTimer = setTimeout(endReplay, REPLAY_GRACE_MS);
    typing.clear();
    notifier.reset();
    if (session.connects === 1) view.announce(`Joined #${room}${myName ? ` as ${myName}` : ''}.`);
  },
  connection_update(frame) {
    if (otherRoom(frame)) return;
    if (isCount(frame.active_connections)) setOnline(frame.active_connections);
  },
  chat_message(frame) {
    if (otherRoom(frame)) return;
    if (Number.isSafeInteger(frame.offset)) session.lastOffset = frame.offset;
    const messageId = typeof frame.message_id === 'string' ? frame.message_id : '';
    if (session.replaying && session.resumeMark && messageId && !store.has(messageId)) {
      store.addMarker('resumed', { text: 'While you were away' });
      session.resumeMark = false;
    }
    const entry = store.incoming(frame, { history: session.replaying && !session.resumed });
    if (entry?.own && entry.status === 'delivered' && entry.clientMsgId) {
      // possibly one of ours, replayed after its ack was lost: not again
      socket.settle(entry.clientMsgId);
      outgoing.delete(entry.clientMsgId);
    }
    if (typeof frame.username === 'string') typing.remove(frame.username);
    if (isCount(frame.active_connections)) setOnline(frame.active_connections);
  },
  history_end(frame) {
    if (otherRoom(frame)) return;
    const firstHistory = !session.resumed && !session.historyMark;
    endReplay();
    if (firstHistory && store.size > 0) {
      store.addMarker('history-end');
      session.historyMark = true;
    }
    if (frame.recovered === false) {
      store.addMarker('gap', { text: 'Some older messages are no longer available.' });
    }
  },
  presence(frame) {
    if (otherRoom(frame) || !Array.isArray(frame.users)) return;
    view.setPresence(presenceList(frame.users, myName));
    typing.retain(frame.users);
  },
  typing(frame) {
    if (otherRoom(frame)) return;
    if (typeof frame.username !== 'string' || frame.username === '' || frame.username === myName) return;
    typing.seen(frame.username);
  },
  ack(frame) {
    if (typeof frame.client_msg_id !== 'string') return;
    socket.settle(frame.client_msg_id);
    if (store.ack(frame)) outgoing.delete(frame.client_msg_id);
  },
  error(frame) {
    const entry = store.fail(frame);
    if (entry) {
      socket.settle(entry.clientMsgId);
    } else {
      view.toast(typeof frame.message === 'string' && frame.message ? frame.message : `Error: ${frame.code ?? 'unknown'}`);
    }
  },
  heartbeat() {
    // Only keeps the socket's liveness watchdog fed.
  },
};

// ---- rooms ------------------------------------------------------------------

/** Close the current room's connection and forget its state. */
function leaveRoom() {
  detach?.abort();
  detach = null;
  socket?.stop();
  socket = null;
  store?.dispose();
  store = null;
  if (session) clearTimeout(session.replayTimer);
  session = null;
  outgoing.clear();
  typing.clear();
  notifier.reset();
}

/** Show `next` and connect to it (no URL change: see switchRoom). */
function openRoom(next) {
  leaveRoom();
  room = next;
  onlineCount = null;
  view.resetRoom(room);
  if (!isValidRoom(room)) {
    // The server would refuse the upgrade (and a browser cannot read why), so
    // do not retry forever: explain instead.
    view.showInvalidRoom(room);
    composer.refresh();
    renderRooms();
    return;
  }
  composer.refresh();
  store = createStore();
  const s = { lastOffset: null, connects: 0, replaying: false, resumed: false, resumeMark: false, historyMark: false, replayTimer: null };
  session = s;
  const sock = new ChatSocket({
    url: () => chatSocketUrl(globalThis.location, next, { since: s.connects > 0 ? s.lastOffset : null }),
    flushAfter: (frame) => frame.type === 'history_end',
  });
  socket = sock;
  const controller = new AbortController();
  detach = controller;
  const { signal } = controller;
  sock.addEventListener(
    'frame',
    (event) => {
      const frame = event.detail;
      if (Object.hasOwn(handlers, frame.type)) handlers[frame.type](frame);
    },
    { signal },
  );
  sock.addEventListener(
    'state',
    (event) => {
      view.setConnection(event.detail);
      if (event.detail.state === 'connected') directory.refresh();
      else typing.clear();
    },
    { signal },
  );
  sock.addEventListener('outbox', (event) => store.markStatus(event.detail.id, event.detail.status), { signal });
  sock.start();
  renderRooms();
}

/**
 * Go to a room by name (room list, join form): validated, pushed to the
 * history (/?room=NAME), then opened. Returns the problem, or null.
 */
function switchRoom(name, { push = true } = {}) {
  const checked = checkRoomInput(name);
  if (!checked.ok) return checked.error;
  panel.hide();
  if (checked.room === room && socket) {
    composer.focus();
    return null;
  }
  if (push) globalThis.history.pushState({ room: checked.room }, '', roomPath(checked.room));
  openRoom(checked.room);
  composer.focus();
  return null;
}

const joinForm = document.getElementById('join-form');
const joinInput = document.getElementById('join-input');
joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const error = switchRoom(joinInput.value);
  view.setJoinError(error);
  if (error) joinInput.focus();
  else joinInput.value = '';
});
joinInput.addEventListener('input', () => {
  // Once an error is shown, say as soon as the name is fine.
  if (joinInput.getAttribute('aria-invalid') === 'true') {
    const checked = checkRoomInput(joinInput.value);
    view.setJoinError(checked.ok || joinInput.value.trim() === '' ? null : checked.error);
  }
});

// Back / forward between rooms.
globalThis.addEventListener('popstate', () => {
  const next = roomFromSearch(globalThis.location.search);
  if (next !== room) openRoom(next);
});

// ---- start --------------------------------------------------------------------

const composer = new Composer(document, {
  onSend: (text) => {
    send(text);
    view.scrollToBottom(false);
  },
  onInput: (draft) => notifier.input(draft),
});

openRoom(roomFromSearch(globalThis.location.search));
directory.start();
if (socket) composer.focus();

// Back from a background tab (phones pause timers there): do not sit out
// the rest of a long backoff.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && socket?.state === 'reconnecting') socket.reconnectNow();
  if (!document.hidden) directory.refresh();
});

// A handle for debugging in the console (read-only use, please).
globalThis.animeChat = Object.freeze({
  get room() {
    return room;
  },
  get socket() {
    return socket;
  },
  get store() {
    return store;
  },
  get lastOffset() {
    return session?.lastOffset ?? null;
  },
  view,
  composer,
  directory,
  panel,
});
