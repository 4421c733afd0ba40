// What the inline panels of a message share (the editor, the delete
// confirmation, the reaction picker, the report form): one open at a time,
// for one message (its key and offset); drawn into the message node, and
// into it again when the message is drawn again (attach); marked on the
// message with a class while open; closing gives the focus back.

export class MessagePanel {
  /**
   * @param {string} openClass the message's class while the panel is open
   * @param {string} [action] the data-action of the message's button that opens it (the focus goes back there)
   */
  constructor(openClass, action) {
    this.openClass = openClass;
    this.action = action;
    /** key of the message the panel is open for, or null */
    this.key = null;
    this.offset = null;
    this.node = null;
  }

  /** Closes what was open, and takes the message with this key and offset. */
  begin(key, offset) {
    this.close({ restoreFocus: false });
    this.key = key;
    this.offset = offset;
  }

  /** Where in the message node the panel goes. */
  host(li) {
    return li.querySelector('.msg__body');
  }

  /** Puts the open panel into (a re-drawn) message node. */
  attach(li) {
    const host = this.host(li);
    if (!host) return;
    host.append(this.node);
    li.classList.add(this.openClass);
  }

  close({ restoreFocus = true } = {}) {
    if (!this.node) return;
    const li = this.node.closest('.msg');
    const { key } = this;
    this.node.remove();
    li?.classList.remove(this.openClass);
    this.node = null;
    this.key = null;
    this.offset = null;
    if (restoreFocus) this.focusBack(li, key);
  }

  /** Where the focus goes once the panel closed: the message's button for it. */
  focusBack(li) {
    li?.querySelector(`[data-action="${this.action}"]`)?.focus();
  }
}
