// Control Center: the admin page (/admin) for operators without Confluent
// Control Center.
//
// - Asks for the admin token (the server's CHAT_ADMIN_TOKEN), keeps it in
//   sessionStorage (this tab only) and sends it as `Authorization: Bearer`.
// - Every 2 s (paused while the tab is hidden) reads GET /api/admin/overview
//   (instance, topic, partitions, rooms, metrics) and, when a room is
//   selected, GET /api/admin/rooms/{room}/records.
// - Everything the server sends (record keys, headers and values are user
//   text) goes into the page through textContent, never as HTML.
//
// The pure helpers (histogram quantiles, formatting, JSON pretty-printing)
// are exported so that they can be checked in Node; the page itself starts
// only in a browser.

import { initTheme } from './js/theme.js';
import { el } from './js/dom.js';

export const TOKEN_KEY = 'anime-chat-admin-token';
export const REFRESH_MS = 2000;
export const RECORDS_LIMIT = 25;
const REQUEST_TIMEOUT_MS = 8000;
const SPARK_POINTS = 30;
const ROOM_RE = /^[a-z0-9-]{1,64}$/;

// ---------------------------------------------------------------------------
// metrics: pure helpers

/** Sum of a metric's series (all label sets); 0 when the metric is absent. */
export function sumSeries(series) {
  if (!Array.isArray(series)) return 0;
  return series.reduce((total, s) => total + (Number.isFinite(s?.value) ? s.value : 0), 0);
}

/**
 * A Prometheus histogram's `_bucket` series as sorted cumulative buckets
 * `[{le, count}]` (`le` = Infinity for "+Inf"). Series that differ in labels
 * other than `le` are added up.
 */
export function histogramBuckets(series) {
  if (!Array.isArray(series)) return [];
  const byLe = new Map();
  for (const s of series) {
    const raw = s?.labels?.le;
    if (raw === undefined) continue;
    const le = raw === '+Inf' || raw === 'Inf' ? Infinity : Number(raw);
    if (Number.isNaN(le)) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + (Number.isFinite(s.value) ? s.value : 0));
  }
  return [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

/**
 * Estimate the q-quantile (0 < q < 1) from cumulative histogram buckets, the
 * way Prometheus' histogram_quantile() does:
 *
 *   rank = q × total observations (the +Inf bucket's count);
 *   take the first bucket whose cumulative count reaches the rank;
 *   interpolate linearly between that bucket's lower bound (the previous
 *   bucket's `le`, or 0 for the first one) and its upper bound `le`,
 *   assuming the bucket's observations are spread evenly inside it.
 *
 * The result is only as precise as the bucket is wide (the server's buckets
 * are 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s). When the
 * rank falls in the +Inf bucket the answer is "more than the largest finite
 * bound": `{ value: <that bound>, over: true }`.
 *
 * @returns {{ value: number, over: boolean } | null} null without observations
 */
export function estimateQuantile(q, buckets) {
  if (!buckets.length) return null;
  const total = buckets[buckets.length - 1].count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const { le, count } of buckets) {
    if (count >= rank && count > prevCount) {
      if (le === Infinity) return { value: prevLe, over: true };
      const fraction = (rank - prevCount) / (count - prevCount);
      return { value: prevLe + (le - prevLe) * fraction, over: false };
    }
    if (le !== Infinity) prevLe = le;
    prevCount = count;
  }
  return { value: prevLe, over: true };
}

/** Non-cumulative counts per bucket (for the small distribution chart). */
export function bucketCounts(buckets) {
  let prev = 0;
  return buckets.map(({ le, count }) => {
    const n = Math.max(0, count - prev);
    prev = count;
    return { le, n };
  });
}

/** A histogram's summary: observations, p50, p99 and per-bucket counts. */
export function summarizeHistogram(metrics, name) {
  const buckets = histogramBuckets(metrics?.[`${name}_bucket`]);
  const count = buckets.length ? buckets[buckets.length - 1].count : sumSeries(metrics?.[`${name}_count`]);
  return {
    count,
    sum: sumSeries(metrics?.[`${name}_sum`]),
    p50: estimateQuantile(0.5, buckets),
    p99: estimateQuantile(0.99, buckets),
    buckets: bucketCounts(buckets),
  };
}

// ---------------------------------------------------------------------------
// formatting

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 1234 -> "1,234"; 12345678 -> "12.3M". */
export function formatCount(n) {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  return INTEGER.format(n);
}

/** Seconds as "0.42 ms", "12 ms", "1.2 s". */
export function formatSeconds(s) {
  if (!Number.isFinite(s)) return '–';
  const ms = s * 1000;
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}

/** A quantile estimate for display: "–" without data, "> 10 s" beyond the buckets. */
export function formatQuantile(estimate) {
  if (!estimate) return '–';
  return estimate.over ? `> ${formatSeconds(estimate.value)}` : formatSeconds(estimate.value);
}

/** Events per second with one decimal. */
export function formatRate(perSecond) {
  if (!Number.isFinite(perSecond)) return '–';
  return `${perSecond >= 100 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`;
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** Local wall-clock time with milliseconds: "13:16:44.273". */
export function formatClock(ms, withMillis = true) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '–';
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMillis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/**
 * A record value for display: pretty-printed JSON when it parses, the raw
 * text otherwise.
 * @returns {{ text: string, json: boolean }}
 */
export function prettyValue(value) {
  if (typeof value !== 'string') return { text: JSON.stringify(value, null, 2) ?? String(value), json: true };
  try {
    return { text: JSON.stringify(JSON.parse(value), null, 2), json: true };
  } catch {
    return { text: value, json: false };
  }
}

/**
 * Split pretty-printed JSON into tokens for colouring:
 * [{ kind: 'key'|'string'|'number'|'literal'|'plain', text }]. Joining the
 * texts gives back the input.
 */
export function jsonTokens(text) {
  const tokens = [];
  const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(?:true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) tokens.push({ kind: 'plain', text: text.slice(last, m.index) });
    if (m[1] !== undefined) {
      tokens.push({ kind: m[2] ? 'key' : 'string', text: m[1] });
      if (m[2]) tokens.push({ kind: 'plain', text: m[2] });
    } else {
      tokens.push({ kind: /^[tfn]/.test(m[0]) ? 'literal' : 'number', text: m[0] });
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) tokens.push({ kind: 'plain', text: text.slice(last) });
  return tokens;
}

/** A consumer-lag series' label: "chat · p0", "presence · p0" or the topic. */
export function lagLabel(labels, topic) {
  const t = labels?.topic ?? '?';
  const p = labels?.partition ?? '?';
  if (t === topic) return { group: 'chat', partition: p };
  if (t === `${topic}-presence`) return { group: 'presence', partition: p };
  return { group: t, partition: p };
}

// ---------------------------------------------------------------------------
// the page

if (typeof document !== 'undefined' && document.getElementById('dashboard')) {
  startPage();
}

function startPage() {
  const $ = (id) => document.getElementById(id);
  const SVG_NS = 'http://www.w3.org/2000/svg';


  function svgEl(tag, attrs = {}) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    return node;
  }

  const ui = {
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
    instance: $('instance-id'),
    topic: $('topic'),
    roomList: $('room-list'),
    roomsEmpty: $('rooms-empty'),
    roomsCount: $('rooms-count'),
    inspectForm: $('inspect-form'),
    inspectInput: $('inspect-input'),
    inspectError: $('inspect-error'),
    recordsRoom: $('records-room'),
    recordsStatus: $('records-status'),
    recordsEmpty: $('records-empty'),
    recordList: $('record-list'),
    partitionRows: $('partition-rows'),
    partitionsNote: $('partitions-note'),
    lagList: $('lag-list'),
    lagEmpty: $('lag-empty'),
    errorList: $('error-list'),
    errorsEmpty: $('errors-empty'),
  };

  initTheme($('theme-toggle'));

  const recordsEmptyText = ui.recordsEmpty.querySelector('p');
  const RECORDS_HINT = recordsEmptyText.textContent;

  const state = {
    token: '',
    /** bumped on every sign-in / sign-out: answers for an older session are dropped */
    session: 0,
    timer: 0,
    busy: false,
    signedIn: false,
    topic: '',
    selectedRoom: '',
    /** `${room}|${partition:offset,…}` of the records shown; null: none yet */
    recordsKey: null,
    /** [{t, received, delivered}] one sample per refresh, for rates and sparklines */
    samples: [],
    lastStatus: '',
  };

  // ---- storage ------------------------------------------------------------

  const storage = {
    get() {
      try {
        return sessionStorage.getItem(TOKEN_KEY) ?? '';
      } catch {
        return '';
      }
    },
    set(token) {
      try {
        sessionStorage.setItem(TOKEN_KEY, token);
      } catch {
        /* storage blocked: the token lives in memory for this page only */
      }
    },
    clear() {
      try {
        sessionStorage.removeItem(TOKEN_KEY);
      } catch {
        /* nothing stored */
      }
    },
  };

  // ---- HTTP -----------------------------------------------------------------

  /** GET with the token. Resolves {status, body} (body null when not JSON); rejects on network errors. */
  async function api(path, token) {
    const res = await fetch(path, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'same-origin',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    return { status: res.status, body };
  }

  const recordsPath = (room) => `/api/admin/rooms/${encodeURIComponent(room)}/records?limit=${RECORDS_LIMIT}`;

  // ---- status -----------------------------------------------------------------

  /**
   * The live region announces state changes only ("Live", "Paused", …); the
   * "updated" time next to it changes every refresh and is not live, so
   * screen readers are not interrupted every 2 s.
   */
  function setStatus(kind, label) {
    ui.status.dataset.state = kind;
    if (state.lastStatus !== `${kind}|${label}`) {
      state.lastStatus = `${kind}|${label}`;
      ui.statusLabel.textContent = label;
    }
  }

  function markUpdated() {
    const now = Date.now();
    ui.updated.textContent = formatClock(now, false);
    ui.updated.dateTime = new Date(now).toISOString();
    ui.updated.dataset.ts = String(now);
    ui.updatedWrap.hidden = false;
  }

  // ---- sign-in / sign-out -------------------------------------------------------

  function showLogin(message = '') {
    ui.login.hidden = false;
    ui.dashboard.hidden = true;
    ui.signOut.hidden = true;
    ui.updatedWrap.hidden = true;
    ui.error.textContent = message;
    ui.error.hidden = !message;
    if (message) ui.input.setAttribute('aria-invalid', 'true');
    else ui.input.removeAttribute('aria-invalid');
  }

  function showDashboard() {
    ui.login.hidden = true;
    ui.dashboard.hidden = false;
    ui.signOut.hidden = false;
  }

  function setBusy(busy) {
    state.busy = busy;
    ui.submit.disabled = busy;
    ui.submit.textContent = busy ? 'Checking…' : 'Sign in';
    ui.form.setAttribute('aria-busy', String(busy));
  }

  function describeFailure(result) {
    if (result.status === 401) return 'That token was not accepted (401). Check CHAT_ADMIN_TOKEN on the server and try again.';
    if (result.status === 404) return 'The admin API is switched off on this server (404): start it with CHAT_ADMIN_TOKEN set.';
    const detail = typeof result.body?.error === 'string' ? `: ${result.body.error}` : '';
    return `The server answered ${result.status}${detail}.`;
  }

  async function signIn(token, { fromStorage = false } = {}) {
    const session = ++state.session;
    setBusy(true);
    setStatus('loading', 'Checking the token…');
    let result;
    try {
      result = await api('/api/admin/overview', token);
    } catch (err) {
      if (session !== state.session) return;
      setBusy(false);
      setStatus('error', 'Server unreachable');
      showLogin(`Could not reach the server (${err?.name === 'TimeoutError' ? 'timed out' : 'network error'}). Try again.`);
      return;
    }
    if (session !== state.session) return;
    setBusy(false);
    if (result.status !== 200 || !result.body?.overview) {
      storage.clear();
      state.token = '';
      setStatus('signed-out', 'Signed out');
      showLogin(
        fromStorage && result.status === 401
          ? 'The saved token is no longer accepted (401). Sign in again.'
          : describeFailure(result),
      );
      if (!fromStorage) {
        ui.input.focus();
        ui.input.select();
      }
      return;
    }
    state.token = token;
    state.signedIn = true;
    storage.set(token);
    ui.input.value = '';
    showLogin('');
    showDashboard();
    render(result.body);
    markUpdated();
    setStatus('live', 'Live');
    if (!fromStorage) ui.dashboardTitle.focus();
    schedule();
  }

  function signOut(message = '') {
    state.session += 1;
    state.signedIn = false;
    state.token = '';
    clearTimeout(state.timer);
    storage.clear();
    clearData();
    setStatus('signed-out', 'Signed out');
    showLogin(message);
    ui.input.focus();
  }

  /** Nothing of the last session stays in the page. */
  function clearData() {
    state.selectedRoom = '';
    state.recordsKey = null;
    recordsEmptyText.textContent = RECORDS_HINT;
    state.samples = [];
    state.topic = '';
    ui.instance.textContent = '–';
    ui.topic.textContent = '–';
    ui.roomList.replaceChildren();
    ui.partitionRows.replaceChildren();
    ui.lagList.replaceChildren();
    ui.errorList.replaceChildren();
    ui.recordList.replaceChildren();
    ui.recordList.hidden = true;
    ui.recordsEmpty.hidden = false;
    ui.recordsRoom.textContent = '';
    ui.recordsStatus.textContent = '';
    ui.updated.textContent = '';
    for (const id of ['metric-received', 'metric-delivered', 'metric-connections', 'metric-errors']) {
      $(id).textContent = '–';
      $(id).dataset.value = '0';
    }
    for (const id of ['metric-produce-p50', 'metric-produce-p99', 'metric-e2e-p50', 'metric-e2e-p99']) $(id).textContent = '–';
    for (const id of ['spark-received', 'spark-delivered', 'bars-produce', 'bars-e2e']) $(id).replaceChildren();
  }

  // ---- refresh loop -------------------------------------------------------------------

  function schedule(delay = REFRESH_MS) {
    clearTimeout(state.timer);
    if (!state.signedIn || document.hidden) return;
    state.timer = setTimeout(tick, delay);
  }

  async function tick() {
    if (!state.signedIn) return;
    if (document.hidden) {
      setStatus('paused', 'Paused while the tab is hidden');
      return;
    }
    const session = state.session;
    const room = state.selectedRoom;
    const [overview, records] = await Promise.allSettled([
      api('/api/admin/overview', state.token),
      room ? api(recordsPath(room), state.token) : Promise.resolve(null),
    ]);
    if (session !== state.session) return;

    if (overview.status === 'rejected') {
      setStatus('error', 'Server unreachable, retrying');
      schedule();
      return;
    }
    const { status, body } = overview.value;
    if (status === 401 || status === 404) {
      signOut(
        status === 401
          ? 'The token is no longer accepted (401): the server may have restarted with another token. Sign in again.'
          : 'The admin API is switched off on this server now (404).',
      );
      return;
    }
    if (status !== 200 || !body?.overview) {
      setStatus('error', `Server error ${status}, retrying`);
      schedule();
      return;
    }
    render(body);
    if (room && room === state.selectedRoom && records.status === 'fulfilled' && records.value) {
      showRecords(room, records.value);
    }
    markUpdated();
    setStatus('live', 'Live');
    schedule();
  }

  document.addEventListener('visibilitychange', () => {
    if (!state.signedIn) return;
    if (document.hidden) {
      clearTimeout(state.timer);
      setStatus('paused', 'Paused while the tab is hidden');
    } else {
      setStatus('loading', 'Refreshing…');
      tick();
    }
  });

  // ---- rendering -------------------------------------------------------------------------

  function render({ overview, metrics = {} }) {
    state.topic = String(overview.topic ?? '');
    ui.instance.textContent = String(overview.instance ?? '–');
    ui.topic.textContent = state.topic || '–';
    renderRooms(Array.isArray(overview.rooms) ? overview.rooms : []);
    renderPartitions(Array.isArray(overview.partitions) ? overview.partitions : []);
    renderMetrics(metrics ?? {}, Array.isArray(overview.rooms) ? overview.rooms : []);
  }

  // rooms: keyed, so a focused button survives the refresh

  const roomItems = new Map();

  function roomItem(name) {
    let item = roomItems.get(name);
    if (item) return item;
    const count = el('span', { class: 'adm-room__count', dataset: { testid: 'room-connections' } });
    const button = el(
      'button',
      { type: 'button', class: 'adm-room', dataset: { testid: 'room-item', room: name }, 'aria-pressed': 'false' },
      el('span', { class: 'adm-room__hash', 'aria-hidden': 'true', text: '#' }),
      el('span', { class: 'adm-room__name', dataset: { testid: 'room-name' }, text: name }),
      count,
    );
    button.addEventListener('click', () => selectRoom(name));
    item = { li: el('li', {}, button), button, count };
    roomItems.set(name, item);
    return item;
  }

  function renderRooms(rooms) {
    const list = rooms
      .filter((r) => typeof r?.room === 'string')
      .map((r) => ({ room: r.room, connections: Number(r.active_connections) || 0 }));
    if (state.selectedRoom && !list.some((r) => r.room === state.selectedRoom)) {
      list.push({ room: state.selectedRoom, connections: 0 });
    }
    const wanted = new Set(list.map((r) => r.room));
    for (const [name, item] of roomItems) {
      if (!wanted.has(name)) {
        item.li.remove();
        roomItems.delete(name);
      }
    }
    const focused = document.activeElement;
    const current = [...ui.roomList.children];
    const order = list.map((r) => roomItem(r.room).li);
    const sameOrder = order.length === current.length && order.every((li, i) => li === current[i]);
    if (!sameOrder) ui.roomList.replaceChildren(...order);
    // replaceChildren moves nodes, which drops the focus: give it back
    if (!sameOrder && focused && focused !== document.activeElement && focused.isConnected) {
      focused.focus({ preventScroll: true });
    }
    for (const r of list) {
      const item = roomItem(r.room);
      const label = `${r.connections} ${r.connections === 1 ? 'connection' : 'connections'}`;
      if (item.count.textContent !== String(r.connections)) item.count.textContent = String(r.connections);
      item.count.title = label;
      item.button.setAttribute('aria-label', `${r.room}, ${label}`);
      item.button.dataset.connections = String(r.connections);
      const selected = r.room === state.selectedRoom;
      item.button.setAttribute('aria-pressed', String(selected));
      item.button.classList.toggle('adm-room--selected', selected);
      item.li.classList.toggle('adm-roomlist__idle', r.connections === 0);
    }
    const online = list.filter((r) => r.connections > 0).length;
    ui.roomsCount.textContent = String(online);
    ui.roomsCount.title = `${online} ${online === 1 ? 'room' : 'rooms'} with people online`;
    ui.roomsEmpty.hidden = list.length > 0;
  }

  function renderPartitions(partitions) {
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
    ui.partitionRows.replaceChildren(...rows);
    const records = partitions.reduce((n, p) => n + Math.max(0, (Number(p.high) || 0) - (Number(p.low) || 0)), 0);
    ui.partitionsNote.textContent = `${partitions.length} · ${formatCount(records)} records`;
  }

  function setValue(id, value, text = formatCount(value)) {
    const node = $(id);
    node.dataset.value = String(value);
    if (node.textContent !== text) node.textContent = text;
  }

  function renderMetrics(metrics, rooms) {
    const now = Date.now();
    const received = sumSeries(metrics.chat_messages_received_total);
    const delivered = sumSeries(metrics.chat_messages_delivered_total);
    const errors = Array.isArray(metrics.chat_errors_total) ? metrics.chat_errors_total : [];
    const errorTotal = sumSeries(errors);
    const connectionsHere = sumSeries(metrics.chat_connections);
    const connectionsAll = rooms.reduce((n, r) => n + (Number(r.active_connections) || 0), 0);

    // rates from the previous sample (a counter going down = server restarted)
    const prev = state.samples[state.samples.length - 1];
    if (prev && (received < prev.received || delivered < prev.delivered)) state.samples = [];
    state.samples.push({ t: now, received, delivered });
    if (state.samples.length > SPARK_POINTS + 1) state.samples.shift();
    const rates = rateSeries(state.samples);
    const last = rates[rates.length - 1];

    setValue('metric-received', received);
    $('rate-received').textContent = `messages · ${last ? `${formatRate(last.received)} now` : 'from clients'}`;
    setValue('metric-delivered', delivered);
    $('rate-delivered').textContent = `to sessions · ${last ? `${formatRate(last.delivered)} now` : 'frames'}`;
    drawSpark($('spark-received'), rates.map((r) => r.received));
    drawSpark($('spark-delivered'), rates.map((r) => r.delivered));

    setValue('metric-connections', connectionsAll);
    $('connections-sub').textContent = `${rooms.length} ${rooms.length === 1 ? 'room' : 'rooms'} · ${formatCount(connectionsHere)} here`;
    $('connections-sub').title = `${formatCount(connectionsAll)} in all rooms on every instance, ${formatCount(connectionsHere)} on this one`;

    setValue('metric-errors', errorTotal);
    const top = [...errors].sort((a, b) => b.value - a.value)[0];
    $('errors-sub').textContent = top ? `most: ${top.labels?.code ?? 'unknown'}` : 'no refusals';

    const produce = summarizeHistogram(metrics, 'chat_kafka_produce_seconds');
    $('metric-produce-p50').textContent = formatQuantile(produce.p50);
    $('metric-produce-p99').textContent = formatQuantile(produce.p99);
    $('produce-count').textContent = describeHistogram(produce, 'writes');
    drawBars($('bars-produce'), produce.buckets);

    const e2e = summarizeHistogram(metrics, 'chat_end_to_end_seconds');
    $('metric-e2e-p50').textContent = formatQuantile(e2e.p50);
    $('metric-e2e-p99').textContent = formatQuantile(e2e.p99);
    $('e2e-count').textContent = describeHistogram(e2e, 'broadcasts');
    drawBars($('bars-e2e'), e2e.buckets);

    renderErrors(errors);
    renderLag(Array.isArray(metrics.chat_kafka_consumer_lag) ? metrics.chat_kafka_consumer_lag : []);
  }

  function describeHistogram(h, noun) {
    if (!(h.count > 0)) return `no ${noun} yet`;
    const mean = h.sum / h.count;
    return `${formatCount(h.count)} ${noun} · mean ${formatSeconds(mean)}`;
  }

  function rateSeries(samples) {
    const out = [];
    for (let i = 1; i < samples.length; i += 1) {
      const dt = (samples[i].t - samples[i - 1].t) / 1000;
      if (dt <= 0) continue;
      out.push({
        received: (samples[i].received - samples[i - 1].received) / dt,
        delivered: (samples[i].delivered - samples[i - 1].delivered) / dt,
      });
    }
    return out;
  }

  function drawSpark(svg, values) {
    // a dashed zero line across the whole width; the rates fill in from the
    // right (spread wider while there are only a few: at least 12 slots)
    const base = svgEl('line', { class: 'spark__base', x1: 0, y1: 30.5, x2: 100, y2: 30.5 });
    if (values.length < 2) {
      svg.replaceChildren(base);
      return;
    }
    const max = Math.max(...values, 0.0001);
    const step = 100 / (Math.max(12, values.length) - 1);
    const start = 100 - step * (values.length - 1);
    const pts = values.map((v, i) => [start + i * step, 30 - (v / max) * 26]);
    const line = pts.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(' ');
    const area = `M${pts[0][0].toFixed(2)},32 L${line.replaceAll(' ', ' L')} L100,32 Z`;
    svg.replaceChildren(
      base,
      svgEl('path', { class: 'spark__area', d: area }),
      svgEl('polyline', { class: 'spark__line', points: line, 'vector-effect': 'non-scaling-stroke' }),
    );
  }

  function drawBars(svg, buckets) {
    const n = buckets.length;
    if (!n) {
      svg.replaceChildren(svgEl('line', { class: 'spark__base', x1: 0, y1: 27.5, x2: 140, y2: 27.5 }));
      return;
    }
    const max = Math.max(...buckets.map((b) => b.n), 1);
    const w = 140 / n;
    const bars = buckets.map((b, i) => {
      const h = b.n > 0 ? Math.max(2, (b.n / max) * 26) : 1;
      return svgEl('rect', {
        class: b.n > 0 ? 'bar' : 'bar bar--empty',
        x: (i * w + 1).toFixed(2),
        y: (28 - h).toFixed(2),
        width: Math.max(1, w - 2).toFixed(2),
        height: h.toFixed(2),
        rx: 1.5,
      });
    });
    svg.replaceChildren(...bars);
  }

  function barRow({ label, sub, value, max, testid, tone }) {
    const bar = el('span', { class: 'adm-bar__fill' });
    // CSSOM (not a style attribute), which the CSP allows
    bar.style.width = `${max > 0 ? Math.max(value > 0 ? 4 : 0, (value / max) * 100) : 0}%`;
    return el(
      'li',
      { class: `adm-bar${tone ? ` adm-bar--${tone}` : ''}`, dataset: { testid, value: String(value) } },
      el('span', { class: 'adm-bar__label' }, el('span', { text: label }), sub ? el('span', { class: 'adm-bar__sub', text: sub }) : null),
      el('span', { class: 'adm-bar__value', text: formatCount(value) }),
      el('span', { class: 'adm-bar__track', 'aria-hidden': 'true' }, bar),
    );
  }

  function renderErrors(errors) {
    const sorted = [...errors].filter((e) => e.value > 0).sort((a, b) => b.value - a.value);
    const max = Math.max(0, ...sorted.map((e) => e.value));
    ui.errorList.replaceChildren(
      ...sorted.map((e) => {
        const row = barRow({ label: String(e.labels?.code ?? 'unknown'), value: e.value, max, testid: 'error-row', tone: 'warn' });
        row.dataset.code = String(e.labels?.code ?? '');
        return row;
      }),
    );
    ui.errorsEmpty.hidden = sorted.length > 0;
  }

  function renderLag(series) {
    const rows = series
      .map((s) => ({ ...lagLabel(s.labels, state.topic), topic: s.labels?.topic ?? '', value: Number(s.value) || 0 }))
      .sort((a, b) => (a.group === b.group ? Number(a.partition) - Number(b.partition) : a.group === 'chat' ? -1 : b.group === 'chat' ? 1 : a.group.localeCompare(b.group)));
    const max = Math.max(1, ...rows.map((r) => r.value));
    ui.lagList.replaceChildren(
      ...rows.map((r) => {
        const row = barRow({ label: `${r.group} · p${r.partition}`, value: r.value, max, testid: 'lag-row', tone: r.value > 0 ? 'warn' : 'ok' });
        row.dataset.topic = r.topic;
        row.dataset.partition = String(r.partition);
        row.title = `${r.topic}, partition ${r.partition}`;
        return row;
      }),
    );
    ui.lagEmpty.hidden = rows.length > 0;
  }

  // ---- records ---------------------------------------------------------------------------

  async function selectRoom(room) {
    if (!state.signedIn) return;
    state.selectedRoom = room;
    state.recordsKey = null;
    ui.recordList.replaceChildren();
    ui.recordList.hidden = true;
    ui.recordsEmpty.hidden = true;
    ui.recordsRoom.textContent = ` · #${room}`;
    ui.recordsStatus.textContent = 'Loading…';
    ui.recordsStatus.dataset.state = 'loading';
    for (const [name, item] of roomItems) {
      item.button.setAttribute('aria-pressed', String(name === room));
      item.button.classList.toggle('adm-room--selected', name === room);
    }
    if (!roomItems.has(room)) {
      const li = roomItem(room).li;
      li.classList.add('adm-roomlist__idle');
      roomItem(room).count.textContent = '0';
      roomItem(room).button.setAttribute('aria-pressed', 'true');
      roomItem(room).button.classList.add('adm-room--selected');
      ui.roomList.append(li);
      ui.roomsEmpty.hidden = true;
    }
    const session = state.session;
    try {
      const result = await api(recordsPath(room), state.token);
      if (session !== state.session || room !== state.selectedRoom) return;
      if (result.status === 401) {
        signOut('The token is no longer accepted (401). Sign in again.');
        return;
      }
      showRecords(room, result);
    } catch {
      if (session !== state.session || room !== state.selectedRoom) return;
      ui.recordsStatus.textContent = 'Could not reach the server';
      ui.recordsStatus.dataset.state = 'error';
    }
  }

  function showRecords(room, { status, body }) {
    if (status !== 200 || !Array.isArray(body)) {
      const why = typeof body?.error === 'string' ? body.error : `the server answered ${status}`;
      ui.recordsStatus.textContent = `Could not read the records: ${why}`;
      ui.recordsStatus.dataset.state = 'error';
      return;
    }
    const ids = body.map((r) => `${r.partition}:${r.offset}`);
    const key = `${room}|${ids.join(',')}`;
    ui.recordsStatus.textContent =
      body.length === 0
        ? 'no records yet'
        : `last ${body.length} of the room · newest first`;
    ui.recordsStatus.dataset.state = 'ok';
    if (key === state.recordsKey) return;
    const firstLoad = state.recordsKey === null;
    const previous = new Set(firstLoad ? [] : state.recordsKey.slice(state.recordsKey.indexOf('|') + 1).split(','));
    state.recordsKey = key;
    ui.recordsEmpty.hidden = body.length > 0;
    if (body.length === 0) {
      recordsEmptyText.textContent = `#${room} has no records in Kafka yet.`;
    }
    ui.recordList.hidden = body.length === 0;
    const items = [...body].reverse().map((r) => {
      const li = recordItem(r);
      if (!firstLoad && !previous.has(`${r.partition}:${r.offset}`)) li.classList.add('rec--new');
      return li;
    });
    ui.recordList.replaceChildren(...items);
  }

  function recordItem(r) {
    const meta = (label, value, testid, cls) =>
      el('div', { class: `rec__fact${cls ? ` ${cls}` : ''}` }, el('dt', { text: label }), el('dd', { dataset: { testid } }, value));

    const ts = Number(r.timestamp_ms);
    const time = el('time', { text: Number.isFinite(ts) ? formatClock(ts) : '–' });
    if (Number.isFinite(ts)) {
      time.dateTime = new Date(ts).toISOString();
      time.title = new Date(ts).toString();
    }

    const headers = Array.isArray(r.headers) ? r.headers : [];
    const headerList = el(
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
    if (!headers.length) headerList.append(el('li', { class: 'rec__header rec__header--none', text: 'no headers' }));

    const pretty = prettyValue(r.value ?? null);
    const code = el('code', {});
    if (pretty.json) {
      for (const t of jsonTokens(pretty.text)) {
        code.append(t.kind === 'plain' ? document.createTextNode(t.text) : el('span', { class: `j-${t.kind}`, text: t.text }));
      }
    } else {
      code.textContent = pretty.text;
    }
    const pre = el('pre', { class: 'rec__value', dataset: { testid: 'record-value', json: String(pretty.json) }, tabindex: '0', 'aria-label': `Value of offset ${r.offset}` }, code);

    return el(
      'li',
      { class: 'rec', dataset: { testid: 'record', offset: String(r.offset), partition: String(r.partition) } },
      el(
        'dl',
        { class: 'rec__meta' },
        meta('Offset', el('span', { class: 'rec__offset', text: String(r.offset) }), 'record-offset', 'rec__fact--offset'),
        meta('Partition', String(r.partition), 'record-partition'),
        meta('Time', time, 'record-time'),
        meta('Key', el('code', { text: r.key === null || r.key === undefined ? '∅' : String(r.key) }), 'record-key', 'rec__fact--key'),
      ),
      headerList,
      pre,
    );
  }

  // ---- forms -------------------------------------------------------------------------------

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (state.busy) return;
    const token = ui.input.value.trim();
    if (!token) {
      showLogin('Enter the admin token.');
      ui.input.focus();
      return;
    }
    signIn(token);
  });

  ui.input.addEventListener('input', () => {
    if (!ui.error.hidden) {
      ui.error.hidden = true;
      ui.input.removeAttribute('aria-invalid');
    }
  });

  ui.signOut.addEventListener('click', () => signOut(''));

  ui.inspectForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const room = ui.inspectInput.value.trim().toLowerCase();
    if (!ROOM_RE.test(room)) {
      ui.inspectError.textContent = 'Room names are 1 to 64 characters of a–z, 0–9 and “-”.';
      ui.inspectError.hidden = false;
      ui.inspectInput.setAttribute('aria-invalid', 'true');
      ui.inspectInput.focus();
      return;
    }
    ui.inspectError.hidden = true;
    ui.inspectInput.removeAttribute('aria-invalid');
    ui.inspectInput.value = '';
    selectRoom(room);
  });

  ui.inspectInput.addEventListener('input', () => {
    ui.inspectError.hidden = true;
    ui.inspectInput.removeAttribute('aria-invalid');
  });

  // ---- start ---------------------------------------------------------------------------------

  const saved = storage.get();
  if (saved) {
    signIn(saved, { fromStorage: true });
  } else {
    showLogin('');
    ui.input.focus();
  }

  // for tests and the curious: the state, read-only
  globalThis.animeChatAdmin = {
    get signedIn() {
      return state.signedIn;
    },
    get selectedRoom() {
      return state.selectedRoom;
    },
    refreshNow: () => tick(),
  };
}
