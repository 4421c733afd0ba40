// Shared helpers for the browser tests and the screenshot script.
//
// - startChatServer(): runs the real server binary (CHAT_BIN, default
//   <repo>/target/debug/anime-chat) on a free loopback port with its own
//   Kafka topic, waits for GET /health, and can stop/restart it on the same port.
// - startStaticServer(): serves frontend/ the way the real server does
//   (/ and /assets/<path>, same Content-Security-Policy) for tests that mock
//   the WebSocket inside the browser (page.routeWebSocket).
// - launchBrowser(): Debian's Chromium through playwright-core.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { chromium } from 'playwright-core';

export const TESTS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const FRONTEND_DIR = path.resolve(TESTS_DIR, '..');
export const REPO_ROOT = path.resolve(FRONTEND_DIR, '..');
export const ARTIFACTS_DIR = path.join(TESTS_DIR, 'artifacts');

export const CHAT_BIN = process.env.CHAT_BIN || path.join(REPO_ROOT, 'target', 'debug', 'anime-chat');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The Content-Security-Policy the real server sends; the static server sends it too. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self' ws: wss:; base-uri 'none'; frame-ancestors 'none'";

export const HEALTH_TIMEOUT_MS = Number(process.env.CHAT_HEALTH_TIMEOUT_MS || 60000);

// ---------------------------------------------------------------------------
// ports

/** A currently free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------
// the real server

export function chatBinaryAvailable() {
  return existsSync(CHAT_BIN);
}

async function statusOf(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = await res.text();
    return { status: res.status, body };
  } catch (err) {
    return { status: 0, body: String(err?.message ?? err) };
  }
}

/**
 * A running server binary. Output (stdout+stderr) is kept in `log` for error messages.
 */
export class ChatServer {
  constructor({ port, topic, env = {} }) {
    this.port = port;
    this.topic = topic;
    this.extraEnv = env;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.proc = null;
    this.log = '';
    this.exit = null;
  }

  /** The last `n` characters of the server's output. */
  tail(n = 6000) {
    return this.log.length > n ? `…${this.log.slice(-n)}` : this.log;
  }

  async start() {
    if (this.proc) throw new Error('server already running');
    if (!chatBinaryAvailable()) {
      throw new Error(`server binary not found at ${CHAT_BIN} (build it with cargo build, or set CHAT_BIN)`);
    }
    const env = {
      ...process.env,
      CHAT_ADDR: `127.0.0.1:${this.port}`,
      CHAT_TOPIC: this.topic,
      RUST_LOG: process.env.CHAT_TEST_RUST_LOG || 'info',
      ...this.extraEnv,
    };
    // KAFKA_BOOTSTRAP_SERVERS passes through from the environment when set;
    // without it the server runs its embedded in-memory Kafka.
    this.exit = null;
    this.log += `\n--- start ${new Date().toISOString()} (port ${this.port}, topic ${this.topic}, kafka ${env.KAFKA_BOOTSTRAP_SERVERS || 'embedded'})\n`;
    const proc = spawn(CHAT_BIN, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const append = (chunk) => {
      this.log += chunk.toString();
      if (this.log.length > 400000) this.log = this.log.slice(-200000);
    };
    proc.stdout.on('data', append);
    proc.stderr.on('data', append);
    const exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      proc.on('error', (err) => {
        this.log += `\nspawn error: ${err.message}\n`;
        this.exit = { code: null, signal: null, error: err };
        resolve(this.exit);
      });
    });
    this.exited = exited;

    // Up when GET /health answers 200; then, where the server has it, also
    // wait for GET /ready (Kafka consumer assigned) so that no message sent
    // right after start-up can be missed by the consumer.
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    let phase = 'health';
    let last = null;
    while (Date.now() < deadline) {
      if (this.exit) {
        this.proc = null;
        throw new Error(
          `server exited before it was healthy (${JSON.stringify(this.exit)}).\n--- server output ---\n${this.tail()}`,
        );
      }
      last = await statusOf(`${this.baseUrl}/${phase}`);
      if (phase === 'health' && last.status === 200) phase = 'ready';
      else if (phase === 'ready' && (last.status === 200 || last.status === 404)) return this;
      else await sleep(200);
    }
    await this.stop();
    throw new Error(
      `server not ${phase === 'health' ? 'healthy' : 'ready'} at ${this.baseUrl}/${phase} within ${HEALTH_TIMEOUT_MS} ms ` +
        `(last answer: ${last?.status} ${last?.body?.slice(0, 300)}).\n--- server output ---\n${this.tail()}`,
    );
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10000) {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    if (!this.exit) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!this.exit) proc.kill('SIGKILL');
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.log += `\n--- stopped ${JSON.stringify(this.exit)}\n`;
  }

  /** Stop and start again on the same port (and topic). */
  async restart() {
    await this.stop();
    await this.start();
    return this;
  }
}

/** Start the real server on a free port with a fresh topic. */
export async function startChatServer(options = {}) {
  const port = options.port ?? (await freePort());
  const topic = options.topic ?? `browser-test-${randomBytes(6).toString('hex')}`;
  const server = new ChatServer({ port, topic, env: options.env });
  await server.start();
  return server;
}

// ---------------------------------------------------------------------------
// static server for mocked tests

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/**
 * Serve frontend/ like the real server: `/` -> index.html, `/admin` ->
 * admin.html, `/assets/<path>` -> frontend/<path> (never tests/ or
 * node_modules/), with the same CSP. Tests mock the admin API with page.route.
 * The WebSocket endpoint is not served: tests mock it with page.routeWebSocket;
 * an upgrade that reaches this server gets 503 (counted in `upgrades`).
 */
export async function startStaticServer() {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    let file = null;
    if (url.pathname === '/') file = path.join(FRONTEND_DIR, 'index.html');
    else if (url.pathname === '/admin') file = path.join(FRONTEND_DIR, 'admin.html');
    else if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok","static":true}');
      return;
    } else if (url.pathname.startsWith('/assets/')) {
      const rel = decodeURIComponent(url.pathname.slice('/assets/'.length));
      const resolved = path.resolve(FRONTEND_DIR, rel);
      const inside = resolved.startsWith(FRONTEND_DIR + path.sep);
      const hidden = rel.split('/').some((part) => part === 'tests' || part === 'node_modules' || part.startsWith('.'));
      if (inside && !hidden) file = resolved;
    }
    try {
      if (!file || !(await stat(file)).isFile()) throw new Error('not found');
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain', 'content-security-policy': CSP });
      res.end('not found');
    }
  });
  // WebSocket upgrades that no test routes (page.routeWebSocket) are refused
  // the way the real server refuses them while it starts: 503 + Retry-After.
  const web = { upgrades: 0 };
  server.on('upgrade', (req, socket) => {
    web.upgrades += 1;
    socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return Object.assign(web, {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  });
}

// ---------------------------------------------------------------------------
// browser

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * A new page that records console errors, page errors and CSP violations in
 * `page.problems` (tests assert it stays empty).
 */
export async function newPage(browser, { width = 1280, height = 800, colorScheme = 'dark', reducedMotion } = {}) {
  const context = await browser.newContext({
    viewport: { width, height },
    colorScheme,
    reducedMotion,
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Chromium itself logs refused WebSocket connects while the server is
    // down; that is expected during reconnect tests, not a page error.
    // Chromium logs failed requests of the room list (GET /api/rooms): a
    // server without it (older binary: 404) or one that just went away
    // (restart tests). The page copes with both (it stops asking after a 404
    // and does not ask while its socket is down), so these are not page errors.
    const roomList404 =
      /^Failed to load resource: (the server responded with a status of 404|net::ERR_CONNECTION_REFUSED)/.test(msg.text()) &&
      /\/api\/rooms$/.test(msg.location()?.url ?? '');
    // The Control Center asks GET /api/admin/moderation once after signing
    // in; a server without moderation answers 404 and the page stops asking.
    const moderation404 =
      /^Failed to load resource: the server responded with a status of 404/.test(msg.text()) &&
      /\/api\/admin\/moderation$/.test(msg.location()?.url ?? '');
    if (msg.type() === 'error' && !/^WebSocket connection to '.*' failed/.test(msg.text()) && !roomList404 && !moderation404) {
      page.problems.push(`console.error: ${msg.text()}`);
    }
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return page;
}

/**
 * Every asset a page needs, fetched from the server: the /assets/ URLs in its
 * HTML (stylesheets, scripts, images) and, for scripts, every module they
 * import, transitively. Returns [{path, status, type}] (path under /assets/).
 */
export async function fetchAssetGraph(baseUrl, html) {
  const seen = new Map();
  const queue = [...html.matchAll(/(?:href|src)="\/assets\/([^"]+)"/g)].map((m) => m[1]);
  while (queue.length > 0) {
    const rel = queue.shift();
    if (seen.has(rel)) continue;
    const res = await fetch(`${baseUrl}/assets/${rel}`);
    const body = await res.text();
    seen.set(rel, { path: rel, status: res.status, type: res.headers.get('content-type') ?? '' });
    if (!rel.endsWith('.js') || res.status !== 200) continue;
    for (const m of body.matchAll(/(?:^|\s)(?:import|export)\s[^'";]*?from\s+'(\.{1,2}\/[^']+)'|^import\s+'(\.{1,2}\/[^']+)'/gm)) {
      const spec = m[1] ?? m[2];
      const url = new URL(spec, `http://x/assets/${rel}`);
      queue.push(url.pathname.slice('/assets/'.length));
    }
  }
  return [...seen.values()];
}

/** Poll `fn` until it returns a truthy value (or throw after `timeout`). */
export async function waitFor(fn, { timeout = 15000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

// ---------------------------------------------------------------------------
// page helpers (selectors follow the data-testid attributes of index.html / view.js)

export const sel = {
  status: '[data-testid="connection-status"]',
  myName: '[data-testid="my-name"]',
  welcome: '[data-testid="welcome-card"]',
  input: '[data-testid="message-input"]',
  send: '[data-testid="send-button"]',
  message: '[data-testid="message"]',
  online: '[data-testid="online-count"]',
  count: '[data-testid="message-count"]',
  pill: '[data-testid="new-messages-pill"]',
  counter: '[data-testid="char-counter"]',
  theme: '[data-testid="theme-toggle"]',
  toast: '[data-testid="toast"]',
};

/**
 * page.$$eval(selector, fn) in one evaluation. Playwright's $$eval queries the
 * nodes and runs fn in two round trips, and a node the page re-renders in
 * between (a bubble replaced on its ack, a list redrawn) is detached by then:
 * no parent, no layout, stale text. Like $$eval, fn sees no outer variables.
 */
export function evalAll(page, selector, fn) {
  return page.evaluate(`(${fn})([...document.querySelectorAll(${JSON.stringify(selector)})])`);
}

/** All messages as plain objects, in display order. */
export function readMessages(page) {
  return evalAll(page, sel.message, (nodes) =>
    nodes.map((n) => ({
      text: n.querySelector('[data-testid="message-text"]')?.textContent ?? '',
      author: n.querySelector('[data-testid="message-author"]')?.textContent ?? '',
      own: n.dataset.own === 'true',
      status: n.dataset.status,
      messageId: n.dataset.messageId ?? null,
      clientMsgId: n.dataset.clientMsgId ?? null,
      side: (() => {
        const r = n.getBoundingClientRect();
        const list = n.parentElement.getBoundingClientRect();
        const mid = list.left + list.width / 2;
        return r.left + r.width / 2 > mid ? 'right' : 'left';
      })(),
      statusText: n.querySelector('[data-testid="message-status"]')?.textContent ?? '',
    })),
  );
}

/** A message by its offset in the room's log. */
export const msgSel = (offset) => `[data-testid="message"][data-offset="${offset}"]`;

/** The reactions under a message: [[emoji, count, mine]], in their order. */
export const reactionsOf = (page, offset) =>
  evalAll(page, `${msgSel(offset)} [data-testid="reaction"]`, (nodes) => nodes.map((n) => [n.dataset.emoji, Number(n.dataset.count), n.getAttribute('aria-pressed') === 'true']));

/** Whether the node is wholly inside the message list's scrolled view. */
export const inView = (page, selector) =>
  page.$eval(selector, (n) => {
    const r = n.getBoundingClientRect();
    const s = document.getElementById('scroller').getBoundingClientRect();
    return r.top >= s.top - 1 && r.bottom <= s.bottom + 1;
  });

/** The data-testid (else the id) of the focused element. */
export const activeTestid = (page) => page.evaluate(() => document.activeElement?.dataset?.testid ?? document.activeElement?.id ?? null);

export async function connectionState(page) {
  return page.$eval(sel.status, (n) => ({
    state: n.dataset.state,
    label: n.querySelector('#connection-label').textContent.replace(/\s+/g, ' ').trim(),
  }));
}

/**
 * Before the page loads: record its connection states in window.__states, in
 * order and without repeats, so a test can see a close and a reconnect.
 */
export function recordConnectionStates(page) {
  return page.addInitScript(() => {
    window.__states = [];
    new MutationObserver(() => {
      const state = document.querySelector('[data-testid="connection-status"]')?.dataset.state;
      if (state && window.__states.at(-1) !== state) window.__states.push(state);
    }).observe(document, { attributes: true, attributeFilter: ['data-state'], subtree: true });
  });
}

export async function waitForState(page, state, timeout = 20000) {
  return waitFor(async () => (await connectionState(page)).state === state, {
    timeout,
    message: `connection state "${state}"`,
  });
}

/** Type a message and press Enter. */
export async function sendMessage(page, text) {
  await page.fill(sel.input, text);
  await page.press(sel.input, 'Enter');
}

export async function noHorizontalScroll(page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    bodyScrollWidth: document.body.scrollWidth,
  }));
}
