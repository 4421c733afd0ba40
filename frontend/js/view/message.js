// One entry of the message list as a node: a message (ours with its
// delivery state and, when refused, the reason and a Retry button) or a
// marker (a divider or a notice between messages).

import { el, icon } from '../dom.js';
import { paintAvatar, paintHue } from './avatar.js';

export const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** Our message's state, as the footer says it ("failed" shows the reason instead). */
const STATUS_TEXT = {
  waiting: 'Waiting for connection…',
  sending: 'Sending…',
  // the server could not tell whether it was stored; the page asks again
  checking: 'Checking…',
  delivered: 'Delivered',
};

const STATUS_ICON = {
  waiting: 'clock',
  sending: null, // CSS spinner
  checking: null,
  delivered: 'checks',
  failed: 'alert',
};

function parseTime(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * Dividers and notices in the message flow:
 *   history-end  between the replayed history and live messages
 *   resumed      before the messages replayed after a reconnect
 *   gap          the server could not replay everything (recovered: false)
 * @param {import('../messages.js').Entry} entry
 * @param {Date|null} joinedAt
 */
export function renderMarker(entry, joinedAt) {
  if (entry.marker === 'gap') {
    return el(
      'li',
      { class: 'notice', dataset: { testid: 'history-notice', key: entry.key }, role: 'note' },
      icon('alert'),
      el('span', { text: entry.text || 'Some older messages are no longer available.' }),
    );
  }
  if (entry.marker === 'history-end') {
    const joined = joinedAt ? ` · you joined at ${timeFormat.format(joinedAt)}` : '';
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

function renderMeta(entry, when) {
  return el(
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
}

/** Under our own messages: where the message is, or why it was refused. */
function renderStatus(entry, status) {
  if (status === 'failed') {
    return el(
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
  }
  const iconName = STATUS_ICON[status];
  return el(
    'div',
    { class: `msg__status msg__status--${status}`, dataset: { testid: 'message-status' } },
    iconName ? icon(iconName) : el('span', { class: 'spinner', 'aria-hidden': 'true' }),
    el('span', { text: STATUS_TEXT[status] ?? status }),
  );
}

/** @param {import('../messages.js').Entry} entry */
export function renderMessage(entry) {
  const when = parseTime(entry.timestamp);
  const status = entry.own ? entry.status ?? 'delivered' : null;

  const avatar = el('div', { class: 'avatar msg__avatar', 'aria-hidden': 'true' });
  paintAvatar(avatar, entry.username);
  const bubble = el(
    'div',
    { class: 'msg__bubble' },
    el('p', { class: 'msg__text', dataset: { testid: 'message-text' }, text: entry.text }),
  );

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
    el('div', { class: 'msg__body' }, renderMeta(entry, when), bubble, status ? renderStatus(entry, status) : null),
  );
  paintHue(node, entry.username);
  return node;
}
