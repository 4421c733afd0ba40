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
import { EDIT_WINDOW_MS, actionError, actionFrame, canEdit, previewOf } from '../js/chat/actions.js';
import { MAX_REACTION_KINDS, REACTION_EMOJI, ReactionMemory, applyReactionChange, cleanReactions, reactionKey } from '../js/chat/reactions.js';
import { UnreadRooms, countUnread, unreadUrl, withUnread } from '../js/chat/unread.js';
import { insertMention, matchNames, mentionQuery } from '../js/mentions.js';
import { mentionsName, plainText, tokenize } from '../js/text.js';
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
  asSentence,
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
  test('server messages as sentences: capitalised, with a full stop unless they end in punctuation', () => {
    assert.equal(asSentence('a moderator muted you for a while'), 'A moderator muted you for a while.');
    assert.equal(asSentence(' slow mode: one message every 30 s in this room '), 'Slow mode: one message every 30 s in this room.');
    assert.equal(asSentence('Slow down: 5 messages per 10 s.'), 'Slow down: 5 messages per 10 s.');
    assert.equal(asSentence('Really?'), 'Really?');
    assert.equal(asSentence('émoji ahead'), 'Émoji ahead.');
    assert.equal(asSentence(''), '');
    assert.equal(asSentence(null), '');
  });

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
    const delivered = [];
    session.ui.delivered = (at) => delivered.push(at);
    const before = Date.now();
    session.retry(first.client_msg_id);
    assert.deepEqual(chats().at(-1), first);
    // stored after all: the composer learns when it was sent (the Retry), once
    last().serverSend({ type: 'ack', client_msg_id: first.client_msg_id, message_id: 'm-1', offset: 1, epoch: 'A' });
    last().serverSend({ type: 'ack', client_msg_id: first.client_msg_id, message_id: 'm-1', offset: 1, epoch: 'A' });
    assert.equal(delivered.length, 1);
    assert.ok(delivered[0] >= before && delivered[0] <= Date.now(), 'the time of the Retry');
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
    assert.deepEqual(sent(requests.dismissReport('r', 3, 'old-log')), { method: 'DELETE', path: '/api/admin/reports', body: { room: 'r', offset: 3, epoch: 'old-log', moderator: 'Mika' } });
    assert.equal(requests.deleteMessage('r', 1, 'x'.repeat(300)).body.reason.length, 200);
    assert.deepEqual(['0', ' 15 ', '3600', '3601', '-1', '1.5', 'ten', ''].map(parseSlowMode), [0, 15, 3600, null, null, null, null, null]);
    assert.deepEqual([checkModerator('  Mika '), checkModerator('  '), checkModerator('x'.repeat(41))], ['Mika', null, null]);
    assert.deepEqual(newestFirst([{ at: '2026-01-01T00:00:00Z', n: 1 }, { at: 'junk', n: 2 }, { at: '2026-01-02T00:00:00Z', n: 3 }]).map((x) => x.n), [3, 1, 2]);
    assert.deepEqual([describeTarget({ identity: 'i' }), describeTarget({ address: '::1' })], ['identity i', 'address ::1']);
  });

  test('addresses typed for a mute or ban: the IPv4 and IPv6 forms the server takes, and why others are not', async () => {
    const { parseAddress, addressProblem, requests, withModerator } = await import('../js/admin/moderation.js');
    const good = ['203.0.113.7', ' 10.0.0.1 ', '0.0.0.0', '255.255.255.255', '::1', '::', '2001:db8::1', '2001:DB8:0:0:0:0:0:1', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::ffff:192.0.2.1', '1:2:3:4:5:6:192.0.2.1'];
    assert.deepEqual(good.map(parseAddress), good.map((a) => a.trim()));
    for (const a of good) assert.equal(addressProblem(a), null, a);
    const bad = ['', '   ', 'abc', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1:2:3:4:5:6:7:8:9', '1::2::3', ':::', '1:2:3:4:5:6:7:192.0.2.1', '192.0.2.1::', 'fe80::1%eth0', '12345::', 'g::1', '[::1]', '10.0.0.0/8', '1.2.3.4:80'];
    for (const a of bad) assert.equal(parseAddress(a), null, a);
    assert.match(addressProblem('  '), /Type the client’s IP address/);
    assert.match(addressProblem('10.0.0.0/8'), /not a range/);
    assert.match(addressProblem('2001:db8::/32'), /not a range/);
    assert.match(addressProblem('[::1]:8080'), /without brackets or a port/);
    assert.match(addressProblem('1.2.3.4:80'), /without brackets or a port/);
    assert.match(addressProblem('chat.example'), /Not an IP address/);
    assert.deepEqual(withModerator(requests.mute({ address: '203.0.113.7' }, 3600, ' raid '), 'Mika'), {
      method: 'POST',
      path: '/api/admin/mutes',
      body: { target: { address: '203.0.113.7' }, duration_seconds: 3600, reason: 'raid', moderator: 'Mika' },
    });
    assert.deepEqual(withModerator(requests.ban({ address: '::1' }, ''), 'Mika').body, { target: { address: '::1' }, reason: '', moderator: 'Mika' });
  });

  test('audit entries as the server writes them: room, offset, seconds, until, reason; details of other servers', async () => {
    const { auditFacts, describeDetails } = await import('../js/admin/audit-view.js');
    assert.deepEqual(auditFacts({ action: 'delete', room: 'r', offset: 3, by: 'M', reason: 'spam' }), ['message #3', '“spam”']);
    assert.deepEqual(auditFacts({ action: 'slow_mode', room: 'r', seconds: 30 }), ['one message per 30 s']);
    assert.deepEqual(auditFacts({ action: 'slow_mode', room: 'r', seconds: 0 }), ['off']);
    assert.deepEqual(auditFacts({ action: 'mute', target: { identity: 'i' }, until: 'junk', reason: '  ' }), ['until –']);
    assert.deepEqual(auditFacts({ action: 'ban', details: { reason: 'x', n: 1 } }), ['reason: x · n: 1']);
    assert.deepEqual(auditFacts({ action: 'unban' }), []);
    assert.equal(describeDetails({ target: { address: '::1' } }), 'target: {"address":"::1"}');
  });
});

// ---- replies, reactions, edits, deletions, mentions, spoilers, links, unread ----------------

describe('text tokenizer: spoilers, links, mentions', () => {
  const kinds = (parts) => parts.map((p) => (p.type === 'spoiler' ? ['spoiler', kinds(p.parts)] : [p.type, p.text]));

  test('plain text and markup-looking text stay text', () => {
    assert.deepEqual(kinds(tokenize('hello universe')), [['text', 'hello universe']]);
    assert.deepEqual(kinds(tokenize('<b onclick=x>hi</b> <script>')), [['text', '<b onclick=x>hi</b> <script>']]);
    assert.deepEqual(tokenize(''), []);
    assert.deepEqual(tokenize(null), []);
  });

  test('spoilers: closed, several, "nested" (|| toggles), unclosed and empty stay text', () => {
    assert.deepEqual(kinds(tokenize('a ||b|| c')), [['text', 'a '], ['spoiler', [['text', 'b']]], ['text', ' c']]);
    assert.deepEqual(kinds(tokenize('||x|| and ||y||')), [['spoiler', [['text', 'x']]], ['text', ' and '], ['spoiler', [['text', 'y']]]]);
    assert.deepEqual(kinds(tokenize('||a ||b|| c||')), [['spoiler', [['text', 'a ']]], ['text', 'b'], ['spoiler', [['text', ' c']]]]);
    assert.deepEqual(kinds(tokenize('the end is ||near')), [['text', 'the end is ||near']]);
    assert.deepEqual(kinds(tokenize('||one|| ||two')), [['spoiler', [['text', 'one']]], ['text', ' ||two']]);
    assert.deepEqual(kinds(tokenize('|||| and || ||')), [['text', '|||| and || ||']]);
    assert.deepEqual(kinds(tokenize('a | b ||| c')), [['text', 'a | b ||| c']]);
  });

  test('a preview cut inside a spoiler keeps the rest hidden (openSpoiler)', () => {
    assert.deepEqual(kinds(tokenize('he dies in ||episode 2', { openSpoiler: true })), [['text', 'he dies in '], ['spoiler', [['text', 'episode 2']]]]);
    assert.deepEqual(kinds(tokenize('||a|| b ||c', { openSpoiler: true })), [['spoiler', [['text', 'a']]], ['text', ' b '], ['spoiler', [['text', 'c']]]]);
    assert.deepEqual(kinds(tokenize('fine ||', { openSpoiler: true })), [['text', 'fine ']]);
  });

  test('links: http(s) only, trailing punctuation left out, balanced brackets kept', () => {
    const links = (text) => tokenize(text).filter((p) => p.type === 'link').map((p) => [p.text, p.href]);
    assert.deepEqual(links('see https://example.com/a.'), [['https://example.com/a', 'https://example.com/a']]);
    assert.deepEqual(links('(wiki: https://en.wikipedia.org/wiki/Frieren_(manga)).'), [['https://en.wikipedia.org/wiki/Frieren_(manga)', 'https://en.wikipedia.org/wiki/Frieren_(manga)']]);
    assert.deepEqual(links('"http://a.b/c?d=1&e=2", right?!'), [['http://a.b/c?d=1&e=2', 'http://a.b/c?d=1&e=2']]);
    assert.deepEqual(links('HTTPS://Example.COM/Path'), [['HTTPS://Example.COM/Path', 'https://example.com/Path']]);
    assert.deepEqual(links('two: https://a.io, https://b.io!'), [['https://a.io', 'https://a.io/'], ['https://b.io', 'https://b.io/']]);
    for (const text of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>alert(1)</script>', 'vbscript:x', 'file:///etc/passwd', 'ftp://x.y', 'https://', 'xhttps://evil.com', 'javascript:https://a.b']) {
      assert.ok(tokenize(text).every((p) => p.type !== 'link' || p.href.startsWith('https://a.b')), text);
    }
    assert.deepEqual(links('javascript://https://a.b'), [['https://a.b', 'https://a.b/']], 'only the https URL inside is linked');
    assert.deepEqual(tokenize('javascript://https://a.b')[0], { type: 'text', text: 'javascript://' });
    // a quote or angle bracket ends the URL: nothing can break out of the attribute
    assert.deepEqual(links('https://a.b/x"onmouseover="alert(1)'), [['https://a.b/x', 'https://a.b/x']]);
    assert.deepEqual(links('https://a.b/<script>'), [['https://a.b/', 'https://a.b/']]);
  });

  test('mentions: known names with spaces, one word otherwise, not inside words, ours marked', () => {
    const names = ['Sakura Blade', 'Neo', 'Azure Ronin'];
    const mentions = (text, me = 'Azure Ronin') => tokenize(text, { names, me }).filter((p) => p.type === 'mention').map((p) => [p.text, p.name, p.me]);
    assert.deepEqual(mentions('hi @Sakura Blade!'), [['@Sakura Blade', 'Sakura Blade', false]]);
    assert.deepEqual(mentions('@azure ronin look'), [['@azure ronin', 'Azure Ronin', true]], 'case-insensitive');
    assert.deepEqual(mentions('(@Neo), @Neo.'), [['@Neo', 'Neo', false], ['@Neo', 'Neo', false]]);
    assert.deepEqual(mentions('@Sakura Bladex'), [['@Sakura', 'Sakura', false]], 'a longer word is another name');
    assert.deepEqual(mentions('mail me@example.com or a@Neo'), [], 'not inside a word');
    assert.deepEqual(mentions('@ nobody, @'), []);
    assert.deepEqual(mentions('@Stranger-Kun hi'), [['@Stranger-Kun', 'Stranger-Kun', false]]);
    assert.deepEqual(mentions('ping @Azure', 'Azure'), [['@Azure', 'Azure', true]]);
    const spoiled = tokenize('||@Neo dies||', { names });
    assert.deepEqual(kinds(spoiled), [['spoiler', [['mention', '@Neo'], ['text', ' dies']]]]);
    assert.equal(mentionsName('||psst @azure ronin||', 'Azure Ronin'), true, 'also inside a spoiler');
    assert.equal(mentionsName('hi @Azure Ronin2', 'Azure Ronin'), false);
    assert.equal(mentionsName('anything', ''), false);
  });

  test('links and mentions next to each other and inside spoilers', () => {
    const parts = tokenize('@Neo https://a.io/x ||https://b.io|| done', { names: ['Neo'] });
    assert.deepEqual(kinds(parts), [
      ['mention', '@Neo'],
      ['text', ' '],
      ['link', 'https://a.io/x'],
      ['text', ' '],
      ['spoiler', [['link', 'https://b.io']]],
      ['text', ' done'],
    ]);
    assert.equal(plainText(parts), '@Neo https://a.io/x ▒▒▒ done');
  });
});

describe('mention autocomplete', () => {
  test('mentionQuery: "@" and at least one letter at the caret, not inside an e-mail address', () => {
    assert.deepEqual(mentionQuery('hi @sa'), { start: 3, end: 6, query: 'sa' });
    assert.deepEqual(mentionQuery('@S', 2), { start: 0, end: 2, query: 'S' });
    assert.deepEqual(mentionQuery('hi @Sakura B'), { start: 3, end: 12, query: 'Sakura B' });
    assert.equal(mentionQuery('hi @'), null, 'a letter first');
    assert.equal(mentionQuery('me@exa'), null);
    assert.equal(mentionQuery('hi @sa, and'), null, 'past the name');
    assert.equal(mentionQuery('@a\nb'), null);
    assert.deepEqual(mentionQuery('@sa and more', 3), { start: 0, end: 3, query: 'sa' }, 'at the caret, not the end');
    assert.equal(mentionQuery(`@${'a'.repeat(41)}`), null);
  });

  test('matchNames: prefix first, then a later word; accents and case ignored; not us; at most 6', () => {
    const names = ['Azure Ronin', 'Sakura Blade', 'Neon Kitsune', 'Nebula Samurai', 'Blade Runner', 'Éclair Mage', 'Neon Kitsune'];
    assert.deepEqual(matchNames('ne', names, { me: 'Azure Ronin' }), ['Neon Kitsune', 'Nebula Samurai']);
    assert.deepEqual(matchNames('bla', names), ['Blade Runner', 'Sakura Blade']);
    assert.deepEqual(matchNames('ecl', names), ['Éclair Mage']);
    assert.deepEqual(matchNames('az', names, { me: 'azure ronin' }), [], 'never ourselves');
    assert.deepEqual(matchNames('Sakura B', names), ['Sakura Blade']);
    assert.deepEqual(matchNames('', names), []);
    assert.equal(matchNames('p', Array.from({ length: 10 }, (_, i) => `P${i}`)).length, 6);
    assert.deepEqual(matchNames('x', [null, 3, '', 'Xan']), ['Xan']);
  });

  test('insertMention: "@Name " in place of what was typed, caret after it', () => {
    assert.deepEqual(insertMention('hi @sa', { start: 3, end: 6 }, 'Sakura Blade'), { value: 'hi @Sakura Blade ', caret: 17 });
    assert.deepEqual(insertMention('@ne is here', { start: 0, end: 3 }, 'Neon Kitsune'), { value: '@Neon Kitsune is here', caret: 14 });
  });
});

describe('reactions and actions (DOM-free helpers)', () => {
  test('the 18 emoji; lists cleaned; one change applied like the server would', () => {
    assert.equal(REACTION_EMOJI.length, 18);
    assert.deepEqual(REACTION_EMOJI, ['🔥', '❤️', '😂', '👍', '👎', '😮', '😢', '🎉', '👀', '🙏', '💯', '✨', '🤔', '😍', '😭', '🤯', '⭐', '🌸']);
    assert.deepEqual(cleanReactions([{ emoji: '🔥', count: 3, users: ['A', 'A', 7, 'B'] }, { emoji: '🔥', count: 1 }, { emoji: '', count: 1 }, null, { emoji: '😂', count: 0, users: [] }, { emoji: '<img>', count: 2 }]), [
      { emoji: '🔥', count: 3, users: ['A', 'B'] },
      { emoji: '<img>', count: 2, users: [] },
    ]);
    let list = applyReactionChange([], { emoji: '🔥', added: true, username: 'A' });
    list = applyReactionChange(list, { emoji: '🔥', added: true, username: 'B' });
    list = applyReactionChange(list, { emoji: '🔥', added: true, username: 'B' }); // one per person
    list = applyReactionChange(list, { emoji: '😂', added: true, username: 'A' });
    assert.deepEqual(list, [{ emoji: '🔥', count: 2, users: ['B', 'A'] }, { emoji: '😂', count: 1, users: ['A'] }]);
    list = applyReactionChange(list, { emoji: '😂', added: false, username: 'A' });
    list = applyReactionChange(list, { emoji: '🔥', added: false, username: 'A' });
    assert.deepEqual(list, [{ emoji: '🔥', count: 1, users: ['B'] }]);
    assert.equal(MAX_REACTION_KINDS, 8);
  });

  test('ReactionMemory: per message key, in storage, survives a reload; blocked storage keeps memory', () => {
    const storage = memoryStorage();
    const memory = new ReactionMemory(storage);
    const key = reactionKey('r', 'A', 7);
    memory.set(key, '🔥', true);
    memory.set(key, '😂', true);
    memory.set(key, '😂', false);
    assert.equal(new ReactionMemory(storage).has(key, '🔥'), true, 'a reload finds it');
    assert.equal(new ReactionMemory(storage).has(key, '😂'), false);
    assert.equal(new ReactionMemory(storage).has(reactionKey('r', 'B', 7), '🔥'), false, 'another epoch: another message');
    const blocked = new ReactionMemory(memoryStorage({ blocked: true }));
    blocked.set(key, '🔥', true);
    assert.equal(blocked.has(key, '🔥'), true);
  });

  test('edit window, previews, frames', () => {
    const mine = { own: true, status: 'delivered', offset: 3, deleted: false, timestamp: new Date(Date.now() - 60000).toISOString() };
    assert.equal(canEdit(mine), true);
    assert.equal(canEdit({ ...mine, timestamp: new Date(Date.now() - EDIT_WINDOW_MS - 1).toISOString() }), false);
    assert.equal(canEdit({ ...mine, own: false }), false);
    assert.equal(canEdit({ ...mine, own: false, byUs: true }), true, 'our name from an earlier visit');
    assert.equal(canEdit({ ...mine, status: 'sending' }), false);
    assert.equal(canEdit({ ...mine, deleted: true }), false);
    assert.equal(previewOf('a'.repeat(200)).length, 120);
    assert.equal(previewOf('  two\n lines  '), 'two lines');
    assert.deepEqual(actionFrame('react', { offset: 1, emoji: '🔥' }, 'c'), { type: 'react', offset: 1, emoji: '🔥', client_msg_id: 'c' });
    assert.deepEqual(actionFrame('edit', { offset: 1, text: '  new  ' }, 'c'), { type: 'edit', offset: 1, text: 'new', client_msg_id: 'c' });
    assert.equal(actionFrame('edit', { offset: 1, text: '   ' }, 'c'), null);
    assert.deepEqual(actionFrame('delete', { offset: 0 }, 'c'), { type: 'delete', offset: 0, client_msg_id: 'c' });
    assert.equal(actionFrame('delete', { offset: -1 }, 'c'), null);
    assert.deepEqual(actionError({ code: 'too_many_reactions' }).code, 'too_many_reactions');
    assert.match(actionError({ code: 'edit_window_passed' }).message, /15 minutes/);
    assert.equal(actionError({ code: 'not_yours', message: 'Nope.' }).message, 'Nope.');
  });
});

/** A store with our name and a memory of reactions (as the session builds it). */
function featureStore({ memory = new ReactionMemory(memoryStorage()) } = {}) {
  const log = [];
  const store = new MessageStore({
    holdMs: 50,
    room: 'r',
    reactionMemory: memory,
    hooks: { insert: (e) => log.push(['insert', e.key]), update: (e) => log.push(['update', e.key]), remove: (e) => log.push(['remove', e.key]) },
  });
  store.addOwnName('Me');
  return { store, log, memory };
}

describe('message store: replies, edits, deletions, reactions', () => {
  test('reply previews: from the frame, from the page when the server only knows the offset, ours at once', () => {
    const { store } = featureStore();
    const target = store.incoming(chat('m1', 'Sakura', 'the ||twist|| at the end', { offset: 1, epoch: 'A' }));
    const full = store.incoming(chat('m2', 'Neo', 'same', { offset: 2, epoch: 'A', reply_to: { offset: 1, username: 'Sakura', text: 'the ||twist|| at the end', deleted: false } }));
    assert.deepEqual(full.replyTo, { offset: 1, username: 'Sakura', text: 'the ||twist|| at the end', deleted: false, known: true });
    const bare = store.incoming(chat('m3', 'Neo', 'again', { offset: 3, epoch: 'A', reply_to: { offset: 1 } }));
    assert.deepEqual(bare.replyTo, { offset: 1, username: 'Sakura', text: 'the ||twist|| at the end', deleted: false, known: true });
    const unknown = store.incoming(chat('m4', 'Neo', 'old', { offset: 4, epoch: 'A', reply_to: { offset: 0 } }));
    assert.deepEqual(unknown.replyTo, { offset: 0, username: '', text: '', deleted: false, known: false });
    assert.equal(store.incoming(chat('m5', 'X', 'junk', { offset: 5, reply_to: { offset: 'x' } })).replyTo, null);
    const long = store.incoming(chat('m6', 'X', 'y', { offset: 6, reply_to: { offset: 1, username: 'S', text: 'z'.repeat(300) } }));
    assert.equal(Array.from(long.replyTo.text).length, 120);
    store.addOwn({ clientMsgId: 'c1', text: 'mine', username: 'Me', replyTo: { offset: target.offset, username: 'Sakura', text: target.text, deleted: false, known: true } });
    assert.equal(store.byClientId.get('c1').replyTo.offset, 1);
  });

  test('edits: text and edited_at, from history, live, before the message arrived; quotes follow; a removed message stays removed', () => {
    const { store, log } = featureStore();
    const edited = store.incoming(chat('m1', 'X', 'fixed typo', { offset: 1, epoch: 'A', edited_at: '2026-11-25T12:05:00Z' }), { history: true });
    assert.deepEqual([edited.text, edited.editedAt], ['fixed typo', '2026-11-25T12:05:00Z']);
    const reply = store.incoming(chat('m2', 'Y', 'lol', { offset: 2, epoch: 'A', reply_to: { offset: 1, username: 'X', text: 'fixed typo' } }));
    log.length = 0;
    store.applyEdit(1, 'A', 'fixed typo again', '2026-11-25T12:06:00Z');
    assert.equal(edited.text, 'fixed typo again');
    assert.equal(reply.replyTo.text, 'fixed typo again', 'the quote follows');
    assert.deepEqual(log, [['update', 'm:m2'], ['update', 'm:m1']]);
    store.applyEdit(1, 'B', 'another log', 'x');
    assert.equal(edited.text, 'fixed typo again', 'an offset of another epoch is another message');

    // before the message (held back, or not here yet)
    assert.equal(store.applyEdit(9, 'A', 'later text', '2026-11-25T12:07:00Z'), null);
    const late = store.incoming(chat('m9', 'X', 'first text', { offset: 9, epoch: 'A' }));
    assert.deepEqual([late.text, late.editedAt], ['later text', '2026-11-25T12:07:00Z']);

    store.markDeleted(1, 'A', 'author');
    assert.deepEqual([edited.deleted, edited.deletedBy, edited.text, edited.editedAt], [true, 'author', '', null]);
    assert.deepEqual(reply.replyTo, { offset: 1, username: 'X', text: '', deleted: true, known: true }, 'the quote says it is gone');
    store.applyEdit(1, 'A', 'back from the dead', 'y');
    assert.equal(edited.text, '', 'nothing brings a removed text back');
  });

  test('deletions: by the author, by a moderator, or replayed (who is not said)', () => {
    const { store } = featureStore();
    const a = store.incoming(chat('a', 'X', 'one', { offset: 1 }));
    const b = store.incoming(chat('b', 'X', 'two', { offset: 2 }));
    const c = store.incoming(chat('c', 'X', '', { offset: 3, deleted: true }), { history: true });
    store.markDeleted(1, null, 'author');
    store.markDeleted(2, null);
    assert.deepEqual([a.deletedBy, b.deletedBy, c.deletedBy], ['author', 'moderator', 'unknown']);
    const d = store.incoming(chat('d', 'X', '', { offset: 4, deleted: true, deleted_by: 'author' }));
    assert.equal(d.deletedBy, 'author');
    assert.deepEqual([a.reactions, a.replyTo], [[], null]);
  });

  test('reactions: counts and mine (our name in users; cut-short users and this page made it)', () => {
    const { store, memory } = featureStore();
    const m = store.incoming(chat('m1', 'X', 'hype', { offset: 5, epoch: 'A', reactions: [{ emoji: '🔥', count: 2, users: ['Me', 'B'] }, { emoji: '😂', count: 1, users: ['B'] }] }));
    assert.deepEqual(m.reactions.map((r) => [r.emoji, r.count, r.mine]), [['🔥', 2, true], ['😂', 1, false]]);
    // 12 people: users holds 10 of them, not us; this page made one
    const many = Array.from({ length: 10 }, (_, i) => `P${i}`);
    memory.set(reactionKey('r', 'A', 5), '👍', true);
    memory.set(reactionKey('r', 'A', 5), '😂', true);
    store.setReactions(5, 'A', [{ emoji: '👍', count: 12, users: many }, { emoji: '😂', count: 1, users: ['B'] }]);
    assert.deepEqual(m.reactions.map((r) => [r.emoji, r.mine]), [['👍', true], ['😂', false]], 'a full list without us is not ours, whatever was remembered');
    // one change, when the server sends no list
    store.changeReaction(5, 'A', { emoji: '😂', added: true, username: 'Me' });
    store.changeReaction(5, 'A', { emoji: '🎉', added: true, username: 'C' });
    assert.deepEqual(m.reactions.map((r) => [r.emoji, r.count, r.mine]), [['👍', 12, true], ['😂', 2, true], ['🎉', 1, false]]);
    store.changeReaction(5, 'A', { emoji: '😂', added: false, username: 'Me' });
    assert.deepEqual(m.reactions.map((r) => [r.emoji, r.count, r.mine]), [['👍', 12, true], ['😂', 1, false], ['🎉', 1, false]]);
    // remembering one made now
    store.setReactions(5, 'A', [{ emoji: '🎉', count: 11, users: many }]);
    assert.equal(m.reactions[0].mine, false);
    store.rememberReaction(5, 'A', '🎉', true);
    assert.equal(m.reactions[0].mine, true);
    // before the message arrives
    store.setReactions(8, 'A', [{ emoji: '🌸', count: 1, users: ['Me'] }]);
    const later = store.incoming(chat('m8', 'X', 'late', { offset: 8, epoch: 'A' }));
    assert.deepEqual(later.reactions.map((r) => [r.emoji, r.mine]), [['🌸', true]]);
  });
});

describe('resume cursor and session: event frames', () => {
  test('event_offset moves the resume point (never backwards); a moderator deletion without one does not', () => {
    const c = new ResumeCursor();
    c.observe({ type: 'chat_message', offset: 4, epoch: 'A' });
    c.observe({ type: 'reactions', offset: 2, event_offset: 9, epoch: 'A' });
    assert.deepEqual(c.params(), { since: 9, epoch: 'A' });
    c.observe({ type: 'message_deleted', offset: 4, epoch: 'A' });
    assert.deepEqual(c.params(), { since: 9, epoch: 'A' });
    c.observe({ type: 'message_edited', offset: 4, event_offset: 11, epoch: 'A' });
    c.observe({ type: 'message_deleted', offset: 4, event_offset: 12, by: 'author', epoch: 'A' });
    c.observe({ type: 'chat_message', offset: 10, epoch: 'A' }); // replayed, older
    assert.deepEqual(c.params(), { since: 12, epoch: 'A' });
    c.observe({ type: 'reactions', offset: 0, event_offset: 1, epoch: 'B' });
    assert.deepEqual(c.params(), { since: 1, epoch: 'B' }, 'a new log: the event’s own offset');
  });

  test('a resume replays events about messages we have: applied once, and the next resume starts after them', async () => {
    const { session, shown, last, welcome } = fakeSession();
    welcome();
    last().serverSend(chat('m1', 'X', 'hello', { offset: 1, epoch: 'A' }));
    last().serverSend(chat('m2', 'Y', 'world', { offset: 2, epoch: 'A' }));
    last().serverClose();
    await sleep(30);
    assert.match(last().url, /since=2&epoch=A/);
    last().serverOpen();
    last().serverSend({ type: 'welcome', username: 'Me', room: 'r', epoch: 'A' });
    const reacted = { type: 'reactions', room: 'r', offset: 1, event_offset: 3, emoji: '🔥', added: true, username: 'Z', epoch: 'A' };
    last().serverSend(reacted);
    last().serverSend({ type: 'message_edited', room: 'r', offset: 2, event_offset: 4, text: 'world!', edited_at: '2026-11-25T12:00:00Z', epoch: 'A' });
    last().serverSend({ type: 'message_deleted', room: 'r', offset: 1, event_offset: 5, by: 'author', epoch: 'A' });
    last().serverSend({ ...reacted }); // an overlapping replay sends it again
    last().serverSend({ type: 'history_end', room: 'r', recovered: true, epoch: 'A' });
    const [one, two] = shown.entries;
    assert.deepEqual([one.deleted, one.deletedBy], [true, 'author']);
    assert.deepEqual([two.text, two.editedAt], ['world!', '2026-11-25T12:00:00Z']);
    assert.equal(shown.entries.length, 2, 'nothing new shown');
    last().serverClose();
    await sleep(30);
    assert.match(last().url, /since=5&epoch=A/, 'the events count for the resume point');
    session.stop();
  });

  test('a reactions frame without its list applies the one change, once', () => {
    const { session, shown, last, welcome } = fakeSession();
    welcome();
    last().serverSend(chat('m1', 'X', 'hi', { offset: 1, epoch: 'A' }));
    const change = { type: 'reactions', room: 'r', offset: 1, event_offset: 2, emoji: '🔥', added: true, username: 'Z', epoch: 'A' };
    last().serverSend(change);
    last().serverSend(change);
    last().serverSend({ ...change, event_offset: 3, username: 'Me' });
    assert.deepEqual(shown.entries[0].reactions.map((r) => [r.emoji, r.count, r.mine]), [['🔥', 2, true]]);
    last().serverSend({ ...change, event_offset: 4, room: 'other' });
    assert.equal(shown.entries[0].reactions[0].count, 2, 'another room’s frame is not ours');
    session.stop();
  });
});

describe('room session: reply, react, edit, delete', () => {
  test('send() with a reply: reply_to in the frame, the quote at once', () => {
    const { session, shown, last, welcome, chats } = fakeSession();
    welcome();
    last().serverSend(chat('m1', 'X', 'question?', { offset: 1, epoch: 'A' }));
    session.send('answer', { replyTo: 1 });
    assert.deepEqual(chats().at(-1).reply_to, 1);
    assert.deepEqual(shown.entries[1].replyTo, { offset: 1, username: 'X', text: 'question?', deleted: false, known: true });
    session.send('plain');
    assert.equal('reply_to' in chats().at(-1), false);
    session.stop();
  });

  test('react: the frame, the ack remembers it (mine after a reload); a refusal under the message', () => {
    const memory = new ReactionMemory(memoryStorage());
    const { session, shown, last, welcome } = fakeSession({ reactionMemory: memory });
    welcome();
    last().serverSend(chat('m1', 'X', 'hi', { offset: 1, epoch: 'A' }));
    assert.equal(Boolean(session.react(1, '🔥')), true);
    const frame = last().sent.at(-1);
    assert.deepEqual({ ...frame, client_msg_id: 'x' }, { type: 'react', offset: 1, emoji: '🔥', client_msg_id: 'x' });
    last().serverSend({ type: 'ack', client_msg_id: frame.client_msg_id, message_id: 'e1', offset: 2, epoch: 'A' });
    assert.equal(memory.has(reactionKey('r', 'A', 1), '🔥'), true);
    assert.equal(session.lastOffset, 1, 'an ack does not move the resume point');

    session.react(1, '🤯');
    const refused = last().sent.at(-1);
    last().serverSend({ type: 'error', code: 'too_many_reactions', client_msg_id: refused.client_msg_id });
    assert.equal(shown.entries[0].actionError.code, 'too_many_reactions');
    assert.match(shown.entries[0].actionError.message, /8/);
    assert.deepEqual(shown.toasts, []);
    assert.equal(session.react(99, '🔥'), null, 'not a message we have');
    session.stop();
  });

  test('edit: pending, then the ack applies it; delete: pending, then removed by its author; outcome_unknown sends the same frame again', async () => {
    const { session, shown, last, welcome } = fakeSession();
    welcome();
    session.send('teh typo');
    const sent = last().sent.at(-1);
    last().serverSend({ type: 'ack', client_msg_id: sent.client_msg_id, message_id: 'm1', offset: 1, epoch: 'A' });
    const mine = shown.entries[0];
    assert.equal(session.edit(1, 'teh typo'), false, 'unchanged: nothing to send');
    assert.equal(session.edit(1, ' the typo '), true);
    const edit = last().sent.at(-1);
    assert.deepEqual([edit.type, edit.offset, edit.text], ['edit', 1, 'the typo']);
    assert.deepEqual([mine.text, mine.pendingEdit], ['teh typo', 'the typo']);
    last().serverSend({ type: 'error', code: 'outcome_unknown', client_msg_id: edit.client_msg_id });
    await sleep(150);
    assert.deepEqual(last().sent.at(-1), edit, 'the very same frame again');
    last().serverSend({ type: 'ack', client_msg_id: edit.client_msg_id, message_id: 'e1', offset: 2, epoch: 'A' });
    assert.deepEqual([mine.text, mine.pendingEdit, typeof mine.editedAt], ['the typo', null, 'string']);
    last().serverSend({ type: 'message_edited', room: 'r', offset: 1, event_offset: 2, text: 'the typo', edited_at: '2026-11-25T12:00:00Z', epoch: 'A' });
    assert.equal(mine.text, 'the typo');

    session.edit(1, 'too late');
    const late = last().sent.at(-1);
    last().serverSend({ type: 'error', code: 'edit_window_passed', message: 'Too late.', client_msg_id: late.client_msg_id });
    assert.deepEqual([mine.text, mine.pendingEdit, mine.actionError.message], ['the typo', null, 'Too late.']);

    assert.equal(session.remove(1), true);
    const del = last().sent.at(-1);
    assert.deepEqual([del.type, del.offset], ['delete', 1]);
    assert.equal(mine.pendingDelete, true);
    last().serverSend({ type: 'ack', client_msg_id: del.client_msg_id, message_id: 'e2', offset: 3, epoch: 'A' });
    assert.deepEqual([mine.deleted, mine.deletedBy, mine.text, mine.actionError], [true, 'author', '', null]);
    assert.equal(session.remove(1), false, 'gone already');
    session.stop();
  });
});

describe('unread counts of rooms visited before', () => {
  test('the URL and what an answer counts', () => {
    assert.equal(unreadUrl('shonen-jump', { offset: 41, epoch: 'e 1' }), '/api/rooms/shonen-jump/messages?limit=99&since=41&epoch=e%201');
    assert.equal(unreadUrl('a', { offset: null, epoch: 'x' }), '/api/rooms/a/messages?limit=99', 'empty when we left: everything is new');
    const body = {
      messages: [
        { type: 'chat_message', username: 'A', text: 'hi @Me', offset: 1 },
        { username: 'Me', text: 'mine, from another tab', offset: 2 },
        { username: 'B', text: '', deleted: true, offset: 3 },
        { type: 'message_edited', offset: 1, text: 'x' },
        { username: 'C', text: '||@me|| psst', offset: 4 },
      ],
      recovered: true,
    };
    assert.deepEqual(countUnread(body, 'Me'), { count: 2, more: false, mentions: 2, unknown: false });
    assert.deepEqual(countUnread({ messages: Array.from({ length: 99 }, () => ({ username: 'A', text: 'x' })) }).more, true);
    assert.equal(countUnread({ messages: [], recovered: false }).unknown, true);
    assert.deepEqual(countUnread(null), { count: 0, more: false, mentions: 0, unknown: false });
  });

  test('UnreadRooms: remembers where we left, asks when told, forgets a room we open; kept for a reload', async () => {
    const storage = memoryStorage();
    const asked = [];
    const fetchImpl = async (url) => {
      asked.push(url);
      return { ok: true, json: async () => ({ messages: [{ username: 'A', text: 'news' }, { username: 'B', text: '@Me look' }], recovered: true }) };
    };
    let updates = 0;
    const unread = new UnreadRooms({ onUpdate: () => (updates += 1), me: () => 'Me', fetch: fetchImpl, storage });
    await unread.refresh();
    assert.deepEqual(asked, [], 'nothing followed: no requests');
    unread.leave('lobby', { offset: 7, epoch: 'A' });
    await unread.refresh();
    assert.deepEqual(asked, ['/api/rooms/lobby/messages?limit=99&since=7&epoch=A']);
    assert.deepEqual(unread.get('lobby'), { count: 2, more: false, mentions: 1, unknown: false });
    assert.equal(updates, 1);
    await unread.refresh();
    assert.equal(updates, 1, 'the same counts: no update');
    assert.deepEqual(withUnread([{ room: 'r', active_connections: 2 }], unread), [
      { room: 'r', active_connections: 2, unread: null },
      { room: 'lobby', active_connections: 0, unread: { count: 2, more: false, mentions: 1, unknown: false } },
    ]);
    const reloaded = new UnreadRooms({ onUpdate: () => {}, fetch: fetchImpl, storage });
    assert.deepEqual([...reloaded.left], [['lobby', { offset: 7, epoch: 'A' }]]);
    unread.open('lobby');
    assert.equal(unread.get('lobby'), null);
    assert.equal(updates, 2);
    await unread.refresh();
    assert.equal(asked.length, 2, 'an opened room is not asked about');
    for (let i = 0; i < 12; i += 1) unread.leave(`room-${i}`, { offset: i, epoch: 'A' });
    assert.equal(unread.left.size, 8, 'at most 8 rooms followed');
  });
});
