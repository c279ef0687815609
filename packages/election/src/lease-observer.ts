import { EventEmitter } from 'node:events'
import { Etcd3, type IOptions, type Namespace, type Watcher } from 'etcd3'
import { Backoff } from './backoff.js'
import { type ElectionFault, electionFault } from './errors.js'
import type { LeaderInfo } from './lease-election.js'
import { createClient } from './lease-options.js'
import { milliseconds } from './options.js'

/** Options of {@link LeaderObserver}. */
export interface LeaderObserverOptions {
  /**
   * The etcd cluster, as for `LeaseElection`: an `Etcd3` client (used, and left open on close),
   * or its options (the observer creates the client, without etcd3's retries and circuit
   * breaker, and closes it on close).
   */
  etcd: Etcd3 | IOptions
  /** The election's name, as its candidates give it to `LeaseElection`. */
  name: string
  /** Ms without an answer from etcd before `'stalled'` (once per episode). Default 2000. */
  stalledAfter?: number
  /** Ms a request to etcd may take before it counts as failed. Default 5000. */
  requestTimeout?: number
  /** Retry delays in ms after a failed read: exponential from `min` (default 100) to `max` (default 1000), jittered. */
  backoff?: { min?: number; max?: number }
}

/** Payload of a {@link LeaderObserver}'s `'stalled'` event. */
export interface ObserverStalledInfo {
  /** Ms since etcd stopped answering (or since the observer started, if it never did). */
  elapsed: number
  /** The leader as last seen, which the observer keeps reporting meanwhile; `undefined` if none. */
  leader: LeaderInfo | undefined
}

/** The events of a {@link LeaderObserver} and their arguments. */
export interface LeaderObserverEvents {
  /** A leader is known, for the first time or another one (a new token or value). */
  leader: [leader: LeaderInfo]
  /** etcd says no candidate leads (the leader's key is gone and no other candidate waits). */
  leaderless: []
  /** etcd has not answered for `stalledAfter` ms; once per episode. The last leader seen stays `leader`. */
  stalled: [info: ObserverStalledInfo]
  /** A failed request to etcd (`LEVEL_ELECTION_FAULT`, stage `campaign`); retried with backoff. Only emitted when there are listeners. */
  error: [error: ElectionFault]
  /** {@link LeaderObserver.close} finished. */
  close: []
}

/**
 * Watches a {@link LeaseElection} without taking part: reports who leads (`{ value, token }`,
 * the leader's published value, typically its endpoint such as `tls://10.0.0.5:7000`, and its
 * fencing token) and every change, for processes that only need to find the leader, such as
 * clients on other machines. It starts at once.
 *
 * It reads the election the way its candidates do: every key under `election/<name>/` sorted by
 * create revision, the first one leads; and it reads again whenever a key there is put or
 * deleted, and whenever its watch reconnects. While etcd cannot be reached, it keeps the last
 * leader it saw (the leader may well still serve: reaching it does not need etcd) and says
 * `'stalled'` after `stalledAfter` ms.
 *
 * Errors: `'error'` (only with listeners) carries `LEVEL_ELECTION_FAULT` with stage `campaign`
 * (a read or the watch failed; the observer backs off and reads again). {@link
 * LeaderObserver.next} rejects with an `AbortError` when its signal aborts or the observer
 * closes.
 */
export class LeaderObserver extends EventEmitter<LeaderObserverEvents> {
  readonly #client: Etcd3
  readonly #ownsClient: boolean
  readonly #namespace: Namespace
  readonly #stalledAfter: number
  readonly #requestTimeout: number
  readonly #backoff: Backoff
  #watcher: Watcher | undefined
  #leader: LeaderInfo | undefined
  /** A read is running; `#again` asks it to read once more when it is done. */
  #reading = false
  #again = false
  #retry: NodeJS.Timeout | undefined
  /** The timer of a stall episode (etcd not answering), and whether it fired. */
  #stallTimer: NodeJS.Timeout | undefined
  #stalled = false
  readonly #waiters = new Set<{ resolve: (leader: LeaderInfo) => void; reject: (err: unknown) => void }>()
  #closed: Promise<void> | undefined

  /**
   * Create an observer; it starts watching at once.
   *
   * @throws `TypeError` or `RangeError` for invalid options.
   */
  constructor(options: LeaderObserverOptions) {
    super()
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('The first argument must be an options object')
    }
    const { etcd, name, backoff = {} } = options
    if (typeof name !== 'string' || name === '') throw new TypeError('The "name" option must be a non-empty string')
    if (typeof etcd !== 'object' || etcd === null) {
      throw new TypeError('The "etcd" option must be an Etcd3 client or its options')
    }
    if (typeof backoff !== 'object' || backoff === null) throw new TypeError('The "backoff" option must be an object')
    this.#stalledAfter = milliseconds('stalledAfter', options.stalledAfter, 2000, true)
    this.#requestTimeout = milliseconds('requestTimeout', options.requestTimeout, 5000, false)
    const min = milliseconds('backoff.min', backoff.min, 100, false)
    const max = milliseconds('backoff.max', backoff.max, Math.max(1000, min), false)
    if (max < min) throw new RangeError('The "backoff.max" option must be >= "backoff.min"')
    this.#backoff = new Backoff(min, max)
    this.#ownsClient = !(etcd instanceof Etcd3)
    this.#client = etcd instanceof Etcd3 ? etcd : createClient(etcd)
    this.#namespace = this.#client.namespace(`election/${name}/`)
    this.#armStall()
    this.#watch()
    void this.#read()
  }

  /** The leader as last seen: its value and token; `undefined` before the first read and while none leads. */
  get leader(): LeaderInfo | undefined {
    return this.#leader
  }

  /**
   * The leader as last seen, at once when one is known, else the next one seen. For a client's
   * reconnect loop: `RaveLevel.connect(async (signal) => (await observer.next(signal)).value)`.
   *
   * @throws An `AbortError` (rejection) when `signal` aborts or the observer closes first.
   */
  next(signal?: AbortSignal): Promise<LeaderInfo> {
    if (this.#closed !== undefined) return Promise.reject(abortError('The observer is closed'))
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.#leader !== undefined) return Promise.resolve(this.#leader)
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(waiter)
        reject(signal?.reason)
      }
      const waiter = {
        resolve: (leader: LeaderInfo) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(leader)
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        }
      }
      this.#waiters.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Stop watching, reject what waits in {@link LeaderObserver.next}, and close an etcd client
   * the observer created. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    clearTimeout(this.#retry)
    clearTimeout(this.#stallTimer)
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const waiter of waiters) waiter.reject(abortError('The observer is closed'))
    await this.#watcher?.cancel().catch(ignore)
    if (this.#ownsClient) this.#client.close()
    this.emit('close')
  }

  /**
   * Watch every key of the election: any put or delete may change who leads. A watch that
   * reconnects after etcd was unreachable may have missed changes: read again then. A watch
   * that etcd ended (compacted past its revision, say) is replaced by a new one.
   */
  #watch(): void {
    const watcher = this.#namespace.watch().prefix('').watcher()
    this.#watcher = watcher
    const changed = (): void => void this.#read()
    watcher.on('put', changed)
    watcher.on('delete', changed)
    watcher.on('connected', changed)
    watcher.on('disconnected', () => this.#armStall())
    watcher.on('error', (err) => {
      if (this.#closed !== undefined || this.#watcher !== watcher) return
      void watcher.cancel().catch(ignore)
      this.#report(electionFault('The election watch failed', 'campaign', err))
      this.#watch()
      changed()
    })
  }

  /** Read the election; serialized: a change during a read is read after it. A failure retries after a backoff. */
  async #read(): Promise<void> {
    if (this.#closed !== undefined) return
    if (this.#reading) {
      this.#again = true
      return
    }
    this.#reading = true
    clearTimeout(this.#retry)
    try {
      do {
        this.#again = false
        const { kvs } = await this.#namespace
          .getAll()
          .sort('Create', 'Ascend')
          .limit(1)
          .options({ deadline: Date.now() + this.#requestTimeout })
          .exec()
        if (this.#closed !== undefined) return
        this.#backoff.reset()
        this.#heard()
        const first = kvs[0]
        this.#take(first && { value: first.value.toString(), token: BigInt(first.create_revision) })
      } while (this.#again && this.#closed === undefined)
    } catch (err) {
      if (this.#closed !== undefined) return
      this.#armStall()
      this.#report(electionFault('Failed to read the election', 'campaign', err))
      this.#retry = setTimeout(() => void this.#read(), this.#backoff.next()).unref()
    } finally {
      this.#reading = false
    }
  }

  #take(leader: LeaderInfo | undefined): void {
    const prev = this.#leader
    if (leader === undefined) {
      this.#leader = undefined
      if (prev !== undefined) this.emit('leaderless')
      return
    }
    if (prev !== undefined && prev.token === leader.token && prev.value === leader.value) return
    this.#leader = leader
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const waiter of waiters) waiter.resolve(leader)
    this.emit('leader', leader)
  }

  /** etcd answered: a stall episode, if any, is over. */
  #heard(): void {
    this.#stalled = false
    clearTimeout(this.#stallTimer)
    this.#stallTimer = undefined
  }

  /** etcd did not answer: start timing a stall episode, unless one is timed or was reported. */
  #armStall(): void {
    if (this.#stalled || this.#stallTimer !== undefined || this.#closed !== undefined) return
    if (this.#stalledAfter > MAX_DELAY) return
    const since = performance.now()
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined
      this.#stalled = true
      this.emit('stalled', { elapsed: Math.round(performance.now() - since), leader: this.#leader })
    }, this.#stalledAfter).unref()
  }

  /** Emit `'error'` only when someone listens: a fault must never crash the process. */
  #report(err: ElectionFault): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }
}

/** Largest delay `setTimeout` honours; larger values (and `Infinity`) mean "never". */
const MAX_DELAY = 2 ** 31 - 1

function abortError(message: string): Error {
  return new DOMException(message, 'AbortError')
}

function ignore(): void {}
