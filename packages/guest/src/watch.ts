import { inRange, type KeyRange, type WatchChangeAt } from '@rave-level/protocol'
import type { Change } from '@rave-level/store'
import { aborted, notOpen } from './errors.js'
import { holdEventLoop } from './event-loop.js'

/**
 * One item of a {@link Watch}: a put or a delete the leader applied, or a gap (changes may have
 * been missed here: after a failover, or when the watch fell too far behind). A watch with
 * `values: false` yields puts without `value`; one with `keys: false` yields changes without
 * `key`.
 */
export type WatchChange<K = string, V = string> =
  | { type: 'put'; key: K; value: V }
  | { type: 'del'; key: K }
  | { type: 'gap' }

/**
 * How a watch turns bytes into the caller's keys and values, and where it applies (see
 * `watchShape`): its range as encoded keys, a sublevel's prefix included so that the leader can
 * filter, and decoders that strip that prefix again. {@link GuestWatch} only queues and yields
 * what this decodes.
 */
export interface WatchShape {
  /** Encoded keys, prefix included (a sublevel's). */
  readonly range: KeyRange
  readonly keys: boolean
  readonly values: boolean
  /** Bytes to strip from each key (a sublevel's prefix). */
  readonly prefix: number
  /** The caller's key of the bytes `bytes[start, end)` (its prefix included). */
  decodeKey(bytes: Uint8Array, start: number, end: number): unknown
  /** The caller's value of the bytes `bytes[start, end)`. */
  decodeValue(bytes: Uint8Array, start: number, end: number): unknown
}

/** Options of `db.watch()`. */
export interface WatchOptions<K = string> {
  /** Only keys greater than this (in the watch's `keyEncoding`). */
  gt?: K | undefined
  /** Only keys greater than or equal to this. */
  gte?: K | undefined
  /** Only keys less than this. */
  lt?: K | undefined
  /** Only keys less than or equal to this. */
  lte?: K | undefined
  /** Yield keys (default `true`). */
  keys?: boolean | undefined
  /** Yield the values of puts (default `true`). */
  values?: boolean | undefined
  /** Encoding of keys, in range options and changes (default: the database's). */
  keyEncoding?: string | object | undefined
  /** Encoding of values (default: the database's). */
  valueEncoding?: string | object | undefined
  /** Aborting it ends the watch: iteration rejects with `LEVEL_ABORTED`. */
  signal?: AbortSignal | undefined
}

/**
 * A change feed: every write the leader applies to a key in the watch's range, from any process
 * (this one included), in the order the leader applied them, each write's changes consecutive.
 * Iterate it with `for await`; `break`, {@link Watch.close}, the `signal` option or closing the
 * database end it and release it on the leader.
 *
 * Iteration rejects with `LEVEL_ABORTED` (the signal), `LEVEL_CONNECTION_LOST` (the leader went
 * away and `retry` is `false`), `LEVEL_NOT_SUPPORTED` (a leader without change feeds, such as a
 * many-level 2 host), `LEVEL_TOO_MANY_WATCHES` (the leader's limit per connection), or with the
 * error that kept it from being registered (`LEVEL_DATABASE_NOT_OPEN`, `LEVEL_TIMEOUT`,
 * `LEVEL_LOCKED`).
 */
export interface Watch<K = string, V = string> extends AsyncIterableIterator<WatchChange<K, V>> {
  /**
   * Resolves once the leader registered the watch: from then on it sees the writes of every
   * process (writes this instance issues after `watch()` are seen in any case). Rejects with
   * the error that kept it from being registered.
   */
  readonly ready: Promise<void>
  /** End the watch: iteration ends, and the leader releases it. Resolves once released. */
  close(): Promise<void>
}

/**
 * Bytes of changes a watch keeps for a consumer that does not iterate (beyond one change). Past
 * that it drops them all and yields one gap in their place: a guest must always read what its
 * leader sends (else it would stall the answers to its own operations), so it bounds itself.
 */
export const WATCH_QUEUE_BYTES = 1024 * 1024
/** Bytes a queued change counts beyond its key and value. */
const CHANGE_COST = 64

/** A change waiting to be taken: where its key and value lie (decoded only when taken). */
type Raw = WatchChangeAt
const GAP: Raw = Object.freeze({
  type: 'gap',
  keyIn: undefined,
  keyStart: -1,
  keyEnd: -1,
  valueIn: undefined,
  valueStart: -1,
  valueEnd: -1
})
/** Bytes a change counts in the queue. */
const cost = (raw: Raw) => CHANGE_COST + (raw.keyEnd - raw.keyStart) + (raw.valueEnd - raw.valueStart)

/**
 * One watch of a guest: the state that outlives any one connection, and the caller's iterator.
 *
 * It is registered where operations go (see the dispatcher): on the attached host (a `Watch`
 * request in issue order, bound to that connection when sent), or on the database the guest
 * forwards to (a subscription to its `LocalStore`, in issue order through the sequencer). When
 * that ends, the watch yields one gap, if it was registered there, and is registered again on
 * the next link (with `retry`), or fails with `LEVEL_CONNECTION_LOST` (without).
 *
 * Changes wait here until the caller takes them, at most {@link WATCH_QUEUE_BYTES} bytes (beyond
 * one change): past that, they are dropped for one gap.
 */
export class GuestWatch<K = string, V = string> implements Watch<K, V> {
  readonly id: number
  readonly shape: WatchShape
  /** Its place in issue order: registration requests on later links keep it. */
  order = -1
  /** Where it is registered or being registered (a host link, or a forwarding); null if nowhere. */
  home: object | null = null
  /** A registration request is pending (one at a time). */
  registering = false
  readonly ready: Promise<void>
  #live = false
  #stop: (() => void) | null = null
  #queue: Raw[] = []
  #head = 0
  #bytes = 0
  #waiter: {
    resolve: (r: IteratorResult<WatchChange<K, V>>) => void
    reject: (err: Error) => void
    /** Lets go of the event loop, held while the caller waits. */
    release: () => void
  } | null = null
  /** Why it ended: `true` when closed, an error when it failed; `false` while it runs. */
  #ended: boolean | Error = false
  #readyDone = false
  #resolveReady!: () => void
  #rejectReady!: (err: Error) => void
  readonly #signal: AbortSignal | undefined
  readonly #release: (w: GuestWatch<K, V>) => Promise<void>
  #closing: Promise<void> | null = null

  /**
   * @param release Ends it where it is registered (the dispatcher's), once closed or failed.
   */
  constructor(
    id: number,
    shape: WatchShape,
    signal: AbortSignal | undefined,
    release: (w: GuestWatch<K, V>) => Promise<void>
  ) {
    this.id = id
    this.shape = shape
    this.#release = release
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    // Nobody has to await it: a failure also ends the iteration.
    this.ready.catch(() => {})
    this.#signal = signal
    if (signal?.aborted) this.#abort()
    else signal?.addEventListener('abort', this.#abort, { once: true })
  }

  get range(): KeyRange {
    return this.shape.range
  }

  get keys(): boolean {
    return this.shape.keys
  }

  get values(): boolean {
    return this.shape.values
  }

  /** Closed or failed: nothing more is registered. */
  get closed(): boolean {
    return this.#ended !== false
  }

  /** Being registered at `home`. */
  bind(home: object): void {
    this.home = home
  }

  /** Registered where it was bound; `stop` ends a local subscription. */
  registered(stop?: () => void): void {
    if (stop !== undefined) this.#stop = stop
    if (this.home === null || this.closed) return
    this.#live = true
    if (!this.#readyDone) {
      this.#readyDone = true
      this.#resolveReady()
    }
  }

  /**
   * Its home went away: a gap if it was registered there (what that leader committed last may
   * never have reached us), and it is registered nowhere now.
   */
  lost(): void {
    if (this.#live) this.#push(GAP, 0)
    this.#live = false
    this.home = null
    this.#unsubscribe()
  }

  /** Changes from a host, filtered by it already. */
  remote(changes: readonly WatchChangeAt[]): void {
    for (const change of changes) this.#push(change, cost(change))
  }

  /** A gap from a host. */
  gap(): void {
    this.#push(GAP, 0)
  }

  /** The listener of a local subscription: every commit, to filter here. */
  local(changes: readonly Change[]): void {
    const range = this.shape.range
    const all = range.lower === undefined && range.upper === undefined
    const { keys, values } = this.shape
    for (const change of changes) {
      if (!all && !inRange(range, change.key)) continue
      const key = keys ? change.key : undefined
      const value = values ? change.value : undefined
      const raw: Raw = {
        type: change.type,
        keyIn: key,
        keyStart: key === undefined ? -1 : 0,
        keyEnd: key === undefined ? -1 : key.length,
        valueIn: value,
        valueStart: value === undefined ? -1 : 0,
        valueEnd: value === undefined ? -1 : value.length
      }
      this.#push(raw, cost(raw))
    }
  }

  /** It cannot go on (not registered, or its connection lost without retry): iteration ends with `err`. */
  fail(err: Error): void {
    if (this.closed) return
    this.#ended = err
    if (!this.#readyDone) {
      this.#readyDone = true
      this.#rejectReady(err)
    }
    this.#settle()
    this.#end()
  }

  close(): Promise<void> {
    if (this.#ended === false) {
      this.#ended = true
      this.#queue = []
      this.#head = 0
      this.#bytes = 0
      if (!this.#readyDone) {
        this.#readyDone = true
        this.#resolveReady()
      }
      this.#settle()
    }
    return this.#end()
  }

  /** Give the caller's waiting read what there is to give, if anything. */
  #settle(): void {
    const waiter = this.#waiter
    if (waiter === null) return
    if (this.#head < this.#queue.length) {
      this.#waiter = null
      waiter.release()
      waiter.resolve({ done: false, value: this.#take() })
    } else if (this.#ended !== false) {
      this.#waiter = null
      waiter.release()
      if (this.#ended === true) waiter.resolve({ done: true, value: undefined })
      else waiter.reject(this.#ended)
    }
  }

  /** Release it where it lives (once). */
  #end(): Promise<void> {
    if (this.#closing === null) {
      this.#signal?.removeEventListener('abort', this.#abort)
      this.#unsubscribe()
      this.#closing = this.#release(this).catch(() => {})
    }
    return this.#closing
  }

  #unsubscribe(): void {
    const stop = this.#stop
    this.#stop = null
    stop?.()
  }

  readonly #abort = (): void => {
    this.#queue = []
    this.#head = 0
    this.#bytes = 0
    this.fail(aborted(this.#signal?.reason))
  }

  #push(raw: Raw, bytes: number): void {
    if (this.closed) return
    const queue = this.#queue
    const last = queue.length > this.#head ? queue[queue.length - 1] : undefined
    if (raw === GAP) {
      // Two gaps in a row say no more than one.
      if (last === GAP) return
    } else if (last !== undefined && this.#bytes + bytes > WATCH_QUEUE_BYTES) {
      // The caller does not keep up: drop what waits, one gap in its place, then this change.
      this.#queue = [GAP, raw]
      this.#head = 0
      this.#bytes = bytes
      if (this.#waiter !== null) this.#settle()
      return
    }
    queue.push(raw)
    this.#bytes += bytes
    if (this.#waiter !== null) this.#settle()
  }

  #take(): WatchChange<K, V> {
    const raw = this.#queue[this.#head] as Raw
    this.#queue[this.#head++] = GAP
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
      this.#bytes = 0
    } else {
      this.#bytes -= cost(raw)
      if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head)
        this.#head = 0
      }
    }
    if (raw === GAP) return { type: 'gap' }
    const shape = this.shape
    const out: { type: string; key?: unknown; value?: unknown } = { type: raw.type }
    if (shape.keys && raw.keyIn !== undefined) out.key = shape.decodeKey(raw.keyIn, raw.keyStart, raw.keyEnd)
    if (shape.values && raw.valueIn !== undefined) {
      out.value = shape.decodeValue(raw.valueIn, raw.valueStart, raw.valueEnd)
    }
    return out as WatchChange<K, V>
  }

  next(): Promise<IteratorResult<WatchChange<K, V>>> {
    if (this.#head < this.#queue.length) return Promise.resolve({ done: false, value: this.#take() })
    const ended = this.#ended
    if (ended === true) return Promise.resolve({ done: true, value: undefined })
    if (ended !== false) return Promise.reject(ended)
    if (this.#waiter !== null) return Promise.reject(new Error('Another next() call is pending on this watch'))
    // A caller waiting for the next change holds the event loop, as a pending read does (else a
    // process that only watches would exit); a watch nobody iterates does not.
    const release = holdEventLoop()
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject, release }
    })
  }

  async return(): Promise<IteratorResult<WatchChange<K, V>>> {
    await this.close()
    return { done: true, value: undefined }
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}

/** The error for a watch made while its database is not open. */
export function watchNotOpen(): Error {
  const err = notOpen()
  err.message = 'Database is not open: cannot watch()'
  return err
}
