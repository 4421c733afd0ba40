// The inline "report this message" form under a message: an optional
// reason (at most 200 characters), Report / Cancel. One form at a time; it
// is an inline form (not prompt()) so it looks like the page and works the
// same with mouse, keys and touch. Escape or Cancel closes it and gives the
// focus back to the message's Report button.

import { el } from '../dom.js';
import { MAX_REPORT_CHARS } from '../chat/reports.js';
import { MessagePanel } from './message-panel.js';

export class ReportForm extends MessagePanel {
  /** @param {{onSubmit: (offset: number, reason: string) => boolean}} handlers  returns false when it could not be sent */
  constructor({ onSubmit }) {
    super('msg--reporting', 'report');
    this.onSubmit = onSubmit;
  }

  /** Open under the message `li` (its Report button was pressed). */
  open(li) {
    this.close({ restoreFocus: false });
    const offset = Number(li.dataset.offset);
    if (!Number.isSafeInteger(offset)) return;
    this.begin(li.dataset.key, offset);
    const id = `report-reason-${offset}`;
    const input = el('input', {
      id,
      class: 'report__input',
      type: 'text',
      maxlength: String(MAX_REPORT_CHARS),
      placeholder: 'spam, insults, spoilers… (optional)',
      autocomplete: 'off',
      enterkeyhint: 'send',
      dataset: { testid: 'report-reason' },
    });
    const error = el('p', { class: 'report__error', dataset: { testid: 'report-error' }, role: 'alert', hidden: true });
    const form = el(
      'form',
      { class: 'report', dataset: { testid: 'report-form' }, 'aria-label': `Report message from ${li.dataset.author || 'Anonymous'}` },
      el('label', { class: 'report__label', for: id, text: 'Why report it? (optional)' }),
      el(
        'div',
        { class: 'report__row' },
        input,
        el('button', { type: 'submit', class: 'report__send', dataset: { testid: 'report-submit' }, text: 'Report' }),
        el('button', { type: 'button', class: 'report__cancel', dataset: { testid: 'report-cancel' }, text: 'Cancel' }),
      ),
      error,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.onSubmit(this.offset, input.value)) {
        this.close();
      } else {
        error.textContent = 'Not connected right now: try again in a moment.';
        error.hidden = false;
      }
    });
    form.querySelector('.report__cancel').addEventListener('click', () => this.close());
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.stopPropagation(); // not the drawer's Escape
        this.close();
      }
    });
    this.node = form;
    this.attach(li);
    input.focus();
  }
}
