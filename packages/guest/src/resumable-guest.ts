import type { Duplex } from 'node:stream'
import { DEFAULT_MAX_FRAME_SIZE, decodeOutput, Output, RpcStream, Sequencer } from '@rave-level/protocol'
import { AbstractLevel, type AbstractDatabaseOptions } from 'abstract-level'
import { type CursorOptions, type CursorPort, ENTRIES, GuestCursor, KEYS, type Mode, VALUES } from './cursor.js'
import { connectionLost, notOpen, tooLarge } from './errors.js'
import { createIterator } from './iterators.js'
import { toBytes } from './formats.js'
import { type Formats, type ForwardTarget, LocalStore, type WriteOp } from '@rave-level/protocol'
import { rangeOptions, toRange } from './range.js'
import {
  BATCH,
  CLEAR,
  DEL,
  encodeRequest,
  encodeRun,
  GET,
  GET_MANY,
  HAS,
  HAS_MANY,
  PUT,
  Request,
  runLength
} from './requests.js'

/** Options of {@link ResumableGuest}. */
export interface ResumableGuestOptions<K, V> extends AbstractDatabaseOptions<K, V> {
  /**
   * Keep unanswered operations across connections and resume iterators on the next one
   * (default `true`). Without it, a lost connection rejects them with `LEVEL_CONNECTION_LOST`.
   */
  retry?: boolean | undefined
  /**
   * Largest frame accepted from a host, and largest request sent to it, in bytes (default
   * 64 MiB, as hosts default to). A larger operation rejects with `LEVEL_FRAME_TOO_LARGE`
   * instead of being sent, since a host would drop the connection (again on every retry).
   */
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

type Forwarded = { readonly kind: 'forwarded'; readonly store: LocalStore; readonly sequencer: Sequencer }
type Link =
  | { readonly kind: 'detached'; readonly since: number; readonly lost: boolean }
  | { readonly kind: 'attached'; readonly stream: RpcStream; readonly ref: GuestRpcStreamOptions['ref'] }
  | Forwarded

const MAX_ID = 0xffffffff
const BUFFER_KEY = Object.freeze({ keyEncoding: 'buffer' })

/** Queue one write on a forwarded database's sequencer. */
function write(sequencer: Sequencer, op: WriteOp): Promise<void> {
  return sequencer.write([op])
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
 * (closed while pending), `LEVEL_FRAME_TOO_LARGE` (an operation larger than `maxFrameSize`),
 * `LEVEL_ABORTED` (iterator signal), `LEVEL_NOT_SUPPORTED` (explicit snapshots, `getSync`), any
 * `LEVEL_*` code sent by the host, else `LEVEL_REMOTE_ERROR`, and the error given to
 * {@link ResumableGuest.rejectWaiting}.
 *
 * @template K The default type of keys.
 * @template V The default type of values.
 */
export class ResumableGuest<K = string, V = string> extends AbstractLevel<string | Buffer | Uint8Array, K, V> {
  readonly #retry: boolean
  readonly #maxFrameSize: number
  #link: Link = { kind: 'detached', since: Date.now(), lost: false }
  /** Unanswered operations by `order`; a Map iterates in insertion order, which is issue order. */
  #pending = new Map<number, Request>()
  /** Wire id → what a frame on the current connection carried: one request, or a run of them. */
  #wire = new Map<number, Request | Request[]>()
  /** Requests and cursor frames to send at the end of this tick, in issue order. */
  #outbox: (Request | Buffer)[] = []
  #scheduled = false
  readonly #flush = () => this.#flushOutbox()
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
        // All three formats, so that a forwarded database gets data as it is (see formats.ts).
        encodings: { buffer: true, view: true, utf8: true },
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
        events: { busy: true, flush: true, connect: true, disconnect: true, forward: true },
        additionalMethods: { createRpcStream: true, forward: true, rejectWaiting: true, isFlushed: true }
      },
      rest
    )
    this.#retry = !!retry
    this.#maxFrameSize = maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE
    this.#port = {
      retry: this.#retry,
      link: () => this.#link.kind,
      lost: () => this.#link.kind === 'detached' && this.#link.lost && !this.#retry,
      closing: () => this.status !== 'open',
      send: (frame) => {
        if (this.#link.kind === 'attached') this.#queue(frame)
      },
      allocId: () => this.#allocId(),
      route: (id, cursor) => {
        if (cursor === null) this.#routes.delete(id)
        else this.#routes.set(id, cursor)
      },
      local: () => {
        const link = this.#link
        return link.kind === 'forwarded' ? { db: link.store.db, sequencer: link.sequencer } : null
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

  // ---- Connection ----------------------------------------------------------------------

  /**
   * Create the stream for one connection to a host: pipe it to the host's stream (or a socket)
   * and back. Operations waiting for a connection are sent on it at once, in issue order, and
   * open iterators continue on it. When it ends or fails, the guest is disconnected: with
   * `retry`, unanswered operations wait for the next stream; without, they reject with
   * `LEVEL_CONNECTION_LOST`.
   *
   * @throws `Error` if a stream is still attached, or after {@link ResumableGuest.forward}.
   */
  createRpcStream(options?: GuestRpcStreamOptions): Duplex {
    const link = this.#link
    // A stream destroyed by its pipeline reports that a tick later; the caller may already know.
    if (link.kind === 'attached' && link.stream.destroyed) this.#onLost(link)
    if (this.#link.kind === 'attached') throw new Error('Only one rpc stream can be active')
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
        if (item instanceof Request) this.#queue(item)
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
   * From now on, send every operation to `db` (an open abstract-level database) instead of a
   * host. Operations already issued and not answered (queued, or sent to a host that died) are
   * applied first, in issue order; open iterators continue on `db` after the last entry they
   * yielded. All operations go through one {@link Sequencer}, so they apply in issue order
   * with group commit; when equivalent, `db`'s private methods are called (see the README). An
   * attached stream is destroyed. The guest does not close `db`.
   *
   * Errors: operations reject with whatever `db` rejects with; a values-only iterator that
   * cannot know its position (without `retry`) fails with `LEVEL_CONNECTION_LOST`.
   *
   * @throws `Error` if called twice; `TypeError` if `db` is not a database.
   */
  forward(db: ForwardTarget): void {
    if (this.#link.kind === 'forwarded') throw new Error('forward() was already called')
    if (db == null || typeof db.batch !== 'function' || typeof db.iterator !== 'function') {
      throw new TypeError("The first argument 'db' must be an abstract-level database")
    }
    const store = new LocalStore(db)
    const link: Link = { kind: 'forwarded', store, sequencer: new Sequencer(store) }
    const waiting = this.#inOrder()
    this.#pending = new Map()
    this.#enter(link, () => {
      for (const item of waiting) {
        if (item instanceof Request) this.#replay(link, item).then(item.resolve, item.reject)
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
        this.#pending.delete(req.order)
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
    // Whatever was bound to the old connection is void; pending requests stay in #pending.
    this.#wire = new Map()
    this.#outbox = []
    this.#routes.clear()
    if (prev.kind === 'attached' && !prev.stream.destroyed) prev.stream.destroy()
    then?.()
    this.emit(next.kind === 'attached' ? 'connect' : next.kind === 'forwarded' ? 'forward' : 'disconnect')
  }

  #onLost(state: Link): void {
    if (this.#link !== state) return
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
    while (this.#wire.has(id) || this.#routes.has(id))
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
    this.emit(busy ? 'busy' : 'flush')
  }

  // ---- Requests ------------------------------------------------------------------------

  /** An operation for the host (keys and values as bytes): send it, or queue it for later. */
  #request(kind: number, a: any, b?: any): Promise<any> {
    const link = this.#link
    if (link.kind === 'detached' && link.lost && !this.#retry) return Promise.reject(connectionLost())
    return new Promise((resolve, reject) => {
      const req = new Request(this.#order++, kind, a, b, link.kind === 'detached' ? Date.now() : 0, resolve, reject)
      this.#pending.set(req.order, req)
      if (link.kind === 'attached') this.#queue(req)
      if (!this.#busy) this.#checkBusy()
    })
  }

  #queue(item: Request | Buffer): void {
    this.#outbox.push(item)
    if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(this.#flush)
    }
  }

  /**
   * Encode what this tick queued, coalescing runs of reads or writes into one frame each (see
   * {@link runLength}). Runs before the stream's own per-tick flush, so it all leaves as one
   * socket write.
   */
  #flushOutbox(): void {
    this.#scheduled = false
    const link = this.#link
    const items = this.#outbox
    this.#outbox = []
    if (link.kind !== 'attached') return
    const stream = link.stream
    const cap = this.#maxFrameSize / 2
    for (let i = 0; i < items.length; ) {
      const n = runLength(items, i, cap)
      const item = items[i] as Request | Buffer
      if (!(item instanceof Request)) {
        stream.send(item)
      } else if (n === 1) {
        this.#send(stream, item, encodeRequest)
      } else {
        this.#send(stream, items.slice(i, i + n) as Request[], encodeRun)
      }
      i += n
    }
  }

  /** Send one request or a run of them as one frame, unless it exceeds `maxFrameSize`. */
  #send<T extends Request | Request[]>(stream: RpcStream, sent: T, encode: (sent: T, id: number) => Buffer): void {
    const id = this.#allocId()
    const frame = encode(sent, id)
    if (frame.length <= this.#maxFrameSize) {
      this.#wire.set(id, sent)
      stream.send(frame)
    } else if (Array.isArray(sent)) {
      for (const req of sent) this.#send(stream, req, encodeRequest)
    } else if (this.#pending.delete(sent.order)) {
      sent.reject(tooLarge(frame.length, this.#maxFrameSize))
      this.#checkBusy()
    }
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
    const sent = this.#wire.get(id)
    if (sent === undefined) return
    this.#wire.delete(id)
    if (sent instanceof Request) {
      // Settle only what is still pending (rejectWaiting() or close() may have settled it).
      if (this.#pending.delete(sent.order)) sent.answer(error, value, values)
    } else {
      // A run shares the outcome of its frame: each read gets its value of the GetMany.
      for (let i = 0; i < sent.length; i++) {
        const req = sent[i] as Request
        if (this.#pending.delete(req.order)) req.answer(error, error === undefined ? values?.[i]?.value : undefined)
      }
    }
    if (this.#pending.size === 0 && this.#busy) this.#checkBusy()
  }

  /** Apply an operation made for a host to the forwarded database instead, in sequence. */
  #replay(link: Forwarded, req: Request): Promise<any> {
    const { store, sequencer } = link
    const a = req.a
    switch (req.kind) {
      case PUT:
        return write(sequencer, { type: 'put', key: a, value: req.b, keyEncoding: 'buffer', valueEncoding: 'buffer' })
      case DEL:
        return write(sequencer, { type: 'del', key: a, keyEncoding: 'buffer' })
      case BATCH:
        return sequencer.write(a)
      case GET:
        return sequencer.read(() => store.get(a, { keyEncoding: 'buffer', valueEncoding: req.b }))
      case GET_MANY:
        return sequencer.read(() => store.getMany(a, { keyEncoding: 'buffer', valueEncoding: req.b }))
      case HAS:
        return sequencer.read(() => store.has(a, BUFFER_KEY))
      case HAS_MANY:
        return sequencer.read(() => store.hasMany(a, BUFFER_KEY))
      default:
        return sequencer.exclusive(() => store.clear({ ...a, keyEncoding: 'buffer' }))
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
    for (const cursor of this.#cursors) cursor.abort(notOpen())
    for (const req of pending.values()) req.reject(notOpen())
    this.#checkBusy()
    if (this.#link.kind === 'attached') this.#enter({ kind: 'detached', since: Date.now(), lost: false })
  }

  // Each operation goes to the forwarded database as it is (keys and values in the formats
  // abstract-level chose), or to the host as bytes.

  _get(key: unknown, options: Formats): Promise<unknown> {
    const link = this.#link
    if (link.kind === 'forwarded') return link.sequencer.read(() => link.store.get(key, options))
    return this.#request(GET, toBytes(key), options.valueEncoding)
  }

  _getMany(keys: unknown[], options: Formats): Promise<unknown[]> {
    const link = this.#link
    if (link.kind === 'forwarded') return link.sequencer.read(() => link.store.getMany(keys, options))
    return this.#request(GET_MANY, keys.map(toBytes), options.valueEncoding)
  }

  _has(key: unknown, options: Formats): Promise<boolean> {
    const link = this.#link
    if (link.kind === 'forwarded') return link.sequencer.read(() => link.store.has(key, options))
    return this.#request(HAS, toBytes(key))
  }

  _hasMany(keys: unknown[], options: Formats): Promise<boolean[]> {
    const link = this.#link
    if (link.kind === 'forwarded') return link.sequencer.read(() => link.store.hasMany(keys, options))
    return this.#request(HAS_MANY, keys.map(toBytes))
  }

  _put(key: unknown, value: unknown, options: Formats): Promise<void> {
    const link = this.#link
    if (link.kind === 'forwarded') {
      const { keyEncoding, valueEncoding } = options
      return write(link.sequencer, { type: 'put', key, value, keyEncoding, valueEncoding })
    }
    return this.#request(PUT, toBytes(key), toBytes(value))
  }

  _del(key: unknown, options: Formats): Promise<void> {
    const link = this.#link
    if (link.kind === 'forwarded') return write(link.sequencer, { type: 'del', key, keyEncoding: options.keyEncoding })
    return this.#request(DEL, toBytes(key))
  }

  _batch(operations: WriteOp[]): Promise<void> {
    // Keep only what a write needs: operations may carry userland properties.
    const link = this.#link
    const local = link.kind === 'forwarded'
    const ops: WriteOp[] = new Array(operations.length)
    for (let i = 0; i < operations.length; i++) {
      const { type, key, value, keyEncoding, valueEncoding } = operations[i] as WriteOp
      ops[i] = local
        ? type === 'put'
          ? { type, key, value, keyEncoding, valueEncoding }
          : { type: 'del', key, keyEncoding }
        : type === 'put'
          ? { type, key: toBytes(key), value: toBytes(value), keyEncoding: 'buffer', valueEncoding: 'buffer' }
          : { type: 'del', key: toBytes(key), keyEncoding: 'buffer' }
    }
    return link.kind === 'forwarded' ? link.sequencer.write(ops) : this.#request(BATCH, ops)
  }

  _clear(options: CursorOptions): Promise<void> {
    const link = this.#link
    if (link.kind === 'forwarded') return link.sequencer.exclusive(() => link.store.clear(options))
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
