import type { BatchTarget, SequencedWrite } from './sequencer.js'

/**
 * Options of a read as the private API receives them: formats (`'buffer'`, `'view'`, `'utf8'`)
 * and, for an explicit snapshot, the database's own snapshot object.
 */
export interface Formats {
  keyEncoding: string
  valueEncoding?: string | undefined
  snapshot?: object | undefined
}

/**
 * One write, with the formats abstract-level's private `_batch()` contract promises on each
 * operation (the wire codec ignores them).
 */
export interface WriteOp extends SequencedWrite, Formats {}

/** The part of an abstract-level iterator a forwarded cursor reads from. */
export interface LocalIterator {
  nextv(size: number): Promise<unknown[]>
  seek(target: any, options?: any): void
  close(): Promise<void>
}

/**
 * A database the guest can forward to: any abstract-level (2 or 3) database that supports the
 * `'buffer'` encoding, such as classic-level 3 or memory-level 3. (Typed loosely, so that any
 * such database, whatever its own key and value types, fits.)
 */
export interface ForwardTarget {
  readonly status: string
  readonly supports: { has?: boolean }
  get(key: any, options?: any): Promise<any>
  getMany(keys: any[], options?: any): Promise<any[]>
  has?(key: any, options?: any): Promise<boolean>
  hasMany?(keys: any[], options?: any): Promise<boolean[]>
  batch(operations: any[], options?: any): Promise<void>
  clear(options?: any): Promise<void>
  iterator(options?: any): LocalIterator
  keys(options?: any): LocalIterator
  values(options?: any): LocalIterator
}

/** What the direct path uses beyond {@link ForwardTarget}: abstract-level's private API. */
interface Internals {
  readonly parent?: unknown
  readonly hooks?: { prewrite?: { noop?: boolean } }
  listenerCount?(event: string): number
  keyEncoding?(name: string): { format?: string }
  valueEncoding?(name: string): { format?: string }
  _get(key: unknown, options: object): Promise<unknown>
  _getMany(keys: unknown[], options: object): Promise<unknown[]>
  _has(key: unknown, options: object): Promise<boolean>
  _hasMany(keys: unknown[], options: object): Promise<boolean[]>
  _put(key: unknown, value: unknown, options: object): Promise<void>
  _del(key: unknown, options: object): Promise<void>
  _batch(operations: WriteOp[], options: object): Promise<void>
}

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
   * any caller asked.
   */
  batch(operations: WriteOp[], options?: { sync?: boolean | undefined }): Promise<void> {
    const sync = options?.sync === true
    if (!this.#committing) return this.#commit(operations, sync)
    let next = this.#next
    if (next === null) next = this.#next = { parts: [], settle: [], sync: false }
    next.parts.push(operations)
    if (sync) next.sync = true
    const group = next
    return new Promise<void>((resolve, reject) => group.settle.push([() => resolve(), reject]))
  }

  #committing = false
  #next: WriteGroup | null = null

  #commit(operations: WriteOp[], sync: boolean): Promise<void> {
    this.#committing = true
    let p: Promise<void>
    try {
      p = this.#apply(operations, sync)
    } catch (err) {
      p = Promise.reject(err)
    }
    const done = () => {
      const next = this.#next
      this.#next = null
      this.#committing = false
      if (next === null) return
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
    p.then(done, done)
    return p
  }

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

  /** `options` as the private `_clear()` receives them (range in the key format). */
  clear(options: object): Promise<void> {
    return this.db.clear(options)
  }
}

const EMPTY = Object.freeze({})
const SYNC = Object.freeze({ sync: true })

type Settle = [(value: unknown) => void, (err: unknown) => void]

/** Writes that arrived while a batch was being committed: the next batch. */
interface WriteGroup {
  parts: WriteOp[][]
  settle: Settle[]
  sync: boolean
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

function nativeFormats(db: ForwardTarget & Partial<Internals>): Set<string> {
  const native = new Set<string>()
  for (const format of ['buffer', 'view', 'utf8']) {
    try {
      if (db.keyEncoding?.(format).format === format && db.valueEncoding?.(format).format === format) native.add(format)
    } catch {
      // Not supported at all.
    }
  }
  return native
}

/** The object on `db`'s prototype chain that defines `name`. */
function owner(db: object, name: string): object | null {
  let proto: object | null = db
  while (proto !== null && !Object.hasOwn(proto, name)) proto = Object.getPrototypeOf(proto)
  return proto
}

/**
 * Whether the public methods the private path stands in for are abstract-level's own: a class
 * that overrides `put()` or `batch()` (to validate, to log, to add defaults) must be called
 * through them. `keyEncoding()` is defined by abstract-level's base class alone, so its owner
 * is that class's prototype.
 */
function publicApiIsAbstractLevels(db: object): boolean {
  const base = owner(db, 'keyEncoding')
  return base !== null && PUBLIC.every((name) => owner(db, name) === base)
}

const PUBLIC = ['get', 'getMany', 'has', 'hasMany', 'put', 'del', 'batch']

function canBypass(db: ForwardTarget & Partial<Internals>): boolean {
  return (
    db.parent == null &&
    publicApiIsAbstractLevels(db) &&
    typeof db.listenerCount === 'function' &&
    ['_get', '_getMany', '_put', '_del', '_batch'].every((m) => typeof (db as any)[m] === 'function') &&
    (db.supports.has !== true || (typeof db._has === 'function' && typeof db._hasMany === 'function'))
  )
}
