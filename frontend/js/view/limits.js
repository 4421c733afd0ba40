// The line above the message box that says why sending does not work right
// now: "Slow mode: wait 8 s" counting down (the room allows one message per
// so many seconds), or "You are muted until 14:05". It goes away by itself
// when the wait is over, or when a message sent after the refusal goes
// through (a moderator lifted it early); the refused message keeps its
// Retry button.

import { mutedUntilText, parseTime } from './message.js';

export class ComposerLimit {
  /**
   * @param {Document} doc
   * @param {{now?: () => number}} [options]
   */
  constructor(doc, { now = () => Date.now() } = {}) {
    this.node = doc.getElementById('composer-limit');
    this.text = doc.getElementById('composer-limit-text');
    this.now = now;
    /** {kind: 'slow_mode'|'muted', until: number (ms)} or null */
    this.limit = null;
    this.timer = null;
  }

  /** A refusal: {code, until?, retryAfterMs?} (see MessageStore.fail). */
  show({ code, until, retryAfterMs }) {
    if (code === 'slow_mode' && Number.isFinite(retryAfterMs)) {
      this.set({ kind: 'slow_mode', until: this.now() + retryAfterMs });
    } else if (code === 'muted' && parseTime(until)) {
      this.set({ kind: 'muted', until: parseTime(until).getTime(), label: mutedUntilText(until) });
    }
  }

  /**
   * One of ours was stored; it was sent at `submittedAt` (ms). Sent after
   * the refusal that set the limit, it proves the limit is over.
   */
  delivered(submittedAt) {
    if (this.limit && submittedAt > this.limit.since) this.set(null);
  }

  /** A new room: its slow mode is not the next room's (a mute follows us). */
  resetRoom() {
    if (this.limit?.kind === 'slow_mode') this.set(null);
  }

  set(limit) {
    clearInterval(this.timer);
    this.timer = null;
    this.limit = limit ? { since: this.now(), ...limit } : null;
    if (limit) this.timer = setInterval(() => this.render(), limit.kind === 'slow_mode' ? 250 : 15000);
    this.render();
  }

  render() {
    const { limit } = this;
    const left = limit ? limit.until - this.now() : 0;
    if (limit && left <= 0) {
      this.set(null); // renders again, without a limit
      return;
    }
    if (!limit) {
      this.node.hidden = true;
      this.text.textContent = '';
      delete this.node.dataset.kind;
      return;
    }
    const text = limit.kind === 'slow_mode' ? `Slow mode: wait ${Math.ceil(left / 1000)} s` : `${limit.label}.`;
    if (this.text.textContent !== text) this.text.textContent = text;
    this.node.dataset.kind = limit.kind;
    this.node.hidden = false;
  }
}
