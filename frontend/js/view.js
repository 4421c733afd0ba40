// Everything the user sees: header stats, connection state, the message
// list (with history dividers and notices), the welcome card, the "new
// messages" pill, who is typing, who is online, the room list and toasts.
// Message data only ever reaches the DOM through textContent (see dom.js).

import { el, icon } from './dom.js';
import { typingText } from './people.js';
import { initials, roomPath, userHue, userMood } from './util.js';

/** A reader within this many pixels of the bottom counts as "at the bottom". */
const STICKY_PX = 96;
/** Consecutive messages of one person within this time are grouped. */
const GROUP_MS = 5 * 60 * 1000;

const STATUS_TEXT = {
  waiting: 'Waiting for connection…',
  sending: 'Sending…',
  delivered: 'Delivered',
};

const STATUS_ICON = {
  waiting: 'clock',
  sending: null, // CSS spinner
  delivered: 'checks',
  failed: 'alert',
};

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function parseTime(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Paint an avatar element for a username (initials + per-user hue + mood badge). */
/** Give an element the colour of a user (without the avatar content). */
function paintAvatarHue(node, username) {
  node.style.setProperty('--hue', String(userHue(username)));
}

export function paintAvatar(node, username) {
  node.style.setProperty('--hue', String(userHue(username)));
  node.dataset.initials = initials(username);
  node.replaceChildren(
    el('span', { class: 'avatar__initials', text: initials(username) }),
    el('span', { class: 'avatar__mood', text: userMood(username) }),
  );
}

export class ChatView {
  /**
   * @param {Document} doc
   * @param {{onRetry?: (clientMsgId: string) => void, onReconnectNow?: () => void, onPickRoom?: (room: string) => void}} handlers
   */
  constructor(doc, handlers = {}) {
    this.doc = doc;
    this.handlers = handlers;
    const $ = (id) => doc.getElementById(id);
    this.els = {
      roomName: $('room-name'),
      conn: $('connection-status'),
      connLabel: $('connection-label'),
      reconnectNow: $('reconnect-now'),
      online: $('online-count'),
      onlineLabel: $('online-label'),
      count: $('message-count'),
      countLabel: $('message-label'),
      myName: $('my-name'),
      sideName: $('side-name'),
      sideAvatar: $('side-avatar'),
      sideMood: $('side-mood'),
      welcome: $('welcome-card'),
      welcomeName: $('welcome-name'),
      welcomeAvatar: $('welcome-avatar'),
      scroller: $('scroller'),
      list: $('message-list'),
      intro: $('chat-intro'),
      introText: $('chat-intro-text'),
      pill: $('new-messages'),
      pillCount: $('new-messages-count'),
      toasts: $('toasts'),
      announcer: $('announcer'),
      roomError: $('room-error'),
      roomErrorName: $('room-error-name'),
      typing: $('typing'),
      typingText: $('typing-text'),
      roomList: $('room-list'),
      roomsStatus: $('rooms-status'),
      people: $('presence-list'),
      peopleCount: $('people-count'),
      peopleEmpty: $('presence-empty'),
      panelCount: $('panel-toggle-count'),
      joinInput: $('join-input'),
      joinError: $('join-error'),
    };
    /** @type {Map<string, HTMLElement>} */
    this.nodes = new Map();
    this.unread = 0;
    this.baseTitle = doc.title;
    this.hiddenUnread = 0;
    this.countdownTimer = null;
    this.joinedAt = null;
    this.wasConnected = false;
    this.connection = { state: 'connecting', retryAt: null };
    /** the list starts with history (then the "You joined" line is in its divider) */
    this.hasHistory = false;
    this.room = '';

    this.els.scroller.addEventListener('scroll', () => {
      if (this.isNearBottom()) this.clearUnread();
    }, { passive: true });
    this.els.pill.addEventListener('click', () => {
      this.scrollToBottom(true);
      this.clearUnread();
    });
    this.els.reconnectNow.addEventListener('click', () => this.handlers.onReconnectNow?.());
    // Room links: a plain click switches in place (modified clicks open a tab).
    this.els.roomList?.addEventListener('click', (event) => {
      const link = event.target instanceof Element ? event.target.closest('a[data-room]') : null;
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.handlers.onPickRoom?.(link.dataset.room);
    });
    // Retry buttons live inside messages: one delegated listener.
    this.els.list.addEventListener('click', (event) => {
      const button = event.target instanceof Element ? event.target.closest('[data-action="retry"]') : null;
      if (button) this.handlers.onRetry?.(button.dataset.clientMsgId);
    });
    doc.addEventListener('visibilitychange', () => {
      if (!doc.hidden) {
        this.hiddenUnread = 0;
        doc.title = this.baseTitle;
      }
    });
    this.updateWelcome();
  }

  // ---- header & side panel --------------------------------------------

  setRoom(room) {
    this.room = room;
    this.els.roomName.textContent = room;
    this.baseTitle = `#${room} · Anonymous Anime Universe`;
    this.hiddenUnread = 0;
    this.doc.title = this.baseTitle;
    this.els.list.setAttribute('aria-label', `Messages in #${room}`);
  }

  /**
   * A new room (or the same one opened afresh): empty list, no names, no
   * counts; the connection shows "Connecting…" again.
   */
  resetRoom(room) {
    this.setRoom(room);
    this.els.list.replaceChildren();
    this.nodes.clear();
    this.clearUnread();
    this.hasHistory = false;
    this.joinedAt = null;
    this.wasConnected = false;
    this.els.online.textContent = '–';
    this.els.panelCount.hidden = true;
    this.setMessageCount(0);
    this.setPresence([]);
    this.setTyping([]);
    this.hideInvalidRoom();
    this.setConnection({ state: 'connecting', retryAt: null });
    this.updateWelcome();
  }

  /** The URL names a room the server would refuse: say so instead of connecting. */
  showInvalidRoom(room) {
    this.els.roomErrorName.textContent = room;
    this.els.roomError.hidden = false;
    this.els.welcome.hidden = true;
    this.els.welcome.dataset.off = 'true';
    this.setRoom(room);
    this.setConnection({ state: 'stopped', retryAt: null });
    this.els.connLabel.textContent = 'Not connected';
    for (const id of ['message-input', 'send-button']) this.doc.getElementById(id).disabled = true;
  }

  hideInvalidRoom() {
    if (this.els.roomError.hidden) return;
    this.els.roomError.hidden = true;
    delete this.els.welcome.dataset.off;
    this.doc.getElementById('message-input').disabled = false; // the app refreshes the composer (send button)
  }

  setIdentity(username) {
    this.els.myName.textContent = username;
    this.els.welcomeName.textContent = username;
    this.els.sideName.textContent = username;
    if (this.els.sideMood) this.els.sideMood.textContent = `Mood: ${userMood(username)}`;
    if (this.els.sideAvatar) paintAvatar(this.els.sideAvatar, username);
    if (this.els.welcomeAvatar) paintAvatar(this.els.welcomeAvatar, username);
    this.doc.documentElement.dataset.identified = 'true';
    if (!this.joinedAt) {
      this.joinedAt = new Date();
      this.els.introText.textContent = `You joined at ${timeFormat.format(this.joinedAt)}`;
    }
    this.markMe(username);
  }

  setOnline(count) {
    if (typeof count !== 'number' || !Number.isFinite(count)) return;
    const n = Math.max(0, Math.round(count));
    this.els.online.textContent = String(n);
    this.els.onlineLabel.textContent = ' online';
    this.els.online.closest('.chip')?.setAttribute('title', `${plural(n, 'person', 'people')} in this room`);
    this.els.panelCount.textContent = String(n);
    this.els.panelCount.hidden = false;
    this.syncCurrentRoomCount(n);
  }

  setMessageCount(count) {
    this.els.count.textContent = String(count);
    this.els.countLabel.textContent = count === 1 ? ' message' : ' messages';
    this.updateWelcome();
  }

  // ---- people: online list and typing -----------------------------------

  /** @param {{name: string, me: boolean}[]} people (from presenceList) */
  setPresence(people) {
    const nodes = people.map(({ name, me }) => {
      const avatar = el('span', { class: 'avatar avatar--sm', 'aria-hidden': 'true' });
      paintAvatar(avatar, name);
      return el(
        'li',
        { class: `person${me ? ' person--me' : ''}`, dataset: { testid: 'presence-person', name, me: me ? 'true' : 'false' } },
        avatar,
        el('span', { class: 'person__name', dataset: { testid: 'presence-name' }, text: name }),
        me ? el('span', { class: 'person__you', text: 'you' }) : null,
      );
    });
    this.els.people.replaceChildren(...nodes);
    this.els.peopleCount.textContent = String(people.length);
    this.els.peopleEmpty.hidden = people.length > 0;
  }

  /** Our name arrived after the presence list: mark it. */
  markMe(username) {
    for (const node of this.els.people.children) {
      const me = node.dataset.name === username;
      if ((node.dataset.me === 'true') === me) continue;
      node.dataset.me = String(me);
      node.classList.toggle('person--me', me);
      node.querySelector('.person__you')?.remove();
      if (me) node.append(el('span', { class: 'person__you', text: 'you' }));
    }
  }

  /** @param {string[]} names others typing right now */
  setTyping(names) {
    const text = typingText(names);
    const stick = this.isNearBottom();
    this.els.typing.hidden = text === '';
    if (this.els.typingText.textContent !== text) this.els.typingText.textContent = text;
    this.els.typing.dataset.count = String(names.length);
    if (names.length > 0) paintAvatarHue(this.els.typing, names[0]);
    if (stick) this.scrollToBottom(false);
  }

  // ---- rooms ------------------------------------------------------------

  /**
   * @param {{room: string, active_connections: number}[]} rooms (current room included)
   * @param {{error?: string|null, loading?: boolean}} [status]
   */
  setRooms(rooms, { error = null, loading = false } = {}) {
    const items = rooms.map(({ room, active_connections: n }) => {
      const current = room === this.room;
      return el(
        'li',
        {},
        el(
          'a',
          {
            class: `room${current ? ' room--current' : ''}`,
            href: roomPath(room),
            'aria-current': current ? 'page' : null,
            dataset: { room, testid: 'room-link' },
          },
          el('span', { class: 'room__hash', 'aria-hidden': 'true', text: '#' }),
          el('span', { class: 'room__name', dataset: { testid: 'room-link-name' }, text: room }),
          el('span', {
            class: 'room__count',
            dataset: { testid: 'room-link-count' },
            'aria-label': `${plural(n, 'person', 'people')} online`,
            title: `${plural(n, 'person', 'people')} online`,
            text: String(n),
          }),
        ),
      );
    });
    const focused = this.doc.activeElement?.closest?.('a[data-room]')?.dataset.room ?? null;
    this.els.roomList.replaceChildren(...items);
    if (focused) this.els.roomList.querySelector(`a[data-room="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
    this.els.roomsStatus.textContent = error ? error : loading && rooms.length <= 1 ? 'Loading…' : 'Live';
    this.els.roomsStatus.dataset.state = error ? 'error' : 'ok';
  }

  syncCurrentRoomCount(n) {
    const count = this.els.roomList?.querySelector('a[aria-current="page"] .room__count');
    if (count) {
      count.textContent = String(n);
      count.setAttribute('aria-label', `${plural(n, 'person', 'people')} online`);
    }
  }

  /** Inline error of the "join a room" form (null clears it). */
  setJoinError(message) {
    const { joinInput, joinError } = this.els;
    joinError.textContent = message ?? '';
    joinError.hidden = !message;
    joinInput.setAttribute('aria-invalid', message ? 'true' : 'false');
    if (message) joinError.setAttribute('role', 'alert');
    else joinError.removeAttribute('role');
  }

  /** @param {{state: string, retryAt: number|null}} connection */
  setConnection({ state, retryAt }) {
    const previous = this.connection.state;
    this.connection = { state, retryAt };
    this.els.conn.dataset.state = state;
    this.doc.documentElement.dataset.connection = state;
    this.els.reconnectNow.hidden = !(state === 'reconnecting' || state === 'offline');
    if (this.countdownTimer !== null) {
      clearInterval(this.countdownTimer);
      this.countdownTimer = null;
    }
    if (state === 'reconnecting') {
      this.countdownTimer = setInterval(() => this.renderConnectionLabel(), 250);
    }
    this.renderConnectionLabel();
    if (state !== previous) {
      const spoken = {
        connected: 'Connected.',
        reconnecting: 'Connection lost. Reconnecting.',
        offline: 'You are offline.',
      }[state];
      if (spoken && !(state === 'connected' && previous === 'connecting' && !this.wasConnected)) this.announce(spoken);
      if (state === 'connected') this.wasConnected = true;
    }
  }

  renderConnectionLabel() {
    const { state, retryAt } = this.connection;
    let text;
    switch (state) {
      case 'connected':
        text = 'Connected';
        break;
      case 'reconnecting': {
        const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
        text = seconds > 0 ? `Reconnecting in ${seconds}s` : 'Reconnecting…';
        break;
      }
      case 'offline':
        text = 'Offline';
        break;
      case 'stopped':
        text = 'Disconnected';
        break;
      default:
        text = this.wasConnected ? 'Reconnecting…' : 'Connecting…';
    }
    if (this.els.connLabel.textContent !== text) this.els.connLabel.textContent = text;
  }

  // ---- messages ---------------------------------------------------------

  isNearBottom() {
    const s = this.els.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= STICKY_PX;
  }

  scrollToBottom(smooth = false) {
    const s = this.els.scroller;
    const reduce = globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    s.scrollTo({ top: s.scrollHeight, behavior: smooth && !reduce ? 'smooth' : 'auto' });
  }

  clearUnread() {
    this.unread = 0;
    this.els.pill.hidden = true;
  }

  insert(entry) {
    const stick = entry.own || this.isNearBottom();
    if (entry.marker) {
      const node = this.renderMarker(entry);
      this.nodes.set(entry.key, node);
      this.els.list.append(node);
      if (stick) this.scrollToBottom(false);
      this.updateWelcome();
      return;
    }
    const node = this.renderMessage(entry);
    if (entry.history) {
      node.classList.add('msg--settled'); // fifty bubbles popping in at once is too much
      if (this.els.list.querySelector('.msg') === null) this.hasHistory = true;
    }
    this.nodes.set(entry.key, node);
    this.els.list.append(node);
    this.regroup(node);
    if (stick) {
      this.scrollToBottom(false);
    } else if (entry.history) {
      // replayed while the reader is scrolled up: no pill for old news
    } else {
      this.unread += 1;
      this.els.pillCount.textContent = this.unread === 1 ? '1 new message' : `${this.unread} new messages`;
      this.els.pill.hidden = false;
    }
    if (!entry.own && !entry.history && this.doc.hidden) {
      this.hiddenUnread += 1;
      this.doc.title = `(${this.hiddenUnread}) ${this.baseTitle}`;
    }
  }

  update(entry) {
    const old = this.nodes.get(entry.key);
    if (!old) return;
    const stick = this.isNearBottom();
    const hadFocus = old.contains(this.doc.activeElement);
    const node = this.renderMessage(entry);
    node.classList.add('msg--settled'); // no entry animation on re-render
    old.replaceWith(node);
    this.nodes.set(entry.key, node);
    this.regroup(node);
    if (node.nextElementSibling) this.regroup(node.nextElementSibling);
    if (hadFocus) (node.querySelector('button') ?? this.doc.getElementById('message-input'))?.focus();
    if (stick) this.scrollToBottom(false);
  }

  remove(entry) {
    const node = this.nodes.get(entry.key);
    if (!node) return;
    const next = node.nextElementSibling;
    node.remove();
    this.nodes.delete(entry.key);
    if (next) this.regroup(next);
  }

  /** Hide avatar and name on a message that continues the previous person's run. */
  regroup(node) {
    if (!node.classList.contains('msg')) return;
    const prev = node.previousElementSibling;
    let cont = false;
    if (prev) {
      const sameSide = prev.dataset.own === node.dataset.own;
      const sameName = prev.dataset.author === node.dataset.author;
      const t1 = Number(prev.dataset.time);
      const t2 = Number(node.dataset.time);
      const close = Number.isFinite(t1) && Number.isFinite(t2) && Math.abs(t2 - t1) < GROUP_MS;
      cont = sameSide && sameName && close;
    }
    node.classList.toggle('msg--cont', cont);
  }

  updateWelcome() {
    const empty = this.els.list.querySelector('.msg') === null;
    const off = this.els.welcome.dataset.off === 'true';
    this.els.welcome.hidden = off || !empty;
    this.els.intro.hidden = empty || !this.joinedAt || this.hasHistory;
    this.els.scroller.classList.toggle('chat__scroll--empty', empty && this.els.list.childElementCount === 0);
  }

  /**
   * Dividers and notices in the message flow:
   *   history-end  between the replayed history and live messages
   *   resumed      before the messages replayed after a reconnect
   *   gap          the server could not replay everything (recovered: false)
   */
  renderMarker(entry) {
    if (entry.marker === 'gap') {
      return el(
        'li',
        { class: 'notice', dataset: { testid: 'history-notice', key: entry.key }, role: 'note' },
        icon('alert'),
        el('span', { text: entry.text || 'Some older messages are no longer available.' }),
      );
    }
    if (entry.marker === 'history-end') {
      const joined = this.joinedAt ? ` · you joined at ${timeFormat.format(this.joinedAt)}` : '';
      return el(
        'li',
        { class: 'divider divider--live', dataset: { testid: 'history-divider', key: entry.key } },
        el('span', { class: 'divider__label' }, icon('arrowUp'), el('span', { text: 'Earlier messages' })),
        el('span', { class: 'divider__live' }, el('span', { class: 'divider__dot', 'aria-hidden': 'true' }), el('span', { text: `Live${joined}` })),
      );
    }
    return el(
      'li',
      { class: 'divider divider--resumed', dataset: { testid: 'resume-divider', key: entry.key } },
      el('span', { class: 'divider__label' }, icon('retry'), el('span', { text: entry.text || 'While you were away' })),
    );
  }

  /** @param {import('./messages.js').Entry} entry */
  renderMessage(entry) {
    const when = parseTime(entry.timestamp);
    const status = entry.own ? entry.status ?? 'delivered' : null;

    const avatar = el('div', { class: 'avatar msg__avatar', 'aria-hidden': 'true' });
    paintAvatar(avatar, entry.username);

    const meta = el(
      'div',
      { class: 'msg__meta' },
      el('span', { class: 'msg__author', dataset: { testid: 'message-author' }, text: entry.username || 'Anonymous' }),
      entry.own ? el('span', { class: 'msg__you', text: 'you' }) : null,
      when
        ? el('time', {
            class: 'msg__time',
            datetime: when.toISOString(),
            title: fullFormat.format(when),
            text: timeFormat.format(when),
          })
        : null,
    );

    const bubble = el(
      'div',
      { class: 'msg__bubble' },
      el('p', { class: 'msg__text', dataset: { testid: 'message-text' }, text: entry.text }),
    );

    let footer = null;
    if (status === 'failed') {
      footer = el(
        'div',
        { class: 'msg__status msg__status--failed', dataset: { testid: 'message-status' }, role: 'alert' },
        el('span', { class: 'msg__reason' }, icon('alert'), el('span', { text: entry.error?.message || 'Not sent.' })),
        el(
          'button',
          {
            type: 'button',
            class: 'msg__retry',
            dataset: { testid: 'retry-button', action: 'retry', clientMsgId: entry.clientMsgId },
          },
          icon('retry'),
          el('span', { text: 'Retry' }),
        ),
      );
    } else if (status) {
      const iconName = STATUS_ICON[status];
      footer = el(
        'div',
        { class: `msg__status msg__status--${status}`, dataset: { testid: 'message-status' } },
        iconName ? icon(iconName) : el('span', { class: 'spinner', 'aria-hidden': 'true' }),
        el('span', { text: STATUS_TEXT[status] ?? status }),
      );
    }

    const node = el(
      'li',
      {
        class: `msg${entry.own ? ' msg--own' : ''}`,
        dataset: {
          testid: 'message',
          key: entry.key,
          own: entry.own ? 'true' : 'false',
          author: entry.username,
          status: status ?? 'received',
          time: when ? String(when.getTime()) : '',
          ...(entry.messageId ? { messageId: entry.messageId } : {}),
          ...(entry.clientMsgId ? { clientMsgId: entry.clientMsgId } : {}),
        },
      },
      avatar,
      el('div', { class: 'msg__body' }, meta, bubble, footer),
    );
    node.style.setProperty('--hue', String(userHue(entry.username)));
    return node;
  }

  // ---- notices ------------------------------------------------------------

  /** Say something to screen readers only. */
  announce(text) {
    const a = this.els.announcer;
    a.textContent = '';
    // A separate task so repeated identical texts are announced again.
    setTimeout(() => {
      a.textContent = text;
    }, 50);
  }

  /** A short-lived notice (errors not tied to a message). */
  toast(text, kind = 'error') {
    const node = el(
      'div',
      { class: `toast toast--${kind}`, dataset: { testid: 'toast' } },
      icon(kind === 'error' ? 'alert' : 'check'),
      el('span', { text }),
    );
    this.els.toasts.append(node);
    while (this.els.toasts.childElementCount > 3) this.els.toasts.firstElementChild?.remove();
    setTimeout(() => {
      node.classList.add('toast--leaving');
      setTimeout(() => node.remove(), 400);
    }, 5000);
  }
}
