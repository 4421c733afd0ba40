// A chat message as the moderation lists show it (room messages, reports):
// offset, name, the "unverified" tag for messages sent without a chat
// identity, time and text, or that it was removed; and the actions about
// its author (mute for a while, ban). Names and texts are user text: they
// go in as text only.

import { el } from '../dom.js';
import { formatWhen } from './format.js';
import { targetOf } from './moderation.js';

/** @param {{offset, username, text, timestamp, verified, deleted, author}} m */
export function messageBody(m) {
  const when = formatWhen(m.timestamp);
  return el(
    'div',
    { class: 'adm-msg__body' },
    el(
      'p',
      { class: 'adm-msg__meta' },
      el('span', { class: 'adm-msg__offset', title: 'Offset in the log', text: `#${m.offset}` }),
      el('span', { class: 'adm-msg__name', dataset: { testid: 'mod-message-name' }, text: m.username || 'Anonymous' }),
      m.verified === false
        ? el('span', { class: 'adm-tag adm-tag--warn', dataset: { testid: 'mod-unverified' }, title: 'Sent over plain HTTP under a free name: no chat identity to mute or ban', text: 'unverified' })
        : null,
      el('time', { class: 'adm-msg__time', datetime: m.timestamp ?? '', text: when }),
    ),
    m.deleted
      ? el('p', { class: 'adm-msg__text adm-msg__text--removed', dataset: { testid: 'mod-message-removed' }, text: 'removed by a moderator' })
      : el('p', { class: 'adm-msg__text', dataset: { testid: 'mod-message-text' }, text: m.text ?? '' }),
  );
}

/**
 * Mute and ban for a message's author (none without an identity).
 * @param {{username: string, author: string|null}} m
 * @param {{mute: Function, ban: Function}} act  each resolves an error text or null
 * @param {string} [prefix] label prefix ("author" in reports)
 */
export function personActions(m, act, prefix = '') {
  const target = targetOf(m.author);
  if (!target) return [];
  const name = m.username || 'Anonymous';
  const who = prefix ? `${prefix} ` : '';
  return [
    {
      id: 'mute',
      label: `Mute ${who}`.trim(),
      title: `Mute ${name}`,
      tone: 'warn',
      confirm: { question: `Mute ${name}?`, yes: 'Mute', reason: true, duration: true },
      run: ({ seconds, reason }) => act.mute(target, seconds, reason),
    },
    {
      id: 'ban',
      label: `Ban ${who}`.trim(),
      title: `Ban ${name}`,
      tone: 'danger',
      confirm: { question: `Ban ${name}? They cannot connect until the ban is lifted.`, yes: 'Ban', reason: true },
      run: ({ reason }) => act.ban(target, reason),
    },
  ];
}
