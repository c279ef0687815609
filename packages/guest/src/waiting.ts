import type { DispatcherEvents } from './dispatcher-options.js'
import { timedOut } from './errors.js'
import { holdEventLoop } from './event-loop.js'
import type { IssueOrder } from './issue-order.js'
import type { Link } from './link-state.js'
import { Watchdog } from './watchdog.js'

/**
 * @packageDocumentation
 * Waiting, and its limits, for a {@link Dispatcher}: whether anything of its issue-order work
 * waits (reported as `busy`/`flush`, and holding the event loop only meanwhile, see
 * {@link holdEventLoop}), and the {@link Watchdog} that rejects what waited too long.
 */

/** What {@link Waiting} reads of its dispatcher. */
export interface WaitingState {
  link(): Link
  readonly work: IssueOrder
  /** The owner's hooks (they may be set after the dispatcher was made). */
  events(): DispatcherEvents
}

/** Tracks whether a dispatcher's work waits, and expires what waited too long. */
export class Waiting {
  readonly watchdog: Watchdog
  readonly #d: WaitingState

  constructor(timeout: number, stalledAfter: number, d: WaitingState) {
    this.#d = d
    this.watchdog = new Watchdog(timeout, stalledAfter, {
      link: () => {
        const link = d.link()
        return link.kind === 'detached' ? { detachedSince: link.since } : link.kind === 'attached' ? link : null
      },
      unreachable: (waited) => d.events().unreachable?.(waited) ?? timedOut(`No host for ${waited} ms`),
      stalled: (info) => d.events().stalled?.(info),
      expire: (error, cutoff, since) => this.expire(error, cutoff, since)
    })
  }

  /** Whether anything waits changed, perhaps: tell the watchdog and the owner, hold the event loop. */
  check(): void {
    const busy = !this.#d.work.idle
    if (!this.watchdog.update(busy)) return
    if (busy) {
      this.#release ??= holdEventLoop()
      this.#d.events().busy?.()
    } else {
      this.#letGo()
      this.#d.events().flush?.()
    }
  }

  /** Closed: nothing waits any more (whatever did was settled); stop the watchdog, let go. */
  stop(): void {
    this.watchdog.stop()
    this.#letGo()
  }

  /** Holds the event loop while anything waits (see holdEventLoop). */
  #release: (() => void) | undefined

  #letGo(): void {
    this.#release?.()
    this.#release = undefined
  }

  /** Reject what was issued (or started waiting) at `cutoff` or before, counting from `since`. */
  expire(error: Error, cutoff: number, since: number): number {
    const n = this.#d.work.expire(error, cutoff, since)
    this.check()
    return n
  }
}
