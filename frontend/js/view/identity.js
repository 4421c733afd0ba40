// Who we are in this room: the name the server gave us, shown under the
// composer, in the welcome card and in the side panel's "you" card.

import { userMood } from '../util.js';
import { paintAvatar } from './avatar.js';

export class IdentityView {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    const $ = (id) => doc.getElementById(id);
    this.els = {
      myName: $('my-name'),
      welcomeName: $('welcome-name'),
      welcomeAvatar: $('welcome-avatar'),
      sideName: $('side-name'),
      sideMood: $('side-mood'),
      sideAvatar: $('side-avatar'),
    };
  }

  set(username) {
    const { myName, welcomeName, welcomeAvatar, sideName, sideMood, sideAvatar } = this.els;
    myName.textContent = username;
    welcomeName.textContent = username;
    sideName.textContent = username;
    if (sideMood) sideMood.textContent = `Mood: ${userMood(username)}`;
    if (sideAvatar) paintAvatar(sideAvatar, username);
    if (welcomeAvatar) paintAvatar(welcomeAvatar, username);
    this.doc.documentElement.dataset.identified = 'true';
  }
}
