import type { WatchdogEvents } from './watchdog.js'

/**
 * @packageDocumentation
 * The configuration of a {@link Dispatcher}, and the hooks through which it tells its owner
 * what happens to its link.
 */

/** Options of a {@link Dispatcher}. */
export interface DispatcherOptions {
  /** Retry unanswered operations and resume iterators on the next link (default `true`). */
  retry?: boolean | undefined
  /** Largest frame accepted from a host and sent to it (default 64 MiB). */
  maxFrameSize: number
  /**
   * Ms an operation may wait without a host, or while the host says nothing at all, before it
   * rejects (default `10000`; `Infinity` waits forever).
   */
  timeout?: number | undefined
  /** Ms the host may say nothing while we wait for it before a `stalled` report (default `2000`). */
  stalledAfter?: number | undefined
}

/** What a {@link Dispatcher} tells its owner. Every hook is optional. */
export interface DispatcherEvents extends WatchdogEvents {
  /** A stream was attached, a link lost, or operations forwarded to a local database. */
  connect?(): void
  disconnect?(): void
  forward?(): void
  /** The host of the attached stream answered its Hello (or proved a plain many-level 2 host). */
  introduced?(pid: number | undefined): void
}
