import type { Duplex } from 'node:stream'
import { type ForwardTarget, LocalStore, Sequencer } from '@rave-level/store'
import type { CursorPort, GuestCursor } from './cursor.js'
import { connectionLost, timedOut } from './errors.js'
import { HostLink, type LinkOwner, type Route } from './host-link.js'
import { KeyCollector } from './key-collector.js'
import { Pending } from './pending.js'
import { replay, subscribeLocal, takeLocal } from './replay.js'
import { type Answer, CLEAR, CLEAR_KEYS, Request, SNAPSHOT, SNAPSHOT_CLOSE, WATCH, WATCH_CLOSE } from './requests.js'
import { GuestSnapshot } from './snapshot.js'
import type { GuestWatch } from './watch.js'
import type { WatchChangeMessage } from '@rave-level/protocol'
import { type UnresponsiveInfo, Watchdog } from './watchdog.js'

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
 */
export class Dispatcher implements LinkOwner {
  readonly retry: boolean
  readonly maxFrameSize: number
  readonly timeout: number
  readonly stalledAfter: number
  /** Hooks; set by the owner once (it may be created before its owner). */
  events: DispatcherEvents = {}
  #link: Link = { kind: 'detached', since: Date.now(), lost: false }
  readonly #pending = new Pending({ released: (from, to) => this.#released(from, to) })
  /** Open iterators, in creation order. */
  readonly #cursors = new Set<GuestCursor>()
  /** Open watches, by id. */
  readonly #watches = new Map<number, GuestWatch<any, any>>()
  #watchIds = 0
  #order = 0
  #waitingReads = 0
  #closing = false
  readonly #watchdog: Watchdog
  /** The port through which cursors reach the current link. */
  readonly port: CursorPort

  constructor(options: DispatcherOptions) {
    this.retry = options.retry !== false
    this.maxFrameSize = options.maxFrameSize
    this.timeout = options.timeout ?? 10_000
    this.stalledAfter = options.stalledAfter ?? 2_000
    this.#watchdog = new Watchdog(this.timeout, this.stalledAfter, {
      link: () => {
        const link = this.#link
        return link.kind === 'detached' ? { detachedSince: link.since } : link.kind === 'attached' ? link : null
      },
      unreachable: (waited) => this.events.unreachable?.(waited) ?? timedOut(`No host for ${waited} ms`),
      stalled: (info) => this.events.stalled?.(info),
      expire: (error, cutoff, since) => this.#expire(error, cutoff, since)
    })
    this.port = {
      retry: this.retry,
      link: () => this.#link.kind,
      lost: () => this.#link.kind === 'detached' && this.#link.lost && !this.retry,
      closing: () => this.#closing,
      send: (frame) => this.host?.queue(frame),
      allocId: () => this.host?.allocId() ?? 0,
      route: (id, route) => this.host?.route(id, route),
      local: () => {
        const link = this.#link
        return link.kind === 'forwarded' ? { db: link.store.db, sequencer: link.sequencer } : null
      },
      held: (order) => this.#pending.held(order),
      home: () =>
        this.#link.kind === 'attached' ? this.#link.host : this.#link.kind === 'forwarded' ? this.#link : null,
      features: () => {
        const host = this.host
        return host === null || host.peer === 'unknown' ? null : host.features
      },
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
  request(kind: number, a: any, b?: any, sync = false, snap?: GuestSnapshot): Promise<any> {
    const link = this.#link
    if (link.kind === 'detached' && link.lost && !this.retry) return Promise.reject(connectionLost())
    // Without retry nothing is applied twice: a limited clear needs no two phases.
    if (kind === CLEAR_KEYS && !this.retry) kind = CLEAR
    return new Promise((resolve, reject) => {
      const req = new Request(this.#order++, kind, a, b, sync, Date.now(), resolve, reject)
      req.snap = snap
      if (this.#pending.add(req) && link.kind === 'attached') link.host.queue(req)
      if (!this.#watchdog.busy) this.#checkBusy()
    })
  }

  settled(req: Request): boolean {
    return !this.#pending.has(req)
  }

  // ---- Snapshots -------------------------------------------------------------------------

  /**
   * Take an explicit snapshot, in issue order, where operations go now: on the database this
   * guest forwards to (its own snapshot), or on the host (a `Snapshot` request, sent on the next
   * connection if there is none). See {@link GuestSnapshot}.
   */
  snapshot(options: object): GuestSnapshot {
    const snap = new GuestSnapshot(options, ++this.#snapshots, (s) => this.#closeSnapshot(s))
    const link = this.#link
    if (link.kind === 'forwarded') snap.bindLocal(link, takeLocal(link))
    else this.request(SNAPSHOT, snap).catch((err: Error) => snap.fail(err))
    return snap
  }

  /** Release `snap` where it lives, if that is where operations go now (else it is gone already). */
  async #closeSnapshot(snap: GuestSnapshot): Promise<void> {
    const link = this.#link
    if (snap.home === null || snap.home !== (link.kind === 'attached' ? link.host : link)) return
    if (link.kind === 'forwarded') await (await snap.local()).close()
    else await this.request(SNAPSHOT_CLOSE, snap)
  }

  #snapshots = 0

  // ---- Watches ---------------------------------------------------------------------------

  /** A number for a new watch, unique for this guest. */
  nextWatchId(): number {
    return ++this.#watchIds
  }

  /** Watches registered, or being registered, right now. */
  get watches(): number {
    return this.#watches.size
  }

  /**
   * Start `w` in issue order where operations go now: a subscription to the database this
   * guest forwards to, or a `Watch` request for the host (sent on the next connection if there
   * is none). See {@link GuestWatch}.
   */
  watch(w: GuestWatch<any, any>): void {
    this.#watches.set(w.id, w)
    const link = this.#link
    if (link.kind === 'forwarded') {
      w.order = this.#order++
      subscribeLocal(link, w, link).catch((err: Error) => this.#endWatch(w, err))
    } else {
      this.#register(w, this.#order++)
    }
  }

  /**
   * A `Watch` request for `w` at `order` (its first one, or again at its original place after
   * its link went away, so that it is sent before what was issued after it).
   */
  #register(w: GuestWatch<any, any>, order: number): void {
    const link = this.#link
    if (link.kind === 'detached' && link.lost && !this.retry) {
      this.#endWatch(w, connectionLost())
      return
    }
    w.order = order
    w.registering = true
    const req = new Request(
      order,
      WATCH,
      w,
      undefined,
      false,
      Date.now(),
      () => {
        w.registering = false
        w.registered()
      },
      (err) => {
        w.registering = false
        this.#endWatch(w, err)
      }
    )
    if (this.#pending.add(req) && link.kind === 'attached') link.host.queue(req)
    if (!this.#watchdog.busy) this.#checkBusy()
  }

  #endWatch(w: GuestWatch<any, any>, err: Error): void {
    this.#watches.delete(w.id)
    w.fail(err)
  }

  /** Release `w` where it is registered, if that is where operations go now (else it is gone there). */
  async #releaseWatch(w: GuestWatch<any, any>): Promise<void> {
    this.#watches.delete(w.id)
    const link = this.#link
    if (link.kind === 'attached' && w.home === link.host) await this.request(WATCH_CLOSE, w)
  }

  /** The watches registered at `home` lost it: each yields a gap, and is registered anew (with retry). */
  #moveWatches(home: object): void {
    for (const w of this.#watches.values()) {
      if (w.home !== home) continue
      // Without retry the watch ends there (after what it received): no gap before the error.
      if (!this.retry) {
        this.#endWatch(w, connectionLost())
        continue
      }
      w.lost()
      if (!w.registering) this.#register(w, w.order)
    }
    // A release that waits for that home has nothing left to release.
    for (const req of [...this.#pending.values()]) {
      if (req.kind === WATCH_CLOSE && (req.a as GuestWatch<any, any>).home === home) this.#pending.settle(req, {})
    }
  }

  /** Changes for watch `id` from `link`'s host. */
  watchChanges(link: HostLink, id: number, changes: WatchChangeMessage[]): void {
    const w = this.#watches.get(id)
    if (w !== undefined && w.home === link) w.remote(changes)
  }

  /** A gap for watch `id` from `link`'s host. */
  watchGap(link: HostLink, id: number): void {
    const w = this.#watches.get(id)
    if (w !== undefined && w.home === link) w.gap()
  }

  /** A new watch's release function (the dispatcher's). */
  readonly releaseWatch = (w: GuestWatch<any, any>): Promise<void> => this.#releaseWatch(w)

  refuse(req: Request, err: Error): void {
    this.#pending.refuse(req, err)
    if (this.#watchdog.busy && this.#pending.size === 0) this.#checkBusy()
  }

  settle(sent: Request | Request[], answer: Answer): void {
    this.#pending.settle(sent, answer)
    if (this.#watchdog.busy && this.#pending.size === 0) this.#checkBusy()
  }

  collect(req: Request, id: number): Route {
    const owner = {
      send: (frame: Buffer) => this.port.send(frame),
      route: (rid: number, route: Route | null) => this.host?.route(rid, route),
      collected: (r: Request, keys: Buffer[]) => this.#pending.collected(r, keys, (batch) => this.host?.queue(batch)),
      failed: (r: Request, error: string, message: string | undefined) => this.settle(r, { error, message })
    }
    return new KeyCollector(owner, req, id)
  }

  introduced(link: HostLink): void {
    if (this.host !== link) return
    this.events.introduced?.(link.pid)
    // Iterators on a snapshot waited to know whether the host has snapshots.
    this.#resumeCursors()
  }

  bound(): void {
    // An iterator on a snapshot waits until the snapshot was taken where it reads.
    this.#resumeCursors()
  }

  #resumeCursors(): void {
    for (const cursor of this.#cursors) cursor.resume()
  }

  /** Operations issued in `(from, to]` were held back by a limited clear: send them now. */
  #released(from: number, to: number): void {
    const host = this.host
    if (host === null) return
    for (const item of this.#inOrder()) {
      if (item.order <= from || item.order > to) continue
      if (item instanceof Request) host.queue(item)
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
        if (this.#pending.held(item.order)) break
        if (item instanceof Request) host.queue(item)
        else item.resume()
      }
      if (ref != null) {
        if (this.#watchdog.busy) ref.ref()
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
    const store = LocalStore.of(db)
    const link: Forwarded = { kind: 'forwarded', store, sequencer: new Sequencer(store) }
    const prev = this.#link
    // Watches on a host this guest did not notice the loss of yet: registered here instead.
    if (prev.kind === 'attached') this.#moveWatches(prev.host)
    const waiting = this.#inOrder()
    // Without retry, what a host may have applied must not be applied again.
    const sent = !this.retry && prev.kind === 'attached' ? prev.host.sentRequests() : null
    this.#pending.drain()
    this.#enter(link, () => {
      for (const item of waiting) {
        if (!(item instanceof Request)) item.forward()
        else if (sent?.has(item)) item.reject(connectionLost())
        else replay(link, item, link).then(item.resolve, item.reject)
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
      this.#moveWatches(link)
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
      if (state.kind === 'attached') this.#moveWatches(state.host)
      for (const cursor of this.#cursors) cursor.lose()
      this.#checkBusy()
    })
  }

  /** Waiting operations and open iterators, merged in issue order. */
  #inOrder(): (Request | GuestCursor)[] {
    return merge(this.#pending.values(), this.#cursors)
  }

  // ---- Waiting, and its limits ------------------------------------------------------------

  #checkBusy(): void {
    const busy = !this.idle
    if (!this.#watchdog.update(busy)) return
    const ref = this.host?.ref
    if (ref != null) {
      if (busy) ref.ref()
      else ref.unref()
    }
    if (busy) this.events.busy?.()
    else this.events.flush?.()
  }

  /** Reject what was issued (or started waiting) at `cutoff` or before, counting from `since`. */
  #expire(error: Error, cutoff: number, since: number): number {
    let n = this.#pending.expire(error, cutoff, since)
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

/** Requests and cursors (each in issue order), merged in issue order. */
function merge(requests: Iterable<Request>, cursors: Iterable<GuestCursor>): (Request | GuestCursor)[] {
  const out: (Request | GuestCursor)[] = []
  const open = [...cursors]
  let c = 0
  for (const req of requests) {
    while (c < open.length && (open[c] as GuestCursor).order < req.order) out.push(open[c++] as GuestCursor)
    out.push(req)
  }
  while (c < open.length) out.push(open[c++] as GuestCursor)
  return out
}
