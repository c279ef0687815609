import { encodeOutput, Output } from '@rave-level/protocol'
import type { CommitGate, CommitPass, LocalStore, WriteOp } from '@rave-level/store'

/**
 * @packageDocumentation
 * The leader's side of the `cache` extension: which connection may hold which keys in its
 * cache, the leases they hold, and the invalidations every write waits for before it commits.
 *
 * The contract (invariant 11 of the design): a read a guest serves from its cache returns what
 * a read sent to the leader at that moment could return. It rests on three rules.
 *
 * 1. Invalidate before commit. {@link CacheRegistry} is its database's commit gate: before a
 *    write is applied, every connection that may hold one of its keys (any key, for a clear) is
 *    sent a `CacheInvalidate`, and the write waits until each answered with a `CacheAck` or its
 *    lease ran out. Only then is it applied, and only after that acknowledged. So while any
 *    cache could still serve the old value, no reader anywhere can have seen the new one. The
 *    connection that issued the write is not asked for its own keys: its guest serves none of
 *    them while the write is unanswered, and drops them when the answer comes.
 * 2. Leases. A guest serves from its cache only while its lease runs, by its own clock, from
 *    the moment it *sent* the `CacheLease` that was granted; the host counts the same lease from
 *    when it *sent* the grant, which is later (one machine, one monotonic clock), plus a margin.
 *    So when the host stops waiting for a guest that does not answer (stopped, blocked), that
 *    guest has already stopped serving. The invalidation stays queued on its connection ahead
 *    of any later grant, so it drops the keys before it serves again.
 * 3. No stale grant. An answer to a read may be kept (its `cache` field) only if no write of
 *    any of its keys was between its gate and its commit at any moment from when the read was
 *    taken to when its answer is sent (per key hash bucket, and any clear counts for every key):
 *    a read that overlapped a write may hold the old value after the write's invalidation went
 *    out. A kept answer registers its keys at the moment it is queued, so an invalidation sent
 *    after it travels behind it on the same ordered stream.
 *
 * Bookkeeping is bounded: a connection registers at most `maxKeys` keys; beyond that it is told
 * to drop everything (an invalidation of all, which writes of those keys wait for as for any
 * other) and starts again, and while that is unanswered its answers are not kept.
 */

/** Hash buckets of the per-key write stamps (rule 3). More buckets, fewer false conflicts. */
const BUCKETS = 1 << 14
const MASK = BUCKETS - 1
/** Bytes of keys one invalidation names at most; beyond, it says to drop everything. */
const MAX_INVALIDATION_BYTES = 1024 * 1024
/** Ms the host adds to a lease before it stops waiting for the guest: clock granularity. */
export const LEASE_MARGIN = 5

/** Settings of a {@link CacheRegistry}. */
export interface CacheSettings {
  /** The longest lease granted, in ms: how long a write may wait for a guest that does not answer. */
  readonly maxLease: number
  /** Keys one connection may register before it is told to drop them all. */
  readonly maxKeys: number
}

const NOOP = () => {}
/** On a write operation: the {@link CacheClient} of the connection that issued it. */
const WRITER: unique symbol = Symbol('rave-level.cacheWriter')
type Marked = WriteOp & { [WRITER]?: CacheClient }
const registries = new WeakMap<LocalStore, CacheRegistry>()

/**
 * Which connections may cache which keys of one database, and the commit gate that invalidates
 * them (see the module comment). One per {@link LocalStore}, shared by every host of it.
 */
export class CacheRegistry implements CommitGate {
  readonly settings: CacheSettings
  /** Counts gate events (a write entering or leaving); reads remember it when they start. */
  #epoch = 0
  readonly #stamps = new Float64Array(BUCKETS)
  readonly #inflight = new Uint32Array(BUCKETS)
  /** Clears (any key) between gate and commit, and writes that entered while nobody cached. */
  #wide = 0
  #wideStamp = 0
  readonly #clients = new Set<CacheClient>()
  readonly #plain: CommitPass = {
    ready: undefined,
    leave: () => {
      this.#wide--
      this.#wideStamp = ++this.#epoch
    }
  }

  private constructor(settings: CacheSettings) {
    this.settings = settings
  }

  /** The registry of `store`, made and installed as its gate on first use. */
  static of(store: LocalStore, settings: CacheSettings): CacheRegistry {
    let registry = registries.get(store)
    if (registry === undefined) {
      registry = new CacheRegistry(settings)
      registries.set(store, registry)
      store.gate = registry
    }
    return registry
  }

  /** Where gate events stand now: a read taken now passes this to {@link CacheClient.grant}. */
  get epoch(): number {
    return this.#epoch
  }

  /** Connections that asked for a lease and whose lease may still run. */
  get clients(): number {
    return this.#clients.size
  }

  /** Keys registered over all connections (bookkeeping, for diagnostics). */
  get keys(): number {
    let n = 0
    for (const c of this.#clients) n += c.size
    return n
  }

  /** A connection asks for a lease for the first time: from now on it can hold keys. */
  client(send: (frame: Buffer) => void): CacheClient {
    const client = new CacheClient(this, send)
    this.#clients.add(client)
    return client
  }

  /** @internal */
  remove(client: CacheClient): void {
    this.#clients.delete(client)
  }

  /** Whether every one of `keys` can be granted for a read taken at `since` (rule 3). */
  clean(keys: Uint8Array | readonly Uint8Array[], since: number): boolean {
    if (this.#wide > 0 || this.#wideStamp > since) return false
    if (keys instanceof Uint8Array) return this.#cleanKey(keys, since)
    for (const key of keys) if (!this.#cleanKey(key, since)) return false
    return true
  }

  #cleanKey(key: Uint8Array, since: number): boolean {
    const b = bucket(key)
    return this.#inflight[b] === 0 && (this.#stamps[b] as number) <= since
  }

  enter(operations: readonly WriteOp[] | null): CommitPass {
    if (this.#clients.size === 0) {
      // Nobody caches: no key to hash, but a connection that starts caching while this runs
      // must not keep what it reads meanwhile, so this counts as a write of every key.
      this.#wide++
      return this.#plain
    }
    const epoch = ++this.#epoch
    let waits: Promise<void>[] | null = null
    const wait = (p: Promise<void> | undefined) => {
      if (p !== undefined) (waits ??= []).push(p)
    }
    let leave: () => void
    if (operations === null) {
      this.#wide++
      this.#wideStamp = epoch
      for (const client of this.#clients) {
        wait(client.invalidateAll())
      }
      leave = () => {
        this.#wide--
        this.#wideStamp = ++this.#epoch
      }
    } else {
      const n = operations.length
      const buckets = new Uint32Array(n)
      const keys: Uint8Array[] = new Array(n)
      const writers: (CacheClient | undefined)[] = new Array(n)
      for (let i = 0; i < n; i++) {
        const op = operations[i] as Marked
        const key = bytesOf(op.key)
        keys[i] = key
        writers[i] = op[WRITER]
        const b = bucket(key)
        buckets[i] = b
        this.#inflight[b] = (this.#inflight[b] as number) + 1
        this.#stamps[b] = epoch
      }
      // Each key's Map id is made once, by the first connection that needs it.
      const ids: (string | undefined)[] = new Array(n)
      for (const client of this.#clients) wait(client.invalidate(keys, ids, writers))
      leave = () => {
        const end = ++this.#epoch
        for (let i = 0; i < n; i++) {
          const b = buckets[i] as number
          this.#inflight[b] = (this.#inflight[b] as number) - 1
          this.#stamps[b] = end
        }
      }
    }
    const list = waits as Promise<void>[] | null
    return {
      ready: list === null ? undefined : list.length === 1 ? list[0] : Promise.all(list).then(NOOP),
      leave
    }
  }
}

/**
 * One connection's cache as the host sees it: the keys it may hold, its lease, and the
 * invalidations it has not answered.
 */
export class CacheClient {
  readonly #registry: CacheRegistry
  readonly #send: (frame: Buffer) => void
  #keys = new Set<string>()
  /** Keys it was told to drop all at once, until it answered (or its lease ran out). */
  #dropping: { keys: Set<string>; done: Promise<void> } | null = null
  /** Until when (host clock, `performance.now()`) the guest may serve from its cache. */
  #leaseUntil = 0
  #nextId = 0
  readonly #acks = new Map<number, () => void>()
  #closed = false

  /** @internal */
  constructor(registry: CacheRegistry, send: (frame: Buffer) => void) {
    this.#registry = registry
    this.#send = send
  }

  /** Keys registered (and not yet invalidated). */
  get size(): number {
    return this.#keys.size + (this.#dropping?.keys.size ?? 0)
  }

  /** A `CacheLease`: grant at most `maxLease` ms, counted from now (later than the guest's start). */
  lease(id: number, asked: number): void {
    if (this.#closed) return
    const lease = Math.max(0, Math.min(asked, this.#registry.settings.maxLease))
    this.#send(encodeOutput(Output.cacheGrant, { id, lease }))
    this.#leaseUntil = Math.max(this.#leaseUntil, performance.now() + lease + LEASE_MARGIN)
  }

  /**
   * Mark `ops` as this connection's writes. Its own cache need not be told of them: its guest
   * serves none of their keys until it has the answer, and then drops them (see the guest's
   * read cache), so what it holds of them is never read while stale.
   */
  own(ops: readonly WriteOp[]): void {
    for (const op of ops) (op as Marked)[WRITER] = this
  }

  /** A `CacheAck`. */
  ack(id: number): void {
    const resolve = this.#acks.get(id)
    if (resolve === undefined) return
    this.#acks.delete(id)
    resolve()
  }

  /**
   * The answer to a read of `keys`, taken at epoch `since`, is about to be queued: whether the
   * guest may keep it. If so its keys are registered now, before it is queued (rule 3).
   */
  grant(keys: Uint8Array | readonly Uint8Array[], since: number): boolean {
    if (this.#closed || !this.#registry.clean(keys, since)) return false
    const n = keys instanceof Uint8Array ? 1 : keys.length
    if (this.#keys.size + n > this.#registry.settings.maxKeys && !this.#reset()) return false
    if (keys instanceof Uint8Array) this.#keys.add(idOf(keys))
    else for (const key of keys) this.#keys.add(idOf(key))
    return true
  }

  /** Too many keys: tell the guest to drop them all, and start again. False if one such is still unanswered. */
  #reset(): boolean {
    if (this.#dropping !== null) return false
    const keys = this.#keys
    this.#keys = new Set()
    const done = this.#tell([], true) ?? Promise.resolve()
    const dropping = { keys, done }
    this.#dropping = dropping
    done.then(() => {
      if (this.#dropping === dropping) this.#dropping = null
    })
    return true
  }

  /**
   * A write of `keys` (`writers[i]` issued `keys[i]`; `ids[i]` its Map id, filled in here if
   * absent) enters the gate: if this guest may hold any it did not write itself, tell it to
   * drop them and return what to wait for (its answer, or the end of its lease).
   */
  invalidate(
    keys: readonly Uint8Array[],
    ids: (string | undefined)[],
    writers: readonly (CacheClient | undefined)[]
  ): Promise<void> | undefined {
    const dropping = this.#dropping
    if (this.#keys.size === 0 && dropping === null) return undefined
    let held: Uint8Array[] | null = null
    let heldBytes = 0
    let waitDrop = false
    for (let i = 0; i < keys.length; i++) {
      if (writers[i] === this) continue
      const key = keys[i] as Uint8Array
      let id = ids[i]
      if (id === undefined) ids[i] = id = idOf(key)
      if (this.#keys.delete(id)) {
        ;(held ??= []).push(key)
        heldBytes += key.length
      } else if (dropping?.keys.has(id)) waitDrop = true
    }
    // Keys that would make a large frame (a big batch of the leader's own): drop everything.
    const all = heldBytes > MAX_INVALIDATION_BYTES
    if (all) this.#keys = new Set()
    const told = held === null ? undefined : this.#tell(all ? [] : held, all)
    if (!waitDrop || dropping === null) return told
    return told === undefined ? dropping.done : Promise.all([told, dropping.done]).then(NOOP)
  }

  /** A clear enters the gate: drop everything (the range is not worth comparing key by key). */
  invalidateAll(): Promise<void> | undefined {
    const dropping = this.#dropping
    if (this.#keys.size === 0 && dropping === null) return undefined
    const told = this.#keys.size === 0 ? undefined : this.#tell([], true)
    this.#keys = new Set()
    if (dropping === null) return told
    return told === undefined ? dropping.done : Promise.all([told, dropping.done]).then(NOOP)
  }

  /**
   * Send an invalidation and return what to wait for: the guest's `CacheAck`, or the end of
   * its lease, whichever comes first; nothing once the lease ran out (the guest serves nothing
   * then, and reads this before any later grant). A closed connection is sent nothing: its guest
   * drops its cache when it sees the end, and until then its lease is what bounds it.
   */
  #tell(keys: Uint8Array[], all: boolean): Promise<void> | undefined {
    const left = this.#leaseUntil - performance.now()
    if (!this.#closed) {
      const id = ++this.#nextId
      this.#send(encodeOutput(Output.cacheInvalidate, { id, keys, all: all ? true : undefined }))
      if (left <= 0) return undefined
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#acks.delete(id)
          resolve()
        }, Math.ceil(left))
        timer.unref()
        this.#acks.set(id, () => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    if (left <= 0) return undefined
    return new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(left)).unref())
  }

  /**
   * The connection ended. Its guest may not have noticed yet, and serves from its cache until its
   * lease runs out: until then writes of its keys still wait (for the lease; nothing can be
   * sent). Then it is forgotten.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    // What waited for an answer now waits for the lease alone (its timers run on).
    this.#acks.clear()
    const left = this.#leaseUntil - performance.now()
    if (left <= 0) this.#registry.remove(this)
    else setTimeout(() => this.#registry.remove(this), Math.ceil(left)).unref()
  }
}

/** The key as a Map key: its bytes as a latin1 string (one char per byte). */
function idOf(key: Uint8Array): string {
  return (Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength)).toString('latin1')
}

/** A written key as bytes: keys come as buffers or views, or strings in the `'utf8'` format. */
function bytesOf(key: unknown): Uint8Array {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : (key as Uint8Array)
}

/** FNV-1a of the key's bytes, to a bucket. */
function bucket(key: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key[i] as number
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) & MASK
}
