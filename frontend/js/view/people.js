// Who is here: the side panel's list of people online (ourselves first,
// marked "you") and the "X is typing…" line under the messages.

import { el } from '../dom.js';
import { typingText } from '../people.js';
import { paintAvatar, paintHue } from './avatar.js';

const youTag = () => el('span', { class: 'person__you', text: 'you' });

export class PeopleView {
  /**
   * @param {Document} doc
   * @param {{keepBottom: (change: () => void) => void}} messages  the typing line sits under the messages
   */
  constructor(doc, { keepBottom }) {
    this.keepBottom = keepBottom;
    const $ = (id) => doc.getElementById(id);
    this.els = {
      people: $('presence-list'),
      count: $('people-count'),
      empty: $('presence-empty'),
      typing: $('typing'),
      typingText: $('typing-text'),
    };
  }

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
        me ? youTag() : null,
      );
    });
    this.els.people.replaceChildren(...nodes);
    this.els.count.textContent = String(people.length);
    this.els.empty.hidden = people.length > 0;
  }

  /** Our name arrived after the presence list: mark it. */
  markMe(username) {
    for (const node of this.els.people.children) {
      const me = node.dataset.name === username;
      if ((node.dataset.me === 'true') === me) continue;
      node.dataset.me = String(me);
      node.classList.toggle('person--me', me);
      node.querySelector('.person__you')?.remove();
      if (me) node.append(youTag());
    }
  }

  /** @param {string[]} names others typing right now */
  setTyping(names) {
    const text = typingText(names);
    const { typing, typingText: label } = this.els;
    this.keepBottom(() => {
      typing.hidden = text === '';
      if (label.textContent !== text) label.textContent = text;
      typing.dataset.count = String(names.length);
      if (names.length > 0) paintHue(typing, names[0]);
    });
  }
}
