// A scripted admin API (/api/admin/...) for the Control Center's browser
// tests, answered inside the browser through page.route: the overview, a
// room's records and messages, and moderation (delete, mute, ban, lift,
// slow mode, reports, audit trail) with state, so the page's refreshes show
// what each action changed. Every request is kept (method, path, the
// Authorization header, the JSON body) for the tests to check.
//
// `moderation: false` is an older server: every moderation path answers 404
// with an empty body, like the real one. failNext(method, pathPrefix,
// status, body) makes the next matching call fail once.

export const ADMIN_TOKEN = 'adm-test-token';

const now = () => new Date().toISOString();

export class MockAdmin {
  /**
   * @param {object} [options]
   * @param {boolean} [options.moderation] the server has the moderation API (default true)
   * @param {Record<string, object[]>} [options.rooms] room -> messages ({username, text, verified, deleted, author, timestamp})
   */
  constructor({ moderation = true, rooms = {} } = {}) {
    this.moderation = moderation;
    /** [{method, path, query, auth, body}] */
    this.requests = [];
    this.offset = 0;
    /** room -> messages in offset order */
    this.rooms = new Map();
    for (const [room, messages] of Object.entries(rooms)) for (const m of messages) this.addMessage(room, m);
    this.mutes = [];
    this.bans = [];
    /** room -> {room, seconds, by, at} */
    this.slow = new Map();
    /** [{room, offset, reporter, reason, at, count}] */
    this.reports = [];
    this.audit = [];
    this.failures = [];
  }

  addMessage(room, m) {
    if (!this.rooms.has(room)) this.rooms.set(room, []);
    const message = {
      offset: this.offset++,
      message_id: `mid-${this.offset}`,
      username: 'Anonymous',
      text: '',
      timestamp: now(),
      verified: true,
      deleted: false,
      author: null,
      ...m,
    };
    this.rooms.get(room).push(message);
    return message;
  }

  message(room, offset) {
    return (this.rooms.get(room) ?? []).find((m) => m.offset === offset) ?? null;
  }

  addReport(room, offset, { reporter = 'reporter-id', reason = '', at = now(), count = 1 } = {}) {
    this.reports.push({ room, offset, reporter, reason, at, count });
  }

  failNext(method, pathPrefix, status, body) {
    this.failures.push({ method, pathPrefix, status, body });
  }

  /** Requests that change something (not GET). */
  get actions() {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  async install(page) {
    await page.route(/\/api\/admin\//, (route) => this.handle(route));
    return this;
  }

  async handle(route) {
    const req = route.request();
    const url = new URL(req.url());
    let body = null;
    try {
      body = req.postData() ? JSON.parse(req.postData()) : null;
    } catch {
      body = { unparsable: req.postData() };
    }
    const entry = { method: req.method(), path: url.pathname, query: url.search, auth: req.headers().authorization ?? null, body };
    this.requests.push(entry);
    const reply = (status, json) =>
      route.fulfill({ status, contentType: json === undefined ? 'text/plain' : 'application/json', body: json === undefined ? '' : JSON.stringify(json) });
    if (entry.auth !== `Bearer ${ADMIN_TOKEN}`) return reply(401, { success: false, error: 'unauthorized', code: 'unauthorized' });
    const i = this.failures.findIndex((f) => f.method === entry.method && entry.path.startsWith(f.pathPrefix));
    if (i >= 0) {
      const [f] = this.failures.splice(i, 1);
      return reply(f.status, f.body);
    }
    const answer = this.answer(entry, url);
    if (!answer) return reply(404, undefined);
    return reply(answer[0], answer[1]);
  }

  /** [status, json] for a request, or null (404). */
  answer({ method, path, body }, url) {
    if (method === 'GET' && path === '/api/admin/overview') return [200, this.overview()];
    const records = path.match(/^\/api\/admin\/rooms\/([^/]+)\/records$/);
    if (method === 'GET' && records) return [200, this.records(decodeURIComponent(records[1]))];
    if (!this.moderation) return null;

    const messages = path.match(/^\/api\/admin\/rooms\/([^/]+)\/messages$/);
    if (method === 'GET' && messages) {
      const room = decodeURIComponent(messages[1]);
      const limit = Number(url.searchParams.get('limit') ?? 50);
      return [200, { room, messages: (this.rooms.get(room) ?? []).slice(-limit) }];
    }
    const one = path.match(/^\/api\/admin\/rooms\/([^/]+)\/messages\/(\d+)$/);
    if (method === 'DELETE' && one) {
      const room = decodeURIComponent(one[1]);
      const m = this.message(room, Number(one[2]));
      if (!m) return [404, { success: false, error: 'no such message', code: 'not_found' }];
      Object.assign(m, { deleted: true, text: '' });
      this.log(body, 'delete', { room, offset: m.offset, reason: body?.reason ?? '' });
      return [200, { success: true }];
    }
    const slow = path.match(/^\/api\/admin\/rooms\/([^/]+)\/slow-mode$/);
    if (method === 'PUT' && slow) {
      const room = decodeURIComponent(slow[1]);
      if (body?.seconds > 0) this.slow.set(room, { room, seconds: body.seconds, by: body.moderator, at: now() });
      else this.slow.delete(room);
      this.log(body, 'slow_mode', { room, seconds: body?.seconds });
      return [200, { success: true }];
    }
    if (path === '/api/admin/moderation' && method === 'GET') {
      return [200, { mutes: this.mutes, bans: this.bans, slow_mode: [...this.slow.values()] }];
    }
    if (path === '/api/admin/mutes' || path === '/api/admin/bans') {
      const list = path.endsWith('mutes') ? this.mutes : this.bans;
      const kind = path.endsWith('mutes') ? 'mute' : 'ban';
      const same = (x) => JSON.stringify(x.target) === JSON.stringify(body?.target);
      if (method === 'POST') {
        const item = { action: kind, target: body.target, reason: body.reason ?? '', by: body.moderator, at: now() };
        if (kind === 'mute') item.until = new Date(Date.now() + body.duration_seconds * 1000).toISOString();
        list.splice(0, list.length, ...list.filter((x) => !same(x)), item);
        this.audit.push({ ...item });
        return [200, { success: true }];
      }
      if (method === 'DELETE') {
        list.splice(0, list.length, ...list.filter((x) => !same(x)));
        this.log(body, `un${kind}`, { target: body?.target });
        return [200, { success: true }];
      }
    }
    if (path === '/api/admin/reports') {
      if (method === 'GET') {
        return [200, { reports: this.reports.map((r) => ({ ...r, message: this.message(r.room, r.offset) })) }];
      }
      if (method === 'DELETE') {
        this.reports = this.reports.filter((r) => !(r.room === body?.room && r.offset === body?.offset));
        this.log(body, 'dismiss', { room: body?.room, offset: body?.offset });
        return [200, { success: true }];
      }
    }
    if (path === '/api/admin/audit' && method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? 50);
      return [200, { entries: this.audit.slice(-limit) }];
    }
    return null;
  }

  /** An audit entry shaped like the real server's: action, by, at and the record's own fields. */
  log(body, action, fields) {
    this.audit.push({ action, ...fields, by: body?.moderator ?? null, at: now() });
  }

  overview() {
    const rooms = [...this.rooms.keys()].map((room) => ({ room, active_connections: 2 }));
    return {
      overview: {
        instance: 'mock-instance',
        topic: 'chat-messages',
        partitions: [{ partition: 0, low: 0, high: this.offset, position: this.offset, lag: 0 }],
        rooms,
      },
      metrics: {},
    };
  }

  records(room) {
    return (this.rooms.get(room) ?? []).map((m) => ({
      offset: m.offset,
      partition: 0,
      timestamp_ms: Date.parse(m.timestamp),
      key: room,
      headers: [['content-type', 'application/json']],
      value: JSON.stringify({ type: 'chat_message', room, username: m.username, text: m.text }),
    }));
  }
}
