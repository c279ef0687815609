import type { Duplex } from 'node:stream'
import type { CacheGrantMessage, CacheInvalidateMessage, WatchChangeAt } from '@rave-level/protocol'
import type { ForwardTarget } from '@rave-level/store'
import type { CursorOwner, GuestCursor } from './cursor.js'
import { connectionLost } from './errors.js'
import { HostLink, type LinkOwner } from './host-link.js'
import { IssueOrder } from './issue-order.js'
import { type Forwarded, forwarding, heartbeatFor, homeOf, type Link } from './link-state.js'
import { type Answer, type Operation, Request, type Results } from './requests.js'
import { type CacheOptions, ReadCache } from './read-cache.js'
import type { GuestSnapshot } from './snapshot.js'
import { Snapshots } from './snapshots.js'
import type { GuestWatch } from './watch.js'
import { WatchRegistry } from './watch-registry.js'
import { type Watched, Watchdog, type WatchdogEvents } from './watchdog.js'

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
  /** Serve reads from a cache of what the host answered (see {@link ReadCache}); default none. */
  cache?: CacheOptions | undefined
}

/** What a {@link Dispatcher} tells its owner. Every hook is optional. */
export interface DispatcherEvents extends WatchdogEvents {
  /** A stream was attached, a link lost, or operations forwarded to a local database. */
  connect?(): void
  disconnect?(): void
  forward?(): void
  /** The host of the attached stream answered its Hello (or proved a plain many-level 2 host). */
  introduced?(pid: number | undefined): void
}

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
 * It owns the link and its transitions, and is what the link's parts report to: it is the
 * {@link LinkOwner} of its host links (answers, refusals, the host's introduction, watch
 * changes) and the {@link CursorOwner} of its iterators (where they read now). What it keeps
 * apart are other ideas: {@link IssueOrder} (the waiting work, and moving it onto a link),
 * {@link Watchdog} (whether anything waits, and the timeouts), {@link WatchRegistry} and
 * {@link Snapshots} (registered where operations go). Each reads it through an interface it
 * declares itself.
 */
export class Dispatcher implements LinkOwner, CursorOwner, Watched {
  readonly retry: boolean
  readonly maxFrameSize: number
  readonly timeout: number
  readonly stalledAfter: number
  /** Reads answered from memory while a caching host grants a lease (the `cache` extension), if asked for. */
  readonly cache: ReadCache | null
  /** Hooks; set by the owner once (it may be created before its owner). */
  events: DispatcherEvents = {}
  #link: Link = { kind: 'detached', since: Date.now(), lost: false }
  /** Waiting operations and open iterators, in issue order. */
  readonly #work = new IssueOrder(this)
  readonly #pending = this.#work.pending
  readonly #watches = new WatchRegistry(this, this.#pending)
  readonly #snapshots = new Snapshots(this)
  readonly #watchdog: Watchdog
  #closing = false

  constructor(options: DispatcherOptions) {
    this.retry = options.retry !== false
    this.maxFrameSize = options.maxFrameSize
    this.timeout = options.timeout ?? 10_000
    this.stalledAfter = options.stalledAfter ?? 2_000
    this.cache = options.cache === undefined ? null : new ReadCache(options.cache)
    this.#watchdog = new Watchdog(this.timeout, this.stalledAfter, this.#work, this)
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

  /**
   * An operation for the host (keys and values as bytes): send it, or keep it for later (see
   * {@link forwarded} for what the caller applies to a forwarded database itself).
   */
  request<O extends Operation>(op: O): Promise<Results[O['kind']]> {
    if (this.refusing) return Promise.reject(connectionLost())
    // Without retry nothing is applied twice: a limited clear needs no two phases.
    const sent: Operation = op.kind === 'clearKeys' && !this.retry ? { ...op, kind: 'clear' } : op
    return new Promise((resolve, reject) => {
      this.enqueue(new Request(this.#work.next(), sent, Date.now(), resolve, reject))
    })
  }

  /** True when a link was lost and, without retry, nothing may wait for the next one. */
  get refusing(): boolean {
    const link = this.#link
    return link.kind === 'detached' && link.lost && !this.retry
  }

  /** Keep `req` pending in its place in issue order, and send it if attached. */
  enqueue(req: Request): void {
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

  /** Release `w` where it is registered (see {@link WatchRegistry.release}). */
  releaseWatch(w: GuestWatch<any, any>): Promise<void> {
    return this.#watches.release(w)
  }

  // ---- What a host link reports (LinkOwner) ------------------------------------------------

  /** A request could not be sent, or its answer received: reject it unless it settled already. */
  refuse(req: Request, err: Error): void {
    this.#pending.refuse(req, err)
    this.#settledSome()
  }

  /** Settle requests with a host's answer (only those still pending). */
  settle(sent: Request | Request[], answer: Answer): void {
    this.#pending.settle(sent, answer)
    this.#settledSome()
  }

  /** Whether `req` settled already (a timeout or close() came first). */
  settled(req: Request): boolean {
    return !this.#pending.has(req)
  }

  /** A limited clear read its keys: it becomes a batch of deletes of those (see {@link Pending.collected}). */
  collected(req: Request, keys: Buffer[]): void {
    this.#pending.collected(req, keys, (batch) => this.host?.queue(batch))
  }

  /** A limited clear could not read its keys: it fails with the host's error. */
  failed(req: Request, error: string, message: string | undefined): void {
    this.settle(req, { error, message })
  }

  /** The host of `link` answered its Hello (or turned out to be a plain many-level 2 host). */
  introduced(link: HostLink): void {
    if (this.host !== link) return
    if (link.features.has('cache')) this.cache?.attach(link)
    this.events.introduced?.(link.pid)
    // Iterators on a snapshot waited to know whether the host has snapshots.
    this.#work.resumeCursors()
  }

  /** A snapshot was just bound to the attached link (its request is being sent). */
  bound(): void {
    // An iterator on a snapshot waits until the snapshot was taken where it reads.
    this.#work.resumeCursors()
  }

  /** Changes for watch `id`, registered on `link`. */
  watchChanges(link: HostLink, id: number, changes: WatchChangeAt[]): void {
    this.#watches.changes(link, id, changes)
  }

  /** A gap for watch `id`, registered on `link`. */
  watchGap(link: HostLink, id: number): void {
    this.#watches.gap(link, id)
  }

  /** The host of `link` said we may keep its answer to `sent` (the `cache` extension). */
  cacheable(link: HostLink, sent: Request | Request[] | undefined, answer: Answer): void {
    this.cache?.answered(link, sent, answer)
  }

  /** A frame of the `cache` extension from the host of `link`. */
  cacheFrame(link: HostLink, tag: number, message: CacheGrantMessage | CacheInvalidateMessage): void {
    this.cache?.frame(link, tag, message)
  }

  /** Requests settled: if none is left, nothing may wait any more. */
  #settledSome(): void {
    if (this.#watchdog.busy && this.#pending.size === 0) this.#watchdog.check()
  }

  // ---- What a cursor reads (CursorOwner) ------------------------------------------------------

  /** True when the guest is not open (closing or closed). */
  get closing(): boolean {
    return this.#closing
  }

  /** True while an operation issued before `order` must finish before this one may start. */
  held(order: number): boolean {
    return this.#pending.held(order)
  }

  /** Where operations go now (a host link or a forwarding), for snapshots and watches; null if nowhere. */
  get home(): object | null {
    return homeOf(this.#link)
  }

  /** The extensions of the attached host, or null while they are not known (or not attached). */
  get hostFeatures(): ReadonlySet<string> | null {
    const host = this.host
    return host === null || host.peer === 'unknown' ? null : host.features
  }

  /** An iterator read started (+1) or stopped (-1) waiting for a host. */
  readWaiting(delta: 1 | -1): void {
    this.#work.waiting(delta)
    this.#watchdog.check()
  }

  /** A cursor closed (see {@link addCursor}). */
  removeCursor(cursor: GuestCursor): void {
    this.#work.cursors.delete(cursor)
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
    const host = new HostLink(this, {
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
    this.cache?.detach() // cache: nothing outlives the link it was granted on
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
