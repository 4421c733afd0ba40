// Our anonymous chat identity: the opaque token the server hands out in
// `welcome`. Kept in localStorage so the same name comes back on every
// connection, room switch and visit; sent as `&token=` on each connection.
// The page never looks inside it.
//
// Storage may be blocked (private modes, strict settings): then the token
// lives in memory for this page, which still keeps the name across
// reconnects and room switches.

export const TOKEN_KEY = 'anime-chat.token';

function defaultStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // reading `localStorage` itself can throw when blocked
  }
}

export class TokenStore {
  /** @param {{getItem, setItem, removeItem} | null} [storage] */
  constructor(storage = defaultStorage()) {
    this.storage = storage;
    /** @type {string} the token when storage cannot keep it */
    this.memory = '';
  }

  /** The kept token, or '' for none. */
  get() {
    try {
      const saved = this.storage?.getItem(TOKEN_KEY);
      if (typeof saved === 'string' && saved !== '') return saved;
    } catch {
      /* blocked: fall back to memory */
    }
    return this.memory;
  }

  /** Keep a token from a welcome (anything but a non-empty string is ignored). */
  set(token) {
    if (typeof token !== 'string' || token === '') return;
    this.memory = token;
    try {
      this.storage?.setItem(TOKEN_KEY, token);
    } catch {
      /* memory only */
    }
  }

  clear() {
    this.memory = '';
    try {
      this.storage?.removeItem(TOKEN_KEY);
    } catch {
      /* nothing kept */
    }
  }
}
