// Signing in: the token form (token and the moderator's name, with its
// error), the header's refresh status ("Live", "Paused…", errors), the
// "updated" time next to it and who is signed in, and which of sign-in and
// dashboard is shown.

import { formatClock } from './format.js';
import { MAX_MODERATOR_CHARS, checkModerator } from './moderation.js';

export class LoginView {
  /**
   * @param {Document} doc
   * @param {{onSubmit: (token: string, moderator: string) => void, onSignOut: () => void}} handlers
   */
  constructor(doc, { onSubmit, onSignOut }) {
    const $ = (id) => doc.getElementById(id);
    this.els = {
      status: $('refresh-status'),
      statusLabel: $('refresh-label'),
      updatedWrap: $('last-updated-wrap'),
      updated: $('last-updated'),
      signOut: $('sign-out'),
      login: $('login'),
      form: $('token-form'),
      input: $('token-input'),
      moderator: $('moderator-input'),
      who: $('signed-in-as'),
      submit: $('token-submit'),
      error: $('token-error'),
      dashboard: $('dashboard'),
      dashboardTitle: $('dashboard-title'),
    };
    this.busy = false;
    this.lastStatus = '';
    const { form, input, moderator, error, signOut } = this.els;
    moderator.maxLength = MAX_MODERATOR_CHARS;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.busy) return;
      const token = input.value.trim();
      if (!token) {
        this.showLogin('Enter the admin token.');
        input.focus();
        return;
      }
      const name = checkModerator(moderator.value);
      if (!name) {
        this.showLogin(`Enter your name (1 to ${MAX_MODERATOR_CHARS} characters): every moderation step is recorded with it.`, moderator);
        moderator.focus();
        return;
      }
      onSubmit(token, name);
    });
    for (const field of [input, moderator]) {
      field.addEventListener('input', () => {
        if (!error.hidden) {
          error.hidden = true;
          field.removeAttribute('aria-invalid');
        }
      });
    }
    signOut.addEventListener('click', () => onSignOut());
  }

  /**
   * The live region announces state changes only ("Live", "Paused", …); the
   * "updated" time next to it changes every refresh and is not live, so
   * screen readers are not interrupted every 2 s.
   */
  setStatus(kind, label) {
    this.els.status.dataset.state = kind;
    if (this.lastStatus !== `${kind}|${label}`) {
      this.lastStatus = `${kind}|${label}`;
      this.els.statusLabel.textContent = label;
    }
  }

  markUpdated() {
    const { updated, updatedWrap } = this.els;
    const now = Date.now();
    updated.textContent = formatClock(now, false);
    updated.dateTime = new Date(now).toISOString();
    updated.dataset.ts = String(now);
    updatedWrap.hidden = false;
  }

  clearUpdated() {
    this.els.updated.textContent = '';
  }

  /** The sign-in form, with `message` as its error (about `field`, the token box unless said). */
  showLogin(message = '', field = this.els.input) {
    const { login, dashboard, signOut, updatedWrap, error, input, moderator, who } = this.els;
    login.hidden = false;
    dashboard.hidden = true;
    signOut.hidden = true;
    updatedWrap.hidden = true;
    who.hidden = true;
    error.textContent = message;
    error.hidden = !message;
    for (const f of [input, moderator]) {
      if (message && f === field) f.setAttribute('aria-invalid', 'true');
      else f.removeAttribute('aria-invalid');
    }
  }

  /** Signed in as `moderator`. */
  showDashboard(moderator) {
    const { login, dashboard, signOut, input, who } = this.els;
    input.value = '';
    this.showLogin('');
    login.hidden = true;
    dashboard.hidden = false;
    signOut.hidden = false;
    who.textContent = moderator;
    who.title = `Signed in as ${moderator}: moderation steps are recorded with this name`;
    who.hidden = false;
  }

  focusDashboard() {
    this.els.dashboardTitle.focus();
  }

  setBusy(busy) {
    const { submit, form } = this.els;
    this.busy = busy;
    submit.disabled = busy;
    submit.textContent = busy ? 'Checking…' : 'Sign in';
    form.setAttribute('aria-busy', String(busy));
  }

  /** Put the cursor in the token box (`select`: to type over a refused token). */
  focusInput({ select = false } = {}) {
    this.els.input.focus();
    if (select) this.els.input.select();
  }
}
