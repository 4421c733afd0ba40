// A message's text as nodes: the parts of js/text.js drawn with DOM APIs
// only (text nodes, spans, links), never as HTML. Mentions are
// highlighted (more when they name us); links open in a new tab without
// giving the page they open a handle on ours (noopener) or our address
// (noreferrer), and without lending it our reputation (nofollow).
//
// Spoilers are blurred until clicked, or Enter/Space on them (they are
// buttons until then); a link inside one cannot be followed or focused
// before. In quotes (`interactive: false`) they stay blurred: a quote is a
// button of its own, and its preview is cut short anyway.

import { el } from '../dom.js';

export const LINK_REL = 'noopener noreferrer nofollow';

/**
 * @param {object[]} parts from tokenize()
 * @param {{interactive?: boolean, revealed?: Set<number>}} [options]
 *   revealed: indexes of spoilers already shown (kept across re-renders)
 * @returns {Node[]}
 */
export function renderParts(parts, { interactive = true, revealed = new Set() } = {}) {
  let spoilers = 0;
  return parts.map((part) => {
    if (part.type !== 'spoiler') return renderInline(part, { hidden: false, interactive });
    const index = spoilers++;
    return renderSpoiler(part, index, { interactive, shown: interactive && revealed.has(index) });
  });
}

function renderInline(part, { hidden, interactive }) {
  if (part.type === 'mention') {
    return el('span', {
      class: `mention${part.me ? ' mention--me' : ''}`,
      dataset: { testid: 'mention', me: part.me ? 'true' : 'false' },
      text: part.text,
    });
  }
  if (part.type === 'link' && interactive) {
    return el('a', {
      class: 'msg__link',
      href: part.href,
      target: '_blank',
      rel: LINK_REL,
      tabindex: hidden ? '-1' : null,
      dataset: { testid: 'message-link' },
      text: part.text,
    });
  }
  return document.createTextNode(part.text);
}

function renderSpoiler(part, index, { interactive, shown }) {
  const inner = part.parts.map((p) => renderInline(p, { hidden: !shown, interactive }));
  if (!interactive) {
    // blurred for the eye, and not read out: a screen reader hears "spoiler"
    return el(
      'span',
      { class: 'spoiler spoiler--static', dataset: { testid: 'spoiler' } },
      el('span', { class: 'spoiler__text', 'aria-hidden': 'true' }, ...inner),
      el('span', { class: 'sr-only', text: 'spoiler' }),
    );
  }
  if (shown) return el('span', { class: 'spoiler spoiler--shown', dataset: { testid: 'spoiler', index: String(index) } }, ...inner);
  return el(
    'span',
    {
      class: 'spoiler',
      role: 'button',
      tabindex: '0',
      'aria-label': 'Spoiler, hidden: press to show',
      title: 'Spoiler: click to show',
      dataset: { testid: 'spoiler', index: String(index) },
    },
    el('span', { class: 'spoiler__text', 'aria-hidden': 'true' }, ...inner),
  );
}

/** Show a hidden spoiler in place (its links become usable). Returns its index, or null. */
export function revealSpoiler(node) {
  if (!node?.classList.contains('spoiler') || node.classList.contains('spoiler--shown') || node.classList.contains('spoiler--static')) return null;
  const text = node.querySelector('.spoiler__text');
  node.replaceChildren(...(text ? [...text.childNodes] : []));
  node.classList.add('spoiler--shown');
  for (const attr of ['role', 'aria-label', 'title']) node.removeAttribute(attr);
  // still focusable by script: a keyboard user's focus stays where it was
  node.setAttribute('tabindex', '-1');
  for (const link of node.querySelectorAll('a[tabindex="-1"]')) link.removeAttribute('tabindex');
  return Number(node.dataset.index);
}
