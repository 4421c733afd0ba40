#!/usr/bin/env node
// Screenshots of the conversation features against the scripted server:
//
//   feature-conversation-1280.png  replies with quotes, reactions (ours highlighted), @mentions,
//                                  a spoiler, a link, "edited", a deleted message, @name suggestions
//   feature-reply-360.png          answering a message on a phone: the quote above the box, the picker
//   feature-edit-1280.png          (light) editing in place, the delete confirmation
//   feature-unread-1280.png        new messages in rooms visited before, "@ 1 mention" while scrolled up
//
//   node frontend/tests/feature-screenshots.mjs [--out DIR]   # default: tests/artifacts/features
//
// The test (screenshots.test.mjs) writes them to tests/artifacts/features, and
// with UPDATE_DOCS_SCREENSHOTS=1 also to docs/screenshots/.

import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { ARTIFACTS_DIR, REPO_ROOT, launchBrowser, newPage, readMessages, sendMessage, startStaticServer, waitFor, waitForState } from './helpers.mjs';
import { MockChat } from './mock-server.mjs';

export const FEATURE_SHOTS = [
  { name: 'feature-conversation-1280', width: 1280, height: 800, theme: 'dark' },
  { name: 'feature-reply-360', width: 360, height: 780, theme: 'dark' },
  { name: 'feature-edit-1280', width: 1280, height: 800, theme: 'light' },
  { name: 'feature-unread-1280', width: 1280, height: 800, theme: 'dark' },
];

const ME = 'Azure Ronin';
const ROOM = 'frieren-fans';
const ONLINE = [ME, 'Sakura Blade', 'Neon Kitsune', 'Crimson Oni', 'Nebula Samurai', 'Velvet Tanuki'];
const ROOMS = [
  { room: 'shonen-jump', active_connections: 12 },
  { room: ROOM, active_connections: ONLINE.length },
  { room: 'anonymous-anime-universe', active_connections: 5 },
  { room: 'mecha-hangar', active_connections: 3 },
];

async function open(browser, baseUrl, shot, { room = ROOM } = {}) {
  const page = await newPage(browser, { width: shot.width, height: shot.height, colorScheme: shot.theme });
  await page.addInitScript((t) => localStorage.setItem('anime-chat-theme', t), shot.theme);
  const mock = await new MockChat({ username: ME, online: ONLINE.length, users: ONLINE.filter((n) => n !== ME), rooms: ROOMS }).install(page);
  const earlier = Date.now() - 6 * 60 * 1000;
  const at = (i) => ({ room: ROOM, timestamp: new Date(earlier + i * 40000).toISOString() });
  mock.other('Crimson Oni', 'Reminder: spoiler tags for the manga chapters, please 🙏 like ||this||', at(0));
  const frieren = mock.other('Neon Kitsune', 'The new key visual is out: https://frieren-anime.jp/news/', at(1));
  mock.react(frieren.offset, '🔥', 'Crimson Oni', { room: ROOM });
  mock.react(frieren.offset, '😍', 'Sakura Blade', { room: ROOM });
  await page.goto(`${baseUrl}/?room=${room}`);
  await waitForState(page, 'connected');
  if (room === ROOM) await page.waitForSelector('[data-testid="history-divider"]');
  return { page, mock, frieren };
}

async function delivered(page, count) {
  await waitFor(async () => {
    const msgs = await readMessages(page);
    return msgs.length >= count && msgs.every((m) => !m.own || m.status === 'delivered');
  }, { message: `${count} messages` });
}

/** Press a message's action button (behind "more" on a narrow screen). */
async function act(page, offset, action) {
  const more = page.locator(`[data-offset="${offset}"] [data-testid="more-button"]`);
  if (await more.isVisible()) await more.click();
  else await page.hover(`[data-offset="${offset}"] .msg__bubble`);
  await page.click(`[data-offset="${offset}"] [data-testid="${action}-button"]`);
}

const offsetOf = (page, text) =>
  page.evaluate((t) => [...document.querySelectorAll('[data-testid="message"]')].find((n) => n.textContent.includes(t))?.dataset.offset, text).then(Number);

/** A short conversation with every feature in it; returns the offsets by name. */
async function conversation(page, mock) {
  const question = mock.other('Sakura Blade', 'Konbanwa! @Azure Ronin did you finish episode 10 yet? 🌙');
  mock.push(question);
  await page.waitForSelector(`[data-offset="${question.offset}"]`);
  await act(page, question.offset, 'reply');
  await sendMessage(page, 'Yes!! ||Himmel’s statue scene|| got me completely 😭');
  await delivered(page, 4);
  for (const [emoji, who] of [['😭', 'Neon Kitsune'], ['🔥', 'Crimson Oni'], ['🔥', 'Nebula Samurai']]) {
    const { event } = mock.react(question.offset, emoji, who);
    mock.push(event);
  }
  await page.click(`[data-offset="${question.offset}"] [data-testid="reaction"][data-emoji="🔥"]`);
  await sendMessage(page, 'Also the opening is on repeat here, teh best');
  await delivered(page, 5);
  const typo = await offsetOf(page, 'teh best');
  mock.push(mock.edit(typo, 'Also the opening is on repeat here, the best ✨').event);
  const oops = mock.other('Nebula Samurai', 'wrong room, sorry');
  mock.push(oops);
  await page.waitForSelector(`[data-offset="${oops.offset}"]`);
  mock.push(mock.deleteByAuthor(oops.offset).event);
  const reply = mock.other('Neon Kitsune', 'Same!! @Sakura Blade the flower field though 🌸', { reply_to: mock.quote(question.offset) });
  mock.push(reply);
  await page.waitForSelector(`[data-offset="${reply.offset}"]`);
  await waitFor(async () => (await page.$$('[data-testid="reaction"]')).length >= 4, { message: 'reactions' });
  return { question: question.offset, typo, reply: reply.offset };
}

async function settle(page, { bottom = true } = {}) {
  await page.evaluate(() => document.fonts?.ready);
  if (bottom) await page.$eval('#scroller', (s) => s.scrollTo({ top: s.scrollHeight }));
  await sleep(300);
}

async function shoot(page, file) {
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  if (page.problems.length) throw new Error(`page problems: ${page.problems.join('; ')}`);
  await page.context().close();
  return file;
}

const SCENES = {
  async 'feature-conversation-1280'(browser, baseUrl, shot, file) {
    const { page, mock } = await open(browser, baseUrl, shot);
    await conversation(page, mock);
    mock.push(mock.typing('Crimson Oni'));
    await page.focus('[data-testid="message-input"]');
    await page.keyboard.type('thanks @ne', { delay: 20 });
    await page.waitForSelector('[data-testid="mention-option"]');
    await settle(page);
    return shoot(page, file);
  },

  async 'feature-reply-360'(browser, baseUrl, shot, file) {
    const { page, mock } = await open(browser, baseUrl, shot);
    const offsets = await conversation(page, mock);
    await act(page, offsets.question, 'reply');
    await page.keyboard.type('rewatching it tonight 🍿', { delay: 10 });
    await act(page, offsets.reply, 'react');
    await page.waitForSelector('[data-testid="reaction-picker"]');
    await settle(page);
    return shoot(page, file);
  },

  async 'feature-edit-1280'(browser, baseUrl, shot, file) {
    const { page, mock } = await open(browser, baseUrl, shot);
    const offsets = await conversation(page, mock);
    await sendMessage(page, 'Who else thinks Fern deserves her own spin-off?');
    await delivered(page, 7);
    const last = await offsetOf(page, 'spin-off');
    await act(page, offsets.typo, 'delete');
    await page.focus('[data-testid="message-input"]');
    await page.keyboard.press('ArrowUp');
    await page.waitForSelector(`[data-offset="${last}"] [data-testid="edit-input"]`);
    await page.keyboard.type(' And Stark!');
    await settle(page);
    return shoot(page, file);
  },

  async 'feature-unread-1280'(browser, baseUrl, shot, file) {
    const { page, mock } = await open(browser, baseUrl, shot, { room: 'shonen-jump' });
    await page.waitForSelector('[data-testid="room-link"][data-room="frieren-fans"]');
    await page.click('[data-testid="room-link"][data-room="frieren-fans"]');
    await waitFor(() => mock.routes.filter((r) => r.open).length === 1 && mock.current.room === ROOM, { message: 'in frieren-fans' });
    await waitForState(page, 'connected');
    for (let i = 0; i < 5; i += 1) mock.other(i === 3 ? 'Crimson Oni' : 'Sakura Blade', i === 3 ? `@${ME} your prediction was right!` : `chapter ${i} thoughts`, { room: 'shonen-jump' });
    await page.evaluate(() => window.animeChat.directory.refresh());
    await page.waitForSelector('[data-testid="room-unread"]');
    await conversation(page, mock);
    for (let i = 0; i < 12; i += 1) mock.push(mock.other(i % 2 ? 'Velvet Tanuki' : 'Crimson Oni', `episode ${i + 1} was peak`));
    await waitFor(async () => (await readMessages(page)).length >= 18, { message: 'more messages' });
    await page.$eval('#scroller', (s) => s.scrollTo({ top: 0 }));
    await sleep(200);
    mock.push(mock.other('Velvet Tanuki', `@${ME} are you watching the finale live?`));
    await page.waitForSelector('[data-testid="mention-badge"]:not([hidden])');
    await settle(page, { bottom: false });
    return shoot(page, file);
  },
};

/**
 * Take the feature screenshots into `outDir`; with `docsDir`, copy them there too.
 * @returns {Promise<string[]>} the files in outDir
 */
export async function takeFeatureScreenshots({ outDir = path.join(ARTIFACTS_DIR, 'features'), docsDir = null } = {}) {
  await mkdir(outDir, { recursive: true });
  const web = await startStaticServer();
  const browser = await launchBrowser();
  const files = [];
  try {
    for (const shot of FEATURE_SHOTS) {
      const file = path.join(outDir, `${shot.name}.png`);
      files.push(await SCENES[shot.name](browser, web.baseUrl, shot, file));
      if (docsDir) {
        await mkdir(docsDir, { recursive: true });
        await copyFile(file, path.join(docsDir, `${shot.name}.png`));
      }
    }
  } finally {
    await browser.close();
    await web.close();
  }
  return files;
}

export const DOCS_SCREENSHOTS_DIR = path.join(REPO_ROOT, 'docs', 'screenshots');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const outDir = outIndex >= 0 ? path.resolve(args[outIndex + 1]) : undefined;
  takeFeatureScreenshots({ outDir })
    .then((files) => {
      for (const f of files) console.log(`wrote ${path.relative(process.cwd(), f)}`);
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
