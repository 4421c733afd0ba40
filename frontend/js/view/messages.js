// The conversation: the message list (with history dividers and notices),
// the welcome card while it is empty, the "you joined" line, the card for a
// room name the server would refuse, the "new messages" pill for a
// reader scrolled up, and the inline report form. Message data only reaches
// the DOM through textContent (see dom.js).

import { renderMarker, renderMessage, timeFormat } from './message.js';
import { ReportForm } from './report-form.js';

/** A reader within this many pixels of the bottom counts as "at the bottom". */
const STICKY_PX = 96;
/** Consecutive messages of one person within this time are grouped. */
const GROUP_MS = 5 * 60 * 1000;

export class MessageList {
  /**
   * @param {Document} doc
   * @param {{onRetry?: (clientMsgId: string) => void, onIncoming?: () => void, onReport?: (offset: number, reason: string) => boolean}} [handlers]
   *   onIncoming: someone else's live message was added
   *   onReport: the report form was sent; false when it could not go out
   */
  constructor(doc, { onRetry, onIncoming, onReport } = {}) {
    this.doc = doc;
    this.onIncoming = onIncoming ?? (() => {});
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
    this.unread = 0;
    this.joinedAt = null;
    /** the list starts with history (then the "You joined" line is in its divider) */
    this.hasHistory = false;

    this.els.scroller.addEventListener('scroll', () => {
      if (this.isNearBottom()) this.clearUnread();
    }, { passive: true });
    this.els.pill.addEventListener('click', () => {
      this.scrollToBottom(true);
      this.clearUnread();
    });
    this.reportForm = new ReportForm({ onSubmit: (offset, reason) => onReport?.(offset, reason) ?? false });
    // Retry and Report buttons live inside messages: one delegated listener.
    this.els.list.addEventListener('click', (event) => {
      const button = event.target instanceof Element ? event.target.closest('[data-action]') : null;
      if (button?.dataset.action === 'retry') onRetry?.(button.dataset.clientMsgId);
      if (button?.dataset.action === 'report') this.keepBottom(() => this.reportForm.open(button.closest('.msg')));
    });
    this.updateWelcome();
  }

  setRoom(room) {
    this.els.list.setAttribute('aria-label', `Messages in #${room}`);
  }

  /** A new room: nothing shown, not joined yet. */
  reset() {
    this.reportForm.close({ restoreFocus: false });
    this.els.list.replaceChildren();
    this.nodes.clear();
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
    const node = renderMessage(entry);
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
    if (!entry.own && !entry.history) this.onIncoming();
    this.updateWelcome();
  }

  update(entry) {
    const old = this.nodes.get(entry.key);
    if (!old) return;
    const stick = this.isNearBottom();
    const hadFocus = old.contains(this.doc.activeElement);
    const node = renderMessage(entry);
    node.classList.add('msg--settled'); // no entry animation on re-render
    old.replaceWith(node);
    this.nodes.set(entry.key, node);
    if (this.reportForm.key === entry.key) {
      // removed or reported meanwhile: nothing left to report
      if (entry.deleted || entry.reported) this.reportForm.close({ restoreFocus: false });
      else this.reportForm.attach(node);
    }
    this.regroup(node);
    if (node.nextElementSibling) this.regroup(node.nextElementSibling);
    if (hadFocus) (node.querySelector('.report__input') ?? node.querySelector('button') ?? this.doc.getElementById('message-input'))?.focus();
    if (stick) this.scrollToBottom(false);
  }

  remove(entry) {
    const node = this.nodes.get(entry.key);
    if (!node) return;
    if (this.reportForm.key === entry.key) this.reportForm.close({ restoreFocus: false });
    const next = node.nextElementSibling;
    node.remove();
    this.nodes.delete(entry.key);
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
