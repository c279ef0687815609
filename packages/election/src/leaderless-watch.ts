import type ModuleError from 'module-error'
import { lockedError } from './errors.js'

/** Payload of the `'stalled'` event. */
export interface StalledInfo {
  /** The endpoint that did not answer while the lock was held (the last one tried). */
  endpoint: string
  /** Milliseconds since the lock was first found held with no endpoint answering. */
  elapsed: number
}

/** Largest delay `setTimeout` honours; larger values (and `Infinity`) mean "never". */
const MAX_DELAY = 2 ** 31 - 1

/**
 * Watches the time without a leader, which spans several states of the election (it may bounce
 * between connecting and electing many times), and raises the two alarms:
 *
 * - a leaderless *period* starts when the election starts or loses its leader and ends when it
 *   follows or leads; while it lasts, `onTimeout` fires every `timeout` ms;
 * - a stall *episode* starts the first time the lock is found held after a failed connect and ends
 *   when a connect succeeds or this instance takes the lock; `onStalled` fires once per episode,
 *   `stalledAfter` ms after it started.
 *
 * Timers are unref'd: an alarm must never be the reason a process stays alive.
 */
export class LeaderlessWatch {
  readonly #stalledAfter: number
  readonly #timeout: number
  readonly #onStalled: (info: StalledInfo) => void
  readonly #onTimeout: (err: ModuleError) => void
  #periodStart: number | undefined
  #timeoutTimer: NodeJS.Timeout | undefined
  #stallStart: number | undefined
  #stallTimer: NodeJS.Timeout | undefined
  #endpoint = ''

  /**
   * @param stalledAfter Ms of held lock without an answering endpoint before `onStalled`.
   * @param timeout Ms without a leader before (and between) calls of `onTimeout`.
   * @param onStalled Receives the endpoint and the elapsed ms, once per episode.
   * @param onTimeout Receives a `LEVEL_LOCKED` error, every `timeout` ms of the period.
   */
  constructor(
    stalledAfter: number,
    timeout: number,
    onStalled: (info: StalledInfo) => void,
    onTimeout: (err: ModuleError) => void
  ) {
    this.#stalledAfter = stalledAfter
    this.#timeout = timeout
    this.#onStalled = onStalled
    this.#onTimeout = onTimeout
  }

  /** A leaderless period starts (no-op if one is running). */
  begin(): void {
    if (this.#periodStart !== undefined) return
    this.#periodStart = performance.now()
    if (this.#timeout <= MAX_DELAY) {
      this.#timeoutTimer = setInterval(() => this.#fireTimeout(), this.#timeout).unref()
    }
  }

  /**
   * The lock was found held after `endpoint` did not answer: starts a stall episode unless one is
   * running.
   */
  lockHeld(endpoint: string): void {
    this.#endpoint = endpoint
    if (this.#stallStart !== undefined) return
    this.#stallStart = performance.now()
    if (this.#stalledAfter <= MAX_DELAY) {
      this.#stallTimer = setTimeout(() => this.#fireStalled(), this.#stalledAfter).unref()
    }
  }

  /** The lock is ours: the stall episode (if any) is over, the leaderless period is not yet. */
  lockTaken(): void {
    clearTimeout(this.#stallTimer)
    this.#stallTimer = undefined
    this.#stallStart = undefined
  }

  /** Following or leading (or closing): the period and any stall episode end. */
  end(): void {
    this.lockTaken()
    clearInterval(this.#timeoutTimer)
    this.#timeoutTimer = undefined
    this.#periodStart = undefined
  }

  #fireStalled(): void {
    this.#stallTimer = undefined
    if (this.#stallStart === undefined) return
    this.#onStalled({ endpoint: this.#endpoint, elapsed: Math.round(performance.now() - this.#stallStart) })
  }

  #fireTimeout(): void {
    if (this.#periodStart === undefined) return
    const elapsed = Math.round(performance.now() - this.#periodStart)
    const message =
      this.#stallStart === undefined
        ? `No leader for ${elapsed} ms`
        : `No leader for ${elapsed} ms: the lock is held but ${this.#endpoint} does not answer`
    this.#onTimeout(lockedError(message))
  }
}
