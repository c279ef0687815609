import fs from 'node:fs/promises'
import type net from 'node:net'
import path from 'node:path'
import { pipeline } from 'node:stream'
import type { AbstractDatabaseOptions, AbstractOpenOptions } from 'abstract-level'
import { ClassicLevel } from 'classic-level'
import { Election, type StalledInfo } from '@rave-level/election'
import { ResumableGuest } from '@rave-level/guest'
import { LevelHost } from '@rave-level/host'
import { publishEndpoint, readEndpoint, socketPath } from '@rave-level/socket-path'
import type ModuleError from 'module-error'
import { notReopenable, unreachable } from './errors.js'

/**
 * Options of {@link RaveLevel}: those of `abstract-level` (`keyEncoding`, `valueEncoding`, ...),
 * plus the following.
 */
export interface RaveLevelOptions<K, V> extends AbstractDatabaseOptions<K, V> {
  /**
   * Retry pending operations and resume iterators on the next leader (default `true`). With
   * `false` they reject with `LEVEL_CONNECTION_LOST` when the leader goes away.
   */
  retry?: boolean | undefined
  /**
   * How long (ms) an operation may wait while no leader can be reached, e.g. because the
   * LevelDB lock is held by a process that serves nothing. After that it rejects with
   * `LEVEL_LOCKED`. Default `10000`; `Infinity` waits forever.
   */
  timeout?: number | undefined
  /** After how long (ms) such a situation is reported with a `'stalled'` event. Default `2000`. */
  stalledAfter?: number | undefined
}

const bufferEncodings = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const

/**
 * Use one LevelDB database from many processes at once. The first instance to take LevelDB's
 * lock becomes the leader: it opens the database with `classic-level`, serves it to the others
 * over a unix socket (a named pipe on Windows) and applies its own operations directly. Every
 * other instance follows: its operations travel to the leader. When the leader goes away, a new
 * one is elected; pending operations are retried and iterators resume after the last key they
 * yielded.
 *
 * The database opens itself and cannot be reopened after `close()` (`LEVEL_NOT_SUPPORTED`).
 * It emits only events caused by its own operations, plus `'leader'` each time it is elected and
 * `'stalled'` when the lock is held by something that serves no endpoint.
 *
 * Error codes: `LEVEL_NOT_SUPPORTED` (reopen, unsupported features), `LEVEL_CONNECTION_LOST`
 * (leader lost with `retry: false`), `LEVEL_LOCKED` (no leader reachable within `timeout`),
 * `LEVEL_DATABASE_NOT_OPEN` (operations pending at `close()`, or the database could not be
 * opened within `timeout`, with classic-level's error as `cause`), `LEVEL_REMOTE_ERROR` (the leader
 * failed with a non-Level error), `LEVEL_READONLY`, plus every code of `abstract-level`.
 */
export class RaveLevel<K = string, V = string> extends ResumableGuest<K, V> {
  readonly #location: string
  readonly #timeout: number
  readonly #stalledAfter: number
  #election: Election<ClassicLevel<Buffer, Buffer>> | undefined
  #closed = false

  /**
   * @param location Directory of the database, as with `classic-level`. Created recursively.
   * @param options See {@link RaveLevelOptions}.
   * @throws `TypeError` when `location` is not a non-empty string; `RangeError` unless `timeout` and
   * `stalledAfter` are positive numbers (`Infinity` allowed).
   */
  constructor(location: string, options: RaveLevelOptions<K, V> = {}) {
    if (typeof location !== 'string' || location === '') {
      throw new TypeError("The first argument 'location' must be a non-empty string")
    }
    const { retry, timeout = 10_000, stalledAfter = 2_000, ...rest } = options
    for (const [name, value] of [['timeout', timeout], ['stalledAfter', stalledAfter]] as const) {
      if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
        throw new RangeError(`The '${name}' option must be a positive number`)
      }
    }
    // Other options (encodings, and anything for hooks) go to abstract-level as usual.
    super({ ...rest, retry: retry !== false })
    this.#location = path.resolve(location)
    this.#timeout = timeout
    this.#stalledAfter = stalledAfter
  }

  /** The absolute location of the database. */
  get location(): string {
    return this.#location
  }

  /** `'leader'` while this instance serves the database, else `'follower'` (or not yet known). */
  get role(): 'leader' | 'follower' | 'electing' {
    const role = this.#election?.role
    return role === 'leader' ? 'leader' : role === 'follower' ? 'follower' : 'electing'
  }

  /**
   * Open the database. Called automatically by the constructor.
   * @throws `LEVEL_NOT_SUPPORTED` after `close()`: a `RaveLevel` cannot be reopened.
   */
  override async open(options?: AbstractOpenOptions): Promise<void> {
    if (this.#closed && !options?.passive) throw notReopenable()
    return super.open(options as AbstractOpenOptions)
  }

  /**
   * Close the database: settle every pending operation (they reject with
   * `LEVEL_DATABASE_NOT_OPEN`), stop serving if this instance leads (the next instance takes
   * over), and release the LevelDB lock. The database cannot be reopened afterwards.
   */
  override close(): Promise<void> {
    // Decided here rather than in _close(): an open() called while closing must not reopen.
    this.#closed = true
    return super.close()
  }

  override async _open(): Promise<void> {
    if (this.#closed) throw notReopenable()
    await super._open()
    await fs.mkdir(this.#location, { recursive: true })
    const location = this.#location
    const election = new Election<ClassicLevel<Buffer, Buffer>>({
      endpoint: {
        connect: () => readEndpoint(location),
        listen: () => socketPath(location),
        // Followers find an in-location socket by computing it themselves; only a hashed endpoint
        // (long location, per-user directory) must be recorded for them. Skipping the write
        // takes about half a millisecond off every failover.
        published: (endpoint) => (path.basename(endpoint) === 'rave-level.sock' ? undefined : publishEndpoint(location, endpoint))
      },
      acquire: async (signal) => {
        try {
          const db = await acquire(location, signal)
          this.#openFailure = undefined
          return db
        } catch (err) {
          // Not a held lock: classic-level could not open the database (corruption, I/O,
          // permissions). The election retries; waiting operations will learn why.
          this.#openFailure = err as Error
          throw err
        }
      },
      release: (db) => db.close(),
      serve: (socket, db) => this.#serve(socket, db),
      follow: (socket) => this.#follow(socket),
      timeout: this.#timeout,
      stalledAfter: this.#stalledAfter
    })
    election.on('leader', (db) => {
      this.forward(db as any)
      this.emit('leader')
    })
    election.on('stalled', (info: StalledInfo) => this.emit('stalled', info))
    election.on('timeout', (err: ModuleError) => this.#expire(unreachable(err, this.#openFailure)))
    election.on('follower', () => this.#expire(undefined))
    election.on('leader', () => this.#expire(undefined))
    election.on('error', (err: ModuleError) => {
      if (this.listenerCount('error') > 0) this.emit('error', err)
    })
    this.on('busy', () => this.#keepAlive.ref())
    this.on('flush', () => this.#keepAlive.unref())
    if (!this.isFlushed()) this.#keepAlive.ref()
    this.#election = election
    election.start()
  }

  override async _close(): Promise<void> {
    this.#expire(undefined)
    this.#keepAlive.unref()
    clearInterval(this.#keepAlive)
    const election = this.#election
    this.#election = undefined
    await super._close()
    if (election !== undefined) await election.close()
  }

  /*
   * Keeping the process alive. Sockets, servers and election timers are all unref'd, so that a
   * process whose operations settled can exit (as with plain classic-level). But while an
   * operation waits for a leader (between connections, or before the first), nothing else may
   * hold the event loop: this interval does, from the moment the guest has work ('busy') until
   * it has none ('flush'). It also enforces `timeout` once the election reported one: while no
   * leader is reachable, every operation older than `timeout` is rejected with that error.
   */
  readonly #keepAlive: NodeJS.Timeout = setInterval(() => this.#tick(), 100).unref()
  #expired: ModuleError | undefined
  #openFailure: Error | undefined

  #expire(err: ModuleError | undefined): void {
    this.#expired = err
    if (err !== undefined) this.rejectWaiting(err, this.#timeout)
  }

  #tick(): void {
    if (this.#expired !== undefined) this.rejectWaiting(this.#expired, this.#timeout)
  }

  #hosts = new WeakMap<object, LevelHost>()

  #serve(socket: net.Socket, db: ClassicLevel<Buffer, Buffer>): void {
    let host = this.#hosts.get(db)
    if (host === undefined) {
      host = new LevelHost(db)
      this.#hosts.set(db, host)
    }
    pipeline(socket, host.createRpcStream(), socket, () => {})
  }

  #follow(socket: net.Socket): void {
    pipeline(socket, this.createRpcStream({ ref: socket }), socket, () => {})
  }
}

/**
 * Try to take the LevelDB lock by opening the database. `undefined` when another process holds
 * it (classic-level 3 reports that as `LEVEL_DATABASE_NOT_OPEN` caused by `LEVEL_LOCKED`).
 */
async function acquire(location: string, signal: AbortSignal): Promise<ClassicLevel<Buffer, Buffer> | undefined> {
  signal.throwIfAborted()
  const db = new ClassicLevel<Buffer, Buffer>(location, bufferEncodings)
  try {
    await db.open()
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') return undefined
    throw err
  }
  // If the election closed meanwhile, it releases what we return.
  return db
}
