#!/usr/bin/env node
// Screenshots of the chat page: 360x780 and 1280x800, light and dark, with a
// short conversation: a bit of history, the "live" divider, new messages,
// someone typing, the room list and who is online (side panel on desktop;
// on the light phone shot the rooms & people drawer is open).
//
//   node frontend/tests/screenshots.mjs                # scripted server (in-browser mock), deterministic names
//   node frontend/tests/screenshots.mjs --live         # the real server binary (CHAT_BIN), two browser contexts
//   node frontend/tests/screenshots.mjs --out DIR      # default: docs/screenshots
//
// Files: chat-{dark,light}-{1280,360}.png

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  REPO_ROOT,
  launchBrowser,
  newPage,
  readMessages,
  sel,
  sendMessage,
  startChatServer,
  startStaticServer,
  waitFor,
  waitForState,
} from './helpers.mjs';
import { MockChat } from './mock-server.mjs';

export const SIZES = [
  { name: '1280', width: 1280, height: 800 },
  { name: '360', width: 360, height: 780 },
];
export const THEMES = ['dark', 'light'];

const ME = 'Azure Ronin';
const THEM = 'Sakura Blade';
const ROOM = 'frieren-fans';
/** Said before we joined: the server replays it as history. */
const HISTORY = [
  ['Crimson Oni', 'Reminder: spoiler tags for the manga chapters, please 🙏'],
  ['Neon Kitsune', 'Himmel would have wanted us to be nice about it 🌼'],
];
const CONVERSATION = [
  [THEM, 'Konbanwa, universe! 🌙 Anyone else rewatching Frieren this week?'],
  [ME, 'Yes!! Episode 10 hits completely different the second time ✨'],
  [THEM, 'The flower field at the end… I am not crying, you are 🌸'],
  [THEM, 'Also: best opening of the season? Go.'],
  [ME, 'Idol by YOASOBI, no contest 🎤🔥'],
];
const ONLINE = [ME, THEM, 'Neon Kitsune', 'Crimson Oni', 'Velvet Tanuki', 'Lunar Mage', 'Jade Shinobi'];
const ROOMS = [
  { room: 'shonen-jump', active_connections: 12 },
  { room: ROOM, active_connections: ONLINE.length },
  { room: 'anonymous-anime-universe', active_connections: 5 },
  { room: 'mecha-hangar', active_connections: 3 },
  { room: 'studio-ghibli', active_connections: 2 },
];

async function openThemed(browser, baseUrl, { width, height }, theme) {
  const page = await newPage(browser, { width, height, colorScheme: theme });
  await page.addInitScript((t) => {
    try {
      localStorage.setItem('anime-chat-theme', t);
    } catch {
      /* ignore */
    }
  }, theme);
  return page;
}

async function waitDelivered(page, count) {
  await waitFor(
    async () => {
      const msgs = await readMessages(page);
      return msgs.length >= count && msgs.every((m) => !m.own || m.status === 'delivered');
    },
    { timeout: 15000, message: `${count} messages, own ones delivered` },
  );
}

async function settle(page) {
  await page.evaluate(() => document.fonts?.ready);
  await page.$eval('#scroller', (s) => s.scrollTo({ top: s.scrollHeight }));
  await sleep(250);
}

/** Scripted conversation against the in-browser mock server. */
async function shootMock(browser, outDir) {
  const files = [];
  const web = await startStaticServer();
  try {
    for (const size of SIZES) {
      for (const theme of THEMES) {
        const page = await openThemed(browser, web.baseUrl, size, theme);
        const mock = await new MockChat({
          username: ME,
          online: ONLINE.length,
          users: ONLINE.filter((n) => n !== ME),
          rooms: ROOMS,
        }).install(page);
        const earlier = Date.now() - 42 * 60 * 1000;
        HISTORY.forEach(([who, text], i) => {
          mock.record(mock.other(who, text, { room: ROOM, timestamp: new Date(earlier + i * 60000).toISOString() }));
        });
        await page.goto(`${web.baseUrl}/?room=${ROOM}`);
        await waitForState(page, 'connected');
        await page.waitForSelector('[data-testid="history-divider"]');
        for (const [who, text] of CONVERSATION) {
          if (who === ME) await sendMessage(page, text);
          else mock.push(mock.other(who, text));
          await sleep(60);
        }
        await waitDelivered(page, HISTORY.length + CONVERSATION.length);
        mock.push(mock.typing('Neon Kitsune'));
        await page.waitForSelector('[data-testid="typing-indicator"]:not([hidden])');
        await page.waitForSelector('[data-testid="room-link"][aria-current="page"]', { state: 'attached' });
        const drawer = size.width < 1000 && theme === 'light';
        if (drawer) {
          await page.click('[data-testid="panel-toggle"]');
          await page.waitForSelector('[data-testid="side-panel"].side--open');
          await sleep(400); // the slide-in
          await page.evaluate(() => document.activeElement?.blur());
        } else {
          await page.click(sel.input); // show the focused composer
        }
        await settle(page);
        const file = path.join(outDir, `chat-${theme}-${size.name}.png`);
        await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
        files.push(file);
        if (page.problems.length) throw new Error(`page problems: ${page.problems.join('; ')}`);
        await page.context().close();
      }
    }
  } finally {
    await web.close();
  }
  return files;
}

/** The real server, two browser contexts talking to each other. */
async function shootLive(browser, outDir) {
  const files = [];
  const server = await startChatServer();
  try {
    for (const size of SIZES) {
      for (const theme of THEMES) {
        const room = `screens-${theme}-${size.name}-${Date.now()}`;
        const me = await openThemed(browser, server.baseUrl, size, theme);
        const them = await newPage(browser, { width: 800, height: 700 });
        await me.goto(`${server.baseUrl}/?room=${room}`);
        await them.goto(`${server.baseUrl}/?room=${room}`);
        await waitForState(me, 'connected');
        await waitForState(them, 'connected');
        let expected = 0;
        for (const [who, text] of CONVERSATION) {
          await sendMessage(who === ME ? me : them, text);
          expected += 1;
          await waitFor(async () => (await readMessages(me)).length >= expected, { message: 'message to arrive' });
        }
        await waitDelivered(me, CONVERSATION.length);
        await sleep(2300); // typing notices go out at most every ~2 s
        await them.type(sel.input, 'same', { delay: 30 });
        await me.waitForSelector('[data-testid="typing-indicator"]:not([hidden])', { timeout: 5000 }).catch(() => {});
        await me.click(sel.input);
        await settle(me);
        const file = path.join(outDir, `chat-${theme}-${size.name}.png`);
        await me.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
        files.push(file);
        await them.context().close();
        await me.context().close();
      }
    }
  } finally {
    await server.stop();
  }
  return files;
}

/**
 * Take all four screenshots.
 * @param {{outDir?: string, live?: boolean}} [options]
 * @returns {Promise<string[]>} written files
 */
export async function takeScreenshots({ outDir = path.join(REPO_ROOT, 'docs', 'screenshots'), live = false } = {}) {
  await mkdir(outDir, { recursive: true });
  const browser = await launchBrowser();
  try {
    return live ? await shootLive(browser, outDir) : await shootMock(browser, outDir);
  } finally {
    await browser.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const outDir = outIndex >= 0 ? path.resolve(args[outIndex + 1]) : undefined;
  const live = args.includes('--live');
  takeScreenshots({ outDir, live })
    .then((files) => {
      for (const f of files) console.log(`wrote ${path.relative(process.cwd(), f)}`);
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
