// What the page says outside the message list: short-lived toasts (errors
// not tied to one of our messages) and sentences for screen readers only.

import { el, icon } from '../dom.js';

const TOAST_MS = 5000;
const MAX_TOASTS = 3;

export class Notices {
  /** @param {Document} doc */
  constructor(doc) {
    this.toasts = doc.getElementById('toasts');
    this.announcer = doc.getElementById('announcer');
  }

  /** Say something to screen readers only. */
  announce(text) {
    const a = this.announcer;
    a.textContent = '';
    // A separate task so repeated identical texts are announced again.
    setTimeout(() => {
      a.textContent = text;
    }, 50);
  }

  toast(text, kind = 'error') {
    const node = el(
      'div',
      { class: `toast toast--${kind}`, dataset: { testid: 'toast' } },
      icon(kind === 'error' ? 'alert' : 'check'),
      el('span', { text }),
    );
    this.toasts.append(node);
    while (this.toasts.childElementCount > MAX_TOASTS) this.toasts.firstElementChild?.remove();
    setTimeout(() => {
      node.classList.add('toast--leaving');
      setTimeout(() => node.remove(), 400);
    }, TOAST_MS);
  }
}
