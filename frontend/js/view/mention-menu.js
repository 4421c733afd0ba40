// The list of names under "@sa…" in the message box: people online whose
// name matches what is typed (js/mentions.js). Up/Down move, Enter or Tab
// take the name, Escape closes; a click takes it too. The box keeps the
// focus (aria-activedescendant points at the highlighted name).

import { el } from '../dom.js';
import { fold, insertMention, matchNames, mentionQuery } from '../mentions.js';
import { paintAvatar } from './avatar.js';

export class MentionMenu {
  /**
   * @param {Document} doc
   * @param {{names: () => string[], me: () => string}} source  people online, our name
   */
  constructor(doc, { names, me }) {
    this.input = doc.getElementById('message-input');
    this.list = doc.getElementById('mention-menu');
    this.names = names;
    this.me = me;
    this.matches = [];
    this.active = 0;
    this.query = null;
    this.input.setAttribute('aria-autocomplete', 'list');
    this.input.setAttribute('aria-controls', this.list.id);
    this.input.setAttribute('aria-expanded', 'false');
    this.input.addEventListener('input', () => this.refresh());
    this.input.addEventListener('click', () => this.refresh());
    this.input.addEventListener('blur', () => this.close());
    // keep the focus in the box: the pick happens on click, after mousedown
    this.list.addEventListener('mousedown', (event) => event.preventDefault());
    this.list.addEventListener('click', (event) => {
      const option = event.target instanceof Element ? event.target.closest('[data-name]') : null;
      if (option) this.pick(Number(option.dataset.index));
    });
  }

  get open() {
    return this.matches.length > 0;
  }

  refresh() {
    const { value, selectionStart, selectionEnd } = this.input;
    const query = selectionStart === selectionEnd ? mentionQuery(value, selectionStart) : null;
    let matches = query ? matchNames(query.query, this.names(), { me: this.me() }) : [];
    // "@Sakura Blade " (a name, then a space): that mention is complete
    if (query && /\s$/.test(query.query) && matches.some((n) => fold(n) === fold(query.query.trimEnd()))) matches = [];
    this.query = query;
    if (matches.join('\n') !== this.matches.join('\n')) this.active = 0;
    this.matches = matches;
    this.render();
  }

  /** Keys in the message box; true when the menu used the key. */
  handleKey(event) {
    if (!this.open || event.isComposing) return false;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const n = this.matches.length;
      this.active = (this.active + (event.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.render();
    } else if ((event.key === 'Enter' && !event.shiftKey) || (event.key === 'Tab' && !event.shiftKey)) {
      this.pick(this.active);
    } else if (event.key === 'Escape') {
      this.close();
    } else {
      return false;
    }
    event.preventDefault();
    event.stopPropagation();
    return true;
  }

  pick(index) {
    const name = this.matches[index];
    if (!name || !this.query) return;
    const { value, caret } = insertMention(this.input.value, this.query, name);
    this.input.value = value;
    this.input.setSelectionRange(caret, caret);
    this.close();
    // the composer grows, counts and tells the server we are typing, as for any input
    this.input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  close() {
    if (!this.open && this.list.hidden) return;
    this.matches = [];
    this.query = null;
    this.render();
  }

  render() {
    const { list, input } = this;
    const open = this.open;
    list.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
    if (!open) {
      list.replaceChildren();
      input.removeAttribute('aria-activedescendant');
      return;
    }
    list.replaceChildren(
      ...this.matches.map((name, i) => {
        const avatar = el('span', { class: 'avatar avatar--sm', 'aria-hidden': 'true' });
        paintAvatar(avatar, name);
        return el(
          'li',
          {
            id: `mention-option-${i}`,
            class: `mention-menu__option${i === this.active ? ' mention-menu__option--active' : ''}`,
            role: 'option',
            'aria-selected': i === this.active ? 'true' : 'false',
            dataset: { testid: 'mention-option', name, index: String(i) },
          },
          avatar,
          el('span', { class: 'mention-menu__name', text: name }),
        );
      }),
    );
    input.setAttribute('aria-activedescendant', `mention-option-${this.active}`);
  }
}
