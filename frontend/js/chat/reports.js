// Reporting a message to the moderators: the frame the page sends. The
// server answers `report_received` (same offset) or an error frame without
// a client_msg_id.

import { charCount } from '../util.js';

/** The longest reason the server takes (characters). */
export const MAX_REPORT_CHARS = 200;

/**
 * {type: 'report', offset, reason} for the message at `offset`, the reason
 * trimmed (may be empty: it is optional) and cut to MAX_REPORT_CHARS
 * characters; null when `offset` is not a log offset.
 */
export function reportFrame(offset, reason = '') {
  if (!Number.isSafeInteger(offset) || offset < 0) return null;
  let text = String(reason ?? '').trim();
  if (charCount(text) > MAX_REPORT_CHARS) text = Array.from(text).slice(0, MAX_REPORT_CHARS).join('').trim();
  return { type: 'report', offset, reason: text };
}
