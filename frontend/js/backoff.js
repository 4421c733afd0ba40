// Reconnect delays: exponential backoff with jitter.
//
// attempt 0 -> ~0.5 s, 1 -> ~1 s, 2 -> ~2 s ... capped at 15 s, each value
// spread by +/-30 % so that many clients that lost the same server do not
// all come back in the same millisecond. The result never exceeds `max`.

export const BACKOFF_DEFAULTS = Object.freeze({
  base: 500,
  max: 15000,
  jitter: 0.3,
});

/**
 * @param {number} attempt 0-based number of the reconnect attempt
 * @param {{base?: number, max?: number, jitter?: number, random?: () => number}} [options]
 * @returns {number} delay in milliseconds
 */
export function backoffDelay(attempt, options = {}) {
  const { base, max, jitter } = { ...BACKOFF_DEFAULTS, ...options };
  const random = options.random ?? Math.random;
  const n = Math.max(0, Math.floor(attempt));
  // 2 ** n grows quickly; cap the exponent so the product stays finite.
  const raw = Math.min(max, base * 2 ** Math.min(n, 30));
  const factor = 1 + (random() * 2 - 1) * jitter;
  return Math.max(0, Math.min(max, Math.round(raw * factor)));
}
