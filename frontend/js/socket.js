// The chat connection: one WebSocket at a time, automatic reconnects with
// exponential backoff and jitter (without limit), a liveness watchdog fed by
// the server's heartbeats, and an outbox that keeps messages typed while
// offline and sends them, in order, once the server has welcomed us again.
//
// It knows only a little about the protocol: frames are JSON objects with a
// "type", and the connection is "ready" once a `welcome` frame arrived.
// Everything else is handed to listeners as a `frame` event, so new frame
// types (presence, typing, history_end, ...) need no change here.
//
// The URL may be a function, called for every connection attempt (the page
// adds `since=<last offset>&epoch=<its log>` on reconnects). A connection
// that fails before it opens (the server refuses the upgrade, e.g. with 503
// while it starts) is a lost connection like any other: backoff, retry. With `flushAfter`, queued
// messages wait after the welcome until a frame matching it (history_end)
// arrived, or `flushGraceMs` passed: the replay of missed messages comes
// first, so the app can see which of its in-flight messages already made it
// before anything is sent again.
//
// Events (all CustomEvent, read `event.detail`):
//   state  {state, retryAt, attempt}  state: connecting | connected | reconnecting | offline | stopped
//   frame  the parsed server frame (object with a string `type`)
//   outbox {id, status}               status: waiting | sending

import { backoffDelay } from './backoff.js';

export const CONNECT_TIMEOUT_MS = 10000;
/** Three missed heartbeats (the server sends one every 15 s). */
export const LIVENESS_TIMEOUT_MS = 45000;
/** How long queued messages wait for `flushAfter` (history_end) after a welcome. */
export const FLUSH_GRACE_MS = 3000;

export class ChatSocket extends EventTarget {
  /**
   * @param {object} options
   * @param {string | (() => string)} options.url ws:// or wss:// URL, or a function giving it for each attempt
   * @param {typeof WebSocket} [options.WebSocketImpl]
   * @param {object} [options.backoff] options for backoffDelay (base, max, jitter, random)
   * @param {number} [options.connectTimeoutMs]
   * @param {number} [options.livenessTimeoutMs]
   * @param {(frame: any) => boolean} [options.isReadyFrame]
   * @param {() => boolean} [options.isOnline]
   * @param {EventTarget | null} [options.window] where `online`/`offline` events come from
   * @param {(frame: any) => boolean} [options.flushAfter] hold the outbox after the welcome until such a frame
   * @param {number} [options.flushGraceMs] ... or at most this long
   */
  constructor(options) {
    super();
    this.url = options.url;
    this.WebSocketImpl = options.WebSocketImpl ?? globalThis.WebSocket;
    this.backoffOptions = options.backoff ?? {};
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.livenessTimeoutMs = options.livenessTimeoutMs ?? LIVENESS_TIMEOUT_MS;
    this.isReadyFrame = options.isReadyFrame ?? ((frame) => frame.type === 'welcome');
    this.isOnline = options.isOnline ?? (() => globalThis.navigator?.onLine !== false);
    this.win = options.window === undefined ? globalThis.window ?? null : options.window;
    this.flushAfter = options.flushAfter ?? null;
    this.flushGraceMs = options.flushGraceMs ?? FLUSH_GRACE_MS;

    this.ws = null;
    this.ready = false;
    /** ready, but the outbox waits for `flushAfter` */
    this.gated = false;
    this._gateTimer = null;
    /** URL of the current (or last) connection attempt */
    this.currentUrl = null;
    this.attempt = 0;
    this.retryAt = null;
    this._state = 'stopped';
    this._retryTimer = null;
    this._watchdog = null;
    /** @type {Map<string, {frame: object, status: 'waiting' | 'sending'}>} insertion order = send order */
    this.outbox = new Map();

    this._onOnline = () => {
      if (this._state === 'offline' || this._state === 'reconnecting') {
        this.attempt = 0;
        this._connect();
      }
    };
    this._onOffline = () => {
      if (this._state === 'reconnecting') {
        this._clearRetry();
        this._setState('offline');
      } else if (this._state === 'connected' || this._state === 'connecting') {
        // The browser says there is no network: the connection is as good as
        // dead (it may take minutes to notice). Drop it now and come back
        // (resuming where we left off) on `online`.
        const ws = this.ws;
        this._detach();
        this._clearWatchdog();
        try {
          ws?.close(4001, 'offline');
        } catch {
          /* ignore */
        }
        this._requeueInFlight();
        this._setState('offline');
      }
    };
  }

  get state() {
    return this._state;
  }

  /** Open the connection (and keep it open until stop()). */
  start() {
    if (this._state !== 'stopped') return;
    this.win?.addEventListener?.('online', this._onOnline);
    this.win?.addEventListener?.('offline', this._onOffline);
    this._connect();
  }

  /** Close for good: no more reconnects. Queued messages stay queued. */
  stop() {
    this._clearRetry();
    this._clearWatchdog();
    this.win?.removeEventListener?.('online', this._onOnline);
    this.win?.removeEventListener?.('offline', this._onOffline);
    const ws = this.ws;
    this._detach();
    if (ws) {
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closing */
      }
    }
    this._requeueInFlight();
    this._setState('stopped');
  }

  /** Skip the rest of the backoff wait and try now. */
  reconnectNow() {
    if (this._state === 'reconnecting' || this._state === 'offline') {
      this._connect();
    }
  }

  /**
   * Send a frame that must not be lost (a chat message). It goes out now when
   * the connection is ready, otherwise when it is ready again; if the
   * connection drops before settle(id) is called, it goes out again (same
   * frame, so the same client_msg_id) after the next welcome.
   */
  submit(id, frame) {
    this.outbox.set(id, { frame, status: 'waiting' });
    if (this.ready && !this.gated) this._sendQueued(id);
    else this._emit('outbox', { id, status: 'waiting' });
  }

  /**
   * Send a submitted frame again (the server could not tell whether it was
   * stored): now when the connection is ready, otherwise it waits in the
   * queue like any other. Returns false when `id` was settled meanwhile.
   */
  resend(id) {
    const item = this.outbox.get(id);
    if (!item) return false;
    item.status = 'waiting';
    if (this.ready && !this.gated) this._sendQueued(id);
    else this._emit('outbox', { id, status: 'waiting' });
    return true;
  }

  /** The server answered for `id` (ack or error): forget it. */
  settle(id) {
    this.outbox.delete(id);
  }

  /** Best-effort frame (the typing indicator): dropped when not connected. */
  sendVolatile(frame) {
    if (!this.ready || !this.ws) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  // ---- internals -------------------------------------------------------

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state) {
    this._state = state;
    this._emit('state', { state, retryAt: this.retryAt, attempt: this.attempt });
  }

  _clearRetry() {
    if (this._retryTimer !== null) clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this.retryAt = null;
  }

  _clearWatchdog() {
    if (this._watchdog !== null) clearTimeout(this._watchdog);
    this._watchdog = null;
  }

  _armWatchdog(ms) {
    this._clearWatchdog();
    this._watchdog = setTimeout(() => {
      this._watchdog = null;
      // No frame for too long: the connection is dead even if the browser has
      // not noticed (sleeping laptop, dropped Wi-Fi). Drop it and reconnect.
      const ws = this.ws;
      this._detach();
      try {
        ws?.close(4000, 'liveness timeout');
      } catch {
        /* ignore */
      }
      this._lost();
    }, ms);
  }

  _clearGate() {
    if (this._gateTimer !== null) clearTimeout(this._gateTimer);
    this._gateTimer = null;
    this.gated = false;
  }

  _openGate() {
    if (!this.gated) return;
    this._clearGate();
    this._flush();
  }

  _detach() {
    this._clearGate();
    const ws = this.ws;
    if (ws) {
      ws.onopen = null;
      ws.onmessage = null;
      ws.onclose = null;
      ws.onerror = null;
    }
    this.ws = null;
    this.ready = false;
  }

  _connect() {
    this._clearRetry();
    this._detach();
    this._setState('connecting');
    let ws;
    try {
      this.currentUrl = typeof this.url === 'function' ? this.url() : this.url;
      ws = new this.WebSocketImpl(this.currentUrl);
    } catch {
      this._lost();
      return;
    }
    this.ws = ws;
    this._armWatchdog(this.connectTimeoutMs);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      // Wait for the welcome frame before declaring the connection usable.
      this._armWatchdog(this.connectTimeoutMs);
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this._armWatchdog(this.livenessTimeoutMs);
      let frame;
      try {
        frame = JSON.parse(typeof event.data === 'string' ? event.data : '');
      } catch {
        return; // not JSON: ignore
      }
      if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;
      const becomesReady = !this.ready && this.isReadyFrame(frame);
      if (becomesReady) {
        this.ready = true;
        this.attempt = 0;
        if (this.flushAfter) {
          this.gated = true;
          this._gateTimer = setTimeout(() => {
            this._gateTimer = null;
            if (this.ws === ws) this._openGate();
          }, this.flushGraceMs);
        }
      }
      // Listeners see the welcome (and the replay) before the queue is
      // flushed, so they can update names/status and settle messages first.
      this._emit('frame', frame);
      if (this.ws !== ws) return;
      if (becomesReady) {
        this._setState('connected');
        if (!this.gated) this._flush();
      } else if (this.gated && this.flushAfter(frame)) {
        this._openGate();
      }
    };
    ws.onerror = () => {
      /* a close event follows */
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this._detach();
      this._lost();
    };
  }

  _lost() {
    this._clearWatchdog();
    this._requeueInFlight();
    if (this._state === 'stopped') return;
    if (!this.isOnline()) {
      this._clearRetry();
      this._setState('offline');
      return;
    }
    const delay = backoffDelay(this.attempt, this.backoffOptions);
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._connect();
    }, delay);
    this._setState('reconnecting');
  }

  _requeueInFlight() {
    for (const [id, item] of this.outbox) {
      if (item.status === 'sending') {
        item.status = 'waiting';
        this._emit('outbox', { id, status: 'waiting' });
      }
    }
  }

  _flush() {
    for (const id of [...this.outbox.keys()]) {
      if (!this.ready || this.gated) break;
      const item = this.outbox.get(id);
      if (item && item.status === 'waiting') this._sendQueued(id);
    }
  }

  _sendQueued(id) {
    const item = this.outbox.get(id);
    if (!item || !this.ws) return;
    try {
      this.ws.send(JSON.stringify(item.frame));
    } catch {
      return; // stays waiting; the close handler reconnects
    }
    item.status = 'sending';
    this._emit('outbox', { id, status: 'sending' });
  }
}
