// Which instance answers and the topic's partitions: low and end offsets,
// this instance's position and its lag.

import { el } from '../dom.js';
import { formatCount } from './format.js';

export class PartitionsView {
  /** @param {Document} doc */
  constructor(doc) {
    const $ = (id) => doc.getElementById(id);
    this.instance = $('instance-id');
    this.topic = $('topic');
    this.rows = $('partition-rows');
    this.note = $('partitions-note');
  }

  clear() {
    this.instance.textContent = '–';
    this.topic.textContent = '–';
    this.rows.replaceChildren();
  }

  /** @param {{instance?: string, topic?: string, partitions?: object[]}} overview */
  render(overview) {
    const topic = String(overview.topic ?? '');
    this.instance.textContent = String(overview.instance ?? '–');
    this.topic.textContent = topic || '–';
    this.renderPartitions(Array.isArray(overview.partitions) ? overview.partitions : []);
  }

  renderPartitions(partitions) {
    const rows = [...partitions]
      .sort((a, b) => (a.partition ?? 0) - (b.partition ?? 0))
      .map((p) => {
        const lag = Number(p.lag) || 0;
        const cell = (col, value, cls = 'num') => el('td', { class: cls, dataset: { col }, text: formatCount(Number(value)) });
        return el(
          'tr',
          { dataset: { testid: 'partition-row', partition: String(p.partition), high: String(p.high) }, class: lag > 0 ? 'adm-lagging' : null },
          el('th', { scope: 'row', dataset: { col: 'partition' } }, el('span', { class: 'adm-ptag', text: `p${p.partition}` })),
          cell('low', p.low),
          cell('high', p.high),
          cell('position', p.position),
          el('td', { class: 'num', dataset: { col: 'lag' } }, el('span', { class: lag > 0 ? 'adm-lag adm-lag--behind' : 'adm-lag', text: formatCount(lag) })),
        );
      });
    this.rows.replaceChildren(...rows);
    const records = partitions.reduce((n, p) => n + Math.max(0, (Number(p.high) || 0) - (Number(p.low) || 0)), 0);
    this.note.textContent = `${partitions.length} · ${formatCount(records)} records`;
  }
}
