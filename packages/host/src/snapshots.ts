import { snapshotNotOpen, snapshotsNotSupported } from './errors.js'

/** An explicit snapshot of the served database (abstract-level's). */
export interface DbSnapshot {
  close(): Promise<void>
}

/** What taking snapshots needs from the served database. */
export interface SnapshotSource {
  readonly supports: { explicitSnapshots?: boolean }
  snapshot?(): DbSnapshot
}

/**
 * The explicit snapshots one guest took on its connection, by the numbers it chose. Each is
 * taken in the connection's sequencer (so it holds exactly the writes issued before it) and
 * released by `SnapshotClose` or when the connection ends: a guest that goes away cannot leak
 * one.
 */
export class Snapshots {
  readonly #db: SnapshotSource
  readonly #stats: { snapshots: number }
  readonly #open = new Map<number, DbSnapshot>()

  constructor(db: SnapshotSource, stats: { snapshots: number }) {
    this.#db = db
    this.#stats = stats
  }

  /** Take snapshot `id`. Throws `LEVEL_NOT_SUPPORTED` for a database without explicit snapshots. */
  open(id: number): void {
    if (this.#db.supports.explicitSnapshots !== true || typeof this.#db.snapshot !== 'function') {
      throw snapshotsNotSupported()
    }
    this.#open.get(id)?.close().catch(noop)
    this.#open.set(id, this.#db.snapshot())
    this.#stats.snapshots++
  }

  /**
   * Snapshot `id`, for a read that names it; `undefined` for a read without one. Throws
   * abstract-level's `LEVEL_SNAPSHOT_NOT_OPEN` for one this connection does not have.
   */
  get(id: number | undefined): DbSnapshot | undefined {
    if (id === undefined) return undefined
    const snapshot = this.#open.get(id)
    if (snapshot === undefined) {
      throw snapshotNotOpen(id)
    }
    return snapshot
  }

  /** Release snapshot `id` (nothing if it is not open). */
  close(id: number): Promise<void> {
    const snapshot = this.#open.get(id)
    if (snapshot === undefined) return Promise.resolve()
    this.#open.delete(id)
    this.#stats.snapshots--
    return snapshot.close()
  }

  /** The connection ended: release every snapshot. */
  closeAll(): void {
    for (const id of [...this.#open.keys()]) this.close(id).catch(noop)
  }
}

const noop = () => {}
