/**
 * The delay before retry number `attempt` (0-based): exponential from `min`, capped at `max`,
 * with "equal jitter" (a uniformly random value in the upper half of the exponential step).
 *
 * Jitter spreads out the retries of processes that lost the same race (all followers see the
 * leader's socket close in the same instant), so they do not hammer the lock in lockstep; keeping
 * the lower half fixed keeps the delay from collapsing to zero, which would turn a held lock into
 * a busy loop.
 *
 * @param attempt Number of retries already made in this run of failures (0 for the first).
 * @param min Delay of the first retry's step, in ms (>= 0).
 * @param max Cap, in ms (>= `min`).
 * @param random Source of uniform numbers in [0, 1); `Math.random` by default.
 * @returns A delay in ms, in `[step / 2, step]` where `step = min(max, min * 2 ** attempt)`.
 */
export function backoffDelay(attempt: number, min: number, max: number, random: () => number = Math.random): number {
  const step = Math.min(max, min * 2 ** Math.max(0, attempt))
  return step / 2 + (random() * step) / 2
}

/**
 * Counts consecutive failures and hands out {@link backoffDelay} delays for them.
 */
export class Backoff {
  readonly #min: number
  readonly #max: number
  readonly #random: () => number
  #attempt = 0

  /**
   * @param min Delay of the first step, in ms.
   * @param max Cap, in ms.
   * @param random Source of uniform numbers in [0, 1); `Math.random` by default.
   */
  constructor(min: number, max: number, random: () => number = Math.random) {
    this.#min = min
    this.#max = max
    this.#random = random
  }

  /** The delay for the next retry, in ms; each call counts one more failure. */
  next(): number {
    const delay = backoffDelay(this.#attempt, this.#min, this.#max, this.#random)
    // Stop counting once the cap is reached, so the exponent cannot overflow to Infinity (and
    // `0 * Infinity` cannot turn a zero `min` into NaN).
    if (this.#min > 0 && this.#min * 2 ** this.#attempt < this.#max) this.#attempt++
    return delay
  }

  /** Forget the failures: the next delay starts from `min` again. */
  reset(): void {
    this.#attempt = 0
  }
}
