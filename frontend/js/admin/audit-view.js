// The audit trail (GET /api/admin/audit), newest first: when, who, what,
// to whom or where (an identity or address; a room), and what else the
// entry says (the message's offset, slow mode seconds, until when, the
// reason; `details` of other servers). Everything in it is text.

import { el } from '../dom.js';
import { formatDuration, formatWhen } from './format.js';
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

/** What an entry says beyond who did what to whom: ["message #3", "30 s", "until 14:05:00", "“spam”", …]. */
export function auditFacts(e) {
  const facts = [];
  if (Number.isSafeInteger(e?.offset)) facts.push(`message #${e.offset}`);
  if (typeof e?.seconds === 'number') facts.push(e.seconds > 0 ? `one message per ${formatDuration(e.seconds)}` : 'off');
  if (typeof e?.until === 'string' && e.until) facts.push(`until ${formatWhen(e.until)}`);
  if (typeof e?.reason === 'string' && e.reason.trim()) facts.push(`“${e.reason}”`);
  const details = describeDetails(e?.details);
  if (details) facts.push(details);
  return facts;
}

/** To whom (an identity or address) or where (a room) it was done; '' when the entry does not say. */
function whom(e) {
  if (e.target !== null && e.target !== undefined) return typeof e.target === 'object' ? describeTarget(e.target) : String(e.target);
  return typeof e.room === 'string' && e.room ? `#${e.room}` : '';
}

const entryKey = (e) => `${e.at}|${e.by}|${e.action}|${JSON.stringify(e.target ?? null)}|${e.room ?? ''}|${e.offset ?? ''}`;

export class AuditView {
  /**
   * @param {Document} doc
   * @param {{nameOf?: (id: string) => string|null}} [act]  names of identities, when known
   */
  constructor(doc, { nameOf = () => null } = {}) {
    this.nameOf = nameOf;
    const $ = (id) => doc.getElementById(id);
    this.status = $('audit-status');
    this.rows = new LiveList($('audit-list'), {
      key: entryKey,
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
    // the name (when known) is part of the data: a name learned later redraws the row
    this.rows.show(newestFirst(entries).map((e) => ({ ...e, name: typeof e?.target?.identity === 'string' ? this.nameOf(e.target.identity) : null })));
  }

  row(e) {
    const target = whom(e);
    const details = auditFacts(e).join(' · ');
    return el(
      'li',
      { class: 'adm-audit', dataset: { testid: 'audit-entry', key: entryKey(e), action: String(e.action ?? '') } },
      el('time', { class: 'adm-audit__time', datetime: e.at ?? '', text: formatWhen(e.at) }),
      el(
        'p',
        { class: 'adm-audit__line' },
        el('strong', { class: 'adm-audit__by', text: String(e.by ?? '?') }),
        el('span', { class: 'adm-tag', text: String(e.action ?? '?') }),
        e.name ? el('span', { class: 'adm-audit__name', dataset: { testid: 'audit-name' }, text: e.name }) : null,
        target ? el('code', { class: 'adm-audit__target', dataset: { testid: 'audit-target' }, text: target }) : null,
      ),
      details ? el('p', { class: 'adm-audit__details', dataset: { testid: 'audit-details' }, text: details }) : null,
    );
  }
}
