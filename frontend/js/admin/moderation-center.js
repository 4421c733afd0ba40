// Moderation in the Control Center: reads the reports, the mutes, bans and
// slow modes, the audit trail and the inspected room's messages, and runs
// what the moderator decides (every call with the bearer token and, in its
// JSON body, the moderator's name). After each action the lists are read
// again, so the page shows what the server has, not what it hoped for.
//
// A server without moderation answers 404 to GET /api/admin/moderation:
// then the section stays hidden, the room card shows only its records, and
// nothing more is asked (the dashboard works as before).

import { AddressForm } from './address-form.js';
import { MESSAGES_LIMIT, MODERATION_PATH, REPORTS_PATH, api, auditPath, messagesPath } from './api.js';
import { AuditView } from './audit-view.js';
import { failureText, requests, succeeded, withModerator } from './moderation.js';
import { ReportsView } from './reports-view.js';
import { RoomMessagesView } from './room-messages-view.js';
import { RoomTabs } from './room-tabs.js';
import { SanctionsView } from './sanctions-view.js';
import { SlowModeControl } from './slow-mode-view.js';

/** The lists are read every this many dashboard refreshes (2 s each), and after every action. */
export const MODERATION_EVERY = 5;

export class ModerationCenter {
  /**
   * @param {Document} doc
   * @param {{onUnauthorized: () => void}} handlers  a 401: the dashboard signs out
   */
  constructor(doc, { onUnauthorized }) {
    this.onUnauthorized = onUnauthorized;
    this.section = doc.getElementById('moderation');
    this.token = '';
    this.moderator = '';
    /** null: not known yet; false: this server has no moderation */
    this.available = null;
    this.room = '';
    this.ticks = 0;
    /** the first GET /api/admin/moderation is on its way */
    this.probing = false;
    /** bumped by start/stop: answers of an earlier session are dropped */
    this.session = 0;
    /** identity id -> the last name seen for it (messages, reports) */
    this.names = new Map();
    this.slowModes = new Map();
    /** the last answers of the lists, to redraw them when names are learned */
    this.last = null;

    const act = {
      deleteMessage: (room, offset, reason) => this.run(requests.deleteMessage(room, offset, reason)),
      mute: (target, seconds, reason) => this.run(requests.mute(target, seconds, reason)),
      ban: (target, reason) => this.run(requests.ban(target, reason)),
      unmute: (target) => this.run(requests.unmute(target)),
      unban: (target) => this.run(requests.unban(target)),
      slowOff: (room) => this.run(requests.slowMode(room, 0)),
      dismiss: (room, offset, epoch) => this.run(requests.dismissReport(room, offset, epoch)),
      nameOf: (id) => this.names.get(id) ?? null,
    };
    this.tabs = new RoomTabs(doc);
    this.messages = new RoomMessagesView(doc, act);
    this.slow = new SlowModeControl(doc, { onSet: (room, seconds) => this.run(requests.slowMode(room, seconds)) });
    this.reports = new ReportsView(doc, act);
    this.sanctions = new SanctionsView(doc, act);
    this.address = new AddressForm(doc, act);
    this.audit = new AuditView(doc, act);
    this.slow.setRoom('');
  }

  /** Signed in: find out whether the server moderates, and read everything. */
  start(token, moderator) {
    this.session += 1;
    this.token = token;
    this.moderator = moderator;
    this.ticks = 0;
    this.probing = false;
    this.refresh();
  }

  /** Signed out: nothing of it stays in the page. */
  stop() {
    this.session += 1;
    this.token = '';
    this.moderator = '';
    this.available = null;
    this.room = '';
    this.names.clear();
    this.slowModes.clear();
    this.last = null;
    this.probing = false;
    this.section.hidden = true;
    this.tabs.enable(false);
    for (const view of [this.messages, this.reports, this.sanctions, this.audit, this.address]) view.clear();
    this.slow.setRoom('');
  }

  /** One dashboard refresh: the room's messages each time, the lists now and then. */
  tick() {
    // not known yet (the first answer did not come): ask again
    if (this.available === null && !this.probing) this.refresh();
    if (this.available !== true) return;
    this.ticks += 1;
    if (this.ticks % MODERATION_EVERY === 0) this.refresh();
    else if (this.room) this.loadMessages(this.room);
  }

  /** The room picked in the dashboard. */
  selectRoom(room) {
    this.room = room;
    this.slow.setRoom(room);
    this.slow.setCurrent(this.slowModes.get(room) ?? 0);
    if (this.available === false) return;
    this.messages.loading(room);
    if (this.available === true) this.loadMessages(room);
    // unknown yet: refresh() loads them once it knows
  }

  get(path) {
    return api(path, this.token).catch(() => null);
  }

  /** Read the lists (and the room's messages). */
  async refresh() {
    const session = this.session;
    this.probing = this.available === null;
    const [moderation, reports, audit] = await Promise.all([
      this.get(MODERATION_PATH),
      this.available === true ? this.get(REPORTS_PATH) : null,
      this.available === true ? this.get(auditPath()) : null,
    ]);
    if (session !== this.session) return;
    this.probing = false;
    if (!moderation) return;
    if (moderation.status === 401) return this.onUnauthorized();
    if (moderation.status === 404) {
      this.available = false;
      this.tabs.enable(false);
      return;
    }
    if (this.available !== true) {
      // the first answer: now the rest
      this.available = true;
      this.section.hidden = false;
      this.tabs.enable(true);
      this.showModeration(moderation);
      this.refresh();
      return;
    }
    if (reports) this.learnNames((reports.body?.reports ?? []).map((r) => r?.message));
    this.showModeration(moderation);
    if (reports) this.reports.show(reports);
    this.last = { moderation, reports, audit };
    if (audit) this.audit.show(audit);
    if (this.room) this.loadMessages(this.room);
  }

  showModeration(result) {
    if (result.status !== 200 || !result.body) return;
    this.slowModes = new Map((result.body.slow_mode ?? []).map((s) => [s.room, Number(s.seconds) || 0]));
    this.sanctions.show(result.body);
    if (this.room) this.slow.setCurrent(this.slowModes.get(this.room) ?? 0);
  }

  async loadMessages(room) {
    const session = this.session;
    const result = await this.get(messagesPath(room, MESSAGES_LIMIT));
    if (session !== this.session || room !== this.room) return;
    if (!result) return this.messages.unreachable();
    if (result.status === 401) return this.onUnauthorized();
    // names seen here for the first time: the lists that show people say them now
    if (this.learnNames(result.body?.messages ?? []) && this.last) {
      this.showModeration(this.last.moderation);
      if (this.last.reports) this.reports.show(this.last.reports);
      if (this.last.audit) this.audit.show(this.last.audit);
    }
    this.messages.show(room, result);
  }

  /** Remember who is who; whether a name was new. */
  learnNames(messages) {
    let learned = false;
    for (const m of Array.isArray(messages) ? messages : []) {
      if (!m || typeof m.author !== 'string' || !m.username || this.names.get(m.author) === m.username) continue;
      this.names.set(m.author, m.username);
      learned = true;
    }
    return learned;
  }

  /**
   * Send one moderation request (with the moderator's name); resolves an
   * error text for the form that asked, or null when it was done.
   */
  async run(request) {
    const session = this.session;
    const { method, path, body } = withModerator(request, this.moderator);
    let result;
    try {
      result = await api(path, this.token, { method, body });
    } catch {
      return 'Could not reach the server. Try again.';
    }
    if (session !== this.session) return null;
    if (result.status === 401) {
      this.onUnauthorized();
      return null;
    }
    if (!succeeded(result)) return failureText(result);
    this.refresh();
    return null;
  }
}
