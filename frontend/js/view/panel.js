// The side panel (you, rooms, people online). On wide screens it is a
// column next to the chat; below DRAWER_QUERY it is a drawer that slides in
// over the chat, opened by the header button: Escape, the close button or a
// tap on the dimmed chat close it, focus moves into it and back, and the
// rest of the page is inert while it is open.

export const DRAWER_QUERY = '(max-width: 999.98px)';

export class SidePanel {
  /**
   * @param {Document} doc
   * @param {{onOpen?: () => void}} [handlers]
   */
  constructor(doc, { onOpen } = {}) {
    this.doc = doc;
    this.onOpen = onOpen ?? (() => {});
    this.panel = doc.getElementById('side-panel');
    this.toggle = doc.getElementById('panel-toggle');
    this.closeButton = doc.getElementById('panel-close');
    this.scrim = doc.getElementById('scrim');
    this.background = [doc.querySelector('.topbar'), doc.querySelector('.chat'), doc.querySelector('.skip-link')].filter(Boolean);
    this.media = globalThis.matchMedia?.(DRAWER_QUERY) ?? null;
    this.open = false;

    this.toggle.addEventListener('click', () => (this.open ? this.hide() : this.show()));
    this.closeButton.addEventListener('click', () => this.hide());
    this.scrim.addEventListener('click', () => this.hide());
    doc.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.open) {
        event.preventDefault();
        this.hide();
      }
    });
    this.media?.addEventListener?.('change', () => {
      if (!this.isDrawer()) this.hide({ restoreFocus: false });
      this._sync();
    });
    this._sync();
  }

  isDrawer() {
    return this.media ? this.media.matches : false;
  }

  show() {
    if (!this.isDrawer()) {
      this.onOpen();
      return;
    }
    this.open = true;
    this._sync();
    this.onOpen();
    // After the panel became visible (visibility is part of the transition).
    requestAnimationFrame(() => {
      const target = this.panel.querySelector('.room[aria-current="page"]') ?? this.closeButton;
      target.focus({ preventScroll: true });
    });
  }

  hide({ restoreFocus = true } = {}) {
    if (!this.open) return;
    const hadFocus = this.panel.contains(this.doc.activeElement);
    this.open = false;
    this._sync();
    if (restoreFocus && hadFocus && this.isDrawer()) this.toggle.focus({ preventScroll: true });
  }

  _sync() {
    const drawer = this.isDrawer();
    const open = drawer && this.open;
    this.panel.classList.toggle('side--open', open);
    this.panel.dataset.mode = drawer ? 'drawer' : 'column';
    this.toggle.setAttribute('aria-expanded', String(open));
    this.scrim.hidden = !open;
    this.doc.documentElement.classList.toggle('drawer-open', open);
    for (const node of this.background) {
      if (open) node.setAttribute('inert', '');
      else node.removeAttribute('inert');
    }
    if (drawer) {
      this.panel.setAttribute('role', 'dialog');
      this.panel.setAttribute('aria-modal', String(open));
    } else {
      this.panel.removeAttribute('role');
      this.panel.removeAttribute('aria-modal');
    }
  }
}
