// "Replying to Sakura Blade: …" above the message box while a reply is
// being written: the quote (spoilers blurred) and a button to stop
// replying; Escape in the message box does the same.

import { quoteOf } from '../message-state.js';
import { quoteContent } from './quote.js';

export class ReplyBar {
  /**
   * @param {Document} doc
   * @param {{onChange?: () => void}} [handlers] onChange: started or stopped (the list may need to stay at the bottom)
   */
  constructor(doc, { onChange } = {}) {
    this.node = doc.getElementById('reply-bar');
    this.quote = doc.getElementById('reply-bar-quote');
    this.cancel = doc.getElementById('reply-cancel');
    this.onChange = onChange ?? (() => {});
    /** offset of the message being answered, or null */
    this.offset = null;
    this.cancel.addEventListener('click', () => {
      this.clear();
      doc.getElementById('message-input')?.focus();
    });
  }

  get active() {
    return this.offset !== null;
  }

  /** Answer `entry`; ctx: names and our name (mentions in the preview). */
  start(entry, ctx = {}) {
    this.offset = entry.offset;
    this.quote.replaceChildren(...quoteContent(quoteOf(entry), ctx));
    this.node.hidden = false;
    this.node.dataset.offset = String(entry.offset);
    this.cancel.setAttribute('aria-label', `Stop replying to ${entry.username || 'Anonymous'}`);
    this.onChange();
  }

  /** The message being answered was removed: say so, the reply may still go. */
  follow(entry) {
    if (this.offset === null || entry.offset !== this.offset) return;
    this.quote.replaceChildren(...quoteContent(quoteOf(entry)));
  }

  clear() {
    if (this.offset === null) return;
    this.offset = null;
    this.node.hidden = true;
    this.quote.replaceChildren();
    delete this.node.dataset.offset;
    this.onChange();
  }
}
