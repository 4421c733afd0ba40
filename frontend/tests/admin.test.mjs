// The Control Center's moderation in Chromium against a scripted admin API
// (admin-mock.mjs through page.route; no server binary needed): sign-in
// with the moderator's name, a room's messages with delete, mute and ban
// from a name, lifting from the moderation panel, slow mode, reports, the
// audit trail, an older server without moderation, layout at 360 and
// 1280 px. Every request must carry the bearer token, every moderation call
// the moderator's name; no console errors, page errors or CSP violations.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { ADMIN_TOKEN, MockAdmin } from './admin-mock.mjs';
import { evalAll, launchBrowser, newPage, noHorizontalScroll, startStaticServer, waitFor } from './helpers.mjs';

const MODERATOR = 'Mod Mika';
const ROOM = 'shonen-jump';
const EVIL = '<img src=x onerror=window.__xss=1>';

let browser;
let web;
let setupError = null;

before(async () => {
  try {
    web = await startStaticServer();
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
  await web?.close();
});

const s = {
  token: '[data-testid="token-input"]',
  moderator: '[data-testid="moderator-input"]',
  error: '[data-testid="token-error"]',
  dashboard: '[data-testid="dashboard"]',
  room: (name) => `[data-testid="room-item"][data-room="${name}"]`,
  message: (offset) => `[data-testid="mod-message"][data-offset="${offset}"]`,
  report: (offset) => `[data-testid="report"][data-offset="${offset}"]`,
  confirm: '[data-testid="confirm"]',
};

/** Three messages in ROOM: a verified one, one over HTTP (no identity), one to act on. */
function conversation() {
  return {
    rooms: {
      [ROOM]: [
        { username: 'Sakura Blade', text: 'Gear 5 is peak', author: 'id-sakura' },
        { username: 'Http Guest', text: 'hello from curl', verified: false },
        { username: 'Troll', text: 'buy followers at spam.example', author: 'id-troll' },
      ],
    },
  };
}

async function signIn(page, { token = ADMIN_TOKEN, moderator = MODERATOR } = {}) {
  await page.fill(s.token, token);
  await page.fill(s.moderator, moderator);
  await page.press(s.moderator, 'Enter');
}

/** A signed-in Control Center on a fresh MockAdmin (`setup` fills it first). */
async function openAdmin({ mock: options = conversation(), setup, room = ROOM, ...pageOptions } = {}) {
  const page = await newPage(browser, pageOptions);
  const mock = new MockAdmin(options);
  setup?.(mock);
  await mock.install(page);
  await page.goto(`${web.baseUrl}/admin`);
  await signIn(page);
  await page.waitForSelector(`${s.dashboard}:not([hidden])`);
  if (room) {
    await page.click(s.room(room));
    await page.waitForSelector('[data-testid="mod-message"]');
  }
  return { page, mock };
}

/** Every request had the token; every change named the moderator. */
function assertAuthorized(mock, moderator = MODERATOR) {
  assert.ok(mock.requests.length > 0);
  for (const r of mock.requests) assert.equal(r.auth, `Bearer ${ADMIN_TOKEN}`, `${r.method} ${r.path}`);
  for (const r of mock.actions) assert.equal(r.body?.moderator, moderator, `${r.method} ${r.path} names the moderator`);
}

async function close(page) {
  const problems = page.problems;
  await page.context().close();
  assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
}

const text = (page, selector) => page.$eval(selector, (n) => n.textContent.trim());

const rowsOf = (page) =>
  evalAll(page, '[data-testid="mod-message"]', (nodes) =>
    nodes.map((n) => ({
      offset: Number(n.dataset.offset),
      name: n.querySelector('[data-testid="mod-message-name"]')?.textContent,
      text: n.querySelector('[data-testid="mod-message-text"]')?.textContent ?? null,
      removed: n.querySelector('[data-testid="mod-message-removed"]') !== null,
      unverified: n.querySelector('[data-testid="mod-unverified"]') !== null,
      actions: [...n.querySelectorAll('[data-action]')].map((b) => b.dataset.action),
    })),
  );

/** Open a row's action, fill the confirmation, confirm; resolves the request it made. */
async function confirmAction(page, mock, rowSelector, action, { reason = '', duration = null } = {}) {
  const before = mock.actions.length;
  await page.click(`${rowSelector} [data-action="${action}"]`);
  await page.waitForSelector(`${rowSelector} ${s.confirm}`);
  if (duration) await page.check(`${rowSelector} [data-testid="duration-${duration}"]`);
  if (reason) await page.fill(`${rowSelector} [data-testid="confirm-reason"]`, reason);
  await page.click(`${rowSelector} [data-testid="confirm-yes"]`);
  await waitFor(() => mock.actions.length > before, { message: `the ${action} request` });
  return mock.actions.at(-1);
}

describe('Control Center moderation (scripted admin API)', () => {
  test('sign-in asks for the moderator’s name too; both kept in this tab; the name in the header', async () => {
    const page = await newPage(browser);
    const mock = await new MockAdmin(conversation()).install(page);
    await page.goto(`${web.baseUrl}/admin`);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'token-input');
    assert.equal(await page.$eval(s.moderator, (n) => n.labels[0]?.textContent.trim()), 'Your name (moderator)');

    await page.fill(s.token, ADMIN_TOKEN);
    await page.press(s.token, 'Enter');
    await page.waitForSelector(`${s.error}:not([hidden])`);
    assert.match(await text(page, s.error), /your name/i);
    assert.equal(await page.$eval(s.moderator, (n) => n.getAttribute('aria-invalid')), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'moderator-input');
    assert.equal(mock.requests.length, 0, 'nothing asked without a name');

    await page.fill(s.moderator, `  ${MODERATOR}  `);
    await page.press(s.moderator, 'Enter');
    await page.waitForSelector(`${s.dashboard}:not([hidden])`);
    assert.equal(await text(page, '[data-testid="signed-in-as"]'), MODERATOR);
    const kept = await page.evaluate(() => [sessionStorage.getItem('anime-chat-admin-token'), sessionStorage.getItem('anime-chat-admin-moderator'), localStorage.length]);
    assert.deepEqual(kept, [ADMIN_TOKEN, MODERATOR, 0]);
    await page.waitForSelector('[data-testid="moderation"]:not([hidden])');

    await page.reload();
    await page.waitForSelector(`${s.dashboard}:not([hidden])`);
    assert.equal(await text(page, '[data-testid="signed-in-as"]'), MODERATOR, 'signed in again from this tab');
    await page.click('[data-testid="sign-out"]');
    await page.waitForSelector(`${s.token}`, { state: 'visible' });
    assert.deepEqual(await page.evaluate(() => [sessionStorage.getItem('anime-chat-admin-token'), sessionStorage.getItem('anime-chat-admin-moderator')]), [null, null]);
    assert.equal(await page.$eval('[data-testid="moderation"]', (n) => n.hidden), true);
    assert.equal(await page.$$eval('[data-testid="report"], [data-testid="mod-message"], [data-testid="audit-entry"]', (n) => n.length), 0, 'nothing left');
    assertAuthorized(mock);
    await close(page);
  });

  test('room messages: newest first, unverified tagged; delete with an inline confirmation; the row shows it removed', async () => {
    const { page, mock } = await openAdmin();
    assert.equal(await page.$eval('[data-testid="tab-messages"]', (n) => n.getAttribute('aria-selected')), 'true');
    assert.ok(mock.requests.some((r) => r.path === `/api/admin/rooms/${ROOM}/messages` && /limit=\d+/.test(r.query)));
    let rows = await rowsOf(page);
    assert.deepEqual(rows.map((r) => [r.offset, r.name, r.unverified]), [[2, 'Troll', false], [1, 'Http Guest', true], [0, 'Sakura Blade', false]]);
    assert.deepEqual(rows[1].actions, ['delete'], 'no identity: nothing to mute or ban');
    assert.deepEqual(rows[0].actions, ['delete', 'mute', 'ban']);

    // Cancel (and Escape) leave everything as it was, focus back on the button
    await page.click(`${s.message(2)} [data-action="delete"]`);
    await page.waitForSelector(`${s.message(2)} ${s.confirm}`);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'confirm-reason');
    await page.keyboard.press('Escape');
    assert.equal(await page.$(`${s.message(2)} ${s.confirm}`), null);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'delete');
    await page.keyboard.press('Enter');
    await page.click(`${s.message(2)} [data-testid="confirm-no"]`);
    assert.equal(mock.actions.length, 0, 'nothing sent');

    // a refresh while the confirmation is open does not close it
    await page.click(`${s.message(2)} [data-action="delete"]`);
    await page.fill(`${s.message(2)} [data-testid="confirm-reason"]`, 'spam link');
    mock.addMessage(ROOM, { username: 'Newcomer', text: 'hi all', author: 'id-new' });
    await sleep(2600);
    assert.equal(await page.inputValue(`${s.message(2)} [data-testid="confirm-reason"]`), 'spam link', 'still typing');
    await page.click(`${s.message(2)} [data-testid="confirm-yes"]`);
    await waitFor(() => mock.actions.length === 1, { message: 'DELETE' });
    const [del] = mock.actions;
    assert.deepEqual([del.method, del.path, del.body], ['DELETE', `/api/admin/rooms/${ROOM}/messages/2`, { reason: 'spam link', moderator: MODERATOR }]);
    await waitFor(async () => (await rowsOf(page)).find((r) => r.offset === 2)?.removed, { message: 'removed' });
    rows = await rowsOf(page);
    assert.equal(rows[0].name, 'Newcomer', 'the refresh held back meanwhile is shown now');
    assert.deepEqual(rows.find((r) => r.offset === 2), { offset: 2, name: 'Troll', text: null, removed: true, unverified: false, actions: [] });

    // the raw records are still there, one tab away (arrow keys move between tabs)
    await page.focus('[data-testid="tab-messages"]');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.$eval('[data-testid="tab-records"]', (n) => n.getAttribute('aria-selected')), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-records');
    await page.waitForSelector('[data-testid="record"]');
    assert.equal(await page.isVisible('[data-testid="room-messages"]'), false);
    assertAuthorized(mock);
    await close(page);
  });

  test('mute and ban from a name; lifted from the moderation panel', async () => {
    const { page, mock } = await openAdmin();
    const mute = await confirmAction(page, mock, s.message(2), 'mute', { duration: 86400, reason: 'flooding' });
    assert.deepEqual([mute.method, mute.path, mute.body], [
      'POST',
      '/api/admin/mutes',
      { target: { identity: 'id-troll' }, duration_seconds: 86400, reason: 'flooding', moderator: MODERATOR },
    ]);
    await page.waitForSelector('[data-testid="mute"]');
    assert.match(await text(page, '[data-testid="mute"]'), /Troll\s*identity id-troll/);
    assert.match(await text(page, '[data-testid="mute"]'), /flooding/);

    // the default duration is the shortest
    const quick = await confirmAction(page, mock, s.message(0), 'mute');
    assert.equal(quick.body.duration_seconds, 300);
    assert.equal(quick.body.reason, '');

    const ban = await confirmAction(page, mock, s.message(2), 'ban', { reason: 'spam bot' });
    assert.deepEqual([ban.method, ban.path, ban.body], ['POST', '/api/admin/bans', { target: { identity: 'id-troll' }, reason: 'spam bot', moderator: MODERATOR }]);
    await page.waitForSelector('[data-testid="ban"]');
    assert.equal(await text(page, '[data-testid="sanctions-count"]'), '3');

    // lifting needs no confirmation
    await page.click('[data-testid="ban"] [data-action="unban"]');
    await waitFor(() => mock.actions.at(-1)?.method === 'DELETE' && mock.actions.at(-1).path === '/api/admin/bans', { message: 'unban' });
    assert.deepEqual([mock.actions.at(-1).method, mock.actions.at(-1).body], ['DELETE', { target: { identity: 'id-troll' }, moderator: MODERATOR }]);
    await waitFor(async () => (await page.$('[data-testid="ban"]')) === null, { message: 'ban gone' });
    await page.click('[data-testid="mute"][data-key*="id-troll"] [data-action="unmute"]');
    await waitFor(() => mock.actions.at(-1)?.method === 'DELETE' && mock.actions.at(-1).path === '/api/admin/mutes', { message: 'unmute' });
    assert.deepEqual(mock.actions.at(-1).body, { target: { identity: 'id-troll' }, moderator: MODERATOR });
    await waitFor(async () => (await page.$$('[data-testid="mute"]')).length === 1, { message: 'one mute left' });
    assertAuthorized(mock);
    await close(page);
  });

  test('mutes and bans by address are listed and lifted too', async () => {
    const { page, mock } = await openAdmin({
      room: null,
      setup: (m) => {
        m.bans.push({ target: { address: '203.0.113.7' }, reason: 'raid', by: 'Kenji', at: new Date().toISOString() });
      },
    });
    await page.waitForSelector('[data-testid="ban"]');
    assert.match(await text(page, '[data-testid="ban"] [data-testid="sanction-target"]'), /^address 203\.0\.113\.7$/);
    assert.match(await text(page, '[data-testid="ban"]'), /raid.*by Kenji/);
    await page.click('[data-testid="ban"] [data-action="unban"]');
    await waitFor(() => mock.actions.length === 1, { message: 'unban' });
    assert.deepEqual(mock.actions[0].body, { target: { address: '203.0.113.7' }, moderator: MODERATOR });
    await page.waitForSelector('[data-testid="bans-list"]:empty', { state: 'attached' });
    assertAuthorized(mock);
    await close(page);
  });

  test('an address nobody lists yet: checked inline, then muted (with its duration) or banned after an inline confirmation', async () => {
    const { page, mock } = await openAdmin({ room: null });
    const form = '[data-testid="address-panel"]';
    const input = '[data-testid="address-input"]';
    const error = '[data-testid="address-error"]';
    await page.waitForSelector(`${form}`, { state: 'visible' });
    assert.equal(await page.$eval(input, (n) => n.labels[0]?.textContent.trim()), 'Mute or ban an address');
    const durations = await evalAll(page, `${form} input[type="radio"]`, (n) => n.map((r) => [r.nextElementSibling.textContent, r.value, r.checked]));
    assert.deepEqual(durations, [['5 min', '300', true], ['1 h', '3600', false], ['24 h', '86400', false]]);
    assert.deepEqual(await evalAll(page, `${form} [data-action]`, (n) => n.map((b) => [b.dataset.action, b.textContent])), [
      ['mute-address', 'Mute address'],
      ['ban-address', 'Ban address'],
    ]);
    assert.equal(await page.isVisible(error), false);

    // nothing typed, or not an address: said under the field, nothing opened, nothing sent
    const refused = async (typed, how, pattern) => {
      await page.fill(input, typed);
      if (how === 'Enter') await page.press(input, 'Enter');
      else await page.click(`${form} [data-action="${how}"]`);
      await page.waitForSelector(`${error}:not([hidden])`);
      assert.match(await text(page, error), pattern, JSON.stringify(typed));
      assert.equal(await page.$eval(input, (n) => n.getAttribute('aria-invalid')), 'true');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'address-input');
      assert.equal(await page.$(`${form} ${s.confirm}`), null, 'no confirmation');
    };
    await refused('', 'mute-address', /Type the client’s IP address/);
    await page.type(input, '2');
    assert.equal(await page.isVisible(error), false, 'typing clears the error');
    assert.equal(await page.$eval(input, (n) => n.hasAttribute('aria-invalid')), false);
    await refused('not-an-ip', 'ban-address', /Not an IP address/);
    await refused('203.0.113.300', 'mute-address', /Not an IP address/);
    await refused('010.0.0.1', 'ban-address', /Not an IP address/);
    await refused('10.0.0.0/8', 'Enter', /not a range/);
    await refused('[2001:db8::1]:443', 'ban-address', /without brackets or a port/);
    await refused('2001:db8::1::2', 'mute-address', /Not an IP address/);
    assert.equal(mock.actions.length, 0, 'nothing sent');

    // mute for 1 h: the confirmation names the address and the duration; they cannot change while it is open
    await page.fill(input, ' 203.0.113.7 ');
    await page.check(`${form} [data-testid="duration-3600"]`);
    await page.click(`${form} [data-action="mute-address"]`);
    await page.waitForSelector(`${form} ${s.confirm}`);
    assert.equal(await page.isVisible(error), false);
    assert.match(await text(page, `${form} .adm-confirm__question`), /^Mute address 203\.0\.113\.7 for 1\sh\?/);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'confirm-reason');
    assert.equal(await page.$eval(input, (n) => n.readOnly), true);
    assert.equal(await page.$eval(`${form} fieldset`, (n) => n.disabled), true);
    assert.equal(await page.isVisible(`${form} [data-action="mute-address"]`), false, 'the buttons make way for the confirmation');
    await page.keyboard.press('Escape');
    assert.equal(await page.$(`${form} ${s.confirm}`), null);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'mute-address');
    assert.equal(await page.$eval(input, (n) => n.readOnly), false);
    assert.equal(mock.actions.length, 0, 'cancelled: nothing sent');

    // Enter in the field is "mute address" (it still asks)
    await page.focus(input);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${form} ${s.confirm}`);
    await page.keyboard.type('raid through an open proxy');
    await page.keyboard.press('Enter');
    await waitFor(() => mock.actions.length === 1, { message: 'POST mutes' });
    assert.deepEqual([mock.actions[0].method, mock.actions[0].path, mock.actions[0].body], [
      'POST',
      '/api/admin/mutes',
      { target: { address: '203.0.113.7' }, duration_seconds: 3600, reason: 'raid through an open proxy', moderator: MODERATOR },
    ]);
    await page.waitForSelector('[data-testid="mute"]');
    assert.match(await text(page, '[data-testid="mute"] [data-testid="sanction-target"]'), /^address 203\.0\.113\.7$/);
    assert.match(await text(page, '[data-testid="mute"]'), /raid through an open proxy/);
    assert.equal(await page.inputValue(input), '', 'done: the field is empty');
    assert.equal(await page.$(`${form} ${s.confirm}`), null);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'mute-address');

    // ban an IPv6 address (the durations are only for mutes)
    await page.fill(input, '2001:DB8::42');
    await page.click(`${form} [data-action="ban-address"]`);
    await page.waitForSelector(`${form} ${s.confirm}`);
    assert.match(await text(page, `${form} .adm-confirm__question`), /^Ban address 2001:DB8::42\?/);
    await page.click(`${form} [data-testid="confirm-yes"]`);
    await waitFor(() => mock.actions.length === 2, { message: 'POST bans' });
    assert.deepEqual([mock.actions[1].method, mock.actions[1].path, mock.actions[1].body], [
      'POST',
      '/api/admin/bans',
      { target: { address: '2001:DB8::42' }, reason: '', moderator: MODERATOR },
    ]);
    await page.waitForSelector('[data-testid="ban"]');
    assert.match(await text(page, '[data-testid="ban"] [data-testid="sanction-target"]'), /^address 2001:DB8::42$/);
    assert.equal(await text(page, '[data-testid="sanctions-count"]'), '2');

    // a refusal: the server's reason in the confirmation, which stays open with the field as it was
    mock.failNext('POST', '/api/admin/bans', 400, { success: false, error: 'target.address must be an IP address', code: 'invalid_field' });
    await page.fill(input, '192.0.2.1');
    await page.click(`${form} [data-action="ban-address"]`);
    await page.click(`${form} [data-testid="confirm-yes"]`);
    await page.waitForSelector(`${form} [data-testid="confirm-error"]:not([hidden])`);
    assert.equal(await text(page, `${form} [data-testid="confirm-error"]`), 'target.address must be an IP address');
    assert.equal(await page.inputValue(input), '192.0.2.1');
    await page.click(`${form} [data-testid="confirm-no"]`);
    assert.equal(await page.inputValue(input), '192.0.2.1', 'kept to correct it');
    assert.equal(mock.actions.length, 3);
    // Chromium logs the refused request itself; that one was asked for
    const logged = page.problems.filter((p) => /status of 400/.test(p));
    assert.equal(logged.length, 1);
    page.problems.splice(0, page.problems.length, ...page.problems.filter((p) => !logged.includes(p)));
    assertAuthorized(mock);
    await close(page);
  });

  test('slow mode: set, shown in the moderation panel, turned off (here and there); bad input explained', async () => {
    const { page, mock } = await openAdmin();
    assert.equal(await text(page, '[data-testid="slow-state"]'), 'off');
    await page.fill('[data-testid="slow-input"]', 'ten');
    await page.press('[data-testid="slow-input"]', 'Enter');
    await page.waitForSelector('[data-testid="slow-error"]:not([hidden])');
    assert.equal(mock.actions.length, 0);

    await page.fill('[data-testid="slow-input"]', '10');
    await page.click('[data-testid="slow-set"]');
    await waitFor(() => mock.actions.length === 1, { message: 'PUT slow-mode' });
    assert.deepEqual([mock.actions[0].method, mock.actions[0].path, mock.actions[0].body], ['PUT', `/api/admin/rooms/${ROOM}/slow-mode`, { seconds: 10, moderator: MODERATOR }]);
    await waitFor(async () => (await text(page, '[data-testid="slow-state"]')) === 'on: one message per 10 s', { message: 'on' });
    await page.waitForSelector('[data-testid="slow"]');
    assert.match(await text(page, '[data-testid="slow"]'), /#shonen-jump\s*one message per 10 s/);
    assert.equal(await page.isVisible('[data-testid="slow-error"]'), false);

    await page.click('[data-testid="slow-off"]');
    await waitFor(() => mock.actions.length === 2, { message: 'off' });
    assert.deepEqual(mock.actions[1].body, { seconds: 0, moderator: MODERATOR });
    await waitFor(async () => (await text(page, '[data-testid="slow-state"]')) === 'off', { message: 'off again' });
    await waitFor(async () => (await page.$('[data-testid="slow"]')) === null, { message: 'gone from the panel' });

    // and from the panel's own button
    await page.fill('[data-testid="slow-input"]', '30');
    await page.press('[data-testid="slow-input"]', 'Enter');
    await page.waitForSelector('[data-testid="slow"]');
    await page.click('[data-testid="slow"] [data-action="slow-off"]');
    await waitFor(() => mock.actions.length === 4, { message: 'off from the panel' });
    assert.deepEqual([mock.actions[3].path, mock.actions[3].body], [`/api/admin/rooms/${ROOM}/slow-mode`, { seconds: 0, moderator: MODERATOR }]);
    assertAuthorized(mock);
    await close(page);
  });

  test('reports: newest first, with count and reason; delete, mute/ban the author, dismiss', async () => {
    const { page, mock } = await openAdmin({
      room: null,
      setup: (m) => {
        const t = (ago) => new Date(Date.now() - ago * 1000).toISOString();
        m.addReport(ROOM, 0, { reporter: 'id-troll', reason: 'rude?', at: t(300) });
        m.addReport(ROOM, 2, { reporter: 'id-sakura', reason: 'spam', at: t(10), count: 3 });
        m.addReport(ROOM, 1, { reporter: 'id-sakura', reason: '', at: t(100) });
      },
    });
    await waitFor(async () => (await page.$$('[data-testid="report"]')).length === 3, { message: 'reports' });
    assert.deepEqual(await evalAll(page, '[data-testid="report"]', (n) => n.map((x) => Number(x.dataset.offset))), [2, 1, 0], 'newest first');
    assert.equal(await text(page, '[data-testid="reports-count"]'), '3');
    assert.equal(await text(page, `${s.report(2)} [data-testid="report-count"]`), '3 reports');
    assert.match(await text(page, `${s.report(2)} [data-testid="report-why"]`), /Sakura Blade: “spam”/, 'the reporter by name once known');
    assert.match(await text(page, `${s.report(1)} [data-testid="report-why"]`), /no reason given/);
    const actions = (offset) => page.$$eval(`${s.report(offset)} [data-action]`, (n) => n.map((b) => b.dataset.action));
    assert.deepEqual(await actions(2), ['delete', 'mute', 'ban', 'dismiss']);
    assert.deepEqual(await actions(1), ['delete', 'dismiss'], 'an author without identity');

    const del = await confirmAction(page, mock, s.report(2), 'delete', { reason: 'reported spam' });
    assert.deepEqual([del.method, del.path, del.body], ['DELETE', `/api/admin/rooms/${ROOM}/messages/2`, { reason: 'reported spam', moderator: MODERATOR }]);
    await waitFor(async () => (await actions(2)).join() === 'mute,ban,dismiss', { message: 'removed: no delete' });
    assert.match(await text(page, s.report(2)), /removed by a moderator/);

    const mute = await confirmAction(page, mock, s.report(2), 'mute', { duration: 3600 });
    assert.deepEqual(mute.body, { target: { identity: 'id-troll' }, duration_seconds: 3600, reason: '', moderator: MODERATOR });
    const ban = await confirmAction(page, mock, s.report(2), 'ban', { reason: 'repeat' });
    assert.deepEqual([ban.path, ban.body.target], ['/api/admin/bans', { identity: 'id-troll' }]);

    const dismiss = await confirmAction(page, mock, s.report(0), 'dismiss');
    assert.deepEqual([dismiss.method, dismiss.path, dismiss.body], ['DELETE', '/api/admin/reports', { room: ROOM, offset: 0, moderator: MODERATOR }]);
    await waitFor(async () => (await page.$(s.report(0))) === null, { message: 'dismissed' });
    assert.equal(await text(page, '[data-testid="reports-count"]'), '2');
    assertAuthorized(mock);
    await close(page);
  });

  test('audit trail: newest first; a refused action shows the server’s reason inline and stays open', async () => {
    const { page, mock } = await openAdmin();
    await confirmAction(page, mock, s.message(0), 'delete', { reason: 'first' });
    await sleep(20);
    await confirmAction(page, mock, s.message(2), 'ban', { reason: 'second' });
    await waitFor(async () => (await page.$$('[data-testid="audit-entry"]')).length === 2, { message: 'two entries' });
    const entries = await evalAll(page, '[data-testid="audit-entry"]', (n) => n.map((e) => [e.dataset.action, e.textContent]));
    assert.deepEqual(entries.map((e) => e[0]), ['ban', 'delete'], 'newest first');
    assert.match(entries[0][1], /Mod Mika\s*ban\s*Troll\s*identity id-troll/, 'the name, once known, and the identity');
    assert.match(entries[0][1], /“second”/);
    assert.match(entries[1][1], /Mod Mika\s*delete\s*#shonen-jump\s*.*message #0 · “first”/, 'the room, the offset and the reason');
    assert.ok(mock.requests.some((r) => r.path === '/api/admin/audit' && /limit=\d+/.test(r.query)));

    mock.failNext('POST', '/api/admin/mutes', 409, { success: false, error: 'already muted until later', code: 'conflict' });
    await page.click(`${s.message(2)} [data-action="mute"]`);
    await page.click(`${s.message(2)} [data-testid="confirm-yes"]`);
    await page.waitForSelector(`${s.message(2)} [data-testid="confirm-error"]:not([hidden])`);
    assert.equal(await text(page, `${s.message(2)} [data-testid="confirm-error"]`), 'already muted until later');
    assert.ok(await page.$(`${s.message(2)} ${s.confirm}`), 'still open to try again');
    await page.click(`${s.message(2)} [data-testid="confirm-yes"]`);
    await waitFor(async () => (await page.$(`${s.message(2)} ${s.confirm}`)) === null, { message: 'done on the second try' });
    assert.equal(mock.mutes.length, 1);
    // Chromium logs the refused request itself; that one was asked for
    const refused = page.problems.filter((p) => /status of 409/.test(p));
    assert.equal(refused.length, 1);
    page.problems.splice(0, page.problems.length, ...page.problems.filter((p) => !refused.includes(p)));
    assertAuthorized(mock);
    await close(page);
  });

  test('names, texts, reasons and audit details from the server stay text', async () => {
    const { page, mock } = await openAdmin({
      mock: { rooms: { [ROOM]: [{ username: `${EVIL}<b>x</b>`, text: `<script>window.__xss=2</script>${EVIL}`, author: `id-${EVIL}` }] } },
      setup: (m) => {
        m.addReport(ROOM, 0, { reporter: EVIL, reason: `<i>${EVIL}</i>` });
        m.audit.push({ at: new Date().toISOString(), by: EVIL, action: `<b>${EVIL}</b>`, target: { identity: EVIL }, details: { reason: EVIL } });
        m.mutes.push({ target: { identity: `id-${EVIL}` }, until: new Date(Date.now() + 60000).toISOString(), reason: EVIL, by: EVIL, at: new Date().toISOString() });
      },
    });
    await page.waitForSelector('[data-testid="report"]');
    await page.waitForSelector('[data-testid="audit-entry"]');
    await page.waitForSelector('[data-testid="mute"]');
    assert.equal(await text(page, '[data-testid="mod-message-name"]'), `${EVIL}<b>x</b>`);
    assert.equal(await text(page, '[data-testid="mod-message-text"]'), `<script>window.__xss=2</script>${EVIL}`);
    assert.match(await text(page, '[data-testid="report-why"]'), /<i><img src=x onerror=window.__xss=1><\/i>/);
    assert.match(await text(page, '[data-testid="audit-entry"]'), /<b><img/);
    await confirmAction(page, mock, s.message(0), 'delete', { reason: `${EVIL}</form>` });
    assert.equal(mock.actions[0].body.reason, `${EVIL}</form>`, 'typed text goes out as typed');
    await sleep(300);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.$$eval('.adm-main img, .adm-main script, .adm-main b, .adm-main i', (n) => n.length), 0);
    assertAuthorized(mock);
    await close(page);
  });

  test('a server without moderation (404): no moderation section, records only, asked once', async () => {
    const { page, mock } = await openAdmin({ mock: { ...conversation(), moderation: false }, room: null });
    await page.click(s.room(ROOM));
    await page.waitForSelector('[data-testid="record"]');
    await sleep(4500); // two refreshes
    assert.equal(mock.requests.filter((r) => r.path === '/api/admin/moderation').length, 1, 'asked once');
    assert.deepEqual(mock.requests.filter((r) => /messages|reports|audit/.test(r.path)), [], 'nothing else of moderation');
    assert.equal(await page.$eval('[data-testid="moderation"]', (n) => n.hidden), true);
    assert.equal(await page.$eval('#room-tabs', (n) => n.hidden), true);
    assert.equal(await page.isVisible('[data-testid="record-list"]'), true);
    assert.match(await text(page, '#records-title'), /^Records · #shonen-jump$/);
    assertAuthorized(mock);
    await close(page);
  });

  for (const width of [360, 1280]) {
    test(`${width} px: no horizontal scroll with a confirmation open; everything reachable by keyboard`, async () => {
      const { page, mock } = await openAdmin({
        width,
        height: 800,
        colorScheme: width === 360 ? 'light' : 'dark',
        setup: (m) => {
          m.addReport(ROOM, 2, { reporter: 'id-sakura', reason: 'x'.repeat(200), count: 2 });
          m.bans.push({ target: { identity: 'a-very-long-identity-id-'.repeat(4) }, reason: 'r', by: 'Kenji', at: new Date().toISOString() });
          m.audit.push({ at: new Date().toISOString(), by: 'Kenji', action: 'ban', target: { address: '2001:db8::1' }, details: { reason: 'w'.repeat(120) } });
        },
      });
      await page.waitForSelector('[data-testid="report"]');
      await page.fill('[data-testid="address-input"]', '2001:db8:1234:5678:9abc:def0:1234:5678');
      await page.click('[data-testid="address-panel"] [data-action="mute-address"]');
      await page.waitForSelector(`[data-testid="address-panel"] ${s.confirm}`);
      await page.click(`${s.message(2)} [data-action="mute"]`);
      await page.click(`${s.report(2)} [data-action="ban"]`);
      await sleep(200);
      const size = await noHorizontalScroll(page);
      assert.ok(size.scrollWidth <= size.clientWidth, `no horizontal scroll: ${JSON.stringify(size)}`);
      const overflowing = await evalAll(page, '.glass, .adm-confirm, .adm-msg, .adm-report, .adm-sanction, .adm-audit, .adm-addr', (nodes) =>
        nodes.filter((n) => n.getClientRects().length && n.getBoundingClientRect().right > window.innerWidth + 0.5).map((n) => n.className),
      );
      assert.deepEqual(overflowing, []);
      const small = await evalAll(page, '.adm-act, .adm-tab', (nodes) => nodes.filter((n) => n.getClientRects().length && n.getBoundingClientRect().height < 24).length);
      assert.equal(small, 0, 'buttons big enough to hit');

      // keyboard: a confirmation opened and sent with keys only
      await page.keyboard.press('Escape'); // the ban confirmation has the focus
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'ban');
      await page.focus(`${s.message(0)} [data-action="delete"]`);
      await page.keyboard.press('Enter');
      await page.keyboard.type('by keys');
      await page.keyboard.press('Enter');
      await waitFor(() => mock.actions.length === 1, { message: 'delete by keyboard' });
      assert.deepEqual(mock.actions[0].body, { reason: 'by keys', moderator: MODERATOR });
      assertAuthorized(mock);
      await close(page);
    });
  }
});
