// Unit tests of the page's DOM-free modules (run in Node, no browser).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { backoffDelay } from '../js/backoff.js';
import { ResumeCursor } from '../js/chat/cursor.js';
import { TOKEN_KEY, TokenStore } from '../js/chat/identity.js';
import { MAX_REPORT_CHARS, reportFrame } from '../js/chat/reports.js';
import { RoomSession } from '../js/chat/session.js';
import { MessageStore, normalizeText } from '../js/messages.js';
import { MAX_TYPING_NAMES, TypingNotifier, TypingTracker, presenceList, typingNames, typingText } from '../js/people.js';
import { RoomDirectory, parseRooms, withCurrentRoom } from '../js/rooms.js';
import { ChatSocket } from '../js/socket.js';
import {
  MAX_MESSAGE_CHARS,
  chatSocketUrl,
  checkDraft,
  checkRoomInput,
  roomPath,
  initials,
  isValidRoom,
  newClientId,
  roomFromSearch,
  userHue,
} from '../js/util.js';

describe('backoff', () => {
  test('doubles from 0.5 s up to a 15 s cap', () => {
    const mid = { random: () => 0.5 }; // no jitter
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 10, 100].map((n) => backoffDelay(n, mid)),
      [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000],
    );
  });

  test('jitter stays within +/-30 % and never above the cap', () => {
    for (const attempt of [0, 1, 3, 8]) {
      const low = backoffDelay(attempt, { random: () => 0 });
      const high = backoffDelay(attempt, { random: () => 0.999999 });
      const raw = Math.min(15000, 500 * 2 ** attempt);
      assert.equal(low, Math.round(raw * 0.7));
      assert.ok(high <= Math.min(15000, Math.round(raw * 1.3)));
      assert.ok(high >= raw || raw === 15000);
    }
  });
});

describe('util', () => {
  test('drafts are trimmed and limited to 2000 characters (code points)', () => {
    assert.deepEqual(checkDraft('   '), { text: '', length: 0, ok: false });
    assert.equal(checkDraft('\n\t hi \n').text, 'hi');
    assert.equal(checkDraft(`  ${'a'.repeat(MAX_MESSAGE_CHARS)}  `).ok, true);
    assert.equal(checkDraft('a'.repeat(MAX_MESSAGE_CHARS + 1)).ok, false);
    // 2000 emoji are 4000 UTF-16 units but 2000 characters
    assert.equal(checkDraft('🌸'.repeat(MAX_MESSAGE_CHARS)).ok, true);
    assert.equal(checkDraft('🌸'.repeat(MAX_MESSAGE_CHARS)).length, MAX_MESSAGE_CHARS);
  });

  test('initials and colours come from the username', () => {
    assert.equal(initials('Azure Ronin'), 'AR');
    assert.equal(initials('neo'), 'NE');
    assert.equal(initials('  '), '?');
    assert.equal(initials('sakura-blade'), 'SB');
    assert.equal(userHue('Azure Ronin'), userHue('Azure Ronin'));
    assert.notEqual(userHue('Azure Ronin'), userHue('Sakura Blade'));
  });

  test('room and socket URL', () => {
    assert.equal(roomFromSearch(''), 'anonymous-anime-universe');
    assert.equal(roomFromSearch('?room=%20'), 'anonymous-anime-universe');
    assert.equal(roomFromSearch('?room=shonen'), 'shonen');
    assert.equal(roomFromSearch('?room=%20Shonen-Jump%20'), 'shonen-jump');
    assert.equal(isValidRoom('shonen-jump'), true);
    assert.equal(isValidRoom('a'.repeat(64)), true);
    assert.equal(isValidRoom('a'.repeat(65)), false);
    assert.equal(isValidRoom('bad room!'), false);
    assert.equal(isValidRoom('<script>'), false);
    assert.equal(
      chatSocketUrl({ protocol: 'http:', host: '127.0.0.1:8080' }, 'a b&c'),
      'ws://127.0.0.1:8080/ws/chat?room=a%20b%26c',
    );
    assert.equal(chatSocketUrl({ protocol: 'https:', host: 'x.test' }, 'r'), 'wss://x.test/ws/chat?room=r');
    const loc = { protocol: 'http:', host: 'h' };
    assert.equal(chatSocketUrl(loc, 'r', { since: 0 }), 'ws://h/ws/chat?room=r&since=0');
    assert.equal(chatSocketUrl(loc, 'r', { since: 41 }), 'ws://h/ws/chat?room=r&since=41');
    assert.equal(chatSocketUrl(loc, 'r', { since: null }), 'ws://h/ws/chat?room=r');
    assert.equal(chatSocketUrl(loc, 'r', { since: -1 }), 'ws://h/ws/chat?room=r');
    assert.equal(chatSocketUrl(loc, 'r', { since: 1.5 }), 'ws://h/ws/chat?room=r');
    // the epoch of the log the offset belongs to, only together with since
    assert.equal(chatSocketUrl(loc, 'r', { since: 41, epoch: 'e 1/x' }), 'ws://h/ws/chat?room=r&since=41&epoch=e%201%2Fx');
    assert.equal(chatSocketUrl(loc, 'r', { since: null, epoch: 'e1' }), 'ws://h/ws/chat?room=r');
    assert.equal(chatSocketUrl(loc, 'r', { since: 3, epoch: '' }), 'ws://h/ws/chat?room=r&since=3');
    assert.equal(chatSocketUrl(loc, 'r', { since: 3, epoch: null }), 'ws://h/ws/chat?room=r&since=3');
    assert.equal(roomPath('shonen-jump'), '/?room=shonen-jump');
  });

  test('room names typed by the user: trimmed, lower-cased, checked like the server', () => {
    assert.deepEqual(checkRoomInput('  Mecha-Hangar '), { room: 'mecha-hangar', ok: true, error: null });
    assert.equal(checkRoomInput('a'.repeat(64)).ok, true);
    for (const bad of ['', '   ', 'bad room', 'émigré', 'x_y', '<b>', 'a'.repeat(65), 'room!']) {
      const r = checkRoomInput(bad);
      assert.equal(r.ok, false, bad);
      assert.ok(r.error, `an explanation for ${JSON.stringify(bad)}`);
    }
    assert.match(checkRoomInput('a'.repeat(65)).error, /64/);
  });

  test('client ids are unique UUIDs', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newClientId()));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

/** A store whose hook calls are recorded. */
function recordingStore(options = {}) {
  const log = [];
  const store = new MessageStore({
    holdMs: options.holdMs ?? 50,
    hooks: {
      insert: (e) => log.push(['insert', e.key]),
      update: (e) => log.push(['update', e.key, e.status]),
      remove: (e) => log.push(['remove', e.key]),
    },
  });
  return { store, log };
}

const chat = (id, username, text, extra = {}) => ({
  type: 'chat_message',
  message_id: id,
  username,
  text,
  room: 'r',
  timestamp: '2026-11-25T12:00:00.000Z',
  active_connections: 2,
  offset: 0,
  ...extra,
});

describe('message store', () => {
  test('deduplicates by message_id and keeps arrival order', () => {
    const { store } = recordingStore();
    store.incoming(chat('m1', 'A', 'one'));
    store.incoming(chat('m2', 'B', 'two'));
    store.incoming(chat('m1', 'A', 'one again'));
    store.incoming(chat('m3', 'A', 'three'));
    assert.deepEqual(store.entries.map((e) => e.text), ['one', 'two', 'three']);
  });

  test('own message: waiting -> sending -> delivered, then merged with its chat_message (ack first)', () => {
    const { store, log } = recordingStore();
    store.addOwn({ clientMsgId: 'c1', text: 'hi', username: 'Me' });
    store.markStatus('c1', 'sending');
    store.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm1', offset: 5 });
    assert.equal(store.entries[0].status, 'delivered');
    store.incoming(chat('m1', 'Me Server Name', 'hi'));
    assert.equal(store.size, 1);
    const [e] = store.entries;
    assert.equal(e.own, true);
    assert.equal(e.confirmed, true);
    assert.equal(e.username, 'Me Server Name');
    assert.equal(log.filter(([op]) => op === 'insert').length, 1);
    assert.equal(log.filter(([op]) => op === 'remove').length, 0);
  });

  test('own message: chat_message before the ack is held and merged, never shown as someone else', () => {
    const { store, log } = recordingStore({ holdMs: 1000 });
    store.addOwn({ clientMsgId: 'c1', text: 'hi', username: 'Me' });
    store.markStatus('c1', 'sending');
    store.incoming(chat('m0', 'Other', 'before mine?'));
    store.incoming(chat('m1', 'Me', 'hi'));
    assert.equal(store.size, 1, 'held while our message is unacknowledged');
    store.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm1', offset: 1 });
    assert.deepEqual(
      store.entries.map((e) => [e.text, e.own]),
      [
        ['hi', true],
        ['before mine?', false],
      ],
    );
    assert.equal(store.entries[0].confirmed, true);
    assert.equal(log.filter(([op]) => op === 'remove').length, 0);
    store.dispose();
  });

  test('a very late ack removes the copy already shown', async () => {
    const { store } = recordingStore({ holdMs: 20 });
    store.addOwn({ clientMsgId: 'c1', text: 'hi', username: 'Me' });
    store.markStatus('c1', 'sending');
    store.incoming(chat('m1', 'Me', 'hi'));
    await sleep(60); // hold expires: shown as a normal message
    assert.equal(store.size, 2);
    store.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm1' });
    assert.equal(store.size, 1);
    assert.equal(store.entries[0].own, true);
    assert.equal(store.entries[0].status, 'delivered');
  });

  test('a second ack for a re-sent message hides the second copy', () => {
    const { store } = recordingStore();
    store.addOwn({ clientMsgId: 'c1', text: 'hi', username: 'Me' });
    store.markStatus('c1', 'sending');
    store.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm1' });
    store.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm1b' });
    store.incoming(chat('m1', 'Me', 'hi'));
    store.incoming(chat('m1b', 'Me', 'hi'));
    assert.equal(store.size, 1);
  });

  test('errors mark the message failed; retry puts it back to waiting', () => {
    const { store } = recordingStore();
    store.addOwn({ clientMsgId: 'c1', text: 'hi', username: 'Me' });
    store.markStatus('c1', 'sending');
    const e = store.fail({ type: 'error', code: 'rate_limited', message: 'Slow down', client_msg_id: 'c1' });
    assert.equal(e.status, 'failed');
    assert.deepEqual(e.error, { code: 'rate_limited', message: 'Slow down' });
    assert.equal(store.fail({ type: 'error', code: 'invalid_json', message: 'bad' }), null);
    assert.equal(store.retry('c1').status, 'waiting');
    assert.equal(store.entries[0].error, null);
  });

  test('a delivered message stays delivered when the socket re-queues it', () => {
    const { store } = recordingStore();
    store.addOwn({ clientMsgId: 'c1', text: 'hi', username: 'Me' });
    store.markStatus('c1', 'sending');
    store.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm1' });
    store.markStatus('c1', 'waiting');
    assert.equal(store.entries[0].status, 'delivered');
  });
});

describe('message store: unknown outcomes', () => {
  test('outcome_unknown keeps the message pending ("checking"), never failed; a later ack delivers it', () => {
    const { store, log } = recordingStore();
    store.addOwn({ clientMsgId: 'c1', text: 'maybe?', username: 'Me' });
    store.markStatus('c1', 'sending');
    const entry = store.uncertain({ type: 'error', code: 'outcome_unknown', client_msg_id: 'c1', message_id: 'm1' });
    assert.equal(entry.status, 'checking');
    assert.equal(entry.error, null);
    assert.equal(store.sending.size, 0, 'others are not held back while we wait to ask again');
    store.markStatus('c1', 'sending'); // the retry went out
    assert.equal(entry.status, 'checking', 'a retry still says "checking", not "sending"');
    store.markStatus('c1', 'waiting'); // connection lost meanwhile
    assert.equal(entry.status, 'waiting');
    store.markStatus('c1', 'sending');
    assert.equal(store.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm1', offset: 4 }).status, 'delivered');
    assert.deepEqual(log.filter(([t]) => t === 'insert'), [['insert', 'c:c1']]);
    assert.ok(!log.some(([, , status]) => status === 'failed'));
  });

  test('the message of the unknown attempt showing up means it was stored: delivered, not shown twice', () => {
    const { store } = recordingStore();
    store.addOwnName('Me');
    store.addOwn({ clientMsgId: 'c1', text: 'stored after all', username: 'Me' });
    store.markStatus('c1', 'sending');
    store.uncertain({ type: 'error', code: 'outcome_unknown', client_msg_id: 'c1', message_id: 'm1' });
    const entry = store.incoming(chat('m1', 'Me', 'stored after all', { offset: 9 }));
    assert.equal(entry.key, 'c:c1');
    assert.equal(entry.status, 'delivered');
    assert.equal(entry.messageId, 'm1');
    assert.equal(store.size, 1);
  });

  test('outcome_unknown for a message already shown (held or as someone else) adopts it', () => {
    const { store } = recordingStore({ holdMs: 10 });
    store.addOwn({ clientMsgId: 'c1', text: 'hi', username: '' });
    store.markStatus('c1', 'sending');
    store.incoming(chat('m1', 'Me', 'hi')); // held: we are sending
    const entry = store.uncertain({ type: 'error', code: 'outcome_unknown', client_msg_id: 'c1', message_id: 'm1' });
    assert.equal(entry.status, 'delivered');
    assert.equal(store.size, 1);
    assert.equal(store.held.length, 0);
  });

  test('outcome_unknown for a delivered or failed message changes nothing', () => {
    const { store } = recordingStore();
    store.addOwn({ clientMsgId: 'c1', text: 'a', username: 'Me' });
    store.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm1' });
    assert.equal(store.uncertain({ type: 'error', code: 'outcome_unknown', client_msg_id: 'c1', message_id: 'm1' }).status, 'delivered');
    store.addOwn({ clientMsgId: 'c2', text: 'b', username: 'Me' });
    store.fail({ type: 'error', code: 'rate_limited', message: 'slow', client_msg_id: 'c2' });
    assert.equal(store.uncertain({ type: 'error', code: 'outcome_unknown', client_msg_id: 'c2' }), null);
    assert.equal(store.byClientId.get('c2').status, 'failed');
  });
});

describe('resume cursor (offset + epoch)', () => {
  const msg = (offset, epoch) => ({ type: 'chat_message', offset, ...(epoch === undefined ? {} : { epoch }) });

  test('keeps the offset and the epoch of the same chat_message', () => {
    const c = new ResumeCursor();
    assert.deepEqual(c.params(), { since: null, epoch: null });
    c.observe({ type: 'welcome', epoch: 'A' });
    assert.deepEqual(c.params(), { since: null, epoch: null }, 'no offset yet: nothing to resume from');
    c.observe(msg(3, 'A'));
    c.observe(msg(7, 'A'));
    assert.deepEqual(c.params(), { since: 7, epoch: 'A' });
    c.observe({ type: 'ack', client_msg_id: 'x', message_id: 'y', offset: 12, epoch: 'A' });
    assert.deepEqual(c.params(), { since: 7, epoch: 'A' }, "an ack's offset within the log does not move the cursor");
    c.observe({ type: 'history_end', epoch: 'A' });
    assert.deepEqual(c.params(), { since: 7, epoch: 'A' });
  });

  test('a frame of another epoch replaces the kept offset: that log is gone', () => {
    const c = new ResumeCursor();
    c.observe(msg(40, 'A'));
    assert.equal(c.observe({ type: 'welcome', epoch: 'B' }), true);
    assert.deepEqual(c.params(), { since: null, epoch: null });
    c.observe(msg(2, 'B'));
    assert.deepEqual(c.params(), { since: 2, epoch: 'B' });
    assert.equal(c.observe(msg(0, 'C')), true, 'a chat_message can bring the new epoch too');
    assert.deepEqual(c.params(), { since: 0, epoch: 'C' });
    c.observe({ type: 'ack', offset: 5, epoch: 'D' });
    assert.deepEqual(c.params(), { since: 5, epoch: 'D' }, 'any frame with a new epoch: its offset, or none');
  });

  test('an older server without epochs: offsets only', () => {
    const c = new ResumeCursor();
    c.observe({ type: 'welcome' });
    c.observe(msg(5));
    c.observe({ type: 'history_end' });
    assert.deepEqual(c.params(), { since: 5, epoch: null });
    c.observe(msg(6, 'A'));
    c.observe(msg(7)); // an offset without its epoch: the pair is from one frame
    assert.deepEqual(c.params(), { since: 7, epoch: null });
  });
});

describe('message store: history, markers, replayed own messages', () => {
  test('markers keep their place (also behind held messages) and do not count as messages', () => {
    const { store, log } = recordingStore({ holdMs: 1000 });
    store.incoming(chat('m1', 'A', 'old'), { history: true });
    store.addMarker('history-end');
    assert.equal(store.size, 1);
    assert.equal(store.entries[0].history, true);
    store.addOwn({ clientMsgId: 'c1', text: 'mine', username: 'Me' });
    store.markStatus('c1', 'sending');
    store.incoming(chat('m2', 'B', 'held'));
    store.addMarker('gap', { text: 'lost' });
    assert.equal(store.entries.length, 3, 'the marker waits behind the held message');
    store.ack({ type: 'ack', client_msg_id: 'c1', message_id: 'm3' });
    assert.deepEqual(
      store.entries.map((e) => e.marker ?? e.text),
      ['old', 'history-end', 'mine', 'held', 'gap'],
    );
    assert.equal(store.size, 3);
    assert.equal(store.entries[4].text, 'lost');
    assert.ok(store.has('m2'));
    assert.equal(log.filter(([op]) => op === 'insert').length, 5);
    store.dispose();
  });

  test('our message replayed under an earlier name is adopted, not shown twice', () => {
    const { store } = recordingStore();
    store.addOwnName('Old Name');
    store.addOwn({ clientMsgId: 'c1', text: 'line\r\nbreak ', username: 'Old Name' });
    store.addOwn({ clientMsgId: 'c2', text: 'later', username: 'Old Name' });
    store.markStatus('c1', 'sending');
    store.markStatus('c1', 'waiting'); // connection lost before the ack
    store.addOwnName('New Name');
    const e = store.incoming(chat('m1', 'Old Name', 'line\nbreak'));
    assert.equal(e.clientMsgId, 'c1');
    assert.equal(e.status, 'delivered');
    assert.equal(e.messageId, 'm1');
    // the same text from somebody else is somebody else's
    store.incoming(chat('m2', 'Stranger', 'later'));
    assert.deepEqual(
      store.entries.map((x) => [x.text, x.own, x.status]),
      [
        ['line\r\nbreak ', true, 'delivered'],
        ['later', true, 'waiting'],
        ['later', false, null],
      ],
    );
    // replayed again: still once
    store.incoming(chat('m1', 'Old Name', 'line\nbreak'));
    assert.equal(store.size, 3);
  });

  test('normalizeText follows the server', () => {
    assert.equal(normalizeText(' a\r\nb\rc\u0000\u0007\td '), 'a\nb\nc\td');
  });
});

describe('people', () => {
  test('presence list: our name first and marked, then alphabetical, no junk', () => {
    assert.deepEqual(presenceList(['Zed', 'Me', 'amy', 'Zed', '', 7, null], 'Me'), [
      { name: 'Me', me: true },
      { name: 'amy', me: false },
      { name: 'Zed', me: false },
    ]);
    assert.deepEqual(presenceList(undefined, 'Me'), []);
  });

  test('typing text', () => {
    assert.equal(typingText([]), '');
    assert.equal(typingText(['A']), 'A is typing…');
    assert.equal(typingText(['A', 'B']), 'A and B are typing…');
    assert.equal(typingText(['A', 'B', 'C']), '3 people are typing…');
  });

  test('typing tracker: names expire after the TTL, refreshed by new frames', async () => {
    const changes = [];
    const t = new TypingTracker({ ttlMs: 120, onChange: (names) => changes.push(names) });
    t.seen('A');
    await sleep(70);
    t.seen('A'); // refresh
    t.seen('B');
    await sleep(80);
    assert.deepEqual(t.names(), ['A', 'B'], 'A refreshed, still typing');
    await sleep(120);
    assert.deepEqual(t.names(), []);
    assert.deepEqual(changes.at(-1), []);
    t.seen('C');
    t.retain(['X']);
    assert.deepEqual(t.names(), []);
    t.seen('D');
    t.remove('D');
    t.clear();
    t.dispose();
  });

  test('typing notifier: at most once per interval, never for blank text, not counted when not sent', () => {
    let now = 0;
    let connected = true;
    let sent = 0;
    const n = new TypingNotifier({ intervalMs: 2000, now: () => now, send: () => connected && (sent += 1) > 0 });
    assert.equal(n.input('   '), false);
    assert.equal(n.input('h'), true);
    now = 1999;
    assert.equal(n.input('he'), false);
    now = 2000;
    assert.equal(n.input('hel'), true);
    connected = false;
    now = 5000;
    assert.equal(n.input('hell'), false);
    connected = true;
    now = 5001;
    assert.equal(n.input('hello'), true);
    n.reset();
    assert.equal(n.input('hello!'), true);
    assert.equal(sent, 4);
  });
});

describe('rooms', () => {
  test('parseRooms: valid names, busiest first', () => {
    assert.deepEqual(
      parseRooms([
        { room: 'b', active_connections: 2 },
        { room: 'a', active_connections: 2 },
        { room: 'Bad Room', active_connections: 9 },
        { room: 'c', active_connections: 7 },
        { nope: true },
        { room: 'd' },
      ]),
      [
        { room: 'c', active_connections: 7 },
        { room: 'a', active_connections: 2 },
        { room: 'b', active_connections: 2 },
        { room: 'd', active_connections: 0 },
      ],
    );
    assert.deepEqual(parseRooms({ not: 'a list' }), []);
  });

  test('withCurrentRoom: the current room is always listed, with our count', () => {
    const list = [{ room: 'a', active_connections: 3 }];
    assert.deepEqual(withCurrentRoom(list, 'b', 5), [
      { room: 'b', active_connections: 5 },
      { room: 'a', active_connections: 3 },
    ]);
    assert.deepEqual(withCurrentRoom(list, 'a', 9), [{ room: 'a', active_connections: 9 }]);
    assert.deepEqual(withCurrentRoom(list, 'a', null), [{ room: 'a', active_connections: 3 }]);
    assert.deepEqual(withCurrentRoom(list, 'Not Valid', 1), list);
    assert.equal(list[0].active_connections, 3, 'input untouched');
  });

  test('RoomDirectory: fetches, reports errors, stops asking a server without the list', async () => {
    const answers = [
      { status: 200, body: [{ room: 'x', active_connections: 1 }] },
      { status: 503, body: {} },
      { status: 404, body: {} },
    ];
    let calls = 0;
    const fetch = async () => {
      const a = answers[Math.min(calls, answers.length - 1)];
      calls += 1;
      return { status: a.status, ok: a.status === 200, json: async () => a.body };
    };
    const updates = [];
    const d = new RoomDirectory({ fetch, intervalMs: 60000, isHidden: () => false, onUpdate: (u) => updates.push(u) });
    await d.refresh();
    assert.deepEqual(d.rooms, [{ room: 'x', active_connections: 1 }]);
    assert.equal(d.error, null);
    await d.refresh();
    assert.match(d.error, /503/);
    assert.deepEqual(d.rooms, [{ room: 'x', active_connections: 1 }], 'the last good list stays');
    await d.refresh();
    assert.equal(d.unsupported, true);
    await d.refresh();
    assert.equal(calls, 3, 'no more requests after a 404');
    assert.ok(updates.some((u) => u.loading));
  });

  test('RoomDirectory: no requests while canFetch() is false (server unreachable)', async () => {
    let calls = 0;
    let up = false;
    const fetch = async () => {
      calls += 1;
      return { status: 200, ok: true, json: async () => [] };
    };
    const d = new RoomDirectory({ fetch, onUpdate: () => {}, canFetch: () => up });
    await d.refresh();
    assert.equal(calls, 0);
    up = true;
    await d.refresh();
    assert.equal(calls, 1);
  });
});

/** Minimal WebSocket double driven by the test. */
class FakeWebSocket {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    FakeWebSocket.instances.push(this);
  }
  send(data) {
    if (this.closed) throw new Error('closed');
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  // test controls
  serverOpen() {
    this.onopen?.({});
  }
  serverSend(frame) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  serverClose() {
    this.closed = true;
    this.onclose?.({ code: 1006 });
  }
}

function fakeSocket(extra = {}) {
  FakeWebSocket.instances = [];
  const events = [];
  const socket = new ChatSocket({
    url: 'ws://test/ws/chat?room=r',
    WebSocketImpl: FakeWebSocket,
    backoff: { base: 10, max: 40, jitter: 0 },
    isOnline: () => true,
    window: null,
    ...extra,
  });
  for (const type of ['state', 'frame', 'outbox']) {
    socket.addEventListener(type, (e) => events.push([type, e.detail]));
  }
  return { socket, events, last: () => FakeWebSocket.instances.at(-1) };
}

describe('socket', () => {
  test('queues until welcome, flushes in order, re-sends unacknowledged frames after a reconnect', async () => {
    const { socket, events, last } = fakeSocket();
    socket.start();
    assert.equal(socket.state, 'connecting');
    socket.submit('a', { type: 'chat_message', text: 'A', client_msg_id: 'a' });
    const ws1 = last();
    ws1.serverOpen();
    socket.submit('b', { type: 'chat_message', text: 'B', client_msg_id: 'b' });
    assert.equal(ws1.sent.length, 0, 'nothing before welcome');
    ws1.serverSend({ type: 'welcome', username: 'Me', room: 'r', session_id: 's' });
    assert.equal(socket.state, 'connected');
    assert.deepEqual(ws1.sent.map((f) => f.text), ['A', 'B']);
    socket.settle('a'); // acked

    ws1.serverClose();
    assert.equal(socket.state, 'reconnecting');
    assert.ok(events.some(([t, d]) => t === 'outbox' && d.id === 'b' && d.status === 'waiting'));
    socket.submit('c', { type: 'chat_message', text: 'C', client_msg_id: 'c' });

    await sleep(30);
    const ws2 = last();
    assert.notEqual(ws2, ws1);
    ws2.serverOpen();
    ws2.serverSend({ type: 'welcome', username: 'Me2', room: 'r', session_id: 's2' });
    assert.deepEqual(ws2.sent.map((f) => [f.text, f.client_msg_id]), [
      ['B', 'b'],
      ['C', 'c'],
    ]);
    socket.stop();
    assert.equal(socket.state, 'stopped');
  });

  test('backoff grows while the server stays down and resets after a welcome', async () => {
    const { socket, events, last } = fakeSocket();
    socket.start();
    last().serverClose();
    await sleep(15);
    last().serverClose();
    await sleep(30);
    last().serverClose();
    const delays = events
      .filter(([t, d]) => t === 'state' && d.state === 'reconnecting')
      .map(([, d]) => d.attempt);
    assert.deepEqual(delays, [1, 2, 3]);
    await sleep(50);
    last().serverOpen();
    last().serverSend({ type: 'welcome', username: 'Me' });
    assert.equal(socket.attempt, 0);
    socket.stop();
  });

  test('ignores non-JSON and frames without a type; passes unknown types through', () => {
    const { socket, events, last } = fakeSocket();
    socket.start();
    const ws = last();
    ws.serverOpen();
    ws.serverSend('not json');
    ws.serverSend({ no: 'type' });
    ws.serverSend({ type: 'welcome', username: 'Me' });
    ws.serverSend({ type: 'presence', users: [] });
    const frames = events.filter(([t]) => t === 'frame').map(([, f]) => f.type);
    assert.deepEqual(frames, ['welcome', 'presence']);
    socket.stop();
  });

  test('the URL is asked for on every attempt (since=…); flushAfter holds the outbox until history_end', async () => {
    let since = null;
    const { socket, last } = fakeSocket({
      url: () => `ws://test/ws/chat?room=r${since === null ? '' : `&since=${since}`}`,
      flushAfter: (f) => f.type === 'history_end',
      flushGraceMs: 60,
    });
    socket.start();
    const ws1 = last();
    assert.equal(ws1.url, 'ws://test/ws/chat?room=r');
    ws1.serverOpen();
    ws1.serverSend({ type: 'welcome', username: 'Me' });
    socket.submit('a', { type: 'chat_message', text: 'A', client_msg_id: 'a' });
    assert.equal(socket.state, 'connected');
    assert.equal(ws1.sent.length, 0, 'held until history_end');
    ws1.serverSend({ type: 'chat_message', offset: 7 });
    ws1.serverSend({ type: 'history_end', room: 'r', recovered: true });
    assert.deepEqual(ws1.sent.map((f) => f.text), ['A']);
    socket.submit('b', { type: 'chat_message', text: 'B', client_msg_id: 'b' });
    assert.deepEqual(ws1.sent.map((f) => f.text), ['A', 'B'], 'live: sent at once');

    since = 7;
    ws1.serverClose();
    await sleep(30);
    const ws2 = last();
    assert.equal(ws2.url, 'ws://test/ws/chat?room=r&since=7');
    assert.equal(socket.currentUrl, ws2.url);
    ws2.serverOpen();
    ws2.serverSend({ type: 'welcome', username: 'Me' });
    assert.equal(ws2.sent.length, 0);
    await sleep(100); // an older server never sends history_end: the grace period ends the wait
    assert.deepEqual(ws2.sent.map((f) => f.text), ['A', 'B']);
    socket.stop();
  });

  test('the browser going offline drops a live connection; online reconnects at once', async () => {
    const win = new EventTarget();
    let online = true;
    const { socket, last } = fakeSocket({ window: win, isOnline: () => online });
    socket.start();
    const ws1 = last();
    ws1.serverOpen();
    ws1.serverSend({ type: 'welcome', username: 'Me' });
    socket.submit('a', { type: 'chat_message', text: 'A', client_msg_id: 'a' });
    assert.equal(socket.outbox.get('a').status, 'sending');
    online = false;
    win.dispatchEvent(new Event('offline'));
    assert.equal(socket.state, 'offline');
    assert.ok(ws1.closed);
    assert.equal(socket.outbox.get('a').status, 'waiting', 'in flight: queued again');
    await sleep(30);
    assert.equal(last(), ws1, 'no reconnect attempts while offline');
    online = true;
    win.dispatchEvent(new Event('online'));
    const ws2 = last();
    assert.notEqual(ws2, ws1);
    ws2.serverOpen();
    ws2.serverSend({ type: 'welcome', username: 'Me' });
    assert.deepEqual(ws2.sent.map((f) => f.text), ['A']);
    socket.stop();
  });

  test('resend(): the same frame again, now when connected, else after the next welcome', async () => {
    const { socket, last } = fakeSocket();
    socket.start();
    const ws1 = last();
    ws1.serverOpen();
    ws1.serverSend({ type: 'welcome', username: 'Me' });
    const frame = { type: 'chat_message', text: 'A', client_msg_id: 'a' };
    socket.submit('a', frame);
    assert.equal(socket.resend('a'), true);
    assert.deepEqual(ws1.sent, [frame, frame]);
    ws1.serverClose();
    assert.equal(socket.resend('a'), true);
    assert.equal(socket.outbox.get('a').status, 'waiting');
    await sleep(30);
    const ws2 = last();
    ws2.serverOpen();
    ws2.serverSend({ type: 'welcome', username: 'Me' });
    assert.deepEqual(ws2.sent, [frame]);
    socket.settle('a');
    assert.equal(socket.resend('a'), false, 'settled: nothing to resend');
    socket.stop();
  });

  test('an upgrade refused before open (503 while the server starts) is retried with backoff', async () => {
    const { socket, events, last } = fakeSocket();
    socket.start();
    socket.submit('a', { type: 'chat_message', text: 'A', client_msg_id: 'a' });
    for (let i = 0; i < 3; i += 1) {
      const ws = last();
      ws.onerror?.({}); // the browser reports the failed handshake: error, then close, never open
      ws.serverClose();
      assert.equal(socket.state, 'reconnecting');
      await sleep(50);
    }
    const attempts = events.filter(([t, d]) => t === 'state' && d.state === 'reconnecting').map(([, d]) => d.attempt);
    assert.deepEqual(attempts, [1, 2, 3], 'the backoff grows');
    assert.equal(socket.outbox.get('a').status, 'waiting', 'the message waits');
    const ws = last();
    ws.serverOpen();
    ws.serverSend({ type: 'welcome', username: 'Me' });
    assert.equal(socket.state, 'connected');
    assert.deepEqual(ws.sent.map((f) => f.text), ['A']);
    assert.equal(socket.attempt, 0);
    socket.stop();
  });

  test('liveness watchdog reconnects when the server goes silent', async () => {
    const { socket, last } = fakeSocket({ livenessTimeoutMs: 300 });
    socket.start();
    const ws = last();
    ws.serverOpen();
    ws.serverSend({ type: 'welcome', username: 'Me' });
    await sleep(200);
    ws.serverSend({ type: 'heartbeat' });
    await sleep(200);
    assert.equal(socket.state, 'connected', 'heartbeat kept it alive');
    await sleep(400);
    assert.ok(ws.closed);
    assert.notEqual(socket.state, 'connected');
    socket.stop();
  });
});

/** A RoomSession on FakeWebSockets; `ui` records what the page would show. */
function fakeSession(extra = {}) {
  FakeWebSocket.instances = [];
  const shown = { entries: [], toasts: [], names: [] };
  const ui = {
    hooks: {
      insert: (e) => shown.entries.push(e),
      update: () => {},
      remove: (e) => shown.entries.splice(shown.entries.indexOf(e), 1),
    },
    welcome: (name) => shown.names.push(name),
    online: () => {},
    presence: () => {},
    typing: () => {},
    connection: () => {},
    toast: (text) => shown.toasts.push(text),
  };
  const session = new RoomSession({
    room: 'r',
    ui,
    location: { protocol: 'http:', host: 'test' },
    socket: { WebSocketImpl: FakeWebSocket, backoff: { base: 10, max: 40, jitter: 0 }, isOnline: () => true, window: null, flushGraceMs: 30 },
    outcomeRetry: { base: 100, max: 400, jitter: 0 },
    ...extra,
  });
  session.start();
  const last = () => FakeWebSocket.instances.at(-1);
  /** open the current socket and welcome it (then the replay is over) */
  const welcome = (frame = {}) => {
    last().serverOpen();
    last().serverSend({ type: 'welcome', username: 'Me', room: 'r', epoch: 'A', ...frame });
    last().serverSend({ type: 'history_end', room: 'r', recovered: true, epoch: frame.epoch ?? 'A' });
  };
  const chats = () => last().sent.filter((f) => f.type === 'chat_message');
  return { session, shown, last, welcome, chats };
}

describe('room session: epochs and unknown outcomes', () => {
  test('the resume URL carries since and epoch of the last chat_message; a new epoch replaces them', async () => {
    const { session, last, welcome } = fakeSession();
    assert.equal(last().url, 'ws://test/ws/chat?room=r', 'first connect: no since');
    welcome();
    last().serverSend({ type: 'chat_message', message_id: 'm1', username: 'X', text: 'one', room: 'r', offset: 10, epoch: 'A' });
    last().serverSend({ type: 'chat_message', message_id: 'm2', username: 'X', text: 'two', room: 'r', offset: 11, epoch: 'A' });
    last().serverClose();
    await sleep(30);
    assert.equal(last().url, 'ws://test/ws/chat?room=r&since=11&epoch=A');

    // the server lost its log: a welcome with another epoch
    welcome({ epoch: 'B' });
    assert.deepEqual([session.lastOffset, session.epoch], [null, 'B']);
    last().serverClose();
    await sleep(30);
    assert.equal(last().url, 'ws://test/ws/chat?room=r', 'no offset in the new log yet: a fresh join');
    welcome({ epoch: 'B' });
    last().serverSend({ type: 'chat_message', message_id: 'm3', username: 'X', text: 'three', room: 'r', offset: 0, epoch: 'B' });
    last().serverClose();
    await sleep(30);
    assert.equal(last().url, 'ws://test/ws/chat?room=r&since=0&epoch=B');
    session.stop();
  });

  test('an older server (no epoch): since alone, as before', async () => {
    const { session, last } = fakeSession();
    last().serverOpen();
    last().serverSend({ type: 'welcome', username: 'Me', room: 'r' });
    last().serverSend({ type: 'chat_message', message_id: 'm1', username: 'X', text: 'one', room: 'r', offset: 4 });
    last().serverClose();
    await sleep(30);
    assert.equal(last().url, 'ws://test/ws/chat?room=r&since=4');
    session.stop();
  });

  test('outcome_unknown: pending, the same frame again after a growing delay, delivered on the ack', async () => {
    const { session, shown, last, welcome, chats } = fakeSession();
    welcome();
    session.send('did it work?');
    const [frame] = chats();
    const error = { type: 'error', code: 'outcome_unknown', message: 'unknown', client_msg_id: frame.client_msg_id, message_id: 'm1' };
    last().serverSend(error);
    assert.equal(shown.entries[0].status, 'checking');
    assert.equal(chats().length, 1, 'not at once');
    await sleep(150); // first delay: 100 ms
    assert.deepEqual(chats(), [frame, frame], 'the very same frame (same client_msg_id)');
    assert.equal(shown.entries[0].status, 'checking');
    last().serverSend(error);
    await sleep(120);
    assert.equal(chats().length, 2, 'the second delay is longer (200 ms)');
    await sleep(140);
    assert.equal(chats().length, 3);
    last().serverSend({ type: 'ack', client_msg_id: frame.client_msg_id, message_id: 'm1', offset: 3, epoch: 'A' });
    assert.equal(shown.entries[0].status, 'delivered');
    last().serverSend({ type: 'chat_message', message_id: 'm1', username: 'Me', text: 'did it work?', room: 'r', offset: 3, epoch: 'A' });
    assert.equal(shown.entries.length, 1, 'shown once');
    await sleep(450);
    assert.equal(chats().length, 3, 'no more retries after the ack');
    assert.deepEqual(shown.toasts, []);
    session.stop();
  });

  test('a late ack on its own ends the wait: no retry', async () => {
    const { session, shown, last, welcome, chats } = fakeSession();
    welcome();
    session.send('late');
    const [frame] = chats();
    last().serverSend({ type: 'error', code: 'outcome_unknown', message: 'unknown', client_msg_id: frame.client_msg_id, message_id: 'm1' });
    last().serverSend({ type: 'ack', client_msg_id: frame.client_msg_id, message_id: 'm1', offset: 8, epoch: 'A' });
    assert.equal(shown.entries[0].status, 'delivered');
    await sleep(150);
    assert.equal(chats().length, 1);
    session.stop();
  });

  test('a connection lost while checking: the reconnect sends the same frame, the timer does not add another', async () => {
    const { session, shown, last, welcome, chats } = fakeSession();
    welcome();
    session.send('across a reconnect');
    const [frame] = chats();
    last().serverSend({ type: 'error', code: 'outcome_unknown', message: 'unknown', client_msg_id: frame.client_msg_id, message_id: 'm1' });
    last().serverClose();
    assert.equal(shown.entries[0].status, 'waiting');
    await sleep(30);
    welcome();
    assert.deepEqual(chats(), [frame]);
    await sleep(150);
    assert.deepEqual(chats(), [frame], 'the retry timer was dropped');
    last().serverSend({ type: 'ack', client_msg_id: frame.client_msg_id, message_id: 'm1', offset: 1, epoch: 'A' });
    assert.equal(shown.entries[0].status, 'delivered');
    session.stop();
  });

  test('other error codes still fail the message (Retry is the user\'s)', async () => {
    const { session, shown, last, welcome, chats } = fakeSession();
    welcome();
    session.send('too fast');
    const [frame] = chats();
    last().serverSend({ type: 'error', code: 'rate_limited', message: 'slow down', client_msg_id: frame.client_msg_id });
    assert.equal(shown.entries[0].status, 'failed');
    await sleep(150);
    assert.equal(chats().length, 1);
    session.retry(frame.client_msg_id);
    assert.deepEqual(chats(), [frame, frame]);
    session.stop();
  });
});

/** localStorage as a Map (or one that throws on every call: storage blocked). */
function memoryStorage({ blocked = false } = {}) {
  const map = new Map();
  const guard = (fn) => (...args) => {
    if (blocked) throw new Error('SecurityError');
    return fn(...args);
  };
  return {
    map,
    getItem: guard((k) => (map.has(k) ? map.get(k) : null)),
    setItem: guard((k, v) => map.set(k, String(v))),
    removeItem: guard((k) => map.delete(k)),
  };
}

describe('identity token', () => {
  test('kept in storage under anime-chat.token; blocked storage keeps it in memory', () => {
    const storage = memoryStorage();
    const store = new TokenStore(storage);
    assert.equal(store.get(), '');
    store.set('t/1+2=');
    assert.equal(storage.map.get(TOKEN_KEY), 't/1+2=');
    assert.equal(new TokenStore(storage).get(), 't/1+2=', 'another page (a reload) finds it');
    for (const junk of ['', null, undefined, 42, {}]) store.set(junk);
    assert.equal(store.get(), 't/1+2=', 'only non-empty strings replace it');
    store.clear();
    assert.equal(store.get(), '');
    assert.equal(storage.map.has(TOKEN_KEY), false);

    const blocked = new TokenStore(memoryStorage({ blocked: true }));
    blocked.set('mem');
    assert.equal(blocked.get(), 'mem', 'this page still has it');
    blocked.clear();
    assert.equal(blocked.get(), '');
    assert.equal(new TokenStore(null).get(), '');
  });

  test('the socket URL carries the token, urlencoded, with room, since and epoch', () => {
    const loc = { protocol: 'http:', host: 'h' };
    assert.equal(chatSocketUrl(loc, 'r', { token: 'a b/c+d=&e' }), 'ws://h/ws/chat?room=r&token=a%20b%2Fc%2Bd%3D%26e');
    assert.equal(
      chatSocketUrl(loc, 'r', { since: 41, epoch: 'e1', token: 'T' }),
      'ws://h/ws/chat?room=r&since=41&epoch=e1&token=T',
    );
    assert.equal(chatSocketUrl(loc, 'r', { since: null, epoch: 'e1', token: 'T' }), 'ws://h/ws/chat?room=r&token=T');
    assert.equal(chatSocketUrl(loc, 'r', { token: '' }), 'ws://h/ws/chat?room=r');
    assert.equal(chatSocketUrl(loc, 'r', { token: null }), 'ws://h/ws/chat?room=r');
    const url = new URL(chatSocketUrl(loc, 'a-b', { since: 3, epoch: 'x', token: 'tök=1&room=evil' }));
    assert.deepEqual(Object.fromEntries(url.searchParams), { room: 'a-b', since: '3', epoch: 'x', token: 'tök=1&room=evil' });
  });
});

describe('room session: identity, moderation, reports', () => {
  test('the welcome token is kept and sent on every connection, with since and epoch on a resume', async () => {
    const identity = new TokenStore(memoryStorage());
    const { session, last, welcome } = fakeSession({ identity });
    assert.equal(last().url, 'ws://test/ws/chat?room=r', 'no token yet');
    welcome({ token: 'tok 1' });
    assert.equal(identity.get(), 'tok 1');
    last().serverSend({ type: 'chat_message', message_id: 'm1', username: 'X', text: 'one', room: 'r', offset: 5, epoch: 'A' });
    last().serverClose();
    await sleep(30);
    assert.equal(last().url, 'ws://test/ws/chat?room=r&since=5&epoch=A&token=tok%201');
    session.stop();

    // another room (a new session) brings the same token
    const other = fakeSession({ identity, room: 'lobby' });
    assert.equal(other.last().url, 'ws://test/ws/chat?room=lobby&token=tok%201');
    other.session.stop();
  });

  test('invalid_token: a notice in the list, the new token kept (welcome before or after the error)', () => {
    for (const order of ['welcome-first', 'error-first']) {
      const identity = new TokenStore(memoryStorage());
      identity.set('old');
      const { session, shown, last } = fakeSession({ identity });
      assert.match(last().url, /&token=old$/);
      last().serverOpen();
      const error = { type: 'error', code: 'invalid_token', message: 'Could not restore your identity.' };
      const hello = { type: 'welcome', username: 'New Name', room: 'r', token: 'new', epoch: 'A' };
      if (order === 'welcome-first') {
        last().serverSend(hello);
        last().serverSend(error);
      } else {
        last().serverSend(error);
        assert.equal(identity.get(), '', 'the refused token is forgotten');
        last().serverSend(hello);
      }
      assert.equal(identity.get(), 'new', order);
      const notices = shown.entries.filter((e) => e.marker === 'notice');
      assert.equal(notices.length, 1, order);
      assert.equal(notices[0].text, 'Could not restore your identity.');
      assert.equal(notices[0].code, 'invalid_token');
      assert.deepEqual(shown.toasts, [], 'not a failed send, not a toast');
      assert.deepEqual(shown.names, ['New Name']);
      assert.equal(session.myName, 'New Name');
      session.stop();
    }
  });

  test('message_deleted removes a message by offset; it does not move the resume point', async () => {
    const { session, shown, last, welcome } = fakeSession();
    welcome();
    last().serverSend(chat('m1', 'X', 'bad words', { offset: 7, epoch: 'A' }));
    last().serverSend(chat('m2', 'Y', 'fine', { offset: 8, epoch: 'A' }));
    last().serverSend({ type: 'message_deleted', room: 'r', offset: 7, epoch: 'A' });
    assert.deepEqual(shown.entries.map((e) => [e.offset, e.deleted, e.text]), [[7, true, ''], [8, false, 'fine']]);
    last().serverSend({ type: 'message_deleted', room: 'other', offset: 8, epoch: 'A' });
    assert.equal(shown.entries[1].deleted, false, 'another room’s deletion is not ours');
    assert.equal(session.lastOffset, 8);
    last().serverClose();
    await sleep(30);
    assert.match(last().url, /since=8&epoch=A/);
    session.stop();
  });

  test('refusals: muted and slow_mode tell the composer (until, retry_after_ms); blocked_text only fails', () => {
    const limits = [];
    const { session, shown, last, welcome, chats } = fakeSession();
    session.ui.limit = (l) => limits.push(l);
    welcome();
    for (const [code, extra] of [
      ['muted', { until: '2026-11-25T14:05:00Z' }],
      ['slow_mode', { retry_after_ms: 8000 }],
      ['blocked_text', {}],
    ]) {
      session.send(`try ${code}`);
      const frame = chats().at(-1);
      last().serverSend({ type: 'error', code, message: `no: ${code}`, client_msg_id: frame.client_msg_id, ...extra });
    }
    assert.deepEqual(shown.entries.map((e) => [e.status, e.error.code, e.error.message]), [
      ['failed', 'muted', 'no: muted'],
      ['failed', 'slow_mode', 'no: slow_mode'],
      ['failed', 'blocked_text', 'no: blocked_text'],
    ]);
    assert.equal(shown.entries[0].error.until, '2026-11-25T14:05:00Z');
    assert.equal(shown.entries[1].error.retryAfterMs, 8000);
    assert.deepEqual(limits.map((l) => l.code), ['muted', 'slow_mode']);
    // the refused message keeps its frame for Retry
    const [first] = chats();
    session.retry(first.client_msg_id);
    assert.deepEqual(chats().at(-1), first);
    session.stop();
  });

  test('report(): the frame goes out when connected; report_received marks it and says thanks', () => {
    const { session, shown, last, welcome } = fakeSession();
    assert.equal(session.report(3, 'spam'), false, 'not connected: nothing sent');
    welcome();
    last().serverSend(chat('m1', 'X', 'buy now', { offset: 3, epoch: 'A' }));
    assert.equal(session.report(3, '  spam, twice  '), true);
    assert.deepEqual(last().sent.at(-1), { type: 'report', offset: 3, reason: 'spam, twice' });
    assert.equal(session.report(-1, 'x'), false);
    last().serverSend({ type: 'report_received', offset: 3 });
    assert.equal(shown.entries[0].reported, true);
    assert.equal(shown.toasts.length, 1);
    assert.match(shown.toasts[0], /reported, thank you/i);
    // a refused report (no client_msg_id): its message as a toast
    last().serverSend({ type: 'error', code: 'rate_limited', message: 'Too many reports.' });
    assert.equal(shown.toasts.at(-1), 'Too many reports.');
    session.stop();
  });

  test('typing frames with users: everyone but us, one update per frame', () => {
    const changes = [];
    const { session, last, welcome } = fakeSession();
    session.typing.onChange = (names) => changes.push(names);
    welcome();
    last().serverSend({ type: 'typing', room: 'r', username: 'A', users: ['A', 'Me', 'B'] });
    assert.deepEqual(changes, [['A', 'B']]);
    last().serverSend({ type: 'typing', room: 'r', username: 'C' }); // an older server: one name
    assert.deepEqual(changes.at(-1), ['A', 'B', 'C']);
    session.stop();
  });
});

describe('message store: verified, deleted, reported', () => {
  test('verified:false is kept; true or missing is verified', () => {
    const { store } = recordingStore();
    const a = store.incoming(chat('a', 'HTTP Guest', 'hi', { verified: false }));
    const b = store.incoming(chat('b', 'Ws User', 'hi', { verified: true }));
    const c = store.incoming(chat('c', 'Old Server', 'hi'));
    assert.deepEqual([a.verified, b.verified, c.verified], [false, true, true]);
    // under our own name: ours (an earlier visit) unless sent without an identity
    store.addOwnName('Me');
    const mine = store.incoming(chat('d', 'Me', 'from yesterday'));
    const fake = store.incoming(chat('e', 'Me', 'pretending', { verified: false }));
    assert.deepEqual([mine.byUs, fake.byUs, a.byUs], [true, false, false]);
  });

  test('deleted in history: no text; message_deleted live, before the message, or in a later replay', () => {
    const { store, log } = recordingStore();
    const gone = store.incoming(chat('a', 'X', '', { deleted: true, offset: 1 }), { history: true });
    assert.deepEqual([gone.deleted, gone.text], [true, '']);
    const live = store.incoming(chat('b', 'X', 'rude', { offset: 2, epoch: 'A' }));
    log.length = 0;
    assert.equal(store.markDeleted(2, 'A'), live);
    assert.deepEqual([live.deleted, live.text], [true, '']);
    assert.deepEqual(log, [['update', 'm:b', null]]);
    assert.equal(store.markDeleted(2, 'A'), live, 'twice: no second update');
    assert.equal(log.length, 1);

    // another log's offset 3 is not this one
    const other = store.incoming(chat('c', 'X', 'kept', { offset: 3, epoch: 'B' }));
    store.markDeleted(3, 'A');
    assert.equal(other.deleted, false);

    // the deletion first (the message was held back or not here yet)
    assert.equal(store.markDeleted(9, 'A'), null);
    const late = store.incoming(chat('d', 'X', 'late', { offset: 9, epoch: 'A' }));
    assert.deepEqual([late.deleted, late.text], [true, '']);

    // shown, then replayed as deleted after a reconnect
    const shown = store.incoming(chat('e', 'X', 'was fine', { offset: 10 }));
    store.incoming(chat('e', 'X', '', { offset: 10, deleted: true }));
    assert.deepEqual([shown.deleted, shown.text], [true, '']);
    assert.equal(store.size, 5, 'nothing added or removed');
  });

  test('our own message can be removed too; a report is marked once', () => {
    const { store } = recordingStore();
    store.addOwn({ clientMsgId: 'c1', text: 'mine', username: 'Me' });
    store.markStatus('c1', 'sending');
    const own = store.ack({ client_msg_id: 'c1', message_id: 'm1', offset: 4 });
    store.markDeleted(4);
    assert.deepEqual([own.deleted, own.text, own.status], [true, '', 'delivered']);
    const theirs = store.incoming(chat('m2', 'X', 'meh', { offset: 5 }));
    assert.equal(store.markReported(5), theirs);
    assert.equal(theirs.reported, true);
    assert.equal(store.markReported(99), null);
  });
});

describe('typing names and reports', () => {
  test('typingNames: users without us, valid and unique, at most 10; username from older servers', () => {
    assert.deepEqual(typingNames({ users: ['A', 'Me', 'B', 'A', '', 7, ' '] }, 'Me'), ['A', 'B']);
    assert.deepEqual(typingNames({ username: 'Solo' }, 'Me'), ['Solo']);
    assert.deepEqual(typingNames({ username: 'Me' }, 'Me'), []);
    assert.deepEqual(typingNames({ username: 'X', users: [] }, 'Me'), [], 'users wins when present');
    const many = Array.from({ length: 14 }, (_, i) => `P${i}`);
    assert.equal(typingNames({ users: many }).length, MAX_TYPING_NAMES);
    assert.deepEqual(typingNames(null), []);
    assert.equal(typingText(typingNames({ users: ['A', 'B', 'C'] })), '3 people are typing…');
  });

  test('TypingTracker.seenAll: one change for a frame of names', () => {
    const changes = [];
    const tracker = new TypingTracker({ onChange: (n) => changes.push(n) });
    tracker.seenAll(['A', 'B']);
    tracker.seenAll(['A', 'B']);
    tracker.seenAll(['B', 'C']);
    assert.deepEqual(changes, [['A', 'B'], ['A', 'B', 'C']]);
    tracker.clear();
    tracker.dispose();
  });

  test('reportFrame: offset and a trimmed reason of at most 200 characters', () => {
    assert.deepEqual(reportFrame(12, '  spam  '), { type: 'report', offset: 12, reason: 'spam' });
    assert.deepEqual(reportFrame(0), { type: 'report', offset: 0, reason: '' });
    assert.equal(reportFrame(0, '🌸'.repeat(250)).reason, '🌸'.repeat(MAX_REPORT_CHARS), 'characters, not UTF-16 units');
    assert.equal(reportFrame(1, '<img src=x onerror=alert(1)>').reason, '<img src=x onerror=alert(1)>', 'text as typed');
    for (const bad of [-1, 1.5, '3', null, undefined, Number.NaN]) assert.equal(reportFrame(bad, 'x'), null, String(bad));
  });
});

describe('Control Center moderation requests', () => {
  test('bodies as the server wants them, each with the moderator', async () => {
    const { requests, withModerator, targetOf, parseSlowMode, checkModerator, newestFirst, describeTarget } = await import('../js/admin/moderation.js');
    const target = targetOf('id-1');
    assert.deepEqual(target, { identity: 'id-1' });
    assert.equal(targetOf(null), null, 'no identity (HTTP): nothing to mute');
    const sent = (r) => withModerator(r, 'Mika');
    assert.deepEqual(sent(requests.deleteMessage('a b', 7, '  spam ')), {
      method: 'DELETE',
      path: '/api/admin/rooms/a%20b/messages/7',
      body: { reason: 'spam', moderator: 'Mika' },
    });
    assert.deepEqual(sent(requests.mute(target, 300, '')).body, { target, duration_seconds: 300, reason: '', moderator: 'Mika' });
    assert.deepEqual(sent(requests.unmute({ address: '203.0.113.7' })), { method: 'DELETE', path: '/api/admin/mutes', body: { target: { address: '203.0.113.7' }, moderator: 'Mika' } });
    assert.deepEqual(sent(requests.ban(target, 'x')), { method: 'POST', path: '/api/admin/bans', body: { target, reason: 'x', moderator: 'Mika' } });
    assert.deepEqual(sent(requests.unban(target)).body, { target, moderator: 'Mika' });
    assert.deepEqual(sent(requests.slowMode('r', 0)), { method: 'PUT', path: '/api/admin/rooms/r/slow-mode', body: { seconds: 0, moderator: 'Mika' } });
    assert.deepEqual(sent(requests.dismissReport('r', 3)), { method: 'DELETE', path: '/api/admin/reports', body: { room: 'r', offset: 3, moderator: 'Mika' } });
    assert.equal(requests.deleteMessage('r', 1, 'x'.repeat(300)).body.reason.length, 200);
    assert.deepEqual(['0', ' 15 ', '3600', '3601', '-1', '1.5', 'ten', ''].map(parseSlowMode), [0, 15, 3600, null, null, null, null, null]);
    assert.deepEqual([checkModerator('  Mika '), checkModerator('  '), checkModerator('x'.repeat(41))], ['Mika', null, null]);
    assert.deepEqual(newestFirst([{ at: '2026-01-01T00:00:00Z', n: 1 }, { at: 'junk', n: 2 }, { at: '2026-01-02T00:00:00Z', n: 3 }]).map((x) => x.n), [3, 1, 2]);
    assert.deepEqual([describeTarget({ identity: 'i' }), describeTarget({ address: '::1' })], ['identity i', 'address ::1']);
  });
});
