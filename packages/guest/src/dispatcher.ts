import type { Duplex } from 'node:stream'
import type { ForwardTarget } from '@rave-level/store'
import type { CursorPort, GuestCursor } from './cursor.js'
import { connectionLost } from './errors.js'
import type { DispatcherEvents, DispatcherOptions } from './dispatcher-options.js'
import { HostAnswers } from './host-answers.js'
import { HostLink } from './host-link.js'
import { cursorPort } from './cursor-port.js'
import { IssueOrder } from './issue-order.js'
import { type Forwarded, forwarding, heartbeatFor, type Link } from './link-state.js'
import { CLEAR, CLEAR_KEYS, Request } from './requests.js'
import type { GuestSnapshot } from './snapshot.js'
import { Snapshots } from './snapshots.js'
import type { GuestWatch } from './watch.js'
import { WatchRegistry } from './watch-registry.js'
import { Watchdog } from './watchdog.js'

/**
 * Where every operation of a guest goes, and the state that outlives any one connection.
 *
 * An operation is sent to the attached host, or applied to the database it is forwarded to,
 * or waits (in issue order) for one of those. With `retry`, an operation that was not answered
 * when its connection ended is sent again on the next link, in its original order, and open
 * iterators continue after their last entry; without, they reject with `LEVEL_CONNECTION_LOST`.
 *
 * Every operation settles: one that waits `timeout` ms without a link, or while the attached
 * host says nothing at all, rejects (see {@link Watchdog}): with `events.unreachable()`'s
 * error, or `LEVEL_TIMEOUT` (outcome unknown: it may have been applied). A limited `clear()` is
 * made safe to retry (see {@link Pending}).
 *
 * It owns the link and its transitions; its parts each keep one concern: {@link IssueOrder}
 * (the waiting work, and moving it onto a link), {@link Watchdog} (whether anything waits, and the timeouts),
 * {@link WatchRegistry} and {@link Snapshots} (registered where operations go),
 * {@link HostAnswers} (what a host link reports back) and {@link cursorPort} (the cursors' view).
 */
export class Dispatcher {
  readonly retry: boolean
  readonly maxFrameSize: number
  readonly timeout: number
  readonly stalledAfter: number
  /** Hooks; set by the owner once (it may be created before its owner). */
  events: DispatcherEvents = {}
  #link: Link = { kind: 'detached', since: Date.now(), lost: false }
  /** Waiting operations and open iterators, in issue order. */
  readonly #work = new IssueOrder(() => this.host)
  readonly #pending = this.#work.pending
  readonly #watches: WatchRegistry
  readonly #snapshots: Snapshots
  /** What this guest's host links report back to. */
  readonly #answers: HostAnswers
  #closing = false
  readonly #watchdog: Watchdog
  /** The port through which cursors reach the current link. */
  readonly port: CursorPort

  constructor(options: DispatcherOptions) {
    this.retry = options.retry !== false
    this.maxFrameSize = options.maxFrameSize
    this.timeout = options.timeout ?? 10_000
    this.stalledAfter = options.stalledAfter ?? 2_000
    this.#watchdog = new Watchdog(this.timeout, this.stalledAfter, this.#work, this)
    this.port = cursorPort({
      retry: this.retry,
      link: () => this.#link,
      closing: () => this.#closing,
      work: this.#work,
      waiting: (delta) => {
        this.#work.waiting(delta)
        this.#watchdog.check()
      }
    })
    this.#snapshots = new Snapshots(this)
    this.#watches = new WatchRegistry(
      {
        retry: this.retry,
        forwarded: () => this.forwarded,
        host: () => this.host,
        refusing: () => this.#refusing,
        nextOrder: () => this.#work.next(),
        enqueue: (req) => this.#enqueue(req),
        request: (kind, a) => this.request(kind, a)
      },
      this.#pending
    )
    this.#answers = new HostAnswers({
      pending: this.#pending,
      watches: this.#watches,
      host: () => this.host,
      settled: () => {
        if (this.#watchdog.busy && this.#pending.size === 0) this.#watchdog.check()
      },
      introduced: (pid) => this.events.introduced?.(pid),
      resumeCursors: () => this.#work.resumeCursors()
    })
  }

  /** Where operations go now. */
  get link(): Link {
    return this.#link
  }

  /** How operations travel right now. */
  get kind(): Link['kind'] {
    return this.#link.kind
  }

  /** The local database and its sequencer, while forwarded. */
  get forwarded(): Forwarded | null {
    return this.#link.kind === 'forwarded' ? this.#link : null
  }

  /** The attached host's link, while attached. */
  get host(): HostLink | null {
    return this.#link.kind === 'attached' ? this.#link.host : null
  }

  /** True when no operation or iterator read waits for a host. */
  get idle(): boolean {
    return this.#work.idle
  }

  /** The next position in issue order (operations and iterators share it). */
  nextOrder(): number {
    return this.#work.next()
  }

  /** Register an open iterator (it was created with {@link nextOrder}). */
  addCursor(cursor: GuestCursor): void {
    this.#work.cursors.add(cursor)
  }

  // ---- Requests ------------------------------------------------------------------------

  /** An operation for the host (keys and values as bytes): send it, or keep it for later. */
  request(kind: number, a: any, b?: any, sync = false, snap?: GuestSnapshot): Promise<any> {
    if (this.#refusing) return Promise.reject(connectionLost())
    // Without retry nothing is applied twice: a limited clear needs no two phases.
    if (kind === CLEAR_KEYS && !this.retry) kind = CLEAR
    return new Promise((resolve, reject) => {
      const req = new Request(this.#work.next(), kind, a, b, sync, Date.now(), resolve, reject)
      req.snap = snap
      this.#enqueue(req)
    })
  }

  /** True when a link was lost and, without retry, nothing may wait for the next one. */
  get #refusing(): boolean {
    const link = this.#link
    return link.kind === 'detached' && link.lost && !this.retry
  }

  /** Keep `req` pending in its place in issue order, and send it if attached. */
  #enqueue(req: Request): void {
    const link = this.#link
    if (this.#pending.add(req) && link.kind === 'attached') link.host.queue(req)
    if (!this.#watchdog.busy) this.#watchdog.check()
  }

  // ---- Snapshots and watches (see Snapshots and WatchRegistry) ---------------------------------

  /** Take an explicit snapshot in issue order where operations go now (see {@link Snapshots.take}). */
  snapshot(options: object): GuestSnapshot {
    return this.#snapshots.take(options)
  }

  /** A number for a new watch, unique for this guest. */
  nextWatchId(): number {
    return this.#watches.nextId()
  }

  /** Watches registered, or being registered, right now. */
  get watches(): number {
    return this.#watches.size
  }

  /** Start `w` in issue order where operations go now (see {@link WatchRegistry.add}). */
  watch(w: GuestWatch<any, any>): void {
    this.#watches.add(w)
  }

  /** A new watch's release function (the dispatcher's). */
  get releaseWatch(): (w: GuestWatch<any, any>) => Promise<void> {
    return this.#watches.release
  }

  // ---- Links -----------------------------------------------------------------------------

  /**
   * Attach a stream to a host. Operations waiting for a link are sent on it at once, in issue
   * order, and open iterators continue on it. When it ends or fails, the link is lost.
   *
   * @throws `Error` if a stream is attached, or while forwarded.
   */
  attach(ref: { unref(): void } | null): Duplex {
    const link = this.#link
    // A stream destroyed by its pipeline reports that a tick later; the caller may already know.
    if (link.kind === 'attached' && link.host.stream.destroyed) this.#lose(link)
    if (this.#link.kind === 'attached') throw new Error('Only one rpc stream can be active')
    if (link.kind === 'forwarded') throw new Error('Cannot create an rpc stream after forward()')
    const host = new HostLink(this.#answers, {
      maxFrameSize: this.maxFrameSize,
      heartbeat: heartbeatFor(this.stalledAfter)
    })
    const state: Link = { kind: 'attached', host }
    const lost = () => this.#lose(state)
    // Connection errors are not ours to throw: they show as a lost connection.
    host.stream.on('error', lost)
    host.stream.on('close', lost)
    host.stream.on('finish', lost)
    // The stream holds nothing: a caller's wait holds the event loop (see holdEventLoop).
    ref?.unref()
    this.#enter(state, () => this.#work.attach(host))
    return host.stream
  }

  /**
   * From now on, apply every operation to `db` (an open abstract-level database). Operations
   * waiting for an answer are applied first, in issue order; without `retry`, those already
   * sent to a host reject with `LEVEL_CONNECTION_LOST` (their outcome is unknown). Open
   * iterators continue on `db` after their last entry (without `retry`, one that read from a
   * host fails: it cannot continue on another snapshot).
   *
   * @throws `TypeError` if `db` is not a database; `Error` while forwarded already.
   */
  forward(db: ForwardTarget): void {
    if (this.#link.kind === 'forwarded') throw new Error('forward() was already called')
    const link = forwarding(db)
    const prev = this.#link
    // Watches on a host this guest did not notice the loss of yet: registered here instead.
    if (prev.kind === 'attached') this.#watches.move(prev.host)
    const waiting = this.#work.inOrder()
    // Without retry, what a host may have applied must not be applied again.
    const sent = !this.retry && prev.kind === 'attached' ? prev.host.sentRequests() : null
    this.#pending.drain()
    this.#enter(link, () => {
      IssueOrder.forward(link, waiting, sent)
      this.#watchdog.check()
    })
  }

  /**
   * Stop forwarding: operations wait for the next link from now on, and iterators that read
   * from the local database let go of it. Resolves once nothing uses the database any more
   * (operations applied to it settled, its iterators closed), so that it can be closed.
   * Does nothing unless forwarded.
   */
  async unforward(): Promise<void> {
    const link = this.#link
    if (link.kind !== 'forwarded') return
    const closing: Promise<void>[] = []
    this.#enter({ kind: 'detached', since: Date.now(), lost: false }, () => {
      for (const cursor of this.#work.cursors) closing.push(cursor.unforward())
      this.#watches.move(link)
    })
    await Promise.all([link.sequencer.idle(), ...closing])
  }

  /**
   * Resolve once everything issued so far settled: operations answered (or rejected by a
   * timeout), iterator reads served, and writes applied to a forwarded database.
   */
  async drain(): Promise<void> {
    while (true) {
      if (!this.idle) await this.#watchdog.whenIdle()
      const local = this.forwarded
      if (local !== null) await local.sequencer.idle()
      if (this.idle && (this.forwarded === null || this.forwarded.sequencer.size === 0)) return
    }
  }

  /**
   * Closing: iterator reads from now on reject; stop the attached stream, if any, and the
   * timer. Call after {@link drain}.
   */
  close(): void {
    this.#closing = true
    if (this.#link.kind === 'attached') this.#enter({ kind: 'detached', since: Date.now(), lost: false })
    this.#watchdog.stop()
  }

  /** Open again after {@link close} (a plain guest can be reopened). */
  reopen(): void {
    this.#closing = false
    const link = this.#link
    // Without retry, a reopened guest queues operations until its next stream again.
    if (link.kind === 'detached' && link.lost) this.#link = { kind: 'detached', since: link.since, lost: false }
  }

  /**
   * Reject the operations, and fail the iterator reads, that have waited at least
   * `olderThanMs` without a link (time spent on a link that was then lost counts from the
   * loss). Does nothing while attached or forwarded. Returns how many were rejected.
   */
  rejectWaiting(error: Error, olderThanMs = 0): number {
    const link = this.#link
    if (link.kind !== 'detached') return 0
    return this.#watchdog.expire(error, Date.now() - olderThanMs, link.since)
  }

  /**
   * Move to the next link state: tear down the old one, run `then` (which brings pending work
   * in line with the new state), and only then report it, so that a listener (which may, say,
   * attach a new stream right away) always sees a consistent guest.
   */
  #enter(next: Link, then?: () => void): void {
    const prev = this.#link
    this.#link = next
    if (prev.kind === 'attached') prev.host.destroy()
    this.#watchdog.reset()
    then?.()
    const events = this.events
    if (next.kind === 'attached') events.connect?.()
    else if (next.kind === 'forwarded') events.forward?.()
    else events.disconnect?.()
  }

  #lose(state: Link): void {
    if (this.#link !== state) return
    this.#enter({ kind: 'detached', since: Date.now(), lost: true }, () => {
      if (!this.retry) for (const req of this.#pending.drain()) req.reject(connectionLost())
      if (state.kind === 'attached') this.#watches.move(state.host)
      for (const cursor of this.#work.cursors) cursor.lose()
      this.#watchdog.check()
    })
  }
}
