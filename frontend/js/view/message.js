// One entry of the message list as a node: a message (ours with its
// delivery state and, when refused, the reason and a Retry button; an
// "unverified" tag on messages sent without a chat identity; the quote of
// the message it answers; its text with mentions, spoilers and links; an
// "edited" tag; its reactions and actions (message-actions.js); no text at
// all once removed, by its author or a moderator) or a marker (a divider or
// a notice between messages).

import { el, icon } from '../dom.js';
import { asSentence } from '../util.js';
import { mentionsName, tokenize } from '../text.js';
import { paintAvatar, paintHue } from './avatar.js';
import { renderActions } from './message-actions.js';
import { renderQuote } from './quote.js';
import { renderReactions } from './reactions.js';
import { renderParts } from './rich-text.js';

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
  deleting: 'Deleting…',
};

const STATUS_ICON = {
  waiting: 'clock',
  sending: null, // CSS spinner
  checking: null,
  delivered: 'checks',
  failed: 'alert',
  deleting: null,
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
        // the server's reason as a sentence: "You are muted until …" may follow it
        el('span', { text: asSentence(entry.error?.message) || 'Not sent.' }),
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

/** A removed message; a replay does not say by whom ('unknown'). */
const REMOVED_TEXT = {
  author: 'message deleted',
  moderator: 'message removed by a moderator',
  unknown: 'message deleted',
};

/**
 * @param {import('../messages.js').Entry} entry
 * @param {{names?: string[], me?: string, revealed?: Set<number>}} ctx
 */
function renderBubble(entry, ctx) {
  if (entry.deleted) {
    const by = REMOVED_TEXT[entry.deletedBy] ? entry.deletedBy : 'moderator';
    return el(
      'div',
      { class: 'msg__bubble msg__bubble--removed' },
      el('p', { class: 'msg__text msg__removed', dataset: { testid: 'message-removed', by } }, icon('trash'), el('span', { text: REMOVED_TEXT[by] })),
    );
  }
  // our edit shows at once, marked "saving…" until the server has it
  const text = entry.pendingEdit ?? entry.text;
  const parts = tokenize(text, { names: ctx.names, me: ctx.me });
  const edited = entry.pendingEdit
    ? el('span', { class: 'msg__edited msg__edited--saving', dataset: { testid: 'edited' }, text: 'saving…' })
    : entry.editedAt
      ? el('span', {
          class: 'msg__edited',
          dataset: { testid: 'edited' },
          title: parseTime(entry.editedAt) ? `Edited ${fullFormat.format(parseTime(entry.editedAt))}` : 'Edited',
          text: 'edited',
        })
      : null;
  return el(
    'div',
    { class: 'msg__bubble' },
    el('p', { class: 'msg__text', dataset: { testid: 'message-text' } }, ...renderParts(parts, { revealed: ctx.revealed })),
    edited,
  );
}

/** A refused reaction, edit or deletion, for a while under the message. */
function renderActionError(entry) {
  if (!entry.actionError) return null;
  return el(
    'p',
    { class: 'msg__status msg__status--failed msg__action-error', dataset: { testid: 'action-error', code: entry.actionError.code }, role: 'alert' },
    icon('alert'),
    el('span', { text: entry.actionError.message }),
  );
}

/**
 * @param {import('../messages.js').Entry} entry
 * @param {{names?: string[], me?: string, revealed?: Set<number>, now?: number}} [ctx]
 *   names: people the page knows (mentions); me: our name; revealed: spoilers shown
 */
export function renderMessage(entry, ctx = {}) {
  const when = parseTime(entry.timestamp);
  // a removed message has nothing left to say about its delivery
  const status = entry.own && !entry.deleted ? (entry.pendingDelete ? 'deleting' : entry.status ?? 'delivered') : null;

  const avatar = el('div', { class: 'avatar msg__avatar', 'aria-hidden': 'true' });
  paintAvatar(avatar, entry.username);
  const line = el('div', { class: 'msg__line' }, renderBubble(entry, ctx), renderActions(entry, ctx.now ?? Date.now()));
  const mentionsMe = !entry.deleted && Boolean(ctx.me) && mentionsName(entry.text, ctx.me);

  const node = el(
    'li',
    {
      class: `msg${entry.own ? ' msg--own' : ''}${mentionsMe ? ' msg--mentions-me' : ''}${entry.pendingDelete ? ' msg--deleting' : ''}`,
      dataset: {
        testid: 'message',
        key: entry.key,
        own: entry.own ? 'true' : 'false',
        author: entry.username,
        status: status ?? 'received',
        time: when ? String(when.getTime()) : '',
        verified: entry.verified === false ? 'false' : 'true',
        deleted: entry.deleted ? 'true' : 'false',
        edited: entry.editedAt ? 'true' : 'false',
        ...(entry.offset !== null ? { offset: String(entry.offset) } : {}),
        ...(entry.messageId ? { messageId: entry.messageId } : {}),
        ...(entry.clientMsgId ? { clientMsgId: entry.clientMsgId } : {}),
        ...(entry.replyTo ? { replyTo: String(entry.replyTo.offset) } : {}),
      },
    },
    avatar,
    el(
      'div',
      { class: 'msg__body' },
      renderMeta(entry, when),
      entry.deleted ? null : renderQuote(entry.replyTo, ctx),
      line,
      renderReactions(entry, ctx.me),
      renderActionError(entry),
      status ? renderStatus(entry, status) : null,
    ),
  );
  paintHue(node, entry.username);
  return node;
}
