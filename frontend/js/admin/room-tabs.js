// The room card's two views: its messages (to moderate) and its raw Kafka
// records. Tabs only when the server has moderation; an older server shows
// the records alone, as before. Arrow keys, Home and End move between the
// tabs (the ARIA tabs pattern).

const TABS = ['messages', 'records'];

export class RoomTabs {
  /** @param {Document} doc */
  constructor(doc) {
    const $ = (id) => doc.getElementById(id);
    this.bar = $('room-tabs');
    this.title = $('room-card-label');
    this.tabs = { messages: $('tab-messages'), records: $('tab-records') };
    this.panels = { messages: $('room-messages'), records: $('room-records') };
    this.enabled = false;
    this.current = 'records';
    for (const name of TABS) {
      this.tabs[name].addEventListener('click', () => this.select(name));
      this.tabs[name].addEventListener('keydown', (event) => this.onKey(event, name));
    }
    this.enable(false);
  }

  /** With moderation: both views, messages first; without: the records only. */
  enable(on) {
    if (on === this.enabled && this.bar.hidden === !on) return;
    this.enabled = on;
    this.bar.hidden = !on;
    this.title.textContent = on ? 'Room' : 'Records';
    this.select(on ? 'messages' : 'records', { focus: false });
  }

  select(name, { focus = true } = {}) {
    if (!this.enabled && name !== 'records') return;
    this.current = name;
    for (const tab of TABS) {
      const selected = tab === name;
      this.tabs[tab].setAttribute('aria-selected', String(selected));
      this.tabs[tab].tabIndex = selected ? 0 : -1;
      this.panels[tab].hidden = !selected;
    }
    if (focus) this.tabs[name].focus();
  }

  onKey(event, name) {
    const i = TABS.indexOf(name);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    this.select(TABS[(next + TABS.length) % TABS.length]);
  }
}
