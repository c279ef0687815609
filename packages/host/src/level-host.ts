import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { DEFAULT_MAX_FRAME_SIZE } from '@rave-level/protocol'
import { type ForwardTarget, LocalStore } from '@rave-level/store'
import type { AbstractLevel } from 'abstract-level'
import { CacheRegistry } from './cache-registry.js'
import { Connection } from './connection.js'
import type { ConnectionSettings, HostDatabase } from './connection-settings.js'

/** Options of {@link LevelHost}. */
export interface LevelHostOptions {
  /** Answer put, del, batch, clear and `compactRange` with `LEVEL_READONLY`. Default `false`. */
  readonly?: boolean | undefined
  /** Largest frame accepted from a guest, in bytes. Default 64 MiB. */
  maxFrameSize?: number | undefined
  /**
   * Bytes of replies buffered for a guest that does not read them before the host starts no
   * more of its requests and stops reading its input. Default 1 MiB.
   */
  highWaterMark?: number | undefined
  /** Iterators one connection may have open; more fail with `LEVEL_TOO_MANY_ITERATORS`. Default 256. */
  maxIterators?: number | undefined
  /**
   * Operations one connection may have running (each key of a `getMany` and each operation of
   * a batch counts); beyond that the host stops reading the connection until some settle.
   * Default 4096.
   */
  maxInFlight?: number | undefined
  /**
   * Bytes of requests one connection may have running (a larger single request still runs
   * once nothing else does). Bounds what a guest that floods writes costs the host. Default 4 MiB.
   */
  maxInFlightBytes?: number | undefined
  /** Watches (change feeds) one connection may have; more fail with `LEVEL_TOO_MANY_WATCHES`. Default 64. */
  maxWatches?: number | undefined
  /**
   * Bytes of changes kept for one watch while its guest does not read its connection (output
   * above `highWaterMark`). Beyond that the host drops them and sends the guest a gap instead.
   * Default 1 MiB.
   */
  maxWatchQueue?: number | undefined
  /**
   * Called synchronously when a connection receives a write (put, del, batch, clear), before
   * it takes it. A {@link LevelHost.finish} called from here applies to that write already: it
   * is ignored, so the guest gets no answer and sends it again to the next host. For a leader
   * whose database must be reopened before writes can succeed (a full disk that has room
   * again): the write waits for the reopened database instead of failing on the old one.
   */
  beforeWrite?: (() => void) | undefined
  /**
   * Longest lease, in ms, granted to a guest that caches reads (the `cache` extension): how long
   * a write may wait for such a guest that stopped answering before it commits anyway (by then
   * that guest, by its own clock, serves nothing from its cache). Default 1000.
   */
  maxCacheLease?: number | undefined
  /**
   * Keys one caching guest may hold before the host tells it to drop them all and start again:
   * bounds the host's bookkeeping per connection (roughly 100 bytes a key). Default 131072.
   */
  maxCachedKeys?: number | undefined
}

/** Options of {@link LevelHost.createRpcStream}. */
export interface RpcStreamOptions {
  /**
   * Answer this connection's put, del, batch, clear and `compactRange` with `LEVEL_READONLY`
   * (for a guest whose credentials grant reads only), whatever the host's `readonly`.
   */
  readonly?: boolean | undefined
}

/** Events of {@link LevelHost}. */
export interface LevelHostEvents {
  /**
   * A connection failed: it sent an invalid frame (`LEVEL_PROTOCOL_ERROR`), announced a frame
   * larger than `maxFrameSize` (`LEVEL_FRAME_TOO_LARGE`), or its stream was destroyed with an
   * error (e.g. a socket error passed on by `pipeline`). That stream is destroyed; the host and
   * other connections carry on. A peer that merely went away (`ECONNRESET`, `EPIPE`, `ABORT_ERR`,
   * `ERR_STREAM_PREMATURE_CLOSE`) is not a fault. Safe to ignore.
   */
  fault: [err: Error, stream: Duplex]
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024
const DEFAULT_MAX_ITERATORS = 256
const DEFAULT_MAX_IN_FLIGHT = 4096
const DEFAULT_MAX_IN_FLIGHT_BYTES = 1024 * 1024
const DEFAULT_MAX_WATCHES = 64
const DEFAULT_MAX_WATCH_QUEUE = 1024 * 1024
const DEFAULT_MAX_CACHE_LEASE = 1000
const DEFAULT_MAX_CACHED_KEYS = 128 * 1024
/** Target size of one `IteratorData` message. */
const ITERATOR_BYTES = 16 * 1024

/**
 * Serves an abstract-level 3 database to guests speaking the many-level 2 wire protocol, one
 * {@link LevelHost.createRpcStream} per connection.
 *
 * Per connection, operations apply in the order the guest issued them (pipelined writes are
 * committed together in one `db.batch()`), and each reply is sent once its operation settled.
 * Database errors reach the guest as their `LEVEL_*` code (`LEVEL_REMOTE_ERROR` when they have
 * none); replies can also carry `LEVEL_NOT_FOUND` (a `get` of a missing key, as many-level 2
 * answers it), `LEVEL_READONLY`, `LEVEL_INVALID_VALUE`, `LEVEL_PROTOCOL_ERROR` (a batch
 * operation of unknown type), `LEVEL_TOO_MANY_ITERATORS` and `LEVEL_TOO_MANY_WATCHES`. A guest
 * can watch the changes committed through the host (a `Watch`; see the README), with a bounded
 * queue per watch for a guest that does not read. A connection that sends
 * garbage is destroyed with `LEVEL_PROTOCOL_ERROR` or `LEVEL_FRAME_TOO_LARGE` and reported
 * through the `'fault'` event.
 *
 * @throws {TypeError} If `db` is not an abstract-level database or an option has the wrong type.
 * @throws {RangeError} If a numeric option is not a positive integer.
 */
export class LevelHost extends EventEmitter<LevelHostEvents> {
  readonly #settings: ConnectionSettings
  readonly #stats = { iterators: 0, snapshots: 0, watches: 0 }

  constructor(db: AbstractLevel<any, any, any>, options: LevelHostOptions = {}) {
    super()
    if (typeof db !== 'object' || db === null || typeof db.batch !== 'function' || typeof db.iterator !== 'function') {
      throw new TypeError('The first argument must be an abstract-level database')
    }
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('The second argument must be an options object')
    }
    const readonly = options.readonly ?? false
    if (typeof readonly !== 'boolean') throw new TypeError("The 'readonly' option must be a boolean")
    const highWaterMark = positive(options.highWaterMark, DEFAULT_HIGH_WATER_MARK, 'highWaterMark')
    const beforeWrite = options.beforeWrite ?? null
    if (beforeWrite !== null && typeof beforeWrite !== 'function') {
      throw new TypeError("The 'beforeWrite' option must be a function")
    }
    const store = LocalStore.of(db as unknown as ForwardTarget)
    this.#settings = {
      db: db as unknown as HostDatabase,
      store,
      cache: CacheRegistry.of(store, {
        maxLease: positive(options.maxCacheLease, DEFAULT_MAX_CACHE_LEASE, 'maxCacheLease'),
        maxKeys: positive(options.maxCachedKeys, DEFAULT_MAX_CACHED_KEYS, 'maxCachedKeys')
      }),
      readonly,
      maxFrameSize: positive(options.maxFrameSize, DEFAULT_MAX_FRAME_SIZE, 'maxFrameSize'),
      highWaterMark,
      maxIterators: positive(options.maxIterators, DEFAULT_MAX_ITERATORS, 'maxIterators'),
      maxInFlight: positive(options.maxInFlight, DEFAULT_MAX_IN_FLIGHT, 'maxInFlight'),
      maxInFlightBytes: positive(options.maxInFlightBytes, DEFAULT_MAX_IN_FLIGHT_BYTES, 'maxInFlightBytes'),
      iteratorBytes: Math.min(ITERATOR_BYTES, highWaterMark),
      maxWatches: positive(options.maxWatches, DEFAULT_MAX_WATCHES, 'maxWatches'),
      maxWatchQueue: positive(options.maxWatchQueue, DEFAULT_MAX_WATCH_QUEUE, 'maxWatchQueue'),
      stats: this.#stats,
      beforeWrite,
      fault: (err, stream) => {
        this.emit('fault', err, stream)
      }
    }
  }

  /** Whether writes are refused with `LEVEL_READONLY`. */
  get readonly(): boolean {
    return this.#settings.readonly
  }

  /** Connections (streams from {@link LevelHost.createRpcStream}) not yet closed. */
  get connections(): number {
    return this.#open.size
  }

  /** Iterators open on behalf of guests, over all connections. */
  get iterators(): number {
    return this.#stats.iterators
  }

  /** Explicit snapshots open on behalf of guests, over all connections. */
  get snapshots(): number {
    return this.#stats.snapshots
  }

  /**
   * Guests whose cache the host keeps track of (they asked for a lease), and the keys it notes
   * they may hold (over all of them): the host's bookkeeping for the `cache` extension.
   */
  get caches(): { clients: number; keys: number } {
    const cache = this.#settings.cache
    return { clients: cache.clients, keys: cache.keys }
  }

  /** Watches (change feeds) open on behalf of guests, over all connections. */
  get watches(): number {
    return this.#stats.watches
  }

  /**
   * Create the host side of one connection: pipe it to and from the guest's stream, e.g.
   * `pipeline(socket, host.createRpcStream(), socket, cb)`. Destroying the stream closes its
   * iterators. The stream is destroyed with `LEVEL_PROTOCOL_ERROR` (an invalid frame) or
   * `LEVEL_FRAME_TOO_LARGE` (a frame over `maxFrameSize`), reported by the `'fault'` event;
   * its `'error'` event has a listener, so an unpiped stream cannot crash the process.
   * With `readonly`, this connection's writes get `LEVEL_READONLY`.
   */
  createRpcStream(options?: RpcStreamOptions): Duplex {
    const connection = new Connection(options?.readonly === true ? this.#readonlySettings() : this.#settings)
    const { stream } = connection
    this.#open.add(connection)
    if (this.#finishing) void connection.finish()
    stream.once('close', () => {
      this.#open.delete(connection)
    })
    return stream
  }

  /**
   * Stop taking requests, before the connections end (for a leader that stops serving): every
   * connection, also one made later, ignores requests from now on, and the promise resolves
   * once the requests already taken have settled and their replies were queued. A guest gets
   * either the outcome of an operation or no sign that it ran, so that it can send the
   * operations left unanswered, in order, to the next leader. Never rejects.
   */
  finish(): Promise<void> {
    this.#finishing = true
    return Promise.all([...this.#open].map((c) => c.finish())).then(() => {})
  }

  readonly #open = new Set<Connection>()
  #finishing = false
  #readonly: ConnectionSettings | undefined

  /** The settings of a read-only connection on a host that is not read-only itself. */
  #readonlySettings(): ConnectionSettings {
    this.#readonly ??= { ...this.#settings, readonly: true }
    return this.#readonly
  }
}

/** @internal */
export function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`The '${name}' option must be a number`)
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`The '${name}' option must be a positive integer`)
  return value
}
