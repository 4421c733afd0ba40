// The room's slow mode: how many seconds each person waits between two
// messages (0: off). Shows the current setting (from GET /api/admin/
// moderation) and sets it (PUT …/slow-mode).

import { formatDuration } from './format.js';
import { MAX_SLOW_MODE_SECONDS, parseSlowMode } from './moderation.js';

export class SlowModeControl {
  /**
   * @param {Document} doc
   * @param {{onSet: (room: string, seconds: number) => Promise<string|null>}} handlers  resolves an error text or null
   */
  constructor(doc, { onSet }) {
    const $ = (id) => doc.getElementById(id);
    this.form = $('slow-form');
    this.input = $('slow-input');
    this.off = $('slow-off');
    this.state = $('slow-state');
    this.error = $('slow-error');
    this.onSet = onSet;
    this.room = '';
    this.current = null;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      const seconds = parseSlowMode(this.input.value);
      if (seconds === null) {
        this.showError(`A whole number of seconds, 0 to ${MAX_SLOW_MODE_SECONDS} (0 turns it off).`);
        this.input.focus();
        return;
      }
      this.apply(seconds);
    });
    this.off.addEventListener('click', () => this.apply(0));
    this.input.addEventListener('input', () => this.showError(null));
  }

  setRoom(room) {
    this.room = room;
    this.form.hidden = !room;
    this.current = null;
    this.input.value = '';
    this.showError(null);
    this.render();
  }

  /** The room's slow mode as the server has it (seconds, 0/null: off). */
  setCurrent(seconds) {
    this.current = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
    this.render();
  }

  render() {
    const on = this.current > 0;
    this.state.textContent = this.current === null ? '' : on ? `on: one message per ${formatDuration(this.current)}` : 'off';
    this.state.dataset.state = on ? 'on' : 'off';
    this.off.disabled = !on;
  }

  async apply(seconds) {
    if (!this.room) return;
    this.showError(null);
    this.form.setAttribute('aria-busy', 'true');
    const problem = await this.onSet(this.room, seconds);
    this.form.removeAttribute('aria-busy');
    if (problem) {
      this.showError(problem);
      return;
    }
    this.input.value = '';
    this.setCurrent(seconds);
  }

  showError(text) {
    this.error.textContent = text ?? '';
    this.error.hidden = !text;
    if (text) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }
}
