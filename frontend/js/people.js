// Who is here and who is typing: DOM-free helpers for the presence list and
// the typing indicator (both directions).

import { checkDraft } from './util.js';

/** How long "X is typing…" stays after X's last typing frame. */
export const TYPING_TTL_MS = 4000;
/**
 * We tell the server we are typing at most this often: every 2 s, plus a
 * margin, because the server drops typing frames that arrive less than 2 s
 * apart (chat.typing_interval) and network jitter must not push ours under
 * that (a dropped frame would leave a 4 s gap: the indicator would flicker).
 */
export const TYPING_SEND_INTERVAL_MS = 2200;

/**
 * The names of a presence frame for display: valid strings, no duplicates,
 * our own name first (marked `me`), then alphabetical.
 * @returns {{name: string, me: boolean}[]}
 */
export function presenceList(users, myName = '') {
  const names = [...new Set((Array.isArray(users) ? users : []).filter((u) => typeof u === 'string' && u.trim() !== ''))];
  names.sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' }));
  const people = names.map((name) => ({ name, me: name === myName }));
  people.sort((a, b) => Number(b.me) - Number(a.me));
  return people;
}

/** At most this many names per typing frame (the server's limit too). */
export const MAX_TYPING_NAMES = 10;

/**
 * Who a typing frame says is typing, without ourselves: `users` (everyone
 * who started in the server's last tick) or, from an older server, the one
 * `username`. Valid strings only, no duplicates, at most MAX_TYPING_NAMES.
 */
export function typingNames(frame, myName = '') {
  const raw = Array.isArray(frame?.users) ? frame.users : [frame?.username];
  const names = raw.filter((n) => typeof n === 'string' && n.trim() !== '' && n !== myName);
  return [...new Set(names)].slice(0, MAX_TYPING_NAMES);
}

/** "A is typing…", "A and B are typing…", "3 people are typing…" (or '' for nobody). */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/**
 * Who else is typing: each name stays for `ttlMs` after its last typing
 * frame. `onChange(names)` runs whenever the list changes (also on expiry).
 */
export class TypingTracker {
  /**
   * @param {{ttlMs?: number, now?: () => number, onChange?: (names: string[]) => void}} [options]
   */
  constructor({ ttlMs = TYPING_TTL_MS, now = () => Date.now(), onChange = () => {} } = {}) {
    this.ttlMs = ttlMs;
    this.now = now;
    this.onChange = onChange;
    /** @type {Map<string, number>} name -> expiry time; insertion order = who started first */
    this.until = new Map();
    this.timer = null;
  }

  names() {
    return [...this.until.keys()];
  }

  /** `name` is typing (again). */
  seen(name) {
    this.seenAll([name]);
  }

  /** These people are typing (one frame): one onChange for all of them. */
  seenAll(names) {
    let added = false;
    for (const name of names) {
      if (typeof name !== 'string' || name === '') continue;
      if (!this.until.has(name)) added = true;
      this.until.set(name, this.now() + this.ttlMs);
    }
    this._schedule();
    if (added) this.onChange(this.names());
  }

  /** `name` stopped (sent a message, left the room). */
  remove(name) {
    if (this.until.delete(name)) {
      this._schedule();
      this.onChange(this.names());
    }
  }

  /** Keep only these names (presence after a leave). */
  retain(names) {
    const keep = new Set(names);
    let changed = false;
    for (const name of [...this.until.keys()]) {
      if (!keep.has(name)) {
        this.until.delete(name);
        changed = true;
      }
    }
    if (changed) {
      this._schedule();
      this.onChange(this.names());
    }
  }

  clear() {
    const had = this.until.size > 0;
    this.until.clear();
    this._schedule();
    if (had) this.onChange([]);
  }

  dispose() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  _expire() {
    const now = this.now();
    let changed = false;
    for (const [name, until] of [...this.until]) {
      if (until <= now) {
        this.until.delete(name);
        changed = true;
      }
    }
    this._schedule();
    if (changed) this.onChange(this.names());
  }

  _schedule() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.until.size === 0) return;
    const next = Math.min(...this.until.values());
    this.timer = setTimeout(() => {
      this.timer = null;
      this._expire();
    }, Math.max(0, next - this.now()) + 20);
  }
}

/**
 * Our side: call input(draft) on every edit of the message box; it calls
 * `send()` (which returns whether the frame went out) at most once per
 * `intervalMs`, and never for blank text.
 */
export class TypingNotifier {
  /**
   * @param {{send: () => boolean, intervalMs?: number, now?: () => number}} options
   */
  constructor({ send, intervalMs = TYPING_SEND_INTERVAL_MS, now = () => Date.now() }) {
    this.send = send;
    this.intervalMs = intervalMs;
    this.now = now;
    this.last = -Infinity;
  }

  /** @returns {boolean} whether a typing frame was sent */
  input(draft) {
    if (!checkDraft(draft).text) return false;
    const now = this.now();
    if (now - this.last < this.intervalMs) return false;
    if (!this.send()) return false;
    this.last = now;
    return true;
  }

  /** New connection or room: the next keystroke may notify right away. */
  reset() {
    this.last = -Infinity;
  }
}
