// A list the refresh loop redraws: rebuilt only when its data changed,
// never while an inline form is open in it (an operator typing a reason
// must not lose it to a refresh: the newest data waits until the form
// closes), and the focused button keeps the focus across a rebuild (found
// again by its row's key and its action).

export class LiveList {
  /**
   * @param {HTMLElement} list   the <ol>/<ul>
   * @param {{render: (item: any) => HTMLElement, key: (item: any) => string, empty?: HTMLElement}} options
   *   render gives a row with data-key = key(item); `empty` is shown for no items
   */
  constructor(list, { render, key, empty = null }) {
    this.list = list;
    this.renderRow = render;
    this.keyOf = key;
    this.empty = empty;
    this.signature = null;
    /** open inline forms */
    this.holds = 0;
    this.pending = null;
  }

  /** An inline form opened in the list: keep it as it is. */
  hold() {
    this.holds += 1;
  }

  /** ... and closed: show the newest data now. */
  release() {
    this.holds = Math.max(0, this.holds - 1);
    if (this.holds === 0 && this.pending) {
      const items = this.pending;
      this.pending = null;
      this.show(items);
    }
  }

  clear() {
    this.holds = 0;
    this.pending = null;
    this.signature = null;
    this.list.replaceChildren();
    if (this.empty) this.empty.hidden = false;
  }

  /** Show these items (in this order). */
  show(items) {
    if (this.holds > 0) {
      this.pending = items;
      return;
    }
    const signature = JSON.stringify(items);
    if (signature === this.signature) return;
    this.signature = signature;
    const focused = this.list.ownerDocument.activeElement;
    const row = focused && this.list.contains(focused) ? focused.closest('[data-key]') : null;
    const wanted = row ? { key: row.dataset.key, action: focused.dataset.action } : null;
    this.list.replaceChildren(...items.map((item) => this.renderRow(item)));
    if (this.empty) this.empty.hidden = items.length > 0;
    if (wanted) this.refocus(wanted);
  }

  refocus({ key, action }) {
    const row = [...this.list.querySelectorAll('[data-key]')].find((n) => n.dataset.key === key);
    const target = (action && row?.querySelector(`[data-action="${CSS.escape(action)}"]`)) || row?.querySelector('button');
    target?.focus({ preventScroll: true });
  }
}
