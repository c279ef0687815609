import { DEFAULT_MAX_FRAME_SIZE, ENTRIES, type IteratorMode, KEYS, rangeBounds, VALUES } from '@rave-level/protocol'
import type { Formats, WriteOp } from '@rave-level/store'
import { AbstractLevel, type AbstractDatabaseOptions } from 'abstract-level'
import { GuestChainedBatch } from './chained-batch.js'
import { type CursorOptions, GuestCursor } from './cursor.js'
import { Dispatcher } from './dispatcher.js'
import { own, toBytes } from './formats.js'
import { createIterator } from './iterators.js'
import { toRange } from './range.js'
import { BATCH, CLEAR, CLEAR_KEYS, DEL, GET, GET_MANY, HAS, HAS_MANY, PUT } from './requests.js'

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

  /**
   * @param options abstract-level's options and the dispatcher's (`retry`, `maxFrameSize`,
   *   `timeout`, `stalledAfter`), unless `dispatcher` is given.
   * @param dispatcher The dispatcher to use; by default one is made from `options`.
   * @param manifest Extra manifest entries (events, methods) of a subclass.
   */
  constructor(options?: GuestLevelOptions<K, V>, dispatcher?: Dispatcher, manifest?: object) {
    const { retry = true, maxFrameSize, timeout, stalledAfter, ...rest } = options ?? {}
    const d = dispatcher ?? new Dispatcher({ retry, maxFrameSize: maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE, timeout, stalledAfter })
    super(
      {
        // All three formats, so that a forwarded database gets data as it is (see formats.ts).
        encodings: { buffer: true, view: true, utf8: true },
        // A retried iterator reads from a new snapshot on the next host.
        implicitSnapshots: !d.retry,
        snapshots: !d.retry,
        explicitSnapshots: false,
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

  _get(key: unknown, options: Formats): Promise<unknown> {
    const local = this.#d.forwarded
    if (local !== null) {
      const k = own(key)
      return local.sequencer.read(() => local.store.get(k, options))
    }
    return this.#d.request(GET, toBytes(key), options.valueEncoding)
  }

  _getMany(keys: unknown[], options: Formats): Promise<unknown[]> {
    const local = this.#d.forwarded
    if (local !== null) {
      const ks = keys.map(own)
      return local.sequencer.read(() => local.store.getMany(ks, options))
    }
    return this.#d.request(GET_MANY, keys.map(toBytes), options.valueEncoding)
  }

  _has(key: unknown, options: Formats): Promise<boolean> {
    const local = this.#d.forwarded
    if (local !== null) {
      const k = own(key)
      return local.sequencer.read(() => local.store.has(k, options))
    }
    return this.#d.request(HAS, toBytes(key))
  }

  _hasMany(keys: unknown[], options: Formats): Promise<boolean[]> {
    const local = this.#d.forwarded
    if (local !== null) {
      const ks = keys.map(own)
      return local.sequencer.read(() => local.store.hasMany(ks, options))
    }
    return this.#d.request(HAS_MANY, keys.map(toBytes))
  }

  _put(key: unknown, value: unknown, options: Formats & { sync?: boolean }): Promise<void> {
    const local = this.#d.forwarded
    if (local !== null) {
      const { keyEncoding, valueEncoding } = options
      const op = { type: 'put' as const, key: own(key), value: own(value), keyEncoding, valueEncoding }
      return local.sequencer.write([op], options.sync === true ? SYNC : undefined)
    }
    return this.#d.request(PUT, toBytes(key), toBytes(value), options.sync === true)
  }

  _del(key: unknown, options: Formats & { sync?: boolean }): Promise<void> {
    const local = this.#d.forwarded
    if (local !== null) {
      const op = { type: 'del' as const, key: own(key), keyEncoding: options.keyEncoding }
      return local.sequencer.write([op], options.sync === true ? SYNC : undefined)
    }
    return this.#d.request(DEL, toBytes(key), undefined, options.sync === true)
  }

  _batch(operations: WriteOp[], options: { sync?: boolean }): Promise<void> {
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
    return local !== null ? local.sequencer.write(ops, sync ? SYNC : undefined) : this.#d.request(BATCH, ops, undefined, sync)
  }

  _chainedBatch(): GuestChainedBatch {
    return new GuestChainedBatch(this)
  }

  _clear(options: CursorOptions): Promise<void> {
    const local = this.#d.forwarded
    if (local !== null) {
      const copy = { ...options }
      for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (copy[k] != null) copy[k] = own(copy[k])
      return local.sequencer.exclusive(() => local.store.clear(copy))
    }
    const range = { ...rangeBounds(toRange(options)), limit: options.limit, reverse: !!options.reverse }
    // A limited clear is made idempotent in two phases (see the dispatcher).
    return this.#d.request(options.limit >= 0 ? CLEAR_KEYS : CLEAR, range)
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
    const cursor = new GuestCursor(d.port, mode, options, d.nextOrder())
    d.addCursor(cursor)
    cursor.start()
    return createIterator(mode, this, options, cursor)
  }
}

const SYNC = Object.freeze({ sync: true })
