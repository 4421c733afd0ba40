// DOM for the components both pages draw (css/components.css): a row of a
// room list. The chat's rows are links (switch room), the Control Center's
// buttons (inspect a room); both look the same.

import { el } from './dom.js';

/**
 * <li><a|button class="room"># name count</li>
 * @param {'a' | 'button'} tag
 * @param {string} room
 * @param {{attrs?: object, nameTestid: string, countTestid: string}} options
 *   attrs: attributes of the link/button (href, type, data-*, aria-*)
 * @returns {{li: HTMLLIElement, link: HTMLElement, count: HTMLSpanElement}}
 */
export function roomRow(tag, room, { attrs = {}, nameTestid, countTestid }) {
  const count = el('span', { class: 'room__count', dataset: { testid: countTestid } });
  const link = el(
    tag,
    { ...attrs, class: ['room', attrs.class].filter(Boolean).join(' ') },
    el('span', { class: 'room__hash', 'aria-hidden': 'true', text: '#' }),
    el('span', { class: 'room__name', dataset: { testid: nameTestid }, text: room }),
    count,
  );
  return { li: el('li', {}, link), link, count };
}
