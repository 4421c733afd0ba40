// End-to-end: the Control Center page (/admin) against the real server binary.
//
// - Without CHAT_ADMIN_TOKEN the server has no /admin (404) and no admin API.
// - With it: the page asks for the token; a wrong one shows an error and no
//   data; the right one shows the overview. Chat traffic (WebSockets opened
//   in a second browser page) then shows up: the room in the Rooms panel, its
//   records (key = room, content-type/schema headers, the text in the value,
//   shown as text), the received-messages metric, the partition's end offset.
// - Refreshes every 2 s and pauses while the tab is hidden; keyboard use;
//   sign-out; 360 px without horizontal scroll; reduced motion.
// - A 1280x800 dark screenshot goes to artifacts/admin-1280.png (and, with
//   UPDATE_DOCS_SCREENSHOTS=1, to docs/screenshots/admin-1280.png).
// - No console errors, page errors or CSP violations, except the 401 that
//   Chromium logs for the wrong-token request the test makes on purpose.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  ARTIFACTS_DIR,
  CHAT_BIN,
  CSP,
  REPO_ROOT,
  chatBinaryAvailable,
  evalAll,
  fetchAssetGraph,
  launchBrowser,
  newPage,
  noHorizontalScroll,
  startChatServer,
  waitFor,
} from './helpers.mjs';

const TOKEN = `adm-${randomBytes(12).toString('hex')}`;
const TOKEN_KEY = 'anime-chat-admin-token';
// The topic is fresh for every run, so readable room names cannot clash.
const ROOM = 'shonen-jump';
const ROOM2 = 'slice-of-life';
const ROOM3 = 'mecha-hangar';
const TEXTS = [
  'Konbanwa! Who else is rewatching Frieren this week? 🌙',
  'Gear 5 Luffy <b>is</b> peak & nobody can change my mind',
  'Best fight of the season: Gojo vs Sukuna, no contest ⚔️',
];
const SCREENSHOT = path.join(ARTIFACTS_DIR, 'admin-1280.png');
const DOCS_SCREENSHOT = path.join(REPO_ROOT, 'docs', 'screenshots', 'admin-1280.png');

const s = {
  login: '[data-testid="login"]',
  input: '[data-testid="token-input"]',
  submit: '[data-testid="token-submit"]',
  error: '[data-testid="token-error"]',
  dashboard: '[data-testid="dashboard"]',
  signOut: '[data-testid="sign-out"]',
  status: '[data-testid="refresh-status"]',
  updated: '[data-testid="last-updated"]',
  instance: '[data-testid="instance-id"]',
  topic: '[data-testid="topic"]',
  room: (name) => `[data-testid="room-item"][data-room="${name}"]`,
  record: '[data-testid="record"]',
  recordsStatus: '[data-testid="records-status"]',
  partitionRow: '[data-testid="partition-row"]',
  received: '[data-testid="metric-received"]',
  delivered: '[data-testid="metric-delivered"]',
  inspectInput: '[data-testid="inspect-input"]',
  inspectError: '[data-testid="inspect-error"]',
};

let server;
let browser;
/** the admin page, shared by the tests below (they build on each other) */
let admin;
/** a page on the server's origin that holds chat WebSockets */
let traffic;

// ---------------------------------------------------------------------------
// helpers

/** Every 401 from the admin API that Chromium logs as a console error. */
function track401s(page) {
  page.expected401 = 0;
  page.on('console', (msg) => {
    if (
      msg.type() === 'error' &&
      /status of 401/.test(msg.text()) &&
      /\/api\/admin\//.test(msg.location()?.url ?? '')
    ) {
      page.expected401 += 1;
    }
  });
}

/** page.problems without the 401s the test asked for (with a wrong token). */
function unexpectedProblems(page) {
  const is401 = (p) => /^console\.error: Failed to load resource: the server responded with a status of 401/.test(p);
  const problems = page.problems.filter((p) => !is401(p));
  const count401 = page.problems.length - problems.length;
  if (count401 > page.expected401) problems.push(`${count401 - page.expected401} unexplained 401 console error(s)`);
  return problems;
}

function assertNoProblems(page) {
  assert.deepEqual(unexpectedProblems(page), [], 'no console errors, page errors or CSP violations');
}

const visible = (page, selector) => page.isVisible(selector);
const text = (page, selector) => page.$eval(selector, (n) => n.textContent.trim());
const numberOf = (page, selector) => page.$eval(selector, (n) => Number(n.dataset.value));

async function apiOverview(token = TOKEN) {
  const res = await fetch(`${server.baseUrl}/api/admin/overview`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

/** Open a chat WebSocket inside the traffic page; resolves its index once welcomed. */
function openSocket(room) {
  return traffic.evaluate(async (room) => {
    const sockets = (globalThis.__sockets ??= []);
    const entry = { frames: [] };
    const index = sockets.push(entry) - 1;
    const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws/chat?room=${room}&history=0`);
    entry.ws = ws;
    ws.onmessage = (e) => entry.frames.push(JSON.parse(e.data));
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no welcome in ${room}`)), 15000);
      ws.onerror = () => reject(new Error(`WebSocket error in ${room}`));
      const poll = setInterval(() => {
        if (entry.frames.some((f) => f.type === 'welcome')) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve();
        }
      }, 20);
    });
    return index;
  }, room);
}

/** Send a chat message on socket `index`; resolves the ack (or the error frame). */
function say(index, messageText) {
  return traffic.evaluate(
    async ({ index, messageText }) => {
      const entry = globalThis.__sockets[index];
      const id = `adm-${Math.random().toString(36).slice(2)}`;
      entry.ws.send(JSON.stringify({ type: 'chat_message', text: messageText, client_msg_id: id }));
      const deadline = Date.now() + 15000;
      while (Date.now() < deadline) {
        const frame = entry.frames.find((f) => (f.type === 'ack' || f.type === 'error') && f.client_msg_id === id);
        if (frame) return frame;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no ack for "${messageText}"`);
    },
    { index, messageText },
  );
}

async function signIn(page, token, moderator = 'Test Operator') {
  await page.fill(s.input, token);
  await page.fill('[data-testid="moderator-input"]', moderator);
  await page.press(s.input, 'Enter');
}

/** The records shown, as plain objects. */
function readRecords(page) {
  return evalAll(page, s.record, (nodes) =>
    nodes.map((n) => ({
      offset: Number(n.dataset.offset),
      partition: Number(n.dataset.partition),
      key: n.querySelector('[data-testid="record-key"]')?.textContent ?? '',
      time: n.querySelector('[data-testid="record-time"]')?.textContent ?? '',
      headers: Object.fromEntries(
        [...n.querySelectorAll('[data-testid="record-header"]')].map((h) => [
          h.dataset.name,
          h.querySelector('.rec__hvalue')?.textContent ?? '',
        ]),
      ),
      value: n.querySelector('[data-testid="record-value"]')?.textContent ?? '',
      elementsInValue: [...n.querySelectorAll('[data-testid="record-value"] *')].map((e) => e.tagName.toLowerCase()),
    })),
  );
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf) {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

// ---------------------------------------------------------------------------

describe('admin page (Control Center) against the real server', { timeout: 300000 }, () => {
  let setupError = null;
  before(async () => {
    try {
      if (!chatBinaryAvailable()) {
        throw new Error(`the server binary is missing at ${CHAT_BIN}: build it first (cargo build) or point CHAT_BIN at it`);
      }
      browser = await launchBrowser();
    } catch (err) {
      setupError = err;
    }
  });

  beforeEach(() => {
    if (setupError) throw setupError;
  });

  after(async () => {
    await browser?.close();
    if (server) {
      await server.stop();
      if (process.env.CHAT_TEST_SHOW_LOG) console.log(server.tail(20000));
    }
  });

  test('without CHAT_ADMIN_TOKEN there is no /admin and no admin API (404)', async () => {
    const off = await startChatServer({ env: { CHAT_ADMIN_TOKEN: '' } });
    try {
      const page = await fetch(`${off.baseUrl}/admin`, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 404);
      assert.match(page.headers.get('content-type') ?? '', /application\/json/);
      const body = await page.json();
      assert.equal(body.code, 'not_found');
      assert.equal(body.success, false);
      assert.equal(typeof body.error, 'string');

      const apiCall = await fetch(`${off.baseUrl}/api/admin/overview`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(apiCall.status, 404);
      assert.equal((await apiCall.json()).code, 'not_found');
    } finally {
      await off.stop();
    }
  });

  test('with the token configured: the page with the CSP, an API that wants the token', async () => {
    try {
      server = await startChatServer({ env: { CHAT_ADMIN_TOKEN: TOKEN } });
    } catch (err) {
      setupError = err;
      throw err;
    }
    const res = await fetch(`${server.baseUrl}/admin`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const csp = (res.headers.get('content-security-policy') ?? '').replace(/\s+/g, ' ');
    for (const directive of CSP.split(';').map((d) => d.trim())) {
      assert.ok(csp.includes(directive), `CSP has "${directive}" (got "${csp}")`);
    }
    const html = await res.text();
    assert.match(html, /\/assets\/admin\.js/);
    assert.doesNotMatch(html, new RegExp(TOKEN), 'the page does not hold the token');
    // every stylesheet, script, image and imported module of the page
    const graph = await fetchAssetGraph(server.baseUrl, html);
    for (const { path, status, type } of graph) {
      assert.equal(status, 200, `/assets/${path}`);
      if (path.endsWith('.js')) assert.match(type, /javascript/, `/assets/${path} is served as JavaScript`);
    }
    for (const asset of ['admin.js', 'admin.css', 'css/tokens.css', 'css/components.css', 'js/theme.js', 'js/dom.js', 'js/util.js']) {
      assert.ok(graph.some((a) => a.path === asset), `the page uses /assets/${asset}`);
      const a = await fetch(`${server.baseUrl}/assets/${asset}`);
      assert.equal(a.status, 200, `/assets/${asset}`);
      await a.arrayBuffer();
    }

    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: TOKEN }]) {
      const r = await fetch(`${server.baseUrl}/api/admin/overview`, { headers });
      assert.equal(r.status, 401, JSON.stringify(headers));
      const body = await r.json();
      assert.equal(body.code, 'unauthorized');
      assert.equal(body.success, false);
    }
    const ok = await apiOverview();
    assert.equal(ok.status, 200);
    assert.equal(ok.body.overview.topic, server.topic);
    assert.ok(Array.isArray(ok.body.overview.partitions) && ok.body.overview.partitions.length > 0);
  });

  test('asks for the token; a wrong token shows an error and no data', async () => {
    admin = await newPage(browser, { width: 1280, height: 800, colorScheme: 'dark' });
    track401s(admin);
    await admin.goto(`${server.baseUrl}/admin`);
    await admin.waitForSelector(s.input, { state: 'visible' });

    assert.equal(await visible(admin, s.dashboard), false, 'no dashboard before signing in');
    assert.equal(await visible(admin, s.signOut), false);
    assert.equal(await admin.$eval(s.input, (n) => n.type), 'password');
    assert.equal(await admin.$eval(s.input, (n) => n.labels[0]?.textContent.trim()), 'Admin token');
    assert.equal(await admin.evaluate(() => document.activeElement?.id), 'token-input', 'the token box has the focus');
    assert.equal(await text(admin, s.status), 'Signed out');
    assert.equal(await admin.$eval(s.status, (n) => n.getAttribute('aria-live')), 'polite');

    const overviewCalls = [];
    admin.on('request', (req) => req.url().includes('/api/admin/overview') && overviewCalls.push(req.headers().authorization));
    await signIn(admin, `${TOKEN}-wrong`);
    await admin.waitForSelector(s.error, { state: 'visible' });
    assert.match(await text(admin, s.error), /not accepted/i);
    assert.match(await text(admin, s.error), /401/);
    assert.equal(await admin.$eval(s.input, (n) => n.getAttribute('aria-invalid')), 'true');
    assert.equal(await visible(admin, s.dashboard), false, 'still no dashboard');
    assert.equal(await text(admin, s.instance), '–', 'no data');
    assert.equal(await admin.$$eval(s.partitionRow, (n) => n.length), 0);
    assert.equal(await admin.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), null, 'a wrong token is not kept');
    assert.deepEqual(overviewCalls, [`Bearer ${TOKEN}-wrong`], 'the token goes in the Authorization header');

    // nothing polls while signed out
    await sleep(2500);
    assert.equal(overviewCalls.length, 1);
    assert.equal(admin.expected401, 1, 'Chromium logged the one 401');
    assertNoProblems(admin);
  });

  test('the right token shows the overview, refreshed every 2 s', async () => {
    await signIn(admin, TOKEN);
    await admin.waitForSelector(s.dashboard, { state: 'visible' });
    assert.equal(await visible(admin, s.login), false);
    assert.equal(await visible(admin, s.error), false);
    assert.equal(await visible(admin, s.signOut), true);

    const { body } = await apiOverview();
    assert.equal(await text(admin, s.instance), body.overview.instance);
    assert.equal(await text(admin, s.topic), server.topic);
    const rows = await evalAll(admin, s.partitionRow, (nodes) =>
      nodes.map((n) => Object.fromEntries([...n.children].map((c) => [c.dataset.col, c.textContent.trim()]))),
    );
    assert.equal(rows.length, body.overview.partitions.length);
    assert.deepEqual(
      rows.map((r) => r.partition),
      body.overview.partitions.map((p) => p.partition).sort((x, y) => x - y).map((n) => `p${n}`),
    );
    for (const r of rows) for (const col of ['low', 'high', 'position', 'lag']) assert.match(r[col], /^\d[\d,]*$/, `${col}: ${r[col]}`);

    assert.equal(await admin.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), TOKEN, 'kept for this tab');
    assert.equal(await admin.evaluate((k) => localStorage.getItem(k), TOKEN_KEY), null, 'never in localStorage');
    assert.equal(await admin.$eval(s.status, (n) => n.dataset.state), 'live');
    assert.equal(await text(admin, s.status), 'Live');

    // "last updated" moves on by itself
    const first = await admin.$eval(s.updated, (n) => Number(n.dataset.ts));
    assert.ok(first > 0);
    const next = await waitFor(
      async () => {
        const ts = await admin.$eval(s.updated, (n) => Number(n.dataset.ts));
        return ts > first ? ts : null;
      },
      { timeout: 8000, message: 'a refresh' },
    );
    assert.ok(next - first >= 1500 && next - first < 6000, `refreshed after ${next - first} ms`);
    assert.match(await text(admin, s.updated), /^\d\d:\d\d:\d\d$/);
    assertNoProblems(admin);
  });

  test('chat traffic: the room, its records, the metrics and the end offset', async () => {
    traffic = await newPage(browser, { width: 800, height: 600 });
    // /admin: same origin, and no favicon request (a 404 in the console)
    await traffic.goto(`${server.baseUrl}/admin`);
    const a = await openSocket(ROOM);
    await openSocket(ROOM); // a second person in the room
    const c = await openSocket(ROOM2);
    await openSocket(ROOM3);

    for (const t of TEXTS) {
      const ack = await say(a, t);
      assert.equal(ack.type, 'ack', `sent "${t}": ${JSON.stringify(ack)}`);
    }
    assert.equal((await say(c, 'Cozy Sunday: Yotsuba&! and a cup of tea 🍵')).type, 'ack');
    // a refusal, so that "errors by code" has something to show
    const refused = await say(c, '   ');
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'empty_text');

    // the Rooms panel lists the room with its two connections
    await waitFor(async () => (await admin.$(s.room(ROOM))) !== null, { timeout: 10000, message: `${ROOM} in the Rooms panel` });
    await waitFor(async () => (await admin.$eval(s.room(ROOM), (n) => n.dataset.connections)) === '2', {
      timeout: 10000,
      message: `2 connections in ${ROOM}`,
    });
    assert.match(await admin.$eval(s.room(ROOM), (n) => n.textContent), /shonen-jump\s*2/);
    assert.ok(await admin.$(s.room(ROOM2)), `${ROOM2} listed`);

    // clicking it shows its records
    await admin.click(s.room(ROOM));
    assert.equal(await admin.$eval(s.room(ROOM), (n) => n.getAttribute('aria-pressed')), 'true');
    await waitFor(async () => (await admin.$$(s.record)).length >= 3, { timeout: 10000, message: '3 records' });
    assert.match(await text(admin, '[data-testid="records-room"]'), /#shonen-jump/);
    const records = await readRecords(admin);
    assert.equal(records.length, 3, 'only this room’s records');
    assert.deepEqual(
      records.map((r) => r.offset),
      [...records.map((r) => r.offset)].sort((x, y) => y - x),
      'newest first',
    );
    const shownTexts = [];
    for (const r of records) {
      assert.equal(r.key, ROOM, 'key = room');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers.schema, 'chat_message/v1');
      assert.ok(r.headers.producer, 'producer header');
      assert.match(r.time, /^\d\d:\d\d:\d\d\.\d{3}$/);
      assert.match(r.value, /^\{\n {2}"/, 'pretty-printed JSON');
      const value = JSON.parse(r.value);
      assert.equal(value.type, 'chat_message');
      assert.equal(value.room, ROOM);
      shownTexts.push(value.text);
      assert.ok(r.elementsInValue.every((tag) => tag === 'code' || tag === 'span'), `no HTML from the value: ${r.elementsInValue}`);
    }
    assert.deepEqual(shownTexts.sort(), [...TEXTS].sort(), 'the message texts, literally');
    assert.equal(await admin.$$eval('[data-testid="record-list"] b', (n) => n.length), 0, '<b> stays text');

    // metrics: received ≥ 3 (4 were sent here), delivered, errors by code, latency
    await waitFor(async () => (await numberOf(admin, s.received)) >= 4, { timeout: 8000, message: 'received ≥ 4' });
    assert.ok((await numberOf(admin, s.received)) >= 3);
    assert.ok((await numberOf(admin, s.delivered)) >= 3, 'delivered');
    await waitFor(async () => (await admin.$('[data-testid="error-row"][data-code="empty_text"]')) !== null, {
      timeout: 8000,
      message: 'empty_text in errors by code',
    });
    assert.ok((await numberOf(admin, '[data-testid="metric-errors"]')) >= 1);
    assert.match(await text(admin, '[data-testid="metric-produce-p50"]'), /^>?\s?[\d.]+ (ms|s)$/);
    assert.match(await text(admin, '[data-testid="metric-produce-p99"]'), /^>?\s?[\d.]+ (ms|s)$/);
    await waitFor(async () => /ms|s$/.test(await text(admin, '[data-testid="metric-e2e-p50"]')), {
      timeout: 8000,
      message: 'end-to-end latency',
    });
    assert.ok((await admin.$$('[data-testid="lag-row"]')).length >= 1, 'consumer lag per partition');

    // the partitions table: the room's partition has an end offset ≥ 3
    const partition = records[0].partition;
    await waitFor(
      async () =>
        Number(await admin.$eval(`${s.partitionRow}[data-partition="${partition}"] [data-col="high"]`, (n) => n.textContent)) >= 3,
      { timeout: 8000, message: `end offset ≥ 3 in p${partition}` },
    );

    // a new message appears without a click (the 2 s refresh)
    const extra = 'Plot twist: the mecha was the friends we made along the way 🤖';
    assert.equal((await say(a, extra)).type, 'ack');
    await waitFor(async () => (await readRecords(admin))[0]?.value.includes('the friends we made'), {
      timeout: 8000,
      message: 'the new record on top',
    });
    assertNoProblems(admin);
    assertNoProblems(traffic);
  });

  test('pauses while the tab is hidden and resumes when it is back', async () => {
    let calls = 0;
    const count = (req) => req.url().includes('/api/admin/overview') && (calls += 1);
    admin.on('request', count);
    await admin.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitFor(async () => (await admin.$eval(s.status, (n) => n.dataset.state)) === 'paused', { message: 'paused' });
    assert.match(await text(admin, s.status), /paused/i);
    await sleep(600); // a request already on its way may still land
    calls = 0;
    await sleep(4500);
    assert.equal(calls, 0, 'no refresh while hidden');

    await admin.evaluate(() => {
      delete document.hidden;
      delete document.visibilityState;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitFor(async () => (await admin.$eval(s.status, (n) => n.dataset.state)) === 'live', { message: 'live again' });
    await waitFor(() => calls >= 2, { timeout: 8000, message: 'refreshing again' });
    admin.off('request', count);
    assertNoProblems(admin);
  });

  test('keyboard: the token survives a reload, rooms and the inspect form work with keys', async () => {
    await admin.reload();
    await admin.waitForSelector(s.dashboard, { state: 'visible' });
    assert.equal(await visible(admin, s.login), false, 'signed in from sessionStorage');
    await admin.waitForSelector(s.room(ROOM2));

    await admin.focus(s.room(ROOM2));
    await admin.keyboard.press('Enter');
    await waitFor(async () => (await readRecords(admin)).some((r) => r.key === ROOM2), { message: `${ROOM2} records` });
    assert.equal(await admin.$eval(s.room(ROOM2), (n) => n.getAttribute('aria-pressed')), 'true');
    assert.equal(await admin.$eval(s.room(ROOM), (n) => n.getAttribute('aria-pressed')), 'false');
    // the focused room button keeps the focus across refreshes
    await sleep(2500);
    assert.equal(await admin.evaluate(() => document.activeElement?.dataset.room), ROOM2);

    await admin.focus(s.inspectInput);
    await admin.keyboard.type('Not a room!');
    await admin.keyboard.press('Enter');
    await admin.waitForSelector(s.inspectError, { state: 'visible' });
    await admin.fill(s.inspectInput, '');
    await admin.keyboard.type(ROOM);
    await admin.keyboard.press('Enter');
    await waitFor(async () => (await readRecords(admin)).length >= 4 && (await readRecords(admin))[0].key === ROOM, {
      message: `${ROOM} records again`,
    });
    assert.equal(await visible(admin, s.inspectError), false);

    // an empty room: no records, said so
    await admin.fill(s.inspectInput, 'quiet-corner');
    await admin.press(s.inspectInput, 'Enter');
    await waitFor(async () => /no records/i.test(await text(admin, s.recordsStatus)), { message: 'no records' });
    assert.equal((await readRecords(admin)).length, 0);
    assertNoProblems(admin);
  });

  test('screenshot at 1280x800, dark, with data', async () => {
    // chatter in the other rooms while the shot is taken, so that the rate
    // sparklines have a shape (the selected room's records stay as they are)
    const [chatty, quiet] = await Promise.all([openSocket(ROOM2), openSocket(ROOM3)]);
    const lines = ['ramen or onigiri?', 'onigiri, always 🍙', 'Mobile Suit marathon tonight', 'Yotsuba&! chapter 16 👀'];
    let chatter = true;
    const background = (async () => {
      for (let i = 0; chatter; i += 1) {
        await say(i % 3 ? chatty : quiet, lines[i % lines.length]);
        await sleep([150, 300, 700, 250, 900, 400][i % 6]);
      }
    })().catch((err) => err);
    try {
      await admin.click(s.room(ROOM));
      await waitFor(async () => (await readRecords(admin))[0]?.key === ROOM, { message: `${ROOM} records` });
      await admin.evaluate(() => document.activeElement?.blur());
      await admin.mouse.move(4, 796); // no hover highlight in the picture
      assert.equal(await admin.evaluate(() => document.documentElement.dataset.theme), 'dark');
      await sleep(9000); // a few refreshes: the sparklines have points, the new-record highlight is gone
    } finally {
      chatter = false;
    }
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    await admin.screenshot({ path: SCREENSHOT, animations: 'disabled' });
    const buf = await readFile(SCREENSHOT);
    assert.deepEqual(pngSize(buf), { width: 1280, height: 800 });
    assert.ok(buf.length > 40000, `the screenshot has content (${buf.length} bytes)`);
    if (process.env.UPDATE_DOCS_SCREENSHOTS) {
      await mkdir(path.dirname(DOCS_SCREENSHOT), { recursive: true });
      await copyFile(SCREENSHOT, DOCS_SCREENSHOT);
    }
    const chatterError = await background;
    if (chatterError) throw chatterError;
    assertNoProblems(admin);
  });

  test('360 px wide: no horizontal scroll, signed in or not', async () => {
    await admin.setViewportSize({ width: 360, height: 780 });
    await sleep(300);
    const wide = await noHorizontalScroll(admin);
    assert.ok(wide.scrollWidth <= wide.clientWidth, `no horizontal scroll on the dashboard: ${JSON.stringify(wide)}`);
    // every panel fits the viewport
    const overflowing = await evalAll(admin, '.glass', (nodes) =>
      nodes.filter((n) => n.getClientRects().length && n.getBoundingClientRect().right > window.innerWidth + 0.5).map((n) => n.className),
    );
    assert.deepEqual(overflowing, []);
    await admin.screenshot({ path: path.join(ARTIFACTS_DIR, 'admin-360.png'), fullPage: true, animations: 'disabled' });

    const phone = await newPage(browser, { width: 360, height: 740, colorScheme: 'light' });
    await phone.goto(`${server.baseUrl}/admin`);
    await phone.waitForSelector(s.input, { state: 'visible' });
    const login = await noHorizontalScroll(phone);
    assert.ok(login.scrollWidth <= login.clientWidth, `no horizontal scroll on the sign-in: ${JSON.stringify(login)}`);
    const box = await phone.$eval(s.input, (n) => n.getBoundingClientRect().toJSON());
    assert.ok(box.height >= 36 && box.width >= 250, `a usable token box: ${JSON.stringify(box)}`);
    assertNoProblems(phone);
    await phone.context().close();
    await admin.setViewportSize({ width: 1280, height: 800 });
    assertNoProblems(admin);
  });

  test('reduced motion: no animations', async () => {
    const calm = await newPage(browser, { width: 1280, height: 800, reducedMotion: 'reduce' });
    await calm.goto(`${server.baseUrl}/admin`);
    await signIn(calm, TOKEN);
    await calm.waitForSelector(s.dashboard, { state: 'visible' });
    const animated = await calm.evaluate(() =>
      [...document.querySelectorAll('*')]
        .filter((n) => getComputedStyle(n).animationName !== 'none')
        .map((n) => n.className?.baseVal ?? n.className),
    );
    assert.deepEqual(animated, []);
    assertNoProblems(calm);
    await calm.context().close();
  });

  test('sign out forgets the token and the data', async () => {
    await admin.click(s.signOut);
    await admin.waitForSelector(s.input, { state: 'visible' });
    assert.equal(await visible(admin, s.dashboard), false);
    assert.equal(await admin.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), null);
    assert.equal(await text(admin, s.instance), '–');
    assert.equal(await admin.$$eval(s.record, (n) => n.length), 0);
    assert.equal(await admin.$$eval('[data-testid="room-item"]', (n) => n.length), 0);
    assert.equal(await text(admin, s.status), 'Signed out');
    assert.equal(await admin.evaluate(() => document.activeElement?.id), 'token-input');

    // and stays signed out after a reload
    await admin.reload();
    await admin.waitForSelector(s.input, { state: 'visible' });
    assert.equal(await visible(admin, s.dashboard), false);
    assertNoProblems(admin);
    assertNoProblems(traffic);
  });
});
