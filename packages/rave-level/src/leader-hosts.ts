import type net from 'node:net'
import { pipeline } from 'node:stream'
import { LevelHost } from '@rave-level/host'
import type { LeaderDb } from './leader-db.js'

/** The counters `RaveLevel` reports through `Symbol.for('rave-level.host')` (not part of the API). */
export interface HostDiagnostics {
  connections: number
  iterators: number
  snapshots: number
  watches: number
  localWatches: number
  /** Followers whose caches the host keeps track of, and the keys it notes they may hold. */
  cacheClients: number
  cachedKeys: number
}

/** How long (ms) a pause waits for the followers it cut off to connect again. */
const RETURN_GRACE = 1000

/** A host and the sockets it serves. */
interface Served {
  readonly host: LevelHost
  readonly sockets: Set<net.Socket>
}

/** Followers held while their database is reopened: `back` runs once `awaited` of them are. */
interface Held {
  /** Each held socket, and whether its writes are refused (a read-only remote follower). */
  readonly sockets: Map<net.Socket, boolean>
  awaited: number
  readonly back: () => void
}

/**
 * The {@link LevelHost} that serves followers, one per database this instance opened as leader
 * (and again after each time it reopened it): connecting each follower's socket to it,
 * finishing it before the leader stops serving, holding followers while the leader reopens the
 * database, and its counters. `RaveLevel` owns when to serve; this owns the serving.
 */
export class LeaderHosts {
  readonly #hosts = new WeakMap<object, Served>()
  /** Sockets that connected while their database was being reopened (see {@link LeaderHosts.pause}). */
  readonly #held = new WeakMap<object, Held>()
  readonly #beforeWrite: () => void

  /** @param beforeWrite Called before a follower's write is taken (see `LevelHostOptions.beforeWrite`). */
  constructor(beforeWrite: () => void) {
    this.#beforeWrite = beforeWrite
  }

  /**
   * Serve one follower's socket with the host of `db` (or hold it while `db` is paused), its
   * writes refused if `readonly`.
   */
  serve(socket: net.Socket, db: LeaderDb, readonly = false): void {
    const held = this.#held.get(db)
    if (held !== undefined) {
      // Not listened to until served (a socket has enough listeners then): one that closes
      // meanwhile is skipped when served.
      held.sockets.set(socket, readonly)
      if (held.sockets.size >= held.awaited) held.back()
      return
    }
    let served = this.#hosts.get(db)
    if (served === undefined) {
      served = { host: new LevelHost(db, { beforeWrite: this.#beforeWrite }), sockets: new Set() }
      this.#hosts.set(db, served)
    }
    const { sockets } = served
    const stream = served.host.createRpcStream({ readonly })
    sockets.add(socket)
    stream.once('close', () => sockets.delete(socket))
    pipeline(socket, stream, socket, () => {})
  }

  /**
   * A leader about to stop serving: let the requests its followers sent settle and be answered
   * (and take no more), so that each follower knows exactly which of its operations ran and
   * sends the rest, in order, to the next leader.
   */
  async finish(db: LeaderDb | undefined): Promise<void> {
    const served = db === undefined ? undefined : this.#hosts.get(db)
    if (served !== undefined) await served.host.finish()
  }

  /**
   * Stop serving `db` until {@link LeaderHosts.resume}, for a leader that reopens it without
   * giving up the lock: finish its host (at once, before this returns: a write that arrives
   * later is not taken), then end its followers' connections, so that they connect again
   * (their unanswered requests are sent again, their iterators resume) and are held until the
   * database is open again. Resolves once those followers are back, or after a moment: a
   * follower that tries the lock at the moment the leader's database is closed could take it.
   */
  async pause(db: LeaderDb): Promise<void> {
    let back!: () => void
    const returned = new Promise<void>((resolve) => {
      back = resolve
    })
    const held: Held = { sockets: new Map(), awaited: Number.POSITIVE_INFINITY, back }
    this.#held.set(db, held)
    const served = this.#hosts.get(db)
    this.#hosts.delete(db)
    if (served === undefined) return
    await served.host.finish()
    held.awaited = served.sockets.size
    for (const socket of served.sockets) {
      // end() sends the replies queued for it first; destroy() whoever does not close.
      socket.end()
      setTimeout(() => socket.destroy(), RETURN_GRACE).unref()
    }
    if (held.sockets.size >= held.awaited) return
    const timer = setTimeout(back, RETURN_GRACE).unref()
    await returned
    clearTimeout(timer)
  }

  /** Serve `db` again after {@link LeaderHosts.pause}, with a fresh host; `serve` false cuts off the followers held instead. */
  resume(db: LeaderDb, serve: boolean): void {
    const held = this.#held.get(db)
    if (held === undefined) return
    this.#held.delete(db)
    held.back()
    for (const [socket, readonly] of held.sockets) {
      if (!serve) socket.destroy()
      else if (!socket.destroyed) this.serve(socket, db, readonly)
    }
  }

  /** The counters of the host of `db` (zeros before any follower connected). */
  diagnostics(db: LeaderDb, localWatches: number): HostDiagnostics {
    const host = this.#hosts.get(db)?.host
    if (host === undefined)
      return { connections: 0, iterators: 0, snapshots: 0, watches: 0, localWatches, cacheClients: 0, cachedKeys: 0 }
    const { connections, iterators, snapshots, watches, caches } = host
    return {
      connections,
      iterators,
      snapshots,
      watches,
      localWatches,
      cacheClients: caches.clients,
      cachedKeys: caches.keys
    }
  }
}
