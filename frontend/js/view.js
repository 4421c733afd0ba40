// Everything the chat page shows, one module per part (js/view/):
//
//   header.js    room name, tab title, people online, message count
//   status.js    the connection chip (countdown, "Retry now")
//   notices.js   toasts and screen-reader announcements
//   messages.js  the message list, welcome card, "new messages" pill (message.js draws one entry,
//                report-form.js the inline report form)
//   composer.js  the message box (limits.js: slow mode / muted line above it)
//   identity.js  our name and avatar (composer hint, welcome card, "you" card)
//   people.js    who is online, who is typing
//   rooms.js     the room list and the "join a room" form
//   panel.js     the side panel / drawer
//
// ChatView builds them and does what touches several at once (a new room,
// our name, the online count, the store's hooks); the app talks to the
// parts directly for the rest.

import { Composer } from './view/composer.js';
import { HeaderView } from './view/header.js';
import { IdentityView } from './view/identity.js';
import { ComposerLimit } from './view/limits.js';
import { MessageList } from './view/messages.js';
import { Notices } from './view/notices.js';
import { SidePanel } from './view/panel.js';
import { PeopleView } from './view/people.js';
import { RoomListView } from './view/rooms.js';
import { ConnectionStatus } from './view/status.js';

export class ChatView {
  /**
   * @param {Document} doc
   * @param {object} handlers
   * @param {(clientMsgId: string) => void} handlers.onRetry         Retry on a refused message
   * @param {() => void} handlers.onReconnectNow
   * @param {(name: string) => string|null} handlers.onPickRoom     room list / join form; returns the problem or null
   * @param {(text: string) => void} handlers.onSend
   * @param {(draft: string) => void} handlers.onInput
   * @param {() => void} handlers.onPanelOpen
   * @param {(offset: number, reason: string) => boolean} handlers.onReport  false: could not be sent
   */
  constructor(doc, handlers) {
    this.notices = new Notices(doc);
    this.header = new HeaderView(doc);
    this.status = new ConnectionStatus(doc, {
      announce: (text) => this.notices.announce(text),
      onReconnectNow: handlers.onReconnectNow,
    });
    this.messages = new MessageList(doc, {
      onRetry: handlers.onRetry,
      onIncoming: () => this.header.noteIncoming(),
      onReport: handlers.onReport,
    });
    this.limit = new ComposerLimit(doc);
    this.identity = new IdentityView(doc);
    this.people = new PeopleView(doc, { keepBottom: (change) => this.messages.keepBottom(change) });
    this.rooms = new RoomListView(doc, { onPickRoom: handlers.onPickRoom });
    this.panel = new SidePanel(doc, { onOpen: handlers.onPanelOpen });
    this.composer = new Composer(doc, {
      onSend: (text) => {
        handlers.onSend(text);
        this.messages.scrollToBottom(false);
      },
      onInput: handlers.onInput,
    });
  }

  /**
   * A new room (or the same one opened afresh): empty list, no names, no
   * counts; the connection shows "Connecting…" again.
   */
  resetRoom(room) {
    this.header.setRoom(room);
    this.messages.setRoom(room);
    this.rooms.setRoom(room);
    this.messages.reset();
    this.header.clearOnline();
    this.setMessageCount(0);
    this.people.setPresence([]);
    this.people.setTyping([]);
    this.composer.setAvailable(true);
    this.limit.resetRoom();
    this.status.reset();
  }

  /** The URL names a room the server would refuse: say so instead of connecting. */
  showInvalidRoom(room) {
    this.messages.showInvalidRoom(room);
    this.status.showNotConnected();
    this.composer.setAvailable(false);
  }

  setIdentity(username) {
    this.identity.set(username);
    this.messages.markJoined();
    this.people.markMe(username);
  }

  setOnline(count) {
    if (typeof count !== 'number' || !Number.isFinite(count)) return;
    const n = Math.max(0, Math.round(count));
    this.header.setOnline(n);
    this.rooms.setCurrentCount(n);
  }

  setMessageCount(count) {
    this.header.setMessageCount(count);
    this.messages.updateWelcome();
  }

  /** The MessageStore's hooks: what changed in the list. */
  storeHooks(size) {
    return {
      insert: (entry) => {
        this.messages.insert(entry);
        this.setMessageCount(size());
      },
      update: (entry) => this.messages.update(entry),
      remove: (entry) => {
        this.messages.remove(entry);
        this.setMessageCount(size());
      },
    };
  }
}
