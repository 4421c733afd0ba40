// The Control Center's room list: rooms with people online (from the
// overview), plus the one being inspected; a click inspects a room. Rows are
// keyed by room, so a focused button survives the 2-second refresh.

import { roomRow } from '../components.js';

export class AdminRoomList {
  /**
   * @param {Document} doc
   * @param {{onSelect: (room: string) => void}} handlers
   */
  constructor(doc, { onSelect }) {
    this.doc = doc;
    this.onSelect = onSelect;
    this.list = doc.getElementById('room-list');
    this.empty = doc.getElementById('rooms-empty');
    this.count = doc.getElementById('rooms-count');
    /** @type {Map<string, {li: HTMLLIElement, link: HTMLButtonElement, count: HTMLSpanElement}>} */
    this.items = new Map();
  }

  item(name) {
    let item = this.items.get(name);
    if (item) return item;
    item = roomRow('button', name, {
      attrs: { type: 'button', dataset: { testid: 'room-item', room: name }, 'aria-pressed': 'false' },
      nameTestid: 'room-name',
      countTestid: 'room-connections',
    });
    item.link.addEventListener('click', () => this.onSelect(name));
    this.items.set(name, item);
    return item;
  }

  clear() {
    this.items.clear();
    this.list.replaceChildren();
  }

  /** Mark `room` as the one inspected, listing it (as idle) if the overview does not. */
  select(room) {
    for (const [name, item] of this.items) this.mark(item, name === room);
    if (this.items.has(room)) return;
    const item = this.item(room);
    item.link.classList.add('room--idle');
    item.count.textContent = '0';
    this.mark(item, true);
    this.list.append(item.li);
    this.empty.hidden = true;
  }

  mark(item, selected) {
    item.link.setAttribute('aria-pressed', String(selected));
    item.link.classList.toggle('room--current', selected);
  }

  /**
   * @param {{room: string, active_connections?: number}[]} rooms from the overview
   * @param {string} selected the room inspected ('' for none)
   */
  render(rooms, selected) {
    const list = rooms
      .filter((r) => typeof r?.room === 'string')
      .map((r) => ({ room: r.room, connections: Number(r.active_connections) || 0 }));
    if (selected && !list.some((r) => r.room === selected)) list.push({ room: selected, connections: 0 });
    this.reorder(list.map((r) => r.room));
    for (const r of list) {
      const item = this.item(r.room);
      const label = `${r.connections} ${r.connections === 1 ? 'connection' : 'connections'}`;
      if (item.count.textContent !== String(r.connections)) item.count.textContent = String(r.connections);
      item.count.title = label;
      item.link.setAttribute('aria-label', `${r.room}, ${label}`);
      item.link.dataset.connections = String(r.connections);
      this.mark(item, r.room === selected);
      item.link.classList.toggle('room--idle', r.connections === 0);
    }
    const online = list.filter((r) => r.connections > 0).length;
    this.count.textContent = String(online);
    this.count.title = `${online} ${online === 1 ? 'room' : 'rooms'} with people online`;
    this.empty.hidden = list.length > 0;
  }

  /** Rows in this order, dropping the others; moving nodes drops the focus, so give it back. */
  reorder(names) {
    const wanted = new Set(names);
    for (const [name, item] of this.items) {
      if (!wanted.has(name)) {
        item.li.remove();
        this.items.delete(name);
      }
    }
    const focused = this.doc.activeElement;
    const current = [...this.list.children];
    const order = names.map((name) => this.item(name).li);
    if (order.length === current.length && order.every((li, i) => li === current[i])) return;
    this.list.replaceChildren(...order);
    if (focused && focused !== this.doc.activeElement && focused.isConnected) focused.focus({ preventScroll: true });
  }
}
