import { Backoff } from './backoff.js'

/**
 * When an election connects again after a cycle that did not end in a leader or a follower: the
 * {@link Backoff} of consecutive failures, and whether the next held lock is retried at once.
 *
 * The first time the lock is found held after a success, connect again at once instead of
 * waiting out even the smallest timer (1 ms in Node, most of a failover). The usual reason is a
 * hand-over in progress: a dying leader whose connections the kernel closed a moment before it
 * freed the lock (with some locks, such as a TCP port, that order is the rule), or a new leader
 * that has the lock but is not listening yet. Later failures back off. @internal
 */
export class RetryDelay {
  readonly #backoff: Backoff
  /** The backoff's cap, in ms: how long a follower connection must last to forget failures. */
  readonly #max: number
  #atOnce = true

  constructor(min: number, max: number) {
    this.#backoff = new Backoff(min, max)
    this.#max = max
  }

  /** Acquiring the lock or serving the endpoint failed: the delay before connecting again, in ms. */
  failed(): number {
    this.#atOnce = false
    return this.#backoff.next()
  }

  /** The lock is held by someone else: the delay before connecting again, in ms (0 at first). */
  held(): number {
    const delay = this.#atOnce ? 0 : this.#backoff.next()
    this.#atOnce = false
    return delay
  }

  /** This instance leads: forget past failures. */
  led(): void {
    this.#backoff.reset()
    this.#atOnce = true
  }

  /** This instance resigned: the lock it left is retried at once. */
  resigned(): void {
    this.#atOnce = true
  }

  /**
   * A follower connection that began at `since` (`performance.now()`) closed. Forget past
   * failures only after a connection that lasted at least the backoff's cap. A connection can be
   * short for an innocent reason (it reached a dying leader whose listening socket the kernel had
   * not closed yet) but also for a persistent one (follow() throws, or the leader drops every
   * connection at once); resetting on every connect would turn the second kind into a busy loop,
   * while this bounds it to about one cycle per cap.
   */
  followerClosed(since: number): void {
    if (performance.now() - since < this.#max) return
    this.led()
  }
}
