// The list of live rooms (GET /api/rooms): fetched when asked and every
// `intervalMs` while the page is visible. DOM-free; the view renders what
// `onUpdate` hands it.

import { isValidRoom } from './util.js';

export const ROOMS_URL = '/api/rooms';
export const ROOMS_REFRESH_MS = 10000;

/**
 * The answer of GET /api/rooms as a clean list: valid names only, no
 * duplicates, busiest first (then by name).
 * @returns {{room: string, active_connections: number}[]}
 */
export function parseRooms(json) {
  const seen = new Map();
  for (const item of Array.isArray(json) ? json : []) {
    if (!item || typeof item.room !== 'string' || !isValidRoom(item.room)) continue;
    const n = Number.isFinite(item.active_connections) ? Math.max(0, Math.round(item.active_connections)) : 0;
    seen.set(item.room, { room: item.room, active_connections: n });
  }
  return sortRooms([...seen.values()]);
}

export function sortRooms(rooms) {
  return rooms.sort((a, b) => b.active_connections - a.active_connections || a.room.localeCompare(b.room));
}

/**
 * The list to show: the server's, with the current room always in it (it
 * may be missing from a list fetched just before we joined), and its count
 * taken from our own connection when we know it.
 */
export function withCurrentRoom(rooms, current, currentCount = null) {
  const list = rooms.map((r) => ({ ...r }));
  const mine = list.find((r) => r.room === current);
  if (mine) {
    if (Number.isFinite(currentCount)) mine.active_connections = currentCount;
  } else if (isValidRoom(current)) {
    list.push({ room: current, active_connections: Number.isFinite(currentCount) ? currentCount : 0 });
  }
  return sortRooms(list);
}

export class RoomDirectory {
  /**
   * @param {object} options
   * @param {(state: {rooms: {room: string, active_connections: number}[], error: string|null, loading: boolean}) => void} options.onUpdate
   * @param {typeof fetch} [options.fetch]
   * @param {string} [options.url]
   * @param {number} [options.intervalMs]
   * @param {() => boolean} [options.isHidden] skip timed refreshes while the page is hidden
   * @param {() => boolean} [options.canFetch] skip all refreshes while false (server unreachable)
   */
  constructor({ onUpdate, fetch: fetchImpl, url = ROOMS_URL, intervalMs = ROOMS_REFRESH_MS, isHidden, canFetch }) {
    this.onUpdate = onUpdate;
    this.fetch = fetchImpl ?? ((...args) => globalThis.fetch(...args));
    this.url = url;
    this.intervalMs = intervalMs;
    this.isHidden = isHidden ?? (() => Boolean(globalThis.document?.hidden));
    this.canFetch = canFetch ?? (() => true);
    this.rooms = [];
    this.error = null;
    this.loading = false;
    /** the server has no room list (404): stop asking */
    this.unsupported = false;
    this.timer = null;
    this.inflight = null;
  }

  start() {
    if (this.timer !== null) return;
    this.refresh();
    this.timer = setInterval(() => {
      if (!this.isHidden()) this.refresh();
    }, this.intervalMs);
  }

  stop() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Fetch now (at most one request at a time). */
  refresh() {
    if (this.unsupported || !this.canFetch()) return Promise.resolve(this.rooms);
    if (this.inflight) return this.inflight;
    this.loading = true;
    this._emit();
    this.inflight = (async () => {
      try {
        const res = await this.fetch(this.url, { headers: { accept: 'application/json' }, cache: 'no-store' });
        if (res.status === 404) {
          this.unsupported = true;
          this.stop();
          this.error = 'This server has no room list.';
        } else if (!res.ok) {
          this.error = `Room list unavailable (HTTP ${res.status}).`;
        } else {
          this.rooms = parseRooms(await res.json());
          this.error = null;
        }
      } catch {
        this.error = 'Room list unavailable right now.'; // offline, or not JSON
      } finally {
        this.loading = false;
        this.inflight = null;
        this._emit();
      }
      return this.rooms;
    })();
    return this.inflight;
  }

  _emit() {
    this.onUpdate({ rooms: this.rooms, error: this.error, loading: this.loading });
  }
}
