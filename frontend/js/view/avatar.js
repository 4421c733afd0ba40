// A person's colour and avatar, derived from the username (the server gives
// no pictures): initials on a per-user hue, with a small mood emoji.

import { el } from '../dom.js';
import { initials, userHue, userMood } from '../util.js';

/** Give an element the colour of a user (without the avatar content). */
export function paintHue(node, username) {
  // CSSOM, not a style attribute: the CSP allows it
  node.style.setProperty('--hue', String(userHue(username)));
}

/** Paint an avatar element for a username (initials + per-user hue + mood badge). */
export function paintAvatar(node, username) {
  paintHue(node, username);
  node.dataset.initials = initials(username);
  node.replaceChildren(
    el('span', { class: 'avatar__initials', text: initials(username) }),
    el('span', { class: 'avatar__mood', text: userMood(username) }),
  );
}
