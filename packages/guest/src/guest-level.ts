import { DEFAULT_MAX_FRAME_SIZE, ENTRIES, type IteratorMode, KEYS, rangeBounds, VALUES } from '@rave-level/protocol'
import type { Formats, LocalStore, MaintenanceCall, WriteOp } from '@rave-level/store'
import {
  AbstractLevel,
  type AbstractDatabaseOptions,
  type AbstractOpenOptions,
  type AbstractSublevel,
  type AbstractSublevelOptions
} from 'abstract-level'
import { GuestChainedBatch } from './chained-batch.js'
import { type CursorOptions, GuestCursor } from './cursor.js'
import { Dispatcher } from './dispatcher.js'
import { maintenanceNotOpen, notSupported, readOnly } from './errors.js'
import { holdUntil } from './event-loop.js'
import { own, toBytes } from './formats.js'
import type { GuestSnapshot } from './snapshot.js'
import { createIterator } from './iterators.js'
import { toRange } from './range.js'
import { callMaintenance } from './maintenance-call.js'
import { type CacheOptions, MISS, type WriteOperation } from './read-cache.js'
import { GuestSublevel } from './sublevel.js'
import type { Watch, WatchOptions } from './watch.js'
import { type Resources, type WatchedDb, WatchStarter } from './watch-start.js'

/** Options of a {@link GuestLevel}: abstract-level's, and those of its {@link Dispatcher}. */
export interface GuestLevelOptions<K, V> extends AbstractDatabaseOptions<K, V> {
  /**
   * Keep unanswered operations across connections and resume iterators on the next one
   * (default `true`). Without it, a lost connection rejects them with `LEVEL_CONNECTION_LOST`.
   */
  retry?: boolean | undefined
  /**
   * Largest frame accepted from a host, and largest request sent to it, in bytes (default
   * 64 MiB). A larger operation rejects with `LEVEL_FRAME_TOO_LARGE` instead of being sent; a
   * larger answer (a value, or a `getMany` that cannot be split) likewise.
   */
  maxFrameSize?: number | undefined
  /**
   * Ms an operation may wait without a host, or while the host sends nothing at all (neither
   * answers nor heartbeats), before it rejects: `LEVEL_TIMEOUT` by default (its outcome is
   * unknown). Default `10000`; `Infinity` waits forever.
   */
  timeout?: number | undefined
  /** Ms of such silence before a `'stalled'` report. Default `2000`. */
  stalledAfter?: number | undefined
  /**
   * Reject every write (`put`, `del`, `batch`, `clear`, `compactRange`) with `LEVEL_READONLY`
   * before it travels; reads and watches work as usual. Default `false`.
   */
  readOnly?: boolean | undefined
  /**
   * Answer `get`, `getMany`, `has` and `hasMany` from memory while following a host that
   * supports it (see {@link CacheOptions}: `maxBytes`, `lease`). Off by default.
   */
  cache?: CacheOptions | undefined
}

/**
 * An abstract-level 3 database whose operations go through a {@link Dispatcher}: to a host over
 * the many-level wire protocol, to a local database it forwards to, or into a queue until one
 * of those is there. It implements abstract-level's private API and nothing public beyond
 * abstract-level's: the dispatcher, which decides where operations go, belongs to whoever
 * created it ({@link ResumableGuest} exposes it as methods; `rave-level` keeps it to itself).
 *
 * Keys and values are copied when an operation is made (strings need no copy), so a caller may
 * reuse its buffers at once, as with classic-level. `close()` first lets every operation issued
 * before it settle (answered, or rejected after `timeout`), then stops.
 *
 * @template K The default type of keys.
 * @template V The default type of values.
 */
export class GuestLevel<K = string, V = string> extends AbstractLevel<string | Buffer | Uint8Array, K, V> {
  readonly #d: Dispatcher
  /** Starts the watches of this database and of its sublevels (which get it when created). */
  readonly #watches: WatchStarter
  readonly #readOnly: boolean

  /**
   * @param options abstract-level's options and the dispatcher's (`retry`, `maxFrameSize`,
   *   `timeout`, `stalledAfter`).
   */
  constructor(options?: GuestLevelOptions<K, V>)
  /**
   * A facade's: operations go where `dispatcher`, which the facade keeps, sends them (see
   * {@link FacadeLevel}). `options` are abstract-level's only.
   *
   * @param manifest Extra manifest entries (events, methods) of a subclass.
   * @internal
   */
  constructor(options: GuestLevelOptions<K, V> | undefined, dispatcher: Dispatcher, manifest?: object)
  constructor(options?: GuestLevelOptions<K, V>, dispatcher?: Dispatcher, manifest?: object) {
    const {
      retry = true,
      maxFrameSize,
      timeout,
      stalledAfter,
      readOnly: refuseWrites = false,
      cache,
      ...rest
    } = options ?? {}
    if (typeof refuseWrites !== 'boolean') throw new TypeError("The 'readOnly' option must be a boolean")
    const d =
      dispatcher ??
      new Dispatcher({ retry, maxFrameSize: maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE, timeout, stalledAfter, cache })
    super(
      {
        // All three formats, so that a forwarded database gets data as it is (see formats.ts).
        encodings: { buffer: true, view: true, utf8: true },
        // A retried iterator reads from a new snapshot on the next host.
        implicitSnapshots: !d.retry,
        snapshots: !d.retry,
        explicitSnapshots: true,
        // getSync() works only while the database is at hand (see _getSync()): not in every role,
        // and a manifest may not change after open, so it says false.
        ...({ getSync: false } as object),
        has: true,
        seek: true,
        permanence: true,
        createIfMissing: false,
        errorIfExists: false,
        signals: { iterators: true },
        ...manifest
      },
      rest
    )
    this.#d = d
    this.#watches = new WatchStarter(this, d)
    this.#readOnly = refuseWrites
  }

  /** Open; the event loop is held until it settles (see holdEventLoop). */
  override open(options?: AbstractOpenOptions): Promise<void> {
    return holdUntil(super.open(options as AbstractOpenOptions))
  }

  /**
   * Close, once every operation issued before it settled; the event loop is held until it
   * settles (see holdEventLoop), whatever it waits for (a leader's connections ending, say).
   */
  override close(): Promise<void> {
    return holdUntil(super.close())
  }

  /**
   * The counters of this database's read cache (`hits`, `misses`, `invalidations`,
   * `evictions`) and what it holds (`size`, `bytes`), or `undefined` without the `cache`
   * option. For tests and tools (not part of the API); reached through
   * `Symbol.for('rave-level.cache')` on a `RaveLevel`, a remote follower or a `ResumableGuest`.
   * @internal
   */
  get [Symbol.for('rave-level.cache')]():
    | { hits: number; misses: number; invalidations: number; evictions: number; size: number; bytes: number }
    | undefined {
    const cache = this.#d.cache
    return cache === null ? undefined : { ...cache.stats, size: cache.size, bytes: cache.bytes }
  }

  // ---- abstract-level implementor contract ---------------------------------------------

  async _open(): Promise<void> {
    this.#d.reopen()
  }

  async _close(): Promise<void> {
    // Everything issued before close() settles first: answered, applied, or rejected after
    // `timeout`. abstract-level already closed our iterators (waiting for their reads).
    await this.#d.drain()
    this.#d.close()
  }

  // Each operation goes to the forwarded database as it is (keys and values in the formats
  // abstract-level chose, buffers copied), or to the host as bytes (copied or encoded).

  _get(key: unknown, options: ReadOptions): Promise<unknown> {
    return this.#read('get', key, options, (store, k, o) => store.get(k, o))
  }

  _getMany(keys: unknown[], options: ReadOptions): Promise<unknown[]> {
    return this.#read('getMany', keys, options, (store, ks, o) => store.getMany(ks as unknown[], o))
  }

  _has(key: unknown, options: ReadOptions): Promise<boolean> {
    return this.#read('has', key, options, (store, k, o) => store.has(k, o))
  }

  _hasMany(keys: unknown[], options: ReadOptions): Promise<boolean[]> {
    return this.#read('hasMany', keys, options, (store, ks, o) => store.hasMany(ks as unknown[], o))
  }

  /**
   * A read (of a key, or of keys): on the forwarded database as it is (keys copied, in the
   * formats abstract-level chose), or for the host as bytes. With an explicit snapshot, only
   * where the snapshot lives (see {@link GuestSnapshot}).
   */
  #read<T>(
    kind: 'get' | 'getMany' | 'has' | 'hasMany',
    data: unknown,
    options: ReadOptions,
    apply: (store: LocalStore, data: unknown, options: Formats) => Promise<T>
  ): Promise<T> {
    const snap = options.snapshot as GuestSnapshot | undefined
    const local = this.#d.forwarded
    if (local !== null) {
      const owned = Array.isArray(data) ? data.map(own) : own(data)
      if (snap === undefined) return local.sequencer.read(() => apply(local.store, owned, options))
      const refusal = snap.refusal(local)
      if (refusal !== null) return Promise.reject(refusal)
      return local.sequencer.read(async () => apply(local.store, owned, { ...options, snapshot: await snap.local() }))
    }
    const format = options.valueEncoding
    const op =
      kind === 'get'
        ? ({ kind, key: toBytes(data), format, snap } as const)
        : kind === 'has'
          ? ({ kind, key: toBytes(data), snap } as const)
          : kind === 'getMany'
            ? ({ kind, keys: (data as unknown[]).map(toBytes), format, snap } as const)
            : ({ kind, keys: (data as unknown[]).map(toBytes), snap } as const)
    if (snap === undefined && this.#d.cache !== null) {
      const hit = this.#d.cache.read(op)
      if (hit !== MISS) return Promise.resolve(hit as T)
    }
    // What `apply` gives for a forwarded database, the host's answer gives here (see Results).
    return this.#d.request(op) as Promise<T>
  }

  // ---- Change feeds ------------------------------------------------------------------------

  /**
   * Watch the changes the leader applies to keys in a range: see {@link Watch}. Every write this
   * instance issues after calling `watch()` is seen, and every other process's from the moment
   * `ready` resolves.
   *
   * @param options Range (`gt`, `gte`, `lt`, `lte`), `keys`, `values`, `keyEncoding`,
   *   `valueEncoding` and `signal`, as for iterators.
   * @throws abstract-level's `LEVEL_ENCODING_NOT_FOUND` for an unknown encoding. Other failures
   *   (`LEVEL_DATABASE_NOT_OPEN`, `LEVEL_NOT_SUPPORTED`, ...) reject `ready` and the iteration.
   */
  watch<WK = K, WV = V>(options: WatchOptions<WK> = {}): Watch<WK, WV> {
    return this.#watches.start<WK, WV>(this as unknown as WatchedDb & Resources, options)
  }

  _sublevel(name: string, options: object): AbstractSublevel<any, any, any, any> {
    return new GuestSublevel(this, name, options, this.#watches)
  }

  /**
   * Create a sublevel (abstract-level's), which can also {@link GuestSublevel.watch} its keys.
   */
  override sublevel(name: string | string[]): GuestSublevel<string, string>
  override sublevel<SK = string, SV = string>(
    name: string | string[],
    options: AbstractSublevelOptions<SK, SV>
  ): GuestSublevel<SK, SV>
  override sublevel(name: string | string[], options?: object): GuestSublevel<any, any> {
    return super.sublevel(name, options as never) as unknown as GuestSublevel<any, any>
  }

  // ---- classic-level's maintenance methods, wherever the database is ---------------------

  /**
   * classic-level's `approximateSize()`: the approximate number of bytes the keys in
   * `[start, end)` take on disk, from the database itself (on a host, or at hand).
   *
   * @throws `TypeError` without both `start` and `end`; `LEVEL_DATABASE_NOT_OPEN` when not open;
   *   `LEVEL_NOT_SUPPORTED` from a host that cannot.
   */
  async approximateSize(...args: [start: unknown, end: unknown, options?: { keyEncoding?: string }]): Promise<number> {
    const bytes = await this.#maintain('approximateSize', args)
    return Number(Buffer.from(bytes as Uint8Array).toString())
  }

  /**
   * classic-level's `compactRange()`: compact the keys in `[start, end]`.
   *
   * @throws As {@link GuestLevel.approximateSize}.
   */
  async compactRange(...args: [start: unknown, end: unknown, options?: { keyEncoding?: string }]): Promise<void> {
    if (this.#readOnly) throw readOnly()
    await this.#maintain('compactRange', args)
  }

  /**
   * classic-level's `getProperty()`, as a promise: a follower must ask its leader, so it cannot
   * answer synchronously, and the leader answers alike so that code works in either role.
   *
   * @throws `TypeError` unless `property` is a string; `LEVEL_DATABASE_NOT_OPEN` when not open.
   */
  async getProperty(property: string): Promise<string> {
    if (typeof property !== 'string') throw new TypeError("The first argument 'property' must be a string")
    const bytes = await this.#call({ method: 'getProperty', property }, 'getProperty')
    return Buffer.from(bytes as Uint8Array).toString()
  }

  async #maintain(method: 'approximateSize' | 'compactRange', args: unknown[]): Promise<Uint8Array | undefined> {
    if (args.length < 2) throw new TypeError("The arguments 'start' and 'end' are required")
    const [start, end, options] = args as [unknown, unknown, { keyEncoding?: string } | undefined]
    if (this.status === 'opening') return this.deferAsync(() => this.#maintain(method, args))
    const name = typeof options === 'object' && options !== null ? options.keyEncoding : undefined
    const keyEncoding = name === undefined ? this.keyEncoding() : this.keyEncoding(name as 'utf8')
    return this.#call(
      { method, start: toBytes(keyEncoding.encode(start as never)), end: toBytes(keyEncoding.encode(end as never)) },
      method
    )
  }

  /** Run a maintenance call on the database, at hand or on the host, in issue order. */
  #call(call: MaintenanceCall, method: string): Promise<Uint8Array | undefined> {
    if (this.status !== 'open') return Promise.reject(maintenanceNotOpen(method))
    return callMaintenance(this.#d, call)
  }

  _snapshot(options: object): GuestSnapshot {
    return this.#d.snapshot(options)
  }

  /**
   * Works where the database is at hand: while this guest forwards to it (a `rave-level`
   * leader), through its own `getSync()`. Elsewhere it throws `LEVEL_NOT_SUPPORTED`. Since that
   * depends on the role, and a manifest may not change after open, `db.supports.getSync` is
   * `false`.
   */
  _getSync(key: unknown, options: ReadOptions): unknown {
    const local = this.#d.forwarded
    const db = local?.store.db as { getSync?: (key: unknown, options: object) => unknown } | undefined
    if (typeof db?.getSync !== 'function')
      throw notSupported('getSync() needs the database at hand: it works on the leader only')
    const snap = options.snapshot as GuestSnapshot | undefined
    if (snap === undefined) return db.getSync(key, options)
    const refusal = snap.refusal(local)
    const taken = snap.localNow()
    if (refusal !== null) throw refusal
    if (taken === undefined) throw notSupported('getSync() cannot read from a snapshot that is still being taken')
    return db.getSync(key, { ...options, snapshot: taken })
  }

  _put(key: unknown, value: unknown, options: Formats & { sync?: boolean }): Promise<void> {
    if (this.#readOnly) return Promise.reject(readOnly())
    const local = this.#d.forwarded
    if (local !== null) {
      const { keyEncoding, valueEncoding } = options
      const op = { type: 'put' as const, key: own(key), value: own(value), keyEncoding, valueEncoding }
      return local.sequencer.write([op], options.sync === true ? SYNC : undefined)
    }
    return this.#write({ kind: 'put', key: toBytes(key), value: toBytes(value), sync: options.sync === true })
  }

  _del(key: unknown, options: Formats & { sync?: boolean }): Promise<void> {
    if (this.#readOnly) return Promise.reject(readOnly())
    const local = this.#d.forwarded
    if (local !== null) {
      const op = { type: 'del' as const, key: own(key), keyEncoding: options.keyEncoding }
      return local.sequencer.write([op], options.sync === true ? SYNC : undefined)
    }
    return this.#write({ kind: 'del', key: toBytes(key), sync: options.sync === true })
  }

  _batch(operations: WriteOp[], options: { sync?: boolean }): Promise<void> {
    if (this.#readOnly) return Promise.reject(readOnly())
    // Keep only what a write needs: operations may carry userland properties.
    const local = this.#d.forwarded
    const ops: WriteOp[] = new Array(operations.length)
    for (let i = 0; i < operations.length; i++) {
      const { type, key, value, keyEncoding, valueEncoding } = operations[i] as WriteOp
      ops[i] = local
        ? type === 'put'
          ? { type, key: own(key), value: own(value), keyEncoding, valueEncoding }
          : { type: 'del', key: own(key), keyEncoding }
        : type === 'put'
          ? { type, key: toBytes(key), value: toBytes(value), keyEncoding: 'buffer', valueEncoding: 'buffer' }
          : { type: 'del', key: toBytes(key), keyEncoding: 'buffer' }
    }
    const sync = options?.sync === true
    if (local !== null) return local.sequencer.write(ops, sync ? SYNC : undefined)
    return this.#write({ kind: 'batch', ops, sync })
  }

  _chainedBatch(): GuestChainedBatch {
    return new GuestChainedBatch(this)
  }

  _clear(options: CursorOptions): Promise<void> {
    if (this.#readOnly) return Promise.reject(readOnly())
    const snap = options.snapshot as GuestSnapshot | undefined
    const local = this.#d.forwarded
    if (local !== null) {
      const copy = { ...options }
      for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (copy[k] != null) copy[k] = own(copy[k])
      if (snap === undefined) return local.sequencer.exclusive(() => local.store.clear(copy))
      const refusal = snap.refusal(local)
      if (refusal !== null) return Promise.reject(refusal)
      return local.sequencer.exclusive(async () => local.store.clear({ ...copy, snapshot: await snap.local() }))
    }
    const range = { ...rangeBounds(toRange(options)), limit: options.limit, reverse: !!options.reverse }
    // A limited clear is made idempotent in two phases (see the dispatcher).
    return this.#write({ kind: options.limit >= 0 ? 'clearKeys' : 'clear', range, snap })
  }

  /** A write for the host; a read cache serves none of its keys until it settles (see `ReadCache.track`). */
  #write(op: WriteOperation): Promise<void> {
    const p = this.#d.request(op)
    return this.#d.cache === null ? p : this.#d.cache.track(op, p)
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

  #iterator(mode: IteratorMode, options: CursorOptions): object {
    const d = this.#d
    const cursor = new GuestCursor(d, mode, options, d.nextOrder())
    d.addCursor(cursor)
    cursor.start()
    return createIterator(mode, this, options, cursor)
  }
}

const SYNC = Object.freeze({ sync: true })

/** A read's options as abstract-level hands them over: formats, and maybe an explicit snapshot. */
type ReadOptions = Formats & { snapshot?: unknown }
