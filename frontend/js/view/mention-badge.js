// "@ 2 mentions": messages naming us that arrived while the reader was
// scrolled up. Each counts until it has been on screen; a click scrolls
// to the oldest one not seen yet.

export class MentionBadge {
  /**
   * @param {Document} doc
   * @param {{scroller: HTMLElement, onShow: (key: string) => void}} options  onShow: scroll to and highlight that message
   */
  constructor(doc, { scroller, onShow }) {
    this.button = doc.getElementById('mention-badge');
    this.count = doc.getElementById('mention-badge-count');
    this.scroller = scroller;
    /** keys of the messages not seen yet, oldest first */
    this.keys = [];
    /** key -> node (re-drawn messages replace theirs) */
    this.nodes = new Map();
    this.button.addEventListener('click', () => {
      const [key] = this.keys;
      if (key) onShow(key);
    });
  }

  add(key, node) {
    if (!this.keys.includes(key)) this.keys.push(key);
    this.nodes.set(key, node);
    this.render();
  }

  /** A message was drawn again (or removed: null). */
  replace(key, node) {
    if (!this.nodes.has(key)) return;
    if (node) this.nodes.set(key, node);
    else this.forget(key);
  }

  forget(key) {
    this.keys = this.keys.filter((k) => k !== key);
    this.nodes.delete(key);
    this.render();
  }

  /** Forget the ones on screen now (after a scroll). */
  check() {
    if (this.keys.length === 0) return;
    const view = this.scroller.getBoundingClientRect();
    for (const key of [...this.keys]) {
      const r = this.nodes.get(key)?.getBoundingClientRect();
      if (!r || (r.bottom > view.top + 8 && r.top < view.bottom - 8)) this.forget(key);
    }
  }

  clear() {
    this.keys = [];
    this.nodes.clear();
    this.render();
  }

  render() {
    const n = this.keys.length;
    this.button.hidden = n === 0;
    this.count.textContent = n === 1 ? '1 mention' : `${n} mentions`;
    this.button.setAttribute('aria-label', n === 1 ? 'You were mentioned: show the message' : `You were mentioned ${n} times: show the first`);
  }
}
