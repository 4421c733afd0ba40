// End-to-end: the real server binary (CHAT_BIN, default target/debug/anime-chat)
// with Kafka (KAFKA_BOOTSTRAP_SERVERS, or the server's embedded one when unset),
// two browser contexts chatting with each other, and a server restart.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CHAT_BIN,
  CSP,
  chatBinaryAvailable,
  connectionState,
  launchBrowser,
  newPage,
  noHorizontalScroll,
  readMessages,
  sel,
  sendMessage,
  startChatServer,
  waitFor,
  waitForState,
} from './helpers.mjs';

const ROOM = `e2e-${randomBytes(4).toString('hex')}`;
const RECONNECT_TIMEOUT_MS = 45000;

let server;
let browser;
let alice;
let bob;

async function open(options = {}) {
  const page = await newPage(browser, options);
  await page.goto(`${server.baseUrl}/?room=${ROOM}`);
  await waitForState(page, 'connected');
  return page;
}

const nameOf = (page) => page.$eval(sel.myName, (n) => n.textContent.trim());
const texts = async (page) => (await readMessages(page)).map((m) => m.text);

async function waitForText(page, text, timeout = 15000) {
  await waitFor(async () => (await texts(page)).includes(text), { timeout, message: `"${text}" on the page` });
  return (await readMessages(page)).find((m) => m.text === text);
}

async function waitDelivered(page, text, timeout = 15000) {
  await waitFor(
    async () => (await readMessages(page)).some((m) => m.text === text && m.own && m.status === 'delivered'),
    { timeout, message: `"${text}" delivered` },
  );
}

function assertNoDuplicates(msgs) {
  const ids = msgs.map((m) => m.messageId).filter(Boolean);
  assert.equal(new Set(ids).size, ids.length, `no message_id twice: ${JSON.stringify(msgs.map((m) => m.text))}`);
}

describe('chat against the real server', { timeout: 240000 }, () => {
  let setupError = null;
  before(async () => {
    // A failure here is reported by every test below (rather than as a
    // failed hook with "# fail 0"), so a missing or broken server is loud.
    try {
      if (!chatBinaryAvailable()) {
        throw new Error(`the server binary is missing at ${CHAT_BIN}: build it first (cargo build) or point CHAT_BIN at it`);
      }
      server = await startChatServer();
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

  test('serves the page and assets with the CSP, not the tests', async () => {
    const health = await fetch(`${server.baseUrl}/health`);
    assert.equal(health.status, 200);
    assert.equal(typeof (await health.json()), 'object');

    // A browser asks for HTML (the server answers plain API clients with JSON).
    const index = await fetch(`${server.baseUrl}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    const csp = (index.headers.get('content-security-policy') ?? '').replace(/\s+/g, ' ');
    for (const directive of CSP.split(';').map((d) => d.trim())) {
      assert.ok(csp.includes(directive), `CSP has "${directive}" (got "${csp}")`);
    }
    const html = await index.text();
    assert.match(html, /\/assets\/app\.js/);

    for (const asset of ['style.css', 'app.js', 'js/socket.js', 'js/view.js', 'js/messages.js']) {
      const res = await fetch(`${server.baseUrl}/assets/${asset}`);
      assert.equal(res.status, 200, `/assets/${asset}`);
      await res.arrayBuffer();
    }
    const js = await fetch(`${server.baseUrl}/assets/app.js`);
    assert.match(js.headers.get('content-type') ?? '', /javascript/, 'ES modules need a JavaScript MIME type');
    await js.arrayBuffer();

    for (const hidden of ['tests/helpers.mjs', 'tests/package.json']) {
      const res = await fetch(`${server.baseUrl}/assets/${hidden}`);
      assert.equal(res.status, 404, `/assets/${hidden} must not be served`);
      await res.arrayBuffer();
    }
  });

  test('two people chat both ways', async () => {
    alice = await open({ width: 1280, height: 800 });
    bob = await open({ width: 1280, height: 800 });
    const aliceName = await nameOf(alice);
    const bobName = await nameOf(bob);
    assert.ok(aliceName && aliceName !== '…', 'alice got a name from welcome');
    assert.ok(bobName && bobName !== '…', 'bob got a name from welcome');
    await waitFor(async () => (await alice.$eval(sel.online, (n) => n.textContent)) === '2', {
      message: 'alice sees 2 online',
    });

    await sendMessage(alice, 'Konbanwa from Alice 🌸');
    await waitDelivered(alice, 'Konbanwa from Alice 🌸');
    const seenByBob = await waitForText(bob, 'Konbanwa from Alice 🌸');
    assert.equal(seenByBob.author, aliceName);
    assert.equal(seenByBob.own, false);
    assert.equal(seenByBob.side, 'left');

    await sendMessage(bob, 'Yo Alice, Bob here ✨');
    await waitDelivered(bob, 'Yo Alice, Bob here ✨');
    const seenByAlice = await waitForText(alice, 'Yo Alice, Bob here ✨');
    assert.equal(seenByAlice.author, bobName);
    assert.equal(seenByAlice.side, 'left');

    await sleep(300); // let any stray duplicate arrive
    for (const [page, me] of [
      [alice, aliceName],
      [bob, bobName],
    ]) {
      const msgs = await readMessages(page);
      assert.deepEqual(msgs.map((m) => m.text), ['Konbanwa from Alice 🌸', 'Yo Alice, Bob here ✨']);
      assertNoDuplicates(msgs);
      for (const m of msgs) {
        if (m.own) {
          assert.equal(m.side, 'right');
          assert.equal(m.status, 'delivered');
          assert.match(m.statusText, /Delivered/);
          assert.equal(m.author, me);
          assert.ok(m.messageId, 'own message carries the message_id from the ack');
        } else {
          assert.equal(m.side, 'left');
        }
      }
      assert.equal(msgs.filter((m) => m.own).length, 1);
      assert.equal(await page.$eval(sel.count, (n) => n.textContent), '2');
    }
  });

  test('HTML is shown as text, never run', async () => {
    const evil = '<img src=x onerror=window.__xss=1>';
    await sendMessage(alice, evil);
    await waitDelivered(alice, evil);
    await waitForText(bob, evil);
    await sleep(300);
    for (const page of [alice, bob]) {
      assert.equal(await page.evaluate(() => window.__xss), undefined);
      assert.equal(await page.$$eval('[data-testid="message-list"] img', (n) => n.length), 0);
    }
  });

  test('server restart: both reconnect, the message typed offline goes out', async () => {
    await server.stop();
    await waitForState(alice, 'reconnecting');
    await waitForState(bob, 'reconnecting');
    assert.match((await connectionState(alice)).label, /Reconnecting/);
    await waitFor(async () => /Reconnecting in \d+s/.test((await connectionState(bob)).label), {
      message: 'a countdown on bob\'s page',
    });

    await sendMessage(alice, 'typed while the server was down 🛰️');
    await waitFor(
      async () => (await readMessages(alice)).some((m) => m.text === 'typed while the server was down 🛰️' && m.status === 'waiting'),
      { message: 'queued message shown as waiting' },
    );
    // The server keeps no history for late joiners, so alice's queued message
    // must not go out before bob is back: keep alice's browser offline until then
    // (which also shows the "offline" state).
    await alice.context().setOffline(true);
    await waitForState(alice, 'offline');

    await server.start(); // same port, same topic
    await waitForState(bob, 'connected', RECONNECT_TIMEOUT_MS);
    assert.equal((await readMessages(alice)).at(-1).status, 'waiting', 'still queued while offline');
    await alice.context().setOffline(false);
    await waitForState(alice, 'connected', RECONNECT_TIMEOUT_MS);

    await waitDelivered(alice, 'typed while the server was down 🛰️');
    const got = await waitForText(bob, 'typed while the server was down 🛰️');
    assert.equal(got.side, 'left');

    await sendMessage(bob, 'welcome back 🎉');
    await waitForText(alice, 'welcome back 🎉');
    await waitDelivered(bob, 'welcome back 🎉');
    await sleep(300);
    for (const page of [alice, bob]) {
      const msgs = await readMessages(page);
      assertNoDuplicates(msgs);
      assert.deepEqual(msgs.map((m) => m.text).slice(-2), ['typed while the server was down 🛰️', 'welcome back 🎉']);
      assert.equal(new Set(msgs.map((m) => m.text)).size, msgs.length, 'no text shown twice');
    }
  });

  test('no horizontal scroll at 360 px and 1280 px', async () => {
    await sendMessage(alice, `${'longword'.repeat(60)} 🐉🎴`);
    await waitForText(bob, `${'longword'.repeat(60)} 🐉🎴`);
    for (const [width, height] of [
      [360, 780],
      [1280, 800],
    ]) {
      for (const page of [alice, bob]) {
        await page.setViewportSize({ width, height });
        await sleep(150);
        const m = await noHorizontalScroll(page);
        assert.ok(m.scrollWidth <= m.clientWidth, `${width}px: ${JSON.stringify(m)}`);
      }
    }
  });

  test('theme toggle persists across reload', async () => {
    const before = await alice.evaluate(() => document.documentElement.dataset.theme);
    await alice.click(sel.theme);
    const toggled = before === 'dark' ? 'light' : 'dark';
    assert.equal(await alice.evaluate(() => document.documentElement.dataset.theme), toggled);
    await alice.reload();
    await waitForState(alice, 'connected');
    assert.equal(await alice.evaluate(() => document.documentElement.dataset.theme), toggled);
    // a reload is a new visitor: empty room view, fresh name, still no errors
    assert.ok(await nameOf(alice));
  });

  test('the pages logged no errors and no CSP violations', () => {
    assert.deepEqual(alice.problems, []);
    assert.deepEqual(bob.problems, []);
  });
});
