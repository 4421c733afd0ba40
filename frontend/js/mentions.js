// @mention autocomplete in the message box, DOM-free: what is being typed
// after an `@`, which names of people online match it, and the text once a
// name is picked (js/view/mention-menu.js shows the list).

/** At most this many suggestions. */
export const MAX_SUGGESTIONS = 6;
/** Longer than any name: past this the `@` is not being completed any more. */
const MAX_QUERY = 40;
const QUERY = /^[\p{L}\p{N}_](?:[\p{L}\p{N}_.' -]*)$/u;
const WORD_BEFORE = /[\p{L}\p{N}_]$/u;

/** Case- and accent-insensitive form for matching ("Éclair" ~ "ecl"). */
export function fold(s) {
  return String(s ?? '').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * The mention being typed at the caret: `@` + at least one letter, the `@`
 * at the start or after a space or punctuation (not inside an e-mail
 * address), nothing but name characters up to the caret.
 * @returns {{start: number, end: number, query: string} | null} start: index of the `@`
 */
export function mentionQuery(value, caret = value.length) {
  const before = String(value ?? '').slice(0, caret);
  const at = before.lastIndexOf('@');
  if (at < 0 || caret - at - 1 > MAX_QUERY) return null;
  if (WORD_BEFORE.test(before.slice(Math.max(0, at - 2), at))) return null;
  const query = before.slice(at + 1);
  if (!QUERY.test(query) || query.includes('  ')) return null;
  return { start: at, end: caret, query };
}

/**
 * Names matching `query`: those starting with it first, then those with a
 * later word starting with it; each group in the given order (the presence
 * list's), without duplicates and without us.
 */
export function matchNames(query, names, { me = '', limit = MAX_SUGGESTIONS } = {}) {
  const q = fold(query).trimEnd();
  if (q === '') return [];
  const seen = new Set();
  const starts = [];
  const words = [];
  for (const name of names) {
    if (typeof name !== 'string' || name.trim() === '') continue;
    const f = fold(name);
    if (seen.has(f) || f === fold(me)) continue;
    seen.add(f);
    if (f.startsWith(q)) starts.push(name);
    else if (f.split(/[\s_.-]+/u).slice(1).some((w) => w.startsWith(q))) words.push(name);
  }
  return [...starts, ...words].slice(0, limit);
}

/**
 * Put `@name ` in place of the typed `@query`.
 * @returns {{value: string, caret: number}}
 */
export function insertMention(value, { start, end }, name) {
  const after = value.slice(end);
  const inserted = `@${name}${after.startsWith(' ') ? '' : ' '}`;
  const next = value.slice(0, start) + inserted + after;
  return { value: next, caret: start + inserted.length + (after.startsWith(' ') ? 1 : 0) };
}
