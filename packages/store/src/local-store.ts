import { type Change, type ChangeListener, toChanges } from './changes.js'
import { canBypass, type Internals, nativeFormats } from './direct-api.js'
import type { ForwardTarget, Formats, LocalIterator, WriteOp } from './forward-target.js'
import type { BatchTarget } from './sequencer.js'

/**
 * The database a guest forwards to, used with the formats the guest's private API receives.
 *
 * When it is equivalent, this calls the database's private abstract-level methods (`_get`,
 * `_batch`, ...) instead of the public ones, which for classic-level is markedly faster (a
 * one-operation `batch()` costs about 3.5x its `_batch()`), because the public layer only
 * re-does what the guest's own public layer already did. It is equivalent when:
 *
 * - the database is a root database (a sublevel's private methods expect prefixed keys);
 * - it stores the formats at hand natively, so data passes unchanged as through its public API;
 * - it is `'open'` right now (otherwise the public method defers or rejects as it should);
 * - for writes, no `prewrite` hook and no `'write'` listener would be skipped.
 *
 * Everything else goes through the public API, with the formats as encoding names.
 */
export class LocalStore implements BatchTarget {
  readonly db: ForwardTarget
  /**
   * Runs around every write (see {@link CommitGate}): a host whose guests keep answers in a
   * cache sets it, to invalidate them before a write of their keys commits. At most one.
   */
  gate: CommitGate | null = null
  readonly #direct: (ForwardTarget & Internals) | null
  /** Formats the database stores natively, for keys and values alike. */
  readonly #native: ReadonlySet<string>

  constructor(db: ForwardTarget) {
    this.db = db
    this.#native = nativeFormats(db)
    this.#direct = canBypass(db) ? (db as ForwardTarget & Internals) : null
  }

  #reader(options: Formats): Internals | null {
    const direct = this.#direct
    if (direct === null || direct.status !== 'open') return null
    const native = this.#native
    return native.has(options.keyEncoding) && (options.valueEncoding === undefined || native.has(options.valueEncoding))
      ? direct
      : null
  }

  #writer(operations: WriteOp[]): Internals | null {
    const direct = this.#direct
    if (direct === null || direct.status !== 'open' || direct.hooks?.prewrite?.noop !== true) return null
    if (direct.listenerCount?.('write') !== 0) return null
    for (const op of operations) if (this.#reader(op) === null) return null
    return direct
  }

  /**
   * The store of `db`, shared by everyone who writes to it in this process (a host's
   * connections and a forwarding guest), so that their writes are committed together and in one
   * order.
   */
  static of(db: ForwardTarget): LocalStore {
    let store = stores.get(db)
    if (store === undefined) {
      store = new LocalStore(db)
      stores.set(db, store)
    }
    return store
  }

  /**
   * Apply `operations` as one batch. `options.sync` reaches the database (LevelDB's fsync).
   *
   * One batch is committed at a time: what arrives meanwhile, from any caller, is merged into the
   * next one (a group commit across connections). So writes are applied in the order of their
   * calls here, which is the order they settle in, and each caller's operations stay
   * consecutive. A merged batch that fails fails every caller in it; a merged batch syncs if
   * any caller asked. Subscribers (see {@link LocalStore.subscribe}) hear of a batch once it
   * is committed, before its callers do.
   */
  batch(operations: WriteOp[], options?: { sync?: boolean | undefined }): Promise<void> {
    const sync = options?.sync === true
    if (!this.#busy) return this.#commit(operations, sync)
    const queue = this.#queue
    let next = queue[queue.length - 1]
    if (next === undefined || next.kind !== 'write') {
      next = { kind: 'write', parts: [], settle: [], sync: false }
      queue.push(next)
    }
    next.parts.push(operations)
    if (sync) next.sync = true
    const group = next
    return new Promise<void>((resolve, reject) => group.settle.push([() => resolve(), reject]))
  }

  /** A commit or a job runs; what comes meanwhile waits in {@link LocalStore.#queue}. */
  #busy = false
  /** What waits for its turn, in order: merged writes and jobs (subscriptions, parts of a clear). */
  readonly #queue: (WriteGroup | Job)[] = []
  readonly #listeners = new Set<ChangeListener>()
  readonly #advance = () => this.#next()

  #commit(operations: WriteOp[], sync: boolean): Promise<void> {
    this.#busy = true
    let p: Promise<void>
    // The gate may make the commit wait (for caches to drop its keys); what comes meanwhile
    // merges into the next one, as while a commit runs.
    const pass = this.gate?.enter(operations)
    const ready = pass?.ready
    try {
      p = ready === undefined ? this.#apply(operations, sync) : ready.then(() => this.#apply(operations, sync))
    } catch (err) {
      p = Promise.reject(err)
    }
    if (pass !== undefined) p.then(pass.leave, pass.leave)
    // Registered before the caller's handlers: subscribers hear of it first. The next commit
    // starts before they do, so that the database works while they encode what they send (a
    // job that waits, such as a subscription, runs from a later microtask: it never hears of
    // this commit).
    p.then(() => {
      const changes = this.#listeners.size > 0 ? toChanges(operations) : null
      this.#next()
      if (changes !== null) this.#publish(changes)
    }, this.#advance)
    return p
  }

  /** Start what waits next, if anything. */
  #next(): void {
    this.#busy = false
    const next = this.#queue.shift()
    if (next === undefined) return
    if (next.kind === 'job') {
      this.#busy = true
      next.run().then(this.#advance)
      return
    }
    const ops = next.parts.length === 1 ? (next.parts[0] as WriteOp[]) : next.parts.flat()
    this.#commit(ops, next.sync).then(
      () => {
        for (const s of next.settle) s[0](undefined)
      },
      (err) => {
        for (const s of next.settle) s[1](err)
      }
    )
  }

  /** Run `fn` alone in the commit order: after the writes called before, before those after. */
  #job<T>(fn: () => Promise<T>): Promise<T> {
    let run!: () => Promise<void>
    const done = new Promise<T>((resolve, reject) => {
      // From a microtask, so that a throw becomes a rejection; the queue is held meanwhile.
      run = () => Promise.resolve().then(fn).then(resolve, reject)
    })
    if (this.#busy) {
      this.#queue.push({ kind: 'job', run })
    } else {
      this.#busy = true
      run().then(this.#advance)
    }
    return done
  }

  #publish(changes: readonly Change[]): void {
    for (const listener of this.#listeners) listener(changes)
  }

  /**
   * Call `listener` with the changes of every write committed through this store from the
   * moment it is registered, in the order they were applied: each call holds one commit (the
   * writes of one or more callers, each caller's consecutive), made before the writers hear
   * that their writes settled. A `clear()` reaches listeners as the deletes of the keys it
   * removed (see {@link LocalStore.clear}).
   *
   * Registration takes its place in the commit order (after the writes called before it), so
   * it resolves once registered, with the function that ends the subscription. Costs nothing
   * while there are no listeners. Writes made to the database without this store are not seen.
   */
  subscribe(listener: ChangeListener): Promise<() => void> {
    this.#subscribing++
    return this.#job(async () => {
      // A clear that runs without publishing (it started with nobody listening) ends first.
      while (this.#plainClears > 0) await this.#plainCleared
      this.#listeners.add(listener)
      return () => {
        this.#listeners.delete(listener)
      }
    }).finally(() => {
      this.#subscribing--
    })
  }

  /** Listeners registered now. */
  get subscribers(): number {
    return this.#listeners.size
  }

  #subscribing = 0
  #plainClears = 0
  #plainCleared: Promise<void> = Promise.resolve()
  #plainDone: () => void = () => {}

  #apply(operations: WriteOp[], sync: boolean): Promise<void> {
    const direct = this.#writer(operations)
    if (direct === null) return this.db.batch(operations, sync ? SYNC : undefined)
    if (operations.length === 1) {
      const op = operations[0] as WriteOp
      const opOptions = sync ? { ...op, sync } : op
      return op.type === 'put' ? direct._put(op.key, op.value, opOptions) : direct._del(op.key, opOptions)
    }
    return direct._batch(operations, sync ? SYNC : EMPTY)
  }

  /**
   * Get one value. The gets of one tick (with the same formats) are read with one `getMany()`
   * (the private one when equivalent): for classic-level one trip to the thread pool instead of
   * one per key, several times faster for pipelined gets. The one place in the project where
   * gets are coalesced on their way to a database (hosts and forwarding guests both use it).
   */
  get(key: unknown, options: Formats): Promise<unknown> {
    // Gets of one tick (the same formats) are read with one _getMany(): for classic-level one
    // trip to the thread pool instead of one per key. They can be merged because a caller only
    // issues them together when nothing must happen between them (a Sequencer read group).
    let batch = this.#gets
    if (
      batch === null ||
      batch.keyEncoding !== options.keyEncoding ||
      batch.valueEncoding !== options.valueEncoding ||
      batch.options.snapshot !== options.snapshot
    ) {
      if (batch !== null) this.#flushGets()
      batch = { keyEncoding: options.keyEncoding, valueEncoding: options.valueEncoding, options, keys: [], settle: [] }
      this.#gets = batch
      queueMicrotask(this.#flushGetsLater)
    }
    const pending = batch
    pending.keys.push(key)
    return new Promise((resolve, reject) => pending.settle.push([resolve, reject]))
  }

  #gets: GetBatch | null = null
  readonly #flushGetsLater = () => this.#flushGets()

  #flushGets(): void {
    const batch = this.#gets
    if (batch === null) return
    this.#gets = null
    const { keys, settle, options } = batch
    const direct = this.#reader(options)
    const read = direct !== null ? direct._getMany(keys, options) : this.db.getMany(keys, options)
    read.then(
      (values) => {
        for (let i = 0; i < settle.length; i++) (settle[i] as Settle)[0](values[i])
      },
      (err) => {
        for (const s of settle) s[1](err)
      }
    )
  }

  getMany(keys: unknown[], options: Formats): Promise<unknown[]> {
    const direct = this.#reader(options)
    return direct !== null ? direct._getMany(keys, options) : this.db.getMany(keys, options)
  }

  has(key: unknown, options: Formats): Promise<boolean> {
    if (this.db.supports.has !== true) return this.get(key, options).then((v) => v !== undefined)
    const direct = this.#reader(options)
    return direct !== null
      ? direct._has(key, options)
      : (this.db.has as NonNullable<ForwardTarget['has']>)(key, options)
  }

  hasMany(keys: unknown[], options: Formats): Promise<boolean[]> {
    if (this.db.supports.has !== true) return this.getMany(keys, options).then((vs) => vs.map((v) => v !== undefined))
    const direct = this.#reader(options)
    return direct !== null
      ? direct._hasMany(keys, options)
      : (this.db.hasMany as NonNullable<ForwardTarget['hasMany']>)(keys, options)
  }

  /**
   * Clear a range: `options` as the private `_clear()` receives them (range in the key format,
   * `keyEncoding` a format, `limit`, `reverse`, maybe a `snapshot`).
   *
   * With nobody listening, the database's own `clear()`, alongside other writes. While someone
   * listens (or is about to), exactly, so that listeners learn which keys it removed: its keys
   * are read (from one iterator, so from the moment the clear takes its place in the commit
   * order, as the database's own clear reads them) and deleted in batches, each read and
   * deleted as one job of the commit queue (no write comes between reading a batch and
   * deleting it), and published as deletes.
   *
   * A range that can hold the empty key is cleared exactly too: classic-level 3's own clear
   * leaves the key `''` in place when a pass of its loop reads no other key (it writes a pass
   * only if the keys it read have bytes), although its iterators yield that key in the same
   * range. Cleared exactly, it goes, as abstract-level defines `clear()`.
   */
  clear(options: ClearOptions): Promise<void> {
    const pass = this.gate?.enter(null)
    if (pass === undefined) return this.#clear(options)
    const p = pass.ready === undefined ? this.#clear(options) : pass.ready.then(() => this.#clear(options))
    p.then(pass.leave, pass.leave)
    return p
  }

  #clear(options: ClearOptions): Promise<void> {
    if (this.#listeners.size === 0 && this.#subscribing === 0 && !mayHoldEmptyKey(options)) {
      return this.#plainClear(options)
    }
    return this.#exactClear(options)
  }

  #plainClear(options: ClearOptions): Promise<void> {
    if (this.#plainClears++ === 0) this.#plainCleared = new Promise((resolve) => (this.#plainDone = resolve))
    const p = this.db.clear(options)
    const end = () => {
      if (--this.#plainClears === 0) this.#plainDone()
    }
    p.then(end, end)
    return p
  }

  async #exactClear(options: ClearOptions): Promise<void> {
    let it: LocalIterator | undefined
    try {
      let more = true
      while (more) {
        more = await this.#job(async () => {
          it ??= this.db.keys(asBuffers(options))
          const keys = await it.nextv(CLEAR_CHUNK)
          if (keys.length === 0) return false
          const ops: WriteOp[] = keys.map((key) => ({ type: 'del', key, keyEncoding: 'buffer' }))
          await this.#apply(ops, false)
          if (this.#listeners.size > 0) this.#publish(toChanges(ops))
          return true
        })
      }
    } finally {
      await it?.close()
    }
  }
}

/** Whether the range of `options` (gte over gt, lte over lt, as classic-level reads them) holds the key `''`. */
function mayHoldEmptyKey(options: ClearOptions): boolean {
  const length = (bound: unknown) => (bound as { length: number }).length
  const { gt, gte, lt, lte } = options
  const lower = gte != null ? length(gte) === 0 : gt == null
  const upper = lte != null || lt == null || length(lt) > 0
  return lower && upper
}

/**
 * `options` reading keys as buffers: an exact clear deletes the very bytes it read, whatever the
 * caller's key format (keys of a `'utf8'` clear need not be UTF-8, and decoded they would be
 * other keys). Bounds in `'utf8'` are strings, made bytes the way that format stores them.
 */
function asBuffers(options: ClearOptions): ClearOptions {
  const out: ClearOptions = { ...options, keyEncoding: 'buffer' }
  for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
    const bound = options[name]
    if (typeof bound === 'string') out[name] = Buffer.from(bound, 'utf8')
    else if (bound instanceof Uint8Array) out[name] = Buffer.from(bound.buffer, bound.byteOffset, bound.byteLength)
  }
  return out
}

/**
 * What runs around every write of a {@link LocalStore} (its batches, and its clears as a whole):
 * `enter` just before it is applied, with its operations (`null` for a clear: any key), and the
 * pass's `leave` once it settled. The write is applied once the pass's `ready` resolves (at
 * once when it has none). `ready` never rejects; `leave` never throws.
 */
export interface CommitGate {
  enter(operations: readonly WriteOp[] | null): CommitPass
}

/** One write's way through a {@link CommitGate}. */
export interface CommitPass {
  readonly ready: Promise<void> | undefined
  readonly leave: () => void
}

/** Keys an exact clear reads and deletes at a time. */
const CLEAR_CHUNK = 1000

/** Options of {@link LocalStore.clear}. */
export interface ClearOptions {
  keyEncoding: string
  [option: string]: unknown
}

const EMPTY = Object.freeze({})
const SYNC = Object.freeze({ sync: true })

type Settle = [(value: unknown) => void, (err: unknown) => void]

/** Writes that arrived while a batch was being committed: the next batch. */
interface WriteGroup {
  kind: 'write'
  parts: WriteOp[][]
  settle: Settle[]
  sync: boolean
}

/** Work that takes its turn in the commit order. Its promise never rejects. */
interface Job {
  kind: 'job'
  run: () => Promise<void>
}

const stores = new WeakMap<object, LocalStore>()

/** Gets collected in one tick, to be read together. */
interface GetBatch {
  keyEncoding: string
  valueEncoding: string | undefined
  options: Formats
  keys: unknown[]
  settle: Settle[]
}
