// The header: the room's name (and the tab's title, with a count of
// messages that arrived while the tab was hidden), how many people are
// online and how many messages the conversation has.

import { plural } from '../util.js';

export class HeaderView {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    const $ = (id) => doc.getElementById(id);
    this.els = {
      roomName: $('room-name'),
      online: $('online-count'),
      onlineLabel: $('online-label'),
      count: $('message-count'),
      countLabel: $('message-label'),
      panelCount: $('panel-toggle-count'),
    };
    this.baseTitle = doc.title;
    this.hiddenUnread = 0;
    doc.addEventListener('visibilitychange', () => {
      if (!doc.hidden) {
        this.hiddenUnread = 0;
        doc.title = this.baseTitle;
      }
    });
  }

  setRoom(room) {
    this.els.roomName.textContent = room;
    this.baseTitle = `#${room} · Anonymous Anime Universe`;
    this.hiddenUnread = 0;
    this.doc.title = this.baseTitle;
  }

  /** Someone else's live message: counted in the title while the tab is hidden. */
  noteIncoming() {
    if (!this.doc.hidden) return;
    this.hiddenUnread += 1;
    this.doc.title = `(${this.hiddenUnread}) ${this.baseTitle}`;
  }

  /** No count known (a new room). */
  clearOnline() {
    this.els.online.textContent = '–';
    this.els.panelCount.hidden = true;
  }

  /** @param {number} n people in the room (a whole number ≥ 0) */
  setOnline(n) {
    this.els.online.textContent = String(n);
    this.els.onlineLabel.textContent = ' online';
    this.els.online.closest('.chip')?.setAttribute('title', `${plural(n, 'person', 'people')} in this room`);
    this.els.panelCount.textContent = String(n);
    this.els.panelCount.hidden = false;
  }

  setMessageCount(count) {
    this.els.count.textContent = String(count);
    this.els.countLabel.textContent = count === 1 ? ' message' : ' messages';
  }
}
