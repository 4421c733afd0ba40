// Anime Universe Chat: wiring.
//
//   js/socket.js    the WebSocket: reconnects, backoff, outbox queue
//   js/messages.js  the message list as data: dedup, own-message lifecycle
//   js/view.js      rendering
//   js/composer.js  the text box
//   js/theme.js     light / dark theme
//
// Server frames are dispatched by "type" through `handlers` below; unknown
// types are ignored, so later frames (presence, typing, history_end) only
// need a new handler here and a new view part.

import { ChatSocket } from './js/socket.js';
import { MessageStore } from './js/messages.js';
import { ChatView } from './js/view.js';
import { Composer } from './js/composer.js';
import { initTheme } from './js/theme.js';
import { chatSocketUrl, isValidRoom, newClientId, roomFromSearch } from './js/util.js';

const room = roomFromSearch(globalThis.location.search);
let myName = '';

initTheme(document.getElementById('theme-toggle'));

const view = new ChatView(document, {
  onRetry: (clientMsgId) => retry(clientMsgId),
  onReconnectNow: () => socket.reconnectNow(),
});
view.setRoom(room);

const store = new MessageStore({
  hooks: {
    insert: (entry) => {
      view.insert(entry);
      view.setMessageCount(store.size);
    },
    update: (entry) => view.update(entry),
    remove: (entry) => {
      view.remove(entry);
      view.setMessageCount(store.size);
    },
  },
});

const socket = new ChatSocket({ url: chatSocketUrl(globalThis.location, room) });

/** The frame for one of our messages; a retry sends the very same frame. */
const outgoing = new Map();

function send(text) {
  const clientMsgId = newClientId();
  const frame = { type: 'chat_message', text, client_msg_id: clientMsgId };
  outgoing.set(clientMsgId, frame);
  store.addOwn({ clientMsgId, text, username: myName });
  socket.submit(clientMsgId, frame);
}

function retry(clientMsgId) {
  const frame = outgoing.get(clientMsgId);
  if (!frame || !store.retry(clientMsgId)) return;
  socket.submit(clientMsgId, frame);
}

const isCount = (n) => typeof n === 'number' && Number.isFinite(n);

const handlers = {
  welcome(frame) {
    if (typeof frame.username === 'string' && frame.username) {
      myName = frame.username;
      view.setIdentity(myName);
    }
    if (typeof frame.room === 'string' && frame.room) view.setRoom(frame.room);
  },
  connection_update(frame) {
    if (isCount(frame.active_connections)) view.setOnline(frame.active_connections);
  },
  chat_message(frame) {
    store.incoming(frame);
    if (isCount(frame.active_connections)) view.setOnline(frame.active_connections);
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

socket.addEventListener('frame', (event) => {
  const frame = event.detail;
  if (Object.hasOwn(handlers, frame.type)) handlers[frame.type](frame);
});
socket.addEventListener('state', (event) => view.setConnection(event.detail));
socket.addEventListener('outbox', (event) => {
  store.markStatus(event.detail.id, event.detail.status);
});

const composer = new Composer(document, {
  onSend: (text) => {
    send(text);
    view.scrollToBottom(false);
  },
});

if (isValidRoom(room)) {
  socket.start();
  composer.focus();
  // Back from a background tab (phones pause timers there): do not sit out
  // the rest of a long backoff.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && socket.state === 'reconnecting') socket.reconnectNow();
  });
} else {
  // The server would refuse the upgrade (and a browser cannot read why), so
  // do not retry forever: explain instead.
  view.showInvalidRoom(room);
}

// A handle for debugging in the console (read-only use, please).
globalThis.animeChat = Object.freeze({ socket, store, view, composer });
