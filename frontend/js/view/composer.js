// The message box: Enter sends, Shift+Enter adds a line, the box grows with
// its text, and a counter appears near the length limit. Other keys go to
// `onKey` first (the mention list, Escape, the Up arrow: see view.js).

import { COUNTER_THRESHOLD, MAX_MESSAGE_CHARS, checkDraft } from '../util.js';

const MAX_ROWS_PX = 168;

export class Composer {
  /**
   * @param {Document} doc
   * @param {{onSend: (text: string) => void, onInput?: (draft: string) => void, onKey?: (event: KeyboardEvent) => boolean}} handlers
   *   onKey: true when it used the key
   */
  constructor(doc, { onSend, onInput, onKey }) {
    this.form = doc.getElementById('composer');
    this.input = doc.getElementById('message-input');
    this.button = doc.getElementById('send-button');
    this.counter = doc.getElementById('char-counter');
    this.onSend = onSend;
    this.onInput = onInput ?? (() => {});
    this.onKey = onKey ?? (() => false);
    /** false in a room the server would refuse: nothing to send to */
    this.available = true;

    this.input.addEventListener('input', () => {
      this.refresh();
      this.onInput(this.input.value);
    });
    this.input.addEventListener('keydown', (event) => {
      if (this.onKey(event)) return;
      if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
      event.preventDefault();
      this.submit();
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.refresh();
  }

  setAvailable(available) {
    this.available = available;
    this.input.disabled = !available;
    this.refresh();
  }

  get empty() {
    return this.input.value === '';
  }

  focus() {
    // Do not pop up the keyboard on phones on page load.
    if (globalThis.matchMedia?.('(pointer: fine)').matches) this.input.focus({ preventScroll: true });
  }

  submit() {
    const draft = checkDraft(this.input.value);
    if (!draft.ok) {
      if (draft.length > MAX_MESSAGE_CHARS) {
        this.counter.classList.remove('counter--shake');
        void this.counter.offsetWidth; // restart the animation
        this.counter.classList.add('counter--shake');
      }
      return;
    }
    this.onSend(draft.text);
    this.input.value = '';
    this.refresh();
    this.input.focus();
  }

  refresh() {
    const draft = checkDraft(this.input.value);
    this.button.disabled = !this.available || !draft.ok;
    const over = draft.length > MAX_MESSAGE_CHARS;
    const show = draft.length >= COUNTER_THRESHOLD;
    this.counter.hidden = !show;
    this.counter.textContent = show ? `${draft.length} / ${MAX_MESSAGE_CHARS}` : '';
    this.counter.classList.toggle('counter--over', over);
    this.input.setAttribute('aria-invalid', over ? 'true' : 'false');
    this.form.classList.toggle('composer--over', over);
    // Grow with the text, up to a limit, then scroll inside.
    if (this.input.value === '') {
      this.input.style.height = ''; // one line (a long placeholder must not grow the box)
    } else {
      this.input.style.height = 'auto';
      this.input.style.height = `${Math.min(this.input.scrollHeight + 2, MAX_ROWS_PX)}px`;
    }
  }
}
