// The room's messages as the chat shows them (GET /api/admin/rooms/{room}/
// messages), newest first, each with Delete and, for authors with a chat
// identity, Mute and Ban. Redrawn on every refresh, except while a
// confirmation is open in it (see LiveList).

import { el } from '../dom.js';
import { actionBar } from './confirm.js';
import { LiveList } from './live-list.js';
import { failureText } from './moderation.js';
import { messageBody, personActions } from './message-card.js';

export class RoomMessagesView {
  /**
   * @param {Document} doc
   * @param {{deleteMessage: (room: string, offset: number, reason: string) => Promise<string|null>, mute: Function, ban: Function}} act
   */
  constructor(doc, act) {
    const $ = (id) => doc.getElementById(id);
    this.act = act;
    this.status = $('messages-status');
    this.emptyText = $('messages-empty');
    this.hint = this.emptyText.textContent;
    this.room = '';
    this.rows = new LiveList($('message-rows'), {
      key: (m) => String(m.offset),
      render: (m) => this.row(m),
      empty: this.emptyText,
    });
  }

  clear() {
    this.room = '';
    this.rows.clear();
    this.emptyText.textContent = this.hint;
    this.setStatus('', '');
  }

  loading(room) {
    this.room = room;
    this.rows.clear();
    this.emptyText.hidden = true;
    this.setStatus('Loading…', 'loading');
  }

  unreachable() {
    this.setStatus('Could not reach the server', 'error');
  }

  setStatus(text, state) {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }

  /** The answer of GET …/messages for `room`. */
  show(room, result) {
    const messages = result.body?.messages;
    if (result.status !== 200 || !Array.isArray(messages)) {
      this.setStatus(`Could not read the messages: ${failureText(result)}`, 'error');
      return;
    }
    this.room = room;
    const sorted = messages.filter((m) => Number.isSafeInteger(m?.offset)).sort((a, b) => b.offset - a.offset);
    this.setStatus(sorted.length === 0 ? 'no messages yet' : `last ${sorted.length} · newest first`, 'ok');
    if (sorted.length === 0) this.emptyText.textContent = `#${room} has no messages yet.`;
    this.rows.show(sorted);
  }

  row(m) {
    const room = this.room;
    const actions = m.deleted
      ? []
      : [
          {
            id: 'delete',
            label: 'Delete',
            tone: 'danger',
            confirm: { question: 'Delete this message for everyone?', yes: 'Delete', reason: true },
            run: ({ reason }) => this.act.deleteMessage(room, m.offset, reason),
          },
          ...personActions(m, this.act),
        ];
    return el(
      'li',
      { class: `adm-msg${m.deleted ? ' adm-msg--removed' : ''}`, dataset: { testid: 'mod-message', key: String(m.offset), offset: String(m.offset), deleted: String(Boolean(m.deleted)) } },
      messageBody(m),
      actions.length ? actionBar(actions, { onOpen: () => this.rows.hold(), onClose: () => this.rows.release() }) : null,
    );
  }
}
