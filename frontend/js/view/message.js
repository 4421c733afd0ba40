// One entry of the message list as a node: a message (ours with its
// delivery state and, when refused, the reason and a Retry button; others'
// with a Report button; an "unverified" tag on messages sent without a chat
// identity; no text at all once a moderator removed it) or a marker (a
// divider or a notice between messages).

import { el, icon } from '../dom.js';
import { paintAvatar, paintHue } from './avatar.js';

export const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
/** HH:MM, for "muted until" (a wall-clock time, 24 h everywhere) */
export const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
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

export function parseTime(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "You are muted until 14:05", or null without a valid time. */
export function mutedUntilText(until) {
  const d = typeof until === 'string' ? parseTime(until) : null;
  return d ? `You are muted until ${clockFormat.format(d)}` : null;
}

/**
 * Dividers and notices in the message flow:
 *   history-end  between the replayed history and live messages
 *   resumed      before the messages replayed after a reconnect
 *   gap          the server could not replay everything (recovered: false)
 *   notice       something to know, e.g. our identity could not be restored
 * @param {import('../messages.js').Entry} entry
 * @param {Date|null} joinedAt
 */
export function renderMarker(entry, joinedAt) {
  if (entry.marker === 'notice') {
    return el(
      'li',
      { class: 'notice notice--info', dataset: { testid: 'notice', code: entry.code ?? '', key: entry.key }, role: 'note' },
      icon('info'),
      el('span', { text: entry.text }),
    );
  }
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
    entry.verified === false && !entry.own
      ? el('span', {
          class: 'msg__unverified',
          dataset: { testid: 'unverified' },
          title: 'Sent without a chat identity: over plain HTTP, under a name anyone can type',
          text: 'unverified',
        })
      : null,
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
      el(
        'span',
        { class: 'msg__reason' },
        icon('alert'),
        el('span', { text: entry.error?.message || 'Not sent.' }),
        entry.error?.code === 'muted' && mutedUntilText(entry.error.until)
          ? el('span', { class: 'msg__until', dataset: { testid: 'muted-until' }, text: ` ${mutedUntilText(entry.error.until)}.` })
          : null,
      ),
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

/** Others' messages: "Report" (shown on hover and focus, always on touch screens), or that we did. */
function renderActions(entry) {
  if (entry.own || entry.byUs || entry.deleted || entry.offset === null) return null;
  if (entry.reported) {
    return el('span', { class: 'msg__reported', dataset: { testid: 'reported' }, text: 'reported' });
  }
  return el(
    'button',
    {
      type: 'button',
      class: 'msg__report',
      dataset: { testid: 'report-button', action: 'report', offset: String(entry.offset) },
      'aria-label': `Report this message from ${entry.username || 'Anonymous'}`,
      title: 'Report to the moderators',
    },
    icon('flag'),
  );
}

function renderBubble(entry) {
  if (entry.deleted) {
    return el(
      'div',
      { class: 'msg__bubble msg__bubble--removed' },
      el('p', { class: 'msg__text msg__removed', dataset: { testid: 'message-removed' } }, icon('trash'), el('span', { text: 'message removed by a moderator' })),
    );
  }
  return el('div', { class: 'msg__bubble' }, el('p', { class: 'msg__text', dataset: { testid: 'message-text' }, text: entry.text }));
}

/** @param {import('../messages.js').Entry} entry */
export function renderMessage(entry) {
  const when = parseTime(entry.timestamp);
  // a removed message has nothing left to say about its delivery
  const status = entry.own && !entry.deleted ? entry.status ?? 'delivered' : null;

  const avatar = el('div', { class: 'avatar msg__avatar', 'aria-hidden': 'true' });
  paintAvatar(avatar, entry.username);
  const line = el('div', { class: 'msg__line' }, renderBubble(entry), renderActions(entry));

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
        verified: entry.verified === false ? 'false' : 'true',
        deleted: entry.deleted ? 'true' : 'false',
        ...(entry.offset !== null ? { offset: String(entry.offset) } : {}),
        ...(entry.messageId ? { messageId: entry.messageId } : {}),
        ...(entry.clientMsgId ? { clientMsgId: entry.clientMsgId } : {}),
      },
    },
    avatar,
    el('div', { class: 'msg__body' }, renderMeta(entry, when), line, status ? renderStatus(entry, status) : null),
  );
  paintHue(node, entry.username);
  return node;
}
