// Moderation actions on a row: a bar of small buttons; an action that
// changes something for someone (delete, mute, ban, dismiss) first opens
// an inline confirmation in place of the bar (a reason, for a mute its
// duration), never window.confirm. Escape or Cancel brings the bar back
// with the focus on the button; a refused call shows the server's reason
// in the confirmation, which stays open to try again.

import { el } from '../dom.js';
import { MAX_REASON_CHARS, MUTE_DURATIONS } from './moderation.js';

let uid = 0;

/**
 * @typedef {object} Action
 * @property {string} id          data-action (tests, focus)
 * @property {string} label
 * @property {string} [title]     the button's tooltip / accessible description
 * @property {'danger'|'warn'|'plain'} [tone]
 * @property {null|Confirm|(() => Confirm|null)} [confirm]  a function is asked when the button is pressed
 *   (the question can name what is typed elsewhere); null from it opens nothing (the caller said why)
 * @property {(values: {reason: string, seconds: number}) => Promise<string|null>} run  resolves an error text, or null when done
 */

/** @typedef {{question: string, yes: string, reason?: boolean, duration?: boolean}} Confirm */

/**
 * @param {Action[]} actions
 * @param {{onOpen?: () => void, onClose?: () => void}} [hooks] a confirmation opened / closed (see LiveList.hold)
 */
export function actionBar(actions, { onOpen, onClose } = {}) {
  const host = el('div', { class: 'adm-actions-host' });
  const bar = el('div', { class: 'adm-actions' });
  const error = el('p', { class: 'adm-actions__error', role: 'alert', dataset: { testid: 'action-error' }, hidden: true });
  host.append(bar, error);

  const showError = (text) => {
    error.textContent = text ?? '';
    error.hidden = !text;
  };

  for (const action of actions) {
    const button = el('button', {
      type: 'button',
      class: `adm-act adm-act--${action.tone ?? 'plain'}`,
      title: action.title,
      dataset: { action: action.id, testid: `action-${action.id}` },
      text: action.label,
    });
    button.addEventListener('click', async () => {
      showError(null);
      if (typeof action.confirm === 'function') {
        const confirm = action.confirm();
        if (confirm) openConfirm(host, bar, button, { ...action, confirm }, { onOpen, onClose });
        return;
      }
      if (action.confirm) {
        openConfirm(host, bar, button, action, { onOpen, onClose });
        return;
      }
      button.disabled = true;
      const problem = await action.run({ reason: '', seconds: 0 });
      button.disabled = false;
      showError(problem);
    });
    bar.append(button);
  }
  return host;
}

/** The mute durations as a row of radio buttons (the shortest checked). */
export function durationField(name, { legend = 'For', className = 'adm-confirm__durations' } = {}) {
  return el(
    'fieldset',
    { class: className },
    el('legend', { class: 'adm-confirm__label', text: legend }),
    ...MUTE_DURATIONS.map((d, i) =>
      el(
        'label',
        { class: 'adm-seg' },
        el('input', { type: 'radio', name, value: String(d.seconds), checked: i === 0, dataset: { testid: `duration-${d.seconds}` } }),
        el('span', { text: d.label }),
      ),
    ),
  );
}

function openConfirm(host, bar, button, action, { onOpen, onClose }) {
  const { confirm } = action;
  uid += 1;
  const reasonId = `confirm-reason-${uid}`;
  const reason = confirm.reason
    ? el('input', { id: reasonId, class: 'adm-confirm__input', type: 'text', maxlength: String(MAX_REASON_CHARS), autocomplete: 'off', placeholder: 'optional', dataset: { testid: 'confirm-reason' } })
    : null;
  const problem = el('p', { class: 'adm-confirm__error', role: 'alert', dataset: { testid: 'confirm-error' }, hidden: true });
  const yes = el('button', { type: 'submit', class: `adm-act adm-act--${action.tone ?? 'danger'} adm-act--solid`, dataset: { testid: 'confirm-yes' }, text: confirm.yes });
  const no = el('button', { type: 'button', class: 'adm-act', dataset: { testid: 'confirm-no' }, text: 'Cancel' });
  const form = el(
    'form',
    { class: 'adm-confirm', dataset: { testid: 'confirm', action: action.id }, 'aria-label': confirm.question },
    el('p', { class: 'adm-confirm__question', text: confirm.question }),
    confirm.duration ? durationField(`confirm-duration-${uid}`) : null,
    reason ? el('label', { class: 'adm-confirm__label', for: reasonId, text: 'Reason' }) : null,
    reason,
    el('div', { class: 'adm-confirm__buttons' }, yes, no),
    problem,
  );
  const close = () => {
    form.remove();
    bar.hidden = false;
    button.focus();
    onClose?.();
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    yes.disabled = true;
    no.disabled = true;
    form.setAttribute('aria-busy', 'true');
    const seconds = Number(form.querySelector('input[type="radio"]:checked')?.value ?? 0);
    const failed = await action.run({ reason: reason?.value ?? '', seconds });
    yes.disabled = false;
    no.disabled = false;
    form.removeAttribute('aria-busy');
    if (failed) {
      problem.textContent = failed;
      problem.hidden = false;
      return;
    }
    close(); // done: the refresh that follows redraws the row
  });
  no.addEventListener('click', close);
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  onOpen?.();
  bar.hidden = true;
  host.append(form);
  (reason ?? form.querySelector('input') ?? yes).focus();
}
