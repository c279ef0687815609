/**
 * The types a user of {@link RaveLevel} holds: its options, its events and their payloads.
 * `rave-level.ts` owns the class and merges these events into its `EventEmitter` methods.
 */
import type { ElectionStage } from '@rave-level/election'
import type { CacheOptions } from '@rave-level/guest'
import type { AbstractBatchOperation, AbstractDatabaseOptions, AbstractLevel } from 'abstract-level'
import type { ListenOptions } from './listen-options.js'

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
   * How long (ms) an operation may wait while no leader can be reached (`LEVEL_LOCKED`), or
   * while the leader says nothing at all, neither answers nor heartbeats, because it is
   * stopped or its event loop is blocked (`LEVEL_TIMEOUT`: the operation may have been
   * applied). Also how long `open()` waits for a role. Default `10000`; `Infinity` waits forever.
   */
  timeout?: number | undefined
  /** After how long (ms) such a situation is reported with a `'stalled'` event. Default `2000`. */
  stalledAfter?: number | undefined
  /** Largest frame (one request or answer) exchanged with the leader, in bytes. Default 64 MiB. */
  maxFrameSize?: number | undefined
  /**
   * Reject this instance's writes (`put`, `del`, `batch`, `clear`, `compactRange`) with
   * `LEVEL_READONLY` before they travel; reads and watches work as usual. Default `false`. It
   * restricts this instance only: as a leader it still serves other processes' writes.
   */
  readOnly?: boolean | undefined
  /**
   * Also serve the database on TCP (with TLS, or `insecure` on loopback) while this instance
   * leads, to remote followers (`RaveLevel.connect()`) that authenticate: see
   * {@link ListenOptions}. Unset: nothing listens on TCP.
   * @throws `TypeError` from the constructor for a refused setup (no TLS on a non-loopback address, ...).
   */
  listen?: ListenOptions | undefined
  /**
   * While following, answer `get`, `getMany`, `has` and `hasMany` from memory when the key is
   * cached, and cache what the leader answers (also that a key is absent). Off by default.
   * `maxBytes` (required) bounds it; `lease` (ms, default 500, at most the leader's 1000) is how
   * long a write by another process may wait for this one if it stops answering. Every read
   * served from the cache returns what a read sent to the leader at that moment could return:
   * see the README ("Caching reads on followers").
   */
  cache?: CacheOptions | undefined
}

/**
 * Payload of the `'stalled'` event: no leader could be reached because the lock is held by
 * something that does not answer at `endpoint` (`'locked'`), or the leader this instance is
 * connected to has said nothing while it waited (`'unresponsive'`). `elapsed` is in ms.
 */
export type RaveLevelStalledInfo =
  | { reason: 'locked'; endpoint: string; elapsed: number }
  | { reason: 'unresponsive'; elapsed: number }

/**
 * Payload of the `'error'` event: a fault the instance recovers from by itself, such as a
 * failed attempt to open the database or to serve it. `code` is always `LEVEL_ELECTION_FAULT`;
 * `stage` says where it happened, and `cause` is the underlying error (classic-level's, or the
 * file system's). See docs/errors.md for what to do about it.
 */
export interface RaveLevelFault extends Error {
  readonly code: 'LEVEL_ELECTION_FAULT'
  /** Where it happened: a `RaveLevel`'s election is a kernel lock's, so never `'campaign'` (etcd's). */
  readonly stage: Exclude<ElectionStage, 'campaign'>
  readonly cause: Error | undefined
}

/**
 * Payload of the `'error'` event while a leader that heals a full disk cannot reopen its
 * database yet (it tries again once there is room; operations wait meanwhile): `cause` is
 * classic-level's error. See docs/errors.md.
 */
export interface RaveLevelReopenFailure extends Error {
  readonly code: 'LEVEL_DATABASE_NOT_OPEN'
  readonly cause: Error | undefined
}

/**
 * The events of a {@link RaveLevel} and their arguments: abstract-level's (`opening`, `open`,
 * `closing`, `closed`, `write`, `clear`, which a `RaveLevel` emits only for its own operations)
 * and its own.
 */
export interface RaveLevelEvents<K = string, V = string> {
  /** This instance was elected and serves the database now. Once per election it wins. */
  leader: []
  /**
   * No leader could be reached because the lock is held by something that does not answer
   * (`'locked'`), or the leader said nothing while this instance waited for it
   * (`'unresponsive'`). Once per episode.
   */
  stalled: [info: RaveLevelStalledInfo]
  /** Nothing is pending any more. */
  flush: []
  /**
   * Only if listened to, once per distinct failure: a fault the instance recovers from
   * (`LEVEL_ELECTION_FAULT`), or, while a leader cannot yet reopen its database to heal it after
   * a full disk, `LEVEL_DATABASE_NOT_OPEN` with the reason.
   */
  error: [error: RaveLevelFault | RaveLevelReopenFailure]
  opening: []
  open: []
  closing: []
  closed: []
  /**
   * The operations of one write (abstract-level's `write` event; keys and values as given, or
   * encoded for sublevels). A `sublevel` in an operation is one of the `RaveLevel`'s.
   */
  write: [operations: AbstractBatchOperation<AbstractLevel<string | Buffer | Uint8Array, K, V>, K, V>[]]
  /** The options of one `clear()` (abstract-level's `clear` event). */
  clear: [options: unknown]
}

export type Listener<K, V, E extends keyof RaveLevelEvents> = (...args: RaveLevelEvents<K, V>[E]) => void
