// End-to-end: a message's life (docs/protocol.md, "A message's life") in
// Chromium against the real server binary and Kafka. Each step has its own
// room and two chat pages, A and B (each its own browser context, so its own
// identity), and is done through the page's UI as a person would:
//
//   reply      B answers A: the quote above the reply on both pages, a click
//              on it shows the original; a newcomer's history has it too;
//   react      A and B both 🔥 (2, "mine" on each), A alone 😂 (mine on A's
//              page only), B takes 🔥 back: live on both, and the same after
//              a reload (history) and in GET /api/rooms/{room}/messages;
//   edit       A edits (Escape cancels, Enter saves; the Up arrow on an
//              empty box takes the last one): B sees the text and "edited"
//              live and after a reload, and B's quote of it follows; B has
//              no Edit or Delete on A's;
//   delete     A deletes: "message deleted" on both, in B's quote of it too,
//              and after a reload;
//   resume     B offline while A edits, deletes and reacts: B's resume
//              (since=) brings each change once;
//   mentions   B completes A's name from "@" and a few letters: highlighted
//              on A's page; scrolled up, A gets the "@ 1 mention" badge; in
//              another room, the room list marks the mention;
//   spoilers   blurred until clicked, on each page for itself; always
//              blurred in a reply's quote;
//   links      http(s) as <a rel="noopener noreferrer nofollow">, other
//              schemes as text;
//   XSS        markup in messages, edits, replies (so in quotes) and
//              reactions (a bogus emoji, from Node and from the page: the
//              server refuses it) stays text; nothing runs.
//
// Every page ends with no console errors, page errors or CSP violations.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { assertNoProblems, chatMessageAt, offsetOf, rawSocket, say, textOf, useRealServer } from './e2e.mjs';
import { activeTestid, evalAll, inView, msgSel, reactionsOf, sel, waitFor, waitForState } from './helpers.mjs';

// The topic is fresh for every run, so readable room names cannot clash.
const ROOMS = {
  reply: 'life-reply',
  react: 'life-react',
  edit: 'life-edit',
  delete: 'life-delete',
  resume: 'life-resume',
  mention: 'life-mention',
  elsewhere: 'life-elsewhere',
  spoiler: 'life-spoiler',
  links: 'life-links',
  xss: 'life-xss',
};
/** The room list is read every 10 s (and the unread counts with it): allow two rounds. */
const LIST_TIMEOUT = 25000;
const LINK_REL = 'noopener noreferrer nofollow';
/** A page back online reconnects on its backoff: allow a few rounds. */
const RECONNECT_TIMEOUT_MS = 45000;

// ---------------------------------------------------------------------------
// reading a message the way its reader sees it

/** The quote above a message: {offset, author, text} as the eye reads them (no screen-reader words), or null. */
const quoteAt = (page, offset) =>
  page.evaluate((message) => {
    const q = document.querySelector(`${message} [data-testid="reply-quote"]`);
    if (!q) return null;
    const preview = q.querySelector('[data-testid="quote-text"]').cloneNode(true);
    for (const n of preview.querySelectorAll('.sr-only')) n.remove();
    return { offset: Number(q.dataset.offset), author: q.querySelector('[data-testid="quote-author"]').textContent, text: preview.textContent };
  }, msgSel(offset));

/** A message's text and its "edited" mark: {text, edited, mark}. */
const editAt = (page, offset) =>
  page.evaluate((message) => {
    const n = document.querySelector(message);
    return n ? { text: n.querySelector('[data-testid="message-text"]')?.textContent ?? null, edited: n.dataset.edited === 'true', mark: n.querySelector('[data-testid="edited"]')?.textContent ?? null } : null;
  }, msgSel(offset));

/** The actions a message offers (its toolbar's buttons), in order. */
const actionsOf = (page, offset) => evalAll(page, `${msgSel(offset)} [data-testid="message-actions"] button`, (nodes) => nodes.map((n) => n.dataset.action));

/** The spoilers inside `selector`: [{text, shown, blurred}]. */
const spoilersIn = (page, selector) =>
  evalAll(page, `${selector} [data-testid="spoiler"]`, (nodes) =>
    nodes.map((n) => ({
      text: (n.querySelector('.spoiler__text') ?? n).textContent, // without a quote's word for screen readers
      shown: n.classList.contains('spoiler--shown'),
      blurred: /blur/.test(getComputedStyle(n.querySelector('.spoiler__text') ?? n).filter),
    })),
  );

const hasClass = (page, selector, name) => page.$eval(selector, (n, c) => n.classList.contains(c), name);

/** The page shows the message at `offset` (with this text, when given). */
async function shows(page, offset, messageText) {
  return waitFor(
    async () => {
      const m = await chatMessageAt(page, offset);
      return m && (messageText === undefined || m.text === messageText) ? m : null;
    },
    { message: `message ${offset}${messageText === undefined ? '' : ` "${messageText}"`}` },
  );
}

async function waitReactions(page, offset, want) {
  await waitFor(async () => JSON.stringify(await reactionsOf(page, offset)) === JSON.stringify(want), { message: `reactions ${JSON.stringify(want)} on ${offset}` });
}

/** Press one of a message's actions, as a mouse user does (the toolbar shows on hover). */
async function act(page, offset, action) {
  await page.hover(msgSel(offset));
  await page.click(`${msgSel(offset)} [data-testid="${action}-button"]`);
}

/** A message of 12 lines: a few of them scroll a message out of view. */
const tall = (label) => Array.from({ length: 12 }, (_, i) => `${label}, line ${i + 1}`).join('\n');

/** The list scrolled so far up that new messages do not pull it down. */
async function scrollUp(page) {
  await page.$eval('#scroller', (s) => s.scrollTo({ top: 0 }));
  await sleep(150); // the scroll event settles the pill and the badge
  const left = await page.$eval('#scroller', (s) => s.scrollHeight - s.scrollTop - s.clientHeight);
  assert.ok(left > 200, `the list is scrolled up (${left} px below)`);
}

/** How a text reads on the page: `||spoiler||` marks are not shown. */
const shownText = (t) => t.replaceAll('||', '');

const presenceNames = (page) => evalAll(page, '[data-testid="presence-person"]', (nodes) => nodes.map((n) => n.dataset.name));

// ---------------------------------------------------------------------------

describe('a message’s life end to end: replies, reactions, edits, deletions, mentions, spoilers, links, markup', { timeout: 600000 }, () => {
  const e2e = useRealServer();

  /** A and B in `room`, each seeing both in the presence list. */
  async function pair(room) {
    const a = await e2e.openChat(room);
    const b = await e2e.openChat(room);
    for (const page of [a.page, b.page]) {
      await waitFor(async () => (await presenceNames(page)).sort().join('\n') === [a.name, b.name].sort().join('\n'), { message: 'both online' });
    }
    return [a, b];
  }

  function noProblems(...chats) {
    for (const c of chats) assertNoProblems(c.page, c.name);
  }

  test('reply: B answers A; the quote above the reply on both pages, a click on it shows the original; in a newcomer’s history too', async () => {
    const [a, b] = await pair(ROOMS.reply);
    const question = 'Who is the best Frieren character?';
    const q = await say(a.page, question);
    await shows(b.page, q, question);
    for (let i = 1; i <= 3; i += 1) await say(b.page, tall(`thinking ${i}`));

    await act(b.page, q, 'reply');
    await b.page.waitForSelector('[data-testid="reply-bar"]:not([hidden])');
    assert.equal(await textOf(b.page, '[data-testid="reply-bar"] [data-testid="quote-author"]'), a.name);
    assert.equal(await textOf(b.page, '[data-testid="reply-bar"] [data-testid="quote-text"]'), question);
    assert.equal(await activeTestid(b.page), 'message-input', 'the box has the focus');
    const answer = 'Fern, obviously. Zoltraak!';
    const r = await say(b.page, answer);
    await b.page.waitForSelector('[data-testid="reply-bar"]', { state: 'hidden' });

    const quote = { offset: q, author: a.name, text: question };
    for (const page of [a.page, b.page]) {
      await shows(page, r, answer);
      await waitFor(async () => (await quoteAt(page, r))?.author === a.name, { message: 'the quote with its author' });
      assert.deepEqual(await quoteAt(page, r), quote);
    }

    // on A's page the original is far up; the quote brings it back, highlighted
    assert.equal(await inView(a.page, msgSel(q)), false, 'the question scrolled away');
    await a.page.click(`${msgSel(r)} [data-testid="reply-quote"]`);
    assert.equal(await hasClass(a.page, msgSel(q), 'msg--flash'), true, 'highlighted');
    await waitFor(() => inView(a.page, msgSel(q)), { message: 'the question scrolled into view' });

    // someone arriving later gets the reply with its quote from the history
    const c = await e2e.openChat(ROOMS.reply);
    await shows(c.page, r, answer);
    assert.deepEqual(await quoteAt(c.page, r), quote);
    assert.equal(await inView(c.page, msgSel(q)), false);
    await c.page.click(`${msgSel(r)} [data-testid="reply-quote"]`);
    assert.equal(await hasClass(c.page, msgSel(q), 'msg--flash'), true);
    await waitFor(() => inView(c.page, msgSel(q)), { message: 'the question in view on the newcomer’s page' });
    noProblems(a, b, c);
  });

  test('react: 🔥 from both (2, mine on each page), 😂 from A alone, B takes 🔥 back; live on both, the same after a reload and over HTTP', async () => {
    const [a, b] = await pair(ROOMS.react);
    const m = await say(a.page, 'Frieren season 2 confirmed!!');
    await shows(b.page, m);

    // A picks 🔥 from the picker
    await act(a.page, m, 'react');
    await a.page.waitForSelector('[data-testid="reaction-picker"]');
    await a.page.click('[data-testid="reaction-picker"] [data-emoji="🔥"]');
    await waitReactions(a.page, m, [['🔥', 1, true]]);
    await waitReactions(b.page, m, [['🔥', 1, false]]);

    // B presses A's 🔥: one more, B's too
    await b.page.click(`${msgSel(m)} [data-testid="reaction"][data-emoji="🔥"]`);
    await waitReactions(b.page, m, [['🔥', 2, true]]);
    await waitReactions(a.page, m, [['🔥', 2, true]]);

    // A alone adds 😂: A's on A's page, not on B's
    await act(a.page, m, 'react');
    await a.page.click('[data-testid="reaction-picker"] [data-emoji="😂"]');
    await waitReactions(a.page, m, [['🔥', 2, true], ['😂', 1, true]]);
    await waitReactions(b.page, m, [['🔥', 2, true], ['😂', 1, false]]);
    assert.equal(await a.page.$$eval(`${msgSel(m)} .reaction--mine`, (n) => n.length), 2);
    assert.equal(await b.page.$$eval(`${msgSel(m)} .reaction--mine`, (n) => n.length), 1, 'only B’s own highlighted');
    assert.equal(await b.page.getAttribute(`${msgSel(m)} [data-testid="reaction"][data-emoji="😂"]`, 'title'), a.name, 'who reacted');
    assert.equal(await a.page.getAttribute(`${msgSel(m)} [data-testid="reaction"][data-emoji="🔥"]`, 'title'), `${b.name}, you`);

    // B presses its own 🔥: taken back, on both pages
    await b.page.click(`${msgSel(m)} [data-testid="reaction"][data-emoji="🔥"]`);
    const afterA = [['🔥', 1, true], ['😂', 1, true]];
    const afterB = [['🔥', 1, false], ['😂', 1, false]];
    await waitReactions(b.page, m, afterB);
    await waitReactions(a.page, m, afterA);

    // later: a reload brings the same from the history
    for (const [page, want] of [[a.page, afterA], [b.page, afterB]]) {
      await page.reload();
      await waitForState(page, 'connected');
      await waitReactions(page, m, want);
    }
    // and the HTTP API says the same
    const res = await fetch(`${e2e.server.baseUrl}/api/rooms/${ROOMS.react}/messages`);
    const stored = (await res.json()).messages.find((x) => x.offset === m);
    assert.deepEqual(stored.reactions, [{ emoji: '🔥', count: 1, users: [a.name] }, { emoji: '😂', count: 1, users: [a.name] }]);
    noProblems(a, b);
  });

  test('edit: Escape cancels, Enter saves, the Up arrow on an empty box takes the last one; B sees text and "edited" live and after a reload, and cannot edit or delete it', async () => {
    const [a, b] = await pair(ROOMS.edit);
    const first = 'I love Fern sooo much';
    const m1 = await say(a.page, first);
    await shows(b.page, m1, first);

    // only the author may change it: B's toolbar has no Edit or Delete, and B's Up arrow does nothing
    await b.page.hover(msgSel(m1));
    assert.deepEqual(await actionsOf(b.page, m1), ['react', 'reply', 'report']);
    assert.deepEqual(await actionsOf(a.page, m1), ['react', 'reply', 'edit', 'delete']);
    await b.page.focus(sel.input);
    await b.page.keyboard.press('ArrowUp');
    await sleep(200);
    assert.equal(await b.page.$('[data-testid="edit-input"]'), null, 'nothing of B’s to edit');
    // B's reply quotes it: the quote follows the edit
    await act(b.page, m1, 'reply');
    const r = await say(b.page, 'who doesn’t');

    // Escape: nothing changes
    await act(a.page, m1, 'edit');
    await a.page.waitForSelector(`${msgSel(m1)} [data-testid="edit-input"]`);
    assert.equal(await a.page.inputValue('[data-testid="edit-input"]'), first);
    await a.page.keyboard.type(' and Stark');
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('[data-testid="edit-input"]', { state: 'detached' });
    assert.equal(await activeTestid(a.page), 'edit-button', 'the focus goes back to the button');
    assert.deepEqual(await editAt(a.page, m1), { text: first, edited: false, mark: null });

    // Enter: saved, on both pages
    await act(a.page, m1, 'edit');
    await a.page.fill('[data-testid="edit-input"]', 'I love Fern so much');
    await a.page.press('[data-testid="edit-input"]', 'Enter');
    const edited1 = { text: 'I love Fern so much', edited: true, mark: 'edited' };
    const quote = { offset: m1, author: a.name, text: edited1.text };
    for (const page of [a.page, b.page]) {
      await waitFor(async () => (await editAt(page, m1))?.mark === 'edited', { message: 'edited' });
      assert.deepEqual(await editAt(page, m1), edited1);
      assert.deepEqual(await quoteAt(page, r), quote);
    }

    // the Up arrow in the empty box opens the last one; Escape closes it, back in the box
    const m2 = await say(a.page, 'Stark is brave');
    await shows(b.page, m2, 'Stark is brave');
    await a.page.focus(sel.input);
    await a.page.keyboard.type('a draft');
    await a.page.keyboard.press('ArrowUp');
    await sleep(200);
    assert.equal(await a.page.$('[data-testid="edit-input"]'), null, 'not while the box holds a draft');
    await a.page.fill(sel.input, '');
    await a.page.keyboard.press('ArrowUp');
    await a.page.waitForSelector(`${msgSel(m2)} [data-testid="edit-input"]`);
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('[data-testid="edit-input"]', { state: 'detached' });
    assert.equal(await activeTestid(a.page), 'message-input');
    await a.page.keyboard.press('ArrowUp');
    await a.page.waitForSelector(`${msgSel(m2)} [data-testid="edit-input"]`);
    await a.page.fill('[data-testid="edit-input"]', 'Stark is so brave');
    await a.page.press('[data-testid="edit-input"]', 'Enter');
    const edited2 = { text: 'Stark is so brave', edited: true, mark: 'edited' };
    await waitFor(async () => (await editAt(b.page, m2))?.text === edited2.text, { message: 'the second edit on B’s page' });
    assert.deepEqual(await editAt(b.page, m2), edited2);

    // after a reload: the edits from the history; still A's to change, never B's
    for (const page of [a.page, b.page]) {
      await page.reload();
      await waitForState(page, 'connected');
      await shows(page, m2);
      assert.deepEqual(await editAt(page, m1), edited1);
      assert.deepEqual(await editAt(page, m2), edited2);
      assert.deepEqual(await quoteAt(page, r), quote, 'the server’s quote is of the message as it is now');
    }
    await a.page.hover(msgSel(m2));
    assert.deepEqual(await actionsOf(a.page, m2), ['react', 'reply', 'edit', 'delete'], 'A’s identity came back with the reload');
    await b.page.hover(msgSel(m2));
    assert.deepEqual(await actionsOf(b.page, m2), ['react', 'reply', 'report']);
    noProblems(a, b);
  });

  test('delete: A deletes its own; "message deleted" on both pages (B’s quote of it too), and after a reload', async () => {
    const [a, b] = await pair(ROOMS.delete);
    const kept = 'the finale is tonight 🌙';
    const doomed = 'oops, this was for another room';
    const k = await say(a.page, kept);
    const d = await say(a.page, doomed);
    await shows(b.page, d, doomed);
    await act(b.page, d, 'reply');
    const r = await say(b.page, 'lol which room?');
    assert.deepEqual(await actionsOf(b.page, d), ['react', 'reply', 'report'], 'not B’s to delete');

    await act(a.page, d, 'delete');
    await a.page.waitForSelector(`${msgSel(d)} [data-testid="delete-confirmation"]`);
    await a.page.click('[data-testid="delete-confirm"]');

    const gone = { deleted: true, removed: 'message deleted', text: null, author: a.name };
    const check = async (page) => {
      await waitFor(async () => (await chatMessageAt(page, d))?.removed === 'message deleted', { message: 'deleted' });
      assert.deepEqual(await chatMessageAt(page, d), gone);
      assert.equal(await page.getAttribute(`${msgSel(d)} [data-testid="message-removed"]`, 'data-by'), 'author');
      assert.equal(await page.$$eval(`${msgSel(d)} button`, (n) => n.length), 0, 'nothing left to do with it');
      assert.equal((await chatMessageAt(page, k)).text, kept);
      await waitFor(async () => (await quoteAt(page, r))?.text === 'message deleted', { message: 'the quote says so' });
      assert.equal(await page.$eval('[data-testid="message-list"]', (n, t) => n.textContent.includes(t), doomed), false, 'the text is nowhere on the page');
    };
    for (const page of [a.page, b.page]) await check(page);
    for (const page of [a.page, b.page]) {
      await page.reload();
      await waitForState(page, 'connected');
      await shows(page, r);
      await check(page);
    }
    noProblems(a, b);
  });

  test('offline and back: an edit, a deletion and a reaction made meanwhile come with the resume (since=), once each', async () => {
    const [a, b] = await pair(ROOMS.resume);
    const typo = await say(a.page, 'Himmel was teh best');
    const doomed = await say(a.page, 'wrong thread, sorry');
    const liked = await say(a.page, 'rewatch party on friday?');
    await shows(b.page, liked);
    const since = await b.page.evaluate(() => window.animeChat.lastOffset);
    await b.page.context().setOffline(true);
    await waitForState(b.page, 'offline');

    await act(a.page, typo, 'edit');
    await a.page.fill('[data-testid="edit-input"]', 'Himmel was the best');
    await a.page.press('[data-testid="edit-input"]', 'Enter');
    await waitFor(async () => (await editAt(a.page, typo))?.mark === 'edited', { message: 'edited' });
    await act(a.page, doomed, 'delete');
    await a.page.click('[data-testid="delete-confirm"]');
    await waitFor(async () => (await chatMessageAt(a.page, doomed))?.deleted, { message: 'deleted' });
    await act(a.page, liked, 'react');
    await a.page.click('[data-testid="reaction-picker"] [data-emoji="🎉"]');
    await waitReactions(a.page, liked, [['🎉', 1, true]]);
    const later = await say(a.page, 'see you there');

    await b.page.context().setOffline(false);
    await waitForState(b.page, 'connected', RECONNECT_TIMEOUT_MS);
    assert.equal(b.page.wsUrls.at(-1).searchParams.get('since'), String(since), 'a resume, not a fresh history');
    await shows(b.page, later, 'see you there');
    await waitReactions(b.page, liked, [['🎉', 1, false]]);
    assert.deepEqual(await editAt(b.page, typo), { text: 'Himmel was the best', edited: true, mark: 'edited' });
    assert.deepEqual(await chatMessageAt(b.page, doomed), { deleted: true, removed: 'message deleted', text: null, author: a.name });
    assert.equal(await b.page.$$eval(msgSel(later), (n) => n.length), 1, 'the new message once');
    // the resume point is past the events too: the next resume asks for nothing old
    assert.equal(await b.page.evaluate(() => window.animeChat.lastOffset), await a.page.evaluate(() => window.animeChat.lastOffset));
    noProblems(a, b);
  });

  test('mentions: B completes A’s name from "@" and three letters; highlighted on A’s page; scrolled up, the badge; in another room, the room list', async () => {
    const [a, b] = await pair(ROOMS.mention);
    await b.page.focus(sel.input);
    await b.page.keyboard.type(`hey @${a.name.slice(0, 3).toLowerCase()}`);
    await b.page.waitForSelector('[data-testid="mention-option"]');
    assert.deepEqual(await evalAll(b.page, '[data-testid="mention-option"]', (n) => n.map((o) => o.dataset.name)), [a.name], 'A, never B');
    await b.page.keyboard.press('Enter');
    assert.equal(await b.page.inputValue(sel.input), `hey @${a.name} `, 'Enter took the name');
    await b.page.keyboard.type('are you watching?');
    await b.page.keyboard.press('Enter');
    const said = `hey @${a.name} are you watching?`;
    const m = await offsetOf(b.page, said);
    await shows(a.page, m, said);
    const marks = (page) => evalAll(page, `${msgSel(m)} [data-testid="mention"]`, (n) => n.map((s) => [s.textContent, s.dataset.me]));
    assert.deepEqual(await marks(a.page), [[`@${a.name}`, 'true']]);
    assert.equal(await hasClass(a.page, msgSel(m), 'msg--mentions-me'), true, 'the message naming A is marked on A’s page');
    assert.deepEqual(await marks(b.page), [[`@${a.name}`, 'false']]);
    assert.equal(await hasClass(b.page, msgSel(m), 'msg--mentions-me'), false);
    assert.equal(await a.page.isHidden('[data-testid="mention-badge"]'), true, 'at the bottom: no badge');

    // A reads further up: the next mention counts in the badge until shown
    for (let i = 1; i <= 3; i += 1) await say(b.page, tall(`episode notes ${i}`));
    await shows(a.page, await say(b.page, 'anyway'));
    await scrollUp(a.page);
    const ping = await say(b.page, `@${a.name} look, the new trailer!`);
    await a.page.waitForSelector('[data-testid="mention-badge"]:not([hidden])');
    assert.equal(await textOf(a.page, '[data-testid="mention-badge-count"]'), '1 mention');
    await a.page.click('[data-testid="mention-badge"]');
    await waitFor(() => inView(a.page, msgSel(ping)), { message: 'scrolled to the mention' });
    await a.page.waitForSelector('[data-testid="mention-badge"]', { state: 'hidden' });

    // A in another room: the room list counts what came since, naming A
    await a.page.fill('[data-testid="join-input"]', ROOMS.elsewhere);
    await a.page.press('[data-testid="join-input"]', 'Enter');
    await waitFor(async () => (await a.page.evaluate(() => location.search)) === `?room=${ROOMS.elsewhere}`, { message: 'in the other room' });
    await waitForState(a.page, 'connected');
    await waitFor(async () => !(await presenceNames(b.page)).includes(a.name), { message: 'A left B’s room' });
    const away = `@${a.name} come back, episode 12 starts!`;
    await say(b.page, away);
    const badge = `[data-testid="room-link"][data-room="${ROOMS.mention}"] [data-testid="room-unread"]`;
    await a.page.waitForSelector(badge, { timeout: LIST_TIMEOUT });
    assert.equal(await textOf(a.page, `${badge} [data-testid="room-unread-count"]`), '1');
    assert.equal(await hasClass(a.page, badge, 'room__unread--mention'), true);
    assert.equal(await a.page.getAttribute(badge, 'title'), '1 new message since you left, 1 naming you');

    // back there: nothing unread, the mention highlighted
    await a.page.click(`[data-testid="room-link"][data-room="${ROOMS.mention}"]`);
    await waitForState(a.page, 'connected');
    const back = await offsetOf(a.page, away);
    assert.equal(await hasClass(a.page, msgSel(back), 'msg--mentions-me'), true);
    await waitFor(async () => (await a.page.$('[data-testid="room-unread"]')) === null, { message: 'cleared when opened' });
    noProblems(a, b);
  });

  test('spoilers: ||the ending|| blurred until clicked, on each page for itself; always blurred in a reply’s quote, also after a reload', async () => {
    const [a, b] = await pair(ROOMS.spoiler);
    const m = await say(a.page, 'no way, ||the ending|| made me cry');
    await shows(b.page, m, 'no way, the ending made me cry');
    const hidden = [{ text: 'the ending', shown: false, blurred: true }];
    const seen = [{ text: 'the ending', shown: true, blurred: false }];
    for (const page of [a.page, b.page]) {
      assert.deepEqual(await spoilersIn(page, msgSel(m)), hidden);
      assert.equal(await page.getAttribute(`${msgSel(m)} [data-testid="spoiler"]`, 'role'), 'button');
    }
    await b.page.click(`${msgSel(m)} [data-testid="spoiler"]`);
    assert.deepEqual(await spoilersIn(b.page, msgSel(m)), seen);
    assert.deepEqual(await spoilersIn(a.page, msgSel(m)), hidden, 'still hidden for A');

    // B answers it: blurred in the quote above the box and above the reply, even for B who saw it
    await act(b.page, m, 'reply');
    assert.deepEqual(await spoilersIn(b.page, '[data-testid="reply-bar"]'), hidden);
    const r = await say(b.page, 'SAME. I was not ready');
    const quoteSel = `${msgSel(r)} [data-testid="reply-quote"]`;
    for (const page of [a.page, b.page]) {
      await page.waitForSelector(quoteSel);
      assert.deepEqual(await spoilersIn(page, quoteSel), hidden);
    }
    // a click on the quote's spoiler shows the message, not the spoiler
    await a.page.click(`${quoteSel} [data-testid="spoiler"]`);
    assert.deepEqual(await spoilersIn(a.page, quoteSel), hidden);
    assert.equal(await hasClass(a.page, msgSel(m), 'msg--flash'), true);

    await b.page.reload();
    await waitForState(b.page, 'connected');
    await b.page.waitForSelector(quoteSel);
    assert.deepEqual(await spoilersIn(b.page, msgSel(m)), hidden, 'hidden again after a reload');
    assert.deepEqual(await spoilersIn(b.page, quoteSel), hidden);
    noProblems(a, b);
  });

  test('links: http(s) become links that give the opened page no opener, referrer or endorsement; javascript:, data:, ftp: stay text', async () => {
    const [a, b] = await pair(ROOMS.links);
    const body = 'ep 12: https://example.com/ep?x=1&y=2. not javascript:alert(1) nor data:text/html,<b>x</b> nor ftp://files.example/a nor vbscript:msgbox(1) (mirror: http://a.io/b_(c))';
    const m = await say(a.page, body);
    const links = (page) => evalAll(page, `${msgSel(m)} a`, (n) => n.map((l) => [l.textContent, l.getAttribute('href'), l.getAttribute('target'), l.getAttribute('rel')]));
    const want = [
      ['https://example.com/ep?x=1&y=2', 'https://example.com/ep?x=1&y=2', '_blank', LINK_REL],
      ['http://a.io/b_(c)', 'http://a.io/b_(c)', '_blank', LINK_REL],
    ];
    await shows(b.page, m, body);
    await b.page.reload(); // from the history as well as live (A's page)
    await waitForState(b.page, 'connected');
    for (const page of [a.page, b.page]) {
      await shows(page, m, body);
      assert.deepEqual(await links(page), want);
      assert.equal(await page.$$eval('.app [href^="javascript"], .app [href^="data"], .app [href^="ftp"], .app [href^="vbscript"]', (n) => n.length), 0);
    }
    noProblems(a, b);
  });

  test('markup stays text: in messages, an edit, replies and their quotes, reactions (a bogus emoji from Node and from the page is refused); nothing runs', async () => {
    const [a, b] = await pair(ROOMS.xss);
    const payloads = [
      '<img src=x onerror=window.__pwned=1>',
      '"><svg onload=window.__pwned=1>',
      'javascript:window.__pwned=1',
      '||<b>x</b>||',
      '@<script>',
    ];
    // 119 characters: the whole of it fits a quote's 120-character preview
    const all = payloads.join(' ');
    const texts = new Map();
    for (const t of [...payloads, '<script>window.__pwned=1</script>']) texts.set(await say(a.page, t), t);

    // an edit
    const e = await say(a.page, 'harmless, for now');
    await act(a.page, e, 'edit');
    await a.page.fill('[data-testid="edit-input"]', all);
    await a.page.press('[data-testid="edit-input"]', 'Enter');
    texts.set(e, all);
    await waitFor(async () => (await editAt(b.page, e))?.edited, { message: 'the edit on B’s page' });

    // replies: B answers the edited one with markup, A answers B's
    await act(b.page, e, 'reply');
    const r = await say(b.page, all);
    texts.set(r, all);
    await shows(a.page, r);
    await act(a.page, r, 'reply');
    const r2 = await say(a.page, 'what did you just send');
    texts.set(r2, 'what did you just send');
    const quotes = new Map([
      [r, { offset: e, author: a.name, text: shownText(all) }],
      [r2, { offset: r, author: b.name, text: shownText(all) }],
    ]);

    // reactions: only the 18 emoji get through. From Node, the one that is
    // and one that is not (to nobody but the sender)...
    const raw = await rawSocket(e2e.server, ROOMS.xss);
    const bogus = '<img src=x onerror=window.__pwned=1>';
    raw.send({ type: 'react', offset: e, emoji: '🌸', client_msg_id: 'raw-ok' });
    assert.equal((await raw.next((f) => f.client_msg_id === 'raw-ok')).type, 'ack');
    raw.send({ type: 'react', offset: e, emoji: bogus, client_msg_id: 'raw-bogus' });
    const refused = await raw.next((f) => f.client_msg_id === 'raw-bogus');
    assert.deepEqual([refused.type, refused.code], ['error', 'invalid_emoji']);
    raw.close();
    // ...and from the page, as a tampered page would send it (the picker offers only the 18)
    await a.page.evaluate(({ offset, emoji }) => window.animeChat.session.react(offset, emoji), { offset: e, emoji: bogus });
    const error = `${msgSel(e)} [data-testid="action-error"]`;
    await a.page.waitForSelector(error);
    assert.equal(await a.page.getAttribute(error, 'data-code'), 'invalid_emoji');
    assert.match(await textOf(a.page, error), /🔥/, 'the server’s reason, naming the emoji it takes');

    // a newcomer reads it all from the history
    const c = await e2e.openChat(ROOMS.xss);
    for (const page of [a.page, b.page, c.page]) {
      await waitReactions(page, e, [['🌸', 1, false]]);
      assert.equal(await page.getAttribute(`${msgSel(e)} [data-testid="reaction"][data-emoji="🌸"]`, 'title'), raw.welcome.username);
      for (const [offset, t] of texts) {
        await shows(page, offset, shownText(t));
      }
      for (const [offset, q] of quotes) assert.deepEqual(await quoteAt(page, offset), q);
      await sleep(200);
      assert.equal(await page.evaluate(() => window.__pwned), undefined, 'nothing ran');
      assert.equal(await page.$$eval('.app img:not(.brand__logo img), .app script, .app b, .app [onerror], .app [onload], .app [href^="javascript"]', (n) => n.length), 0, 'no element from a message');
    }
    noProblems(a, b, c);
  });
});
