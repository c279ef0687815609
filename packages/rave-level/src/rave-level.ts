import fs from 'node:fs/promises'
import type net from 'node:net'
import path from 'node:path'
import { pipeline } from 'node:stream'
import { Election, type ElectionFault, type StalledInfo } from '@rave-level/election'
import type { GuestLevel } from '@rave-level/guest'
import { Dispatcher } from '@rave-level/guest/internal'
import { DEFAULT_MAX_FRAME_SIZE } from '@rave-level/protocol'
import { leaderEndpoint } from './endpoint.js'
import { checkTimes, explainNotOpen, isLasting, openFailure, unreachable } from './errors.js'
import { abandoned, OpeningFacade, stopOpening } from './facade.js'
import type { Listener, RaveLevelEvents, RaveLevelFault, RaveLevelOptions, RaveLevelReopenFailure } from './events.js'
import { resolveListen } from './listen-options.js'
import { TcpListener } from './tcp-listener.js'
import { type HostDiagnostics, LeaderHosts } from './leader-hosts.js'
import { acquire, isLocked, type LeaderDb } from './leader-db.js'
import { destroy, repair } from './offline.js'
import { RemoteLevel, type RemoteLevelOptions, type RemoteUrlSource } from './remote.js'
import { afterAWhile, RoomWait } from './room.js'
import { untilRole } from './until-role.js'

/** Typed events: `db.on('leaderr', ...)` does not type-check, and listeners get their payloads' types. */
export interface RaveLevel<K, V> {
  on<E extends keyof RaveLevelEvents>(event: E, listener: Listener<K, V, E>): this
  once<E extends keyof RaveLevelEvents>(event: E, listener: Listener<K, V, E>): this
  off<E extends keyof RaveLevelEvents>(event: E, listener: Listener<K, V, E>): this
  addListener<E extends keyof RaveLevelEvents>(event: E, listener: Listener<K, V, E>): this
  removeListener<E extends keyof RaveLevelEvents>(event: E, listener: Listener<K, V, E>): this
  prependListener<E extends keyof RaveLevelEvents>(event: E, listener: Listener<K, V, E>): this
  prependOnceListener<E extends keyof RaveLevelEvents>(event: E, listener: Listener<K, V, E>): this
  emit<E extends keyof RaveLevelEvents>(event: E, ...args: RaveLevelEvents<K, V>[E]): boolean
  listenerCount<E extends keyof RaveLevelEvents>(event: E): number
}

/**
 * Use one LevelDB database from many processes at once. The first instance to take LevelDB's
 * lock becomes the leader: it opens the database with `classic-level`, serves it to the others
 * over a unix socket (a named pipe on Windows) and applies its own operations directly. Every
 * other instance follows: its operations travel to the leader. When the leader goes away, a new
 * one is elected; pending operations are retried and iterators resume after the last key they
 * yielded.
 *
 * `open()` (called by the constructor) resolves once this instance leads or follows, and
 * rejects at once, with the cause in its message, when the database cannot be opened for a
 * lasting reason (permissions, not a directory, corruption). The database cannot be reopened
 * after `close()` (`LEVEL_NOT_SUPPORTED`); `close()` first finishes what was issued before it.
 *
 * Error codes: `LEVEL_NOT_SUPPORTED` (reopen), `LEVEL_CONNECTION_LOST` (leader lost with
 * `retry: false`), `LEVEL_LOCKED` (no leader reachable within `timeout`), `LEVEL_TIMEOUT` (the
 * leader said nothing for `timeout`; the operation may have been applied),
 * `LEVEL_DATABASE_NOT_OPEN` (used after close, or the database could not be opened, with the
 * cause), `LEVEL_FRAME_TOO_LARGE` (an operation or answer over `maxFrameSize`),
 * `LEVEL_IO_ERROR` and the other codes of `classic-level` with their messages, plus every code
 * of `abstract-level`. A watch (`db.watch()`, a change feed of every process's writes; see
 * `Watch`) can also end with `LEVEL_ABORTED` (its signal) or `LEVEL_TOO_MANY_WATCHES`.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the RaveLevel interface above
export class RaveLevel<K = string, V = string> extends OpeningFacade<K, V> {
  readonly #location: string
  readonly #d: Dispatcher
  readonly #timeout: number
  readonly #stalledAfter: number
  #election: Election<LeaderDb> | undefined
  #leaderPid: number | undefined
  /** Why this process could not open the database last time it tried (cleared on success). */
  #openFailure: Error | undefined
  /** Why the last open() failed, for operations that waited for it. */
  #notOpen: Error | undefined
  /** The last endpoint found not answering while the lock was held. */
  #silentEndpoint: string | undefined
  /** Failures already reported on 'error' (one event per distinct failure, not per retry). */
  readonly #reported = new Set<string>()
  /** The heal under way after a write failed (see #onWriteError). */
  #healing: Healing | undefined

  /**
   * Delete the database at `location` and everything rave-level keeps next to it, as
   * `ClassicLevel.destroy()` does (the directory goes too once empty).
   *
   * @throws `LEVEL_LOCKED` (with classic-level's error as `cause`) while any process, this one
   * included, has the database open; classic-level's errors otherwise.
   */
  static destroy(location: string): Promise<void> {
    return destroy(location)
  }

  /**
   * Open, from another machine (or process), the database a leader serves on TCP (its `listen`
   * option): a follower that never leads, over TLS with credentials, reconnecting with backoff
   * when the leader moves or the network drops. See {@link RemoteLevel}.
   *
   * @param url `tls://host:port`, or `tcp://host:port` on loopback only; or, when the leader
   *   moves between machines, a {@link RemoteUrlSource}: a function asked before each connect
   *   attempt, such as one that returns the value the leader publishes in a `LeaseElection`.
   * @param options `token`, `tls` (`ca`, and `cert`/`key` for mutual TLS), and a follower's options.
   * @throws `TypeError` for another kind of URL.
   */
  static connect<K = string, V = string>(
    url: string | RemoteUrlSource,
    options?: RemoteLevelOptions<K, V>
  ): RemoteLevel<K, V> {
    return new RemoteLevel<K, V>(url, options)
  }

  /**
   * Repair the database at `location`, as `ClassicLevel.repair()` does. Run it while no process
   * uses the database: LevelDB's repair takes no lock, so this only checks that none holds it
   * when it starts.
   *
   * @throws `LEVEL_LOCKED` (with classic-level's error as `cause`) while any process has the
   * database open; classic-level's errors otherwise.
   */
  static repair(location: string): Promise<void> {
    return repair(location)
  }

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
    const {
      retry,
      timeout = 10_000,
      stalledAfter = 2_000,
      maxFrameSize = DEFAULT_MAX_FRAME_SIZE,
      listen,
      cache,
      ...rest
    } = options
    // Checked before anything starts: a refused network setup must not half-open.
    const listenConfig = listen === undefined ? undefined : resolveListen(listen)
    checkTimes({ timeout, stalledAfter })
    const d = new Dispatcher({ retry: retry !== false, maxFrameSize, timeout, stalledAfter, cache })
    // Other options (encodings, and anything for hooks) go to abstract-level as usual.
    super(rest, d, { events: { leader: true, stalled: true, flush: true } })
    this.#d = d
    this.#location = path.resolve(location)
    this.#timeout = timeout
    this.#stalledAfter = stalledAfter
    if (listenConfig !== undefined)
      this.#listener = new TcpListener(
        listenConfig,
        (socket, access) => this.#serveRemote(socket, access === 'readonly'),
        (err) => this.#report(err)
      )
    d.events = {
      stalled: (info) => this.emit('stalled', info),
      introduced: (pid) => {
        this.#leaderPid = pid
      },
      unreachable: (waited) => unreachable(waited, this.#silentEndpoint, this.#openFailure),
      flush: () => this.emit('flush')
    }
  }

  /** The absolute location of the database. */
  get location(): string {
    return this.#location
  }

  /**
   * `'leader'` while this instance holds the database (from taking the lock, a moment before it
   * serves followers and emits `'leader'`), `'follower'` while it follows one, else `'electing'`.
   */
  get role(): 'leader' | 'follower' | 'electing' {
    const role = this.#election?.role
    if (role === 'leader' || (this.#election !== undefined && this.#d.forwarded !== null)) return 'leader'
    return role === 'follower' ? 'follower' : 'electing'
  }

  /**
   * The process id of the leader: this process's while it leads; the one the leader announced
   * while following (`undefined` if it did not, e.g. before its answer arrived).
   */
  get leaderPid(): number | undefined {
    const role = this.role
    return role === 'leader' ? process.pid : role === 'follower' ? this.#leaderPid : undefined
  }

  /**
   * Diagnostics, for tests and tools (not part of the API): the counters of the host serving
   * followers while this instance leads (`connections`, `iterators`, `snapshots`, `watches`),
   * and this instance's own watches, which it registers on its own database while it leads
   * (`localWatches`), and the network connections still authenticating (`unauthenticated`);
   * else `undefined`. Reached through `Symbol.for('rave-level.host')`.
   * @internal
   */
  get [Symbol.for('rave-level.host')](): (HostDiagnostics & { unauthenticated: number }) | undefined {
    const db = this.#election?.resource
    if (db === undefined) return undefined
    return { ...this.#hosts.diagnostics(db, this.#d.watches), unauthenticated: this.#listener?.unauthenticated ?? 0 }
  }

  /** `close()` came while electing, with nothing issued: end the open (see OpeningFacade). */
  protected override [stopOpening](err: Error): void {
    this.#lasting?.(err, true)
  }

  // Operations deferred while opening, and made after a failed open, say why it failed.
  override deferAsync<T>(fn: () => Promise<T>, options?: { signal?: AbortSignal }): Promise<T> {
    return super.deferAsync(fn, options as never).catch((err) => {
      throw explainNotOpen(err, this.#notOpen)
    }) as Promise<T>
  }

  override async _open(): Promise<void> {
    await super._open()
    this.#notOpen = undefined
    try {
      await fs.mkdir(this.#location, { recursive: true })
    } catch (err) {
      this.#notOpen = openFailure(err as Error)
      throw this.#notOpen
    }
    // close() came while the folder was being made.
    const stop = this[abandoned]
    if (stop !== undefined) throw stop
    const election = this.#createElection()
    this.#election = election
    try {
      await untilRole(
        election,
        () => this.#openFailure,
        (fail) => {
          this.#lasting = fail
        }
      )
    } catch (err) {
      this.#notOpen = err as Error
      this.#election = undefined
      await election.close().catch(() => {})
      throw err
    }
  }

  override async _close(): Promise<void> {
    // Finish what was issued (the election keeps running meanwhile: a failover may be needed).
    await super._close()
    const election = this.#election
    this.#election = undefined
    if (election !== undefined) {
      await this.#hosts.finish(election.resource)
      await this.#listener?.stop()
      await election.close()
    }
  }

  /** While opening: fail at once on a lasting failure to open the database. */
  #lasting: ((err: Error, asIs?: boolean) => void) | undefined
  /** The lasting failure that failed open(): its rejection reports it, not an 'error' event. */
  #lastingFailure: Error | undefined

  #createElection(): Election<LeaderDb> {
    const location = this.#location
    const election = new Election<LeaderDb>({
      endpoint: leaderEndpoint(location),
      acquire: async (signal) => {
        try {
          const db = await acquire(location, signal, (err) => this.#onWriteError(err))
          this.#openFailure = undefined
          // Holding the lock is what makes us the leader: our own operations (after a failover,
          // those the dead leader left unanswered) go to the database now, while the election
          // still listens and publishes the endpoint for followers. That is most of a failover
          // spent otherwise (a record written to disk under load can take tens of ms). If serving
          // fails, `release` takes them back before closing the database.
          if (db !== undefined && this.#election === election && !signal.aborted && this.#d.forwarded === null)
            this.#d.forward(db as never)
          return db
        } catch (err) {
          // Not a held lock: classic-level could not open the database. A lasting reason fails
          // open() at once; otherwise the election retries, and waiting operations learn why.
          this.#openFailure = err as Error
          if (isLasting(err) && this.#lasting !== undefined) {
            this.#lastingFailure = err as Error
            this.#lasting(err as Error)
          }
          throw err
        }
      },
      release: async (db) => {
        if (this.#d.forwarded?.store.db === db) await this.#d.unforward()
        await db.close()
      },
      serve: (socket, db) => this.#hosts.serve(socket, db),
      follow: (socket) => this.#follow(socket),
      timeout: this.#timeout,
      stalledAfter: this.#stalledAfter
    })
    election.on('leader', (db) => {
      this.#silentEndpoint = undefined
      if (this.#d.forwarded?.store.db !== db) this.#d.forward(db as never)
      this.#listener?.start()
      this.emit('leader')
    })
    election.on('disconnected', () => void this.#listener?.stop())
    election.on('follower', () => {
      this.#silentEndpoint = undefined
    })
    election.on('stalled', (info: StalledInfo) => {
      this.#silentEndpoint = info.endpoint
      this.emit('stalled', { reason: 'locked', endpoint: info.endpoint, elapsed: info.elapsed })
    })
    election.on('error', (err: ElectionFault) => this.#report(err))
    return election
  }

  /** Emit 'error' once per distinct failure (not once per retry), only if someone listens. */
  #report(err: ElectionFault | (Error & { code?: string })): void {
    const cause = (err as { cause?: Error }).cause
    if (cause !== undefined && cause === this.#lastingFailure) return
    const key = `${err.code}:${cause?.message ?? err.message}`
    if (this.#reported.has(key)) return
    this.#reported.add(key)
    // An election fault, or a heal's failed reopen (openFailure()): the payload's type says so.
    if (this.listenerCount('error') > 0) this.emit('error', err as RaveLevelFault | RaveLevelReopenFailure)
  }

  /**
   * A write failed with an I/O error. LevelDB keeps such an error (a full disk, say) until the
   * database is reopened, so this leader would fail every write from now on, even once the
   * cause is gone. Heal: when the disk has room again (at once, for an error that is not about
   * space), reopen the database in place (see #heal). Until then reads are served, and writes
   * fail fast with the error.
   */
  #onWriteError(err: unknown): void {
    if ((err as { code?: unknown }).code !== 'LEVEL_IO_ERROR' || this.#healing !== undefined) return
    const election = this.#election
    const db = election?.resource
    if (election === undefined || db === undefined) return
    const space = /space|ENOSPC/i.test(String((err as Error).message))
    const healing: Healing = { db, room: space ? new RoomWait(this.#location) : undefined, stopped: undefined }
    this.#healing = healing
    this.#heal(election, healing).finally(() => {
      this.#healing = undefined
    })
  }

  /**
   * Before this instance or a follower has a write taken (synchronously, in issue order): once
   * the disk has room again, stop taking writes to the database that failed, so that this
   * write waits for the heal and succeeds instead of failing on it. The leader also looks for
   * room by itself (room.ts), but a write made once room is back must not depend on when.
   */
  #beforeWrite(): void {
    const healing = this.#healing
    if (healing === undefined || healing.stopped !== undefined) return
    if (healing.room === undefined || healing.room.check()) this.#stopTaking(healing)
  }

  /**
   * Stop using the database that failed, at once: this instance's operations wait from now on
   * (in issue order, as while no leader is known), and so do its followers' (the host takes no
   * more; see `LeaderHosts.pause`). Resolves once nothing uses it any more.
   */
  #stopTaking(healing: Healing): Promise<unknown> {
    healing.stopped ??= Promise.all([this.#d.unforward(), this.#hosts.pause(healing.db)])
    return healing.stopped
  }

  /**
   * Reopen the database that failed, keeping the lock, the endpoint and the followers. The old
   * handle stays open, serving reads, until the disk has room for what LevelDB writes when it
   * reopens (see room.ts); only then is it closed, and opened again at once.
   *
   * Why not give up leadership, as a leader that closes does: whoever took the lock next would
   * have to open the database, and while that fails (the disk still too full) nobody serves
   * reads, every process keeps trying the lock, and each sees it held by another's failing
   * attempt: operations failed with `LEVEL_LOCKED` although nobody held it. Here only this
   * process opens the database; followers, whose connections are ended so that their
   * iterators resume and their unanswered requests are sent again, connect back to this
   * leader's endpoint and wait. classic-level cannot open a second handle while the first
   * holds the lock, so there is no way to read on while reopening; a reopen that fails anyway
   * (something else filled the disk meanwhile) is tried again when there is room, while
   * operations wait (those that wait longer than `timeout` fail with the reason). If another
   * process took the lock in the moment it was free, it leads now: this one resigns.
   */
  async #heal(election: Election<LeaderDb>, healing: Healing): Promise<void> {
    const { db } = healing
    const leading = () => this.#election === election && election.resource === db
    if (healing.room !== undefined) await healing.room.until(leading)
    if (!leading()) return
    try {
      await this.#stopTaking(healing)
      if (!leading()) return
      await db.close()
      while (leading()) {
        try {
          await db.open()
        } catch (err) {
          if (!leading()) return
          if (isLocked(err)) return await election.resign()
          this.#openFailure = err as Error
          this.#report(openFailure(err as Error))
          await afterAWhile()
          await new RoomWait(this.#location).until(leading)
          continue
        }
        if (!leading()) return await db.close()
        this.#openFailure = undefined
        this.#d.forward(db as never)
        return
      }
    } finally {
      this.#hosts.resume(db, leading() && db.status === 'open')
    }
  }

  // Writes of this instance, before they are taken (see #beforeWrite).
  override _put(...args: Parameters<GuestLevel<K, V>['_put']>): Promise<void> {
    this.#beforeWrite()
    return super._put(...args)
  }

  override _del(...args: Parameters<GuestLevel<K, V>['_del']>): Promise<void> {
    this.#beforeWrite()
    return super._del(...args)
  }

  override _batch(...args: Parameters<GuestLevel<K, V>['_batch']>): Promise<void> {
    this.#beforeWrite()
    return super._batch(...args)
  }

  override _clear(...args: Parameters<GuestLevel<K, V>['_clear']>): Promise<void> {
    this.#beforeWrite()
    return super._clear(...args)
  }

  /** The host serving followers, per database this instance led. */
  readonly #hosts = new LeaderHosts(() => this.#beforeWrite())
  /** Where remote followers connect while this instance leads (with the `listen` option). */
  readonly #listener: TcpListener | undefined

  /** An authenticated remote follower: served like a local one, while this instance leads. */
  #serveRemote(socket: net.Socket, readonly: boolean): void {
    const db = this.#election?.resource
    if (db === undefined) socket.destroy()
    else this.#hosts.serve(socket, db, readonly)
  }

  #follow(socket: net.Socket): void {
    this.#leaderPid = undefined
    pipeline(socket, this.#d.attach(socket), socket, () => {})
  }
}

/** A heal under way: of which database, the wait for room (unless the error was not about space), and once it stopped taking operations. */
interface Healing {
  readonly db: LeaderDb
  readonly room: RoomWait | undefined
  stopped: Promise<unknown> | undefined
}
