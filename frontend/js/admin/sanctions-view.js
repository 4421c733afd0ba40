// Who is muted or banned and which rooms are in slow mode (GET /api/admin/
// moderation), each with its lift button: unmute, unban, slow mode off.
// Lifting takes something away from no one, so it needs no confirmation.

import { el } from '../dom.js';
import { actionBar } from './confirm.js';
import { formatDuration, formatWhen } from './format.js';
import { LiveList } from './live-list.js';
import { describeTarget, newestFirst, targetKey } from './moderation.js';

function facts(...parts) {
  return el('p', { class: 'adm-sanction__facts' }, ...parts.filter(Boolean).map((t) => el('span', { text: t })));
}

export class SanctionsView {
  /**
   * @param {Document} doc
   * @param {{unmute: Function, unban: Function, slowOff: (room: string) => Promise<string|null>, nameOf: (id: string) => string|null}} act
   */
  constructor(doc, act) {
    const $ = (id) => doc.getElementById(id);
    this.act = act;
    this.count = $('sanctions-count');
    const list = (id, render, key) => new LiveList($(`${id}-list`), { render, key, empty: $(`${id}-empty`) });
    this.mutes = list('mutes', (m) => this.muteRow(m), (m) => targetKey(m.target));
    this.bans = list('bans', (b) => this.banRow(b), (b) => targetKey(b.target));
    this.slow = list('slow', (s) => this.slowRow(s), (s) => s.room);
  }

  clear() {
    for (const l of [this.mutes, this.bans, this.slow]) l.clear();
    this.count.textContent = '0';
  }

  /** @param {{mutes?: object[], bans?: object[], slow_mode?: object[]}} body */
  show(body) {
    // names (when known) are part of the data: a name learned later redraws the row
    const named = (x) => ({ ...x, name: typeof x?.target?.identity === 'string' ? this.act.nameOf(x.target.identity) : null });
    const mutes = newestFirst(body?.mutes).map(named);
    const bans = newestFirst(body?.bans).map(named);
    const slow = newestFirst(body?.slow_mode).filter((s) => Number(s.seconds) > 0);
    this.mutes.show(mutes);
    this.bans.show(bans);
    this.slow.show(slow);
    this.count.textContent = String(mutes.length + bans.length + slow.length);
  }

  who(target, name) {
    return el(
      'p',
      { class: 'adm-sanction__who' },
      name ? el('strong', { class: 'adm-sanction__name', text: name }) : null,
      el('code', { class: 'adm-sanction__target', dataset: { testid: 'sanction-target' }, text: describeTarget(target) }),
    );
  }

  lift(id, label, run) {
    return actionBar([{ id, label, tone: 'plain', run }]);
  }

  row(testid, key, ...children) {
    return el('li', { class: 'adm-sanction', dataset: { testid, key } }, ...children);
  }

  muteRow(m) {
    return this.row(
      'mute',
      targetKey(m.target),
      this.who(m.target, m.name),
      facts(`until ${formatWhen(m.until)}`, m.reason ? `“${m.reason}”` : null, `by ${m.by ?? '?'}`, formatWhen(m.at)),
      this.lift('unmute', 'Unmute', () => this.act.unmute(m.target)),
    );
  }

  banRow(b) {
    return this.row(
      'ban',
      targetKey(b.target),
      this.who(b.target, b.name),
      facts(b.reason ? `“${b.reason}”` : null, `by ${b.by ?? '?'}`, formatWhen(b.at)),
      this.lift('unban', 'Unban', () => this.act.unban(b.target)),
    );
  }

  slowRow(s) {
    return this.row(
      'slow',
      s.room,
      el('p', { class: 'adm-sanction__who' }, el('strong', { class: 'adm-sanction__name', text: `#${s.room}` })),
      facts(`one message per ${formatDuration(Number(s.seconds))}`, `by ${s.by ?? '?'}`, formatWhen(s.at)),
      this.lift('slow-off', 'Turn off', () => this.act.slowOff(s.room)),
    );
  }
}
