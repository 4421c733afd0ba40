// The small charts of the Control Center, as inline SVG (no library): a
// sparkline of rates, a bar chart of a histogram's buckets, and a labelled
// bar for lists (lag, errors).

import { el, svg } from '../dom.js';
import { formatCount } from './format.js';

/**
 * A dashed zero line across the whole width; the rates fill in from the
 * right (spread wider while there are only a few: at least 12 slots).
 */
export function drawSpark(target, values) {
  const base = svg('line', { class: 'spark__base', x1: 0, y1: 30.5, x2: 100, y2: 30.5 });
  if (values.length < 2) {
    target.replaceChildren(base);
    return;
  }
  const max = Math.max(...values, 0.0001);
  const step = 100 / (Math.max(12, values.length) - 1);
  const start = 100 - step * (values.length - 1);
  const pts = values.map((v, i) => [start + i * step, 30 - (v / max) * 26]);
  const line = pts.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(' ');
  const area = `M${pts[0][0].toFixed(2)},32 L${line.replaceAll(' ', ' L')} L100,32 Z`;
  target.replaceChildren(
    base,
    svg('path', { class: 'spark__area', d: area }),
    svg('polyline', { class: 'spark__line', points: line, 'vector-effect': 'non-scaling-stroke' }),
  );
}

/** @param {{le: number, n: number}[]} buckets non-cumulative counts (bucketCounts) */
export function drawBars(target, buckets) {
  const n = buckets.length;
  if (!n) {
    target.replaceChildren(svg('line', { class: 'spark__base', x1: 0, y1: 27.5, x2: 140, y2: 27.5 }));
    return;
  }
  const max = Math.max(...buckets.map((b) => b.n), 1);
  const w = 140 / n;
  const bars = buckets.map((b, i) => {
    const h = b.n > 0 ? Math.max(2, (b.n / max) * 26) : 1;
    return svg('rect', {
      class: b.n > 0 ? 'bar' : 'bar bar--empty',
      x: (i * w + 1).toFixed(2),
      y: (28 - h).toFixed(2),
      width: Math.max(1, w - 2).toFixed(2),
      height: h.toFixed(2),
      rx: 1.5,
    });
  });
  target.replaceChildren(...bars);
}

/** <li> with a label, a value and a bar scaled to `max`. */
export function barRow({ label, sub, value, max, testid, tone }) {
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
