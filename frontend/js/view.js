// Everything the chat page shows, one module per part (js/view/):
//
//   header.js    room name, tab title, people online, message count
//   status.js    the connection chip (countdown, "Retry now")
//   notices.js   toasts and screen-reader announcements
//   messages.js  the message list, welcome card, "new messages" pill, "@ mentions" badge
//                (message.js draws one entry with quote.js, rich-text.js, reactions.js and
//                message-actions.js; message-controls.js handles what is done inside messages:
//                report-form.js, the reaction picker, message-edit.js)
//   composer.js  the message box (limits.js: slow mode / muted line above it; reply-bar.js: the
//                message being answered; mention-menu.js: @name suggestions)
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
import { MentionMenu } from './view/mention-menu.js';
import { MessageList } from './view/messages.js';
import { Notices } from './view/notices.js';
import { SidePanel } from './view/panel.js';
import { PeopleView } from './view/people.js';
import { ReplyBar } from './view/reply-bar.js';
import { RoomListView } from './view/rooms.js';
import { ConnectionStatus } from './view/status.js';

export class ChatView {
  /**
   * @param {Document} doc
   * @param {object} handlers
   * @param {(clientMsgId: string) => void} handlers.onRetry         Retry on a refused message
   * @param {() => void} handlers.onReconnectNow
   * @param {(name: string) => string|null} handlers.onPickRoom     room list / join form; returns the problem or null
   * @param {(text: string, options: {replyTo: number|null}) => void} handlers.onSend
   * @param {(offset: number, emoji: string, mine: boolean) => void} handlers.onReact  mine: take it back
   * @param {(offset: number, text: string) => boolean} handlers.onEdit
   * @param {(offset: number) => void} handlers.onDelete
   * @param {(offset: number, code: string) => void} handlers.onRefuse  an action refused by the page itself
   * @param {(draft: string) => void} handlers.onInput
   * @param {() => void} handlers.onPanelOpen
   * @param {(offset: number, reason: string) => boolean} handlers.onReport  false: could not be sent
   */
  constructor(doc, handlers) {
    /** names of the people online (mention suggestions) and ours */
    this.names = [];
    this.me = '';
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
      onReply: (entry) => this.startReply(entry),
      onReact: handlers.onReact,
      onEdit: handlers.onEdit,
      onDelete: handlers.onDelete,
      onRefuse: handlers.onRefuse,
      onNotFound: (text) => this.notices.toast(text),
      context: () => ({ names: this.names, me: this.me }),
      focusComposer: () => this.composer.input.focus({ preventScroll: true }),
    });
    this.reply = new ReplyBar(doc);
    this.mentions = new MentionMenu(doc, { names: () => this.names, me: () => this.me });
    this.limit = new ComposerLimit(doc);
    this.identity = new IdentityView(doc);
    this.people = new PeopleView(doc, { keepBottom: (change) => this.messages.keepBottom(change) });
    this.rooms = new RoomListView(doc, { onPickRoom: handlers.onPickRoom });
    this.panel = new SidePanel(doc, { onOpen: handlers.onPanelOpen });
    this.composer = new Composer(doc, {
      onSend: (text) => {
        handlers.onSend(text, { replyTo: this.reply.offset });
        this.reply.clear();
        this.messages.scrollToBottom(false);
      },
      onInput: handlers.onInput,
      onKey: (event) => this.composerKey(event),
    });
  }

  /** Keys in the message box before it sends: the mention list, Escape (stop replying), Up (edit our last message). */
  composerKey(event) {
    if (this.mentions.handleKey(event)) return true;
    const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
    if (event.key === 'Escape' && this.reply.active) {
      this.messages.keepBottom(() => this.reply.clear());
    } else if (!(event.key === 'ArrowUp' && plain && this.composer.empty && this.messages.editLast())) {
      return false;
    }
    event.preventDefault();
    return true;
  }

  /** Answer a message: its quote above the message box, the focus in it. */
  startReply(entry) {
    this.messages.keepBottom(() => this.reply.start(entry, { names: this.names, me: this.me }));
    this.composer.input.focus({ preventScroll: true });
  }

  /** @param {{name: string, me: boolean}[]} people */
  setPresence(people) {
    this.names = people.map((p) => p.name);
    this.people.setPresence(people);
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
    this.reply.clear();
    this.mentions.close();
    this.names = [];
    this.header.clearOnline();
    this.setMessageCount(0);
    this.setPresence([]);
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
    this.me = username;
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
      update: (entry) => {
        this.messages.update(entry);
        this.reply.follow(entry);
      },
      remove: (entry) => {
        this.messages.remove(entry);
        this.setMessageCount(size());
      },
    };
  }
}
