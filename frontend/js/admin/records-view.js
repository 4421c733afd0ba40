// A room's last records exactly as Kafka holds them: offset, partition,
// time, key, headers and the value (pretty-printed and coloured when it is
// JSON). Everything in a record is user text and goes in as text.

import { el } from '../dom.js';
import { formatClock, jsonTokens, prettyValue } from './format.js';

export class RecordsView {
  /** @param {Document} doc */
  constructor(doc) {
    const $ = (id) => doc.getElementById(id);
    this.doc = doc;
    this.room = $('records-room');
    this.status = $('records-status');
    this.empty = $('records-empty');
    this.emptyText = this.empty.querySelector('p');
    this.hint = this.emptyText.textContent;
    this.list = $('record-list');
    /** `${room}|${partition:offset,…}` of the records shown; null: none yet */
    this.key = null;
  }

  clear() {
    this.key = null;
    this.emptyText.textContent = this.hint;
    this.list.replaceChildren();
    this.list.hidden = true;
    this.empty.hidden = false;
    this.room.textContent = '';
    this.status.textContent = '';
  }

  /** A room was picked: its records are on their way. */
  loading(room) {
    this.key = null;
    this.list.replaceChildren();
    this.list.hidden = true;
    this.empty.hidden = true;
    this.room.textContent = ` · #${room}`;
    this.setStatus('Loading…', 'loading');
  }

  unreachable() {
    this.setStatus('Could not reach the server', 'error');
  }

  setStatus(text, state) {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }

  /** The answer of GET /api/admin/rooms/{room}/records; new records flash. */
  show(room, { status, body }) {
    if (status !== 200 || !Array.isArray(body)) {
      const why = typeof body?.error === 'string' ? body.error : `the server answered ${status}`;
      this.setStatus(`Could not read the records: ${why}`, 'error');
      return;
    }
    const ids = body.map((r) => `${r.partition}:${r.offset}`);
    const key = `${room}|${ids.join(',')}`;
    this.setStatus(body.length === 0 ? 'no records yet' : `last ${body.length} of the room · newest first`, 'ok');
    if (key === this.key) return;
    const firstLoad = this.key === null;
    const previous = new Set(firstLoad ? [] : this.key.slice(this.key.indexOf('|') + 1).split(','));
    this.key = key;
    this.empty.hidden = body.length > 0;
    if (body.length === 0) this.emptyText.textContent = `#${room} has no records in Kafka yet.`;
    this.list.hidden = body.length === 0;
    const items = [...body].reverse().map((r) => {
      const li = recordItem(r);
      if (!firstLoad && !previous.has(`${r.partition}:${r.offset}`)) li.classList.add('rec--new');
      return li;
    });
    this.list.replaceChildren(...items);
  }
}

function fact(label, value, testid, cls) {
  return el('div', { class: `rec__fact${cls ? ` ${cls}` : ''}` }, el('dt', { text: label }), el('dd', { dataset: { testid } }, value));
}

function timeOf(r) {
  const ts = Number(r.timestamp_ms);
  const time = el('time', { text: Number.isFinite(ts) ? formatClock(ts) : '–' });
  if (Number.isFinite(ts)) {
    time.dateTime = new Date(ts).toISOString();
    time.title = new Date(ts).toString();
  }
  return time;
}

function headerList(r) {
  const headers = Array.isArray(r.headers) ? r.headers : [];
  const list = el(
    'ul',
    { class: 'rec__headers', dataset: { testid: 'record-headers' }, 'aria-label': 'Headers' },
    ...headers.map((h) => {
      const [name, value] = Array.isArray(h) ? h : [h?.key ?? h?.name, h?.value];
      return el(
        'li',
        { class: 'rec__header', dataset: { testid: 'record-header', name: String(name ?? '') } },
        el('span', { class: 'rec__hname', text: String(name ?? '') }),
        el('span', { class: 'rec__hvalue', text: value === null || value === undefined ? '∅' : String(value) }),
      );
    }),
  );
  if (!headers.length) list.append(el('li', { class: 'rec__header rec__header--none', text: 'no headers' }));
  return list;
}

function valueBlock(r) {
  const pretty = prettyValue(r.value ?? null);
  const code = el('code', {});
  if (pretty.json) {
    for (const t of jsonTokens(pretty.text)) {
      code.append(t.kind === 'plain' ? document.createTextNode(t.text) : el('span', { class: `j-${t.kind}`, text: t.text }));
    }
  } else {
    code.textContent = pretty.text;
  }
  return el('pre', { class: 'rec__value', dataset: { testid: 'record-value', json: String(pretty.json) }, tabindex: '0', 'aria-label': `Value of offset ${r.offset}` }, code);
}

function recordItem(r) {
  const key = r.key === null || r.key === undefined ? '∅' : String(r.key);
  return el(
    'li',
    { class: 'rec', dataset: { testid: 'record', offset: String(r.offset), partition: String(r.partition) } },
    el(
      'dl',
      { class: 'rec__meta' },
      fact('Offset', el('span', { class: 'rec__offset', text: String(r.offset) }), 'record-offset', 'rec__fact--offset'),
      fact('Partition', String(r.partition), 'record-partition'),
      fact('Time', timeOf(r), 'record-time'),
      fact('Key', el('code', { text: key }), 'record-key', 'rec__fact--key'),
    ),
    headerList(r),
    valueBlock(r),
  );
}
