// End-to-end moderation in Chromium against the real server binary (with
// CHAT_ADMIN_TOKEN): chat pages (each its own browser context, so its own
// identity token, at /?room=<room>) and the Control Center (another
// context, signed in with the token and a moderator's name). Every step is
// done through the Control Center's UI and observed in the pages' UIs,
// never by calling the API from the test:
//
//   (a) delete a chat page's message from the room's message list: removed
//       live, and removed in the history after a reload;
//   (b) slow mode 30 s: the second of two quick messages is refused with the
//       countdown above the composer; off again: Retry goes through;
//   (c) a chat page reports another's message (its report button and form):
//       the report shows in the reports panel with its reason and reporter;
//       dismissed: gone;
//   (d) mute a chat page's identity from its name (5 min): its next message
//       says "muted until HH:MM"; lifted in the moderation panel: the next
//       message goes through (and the muted line goes);
//       an address typed into the moderation panel's form is muted, listed
//       and lifted (the real server takes the body);
//   (f) ban a chat page's identity from its name: its connection is closed,
//       and it comes back under a new name (its old token is revoked);
//   (e) the audit trail lists the delete, the slow mode, the mute, the
//       dismissal and the ban with the moderator's name; a screenshot of the
//       moderation panel with a report and the audit trail goes to
//       artifacts/admin-moderation-1280.png (and, with
//       UPDATE_DOCS_SCREENSHOTS=1, docs/screenshots/admin-moderation-1280.png).
//
// Each step has its own room (and its own chat pages, so its own identities).
// No console errors, page errors or CSP violations on any page. None are
// expected, not even after the ban: the server closes the banned identity's
// socket with 1008 ("banned by a moderator"), a clean close Chromium does not
// log, and the page's reconnect is welcomed (an identity ban, not an address
// ban: no 403 at the upgrade). Chromium's "WebSocket connection … failed"
// lines, which helpers.mjs never counts, would cover a refused reconnect.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { assertNoProblems, chatMessageAt, myName, ownMessage, say, useRealServer } from './e2e.mjs';
import { ARTIFACTS_DIR, REPO_ROOT, evalAll, newPage, sel, sendMessage, waitFor, waitForState } from './helpers.mjs';

const TOKEN = `adm-${randomBytes(12).toString('hex')}`;
const MODERATOR = 'Mod Mika';
// The topic is fresh for every run, so readable room names cannot clash.
const ROOMS = { delete: 'mod-delete', slow: 'mod-slow', report: 'mod-report', mute: 'mod-mute', ban: 'mod-ban' };
const SCREENSHOT = path.join(ARTIFACTS_DIR, 'admin-moderation-1280.png');
const DOCS_SCREENSHOT = path.join(REPO_ROOT, 'docs', 'screenshots', 'admin-moderation-1280.png');
/** The lists (reports, audit) are read every 10 s and after each action: allow two rounds. */
const LIST_TIMEOUT = 25000;

const a = {
  dashboard: '[data-testid="dashboard"]',
  message: (offset) => `[data-testid="mod-message"][data-offset="${offset}"]`,
  report: (room, offset) => `[data-testid="report"][data-room="${room}"][data-offset="${offset}"]`,
  confirm: '[data-testid="confirm"]',
};

/** the Control Center, shared by the tests (signed in once) */
let admin;

// ---------------------------------------------------------------------------
// helpers

const text = (page, selector) => page.$eval(selector, (n) => n.textContent.trim());

/** Show a room in the Control Center (the inspect form) and wait for its message list. */
async function inspect(room, { rows = 1 } = {}) {
  await admin.fill('[data-testid="inspect-input"]', room);
  await admin.press('[data-testid="inspect-input"]', 'Enter');
  await waitFor(async () => (await text(admin, '[data-testid="records-room"]')).includes(`#${room}`), { message: `#${room} in the room card` });
  assert.equal(await admin.$eval('[data-testid="tab-messages"]', (n) => n.getAttribute('aria-selected')), 'true', 'the messages first');
  await waitFor(async () => (await admin.$$('[data-testid="mod-message"]')).length >= rows, { message: `${rows} message(s) of #${room}` });
}

/** The Control Center's row (offset) of the message with this text, once listed. */
function adminRow(messageText) {
  return waitFor(
    () =>
      evalAll(admin, '[data-testid="mod-message"]', (nodes) =>
        nodes.map((n) => ({ offset: Number(n.dataset.offset), text: n.querySelector('[data-testid="mod-message-text"]')?.textContent ?? null, name: n.querySelector('[data-testid="mod-message-name"]')?.textContent })),
      ).then((rows) => rows.find((r) => r.text === messageText) ?? null),
    { message: `"${messageText}" in the Control Center` },
  );
}

/** Open an action's inline confirmation in `row`, fill it, confirm; waits until it closed (done). */
async function confirmAction(row, action, { reason = '', duration = null, check } = {}) {
  await admin.click(`${row} [data-action="${action}"]`);
  await admin.waitForSelector(`${row} ${a.confirm}`);
  await check?.();
  if (duration) await admin.check(`${row} [data-testid="duration-${duration}"]`);
  if (reason) await admin.fill(`${row} [data-testid="confirm-reason"]`, reason);
  await admin.click(`${row} [data-testid="confirm-yes"]`);
  await waitFor(async () => (await admin.$(`${row} ${a.confirm}`)) === null, { message: `${action} done` });
}

/** HH:MM as the chat page writes "muted until" (24 h, local time) for `ms`. */
function clockOf(page, ms) {
  return page.evaluate((t) => new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(t)), ms);
}

const limitLine = (page) => page.$eval('[data-testid="composer-limit"]', (n) => (n.hidden ? null : { kind: n.dataset.kind, text: n.textContent.trim() }));

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf) {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

// ---------------------------------------------------------------------------

describe('moderation end to end: the Control Center and chat pages against the real server', { timeout: 420000 }, () => {
  // chat pages: each in its own context (its own identity), closed at the end
  const e2e = useRealServer({ env: { CHAT_ADMIN_TOKEN: TOKEN } });
  const openChat = (room) => e2e.openChat(room);

  test('the Control Center signs in with the token and a moderator’s name; moderation is there', async () => {
    admin = await newPage(e2e.browser, { width: 1280, height: 800, colorScheme: 'dark' });
    await admin.goto(`${e2e.server.baseUrl}/admin`);
    await admin.fill('[data-testid="token-input"]', TOKEN);
    await admin.fill('[data-testid="moderator-input"]', MODERATOR);
    await admin.press('[data-testid="moderator-input"]', 'Enter');
    await admin.waitForSelector(`${a.dashboard}:not([hidden])`);
    assert.equal(await text(admin, '[data-testid="signed-in-as"]'), MODERATOR);
    await admin.waitForSelector('[data-testid="moderation"]:not([hidden])');
    await admin.waitForSelector('[data-testid="reports-empty"]:not([hidden])');
    assert.equal(await text(admin, '[data-testid="reports-count"]'), '0');
    assert.equal(await text(admin, '[data-testid="sanctions-count"]'), '0');
    assertNoProblems(admin, 'admin');
  });

  test('(a) a message deleted from the room’s list: removed live on the chat page, and in its history after a reload', async () => {
    const chat = await openChat(ROOMS.delete);
    const kept = 'Konbanwa! Who else is rewatching Frieren?';
    const doomed = 'buy cheap followers at spam.example';
    const keptOffset = await say(chat.page, kept);
    const doomedOffset = await say(chat.page, doomed);

    await inspect(ROOMS.delete, { rows: 2 });
    const row = await adminRow(doomed);
    assert.equal(row.offset, doomedOffset, 'the same offset on both pages');
    assert.equal(row.name, chat.name);
    await confirmAction(a.message(row.offset), 'delete', {
      reason: 'spam link',
      check: async () => assert.match(await text(admin, `${a.message(row.offset)} .adm-confirm__question`), /Delete this message for everyone\?/),
    });
    await admin.waitForSelector(`${a.message(row.offset)} [data-testid="mod-message-removed"]`);

    // live on the chat page: the text is gone, the other message stays
    await waitFor(async () => (await chatMessageAt(chat.page, doomedOffset))?.deleted, { message: 'removed on the chat page' });
    assert.deepEqual(await chatMessageAt(chat.page, doomedOffset), { deleted: true, removed: 'message removed by a moderator', text: null, author: chat.name });
    assert.equal((await chatMessageAt(chat.page, keptOffset)).text, kept);
    assert.equal(await chat.page.$eval('[data-testid="message-list"]', (n) => n.textContent.includes('spam.example')), false, 'the text is nowhere on the page');

    // and in the history after a reload
    await chat.page.reload();
    await waitForState(chat.page, 'connected');
    await waitFor(async () => (await chatMessageAt(chat.page, keptOffset))?.text === kept, { message: 'the history after the reload' });
    await waitFor(async () => (await chatMessageAt(chat.page, doomedOffset))?.deleted, { message: 'removed in the history' });
    // a replayed removal does not say who removed it (the history's `deleted: true`)
    assert.match((await chatMessageAt(chat.page, doomedOffset)).removed, /^message (removed by a moderator|deleted)$/);
    assert.equal((await chatMessageAt(chat.page, doomedOffset)).text, null);
    assert.equal(await chat.page.$eval('[data-testid="message-list"]', (n) => n.textContent.includes('spam.example')), false);
    assert.equal(await myName(chat.page), chat.name, 'the same identity after the reload');
    assertNoProblems(chat.page, 'chat');
    assertNoProblems(admin, 'admin');
  });

  test('(b) slow mode 30 s: the second of two quick messages is refused with a countdown; off again, Retry goes through', async () => {
    const chat = await openChat(ROOMS.slow);
    await inspect(ROOMS.slow, { rows: 0 });
    await admin.waitForSelector('[data-testid="slow-form"]:not([hidden])');
    assert.equal(await text(admin, '[data-testid="slow-state"]'), 'off');
    await admin.fill('[data-testid="slow-input"]', '30');
    await admin.click('[data-testid="slow-set"]');
    await waitFor(async () => (await text(admin, '[data-testid="slow-state"]')) === 'on: one message per 30 s', { message: 'slow mode on' });
    await admin.waitForSelector(`[data-testid="slow"][data-key="${ROOMS.slow}"]`);
    assert.match(await text(admin, `[data-testid="slow"][data-key="${ROOMS.slow}"]`), /#mod-slow\s*one message per 30 s\s*by Mod Mika/);

    await sendMessage(chat.page, 'first, right away');
    await sendMessage(chat.page, 'second, too soon');
    await waitFor(async () => (await ownMessage(chat.page, 'second, too soon'))?.status === 'failed', { message: 'the second refused' });
    assert.equal((await ownMessage(chat.page, 'first, right away')).status, 'delivered');
    assert.match((await ownMessage(chat.page, 'second, too soon')).statusText, /^Slow mode: one message every 30 s in this room\.\s*Retry$/);
    const line = await waitFor(() => limitLine(chat.page), { message: 'the slow mode line' });
    assert.equal(line.kind, 'slow_mode');
    const wait = Number(line.text.match(/^Slow mode: wait (\d+) s$/)?.[1]);
    assert.ok(wait >= 25 && wait <= 30, `a wait of about 30 s: "${line.text}"`);
    await waitFor(async () => Number((await limitLine(chat.page))?.text.match(/\d+/)?.[0]) < wait, { timeout: 3000, message: 'counting down' });

    // off: from the room card's Off button
    await admin.click('[data-testid="slow-off"]');
    await waitFor(async () => (await text(admin, '[data-testid="slow-state"]')) === 'off', { message: 'slow mode off' });
    await waitFor(async () => (await admin.$(`[data-testid="slow"][data-key="${ROOMS.slow}"]`)) === null, { message: 'gone from the panel' });
    await chat.page.click('[data-testid="retry-button"]');
    await waitFor(async () => (await ownMessage(chat.page, 'second, too soon'))?.status === 'delivered', { message: 'Retry delivered' });
    await waitFor(async () => (await limitLine(chat.page)) === null, { message: 'no slow mode line once a message went through' });
    await say(chat.page, 'and a third, no waiting');
    assertNoProblems(chat.page, 'chat');
    assertNoProblems(admin, 'admin');
  });

  test('(c) a chat page reports a message: in the reports panel with its reason and reporter; dismissed, gone', async () => {
    const reporter = await openChat(ROOMS.report);
    const author = await openChat(ROOMS.report);
    assert.notEqual(reporter.name, author.name);
    await say(reporter.page, 'anyone watching the finale tonight?');
    const spoiler = 'spoiler: the mecha was the friends we made along the way';
    const offset = await say(author.page, spoiler);
    await waitFor(async () => (await chatMessageAt(reporter.page, offset))?.text === spoiler, { message: 'the spoiler on the reporter’s page' });
    // the Control Center learns both names from the room's messages
    await inspect(ROOMS.report, { rows: 2 });

    // the report button shows on hover; the form takes a reason
    const bubble = `[data-testid="message"][data-offset="${offset}"]`;
    await reporter.page.hover(bubble);
    await reporter.page.click(`${bubble} [data-testid="report-button"]`);
    await reporter.page.waitForSelector(`${bubble} [data-testid="report-form"]`);
    await reporter.page.fill(`${bubble} [data-testid="report-reason"]`, 'spoilers without a warning');
    await reporter.page.click(`${bubble} [data-testid="report-submit"]`);
    await reporter.page.waitForSelector(`${bubble} [data-testid="reported"]`);
    await waitFor(async () => /Reported, thank you/.test(await reporter.page.$$eval(sel.toast, (n) => n.map((t) => t.textContent).join(' '))), { message: 'the thank-you toast' });

    const row = a.report(ROOMS.report, offset);
    await admin.waitForSelector(row, { timeout: LIST_TIMEOUT });
    assert.equal(await text(admin, `${row} [data-testid="mod-message-text"]`), spoiler);
    assert.equal(await text(admin, `${row} [data-testid="mod-message-name"]`), author.name);
    assert.equal(await text(admin, `${row} [data-testid="report-why"]`), `${reporter.name}: “spoilers without a warning”`);
    assert.equal(await text(admin, '[data-testid="reports-count"]'), '1');
    assert.deepEqual(await admin.$$eval(`${row} [data-action]`, (n) => n.map((b) => b.dataset.action)), ['delete', 'mute', 'ban', 'dismiss']);

    await confirmAction(row, 'dismiss', {
      check: async () => assert.match(await text(admin, `${row} .adm-confirm__question`), /Dismiss this report\? The message stays\./),
    });
    await waitFor(async () => (await admin.$(row)) === null, { timeout: LIST_TIMEOUT, message: 'the report gone' });
    await admin.waitForSelector('[data-testid="reports-empty"]:not([hidden])');
    assert.equal(await text(admin, '[data-testid="reports-count"]'), '0');
    assert.equal((await chatMessageAt(author.page, offset)).text, spoiler, 'dismissed: the message stays');
    assertNoProblems(reporter.page, 'reporter');
    assertNoProblems(author.page, 'author');
    assertNoProblems(admin, 'admin');
  });

  test('(d) muted from a name for 5 min: the next message says until when; lifted in the moderation panel, the next goes through', async () => {
    const chat = await openChat(ROOMS.mute);
    const hello = 'hello from the quiet corner';
    await say(chat.page, hello);
    await inspect(ROOMS.mute);
    const { offset } = await adminRow(hello);
    const mutedAt = Date.now();
    await confirmAction(a.message(offset), 'mute', {
      reason: 'cool down a little',
      check: async () => {
        assert.match(await text(admin, `${a.message(offset)} .adm-confirm__question`), new RegExp(`^Mute ${chat.name}\\?`));
        assert.equal(await admin.isChecked(`${a.message(offset)} [data-testid="duration-300"]`), true, '5 min unless chosen otherwise');
      },
    });
    const muteRow = `[data-testid="mute"]:has-text("${chat.name}")`;
    await admin.waitForSelector(muteRow);
    assert.match(await text(admin, muteRow), /identity \S+/);
    assert.match(await text(admin, muteRow), /“cool down a little”\s*by Mod Mika/);

    await sendMessage(chat.page, 'am I muted?');
    await waitFor(async () => (await ownMessage(chat.page, 'am I muted?'))?.status === 'failed', { message: 'refused' });
    const until = await text(chat.page, '[data-testid="muted-until"]');
    const expected = await Promise.all([mutedAt + 5 * 60000, mutedAt + 5 * 60000 + 60000].map((t) => clockOf(chat.page, t)));
    assert.ok(expected.some((hhmm) => until === `You are muted until ${hhmm}.`), `"${until}" is about 5 min from now (${expected})`);
    assert.match((await ownMessage(chat.page, 'am I muted?')).statusText, /^A moderator muted you for a while\. You are muted until \d\d:\d\d\.\s*Retry$/);
    const line = await waitFor(() => limitLine(chat.page), { message: 'the muted line' });
    assert.deepEqual(line, { kind: 'muted', text: until });

    // lifted from the moderation panel (no confirmation: it takes nothing away)
    await admin.click(`${muteRow} [data-action="unmute"]`);
    await waitFor(async () => (await admin.$(muteRow)) === null, { message: 'the mute gone from the panel' });
    await say(chat.page, 'back again, behaving');
    await waitFor(async () => (await limitLine(chat.page)) === null, { message: 'no muted line once a message went through' });
    assertNoProblems(chat.page, 'chat');
    assertNoProblems(admin, 'admin');
  });

  test('an address typed into the moderation panel: checked inline, muted for 1 h, listed, lifted', async () => {
    const panel = '[data-testid="address-panel"]';
    const sent = [];
    const onRequest = (req) => req.url().includes('/api/admin/mutes') && sent.push(req.method());
    admin.on('request', onRequest);
    await admin.fill('[data-testid="address-input"]', '198.51.100.300');
    await admin.click(`${panel} [data-action="mute-address"]`);
    await admin.waitForSelector('[data-testid="address-error"]:not([hidden])');
    assert.match(await text(admin, '[data-testid="address-error"]'), /Not an IP address/);

    await admin.fill('[data-testid="address-input"]', '198.51.100.23');
    await admin.check(`${panel} [data-testid="duration-3600"]`);
    await confirmAction(panel, 'mute-address', {
      reason: 'raid from one address',
      check: async () => assert.match(await text(admin, `${panel} .adm-confirm__question`), /^Mute address 198\.51\.100\.23 for 1\sh\?/),
    });
    const row = '[data-testid="mute"]:has-text("address 198.51.100.23")';
    await admin.waitForSelector(row);
    assert.match(await text(admin, row), /“raid from one address”\s*by Mod Mika/);
    assert.equal(await admin.inputValue('[data-testid="address-input"]'), '');
    await admin.click(`${row} [data-action="unmute"]`);
    await waitFor(async () => (await admin.$(row)) === null, { message: 'lifted' });
    admin.off('request', onRequest);
    assert.deepEqual(sent, ['POST', 'DELETE'], 'the bad address was never sent');
    assertNoProblems(admin, 'admin');
  });

  test('(f) banned from a name: the chat page’s connection closes and it comes back under a new name (the old token is revoked)', async () => {
    const chat = await openChat(ROOMS.ban);
    const before = 'hi, just passing through';
    await say(chat.page, before);
    const oldToken = await chat.page.evaluate(() => localStorage.getItem('anime-chat.token'));
    assert.ok(oldToken, 'the page keeps its identity token');
    await inspect(ROOMS.ban);
    const { offset } = await adminRow(before);
    await chat.page.evaluate(() => {
      window.__states = ['connected'];
    });
    await confirmAction(a.message(offset), 'ban', {
      reason: 'ban evasion',
      check: async () => assert.match(await text(admin, `${a.message(offset)} .adm-confirm__question`), new RegExp(`^Ban ${chat.name}\\? They cannot connect until the ban is lifted\\.`)),
    });
    const banRow = `[data-testid="ban"]:has-text("${chat.name}")`;
    await admin.waitForSelector(banRow);
    assert.match(await text(admin, banRow), /“ban evasion”\s*by Mod Mika/);

    // closed by the server, then connected again under a new name
    const newName = await waitFor(
      async () => {
        const name = await text(chat.page, sel.myName);
        return name && name !== '…' && name !== chat.name ? name : null;
      },
      { timeout: 20000, message: 'a new name' },
    );
    await waitForState(chat.page, 'connected');
    const states = await chat.page.evaluate(() => window.__states);
    assert.ok(states.length >= 3 && states[0] === 'connected' && states.at(-1) === 'connected' && states.slice(1, -1).some((s) => s !== 'connected'), `closed, then connected again: ${states}`);
    const notice = await chat.page.waitForSelector('[data-testid="notice"][data-code="invalid_token"]');
    assert.match(await notice.textContent(), /banned/i);
    const newToken = await chat.page.evaluate(() => localStorage.getItem('anime-chat.token'));
    assert.ok(newToken && newToken !== oldToken, 'a new token replaced the revoked one');
    assert.equal(await text(chat.page, '[data-testid="welcome-name"]'), newName);

    // the new identity may chat; the Control Center shows both names
    await say(chat.page, 'a fresh start');
    const fresh = await adminRow('a fresh start');
    assert.equal(fresh.name, newName);
    assert.equal((await adminRow(before)).name, chat.name);
    // the old message on the page still carries the old name
    assert.equal((await chatMessageAt(chat.page, offset)).author, chat.name);

    // lift it again (the old identity stays gone: its token was replaced)
    await admin.click(`${banRow} [data-action="unban"]`);
    await waitFor(async () => (await admin.$(banRow)) === null, { message: 'ban lifted' });
    assertNoProblems(chat.page, 'chat');
    assertNoProblems(admin, 'admin');
  });

  test('(e) the audit trail: the delete, the slow mode, the mute, the dismissal and the ban, each by the moderator; screenshot', async () => {
    const entries = () =>
      evalAll(admin, '[data-testid="audit-entry"]', (nodes) =>
        nodes.map((n) => ({
          action: n.dataset.action,
          by: n.querySelector('.adm-audit__by')?.textContent,
          target: n.querySelector('[data-testid="audit-target"]')?.textContent ?? null,
          name: n.querySelector('[data-testid="audit-name"]')?.textContent ?? null,
          details: n.querySelector('[data-testid="audit-details"]')?.textContent ?? '',
        })),
      );
    const wanted = ['delete', 'slow_mode', 'slow_mode', 'dismiss', 'mute', 'unmute', 'mute', 'unmute', 'ban', 'unban'];
    await waitFor(async () => (await entries()).length >= wanted.length, { timeout: LIST_TIMEOUT, message: 'the whole trail' });
    const trail = await entries();
    assert.deepEqual(trail.map((e) => e.action), [...wanted].reverse(), 'newest first');
    for (const e of trail) assert.equal(e.by, MODERATOR, `${e.action} by the moderator`);
    const [del] = trail.filter((e) => e.action === 'delete');
    assert.equal(del.target, `#${ROOMS.delete}`);
    assert.match(del.details, /^message #\d+ · “spam link”$/);
    const slow = trail.filter((e) => e.action === 'slow_mode');
    assert.deepEqual(slow.map((e) => [e.target, e.details]), [
      [`#${ROOMS.slow}`, 'off'],
      [`#${ROOMS.slow}`, 'one message per 30 s'],
    ]);
    const mutes = trail.filter((e) => e.action === 'mute');
    assert.match(mutes[0].target, /^address 198\.51\.100\.23$/);
    assert.match(mutes[1].target, /^identity \S+$/);
    assert.equal(mutes[1].name, e2e.chats.find((c) => c.room === ROOMS.mute).name, 'the muted person by name');
    assert.match(mutes[1].details, /^until \d\d:\d\d:\d\d · “cool down a little”$/);
    assert.equal(trail.find((e) => e.action === 'dismiss').target, `#${ROOMS.report}`);
    assert.equal(trail.find((e) => e.action === 'ban').name, e2e.chats.find((c) => c.room === ROOMS.ban).name);

    // the picture: an open report next to the mutes and the trail
    const [reporter, author] = e2e.chats.filter((c) => c.room === ROOMS.report);
    const offset = await say(author.page, 'ok but have you SEEN episode 12, the ending where everyone');
    const bubble = `[data-testid="message"][data-offset="${offset}"]`;
    await waitFor(async () => (await chatMessageAt(reporter.page, offset)) !== null, { message: 'on the reporter’s page' });
    await reporter.page.hover(bubble);
    await reporter.page.click(`${bubble} [data-testid="report-button"]`);
    await reporter.page.fill(`${bubble} [data-testid="report-reason"]`, 'spoilers again, second time today');
    await reporter.page.press(`${bubble} [data-testid="report-reason"]`, 'Enter');
    await reporter.page.waitForSelector(`${bubble} [data-testid="reported"]`);
    // a mute in force, so the panel has something in it too
    await inspect(ROOMS.report, { rows: 3 });
    await confirmAction(a.message(offset), 'mute', { duration: 3600, reason: 'spoiler spree' });
    await admin.waitForSelector(a.report(ROOMS.report, offset), { timeout: LIST_TIMEOUT });
    await admin.waitForSelector(`[data-testid="mute"]:has-text("${author.name}")`);
    await waitFor(async () => (await entries())[0]?.action === 'mute', { timeout: LIST_TIMEOUT, message: 'the new mute in the trail' });

    await admin.evaluate(() => document.activeElement?.blur());
    await admin.mouse.move(4, 796);
    const box = await admin.$eval('[data-testid="moderation"]', (n) => {
      n.scrollIntoView({ block: 'start' });
      const r = n.getBoundingClientRect();
      return { top: r.top + window.scrollY, height: r.height };
    });
    await sleep(400);
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    // the section and a little sky around it (not the cards above it)
    const height = Math.min(Math.ceil(box.height) + 24, 1000);
    await admin.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled', clip: { x: 0, y: Math.max(0, box.top - 8), width: 1280, height } });
    const buf = await readFile(SCREENSHOT);
    assert.deepEqual(pngSize(buf), { width: 1280, height });
    assert.ok(buf.length > 40000, `the screenshot has content (${buf.length} bytes)`);
    if (process.env.UPDATE_DOCS_SCREENSHOTS) {
      await mkdir(path.dirname(DOCS_SCREENSHOT), { recursive: true });
      await copyFile(SCREENSHOT, DOCS_SCREENSHOT);
    }
    for (const { page } of e2e.chats) assertNoProblems(page, 'chat');
    assertNoProblems(admin, 'admin');
  });
});
