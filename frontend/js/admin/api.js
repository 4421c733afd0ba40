// The admin API (GET /api/admin/...) with the operator's token, and where
// the token is kept: sessionStorage, so it lives in this tab only.

export const TOKEN_KEY = 'anime-chat-admin-token';
export const RECORDS_LIMIT = 25;
const REQUEST_TIMEOUT_MS = 8000;

export const OVERVIEW_PATH = '/api/admin/overview';
export const recordsPath = (room) => `/api/admin/rooms/${encodeURIComponent(room)}/records?limit=${RECORDS_LIMIT}`;

/** GET with the token. Resolves {status, body} (body null when not JSON); rejects on network errors. */
export async function api(path, token) {
  const res = await fetch(path, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
    cache: 'no-store',
    credentials: 'same-origin',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, body };
}

export const tokenStorage = {
  get() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) ?? '';
    } catch {
      return '';
    }
  },
  set(token) {
    try {
      sessionStorage.setItem(TOKEN_KEY, token);
    } catch {
      /* storage blocked: the token lives in memory for this page only */
    }
  },
  clear() {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      /* nothing stored */
    }
  },
};
