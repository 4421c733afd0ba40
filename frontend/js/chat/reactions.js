// Reactions, DOM-free: the emoji the server takes, the lists it sends
// (`[{emoji, count, users}]`, users: at most 10 of the reactors, most recent
// first), a change applied by hand when a `reactions` frame comes without
// the list, and the reactions this page made (localStorage), which keep
// "mine" highlighted after a reload when `users` is cut short.

/** Exactly the emoji the server allows, in the picker's order. */
export const REACTION_EMOJI = Object.freeze(['🔥', '❤️', '😂', '👍', '👎', '😮', '😢', '🎉', '👀', '🙏', '💯', '✨', '🤔', '😍', '😭', '🤯', '⭐', '🌸']);
/** Names for screen readers, same order. */
export const REACTION_NAMES = Object.freeze(['fire', 'red heart', 'tears of joy', 'thumbs up', 'thumbs down', 'surprised', 'crying', 'party popper', 'eyes', 'folded hands', 'hundred points', 'sparkles', 'thinking', 'heart eyes', 'sobbing', 'mind blown', 'star', 'cherry blossom']);
/** At most this many different emoji on one message. */
export const MAX_REACTION_KINDS = 8;
/** `users` lists at most this many names. */
export const MAX_REACTION_USERS = 10;

export const isReactionEmoji = (emoji) => REACTION_EMOJI.includes(emoji);
export const reactionName = (emoji) => REACTION_NAMES[REACTION_EMOJI.indexOf(emoji)] ?? 'reaction';

const isName = (u) => typeof u === 'string' && u !== '';

/**
 * A server list made safe to show: string emoji (any the server sends, as
 * text), whole positive counts, string users (at most 10, no duplicates),
 * each emoji once.
 * @returns {{emoji: string, count: number, users: string[]}[]}
 */
export function cleanReactions(list) {
  const out = [];
  for (const r of Array.isArray(list) ? list : []) {
    if (!r || typeof r.emoji !== 'string' || r.emoji === '' || r.emoji.length > 32) continue;
    if (out.some((o) => o.emoji === r.emoji)) continue;
    const users = [...new Set((Array.isArray(r.users) ? r.users : []).filter(isName))].slice(0, MAX_REACTION_USERS);
    const count = Number.isSafeInteger(r.count) && r.count > 0 ? Math.max(r.count, users.length) : users.length;
    if (count > 0) out.push({ emoji: r.emoji, count, users });
  }
  return out;
}

/**
 * `username` added or removed `emoji`: the list as the server would now
 * send it (a new emoji goes last, an emoji nobody has any more goes away).
 */
export function applyReactionChange(list, { emoji, added, username }) {
  const next = cleanReactions(list);
  const i = next.findIndex((r) => r.emoji === emoji);
  if (added) {
    if (i < 0) return [...next, { emoji, count: 1, users: isName(username) ? [username] : [] }];
    const r = next[i];
    if (isName(username) && r.users.includes(username)) return next; // one per person: already counted
    next[i] = { emoji, count: r.count + 1, users: [username, ...r.users].filter(isName).slice(0, MAX_REACTION_USERS) };
    return next;
  }
  if (i < 0) return next;
  const r = next[i];
  const count = r.count - 1;
  if (count <= 0) return next.filter((_, j) => j !== i);
  next[i] = { emoji, count, users: r.users.filter((u) => u !== username) };
  return next;
}

/** Key of one message for ReactionMemory: its room, log and offset. */
export const reactionKey = (room, epoch, offset) => `${room}/${epoch ?? ''}:${offset}`;

export const REACTIONS_KEY = 'anime-chat.reactions';
/** Messages remembered at most (the oldest are forgotten first). */
const MAX_REMEMBERED = 300;

function defaultStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // reading `localStorage` itself can throw when blocked
  }
}

/** The reactions this page made, per message key, kept in localStorage (in memory when it is blocked). */
export class ReactionMemory {
  constructor(storage = defaultStorage()) {
    this.storage = storage;
    this.map = new Map();
    try {
      const saved = JSON.parse(storage?.getItem(REACTIONS_KEY) ?? '{}');
      for (const [key, emoji] of Object.entries(saved ?? {})) {
        if (Array.isArray(emoji)) this.map.set(key, emoji.filter((e) => typeof e === 'string'));
      }
    } catch {
      /* blocked or junk: start empty */
    }
  }

  has(key, emoji) {
    return this.map.get(key)?.includes(emoji) ?? false;
  }

  set(key, emoji, on) {
    const list = (this.map.get(key) ?? []).filter((e) => e !== emoji);
    if (on) list.push(emoji);
    this.map.delete(key); // re-inserted last: the most recently used
    if (list.length > 0) this.map.set(key, list);
    while (this.map.size > MAX_REMEMBERED) this.map.delete(this.map.keys().next().value);
    try {
      this.storage?.setItem(REACTIONS_KEY, JSON.stringify(Object.fromEntries(this.map)));
    } catch {
      /* blocked: this page still remembers */
    }
  }
}
