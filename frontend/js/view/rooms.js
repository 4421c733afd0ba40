// The side panel's room list (links to /?room=NAME, the current room
// marked, people online in each) and the "join or create a room" form with
// its inline error.

import { roomRow } from '../components.js';
import { checkRoomInput, plural, roomPath } from '../util.js';

const onlineLabel = (n) => `${plural(n, 'person', 'people')} online`;

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
   * @param {{room: string, active_connections: number}[]} rooms (current room included)
   * @param {{error?: string|null, loading?: boolean}} [status]
   */
  setRooms(rooms, { error = null, loading = false } = {}) {
    const items = rooms.map(({ room, active_connections: n }) => {
      const current = room === this.room;
      const { li, count } = roomRow('a', room, {
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
      return li;
    });
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
