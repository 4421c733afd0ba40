// A message's actions: React and Reply on every message the server has,
// Edit (for 15 minutes) and Delete on ours, Report on others' (or "reported"
// once we did). Shown on hover and focus beside the bubble; on narrow
// screens behind a "more" button, under the bubble.

import { el, icon } from '../dom.js';
import { canEdit, isLive, isMine } from '../chat/actions.js';

const button = (action, iconName, label, extra = {}) =>
  el(
    'button',
    { type: 'button', class: `msg__action msg__action--${action}`, 'aria-label': label, title: label, dataset: { testid: `${action}-button`, action, ...extra } },
    icon(iconName),
  );

/** Others' messages we may report (not ours, not removed, known to the server). */
const reportable = (entry) => !entry.own && !entry.byUs && !entry.deleted && entry.offset !== null;

/**
 * The toolbar for `entry`, or null when nothing can be done with it.
 * @param {number} now for the edit window
 */
export function renderActions(entry, now = Date.now()) {
  const live = isLive(entry) && !entry.pendingDelete;
  const who = entry.username || 'Anonymous';
  const buttons = [];
  if (live) {
    buttons.push(button('react', 'smile', 'React to this message'));
    buttons.push(button('reply', 'reply', `Reply to ${who}`));
  }
  if (live && isMine(entry)) {
    if (canEdit(entry, now)) buttons.push(button('edit', 'pencil', 'Edit your message'));
    buttons.push(button('delete', 'trash', 'Delete your message'));
  }
  let reported = null;
  if (reportable(entry)) {
    if (entry.reported) reported = el('span', { class: 'msg__reported', dataset: { testid: 'reported' }, text: 'reported' });
    else buttons.push(button('report', 'flag', `Report this message from ${who}`, { offset: String(entry.offset) }));
  }
  if (buttons.length === 0) return reported;
  // the toolbar's own label says whose message it is for
  const more = el(
    'button',
    { type: 'button', class: 'msg__more', 'aria-label': `Actions for this message from ${who}`, 'aria-expanded': 'false', dataset: { testid: 'more-button', action: 'more' } },
    icon('dots'),
  );
  return el(
    'div',
    { class: 'msg__tools' },
    more,
    el('div', { class: 'msg__actions', role: 'group', 'aria-label': 'Message actions', dataset: { testid: 'message-actions' } }, ...buttons),
    reported,
  );
}
