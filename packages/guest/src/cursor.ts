import type { IteratorMode } from '@rave-level/protocol'
import type { ForwardTarget, Sequencer } from '@rave-level/store'
import { CursorPosition } from './cursor-position.js'
import { aborted, connectionLost, notOpen, notSupported } from './errors.js'
import { own, toBytes } from './formats.js'
import { LocalSource } from './local-source.js'
import { type RangeInput, toRange } from './range.js'
import { type RemoteLink, RemoteSource } from './remote-source.js'
import type { GuestSnapshot } from './snapshot.js'
import { type Shape, type Source, type SourceOwner, shapeOf } from './source.js'
import { type ReadWaiter, WaitingRead } from './waiting-read.js'

/**
 * What a cursor needs from its guest's dispatcher, which owns the link: a cursor reads from the
 * attached host, or from the database the guest forwards to, or waits.
 */
export interface CursorOwner extends ReadWaiter {
  readonly retry: boolean
  /** How operations travel right now. */
  readonly kind: 'detached' | 'attached' | 'forwarded'
  /** The attached host's link, while attached. */
  readonly host: RemoteLink | null
  /** The database operations are forwarded to and its sequencer, while forwarded. */
  readonly forwarded: { readonly store: { readonly db: ForwardTarget }; readonly sequencer: Sequencer } | null
  /** True when reads must fail with `LEVEL_CONNECTION_LOST` (a link was lost, no retry). */
  readonly refusing: boolean
  /** True when the guest is not open (closing or closed). */
  readonly closing: boolean
  /** True while an operation issued before `order` must finish before this one may start. */
  held(order: number): boolean
  /** Where operations go now (a host link or a forwarding), for snapshots; null if nowhere. */
  readonly home: object | null
  /** The extensions of the attached host, or null while they are not known. */
  readonly hostFeatures: ReadonlySet<string> | null
  /** The cursor closed: it no longer moves with the link. */
  removeCursor(cursor: GuestCursor): void
}

/** Options as abstract-level hands them to `_iterator()`, `_keys()` and `_values()`. */
export interface CursorOptions extends RangeInput {
  reverse: boolean
  limit: number
  keys?: boolean
  values?: boolean
  signal?: AbortSignal | null
  /** An explicit snapshot to read from (a GuestSnapshot). */
  snapshot?: unknown
  /** Format of keys (range options and output): `'buffer'`, `'view'` or `'utf8'`. */
  keyEncoding: string
  /** Format of values. */
  valueEncoding?: string
}

/**
 * The resumable state of one iterator, independent of where its entries come from.
 *
 * The cursor remembers where the caller is ({@link CursorPosition}): nothing read yet, just
 * after the last key it yielded, or at a seek target; plus how many entries it yielded. It owns
 * where entries come from (its source) and the caller's waiting read. Whenever it needs a new
 * source (a new connection, `forward()`, a seek that the current source cannot serve) it opens
 * one on the original range NARROWED to that position, with the remaining limit. This works
 * against any many-level host: we never rely on the host's bookmark support (many-level 2
 * resumes a reverse iterator from the wrong key when keys share a prefix). A source's entries
 * that were received but not yielded are discarded with it and fetched again.
 */
export class GuestCursor implements SourceOwner {
  readonly order: number
  readonly #owner: CursorOwner
  readonly #shape: Shape
  /** Ask the host for keys whenever we may need to resume (always with retry). */
  readonly #askKeys: boolean
  /** The range options as given, in the key format (copied). */
  readonly #rangeInput: RangeInput
  readonly #signal: AbortSignal | null
  /** Its explicit snapshot: it reads from it, or fails; it never moves to another. */
  readonly #snap: GuestSnapshot | undefined
  readonly #position: CursorPosition
  #source: RemoteSource | LocalSource | null = null
  #failed: Error | null = null
  #closed = false
  /** The caller's read that waits for the source, if any. */
  readonly #read: WaitingRead
  /**
   * The signal aborted: this read and every later one fail (abstract-level checks the signal
   * before each read too), and the source goes at once, so that a host releases its iterator
   * without waiting for close().
   */
  readonly #onAbort = () => {
    if (this.#closed || this.#failed !== null) return
    this.#fail(aborted(this.#signal?.reason))
    void this.#drop()
  }

  constructor(owner: CursorOwner, mode: IteratorMode, options: CursorOptions, order: number) {
    this.order = order
    this.#owner = owner
    this.#read = new WaitingRead(owner)
    this.#shape = shapeOf(mode, options)
    this.#askKeys = this.#shape.wantKeys || owner.retry || !this.#shape.wantValues
    this.#position = new CursorPosition(toRange(options), this.#shape.reverse, options.limit)
    this.#rangeInput = {}
    // Copies: the caller may reuse its buffers, and a resumed or local source needs the range.
    for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (options[k] != null) this.#rangeInput[k] = own(options[k])
    this.#signal = options.signal ?? null
    this.#snap = options.snapshot as GuestSnapshot | undefined
    if (this.#signal?.aborted) this.#failed = aborted(this.#signal.reason)
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Open a source right away if there is one, so the first entry is on its way. */
  start(): void {
    if (this.#source === null && this.#wantsData()) this.#open()
  }

  // ---- Reads ---------------------------------------------------------------------------

  /**
   * Up to `size` (>= 1) items, fewer only at the end; an empty array at the end. Waits for the
   * source until it has `size` items, as abstract-level's contract asks.
   */
  nextv(size: number): Promise<unknown[]> {
    if (this.#failed !== null) return Promise.reject(this.#failed)
    if (this.#owner.closing) return Promise.reject(notOpen())
    const position = this.#position
    if (position.out || position.done()) return Promise.resolve([])
    const source = this.#source ?? this.#open()
    if (source === null) {
      if (this.#failed !== null) return Promise.reject(this.#failed)
      if (this.#owner.refusing) return Promise.reject(this.#fail(connectionLost()))
      return this.#read.wait(size, [], true)
    }
    size = position.cap(size)
    if (source instanceof LocalSource) {
      const batch = source.takeBatch(size)
      if (batch !== null) {
        position.yielded(batch.length)
        return Promise.resolve(batch)
      }
    }
    const items: unknown[] = []
    this.#take(source, size, items)
    if (items.length === size) return Promise.resolve(items)
    if (source.available() === 0 && (source.ended || source.failure !== null)) {
      if (items.length > 0) return Promise.resolve(items)
      if (source.failure !== null) return Promise.reject(this.#fail(source.failure))
      position.end()
      return Promise.resolve(items)
    }
    const waiting = this.#read.wait(size, items, source instanceof RemoteSource)
    source.want(size - items.length)
    return waiting
  }

  /** The next item, or `undefined` at the end. */
  next(): Promise<unknown> {
    const source = this.#source
    const position = this.#position
    if (this.#failed === null && !position.out && source !== null && source.available() > 0 && !position.done()) {
      const out: unknown[] = []
      this.#take(source, 1, out)
      return Promise.resolve(out[0])
    }
    return this.nextv(1).then(first)
  }

  #take(source: Source, size: number, out: unknown[]): void {
    const before = out.length
    source.take(size, out)
    this.#position.yielded(out.length - before)
  }

  /** The source has items, the end or a failure: serve the waiting read, if any. */
  ready(): void {
    this.#serve()
  }

  /** Serve the waiting read, if any, from what the source has now. */
  #serve(): void {
    const waiter = this.#read.current
    const source = this.#source
    if (waiter === null || source === null) return
    const items = waiter.items
    if (items.length === 0 && source instanceof LocalSource) {
      // The common case of a local read: one fetch, handed over without copying it item by item.
      const batch = source.takeBatch(waiter.size)
      if (batch !== null) {
        this.#position.yielded(batch.length)
        this.#read.settle(batch)
        return
      }
    }
    this.#take(source, waiter.size - items.length, items)
    if (items.length === waiter.size) {
      this.#read.settle(items)
    } else if (source.available() === 0 && (source.ended || source.failure !== null)) {
      if (items.length > 0) this.#read.settle(items)
      else if (source.failure !== null) this.#read.settle(this.#fail(source.failure))
      else {
        this.#position.end()
        this.#read.settle(items)
      }
    } else {
      source.want(waiter.size - items.length)
    }
  }

  // ---- Sources -------------------------------------------------------------------------

  #wantsData(): boolean {
    return !this.#closed && this.#failed === null && this.#position.open()
  }

  /** Open a source where operations travel now, continuing where the caller is; or none. */
  #open(): Source | null {
    const owner = this.#owner
    const link = owner.kind
    if (link === 'detached' || (link === 'attached' && owner.held(this.order))) return null
    const snap = this.#snap
    if (snap !== undefined) {
      const refusal = snap.refusal(owner.home) ?? (link === 'attached' ? this.#snapshotSupport() : null)
      if (refusal !== null) {
        this.#fail(refusal)
        return null
      }
      // On a host, its snapshot is taken first (its request comes earlier in issue order): the
      // host iterator is opened once it was (the dispatcher resumes this cursor then).
      if (link === 'attached' && (snap.home !== owner.home || owner.hostFeatures === null)) return null
    }
    const position = this.#position
    const start = position.start()
    const host = owner.host
    const local = owner.forwarded
    if (host !== null) {
      this.#source = new RemoteSource(this, host, this.#shape, start, this.#askKeys, this.#snap?.id)
    } else if (local !== null) {
      const { store, sequencer } = local
      this.#source = new LocalSource(
        this,
        { db: store.db, sequencer },
        this.#shape,
        start,
        this.#rangeInput,
        this.#snap,
        () => position.remaining()
      )
    } else {
      return null
    }
    // A read that was waiting (for a host that went away, say) continues on it; it waits for
    // a host only if that is where it reads now.
    if (this.#read.current !== null) {
      this.#read.move(this.#source instanceof RemoteSource)
      this.#serve()
    }
    return this.#source
  }

  /** Why the attached host cannot serve a snapshot read (`null` if it can, or may yet). */
  #snapshotSupport(): Error | null {
    const features = this.#owner.hostFeatures
    return features === null || features.has('snapshots') ? null : notSupported('The host does not support snapshots')
  }

  /** Let go of the current source, keeping the position it reached. `quiet`: its link is gone. */
  #drop(quiet = false): Promise<void> {
    const source = this.#source
    if (source === null) return Promise.resolve()
    this.#source = null
    this.#position.leave(source.lastKey())
    return source instanceof RemoteSource ? source.close(quiet) : source.close()
  }

  // ---- Caller actions ------------------------------------------------------------------

  /** Seek to `target`, in any key format. */
  seek(target: unknown): void {
    if (this.#closed || this.#failed !== null) return
    const bytes = toBytes(target)
    const source = this.#source
    const position = this.#position
    if (!position.seek(bytes)) {
      // As memory-level and classic-level do: a target outside the range means the end, until
      // the next seek. An original source is kept for that (its snapshot too).
      if (source?.original) source.discard()
      else if (source !== null) void this.#drop()
      return
    }
    if (source?.original) {
      // The source has the original range (and snapshot): let it seek.
      source.seek(bytes)
      position.land(bytes)
      return
    }
    if (source !== null) void this.#drop()
    position.land(bytes)
    // A narrowed source cannot reach targets before its start: open a new one.
    this.start()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#read.settle(notOpen())
    this.#owner.removeCursor(this)
    await this.#drop()
  }

  // ---- Guest events --------------------------------------------------------------------

  /** The connection was lost (the guest already dropped all routes). */
  lose(): void {
    if (this.#source instanceof RemoteSource) void this.#drop(true)
    // Without retry, or reading from a snapshot (which is gone), it cannot continue.
    if (!this.#owner.retry || this.#snap !== undefined) this.#fail(connectionLost())
  }

  /** A new connection is attached (or what held this cursor back is done): continue there. */
  resume(): void {
    if (this.#source === null && this.#wantsData()) this.#open()
  }

  /** Operations are forwarded to a local database now: continue there. */
  forward(): void {
    const remote = this.#source instanceof RemoteSource
    if (remote) void this.#drop(true)
    if (this.#closed || this.#failed !== null) return
    if (!this.#owner.retry && remote) {
      // It read from the host's snapshot; without retry it must not continue on another.
      this.#fail(connectionLost())
    } else if (this.#position.unknown()) {
      // Without retry we did not ask for keys, so we cannot tell where to continue.
      this.#fail(connectionLost())
    } else if (this.#wantsData()) {
      this.#open()
    }
  }

  /**
   * Operations are no longer forwarded: let go of the local iterator (resolves once it is
   * closed), keep the position, and continue on the next connection; fail without retry, or
   * when the position is unknown.
   */
  unforward(): Promise<void> {
    if (!(this.#source instanceof LocalSource)) return Promise.resolve()
    const closed = this.#drop()
    if (!this.#owner.retry || this.#snap !== undefined || this.#position.unknown()) this.#fail(connectionLost())
    return closed
  }

  /**
   * Fail the waiting read, if any; the cursor stays usable. A read that already took some
   * items returns them instead, so that nothing is skipped. Returns true if it rejected.
   */
  abort(err: Error): boolean {
    return this.#read.abort(err)
  }

  /** When the waiting read started waiting (epoch ms), or -1 if none is waiting. */
  get waitingSince(): number {
    return this.#read.since
  }

  #fail(err: Error): Error {
    this.#failed = err
    this.#read.settle(err)
    return err
  }
}

function first(items: unknown[]): unknown {
  return items[0]
}
