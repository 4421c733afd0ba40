// Where to resume a room after a reconnect: the highest offset received
// (a chat_message's, or the `event_offset` of an edit, a reaction or an
// author's deletion: those are records of the room's log too), and the
// epoch of the log that offset belongs to.
//
// The server names its log with an `epoch` on welcome, ack, chat_message and
// history_end. An offset is only meaningful in its own log, so the two are
// kept as a pair taken from the same frame. A frame with another epoch means
// the kept log is gone (the server started a new one): the kept offset is
// worthless there, so the pair is replaced by that frame's epoch and its
// offset (or none, when the frame has no offset, like a welcome).
//
// Frames without an epoch come from an older server: offsets are kept as
// before, without an epoch, and the URL carries `since` alone.

const isOffset = (n) => Number.isSafeInteger(n) && n >= 0;

/** Frames about another message: their `offset` is that message's, their own is `event_offset`. */
export const EVENT_TYPES = new Set(['message_edited', 'message_deleted', 'reactions']);

/** The frame's own place in the log, or null (acks, welcomes, a moderator's deletion). */
function logOffset(frame) {
  if (frame.type === 'chat_message') return isOffset(frame.offset) ? frame.offset : null;
  if (EVENT_TYPES.has(frame.type)) return isOffset(frame.event_offset) ? frame.event_offset : null;
  return null;
}

const epochOf = (frame) => (typeof frame.epoch === 'string' && frame.epoch !== '' ? frame.epoch : null);

export class ResumeCursor {
  constructor() {
    /** @type {number|null} */
    this.offset = null;
    /** @type {string|null} */
    this.epoch = null;
  }

  /**
   * Take what a server frame says about the log. Only frames that are
   * records of the room's log move the offset (chat messages and events,
   * never backwards within a log): an ack's offset is ours, and resuming
   * from it could skip others' messages written just before ours that have
   * not reached us yet. An event frame without `event_offset` (a moderator's
   * deletion, an older server) says nothing about the log.
   * @returns {boolean} whether the kept log was replaced by another one
   */
  observe(frame) {
    if (EVENT_TYPES.has(frame.type) && logOffset(frame) === null) return false;
    const epoch = epochOf(frame);
    const offset = logOffset(frame);
    if (epoch !== null && epoch !== this.epoch) {
      this.epoch = epoch;
      this.offset = offset ?? (frame.type === 'chat_message' || !isOffset(frame.offset) ? null : frame.offset);
      return true;
    }
    if (offset !== null && (this.offset === null || offset > this.offset || epoch !== this.epoch)) {
      this.offset = offset;
      // keep the pair from one frame: an offset without an epoch has none
      this.epoch = epoch;
    }
    return false;
  }

  /** `since` and `epoch` for the next connection's URL (see chatSocketUrl). */
  params() {
    return { since: this.offset, epoch: this.offset === null ? null : this.epoch };
  }
}
