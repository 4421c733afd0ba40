// New messages in rooms this tab was in before. The page has a socket only
// for the room it shows, so it cannot hear the others: when it leaves a
// room it remembers where it was (the last offset and its epoch), and when
// the room list refreshes it asks the history API what came after:
//   GET /api/rooms/{room}/messages?since=<last>&epoch=<epoch>&limit=99
// Counted: others' messages since we left (not removed ones, not ours),
// and those naming us. 99 or more reads "99+"; a log that was replaced
// (recovered: false) cannot say how many: then only "new". Rooms never
// opened in this tab are not counted at all (the UI says so). DOM-free;
// kept in sessionStorage, so a reload of the tab keeps it.

import { mentionsName } from '../text.js';

export const UNREAD_LIMIT = 99;
/** Rooms followed at most (the oldest left are dropped). */
export const MAX_FOLLOWED = 8;
export const UNREAD_KEY = 'anime-chat.left-rooms';

const isOffset = (n) => Number.isSafeInteger(n) && n >= 0;

/** The history API's URL for what came after `mark` in `room`. */
export function unreadUrl(room, { offset, epoch }) {
  let url = `/api/rooms/${encodeURIComponent(room)}/messages?limit=${UNREAD_LIMIT}`;
  if (isOffset(offset)) {
    url += `&since=${offset}`;
    if (typeof epoch === 'string' && epoch) url += `&epoch=${encodeURIComponent(epoch)}`;
  }
  return url;
}

/**
 * What a history answer means for the reader: {count, more, mentions, unknown}.
 * Records that are not chat messages (edits, reactions, if the API lists
 * them) do not count.
 */
export function countUnread(body, me = '') {
  const messages = (Array.isArray(body?.messages) ? body.messages : []).filter(
    (m) => m && (m.type === undefined || m.type === 'chat_message') && typeof m.text === 'string' && m.deleted !== true && m.username !== me,
  );
  const total = Array.isArray(body?.messages) ? body.messages.length : 0;
  return {
    count: messages.length,
    more: total >= UNREAD_LIMIT,
    mentions: messages.filter((m) => mentionsName(m.text, me)).length,
    unknown: body?.recovered === false,
  };
}

function sessionStore() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

export class UnreadRooms {
  /**
   * @param {object} options
   * @param {() => void} options.onUpdate        counts changed
   * @param {() => string} [options.me]          our name (mentions, our own messages)
   * @param {typeof fetch} [options.fetch]
   * @param {{getItem, setItem} | null} [options.storage]
   */
  constructor({ onUpdate, me = () => '', fetch: fetchImpl, storage = sessionStore() }) {
    this.onUpdate = onUpdate;
    this.me = me;
    this.fetch = fetchImpl ?? ((...args) => globalThis.fetch(...args));
    this.storage = storage;
    /** @type {Map<string, {offset: number|null, epoch: string|null}>} room -> where we left it */
    this.left = new Map();
    /** @type {Map<string, {count: number, more: boolean, mentions: number, unknown: boolean}>} */
    this.counts = new Map();
    this.inflight = null;
    try {
      for (const [room, mark] of Object.entries(JSON.parse(storage?.getItem(UNREAD_KEY) ?? '{}') ?? {})) {
        if (mark && typeof mark === 'object') this.left.set(room, { offset: isOffset(mark.offset) ? mark.offset : null, epoch: typeof mark.epoch === 'string' ? mark.epoch : null });
      }
    } catch {
      /* junk or blocked: nothing followed */
    }
  }

  /** We leave `room`, having seen everything up to `mark` (offset null: it was empty). */
  leave(room, mark) {
    this.left.delete(room);
    this.left.set(room, { offset: isOffset(mark?.offset) ? mark.offset : null, epoch: mark?.epoch ?? null });
    while (this.left.size > MAX_FOLLOWED) this.left.delete(this.left.keys().next().value);
    this.counts.delete(room);
    this.save();
  }

  /** We are in `room` now: nothing there is unread. */
  open(room) {
    const counted = this.counts.delete(room);
    this.left.delete(room);
    this.save();
    if (counted) this.onUpdate();
  }

  /** What to show for `room` (null: nothing new, or not followed). */
  get(room) {
    const c = this.counts.get(room);
    return c && (c.count > 0 || c.unknown) ? c : null;
  }

  /** Ask about every followed room (at most one round at a time). */
  refresh() {
    if (this.inflight || this.left.size === 0) return this.inflight ?? Promise.resolve();
    this.inflight = (async () => {
      let changed = false;
      for (const [room, mark] of [...this.left]) {
        try {
          const res = await this.fetch(unreadUrl(room, mark), { headers: { accept: 'application/json' }, cache: 'no-store' });
          if (!res.ok || !this.left.has(room)) continue; // opened meanwhile, or no answer: keep what we had
          const next = countUnread(await res.json(), this.me());
          const prev = this.counts.get(room);
          if (JSON.stringify(prev) !== JSON.stringify(next)) changed = true;
          this.counts.set(room, next);
        } catch {
          /* offline or not JSON: try again next time */
        }
      }
      this.inflight = null;
      if (changed) this.onUpdate();
    })();
    return this.inflight;
  }

  save() {
    try {
      this.storage?.setItem(UNREAD_KEY, JSON.stringify(Object.fromEntries(this.left)));
    } catch {
      /* this tab still remembers */
    }
  }
}

/**
 * The room list with what is new in each followed room; followed rooms with
 * news that nobody is in any more are added at the end (0 online).
 */
export function withUnread(rooms, unread) {
  const list = rooms.map((r) => ({ ...r, unread: unread.get(r.room) }));
  for (const room of unread.left.keys()) {
    if (unread.get(room) && !list.some((r) => r.room === room)) list.push({ room, active_connections: 0, unread: unread.get(room) });
  }
  return list;
}
