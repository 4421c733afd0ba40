// What the end-to-end tests (*.e2e.test.mjs) share:
//
// - useRealServer(): the real server binary (CHAT_BIN) and Chromium for one
//   describe block, started before its tests and stopped after them; a
//   setup failure fails every test of the block.
// - e2e.openChat(room): a chat page in a browser context of its own (so its
//   own identity token, like a separate person) at /?room=<room>, connected
//   and named.
// - reading and driving such a page the way its user would: names, our
//   messages sent and delivered, messages by offset.
// - rawSocket(): a WebSocket from Node, for frames the page would never send.

import assert from 'node:assert/strict';
import { after, before, beforeEach } from 'node:test';

import {
  CHAT_BIN,
  chatBinaryAvailable,
  launchBrowser,
  newPage,
  readMessages,
  recordConnectionStates,
  sel,
  sendMessage,
  startChatServer,
  waitFor,
  waitForState,
} from './helpers.mjs';

/**
 * The server (with `env` added to its environment) and the browser of the
 * describe block this is called in. Returns the live handles:
 * {server, browser, chats, openChat(room, pageOptions)}.
 */
export function useRealServer({ env = {} } = {}) {
  const e2e = {
    server: null,
    browser: null,
    /** every chat page opened (closed at the end) */
    chats: [],
    openChat: (room, options) => openChat(e2e, room, options),
  };
  let setupError = null;
  before(async () => {
    // A failure here is reported by every test below (rather than as a
    // failed hook with "# fail 0"), so a missing or broken server is loud.
    try {
      if (!chatBinaryAvailable()) {
        throw new Error(`the server binary is missing at ${CHAT_BIN}: build it first (cargo build) or point CHAT_BIN at it`);
      }
      e2e.browser = await launchBrowser();
      e2e.server = await startChatServer({ env });
    } catch (err) {
      setupError = err;
    }
  });

  beforeEach(() => {
    if (setupError) throw setupError;
  });

  after(async () => {
    for (const { page } of e2e.chats) await page.context().close().catch(() => {});
    await e2e.browser?.close();
    if (e2e.server) {
      await e2e.server.stop();
      if (process.env.CHAT_TEST_SHOW_LOG) console.log(e2e.server.tail(20000));
    }
  });
  return e2e;
}

/**
 * A chat page in its own context at /?room=<room>, connected: {page, room, name}.
 * It records its connection states (window.__states, to see a close) and the
 * URL of every WebSocket it opens (page.wsUrls, to see room, since, epoch).
 */
async function openChat(e2e, room, { width = 1000, height = 760, ...pageOptions } = {}) {
  const page = await newPage(e2e.browser, { width, height, ...pageOptions });
  page.wsUrls = [];
  page.on('websocket', (ws) => page.wsUrls.push(new URL(ws.url())));
  await recordConnectionStates(page);
  await page.goto(`${e2e.server.baseUrl}/?room=${room}`);
  await waitForState(page, 'connected');
  const chat = { page, room, name: await myName(page) };
  e2e.chats.push(chat);
  return chat;
}

export const textOf = (page, selector) => page.$eval(selector, (n) => n.textContent.trim());

/** The name the page says we chat as (once the welcome gave one). */
export function myName(page) {
  return waitFor(
    async () => {
      const name = await textOf(page, sel.myName);
      return name && name !== '…' ? name : null;
    },
    { message: 'a name from the welcome' },
  );
}

/** Our message with this text, as the page shows it. */
export async function ownMessage(page, messageText) {
  return (await readMessages(page)).find((m) => m.own && m.text === messageText) ?? null;
}

/**
 * Send from a chat page and wait until the page shows it delivered; its
 * offset. Found as our one new bubble, not by its text: the page shows
 * `||spoilers||` without their marks.
 */
export async function say(page, messageText) {
  const ownSel = '[data-testid="message"][data-own="true"]';
  const before = await page.$$eval(ownSel, (nodes) => nodes.map((n) => n.dataset.key));
  await sendMessage(page, messageText);
  const found = await waitFor(
    () =>
      page.evaluate(
        ({ ownSel, before }) => {
          const node = [...document.querySelectorAll(ownSel)].find((n) => !before.includes(n.dataset.key));
          return node?.dataset.status === 'delivered' && node.dataset.offset !== undefined ? { offset: Number(node.dataset.offset) } : null;
        },
        { ownSel, before },
      ),
    { message: `"${messageText}" delivered` },
  );
  return found.offset;
}

/** The offset (data-offset) of the message with this text on a chat page. */
export async function offsetOf(page, messageText) {
  const found = await waitFor(
    () =>
      page.evaluate((t) => {
        const node = [...document.querySelectorAll('[data-testid="message"]')].find((n) => n.querySelector('[data-testid="message-text"]')?.textContent === t);
        return node?.dataset.offset === undefined ? null : { offset: Number(node.dataset.offset) };
      }, messageText),
    { message: `the offset of "${messageText}"` },
  );
  return found.offset;
}

/** A chat page's message by offset: {deleted, removed shown, text, author}, or null. */
export function chatMessageAt(page, offset) {
  return page.evaluate((o) => {
    const node = document.querySelector(`[data-testid="message"][data-offset="${o}"]`);
    if (!node) return null;
    return {
      deleted: node.dataset.deleted === 'true',
      removed: node.querySelector('[data-testid="message-removed"]')?.textContent.trim() ?? null,
      text: node.querySelector('[data-testid="message-text"]')?.textContent ?? null,
      author: node.dataset.author,
    };
  }, offset);
}

export function assertNoProblems(page, label) {
  assert.deepEqual(page.problems, [], `${label}: no console errors, page errors or CSP violations`);
}

// ---------------------------------------------------------------------------
// a WebSocket from Node

// Node 22 has a WebSocket of its own; Node 20 (package.json allows it) has
// one only behind a flag, so take the `ws` that playwright-core ships (an
// export of its package, no extra dependency). Both have the same API here.
async function webSocketClass() {
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  const { ws } = (await import('playwright-core/lib/utilsBundle')).default;
  return ws;
}

/**
 * A chat connection from Node (no Origin, no page): every frame it gets is
 * kept in `frames`. Resolves once welcomed.
 *   send(frame)               JSON over the socket
 *   next(match, timeout)      the first frame (so far or to come) for which match(frame) holds
 *   close()
 */
export async function rawSocket(server, room, { query = 'history=0' } = {}) {
  const WebSocket = await webSocketClass();
  const ws = new WebSocket(`${server.baseUrl.replace(/^http/, 'ws')}/ws/chat?room=${room}&${query}`);
  const frames = [];
  ws.addEventListener('message', (event) => frames.push(JSON.parse(String(event.data))));
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error(`WebSocket to #${room} failed`)), { once: true });
  });
  const socket = {
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    next: (match, timeout = 15000) => waitFor(() => frames.find(match) ?? null, { timeout, interval: 20, message: 'a frame from the server' }),
    close: () => ws.close(),
  };
  socket.welcome = await socket.next((f) => f.type === 'welcome');
  return socket;
}
