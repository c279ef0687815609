import { type ForwardTarget, LocalStore, Sequencer } from '@rave-level/store'
import type { HostLink } from './host-link.js'

/**
 * @packageDocumentation
 * Where a {@link Dispatcher}'s operations go: the three states of its link (waiting for one,
 * attached to a host, forwarded to a local database) and what entering one needs. The
 * transitions themselves stay in the dispatcher, which moves the work ({@link IssueOrder}).
 */

/** Operations are applied to a local database, in issue order through its sequencer. */
export type Forwarded = { readonly kind: 'forwarded'; readonly store: LocalStore; readonly sequencer: Sequencer }

/**
 * How operations travel: they wait (since when, and whether a link was lost), go to an
 * attached host, or are applied to a local database.
 */
export type Link =
  | { readonly kind: 'detached'; readonly since: number; readonly lost: boolean }
  | { readonly kind: 'attached'; readonly host: HostLink }
  | Forwarded

/**
 * The link that forwards to `db` (an open abstract-level database), with its own sequencer and
 * the database's one {@link LocalStore}.
 *
 * @throws `TypeError` if `db` is not a database.
 */
export function forwarding(db: ForwardTarget): Forwarded {
  if (db == null || typeof db.batch !== 'function' || typeof db.iterator !== 'function') {
    throw new TypeError("The first argument 'db' must be an abstract-level database")
  }
  const store = LocalStore.of(db)
  return { kind: 'forwarded', store, sequencer: new Sequencer(store) }
}

/** Where operations go now (a host link or a forwarding), for snapshots and watches; null if nowhere. */
export function homeOf(link: Link): object | null {
  return link.kind === 'attached' ? link.host : link.kind === 'forwarded' ? link : null
}

/** The heartbeat interval to ask a host for: often enough to tell silence within `stalledAfter`. */
export function heartbeatFor(stalledAfter: number): number {
  return Number.isFinite(stalledAfter) ? Math.max(10, Math.min(1000, Math.floor(stalledAfter / 4))) : 1000
}
