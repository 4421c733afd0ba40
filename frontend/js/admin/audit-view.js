// The audit trail (GET /api/admin/audit), newest first: when, who, what,
// to whom, and the details the server adds. Everything in it is text.

import { el } from '../dom.js';
import { formatWhen } from './format.js';
import { LiveList } from './live-list.js';
import { describeTarget, failureText, newestFirst } from './moderation.js';

/** Details as "key: value · key: value" (objects), or the text itself. */
export function describeDetails(details) {
  if (details === null || details === undefined || details === '') return '';
  if (typeof details !== 'object') return String(details);
  return Object.entries(details)
    .map(([k, v]) => `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

export class AuditView {
  /** @param {Document} doc */
  constructor(doc) {
    const $ = (id) => doc.getElementById(id);
    this.status = $('audit-status');
    this.rows = new LiveList($('audit-list'), {
      key: (e) => `${e.at}|${e.by}|${e.action}|${JSON.stringify(e.target ?? null)}`,
      render: (e) => this.row(e),
      empty: $('audit-empty'),
    });
  }

  clear() {
    this.rows.clear();
    this.status.textContent = '';
  }

  show(result) {
    const entries = result.body?.entries;
    if (result.status !== 200 || !Array.isArray(entries)) {
      this.status.textContent = `Could not read the audit trail: ${failureText(result)}`;
      this.status.dataset.state = 'error';
      return;
    }
    this.status.textContent = entries.length ? `last ${entries.length}` : '';
    this.status.dataset.state = 'ok';
    this.rows.show(newestFirst(entries));
  }

  row(e) {
    const target = e.target === null || e.target === undefined ? '' : typeof e.target === 'object' ? describeTarget(e.target) : String(e.target);
    const details = describeDetails(e.details);
    return el(
      'li',
      { class: 'adm-audit', dataset: { testid: 'audit-entry', key: `${e.at}|${e.by}|${e.action}|${JSON.stringify(e.target ?? null)}`, action: String(e.action ?? '') } },
      el('time', { class: 'adm-audit__time', datetime: e.at ?? '', text: formatWhen(e.at) }),
      el(
        'p',
        { class: 'adm-audit__line' },
        el('strong', { class: 'adm-audit__by', text: String(e.by ?? '?') }),
        el('span', { class: 'adm-tag', text: String(e.action ?? '?') }),
        target ? el('code', { class: 'adm-audit__target', text: target }) : null,
      ),
      details ? el('p', { class: 'adm-audit__details', text: details }) : null,
    );
  }
}
