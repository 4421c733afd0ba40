// Anime Universe Chat: wiring.
//
//   js/chat/session.js  one room's conversation: socket, messages, protocol frames (DOM-free)
//   js/chat/identity.js our chat identity's token (localStorage), shared by every room
//   js/view.js          what the page shows (js/view/*: messages, composer, rooms, people, …)
//   js/rooms.js         the live room list (GET /api/rooms)
//   js/chat/unread.js   new messages in rooms this tab was in before (asked when the list refreshes)
//   js/theme.js         light / dark theme
//
// One room at a time. Switching rooms (room list, "join" form, a /?room=
// link, back/forward) stops the room's session and starts a new one with an
// empty list.

import { actionError } from './js/chat/actions.js';
import { TokenStore } from './js/chat/identity.js';
import { ReactionMemory } from './js/chat/reactions.js';
import { UnreadRooms, withUnread } from './js/chat/unread.js';
import { RoomSession } from './js/chat/session.js';
import { RoomDirectory, withCurrentRoom } from './js/rooms.js';
import { initTheme } from './js/theme.js';
import { checkRoomInput, isValidRoom, roomFromSearch, roomPath } from './js/util.js';
import { ChatView } from './js/view.js';

let room = '';
/** the name the server gave us last (a new room starts with it until its welcome) */
let myName = '';
/** active_connections of the current room, when known */
let onlineCount = null;
/** @type {RoomSession | null} */
let session = null;
/** one identity for every room: the same name everywhere */
const identity = new TokenStore();
/** the reactions this page made, in every room (they stay highlighted after a reload) */
const reactionMemory = new ReactionMemory();

initTheme(document.getElementById('theme-toggle'));

const view = new ChatView(document, {
  onRetry: (clientMsgId) => session?.retry(clientMsgId),
  onReconnectNow: () => session?.reconnectNow(),
  onPickRoom: (name) => switchRoom(name),
  onSend: (text, options) => session?.send(text, options),
  onReact: (offset, emoji, mine) => (mine ? session?.unreact(offset, emoji) : session?.react(offset, emoji)),
  onEdit: (offset, text) => session?.edit(offset, text) ?? false,
  onDelete: (offset) => session?.remove(offset),
  onRefuse: (offset, code) => session?.showActionError(offset, actionError({ code })),
  onInput: (draft) => session?.input(draft),
  onPanelOpen: () => directory.refresh(),
  onReport: (offset, reason) => session?.report(offset, reason) ?? false,
});

// Not while our socket is down: the server is probably unreachable too.
const directory = new RoomDirectory({
  onUpdate: () => {
    renderRooms();
    if (!directory.loading) unread.refresh(); // with the list: the same pace, the same pauses
  },
  canFetch: () => !session || session.state === 'connected',
});
const unread = new UnreadRooms({ onUpdate: () => renderRooms(), me: () => myName });

function renderRooms() {
  view.rooms.setRooms(withUnread(withCurrentRoom(directory.rooms, room, onlineCount), unread), {
    error: directory.error,
    loading: directory.loading,
  });
}

function setOnline(n) {
  onlineCount = Math.max(0, Math.round(n));
  view.setOnline(onlineCount);
}

/** What a room's session shows, through the views. */
function sessionUi(name, messageCount) {
  return {
    hooks: view.storeHooks(messageCount),
    welcome: (username, first) => {
      if (username) {
        myName = username;
        view.setIdentity(username);
      }
      if (first) view.notices.announce(`Joined #${name}${username ? ` as ${username}` : ''}.`);
    },
    online: setOnline,
    presence: (people) => view.setPresence(people),
    typing: (names) => view.people.setTyping(names),
    connection: (detail) => {
      view.status.set(detail);
      if (detail.state === 'connected') directory.refresh();
    },
    toast: (text, kind) => view.notices.toast(text, kind),
    limit: (limit) => view.limit.show(limit),
    delivered: (submittedAt) => view.limit.delivered(submittedAt),
  };
}

/** Show `next` and connect to it (no URL change: see switchRoom). */
function openRoom(next) {
  // where we leave it: what comes after counts as new there
  if (session?.caughtUp) unread.leave(room, { offset: session.lastOffset, epoch: session.epoch });
  session?.stop();
  session = null;
  room = next;
  unread.open(room);
  onlineCount = null;
  view.resetRoom(room);
  if (!isValidRoom(room)) {
    // The server would refuse the upgrade (and a browser cannot read why), so
    // do not retry forever: explain instead.
    view.showInvalidRoom(room);
    renderRooms();
    return;
  }
  const opened = new RoomSession({ room, ui: sessionUi(room, () => opened.store.size), name: myName, identity, reactionMemory });
  session = opened;
  session.start();
  renderRooms();
}

/**
 * Go to a room by name (room list, join form): validated, pushed to the
 * history (/?room=NAME), then opened. Returns the problem, or null.
 */
function switchRoom(name, { push = true } = {}) {
  const checked = checkRoomInput(name);
  if (!checked.ok) return checked.error;
  view.panel.hide();
  if (checked.room === room && session) {
    view.composer.focus();
    return null;
  }
  if (push) globalThis.history.pushState({ room: checked.room }, '', roomPath(checked.room));
  openRoom(checked.room);
  view.composer.focus();
  return null;
}

// Back / forward between rooms.
globalThis.addEventListener('popstate', () => {
  const next = roomFromSearch(globalThis.location.search);
  if (next !== room) openRoom(next);
});

openRoom(roomFromSearch(globalThis.location.search));
directory.start();
if (session) view.composer.focus();

// Back from a background tab (phones pause timers there): do not sit out
// the rest of a long backoff.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && session?.state === 'reconnecting') session.reconnectNow();
  if (!document.hidden) directory.refresh();
});

// A handle for debugging in the console (read-only use, please).
globalThis.animeChat = Object.freeze({
  get room() {
    return room;
  },
  get session() {
    return session;
  },
  get socket() {
    return session?.socket ?? null;
  },
  get store() {
    return session?.store ?? null;
  },
  get lastOffset() {
    return session?.lastOffset ?? null;
  },
  get epoch() {
    return session?.epoch ?? null;
  },
  view,
  directory,
});
