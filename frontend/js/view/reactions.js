// Reactions under a message (an emoji and its count; ours highlighted, and
// pressing one of ours takes it back, pressing another's adds ours) and the
// picker of the 18 emoji the server takes, opened from a message's React
// button. One picker at a time, inline under the message; arrow keys move
// between emoji, Escape closes it and gives the focus back.

import { el } from '../dom.js';
import { MAX_REACTION_KINDS, REACTION_EMOJI, reactionName } from '../chat/reactions.js';
import { MessagePanel } from './message-panel.js';

/** "Sakura Blade, Neon Kitsune and 3 more" (users: at most 10 names; count: all) */
function whoReacted({ users, count, mine }, me) {
  const names = users.map((u) => (u === me ? 'you' : u));
  if (mine && !names.includes('you')) names.unshift('you');
  const more = count - names.length;
  if (names.length === 0) return `${count} ${count === 1 ? 'person' : 'people'}`;
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

/** The row of reactions under a message, or null when it has none. */
export function renderReactions(entry, me = '') {
  const list = entry.reactions ?? [];
  if (list.length === 0 || entry.deleted) return null;
  return el(
    'div',
    { class: 'reactions', dataset: { testid: 'reactions' }, role: 'group', 'aria-label': 'Reactions' },
    ...list.map((r) =>
      el(
        'button',
        {
          type: 'button',
          class: `reaction${r.mine ? ' reaction--mine' : ''}`,
          'aria-pressed': r.mine ? 'true' : 'false',
          'aria-label': `${reactionName(r.emoji)} ${r.emoji}: ${r.count}${r.mine ? ', yours: press to take it back' : ''}`,
          title: whoReacted(r, me),
          dataset: { testid: 'reaction', action: 'reaction', emoji: r.emoji, mine: r.mine ? 'true' : 'false', count: String(r.count) },
        },
        el('span', { class: 'reaction__emoji', 'aria-hidden': 'true', text: r.emoji }),
        el('span', { class: 'reaction__count', 'aria-hidden': 'true', text: String(r.count) }),
      ),
    ),
  );
}

export class ReactionPicker extends MessagePanel {
  /** @param {{onPick: (offset: number, emoji: string, mine: boolean) => void}} handlers */
  constructor({ onPick }) {
    super('msg--picking', 'react');
    this.onPick = onPick;
  }

  /** Open under the message `li` (its React button was pressed), for `entry`. */
  open(li, entry) {
    this.begin(entry.key, entry.offset);
    const mine = new Set((entry.reactions ?? []).filter((r) => r.mine).map((r) => r.emoji));
    const present = new Set((entry.reactions ?? []).map((r) => r.emoji));
    const full = present.size >= MAX_REACTION_KINDS;
    const buttons = REACTION_EMOJI.map((emoji) =>
      el('button', {
        type: 'button',
        class: `picker__emoji${mine.has(emoji) ? ' picker__emoji--mine' : ''}`,
        'aria-label': reactionName(emoji),
        'aria-pressed': mine.has(emoji) ? 'true' : 'false',
        title: full && !present.has(emoji) ? 'This message has 8 different reactions already' : reactionName(emoji),
        dataset: { testid: 'picker-emoji', emoji },
        text: emoji,
      }),
    );
    const node = el('div', { class: 'picker', dataset: { testid: 'reaction-picker' }, role: 'group', 'aria-label': 'Pick a reaction' }, ...buttons);
    node.addEventListener('click', (event) => {
      const button = event.target instanceof Element ? event.target.closest('[data-emoji]') : null;
      if (!button) return;
      const { emoji } = button.dataset;
      const offset = this.offset;
      this.close();
      this.onPick(offset, emoji, mine.has(emoji));
    });
    node.addEventListener('keydown', (event) => this.onKey(event, buttons));
    this.node = node;
    this.attach(li);
    buttons[0].focus();
  }

  onKey(event, buttons) {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation(); // not the composer's or the drawer's Escape
      this.close();
      return;
    }
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 6, ArrowUp: -6 }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    const i = buttons.indexOf(event.target);
    buttons[Math.min(buttons.length - 1, Math.max(0, i + step))].focus();
  }
}
