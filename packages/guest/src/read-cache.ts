import {
  type CacheGrantMessage,
  type CacheInvalidateMessage,
  encodeInput,
  Input,
  NOT_FOUND,
  Output,
  type RpcStream
} from '@rave-level/protocol'
import { fromBytes } from './formats.js'
import type { ManyValue, Operation, Request } from './requests.js'

/**
 * @packageDocumentation
 * A follower's cache of what its leader answered to `get`, `getMany`, `has` and `hasMany`
 * (the `cache` extension; the leader's side is `host/src/cache-registry.ts`, whose module
 * comment states the contract). Reads are served from memory only while all of this holds:
 *
 * - the link's host named `cache` in its Hello and granted a lease that has not run out by our
 *   own clock, counted from when we *sent* the request for it (`performance.now()` taken before
 *   sending): the host counts from when it sent the grant, so it never thinks we stopped
 *   serving before we did;
 * - no write or clear of ours that touches the key is unanswered (a read issued after our own
 *   write must see it, and our write commits only once the host says so);
 * - the entry came in an answer the host marked `cache`, and no `CacheInvalidate` for its key
 *   came after it (the host sends one before any write of the key commits, and waits for our
 *   `CacheAck` or the end of our lease).
 *
 * Everything is dropped when the link ends (a new leader knows nothing of our cache). Entries
 * are kept in least-recently-used order within `maxBytes` (keys, values and a fixed overhead
 * per entry). Keys that we drop on our own stay in the host's books until it invalidates them
 * or its bound tells us to drop everything: harmless, only a superset.
 */

/** Options of a follower's cache (`RaveLevel`'s `cache` option). */
export interface CacheOptions {
  /** Bytes of keys and values (plus about 160 bytes per entry) the cache may hold. */
  maxBytes: number
  /**
   * Ms of the lease asked for (the host may grant less): how long a write by another process
   * may wait for this one to drop its keys if it stops answering. Default 500.
   */
  lease?: number | undefined
}

/** The answer to a read served from the cache; `MISS` when it must go to the host. */
export const MISS: unique symbol = Symbol('miss')

/** The reads a cache may answer: `get`, `has`, `getMany` and `hasMany` (without a snapshot). */
export type ReadOperation = Extract<Operation, { kind: 'get' | 'has' | 'getMany' | 'hasMany' }>

/** The writes whose keys a cache stops serving until they settle (see {@link ReadCache.track}). */
export type WriteOperation = Extract<Operation, { kind: 'put' | 'del' | 'batch' | 'clear' | 'clearKeys' }>

/** What the cache needs of a link: its stream, to ask for leases and acknowledge invalidations. */
export interface CacheLink {
  readonly stream: RpcStream
}

interface Entry {
  /** The value (a buffer of its own), or `undefined` for a key known to be absent. */
  readonly value: Buffer | undefined
  readonly size: number
}

/** What one entry costs beyond its key and value: the map's slot, the key string, the objects. */
const ENTRY_OVERHEAD = 160
const DEFAULT_LEASE = 500
/**
 * Reads served in one turn of the event loop before one is sent to the host anyway. A caller
 * that awaits cached reads in a loop never lets the loop poll its socket: invalidations would
 * wait, and so would other processes' writes of what it holds, until its lease ran out. A miss
 * now and then (a round trip per this many hits) lets them in.
 */
const MAX_BURST = 1024

/** A follower's read cache (see the module comment). One per guest; it outlives links. */
export class ReadCache {
  readonly maxBytes: number
  readonly lease: number
  /** Entries in least-recently-used order (a hit moves one to the end). */
  readonly #entries = new Map<string, Entry>()
  #bytes = 0
  /** The link whose host keeps our lease, or null. */
  #link: CacheLink | null = null
  /** Until when (our clock) we may serve. */
  #leaseUntil = 0
  /** The lease request in flight: its id and when we sent it. */
  #asked: { id: number; at: number } | null = null
  #nextId = 0
  /** Keys of our own writes not yet answered (count per key), and our unanswered clears. */
  readonly #writing = new Map<string, number>()
  #clearing = 0
  /** Reads served since the event loop last turned (see {@link MAX_BURST}). */
  #burst = 0
  #turn: NodeJS.Immediate | null = null
  readonly #turned = () => {
    this.#burst = 0
    this.#turn = null
  }
  /** Counters, for tests and benchmarks. */
  readonly stats = { hits: 0, misses: 0, invalidations: 0, evictions: 0 }

  /**
   * @throws {RangeError} Unless `maxBytes` is a positive integer and `lease`, if given, a positive number.
   */
  constructor(options: CacheOptions) {
    const { maxBytes, lease = DEFAULT_LEASE } = options
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError("The 'cache.maxBytes' option must be a positive integer")
    }
    if (typeof lease !== 'number' || !(lease > 0) || !Number.isFinite(lease)) {
      throw new RangeError("The 'cache.lease' option must be a positive number of ms")
    }
    this.maxBytes = maxBytes
    this.lease = Math.ceil(lease)
  }

  /** Bytes held now (by the measure of `maxBytes`). */
  get bytes(): number {
    return this.#bytes
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size
  }

  // ---- The link ----------------------------------------------------------------------------

  /** A host that supports the extension introduced itself on `link`: cache what it answers. */
  attach(link: CacheLink): void {
    this.#reset()
    this.#link = link
  }

  /** The link ended, or this guest leads now: drop everything, serve nothing. */
  detach(): void {
    this.#reset()
    this.#link = null
  }

  #reset(): void {
    this.#entries.clear()
    this.#bytes = 0
    this.#leaseUntil = 0
    this.#asked = null
  }

  /** A frame of the extension from the host of `link`. */
  frame(link: CacheLink, tag: number, message: CacheGrantMessage | CacheInvalidateMessage): void {
    if (link !== this.#link) return
    if (tag === Output.cacheGrant) {
      const asked = this.#asked
      if (asked === null || asked.id !== message.id) return
      this.#asked = null
      this.#leaseUntil = Math.max(
        this.#leaseUntil,
        asked.at + Math.min(this.lease, (message as CacheGrantMessage).lease)
      )
    } else if (tag === Output.cacheInvalidate) {
      const { id, keys, all } = message as CacheInvalidateMessage
      this.stats.invalidations++
      if (all === true) {
        this.#entries.clear()
        this.#bytes = 0
      } else {
        for (const key of keys) this.#drop(latin1(key))
      }
      link.stream.send(encodeInput(Input.cacheAck, { id }))
    }
  }

  /**
   * The host of `link` answered `sent` (a request, or a run of gets sent as one `GetMany`) and
   * said we may keep the answer.
   */
  answered(
    link: CacheLink,
    sent: Request | Request[] | undefined,
    answer: { error?: string | undefined; value?: Uint8Array | undefined; values?: readonly ManyValue[] }
  ): void {
    if (link !== this.#link || sent === undefined) return
    if (Array.isArray(sent)) {
      const values = answer.values
      if (values === undefined || answer.error !== undefined) return
      // A run of gets and hases, sent as one GetMany.
      for (let i = 0; i < sent.length; i++) {
        const op = (sent[i] as Request).op
        if (op.kind === 'get' || op.kind === 'has') this.#keep(op.key, values[i]?.value)
      }
      return
    }
    const op = sent.op
    if (op.kind === 'get' || op.kind === 'has') {
      if (answer.error !== undefined && answer.error !== NOT_FOUND) return
      this.#keep(op.key, answer.error === undefined ? answer.value : undefined)
    } else if (op.kind === 'getMany' || op.kind === 'hasMany') {
      const values = answer.values
      if (values === undefined || answer.error !== undefined) return
      const keys = op.keys
      for (let i = 0; i < keys.length; i++) this.#keep(keys[i] as Buffer, values[i]?.value)
    }
  }

  #keep(key: Buffer, value: Uint8Array | undefined): void {
    const size = key.length + (value?.length ?? 0) + ENTRY_OVERHEAD
    if (size > this.maxBytes / 4) return
    const id = latin1(key)
    this.#drop(id)
    // A buffer of its own: the answer's bytes are a view of the whole frame.
    let copy: Buffer | undefined
    if (value !== undefined) {
      copy = Buffer.alloc(value.length)
      copy.set(value)
    }
    this.#entries.set(id, { value: copy, size })
    this.#bytes += size
    if (this.#bytes > this.maxBytes) this.#evict()
  }

  #evict(): void {
    for (const [id, entry] of this.#entries) {
      if (this.#bytes <= this.maxBytes) return
      this.#entries.delete(id)
      this.#bytes -= entry.size
      this.stats.evictions++
    }
  }

  #drop(id: string): void {
    const entry = this.#entries.get(id)
    if (entry === undefined) return
    this.#entries.delete(id)
    this.#bytes -= entry.size
  }

  // ---- Reads ---------------------------------------------------------------------------------

  /**
   * Answer a read (keys as bytes; a `get`'s or `getMany`'s values in its `format`) from the
   * cache, or `MISS`. A `getMany` is served only when every key is.
   */
  read(op: ReadOperation): unknown {
    if (!this.#serving()) {
      this.stats.misses++
      return MISS
    }
    if (op.kind === 'get' || op.kind === 'has') {
      const entry = this.#lookup(op.key)
      if (entry === undefined) {
        this.stats.misses++
        return MISS
      }
      this.stats.hits++
      return op.kind === 'has' ? entry.value !== undefined : decode(entry.value, op.format as string)
    }
    const keys = op.keys
    const entries: Entry[] = new Array(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const entry = this.#lookup(keys[i] as Buffer)
      if (entry === undefined) {
        this.stats.misses++
        return MISS
      }
      entries[i] = entry
    }
    this.stats.hits++
    if (op.kind === 'hasMany') return entries.map((e) => e.value !== undefined)
    const format = op.format as string
    return entries.map((e) => decode(e.value, format))
  }

  /**
   * Whether we may serve now: attached to a caching host, under a lease, no clear of ours
   * pending, and the event loop turned lately. Renews the lease early.
   */
  #serving(): boolean {
    if (this.#link === null) return false
    const now = performance.now()
    const left = this.#leaseUntil - now
    if (left < this.lease / 2) this.#renew(now)
    if (left <= 0 || this.#clearing > 0) return false
    if (this.#turn === null) this.#turn = setImmediate(this.#turned).unref()
    return ++this.#burst <= MAX_BURST
  }

  #renew(now: number): void {
    const link = this.#link
    if (this.#asked !== null || link === null) return
    const id = ++this.#nextId
    // Taken before sending: the host's view of the lease starts later than ours.
    this.#asked = { id, at: now }
    link.stream.send(encodeInput(Input.cacheLease, { id, lease: this.lease }))
  }

  #lookup(key: Buffer): Entry | undefined {
    const id = latin1(key)
    if (this.#writing.size > 0 && this.#writing.has(id)) return undefined
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    // Most recently used: to the end of the map's order.
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    return entry
  }

  // ---- Our own writes ----------------------------------------------------------------------

  /**
   * A write of ours (`op`: a put, del, batch or clear) was issued as `promise`: its keys are not
   * served from the cache until it settles, and then dropped (the next read asks the host).
   * Returns `promise`.
   */
  track<T>(op: WriteOperation, promise: Promise<T>): Promise<T> {
    if (op.kind === 'clear' || op.kind === 'clearKeys') {
      this.#clearing++
      const done = () => {
        this.#clearing--
        this.#entries.clear()
        this.#bytes = 0
      }
      promise.then(done, done)
      return promise
    }
    if (op.kind === 'put' || op.kind === 'del') {
      const id = latin1(op.key)
      this.#writing.set(id, (this.#writing.get(id) ?? 0) + 1)
      const done = () => this.#written(id)
      promise.then(done, done)
      return promise
    }
    const ids = op.ops.map((w) => latin1(w.key as Buffer))
    for (const id of ids) this.#writing.set(id, (this.#writing.get(id) ?? 0) + 1)
    const done = () => {
      for (const id of ids) this.#written(id)
    }
    promise.then(done, done)
    return promise
  }

  /** A write of ours of `id` settled: serve the key again, from what comes after it. */
  #written(id: string): void {
    const n = (this.#writing.get(id) ?? 1) - 1
    if (n === 0) this.#writing.delete(id)
    else this.#writing.set(id, n)
    this.#drop(id)
  }
}

/** A cached value for the caller: a string, or a copy (the caller may change its buffer). */
function decode(value: Buffer | undefined, format: string): unknown {
  if (value === undefined) return undefined
  return format === 'utf8' ? fromBytes(value, format) : Buffer.from(value)
}

function latin1(key: Uint8Array): string {
  return (Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength)).toString('latin1')
}
