// The admin API (/api/admin/...) with the operator's token, and where the
// token and the moderator's name are kept: sessionStorage, so they live in
// this tab only. Moderation calls (see moderation.js) send JSON bodies, each
// with the moderator's name.

export const TOKEN_KEY = 'anime-chat-admin-token';
export const MODERATOR_KEY = 'anime-chat-admin-moderator';
export const RECORDS_LIMIT = 25;
export const MESSAGES_LIMIT = 50;
export const AUDIT_LIMIT = 50;
const REQUEST_TIMEOUT_MS = 8000;

const room = (name) => encodeURIComponent(name);
export const OVERVIEW_PATH = '/api/admin/overview';
export const MODERATION_PATH = '/api/admin/moderation';
export const REPORTS_PATH = '/api/admin/reports';
export const MUTES_PATH = '/api/admin/mutes';
export const BANS_PATH = '/api/admin/bans';
export const auditPath = (limit = AUDIT_LIMIT) => `/api/admin/audit?limit=${limit}`;
export const recordsPath = (name) => `/api/admin/rooms/${room(name)}/records?limit=${RECORDS_LIMIT}`;
export const messagesPath = (name, limit = MESSAGES_LIMIT) => `/api/admin/rooms/${room(name)}/messages?limit=${limit}`;
export const messagePath = (name, offset) => `/api/admin/rooms/${room(name)}/messages/${offset}`;
export const slowModePath = (name) => `/api/admin/rooms/${room(name)}/slow-mode`;

/**
 * A call with the token (GET unless `method`; `body` goes as JSON).
 * Resolves {status, body} (body null when not JSON); rejects on network errors.
 */
export async function api(path, token, { method = 'GET', body } = {}) {
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'same-origin',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  let parsed = null;
  try {
    parsed = await res.json();
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed };
}

/** A value kept in this tab's sessionStorage (in memory where storage is blocked). */
function tabValue(key) {
  let memory = '';
  return {
    get() {
      try {
        return sessionStorage.getItem(key) ?? '';
      } catch {
        return memory;
      }
    },
    set(value) {
      memory = value;
      try {
        sessionStorage.setItem(key, value);
      } catch {
        /* storage blocked: memory for this page only */
      }
    },
    clear() {
      memory = '';
      try {
        sessionStorage.removeItem(key);
      } catch {
        /* nothing stored */
      }
    },
  };
}

export const tokenStorage = tabValue(TOKEN_KEY);
export const moderatorStorage = tabValue(MODERATOR_KEY);
