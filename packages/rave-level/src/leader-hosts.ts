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
}

/**
 * The {@link LevelHost} that serves followers, one per database this instance opened as leader:
 * connecting each follower's socket to it, finishing it before the leader stops serving, and
 * its counters. `RaveLevel` owns when to serve; this owns the serving.
 */
export class LeaderHosts {
  readonly #hosts = new WeakMap<object, LevelHost>()

  /** Serve one follower's socket with the host of `db` (its writes refused if `readonly`). */
  serve(socket: net.Socket, db: LeaderDb, readonly = false): void {
    let host = this.#hosts.get(db)
    if (host === undefined) {
      host = new LevelHost(db)
      this.#hosts.set(db, host)
    }
    pipeline(socket, host.createRpcStream({ readonly }), socket, () => {})
  }

  /**
   * A leader about to stop serving: let the requests its followers sent settle and be answered
   * (and take no more), so that each follower knows exactly which of its operations ran and
   * sends the rest, in order, to the next leader.
   */
  async finish(db: LeaderDb | undefined): Promise<void> {
    const host = db === undefined ? undefined : this.#hosts.get(db)
    if (host !== undefined) await host.finish()
  }

  /** The counters of the host of `db` (zeros before any follower connected). */
  diagnostics(db: LeaderDb, localWatches: number): HostDiagnostics {
    const host = this.#hosts.get(db)
    if (host === undefined) return { connections: 0, iterators: 0, snapshots: 0, watches: 0, localWatches }
    const { connections, iterators, snapshots, watches } = host
    return { connections, iterators, snapshots, watches, localWatches }
  }
}
