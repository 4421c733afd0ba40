// The connection chip in the header: connected / connecting / reconnecting
// with a countdown to the next attempt / offline, the "Retry now" button,
// and the changes spoken to screen readers.

const SPOKEN = {
  connected: 'Connected.',
  reconnecting: 'Connection lost. Reconnecting.',
  offline: 'You are offline.',
};

export class ConnectionStatus {
  /**
   * @param {Document} doc
   * @param {{announce: (text: string) => void, onReconnectNow?: () => void}} options
   */
  constructor(doc, { announce, onReconnectNow }) {
    this.doc = doc;
    this.announce = announce;
    this.chip = doc.getElementById('connection-status');
    this.label = doc.getElementById('connection-label');
    this.reconnectNow = doc.getElementById('reconnect-now');
    this.connection = { state: 'connecting', retryAt: null };
    this.wasConnected = false;
    this.countdownTimer = null;
    this.reconnectNow.addEventListener('click', () => onReconnectNow?.());
  }

  /** A new room: "Connecting…", and its first "connected" is not news. */
  reset() {
    this.wasConnected = false;
    this.set({ state: 'connecting', retryAt: null });
  }

  /** The room cannot be joined: no connection at all. */
  showNotConnected() {
    this.set({ state: 'stopped', retryAt: null });
    this.label.textContent = 'Not connected';
  }

  /** @param {{state: string, retryAt: number|null}} connection */
  set({ state, retryAt }) {
    const previous = this.connection.state;
    this.connection = { state, retryAt };
    this.chip.dataset.state = state;
    this.doc.documentElement.dataset.connection = state;
    this.reconnectNow.hidden = !(state === 'reconnecting' || state === 'offline');
    if (this.countdownTimer !== null) {
      clearInterval(this.countdownTimer);
      this.countdownTimer = null;
    }
    if (state === 'reconnecting') {
      this.countdownTimer = setInterval(() => this.render(), 250);
    }
    this.render();
    if (state === previous) return;
    const spoken = SPOKEN[state];
    const firstConnect = state === 'connected' && previous === 'connecting' && !this.wasConnected;
    if (spoken && !firstConnect) this.announce(spoken);
    if (state === 'connected') this.wasConnected = true;
  }

  render() {
    const text = this.text();
    if (this.label.textContent !== text) this.label.textContent = text;
  }

  text() {
    const { state, retryAt } = this.connection;
    switch (state) {
      case 'connected':
        return 'Connected';
      case 'reconnecting': {
        const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
        return seconds > 0 ? `Reconnecting in ${seconds}s` : 'Reconnecting…';
      }
      case 'offline':
        return 'Offline';
      case 'stopped':
        return 'Disconnected';
      default:
        return this.wasConnected ? 'Reconnecting…' : 'Connecting…';
    }
  }
}
