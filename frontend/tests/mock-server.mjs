// A scripted stand-in for the chat server's WebSocket, living inside the
// browser through playwright's page.routeWebSocket. It speaks protocol v1
// (welcome, connection_update, chat_message, ack, error, heartbeat) and lets
// a test decide exactly when and in which order frames arrive.

import { randomUUID } from 'node:crypto';

import { waitFor } from './helpers.mjs';

export class MockChat {
  /**
   * @param {object} [options]
   * @param {string} [options.username] name given in `welcome`
   * @param {number} [options.online] active_connections
   * @param {'ack-first'|'message-first'|'manual'} [options.mode] what happens when the page sends a message
   */
  constructor({ username = 'Azure Ronin', online = 2, mode = 'ack-first' } = {}) {
    this.username = username;
    this.online = online;
    this.mode = mode;
    this.routes = [];
    this.received = [];
    this.offset = 0;
    /** while true, new connections are closed right away (server down) */
    this.refuse = false;
    this.connects = 0;
  }

  /** Route the page's /ws/chat connections to this mock. */
  async install(page) {
    await page.routeWebSocket(/\/ws\/chat/, (route) => this._accept(route));
    return this;
  }

  get current() {
    return this.routes[this.routes.length - 1] ?? null;
  }

  _accept(route) {
    this.connects += 1;
    if (this.refuse) {
      route.close({ code: 1011, reason: 'server down' });
      return;
    }
    const url = new URL(route.url());
    const room = url.searchParams.get('room') ?? 'anonymous-anime-universe';
    route.room = room;
    route.open = true;
    this.routes.push(route);
    route.onClose(() => {
      route.open = false;
    });
    route.onMessage((raw) => {
      let frame;
      try {
        frame = JSON.parse(String(raw));
      } catch {
        frame = { invalid: String(raw) };
      }
      this.received.push(frame);
      if (frame.type === 'chat_message') this._onChat(route, frame);
    });
    this.sendTo(route, { type: 'welcome', username: this.username, room, session_id: randomUUID() });
    this.sendTo(route, {
      type: 'connection_update',
      active_connections: this.online,
      room,
      timestamp: new Date().toISOString(),
    });
  }

  _onChat(route, frame) {
    if (this.mode === 'manual') return;
    const { ack, message } = this.accept(frame, route.room);
    if (this.mode === 'message-first') {
      this.sendTo(route, message);
      this.sendTo(route, ack);
    } else {
      this.sendTo(route, ack);
      this.sendTo(route, message);
    }
  }

  /** The ack and chat_message the server would produce for a client frame. */
  accept(frame, room = 'anonymous-anime-universe', username = this.username) {
    const offset = this.offset++;
    const messageId = randomUUID();
    return {
      ack: { type: 'ack', client_msg_id: frame.client_msg_id, message_id: messageId, offset },
      message: {
        type: 'chat_message',
        message_id: messageId,
        username,
        text: frame.text,
        room,
        timestamp: new Date().toISOString(),
        active_connections: this.online,
        offset,
      },
    };
  }

  /** A chat_message from someone else. */
  other(username, text, extra = {}) {
    const offset = this.offset++;
    return {
      type: 'chat_message',
      message_id: randomUUID(),
      username,
      text,
      room: this.current?.room ?? 'anonymous-anime-universe',
      timestamp: new Date().toISOString(),
      active_connections: this.online,
      offset,
      ...extra,
    };
  }

  sendTo(route, frame) {
    if (route?.open) route.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Send a frame (object or raw string) on the current connection. */
  push(frame) {
    this.sendTo(this.current, frame);
  }

  /** Drop the current connection (as a crashed server would). */
  drop(code = 1012) {
    const route = this.current;
    if (route?.open) {
      route.open = false;
      route.close({ code, reason: 'restart' });
    }
  }

  chatFrames() {
    return this.received.filter((f) => f.type === 'chat_message');
  }

  async waitForChatFrames(n, timeout = 10000) {
    await waitFor(() => this.chatFrames().length >= n, { timeout, message: `${n} chat_message frame(s) from the page` });
    return this.chatFrames();
  }
}
