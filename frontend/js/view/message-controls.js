// What a reader does with the messages in the list: the buttons inside
// them (Retry, Report, React, Reply, Edit, Delete, a reaction, a quote, the
// narrow screens' "more"), spoilers revealed by click or Enter/Space, and
// the inline forms that open under or in a message (report, reaction
// picker, editor, delete confirmation). One delegated listener for the
// whole list; the forms are put back into a message drawn again.

import { canEdit } from '../chat/actions.js';
import { DeleteConfirm, MessageEditor } from './message-edit.js';
import { ReactionPicker } from './reactions.js';
import { ReportForm } from './report-form.js';
import { revealSpoiler } from './rich-text.js';

export class MessageControls {
  /**
   * @param {HTMLElement} list
   * @param {object} options
   * @param {(key: string) => object|undefined} options.entry   the entry of a key
   * @param {(key: string) => HTMLElement|undefined} options.node
   * @param {(change: () => void) => void} options.keepBottom
   * @param {(offset: number) => void} options.showMessage        a quote was pressed
   * @param {() => void} options.focusComposer
   * @param {object} options.handlers  onRetry, onReport, onReply, onReact, onEdit, onDelete, onRefuse
   */
  constructor(list, { entry, node, keepBottom, showMessage, focusComposer, handlers }) {
    this.entry = entry;
    this.node = node;
    this.keepBottom = keepBottom;
    this.showMessage = showMessage;
    this.focusComposer = focusComposer;
    this.h = handlers;
    /** key -> indexes of the spoilers shown in that message */
    this.revealed = new Map();
    /** the message whose actions are open on a narrow screen */
    this.activeKey = null;
    /** the editor was opened from the message box (Up arrow): the focus goes back there */
    this.editFromComposer = false;
    this.reportForm = new ReportForm({ onSubmit: (offset, reason) => handlers.onReport?.(offset, reason) ?? false });
    this.picker = new ReactionPicker({ onPick: (offset, emoji, mine) => handlers.onReact?.(offset, emoji, mine) });
    this.editor = new MessageEditor({
      onSave: (offset, text) => handlers.onEdit?.(offset, text) ?? false,
      onClose: (key) => this.afterEdit(key),
    });
    this.confirm = new DeleteConfirm({ onConfirm: (offset) => handlers.onDelete?.(offset) });
    this.forms = [this.reportForm, this.picker, this.editor, this.confirm];

    list.addEventListener('click', (event) => this.onClick(event));
    // a tap elsewhere closes the actions opened with "more"
    list.ownerDocument.addEventListener('pointerdown', (event) => {
      if (this.activeKey && !(event.target instanceof Node && this.node(this.activeKey)?.contains(event.target))) this.closeMore();
    });
    list.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.activeKey && this.node(this.activeKey)?.contains(event.target)) {
        const more = this.node(this.activeKey).querySelector('.msg__more');
        this.closeMore();
        more?.focus();
      }
      const spoiler = event.target instanceof Element ? event.target.closest('.spoiler[role="button"]') : null;
      if (spoiler && (event.key === 'Enter' || event.key === ' ')) {
        event.preventDefault();
        this.reveal(spoiler);
      }
    });
  }

  onClick(event) {
    const target = event.target instanceof Element ? event.target : null;
    const spoiler = target?.closest('.spoiler[role="button"]');
    if (spoiler) {
      event.preventDefault(); // a link inside is not followed before the spoiler is shown
      this.reveal(spoiler);
      return;
    }
    const button = target?.closest('[data-action]');
    const li = button?.closest('.msg');
    if (!button || !li) return;
    const entry = this.entry(li.dataset.key);
    const { action } = button.dataset;
    if (action === 'retry') this.h.onRetry?.(button.dataset.clientMsgId);
    if (!entry) return;
    if (action === 'more') this.toggleMore(li, entry);
    else if (this.activeKey === entry.key && button.classList.contains('msg__action')) this.closeMore();
    if (action === 'report') this.keepBottom(() => this.reportForm.open(li));
    if (action === 'react') this.keepBottom(() => this.picker.open(li, entry));
    if (action === 'reply') this.h.onReply?.(entry);
    if (action === 'edit') this.startEdit(entry, false);
    if (action === 'delete') this.keepBottom(() => this.confirm.open(li, entry));
    if (action === 'reaction') this.h.onReact?.(entry.offset, button.dataset.emoji, button.dataset.mine === 'true');
    if (action === 'quote') this.showMessage(Number(button.dataset.offset));
  }

  reveal(spoiler) {
    const li = spoiler.closest('.msg');
    const index = revealSpoiler(spoiler);
    if (index === null || !li) return;
    const shown = this.revealed.get(li.dataset.key) ?? new Set();
    shown.add(index);
    this.revealed.set(li.dataset.key, shown);
    spoiler.focus({ preventScroll: true });
  }

  toggleMore(li, entry) {
    const open = this.activeKey !== entry.key;
    for (const other of li.parentElement?.querySelectorAll('.msg--active') ?? []) this.setActive(other, false);
    this.activeKey = open ? entry.key : null;
    this.setActive(li, open);
    if (open) li.querySelector('.msg__action')?.focus();
  }

  closeMore() {
    const li = this.activeKey ? this.node(this.activeKey) : null;
    this.activeKey = null;
    if (li) this.setActive(li, false);
  }

  setActive(li, on) {
    li.classList.toggle('msg--active', on);
    li.querySelector('.msg__more')?.setAttribute('aria-expanded', String(on));
  }

  /** Edit our message (from its button, or the Up arrow in the message box). Returns whether the editor opened. */
  startEdit(entry, fromComposer) {
    const li = this.node(entry.key);
    if (!li) return false;
    if (!canEdit(entry)) {
      this.h.onRefuse?.(entry.offset, 'edit_window_passed');
      return false;
    }
    this.editFromComposer = fromComposer;
    this.keepBottom(() => this.editor.open(li, entry));
    li.scrollIntoView?.({ block: 'nearest' });
    return true;
  }

  afterEdit(key) {
    const button = this.editFromComposer ? null : this.node(key)?.querySelector('[data-action="edit"]');
    if (button) button.focus();
    else this.focusComposer();
  }

  /** Up arrow in an empty message box: edit our last message, if it may still be edited. */
  editLast(entries) {
    const mine = [...entries].reverse().find((e) => !e.marker && !e.deleted && (e.own || e.byUs) && e.offset !== null);
    return mine && canEdit(mine) ? this.startEdit(mine, true) : false;
  }

  /** Escape in the message box while editing (the editor has the focus otherwise). */
  cancelEdit() {
    if (!this.editor.node) return false;
    this.editor.close();
    return true;
  }

  /** A message was drawn again: its open form (if still possible), actions and focus go into the new node. */
  reattach(entry, node, { focused, selection }) {
    for (const form of this.forms) {
      if (form.key !== entry.key) continue;
      const gone = entry.deleted || (form === this.reportForm && entry.reported) || (form !== this.reportForm && form !== this.picker && !(entry.own || entry.byUs));
      if (gone) form.close({ restoreFocus: false });
      else form.attach(node);
    }
    if (this.activeKey === entry.key) this.setActive(node, true);
    if (!focused) return;
    if (node.contains(focused)) {
      focused.focus({ preventScroll: true });
      if (selection && typeof focused.setSelectionRange === 'function') focused.setSelectionRange(...selection);
      return;
    }
    // the same button (or spoiler) in the new node, else the first button, else the message box
    const action = focused.closest?.('[data-action]');
    const spoiler = focused.closest?.('.spoiler[data-index]');
    const same = action
      ? node.querySelector(`[data-action="${action.dataset.action}"]${action.dataset.emoji ? `[data-emoji="${CSS.escape(action.dataset.emoji)}"]` : ''}`)
      : spoiler
        ? node.querySelector(`.spoiler[data-index="${spoiler.dataset.index}"]`)
        : null;
    if (same && same.matches('.spoiler--shown')) same.setAttribute('tabindex', '-1');
    const next = same ?? node.querySelector('.report__input') ?? node.querySelector('button');
    if (next) next.focus({ preventScroll: true });
    else this.focusComposer();
  }

  /** A message left the list. */
  forget(entry) {
    for (const form of this.forms) if (form.key === entry.key) form.close({ restoreFocus: false });
    this.revealed.delete(entry.key);
    if (this.activeKey === entry.key) this.activeKey = null;
  }

  reset() {
    for (const form of this.forms) form.close({ restoreFocus: false });
    this.revealed.clear();
    this.activeKey = null;
  }
}
