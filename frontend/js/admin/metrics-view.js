// The live numbers: the KPI tiles (received, delivered, connections,
// errors, produce and end-to-end latency with their sparklines and bucket
// charts), errors by code and consumer lag. Rates are the change between two
// refreshes, so the view keeps the last samples.

import { barRow, drawBars, drawSpark } from './charts.js';
import { formatCount, formatQuantile, formatRate, formatSeconds } from './format.js';
import { lagLabel, rateSeries, sumSeries, summarizeHistogram } from './metrics.js';

const SPARK_POINTS = 30;
const COUNTERS = ['metric-received', 'metric-delivered', 'metric-connections', 'metric-errors'];
const QUANTILES = ['metric-produce-p50', 'metric-produce-p99', 'metric-e2e-p50', 'metric-e2e-p99'];
const CHARTS = ['spark-received', 'spark-delivered', 'bars-produce', 'bars-e2e'];

function describeHistogram(h, noun) {
  if (!(h.count > 0)) return `no ${noun} yet`;
  const mean = h.sum / h.count;
  return `${formatCount(h.count)} ${noun} · mean ${formatSeconds(mean)}`;
}

/** Chat topic's partitions first, then presence, then anything else. */
function byGroup(a, b) {
  if (a.group === b.group) return Number(a.partition) - Number(b.partition);
  if (a.group === 'chat') return -1;
  if (b.group === 'chat') return 1;
  return a.group.localeCompare(b.group);
}

export class MetricsView {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    this.$ = (id) => doc.getElementById(id);
    this.lagList = this.$('lag-list');
    this.lagEmpty = this.$('lag-empty');
    this.errorList = this.$('error-list');
    this.errorsEmpty = this.$('errors-empty');
    /** [{t, received, delivered}] one sample per refresh, for rates and sparklines */
    this.samples = [];
  }

  clear() {
    this.samples = [];
    this.lagList.replaceChildren();
    this.errorList.replaceChildren();
    for (const id of COUNTERS) {
      this.$(id).textContent = '–';
      this.$(id).dataset.value = '0';
    }
    for (const id of QUANTILES) this.$(id).textContent = '–';
    for (const id of CHARTS) this.$(id).replaceChildren();
  }

  /**
   * @param {object} metrics name -> series
   * @param {{active_connections?: number}[]} rooms
   * @param {string} topic the chat topic (names the lag series)
   */
  render(metrics, rooms, topic) {
    this.renderTraffic(metrics);
    this.renderConnections(metrics, rooms);
    const errors = Array.isArray(metrics.chat_errors_total) ? metrics.chat_errors_total : [];
    this.renderErrorTile(errors);
    this.renderLatency(metrics, 'chat_kafka_produce_seconds', 'produce', 'writes');
    this.renderLatency(metrics, 'chat_end_to_end_seconds', 'e2e', 'broadcasts');
    this.renderErrors(errors);
    this.renderLag(Array.isArray(metrics.chat_kafka_consumer_lag) ? metrics.chat_kafka_consumer_lag : [], topic);
  }

  setValue(id, value, text = formatCount(value)) {
    const node = this.$(id);
    node.dataset.value = String(value);
    if (node.textContent !== text) node.textContent = text;
  }

  renderTraffic(metrics) {
    const received = sumSeries(metrics.chat_messages_received_total);
    const delivered = sumSeries(metrics.chat_messages_delivered_total);
    // a counter going down: the server restarted, the old samples mean nothing
    const prev = this.samples[this.samples.length - 1];
    if (prev && (received < prev.received || delivered < prev.delivered)) this.samples = [];
    this.samples.push({ t: Date.now(), received, delivered });
    if (this.samples.length > SPARK_POINTS + 1) this.samples.shift();
    const rates = rateSeries(this.samples);
    const last = rates[rates.length - 1];

    this.setValue('metric-received', received);
    this.$('rate-received').textContent = `messages · ${last ? `${formatRate(last.received)} now` : 'from clients'}`;
    this.setValue('metric-delivered', delivered);
    this.$('rate-delivered').textContent = `to sessions · ${last ? `${formatRate(last.delivered)} now` : 'frames'}`;
    drawSpark(this.$('spark-received'), rates.map((r) => r.received));
    drawSpark(this.$('spark-delivered'), rates.map((r) => r.delivered));
  }

  renderConnections(metrics, rooms) {
    const here = sumSeries(metrics.chat_connections);
    const all = rooms.reduce((n, r) => n + (Number(r.active_connections) || 0), 0);
    this.setValue('metric-connections', all);
    const sub = this.$('connections-sub');
    sub.textContent = `${rooms.length} ${rooms.length === 1 ? 'room' : 'rooms'} · ${formatCount(here)} here`;
    sub.title = `${formatCount(all)} in all rooms on every instance, ${formatCount(here)} on this one`;
  }

  renderErrorTile(errors) {
    this.setValue('metric-errors', sumSeries(errors));
    const top = [...errors].sort((a, b) => b.value - a.value)[0];
    this.$('errors-sub').textContent = top ? `most: ${top.labels?.code ?? 'unknown'}` : 'no refusals';
  }

  /** `key`: produce | e2e, the ids' infix */
  renderLatency(metrics, name, key, noun) {
    const h = summarizeHistogram(metrics, name);
    this.$(`metric-${key}-p50`).textContent = formatQuantile(h.p50);
    this.$(`metric-${key}-p99`).textContent = formatQuantile(h.p99);
    this.$(`${key}-count`).textContent = describeHistogram(h, noun);
    drawBars(this.$(`bars-${key}`), h.buckets);
  }

  renderErrors(errors) {
    const sorted = [...errors].filter((e) => e.value > 0).sort((a, b) => b.value - a.value);
    const max = Math.max(0, ...sorted.map((e) => e.value));
    this.errorList.replaceChildren(
      ...sorted.map((e) => {
        const row = barRow({ label: String(e.labels?.code ?? 'unknown'), value: e.value, max, testid: 'error-row', tone: 'warn' });
        row.dataset.code = String(e.labels?.code ?? '');
        return row;
      }),
    );
    this.errorsEmpty.hidden = sorted.length > 0;
  }

  renderLag(series, topic) {
    const rows = series
      .map((s) => ({ ...lagLabel(s.labels, topic), topic: s.labels?.topic ?? '', value: Number(s.value) || 0 }))
      .sort(byGroup);
    const max = Math.max(1, ...rows.map((r) => r.value));
    this.lagList.replaceChildren(
      ...rows.map((r) => {
        const row = barRow({ label: `${r.group} · p${r.partition}`, value: r.value, max, testid: 'lag-row', tone: r.value > 0 ? 'warn' : 'ok' });
        row.dataset.topic = r.topic;
        row.dataset.partition = String(r.partition);
        row.title = `${r.topic}, partition ${r.partition}`;
        return row;
      }),
    );
    this.lagEmpty.hidden = rows.length > 0;
  }
}
