import { timedOut } from './errors.js'
import type { HostLink } from './host-link.js'

/** Why a guest reports `stalled`: its host has said nothing for `elapsed` ms while it waited. */
export interface UnresponsiveInfo {
  reason: 'unresponsive'
  elapsed: number
}

/** What the watchdog watches: a guest's dispatcher. */
export interface Watched {
  /** The link now: detached since when (epoch ms), the attached host, or `null` (forwarded). */
  link(): { detachedSince: number } | { host: HostLink } | null
  /** The error for operations that waited `waited` ms without a host. */
  unreachable(waited: number): Error
  stalled(info: UnresponsiveInfo): void
  /** Reject what waited since `cutoff` or before, counting from `since`. */
  expire(error: Error, cutoff: number, since: number): void
}

/** Most milliseconds between two checks. */
const MAX_TICK = 100

/**
 * One timer per guest that makes every wait end: an operation that waits `timeout` ms without
 * a host, or while its host says nothing at all (neither answers nor heartbeats; only a host
 * known to send heartbeats, or not known yet, is judged), is rejected; after `stalledAfter` ms
 * of such silence a `stalled` report comes first. The timer is unref'd: what holds the process
 * while something waits is {@link holdEventLoop}, taken by {@link Waiting}.
 *
 * Only the host's silence counts. The timer notices when this process's own event loop was
 * blocked (a tick much later than due) and does not hold that time against the host; and it
 * judges only after pending input was read (timers run before I/O in each turn of the loop).
 */
export class Watchdog {
  readonly #timeout: number
  readonly #stalledAfter: number
  readonly #target: Watched
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

  constructor(timeout: number, stalledAfter: number, target: Watched) {
    this.#timeout = timeout
    this.#stalledAfter = stalledAfter
    this.#target = target
    this.#tickMs = Math.max(5, Math.min(MAX_TICK, timeout / 4, stalledAfter / 4))
  }

  /** Something waits for a host. */
  get busy(): boolean {
    return this.#busy
  }

  /**
   * Something waits for a host (watch it), or nothing does. Returns whether that changed.
   */
  update(busy: boolean): boolean {
    if (!busy) this.#wake()
    if (busy === this.#busy) return false
    this.#busy = busy
    if (busy) {
      this.#since = Date.now()
      if (this.#timer === null) {
        this.#lastTick = this.#since
        // Unref'd: holding the event loop while something waits is the dispatcher's, through
        // holdEventLoop(); this timer only judges.
        this.#timer = setInterval(() => this.#tick(), this.#tickMs).unref()
      }
    }
    return true
  }

  /** Resolves once nothing waits for a host (see {@link update}). */
  whenIdle(): Promise<void> {
    return this.#busy ? new Promise((resolve) => this.#whenIdle.push(resolve)) : Promise.resolve()
  }

  #wake(): void {
    const waiters = this.#whenIdle
    this.#whenIdle = []
    for (const resolve of waiters) resolve()
  }

  /** A new link: a new silence, if any. */
  reset(): void {
    this.#stalled = false
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  #tick(): void {
    const now = Date.now()
    const late = now - this.#lastTick - this.#tickMs
    this.#lastTick = now
    const target = this.#target
    const link = target.link()
    const host = link !== null && 'host' in link ? link.host : null
    // A tick much later than due: this process's event loop was blocked (or starved).
    if (host !== null && host.owedSince !== 0 && late > this.#tickMs)
      host.owedSince = Math.min(now, host.owedSince + late)
    if (!this.#busy || link === null) return
    if ('detachedSince' in link) {
      const waited = now - Math.max(link.detachedSince, this.#since)
      if (waited >= this.#timeout) target.expire(target.unreachable(waited), now - this.#timeout, link.detachedSince)
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

  /** The host has been quiet for `stalledAfter` at least (see #tick): report, and expire. */
  #judge(host: HostLink): void {
    const target = this.#target
    const link = target.link()
    if (!this.#busy || link === null || !('host' in link) || link.host !== host) return
    const now = Date.now()
    const quiet = host.quiet(now)
    if (quiet < this.#stalledAfter) {
      this.#stalled = false
      return
    }
    if (!this.#stalled) {
      this.#stalled = true
      target.stalled({ reason: 'unresponsive', elapsed: quiet })
    }
    if (quiet >= this.#timeout)
      target.expire(timedOut(`The leader did not answer for ${quiet} ms`), now - this.#timeout, 0)
  }
}
