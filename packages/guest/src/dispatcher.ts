import type { Duplex } from 'node:stream'
import { type ForwardTarget, LocalStore, Sequencer } from '@rave-level/store'
import type ModuleError from 'module-error'
import type { CursorPort, GuestCursor } from './cursor.js'
import { connectionLost, timedOut } from './errors.js'
import { HostLink, type LinkOwner, type Route } from './host-link.js'
import { KeyCollector } from './key-collector.js'
import {
  BATCH,
  CLEAR,
  CLEAR_KEYS,
  DEL,
  GET,
  GET_MANY,
  HAS,
  HAS_MANY,
  type ManyValue,
  PUT,
  Request,
  tooLargeToReceive
} from './requests.js'

/** Options of a {@link Dispatcher}. */
export interface DispatcherOptions {
  /** Retry unanswered operations and resume iterators on the next link (default `true`). */
  retry?: boolean | undefined
  /** Largest frame accepted from a host and sent to it (default 64 MiB). */
  maxFrameSize: number
  /**
   * Ms an operation may wait without a host, or while the host says nothing at all, before it
   * rejects (default `10000`; `Infinity` waits forever).
   */
  timeout?: number | undefined
  /** Ms the host may say nothing while we wait for it before a `stalled` report (default `2000`). */
  stalledAfter?: number | undefined
}

/** Why a {@link Dispatcher} reports `stalled`. */
export interface UnresponsiveInfo {
  reason: 'unresponsive'
  /** Ms since the host last sent anything while we waited for it. */
  elapsed: number
}

/** What a {@link Dispatcher} tells its owner. Every hook is optional. */
export interface DispatcherEvents {
  /** A stream was attached, a link lost, or operations forwarded to a local database. */
  connect?(): void
  disconnect?(): void
  forward?(): void
  /** Something started, or stopped, waiting for a host. */
  busy?(): void
  flush?(): void
  /** The host of the attached stream answered its Hello (or proved a plain many-level 2 host). */
  introduced?(pid: number | undefined): void
  /** The attached host has said nothing for `stalledAfter` ms while we wait (once per episode). */
  stalled?(info: UnresponsiveInfo): void
  /** The error for operations that waited `timeout` ms while no stream was attached. */
  unreachable?(waited: number): Error
}

type Forwarded = { readonly kind: 'forwarded'; readonly store: LocalStore; readonly sequencer: Sequencer }
type Link =
  | { readonly kind: 'detached'; readonly since: number; readonly lost: boolean }
  | { readonly kind: 'attached'; readonly host: HostLink }
  | Forwarded

/** Most milliseconds between two checks of the timeouts. */
const MAX_TICK = 100

/**
 * Where every operation of a guest goes, and the state that outlives any one connection.
 *
 * An operation is sent to the attached host, or applied to the database it is forwarded to,
 * or waits (in issue order) for one of those. With `retry`, an operation that was not answered
 * when its connection ended is sent again on the next link, in its original order, and open
 * iterators continue after their last entry; without, they reject with `LEVEL_CONNECTION_LOST`.
 *
 * Every operation settles: one that waits `timeout` ms without a link, or while the attached
 * host (one that said Hello, or has not answered it yet) sends nothing at all, neither answers
 * nor heartbeats, rejects: with `events.unreachable()`'s error, or `LEVEL_TIMEOUT` (outcome
 * unknown: it may have been applied). A `stalled` report comes after `stalledAfter` ms of such
 * silence.
 *
 * A `clear()` with a limit is not idempotent: retried after a failover it would delete up to
 * `limit` more entries. So it runs in two phases (CLEAR_KEYS): read the keys it will delete,
 * then delete exactly those. Everything issued after it waits until the first phase is done
 * (`#hold`), so that nothing later overtakes it.
 */
export class Dispatcher implements LinkOwner {
  readonly retry: boolean
  readonly maxFrameSize: number
  readonly timeout: number
  readonly stalledAfter: number
  /** Hooks; set by the owner once (it may be created before its owner). */
  events: DispatcherEvents = {}
  #link: Link = { kind: 'detached', since: Date.now(), lost: false }
  /** Unanswered operations by `order`; a Map iterates in insertion order, which is issue order. */
  #pending = new Map<number, Request>()
  /** Open iterators, in creation order. */
  readonly #cursors = new Set<GuestCursor>()
  #order = 0
  #waitingReads = 0
  #busy = false
  /** When the guest last started waiting for a host (epoch ms). */
  #busySince = 0
  /** A `stalled` report was made for the current silence. */
  #stalled = false
  /** Order of the earliest limited clear still reading its keys: later operations wait. */
  #hold = Number.POSITIVE_INFINITY
  #closing = false
  #timer: NodeJS.Timeout | null = null
  #flushed: (() => void)[] = []
  /** The port through which cursors reach the current link. */
  readonly port: CursorPort

  constructor(options: DispatcherOptions) {
    this.retry = options.retry !== false
    this.maxFrameSize = options.maxFrameSize
    this.timeout = options.timeout ?? 10_000
    this.stalledAfter = options.stalledAfter ?? 2_000
    this.port = {
      retry: this.retry,
      link: () => this.#link.kind,
      lost: () => this.#link.kind === 'detached' && this.#link.lost && !this.retry,
      closing: () => this.#closing,
      send: (frame) => {
        if (this.#link.kind === 'attached') this.#link.host.queue(frame)
      },
      allocId: () => (this.#link.kind === 'attached' ? this.#link.host.allocId() : 0),
      route: (id, cursor) => {
        if (this.#link.kind === 'attached') this.#link.host.route(id, cursor)
      },
      local: () => {
        const link = this.#link
        return link.kind === 'forwarded' ? { db: link.store.db, sequencer: link.sequencer } : null
      },
      held: (order) => order > this.#hold,
      waiting: (delta) => {
        this.#waitingReads += delta
        this.#checkBusy()
      },
      forget: (cursor) => {
        this.#cursors.delete(cursor)
      }
    }
  }

  /** How operations travel right now. */
  get kind(): Link['kind'] {
    return this.#link.kind
  }

  /** The local database and its sequencer, while forwarded. */
  get forwarded(): { readonly store: LocalStore; readonly sequencer: Sequencer } | null {
    return this.#link.kind === 'forwarded' ? this.#link : null
  }

  /** The attached host's link, while attached. */
  get host(): HostLink | null {
    return this.#link.kind === 'attached' ? this.#link.host : null
  }

  /** True when no operation or iterator read waits for a host. */
  get idle(): boolean {
    return this.#pending.size === 0 && this.#waitingReads === 0
  }

  /** The next position in issue order (operations and iterators share it). */
  nextOrder(): number {
    return this.#order++
  }

  /** Register an open iterator (it was created with {@link nextOrder}). */
  addCursor(cursor: GuestCursor): void {
    this.#cursors.add(cursor)
  }

  // ---- Requests ------------------------------------------------------------------------

  /** An operation for the host (keys and values as bytes): send it, or keep it for later. */
  request(kind: number, a: any, b?: any, sync = false): Promise<any> {
    const link = this.#link
    if (link.kind === 'detached' && link.lost && !this.retry) return Promise.reject(connectionLost())
    if (kind === CLEAR_KEYS && !this.retry) kind = CLEAR
    return new Promise((resolve, reject) => {
      const req = new Request(this.#order++, kind, a, b, sync, Date.now(), resolve, reject)
      this.#pending.set(req.order, req)
      if (link.kind === 'attached' && req.order <= this.#hold) link.host.queue(req)
      if (kind === CLEAR_KEYS && req.order < this.#hold) this.#hold = req.order
      if (!this.#busy) this.#checkBusy()
    })
  }

  refuse(req: Request, err: Error): void {
    if (this.#pending.delete(req.order)) {
      req.reject(err)
      this.#settled(req)
    }
  }

  settle(
    sent: Request | Request[],
    error: string | undefined,
    message: string | undefined,
    value: Uint8Array | undefined,
    values: readonly ManyValue[] | undefined,
    oversized: ReadonlySet<number> | undefined
  ): void {
    if (sent instanceof Request) {
      // Settle only what is still pending (a timeout may have settled it).
      if (this.#pending.delete(sent.order)) {
        sent.answer(error, message, value, values, oversized)
        this.#settled(sent)
      }
    } else {
      // A run shares the outcome of its frame: each read gets its value of the GetMany.
      for (let i = 0; i < sent.length; i++) {
        const req = sent[i] as Request
        if (!this.#pending.delete(req.order)) continue
        if (oversized?.has(i)) {
          req.reject(tooLargeToReceive())
          this.#settled(req)
        }
        else req.answer(error, message, error === undefined ? values?.[i]?.value : undefined)
      }
    }
    if (this.#pending.size === 0 && this.#busy) this.#checkBusy()
  }

  collect(req: Request, id: number): Route {
    return new KeyCollector(
      {
        send: (frame) => this.port.send(frame),
        route: (rid, route) => this.host?.route(rid, route),
        collected: (r, keys) => this.#collected(r, keys),
        failed: (r, code, message) => this.settle(r, code, message, undefined, undefined, undefined)
      },
      req,
      id
    )
  }

  introduced(link: HostLink): void {
    if (this.#link.kind === 'attached' && this.#link.host === link) this.events.introduced?.(link.pid)
  }

  /** A limited clear read its keys: delete exactly those, then let what waited behind it go. */
  #collected(req: Request, keys: Buffer[]): void {
    if (!this.#pending.has(req.order) || req.kind !== CLEAR_KEYS) return
    req.kind = BATCH
    req.a = keys.map((key) => ({ type: 'del', key, keyEncoding: 'buffer' }))
    if (keys.length === 0) this.settle(req, undefined, undefined, undefined, undefined, undefined)
    else this.host?.queue(req)
    this.#release()
  }

  /** A request settled: if it held later operations back, let them go. */
  #settled(req: Request): void {
    if (req.order === this.#hold) this.#release()
  }

  /** Move the hold to the next limited clear still reading keys, sending what it held back. */
  #release(): void {
    const from = this.#hold
    let next = Number.POSITIVE_INFINITY
    for (const req of this.#pending.values()) {
      if (req.order > from && req.kind === CLEAR_KEYS) {
        next = req.order
        break
      }
    }
    this.#hold = next
    const link = this.#link
    if (link.kind !== 'attached') return
    for (const item of this.#inOrder()) {
      if (item.order <= from || item.order > next) continue
      if (item instanceof Request) link.host.queue(item)
      else item.resume()
    }
  }

  // ---- Links -----------------------------------------------------------------------------

  /**
   * Attach a stream to a host. Operations waiting for a link are sent on it at once, in issue
   * order, and open iterators continue on it. When it ends or fails, the link is lost.
   *
   * @throws `Error` if a stream is attached, or while forwarded.
   */
  attach(ref: HostLink['ref']): Duplex {
    const link = this.#link
    // A stream destroyed by its pipeline reports that a tick later; the caller may already know.
    if (link.kind === 'attached' && link.host.stream.destroyed) this.#lose(link)
    if (this.#link.kind === 'attached') throw new Error('Only one rpc stream can be active')
    if (link.kind === 'forwarded') throw new Error('Cannot create an rpc stream after forward()')
    const host = new HostLink(this, {
      maxFrameSize: this.maxFrameSize,
      heartbeat: heartbeatFor(this.stalledAfter),
      ref
    })
    const state: Link = { kind: 'attached', host }
    const lost = () => this.#lose(state)
    // Connection errors are not ours to throw: they show as a lost connection.
    host.stream.on('error', lost)
    host.stream.on('close', lost)
    host.stream.on('finish', lost)
    this.#enter(state, () => {
      for (const item of this.#inOrder()) {
        if (item.order > this.#hold) break
        if (item instanceof Request) host.queue(item)
        else item.resume()
      }
      if (ref != null) {
        if (this.#busy) ref.ref()
        else ref.unref()
      }
    })
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
    if (db == null || typeof db.batch !== 'function' || typeof db.iterator !== 'function') {
      throw new TypeError("The first argument 'db' must be an abstract-level database")
    }
    const store = new LocalStore(db)
    const link: Forwarded = { kind: 'forwarded', store, sequencer: new Sequencer(store) }
    const prev = this.#link
    const waiting = this.#inOrder()
    // Without retry, what a host may have applied must not be applied again.
    const sent = !this.retry && prev.kind === 'attached' ? prev.host.sentRequests() : null
    this.#pending = new Map()
    this.#hold = Number.POSITIVE_INFINITY
    this.#enter(link, () => {
      for (const item of waiting) {
        if (!(item instanceof Request)) item.forward()
        else if (sent?.has(item)) item.reject(connectionLost())
        else replay(link, item).then(item.resolve, item.reject)
      }
      this.#checkBusy()
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
      for (const cursor of this.#cursors) closing.push(cursor.unforward())
    })
    await Promise.all([link.sequencer.idle(), ...closing])
  }

  /**
   * Resolve once everything issued so far settled: operations answered (or rejected by a
   * timeout), iterator reads served, and writes applied to a forwarded database.
   */
  async drain(): Promise<void> {
    while (true) {
      if (!this.idle) await new Promise<void>((resolve) => this.#flushed.push(resolve))
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
    this.#stopTimer()
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
    return this.#expire(error, Date.now() - olderThanMs, link.since)
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
    this.#stalled = false
    then?.()
    const events = this.events
    if (next.kind === 'attached') events.connect?.()
    else if (next.kind === 'forwarded') events.forward?.()
    else events.disconnect?.()
  }

  #lose(state: Link): void {
    if (this.#link !== state) return
    this.#enter({ kind: 'detached', since: Date.now(), lost: true }, () => {
      if (!this.retry) {
        const pending = this.#pending
        this.#pending = new Map()
        this.#hold = Number.POSITIVE_INFINITY
        for (const req of pending.values()) req.reject(connectionLost())
      }
      for (const cursor of this.#cursors) cursor.lose()
      this.#checkBusy()
    })
  }

  /** Waiting operations and open iterators, merged in issue order. */
  #inOrder(): (Request | GuestCursor)[] {
    const out: (Request | GuestCursor)[] = []
    const cursors = [...this.#cursors]
    let c = 0
    for (const req of this.#pending.values()) {
      while (c < cursors.length && (cursors[c] as GuestCursor).order < req.order) out.push(cursors[c++] as GuestCursor)
      out.push(req)
    }
    while (c < cursors.length) out.push(cursors[c++] as GuestCursor)
    return out
  }

  // ---- Waiting, and its limits ------------------------------------------------------------

  #checkBusy(): void {
    const busy = !this.idle
    if (busy === this.#busy) {
      if (!busy) this.#wake()
      return
    }
    this.#busy = busy
    const link = this.#link
    if (link.kind === 'attached' && link.host.ref != null) {
      if (busy) link.host.ref.ref()
      else link.host.ref.unref()
    }
    if (busy) {
      this.#busySince = Date.now()
      this.#startTimer()
      this.events.busy?.()
    } else {
      this.#timer?.unref()
      this.#wake()
      this.events.flush?.()
    }
  }

  #wake(): void {
    const waiters = this.#flushed
    this.#flushed = []
    for (const resolve of waiters) resolve()
  }

  /**
   * One timer enforces `timeout` and `stalledAfter`, and keeps the process alive while
   * something waits for a host: ref'd while busy, unref'd otherwise (so an idle guest lets the
   * process exit, as classic-level does).
   */
  #startTimer(): void {
    if (this.#timer === null) {
      this.#tickMs = Math.max(5, Math.min(MAX_TICK, this.timeout / 4, this.stalledAfter / 4))
      this.#lastTick = Date.now()
      this.#timer = setInterval(() => this.#tick(), this.#tickMs)
    }
    this.#timer.ref()
  }

  #tickMs = MAX_TICK
  #lastTick = 0

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  #tick(): void {
    const now = Date.now()
    // A tick much later than due means this process's event loop was blocked (or starved):
    // that time is not the host's silence.
    const late = now - this.#lastTick - this.#tickMs
    this.#lastTick = now
    const host = this.host
    if (host !== null && host.owedSince !== 0 && late > this.#tickMs) host.owedSince = Math.min(now, host.owedSince + late)
    if (!this.#busy) return
    const link = this.#link
    if (link.kind === 'detached') {
      const waited = now - Math.max(link.since, this.#busySince)
      if (waited < this.timeout) return
      const error = this.events.unreachable?.(waited) ?? timedOut(`No host for ${waited} ms`)
      this.#expire(error, now - this.timeout, link.since)
    } else if (link.kind === 'attached' && link.host.monitored) {
      if (link.host.quiet(now) < this.stalledAfter) {
        this.#stalled = false
        return
      }
      // Timers run before I/O in each turn of the event loop: the host's answer may be waiting
      // unread. Judge only after reading it.
      if (!this.#judging) {
        this.#judging = true
        setImmediate(() => {
          this.#judging = false
          this.#judge()
        })
      }
    }
  }

  #judging = false

  /** The host has been quiet for `stalledAfter` at least (see #tick): report, and expire. */
  #judge(): void {
    const link = this.#link
    if (!this.#busy || link.kind !== 'attached' || !link.host.monitored) return
    const now = Date.now()
    const quiet = link.host.quiet(now)
    if (quiet < this.stalledAfter) {
      this.#stalled = false
      return
    }
    if (!this.#stalled) {
      this.#stalled = true
      this.events.stalled?.({ reason: 'unresponsive', elapsed: quiet })
    }
    if (quiet >= this.timeout) {
      this.#expire(timedOut(`The leader did not answer for ${quiet} ms`), now - this.timeout, 0)
    }
  }

  /** Reject what was issued (or started waiting) at `cutoff` or before, counting from `since`. */
  #expire(error: ModuleError | Error, cutoff: number, since: number): number {
    let n = 0
    for (const req of this.#pending.values()) {
      if (Math.max(req.time, since) > cutoff) continue
      this.#pending.delete(req.order)
      req.reject(error)
      this.#settled(req)
      n++
    }
    for (const cursor of this.#cursors) {
      const waiting = cursor.waitingSince
      if (waiting !== -1 && Math.max(waiting, since) <= cutoff && cursor.abort(error)) n++
    }
    this.#checkBusy()
    return n
  }
}

/** The heartbeat interval to ask a host for: often enough to tell silence within `stalledAfter`. */
function heartbeatFor(stalledAfter: number): number {
  return Number.isFinite(stalledAfter) ? Math.max(10, Math.min(1000, Math.floor(stalledAfter / 4))) : 1000
}

/** Apply an operation made for a host to the forwarded database instead, in sequence. */
function replay(link: Forwarded, req: Request): Promise<any> {
  const { store, sequencer } = link
  const a = req.a
  const sync = req.sync ? SYNC : undefined
  switch (req.kind) {
    case PUT:
      return sequencer.write([{ type: 'put', key: a, value: req.b, keyEncoding: 'buffer', valueEncoding: 'buffer' } as any], sync)
    case DEL:
      return sequencer.write([{ type: 'del', key: a, keyEncoding: 'buffer' } as any], sync)
    case BATCH:
      return sequencer.write(a, sync)
    case GET:
      return sequencer.read(() => store.get(a, { keyEncoding: 'buffer', valueEncoding: req.b }))
    case GET_MANY:
      return sequencer.read(() => store.getMany(a, { keyEncoding: 'buffer', valueEncoding: req.b }))
    case HAS:
      return sequencer.read(() => store.has(a, BUFFER_KEY))
    case HAS_MANY:
      return sequencer.read(() => store.hasMany(a, BUFFER_KEY))
    default:
      // CLEAR, and CLEAR_KEYS whose keys were not read yet: locally a clear runs exactly once.
      return sequencer.exclusive(() => store.clear({ ...a, keyEncoding: 'buffer' }))
  }
}

const BUFFER_KEY = Object.freeze({ keyEncoding: 'buffer' })
const SYNC = Object.freeze({ sync: true })
