import type { Duplex } from 'node:stream'
import {
  decodeOutput,
  encodeInput,
  Input,
  Output,
  RpcStream,
  remoteError,
  Sequencer,
  type SequencedWrite
} from '@rave-level/protocol'
import { AbstractLevel, type AbstractDatabaseOptions } from 'abstract-level'
import { type CursorOptions, type CursorPort, ENTRIES, GuestCursor, KEYS, type LocalSource, type Mode, VALUES } from './cursor.js'
import { connectionLost, notOpen } from './errors.js'
import { createIterator } from './iterators.js'
import { rangeOptions, toRange } from './range.js'

/** Options of {@link ResumableGuest}. */
export interface ResumableGuestOptions<K, V> extends AbstractDatabaseOptions<K, V> {
  /**
   * Keep unanswered operations across connections and resume iterators on the next one
   * (default `true`). Without it, a lost connection rejects them with `LEVEL_CONNECTION_LOST`.
   */
  retry?: boolean | undefined
  /** Largest frame accepted from a host, in bytes (default 64 MiB). */
  maxFrameSize?: number | undefined
}

/** Options of {@link ResumableGuest.createRpcStream}. */
export interface GuestRpcStreamOptions {
  /**
   * Usually the socket. `ref()` is called while an operation or iterator read waits for the
   * host, `unref()` when nothing does, so that an idle guest does not keep the process alive.
   */
  ref?: { ref(): void; unref(): void } | null | undefined
}

/** A database the guest can forward to: any abstract-level database. */
export interface ForwardTarget extends LocalSource {
  readonly supports: { has?: boolean }
  get(key: Buffer, options: object): Promise<unknown>
  getMany(keys: Buffer[], options: object): Promise<unknown[]>
  has?(key: Buffer, options: object): Promise<boolean>
  hasMany?(keys: Buffer[], options: object): Promise<boolean[]>
  batch(operations: SequencedWrite[], options?: object): Promise<void>
  clear(options: object): Promise<void>
}

type Link =
  | { readonly kind: 'detached'; readonly since: number; readonly lost: boolean }
  | { readonly kind: 'attached'; readonly stream: RpcStream; readonly ref: GuestRpcStreamOptions['ref'] }
  | { readonly kind: 'forwarded'; readonly db: ForwardTarget; readonly sequencer: Sequencer }

// Operation kinds. The reply decoding and local re-application depend on them.
const GET = 0
const HAS = 1
const GET_MANY = 2
const HAS_MANY = 3
const PUT = 4
const DEL = 5
const BATCH = 6
const CLEAR = 7

const BUFFER = Object.freeze({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
const MAX_ID = 0xffffffff

/** One operation waiting for its answer. Keeps its encoded frame for re-sending. */
class Request {
  constructor(
    readonly id: number,
    readonly kind: number,
    readonly order: number,
    readonly frame: Buffer,
    readonly a: any,
    readonly b: any,
    /** When it started waiting without a connection (epoch ms), or 0 if sent on one. */
    readonly time: number,
    readonly resolve: (value: any) => void,
    readonly reject: (err: Error) => void
  ) {}
}

function encode(kind: number, id: number, a: any, b: any): Buffer {
  switch (kind) {
    case GET:
    case HAS:
      return encodeInput(Input.get, { id, key: a })
    case GET_MANY:
    case HAS_MANY:
      return encodeInput(Input.getMany, { id, keys: a })
    case PUT:
      return encodeInput(Input.put, { id, key: a, value: b })
    case DEL:
      return encodeInput(Input.del, { id, key: a })
    case BATCH:
      return encodeInput(Input.batch, { id, ops: a })
    default:
      return encodeInput(Input.clear, { id, options: a })
  }
}

/**
 * An abstract-level 3 database whose operations travel over the many-level 2 wire protocol
 * to a host, survive reconnects, and can be forwarded to a local database.
 *
 * - {@link ResumableGuest.createRpcStream} attaches one connection at a time. Operations made
 *   while no connection is attached wait in memory.
 * - With `retry` (the default) an operation that was not answered when its connection ended is
 *   sent again, in its original order, on the next connection, and an open iterator continues
 *   right after the last entry it yielded.
 * - {@link ResumableGuest.forward} sends every operation to a local database from then on,
 *   after first applying, in order, those still waiting.
 *
 * Errors: `LEVEL_CONNECTION_LOST` (connection lost without `retry`), `LEVEL_DATABASE_NOT_OPEN`
 * (closed while pending), `LEVEL_ABORTED` (iterator signal), `LEVEL_NOT_SUPPORTED` (explicit
 * snapshots, `getSync`), any `LEVEL_*` code sent by the host, else `LEVEL_REMOTE_ERROR`, and the
 * error given to {@link ResumableGuest.rejectWaiting}.
 *
 * @template K The default type of keys.
 * @template V The default type of values.
 */
export class ResumableGuest<K = string, V = string> extends AbstractLevel<Buffer, K, V> {
  readonly #retry: boolean
  readonly #maxFrameSize: number | undefined
  #link: Link = { kind: 'detached', since: Date.now(), lost: false }
  /** Unanswered operations by id; a Map iterates in insertion order, which is issue order. */
  #pending = new Map<number, Request>()
  /** Host iterator id → cursor, on the current connection. */
  readonly #routes = new Map<number, GuestCursor>()
  /** Open iterators, in creation order. */
  readonly #cursors = new Set<GuestCursor>()
  #nextId = 0
  #order = 0
  #waitingReads = 0
  #busy = false
  readonly #port: CursorPort

  /**
   * @param options `retry`, `maxFrameSize`, and the abstract-level options (`keyEncoding`,
   *   `valueEncoding`, ...).
   */
  constructor(options?: ResumableGuestOptions<K, V>) {
    const { retry = true, maxFrameSize, ...rest } = options ?? {}
    super(
      {
        encodings: { buffer: true },
        // A retried iterator reads from a new snapshot on the next host.
        implicitSnapshots: !retry,
        snapshots: !retry,
        explicitSnapshots: false,
        has: true,
        seek: true,
        permanence: true,
        createIfMissing: false,
        errorIfExists: false,
        signals: { iterators: true },
        events: { flush: true, connect: true, disconnect: true, forward: true },
        additionalMethods: { createRpcStream: true, forward: true, rejectWaiting: true, isFlushed: true }
      },
      rest
    )
    this.#retry = !!retry
    this.#maxFrameSize = maxFrameSize
    this.#port = {
      retry: this.#retry,
      link: () => this.#link.kind,
      lost: () => this.#link.kind === 'detached' && this.#link.lost && !this.#retry,
      closing: () => this.status !== 'open',
      send: (frame) => {
        const link = this.#link
        if (link.kind === 'attached') link.stream.send(frame)
      },
      allocId: () => this.#allocId(),
      route: (id, cursor) => {
        if (cursor === null) this.#routes.delete(id)
        else this.#routes.set(id, cursor)
      },
      local: () => (this.#link.kind === 'forwarded' ? this.#link : null),
      waiting: (delta) => {
        this.#waitingReads += delta
        this.#checkBusy()
      },
      forget: (cursor) => {
        this.#cursors.delete(cursor)
      }
    }
  }

  // ---- Connection ----------------------------------------------------------------------

  /**
   * Create the stream for one connection to a host: pipe it to the host's stream (or a socket)
   * and back. Operations waiting for a connection are sent on it at once, in issue order, and
   * open iterators continue on it. When it ends or fails, the guest is disconnected: with
   * `retry`, unanswered operations wait for the next stream; without, they reject with
   * `LEVEL_CONNECTION_LOST`.
   *
   * Throws `Error` if a stream is still attached or after {@link ResumableGuest.forward}.
   */
  createRpcStream(options?: GuestRpcStreamOptions): Duplex {
    const link = this.#link
    if (link.kind === 'attached') throw new Error('Only one rpc stream can be active')
    if (link.kind === 'forwarded') throw new Error('Cannot create an rpc stream after forward()')

    const stream: RpcStream = new RpcStream({
      onFrame: (frame) => {
        if (this.#link === state) this.#onFrame(frame)
      },
      maxFrameSize: this.#maxFrameSize
    })
    const state: Link = { kind: 'attached', stream, ref: options?.ref ?? null }
    const lost = () => this.#onLost(state)
    // Connection errors are not ours to throw: they show as a lost connection.
    stream.on('error', lost)
    stream.on('close', lost)
    stream.on('finish', lost)

    this.#enter(state, () => {
      for (const item of this.#inOrder()) {
        if (item instanceof Request) stream.send(item.frame)
        else item.resume()
      }
      if (state.ref != null) {
        if (this.#busy) state.ref.ref()
        else state.ref.unref()
      }
    })
    return stream
  }

  /** Alias of {@link ResumableGuest.createRpcStream}, as in many-level. */
  connect(options?: GuestRpcStreamOptions): Duplex {
    return this.createRpcStream(options)
  }

  /**
   * From now on, send every operation to `db` (an open abstract-level database, used with
   * `'buffer'` encodings) instead of a host. Operations already issued and not answered are
   * applied first, in issue order; open iterators continue on `db` after the last entry they
   * yielded. All operations go through one {@link Sequencer}, so they apply in issue order
   * with group commit. An attached stream is destroyed. The guest does not close `db`.
   *
   * Throws `Error` if called twice.
   */
  forward(db: ForwardTarget): void {
    if (this.#link.kind === 'forwarded') throw new Error('forward() was already called')
    if (db == null || typeof db.batch !== 'function' || typeof db.iterator !== 'function') {
      throw new TypeError("The first argument 'db' must be an abstract-level database")
    }
    const link: Link = { kind: 'forwarded', db, sequencer: new Sequencer(db, BUFFER) }
    const waiting = this.#inOrder()
    this.#routes.clear()
    this.#pending = new Map()
    this.#enter(link, () => {
      for (const item of waiting) {
        if (item instanceof Request) this.#local(link, item.kind, item.a, item.b).then(item.resolve, item.reject)
        else item.forward()
      }
      this.#checkBusy()
    })
  }

  /** True when no operation or iterator read waits for a host. */
  isFlushed(): boolean {
    return this.#pending.size === 0 && this.#waitingReads === 0
  }

  /**
   * Reject the operations, and fail the iterator reads, that have waited at least
   * `olderThanMs` milliseconds without a connection (time spent on a connection that was
   * then lost counts from the loss). Does nothing while a stream is attached or after
   * {@link ResumableGuest.forward}. Returns how many were rejected. Iterators stay usable.
   *
   * @param error The rejection reason, e.g. a `ModuleError` with code `LEVEL_LOCKED`.
   */
  rejectWaiting(error: Error, olderThanMs = 0): number {
    const link = this.#link
    if (link.kind !== 'detached') return 0
    const cutoff = Date.now() - olderThanMs
    let n = 0
    for (const req of this.#pending.values()) {
      if (Math.max(req.time, link.since) <= cutoff) {
        this.#pending.delete(req.id)
        req.reject(error)
        n++
      }
    }
    for (const cursor of this.#cursors) {
      const since = cursor.waitingSince
      if (since !== -1 && Math.max(since, link.since) <= cutoff && cursor.abort(error)) n++
    }
    this.#checkBusy()
    return n
  }

  /**
   * Move to the next link state: tear down the old one, run `then` (which brings pending work
   * in line with the new state), and only then emit one event, so that a listener (which may,
   * say, attach a new stream right away) always sees a consistent guest.
   */
  #enter(next: Link, then?: () => void): void {
    const prev = this.#link
    this.#link = next
    if (prev.kind === 'attached' && !prev.stream.destroyed) prev.stream.destroy()
    then?.()
    this.emit(next.kind === 'attached' ? 'connect' : next.kind === 'forwarded' ? 'forward' : 'disconnect')
  }

  #onLost(state: Link): void {
    if (this.#link !== state) return
    this.#routes.clear()
    this.#enter({ kind: 'detached', since: Date.now(), lost: true }, () => {
      if (!this.#retry) {
        const pending = this.#pending
        this.#pending = new Map()
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

  #allocId(): number {
    let id = this.#nextId
    do id = id >= MAX_ID ? 1 : id + 1
    while (this.#pending.has(id) || this.#routes.has(id))
    this.#nextId = id
    return id
  }

  #checkBusy(): void {
    const busy = this.#pending.size > 0 || this.#waitingReads > 0
    if (busy === this.#busy) return
    this.#busy = busy
    const link = this.#link
    if (link.kind === 'attached' && link.ref != null) {
      if (busy) link.ref.ref()
      else link.ref.unref()
    }
    if (!busy) this.emit('flush')
  }

  // ---- Requests ------------------------------------------------------------------------

  #request(kind: number, a: any, b?: any): Promise<any> {
    const link = this.#link
    if (link.kind === 'forwarded') return this.#local(link, kind, a, b)
    if (link.kind === 'detached' && link.lost && !this.#retry) return Promise.reject(connectionLost())
    const id = this.#allocId()
    const frame = encode(kind, id, a, b)
    return new Promise((resolve, reject) => {
      const time = link.kind === 'detached' ? Date.now() : 0
      this.#pending.set(id, new Request(id, kind, this.#order++, frame, a, b, time, resolve, reject))
      if (!this.#busy) this.#checkBusy()
      if (link.kind === 'attached') link.stream.send(frame)
    })
  }

  #onFrame(frame: Buffer): void {
    const out = decodeOutput(frame)
    switch (out.tag) {
      case Output.callback:
        this.#answer(out.message.id, out.message.error, out.message.value, undefined)
        break
      case Output.getManyCallback:
        this.#answer(out.message.id, out.message.error, undefined, out.message.values)
        break
      case Output.iteratorData:
        this.#routes.get(out.message.id)?.onData(out.message.seq, out.message.data)
        break
      case Output.iteratorEnd:
        this.#routes.get(out.message.id)?.onEnd(out.message.seq)
        break
      case Output.iteratorError:
        this.#routes.get(out.message.id)?.onError(out.message.seq, out.message.error)
        break
    }
  }

  #answer(id: number, error: string | undefined, value: Uint8Array | undefined, values: { value?: Uint8Array }[] | undefined): void {
    const req = this.#pending.get(id)
    if (req === undefined) return
    this.#pending.delete(id)
    const kind = req.kind
    if (error !== undefined) {
      // An abstract-level 1 host (many-level 2 over memory-level 1) reports a missing key so.
      if (error === 'LEVEL_NOT_FOUND' && kind === GET) req.resolve(undefined)
      else if (error === 'LEVEL_NOT_FOUND' && kind === HAS) req.resolve(false)
      else req.reject(remoteError(error))
    } else if (kind === GET) {
      req.resolve(value)
    } else if (kind === HAS) {
      req.resolve(value !== undefined)
    } else if (kind === GET_MANY || kind === HAS_MANY) {
      const n = (req.a as Buffer[]).length
      const result = new Array(n)
      for (let i = 0; i < n; i++) {
        const v = values?.[i]?.value
        result[i] = kind === GET_MANY ? v : v !== undefined
      }
      req.resolve(result)
    } else {
      req.resolve(undefined)
    }
    if (this.#pending.size === 0 && this.#busy) this.#checkBusy()
  }

  /** Apply one operation to the forwarded database, in sequence with all others. */
  #local(link: Extract<Link, { kind: 'forwarded' }>, kind: number, a: any, b: any): Promise<any> {
    const { db, sequencer } = link
    switch (kind) {
      case PUT:
        return sequencer.write([{ type: 'put', key: a, value: b }])
      case DEL:
        return sequencer.write([{ type: 'del', key: a }])
      case BATCH:
        return sequencer.write(a)
      case GET:
        return sequencer.read(() => db.get(a, BUFFER))
      case GET_MANY:
        return sequencer.read(() => db.getMany(a, BUFFER))
      case HAS:
        return db.supports.has && db.has
          ? sequencer.read(() => (db.has as NonNullable<ForwardTarget['has']>)(a, BUFFER))
          : sequencer.read(() => db.get(a, BUFFER)).then((v) => v !== undefined)
      case HAS_MANY:
        return db.supports.has && db.hasMany
          ? sequencer.read(() => (db.hasMany as NonNullable<ForwardTarget['hasMany']>)(a, BUFFER))
          : sequencer.read(() => db.getMany(a, BUFFER)).then((vs) => vs.map((v) => v !== undefined))
      default:
        return sequencer.exclusive(() => db.clear({ ...a, keyEncoding: 'buffer' }))
    }
  }

  // ---- abstract-level implementor contract ---------------------------------------------

  async _open(): Promise<void> {
    // Without retry, a reopened guest queues operations until its next stream again.
    const link = this.#link
    if (link.kind === 'detached' && link.lost) this.#link = { kind: 'detached', since: link.since, lost: false }
  }

  // Not async: the caller must get abstract-level's own promise, or its status checks made
  // right after it settles see a later open() already in progress.
  override close(): Promise<void> {
    // abstract-level closes iterators before _close(), and an iterator's close() waits for
    // its read in progress, which may be waiting for a host that never answers. Fail such
    // reads first, so that closing cannot deadlock.
    if (this.status === 'open') {
      for (const cursor of this.#cursors) cursor.abort(notOpen())
    }
    return super.close()
  }

  async _close(): Promise<void> {
    const pending = this.#pending
    this.#pending = new Map()
    this.#routes.clear()
    for (const cursor of this.#cursors) cursor.abort(notOpen())
    for (const req of pending.values()) req.reject(notOpen())
    this.#checkBusy()
    if (this.#link.kind === 'attached') this.#enter({ kind: 'detached', since: Date.now(), lost: false })
  }

  _get(key: Buffer): Promise<Buffer | undefined> {
    return this.#request(GET, key)
  }

  _getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    return this.#request(GET_MANY, keys)
  }

  _has(key: Buffer): Promise<boolean> {
    return this.#request(HAS, key)
  }

  _hasMany(keys: Buffer[]): Promise<boolean[]> {
    return this.#request(HAS_MANY, keys)
  }

  _put(key: Buffer, value: Buffer): Promise<void> {
    return this.#request(PUT, key, value)
  }

  _del(key: Buffer): Promise<void> {
    return this.#request(DEL, key)
  }

  _batch(operations: { type: string; key: Buffer; value?: Buffer }[]): Promise<void> {
    // Keep only what the wire (and a local batch) needs: ops may carry userland properties.
    const ops: SequencedWrite[] = new Array(operations.length)
    for (let i = 0; i < operations.length; i++) {
      const op = operations[i] as { type: string; key: Buffer; value?: Buffer }
      ops[i] = op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : { type: 'del', key: op.key }
    }
    return this.#request(BATCH, ops)
  }

  _clear(options: CursorOptions): Promise<void> {
    return this.#request(CLEAR, { ...rangeOptions(toRange(options)), limit: options.limit, reverse: !!options.reverse })
  }

  _iterator(options: CursorOptions): object {
    return this.#iterator(ENTRIES, options)
  }

  _keys(options: CursorOptions): object {
    return this.#iterator(KEYS, options)
  }

  _values(options: CursorOptions): object {
    return this.#iterator(VALUES, options)
  }

  #iterator(mode: Mode, options: CursorOptions): object {
    const cursor = new GuestCursor(this.#port, mode, options, this.#order++)
    this.#cursors.add(cursor)
    cursor.start()
    return createIterator(mode, this, options, cursor)
  }
}
