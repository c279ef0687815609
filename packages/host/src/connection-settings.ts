import type { MaintenanceTarget, LocalStore, SequencedWrite } from '@rave-level/store'
import type { RpcStream } from '@rave-level/protocol'
import type { CacheRegistry } from './cache-registry.js'
import type { DbRangeOptions, ENCODINGS } from './db-options.js'
import type { IteratorSource } from './db-reader.js'
import type { SnapshotSource } from './snapshots.js'

/**
 * @packageDocumentation
 * What one {@link LevelHost} shares with each of its connections and their parts: the database
 * (and the store over it), the limits, the counters and the fault report.
 */

/** The part of an abstract-level 3 database the host calls, always with buffer encodings. */
export interface HostDatabase extends IteratorSource, SnapshotSource, MaintenanceTarget {
  readonly supports: IteratorSource['supports'] & SnapshotSource['supports']
  get(key: Uint8Array, options: typeof ENCODINGS): Promise<Uint8Array | undefined>
  getMany(keys: Uint8Array[], options: typeof ENCODINGS): Promise<(Uint8Array | undefined)[]>
  batch(operations: SequencedWrite[], options: typeof ENCODINGS): Promise<void>
  clear(options: DbRangeOptions): Promise<void>
}

/** Settings shared by every connection of one host. */
export interface ConnectionSettings {
  readonly db: HostDatabase
  /**
   * The same database for reads and writes: its private API when that is equivalent (no hooks,
   * no 'write' listeners, a root database), else its public API. Shared by all connections.
   */
  readonly store: LocalStore
  readonly readonly: boolean
  readonly maxFrameSize: number
  readonly highWaterMark: number
  readonly maxIterators: number
  readonly maxInFlight: number
  readonly maxInFlightBytes: number
  readonly iteratorBytes: number
  readonly maxWatches: number
  readonly maxWatchQueue: number
  /** Which connections may cache which keys (the `cache` extension). */
  readonly cache: CacheRegistry
  /** Live counters of the host, updated by its connections. */
  readonly stats: { iterators: number; snapshots: number; watches: number }
  /** See `LevelHostOptions.beforeWrite`. */
  readonly beforeWrite: (() => void) | null
  /** Report a fault of one connection. Must not throw. */
  readonly fault: (err: Error, stream: RpcStream) => void
}
