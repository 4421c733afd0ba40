// Changing one of our messages in place: the editor that takes the place
// of its text (Enter saves, Shift+Enter adds a line, Escape cancels) and
// the inline "Delete this message?" confirmation. One of each at a time;
// both survive the message being drawn again (attach), and give the focus
// back to the message's button (or the message box) when they close.

import { el } from '../dom.js';
import { MAX_MESSAGE_CHARS, checkDraft } from '../util.js';
import { MessagePanel } from './message-panel.js';

export class MessageEditor extends MessagePanel {
  /**
   * @param {{onSave: (offset: number, text: string) => boolean, onClose?: (key: string) => void}} handlers
   *   onSave: false when nothing was sent; onClose: where the focus goes now
   */
  constructor({ onSave, onClose }) {
    super('msg--editing');
    this.onSave = onSave;
    this.onClose = onClose ?? (() => {});
  }

  open(li, entry) {
    this.begin(entry.key, entry.offset);
    const input = el('textarea', {
      class: 'msg__editor-input',
      rows: '1',
      'aria-label': 'Edit your message',
      dataset: { testid: 'edit-input' },
    });
    input.value = entry.text;
    const error = el('span', { class: 'msg__editor-error', dataset: { testid: 'edit-error' }, role: 'alert', hidden: true });
    const node = el(
      'div',
      { class: 'msg__editor', dataset: { testid: 'message-editor' } },
      input,
      el('span', { class: 'msg__editor-hint', text: 'Enter to save · Esc to cancel' }),
      error,
    );
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        this.save(input, error);
      }
    });
    input.addEventListener('input', () => this.grow(input));
    this.node = node;
    this.attach(li);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    this.grow(input);
  }

  save(input, error) {
    const draft = checkDraft(input.value);
    if (!draft.ok) {
      error.textContent = draft.length === 0 ? 'A message cannot be empty: delete it instead.' : `At most ${MAX_MESSAGE_CHARS} characters (now ${draft.length}).`;
      error.hidden = false;
      return;
    }
    this.onSave(this.offset, draft.text);
    this.close();
  }

  grow(input) {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight + 2, 200)}px`;
  }

  /** In place of the message's text. */
  host(li) {
    return li.querySelector('.msg__bubble');
  }

  focusBack(li, key) {
    this.onClose(key);
  }
}

export class DeleteConfirm extends MessagePanel {
  /** @param {{onConfirm: (offset: number) => void}} handlers */
  constructor({ onConfirm }) {
    super('msg--confirming', 'delete');
    this.onConfirm = onConfirm;
  }

  open(li, entry) {
    this.begin(entry.key, entry.offset);
    const yes = el('button', { type: 'button', class: 'confirm__yes', dataset: { testid: 'delete-confirm' }, text: 'Delete' });
    const no = el('button', { type: 'button', class: 'confirm__no', dataset: { testid: 'delete-cancel' }, text: 'Cancel' });
    const node = el(
      'div',
      { class: 'confirm', role: 'group', 'aria-label': 'Delete this message?', dataset: { testid: 'delete-confirmation' } },
      el('span', { class: 'confirm__text', text: 'Delete this message for everyone?' }),
      yes,
      no,
    );
    yes.addEventListener('click', () => {
      const offset = this.offset;
      this.close({ restoreFocus: false });
      this.onConfirm(offset);
    });
    no.addEventListener('click', () => this.close());
    node.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      }
    });
    this.node = node;
    this.attach(li);
    no.focus(); // the safe choice first
  }
}
