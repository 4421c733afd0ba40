// Small helpers shared by the pages: avatar colours, initials, moods, unique
// ids, text limits, room names and URLs, plurals. Nothing in here touches
// the DOM.

export const MAX_MESSAGE_CHARS = 2000;
/** The character counter appears once the message is this long. */
export const COUNTER_THRESHOLD = 1800;

/** Number of characters (Unicode code points) in a string. */
export function charCount(text) {
  let n = 0;
  // eslint-disable-next-line no-unused-vars
  for (const _ of text) n += 1;
  return n;
}

/**
 * What would be sent for a draft: trimmed text, its length and whether it
 * may be sent (not empty, at most MAX_MESSAGE_CHARS characters).
 */
export function checkDraft(draft) {
  const text = String(draft ?? '').trim();
  const length = charCount(text);
  return { text, length, ok: length > 0 && length <= MAX_MESSAGE_CHARS };
}

/** FNV-1a 32-bit hash: stable across browsers, good spread for short names. */
export function hashString(value) {
  let h = 0x811c9dc5;
  const s = String(value ?? '');
  for (let i = 0; i < s.length; i += 1) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Hue (0-359) of a user's colour, derived from the username. */
export function userHue(username) {
  return hashString(username) % 360;
}

const MOODS = ['🌸', '⚡', '🌙', '🔥', '💫', '🍡', '🐉', '🦊', '🌊', '🎐', '⭐', '🍥', '🗡️', '🎴', '🪐', '🐾'];

/** A small decorative mood emoji per user (hash of the username). */
export function userMood(username) {
  const h = hashString(`mood:${username ?? ''}`);
  return MOODS[h % MOODS.length];
}

/** "Azure Ronin" -> "AR", "neo" -> "NE", "" -> "?" */
export function initials(username) {
  const words = String(username ?? '')
    .trim()
    .split(/[\s_\-.]+/u)
    .filter(Boolean);
  if (words.length === 0) return '?';
  const first = (w) => Array.from(w)[0] ?? '';
  if (words.length === 1) {
    return Array.from(words[0]).slice(0, 2).join('').toUpperCase();
  }
  return (first(words[0]) + first(words[words.length - 1])).toUpperCase();
}

/** A unique id for client_msg_id (falls back where randomUUID is missing, e.g. plain http on a LAN IP). */
export function newClientId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The room named in the page URL (?room=NAME, trimmed and lower-cased), or the default room. */
export const DEFAULT_ROOM = 'anonymous-anime-universe';
export function roomFromSearch(search) {
  const room = new URLSearchParams(search ?? '').get('room');
  const trimmed = room ? room.trim().toLowerCase() : '';
  return trimmed || DEFAULT_ROOM;
}

/** Room names the server accepts: 1 to 64 of a-z, 0-9 and '-'. */
export const ROOM_PATTERN = /^[a-z0-9-]{1,64}$/;
export const MAX_ROOM_CHARS = 64;
export function isValidRoom(room) {
  return ROOM_PATTERN.test(room);
}

/**
 * What the user typed in "join a room": trimmed and lower-cased, then checked
 * with the server's rule. `error` is a sentence for the form, or null.
 * @returns {{room: string, ok: boolean, error: string|null}}
 */
export function checkRoomInput(value) {
  const room = String(value ?? '').trim().toLowerCase();
  if (room === '') return { room, ok: false, error: 'Type a room name.' };
  if (charCount(room) > MAX_ROOM_CHARS) return { room, ok: false, error: `At most ${MAX_ROOM_CHARS} characters.` };
  if (!isValidRoom(room)) {
    return { room, ok: false, error: 'Only a–z, 0–9 and “-” (no spaces), like shonen-jump.' };
  }
  return { room, ok: true, error: null };
}

/** The page URL (path and query) that opens a room. */
export function roomPath(room) {
  return `/?room=${encodeURIComponent(room)}`;
}

/**
 * ws:// or wss:// URL of the chat endpoint for a page location and room;
 * with `since` (the offset of the last chat_message seen in the room) the
 * server replays only what came after it. `epoch` names the log that offset
 * belongs to; it is sent only together with `since` (an offset means
 * nothing without its log, an epoch nothing without an offset). `token` is
 * our chat identity (see chat/identity.js), on every connection once known.
 */
export function chatSocketUrl(location, room, { since = null, epoch = null, token = '' } = {}) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  let url = `${scheme}://${location.host}/ws/chat?room=${encodeURIComponent(room)}`;
  if (Number.isSafeInteger(since) && since >= 0) {
    url += `&since=${since}`;
    if (typeof epoch === 'string' && epoch !== '') url += `&epoch=${encodeURIComponent(epoch)}`;
  }
  if (typeof token === 'string' && token !== '') url += `&token=${encodeURIComponent(token)}`;
  return url;
}

/** "1 person", "3 people" */
export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * A server's reason (a refused message's) as a sentence for the page: trimmed, its first letter
 * upper case, and a full stop unless it ends in punctuation already
 * ("a moderator muted you for a while" -> "A moderator muted you for a while.").
 */
export function asSentence(text) {
  const t = String(text ?? '').trim();
  if (t === '') return '';
  const first = t.charAt(0).toLocaleUpperCase('en-US') + t.slice(1);
  return /[.!?…]$/u.test(first) ? first : `${first}.`;
}
