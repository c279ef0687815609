import { holdEventLoop } from './event-loop.js'
import { timedOut } from './errors.js'
import type { HostLink } from './host-link.js'
import type { IssueOrder } from './issue-order.js'
import type { Link } from './link-state.js'

/** Why a guest reports `stalled`: its host has said nothing for `elapsed` ms while it waited. */
export interface UnresponsiveInfo {
  reason: 'unresponsive'
  elapsed: number
}

/** What a {@link Watchdog} tells the guest's owner. Every hook is optional. */
export interface WatchdogEvents {
  /** Something started, or stopped, waiting for a host. */
  busy?(): void
  flush?(): void
  /** The attached host has said nothing for `stalledAfter` ms while we wait (once per episode). */
  stalled?(info: UnresponsiveInfo): void
  /** The error for operations that waited `timeout` ms while no stream was attached. */
  unreachable?(waited: number): Error
}

/** What a {@link Watchdog} watches: a guest's dispatcher. */
export interface Watched {
  /** Where operations go now. */
  readonly link: Link
  /** The owner's hooks (they may be set after the dispatcher was made). */
  readonly events: WatchdogEvents
}

/** Most milliseconds between two checks. */
const MAX_TICK = 100

/**
 * Whether anything of one guest's issue-order work waits, and the limits of that wait.
 *
 * While something waits it holds the event loop (see {@link holdEventLoop}) and reports `busy`;
 * once nothing does, it lets go and reports `flush`. Meanwhile one timer makes every wait end:
 * an operation that waits `timeout` ms without a host, or while its host says nothing at all
 * (neither answers nor heartbeats; only a host known to send heartbeats, or not known yet, is
 * judged), is rejected; after `stalledAfter` ms of such silence a `stalled` report comes first.
 * The timer is unref'd: it only judges; what holds the process is the hold taken here.
 *
 * Only the host's silence counts. The timer notices when this process's own event loop was
 * blocked (a tick much later than due) and does not hold that time against the host; and it
 * judges only after pending input was read (timers run before I/O in each turn of the loop).
 */
export class Watchdog {
  readonly #timeout: number
  readonly #stalledAfter: number
  readonly #work: IssueOrder
  readonly #watched: Watched
  readonly #tickMs: number
  #timer: NodeJS.Timeout | null = null
  #lastTick = 0
  #busy = false
  /** Since when something waits for a host (epoch ms). */
  #since = 0
  #whenIdle: (() => void)[] = []
  #judging = false
  /** A `stalled` report was made for the current silence. */
  #stalled = false
  /** Holds the event loop while anything waits (see holdEventLoop). */
  #release: (() => void) | undefined

  /**
   * @param work What waits: the guest's operations and iterator reads.
   * @param watched The dispatcher: its link (whose host is judged) and its owner's hooks.
   */
  constructor(timeout: number, stalledAfter: number, work: IssueOrder, watched: Watched) {
    this.#timeout = timeout
    this.#stalledAfter = stalledAfter
    this.#work = work
    this.#watched = watched
    this.#tickMs = Math.max(5, Math.min(MAX_TICK, timeout / 4, stalledAfter / 4))
  }

  /** Something waits for a host. */
  get busy(): boolean {
    return this.#busy
  }

  /**
   * Whether anything waits changed, perhaps: watch it (or stop), tell the owner, and hold the
   * event loop exactly meanwhile.
   */
  check(): void {
    const busy = !this.#work.idle
    if (!busy) this.#wake()
    if (busy === this.#busy) return
    this.#busy = busy
    const events = this.#watched.events
    if (busy) {
      this.#since = Date.now()
      if (this.#timer === null) {
        this.#lastTick = this.#since
        this.#timer = setInterval(() => this.#tick(), this.#tickMs).unref()
      }
      this.#release ??= holdEventLoop()
      events.busy?.()
    } else {
      this.#letGo()
      events.flush?.()
    }
  }

  /** Resolves once nothing waits for a host (see {@link check}). */
  whenIdle(): Promise<void> {
    return this.#busy ? new Promise((resolve) => this.#whenIdle.push(resolve)) : Promise.resolve()
  }

  /** A new link: a new silence, if any. */
  reset(): void {
    this.#stalled = false
  }

  /** Closed: nothing waits any more (whatever did was settled); stop the timer, let go. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    this.#letGo()
  }

  /** Reject what was issued (or started waiting) at `cutoff` or before, counting from `since`. */
  expire(error: Error, cutoff: number, since: number): number {
    const n = this.#work.expire(error, cutoff, since)
    this.check()
    return n
  }

  #wake(): void {
    const waiters = this.#whenIdle
    this.#whenIdle = []
    for (const resolve of waiters) resolve()
  }

  #letGo(): void {
    this.#release?.()
    this.#release = undefined
  }

  #tick(): void {
    const now = Date.now()
    const late = now - this.#lastTick - this.#tickMs
    this.#lastTick = now
    const link = this.#watched.link
    const host = link.kind === 'attached' ? link.host : null
    // A tick much later than due: this process's event loop was blocked (or starved).
    if (host !== null && host.owedSince !== 0 && late > this.#tickMs)
      host.owedSince = Math.min(now, host.owedSince + late)
    if (!this.#busy || link.kind === 'forwarded') return
    if (link.kind === 'detached') {
      const waited = now - Math.max(link.since, this.#since)
      if (waited >= this.#timeout) this.expire(this.#unreachable(waited), now - this.#timeout, link.since)
    } else if (link.host.monitored) {
      if (link.host.quiet(now) < this.#stalledAfter) {
        this.#stalled = false
      } else if (!this.#judging) {
        // The host's answer may be waiting unread: judge after this turn's I/O.
        this.#judging = true
        setImmediate(() => {
          this.#judging = false
          this.#judge(link.host)
        })
      }
    }
  }

  #unreachable(waited: number): Error {
    return this.#watched.events.unreachable?.(waited) ?? timedOut(`No host for ${waited} ms`)
  }

  /** The host has been quiet for `stalledAfter` at least (see #tick): report, and expire. */
  #judge(host: HostLink): void {
    const link = this.#watched.link
    if (!this.#busy || link.kind !== 'attached' || link.host !== host) return
    const now = Date.now()
    const quiet = host.quiet(now)
    if (quiet < this.#stalledAfter) {
      this.#stalled = false
      return
    }
    if (!this.#stalled) {
      this.#stalled = true
      this.#watched.events.stalled?.({ reason: 'unresponsive', elapsed: quiet })
    }
    if (quiet >= this.#timeout)
      this.expire(timedOut(`The leader did not answer for ${quiet} ms`), now - this.#timeout, 0)
  }
}
