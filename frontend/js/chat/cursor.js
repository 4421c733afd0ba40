// Where to resume a room after a reconnect: the offset of the last
// chat_message received, and the epoch of the log that offset belongs to.
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
const epochOf = (frame) => (typeof frame.epoch === 'string' && frame.epoch !== '' ? frame.epoch : null);

export class ResumeCursor {
  constructor() {
    /** @type {number|null} */
    this.offset = null;
    /** @type {string|null} */
    this.epoch = null;
  }

  /**
   * Take what a server frame says about the log. Only chat_message frames
   * move the offset within a log: an ack's offset is ours, and resuming from
   * it could skip others' messages written just before ours that have not
   * reached us yet.
   * @returns {boolean} whether the kept log was replaced by another one
   */
  observe(frame) {
    const epoch = epochOf(frame);
    if (epoch !== null && epoch !== this.epoch) {
      this.epoch = epoch;
      this.offset = isOffset(frame.offset) ? frame.offset : null;
      return true;
    }
    if (frame.type === 'chat_message' && isOffset(frame.offset)) {
      this.offset = frame.offset;
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
