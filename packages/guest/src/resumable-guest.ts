import type { Duplex } from 'node:stream'
import type { ForwardTarget } from '@rave-level/store'
import { DEFAULT_MAX_FRAME_SIZE } from '@rave-level/protocol'
import type { AbstractBatchOperation, AbstractLevel } from 'abstract-level'
import { Dispatcher } from './dispatcher.js'
import { GuestLevel, type GuestLevelOptions } from './guest-level.js'
import type { UnresponsiveInfo } from './watchdog.js'

/** Options of {@link ResumableGuest}. */
export type ResumableGuestOptions<K, V> = GuestLevelOptions<K, V>

/** Options of {@link ResumableGuest.createRpcStream}. */
export interface GuestRpcStreamOptions {
  /**
   * Usually the socket. Its `unref()` is called at once, so that an idle guest does not keep the
   * process alive; while an operation or an iterator's or a watch's read waits, the guest holds
   * the event loop itself.
   */
  ref?: { unref(): void } | null | undefined
}

/**
 * The events of a {@link ResumableGuest} and their arguments: abstract-level's (`opening`,
 * `open`, `closing`, `closed`, `write`, `clear`) and its own.
 */
export interface ResumableGuestEvents<K = string, V = string> {
  /** A stream was attached (after everything waiting was queued on it). */
  connect: []
  /** The attached stream was lost, or detached by `close()`. */
  disconnect: []
  /** `forward()` was called (after pending operations were handed to the database). */
  forward: []
  /** An operation or iterator read started waiting for a host, where none was. */
  busy: []
  /** None waits any more (see `isFlushed()`). */
  flush: []
  /** The host sent nothing for `stalledAfter` ms while something waited for it (once per silence). */
  stalled: [info: UnresponsiveInfo]
  opening: []
  open: []
  closing: []
  closed: []
  /** The operations of one write (abstract-level's `write` event). */
  write: [operations: AbstractBatchOperation<AbstractLevel<string | Buffer | Uint8Array, K, V>, K, V>[]]
  /** The options of one `clear()` (abstract-level's `clear` event). */
  clear: [options: unknown]
}

/** A listener of event `E` of a {@link ResumableGuest}. */
type Listener<K, V, E extends keyof ResumableGuestEvents> = (...args: ResumableGuestEvents<K, V>[E]) => void

/** Typed events: listeners get their payloads' types, and unknown event names do not type-check. */
export interface ResumableGuest<K, V> {
  on<E extends keyof ResumableGuestEvents>(event: E, listener: Listener<K, V, E>): this
  once<E extends keyof ResumableGuestEvents>(event: E, listener: Listener<K, V, E>): this
  off<E extends keyof ResumableGuestEvents>(event: E, listener: Listener<K, V, E>): this
  addListener<E extends keyof ResumableGuestEvents>(event: E, listener: Listener<K, V, E>): this
  removeListener<E extends keyof ResumableGuestEvents>(event: E, listener: Listener<K, V, E>): this
  prependListener<E extends keyof ResumableGuestEvents>(event: E, listener: Listener<K, V, E>): this
  prependOnceListener<E extends keyof ResumableGuestEvents>(event: E, listener: Listener<K, V, E>): this
  emit<E extends keyof ResumableGuestEvents>(event: E, ...args: ResumableGuestEvents<K, V>[E]): boolean
  listenerCount<E extends keyof ResumableGuestEvents>(event: E): number
}

/**
 * An abstract-level 3 database whose operations travel over the many-level 2 wire protocol
 * to a host, survive reconnects, and can be forwarded to a local database.
 *
 * - {@link ResumableGuest.createRpcStream} attaches one connection at a time. Operations made
 *   while no connection is attached wait in memory.
 * - With `retry` (the default) an operation that was not answered when its connection ended is
 *   sent again, in its original order, on the next connection, and an open iterator continues
 *   right after the last entry it yielded.
 * - {@link ResumableGuest.forward} sends every operation to a local database from then on,
 *   after first applying, in order, those still waiting.
 * - Every operation settles: one that waits `timeout` ms without a connection, or while the
 *   host sends nothing at all, rejects with `LEVEL_TIMEOUT`.
 *
 * Events (see {@link ResumableGuestEvents}): `'connect'`, `'disconnect'`, `'forward'` (each
 * change of link), `'busy'` and `'flush'` (something started, or stopped, waiting for a host),
 * `'stalled'` (the host sent nothing for `stalledAfter` ms while we waited; payload
 * `{ reason: 'unresponsive', elapsed }`).
 *
 * Errors: `LEVEL_CONNECTION_LOST` (connection lost without `retry`), `LEVEL_TIMEOUT`,
 * `LEVEL_DATABASE_NOT_OPEN` (used after close), `LEVEL_FRAME_TOO_LARGE` (an operation or an
 * answer larger than `maxFrameSize`), `LEVEL_ABORTED` (iterator signal), `LEVEL_NOT_SUPPORTED`
 * (explicit snapshots, `getSync`), any `LEVEL_*` code sent by the host, else
 * `LEVEL_REMOTE_ERROR`, and the error given to {@link ResumableGuest.rejectWaiting}.
 *
 * @template K The default type of keys.
 * @template V The default type of values.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface only narrows the types of EventEmitter's methods, which the class inherits
export class ResumableGuest<K = string, V = string> extends GuestLevel<K, V> {
  readonly #d: Dispatcher

  /**
   * @param options `retry`, `maxFrameSize`, `timeout`, `stalledAfter`, `cache`, and the abstract-level
   *   options (`keyEncoding`, `valueEncoding`, ...).
   */
  constructor(options?: ResumableGuestOptions<K, V>) {
    const { retry = true, maxFrameSize, timeout, stalledAfter, cache, ...rest } = options ?? {}
    const d = new Dispatcher({
      retry,
      maxFrameSize: maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      timeout,
      stalledAfter,
      cache
    })
    super(rest, d, {
      events: { busy: true, flush: true, connect: true, disconnect: true, forward: true, stalled: true },
      additionalMethods: { createRpcStream: true, connect: true, forward: true, rejectWaiting: true, isFlushed: true }
    })
    this.#d = d
    d.events = {
      connect: () => this.emit('connect'),
      disconnect: () => this.emit('disconnect'),
      forward: () => this.emit('forward'),
      busy: () => this.emit('busy'),
      flush: () => this.emit('flush'),
      stalled: (info) => this.emit('stalled', info)
    }
  }

  /**
   * Create the stream for one connection to a host: pipe it to the host's stream (or a socket)
   * and back. Operations waiting for a connection are sent on it at once, in issue order, and
   * open iterators continue on it. When it ends or fails, the guest is disconnected: with
   * `retry`, unanswered operations wait for the next stream; without, they reject with
   * `LEVEL_CONNECTION_LOST`.
   *
   * @throws `Error` if a stream is still attached, or after {@link ResumableGuest.forward}.
   */
  createRpcStream(options?: GuestRpcStreamOptions): Duplex {
    return this.#d.attach(options?.ref ?? null)
  }

  /** Alias of {@link ResumableGuest.createRpcStream}, as in many-level. */
  connect(options?: GuestRpcStreamOptions): Duplex {
    return this.createRpcStream(options)
  }

  /**
   * From now on, send every operation to `db` (an open abstract-level database) instead of a
   * host. Operations already issued and not answered (queued, or sent to a host that died) are
   * applied first, in issue order (without `retry`, those sent reject with
   * `LEVEL_CONNECTION_LOST`); open iterators continue on `db` after the last entry they
   * yielded. All operations go through one sequencer, so they apply in issue order with group
   * commit; when equivalent, `db`'s private methods are called (see the README). An attached
   * stream is destroyed. The guest does not close `db`.
   *
   * @throws `Error` if called twice; `TypeError` if `db` is not a database.
   */
  forward(db: ForwardTarget): void {
    this.#d.forward(db)
  }

  /** True when no operation or iterator read waits for a host. */
  isFlushed(): boolean {
    return this.#d.idle
  }

  /**
   * Reject the operations, and fail the iterator reads, that have waited at least
   * `olderThanMs` milliseconds without a connection (time spent on a connection that was
   * then lost counts from the loss). Does nothing while a stream is attached or after
   * {@link ResumableGuest.forward}. Returns how many were rejected. Iterators stay usable.
   *
   * @param error The rejection reason, e.g. a `ModuleError` with code `LEVEL_LOCKED`.
   */
  rejectWaiting(error: Error, olderThanMs = 0): number {
    return this.#d.rejectWaiting(error, olderThanMs)
  }
}
