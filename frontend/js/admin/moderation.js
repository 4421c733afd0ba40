// What the Control Center asks the server to do about people and messages,
// as plain requests ({method, path, body}); the moderator's name is added to
// every body when it is sent (withModerator). Pure functions, no DOM, so the
// exact bodies can be checked in Node.

import { BANS_PATH, MUTES_PATH, REPORTS_PATH, messagePath, slowModePath } from './api.js';

/** The mute durations offered (seconds). */
export const MUTE_DURATIONS = Object.freeze([
  { label: '5 min', seconds: 5 * 60 },
  { label: '1 h', seconds: 60 * 60 },
  { label: '24 h', seconds: 24 * 60 * 60 },
]);
export const MAX_REASON_CHARS = 200;
export const MAX_SLOW_MODE_SECONDS = 3600;
export const MAX_MODERATOR_CHARS = 40;

const reasonOf = (text) => String(text ?? '').trim().slice(0, MAX_REASON_CHARS);

/** A message's author as a mute/ban target, or null (sent over HTTP without an identity). */
export function targetOf(author) {
  return typeof author === 'string' && author !== '' ? { identity: author } : null;
}

/** "identity 3f2a…" / "address 203.0.113.7" for a target object. */
export function describeTarget(target) {
  if (target && typeof target.identity === 'string') return `identity ${target.identity}`;
  if (target && typeof target.address === 'string') return `address ${target.address}`;
  return typeof target === 'string' ? target : JSON.stringify(target ?? null);
}

/** The key of a target (same person = same key). */
export const targetKey = (target) => JSON.stringify([target?.identity ?? null, target?.address ?? null]);

export const requests = {
  deleteMessage: (room, offset, reason) => ({ method: 'DELETE', path: messagePath(room, offset), body: { reason: reasonOf(reason) } }),
  mute: (target, seconds, reason) => ({ method: 'POST', path: MUTES_PATH, body: { target, duration_seconds: seconds, reason: reasonOf(reason) } }),
  unmute: (target) => ({ method: 'DELETE', path: MUTES_PATH, body: { target } }),
  ban: (target, reason) => ({ method: 'POST', path: BANS_PATH, body: { target, reason: reasonOf(reason) } }),
  unban: (target) => ({ method: 'DELETE', path: BANS_PATH, body: { target } }),
  slowMode: (room, seconds) => ({ method: 'PUT', path: slowModePath(room), body: { seconds } }),
  // A report names its log: one of a log since recreated is dismissed there.
  dismissReport: (room, offset, epoch) => ({
    method: 'DELETE',
    path: REPORTS_PATH,
    body: epoch ? { room, offset, epoch } : { room, offset },
  }),
};

/** The request as sent: its body names the moderator. */
export function withModerator(request, moderator) {
  return { ...request, body: { ...request.body, moderator } };
}

/**
 * Seconds typed into the slow mode field: a whole number from 0 (off) to
 * MAX_SLOW_MODE_SECONDS, or null.
 */
export function parseSlowMode(value) {
  const text = String(value ?? '').trim();
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_SLOW_MODE_SECONDS ? n : null;
}

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

/** Whether `text` is an IPv6 address as the server reads one (no zone, no brackets; an IPv4 tail allowed). */
function isIpv6(text) {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (half) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const all = [...head, ...tail];
  // an IPv4 tail ends the address: "192.0.2.1::" is not one
  if (halves.length === 2 && tail.length === 0 && head.length > 0 && !HEX_GROUP.test(head.at(-1))) return false;
  let count = 0;
  for (const [i, group] of all.entries()) {
    if (HEX_GROUP.test(group)) count += 1;
    else if (i === all.length - 1 && IPV4.test(group)) count += 2; // ::ffff:192.0.2.1
    else return false;
  }
  // "::" stands for at least one group of zeros
  return halves.length === 2 ? count <= 7 : count === 8;
}

/**
 * A client address typed by the moderator: one IPv4 (203.0.113.7) or IPv6
 * (2001:db8::1) address, trimmed, or null. The same addresses the server
 * takes (dotted quads without leading zeros; no ranges, ports, brackets or
 * zones).
 */
export function parseAddress(value) {
  const text = String(value ?? '').trim();
  if (IPV4.test(text)) return text;
  if (text.includes(':') && isIpv6(text)) return text;
  return null;
}

/** Why a typed address cannot be used, as a sentence; null when it can. */
export function addressProblem(value) {
  const text = String(value ?? '').trim();
  if (text === '') return 'Type the client’s IP address, e.g. 203.0.113.7 or 2001:db8::1.';
  if (parseAddress(text) !== null) return null;
  if (text.includes('/')) return 'One address, not a range: e.g. 203.0.113.7.';
  if (/^\[.*\](:\d+)?$/.test(text) || /^[\d.]+:\d+$/.test(text)) return 'The address alone, without brackets or a port: e.g. 203.0.113.7 or 2001:db8::1.';
  return 'Not an IP address: an IPv4 address like 203.0.113.7 or an IPv6 one like 2001:db8::1.';
}

/** The moderator's name from the sign-in form: trimmed, 1 to 40 characters, or null. */
export function checkModerator(value) {
  const name = String(value ?? '').trim();
  return name !== '' && Array.from(name).length <= MAX_MODERATOR_CHARS ? name : null;
}

const timeOf = (item) => {
  const t = Date.parse(item?.at ?? '');
  return Number.isNaN(t) ? -Infinity : t;
};

/** Newest first by `at` (RFC 3339); items without a time last, in their order. */
export function newestFirst(items) {
  return (Array.isArray(items) ? items : []).map((item, i) => ({ item, i })).sort((a, b) => timeOf(b.item) - timeOf(a.item) || a.i - b.i).map((x) => x.item);
}

/** Why a moderation call did not work, as a sentence. */
export function failureText(result) {
  if (!result) return 'Could not reach the server.';
  const error = typeof result.body?.error === 'string' && result.body.error ? result.body.error : null;
  if (error) return error;
  if (result.status === 404) return 'Not found (404): the server may not support this yet.';
  return `The server answered ${result.status}.`;
}

/** Whether an answer means "done": 2xx and not {success: false}. */
export const succeeded = (result) => result.status >= 200 && result.status < 300 && result.body?.success !== false;
