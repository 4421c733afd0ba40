// Reports from the chat (GET /api/admin/reports), newest first: the
// reported message (or that it is gone), who reported it and why, how many
// times, and what to do: delete the message, mute or ban its author, or
// dismiss the report.

import { el } from '../dom.js';
import { actionBar } from './confirm.js';
import { formatWhen } from './format.js';
import { LiveList } from './live-list.js';
import { failureText, newestFirst } from './moderation.js';
import { messageBody, personActions } from './message-card.js';

export class ReportsView {
  /**
   * @param {Document} doc
   * @param {{deleteMessage: Function, mute: Function, ban: Function, dismiss: (room: string, offset: number, epoch: string) => Promise<string|null>, nameOf: (id: string) => string|null}} act
   */
  constructor(doc, act) {
    const $ = (id) => doc.getElementById(id);
    this.act = act;
    this.count = $('reports-count');
    this.status = $('reports-status');
    this.rows = new LiveList($('report-list'), {
      key: (r) => `${r.room}|${r.offset}`,
      render: (r) => this.row(r),
      empty: $('reports-empty'),
    });
  }

  clear() {
    this.rows.clear();
    this.count.textContent = '0';
    this.status.textContent = '';
  }

  show(result) {
    const reports = result.body?.reports;
    if (result.status !== 200 || !Array.isArray(reports)) {
      this.status.textContent = `Could not read the reports: ${failureText(result)}`;
      this.status.dataset.state = 'error';
      return;
    }
    this.status.textContent = '';
    this.count.textContent = String(reports.length);
    // the reporter's name (when known) is part of the data: a name learned later redraws the row
    this.rows.show(newestFirst(reports).map((r) => ({ ...r, reporterName: this.act.nameOf(r.reporter) })));
  }

  row(r) {
    const m = r.message && typeof r.message === 'object' ? r.message : null;
    const count = Number(r.count) > 1 ? Number(r.count) : 1;
    const reporter = r.reporterName ?? (typeof r.reporter === 'string' && r.reporter ? r.reporter : 'someone');
    const reason = typeof r.reason === 'string' && r.reason.trim() ? `“${r.reason}”` : 'no reason given';
    const actions = [
      m && !m.deleted
        ? {
            id: 'delete',
            label: 'Delete',
            tone: 'danger',
            confirm: { question: 'Delete this message for everyone?', yes: 'Delete', reason: true },
            run: ({ reason: why }) => this.act.deleteMessage(r.room, r.offset, why),
          }
        : null,
      ...(m ? personActions(m, this.act, 'author') : []),
      {
        id: 'dismiss',
        label: 'Dismiss',
        tone: 'plain',
        confirm: { question: 'Dismiss this report? The message stays.', yes: 'Dismiss' },
        run: () => this.act.dismiss(r.room, r.offset, r.epoch),
      },
    ].filter(Boolean);
    return el(
      'li',
      { class: 'adm-report', dataset: { testid: 'report', key: `${r.room}|${r.offset}`, room: String(r.room), offset: String(r.offset) } },
      el(
        'p',
        { class: 'adm-report__head' },
        el('span', { class: 'adm-report__room', text: `#${r.room}` }),
        count > 1 ? el('span', { class: 'adm-tag adm-tag--bad', dataset: { testid: 'report-count' }, text: `${count} reports` }) : null,
        el('time', { class: 'adm-report__time', datetime: r.at ?? '', text: formatWhen(r.at) }),
      ),
      m ? messageBody(m) : el('p', { class: 'adm-msg__text adm-msg__text--removed', text: `message #${r.offset} is no longer available` }),
      el('p', { class: 'adm-report__why', dataset: { testid: 'report-why' } }, el('span', { class: 'adm-report__by', text: `${reporter}: ` }), el('span', { text: reason })),
      actionBar(actions, { onOpen: () => this.rows.hold(), onClose: () => this.rows.release() }),
    );
  }
}
