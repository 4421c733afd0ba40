// Signing in: the token form (with its error), the header's refresh status
// ("Live", "Paused…", errors) and the "updated" time next to it, and which
// of sign-in and dashboard is shown.

import { formatClock } from './format.js';

export class LoginView {
  /**
   * @param {Document} doc
   * @param {{onSubmit: (token: string) => void, onSignOut: () => void}} handlers
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
      submit: $('token-submit'),
      error: $('token-error'),
      dashboard: $('dashboard'),
      dashboardTitle: $('dashboard-title'),
    };
    this.busy = false;
    this.lastStatus = '';
    const { form, input, error, signOut } = this.els;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.busy) return;
      const token = input.value.trim();
      if (!token) {
        this.showLogin('Enter the admin token.');
        input.focus();
        return;
      }
      onSubmit(token);
    });
    input.addEventListener('input', () => {
      if (!error.hidden) {
        error.hidden = true;
        input.removeAttribute('aria-invalid');
      }
    });
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

  showLogin(message = '') {
    const { login, dashboard, signOut, updatedWrap, error, input } = this.els;
    login.hidden = false;
    dashboard.hidden = true;
    signOut.hidden = true;
    updatedWrap.hidden = true;
    error.textContent = message;
    error.hidden = !message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  showDashboard() {
    const { login, dashboard, signOut, input } = this.els;
    input.value = '';
    this.showLogin('');
    login.hidden = true;
    dashboard.hidden = false;
    signOut.hidden = false;
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
