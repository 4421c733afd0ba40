// What a message's text shows besides plain text: @mentions, ||spoilers||
// and http(s) links, as a list of parts that js/view/rich-text.js draws
// with DOM APIs. DOM-free, and nothing here produces markup: every part is
// plain strings.
//
//   {type: 'text', text}
//   {type: 'mention', text, name, me}   text as written ("@sakura blade"); me: it names us
//   {type: 'link', text, href}          href: the URL as the browser parsed it (http: or https: only)
//   {type: 'spoiler', parts}            the parts inside (text, mentions, links)
//
// Spoilers do not nest: each `||` opens or closes one, so `||a ||b|| c||`
// is two spoilers ("a ", " c") around a plain "b". An unclosed `||` stays
// text, except in a preview cut short by the server (`openSpoiler`): there
// the rest is hidden, since its closing `||` was cut off with the end.
//
// Names may contain spaces ("Sakura Blade"), so a mention is the longest
// known name after the `@` (case-insensitive, not followed by a letter or
// digit), else one word. `@` inside a word (an e-mail address) is no mention.

export const SPOILER_MARK = '||';

const WORD_BEFORE = /[\p{L}\p{N}_]$/u;
const WORD_AFTER = /^[\p{L}\p{N}_]/u;
const ONE_WORD = /^[\p{L}\p{N}_](?:[\p{L}\p{N}_-]*[\p{L}\p{N}_])?/u;
/** where a link or a mention may start */
const CANDIDATE = /https?:\/\/|@/giu;
/** a URL runs until whitespace or a character that cannot be in one unescaped */
const URL_RUN = /^https?:\/\/[^\s<>"`{}|\\^]+/iu;
/** dropped from a URL's end: sentence punctuation, quotes */
const TRAILING = /[.,!?;:'"*~_]$/u;
const CLOSERS = { ')': '(', ']': '[', '}': '{' };

const same = (a, b) => a.toLowerCase() === b.toLowerCase();

/**
 * @param {string} text
 * @param {{names?: string[], me?: string, openSpoiler?: boolean}} [context]
 *   names: people the page knows (for mentions with spaces); me: our name
 * @returns {object[]} parts
 */
export function tokenize(text, { names = [], me = '', openSpoiler = false } = {}) {
  const source = String(text ?? '');
  const known = [...new Set([me, ...names].filter((n) => typeof n === 'string' && n.trim() !== ''))].sort((a, b) => b.length - a.length);
  const ctx = { known, me };
  const pieces = source.split(SPOILER_MARK);
  const parts = [];
  // pieces at odd indexes were between two marks; an even count of pieces means the last mark is unclosed
  const closedUpTo = pieces.length % 2 === 0 ? pieces.length - 1 : pieces.length;
  for (let i = 0; i < pieces.length; i += 1) {
    const piece = pieces[i];
    const inside = i % 2 === 1;
    if (inside && i < closedUpTo && piece.trim() !== '') {
      parts.push({ type: 'spoiler', parts: inline(piece, ctx) });
    } else if (inside && i >= closedUpTo && openSpoiler) {
      const rest = pieces.slice(i).join(SPOILER_MARK);
      if (rest.trim() !== '') parts.push({ type: 'spoiler', parts: inline(rest, ctx) });
      break;
    } else {
      parts.push(...inline(inside ? `${SPOILER_MARK}${piece}${i < closedUpTo ? SPOILER_MARK : ''}` : piece, ctx));
    }
  }
  return merge(parts);
}

/** Whether `text` mentions `name` (also inside a spoiler). */
export function mentionsName(text, name) {
  if (!name) return false;
  const hit = (parts) => parts.some((p) => (p.type === 'mention' && p.me) || (p.type === 'spoiler' && hit(p.parts)));
  return hit(tokenize(text, { me: name }));
}

/** The text without its markup: spoilers as "▒▒▒" (for places that cannot blur, like a title). */
export function plainText(parts, { hideSpoilers = true } = {}) {
  return parts
    .map((p) => (p.type === 'spoiler' ? (hideSpoilers ? '▒▒▒' : plainText(p.parts)) : p.text))
    .join('');
}

/** Links and mentions in a stretch of text without spoiler marks. */
function inline(text, ctx) {
  const parts = [];
  let plainFrom = 0;
  const re = new RegExp(CANDIDATE.source, CANDIDATE.flags);
  let m;
  while ((m = re.exec(text)) !== null) {
    const at = m.index;
    if (WORD_BEFORE.test(text.slice(Math.max(0, at - 2), at))) continue;
    const found = m[0] === '@' ? mentionAt(text, at, ctx) : linkAt(text, at);
    if (!found) continue;
    if (at > plainFrom) parts.push({ type: 'text', text: text.slice(plainFrom, at) });
    parts.push(found);
    plainFrom = at + found.text.length;
    re.lastIndex = plainFrom;
  }
  if (plainFrom < text.length) parts.push({ type: 'text', text: text.slice(plainFrom) });
  return parts;
}

function mentionAt(text, at, { known, me }) {
  const rest = text.slice(at + 1);
  for (const name of known) {
    if (rest.length >= name.length && same(rest.slice(0, name.length), name) && !WORD_AFTER.test(rest.slice(name.length))) {
      return { type: 'mention', text: `@${rest.slice(0, name.length)}`, name, me: Boolean(me) && same(name, me) };
    }
  }
  const word = ONE_WORD.exec(rest)?.[0];
  if (!word) return null;
  return { type: 'mention', text: `@${word}`, name: word, me: Boolean(me) && same(word, me) };
}

function linkAt(text, at) {
  let raw = URL_RUN.exec(text.slice(at))?.[0];
  if (!raw) return null;
  // "(see https://x.y/a_(b))." keeps the balanced ")" and drops the rest
  for (;;) {
    const last = raw.at(-1);
    if (TRAILING.test(last)) raw = raw.slice(0, -1);
    else if (CLOSERS[last] && count(raw, last) > count(raw, CLOSERS[last])) raw = raw.slice(0, -1);
    else break;
  }
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return null;
  return { type: 'link', text: raw, href: url.href };
}

const count = (s, ch) => s.split(ch).length - 1;

/** Neighbouring text parts as one. */
function merge(parts) {
  const out = [];
  for (const part of parts) {
    const prev = out.at(-1);
    if (part.type === 'text' && prev?.type === 'text') prev.text += part.text;
    else if (part.type !== 'text' || part.text !== '') out.push(part);
  }
  return out;
}
