// How the Control Center writes numbers, durations, times and record
// values. Pure functions, checked in Node.

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
 * A moment (RFC 3339) for lists: "13:16:44" today, "25 Nov 13:16" on
 * other days, "–" when it does not parse.
 */
export function formatWhen(iso, now = Date.now()) {
  const t = Date.parse(iso ?? '');
  if (Number.isNaN(t)) return '–';
  const d = new Date(t);
  if (d.toDateString() === new Date(now).toDateString()) return formatClock(t, false);
  return `${d.getDate()} ${d.toLocaleString('en-US', { month: 'short' })} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** 45 -> "45 s", 300 -> "5 min", 3600 -> "1 h", 5400 -> "1 h 30 min", 86400 -> "24 h". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
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
