// The Control Center's behaviour: sign in with the token and the
// moderator's name, then read GET /api/admin/overview (and the inspected
// room's records) every 2 s while the tab is visible; moderation (reports,
// mutes and bans, the room's messages, the audit trail) follows the same
// loop (moderation-center.js). Sign out (or a token no longer accepted)
// forgets the token, the name and everything shown.

import { isValidRoom } from '../util.js';
import { OVERVIEW_PATH, api, moderatorStorage, recordsPath, tokenStorage } from './api.js';
import { LoginView } from './login.js';
import { MetricsView } from './metrics-view.js';
import { ModerationCenter } from './moderation-center.js';
import { PartitionsView } from './partitions-view.js';
import { RecordsView } from './records-view.js';
import { AdminRoomList } from './rooms-view.js';

export const REFRESH_MS = 2000;

function describeFailure(result) {
  if (result.status === 401) return 'That token was not accepted (401). Check CHAT_ADMIN_TOKEN on the server and try again.';
  if (result.status === 404) return 'The admin API is switched off on this server (404): start it with CHAT_ADMIN_TOKEN set.';
  const detail = typeof result.body?.error === 'string' ? `: ${result.body.error}` : '';
  return `The server answered ${result.status}${detail}.`;
}

export class Dashboard {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    this.token = '';
    /** bumped on every sign-in / sign-out: answers for an older session are dropped */
    this.session = 0;
    this.timer = 0;
    this.signedIn = false;
    this.topic = '';
    this.selectedRoom = '';
    this.moderator = '';
    this.login = new LoginView(doc, { onSubmit: (token, moderator) => this.signIn(token, moderator), onSignOut: () => this.signOut('') });
    this.metrics = new MetricsView(doc);
    this.partitions = new PartitionsView(doc);
    this.records = new RecordsView(doc);
    this.rooms = new AdminRoomList(doc, { onSelect: (room) => this.selectRoom(room) });
    this.moderation = new ModerationCenter(doc, {
      onUnauthorized: () => this.signOut('The token is no longer accepted (401). Sign in again.'),
    });
    this.wireInspectForm();
    doc.addEventListener('visibilitychange', () => this.onVisibility());
  }

  start() {
    const saved = tokenStorage.get();
    const moderator = moderatorStorage.get();
    if (saved && moderator) {
      this.signIn(saved, moderator, { fromStorage: true });
    } else {
      this.login.showLogin('');
      this.login.focusInput();
    }
  }

  // ---- sign-in / sign-out --------------------------------------------------------

  async signIn(token, moderator, { fromStorage = false } = {}) {
    const { login } = this;
    const session = ++this.session;
    login.setBusy(true);
    login.setStatus('loading', 'Checking the token…');
    let result;
    try {
      result = await api(OVERVIEW_PATH, token);
    } catch (err) {
      if (session !== this.session) return;
      login.setBusy(false);
      login.setStatus('error', 'Server unreachable');
      login.showLogin(`Could not reach the server (${err?.name === 'TimeoutError' ? 'timed out' : 'network error'}). Try again.`);
      return;
    }
    if (session !== this.session) return;
    login.setBusy(false);
    if (result.status !== 200 || !result.body?.overview) {
      this.refused(result, fromStorage);
      return;
    }
    this.token = token;
    this.moderator = moderator;
    this.signedIn = true;
    tokenStorage.set(token);
    moderatorStorage.set(moderator);
    login.showDashboard(moderator);
    this.moderation.start(token, moderator);
    this.render(result.body);
    login.markUpdated();
    login.setStatus('live', 'Live');
    if (!fromStorage) login.focusDashboard();
    this.schedule();
  }

  refused(result, fromStorage) {
    tokenStorage.clear();
    moderatorStorage.clear();
    this.token = '';
    this.login.setStatus('signed-out', 'Signed out');
    this.login.showLogin(
      fromStorage && result.status === 401
        ? 'The saved token is no longer accepted (401). Sign in again.'
        : describeFailure(result),
    );
    if (!fromStorage) this.login.focusInput({ select: true });
  }

  signOut(message = '') {
    this.session += 1;
    this.signedIn = false;
    this.token = '';
    this.moderator = '';
    clearTimeout(this.timer);
    tokenStorage.clear();
    moderatorStorage.clear();
    this.clearData();
    this.login.setStatus('signed-out', 'Signed out');
    this.login.showLogin(message);
    this.login.focusInput();
  }

  /** Nothing of the last session stays in the page. */
  clearData() {
    this.selectedRoom = '';
    this.topic = '';
    this.records.clear();
    this.moderation.stop();
    this.metrics.clear();
    this.partitions.clear();
    this.rooms.clear();
    this.login.clearUpdated();
  }

  // ---- refresh loop -------------------------------------------------------------

  schedule(delay = REFRESH_MS) {
    clearTimeout(this.timer);
    if (!this.signedIn || this.doc.hidden) return;
    this.timer = setTimeout(() => this.tick(), delay);
  }

  async tick() {
    if (!this.signedIn) return;
    if (this.doc.hidden) {
      this.login.setStatus('paused', 'Paused while the tab is hidden');
      return;
    }
    const session = this.session;
    const room = this.selectedRoom;
    const [overview, records] = await Promise.allSettled([
      api(OVERVIEW_PATH, this.token),
      room ? api(recordsPath(room), this.token) : Promise.resolve(null),
    ]);
    if (session !== this.session) return;
    if (!this.tickOk(overview)) return;
    this.render(overview.value.body);
    if (room && room === this.selectedRoom && records.status === 'fulfilled' && records.value) {
      this.records.show(room, records.value);
    }
    this.moderation.tick();
    this.login.markUpdated();
    this.login.setStatus('live', 'Live');
    this.schedule();
  }

  /** Whether the overview answer can be shown; if not, says why (and retries or signs out). */
  tickOk(overview) {
    if (overview.status === 'rejected') {
      this.login.setStatus('error', 'Server unreachable, retrying');
      this.schedule();
      return false;
    }
    const { status, body } = overview.value;
    if (status === 401 || status === 404) {
      this.signOut(
        status === 401
          ? 'The token is no longer accepted (401): the server may have restarted with another token. Sign in again.'
          : 'The admin API is switched off on this server now (404).',
      );
      return false;
    }
    if (status !== 200 || !body?.overview) {
      this.login.setStatus('error', `Server error ${status}, retrying`);
      this.schedule();
      return false;
    }
    return true;
  }

  onVisibility() {
    if (!this.signedIn) return;
    if (this.doc.hidden) {
      clearTimeout(this.timer);
      this.login.setStatus('paused', 'Paused while the tab is hidden');
    } else {
      this.login.setStatus('loading', 'Refreshing…');
      this.tick();
    }
  }

  render({ overview, metrics = {} }) {
    const rooms = Array.isArray(overview.rooms) ? overview.rooms : [];
    this.topic = String(overview.topic ?? '');
    this.partitions.render(overview);
    this.rooms.render(rooms, this.selectedRoom);
    this.metrics.render(metrics ?? {}, rooms, this.topic);
  }

  // ---- records -----------------------------------------------------------------

  async selectRoom(room) {
    if (!this.signedIn) return;
    this.selectedRoom = room;
    this.records.loading(room);
    this.rooms.select(room);
    this.moderation.selectRoom(room);
    const session = this.session;
    try {
      const result = await api(recordsPath(room), this.token);
      if (session !== this.session || room !== this.selectedRoom) return;
      if (result.status === 401) {
        this.signOut('The token is no longer accepted (401). Sign in again.');
        return;
      }
      this.records.show(room, result);
    } catch {
      if (session !== this.session || room !== this.selectedRoom) return;
      this.records.unreachable();
    }
  }

  wireInspectForm() {
    const form = this.doc.getElementById('inspect-form');
    const input = this.doc.getElementById('inspect-input');
    const error = this.doc.getElementById('inspect-error');
    const setError = (message) => {
      error.textContent = message ?? '';
      error.hidden = !message;
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const room = input.value.trim().toLowerCase();
      if (!isValidRoom(room)) {
        setError('Room names are 1 to 64 characters of a–z, 0–9 and “-”.');
        input.focus();
        return;
      }
      setError(null);
      input.value = '';
      this.selectRoom(room);
    });
    input.addEventListener('input', () => setError(null));
  }
}
