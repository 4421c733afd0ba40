// The conversation: the message list (with history dividers and notices),
// the welcome card while it is empty, the "you joined" line, the card for a
// room name the server would refuse, the "new messages" pill for a
// reader scrolled up, the "@ mentions" badge for messages naming us that
// arrived meanwhile, and a quoted message shown on request (scrolled to,
// briefly highlighted). What readers do inside messages is
// message-controls.js. Message data only reaches the DOM through
// textContent and DOM APIs (see dom.js, rich-text.js).

import { MentionBadge } from './mention-badge.js';
import { MessageControls } from './message-controls.js';
import { renderMarker, renderMessage, timeFormat } from './message.js';

/** A reader within this many pixels of the bottom counts as "at the bottom". */
const STICKY_PX = 96;
/** Consecutive messages of one person within this time are grouped. */
const GROUP_MS = 5 * 60 * 1000;
/** A message shown on request stays highlighted this long. */
const FLASH_MS = 1600;

export class MessageList {
  /**
   * @param {Document} doc
   * @param {object} [handlers]
   * @param {(clientMsgId: string) => void} [handlers.onRetry]
   * @param {() => void} [handlers.onIncoming]  someone else's live message was added
   * @param {(offset: number, reason: string) => boolean} [handlers.onReport]  false when it could not go out
   * @param {(entry: object) => void} [handlers.onReply]
   * @param {(offset: number, emoji: string, mine: boolean) => void} [handlers.onReact]  mine: take it back
   * @param {(offset: number, text: string) => boolean} [handlers.onEdit]
   * @param {(offset: number) => void} [handlers.onDelete]
   * @param {(offset: number, code: string) => void} [handlers.onRefuse]  refused here (an edit too late)
   * @param {(text: string) => void} [handlers.onNotFound]  a quoted message is not on the page
   * @param {() => {names: string[], me: string}} [handlers.context]  who may be mentioned, who we are
   * @param {() => void} [handlers.focusComposer]
   */
  constructor(doc, handlers = {}) {
    this.doc = doc;
    this.onIncoming = handlers.onIncoming ?? (() => {});
    this.onNotFound = handlers.onNotFound ?? (() => {});
    this.context = handlers.context ?? (() => ({ names: [], me: '' }));
    const $ = (id) => doc.getElementById(id);
    this.els = {
      scroller: $('scroller'),
      list: $('message-list'),
      welcome: $('welcome-card'),
      intro: $('chat-intro'),
      introText: $('chat-intro-text'),
      pill: $('new-messages'),
      pillCount: $('new-messages-count'),
      roomError: $('room-error'),
      roomErrorName: $('room-error-name'),
    };
    /** @type {Map<string, HTMLElement>} entry key -> node */
    this.nodes = new Map();
    /** entry key -> entry (messages only), in arrival order */
    this.entries = new Map();
    /** authors seen here: names a mention may use */
    this.authors = new Set();
    this.unread = 0;
    this.joinedAt = null;
    /** the list starts with history (then the "You joined" line is in its divider) */
    this.hasHistory = false;

    this.badge = new MentionBadge(doc, { scroller: this.els.scroller, onShow: (key) => this.show(key) });
    this.els.scroller.addEventListener('scroll', () => {
      if (this.isNearBottom()) this.clearUnread();
      this.badge.check();
    }, { passive: true });
    this.els.pill.addEventListener('click', () => {
      this.scrollToBottom(true);
      this.clearUnread();
    });
    this.controls = new MessageControls(this.els.list, {
      entry: (key) => this.entries.get(key),
      node: (key) => this.nodes.get(key),
      keepBottom: (change) => this.keepBottom(change),
      showMessage: (offset) => this.showOffset(offset),
      focusComposer: handlers.focusComposer ?? (() => {}),
      handlers,
    });
    this.updateWelcome();
  }

  setRoom(room) {
    this.els.list.setAttribute('aria-label', `Messages in #${room}`);
  }

  /** A new room: nothing shown, not joined yet. */
  reset() {
    this.controls.reset();
    this.els.list.replaceChildren();
    this.nodes.clear();
    this.entries.clear();
    this.authors.clear();
    this.badge.clear();
    this.clearUnread();
    this.hasHistory = false;
    this.joinedAt = null;
    this.hideInvalidRoom();
    this.updateWelcome();
  }

  /** We got a name in this room: remember when (the intro line and the live divider say it). */
  markJoined() {
    if (this.joinedAt) return;
    this.joinedAt = new Date();
    this.els.introText.textContent = `You joined at ${timeFormat.format(this.joinedAt)}`;
  }

  /** The URL names a room the server would refuse: say so instead of a conversation. */
  showInvalidRoom(room) {
    this.els.roomErrorName.textContent = room;
    this.els.roomError.hidden = false;
    this.els.welcome.hidden = true;
    this.els.welcome.dataset.off = 'true';
  }

  hideInvalidRoom() {
    if (this.els.roomError.hidden) return;
    this.els.roomError.hidden = true;
    delete this.els.welcome.dataset.off;
  }

  // ---- scrolling ----------------------------------------------------------

  isNearBottom() {
    const s = this.els.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= STICKY_PX;
  }

  scrollToBottom(smooth = false) {
    const s = this.els.scroller;
    const reduce = globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    s.scrollTo({ top: s.scrollHeight, behavior: smooth && !reduce ? 'smooth' : 'auto' });
  }

  /** Run `change` (which may grow the content) and stay at the bottom if the reader was there. */
  keepBottom(change) {
    const stick = this.isNearBottom();
    change();
    if (stick) this.scrollToBottom(false);
  }

  clearUnread() {
    this.unread = 0;
    this.els.pill.hidden = true;
    this.badge.check();
  }

  /** Scroll to the message with this offset and highlight it (a quote was pressed). */
  showOffset(offset) {
    const entry = [...this.entries.values()].find((e) => e.offset === offset);
    if (!entry || !this.nodes.has(entry.key)) {
      this.onNotFound('That message is not on this page any more.');
      return;
    }
    this.show(entry.key);
  }

  show(key) {
    const node = this.nodes.get(key);
    if (!node) return;
    const reduce = globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    node.scrollIntoView({ block: 'center', behavior: reduce ? 'auto' : 'smooth' });
    node.classList.remove('msg--flash');
    void node.offsetWidth; // restart the highlight
    node.classList.add('msg--flash');
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => this.nodes.get(key)?.classList.remove('msg--flash'), FLASH_MS);
    // keyboard users land on it too
    node.setAttribute('tabindex', '-1');
    node.focus({ preventScroll: true });
    this.badge.forget(key);
  }

  /** Up arrow in an empty message box. */
  editLast() {
    return this.controls.editLast(this.entries.values());
  }

  cancelEdit() {
    return this.controls.cancelEdit();
  }

  /** How a message is drawn now: who may be mentioned, spoilers shown, the time (edit window). */
  renderEntry(entry) {
    const { names, me } = this.context();
    return renderMessage(entry, { names: [...names, ...this.authors], me, revealed: this.controls.revealed.get(entry.key), now: Date.now() });
  }

  showUnread() {
    this.unread += 1;
    this.els.pillCount.textContent = this.unread === 1 ? '1 new message' : `${this.unread} new messages`;
    this.els.pill.hidden = false;
  }

  // ---- the store's hooks -------------------------------------------------------

  /** @param {import('../messages.js').Entry} entry (always appended) */
  insert(entry) {
    const stick = entry.own || this.isNearBottom();
    if (entry.marker) {
      const node = renderMarker(entry, this.joinedAt);
      this.nodes.set(entry.key, node);
      this.els.list.append(node);
      if (stick) this.scrollToBottom(false);
      this.updateWelcome();
      return;
    }
    this.entries.set(entry.key, entry);
    if (entry.username) this.authors.add(entry.username);
    const node = this.renderEntry(entry);
    if (entry.history) {
      node.classList.add('msg--settled'); // fifty bubbles popping in at once is too much
      if (this.els.list.querySelector('.msg') === null) this.hasHistory = true;
    }
    this.nodes.set(entry.key, node);
    this.els.list.append(node);
    this.regroup(node);
    // replayed while the reader is scrolled up: no pill for old news
    if (stick) this.scrollToBottom(false);
    else if (!entry.history) this.showUnread();
    if (!stick && !entry.own && !entry.history && node.classList.contains('msg--mentions-me')) this.badge.add(entry.key, node);
    if (!entry.own && !entry.history) this.onIncoming();
    this.updateWelcome();
  }

  update(entry) {
    const old = this.nodes.get(entry.key);
    if (!old) return;
    const stick = this.isNearBottom();
    const active = this.doc.activeElement;
    const focused = active && old.contains(active) ? active : null;
    const selection = focused && typeof focused.selectionStart === 'number' ? [focused.selectionStart, focused.selectionEnd] : null;
    const node = this.renderEntry(entry);
    node.classList.add('msg--settled'); // no entry animation on re-render
    if (old.classList.contains('msg--flash')) node.classList.add('msg--flash');
    old.replaceWith(node);
    this.nodes.set(entry.key, node);
    this.entries.set(entry.key, entry);
    this.badge.replace(entry.key, entry.deleted ? null : node);
    this.controls.reattach(entry, node, { focused, selection });
    this.regroup(node);
    if (node.nextElementSibling) this.regroup(node.nextElementSibling);
    if (stick) this.scrollToBottom(false);
  }

  remove(entry) {
    const node = this.nodes.get(entry.key);
    if (!node) return;
    this.controls.forget(entry);
    this.badge.replace(entry.key, null);
    const next = node.nextElementSibling;
    node.remove();
    this.nodes.delete(entry.key);
    this.entries.delete(entry.key);
    if (next) this.regroup(next);
    this.updateWelcome();
  }

  /** Hide avatar and name on a message that continues the previous person's run. */
  regroup(node) {
    if (!node.classList.contains('msg')) return;
    const prev = node.previousElementSibling;
    let cont = false;
    if (prev) {
      const sameSide = prev.dataset.own === node.dataset.own;
      // an unverified message under a verified person's name must show its own name and tag
      const sameName = prev.dataset.author === node.dataset.author && prev.dataset.verified === node.dataset.verified;
      const t1 = Number(prev.dataset.time);
      const t2 = Number(node.dataset.time);
      const close = Number.isFinite(t1) && Number.isFinite(t2) && Math.abs(t2 - t1) < GROUP_MS;
      cont = sameSide && sameName && close;
    }
    node.classList.toggle('msg--cont', cont);
  }

  updateWelcome() {
    const empty = this.els.list.querySelector('.msg') === null;
    const off = this.els.welcome.dataset.off === 'true';
    this.els.welcome.hidden = off || !empty;
    this.els.intro.hidden = empty || !this.joinedAt || this.hasHistory;
    this.els.scroller.classList.toggle('chat__scroll--empty', empty && this.els.list.childElementCount === 0);
  }
}
