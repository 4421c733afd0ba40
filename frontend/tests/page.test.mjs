// Browser tests of the page against a scripted WebSocket (no server binary
// needed): protocol edge cases in exact orders, rendering, keyboard, layout.
// The page is served the way the real server serves it, with the same CSP,
// and every test asserts the page logged no errors and no CSP violations.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  activeTestid,
  connectionState,
  evalAll,
  inView,
  launchBrowser,
  msgSel,
  newPage,
  noHorizontalScroll,
  reactionsOf,
  readMessages,
  recordConnectionStates,
  sel,
  sendMessage,
  startStaticServer,
  waitFor,
  waitForState,
} from './helpers.mjs';
import { MockChat } from './mock-server.mjs';

let browser;
let web;

let setupError = null;
before(async () => {
  try {
    web = await startStaticServer();
    browser = await launchBrowser();
  } catch (err) {
    setupError = err; // reported by every test (a failed hook alone would count as "# fail 0")
  }
});

beforeEach(() => {
  if (setupError) throw setupError;
});

after(async () => {
  await browser?.close();
  await web?.close();
});

/** A fresh page (own context) talking to a new MockChat. */
async function openChat({ mock: mockOptions, query = '', beforeGoto, ...pageOptions } = {}) {
  const page = await newPage(browser, pageOptions);
  await recordConnectionStates(page);
  // Record every message node ever added, to catch transient duplicates.
  await page.addInitScript(() => {
    // the most bubbles with one text at any moment (a message shown twice, even briefly)
    window.__maxCopies = 0;
    new MutationObserver(() => {
      const counts = new Map();
      for (const n of document.querySelectorAll('[data-testid="message"] [data-testid="message-text"]')) {
        counts.set(n.textContent, (counts.get(n.textContent) ?? 0) + 1);
      }
      window.__maxCopies = Math.max(window.__maxCopies, ...counts.values(), 0);
    }).observe(document, { childList: true, subtree: true });
    window.__inserted = [];
    new MutationObserver((records) => {
      for (const r of records) {
        for (const n of r.addedNodes) {
          if (n.nodeType === 1 && n.dataset.testid === 'message') {
            window.__inserted.push({ own: n.dataset.own, text: n.querySelector('[data-testid="message-text"]')?.textContent });
          }
        }
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const mock = await new MockChat(mockOptions).install(page);
  await beforeGoto?.(mock);
  await page.goto(`${web.baseUrl}/${query}`);
  await waitForState(page, 'connected');
  return { page, mock };
}

async function close(page) {
  const problems = page.problems;
  await page.context().close();
  assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
}

const text = (page, s) => page.$eval(s, (n) => n.textContent.trim());

describe('page with a scripted server', () => {
  test('welcome: name, room from the URL, online count, welcome card, accessibility basics', async () => {
    const { page, mock } = await openChat({ query: '?room=shonen-jump', mock: { username: 'Azure Ronin', online: 3 } });
    assert.equal(new URL(mock.current.url()).searchParams.get('room'), 'shonen-jump');
    assert.equal(await text(page, sel.myName), 'Azure Ronin');
    assert.match(await text(page, sel.welcome), /You're chatting as\s*Azure Ronin/);
    assert.equal(await text(page, '[data-testid="room-name"]'), 'shonen-jump');
    assert.equal(await text(page, sel.online), '3');
    assert.equal(await text(page, sel.count), '0');
    assert.equal((await connectionState(page)).label, 'Connected');

    const a11y = await page.evaluate(() => {
      const log = document.querySelector('[data-testid="message-list"]');
      const input = document.querySelector('[data-testid="message-input"]');
      return {
        role: log.getAttribute('role'),
        live: log.getAttribute('aria-live'),
        label: input.labels?.[0]?.textContent.trim(),
        send: document.querySelector('[data-testid="send-button"]').getAttribute('aria-label'),
        theme: document.querySelector('[data-testid="theme-toggle"]').getAttribute('aria-label'),
      };
    });
    assert.deepEqual(a11y, {
      role: 'log',
      live: 'polite',
      label: 'Message',
      send: 'Send message',
      theme: 'Switch to light theme',
    });

    // the first message hides the welcome card
    mock.push(mock.other('Sakura Blade', 'hi!'));
    await waitFor(async () => (await page.$(`${sel.welcome}[hidden]`)) !== null, { message: 'welcome card hidden' });
    assert.equal(await text(page, sel.count), '1');
    await close(page);
  });

  test('own message: sending, then delivered after the ack; merged with its chat_message (ack first)', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'manual', username: 'Me Myself' } });
    await sendMessage(page, '  hello universe  ');
    const [frame] = await mock.waitForChatFrames(1);
    assert.equal(frame.text, 'hello universe', 'trimmed');
    assert.match(frame.client_msg_id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(Object.keys(frame).sort(), ['client_msg_id', 'text', 'type']);
    await waitFor(async () => (await readMessages(page))[0]?.status === 'sending', { message: 'sending' });
    const { ack, message } = mock.accept(frame, 'anonymous-anime-universe', 'Me Myself');
    mock.push(ack);
    await waitFor(async () => (await readMessages(page))[0]?.status === 'delivered', { message: 'delivered' });
    mock.push(message);
    mock.push(message); // a duplicate of the same message_id
    await sleep(300);
    const msgs = await readMessages(page);
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].own, true);
    assert.equal(msgs[0].side, 'right');
    assert.equal(msgs[0].messageId, message.message_id);
    assert.match(msgs[0].statusText, /Delivered/);
    assert.equal(await text(page, sel.count), '1');
    assert.equal(await page.inputValue(sel.input), '', 'box cleared');
    await close(page);
  });

  test('own message: chat_message before the ack never shows as a second (or foreign) bubble', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'message-first' } });
    for (const t of ['first!', 'second!', 'third!']) await sendMessage(page, t);
    await mock.waitForChatFrames(3);
    await waitFor(
      async () => {
        const msgs = await readMessages(page);
        return msgs.length === 3 && msgs.every((m) => m.status === 'delivered');
      },
      { message: 'three delivered messages' },
    );
    mock.push(mock.other('Sakura Blade', 'after yours'));
    await waitFor(async () => (await readMessages(page)).length === 4, { message: 'the other message' });
    const msgs = await readMessages(page);
    assert.deepEqual(
      msgs.map((m) => [m.text, m.own, m.side]),
      [
        ['first!', true, 'right'],
        ['second!', true, 'right'],
        ['third!', true, 'right'],
        ['after yours', false, 'left'],
      ],
    );
    const inserted = await page.evaluate(() => window.__inserted);
    assert.equal(inserted.filter((n) => n.own === 'false' && n.text !== 'after yours').length, 0, 'no transient foreign copy');
    await close(page);
  });

  test('messages from others: deduplicated by message_id, arrival order, unknown frames ignored', async () => {
    const { page, mock } = await openChat();
    const a = mock.other('Sakura Blade', 'one');
    const b = mock.other('Neon Kitsune', 'two');
    mock.push(a);
    mock.push({ type: 'presence', users: ['x'] });
    mock.push({ type: 'typing', username: 'Neon Kitsune' });
    mock.push({ type: 'history_end' });
    mock.push('this is not json');
    mock.push({ type: 'heartbeat' });
    mock.push(b);
    mock.push(a);
    mock.push({ ...b, text: 'two (replayed)' });
    mock.push(mock.other('Sakura Blade', 'three', { active_connections: 9 }));
    await waitFor(async () => (await readMessages(page)).length >= 3, { message: '3 messages' });
    await sleep(200);
    const msgs = await readMessages(page);
    assert.deepEqual(
      msgs.map((m) => [m.author, m.text, m.side]),
      [
        ['Sakura Blade', 'one', 'left'],
        ['Neon Kitsune', 'two', 'left'],
        ['Sakura Blade', 'three', 'left'],
      ],
    );
    assert.equal(await text(page, sel.online), '9', 'active_connections of chat_message updates the count');
    assert.equal((await connectionState(page)).state, 'connected');
    await close(page);
  });

  test('error for a message: reason and Retry; retry re-sends the same client_msg_id', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'manual' } });
    await sendMessage(page, 'too fast?');
    const [frame] = await mock.waitForChatFrames(1);
    mock.push({ type: 'error', code: 'rate_limited', message: 'Slow down: 5 messages per 10 s.', client_msg_id: frame.client_msg_id });
    await waitFor(async () => (await readMessages(page))[0]?.status === 'failed', { message: 'failed state' });
    assert.match((await readMessages(page))[0].statusText, /Slow down: 5 messages per 10 s\./);
    mock.mode = 'ack-first';
    await page.click('[data-testid="retry-button"]');
    const frames = await mock.waitForChatFrames(2);
    assert.deepEqual(frames[1], frame, 'identical frame, same client_msg_id');
    await waitFor(async () => (await readMessages(page))[0]?.status === 'delivered', { message: 'delivered after retry' });
    assert.equal((await readMessages(page)).length, 1);

    // an error without client_msg_id shows as a toast, the connection stays up
    mock.push({ type: 'error', code: 'invalid_json', message: 'frame is not valid JSON' });
    await page.waitForSelector(sel.toast);
    assert.match(await text(page, sel.toast), /frame is not valid JSON/);
    assert.equal((await connectionState(page)).state, 'connected');
    await close(page);
  });

  test('HTML in messages is shown as literal text', async () => {
    const { page, mock } = await openChat();
    const evil = '<img src=x onerror=window.__xss=1>';
    mock.push(mock.other('<b>Bold</b> Hacker', evil));
    await sendMessage(page, `${evil} <script>window.__xss=2</script>`);
    await waitFor(async () => (await readMessages(page)).length === 2, { message: '2 messages' });
    await sleep(300);
    const msgs = await readMessages(page);
    assert.equal(msgs[0].text, evil);
    assert.equal(msgs[0].author, '<b>Bold</b> Hacker');
    assert.equal(msgs[1].text, `${evil} <script>window.__xss=2</script>`);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.$$eval('[data-testid="message-list"] img, [data-testid="message-list"] script, [data-testid="message-list"] b', (n) => n.length), 0);
    await close(page);
  });

  test('keyboard: Enter sends, Shift+Enter adds a line, blank text cannot be sent', async () => {
    const { page, mock } = await openChat();
    await page.focus(sel.input);
    assert.equal(await page.$eval(sel.send, (b) => b.disabled), true, 'disabled when empty');
    await page.keyboard.type('   ');
    assert.equal(await page.$eval(sel.send, (b) => b.disabled), true, 'disabled when blank');
    await page.keyboard.press('Enter');
    await page.keyboard.type('line one');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('line two 🌸✨');
    assert.equal(await page.$eval(sel.send, (b) => b.disabled), false);
    await page.keyboard.press('Enter');
    const frames = await mock.waitForChatFrames(1);
    await sleep(200);
    assert.equal(mock.chatFrames().length, 1, 'the blank Enter sent nothing');
    assert.equal(frames[0].text, 'line one\nline two 🌸✨');
    await waitFor(async () => (await readMessages(page))[0]?.status === 'delivered', { message: 'delivered' });
    assert.equal((await readMessages(page))[0].text, 'line one\nline two 🌸✨');
    // Tab reaches the send button and the theme toggle is a button: keyboard-usable
    await page.fill(sel.input, 'via the button');
    await page.focus(sel.input);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'send-button');
    await page.keyboard.press('Enter');
    await mock.waitForChatFrames(2);
    await close(page);
  });

  test('character counter near 2000; longer text cannot be sent', async () => {
    const { page, mock } = await openChat();
    await page.fill(sel.input, 'a'.repeat(1500));
    assert.equal(await page.$eval(sel.counter, (n) => n.hidden), true, 'no counter far from the limit');
    await page.fill(sel.input, `  ${'b'.repeat(1950)}  `);
    assert.equal(await page.$eval(sel.counter, (n) => n.hidden), false);
    assert.equal(await text(page, sel.counter), '1950 / 2000');
    await page.fill(sel.input, 'c'.repeat(2001));
    assert.equal(await text(page, sel.counter), '2001 / 2000');
    assert.equal(await page.$eval(sel.send, (b) => b.disabled), true);
    await page.press(sel.input, 'Enter');
    await sleep(200);
    assert.equal(mock.chatFrames().length, 0);
    await page.fill(sel.input, `${'🌸'.repeat(2000)}\n`);
    assert.equal(await page.$eval(sel.send, (b) => b.disabled), false, '2000 emoji are 2000 characters');
    await page.press(sel.input, 'Enter');
    const [frame] = await mock.waitForChatFrames(1);
    assert.equal(Array.from(frame.text).length, 2000);
    await close(page);
  });

  test('new messages pill when scrolled up; click scrolls down', async () => {
    const { page, mock } = await openChat({ width: 800, height: 600 });
    for (let i = 0; i < 30; i += 1) mock.push(mock.other(i % 2 ? 'Sakura Blade' : 'Neon Kitsune', `message number ${i}`));
    await waitFor(async () => (await readMessages(page)).length === 30, { message: '30 messages' });
    const atBottom = () =>
      page.$eval('#scroller', (s) => s.scrollHeight - s.scrollTop - s.clientHeight < 4);
    await waitFor(atBottom, { message: 'auto-scrolled to the bottom' });
    assert.equal(await page.$eval(sel.pill, (n) => n.hidden), true);

    await page.$eval('#scroller', (s) => s.scrollTo({ top: 0 }));
    await sleep(100);
    mock.push(mock.other('Sakura Blade', 'you missed this'));
    await waitFor(async () => !(await page.$eval(sel.pill, (n) => n.hidden)), { message: 'pill shown' });
    assert.match(await text(page, sel.pill), /1 new message/);
    assert.equal(await atBottom(), false, 'reader position kept');
    await page.click(sel.pill);
    await waitFor(atBottom, { message: 'scrolled down by the pill' });
    await waitFor(async () => page.$eval(sel.pill, (n) => n.hidden), { message: 'pill hidden' });

    // own messages always scroll down
    await page.$eval('#scroller', (s) => s.scrollTo({ top: 0 }));
    await sendMessage(page, 'mine');
    await waitFor(atBottom, { message: 'scrolled to my message' });
    await close(page);
  });

  test('reconnects with a countdown; messages typed meanwhile wait and go out in order', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'manual' } });
    await sendMessage(page, 'in flight when the server died');
    const [inflight] = await mock.waitForChatFrames(1);

    mock.refuse = true;
    mock.drop();
    await waitForState(page, 'reconnecting');
    await waitFor(async () => /Reconnecting in \d+s/.test((await connectionState(page)).label), {
      message: 'countdown label',
    });
    assert.equal(await page.$eval('[data-testid="reconnect-now"]', (b) => b.hidden), false);

    await sendMessage(page, 'typed offline 1');
    await sendMessage(page, 'typed offline 2');
    await waitFor(
      async () => (await readMessages(page)).map((m) => m.status).join() === 'waiting,waiting,waiting',
      { message: 'all three waiting' },
    );
    assert.match((await readMessages(page))[1].statusText, /Waiting/);
    // the backoff grows while the server refuses
    await waitFor(() => mock.connects >= 3, { timeout: 10000, message: 'a few reconnect attempts' });

    mock.refuse = false;
    mock.mode = 'ack-first';
    mock.username = 'Azure Ronin II';
    await page.click('[data-testid="reconnect-now"]');
    await waitForState(page, 'connected');
    const frames = await mock.waitForChatFrames(4);
    assert.deepEqual(
      frames.slice(1).map((f) => f.text),
      ['in flight when the server died', 'typed offline 1', 'typed offline 2'],
    );
    assert.equal(frames[1].client_msg_id, inflight.client_msg_id, 're-sent with the same client_msg_id');
    await waitFor(
      async () => (await readMessages(page)).every((m) => m.status === 'delivered'),
      { message: 'all delivered' },
    );
    assert.equal((await readMessages(page)).length, 3);
    assert.equal(await text(page, sel.myName), 'Azure Ronin II', 'the new welcome name is shown');
    await close(page);
  });

  test('no horizontal scroll at 360 px and 1280 px, long words and emoji wrap', async () => {
    for (const width of [360, 1280]) {
      const { page, mock } = await openChat({ width, height: 780, query: '?room=a-very-long-room-name-that-keeps-going-and-going' });
      mock.push(mock.other('Supercalifragilistic Expialidocious', `${'W'.repeat(400)} 🌸🌸🌸 ${'https://example.invalid/'.repeat(10)}`));
      await sendMessage(page, `${'x'.repeat(300)}🎴🐉`);
      await waitFor(async () => (await readMessages(page)).length === 2, { message: '2 messages' });
      await sleep(200);
      const m = await noHorizontalScroll(page);
      assert.ok(m.scrollWidth <= m.clientWidth, `no horizontal scroll at ${width}px: ${JSON.stringify(m)}`);
      const overflow = await page.$eval('#scroller', (s) => s.scrollWidth - s.clientWidth);
      assert.ok(overflow <= 0, `message list does not overflow sideways at ${width}px (${overflow})`);
      await close(page);
    }
  });

  test('theme: follows the system first, toggle is remembered across reloads', async () => {
    const { page } = await openChat({ colorScheme: 'light' });
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
    assert.equal(await theme(), 'light');
    const bg = () => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg-0').trim());
    const bgLight = await bg();
    await page.click(sel.theme);
    assert.equal(await theme(), 'dark');
    assert.notEqual(await bg(), bgLight, 'the colours change');
    assert.equal(await page.$eval(sel.theme, (b) => b.getAttribute('aria-label')), 'Switch to light theme');
    await page.reload();
    await waitForState(page, 'connected');
    assert.equal(await theme(), 'dark', 'remembered');
    await page.click(sel.theme);
    await page.reload();
    await waitForState(page, 'connected');
    assert.equal(await theme(), 'light');
    await close(page);
  });

  test('an invalid room name in the URL is explained, not retried forever', async () => {
    const page = await newPage(browser);
    const mock = await new MockChat().install(page);
    await page.goto(`${web.baseUrl}/?room=${encodeURIComponent('<b>Bad Room!</b>')}`);
    await page.waitForSelector('[data-testid="room-error"]:not([hidden])');
    assert.match(await text(page, '[data-testid="room-error"]'), /“<b>bad room!<\/b>” is not a room name/);
    assert.equal(await page.$eval(sel.input, (n) => n.disabled), true);
    await sleep(1500);
    assert.equal(mock.connects, 0, 'no WebSocket opened');
    assert.equal(await page.$$eval('[data-testid="room-error"] b', (n) => n.length), 0);
    await close(page);
  });

  test('prefers-reduced-motion turns animations off', async () => {
    const { page, mock } = await openChat({ reducedMotion: 'reduce' });
    mock.push(mock.other('Sakura Blade', 'calm'));
    mock.push(mock.typing('Sakura Blade'));
    await waitFor(async () => (await readMessages(page)).length === 1, { message: 'message' });
    await page.waitForSelector('[data-testid="typing-indicator"]:not([hidden])');
    const animations = await page.evaluate(() =>
      ['.msg', '.glow--cyan', '.brand__title', '.stars', '.typing__dots span', '.typing'].map(
        (s) => getComputedStyle(document.querySelector(s)).animationName,
      ),
    );
    assert.deepEqual(animations, ['none', 'none', 'none', 'none', 'none', 'none']);
    const drawer = await page.evaluate(() => getComputedStyle(document.querySelector('.side')).transitionDuration);
    assert.match(drawer, /^0s(, 0s)*$/, 'the drawer does not slide');
    await close(page);
  });
});

// ---------------------------------------------------------------------------
// rooms, history/resume, presence, typing

const texts = async (page) => (await readMessages(page)).map((m) => m.text);

/** The message list's children in order: message texts, and markers as [testid]. */
const flow = (page) =>
  evalAll(page, '[data-testid="message-list"] > li', (nodes) =>
    nodes.map((n) =>
      n.dataset.testid === 'message' ? n.querySelector('[data-testid="message-text"]').textContent : `[${n.dataset.testid}]`,
    ),
  );

const visible = (page, selector) =>
  page.$eval(selector, (n) => !n.hidden && n.getClientRects().length > 0 && getComputedStyle(n).visibility !== 'hidden').catch(() => false);

const pathAndQuery = (page) => page.evaluate(() => location.pathname + location.search);

describe('history, resume, presence, typing and rooms (scripted server)', () => {
  test('history: replayed messages, then a divider between earlier and live messages', async () => {
    const { page, mock } = await openChat({
      query: '?room=lobby',
      beforeGoto: (m) => m.seed('lobby', [
        ['Sakura Blade', 'old one'],
        ['Neon Kitsune', 'old two'],
        ['Sakura Blade', 'old three'],
      ]),
    });
    assert.equal(mock.urls[0].searchParams.get('since'), null, 'first connect: no since');
    assert.equal(mock.urls[0].searchParams.get('room'), 'lobby');
    await page.waitForSelector('[data-testid="history-divider"]');
    mock.push(mock.other('Crimson Oni', 'live one'));
    await waitFor(async () => (await texts(page)).length === 4, { message: '4 messages' });
    assert.deepEqual(await flow(page), ['old one', 'old two', 'old three', '[history-divider]', 'live one']);
    assert.match(await text(page, '[data-testid="history-divider"]'), /Earlier messages.*Live/s);
    assert.equal(await text(page, sel.count), '4');
    assert.equal(await page.$eval(sel.welcome, (n) => n.hidden), true);
    assert.equal(await page.$eval('#chat-intro', (n) => n.hidden), true, 'the divider says when we joined');
    assert.equal(await page.$$eval('[data-testid="history-notice"]', (n) => n.length), 0);
    // a replay is not "new": no pill, no unread badge
    assert.equal(await page.$eval(sel.pill, (n) => n.hidden), true);
    await close(page);

    // an empty room: no divider, the welcome card stays
    const empty = await openChat({ query: '?room=quiet' });
    await sleep(300);
    assert.equal(await empty.page.$$eval('[data-testid="history-divider"]', (n) => n.length), 0);
    assert.equal(await empty.page.$eval(sel.welcome, (n) => n.hidden), false);
    await close(empty.page);
  });

  test('reconnect resumes with since=<last offset>; missed messages appear once, in order', async () => {
    const { page, mock } = await openChat({
      query: '?room=lobby',
      beforeGoto: (m) => m.seed('lobby', [
        ['Sakura Blade', 'h1'],
        ['Neon Kitsune', 'h2'],
      ]),
    });
    mock.push(mock.other('Sakura Blade', 'live 1'));
    mock.push(mock.other('Neon Kitsune', 'live 2'));
    await waitFor(async () => (await texts(page)).length === 4, { message: '4 messages' });
    const lastSeen = mock.log('lobby').at(-1).offset;

    // the server goes away; three messages are written meanwhile
    mock.refuse = true;
    mock.drop();
    await waitForState(page, 'reconnecting');
    for (const t of ['missed 1', 'missed 2', 'missed 3']) mock.record(mock.other('Crimson Oni', t, { room: 'lobby' }));
    // ... and the server resends the last message we saw too (dedup by message_id)
    mock.replayOverlap = 1;
    mock.refuse = false; // the next attempt gets through
    await waitForState(page, 'connected');
    const url = mock.urls.at(-1);
    assert.equal(url.searchParams.get('since'), String(lastSeen), `reconnect URL ${url}`);
    assert.equal(url.searchParams.get('room'), 'lobby');
    await waitFor(async () => (await texts(page)).length >= 7, { message: '7 messages' });
    await sleep(300);
    assert.deepEqual(await flow(page), [
      'h1', 'h2', '[history-divider]', 'live 1', 'live 2', '[resume-divider]', 'missed 1', 'missed 2', 'missed 3',
    ]);
    const inserted = await page.evaluate(() => window.__inserted.map((n) => n.text));
    assert.equal(new Set(inserted).size, inserted.length, `no message node inserted twice: ${inserted}`);
    assert.equal(await text(page, sel.count), '7');

    // a second reconnect continues from the newest offset; nothing missed: no divider
    mock.drop();
    await waitFor(() => mock.routes.length === 3, { message: 'third connection' });
    await waitForState(page, 'connected');
    assert.equal(mock.urls.at(-1).searchParams.get('since'), String(mock.log('lobby').at(-1).offset));
    await sleep(300);
    assert.equal((await flow(page)).filter((x) => x === '[resume-divider]').length, 1);
    assert.equal((await texts(page)).length, 7);
    await close(page);
  });

  test('an own message in flight when the connection dropped is matched in the replay, not sent or shown twice', async () => {
    const { page, mock } = await openChat({ query: '?room=lobby', mock: { mode: 'manual', username: 'Old Name' } });
    mock.push(mock.other('Sakura Blade', 'before'));
    await waitFor(async () => (await texts(page)).length === 1, { message: 'first message' });
    await sendMessage(page, 'did this make it?');
    const [frame] = await mock.waitForChatFrames(1);
    mock.accept(frame, 'lobby', 'Old Name'); // written to the log; the ack never reaches the page
    mock.refuse = true;
    mock.drop();
    await waitForState(page, 'reconnecting');
    mock.username = 'New Name'; // a fresh connection gets a fresh name
    mock.mode = 'ack-first';
    mock.refuse = false;
    await waitForState(page, 'connected');
    await waitFor(async () => (await readMessages(page))[1]?.status === 'delivered', { message: 'delivered through the replay' });
    await sleep(3500); // past the flush grace period: nothing is re-sent
    assert.equal(mock.chatFrames().length, 1, 'not sent again');
    const msgs = await readMessages(page);
    assert.deepEqual(msgs.map((m) => [m.text, m.own]), [
      ['before', false],
      ['did this make it?', true],
    ]);
    await close(page);
  });

  test('recovered:false shows a notice that older messages are gone', async () => {
    const { page, mock } = await openChat({ query: '?room=lobby' });
    mock.push(mock.other('Sakura Blade', 'seen'));
    await waitFor(async () => (await texts(page)).length === 1, { message: 'message' });
    mock.recovered = false;
    mock.record(mock.other('Sakura Blade', 'after the gap', { room: 'lobby' }));
    mock.drop();
    await waitForState(page, 'reconnecting');
    await waitForState(page, 'connected');
    await page.waitForSelector('[data-testid="history-notice"]');
    assert.match(await text(page, '[data-testid="history-notice"]'), /some older messages are no longer available/i);
    assert.deepEqual(await flow(page), ['seen', '[resume-divider]', 'after the gap', '[history-notice]']);
    await close(page);
  });

  test('presence: who is online, me first and marked; the header count comes from active_connections', async () => {
    const { page, mock } = await openChat({
      query: '?room=lobby',
      mock: { username: 'Azure Ronin', online: 4, users: ['Sakura Blade', '<b>Neon</b> Kitsune'] },
    });
    const people = () =>
      evalAll(page, '[data-testid="presence-person"]', (nodes) =>
        nodes.map((n) => [n.querySelector('[data-testid="presence-name"]').textContent, n.dataset.me === 'true', n.textContent.includes('you')]),
      );
    await waitFor(async () => (await people()).length === 3, { message: 'presence list' });
    assert.deepEqual(await people(), [
      ['Azure Ronin', true, true],
      ['<b>Neon</b> Kitsune', false, false],
      ['Sakura Blade', false, false],
    ]);
    assert.equal(await page.$$eval('[data-testid="presence-list"] b', (n) => n.length), 0, 'names are text');
    assert.equal(await text(page, '[data-testid="people-count"]'), '3');
    assert.equal(await text(page, sel.online), '4', 'header: active_connections');
    assert.equal(await visible(page, '[data-testid="presence-list"]'), true, 'in the side column at 1280 px');

    // someone leaves, someone joins (another room's presence is ignored)
    mock.push({ type: 'presence', room: 'elsewhere', users: ['Nobody'] });
    mock.push(mock.presenceFrame('lobby', ['Sakura Blade', 'Azure Ronin', 'Crimson Oni']));
    await waitFor(async () => (await people()).map((p) => p[0]).join() === 'Azure Ronin,Crimson Oni,Sakura Blade', {
      message: 'updated presence',
    });
    await close(page);
  });

  test('typing: others typing are shown for ~4 s (one, two, several names); never ourselves', async () => {
    const { page, mock } = await openChat({ query: '?room=lobby', mock: { username: 'Azure Ronin' } });
    const typingShown = () => visible(page, '[data-testid="typing-indicator"]');
    const typingText = () => text(page, '[data-testid="typing-text"]');

    mock.push(mock.typing('Azure Ronin')); // ourselves: never
    await sleep(300);
    assert.equal(await typingShown(), false);

    mock.push(mock.typing('Sakura Blade'));
    await waitFor(typingShown, { message: 'typing indicator' });
    assert.equal(await typingText(), 'Sakura Blade is typing…');
    const neonAt = Date.now();
    mock.push(mock.typing('Neon Kitsune'));
    await waitFor(async () => (await typingText()) === 'Sakura Blade and Neon Kitsune are typing…', { message: 'two names' });
    mock.push(mock.typing('Crimson Oni'));
    await waitFor(async () => (await typingText()) === '3 people are typing…', { message: 'three people' });
    // a message from Crimson Oni ends Crimson's typing
    mock.push(mock.other('Crimson Oni', 'done typing'));
    await waitFor(async () => (await typingText()) === 'Sakura Blade and Neon Kitsune are typing…', { message: 'two again' });

    // Sakura keeps typing; Neon stops: Neon disappears ~4 s after the last frame
    for (let i = 0; i < 2; i += 1) {
      await sleep(1000);
      mock.push(mock.typing('Sakura Blade'));
    }
    assert.equal(await typingText(), 'Sakura Blade and Neon Kitsune are typing…', 'still within 4 s of Neon\'s frame');
    await waitFor(async () => (await typingText()) === 'Sakura Blade is typing…', { timeout: 4000, message: 'Neon gone' });
    const shown = Date.now() - neonAt;
    assert.ok(shown >= 3900 && shown <= 6000, `Neon shown for about 4 s after the last frame (${shown} ms)`);
    await waitFor(async () => !(await typingShown()), { timeout: 6000, message: 'indicator gone' });
    assert.equal(await page.$eval('[data-testid="typing-indicator"]', (n) => n.getAttribute('role')), 'status');
    await close(page);
  });

  test('typing: the page sends {type:"typing"} while the user types, at most every 2 s, never for blank text', async () => {
    const { page, mock } = await openChat({ query: '?room=lobby' });
    await page.focus(sel.input);
    await page.keyboard.type('     ', { delay: 50 });
    await sleep(200);
    assert.equal(mock.typingFrames().length, 0, 'no typing frame for blank text');

    const t0 = Date.now();
    await page.keyboard.type('a'.repeat(40), { delay: 120 }); // about 5 s of typing
    const typedMs = Date.now() - t0;
    await sleep(100);
    const frames = mock.typingFrames();
    const most = Math.floor(typedMs / 2000) + 1;
    assert.ok(frames.length >= 2 && frames.length <= most, `2 to ${most} typing frames in ${typedMs} ms of typing, got ${frames.length}`);
    for (const f of frames) {
      assert.deepEqual(f.frame, { type: 'typing' });
      assert.equal(f.room, 'lobby');
    }
    for (let i = 1; i < frames.length; i += 1) {
      assert.ok(frames[i].at - frames[i - 1].at >= 1900, `throttled: ${frames[i].at - frames[i - 1].at} ms apart`);
    }
    // sending and clearing the box sends no typing frame
    const before = frames.length;
    await page.keyboard.press('Enter');
    await mock.waitForChatFrames(1);
    await sleep(300);
    assert.equal(mock.typingFrames().length, before);
    await close(page);
  });

  test('room switcher: live rooms, join by name (invalid names explained), URL, new socket, back/forward', async () => {
    const { page, mock } = await openChat({
      mock: {
        rooms: [
          { room: 'shonen-jump', active_connections: 5 },
          { room: 'lobby', active_connections: 3 },
        ],
      },
      beforeGoto: (m) => m.seed('mecha-hangar', [['Gundam Pilot', 'welcome to the hangar']]),
    });
    const rooms = () =>
      evalAll(page, '[data-testid="room-link"]', (nodes) =>
        nodes.map((n) => [n.dataset.room, n.querySelector('[data-testid="room-link-count"]').textContent, n.getAttribute('aria-current') === 'page']),
      );
    await waitFor(async () => (await rooms()).length === 3, { message: 'room list' });
    assert.deepEqual(await rooms(), [
      ['shonen-jump', '5', false],
      ['lobby', '3', false],
      ['anonymous-anime-universe', '2', true],
    ]);
    assert.ok(mock.roomRequests >= 1);
    mock.push(mock.other('Sakura Blade', 'in the main room'));
    await waitFor(async () => (await texts(page)).length === 1, { message: 'a message' });

    // invalid names: an inline error, no navigation, no socket
    for (const bad of ['Bad Room!', 'x'.repeat(65), '   ']) {
      await page.fill('[data-testid="join-input"]', bad);
      await page.press('[data-testid="join-input"]', 'Enter');
      await page.waitForSelector('[data-testid="join-error"]:not([hidden])');
      assert.ok((await text(page, '[data-testid="join-error"]')).length > 5);
      assert.equal(await page.$eval('[data-testid="join-input"]', (n) => n.getAttribute('aria-invalid')), 'true');
    }
    assert.equal(await pathAndQuery(page), '/');
    assert.equal(mock.connects, 1);
    // fixing the name clears the error
    await page.fill('[data-testid="join-input"]', 'fine-name');
    assert.equal(await page.$eval('[data-testid="join-error"]', (n) => n.hidden), true);

    // a valid name (lower-cased): new URL, the old socket closed, a new one for the room, empty list
    const first = mock.current;
    await page.fill('[data-testid="join-input"]', '  Mecha-Hangar ');
    await page.click('[data-testid="join-button"]');
    await waitFor(() => mock.routes.length === 2, { message: 'a second socket' });
    assert.equal(mock.current.room, 'mecha-hangar');
    assert.equal(mock.current.since, null, 'a new room starts without since');
    await waitFor(() => !first.open, { message: 'old socket closed' });
    await waitForState(page, 'connected');
    assert.equal(await pathAndQuery(page), '/?room=mecha-hangar');
    assert.equal(await text(page, '[data-testid="room-name"]'), 'mecha-hangar');
    assert.match(await page.title(), /#mecha-hangar/);
    await waitFor(async () => (await texts(page)).join() === 'welcome to the hangar', { message: 'the new room\'s history only' });
    assert.equal(await page.inputValue('[data-testid="join-input"]'), '');
    assert.equal(await page.$eval('[data-testid="room-link"][aria-current="page"]', (n) => n.dataset.room), 'mecha-hangar');

    // a room from the list, by keyboard
    await page.focus('[data-testid="room-link"][data-room="shonen-jump"]');
    await page.keyboard.press('Enter');
    await waitFor(() => mock.current.room === 'shonen-jump', { message: 'socket for shonen-jump' });
    await waitForState(page, 'connected');
    assert.equal(await pathAndQuery(page), '/?room=shonen-jump');
    assert.deepEqual(await texts(page), []);

    // back, back, forward
    await page.goBack();
    await waitFor(() => mock.current.room === 'mecha-hangar' && mock.current.open, { message: 'back to mecha-hangar' });
    await waitForState(page, 'connected');
    assert.equal(await text(page, '[data-testid="room-name"]'), 'mecha-hangar');
    assert.equal(mock.current.since, null);
    await waitFor(async () => (await texts(page)).join() === 'welcome to the hangar', { message: 'hangar history again' });
    await page.goBack();
    await waitFor(() => mock.current.room === 'anonymous-anime-universe', { message: 'back to the main room' });
    assert.equal(await pathAndQuery(page), '/');
    await waitFor(async () => (await texts(page)).join() === 'in the main room', { message: 'main room history' });
    await page.goForward();
    await waitFor(() => mock.current.room === 'mecha-hangar', { message: 'forward to mecha-hangar' });
    await waitForState(page, 'connected');
    assert.equal(mock.routes.filter((r) => r.open).length, 1, 'one socket at a time');
    // a /?room=NAME link (reload) opens that room
    await page.reload();
    await waitForState(page, 'connected');
    assert.equal(mock.current.room, 'mecha-hangar');
    await close(page);
  });

  test('an invalid room in the URL can be left through the switcher', async () => {
    const page = await newPage(browser);
    const mock = await new MockChat().install(page);
    await page.goto(`${web.baseUrl}/?room=${encodeURIComponent('not valid!')}`);
    await page.waitForSelector('[data-testid="room-error"]:not([hidden])');
    assert.equal(mock.connects, 0);
    await page.fill('[data-testid="join-input"]', 'lobby');
    await page.press('[data-testid="join-input"]', 'Enter');
    await waitForState(page, 'connected');
    assert.equal(await page.$eval('[data-testid="room-error"]', (n) => n.hidden), true);
    assert.equal(await page.$eval(sel.input, (n) => n.disabled), false);
    assert.equal(await page.$eval(sel.welcome, (n) => n.hidden), false);
    await sendMessage(page, 'made it');
    await mock.waitForChatFrames(1);
    await close(page);
  });

  test('phone (360 px): rooms and people in a drawer; fits, keyboard-usable, no horizontal scroll', async () => {
    const { page, mock } = await openChat({
      width: 360,
      height: 740,
      query: '?room=lobby',
      mock: {
        users: ['Sakura Blade', 'Supercalifragilistic Expialidocious Ninja'],
        rooms: [
          { room: 'lobby', active_connections: 3 },
          { room: 'a-very-long-room-name-that-keeps-going-and-going-and-going-on', active_connections: 1 },
        ],
      },
    });
    const panel = '[data-testid="side-panel"]';
    assert.equal(await visible(page, panel), false, 'closed at first');
    assert.equal(await visible(page, '[data-testid="panel-toggle"]'), true);
    const requests = mock.roomRequests;
    await page.focus('[data-testid="panel-toggle"]');
    await page.keyboard.press('Enter');
    await waitFor(() => visible(page, panel), { message: 'drawer open' });
    assert.equal(await page.$eval('[data-testid="panel-toggle"]', (n) => n.getAttribute('aria-expanded')), 'true');
    await waitFor(() => mock.roomRequests > requests, { message: 'room list refreshed on open' });
    // slid in completely, inside the screen
    const box = await waitFor(
      async () => {
        const r = await page.$eval(panel, (n) => n.getBoundingClientRect().toJSON());
        return r.left >= 0 && r.right <= 360 && r.width >= 280 ? r : null;
      },
      { timeout: 3000, message: 'the drawer inside the 360 px screen' },
    );
    assert.ok(box.height >= 700, `full height: ${JSON.stringify(box)}`);
    assert.equal(await visible(page, '[data-testid="presence-list"]'), true);
    assert.equal(await visible(page, '[data-testid="join-input"]'), true);
    assert.equal(
      await page.evaluate(() => document.querySelector('[data-testid="side-panel"]').contains(document.activeElement)),
      true,
      'focus moved into the drawer',
    );
    let m = await noHorizontalScroll(page);
    assert.ok(m.scrollWidth <= m.clientWidth, `no horizontal scroll with the drawer open: ${JSON.stringify(m)}`);
    const overflow = await page.$eval(panel, (n) => n.scrollWidth - n.clientWidth);
    assert.ok(overflow <= 0, `nothing in the drawer overflows sideways (${overflow})`);

    await page.keyboard.press('Escape');
    await waitFor(async () => !(await visible(page, panel)), { message: 'drawer closed by Escape' });
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'panel-toggle', 'focus back on the toggle');
    m = await noHorizontalScroll(page);
    assert.ok(m.scrollWidth <= m.clientWidth, JSON.stringify(m));

    // switching from the drawer closes it
    await page.click('[data-testid="panel-toggle"]');
    await waitFor(() => visible(page, panel), { message: 'drawer open again' });
    await page.click('[data-testid="room-link"][data-room^="a-very-long"]');
    await waitFor(() => mock.current.room.startsWith('a-very-long'), { message: 'switched' });
    await waitFor(async () => !(await visible(page, panel)), { message: 'drawer closed after switching' });
    await waitForState(page, 'connected');
    m = await noHorizontalScroll(page);
    assert.ok(m.scrollWidth <= m.clientWidth, JSON.stringify(m));
    await close(page);
  });
});

// ---------------------------------------------------------------------------
// protocol: epochs, unknown outcomes, refused upgrades

/** The most bubbles with the same text at any moment since the page loaded. */
const maxCopies = (page) => page.evaluate(() => window.__maxCopies);
const toastCount = (page) => page.$$eval(sel.toast, (n) => n.length);

describe('epochs, unknown outcomes and refused upgrades (scripted server)', () => {
  test('resume carries since and epoch of the last message; a new epoch replaces the kept offset', async () => {
    const { page, mock } = await openChat({
      query: '?room=lobby',
      beforeGoto: (m) => m.seed('lobby', [['Sakura Blade', 'h1'], ['Neon Kitsune', 'h2']]),
    });
    mock.push(mock.other('Sakura Blade', 'live 1'));
    await waitFor(async () => (await texts(page)).length === 3, { message: '3 messages' });
    assert.equal(await page.evaluate(() => window.animeChat.epoch), 'epoch-a');
    const lastSeen = mock.log('lobby').at(-1).offset;

    mock.drop();
    await waitFor(() => mock.routes.length === 2, { message: 'second connection' });
    await waitForState(page, 'connected');
    const resume = mock.urls.at(-1);
    assert.equal(resume.searchParams.get('since'), String(lastSeen));
    assert.equal(resume.searchParams.get('epoch'), 'epoch-a', 'the epoch of the message whose offset is kept');

    // the server lost its log: offsets start again in a new one
    mock.newEpoch('epoch-b');
    mock.record(mock.other('Crimson Oni', 'in the new log', { room: 'lobby' }));
    mock.drop();
    await waitFor(() => mock.routes.length === 3, { message: 'third connection' });
    await waitForState(page, 'connected');
    assert.equal(mock.urls.at(-1).searchParams.get('epoch'), 'epoch-a', 'asked with the old pair');
    await page.waitForSelector('[data-testid="history-notice"]');
    await waitFor(async () => (await texts(page)).includes('in the new log'), { message: 'the new log replayed' });
    assert.deepEqual(await page.evaluate(() => [window.animeChat.lastOffset, window.animeChat.epoch]), [0, 'epoch-b']);
    assert.deepEqual((await texts(page)).filter((t) => t === 'in the new log'), ['in the new log']);

    mock.drop();
    await waitFor(() => mock.routes.length === 4, { message: 'fourth connection' });
    await waitForState(page, 'connected');
    assert.equal(mock.urls.at(-1).searchParams.get('since'), '0', 'the offset of the new log…');
    assert.equal(mock.urls.at(-1).searchParams.get('epoch'), 'epoch-b', '…with its epoch');
    await close(page);
  });

  test('an older server without epochs: the resume URL has since alone', async () => {
    const { page, mock } = await openChat({ query: '?room=lobby', mock: { epoch: null } });
    mock.push(mock.other('Sakura Blade', 'one'));
    await waitFor(async () => (await texts(page)).length === 1, { message: 'message' });
    mock.drop();
    await waitFor(() => mock.routes.length === 2, { message: 'second connection' });
    await waitForState(page, 'connected');
    const url = mock.urls.at(-1);
    assert.equal(url.searchParams.get('since'), String(mock.log('lobby').at(-1).offset));
    assert.equal(url.searchParams.has('epoch'), false);
    await close(page);
  });

  test('outcome_unknown: pending ("Checking…"), the same frame again after ~1 s, delivered once', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'manual' } });
    await sendMessage(page, 'did it land?');
    const [first] = await mock.waitForChatFrames(1);
    const sentAt = Date.now();
    mock.push(mock.outcomeUnknown(first));
    await waitFor(async () => (await readMessages(page))[0]?.status === 'checking', { message: 'checking' });
    const [pending] = await readMessages(page);
    assert.match(pending.statusText, /Checking…/);
    assert.equal(await page.$$eval('[data-testid="retry-button"]', (n) => n.length), 0, 'not failed: no Retry');
    assert.equal(await toastCount(page), 0);

    const frames = await mock.waitForChatFrames(2, 5000);
    const waited = Date.now() - sentAt;
    assert.ok(waited >= 700, `asked again after a pause (${waited} ms)`);
    assert.deepEqual(frames[1], first, 'the very same frame: same client_msg_id');
    assert.equal((await readMessages(page))[0].status, 'checking');

    // the server stores it now, under the id it named in the error
    const { ack, message } = mock.accept(frames[1]);
    assert.equal(ack.message_id, mock.outcomeUnknown(first).message_id);
    mock.push(ack);
    mock.push(message);
    await waitFor(async () => (await readMessages(page))[0]?.status === 'delivered', { message: 'delivered' });
    await sleep(1500);
    const msgs = await readMessages(page);
    assert.deepEqual(msgs.map((m) => [m.text, m.own, m.status]), [['did it land?', true, 'delivered']]);
    assert.equal(await maxCopies(page), 1, 'never shown twice, not even for a moment');
    assert.equal(mock.chatFrames().length, 2, 'no more retries');
    assert.equal(await text(page, sel.count), '1');
    await close(page);
  });

  test('outcome_unknown, then a late ack on its own: delivered without a retry', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'manual' } });
    await sendMessage(page, 'slow log');
    const [frame] = await mock.waitForChatFrames(1);
    mock.push(mock.outcomeUnknown(frame));
    await waitFor(async () => (await readMessages(page))[0]?.status === 'checking', { message: 'checking' });
    const { ack, message } = mock.accept(frame); // it was stored after all
    mock.push(ack);
    mock.push(message);
    await waitFor(async () => (await readMessages(page))[0]?.status === 'delivered', { message: 'delivered' });
    await sleep(1800);
    assert.equal(mock.chatFrames().length, 1, 'not sent again');
    assert.equal((await readMessages(page)).length, 1);
    assert.equal(await maxCopies(page), 1);
    await close(page);
  });

  test('outcome_unknown, then the message itself arrives: ours, delivered, not sent again', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'manual' } });
    await sendMessage(page, 'stored after all');
    const [frame] = await mock.waitForChatFrames(1);
    mock.push(mock.outcomeUnknown(frame));
    await waitFor(async () => (await readMessages(page))[0]?.status === 'checking', { message: 'checking' });
    mock.push(mock.accept(frame).message); // the broadcast, without an ack
    await waitFor(async () => (await readMessages(page))[0]?.status === 'delivered', { message: 'delivered' });
    await sleep(1800);
    const msgs = await readMessages(page);
    assert.deepEqual(msgs.map((m) => [m.own, m.side]), [[true, 'right']]);
    assert.equal(mock.chatFrames().length, 1);
    await close(page);
  });

  test('outcome_unknown across a reconnect: the same frame after the reconnect, shown once', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'manual' } });
    await sendMessage(page, 'through the storm');
    const [frame] = await mock.waitForChatFrames(1);
    mock.push(mock.outcomeUnknown(frame));
    await waitFor(async () => (await readMessages(page))[0]?.status === 'checking', { message: 'checking' });
    mock.mode = 'ack-first';
    mock.drop();
    await waitFor(async () => (await readMessages(page))[0]?.status === 'delivered', { message: 'delivered after the reconnect' });
    const frames = mock.chatFrames();
    assert.equal(frames.length, 2);
    assert.deepEqual(frames[1], frame);
    await sleep(1500);
    assert.equal(mock.chatFrames().length, 2);
    assert.equal((await readMessages(page)).length, 1);
    assert.equal(await maxCopies(page), 1);
    await close(page);
  });

  test('upgrades refused with 503 while the server starts: backoff, then connected, no page errors', async () => {
    const before = web.upgrades;
    const { page, mock } = await openChat({
      query: '?room=lobby',
      beforeGoto: (m) => {
        m.refuseUpgrades = 3;
      },
    });
    assert.equal(web.upgrades - before, 3, 'three attempts refused by the HTTP server (503)');
    assert.equal(mock.routes.length, 1, 'then one connection accepted');
    const states = await page.evaluate(() => window.__states);
    assert.ok(!states.slice(0, -1).includes('connected'), `never connected before: ${states}`);
    assert.ok(states.filter((s) => s === 'reconnecting').length >= 3, `backed off after each refusal: ${states}`);

    // a message typed while it starts waits, then goes out once
    mock.refuseUpgrades = 2;
    mock.drop();
    await waitForState(page, 'reconnecting');
    await sendMessage(page, 'typed while it starts');
    assert.equal((await readMessages(page))[0].status, 'waiting');
    await waitForState(page, 'connected', 30000);
    await waitFor(async () => (await readMessages(page))[0]?.status === 'delivered', { message: 'queued message delivered' });
    assert.equal(mock.chatFrames().length, 1);
    await close(page);
  });
});

/** Messages with what moderation adds: offset, verified tag, removed, report button. */
const modView = (page) =>
  evalAll(page, '[data-testid="message"]', (nodes) =>
    nodes.map((n) => ({
      author: n.querySelector('[data-testid="message-author"]')?.textContent ?? '',
      text: n.querySelector('[data-testid="message-text"]')?.textContent ?? null,
      offset: n.dataset.offset === undefined ? null : Number(n.dataset.offset),
      unverified: n.querySelector('[data-testid="unverified"]')?.title ?? null,
      removed: n.querySelector('[data-testid="message-removed"]')?.textContent ?? null,
      report: n.querySelector('[data-testid="report-button"]') !== null,
      buttons: n.querySelectorAll('button').length,
    })),
  );

const storedToken = (page) => page.evaluate(() => localStorage.getItem('anime-chat.token'));

describe('identity, moderation and reports (scripted server)', () => {
  test('token: kept from the welcome, sent (urlencoded) on reconnects, room switches and reloads', async () => {
    const token = 'tok/1 +=&room=x';
    const { page, mock } = await openChat({ mock: { token } });
    assert.equal(mock.urls[0].searchParams.has('token'), false, 'a first visit has none');
    await waitFor(async () => (await storedToken(page)) === token, { message: 'token stored' });

    mock.push(mock.other('Sakura Blade', 'hello'));
    await waitFor(async () => (await texts(page)).length === 1, { message: 'a message' });
    mock.drop();
    await waitFor(() => mock.routes.length === 2, { message: 'reconnected' });
    const resumed = mock.urls.at(-1);
    assert.equal(resumed.searchParams.get('token'), token);
    assert.equal(resumed.searchParams.get('room'), 'anonymous-anime-universe', 'the token cannot add a parameter');
    assert.ok(resumed.searchParams.has('since') && resumed.searchParams.has('epoch'), 'with since and epoch');
    assert.match(resumed.search, /&token=tok%2F1%20%2B%3D%26room%3Dx$/);
    await waitForState(page, 'connected');

    await page.fill('[data-testid="join-input"]', 'lobby');
    await page.press('[data-testid="join-input"]', 'Enter');
    await waitFor(() => mock.current.room === 'lobby', { message: 'lobby socket' });
    assert.equal(mock.urls.at(-1).searchParams.get('token'), token);
    await waitForState(page, 'connected');
    assert.equal(await text(page, sel.myName), 'Azure Ronin', 'the same name in another room');

    await page.reload();
    await waitForState(page, 'connected');
    assert.equal(mock.urls.at(-1).searchParams.get('token'), token, 'and after a reload');
    await close(page);
  });

  test('invalid_token: a small notice, the new name shown, the new token stored', async () => {
    const { page, mock } = await openChat({
      mock: { token: 'fresh', username: 'Azure Ronin' },
      beforeGoto: async (m) => {
        m.rejectTokens = 1;
        await m.page.addInitScript(() => {
          if (!sessionStorage.getItem('seeded')) {
            localStorage.setItem('anime-chat.token', 'stale');
            sessionStorage.setItem('seeded', '1');
          }
        });
      },
    });
    assert.equal(mock.urls[0].searchParams.get('token'), 'stale');
    await page.waitForSelector('[data-testid="notice"][data-code="invalid_token"]');
    assert.equal(await text(page, '[data-testid="notice"]'), 'Your chat identity could not be restored: you have a new name.');
    await waitFor(async () => (await text(page, sel.myName)) === 'Azure Ronin II', { message: 'the new name' });
    assert.equal(await storedToken(page), 'fresh-new');
    assert.equal(await page.$$eval(sel.toast, (n) => n.length), 0, 'not an error toast');
    assert.equal(await page.$$eval('[data-status="failed"]', (n) => n.length), 0, 'not a failed send');
    await close(page);
  });

  test('unverified mark; removed messages in history and live (no text, no actions)', async () => {
    const { page, mock } = await openChat({
      beforeGoto: (m) => {
        m.record(m.other('Http Guest', 'posted over HTTP', { verified: false }));
        const bad = m.other('Troll', 'something nasty');
        m.record(m.other('Sakura Blade', 'verified one', { verified: true }));
        m.deleteMessage(bad.offset);
      },
    });
    await waitFor(async () => (await modView(page)).length === 3, { message: 'history' });
    let shown = await modView(page);
    assert.equal(shown[0].text, 'posted over HTTP');
    assert.match(shown[0].unverified, /without a chat identity/i);
    assert.equal(await page.$eval('[data-testid="unverified"]', (n) => n.textContent), 'unverified');
    // a replay does not say who removed it (authors can too now): the neutral wording
    assert.deepEqual(shown[1], { author: 'Troll', text: null, offset: 1, unverified: null, removed: 'message deleted', report: false, buttons: 0 });
    assert.equal(shown[2].unverified, null, 'verified: no mark');
    assert.equal(shown[2].report, true);

    // live: a message, then its removal
    const live = mock.other('Neon Kitsune', 'spoiler: everyone dies');
    mock.push(live);
    mock.push(mock.other('Old Client', 'no verified field at all'));
    await waitFor(async () => (await modView(page)).length === 5, { message: 'live messages' });
    assert.equal((await modView(page))[4].unverified, null, 'missing verified: no mark');
    mock.push(mock.deleteMessage(live.offset));
    await waitFor(async () => (await modView(page))[3].removed !== null, { message: 'removed live' });
    shown = await modView(page);
    assert.deepEqual([shown[3].text, shown[3].report, shown[3].buttons], [null, false, 0]);
    assert.equal(shown[3].removed, 'message removed by a moderator', 'live: the frame says who');
    assert.equal(await page.$$eval('[data-testid="message-list"]', (n) => n[0].textContent.includes('everyone dies')), false, 'the text is gone from the page');
    await close(page);
  });

  test('refusals: slow mode counts down in the composer, muted until HH:MM, blocked_text; Retry stays', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'manual' } });
    const limit = () => page.$eval('[data-testid="composer-limit"]', (n) => (n.hidden ? null : n.textContent.trim()));

    await sendMessage(page, 'too quick');
    const [slow] = await mock.waitForChatFrames(1);
    mock.push(mock.refusal(slow, 'slow_mode', { retry_after_ms: 3000 }));
    await waitFor(async () => /^Slow mode: wait [23] s$/.test((await limit()) ?? ''), { message: 'slow mode countdown' });
    const first = Number((await limit()).match(/\d+/)[0]);
    await waitFor(async () => Number(((await limit()) ?? 'x 0').match(/\d+/)?.[0] ?? 0) < first, { timeout: 2500, message: 'counting down' });
    let msgs = await readMessages(page);
    assert.equal(msgs[0].status, 'failed');
    assert.match(msgs[0].statusText, /Slow mode is on in this room\.\s*Retry/);
    await waitFor(async () => (await limit()) === null, { timeout: 4000, message: 'the wait is over' });
    await page.click('[data-testid="retry-button"]');
    await mock.waitForChatFrames(2);
    assert.equal(mock.chatFrames()[1].client_msg_id, slow.client_msg_id, 'Retry sends the same message');

    await sendMessage(page, 'while muted');
    const muted = (await mock.waitForChatFrames(3))[2];
    const until = new Date(Date.now() + 60 * 60 * 1000).toISOString();
    mock.push(mock.refusal(muted, 'muted', { until }));
    const hhmm = await page.evaluate((u) => new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(u)), until);
    assert.match(hhmm, /^\d\d:\d\d$/);
    await waitFor(async () => (await limit()) === `You are muted until ${hhmm}.`, { message: 'muted line' });
    await waitFor(async () => (await readMessages(page))[1]?.status === 'failed', { message: 'muted message failed' });
    msgs = await readMessages(page);
    assert.match(msgs[1].statusText, new RegExp(`A moderator muted you\\.\\s*You are muted until ${hhmm}\\.`));

    await sendMessage(page, 'a bad word');
    const blocked = (await mock.waitForChatFrames(4))[3];
    mock.push(mock.refusal(blocked, 'blocked_text'));
    await waitFor(async () => (await readMessages(page))[2]?.status === 'failed', { message: 'blocked' });
    assert.match((await readMessages(page))[2].statusText, /That message contains a blocked word\.\s*Retry/);
    // the first one was retried (still on its way: this server answers nothing by itself)
    assert.deepEqual((await readMessages(page)).map((m) => m.status), ['sending', 'failed', 'failed']);
    assert.equal(await page.$$eval('[data-testid="retry-button"]', (n) => n.length), 2);
    assert.equal(await page.$$eval(sel.toast, (n) => n.length), 0, 'refusals of sends are not toasts');
    await close(page);
  });

  test('a mute or slow mode lifted early: the next message that goes through clears the line (an earlier ack does not)', async () => {
    const { page, mock } = await openChat({ mock: { mode: 'manual' } });
    const limit = () => page.$eval('[data-testid="composer-limit"]', (n) => (n.hidden ? null : n.textContent.trim()));
    const deliver = (frame) => {
      const { ack, message } = mock.accept(frame);
      mock.push(ack);
      mock.push(message);
    };

    await sendMessage(page, 'one');
    await sendMessage(page, 'two');
    const [one, two] = await mock.waitForChatFrames(2);
    mock.push(mock.refusal(two, 'slow_mode', { retry_after_ms: 30000 }));
    await waitFor(async () => /^Slow mode: wait (29|30) s$/.test((await limit()) ?? ''), { message: 'slow mode line' });
    deliver(one); // sent before the refusal: proves nothing
    await waitFor(async () => (await readMessages(page))[0]?.status === 'delivered', { message: 'the first delivered' });
    await sleep(300);
    assert.match((await limit()) ?? '', /^Slow mode: wait/, 'still waiting');

    await sendMessage(page, 'three'); // slow mode was turned off meanwhile: it goes through
    const three = (await mock.waitForChatFrames(3))[2];
    deliver(three);
    await waitFor(async () => (await limit()) === null, { message: 'the slow mode line gone' });

    await sendMessage(page, 'four');
    const four = (await mock.waitForChatFrames(4))[3];
    mock.push(mock.refusal(four, 'muted', { until: new Date(Date.now() + 3600e3).toISOString() }));
    await waitFor(async () => /^You are muted until \d\d:\d\d\.$/.test((await limit()) ?? ''), { message: 'muted line' });
    // lifted: Retry goes through, and the line goes with it
    await page.click(`[data-testid="message"][data-client-msg-id="${four.client_msg_id}"] [data-testid="retry-button"]`);
    assert.equal((await mock.waitForChatFrames(5))[4].client_msg_id, four.client_msg_id);
    deliver(four);
    await waitFor(async () => (await limit()) === null, { message: 'the muted line gone' });
    assert.deepEqual((await readMessages(page)).map((m) => [m.text, m.status]), [
      ['one', 'delivered'],
      ['two', 'failed'],
      ['three', 'delivered'],
      ['four', 'delivered'],
    ]);
    await close(page);
  });

  test('report: on hover/focus, a reason inline, the frame sent, a thank-you toast; keyboard and Escape', async () => {
    const { page, mock } = await openChat();
    const theirs = mock.other('Sakura Blade', 'buy cheap followers at …');
    mock.push(theirs);
    await sendMessage(page, 'my own');
    await waitFor(async () => (await readMessages(page)).length === 2 && (await readMessages(page))[1].status === 'delivered', { message: 'two messages' });
    const shown = await modView(page);
    assert.deepEqual(shown.map((m) => m.report), [true, false], 'not on our own messages');

    const button = '[data-testid="message"][data-own="false"] [data-testid="report-button"]';
    const opacity = () => page.$eval(button, (n) => Number(getComputedStyle(n).opacity));
    await page.mouse.move(5, 5);
    await sleep(300);
    assert.equal(await opacity(), 0, 'hidden until hover or focus');
    await page.hover('[data-testid="message"][data-own="false"] .msg__bubble');
    await waitFor(async () => (await opacity()) === 1, { message: 'shown on hover' });
    assert.match(await page.$eval(button, (n) => n.getAttribute('aria-label')), /Report this message from Sakura Blade/);

    // by keyboard: focus shows it, Enter opens the form, Escape closes it and gives the focus back
    await page.mouse.move(5, 5);
    await page.focus(button);
    await waitFor(async () => (await opacity()) === 1, { message: 'shown on focus' });
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="report-form"]');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'report-reason');
    assert.equal(await page.$eval('[data-testid="report-reason"]', (n) => n.maxLength), 200);
    await page.keyboard.press('Escape');
    assert.equal(await page.$('[data-testid="report-form"]'), null);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'report-button');
    assert.equal(mock.reportFrames().length, 0, 'cancelled: nothing sent');

    await page.keyboard.press('Enter');
    await page.keyboard.type('spam, <b>obviously</b>');
    await page.keyboard.press('Enter');
    await waitFor(() => mock.reportFrames().length === 1, { message: 'report frame' });
    assert.deepEqual(mock.reportFrames()[0], { type: 'report', offset: theirs.offset, reason: 'spam, <b>obviously</b>' });
    await page.waitForSelector(`${sel.toast}.toast--ok`);
    assert.match(await text(page, sel.toast), /Reported, thank you/);
    await page.waitForSelector('[data-testid="message"][data-own="false"] [data-testid="reported"]');
    assert.equal(await page.$(button), null, 'reported once');
    assert.equal(await page.$('[data-testid="report-form"]'), null);
    await close(page);
  });

  test('a refused report shows the server’s message; an empty reason is fine', async () => {
    const { page, mock } = await openChat({ mock: { reportMode: 'error' } });
    mock.push(mock.other('Sakura Blade', 'hmm'));
    await page.waitForSelector('[data-testid="report-button"]');
    await page.click('[data-testid="report-button"]');
    await page.click('[data-testid="report-submit"]');
    await waitFor(() => mock.reportFrames().length === 1, { message: 'report frame' });
    assert.equal(mock.reportFrames()[0].reason, '');
    await page.waitForSelector(`${sel.toast}.toast--error`);
    assert.equal(await text(page, sel.toast), 'Too many reports: try again later.');
    assert.ok(await page.$('[data-testid="report-button"]'), 'still reportable');
    await close(page);
  });

  test('typing frames with users: all of them, never ourselves', async () => {
    const { page, mock } = await openChat({ mock: { username: 'Azure Ronin' } });
    const typingText = () => text(page, '[data-testid="typing-text"]');
    mock.push(mock.typingUsers(['Azure Ronin']));
    await sleep(300);
    assert.equal(await page.$eval('[data-testid="typing-indicator"]', (n) => n.hidden), true, 'only us: nothing');
    mock.push(mock.typingUsers(['Sakura Blade', 'Azure Ronin']));
    await waitFor(async () => (await typingText()) === 'Sakura Blade is typing…', { message: 'one name' });
    mock.push(mock.typingUsers(['Neon Kitsune', 'Azure Ronin']));
    await waitFor(async () => (await typingText()) === 'Sakura Blade and Neon Kitsune are typing…', { message: 'two names' });
    mock.push(mock.typingUsers(Array.from({ length: 10 }, (_, i) => `Guest ${i}`)));
    await waitFor(async () => (await typingText()) === '12 people are typing…', { message: 'several' });
    await close(page);
  });

  test('HTML in names, texts, reasons and notices stays text', async () => {
    const evil = '<img src=x onerror=window.__xss=1>';
    const { page, mock } = await openChat({ mock: { token: 't' } });
    const msg = mock.other(`${evil}<b>name</b>`, `${evil}<script>window.__xss=2</script>`, { verified: false });
    mock.push(msg);
    mock.push(mock.typingUsers([`<i>${evil}</i>`]));
    mock.push({ type: 'error', code: 'invalid_token', message: `${evil} new name` });
    await page.waitForSelector('[data-testid="report-button"]');
    await page.click('[data-testid="report-button"]');
    await page.fill('[data-testid="report-reason"]', `${evil}</form><script>window.__xss=3</script>`);
    await page.press('[data-testid="report-reason"]', 'Enter');
    await waitFor(() => mock.reportFrames().length === 1, { message: 'report' });
    assert.equal(mock.reportFrames()[0].reason, `${evil}</form><script>window.__xss=3</script>`);
    await page.waitForSelector('[data-testid="notice"]');
    await page.waitForSelector(sel.toast);
    const [shown] = await modView(page);
    assert.equal(shown.author, `${evil}<b>name</b>`);
    assert.equal(shown.text, `${evil}<script>window.__xss=2</script>`);
    assert.equal(await text(page, '[data-testid="notice"]'), `${evil} new name`);
    assert.equal(await text(page, '[data-testid="typing-text"]'), `<i>${evil}</i> is typing…`);
    mock.push(mock.deleteMessage(msg.offset));
    await waitFor(async () => (await modView(page))[0].removed !== null, { message: 'removed' });
    await sleep(200);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.$$eval('.app img:not(.brand__logo img), .app script, .app b, .app i', (n) => n.length), 0);
    await close(page);
  });
});

// ---- replies, reactions, edits, deletions, mentions, spoilers, links, unread ------------------

/** Push a message from someone else and wait until it is shown; returns the frame. */
async function theirs(page, mock, username, body, extra = {}) {
  const frame = mock.other(username, body, extra);
  mock.push(frame);
  await page.waitForSelector(msgSel(frame.offset));
  return frame;
}
/** Send one of ours and wait until it is delivered; returns its offset. */
async function ours(page, body) {
  const before = (await readMessages(page)).length;
  await sendMessage(page, body);
  await waitFor(async () => {
    const msgs = await readMessages(page);
    return msgs.length > before && msgs.at(-1).status === 'delivered';
  }, { message: `"${body}" delivered` });
  return page.$eval('[data-testid="message"]:last-of-type', (n) => Number(n.dataset.offset));
}

describe('replies, reactions, edits, mentions, spoilers, links, unread (scripted server)', () => {
  test('reply: the quote above the box (spoiler blurred), Escape cancels, reply_to sent, the quote above the message, a click shows the quoted one', async () => {
    const { page, mock } = await openChat({ width: 900, height: 640 });
    const question = await theirs(page, mock, 'Sakura Blade', 'Did you see ||the twist at the end||? 😱');
    await page.click(`${msgSel(question.offset)} [data-testid="reply-button"]`);
    await page.waitForSelector('[data-testid="reply-bar"]:not([hidden])');
    assert.equal(await activeTestid(page), 'message-input', 'the focus goes to the box');
    assert.equal(await text(page, '[data-testid="reply-bar"] [data-testid="quote-author"]'), 'Sakura Blade');
    assert.equal(await page.$$eval('[data-testid="reply-bar"] .spoiler--static', (n) => n.length), 1, 'the spoiler is blurred in the quote');
    assert.match(await page.$eval('[data-testid="reply-bar"] .spoiler__text', (n) => getComputedStyle(n).filter), /blur/);
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="reply-bar"]', { state: 'hidden' });
    await sendMessage(page, 'no reply');
    assert.equal('reply_to' in (await mock.waitForChatFrames(1))[0], false);

    await page.click(`${msgSel(question.offset)} [data-testid="reply-button"]`);
    await page.keyboard.type('YES. I screamed.');
    await page.keyboard.press('Enter');
    const [, frame] = await mock.waitForChatFrames(2);
    assert.equal(frame.reply_to, question.offset);
    await page.waitForSelector('[data-testid="reply-bar"]', { state: 'hidden' });
    await waitFor(async () => (await readMessages(page)).at(-1)?.status === 'delivered', { message: 'reply delivered' });
    const quote = '[data-testid="message"]:last-of-type [data-testid="reply-quote"]';
    assert.equal(await text(page, `${quote} [data-testid="quote-author"]`), 'Sakura Blade');
    assert.equal(await page.$eval(quote, (n) => n.dataset.offset), String(question.offset));
    assert.equal(await page.$$eval(`${quote} .spoiler--static`, (n) => n.length), 1, 'blurred in the message’s quote too');

    // a reply from someone else whose quote the server could not fill
    mock.push(mock.other('Neon Kitsune', 'old stuff', { reply_to: { offset: 999 } }));
    await page.waitForSelector('[data-testid="message"]:last-of-type [data-testid="reply-quote"]');
    assert.match(await text(page, '[data-testid="message"]:last-of-type [data-testid="reply-quote"]'), /Earlier message\s*not loaded here/);

    for (let i = 0; i < 25; i += 1) mock.push(mock.other('Neon Kitsune', `filler ${i}`));
    await waitFor(async () => (await readMessages(page)).length === 29, { message: 'filler' });
    await page.$eval('#scroller', (s) => s.scrollTo({ top: s.scrollHeight }));
    assert.equal(await inView(page, msgSel(question.offset)), false, 'scrolled away');
    await page.$eval('#scroller', (s) => s.scrollTo({ top: s.scrollHeight / 2 }));
    await page.click(`[data-testid="message"][data-reply-to="${question.offset}"][data-own="true"] [data-testid="reply-quote"]`);
    await waitFor(() => inView(page, msgSel(question.offset)), { message: 'the quoted message scrolled into view' });
    assert.equal(await page.$eval(msgSel(question.offset), (n) => n.classList.contains('msg--flash')), true, 'highlighted');
    await waitFor(async () => !(await page.$eval(msgSel(question.offset), (n) => n.classList.contains('msg--flash'))), { timeout: 4000, message: 'briefly' });
    await page.click('[data-testid="message"]:has-text("old stuff") [data-testid="reply-quote"]');
    await page.waitForSelector(sel.toast);
    assert.match(await text(page, sel.toast), /not on this page/);
    await close(page);
  });

  test('react: the picker (18 emoji, keys), frames sent, counts, mine highlighted, a click on mine takes it back; kept after a reload', async () => {
    const { page, mock } = await openChat({ mock: { username: 'Azure Ronin' } });
    const m = await theirs(page, mock, 'Sakura Blade', 'Frieren season 2 confirmed!!');
    await page.click(`${msgSel(m.offset)} [data-testid="react-button"]`);
    await page.waitForSelector('[data-testid="reaction-picker"]');
    assert.equal(await page.$$eval('[data-testid="picker-emoji"]', (n) => n.map((b) => b.textContent).join('')), '🔥❤️😂👍👎😮😢🎉👀🙏💯✨🤔😍😭🤯⭐🌸');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.emoji), '🔥', 'focus on the first emoji');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.emoji), '🎉', 'right, then down a row of six');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="reaction-picker"]', { state: 'detached' });
    assert.equal(await activeTestid(page), 'react-button', 'Escape gives the focus back');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter'); // 🔥
    await waitFor(() => mock.actionFrames('react').length === 1, { message: 'react frame' });
    const [react] = mock.actionFrames('react');
    assert.deepEqual({ ...react, client_msg_id: 'x' }, { type: 'react', offset: m.offset, emoji: '🔥', client_msg_id: 'x' });
    await waitFor(async () => JSON.stringify(await reactionsOf(page, m.offset)) === JSON.stringify([['🔥', 1, true]]), { message: 'my 🔥' });
    assert.equal(await page.$eval(`${msgSel(m.offset)} [data-testid="reaction"]`, (n) => n.classList.contains('reaction--mine')), true);

    // someone else's reaction, then a click on theirs adds mine, a click on mine takes it back
    mock.push(mock.react(m.offset, '😂', 'Neon Kitsune').event);
    await waitFor(async () => (await reactionsOf(page, m.offset)).length === 2, { message: 'their 😂' });
    assert.deepEqual(await reactionsOf(page, m.offset), [['🔥', 1, true], ['😂', 1, false]]);
    await page.click(`${msgSel(m.offset)} [data-testid="reaction"][data-emoji="😂"]`);
    await waitFor(async () => JSON.stringify(await reactionsOf(page, m.offset)) === JSON.stringify([['🔥', 1, true], ['😂', 2, true]]), { message: 'mine added' });
    await page.click(`${msgSel(m.offset)} [data-testid="reaction"][data-emoji="🔥"]`);
    await waitFor(() => mock.actionFrames('unreact').length === 1, { message: 'unreact frame' });
    assert.deepEqual([mock.actionFrames('unreact')[0].offset, mock.actionFrames('unreact')[0].emoji], [m.offset, '🔥']);
    await waitFor(async () => JSON.stringify(await reactionsOf(page, m.offset)) === JSON.stringify([['😂', 2, true]]), { message: 'mine taken back' });

    // ten more people: `users` no longer lists us, the count does; still mine, also after a reload
    for (let i = 0; i < 10; i += 1) mock.push(mock.react(m.offset, '😂', `Fan ${i}`).event);
    await waitFor(async () => (await reactionsOf(page, m.offset))[0]?.[1] === 12, { message: '12 😂' });
    assert.equal(mock.message(m.offset).reactions[0].users.includes('Azure Ronin'), false, 'users is cut short');
    assert.deepEqual(await reactionsOf(page, m.offset), [['😂', 12, true]]);
    await page.reload();
    await waitForState(page, 'connected');
    await page.waitForSelector(`${msgSel(m.offset)} [data-testid="reaction"]`);
    assert.deepEqual(await reactionsOf(page, m.offset), [['😂', 12, true]], 'remembered in localStorage');
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('anime-chat.reactions')));
    assert.deepEqual(Object.values(stored), [['😂']]);
    assert.match(Object.keys(stored)[0], new RegExp(`^anonymous-anime-universe/epoch-a:${m.offset}$`));
    await close(page);
  });

  test('react refused (8 kinds already; an emoji the server does not take): the reason inline under the message', async () => {
    const { page, mock } = await openChat();
    const m = await theirs(page, mock, 'Sakura Blade', 'react to this');
    for (const emoji of ['🔥', '❤️', '😂', '👍', '👎', '😮', '😢', '🎉']) mock.push(mock.react(m.offset, emoji, 'Neon Kitsune').event);
    await waitFor(async () => (await reactionsOf(page, m.offset)).length === 8, { message: '8 kinds' });
    await page.click(`${msgSel(m.offset)} [data-testid="react-button"]`);
    await page.click('[data-testid="picker-emoji"][data-emoji="🌸"]');
    await page.waitForSelector(`${msgSel(m.offset)} [data-testid="action-error"]`);
    assert.equal(await page.$eval(`${msgSel(m.offset)} [data-testid="action-error"]`, (n) => n.dataset.code), 'too_many_reactions');
    assert.match(await text(page, `${msgSel(m.offset)} [data-testid="action-error"]`), /8/);
    assert.equal(await page.$$eval(sel.toast, (n) => n.length), 0, 'inline, not a toast');
    assert.equal((await reactionsOf(page, m.offset)).length, 8);
    await close(page);
  });

  test('edit: in place (Escape cancels, Enter saves), Up arrow edits the last one, "edited"; a live message_edited from someone else; too old: no editing', async () => {
    const { page, mock } = await openChat({
      beforeGoto: (m) => {
        // ours from an earlier visit, too old to edit
        m.record(m.other('Azure Ronin', 'from yesterday', { timestamp: new Date(Date.now() - 20 * 60 * 1000).toISOString() }));
      },
    });
    await page.waitForSelector('[data-testid="message"]');
    const old = await page.$eval('[data-testid="message"]', (n) => Number(n.dataset.offset));
    assert.equal(await page.$(`${msgSel(old)} [data-testid="edit-button"]`), null, 'past the 15 minutes: no Edit');
    assert.ok(await page.$(`${msgSel(old)} [data-testid="delete-button"]`), 'Delete stays');
    await page.focus(sel.input);
    await page.keyboard.press('ArrowUp');
    await sleep(200);
    assert.equal(await page.$('[data-testid="edit-input"]'), null, 'Up does nothing then');

    const mine = await ours(page, 'I love Fern sooo much');
    await page.click(`${msgSel(mine)} [data-testid="edit-button"]`);
    await page.waitForSelector('[data-testid="edit-input"]');
    assert.equal(await page.inputValue('[data-testid="edit-input"]'), 'I love Fern sooo much');
    assert.equal(await activeTestid(page), 'edit-input');
    await page.keyboard.type(' and Stark');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="edit-input"]', { state: 'detached' });
    assert.equal(await text(page, `${msgSel(mine)} [data-testid="message-text"]`), 'I love Fern sooo much', 'cancelled');
    assert.equal(mock.actionFrames('edit').length, 0);
    assert.equal(await activeTestid(page), 'edit-button', 'the focus goes back');

    await page.focus(sel.input);
    await page.keyboard.press('ArrowUp');
    await page.waitForSelector(`${msgSel(mine)} [data-testid="edit-input"]`);
    await page.fill('[data-testid="edit-input"]', 'I love Fern so much');
    await page.press('[data-testid="edit-input"]', 'Enter');
    await waitFor(() => mock.actionFrames('edit').length === 1, { message: 'edit frame' });
    assert.deepEqual({ ...mock.actionFrames('edit')[0], client_msg_id: 'x' }, { type: 'edit', offset: mine, text: 'I love Fern so much', client_msg_id: 'x' });
    await page.waitForSelector(`${msgSel(mine)}[data-edited="true"]`);
    assert.equal(await text(page, `${msgSel(mine)} [data-testid="message-text"]`), 'I love Fern so much');
    assert.equal(await text(page, `${msgSel(mine)} [data-testid="edited"]`), 'edited');
    assert.equal(await activeTestid(page), 'message-input', 'opened from the box: the focus goes back there');

    // someone else edits theirs
    const m = await theirs(page, mock, 'Sakura Blade', 'Himmel was teh best');
    mock.push(mock.edit(m.offset, 'Himmel was the best').event);
    await page.waitForSelector(`${msgSel(m.offset)}[data-edited="true"]`);
    assert.equal(await text(page, `${msgSel(m.offset)} [data-testid="message-text"]`), 'Himmel was the best');
    assert.equal(await page.$(`${msgSel(m.offset)} [data-testid="edit-button"]`), null, 'not ours to edit');

    // a refusal (the window passed meanwhile on the server)
    mock.editWindowMs = 0;
    await page.click(`${msgSel(mine)} [data-testid="edit-button"]`);
    await page.fill('[data-testid="edit-input"]', 'one more change');
    await page.press('[data-testid="edit-input"]', 'Enter');
    await page.waitForSelector(`${msgSel(mine)} [data-testid="action-error"]`);
    assert.match(await text(page, `${msgSel(mine)} [data-testid="action-error"]`), /15 minutes/);
    assert.equal(await text(page, `${msgSel(mine)} [data-testid="message-text"]`), 'I love Fern so much', 'the text goes back');
    await close(page);
  });

  test('delete our own: an inline confirmation, the frame, "message deleted"; live deletions by others read by whom', async () => {
    const { page, mock } = await openChat();
    const mine = await ours(page, 'oops, wrong room');
    await page.click(`${msgSel(mine)} [data-testid="delete-button"]`);
    await page.waitForSelector('[data-testid="delete-confirmation"]');
    assert.equal(await activeTestid(page), 'delete-cancel', 'the safe choice has the focus');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="delete-confirmation"]', { state: 'detached' });
    assert.equal(await activeTestid(page), 'delete-button');
    await page.keyboard.press('Enter');
    await page.click('[data-testid="delete-cancel"]');
    assert.equal(mock.actionFrames('delete').length, 0, 'cancelled twice: nothing sent');
    await page.click(`${msgSel(mine)} [data-testid="delete-button"]`);
    await page.click('[data-testid="delete-confirm"]');
    await waitFor(() => mock.actionFrames('delete').length === 1, { message: 'delete frame' });
    assert.deepEqual({ ...mock.actionFrames('delete')[0], client_msg_id: 'x' }, { type: 'delete', offset: mine, client_msg_id: 'x' });
    await page.waitForSelector(`${msgSel(mine)}[data-deleted="true"]`);
    assert.equal(await text(page, `${msgSel(mine)} [data-testid="message-removed"]`), 'message deleted');
    assert.equal(await page.$$eval(`${msgSel(mine)} button`, (n) => n.length), 0, 'nothing left to do with it');

    const a = await theirs(page, mock, 'Sakura Blade', 'wrong chat lol');
    const b = await theirs(page, mock, 'Troll', 'something nasty');
    mock.push(mock.deleteByAuthor(a.offset).event);
    mock.push(mock.deleteMessage(b.offset));
    await page.waitForSelector(`${msgSel(b.offset)}[data-deleted="true"]`);
    await page.waitForSelector(`${msgSel(a.offset)}[data-deleted="true"]`);
    assert.equal(await text(page, `${msgSel(a.offset)} [data-testid="message-removed"]`), 'message deleted');
    assert.equal(await text(page, `${msgSel(b.offset)} [data-testid="message-removed"]`), 'message removed by a moderator');
    assert.equal(await page.$(`${msgSel(a.offset)} [data-testid="message-text"]`), null, 'no text left');
    await close(page);
  });

  test('mentions: suggestions of people online by keyboard and mouse, highlighted in messages (more when it is us), a badge while scrolled up', async () => {
    const { page, mock } = await openChat({ width: 900, height: 620, mock: { username: 'Azure Ronin', users: ['Sakura Blade', 'Neon Kitsune', 'Nebula Samurai'] } });
    await page.waitForSelector('[data-testid="presence-person"]', { state: 'attached' });
    const options = () => evalAll(page, '[data-testid="mention-option"]', (n) => n.map((o) => [o.dataset.name, o.getAttribute('aria-selected') === 'true']));
    await page.focus(sel.input);
    await page.keyboard.type('hi @ne');
    await waitFor(async () => (await options()).length === 2, { message: 'two suggestions' });
    assert.deepEqual(await options(), [['Nebula Samurai', true], ['Neon Kitsune', false]], 'in the presence list’s order');
    assert.equal(await page.getAttribute(sel.input, 'aria-expanded'), 'true');
    await page.keyboard.press('ArrowDown');
    assert.deepEqual(await options(), [['Nebula Samurai', false], ['Neon Kitsune', true]]);
    assert.equal(await page.getAttribute(sel.input, 'aria-activedescendant'), 'mention-option-1');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.deepEqual(await options(), [['Nebula Samurai', false], ['Neon Kitsune', true]], 'round and round');
    await page.keyboard.press('Enter');
    assert.equal(await page.inputValue(sel.input), 'hi @Neon Kitsune ');
    assert.equal(await page.isHidden('[data-testid="mention-menu"]'), true);
    assert.equal(mock.chatFrames().length, 0, 'Enter took the name, it did not send');
    await page.keyboard.type('and @a');
    await sleep(150);
    assert.equal(await page.isHidden('[data-testid="mention-menu"]'), true, 'never ourselves');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('s');
    await page.keyboard.press('Escape');
    await page.keyboard.type('a');
    await page.waitForSelector('[data-testid="mention-option"][data-name="Sakura Blade"]');
    await page.click('[data-testid="mention-option"][data-name="Sakura Blade"]');
    assert.equal(await page.inputValue(sel.input), 'hi @Neon Kitsune and @Sakura Blade ');
    assert.equal(await activeTestid(page), 'message-input', 'the box keeps the focus');
    await page.keyboard.type('@neb');
    await page.keyboard.press('Tab');
    assert.equal(await page.inputValue(sel.input), 'hi @Neon Kitsune and @Sakura Blade @Nebula Samurai ');
    await page.keyboard.press('Enter');
    await mock.waitForChatFrames(1);
    assert.equal(mock.chatFrames()[0].text, 'hi @Neon Kitsune and @Sakura Blade @Nebula Samurai');

    const m = await theirs(page, mock, 'Sakura Blade', 'hey @Azure Ronin and @neon kitsune!');
    const marks = await evalAll(page, `${msgSel(m.offset)} [data-testid="mention"]`, (n) => n.map((s) => [s.textContent, s.dataset.me]));
    assert.deepEqual(marks, [['@Azure Ronin', 'true'], ['@neon kitsune', 'false']]);
    assert.equal(await page.$eval(msgSel(m.offset), (n) => n.classList.contains('msg--mentions-me')), true);
    assert.equal(await page.isHidden('[data-testid="mention-badge"]'), true, 'at the bottom: no badge');

    for (let i = 0; i < 30; i += 1) mock.push(mock.other('Neon Kitsune', `scroll filler ${i}`));
    await waitFor(async () => (await readMessages(page)).length === 32, { message: 'filler' });
    await page.$eval('#scroller', (s) => s.scrollTo({ top: 0 }));
    await sleep(150);
    const ping = await theirs(page, mock, 'Nebula Samurai', '@azure ronin are you there?');
    await theirs(page, mock, 'Nebula Samurai', 'not a mention: azure ronin');
    await page.waitForSelector('[data-testid="mention-badge"]:not([hidden])');
    assert.equal(await text(page, '[data-testid="mention-badge-count"]'), '1 mention');
    await page.click('[data-testid="mention-badge"]');
    await waitFor(() => inView(page, msgSel(ping.offset)), { message: 'scrolled to the mention' });
    await page.waitForSelector('[data-testid="mention-badge"]', { state: 'hidden' });
    await close(page);
  });

  test('mention badge clears when the reader scrolls to the message, and on a room switch', async () => {
    const { page, mock } = await openChat({ width: 1100, height: 600, mock: { username: 'Azure Ronin' } });
    for (let i = 0; i < 30; i += 1) mock.push(mock.other('Neon Kitsune', `line ${i}`));
    await waitFor(async () => (await readMessages(page)).length === 30, { message: '30 messages' });
    await page.$eval('#scroller', (s) => s.scrollTo({ top: 0 }));
    await sleep(150);
    await theirs(page, mock, 'Sakura Blade', 'ping @Azure Ronin');
    await theirs(page, mock, 'Sakura Blade', '@Azure Ronin again');
    await waitFor(async () => (await text(page, '[data-testid="mention-badge-count"]')) === '2 mentions', { message: '2 mentions' });
    await page.$eval('#scroller', (s) => s.scrollTo({ top: s.scrollHeight }));
    await page.waitForSelector('[data-testid="mention-badge"]', { state: 'hidden' });
    await page.$eval('#scroller', (s) => s.scrollTo({ top: 0 }));
    await sleep(150);
    await theirs(page, mock, 'Sakura Blade', 'and @Azure Ronin once more');
    await page.waitForSelector('[data-testid="mention-badge"]:not([hidden])');
    await page.fill('[data-testid="join-input"]', 'elsewhere');
    await page.press('[data-testid="join-input"]', 'Enter');
    await mock.waitForConnects(2);
    await page.waitForSelector('[data-testid="mention-badge"]', { state: 'hidden' });
    await close(page);
  });

  test('spoilers: blurred until clicked, or Enter/Space; shown ones stay shown when the message is drawn again', async () => {
    const { page, mock } = await openChat();
    const m = await theirs(page, mock, 'Sakura Blade', 'the ending: ||Himmel|| and ||the ring https://example.com/ring||, ||third||');
    const spoilers = () => evalAll(page, `${msgSel(m.offset)} [data-testid="spoiler"]`, (n) => n.map((s) => [s.classList.contains('spoiler--shown'), s.getAttribute('role')]));
    assert.deepEqual(await spoilers(), [[false, 'button'], [false, 'button'], [false, 'button']]);
    assert.match(await page.$eval(`${msgSel(m.offset)} .spoiler__text`, (n) => getComputedStyle(n).filter), /blur/);
    assert.equal(await page.$eval(`${msgSel(m.offset)} [data-testid="message-link"]`, (n) => n.tabIndex), -1, 'a link in a hidden spoiler cannot be reached');
    await page.click(`${msgSel(m.offset)} [data-testid="spoiler"] >> nth=1`);
    assert.deepEqual(await spoilers(), [[false, 'button'], [true, null], [false, 'button']]);
    assert.equal(page.url().includes('example.com'), false, 'the click showed it, it did not follow the link');
    assert.equal(await page.$eval(`${msgSel(m.offset)} [data-testid="message-link"]`, (n) => n.tabIndex), 0);
    await page.focus(`${msgSel(m.offset)} [data-testid="spoiler"] >> nth=0`);
    await page.keyboard.press('Enter');
    await page.focus(`${msgSel(m.offset)} [data-testid="spoiler"][role="button"]`);
    await page.keyboard.press(' ');
    assert.deepEqual(await spoilers(), [[true, null], [true, null], [true, null]]);
    assert.equal(await page.$eval(`${msgSel(m.offset)} [data-testid="message-text"]`, (n) => n.textContent), 'the ending: Himmel and the ring https://example.com/ring, third');
    mock.push(mock.react(m.offset, '😭', 'Neon Kitsune').event);
    await page.waitForSelector(`${msgSel(m.offset)} [data-testid="reaction"]`);
    assert.deepEqual(await spoilers(), [[true, null], [true, null], [true, null]], 'still shown after the re-render');
    await close(page);
  });

  test('links: http(s) open in a new tab without opener, referrer or endorsement; other schemes stay text', async () => {
    const { page, mock } = await openChat();
    const m = await theirs(page, mock, 'Sakura Blade', 'watch https://example.com/ep?x=1&y=2. not javascript:alert(1) nor data:text/html,<script>alert(2)</script> nor <a href="javascript:alert(3)">x</a> (also http://a.io/b_(c))');
    const links = await evalAll(page, `${msgSel(m.offset)} a`, (n) => n.map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('target'), a.getAttribute('rel')]));
    assert.deepEqual(links, [
      ['https://example.com/ep?x=1&y=2', 'https://example.com/ep?x=1&y=2', '_blank', 'noopener noreferrer nofollow'],
      ['http://a.io/b_(c)', 'http://a.io/b_(c)', '_blank', 'noopener noreferrer nofollow'],
    ]);
    assert.equal(await page.$eval(`${msgSel(m.offset)} [data-testid="message-text"]`, (n) => n.textContent), m.text, 'everything else as typed');
    assert.equal(await page.$$eval('.app [href^="javascript"], .app script, .app [href^="data"]', (n) => n.length), 0);
    await close(page);
  });

  test('unread counts: rooms left in this tab, asked when the list refreshes (since + epoch), mentions marked, cleared when opened', async () => {
    const { page, mock } = await openChat({ query: '?room=shonen-jump', mock: { username: 'Azure Ronin', rooms: [{ room: 'shonen-jump', active_connections: 3 }, { room: 'frieren-fans', active_connections: 2 }] } });
    const before = await theirs(page, mock, 'Sakura Blade', 'seen already');
    await page.click('[data-testid="room-link"][data-room="frieren-fans"]');
    await mock.waitForConnects(2);
    await waitForState(page, 'connected');
    assert.equal(await page.$('[data-testid="room-unread"]'), null, 'nothing new yet');
    for (const [who, body] of [['Sakura Blade', 'chapter 1100!!'], ['Azure Ronin', 'mine, from another tab'], ['Neon Kitsune', '@Azure Ronin you called it'], ['Crimson Oni', 'spoilers ahead']]) {
      mock.other(who, body, { room: 'shonen-jump' }); // logged there; this page has no socket in that room
    }
    await page.evaluate(() => window.animeChat.directory.refresh());
    await page.waitForSelector('[data-testid="room-link"][data-room="shonen-jump"] [data-testid="room-unread"]');
    const request = mock.historyRequests.at(-1);
    assert.equal(request.pathname, '/api/rooms/shonen-jump/messages');
    assert.deepEqual(Object.fromEntries(request.searchParams), { limit: '99', since: String(before.offset), epoch: 'epoch-a' });
    const badge = '[data-testid="room-link"][data-room="shonen-jump"] [data-testid="room-unread"]';
    assert.equal(await text(page, `${badge} [data-testid="room-unread-count"]`), '3', 'others’ messages only');
    assert.equal(await page.$eval(badge, (n) => n.classList.contains('room__unread--mention')), true);
    assert.match(await page.$eval(badge, (n) => n.title), /^3 new messages since you left, 1 naming you$/);
    assert.equal(await page.isVisible('[data-testid="rooms-unread-note"]'), true, 'says what is counted');
    assert.equal(await page.$('[data-testid="room-link"][data-room="frieren-fans"] [data-testid="room-unread"]'), null, 'not the current room');
    assert.equal(await page.getAttribute('[data-testid="panel-toggle"]', 'data-unread'), 'mention');
    await page.click('[data-testid="room-link"][data-room="shonen-jump"]');
    await mock.waitForConnects(3);
    await waitFor(async () => (await page.$('[data-testid="room-unread"]')) === null, { message: 'cleared when opened' });
    assert.equal(await page.isHidden('[data-testid="rooms-unread-note"]'), true);
    await close(page);
  });

  test('HTML in every new field stays text: quotes, reactions, edits, mentions, links, names in suggestions', async () => {
    const evil = '<img src=x onerror=window.__xss=1>';
    const { page, mock } = await openChat({ mock: { username: 'Azure Ronin', users: [`${evil}Neo`, 'Neo"><b>x</b>'] } });
    const m = await theirs(page, mock, `${evil}<b>who</b>`, `${evil} ||<script>window.__xss=2</script>|| @Neo"><b>x</b> https://a.b/"><img src=x onerror=window.__xss=3>`);
    mock.push(mock.other('Sakura Blade', 'quoting', { reply_to: { offset: m.offset, username: `<i>${evil}</i>`, text: `||${evil}||<svg onload=window.__xss=4>`, deleted: false } }));
    await page.waitForSelector('[data-testid="reply-quote"]');
    assert.equal(await text(page, '[data-testid="reply-quote"] [data-testid="quote-author"]'), `<i>${evil}</i>`);
    assert.equal(await page.$eval('[data-testid="reply-quote"] [data-testid="quote-text"]', (n) => n.textContent), `${evil}spoiler<svg onload=window.__xss=4>`);
    const junk = '<img src=x onerror=a()>'; // the emoji field is text, however odd (up to 32 characters)
    mock.push({ type: 'reactions', room: 'anonymous-anime-universe', offset: m.offset, event_offset: mock.offset++, emoji: junk, added: true, username: evil, reactions: [{ emoji: junk, count: 2, users: [`<i>${evil}</i>`] }, { emoji: `<b>${evil}</b>`, count: 1 }], epoch: 'epoch-a' });
    mock.push({ type: 'message_edited', room: 'anonymous-anime-universe', offset: m.offset, event_offset: mock.offset++, text: `${evil}<iframe src="javascript:alert(1)">`, edited_at: 'not a date', epoch: 'epoch-a' });
    await page.waitForSelector(`${msgSel(m.offset)}[data-edited="true"]`);
    await page.waitForSelector(`${msgSel(m.offset)} [data-testid="reaction"]`);
    assert.equal(await text(page, `${msgSel(m.offset)} [data-testid="message-text"]`), `${evil}<iframe src="javascript:alert(1)">`);
    assert.deepEqual(await page.$$eval(`${msgSel(m.offset)} [data-testid="reaction"]`, (n) => n.map((r) => r.textContent)), [`${junk}2`], 'a longer one is dropped');
    assert.match(await page.$eval(`${msgSel(m.offset)} [data-testid="reaction"]`, (n) => n.title), /<i><img src=x onerror=window.__xss=1><\/i>/);
    // the quote follows the edit
    assert.equal(await text(page, '[data-testid="reply-quote"] [data-testid="quote-author"]'), `${evil}<b>who</b>`);
    assert.equal(await page.$eval('[data-testid="reply-quote"] [data-testid="quote-text"]', (n) => n.textContent), `${evil}<iframe src="javascript:alert(1)">`);
    await page.click(`[data-testid="message"]:last-of-type [data-testid="reply-button"]`);
    assert.equal(await text(page, '[data-testid="reply-bar"] [data-testid="quote-author"]'), 'Sakura Blade');
    await page.keyboard.type('@ne');
    await page.waitForSelector('[data-testid="mention-option"]');
    assert.deepEqual(await page.$$eval('[data-testid="mention-option"]', (n) => n.map((o) => o.querySelector('.mention-menu__name').textContent)), ['Neo"><b>x</b>']);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    await mock.waitForChatFrames(1);
    await waitFor(async () => (await readMessages(page)).at(-1)?.status === 'delivered', { message: 'sent' });
    assert.equal(await text(page, '[data-testid="message"]:last-of-type [data-testid="message-text"]'), '@Neo"><b>x</b>');
    await sleep(200);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.$$eval('.app img:not(.brand__logo img), .app script, .app b, .app i, .app iframe, .app svg[onload]', (n) => n.length), 0);
    await close(page);
  });

  test('360 and 1280 px with the reply bar, the picker, the editor and a quote open: no horizontal scroll, actions behind "more" on the phone', async () => {
    for (const width of [360, 1280]) {
      const { page, mock } = await openChat({ width, height: 760 });
      const long = await theirs(page, mock, 'Sakura Blade', `${'a-very-long-word-without-spaces-'.repeat(6)} https://example.com/${'x'.repeat(120)} ||${'spoiler '.repeat(20)}||`);
      for (const emoji of ['🔥', '❤️', '😂', '👍', '👎', '😮', '😢', '🎉']) mock.push(mock.react(long.offset, emoji, `Fan with a long name ${emoji}`).event);
      const mine = await ours(page, `reply ${'with a long text '.repeat(8)}`);
      if (width === 360) {
        assert.equal(await page.isVisible(`${msgSel(long.offset)} [data-testid="reply-button"]`), false, 'hidden behind "more"');
        await page.click(`${msgSel(long.offset)} [data-testid="more-button"]`);
        assert.equal(await page.getAttribute(`${msgSel(long.offset)} [data-testid="more-button"]`, 'aria-expanded'), 'true');
        assert.equal(await activeTestid(page), 'react-button', 'the first action has the focus');
      }
      await page.click(`${msgSel(long.offset)} [data-testid="reply-button"]`);
      if (width === 360) assert.equal(await page.isVisible(`${msgSel(long.offset)} [data-testid="reply-button"]`), false, 'closed after use');
      if (width === 360) await page.click(`${msgSel(long.offset)} [data-testid="more-button"]`);
      await page.click(`${msgSel(long.offset)} [data-testid="react-button"]`);
      await page.waitForSelector('[data-testid="reaction-picker"]');
      if (width === 360) await page.click(`${msgSel(mine)} [data-testid="more-button"]`);
      await page.click(`${msgSel(mine)} [data-testid="edit-button"]`);
      await page.waitForSelector('[data-testid="edit-input"]');
      const dims = await noHorizontalScroll(page);
      assert.ok(dims.scrollWidth <= dims.clientWidth, `${width}px: ${JSON.stringify(dims)}`);
      const inside = await page.evaluate(() => {
        const s = document.getElementById('scroller');
        return { scroll: s.scrollWidth, client: s.clientWidth };
      });
      assert.ok(inside.scroll <= inside.client + 1, `${width}px, inside the list: ${JSON.stringify(inside)}`);
      const picker = await page.$eval('[data-testid="reaction-picker"]', (n) => n.getBoundingClientRect().right);
      assert.ok(picker <= width, 'the picker fits');
      await close(page);
    }
  });
});
