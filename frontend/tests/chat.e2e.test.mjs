// End-to-end: the real server binary (CHAT_BIN, default target/debug/anime-chat)
// with Kafka (KAFKA_BOOTSTRAP_SERVERS, or the server's embedded one when unset),
// two browser contexts chatting with each other: presence and typing, a
// resume after being offline (since=<offset>), a server restart, rooms.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { useRealServer } from './e2e.mjs';
import {
  CSP,
  connectionState,
  evalAll,
  fetchAssetGraph,
  noHorizontalScroll,
  readMessages,
  sel,
  sendMessage,
  waitFor,
  waitForState,
} from './helpers.mjs';

const ROOM = `e2e-${randomBytes(4).toString('hex')}`;
const ROOM2 = `${ROOM}-two`;
const RECONNECT_TIMEOUT_MS = 45000;

let alice;
let bob;

/** How many bubbles show exactly this text. */
const countText = async (page, text) => (await texts(page)).filter((t) => t === text).length;
const textOf = (page, selector) => page.$eval(selector, (n) => n.textContent.trim());
const onlineNames = (page) =>
  evalAll(page, '[data-testid="presence-person"]', (nodes) => nodes.map((n) => ({ name: n.dataset.name, me: n.dataset.me === 'true' })));
const lastOffset = (page) => page.evaluate(() => globalThis.animeChat.lastOffset);

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
  const e2e = useRealServer();
  /** A page in ROOM (page.wsUrls: every WebSocket it opens, to check the room and since= parameters). */
  const open = async (options = {}) => (await e2e.openChat(ROOM, { width: 1280, height: 800, ...options })).page;

  test('serves the page and assets with the CSP, not the tests', async () => {
    const health = await fetch(`${e2e.server.baseUrl}/health`);
    assert.equal(health.status, 200);
    assert.equal(typeof (await health.json()), 'object');

    // A browser asks for HTML (the server answers plain API clients with JSON).
    const index = await fetch(`${e2e.server.baseUrl}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    const csp = (index.headers.get('content-security-policy') ?? '').replace(/\s+/g, ' ');
    for (const directive of CSP.split(';').map((d) => d.trim())) {
      assert.ok(csp.includes(directive), `CSP has "${directive}" (got "${csp}")`);
    }
    const html = await index.text();
    assert.match(html, /\/assets\/app\.js/);

    // every stylesheet, script, image and imported module of the page
    const graph = await fetchAssetGraph(e2e.server.baseUrl, html);
    for (const { path, status, type } of graph) {
      assert.equal(status, 200, `/assets/${path}`);
      if (path.endsWith('.js')) assert.match(type, /javascript/, `/assets/${path} is served as JavaScript`);
    }
    for (const asset of ['style.css', 'app.js', 'js/socket.js', 'js/view.js', 'js/messages.js', 'js/people.js', 'js/rooms.js', 'js/view/panel.js']) {
      assert.ok(graph.some((a) => a.path === asset), `the page uses /assets/${asset}`);
      const res = await fetch(`${e2e.server.baseUrl}/assets/${asset}`);
      assert.equal(res.status, 200, `/assets/${asset}`);
      await res.arrayBuffer();
    }
    const js = await fetch(`${e2e.server.baseUrl}/assets/app.js`);
    assert.match(js.headers.get('content-type') ?? '', /javascript/, 'ES modules need a JavaScript MIME type');
    await js.arrayBuffer();

    for (const hidden of ['tests/helpers.mjs', 'tests/package.json']) {
      const res = await fetch(`${e2e.server.baseUrl}/assets/${hidden}`);
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

  test('presence: each page lists both names (its own marked); typing shows on the other page', async () => {
    const aliceName = await nameOf(alice);
    const bobName = await nameOf(bob);
    for (const [page, me, other] of [
      [alice, aliceName, bobName],
      [bob, bobName, aliceName],
    ]) {
      await waitFor(async () => (await onlineNames(page)).length === 2, { message: 'two people online' });
      const names = await onlineNames(page);
      assert.deepEqual(names, [
        { name: me, me: true },
        { name: other, me: false },
      ]);
      assert.equal(await textOf(page, sel.online), '2');
    }

    await alice.click(sel.input);
    await alice.keyboard.type('I am typing something long', { delay: 40 });
    await waitFor(async () => !(await bob.$eval('[data-testid="typing-indicator"]', (n) => n.hidden)), {
      message: 'typing indicator on bob\'s page',
    });
    assert.equal(await textOf(bob, '[data-testid="typing-text"]'), `${aliceName} is typing…`);
    assert.equal(await alice.$eval('[data-testid="typing-indicator"]', (n) => n.hidden), true, 'never for yourself');
    // alice stops: gone after ~4 s
    await waitFor(async () => bob.$eval('[data-testid="typing-indicator"]', (n) => n.hidden), {
      timeout: 8000,
      message: 'typing indicator gone',
    });
    await alice.fill(sel.input, '');
  });

  test('offline and back: the page resumes with since=<last offset> and shows exactly the missed messages', async () => {
    const before = await texts(bob);
    const since = await lastOffset(bob);
    assert.equal(typeof since, 'number', 'bob has seen offsets');
    const sockets = bob.wsUrls.length;
    await bob.context().setOffline(true);
    await waitForState(bob, 'offline');

    const missed = ['missed one 🌙', 'missed two 🌸', 'missed three ✨'];
    for (const t of missed) {
      await sendMessage(alice, t);
      await waitDelivered(alice, t);
    }
    await sleep(300);
    assert.deepEqual(await texts(bob), before, 'nothing reaches bob while offline');

    await bob.context().setOffline(false);
    await waitForState(bob, 'connected', RECONNECT_TIMEOUT_MS);
    for (const t of missed) await waitForText(bob, t);
    const url = bob.wsUrls.at(-1);
    assert.ok(bob.wsUrls.length > sockets, 'a new connection');
    assert.equal(url.searchParams.get('room'), ROOM);
    assert.equal(url.searchParams.get('since'), String(since), `reconnect URL ${url}`);
    await sleep(500);
    const after = await texts(bob);
    assert.deepEqual(after, [...before, ...missed], 'the missed messages, once each, in order');
    assertNoDuplicates(await readMessages(bob));
    assert.equal(await bob.$$eval('[data-testid="resume-divider"]', (n) => n.length), 1);
    assert.equal(await bob.$$eval('[data-testid="history-notice"]', (n) => n.length), 0, 'recovered: nothing lost');
    assert.equal(await lastOffset(bob), await lastOffset(alice));
  });

  test('server restart: both reconnect, the message typed offline goes out', async () => {
    await e2e.server.stop();
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

    await e2e.server.start(); // same port, same topic
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
      assert.equal(page.wsUrls.at(-1).searchParams.has('since'), true, 'reconnected with since');
    }

    // another restart right after messages: every bubble still exactly once
    const both = ['one more before the restart', 'and one more 🔁'];
    await sendMessage(alice, both[0]);
    await sendMessage(bob, both[1]);
    for (const page of [alice, bob]) for (const t of both) await waitForText(page, t);
    await e2e.server.restart();
    await waitForState(alice, 'connected', RECONNECT_TIMEOUT_MS);
    await waitForState(bob, 'connected', RECONNECT_TIMEOUT_MS);
    await sendMessage(alice, 'after the second restart');
    for (const page of [alice, bob]) await waitForText(page, 'after the second restart');
    await sleep(500);
    for (const page of [alice, bob]) {
      const all = await texts(page);
      for (const t of new Set(all)) assert.equal(await countText(page, t), 1, `"${t}" once on the page`);
      assertNoDuplicates(await readMessages(page));
      for (const t of [...both, 'after the second restart', 'missed one 🌙', 'Konbanwa from Alice 🌸']) {
        assert.equal(await countText(page, t), 1, `"${t}" exactly once`);
      }
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

  test('rooms: switching, messages stay in their room, the room list, back button', async () => {
    await alice.setViewportSize({ width: 1280, height: 800 });
    await bob.setViewportSize({ width: 1280, height: 800 });
    const aliceSockets = alice.wsUrls.length;

    // alice creates a second room by name (typed in upper case: lower-cased)
    await alice.fill('[data-testid="join-input"]', ROOM2.toUpperCase());
    await alice.press('[data-testid="join-input"]', 'Enter');
    await waitForState(alice, 'connected');
    assert.equal(await alice.evaluate(() => location.search), `?room=${ROOM2}`);
    assert.equal(alice.wsUrls.length, aliceSockets + 1);
    assert.equal(alice.wsUrls.at(-1).searchParams.get('room'), ROOM2);
    assert.equal(alice.wsUrls.at(-1).searchParams.has('since'), false);
    assert.equal(await textOf(alice, '[data-testid="room-name"]'), ROOM2);
    assert.deepEqual(await texts(alice), [], 'a new room starts empty');
    assert.match(await alice.title(), new RegExp(`#${ROOM2}`));
    const aliceName = await nameOf(alice); // every connection gets a fresh name

    // the server's room list (all instances) has both rooms
    const rooms = await (await fetch(`${e2e.server.baseUrl}/api/rooms`)).json();
    assert.deepEqual(
      rooms.filter((r) => r.room === ROOM || r.room === ROOM2).sort((a, b) => a.room.localeCompare(b.room)),
      [
        { room: ROOM, active_connections: 1 },
        { room: ROOM2, active_connections: 1 },
      ],
    );
    // bob's page shows it (refreshed every ~10 s)
    await waitFor(async () => (await bob.$(`[data-testid="room-link"][data-room="${ROOM2}"]`)) !== null, {
      timeout: 15000,
      message: `${ROOM2} in bob's room list`,
    });
    assert.equal(await textOf(bob, `[data-testid="room-link"][data-room="${ROOM2}"] [data-testid="room-link-count"]`), '1');
    await waitFor(async () => (await onlineNames(bob)).length === 1, { message: 'alice left bob\'s room' });

    // messages stay in their room
    await sendMessage(alice, 'only in room two');
    await waitDelivered(alice, 'only in room two');
    await sendMessage(bob, 'only in room one');
    await waitDelivered(bob, 'only in room one');
    await sleep(500);
    assert.equal(await countText(bob, 'only in room two'), 0);
    assert.equal(await countText(alice, 'only in room one'), 0);

    // bob follows through his room list: the room's history, then live
    await bob.click(`[data-testid="room-link"][data-room="${ROOM2}"]`);
    await waitForState(bob, 'connected');
    assert.equal(await bob.evaluate(() => location.search), `?room=${ROOM2}`);
    const seen = await waitForText(bob, 'only in room two');
    assert.equal(seen.author, aliceName);
    await bob.waitForSelector('[data-testid="history-divider"]');
    assert.deepEqual(await texts(bob), ['only in room two']);
    const bobName = await nameOf(bob);
    await waitFor(async () => (await onlineNames(alice)).map((p) => p.name).sort().join() === [aliceName, bobName].sort().join(), {
      message: 'bob in alice\'s online list',
    });
    await sendMessage(alice, 'hi bob, welcome to room two');
    await waitForText(bob, 'hi bob, welcome to room two');

    // back: bob is in the first room again, with its history
    await bob.goBack();
    await waitForState(bob, 'connected');
    assert.equal(await bob.evaluate(() => location.search), `?room=${ROOM}`);
    assert.equal(bob.wsUrls.at(-1).searchParams.get('room'), ROOM);
    await waitForText(bob, 'only in room one');
    await sleep(300);
    assert.equal(await countText(bob, 'hi bob, welcome to room two'), 0);
    assert.equal(await countText(bob, 'only in room one'), 1);
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
