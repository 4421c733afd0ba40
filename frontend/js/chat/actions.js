// What the page may do with a message, and the frames it sends for it:
// reply to any message, react to any, edit ours (for 15 minutes) and
// delete ours (any time). DOM-free. "Ours" is a message sent from this page
// or shown under our verified name (the identity keeps the name, so it is
// the same author).

import { checkDraft } from '../util.js';

/** The server takes edits this long after sending. */
export const EDIT_WINDOW_MS = 15 * 60 * 1000;
/** A quote's preview, at most (the server's too). */
export const PREVIEW_CHARS = 120;

/** Short sentences for refusals the server may answer without a message. */
export const ACTION_ERRORS = Object.freeze({
  no_such_message: 'That message is not there any more.',
  not_yours: 'Only its author can change that message.',
  edit_window_passed: 'Too late to edit: messages can be edited for 15 minutes.',
  invalid_emoji: 'That reaction is not available.',
  too_many_reactions: 'This message has the most different reactions it can have (8).',
  empty_text: 'The message cannot be empty.',
  text_too_long: 'At most 2000 characters.',
  rate_limited: 'Too fast: try again in a moment.',
  muted: 'A moderator muted you.',
  blocked_text: 'That message contains a blocked word.',
});

const isOffset = (n) => Number.isSafeInteger(n) && n >= 0;

/** A message (not a marker) the server knows (it has an offset) and that was not removed. */
export function isLive(entry) {
  return Boolean(entry) && !entry.marker && isOffset(entry.offset) && !entry.deleted && (!entry.own || entry.status === 'delivered');
}

export function isMine(entry) {
  return isLive(entry) && (entry.own || entry.byUs === true);
}

export function canEdit(entry, now = Date.now()) {
  if (!isMine(entry)) return false;
  const sent = Date.parse(entry.timestamp);
  return Number.isFinite(sent) && now - sent < EDIT_WINDOW_MS;
}

/** A quote's preview of a text: at most PREVIEW_CHARS characters. */
export function previewOf(text) {
  const chars = Array.from(String(text ?? '').replace(/\s+/g, ' ').trim());
  return chars.length > PREVIEW_CHARS ? `${chars.slice(0, PREVIEW_CHARS - 1).join('')}…` : chars.join('');
}

/** The frame for an action on the message at `offset`, or null when it cannot be sent. */
export function actionFrame(kind, { offset, emoji, text }, clientMsgId) {
  if (!isOffset(offset)) return null;
  if (kind === 'react' || kind === 'unreact') {
    return typeof emoji === 'string' && emoji ? { type: kind, offset, emoji, client_msg_id: clientMsgId } : null;
  }
  if (kind === 'edit') {
    const draft = checkDraft(text);
    return draft.ok ? { type: 'edit', offset, text: draft.text, client_msg_id: clientMsgId } : null;
  }
  if (kind === 'delete') return { type: 'delete', offset, client_msg_id: clientMsgId };
  return null;
}

/** What an error frame says, for the line under the message. */
export function actionError(frame) {
  const code = String(frame?.code ?? 'error');
  const message = typeof frame?.message === 'string' && frame.message ? frame.message : ACTION_ERRORS[code] ?? `Refused: ${code}`;
  return { code, message };
}
