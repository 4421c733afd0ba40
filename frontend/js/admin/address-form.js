// Mute or ban a client address that no list shows yet (from the access
// log, say): an IP address field, the mute duration, "Mute address" and
// "Ban address". The address is checked as it is sent (inline, under the
// field); each button then opens the usual inline confirmation, which names
// the address (and the duration) it will act on: while it is open the
// field and the durations cannot change. Enter in the field is "Mute
// address" (the milder one; it still asks). Done: the field is emptied and
// the moderation panel lists the new mute or ban after its refresh.

import { actionBar, durationField } from './confirm.js';
import { formatDuration } from './format.js';
import { addressProblem, parseAddress } from './moderation.js';

export class AddressForm {
  /**
   * @param {Document} doc
   * @param {{mute: (target: {address: string}, seconds: number, reason: string) => Promise<string|null>, ban: (target: {address: string}, reason: string) => Promise<string|null>}} act
   */
  constructor(doc, act) {
    const $ = (id) => doc.getElementById(id);
    this.form = $('address-form');
    this.input = $('address-input');
    this.error = $('address-error');
    this.durations = durationField('address-duration', { legend: 'Mute for', className: 'adm-confirm__durations adm-addr__for' });
    $('address-durations').replaceWith(this.durations);
    /** what the open confirmation is about: {address, seconds} */
    this.pending = null;

    const done = (problem) => {
      if (!problem) this.input.value = '';
      return problem;
    };
    this.actions = actionBar(
      [
        {
          id: 'mute-address',
          label: 'Mute address',
          tone: 'warn',
          confirm: () => this.ask((address, seconds) => ({ question: `Mute address ${address} for ${formatDuration(seconds).replace(' ', '\u00a0')}? Nobody posting from it can send messages until then.`, yes: 'Mute', reason: true })),
          run: async ({ reason }) => done(await act.mute({ address: this.pending.address }, this.pending.seconds, reason)),
        },
        {
          id: 'ban-address',
          label: 'Ban address',
          tone: 'danger',
          confirm: () => this.ask((address) => ({ question: `Ban address ${address}? Every connection from it is refused until the ban is lifted.`, yes: 'Ban', reason: true })),
          run: async ({ reason }) => done(await act.ban({ address: this.pending.address }, reason)),
        },
      ],
      { onOpen: () => this.lock(true), onClose: () => this.lock(false) },
    );
    $('address-actions').append(this.actions);

    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.input.readOnly) return; // a confirmation is open already
      this.actions.querySelector('[data-action="mute-address"]')?.click();
    });
    this.input.addEventListener('input', () => this.showError(null));
  }

  /** The confirmation for the typed address, or null (and why, under the field). */
  ask(question) {
    const problem = addressProblem(this.input.value);
    if (problem) {
      this.showError(problem);
      this.input.focus();
      return null;
    }
    this.showError(null);
    const address = parseAddress(this.input.value);
    const seconds = Number(this.durations.querySelector('input:checked')?.value ?? 0);
    this.pending = { address, seconds };
    return question(address, seconds);
  }

  /** A confirmation is open: what it names stays as it is. */
  lock(locked) {
    this.input.readOnly = locked;
    this.durations.disabled = locked;
    if (!locked) this.pending = null;
  }

  showError(text) {
    this.error.textContent = text ?? '';
    this.error.hidden = !text;
    if (text) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }

  /** Signed out: nothing typed stays. */
  clear() {
    this.actions.querySelector('[data-testid="confirm-no"]')?.click();
    this.input.value = '';
    this.showError(null);
    const shortest = this.durations.querySelector('input');
    if (shortest) shortest.checked = true;
  }
}
