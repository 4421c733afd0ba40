// The side panel's room list (links to /?room=NAME, the current room
// marked, people online in each, new messages in rooms this tab was in
// before: see chat/unread.js) and the "join or create a room" form with its
// inline error.

import { roomRow } from '../components.js';
import { el } from '../dom.js';
import { checkRoomInput, plural, roomPath } from '../util.js';

const onlineLabel = (n) => `${plural(n, 'person', 'people')} online`;

/** "3 new messages since you left, 1 naming you" */
function unreadLabel({ count, more, mentions, unknown }) {
  if (unknown) return 'New messages since you left (how many is not known)';
  const n = more ? `${count}+` : String(count);
  return `${n} new ${count === 1 && !more ? 'message' : 'messages'} since you left${mentions > 0 ? `, ${mentions} naming you` : ''}`;
}

function unreadBadge(unread) {
  const text = unread.unknown ? 'new' : unread.more ? `${unread.count}+` : String(unread.count);
  return el(
    'span',
    { class: `room__unread${unread.mentions > 0 ? ' room__unread--mention' : ''}`, dataset: { testid: 'room-unread' }, title: unreadLabel(unread) },
    unread.mentions > 0 ? el('span', { class: 'room__at', 'aria-hidden': 'true', text: '@' }) : null,
    el('span', { 'aria-hidden': 'true', dataset: { testid: 'room-unread-count' }, text }),
    el('span', { class: 'sr-only', text: `, ${unreadLabel(unread)}` }),
  );
}

export class RoomListView {
  /**
   * @param {Document} doc
   * @param {{onPickRoom: (room: string) => string|null}} handlers
   *   onPickRoom: go there; returns the problem with the name, or null
   */
  constructor(doc, { onPickRoom }) {
    this.doc = doc;
    this.onPickRoom = onPickRoom;
    const $ = (id) => doc.getElementById(id);
    this.els = {
      list: $('room-list'),
      status: $('rooms-status'),
      form: $('join-form'),
      input: $('join-input'),
      error: $('join-error'),
      note: $('rooms-unread-note'),
      toggle: $('panel-toggle'),
    };
    this.room = '';
    // A plain click switches in place (modified clicks open a tab).
    this.els.list.addEventListener('click', (event) => {
      const link = event.target instanceof Element ? event.target.closest('a[data-room]') : null;
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.onPickRoom(link.dataset.room);
    });
    this.wireJoinForm();
  }

  wireJoinForm() {
    const { form, input } = this.els;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const error = this.onPickRoom(input.value);
      this.setJoinError(error);
      if (error) input.focus();
      else input.value = '';
    });
    input.addEventListener('input', () => {
      // Once an error is shown, say as soon as the name is fine.
      if (input.getAttribute('aria-invalid') === 'true') {
        const checked = checkRoomInput(input.value);
        this.setJoinError(checked.ok || input.value.trim() === '' ? null : checked.error);
      }
    });
  }

  /** The room shown now (marked in the list). */
  setRoom(room) {
    this.room = room;
  }

  /**
   * @param {{room: string, active_connections: number, unread?: object|null}[]} rooms (current room included)
   *   unread: {count, more, mentions, unknown} of a room this tab was in before
   * @param {{error?: string|null, loading?: boolean}} [status]
   */
  setRooms(rooms, { error = null, loading = false } = {}) {
    const items = rooms.map(({ room, active_connections: n, unread = null }) => {
      const current = room === this.room;
      const { li, link, count } = roomRow('a', room, {
        attrs: {
          class: current ? 'room--current' : null,
          href: roomPath(room),
          'aria-current': current ? 'page' : null,
          dataset: { room, testid: 'room-link' },
        },
        nameTestid: 'room-link-name',
        countTestid: 'room-link-count',
      });
      count.setAttribute('aria-label', onlineLabel(n));
      count.title = onlineLabel(n);
      count.textContent = String(n);
      if (unread && !current) {
        link.insertBefore(unreadBadge(unread), count);
        link.dataset.unread = 'true';
      }
      return li;
    });
    const unread = rooms.filter((r) => r.unread && r.room !== this.room);
    // say what the counts are (only rooms this tab was in), and hint at them on the closed drawer's button
    if (this.els.note) this.els.note.hidden = unread.length === 0;
    if (this.els.toggle) {
      this.els.toggle.dataset.unread = unread.length > 0 ? (unread.some((r) => r.unread.mentions > 0) ? 'mention' : 'true') : 'false';
    }
    const focused = this.doc.activeElement?.closest?.('a[data-room]')?.dataset.room ?? null;
    this.els.list.replaceChildren(...items);
    if (focused) this.els.list.querySelector(`a[data-room="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
    this.els.status.textContent = error ? error : loading && rooms.length <= 1 ? 'Loading…' : 'Live';
    this.els.status.dataset.state = error ? 'error' : 'ok';
  }

  /** Our own connection knows the current room's count best. */
  setCurrentCount(n) {
    const count = this.els.list.querySelector('a[aria-current="page"] .room__count');
    if (count) {
      count.textContent = String(n);
      count.setAttribute('aria-label', onlineLabel(n));
    }
  }

  /** Inline error of the "join a room" form (null clears it). */
  setJoinError(message) {
    const { input, error } = this.els;
    error.textContent = message ?? '';
    error.hidden = !message;
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
    if (message) error.setAttribute('role', 'alert');
    else error.removeAttribute('role');
  }
}
