// Tiny DOM helpers. Text always goes in through textContent, never as HTML,
// so whatever people type is shown literally.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * el('p', {class: 'x', dataset: {testid: 'y'}, text: 'hi'}, child1, child2)
 * Attributes are set with setAttribute; `text` becomes textContent.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

/** svg('rect', {x: 1, …}): an SVG element (charts); attributes as given. */
export function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

// 24x24 stroke icons (paths only, drawn with currentColor).
const ICONS = {
  check: ['M5 12.5l4.2 4.2L19 7'],
  checks: ['M2.5 12.5l4.2 4.2L16 7.2', 'M11.5 16.2l.5.5L21.5 7.2'],
  clock: ['M12 7v5l3 2', 'M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z'],
  alert: ['M12 8v5', 'M12 16.5v.01', 'M10.3 3.9L2.4 17.6A2 2 0 0 0 4.1 20.6h15.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z'],
  retry: ['M20 11a8 8 0 1 0-2.3 5.7', 'M20 4v7h-7'],
  arrowDown: ['M12 5v14', 'M6 13l6 6 6-6'],
  arrowUp: ['M12 19V5', 'M6 11l6-6 6 6'],
  flag: ['M5 21V4', 'M5 4h11l-2 4 2 4H5'],
  trash: ['M4 7h16', 'M9 7V4h6v3', 'M6 7l1 13h10l1-13'],
  info: ['M12 11v5', 'M12 7.5v.01', 'M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z'],
  reply: ['M9 14 4 9l5-5', 'M4 9h10.5a5.5 5.5 0 0 1 5.5 5.5V20'],
  smile: ['M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z', 'M8.5 14.5a4.5 4.5 0 0 0 7 0', 'M9 9.5v.01', 'M15 9.5v.01'],
  pencil: ['M4 20h4L19 9l-4-4L4 16v4z', 'M13.5 6.5l4 4'],
  dots: ['M5 12v.01', 'M12 12v.01', 'M19 12v.01'],
  close: ['M6 6l12 12', 'M18 6 6 18'],
  at: ['M16 12a4 4 0 1 1-8 0 4 4 0 0 1 8 0z', 'M16 8v5a3 3 0 0 0 6 0v-1a10 10 0 1 0-3.9 7.9'],
};

/** An inline SVG icon (decorative: aria-hidden). */
export function icon(name, className = 'icon') {
  const node = svg('svg', {
    viewBox: '0 0 24 24',
    class: className,
    'aria-hidden': 'true',
    focusable: 'false',
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': '2',
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
  });
  for (const d of ICONS[name] ?? []) node.append(svg('path', { d }));
  return node;
}
